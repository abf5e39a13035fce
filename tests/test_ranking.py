"""Emulation ranking: the sample configuration, scores, bands, tie-breaks and every problem code."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cchc.ranking.emulation import (
    EmulationConfig,
    RankedUnit,
    UnitResult,
    check_emulation_config,
    load_emulation_config,
    rank_units,
    ranking_table,
)
from workflows.errors import DefinitionError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "definitions" / "emulation.yaml"

XS = "Hoàn thành xuất sắc nhiệm vụ"
TOT = "Hoàn thành tốt nhiệm vụ"
HT = "Hoàn thành nhiệm vụ"
KHT = "Không hoàn thành nhiệm vụ"

BANDS = [
    {"label": XS, "min_score": 90},
    {"label": TOT, "min_score": 80},
    {"label": HT, "min_score": 50},
    {"label": KHT, "min_score": 0},
]


def make_config(**changes: Any) -> EmulationConfig:
    """The sample's settings as a dict, with ``changes`` applied, validated in code."""
    data: dict[str, Any] = {
        "weights": {
            "on_time_share": 40,
            "first_review_share": 30,
            "points_lost": 20,
            "overdue": 10,
        },
        "overdue": {"per_item": "0.25", "max_items": 4},
        "bands": BANDS,
        "no_top_band_with_overdue": True,
        "tie_breaks": ["points_lost", "on_time_share", "overdue", "unit_code"],
    }
    data.update(changes)
    return EmulationConfig.model_validate(data)


def unit(
    code: str,
    *,
    name: str | None = None,
    tasks: tuple[int, int] = (10, 10),
    evidence: tuple[int, int] = (20, 20),
    points: tuple[str, str] = ("0", "20"),
    overdue: int = 0,
) -> UnitResult:
    """A result: ``tasks`` and ``evidence`` as (good, total), ``points`` as (lost, owned)."""
    return UnitResult(
        unit=code,
        unit_name=name or f"Đơn vị {code.upper()}",
        tasks_total=tasks[1],
        tasks_on_time=tasks[0],
        evidence_reviewed=evidence[1],
        evidence_first_accepted=evidence[0],
        max_points_owned=Decimal(points[1]),
        points_lost=Decimal(points[0]),
        overdue_items=overdue,
    )


WORKED = [
    unit(
        "vhxh",
        name="Phòng Văn hóa - Xã hội",
        tasks=(12, 12),
        evidence=(24, 25),
        points=("0.50", "30"),
    ),
    unit(
        "vp",
        name="Văn phòng HĐND và UBND",
        tasks=(9, 10),
        evidence=(17, 20),
        points=("2.00", "10"),
        overdue=1,
    ),
    unit(
        "kt",
        name="Phòng Kinh tế, Hạ tầng và Đô thị",
        tasks=(9, 10),
        evidence=(14, 20),
        points=("1.50", "15"),
    ),
    unit(
        "ttphc",
        name="Trung tâm Phục vụ hành chính công",
        tasks=(10, 10),
        evidence=(19, 20),
        points=("0", "25"),
        overdue=1,
    ),
    unit(
        "ttsnc",
        name="Trung tâm sự nghiệp công",
        tasks=(0, 0),
        evidence=(3, 6),
        points=("0", "0"),
        overdue=5,
    ),
]


@pytest.fixture(scope="module")
def sample() -> EmulationConfig:
    return load_emulation_config(SAMPLE)


def by_unit(ranked: list[RankedUnit]) -> dict[str, RankedUnit]:
    return {row.unit: row for row in ranked}


# --- the sample and the worked example (docs/ranking.md) ---------------------------------------


def test_sample_config_loads(sample: EmulationConfig) -> None:
    """The shipped sample is valid, weighs 40/30/20/10 and ends its tie-breaks with unit_code."""
    assert sample.sample is True
    assert sample.weights.points() == {
        "on_time_share": 40,
        "first_review_share": 30,
        "points_lost": 20,
        "overdue": 10,
    }
    assert sample.band_labels == (XS, TOT, HT, KHT)
    assert sample.tie_break_order == ("points_lost", "on_time_share", "overdue", "unit_code")
    assert sample.no_top_band_with_overdue is True


def test_worked_example_scores(sample: EmulationConfig) -> None:
    """The docs' five units get the hand-computed scores, bands and ranks."""
    ranked = rank_units(WORKED, sample)
    assert [(r.rank, r.unit, r.score, r.band) for r in ranked] == [
        (1, "vhxh", Decimal("98.47"), XS),  # 40 + 28,8 + 19,666… + 10
        (2, "ttphc", Decimal("96.00"), TOT),  # 40 + 28,5 + 20 + 7,5; overdue: not XS
        (3, "kt", Decimal("85.00"), TOT),  # 36 + 21 + 18 + 10
        (4, "vp", Decimal("85.00"), TOT),  # 36 + 25,5 + 16 + 7,5
        (5, "ttsnc", Decimal("75.00"), HT),  # 40 (no tasks) + 15 + 20 (no points) + 0
    ]
    rows = by_unit(ranked)
    assert rows["vhxh"].score_exact == Fraction(1477, 15)
    contributions = {k: c.contribution for k, c in rows["vhxh"].components.items()}
    assert contributions == {
        "on_time_share": 40,
        "first_review_share": Fraction(144, 5),
        "points_lost": Fraction(59, 3),
        "overdue": 10,
    }
    assert rows["vhxh"].components["points_lost"].contribution_rounded == Decimal("19.67")
    assert rows["ttphc"].band_before_rule == XS
    assert rows["vp"].tie_break == "points_lost"
    assert rows["kt"].tie_break is None


def test_worked_example_explanations(sample: EmulationConfig) -> None:
    """Each explanation gives the rank, score, band, components and the deciding tie-break."""
    rows = by_unit(rank_units(WORKED, sample))
    assert rows["vhxh"].explanation_vi.startswith(
        f"Hạng 1: 98,47 điểm, xếp loại {XS} (từ 90,00 điểm). Điểm thành phần: "
        "nhiệm vụ hoàn thành đúng hạn 12/12 (100,00%): 40,00/40; "
        "minh chứng đạt ngay lần duyệt đầu 24/25 (96,00%): 28,80/30; "
        "bị trừ 0,50 trên 30,00 điểm phụ trách (1,67%): 19,67/20; "
        "không có việc quá hạn: 10,00/10."
    )
    assert (
        "Bằng điểm với Văn phòng HĐND và UBND (85,00); "
        "xếp trên vì ít điểm bị trừ hơn (1,50 so với 2,00)." in rows["kt"].explanation_vi
    )
    assert (
        "Bằng điểm với Phòng Kinh tế, Hạ tầng và Đô thị (85,00); "
        "xếp dưới vì nhiều điểm bị trừ hơn (2,00 so với 1,50)." in rows["vp"].explanation_vi
    )
    assert f"đủ ngưỡng {XS} (từ 90,00 điểm) nhưng có 1 việc quá hạn nên xếp loại {TOT}" in (
        rows["ttphc"].explanation_vi
    )
    assert "(từ 50,00 đến dưới 80,00 điểm)" in rows["ttsnc"].explanation_vi


def test_ranking_table_for_the_report_writers(sample: EmulationConfig) -> None:
    """ranking_table gives the RankingTable the XLSX/PNG writers take, bands in config order."""
    ranked = rank_units(WORKED, sample)
    table = ranking_table(ranked, sample, title="Xếp hạng CCHC", period_label="6 tháng cuối 2025")
    assert tuple(table.band_order) == (XS, TOT, HT, KHT)
    first, last = table.rows[0], table.rows[-1]
    assert (first.rank, first.unit_name, first.score) == (
        1,
        "Phòng Văn hóa - Xã hội",
        Decimal("98.47"),
    )
    assert first.first_review_share == Decimal("0.96")
    assert last.on_time_share is None  # no task assigned: nothing to show
    assert last.overdue == 5
    assert last.explanation == ranked[-1].explanation_vi


# --- determinism --------------------------------------------------------------------------------


@st.composite
def unit_results(draw: st.DrawFn) -> list[UnitResult]:
    """Up to eight units with small counts, so that equal scores are frequent."""
    codes = draw(st.lists(st.text("abkv", min_size=1, max_size=3), unique=True, max_size=8))
    results = []
    for code in codes:
        tasks_total = draw(st.integers(0, 4))
        reviewed = draw(st.integers(0, 4))
        owned = draw(st.integers(0, 8))
        results.append(
            UnitResult(
                unit=code,
                unit_name=draw(st.sampled_from(["Phòng A", "Phòng B", code])),
                tasks_total=tasks_total,
                tasks_on_time=draw(st.integers(0, tasks_total)),
                evidence_reviewed=reviewed,
                evidence_first_accepted=draw(st.integers(0, reviewed)),
                max_points_owned=Decimal(owned) / 4,
                points_lost=Decimal(draw(st.integers(0, owned))) / 4,
                overdue_items=draw(st.integers(0, 6)),
            )
        )
    return results


@settings(max_examples=150, deadline=None)
@given(results=unit_results(), data=st.data())
def test_same_table_in_any_order(results: list[UnitResult], data: st.DataObject) -> None:
    """Shuffled inputs give an identical table, ranked 1..n, bands then scores in order."""
    config = make_config()
    ranked = rank_units(results, config)
    shuffled = data.draw(st.permutations(results))
    assert rank_units(shuffled, config) == ranked
    assert [r.rank for r in ranked] == list(range(1, len(results) + 1))
    labels = config.band_labels
    keys = [(labels.index(r.band), -r.score) for r in ranked]
    assert keys == sorted(keys)
    for upper, lower in itertools.pairwise(ranked):
        tied = (upper.band, upper.score) == (lower.band, lower.score)
        assert (lower.tie_break is not None) == tied
        if tied:
            assert f"Bằng điểm với {upper.unit_name}" in lower.explanation_vi


def test_duplicate_unit_codes_are_refused(sample: EmulationConfig) -> None:
    """Two results for one unit code raise ValueError instead of ranking either."""
    with pytest.raises(ValueError, match="kt"):
        rank_units([unit("kt"), unit("vp"), unit("kt", tasks=(1, 2))], sample)


# --- tie-breaks ---------------------------------------------------------------------------------

TIE_CASES = {
    # 36 + 21 + 18 + 10 = 85 against 36 + 25,5 + 16 + 7,5 = 85
    "points_lost": (
        unit("zz", tasks=(9, 10), evidence=(14, 20), points=("1.50", "15")),
        unit("aa", tasks=(9, 10), evidence=(17, 20), points=("2.00", "10"), overdue=1),
        "ít điểm bị trừ hơn (1,50 so với 2,00)",
        "nhiều điểm bị trừ hơn (2,00 so với 1,50)",
    ),
    # 40 + 26 + 20 + 10 = 96 against 36 + 30 + 20 + 10 = 96
    "on_time_share": (
        unit("zz", tasks=(10, 10), evidence=(13, 15)),
        unit("aa", tasks=(9, 10), evidence=(20, 20)),
        "tỷ lệ nhiệm vụ hoàn thành đúng hạn cao hơn (100,00% so với 90,00%)",
        "tỷ lệ nhiệm vụ hoàn thành đúng hạn thấp hơn (90,00% so với 100,00%)",
    ),
    # 32 + 22,5 + 20 + 10 = 84,5 against 32 + 25 + 20 + 7,5 = 84,5
    "overdue": (
        unit("zz", tasks=(8, 10), evidence=(15, 20)),
        unit("aa", tasks=(8, 10), evidence=(25, 30), overdue=1),
        "ít việc quá hạn hơn (0 so với 1)",
        "nhiều việc quá hạn hơn (1 so với 0)",
    ),
    # identical results: only the code is left
    "unit_code": (
        unit("aa", tasks=(8, 10), evidence=(15, 20)),
        unit("zz", tasks=(8, 10), evidence=(15, 20)),
        (
            "bằng nhau ở mọi tiêu chí phụ; xếp trên vì mã đơn vị đứng trước theo thứ tự chữ cái "
            "(aa so với zz)"
        ),
        "xếp dưới vì mã đơn vị đứng sau theo thứ tự chữ cái (zz so với aa)",
    ),
}


@pytest.mark.parametrize("key", list(TIE_CASES))
def test_tie_break_decides_and_is_named(sample: EmulationConfig, key: str) -> None:
    """Equal band and score: the first differing tie-break orders them and the text names it."""
    upper, lower, upper_text, lower_text = TIE_CASES[key]
    ranked = rank_units([lower, upper], sample)
    assert [r.unit for r in ranked] == [upper.unit, lower.unit]
    assert ranked[0].score == ranked[1].score
    assert ranked[0].band == ranked[1].band
    assert ranked[1].tie_break == key
    assert ranked[0].tie_break is None
    assert upper_text in ranked[0].explanation_vi
    assert lower_text in ranked[1].explanation_vi


def test_tie_break_order_is_configuration() -> None:
    """Putting on_time_share before points_lost turns the points_lost case around."""
    upper, lower, *_ = TIE_CASES["points_lost"]  # equal on-time shares: still the same order
    config = make_config(tie_breaks=["on_time_share", "first_review_share"])
    ranked = rank_units([upper, lower], config)
    assert [r.unit for r in ranked] == [lower.unit, upper.unit]  # 85% first review beats 70%
    assert ranked[1].tie_break == "first_review_share"
    assert config.tie_break_order == ("on_time_share", "first_review_share", "unit_code")


def test_three_way_tie_explains_both_neighbours(sample: EmulationConfig) -> None:
    """In a tie of three, the middle unit explains why it is below one and above the other."""
    results = [
        unit("b", tasks=(8, 10), evidence=(15, 20)),
        unit("c", tasks=(8, 10), evidence=(15, 20)),
        unit("a", tasks=(8, 10), evidence=(15, 20)),
    ]
    middle = rank_units(results, sample)[1]
    assert middle.unit == "b"
    assert "xếp dưới vì mã đơn vị đứng sau theo thứ tự chữ cái (b so với a)" in (
        middle.explanation_vi
    )
    assert "xếp trên vì mã đơn vị đứng trước theo thứ tự chữ cái (b so với c)" in (
        middle.explanation_vi
    )


def test_tie_break_values_get_enough_decimals(sample: EmulationConfig) -> None:
    """Shares equal at two decimals are shown with as many decimals as tell them apart."""
    config = make_config(
        weights={"on_time_share": 0, "first_review_share": 100, "points_lost": 0, "overdue": 0},
        tie_breaks=["on_time_share"],
    )
    results = [
        unit("a", tasks=(2000, 3000), evidence=(1, 2)),  # 66,6667%
        unit("b", tasks=(6667, 10000), evidence=(1, 2)),  # 66,67%
    ]
    ranked = rank_units(results, config)
    assert [r.unit for r in ranked] == ["b", "a"]
    assert "(66,670% so với 66,667%)" in ranked[0].explanation_vi


# --- bands, the overdue cap and the overdue rule ------------------------------------------------


def only_on_time() -> EmulationConfig:
    """All the weight on the on-time share, so a share of x gives a score of 100·x."""
    return make_config(
        weights={"on_time_share": 100, "first_review_share": 0, "points_lost": 0, "overdue": 0}
    )


@pytest.mark.parametrize(
    ("on_time", "total", "score", "band"),
    [
        (90, 100, "90.00", XS),
        (8999, 10000, "89.99", TOT),
        (17999, 20000, "90.00", XS),  # 89,995 rounds half up to 90,00, and bands take 90,00
        (80, 100, "80.00", TOT),
        (7999, 10000, "79.99", HT),
        (50, 100, "50.00", HT),
        (4999, 10000, "49.99", KHT),
        (0, 100, "0.00", KHT),
    ],
)
def test_band_boundaries(on_time: int, total: int, score: str, band: str) -> None:
    """A score exactly at a threshold is in that band; just below it is in the next one."""
    [row] = rank_units([unit("a", tasks=(on_time, total))], only_on_time())
    assert row.score == Decimal(score)
    assert row.band == band


def test_zero_weight_components_are_left_out_of_the_explanation() -> None:
    """A component weighing 0 is still computed but not listed in the explanation."""
    [row] = rank_units([unit("a", tasks=(9, 10))], only_on_time())
    assert row.components["overdue"].weight == 0
    assert "Điểm thành phần: nhiệm vụ hoàn thành đúng hạn 9/10 (90,00%): 90,00/100." in (
        row.explanation_vi
    )
    assert "minh chứng" not in row.explanation_vi


@pytest.mark.parametrize(
    ("items", "contribution", "text"),
    [
        (0, 10, "không có việc quá hạn: 10,00/10"),
        (1, Fraction(15, 2), "1 việc quá hạn: 7,50/10"),
        (3, Fraction(5, 2), "3 việc quá hạn: 2,50/10"),
        (4, 0, "4 việc quá hạn: 0,00/10"),
        (9, 0, "9 việc quá hạn (tính tối đa 4): 0,00/10"),
    ],
)
def test_overdue_penalty_is_capped(
    sample: EmulationConfig, items: int, contribution: Fraction, text: str
) -> None:
    """Each overdue item costs 2,5 of the 10 points; beyond four items nothing more is lost."""
    [row] = rank_units([unit("a", overdue=items)], sample)
    assert row.components["overdue"].contribution == contribution
    assert row.components["overdue"].value == min(items, 4)
    assert text in row.explanation_vi


def test_overdue_beyond_the_cap_still_breaks_ties(sample: EmulationConfig) -> None:
    """Four and nine overdue items score the same; the raw count still decides the tie."""
    ranked = rank_units([unit("a", overdue=9), unit("b", overdue=4)], sample)
    assert ranked[0].score == ranked[1].score == Decimal("90.00")
    assert [r.unit for r in ranked] == ["b", "a"]
    assert ranked[1].tie_break == "overdue"


def test_no_top_band_with_overdue(sample: EmulationConfig) -> None:
    """With the rule, a 97,50 unit with an overdue item is 'tốt' and ranks below a 91,00 one."""
    results = [
        unit("a", overdue=1),  # 100 − 2,5
        unit("b", tasks=(9, 10), evidence=(13, 15), points=("1", "20")),  # 36 + 26 + 19 + 10
    ]
    ranked = rank_units(results, sample)
    assert [(r.unit, r.score, r.band) for r in ranked] == [
        ("b", Decimal("91.00"), XS),
        ("a", Decimal("97.50"), TOT),
    ]
    demoted = ranked[1]
    assert demoted.band_before_rule == XS
    assert f"đủ ngưỡng {XS} (từ 90,00 điểm) nhưng có 1 việc quá hạn nên xếp loại {TOT}." in (
        demoted.explanation_vi
    )
    assert "Xếp sau Đơn vị B (91,00) dù điểm cao hơn" in demoted.explanation_vi

    without_rule = rank_units(results, make_config(no_top_band_with_overdue=False))
    assert [(r.unit, r.band) for r in without_rule] == [("a", XS), ("b", XS)]
    assert without_rule[0].band_before_rule == XS


def test_overdue_rule_leaves_lower_bands_alone(sample: EmulationConfig) -> None:
    """A unit with overdue items below the top threshold keeps the band its score reaches."""
    [row] = rank_units([unit("a", tasks=(8, 10), overdue=2)], sample)
    assert (row.score, row.band, row.band_before_rule) == (Decimal("87.00"), TOT, TOT)
    assert "đủ ngưỡng" not in row.explanation_vi


# --- zero denominators --------------------------------------------------------------------------


def test_zero_denominators_are_neutral(sample: EmulationConfig) -> None:
    """No task, no reviewed evidence, no owned points: full marks, said so in the explanation."""
    [row] = rank_units(
        [unit("a", tasks=(0, 0), evidence=(0, 0), points=("0", "0"), overdue=0)], sample
    )
    assert row.score == Decimal("100.00")
    neutral = {key for key, c in row.components.items() if c.neutral}
    assert neutral == {"on_time_share", "first_review_share", "points_lost"}
    assert row.components["on_time_share"].value == 1
    assert row.components["points_lost"].value == 0
    for text in (
        "không có nhiệm vụ được giao, tính đủ 40,00/40",
        "chưa có minh chứng được duyệt, tính đủ 30,00/30",
        "không phụ trách tiêu chí có điểm, tính đủ 20,00/20",
    ):
        assert text in row.explanation_vi
    ranking_row = row.to_ranking_row()
    assert ranking_row.on_time_share is None
    assert ranking_row.first_review_share is None


def test_neutral_share_counts_as_full_in_tie_breaks(sample: EmulationConfig) -> None:
    """A unit without tasks counts 100% on time when on_time_share breaks a tie, and says why."""
    config = make_config(tie_breaks=["on_time_share"])
    results = [
        unit("a", tasks=(10, 10), evidence=(15, 20)),  # 40 + 22,5 + 20 + 10
        unit("b", tasks=(0, 0), evidence=(15, 20)),  # same, with nothing assigned
        unit("c", tasks=(9, 10), evidence=(53, 60)),  # 36 + 26,5 + 20 + 10
    ]
    ranked = rank_units(results, config)
    assert [r.unit for r in ranked] == ["a", "b", "c"]
    assert ranked[1].tie_break == "unit_code"
    assert ranked[2].tie_break == "on_time_share"
    assert "(100,00% (không có nhiệm vụ được giao) so với 90,00%)" in ranked[1].explanation_vi


# --- inputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"tasks_on_time": 11}, "tasks_on_time exceeds"),
        ({"evidence_first_accepted": 21}, "evidence_first_accepted exceeds"),
        ({"points_lost": Decimal(21)}, "points_lost exceeds"),
        ({"overdue_items": -1}, "must not be negative"),
        ({"max_points_owned": Decimal("NaN")}, "finite Decimal"),
        ({"points_lost": 0.5}, "finite Decimal"),
        ({"tasks_total": 10.0}, "must be an int"),
        ({"unit": " "}, "non-empty"),
    ],
)
def test_unit_result_refuses_inconsistent_input(changes: dict[str, Any], error: str) -> None:
    """UnitResult refuses counts that contradict each other, negatives, floats and blanks."""
    values: dict[str, Any] = {
        "unit": "a",
        "unit_name": "Đơn vị A",
        "tasks_total": 10,
        "tasks_on_time": 10,
        "evidence_reviewed": 20,
        "evidence_first_accepted": 20,
        "max_points_owned": Decimal(20),
        "points_lost": Decimal(0),
        "overdue_items": 0,
    }
    values.update(changes)
    with pytest.raises((TypeError, ValueError), match=error):
        UnitResult(**values)


def test_unit_result_takes_int_points() -> None:
    """Ints given for the Decimal fields are stored as Decimal."""
    result = UnitResult(
        unit="a",
        unit_name="A",
        tasks_total=0,
        tasks_on_time=0,
        evidence_reviewed=0,
        evidence_first_accepted=0,
        max_points_owned=Decimal(3),
        points_lost=1,  # type: ignore[arg-type]
        overdue_items=0,
    )
    assert isinstance(result.points_lost, Decimal)


def test_weights_as_fractions_equal_points() -> None:
    """Weights given as fractions adding up to 1 score exactly as the same points out of 100."""
    fractions = make_config(
        weights={
            "on_time_share": "0.4",
            "first_review_share": "0.3",
            "points_lost": "0.2",
            "overdue": "0.1",
        }
    )
    assert rank_units(WORKED, fractions) == rank_units(WORKED, make_config())


# --- configuration problems ---------------------------------------------------------------------

GOOD = """\
weights:
  on_time_share: 40
  first_review_share: 30
  points_lost: 20
  overdue: 10
overdue:
  per_item: 0.25
  max_items: 4
bands:
  - label: Hoàn thành xuất sắc nhiệm vụ
    min_score: 90
  - label: Hoàn thành tốt nhiệm vụ
    min_score: 80
  - label: Hoàn thành nhiệm vụ
    min_score: 50
  - label: Không hoàn thành nhiệm vụ
    min_score: 0
no_top_band_with_overdue: true
tie_breaks: [points_lost, on_time_share, overdue, unit_code]
"""

BROKEN = {
    # name: (replace this, with this, expected code, line of the problem)
    "weights not adding up": ("  overdue: 10", "  overdue: 15", "CCHC-E007", 1),
    "negative weight": (
        "  points_lost: 20\n  overdue: 10",
        "  points_lost: -20\n  overdue: 50",
        "CCHC-E006",
        4,
    ),
    "missing weight": ("  first_review_share: 30\n", "", "CCHC-E003", 1),
    "unknown key": ("no_top_band", "no_top_tier", "CCHC-E002", 18),
    "unknown key in a band": (
        "    min_score: 50",
        "    min_score: 50\n    colour: red",
        "CCHC-E002",
        16,
    ),
    "bands not decreasing": ("    min_score: 80", "    min_score: 90", "CCHC-E008", 13),
    "last band above 0": ("    min_score: 0", "    min_score: 10", "CCHC-E010", 17),
    "threshold above 100": ("    min_score: 90", "    min_score: 190", "CCHC-E009", 11),
    "band label twice": ("Hoàn thành nhiệm vụ\n", "Hoàn thành tốt nhiệm vụ\n", "CCHC-E011", 14),
    "unknown tie-break key": ("[points_lost,", "[points_lots,", "CCHC-E012", 19),
    "tie-break key twice": ("overdue, unit_code]", "overdue, overdue]", "CCHC-E013", 19),
    "unit_code not last": ("overdue, unit_code]", "unit_code, overdue]", "CCHC-E014", 19),
    "cap above the weight": ("  max_items: 4", "  max_items: 5", "CCHC-E015", 6),
    "cap not an int": ("  max_items: 4", "  max_items: 4.5", "CCHC-E003", 8),
    "duplicate key": ("  overdue: 10\n", "  overdue: 10\n  overdue: 10\n", "CCHC-E004", 6),
    "invalid YAML": ("  max_items: 4", "  max_items: [4", "CCHC-E001", 9),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_config_is_reported(tmp_path: Path, name: str) -> None:
    """Each broken configuration gives its stable code on the line of the mistake."""
    old, new, code, line = BROKEN[name]
    assert old in GOOD
    path = tmp_path / "emulation.yaml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    config, problems = check_emulation_config(path)
    assert config is None
    assert [(p.code, p.line) for p in problems] == [(code, line)], [p.format() for p in problems]
    assert problems[0].format().startswith(f"{path}:{line}: {code} ")


def test_good_config_text_is_valid(tmp_path: Path) -> None:
    """The text the broken cases start from is itself valid."""
    path = tmp_path / "emulation.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert check_emulation_config(path) == (make_config(), [])


def test_unknown_tie_break_key_hint(tmp_path: Path) -> None:
    """An unknown tie-break key's hint suggests the closest known key."""
    path = tmp_path / "emulation.yaml"
    path.write_text(GOOD.replace("[points_lost,", "[points_lots,"), encoding="utf-8")
    [problem] = check_emulation_config(path)[1]
    assert problem.hint == "did you mean 'points_lost'?"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Unknown keys do not hide the other problems: all are listed, sorted by line."""
    text = (
        GOOD.replace("  overdue: 10", "  overdue: 15")
        .replace("no_top_band", "no_top_tier")
        .replace("    min_score: 80", "    min_score: 95")
    )
    path = tmp_path / "emulation.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_emulation_config(path)
    assert [(p.code, p.line) for p in caught.value.problems] == [
        ("CCHC-E007", 1),
        ("CCHC-E008", 13),
        ("CCHC-E002", 18),
    ]


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    """A list instead of a mapping is CCHC-E005; a missing file is CCHC-E001."""
    path = tmp_path / "emulation.yaml"
    path.write_text("- weights\n", encoding="utf-8")
    assert [p.code for p in check_emulation_config(path)[1]] == ["CCHC-E005"]
    assert [p.code for p in check_emulation_config(tmp_path / "none.yaml")[1]] == ["CCHC-E001"]


def test_config_built_in_code_is_checked() -> None:
    """EmulationConfig built in code runs the same checks and names the codes."""
    with pytest.raises(ValidationError, match="CCHC-E007"):
        make_config(
            weights={
                "on_time_share": 50,
                "first_review_share": 30,
                "points_lost": 20,
                "overdue": 10,
            }
        )
    with pytest.raises(ValidationError, match="CCHC-E012"):
        make_config(tie_breaks=["score"])
