"""The scorer's inputs file (``score run --inputs``), read and checked like every data file.

The file maps sub-criterion codes to what the scorer gives for them::

    "1.1.2": {level: full}
    "1.3.2": {value: 100}
    "5.2.1": {explanation: "…"}

Every problem is reported with its file:line and a stable code (``CCHC-S…``; limits on size,
nesting and aliases are ``CCHC-L…``): an unknown code, a field the rule does not read, a value
that is not a number, not finite, negative, not a whole count, a percent outside 0 … 100 or a
level the rule does not have. Nothing is scored from a file with problems.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cchc.indexset.models import (
    BinaryRule,
    IndexSet,
    Measure,
    QualitativeRule,
    RatioThresholdRule,
    Rule,
    SubCriterion,
    SurveyRule,
    TiersRule,
)
from cchc.indexset.rules import RuleInputs
from workflows.datafile import DataFile, FileCodes, Reading
from workflows.definition.checks import did_you_mean
from workflows.errors import Problem

_CODES = FileCodes(
    unreadable="CCHC-S001",
    duplicate_key="CCHC-S002",
    not_mapping="CCHC-S003",
    mapping_hint="the file maps sub-criterion codes to inputs, e.g. '\"2.1.1\": {level: full}'",
)
UNKNOWN_CODE = "CCHC-S004"
NOT_A_MAPPING = "CCHC-S005"
UNKNOWN_FIELD = "CCHC-S006"
BAD_VALUE = "CCHC-S007"

ALWAYS = ("explanation", "source", "period")
"""Fields any sub-criterion takes: the scorer's explanation, where figures come from, when."""
RATE = ("value", "numerator", "denominator")


def fields_read(rule: Rule) -> tuple[str, ...]:
    """The input fields ``rule`` reads (besides ``explanation``, ``source`` and ``period``)."""
    if isinstance(rule, BinaryRule):
        return ("done",)
    if isinstance(rule, QualitativeRule):
        return ("level",)
    if isinstance(rule, TiersRule) and rule.measure is Measure.COUNT:
        return ("events", "value")
    if isinstance(rule, TiersRule | RatioThresholdRule | SurveyRule):
        return RATE
    return ("events",)  # deduction, bonus, penalty


def _is_percent(rule: Rule) -> bool:
    if isinstance(rule, TiersRule):
        return rule.measure is Measure.PERCENT
    return isinstance(rule, RatioThresholdRule)  # a survey clamps its percent to 0 … 100


def check_inputs(
    path: Path, index_set: IndexSet
) -> tuple[dict[str, dict[str, Any]] | None, list[Problem]]:
    """Read and check the inputs file: the inputs per sub-criterion if valid, and every problem."""
    return INPUTS_FILE.check_file(path, index_set)


def _read_inputs(reading: Reading[IndexSet]) -> dict[str, dict[str, Any]] | None:
    """The inputs per sub-criterion of the file, each checked against its rule."""
    index_set, report = reading.context, reading.report
    subs = {sub.code: sub for sub in index_set.sub_criteria()}
    inputs: dict[str, dict[str, Any]] = {}
    for key, given in reading.data.items():
        code = str(key)
        sub = subs.get(code)
        if sub is None:
            report(
                (code,),
                UNKNOWN_CODE,
                f"unknown sub-criterion {code!r} in index set {index_set.code}",
                did_you_mean(code, subs),
            )
            continue
        if not isinstance(given, dict):
            report(
                (code,),
                NOT_A_MAPPING,
                f"{code}: the inputs are not a mapping",
                f"write e.g. '\"{code}\": {{{fields_read(sub.rule)[0]}: …}}'",
            )
            continue

        def at(field: str, c: str, m: str, h: str = "", k: str = code) -> None:
            report((k, field), c, m, h)

        checked = _check_one(sub, given, at)
        if checked is not None:
            inputs[code] = checked
    return inputs


def _check_one(sub: SubCriterion, given: dict[Any, Any], report: Any) -> dict[str, Any] | None:
    """``given`` if every field is one ``sub``'s rule reads, with a valid value; else None."""
    allowed = (*fields_read(sub.rule), *ALWAYS)
    fields = {str(k): v for k, v in given.items()}
    bad = False
    for field in fields:
        if field not in allowed:
            report(
                field,
                UNKNOWN_FIELD,
                f"{sub.code}: field {field!r} is not read by its {sub.rule.type} rule",
                f"it reads: {', '.join(allowed)}",
            )
            bad = True
    explanation = fields.get("explanation")
    if explanation is not None and not isinstance(explanation, str):
        report("explanation", BAD_VALUE, f"{sub.code}: explanation must be text")
        bad = True
    values = {k: v for k, v in fields.items() if k in allowed and k != "explanation"}
    try:
        model = RuleInputs.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            report(
                field,
                BAD_VALUE,
                f"{sub.code}: {field} {values.get(field)!r}: {err['msg']}",
                _expected(field),
            )
        return None
    bad = _check_rule(sub, model, report) or bad
    return None if bad else fields


def _expected(field: str) -> str:
    return {
        "done": "true or false",
        "level": "one of the rule's levels",
        "value": "a finite number (a percent 0 … 100, or a count)",
        "numerator": "a finite number, 0 or more",
        "denominator": "a finite number, 0 or more",
        "events": "a whole number, 0 or more",
        "source": "text",
        "period": "text, e.g. 2025-H2",
    }.get(field, "")


def _check_rule(sub: SubCriterion, model: RuleInputs, report: Any) -> bool:
    """Report what the rule itself refuses (level, range); True when something was reported."""
    rule, bad = sub.rule, False
    if isinstance(rule, QualitativeRule) and model.level not in (None, *rule.levels):
        report(
            "level",
            BAD_VALUE,
            f"{sub.code}: unknown level {model.level!r}",
            f"the levels of this rule are: {', '.join(rule.levels)}",
        )
        bad = True
    if model.value is not None:
        if _is_percent(rule) and not Decimal(0) <= model.value <= Decimal(100):
            report(
                "value",
                BAD_VALUE,
                f"{sub.code}: a percent must be within 0 … 100, not {model.value}",
                "give the percent, e.g. 95",
            )
            bad = True
        elif model.value < 0:
            report(
                "value",
                BAD_VALUE,
                f"{sub.code}: value {model.value} is negative",
                _expected("value"),
            )
            bad = True
    numerator, denominator = model.numerator, model.denominator
    if numerator is not None and denominator is not None and numerator > denominator:
        report(
            "numerator",
            BAD_VALUE,
            f"{sub.code}: numerator {numerator} is above the denominator {denominator}",
        )
        bad = True
    return bad


INPUTS_FILE: DataFile[dict[str, dict[str, Any]], IndexSet] = DataFile(
    "scoring inputs file", _CODES, _read_inputs
)
"""A scoring inputs file (format in docs/limits.md), checked against an index set."""
