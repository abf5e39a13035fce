"""Emulation ranking (xếp hạng thi đua) of a ward's units from their reform results.

Pure: no database, no engine. Callers gather one ``UnitResult`` per unit for the period (plan
tasks, first reviews of evidence, points lost in the criteria the unit owns, overdue items) and
``rank_units`` returns the table, each row with a Vietnamese sentence explaining its place.

Weights, bands, the overdue penalty and the tie-break order are configuration
(``definitions/emulation.yaml``, format in ``docs/ranking.md``), checked as a whole when
loaded; problems are reported as ``file:line: CCHC-E0NN message (hint)``.

Arithmetic is exact (``fractions.Fraction``); the composite score is rounded once, half up,
to two decimals, and that published score is what bands and ranks compare, so the table never
contradicts what it shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from cchc.rounding import half_up
from workflows.datafile import DataFile, FileCodes, Reading, Schema
from workflows.definition.checks import did_you_mean
from workflows.definition.yamlpos import Path_
from workflows.errors import Problem

if TYPE_CHECKING:
    from cchc.reports.model import RankingRow, RankingTable

__all__ = [
    "COMPONENTS",
    "FINAL_TIE_BREAK",
    "SCORE_DECIMALS",
    "TIE_BREAK_KEYS",
    "Band",
    "ComponentScore",
    "EmulationConfig",
    "OverduePenalty",
    "RankedUnit",
    "UnitResult",
    "Weights",
    "check_emulation_config",
    "load_emulation_config",
    "rank_units",
    "ranking_table",
]

COMPONENTS = ("on_time_share", "first_review_share", "points_lost", "overdue")
"""The four components of the composite score, in the order explanations list them."""

FINAL_TIE_BREAK = "unit_code"
"""The last tie-break, always applied: unit codes in code-point order; it makes ranks distinct."""

TIE_BREAK_KEYS = ("points_lost", "on_time_share", "first_review_share", "overdue", "unit_code")
"""Every key ``tie_breaks`` may name."""

SCORE_DECIMALS = 2
"""The composite score is published, banded and compared rounded half up to this many places."""

_DEFER_CHECKS = "defer_emulation_checks"
_DOCS = "docs/ranking.md"

Amount = Annotated[Decimal, Field(allow_inf_nan=False)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


# --- configuration ----------------------------------------------------------------------------


_CODES = FileCodes(
    "CCHC-E001", "CCHC-E004", "CCHC-E005", "an emulation configuration starts with 'weights:'"
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Frozen):
    """Weight of each component: points out of 100 (or fractions adding up to 1)."""

    on_time_share: Amount
    first_review_share: Amount
    points_lost: Amount
    overdue: Amount

    def total(self) -> Decimal:
        """The sum of the four weights (100 or 1 in a valid configuration)."""
        return sum((getattr(self, key) for key in COMPONENTS), Decimal(0))

    def points(self) -> dict[str, Decimal]:
        """Each weight on the 100-point scale (fractions adding up to 1 are multiplied by 100)."""
        scale = Decimal(100) if self.total() == 1 else Decimal(1)
        return {key: getattr(self, key) * scale for key in COMPONENTS}


class OverduePenalty(_Frozen):
    """Each overdue item costs ``per_item`` of the overdue weight; ``max_items`` count at most."""

    per_item: Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
    max_items: Annotated[int, Field(ge=1, strict=True)]


class Band(_Frozen):
    """A classification level (xếp loại): scores from ``min_score`` up, down to the next band."""

    label: Text
    min_score: Amount


class EmulationConfig(_Frozen):
    """How units are scored, classified and ordered; see ``docs/ranking.md``.

    Built in code, it is checked at once (a ``ValidationError`` names the CCHC-E codes);
    ``load_emulation_config`` checks a file and reports each problem with its line.
    """

    name: Text | None = None
    sample: bool = False
    weights: Weights
    overdue: OverduePenalty
    bands: tuple[Band, ...] = Field(min_length=2)
    """Best first; thresholds strictly decrease and the last band starts at 0."""
    no_top_band_with_overdue: bool = False
    """When true, a unit with an overdue item is classified in the second band at best."""
    tie_breaks: tuple[str, ...]
    """Keys deciding between units of equal band and score; ``unit_code`` is implied last."""

    @model_validator(mode="after")
    def _check_semantics(self, info: ValidationInfo) -> Self:
        if isinstance(info.context, dict) and info.context.get(_DEFER_CHECKS):
            return self  # the file loader reports these itself, each with its line
        issues = _issues(self)
        if issues:
            raise ValueError("; ".join(f"{i.code} {i.message}" for i in issues))
        return self

    @property
    def tie_break_order(self) -> tuple[str, ...]:
        """The tie-breaks as applied: the configured keys, then ``unit_code`` if not listed."""
        if self.tie_breaks and self.tie_breaks[-1] == FINAL_TIE_BREAK:
            return self.tie_breaks
        return (*self.tie_breaks, FINAL_TIE_BREAK)

    @property
    def band_labels(self) -> tuple[str, ...]:
        """Band labels best first (``RankingTable.band_order``)."""
        return tuple(band.label for band in self.bands)


@dataclass(frozen=True)
class _Issue:
    path: Path_
    code: str
    message: str
    hint: str = ""


def _issues(config: EmulationConfig) -> list[_Issue]:
    """Every problem the schema alone cannot see."""
    issues: list[_Issue] = []
    weights = config.weights
    for key in COMPONENTS:
        value: Decimal = getattr(weights, key)
        if value < 0:
            issues.append(
                _Issue(
                    ("weights", key),
                    "CCHC-E006",
                    f"weight {key} is negative ({value})",
                    "weights are 0 or more; a component that should not count weighs 0",
                )
            )
    total = weights.total()
    if total not in (Decimal(1), Decimal(100)):
        issues.append(
            _Issue(
                ("weights",),
                "CCHC-E007",
                f"the weights add up to {total}, not 100",
                "give points out of 100, or fractions adding up to 1",
            )
        )
    issues.extend(_band_issues(config.bands))
    issues.extend(_tie_break_issues(config.tie_breaks))
    penalty = config.overdue
    if penalty.per_item * penalty.max_items > 1:
        issues.append(
            _Issue(
                ("overdue",),
                "CCHC-E015",
                f"per_item × max_items is {penalty.per_item * penalty.max_items}, more than 1",
                "the cap would take more than the whole overdue weight; "
                "lower per_item or max_items",
            )
        )
    return issues


def _band_issues(bands: Sequence[Band]) -> list[_Issue]:
    issues: list[_Issue] = []
    for i, band in enumerate(bands):
        where: Path_ = ("bands", i, "min_score")
        if not 0 <= band.min_score <= 100:
            issues.append(
                _Issue(
                    where,
                    "CCHC-E009",
                    f"band {band.label!r} starts at {band.min_score}, outside 0–100",
                    "scores run from 0 to 100",
                )
            )
        if i > 0 and band.min_score >= bands[i - 1].min_score:
            issues.append(
                _Issue(
                    where,
                    "CCHC-E008",
                    f"band {band.label!r} starts at {band.min_score}, not below "
                    f"{bands[i - 1].min_score} of the band above",
                    "list bands best first with strictly decreasing min_score",
                )
            )
    if bands and bands[-1].min_score != 0:
        issues.append(
            _Issue(
                ("bands", len(bands) - 1, "min_score"),
                "CCHC-E010",
                f"the last band {bands[-1].label!r} starts at {bands[-1].min_score}, not 0",
                "the last band takes every lower score: set its min_score to 0",
            )
        )
    seen: set[str] = set()
    for i, band in enumerate(bands):
        if band.label in seen:
            issues.append(
                _Issue(
                    ("bands", i, "label"),
                    "CCHC-E011",
                    f"band label {band.label!r} is used twice",
                    "each band has its own label",
                )
            )
        seen.add(band.label)
    return issues


def _tie_break_issues(keys: Sequence[str]) -> list[_Issue]:
    issues: list[_Issue] = []
    seen: set[str] = set()
    for j, key in enumerate(keys):
        where: Path_ = ("tie_breaks", j)
        if key not in TIE_BREAK_KEYS:
            issues.append(
                _Issue(
                    where,
                    "CCHC-E012",
                    f"unknown tie-break key {key!r}",
                    did_you_mean(key, TIE_BREAK_KEYS),
                )
            )
        elif key in seen:
            issues.append(
                _Issue(where, "CCHC-E013", f"tie-break key {key!r} is listed twice", "list it once")
            )
        elif key == FINAL_TIE_BREAK and j != len(keys) - 1:
            issues.append(
                _Issue(
                    where,
                    "CCHC-E014",
                    f"{FINAL_TIE_BREAK!r} is not the last tie-break",
                    "unit codes are unique, so no key after it could ever decide; move it last",
                )
            )
        seen.add(key)
    return issues


# --- loading ----------------------------------------------------------------------------------


def check_emulation_config(path: Path | str) -> tuple[EmulationConfig | None, list[Problem]]:
    """Load and check one configuration file: the configuration (if valid) and every problem."""
    return EMULATION_FILE.check_file(path, None)


def check_emulation_text(text: str, source: str) -> tuple[EmulationConfig | None, list[Problem]]:
    """Like ``check_emulation_config`` for a configuration file's text (e.g. registered in a
    database); problems are placed in ``source``."""
    return EMULATION_FILE.check_text(text, source, None)


def load_emulation_text(text: str, source: str) -> EmulationConfig:
    """Like ``check_emulation_text`` but raises ``DefinitionError`` listing every problem."""
    return EMULATION_FILE.load_text(text, source, None)


def load_emulation_config(path: Path | str) -> EmulationConfig:
    """Like ``check_emulation_config`` but raises ``DefinitionError`` listing every problem."""
    return EMULATION_FILE.load_file(path, None)


def _model_validate(data: Any) -> EmulationConfig:
    return EmulationConfig.model_validate(data, context={_DEFER_CHECKS: True})


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    models: dict[Any, type[BaseModel]] = {
        "weights": Weights,
        "overdue": OverduePenalty,
        "bands": Band,
    }
    model = models.get(loc[0], EmulationConfig) if len(loc) > 1 else EmulationConfig
    return ", ".join(model.model_fields)


def _check_issues(config: EmulationConfig, reading: Reading[None]) -> None:
    for issue in _issues(config):
        reading.report(issue.path, issue.code, issue.message, issue.hint)


EMULATION_FILE: DataFile[EmulationConfig, None] = DataFile(
    "emulation configuration",
    _CODES,
    Schema(_model_validate, "CCHC-E002", "CCHC-E003", _allowed_keys, invalid_hint=f"see {_DOCS}"),
    checks=(_check_issues,),
    sort_problems=True,
)
"""An emulation configuration (``definitions/emulation.yaml``, format in docs/ranking.md)."""


# --- input and output -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UnitResult:
    """One unit's reform results for the period, as gathered by the caller.

    ``tasks_on_time``: plan tasks done by their deadline with an accepted product, out of
    ``tasks_total`` assigned. ``evidence_first_accepted``: evidence accepted at its first
    review, out of ``evidence_reviewed`` (evidence with a first decision). ``points_lost`` in
    the criteria the unit owns, out of ``max_points_owned``. ``overdue_items``: tasks and
    conclusion items past their deadline. Ints for ``Decimal`` fields are converted.
    """

    unit: str
    unit_name: str
    tasks_total: int
    tasks_on_time: int
    evidence_reviewed: int
    evidence_first_accepted: int
    max_points_owned: Decimal
    points_lost: Decimal
    overdue_items: int

    def __post_init__(self) -> None:
        for name in ("unit", "unit_name"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"{name} must be a non-empty string")
        for name in (
            "tasks_total",
            "tasks_on_time",
            "evidence_reviewed",
            "evidence_first_accepted",
            "overdue_items",
        ):
            _check_count(self, name)
        for name in ("max_points_owned", "points_lost"):
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                value = Decimal(value)
                object.__setattr__(self, name, value)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise TypeError(f"{name} must be a finite Decimal, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if self.tasks_on_time > self.tasks_total:
            raise ValueError(f"{self.unit}: tasks_on_time exceeds tasks_total")
        if self.evidence_first_accepted > self.evidence_reviewed:
            raise ValueError(f"{self.unit}: evidence_first_accepted exceeds evidence_reviewed")
        if self.points_lost > self.max_points_owned:
            raise ValueError(f"{self.unit}: points_lost exceeds max_points_owned")


def _check_count(result: UnitResult, name: str) -> None:
    value = getattr(result, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


@dataclass(frozen=True, kw_only=True)
class ComponentScore:
    """One component of a unit's score, exact.

    ``value`` is what was measured: a share between 0 and 1 for ``on_time_share`` and
    ``first_review_share`` (1 when ``neutral``), the share of owned points lost for
    ``points_lost`` (0 when ``neutral``), the overdue items counted (capped) for ``overdue``.
    ``merit`` is the part of the weight earned (0 to 1); ``contribution = weight × merit``.
    ``neutral`` marks a zero denominator: nothing to measure, full merit.
    """

    key: str
    weight: Decimal
    value: Fraction
    merit: Fraction
    contribution: Fraction
    neutral: bool = False

    @property
    def contribution_rounded(self) -> Decimal:
        """The contribution rounded half up to two decimals, as the explanation shows it."""
        return _round(self.contribution, SCORE_DECIMALS)


@dataclass(frozen=True, kw_only=True)
class RankedUnit:
    """One row of the ranking.

    ``score`` is the composite rounded half up to two decimals (what is published, banded and
    compared); ``score_exact`` the exact value. ``band_before_rule`` is the band the score
    alone reaches, which differs from ``band`` when ``no_top_band_with_overdue`` applied.
    ``tie_break`` names the key that placed the unit below the one ranked just above it when
    both share band and score (``None`` otherwise).
    """

    rank: int
    unit: str
    unit_name: str
    score: Decimal
    score_exact: Fraction
    band: str
    band_before_rule: str
    components: Mapping[str, ComponentScore]
    explanation_vi: str
    tie_break: str | None
    result: UnitResult

    def share(self, key: str) -> Decimal | None:
        """``on_time_share`` or ``first_review_share`` as a Decimal (0–1); ``None`` if neutral."""
        component = self.components[key]
        if component.neutral:
            return None
        return Decimal(component.value.numerator) / Decimal(component.value.denominator)

    def to_ranking_row(self) -> RankingRow:
        """This row for the XLSX/PNG writers (``cchc.reports.model.RankingRow``)."""
        from cchc.reports.model import RankingRow

        return RankingRow(
            rank=self.rank,
            unit_name=self.unit_name,
            score=self.score,
            band=self.band,
            on_time_share=self.share("on_time_share"),
            first_review_share=self.share("first_review_share"),
            points_lost=self.result.points_lost,
            overdue=self.result.overdue_items,
            explanation=self.explanation_vi,
        )


def ranking_table(
    ranked: Sequence[RankedUnit], config: EmulationConfig, *, title: str, period_label: str
) -> RankingTable:
    """The ranking as ``cchc.reports.model.RankingTable``, bands ordered as configured."""
    from cchc.reports.model import RankingTable

    return RankingTable(
        title=title,
        period_label=period_label,
        rows=[unit.to_ranking_row() for unit in ranked],
        band_order=config.band_labels,
    )


# --- ranking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scored:
    result: UnitResult
    components: dict[str, ComponentScore]
    score_exact: Fraction
    score: Decimal
    band_index: int
    band_index_before_rule: int


@dataclass(frozen=True)
class _TieBreak:
    sort_value: Callable[[_Scored], Any]
    """Smaller is better."""
    better: str
    worse: str
    show: Callable[[_Scored, _Scored], tuple[str, str]]
    """How the two units' values read in the explanation (this one's, the other's)."""


def _share_value(key: str) -> Callable[[_Scored], Fraction]:
    return lambda s: -s.components[key].value


def _show_share(key: str, empty: str) -> Callable[[_Scored, _Scored], tuple[str, str]]:
    def show(mine: _Scored, other: _Scored) -> tuple[str, str]:
        a, b = mine.components[key], other.components[key]
        left, right = _distinct(a.value * 100, b.value * 100, suffix="%")
        return (
            f"{left} ({empty})" if a.neutral else left,
            f"{right} ({empty})" if b.neutral else right,
        )

    return show


def _show_points_lost(mine: _Scored, other: _Scored) -> tuple[str, str]:
    return _distinct(Fraction(mine.result.points_lost), Fraction(other.result.points_lost))


def _show_overdue(mine: _Scored, other: _Scored) -> tuple[str, str]:
    return str(mine.result.overdue_items), str(other.result.overdue_items)


def _show_code(mine: _Scored, other: _Scored) -> tuple[str, str]:
    return mine.result.unit, other.result.unit


_NO_TASKS = "không có nhiệm vụ được giao"
_NO_EVIDENCE = "chưa có minh chứng được duyệt"
_NO_POINTS = "không phụ trách tiêu chí có điểm"

_TIE_BREAKS: dict[str, _TieBreak] = {
    "points_lost": _TieBreak(
        lambda s: s.result.points_lost,
        "ít điểm bị trừ hơn",
        "nhiều điểm bị trừ hơn",
        _show_points_lost,
    ),
    "on_time_share": _TieBreak(
        _share_value("on_time_share"),
        "tỷ lệ nhiệm vụ hoàn thành đúng hạn cao hơn",
        "tỷ lệ nhiệm vụ hoàn thành đúng hạn thấp hơn",
        _show_share("on_time_share", _NO_TASKS),
    ),
    "first_review_share": _TieBreak(
        _share_value("first_review_share"),
        "tỷ lệ minh chứng đạt ngay lần duyệt đầu cao hơn",
        "tỷ lệ minh chứng đạt ngay lần duyệt đầu thấp hơn",
        _show_share("first_review_share", _NO_EVIDENCE),
    ),
    "overdue": _TieBreak(
        lambda s: s.result.overdue_items,
        "ít việc quá hạn hơn",
        "nhiều việc quá hạn hơn",
        _show_overdue,
    ),
    "unit_code": _TieBreak(
        lambda s: s.result.unit,
        "mã đơn vị đứng trước theo thứ tự chữ cái",
        "mã đơn vị đứng sau theo thứ tự chữ cái",
        _show_code,
    ),
}


def rank_units(results: Iterable[UnitResult], config: EmulationConfig) -> list[RankedUnit]:
    """Score, classify and order the units; ranks run 1..n, all distinct.

    Order: band (best first), then the rounded score (highest first), then each configured
    tie-break, then the unit code. The same results in any order give the same table.
    Raises ``ValueError`` when two results share a unit code.
    """
    results = list(results)
    repeated = sorted(code for code, n in Counter(r.unit for r in results).items() if n > 1)
    if repeated:
        raise ValueError(f"unit code(s) given more than once: {', '.join(repeated)}")
    scored = [_score(result, config) for result in results]
    order = config.tie_break_order
    scored.sort(key=lambda s: _sort_key(s, order))
    ranked: list[RankedUnit] = []
    for i, unit in enumerate(scored):
        above = scored[i - 1] if i > 0 and _tied(scored[i - 1], unit) else None
        below = scored[i + 1] if i + 1 < len(scored) and _tied(unit, scored[i + 1]) else None
        decided_above = _deciding_key(above, unit, order) if above is not None else None
        decided_below = _deciding_key(unit, below, order) if below is not None else None
        ranked.append(
            RankedUnit(
                rank=i + 1,
                unit=unit.result.unit,
                unit_name=unit.result.unit_name,
                score=unit.score,
                score_exact=unit.score_exact,
                band=config.bands[unit.band_index].label,
                band_before_rule=config.bands[unit.band_index_before_rule].label,
                components=unit.components,
                explanation_vi=_explain(
                    i + 1,
                    unit,
                    config,
                    (above, decided_above),
                    (below, decided_below),
                    [
                        o
                        for o in scored[:i]
                        if o.band_index < unit.band_index and o.score < unit.score
                    ],
                ),
                tie_break=decided_above,
                result=unit.result,
            )
        )
    return ranked


def _score(result: UnitResult, config: EmulationConfig) -> _Scored:
    weights = config.weights.points()
    one = Fraction(1)

    def share(numerator: int, denominator: int) -> tuple[Fraction, bool]:
        return (one, True) if denominator == 0 else (Fraction(numerator, denominator), False)

    on_time, on_time_neutral = share(result.tasks_on_time, result.tasks_total)
    first, first_neutral = share(result.evidence_first_accepted, result.evidence_reviewed)
    lost_neutral = result.max_points_owned == 0
    lost = (
        Fraction(0)
        if lost_neutral
        else Fraction(result.points_lost) / Fraction(result.max_points_owned)
    )
    counted = min(result.overdue_items, config.overdue.max_items)
    measured: dict[str, tuple[Fraction, Fraction, bool]] = {
        "on_time_share": (on_time, on_time, on_time_neutral),
        "first_review_share": (first, first, first_neutral),
        "points_lost": (lost, one - lost, lost_neutral),
        "overdue": (Fraction(counted), one - counted * Fraction(config.overdue.per_item), False),
    }
    components = {
        key: ComponentScore(
            key=key,
            weight=weights[key],
            value=value,
            merit=merit,
            contribution=Fraction(weights[key]) * merit,
            neutral=neutral,
        )
        for key, (value, merit, neutral) in measured.items()
    }
    exact = sum((c.contribution for c in components.values()), Fraction(0))
    score = _round(exact, SCORE_DECIMALS)
    before = next(i for i, band in enumerate(config.bands) if score >= band.min_score)
    band = before
    if config.no_top_band_with_overdue and result.overdue_items > 0 and band == 0:
        band = 1
    return _Scored(result, components, exact, score, band, before)


def _sort_key(unit: _Scored, order: Sequence[str]) -> tuple[Any, ...]:
    return (
        unit.band_index,
        -unit.score,
        *(_TIE_BREAKS[key].sort_value(unit) for key in order),
    )


def _tied(upper: _Scored, lower: _Scored) -> bool:
    return upper.band_index == lower.band_index and upper.score == lower.score


def _deciding_key(upper: _Scored, lower: _Scored, order: Sequence[str]) -> str:
    for key in order:
        tie_break = _TIE_BREAKS[key]
        if tie_break.sort_value(upper) != tie_break.sort_value(lower):
            return key
    raise AssertionError("unit codes are unique, so the final tie-break always decides")


# --- the explanation --------------------------------------------------------------------------


def _explain(
    rank: int,
    unit: _Scored,
    config: EmulationConfig,
    above: tuple[_Scored | None, str | None],
    below: tuple[_Scored | None, str | None],
    lower_scores_above: Sequence[_Scored],
) -> str:
    bands = config.bands
    band = bands[unit.band_index]
    score = _vn(unit.score)
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
        names = ", ".join(f"{o.result.unit_name} ({_vn(o.score)})" for o in lower_scores_above)
        sentences.append(f"Xếp sau {names} dù điểm cao hơn, vì các đơn vị đó xếp loại cao hơn.")
    for other, key, placed in ((above[0], above[1], "dưới"), (below[0], below[1], "trên")):
        if other is None or key is None:
            continue
        sentences.append(_tie_text(unit, other, key, placed))
    return " ".join(sentences)


def _band_range(bands: Sequence[Band], index: int) -> str:
    low = _vn(bands[index].min_score)
    if index == 0:
        return f"từ {low} điểm"
    high = _vn(bands[index - 1].min_score)
    if bands[index].min_score == 0:
        return f"dưới {high} điểm"
    return f"từ {low} đến dưới {high} điểm"


def _component_text(unit: _Scored, key: str, config: EmulationConfig) -> str:
    component = unit.components[key]
    r = unit.result
    earned = f"{_vn(component.contribution)}/{_plain(component.weight)}"
    if key == "on_time_share":
        if component.neutral:
            return f"{_NO_TASKS}, tính đủ {earned}"
        share = _vn(component.value * 100)
        return (
            f"nhiệm vụ hoàn thành đúng hạn {r.tasks_on_time}/{r.tasks_total} ({share}%): {earned}"
        )
    if key == "first_review_share":
        if component.neutral:
            return f"{_NO_EVIDENCE}, tính đủ {earned}"
        share = _vn(component.value * 100)
        return (
            f"minh chứng đạt ngay lần duyệt đầu "
            f"{r.evidence_first_accepted}/{r.evidence_reviewed} ({share}%): {earned}"
        )
    if key == "points_lost":
        if component.neutral:
            return f"{_NO_POINTS}, tính đủ {earned}"
        return (
            f"bị trừ {_vn(r.points_lost)} trên {_vn(r.max_points_owned)} điểm phụ trách "
            f"({_vn(component.value * 100)}%): {earned}"
        )
    if r.overdue_items == 0:
        return f"không có việc quá hạn: {earned}"
    if r.overdue_items > config.overdue.max_items:
        return f"{r.overdue_items} việc quá hạn (tính tối đa {config.overdue.max_items}): {earned}"
    return f"{r.overdue_items} việc quá hạn: {earned}"


def _tie_text(unit: _Scored, other: _Scored, key: str, placed: str) -> str:
    tie_break = _TIE_BREAKS[key]
    reason = tie_break.better if placed == "trên" else tie_break.worse
    mine, theirs = tie_break.show(unit, other)
    same = " và bằng nhau ở mọi tiêu chí phụ" if key == FINAL_TIE_BREAK else ""
    return (
        f"Bằng điểm với {other.result.unit_name} ({_vn(unit.score)}){same}; "
        f"xếp {placed} vì {reason} ({mine} so với {theirs})."
    )


# --- numbers ------------------------------------------------------------------------------------


def _round(value: Fraction | Decimal, places: int) -> Decimal:
    """``value`` rounded half up (away from zero) to ``places`` decimals, exactly."""
    return half_up(Fraction(value), places)


def _vn(value: Fraction | Decimal, places: int = SCORE_DECIMALS) -> str:
    """Vietnamese notation: ``1234.5`` → ``1.234,50`` (dot between thousands, comma decimals)."""
    rounded = _round(value, places)
    sign = "-" if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):.{places}f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = ".".join(groups)
    return f"{sign}{text},{fraction}" if places > 0 else f"{sign}{text}"


def _plain(value: Decimal) -> str:
    """A weight as written: ``40`` → ``40``, ``12.5`` → ``12,5``."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def _distinct(a: Fraction, b: Fraction, *, suffix: str = "") -> tuple[str, str]:
    """Both values in Vietnamese notation, with enough decimals (2 to 12) to tell them apart."""
    for places in range(SCORE_DECIMALS, 13):
        left, right = _vn(a, places), _vn(b, places)
        if left != right or a == b:
            break
    return f"{left}{suffix}", f"{right}{suffix}"
