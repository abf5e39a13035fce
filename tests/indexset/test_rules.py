"""Scoring rules: boundary values of every rule type, no-data behaviour, Vietnamese explanations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from cchc.indexset.models import (
    BinaryRule,
    BonusRule,
    DeductionRule,
    PenaltyRule,
    QualitativeRule,
    RatioThresholdRule,
    SurveyRule,
    TiersRule,
)
from cchc.indexset.rules import (
    RuleInputs,
    RuleResult,
    report,
    score,
    score_ratio_threshold,
)

D = Decimal


def _tiers(measure: str = "percent", **extra: Any) -> TiersRule:
    return TiersRule.model_validate(
        {
            "type": "tiers",
            "measure": measure,
            "tiers": [
                {"min": 100, "points": 3},
                {"min": 90, "points": 2},
                {"min": 80, "points": 1},
            ],
            **extra,
        }
    )


def _ratio(threshold: str = "98", **extra: Any) -> RatioThresholdRule:
    return RatioThresholdRule.model_validate(
        {"type": "ratio_threshold", "threshold": threshold, **extra}
    )


QUALITATIVE = QualitativeRule.model_validate(
    {"type": "qualitative", "levels": {"good": 2, "full": 1.5, "incomplete": 0.5, "none": 0}}
)
DEDUCTION = DeductionRule.model_validate({"type": "deduction", "step": 0.5})
BONUS = BonusRule.model_validate({"type": "bonus", "per_event": 0.5})
PENALTY = PenaltyRule.model_validate({"type": "penalty", "per_event": 0.75, "cap": 2})
SURVEY = SurveyRule.model_validate({"type": "survey"})


# --- binary ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("done", "points"), [(True, D(2)), (False, D(0))])
def test_binary_gives_max_when_done_else_zero(done: bool, points: Decimal) -> None:
    """A binary rule gives max_points when done and 0 when not."""
    result = score(BinaryRule(type="binary"), {"done": done}, 2)
    assert result.points == points
    assert result.inputs["done"] is done


def test_binary_evidence_explanation_names_the_evidence() -> None:
    """With input evidence, the explanation says whether accepted evidence exists."""
    yes = score(BinaryRule(type="binary", input="evidence"), {"done": True}, 1)
    no = score(BinaryRule(type="binary", input="evidence"), {"done": False}, 1)
    assert yes.explanation_vi == "Có tài liệu kiểm chứng được chấp nhận → 1/1 điểm"
    assert no.explanation_vi == "Chưa có tài liệu kiểm chứng được chấp nhận → 0/1 điểm"


def test_binary_without_done_is_a_value_error() -> None:
    """A binary rule scored without `done` raises ValueError rather than guessing."""
    with pytest.raises(ValueError, match="needs done"):
        score(BinaryRule(type="binary"), {}, 1)


def test_binary_refuses_a_string_for_done() -> None:
    """`done` must be a real boolean: the string "false" is refused, not read as true."""
    with pytest.raises(ValidationError):
        score(BinaryRule(type="binary"), {"done": "false"}, 1)


# --- tiers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "points"),
    [
        ("100", D(3)),
        ("99.99", D(2)),
        ("90", D(2)),
        ("89.99", D(1)),
        ("80", D(1)),
        ("79.99", D(0)),
        ("0", D(0)),
    ],
)
def test_tiers_exactly_at_a_bound_reach_it_just_below_do_not(value: str, points: Decimal) -> None:
    """A value equal to a tier's min earns that tier; 0.01 below earns the next one down."""
    assert score(_tiers(), {"value": value}, 3).points == points


def test_tiers_pick_the_highest_reached_tier_whatever_the_written_order() -> None:
    """Scoring takes the reached tier with the highest min, even if tiers are unordered."""
    rule = TiersRule.model_validate(
        {"type": "tiers", "tiers": [{"min": 80, "points": 1}, {"min": 100, "points": 3}]}
    )
    assert score(rule, {"value": 100}, 3).points == D(3)
    assert score(rule, {"value": 85}, 3).points == D(1)


def test_tiers_rate_from_counts_and_explanation() -> None:
    """A percent tier from numerator/denominator explains the rate with a comma decimal."""
    result = score(_tiers(input="plan_completion"), {"numerator": 19, "denominator": 20}, 3)
    assert result.points == D(2)
    assert result.explanation_vi == (
        "Tỷ lệ nhiệm vụ kế hoạch hoàn thành đúng hạn, có sản phẩm 95,00% (19/20)"
        " đạt mức ≥ 90% → 2/3 điểm"
    )


def test_tiers_below_every_tier_says_so() -> None:
    """Below the lowest tier gives 0 and the explanation names the lowest bound."""
    result = score(_tiers(), {"value": "79.5"}, 3)
    assert result.points == 0
    assert "79,50% dưới mức thấp nhất (≥ 80%)" in result.explanation_vi
    assert result.explanation_vi.endswith("→ 0/3 điểm")


def test_count_tiers_read_events() -> None:
    """A count tiers rule reads `events` (or `value`) and compares it with plain numbers."""
    rule = TiersRule.model_validate(
        {
            "type": "tiers",
            "measure": "count",
            "input": "events:website_posts",
            "tiers": [{"min": 24, "points": 3}, {"min": 12, "points": 1.5}],
        }
    )
    assert score(rule, {"events": 24}, 3).points == D(3)
    assert score(rule, {"events": 23}, 3).points == D("1.5")
    assert score(rule, {"value": 12}, 3).points == D("1.5")
    result = score(rule, {"events": 11}, 3)
    assert result.points == 0
    assert result.explanation_vi == "Số lượng 11 dưới mức thấp nhất (≥ 12) → 0/3 điểm"


@pytest.mark.parametrize(
    ("when_no_data", "points"), [("zero", D(0)), ("full", D(3))], ids=["default", "full"]
)
def test_tiers_zero_denominator_is_no_data(when_no_data: str, points: Decimal) -> None:
    """0/0 is no data: 0 points by default, full points with when_no_data: full."""
    result = score(_tiers(when_no_data=when_no_data), {"numerator": 0, "denominator": 0}, 3)
    assert result.points == points
    assert result.no_data
    assert "không có số liệu" in result.explanation_vi


@pytest.mark.parametrize(
    "inputs",
    [
        {"value": "100.01"},
        {"value": -1},
        {"numerator": 5, "denominator": 4},
        {"numerator": 1, "denominator": 0},
        {"numerator": 1},
        {"value": 50, "numerator": 1, "denominator": 2},
        {},
    ],
    ids=["above-100", "negative", "num-above-den", "num-over-zero", "num-alone", "both", "none"],
)
def test_percent_rules_refuse_impossible_inputs(inputs: dict[str, Any]) -> None:
    """Impossible or missing rate inputs raise ValueError instead of being clamped."""
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        score(_tiers(), inputs, 3)


# --- ratio_threshold ---------------------------------------------------------------------------


def test_ratio_threshold_example_from_the_brief() -> None:
    """96.5% against a 98% threshold on 20 points gives 19.69, explained in Vietnamese."""
    result = score(_ratio("98"), {"value": "96.5"}, 20)
    assert result.reported_points == D("19.69")
    assert result.explanation_vi == "Tỷ lệ 96,50% / ngưỡng 98% → 19,69/20 điểm"


def test_ratio_threshold_keeps_exact_points_and_rounds_only_when_reported() -> None:
    """Points stay unrounded (19.693…) while reported_points is 19.69."""
    result = score(_ratio("98"), {"value": "96.5"}, 20)
    assert result.points != result.reported_points
    assert str(result.points).startswith("19.6938775510204081632")


@pytest.mark.parametrize(
    ("numerator", "points"),
    [(70, D(3)), (100, D(3)), (69, D("2.957142857142857142857142857142857142857"))],
)
def test_ratio_threshold_full_at_the_threshold_and_proportional_below(
    numerator: int, points: Decimal
) -> None:
    """At or above the threshold gives max; just below gives rate/threshold × max."""
    result = score(_ratio("70"), {"numerator": numerator, "denominator": 100}, 3)
    assert result.points == points


def test_ratio_threshold_records_its_inputs() -> None:
    """The result keeps numerator, denominator, rate, threshold, source and period as text."""
    result = score_ratio_threshold(
        _ratio("60", input="metric:online_payments"),
        RuleInputs(numerator=D(1250), denominator=D(2500), source="Cổng DVC", period="2025"),
        3,
    )
    assert result.inputs == {
        "rule": "ratio_threshold",
        "input": "metric:online_payments",
        "max_points": "3",
        "numerator": "1250",
        "denominator": "2500",
        "percent": "50",
        "threshold": "60",
        "source": "Cổng DVC",
        "period": "2025",
    }
    assert result.explanation_vi == "Tỷ lệ 50,00% (1.250/2.500) / ngưỡng 60% → 2,5/3 điểm"


@pytest.mark.parametrize(
    ("when_no_data", "points", "text"),
    [
        ("zero", D(0), "Tỷ lệ: không có số liệu (mẫu số bằng 0) → 0/4 điểm"),
        (
            "full",
            D(4),
            "Tỷ lệ: không có số liệu (mẫu số bằng 0), tiêu chí tính đủ điểm → 4/4 điểm",
        ),
    ],
    ids=["default", "full"],
)
def test_ratio_threshold_zero_denominator(when_no_data: str, points: Decimal, text: str) -> None:
    """No dossier at all gives 0 ("không có số liệu") or, with when_no_data: full, max."""
    rule = _ratio("100", when_no_data=when_no_data)
    result = score(rule, {"numerator": 0, "denominator": 0}, 4)
    assert (result.points, result.explanation_vi, result.no_data) == (points, text, True)


def test_ratio_threshold_reads_float_inputs_without_binary_noise() -> None:
    """A float input such as 96.5 is read as Decimal('96.5'), not its binary approximation."""
    assert score(_ratio("98"), {"value": 96.5}, 20).inputs["percent"] == "96.5"


# --- deduction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "points"), [(0, D(2)), (1, D("1.5")), (3, D("0.5")), (4, D(0)), (9, D(0))]
)
def test_deduction_subtracts_a_step_per_event_down_to_the_floor(
    events: int, points: Decimal
) -> None:
    """max − step × events, never below the floor (0)."""
    assert score(DEDUCTION, {"events": events}, 2).points == points


def test_deduction_with_a_higher_floor_stops_there() -> None:
    """A floor of 0.5 keeps 0.5 points however many events there were."""
    rule = DeductionRule.model_validate({"type": "deduction", "step": 1, "floor": 0.5})
    result = score(rule, {"events": 5}, 2)
    assert result.points == D("0.5")
    assert result.explanation_vi == (
        "5 lần × 1 điểm = trừ 5 điểm, không thấp hơn mức sàn 0,5 → 0,5/2 điểm"
    )


def test_deduction_explanation_uses_comma_decimals() -> None:
    """Three late reports at 0.5 each: "3 lần × 0,5 điểm = trừ 1,5 điểm → 0,5/2 điểm"."""
    result = score(DEDUCTION, {"events": 3}, 2)
    assert result.explanation_vi == "3 lần × 0,5 điểm = trừ 1,5 điểm → 0,5/2 điểm"


def test_deduction_needs_an_event_count() -> None:
    """A deduction without `events` raises ValueError; a negative or boolean count is refused."""
    with pytest.raises(ValueError, match="needs events"):
        score(DEDUCTION, {}, 2)
    with pytest.raises(ValidationError):
        score(DEDUCTION, {"events": -1}, 2)
    with pytest.raises(ValidationError, match="not true/false"):
        score(DEDUCTION, {"events": True}, 2)


# --- qualitative -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "points", "word"),
    [("good", D(2), "tốt"), ("full", D("1.5"), "đầy đủ"), ("none", D(0), "không thực hiện")],
)
def test_qualitative_gives_the_points_of_the_picked_level(
    level: str, points: Decimal, word: str
) -> None:
    """Each level gives its fixed points; the explanation names the level in Vietnamese."""
    result = score(QUALITATIVE, {"level": level}, 2)
    assert result.points == points
    assert f"Mức đánh giá «{word}»" in result.explanation_vi


def test_qualitative_unknown_level_is_a_clear_value_error() -> None:
    """An unknown level raises ValueError naming it and listing the rule's levels."""
    with pytest.raises(ValueError, match=r"unknown level 'excellent'.*good, full, incomplete"):
        score(QUALITATIVE, {"level": "excellent"}, 2)


def test_qualitative_free_level_names_are_shown_as_written() -> None:
    """A level name without a customary translation appears as written."""
    rule = QualitativeRule.model_validate({"type": "qualitative", "levels": {"đạt": 1}})
    assert score(rule, {"level": "đạt"}, 1).explanation_vi == "Mức đánh giá «đạt» → 1/1 điểm"


# --- survey ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "points"),
    [("87.3", D("2.619")), ("100", D(3)), ("0", D(0)), ("105", D(3)), ("-4", D(0))],
)
def test_survey_is_percent_times_max_clamped(value: str, points: Decimal) -> None:
    """Satisfaction % × max / 100, with the percent clamped to 0 … 100."""
    assert score(SURVEY, {"value": value}, 3).points == points


def test_survey_explanation_shows_clamping() -> None:
    """A percent above 100 is explained as counted at 100%."""
    result = score(SURVEY, {"value": 105}, 3)
    assert result.explanation_vi == "Mức hài lòng 105,00% (tính 100%) × 3 điểm → 3/3 điểm"


def test_survey_from_responses_and_no_responses() -> None:
    """Satisfied/responses gives the rate; zero responses is no data (0 or full)."""
    assert score(SURVEY, {"numerator": 873, "denominator": 1000}, 3).reported_points == D("2.62")
    assert score(SURVEY, {"numerator": 0, "denominator": 0}, 3).points == 0
    full = SurveyRule.model_validate({"type": "survey", "when_no_data": "full"})
    assert score(full, {"numerator": 0, "denominator": 0}, 3).points == 3


# --- bonus and penalty -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "points"), [(0, D(0)), (1, D("0.5")), (2, D(1)), (3, D(1)), (50, D(1))]
)
def test_bonus_is_capped(events: int, points: Decimal) -> None:
    """events × per_event, never above the cap (max_points when no cap is written)."""
    assert score(BONUS, {"events": events}, 1).points == points


@pytest.mark.parametrize(
    ("events", "points"), [(0, D(0)), (1, D("-0.75")), (2, D("-1.5")), (3, D(-2)), (9, D(-2))]
)
def test_penalty_is_negative_and_capped(events: int, points: Decimal) -> None:
    """A penalty is −(events × per_event), at most the cap in size."""
    assert score(PENALTY, {"events": events}, 2).points == points


def test_bonus_and_penalty_explain_the_cap() -> None:
    """Hitting the cap is said in the explanation, with comma decimals."""
    bonus = score(BONUS, {"events": 3}, 1)
    assert bonus.explanation_vi == (
        "3 lần × 0,5 điểm = 1,5 điểm, vượt mức tối đa 1 → cộng 1 điểm thưởng (tối đa 1)"
    )
    penalty = score(PENALTY, {"events": 3}, 2)
    assert penalty.explanation_vi == (
        "3 lần × 0,75 điểm = 2,25 điểm, vượt mức tối đa 2 → trừ 2 điểm (tối đa 2)"
    )


def test_zero_penalty_is_not_negative_zero() -> None:
    """No event gives exactly 0 points (not -0) and "trừ 0 điểm"."""
    result = score(PENALTY, {"events": 0}, 2)
    assert result.points == 0
    assert not result.points.is_signed()
    assert "trừ 0 điểm" in result.explanation_vi


# --- common ------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_points", [0, -1, "abc", "NaN"])
def test_max_points_must_be_a_positive_number(max_points: Any) -> None:
    """max_points of 0, negative or not a number raises ValueError."""
    with pytest.raises(ValueError, match="max_points"):
        score(BinaryRule(type="binary"), {"done": True}, max_points)


def test_unknown_input_field_is_refused() -> None:
    """A mapping with a key RuleInputs does not know is refused (no silent typo)."""
    with pytest.raises(ValidationError):
        score(BinaryRule(type="binary"), {"don": True}, 1)


def test_report_rounds_half_up() -> None:
    """Reported values round half up: 0.125 → 0.13 and 2.675 → 2.68."""
    assert report(D("0.125")) == D("0.13")
    assert report(D("2.675")) == D("2.68")


def test_scoring_is_deterministic() -> None:
    """The same rule and inputs give equal results every time."""
    first = score(_ratio("98"), {"numerator": 193, "denominator": 200}, 20)
    again = score(_ratio("98"), {"numerator": 193, "denominator": 200}, 20)
    assert isinstance(first, RuleResult)
    assert first == again
