"""Scoring rules: pure functions from a rule, its inputs and ``max_points`` to points.

Every function is deterministic and keeps ``Decimal`` arithmetic exact up to 40 significant
digits (its own context, whatever the caller's); rounding (2 decimals, ROUND_HALF_UP) happens
only when a value is reported: ``RuleResult.reported_points``, ``report`` and the Vietnamese
explanation.

**No data.** A rate whose denominator is 0 (no dossier received, no plan task due) is "no data":
the rule gives 0 points explained as "không có số liệu", unless it says ``when_no_data: full``,
in which case it gives full points. A missing input (nothing at all for the rule to read) is a
caller's mistake and raises ``ValueError``, as do inconsistent inputs (numerator above
denominator, a percent outside 0 … 100, an unknown qualitative level).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from cchc import vi_text
from cchc.indexset.models import (
    BinaryRule,
    BonusRule,
    DeductionRule,
    InputKind,
    Measure,
    NoData,
    PenaltyRule,
    QualitativeRule,
    RatioThresholdRule,
    Rule,
    SubCriterion,
    SurveyRule,
    TiersRule,
    exact_decimal,
    input_kind,
)
from cchc.scoring.rounding import half_up

ARITHMETIC = Context(
    prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
"""The context every computation runs in, so results never depend on the caller's context."""

HUNDRED = Decimal(100)
ZERO = Decimal(0)

LEVEL_LABELS_VI = {
    "good": "tốt",
    "full": "đầy đủ",
    "incomplete": "chưa đầy đủ",
    "none": "không thực hiện",
}
"""Vietnamese words for the customary qualitative level names; other names are shown as is."""

Number = Annotated[Decimal, BeforeValidator(exact_decimal), Field(allow_inf_nan=False)]


def _count(value: object) -> object:
    if isinstance(value, bool):
        # ValueError, the callers' contract for a value they report as a problem in the file.
        raise ValueError("a count of events, not true/false")  # noqa: TRY004
    return value


Count = Annotated[int, BeforeValidator(_count), Field(ge=0)]


class RuleInputs(BaseModel):
    """What a rule reads. Give only what the rule needs; ``source`` and ``period`` are kept.

    - ``done``: binary rules (``input: evidence`` → accepted evidence is present).
    - ``numerator`` / ``denominator``: a rate (metric, plan completion, survey responses);
      denominator 0 means no data.
    - ``value``: a percent given directly (instead of numerator/denominator), or a count for a
      ``tiers`` rule with ``measure: count``.
    - ``events``: a count of events (deduction, bonus, penalty, count tiers).
    - ``level``: the qualitative level the scorer picked.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    done: StrictBool | None = None
    level: str | None = None
    value: Number | None = None
    numerator: Annotated[Number, Field(ge=0)] | None = None
    denominator: Annotated[Number, Field(ge=0)] | None = None
    events: Count | None = None
    source: str | None = None
    """Where the figures come from, e.g. ``Cổng DVC, xuất ngày 05/01/2026``."""
    period: str | None = None
    """The period they cover, e.g. ``2025`` or ``2025-H2``."""


@dataclass(frozen=True)
class RuleResult:
    """Points (exact), a Vietnamese explanation, and the inputs needed to recompute them."""

    points: Decimal
    explanation_vi: str
    inputs: dict[str, Any] = field(default_factory=dict)
    """JSON-ready record: rule type, input reference, max_points and every figure used
    (decimals as strings), plus ``source`` and ``period`` when given."""
    no_data: bool = False

    @property
    def reported_points(self) -> Decimal:
        """The points rounded to 2 decimals (ROUND_HALF_UP), as reports show them."""
        return report(self.points)


def report(points: Decimal) -> Decimal:
    """Round for reporting: 2 decimals, half up (``19.695`` → ``19.70``); see ``half_up``."""
    return half_up(points)


def _percent(value: Decimal) -> str:
    return vi_text.percent(value)


def _bound(value: Decimal) -> str:
    return f"{vi_text.number_short(value)}%"


def _plain(value: Decimal) -> str:
    return format(value.normalize(ARITHMETIC), "f") if value else "0"


def _out_of(points: Decimal, max_points: Decimal) -> str:
    return f"{vi_text.number_short(points)}/{vi_text.number_short(max_points)} điểm"


InputsLike = RuleInputs | Mapping[str, Any]


def _inputs(inputs: InputsLike) -> RuleInputs:
    return inputs if isinstance(inputs, RuleInputs) else RuleInputs.model_validate(inputs)


def _max(max_points: Decimal | int | str) -> Decimal:
    if isinstance(max_points, bool) or not isinstance(max_points, Decimal | int | str):
        raise TypeError(f"max_points must be a Decimal, int or str, not {max_points!r}")
    try:
        value = Decimal(max_points)
    except InvalidOperation:
        raise ValueError(f"max_points is not a number: {max_points!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"max_points must be a positive number, not {max_points!r}")
    return value


def _record(rule: Rule, inputs: RuleInputs, max_points: Decimal, **used: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "rule": rule.type,
        "input": rule.input,
        "max_points": _plain(max_points),
    }
    for key, value in used.items():
        if value is not None:
            record[key] = _plain(value) if isinstance(value, Decimal) else value
    if inputs.source is not None:
        record["source"] = inputs.source
    if inputs.period is not None:
        record["period"] = inputs.period
    return record


@dataclass(frozen=True)
class _Rate:
    percent: Decimal | None
    """None: no data (denominator 0)."""
    figures: str
    """`` (193/200)`` when the rate came from counts, else empty."""


def _rate(inputs: RuleInputs, *, clamp: bool = False) -> _Rate:
    numerator, denominator = inputs.numerator, inputs.denominator
    if numerator is None and denominator is None:
        if inputs.value is None:
            raise ValueError("this rule needs a percent: give value, or numerator and denominator")
        percent = inputs.value
        if not clamp and not ZERO <= percent <= HUNDRED:
            raise ValueError(f"a percent must be within 0 … 100, not {percent}")
        return _Rate(percent, "")
    if inputs.value is not None:
        raise ValueError("give either value or numerator and denominator, not both")
    if numerator is None or denominator is None:
        raise ValueError("numerator and denominator go together")
    if denominator == 0:
        if numerator != 0:
            raise ValueError(f"numerator {numerator} with denominator 0")
        return _Rate(None, "")
    if numerator > denominator:
        raise ValueError(f"numerator {numerator} is above denominator {denominator}")
    with localcontext(ARITHMETIC):
        percent = numerator * HUNDRED / denominator
    return _Rate(
        percent, f" ({vi_text.number_short(numerator)}/{vi_text.number_short(denominator)})"
    )


def _rate_label(rule: Rule) -> str:
    if input_kind(rule.input) is InputKind.PLAN_COMPLETION:
        return "Tỷ lệ nhiệm vụ kế hoạch hoàn thành đúng hạn, có sản phẩm"
    return "Tỷ lệ"


def _no_data(
    rule: TiersRule | RatioThresholdRule | SurveyRule,
    inputs: RuleInputs,
    max_points: Decimal,
    label: str,
) -> RuleResult:
    full = rule.when_no_data is NoData.FULL
    points = max_points if full else ZERO
    rest = ", tiêu chí tính đủ điểm" if full else ""
    return RuleResult(
        points=points,
        explanation_vi=(
            f"{label}: không có số liệu (mẫu số bằng 0){rest} → {_out_of(points, max_points)}"
        ),
        inputs=_record(
            rule,
            inputs,
            max_points,
            numerator=inputs.numerator,
            denominator=inputs.denominator,
            when_no_data=rule.when_no_data.value,
        ),
        no_data=True,
    )


def _events(inputs: RuleInputs) -> int:
    if inputs.events is None:
        raise ValueError("this rule needs events (a count, 0 or more)")
    return inputs.events


def score_binary(
    rule: BinaryRule, inputs: InputsLike, max_points: Decimal | int | str
) -> RuleResult:
    """Done → ``max_points``; not done → 0."""
    given, top = _inputs(inputs), _max(max_points)
    if given.done is None:
        raise ValueError("a binary rule needs done (true or false)")
    points = top if given.done else ZERO
    if input_kind(rule.input) is InputKind.EVIDENCE:
        what = (
            "Có tài liệu kiểm chứng được chấp nhận"
            if given.done
            else "Chưa có tài liệu kiểm chứng được chấp nhận"
        )
    else:
        what = "Đã thực hiện" if given.done else "Chưa thực hiện"
    return RuleResult(
        points=points,
        explanation_vi=f"{what} → {_out_of(points, top)}",
        inputs=_record(rule, given, top, done=given.done),
    )


def score_tiers(rule: TiersRule, inputs: InputsLike, max_points: Decimal | int | str) -> RuleResult:
    """The tier with the highest ``min`` ≤ the value gives its points; below every tier → 0."""
    given, top = _inputs(inputs), _max(max_points)
    lowest = min(t.min for t in rule.tiers)
    if rule.measure is Measure.PERCENT:
        rate = _rate(given)
        label = _rate_label(rule)
        if rate.percent is None:
            return _no_data(rule, given, top, label)
        value = rate.percent
        shown, bound = f"{label} {_percent(value)}{rate.figures}", _bound
        record = _record(
            rule,
            given,
            top,
            numerator=given.numerator,
            denominator=given.denominator,
            percent=value,
        )
    else:
        if given.events is not None and given.value is not None:
            raise ValueError("give either events or value for a count, not both")
        count = given.value if given.events is None else Decimal(given.events)
        if count is None:
            raise ValueError("a count tiers rule needs events (or value)")
        if count < 0:
            raise ValueError(f"a count cannot be negative: {count}")
        value = count
        shown, bound = f"Số lượng {vi_text.number_short(value)}", vi_text.number_short
        record = _record(rule, given, top, count=value)
    reached = [t for t in rule.tiers if t.min <= value]
    if not reached:
        return RuleResult(
            points=ZERO,
            explanation_vi=(
                f"{shown} dưới mức thấp nhất (≥ {bound(lowest)}) → {_out_of(ZERO, top)}"
            ),
            inputs=record,
        )
    tier = max(reached, key=lambda t: t.min)
    return RuleResult(
        points=tier.points,
        explanation_vi=f"{shown} đạt mức ≥ {bound(tier.min)} → {_out_of(tier.points, top)}",
        inputs={**record, "tier_min": _plain(tier.min)},
    )


def score_ratio_threshold(
    rule: RatioThresholdRule, inputs: InputsLike, max_points: Decimal | int | str
) -> RuleResult:
    """min(1, rate / threshold) × ``max_points``."""
    given, top = _inputs(inputs), _max(max_points)
    rate = _rate(given)
    label = _rate_label(rule)
    if rate.percent is None:
        return _no_data(rule, given, top, label)
    with localcontext(ARITHMETIC):
        points = top if rate.percent >= rule.threshold else top * rate.percent / rule.threshold
    return RuleResult(
        points=points,
        explanation_vi=(
            f"{label} {_percent(rate.percent)}{rate.figures} / ngưỡng {_bound(rule.threshold)}"
            f" → {_out_of(points, top)}"
        ),
        inputs=_record(
            rule,
            given,
            top,
            numerator=given.numerator,
            denominator=given.denominator,
            percent=rate.percent,
            threshold=rule.threshold,
        ),
    )


def score_deduction(
    rule: DeductionRule, inputs: InputsLike, max_points: Decimal | int | str
) -> RuleResult:
    """``max_points`` − ``step`` × events, never below ``floor``."""
    given, top = _inputs(inputs), _max(max_points)
    events = _events(given)
    with localcontext(ARITHMETIC):
        deducted = rule.step * events
        points = max(rule.floor, top - deducted)
    if events == 0:
        what = "Không có lần nào bị trừ điểm"
    else:
        what = (
            f"{events} lần × {vi_text.number_short(rule.step)} điểm = "
            f"trừ {vi_text.number_short(deducted)} điểm"
        )
        if top - deducted < rule.floor:
            what += f", không thấp hơn mức sàn {vi_text.number_short(rule.floor)}"
    return RuleResult(
        points=points,
        explanation_vi=f"{what} → {_out_of(points, top)}",
        inputs=_record(rule, given, top, events=events, step=rule.step, floor=rule.floor),
    )


def score_qualitative(
    rule: QualitativeRule, inputs: InputsLike, max_points: Decimal | int | str
) -> RuleResult:
    """The level the scorer picked gives its fixed points; an unknown level is a ValueError."""
    given, top = _inputs(inputs), _max(max_points)
    known = ", ".join(rule.levels)
    if given.level is None:
        raise ValueError(f"a qualitative rule needs a level, one of: {known}")
    if given.level not in rule.levels:
        raise ValueError(f"unknown level {given.level!r}; the levels of this rule are: {known}")
    points = rule.levels[given.level]
    label = LEVEL_LABELS_VI.get(given.level, given.level)
    return RuleResult(
        points=points,
        explanation_vi=f"Mức đánh giá «{label}» → {_out_of(points, top)}",
        inputs=_record(rule, given, top, level=given.level),
    )


def score_survey(
    rule: SurveyRule, inputs: InputsLike, max_points: Decimal | int | str
) -> RuleResult:
    """Satisfaction percent, clamped to 0 … 100, × ``max_points`` / 100."""
    given, top = _inputs(inputs), _max(max_points)
    rate = _rate(given, clamp=True)
    if rate.percent is None:
        return _no_data(rule, given, top, "Mức hài lòng")
    percent = min(HUNDRED, max(ZERO, rate.percent))
    clamped = "" if percent == rate.percent else f" (tính {_bound(percent)})"
    with localcontext(ARITHMETIC):
        points = top * percent / HUNDRED
    return RuleResult(
        points=points,
        explanation_vi=(
            f"Mức hài lòng {_percent(rate.percent)}{rate.figures}{clamped}"
            f" × {vi_text.number_short(top)} điểm → {_out_of(points, top)}"
        ),
        inputs=_record(
            rule,
            given,
            top,
            numerator=given.numerator,
            denominator=given.denominator,
            percent=rate.percent,
        ),
    )


def _adjustment(
    rule: BonusRule | PenaltyRule, inputs: InputsLike, max_points: Decimal | int | str
) -> RuleResult:
    given, top = _inputs(inputs), _max(max_points)
    cap = rule.cap if rule.cap is not None else top
    events = _events(given)
    with localcontext(ARITHMETIC):
        earned = rule.per_event * events
    amount = min(earned, cap)
    verb = "cộng" if rule.type == "bonus" else "trừ"
    noun = "điểm thưởng" if rule.type == "bonus" else "điểm"
    if events == 0:
        what = "Không có lần nào"
    else:
        what = (
            f"{events} lần × {vi_text.number_short(rule.per_event)} điểm = "
            f"{vi_text.number_short(earned)} điểm"
        )
        if earned > cap:
            what += f", vượt mức tối đa {vi_text.number_short(cap)}"
    points = amount if rule.type == "bonus" or amount == 0 else -amount
    return RuleResult(
        points=points,
        explanation_vi=(
            f"{what} → {verb} {vi_text.number_short(amount)} {noun} "
            f"(tối đa {vi_text.number_short(cap)})"
        ),
        inputs=_record(rule, given, top, events=events, per_event=rule.per_event, cap=cap),
    )


def score_bonus(rule: BonusRule, inputs: InputsLike, max_points: Decimal | int | str) -> RuleResult:
    """events × ``per_event``, at most the cap: points added outside the base."""
    return _adjustment(rule, inputs, max_points)


def score_penalty(
    rule: PenaltyRule, inputs: InputsLike, max_points: Decimal | int | str
) -> RuleResult:
    """−(events × ``per_event``), at most the cap in size: negative points outside the base."""
    return _adjustment(rule, inputs, max_points)


def score(rule: Rule, inputs: InputsLike, max_points: Decimal | int | str) -> RuleResult:
    """Score ``rule`` for ``inputs`` (a ``RuleInputs`` or a mapping of its fields)."""
    if isinstance(rule, BinaryRule):
        return score_binary(rule, inputs, max_points)
    if isinstance(rule, TiersRule):
        return score_tiers(rule, inputs, max_points)
    if isinstance(rule, RatioThresholdRule):
        return score_ratio_threshold(rule, inputs, max_points)
    if isinstance(rule, DeductionRule):
        return score_deduction(rule, inputs, max_points)
    if isinstance(rule, QualitativeRule):
        return score_qualitative(rule, inputs, max_points)
    if isinstance(rule, SurveyRule):
        return score_survey(rule, inputs, max_points)
    if isinstance(rule, BonusRule):
        return score_bonus(rule, inputs, max_points)
    return score_penalty(rule, inputs, max_points)


def score_sub_criterion(sub: SubCriterion, inputs: InputsLike) -> RuleResult:
    """Score a sub-criterion with its own rule and ``max_points``."""
    result = score(sub.rule, inputs, sub.max_points)
    return RuleResult(
        points=result.points,
        explanation_vi=result.explanation_vi,
        inputs={"sub_criterion": sub.code, **result.inputs},
        no_data=result.no_data,
    )


__all__ = [
    "RuleInputs",
    "RuleResult",
    "report",
    "score",
    "score_binary",
    "score_bonus",
    "score_deduction",
    "score_penalty",
    "score_qualitative",
    "score_ratio_threshold",
    "score_sub_criterion",
    "score_survey",
    "score_tiers",
]
