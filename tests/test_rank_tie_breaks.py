"""One ordering with tie-breaks (``cchc.ranking.emulation.rank``) for the units and the wards."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from cchc.city.ranking import WARD_TIE_BREAKS, WardEntry, WardFigures, rank_wards
from cchc.ranking.emulation import (
    UNIT_TIE_BREAKS,
    EmulationConfig,
    Placed,
    TieBreak,
    TiedThroughoutError,
    UnitResult,
    rank,
    rank_units,
)
from tests.test_ranking import make_config, unit


@dataclass(frozen=True)
class Runner:
    name: str
    time: int
    bib: int


BY_BIB = (TieBreak[Runner]("bib", lambda r: r.bib),)


def test_rank_orders_by_the_primary_value_then_the_tie_breaks() -> None:
    """Smaller primary first; ties go to the tie-breaks in turn and name the deciding key."""
    a, b, c, d = Runner("a", 10, 3), Runner("b", 9, 7), Runner("c", 10, 1), Runner("d", 11, 2)
    tie_breaks = (TieBreak[Runner]("name_length", lambda r: len(r.name)), *BY_BIB)
    placed = rank([a, b, c, d], tie_breaks, by=lambda r: r.time)
    assert placed == [
        Placed(1, b),
        Placed(2, c, below=a, decided_below="bib"),
        Placed(3, a, above=c, decided_above="bib"),
        Placed(4, d),
    ]


def test_rank_does_not_depend_on_input_order() -> None:
    """The same entries in any order give the same ranks."""
    runners = [Runner(str(i), i % 3, 10 - i) for i in range(9)]
    forward = rank(runners, BY_BIB, by=lambda r: r.time)
    assert rank(runners[::-1], BY_BIB, by=lambda r: r.time) == forward
    assert [p.rank for p in forward] == list(range(1, 10))


def test_rank_refuses_entries_no_tie_break_tells_apart() -> None:
    """Two entries equal on every key: one is listed twice, and the error names it."""
    twice = Runner("a", 10, 1)
    with pytest.raises(TiedThroughoutError) as caught:
        rank([Runner("b", 9, 2), twice, twice], BY_BIB, by=lambda r: r.time)
    assert caught.value.entry == twice


def _ward(tenant: str, name: str, base: str) -> WardEntry:
    figures = WardFigures(
        f"KH-{tenant}", tenant * 2, "par", Decimal(base), Decimal(0), Decimal(100)
    )
    return WardEntry(tenant, name, "phuong", figures)


def test_wards_are_ranked_by_rank_with_the_ward_tie_breaks() -> None:
    """The city table's order and deciding keys are those of ``rank`` over the ward tie-breaks."""
    wards = [
        _ward("p-b", "Phường B", "90"),
        _ward("p-a", "Phường A", "90"),
        _ward("p-c", "Phường C", "95"),
        _ward("p-a2", "Phường A", "90"),
    ]
    expected = rank(wards, WARD_TIE_BREAKS, by=lambda e: -e.figures.index if e.figures else 0)
    rows = rank_wards(wards)
    assert [(r.rank, r.entry, r.tie_break) for r in rows] == [
        (p.rank, p.entry, p.decided_above) for p in expected
    ]
    assert [r.tie_break for r in rows] == [None, None, "tenant", "name"]


def test_wards_listed_twice_are_refused() -> None:
    """A ward given twice cannot be told apart from itself: the ranking refuses it."""
    ward = _ward("p-a", "Phường A", "90")
    with pytest.raises(ValueError, match="ward 'p-a' is listed twice"):
        rank_wards([ward, ward])


def test_units_are_ranked_by_rank_with_the_configured_tie_breaks() -> None:
    """Units tied on band and score are ordered by the configured tie-breaks, through ``rank``."""
    cfg: EmulationConfig = make_config()
    results: list[UnitResult] = [
        unit("b", points=("2", "20")),
        unit("a", points=("2", "20")),
        unit("c", points=("1", "20"), tasks=(9, 10)),
    ]
    ranked = rank_units(results, cfg)
    assert [(r.unit, r.tie_break) for r in ranked] == [("a", None), ("b", "unit_code"), ("c", None)]
    assert [UNIT_TIE_BREAKS[key].key for key in cfg.tie_break_order] == list(cfg.tie_break_order)
