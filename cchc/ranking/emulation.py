"""Emulation ranking (xếp hạng thi đua) of a ward's units from their reform results.

Pure: no database, no engine. Callers gather one ``UnitResult`` per unit for the period (plan
tasks, first reviews of evidence, points lost in the criteria the unit owns, overdue items) and
``rank_units`` returns the table, each row with a Vietnamese sentence explaining its place
(``cchc.ranking.text``). The configuration (weights, bands, overdue penalty, tie-break order)
is ``cchc.ranking.config``.

``rank`` is the one ordering with tie-breaks, generic over what is ranked: the units of a ward
here, the wards of a city block in ``cchc.city.ranking``.

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
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cchc.ranking.config import (
    COMPONENTS,
    FINAL_TIE_BREAK,
    SCORE_DECIMALS,
    TIE_BREAK_KEYS,
    Band,
    EmulationConfig,
    OverduePenalty,
    Weights,
    check_emulation_config,
    check_emulation_text,
    load_emulation_config,
    load_emulation_text,
)
from cchc.ranking.text import explain
from cchc.scoring.rounding import half_up

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
    "Placed",
    "RankedUnit",
    "TieBreak",
    "TiedThroughoutError",
    "UnitResult",
    "Weights",
    "check_emulation_config",
    "check_emulation_text",
    "load_emulation_config",
    "load_emulation_text",
    "rank",
    "rank_units",
    "ranking_table",
]

T = TypeVar("T")


# --- ranking with tie-breaks, whatever is ranked -------------------------------------------------


@dataclass(frozen=True)
class TieBreak(Generic[T]):
    """A named tie-break: ``value`` of an entry, smaller first."""

    key: str
    value: Callable[[T], Any]


@dataclass(frozen=True)
class Placed(Generic[T]):
    """An entry at its rank, with its neighbours when they tie with it on the primary order.

    ``above`` is the entry just above when both share the primary value, ``decided_above`` the
    tie-break that put this one below it; ``below`` and ``decided_below`` likewise.
    """

    rank: int
    entry: T
    above: T | None = None
    decided_above: str | None = None
    below: T | None = None
    decided_below: str | None = None


class TiedThroughoutError(ValueError):
    """Two entries agree on the primary order and on every tie-break: one is listed twice."""

    def __init__(self, entry: Any) -> None:
        super().__init__(f"{entry!r} ties with another entry on every tie-break")
        self.entry: Any = entry
        """The second of the two entries (the caller names it in its own terms)."""


def rank(
    entries: Iterable[T], tie_breaks: Sequence[TieBreak[T]], *, by: Callable[[T], Any]
) -> list[Placed[T]]:
    """Order ``entries`` by ``by`` (smaller first), then by each tie-break in turn; ranks 1..n.

    Entries with equal ``by`` values are tied: each tied neighbour is named with the key that
    decided between them. ``TiedThroughoutError`` when no tie-break tells two entries apart.
    """
    keyed = sorted(
        ((by(e), tuple(t.value(e) for t in tie_breaks), e) for e in entries),
        key=lambda k: (k[0], k[1]),
    )

    def deciding(upper: tuple[Any, Any, T], lower: tuple[Any, Any, T]) -> str | None:
        if upper[0] != lower[0]:
            return None
        for tie_break, a, b in zip(tie_breaks, upper[1], lower[1], strict=True):
            if a != b:
                return tie_break.key
        raise TiedThroughoutError(lower[2])

    decided = [deciding(keyed[i], keyed[i + 1]) for i in range(len(keyed) - 1)]
    placed: list[Placed[T]] = []
    for i, (_, _, entry) in enumerate(keyed):
        above = decided[i - 1] if i > 0 else None
        below = decided[i] if i < len(decided) else None
        placed.append(
            Placed(
                rank=i + 1,
                entry=entry,
                above=keyed[i - 1][2] if above is not None else None,
                decided_above=above,
                below=keyed[i + 1][2] if below is not None else None,
                decided_below=below,
            )
        )
    return placed


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
        return half_up(self.contribution, SCORE_DECIMALS)


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


# --- the units' ranking --------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredUnit:
    """A unit's result with its components, exact and published score and band (0 is best)."""

    result: UnitResult
    components: dict[str, ComponentScore]
    score_exact: Fraction
    score: Decimal
    band_index: int
    band_index_before_rule: int


def _share_value(key: str) -> Callable[[ScoredUnit], Fraction]:
    return lambda s: -s.components[key].value


UNIT_TIE_BREAKS: dict[str, TieBreak[ScoredUnit]] = {
    "points_lost": TieBreak("points_lost", lambda s: s.result.points_lost),
    "on_time_share": TieBreak("on_time_share", _share_value("on_time_share")),
    "first_review_share": TieBreak("first_review_share", _share_value("first_review_share")),
    "overdue": TieBreak("overdue", lambda s: s.result.overdue_items),
    "unit_code": TieBreak("unit_code", lambda s: s.result.unit),
}
"""Every tie-break ``tie_breaks`` may name (``TIE_BREAK_KEYS``), smaller first."""


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
    tie_breaks = [UNIT_TIE_BREAKS[key] for key in config.tie_break_order]
    placed = rank(scored, tie_breaks, by=lambda s: (s.band_index, -s.score))
    ranked: list[RankedUnit] = []
    for i, row in enumerate(placed):
        unit = row.entry
        lower_scores_above = [
            o.entry
            for o in placed[:i]
            if o.entry.band_index < unit.band_index and o.entry.score < unit.score
        ]
        ranked.append(
            RankedUnit(
                rank=row.rank,
                unit=unit.result.unit,
                unit_name=unit.result.unit_name,
                score=unit.score,
                score_exact=unit.score_exact,
                band=config.bands[unit.band_index].label,
                band_before_rule=config.bands[unit.band_index_before_rule].label,
                components=unit.components,
                explanation_vi=explain(row, config, lower_scores_above),
                tie_break=row.decided_above,
                result=unit.result,
            )
        )
    return ranked


def _score(result: UnitResult, config: EmulationConfig) -> ScoredUnit:
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
    score = half_up(exact, SCORE_DECIMALS)
    before = next(i for i, band in enumerate(config.bands) if score >= band.min_score)
    band = before
    if config.no_top_band_with_overdue and result.overdue_items > 0 and band == 0:
        band = 1
    return ScoredUnit(result, components, exact, score, band, before)
