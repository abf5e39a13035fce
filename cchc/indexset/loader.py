"""Read an index set YAML file, check it as a whole, and report every problem at once.

Problems are ``workflows.errors.Problem`` values (``file:line: CCHC-I0NN message (hint)``); the
codes are stable and listed in ``docs/index-sets.md``. ``check_index_set`` never raises for a bad
file; ``load_index_set`` raises ``DefinitionError`` listing them all.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cchc.indexset.models import (
    ADJUSTMENT_TYPES,
    BONUS_PENALTY_CODE,
    DIRECT_FIELDS,
    RULE_MODELS,
    SUB_CRITERION_CODE,
    Area,
    Criterion,
    DeductionRule,
    IndexSet,
    InputKind,
    Measure,
    QualitativeRule,
    SubCriterion,
    Tier,
    TiersRule,
    input_kind,
)
from workflows.datafile import DataFile, FileCodes, Reading
from workflows.definition.checks import did_you_mean
from workflows.definition.yamlpos import Located, Path_
from workflows.errors import Problem

DOCS = "docs/index-sets.md"

CHILD_MODELS: dict[str, type[BaseModel]] = {
    "areas": Area,
    "criteria": Criterion,
    "sub_criteria": SubCriterion,
    "bonus_penalty": SubCriterion,
    "tiers": Tier,
}
ITEM_NAMES = {
    "areas": "area",
    "criteria": "criterion",
    "sub_criteria": "sub-criterion",
    "bonus_penalty": "bonus/penalty item",
}

CODE_FORMS: dict[str, tuple[str, str]] = {
    "": ("index set", "lower-case ASCII letters, digits and hyphens, e.g. par-2025-ward"),
    "areas": ("area", "a number from 1 to 99, e.g. 7"),
    "criteria": ("criterion", "its area's code, a dot and a number from 1 to 99, e.g. 7.1"),
    "sub_criteria": (
        "sub-criterion",
        (
            "its criterion's code, a dot and a number from 1 to 99, e.g. 7.1.1; a criterion "
            "scored directly has no sub_criteria and carries owner_unit, evidence and rule itself"
        ),
    ),
    "bonus_penalty": (
        "bonus/penalty item",
        (
            "1 to 3 capital letters, a dot and a number from 1 to 99, e.g. T.1 (điểm thưởng) or "
            "TR.1 (điểm trừ)"
        ),
    ),
}
"""What a code looks like, by the list it is in (``""``: the set's own code)."""

FIELD_FORMS = {
    "owner_unit": "a unit code of the organization file: lower-case ASCII letters, digits and _, "
    "starting with a letter, e.g. vhxh",
    "input": "evidence, plan_completion, manual, metric:<name> or events:<name>, <name> in "
    "snake_case ASCII, e.g. metric:on_time_dossiers",
}
"""What other patterned fields look like, for messages without a regular expression."""

RATE_INPUTS = frozenset({InputKind.METRIC, InputKind.PLAN_COMPLETION, InputKind.MANUAL})
COUNT_INPUTS = frozenset({InputKind.EVENTS, InputKind.MANUAL})
ALLOWED_INPUTS: dict[str, frozenset[InputKind]] = {
    "binary": frozenset({InputKind.EVIDENCE, InputKind.MANUAL}),
    "tiers": RATE_INPUTS,  # measure: percent; count tiers use COUNT_INPUTS
    "ratio_threshold": RATE_INPUTS,
    "deduction": COUNT_INPUTS,
    "qualitative": frozenset({InputKind.MANUAL}),
    "survey": frozenset({InputKind.METRIC, InputKind.MANUAL}),
    "bonus": COUNT_INPUTS,
    "penalty": COUNT_INPUTS,
}
"""Which ``input`` kinds each rule type can read."""

SUB_CRITERION = re.compile(SUB_CRITERION_CODE)
BONUS_PENALTY = re.compile(BONUS_PENALTY_CODE)


def check_index_set(
    path: Path | str, known_units: Collection[str] | None = None
) -> tuple[IndexSet | None, list[Problem]]:
    """Load the index set at ``path``: the set (``None`` if any problem) and every problem.

    ``known_units``: the unit codes owners must be among (e.g. from the organization file);
    ``None`` skips that check.
    """
    return INDEX_SET_FILE.check_file(path, known_units)


def load_index_set(path: Path | str, known_units: Collection[str] | None = None) -> IndexSet:
    """Like ``check_index_set`` but raises ``DefinitionError`` listing every problem."""
    return INDEX_SET_FILE.load_file(path, known_units)


def check_index_set_text(
    text: str, file: str = "<index set>", known_units: Collection[str] | None = None
) -> tuple[IndexSet | None, list[Problem]]:
    """``check_index_set`` for YAML already in memory; ``file`` is the name problems carry."""
    return INDEX_SET_FILE.check_text(text, file, known_units)


# --- schema -------------------------------------------------------------------------------------


def _clean_loc(data: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """The error's location as a data path: without union tags and ``[key]`` markers."""
    clean: list[str | int] = []
    holder = data
    for index, part in enumerate(loc):
        if part == "[key]":
            continue
        if (
            index > 0
            and loc[index - 1] == "rule"
            and isinstance(holder, dict)
            and holder.get("type") == part
        ):
            continue  # pydantic names the chosen rule type right after ``rule``
        clean.append(part)
        try:
            holder = holder[part]
        except (LookupError, TypeError):
            holder = None
    return tuple(clean)


def _relevant(errors: list[Any]) -> list[Any]:
    """Drop "too short after validation" when an item inside failed: it is only an echo."""
    return [
        err
        for err in errors
        if not (
            err["type"] == "too_short"
            and any(
                len(other["loc"]) > len(err["loc"])
                and tuple(other["loc"][: len(err["loc"])]) == tuple(err["loc"])
                for other in errors
            )
        )
    ]


def _where(data: Any, loc: tuple[str | int, ...]) -> tuple[str, str]:
    """(``sub-criterion 1.1.3``, ``rule.threshold``) rather than ``areas.0.criteria.0…``."""
    label, start = "", 0
    holder = data
    for index, part in enumerate(loc):
        try:
            holder = holder[part]
        except (LookupError, TypeError):
            break
        if isinstance(part, int) and index > 0 and loc[index - 1] in ITEM_NAMES:
            code = holder.get("code") if isinstance(holder, dict) else None
            kind = ITEM_NAMES[str(loc[index - 1])]
            label = f"{kind} {code}" if isinstance(code, str) else f"{kind} #{part + 1}"
            start = index + 1
    return label, ".".join(str(part) for part in loc[start:])


def _at(label: str, rest: str) -> str:
    if label and rest:
        return f"{label}: {rest}"
    return label or rest or "(top)"


def _allowed_keys(data: Any, loc: tuple[str | int, ...]) -> str:
    model: type[BaseModel] | None = IndexSet
    holder = data
    for part in loc[:-1]:
        try:
            holder = holder[part]
        except (LookupError, TypeError):
            return f"see {DOCS}"
        if isinstance(part, int):
            continue
        if part == "rule":
            kind = holder.get("type") if isinstance(holder, dict) else None
            model = RULE_MODELS.get(kind) if isinstance(kind, str) else None
        else:
            model = CHILD_MODELS.get(part)
        if model is None:
            return f"see {DOCS}"
    return ", ".join(model.model_fields) if model else f"see {DOCS}"


def _validate(reading: Reading[Any]) -> IndexSet | None:
    located = reading.located
    try:
        return IndexSet.model_validate(located.data)
    except ValidationError as exc:
        errors = _relevant(exc.errors())
    for err in errors:
        loc = _clean_loc(located.data, tuple(err["loc"]))
        label, rest = _where(located.data, loc)
        where = _at(label, rest)
        line = located.line_of(loc)
        if err["type"] == "extra_forbidden":
            code, message = "CCHC-I002", _at(label, f"unknown key {rest!r}")
            hint = f"allowed here: {_allowed_keys(located.data, loc)}"
        elif err["type"] == "union_tag_invalid":
            line = located.line_of((*loc, "type"))
            tag = err.get("ctx", {}).get("tag", "?")
            code, message = "CCHC-I015", f"{where}: unknown rule type {tag!r}"
            hint = f"{did_you_mean(str(tag), RULE_MODELS)}; rule types: {DOCS}"
        elif err["type"] == "union_tag_not_found":
            code, message = "CCHC-I003", f"{where}: a rule needs a 'type'"
            hint = f"one of: {', '.join(RULE_MODELS)}"
        elif err["type"] == "string_pattern_mismatch":
            code = "CCHC-I003"
            message, hint = _format_problem(label, rest, loc, err.get("input"))
        else:
            code, message = "CCHC-I003", f"{where}: {err['msg']}"
            hint = "add this field" if err["type"] == "missing" else ""
        reading.problems.append(Problem(reading.name, line, code, message, hint))
    return _without_unknown_keys(located.data, errors)


def _format_problem(
    label: str, rest: str, loc: tuple[str | int, ...], value: object
) -> tuple[str, str]:
    """A value of the wrong form, said in words: (message, hint) naming what fits there."""
    field = str(loc[-1]) if loc else ""
    if field == "code":
        parent = loc[-3] if len(loc) >= 3 and isinstance(loc[-2], int) else ""
        kind, form = CODE_FORMS.get(str(parent), CODE_FORMS[""])
        article = "an" if kind[0] in "aeiou" else "a"
        return _at(
            label, f"{value!r} is not {article} {kind} code"
        ), f"{article} {kind} code is {form}"
    form = FIELD_FORMS.get(field, f"see {DOCS}")
    return _at(label, f"{rest}: {value!r} is not of the right form"), f"{field} is {form}"


def _without_unknown_keys(data: Any, errors: list[Any]) -> IndexSet | None:
    """When unknown keys are the only problem, the set without them, so checks can go on."""
    if any(err["type"] != "extra_forbidden" for err in errors):
        return None
    data = copy.deepcopy(data)
    try:
        for err in errors:
            *parents, key = _clean_loc(data, tuple(err["loc"]))
            holder = data
            for part in parents:
                holder = holder[part]
            del holder[key]
        return IndexSet.model_validate(data)
    except (LookupError, TypeError, ValidationError):
        return None


# --- the set as a whole -------------------------------------------------------------------------


def _words(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _points(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


class _Checker:
    def __init__(self, file: str, located: Located, known_units: Collection[str] | None) -> None:
        self.file = file
        self.located = located
        self.known_units = None if known_units is None else set(known_units)
        self.problems: list[Problem] = []

    def report(self, path: Path_, code: str, message: str, hint: str = "") -> None:
        line = self.located.line_of(path)
        self.problems.append(Problem(self.file, line, code, message, hint))

    def run(self, index_set: IndexSet) -> list[Problem]:
        self.codes(index_set)
        self.shapes(index_set)
        self.totals(index_set)
        for path, sub in self.sub_criteria(index_set):
            if self.known_units is not None and sub.owner_unit not in self.known_units:
                self.report(
                    (*path, "owner_unit"),
                    "CCHC-I009",
                    f"sub-criterion {sub.code}: unknown owner unit {sub.owner_unit!r}",
                    did_you_mean(sub.owner_unit, self.known_units),
                )
            self.rule(sub, (*path, "rule"))
        return self.problems

    @staticmethod
    def sub_criteria(index_set: IndexSet) -> Iterator[tuple[Path_, SubCriterion]]:
        """Every scored item with the path of what holds its fields."""
        for a, area in enumerate(index_set.areas):
            for c, criterion in enumerate(area.criteria):
                criterion_path: Path_ = ("areas", a, "criteria", c)
                if criterion.scored_directly:
                    for item in criterion.scored_items:
                        yield criterion_path, item
                for s, sub in enumerate(criterion.sub_criteria):
                    yield (*criterion_path, "sub_criteria", s), sub
        for i, item in enumerate(index_set.bonus_penalty):
            yield ("bonus_penalty", i), item

    def shapes(self, index_set: IndexSet) -> None:
        """A criterion is scored through sub-criteria or directly; bonus and penalty apart."""
        for a, area in enumerate(index_set.areas):
            for c, criterion in enumerate(area.criteria):
                path: Path_ = ("areas", a, "criteria", c)
                own = [f for f in DIRECT_FIELDS if getattr(criterion, f) is not None]
                if criterion.sub_criteria and own:
                    self.report(
                        (*path, own[0]),
                        "CCHC-I016",
                        f"criterion {criterion.code} has sub-criteria and its own {_words(own)}",
                        "score it either through its sub-criteria or directly with owner_unit, "
                        "evidence and rule, not both",
                    )
                elif not criterion.sub_criteria and len(own) < len(DIRECT_FIELDS):
                    missing = [f for f in DIRECT_FIELDS if f not in own]
                    self.report(
                        (*path, "code"),
                        "CCHC-I016",
                        f"criterion {criterion.code} has no sub-criteria and no "
                        f"{_words(missing)} to be scored directly",
                        "give it sub_criteria, or owner_unit, evidence and rule to score it "
                        "directly",
                    )
                elif not criterion.sub_criteria and criterion.max_points <= 0:
                    self.report(
                        (*path, "max_points"),
                        "CCHC-I016",
                        f"criterion {criterion.code} is scored directly with max_points 0",
                        "a criterion scored directly needs max_points above 0",
                    )
                elif criterion.rule is not None and criterion.rule.type in ADJUSTMENT_TYPES:
                    self.report(
                        (*path, "rule", "type"),
                        "CCHC-I017",
                        f"criterion {criterion.code} is scored directly as a "
                        f"{criterion.rule.type} item",
                        "a criterion counts in its area; write bonus and penalty items under "
                        "bonus_penalty as T.1, TR.1 … or as sub-criteria",
                    )
        for i, item in enumerate(index_set.bonus_penalty):
            if not item.is_adjustment:
                self.report(
                    ("bonus_penalty", i, "rule", "type"),
                    "CCHC-I017",
                    f"bonus/penalty item {item.code} has a {item.rule.type} rule",
                    "items under bonus_penalty are scored by a bonus or penalty rule",
                )

    def codes(self, index_set: IndexSet) -> None:
        seen: dict[str, int] = {}

        def once(path: Path_, kind: str, code: str) -> None:
            line = self.located.line_of((*path, "code"))
            if code in seen:
                self.report(
                    (*path, "code"),
                    "CCHC-I006",
                    f"{kind} code {code!r} is already used on line {seen[code]}",
                    "each area, criterion and sub-criterion has its own code",
                )
            else:
                seen[code] = line

        for a, area in enumerate(index_set.areas):
            area_path: Path_ = ("areas", a)
            once(area_path, "area", area.code)
            for c, criterion in enumerate(area.criteria):
                criterion_path: Path_ = (*area_path, "criteria", c)
                once(criterion_path, "criterion", criterion.code)
                if criterion.parent_code != area.code:
                    self.report(
                        (*criterion_path, "code"),
                        "CCHC-I007",
                        f"criterion {criterion.code} is not under area {area.code}",
                        f"criteria of area {area.code} are numbered {area.code}.1, {area.code}.2 …",
                    )
                for s, sub in enumerate(criterion.sub_criteria):
                    sub_path: Path_ = (*criterion_path, "sub_criteria", s)
                    once(sub_path, "sub-criterion", sub.code)
                    if not SUB_CRITERION.fullmatch(sub.code):
                        self.report(
                            (*sub_path, "code"),
                            "CCHC-I007",
                            f"{sub.code!r} inside criterion {criterion.code} is not a "
                            "sub-criterion code",
                            f"sub-criteria of {criterion.code} are numbered {criterion.code}.1, "
                            f"{criterion.code}.2 …; a criterion scored directly has no "
                            "sub_criteria, and bonus/penalty items outside the areas go under "
                            "bonus_penalty",
                        )
                    elif sub.parent_code != criterion.code:
                        self.report(
                            (*sub_path, "code"),
                            "CCHC-I007",
                            f"sub-criterion {sub.code} is not under criterion {criterion.code}",
                            f"sub-criteria of {criterion.code} are numbered {criterion.code}.1, "
                            f"{criterion.code}.2 …",
                        )

        for i, item in enumerate(index_set.bonus_penalty):
            item_path: Path_ = ("bonus_penalty", i)
            once(item_path, "bonus/penalty item", item.code)
            if not BONUS_PENALTY.fullmatch(item.code):
                self.report(
                    (*item_path, "code"),
                    "CCHC-I007",
                    f"bonus/penalty item {item.code} is outside the areas but has an area's "
                    "numbering",
                    "code items under bonus_penalty with letters: T.1, T.2 … for điểm thưởng, "
                    "TR.1 … for điểm trừ; or move it under its criterion as a sub-criterion",
                )

    def totals(self, index_set: IndexSet) -> None:
        hint = "bonus and penalty items are outside the base and not counted"
        area_sum = Decimal(0)
        for a, area in enumerate(index_set.areas):
            area_sum += area.max_points
            criteria_sum = Decimal(0)
            for c, criterion in enumerate(area.criteria):
                criteria_sum += criterion.max_points
                if criterion.scored_directly:
                    continue
                base = sum(
                    (s.max_points for s in criterion.sub_criteria if not s.is_adjustment),
                    Decimal(0),
                )
                if base != criterion.max_points:
                    self.report(
                        ("areas", a, "criteria", c, "max_points"),
                        "CCHC-I008",
                        f"criterion {criterion.code}: max_points is "
                        f"{_points(criterion.max_points)} but its sub-criteria add up to "
                        f"{_points(base)}",
                        hint,
                    )
            if criteria_sum != area.max_points:
                self.report(
                    ("areas", a, "max_points"),
                    "CCHC-I008",
                    f"area {area.code}: max_points is {_points(area.max_points)} but its "
                    f"criteria add up to {_points(criteria_sum)}",
                )
        if area_sum != index_set.total_max:
            path: Path_ = ("total_max",) if ("total_max",) in self.located.lines else ("areas",)
            self.report(
                path,
                "CCHC-I008",
                f"total_max is {_points(index_set.total_max)} but the areas add up to "
                f"{_points(area_sum)}",
                "total_max defaults to 100",
            )

    def rule(self, sub: SubCriterion, path: Path_) -> None:
        rule = sub.rule
        top = sub.max_points
        allowed = ALLOWED_INPUTS[rule.type]
        if isinstance(rule, TiersRule) and rule.measure is Measure.COUNT:
            allowed = COUNT_INPUTS
        if input_kind(rule.input) not in allowed:
            named = {InputKind.METRIC, InputKind.EVENTS}
            names = ", ".join(
                f"{kind.value}:<name>" if kind in named else kind.value for kind in sorted(allowed)
            )
            self.report(
                (*path, "input"),
                "CCHC-I014",
                f"sub-criterion {sub.code}: a {rule.type} rule cannot read input {rule.input!r}",
                f"allowed: {names}",
            )
        if isinstance(rule, TiersRule):
            self.tiers(sub, rule, path)
        elif isinstance(rule, QualitativeRule):
            for level, points in rule.levels.items():
                if points > top:
                    self.report(
                        (*path, "levels", level),
                        "CCHC-I011",
                        f"sub-criterion {sub.code}: level {level!r} gives {_points(points)}, "
                        f"above max_points {_points(top)}",
                    )
            if max(rule.levels.values()) < top:
                self.report(
                    (*path, "levels"),
                    "CCHC-I012",
                    f"sub-criterion {sub.code}: no level gives max_points {_points(top)}",
                    "one level (usually the best) must give the full points",
                )
        elif isinstance(rule, DeductionRule):
            if rule.floor >= top:
                self.report(
                    (*path, "floor"),
                    "CCHC-I013",
                    f"sub-criterion {sub.code}: floor {_points(rule.floor)} is not below "
                    f"max_points {_points(top)}",
                    "the floor is the least a deduction can leave, usually 0",
                )
        elif rule.type in {"bonus", "penalty"}:
            cap = getattr(rule, "cap", None)
            if cap is not None and cap != top:
                self.report(
                    (*path, "cap"),
                    "CCHC-I013",
                    f"sub-criterion {sub.code}: cap {_points(cap)} differs from max_points "
                    f"{_points(top)}",
                    "for bonus and penalty items max_points is the cap; drop 'cap' or match it",
                )

    def tiers(self, sub: SubCriterion, rule: TiersRule, path: Path_) -> None:
        top = sub.max_points
        previous: Tier | None = None
        for t, tier in enumerate(rule.tiers):
            tier_path: Path_ = (*path, "tiers", t)
            if rule.measure is Measure.PERCENT and tier.min > 100:
                self.report(
                    (*tier_path, "min"),
                    "CCHC-I013",
                    f"sub-criterion {sub.code}: tier min {_points(tier.min)}% is above 100%",
                )
            if tier.points > top:
                self.report(
                    (*tier_path, "points"),
                    "CCHC-I011",
                    f"sub-criterion {sub.code}: tier {t + 1} gives {_points(tier.points)}, "
                    f"above max_points {_points(top)}",
                )
            if previous is not None and tier.min >= previous.min:
                self.report(
                    tier_path,
                    "CCHC-I010",
                    f"sub-criterion {sub.code}: tier {t + 1} (min {_points(tier.min)}) is not "
                    f"below tier {t} (min {_points(previous.min)})",
                    "write tiers from the highest min to the lowest",
                )
            elif previous is not None and tier.points > previous.points:
                self.report(
                    tier_path,
                    "CCHC-I010",
                    f"sub-criterion {sub.code}: tier {t + 1} gives more points "
                    f"({_points(tier.points)}) than tier {t} ({_points(previous.points)})",
                    "a lower tier cannot give more points than a higher one",
                )
            previous = tier
        if max(t.points for t in rule.tiers) < top:
            self.report(
                (*path, "tiers"),
                "CCHC-I012",
                f"sub-criterion {sub.code}: no tier gives max_points {_points(top)}",
                "the first tier (the highest min) must give the full points",
            )


def _check_whole(index_set: IndexSet, reading: Reading[Collection[str] | None]) -> None:
    reading.problems.extend(_Checker(reading.name, reading.located, reading.context).run(index_set))


INDEX_SET_FILE: DataFile[IndexSet, Collection[str] | None] = DataFile(
    "index set",
    FileCodes(
        "CCHC-I001",
        "CCHC-I004",
        "CCHC-I005",
        "an index set starts with 'code:', 'title:', 'year:' …",
    ),
    _validate,
    checks=(_check_whole,),
    text_keys=frozenset({"code"}),  # ``code: 1.10`` is the code "1.10", not the float 1.1
)
"""An index set file (format in docs/index-sets.md), checked against the known units (the
context; ``None`` skips that check)."""
