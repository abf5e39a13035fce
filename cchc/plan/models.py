"""A reform plan as data: decision, period and tasks (frozen, unknown keys refused)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", max_length=60)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
"""A unit code; checked against the organization (an unknown one is reported by name)."""
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: object) -> object:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
    return value


class Decision(_Frozen):
    """The decision that issues the plan: "Quyết định số 337/QĐ-UBND ngày 29/7/2025"."""

    number: Text
    date: date


class Period(_Frozen):
    """The period the plan covers."""

    code: Code
    """Short code used by metric files and scores, e.g. ``2025-H2``."""
    start: date
    end: date
    label: Text
    """As officials write it: "6 tháng cuối năm 2025"."""


class PlanTask(_Frozen):
    """One task: what to do, the product it must end in, who leads, who helps, by when."""

    code: Code
    title: Text
    expected_product: Text
    owner_unit: Unit
    support_units: tuple[Unit, ...] = ()
    deadline: date
    criteria: tuple[Code, ...] = Field(default=(), description="Sub-criteria the task serves")

    _lists = field_validator("support_units", "criteria", mode="before")(_as_list)


class Plan(_Frozen):
    """A ward's reform plan for a period."""

    code: Code
    title: Text
    tenant: Code
    decision: Decision
    period: Period
    index_set: Code
    tasks: tuple[PlanTask, ...] = Field(min_length=1)
