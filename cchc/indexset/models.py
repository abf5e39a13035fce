"""Immutable models of a PAR index set (Bộ Chỉ số CCHC): areas, criteria, sub-criteria, rules.

An index set is data (``definitions/index-sets/*.yaml``, format in ``docs/index-sets.md``). The
models check shapes and ranges only; the loader (``cchc.indexset.loader``) checks the set as a
whole (codes, hierarchy, totals, rule parameters against ``max_points``) and reports lines.

Points are ``Decimal`` with at most two decimal places, never ``float``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from workflows.canonical import canonical_json, sha256_hex


def exact_decimal(value: object) -> object:
    """YAML gives ``0.1`` as a float: read it back through its shortest repr, not its binary."""
    if isinstance(value, bool):
        return value  # refused by the Decimal type, not silently read as 0/1
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Points = Annotated[Decimal, BeforeValidator(exact_decimal), Field(ge=0, le=1000, decimal_places=2)]
"""Points as written in an index set: 0 … 1000, at most two decimal places (``0.25``)."""

PositivePoints = Annotated[
    Decimal, BeforeValidator(exact_decimal), Field(gt=0, le=1000, decimal_places=2)
]

Percent = Annotated[Decimal, BeforeValidator(exact_decimal), Field(gt=0, le=100, decimal_places=2)]
"""A threshold in percent: above 0, at most 100."""

Amount = Annotated[
    Decimal, BeforeValidator(exact_decimal), Field(ge=0, le=1_000_000, decimal_places=2)
]
"""A tier's lower bound: a percent (0 … 100, checked by the loader) or a count."""

Label = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]

UnitCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)]
"""An owner unit such as ``vhxh``: the unit codes of the organization file."""

SetCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
"""An index set's code such as ``par-2025-ward-sample``: lower-case ASCII and hyphens."""

NUMBER = r"[1-9][0-9]?"
AREA_CODE = rf"{NUMBER}"
CRITERION_CODE = rf"{NUMBER}\.{NUMBER}"
SUB_CRITERION_CODE = rf"{NUMBER}\.{NUMBER}\.{NUMBER}"
BONUS_PENALTY_CODE = rf"[A-Z]{{1,3}}\.{NUMBER}"
"""A bonus or penalty item outside the areas: 1–3 capital letters, a dot, a number (``T.1``)."""

AreaCode = Annotated[str, StringConstraints(pattern=rf"^{AREA_CODE}$")]
"""``1`` … ``99``."""
CriterionCode = Annotated[str, StringConstraints(pattern=rf"^{CRITERION_CODE}$")]
"""The area's code, a dot and a number: ``1.2``."""
ItemCode = Annotated[
    str,
    StringConstraints(pattern=rf"^({SUB_CRITERION_CODE}|{CRITERION_CODE}|{BONUS_PENALTY_CODE})$"),
]
"""The code of a scored item: a sub-criterion (``1.2.3``), a criterion scored directly (``1.2``)
or a bonus or penalty item outside the areas (``T.1``). Which one fits where is checked by the
loader."""

INPUT_PATTERN = r"^(evidence|plan_completion|manual|(metric|events):[a-z][a-z0-9_]*)$"
InputRef = Annotated[str, StringConstraints(pattern=INPUT_PATTERN, max_length=80)]
"""Where a rule's input comes from (see ``InputKind``): ``evidence``, ``plan_completion``,
``manual``, ``metric:<name>`` or ``events:<name>``."""

LevelName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class InputKind(StrEnum):
    """The source of a rule's input; the part of ``input`` before any ``:``."""

    EVIDENCE = "evidence"
    """Accepted evidence is present → done (``RuleInputs.done``)."""
    PLAN_COMPLETION = "plan_completion"
    """Plan tasks done on time with an accepted product (numerator) / plan tasks (denominator)."""
    MANUAL = "manual"
    """The scorer's own choice or number (``done``, ``level``, ``value`` …)."""
    METRIC = "metric"
    """A rate from a metrics import: numerator / denominator for the unit and period."""
    EVENTS = "events"
    """A count of events, e.g. late reports (``RuleInputs.events``)."""


def input_kind(ref: str) -> InputKind:
    """The kind of an ``input`` reference: ``metric:on_time_dossiers`` → ``InputKind.METRIC``."""
    return InputKind(ref.split(":", 1)[0])


def input_name(ref: str) -> str | None:
    """The name after the colon (``on_time_dossiers``), or ``None`` for kinds without one."""
    _, sep, name = ref.partition(":")
    return name if sep else None


class NoData(StrEnum):
    """What a rate rule gives when its denominator is 0 (no dossier, no task in the period)."""

    ZERO = "zero"
    """0 points, explained as "không có số liệu" (the default)."""
    FULL = "full"
    """Full points: the criterion counts as met when there was nothing to do."""


class Measure(StrEnum):
    """What a ``tiers`` rule compares with its tier bounds."""

    PERCENT = "percent"
    COUNT = "count"


class Level(StrEnum):
    """The administrative level an index set is for."""

    PHUONG = "phuong"
    XA = "xa"
    SO = "so"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BinaryRule(_Frozen):
    """Done → ``max_points``, else 0."""

    type: Literal["binary"]
    input: InputRef = "evidence"


class Tier(_Frozen):
    """Points given when the measured value is at least ``min``."""

    min: Amount
    points: Points


class TiersRule(_Frozen):
    """The highest tier whose ``min`` ≤ the value; below every tier → 0.

    Tiers are written best first: ``min`` strictly decreasing, ``points`` non-increasing.
    """

    type: Literal["tiers"]
    input: InputRef = "manual"
    measure: Measure = Measure.PERCENT
    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=20)
    when_no_data: NoData = NoData.ZERO


class RatioThresholdRule(_Frozen):
    """min(1, rate / threshold) × ``max_points``."""

    type: Literal["ratio_threshold"]
    input: InputRef = "manual"
    threshold: Percent
    when_no_data: NoData = NoData.ZERO


class DeductionRule(_Frozen):
    """``max_points`` − ``step`` × events, never below ``floor``."""

    type: Literal["deduction"]
    input: InputRef = "manual"
    step: PositivePoints
    floor: Points = Decimal(0)


class QualitativeRule(_Frozen):
    """The scorer picks one of ``levels``; each level gives fixed points."""

    type: Literal["qualitative"]
    input: InputRef = "manual"
    levels: dict[LevelName, Points] = Field(min_length=1, max_length=20)


class SurveyRule(_Frozen):
    """Satisfaction percent (clamped to 0 … 100) × ``max_points`` / 100."""

    type: Literal["survey"]
    input: InputRef = "manual"
    when_no_data: NoData = NoData.ZERO


class BonusRule(_Frozen):
    """events × ``per_event``, capped at ``cap`` (= the sub-criterion's ``max_points``)."""

    type: Literal["bonus"]
    input: InputRef = "manual"
    per_event: PositivePoints
    cap: PositivePoints | None = None
    """Defaults to ``max_points``; when written, it must equal ``max_points``."""


class PenaltyRule(_Frozen):
    """−(events × ``per_event``), capped at ``cap`` (= the sub-criterion's ``max_points``)."""

    type: Literal["penalty"]
    input: InputRef = "manual"
    per_event: PositivePoints
    cap: PositivePoints | None = None
    """Defaults to ``max_points``; when written, it must equal ``max_points``."""


Rule = Annotated[
    BinaryRule
    | TiersRule
    | RatioThresholdRule
    | DeductionRule
    | QualitativeRule
    | SurveyRule
    | BonusRule
    | PenaltyRule,
    Field(discriminator="type"),
]
"""A scoring rule, chosen by its ``type``."""

RULE_MODELS: dict[str, type[BaseModel]] = {
    "binary": BinaryRule,
    "tiers": TiersRule,
    "ratio_threshold": RatioThresholdRule,
    "deduction": DeductionRule,
    "qualitative": QualitativeRule,
    "survey": SurveyRule,
    "bonus": BonusRule,
    "penalty": PenaltyRule,
}
"""Every rule type by its ``type`` value."""

ADJUSTMENT_TYPES = frozenset({"bonus", "penalty"})
"""Rule types outside the 100-point base (their ``max_points`` is the cap)."""


class SubCriterion(_Frozen):
    """A scored item, owned by one unit: a sub-criterion (tiêu chí thành phần, e.g. ``1.1.3``),
    a criterion scored directly (``1.2``, see ``Criterion.scored_items``) or a bonus or penalty
    item outside the areas (``T.1``)."""

    code: ItemCode
    title: Label
    max_points: PositivePoints
    """Maximum points; for a bonus or penalty, the cap (outside the base)."""
    owner_unit: UnitCode
    evidence: Text
    """The evidence documents (tài liệu kiểm chứng) required, in Vietnamese."""
    rule: Rule

    @property
    def is_adjustment(self) -> bool:
        """True for bonus and penalty items, which sit outside the 100-point base."""
        return self.rule.type in ADJUSTMENT_TYPES

    @property
    def parent_code(self) -> str:
        """The criterion code this sub-criterion belongs under (``1.1`` for ``1.1.3``)."""
        return self.code.rsplit(".", 1)[0]


DIRECT_FIELDS = ("owner_unit", "evidence", "rule")
"""What a criterion scored directly carries instead of sub-criteria."""


class Criterion(_Frozen):
    """A criterion (tiêu chí), e.g. ``1.1``: its base sub-criteria add up to ``max_points``.

    A criterion without sub-criteria is scored directly: it carries ``owner_unit``, ``evidence``
    and ``rule`` itself (the loader checks it is one or the other).
    """

    code: CriterionCode
    title: Label
    max_points: Points
    sub_criteria: tuple[SubCriterion, ...] = ()
    owner_unit: UnitCode | None = None
    evidence: Text | None = None
    rule: Rule | None = None

    @property
    def parent_code(self) -> str:
        """The area code this criterion belongs under (``1`` for ``1.1``)."""
        return self.code.rsplit(".", 1)[0]

    @property
    def scored_directly(self) -> bool:
        """True for a criterion without sub-criteria, scored by its own rule."""
        return not self.sub_criteria

    @cached_property
    def scored_items(self) -> tuple[SubCriterion, ...]:
        """What is scored: the sub-criteria, or the criterion itself as one item with its code
        (empty for a criterion that is neither, which the loader reports)."""
        if self.sub_criteria:
            return self.sub_criteria
        if self.owner_unit is None or self.evidence is None or self.rule is None:
            return ()
        if self.max_points <= 0:
            return ()
        return (
            SubCriterion(
                code=self.code,
                title=self.title,
                max_points=self.max_points,
                owner_unit=self.owner_unit,
                evidence=self.evidence,
                rule=self.rule,
            ),
        )


class Area(_Frozen):
    """An area (lĩnh vực), e.g. ``1`` direction & management."""

    code: AreaCode
    title: Label
    max_points: Points
    criteria: tuple[Criterion, ...] = Field(min_length=1)


class IndexSet(_Frozen):
    """One year's index set for one level: areas adding up to ``total_max`` plus adjustments."""

    code: SetCode
    title: Label
    description: Text | None = None
    year: int = Field(ge=2000, le=2100)
    level: Level
    sample: bool = False
    """True for a set shaped like an official one but not its text (never for real scoring)."""
    source: Text
    """Where the set comes from, e.g. the decision number and date, or that it is a sample."""
    total_max: PositivePoints = Decimal(100)
    areas: tuple[Area, ...] = Field(min_length=1)
    bonus_penalty: tuple[SubCriterion, ...] = ()
    """Bonus and penalty items outside the areas (điểm thưởng, điểm trừ), coded ``T.1`` …"""

    def sub_criteria(self) -> Iterator[SubCriterion]:
        """Every scored item in file order: sub-criteria, criteria scored directly, bonus and
        penalty items (inside the areas and after them)."""
        for area in self.areas:
            for criterion in area.criteria:
                yield from criterion.scored_items
        yield from self.bonus_penalty

    def base_sub_criteria(self) -> Iterator[SubCriterion]:
        """The sub-criteria inside the base (not bonus, not penalty)."""
        return (s for s in self.sub_criteria() if not s.is_adjustment)

    def adjustments(self) -> Iterator[SubCriterion]:
        """The bonus and penalty sub-criteria."""
        return (s for s in self.sub_criteria() if s.is_adjustment)

    def sub_criterion(self, code: str) -> SubCriterion:
        """The sub-criterion with ``code``; raises ``KeyError``."""
        for sub in self.sub_criteria():
            if sub.code == code:
                return sub
        raise KeyError(code)

    def as_data(self) -> dict[str, Any]:
        """The set as JSON-ready data, without the optional parts a file does not use (empty
        ``bonus_penalty``; ``owner_unit``, ``evidence``, ``rule`` of a criterion with
        sub-criteria, ``sub_criteria`` of one scored directly): a set written before those
        existed keeps its hash."""
        data = self.model_dump(mode="json")
        if not data["bonus_penalty"]:
            del data["bonus_penalty"]
        for area in data["areas"]:
            for criterion in area["criteria"]:
                for key in ("sub_criteria", *DIRECT_FIELDS):
                    if criterion[key] in (None, []):
                        del criterion[key]
        return data

    def canonical_json(self) -> str:
        """The set as canonical JSON (sorted keys, no spaces): what its hash covers."""
        return canonical_json(self.as_data())

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON: the rule-set version a score records (computed once:
        the set is frozen)."""
        return sha256_hex(self.canonical_json())
