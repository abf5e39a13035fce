"""The Vietnamese explanation of each row of the units' emulation ranking.

One sentence per row: the score and band (with the band's range), the contribution of each
weighted component, the units above it despite a lower score, and for each neighbour tied on
band and score the tie-break that decided between them, with both values shown with enough
decimals to tell them apart. Numbers are written by ``cchc.vi_text``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from cchc import vi_text
from cchc.ranking.config import COMPONENTS, FINAL_TIE_BREAK, SCORE_DECIMALS, Band, EmulationConfig

if TYPE_CHECKING:
    from cchc.ranking.emulation import Placed, ScoredUnit

__all__ = ["explain"]


@dataclass(frozen=True)
class _TieBreakText:
    better: str
    worse: str
    show: Callable[[ScoredUnit, ScoredUnit], tuple[str, str]]
    """How the two units' values read in the explanation (this one's, the other's)."""


def _show_share(key: str, empty: str) -> Callable[[ScoredUnit, ScoredUnit], tuple[str, str]]:
    def show(mine: ScoredUnit, other: ScoredUnit) -> tuple[str, str]:
        a, b = mine.components[key], other.components[key]
        left, right = _distinct(a.value * 100, b.value * 100, suffix="%")
        return (
            f"{left} ({empty})" if a.neutral else left,
            f"{right} ({empty})" if b.neutral else right,
        )

    return show


def _show_points_lost(mine: ScoredUnit, other: ScoredUnit) -> tuple[str, str]:
    return _distinct(Fraction(mine.result.points_lost), Fraction(other.result.points_lost))


def _show_overdue(mine: ScoredUnit, other: ScoredUnit) -> tuple[str, str]:
    return str(mine.result.overdue_items), str(other.result.overdue_items)


def _show_code(mine: ScoredUnit, other: ScoredUnit) -> tuple[str, str]:
    return mine.result.unit, other.result.unit


_NO_TASKS = "không có nhiệm vụ được giao"
_NO_EVIDENCE = "chưa có minh chứng được duyệt"
_NO_POINTS = "không phụ trách tiêu chí có điểm"

_TIE_BREAK_TEXT: dict[str, _TieBreakText] = {
    "points_lost": _TieBreakText(
        "ít điểm bị trừ hơn",
        "nhiều điểm bị trừ hơn",
        _show_points_lost,
    ),
    "on_time_share": _TieBreakText(
        "tỷ lệ nhiệm vụ hoàn thành đúng hạn cao hơn",
        "tỷ lệ nhiệm vụ hoàn thành đúng hạn thấp hơn",
        _show_share("on_time_share", _NO_TASKS),
    ),
    "first_review_share": _TieBreakText(
        "tỷ lệ minh chứng đạt ngay lần duyệt đầu cao hơn",
        "tỷ lệ minh chứng đạt ngay lần duyệt đầu thấp hơn",
        _show_share("first_review_share", _NO_EVIDENCE),
    ),
    "overdue": _TieBreakText(
        "ít việc quá hạn hơn",
        "nhiều việc quá hạn hơn",
        _show_overdue,
    ),
    "unit_code": _TieBreakText(
        "mã đơn vị đứng trước theo thứ tự chữ cái",
        "mã đơn vị đứng sau theo thứ tự chữ cái",
        _show_code,
    ),
}


def explain(
    row: Placed[ScoredUnit], config: EmulationConfig, lower_scores_above: Sequence[ScoredUnit]
) -> str:
    """Why ``row`` stands where it does: score and band, components, and each tied neighbour.

    ``lower_scores_above`` are the units ranked above it with a lower score (a better band).
    """
    rank, unit = row.rank, row.entry
    above, below = (row.above, row.decided_above), (row.below, row.decided_below)
    bands = config.bands
    band = bands[unit.band_index]
    score = vi_text.number(unit.score)
    if unit.band_index != unit.band_index_before_rule:
        top = bands[unit.band_index_before_rule]
        head = (
            f"Hạng {rank}: {score} điểm, đủ ngưỡng {top.label} ({_band_range(bands, 0)}) "
            f"nhưng có {unit.result.overdue_items} việc quá hạn nên xếp loại {band.label}."
        )
    else:
        head = (
            f"Hạng {rank}: {score} điểm, xếp loại {band.label} "
            f"({_band_range(bands, unit.band_index)})."
        )
    parts = [
        _component_text(unit, key, config) for key in COMPONENTS if unit.components[key].weight
    ]
    sentences = [head]
    if parts:
        sentences.append("Điểm thành phần: " + "; ".join(parts) + ".")
    if lower_scores_above:
        names = ", ".join(
            f"{o.result.unit_name} ({vi_text.number(o.score)})" for o in lower_scores_above
        )
        sentences.append(f"Xếp sau {names} dù điểm cao hơn, vì các đơn vị đó xếp loại cao hơn.")
    for other, key, placed in ((above[0], above[1], "dưới"), (below[0], below[1], "trên")):
        if other is None or key is None:
            continue
        sentences.append(_tie_text(unit, other, key, placed))
    return " ".join(sentences)


def _band_range(bands: Sequence[Band], index: int) -> str:
    low = vi_text.number(bands[index].min_score)
    if index == 0:
        return f"từ {low} điểm"
    high = vi_text.number(bands[index - 1].min_score)
    if bands[index].min_score == 0:
        return f"dưới {high} điểm"
    return f"từ {low} đến dưới {high} điểm"


def _component_text(unit: ScoredUnit, key: str, config: EmulationConfig) -> str:
    component = unit.components[key]
    r = unit.result
    earned = f"{vi_text.number(component.contribution)}/{vi_text.as_written(component.weight)}"
    if key == "on_time_share":
        if component.neutral:
            return f"{_NO_TASKS}, tính đủ {earned}"
        share = vi_text.number(component.value * 100)
        return (
            f"nhiệm vụ hoàn thành đúng hạn {r.tasks_on_time}/{r.tasks_total} ({share}%): {earned}"
        )
    if key == "first_review_share":
        if component.neutral:
            return f"{_NO_EVIDENCE}, tính đủ {earned}"
        share = vi_text.number(component.value * 100)
        return (
            f"minh chứng đạt ngay lần duyệt đầu "
            f"{r.evidence_first_accepted}/{r.evidence_reviewed} ({share}%): {earned}"
        )
    if key == "points_lost":
        if component.neutral:
            return f"{_NO_POINTS}, tính đủ {earned}"
        return (
            f"bị trừ {vi_text.number(r.points_lost)} trên "
            f"{vi_text.number(r.max_points_owned)} điểm phụ trách "
            f"({vi_text.number(component.value * 100)}%): {earned}"
        )
    if r.overdue_items == 0:
        return f"không có việc quá hạn: {earned}"
    if r.overdue_items > config.overdue.max_items:
        return f"{r.overdue_items} việc quá hạn (tính tối đa {config.overdue.max_items}): {earned}"
    return f"{r.overdue_items} việc quá hạn: {earned}"


def _tie_text(unit: ScoredUnit, other: ScoredUnit, key: str, placed: str) -> str:
    tie_break = _TIE_BREAK_TEXT[key]
    reason = tie_break.better if placed == "trên" else tie_break.worse
    mine, theirs = tie_break.show(unit, other)
    same = " và bằng nhau ở mọi tiêu chí phụ" if key == FINAL_TIE_BREAK else ""
    return (
        f"Bằng điểm với {other.result.unit_name} ({vi_text.number(unit.score)}){same}; "
        f"xếp {placed} vì {reason} ({mine} so với {theirs})."
    )


def _distinct(a: Fraction, b: Fraction, *, suffix: str = "") -> tuple[str, str]:
    """Both values in Vietnamese notation, with enough decimals (2 to 12) to tell them apart."""
    for places in range(SCORE_DECIMALS, 13):
        left, right = vi_text.number(a, places), vi_text.number(b, places)
        if left != right or a == b:
            break
    return f"{left}{suffix}", f"{right}{suffix}"
