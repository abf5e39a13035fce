"""The decisions on a plan's self-assessments: the list, approving and returning (the unit's
head), locking (the Chairman), one at a time or every approved one at once.

``cchc assessments list|fire|lock-approved`` and the web pages (``/assessments``) call these
functions. Who may do what is the engine's: the triggers offered are those the definitions let
the person fire from the item's state; each decision is one ``Engine.fire`` (refusals audited,
nothing changed), and ``last_change`` says who moved an item last and when, for a page to tell
someone who decided on a stale view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from cchc.organization.access import require_any_role
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.engine import FireResult
from workflows.registry import Actor
from workflows.schema import AuditEvent, Instance

KIND = "assessment"
DECISIONS = ("approve", "return_score", "lock")
"""The triggers decided on a self-score (``self_score`` is the scorer's, ``cchc score run``)."""
WAITING_STATES = frozenset({"self_scored", "approved"})
"""States in which an assessment waits for someone's decision."""


@dataclass(frozen=True)
class AssessmentRow:
    """One assessment of a plan as the list shows it (``cchc assessments list --json``)."""

    id: int
    code: str
    title: str
    owner_unit: str
    state: str
    self_score: str | None
    max_points: str
    explanation: str
    version: int

    def as_json(self) -> dict[str, Any]:
        """The row as ``cchc assessments list --json`` prints it."""
        return {
            "id": self.id,
            "code": self.code,
            "title": self.title,
            "owner_unit": self.owner_unit,
            "state": self.state,
            "self_score": self.self_score,
            "max_points": self.max_points,
            "explanation": self.explanation,
        }

    @property
    def points(self) -> Decimal | None:
        """The self-score as a number (None before scoring)."""
        return Decimal(self.self_score) if self.self_score else None


def _row(instance: Instance) -> AssessmentRow:
    data = json.loads(instance.data)
    return AssessmentRow(
        id=instance.id,
        code=data["code"],
        title=data["title"],
        owner_unit=data["owner_unit"],
        state=instance.state,
        self_score=data.get("self_score"),
        max_points=str(data["max_points"]),
        explanation=data.get("explanation", ""),
        version=instance.version,
    )


def assessment_rows(
    ws: Workspace, plan: str, *, unit: str | None = None, state: str | None = None
) -> list[AssessmentRow]:
    """The plan's assessments in id order, only ``unit``'s and in ``state`` when given (the
    caller has checked that the reader may read them, ``cchc.organization.access``)."""
    query = select(Instance).where(
        Instance.tenant == ws.tenant,
        Instance.kind == KIND,
        Instance.ref.startswith(f"{plan}/", autoescape=True),
    )
    with ws.sessions() as session:
        found = list(session.scalars(query.order_by(Instance.id)))
    rows = [_row(r) for r in found]
    return [
        r for r in rows if (unit is None or r.owner_unit == unit) and (state in (None, r.state))
    ]


def assessment(ws: Workspace, instance_id: int) -> tuple[AssessmentRow, str, str] | None:
    """One assessment of the ward with its tenant and plan code; None when there is none."""
    with ws.sessions() as session:
        row = session.get(Instance, instance_id)
    if row is None or row.kind != KIND or row.tenant != ws.tenant:
        return None
    return _row(row), row.tenant, row.ref.rsplit("/TC-", 1)[0]


def decisions_for(ws: Workspace, actor: Actor, rows: list[AssessmentRow]) -> dict[int, list[str]]:
    """Row id → the decisions (``DECISIONS``) the definitions let ``actor`` fire from its state,
    as the engine lists them (roles and state; guards are run when fired)."""
    with ws.sessions() as session:
        return {
            r.id: [t for t in ws.engine.available_triggers(session, r.id, actor) if t in DECISIONS]
            for r in rows
        }


def trigger_labels(ws: Workspace) -> dict[str, str]:
    """Trigger → its Vietnamese label in the assessment definition in force."""
    return {t.trigger: t.label or t.trigger for t in ws.engine.current(KIND).definition.transitions}


def decision_roles(ws: Workspace) -> frozenset[str]:
    """The roles the definitions in force let make any of ``DECISIONS``."""
    return frozenset(
        role
        for t in ws.engine.current(KIND).definition.transitions
        if t.trigger in DECISIONS
        for role in t.roles
    )


def decide(
    ws: Workspace,
    actor: Actor,
    instance_id: int,
    trigger: str,
    payload: Mapping[str, Any] | None = None,
    *,
    seen_version: int | None = None,
) -> FireResult:
    """Fire ``trigger`` on the assessment as ``actor`` in one unit of work.

    ``seen_version`` is the version the person decided on: when the item changed since and the
    trigger is still possible from its new state, ``ConflictError`` (nothing written, nothing
    audited: the person decides again on what is there now); when the trigger is no longer
    possible the engine refuses it as any late decision (audited).
    """
    with unit_of_work(ws.sessions) as session:
        expected = seen_version
        if seen_version is not None:
            now = ws.engine.get(session, instance_id)
            definition = ws.engine.machine_for(session, now.definition_hash).definition
            if now.version != seen_version and definition.transition(trigger, now.state) is None:
                expected = None
        return ws.engine.fire(
            session,
            instance_id,
            trigger,
            actor=actor,
            payload=dict(payload or {}),
            expected_version=expected,
        )


def lock_approved(ws: Workspace, plan: str, actor: Actor, unit: str | None = None) -> list[str]:
    """Lock every approved assessment of the plan (of ``unit`` when given) as ``actor``, all
    in one unit of work: a refusal of any locks none (and is audited). The codes locked."""
    rows = assessment_rows(ws, plan, unit=unit, state="approved")
    definition = ws.engine.current("assessment").definition
    lockers = {r for t in definition.transitions if t.trigger == "lock" for r in t.roles}
    with unit_of_work(ws.sessions) as session:
        if not actor.roles & lockers:  # refused (audited) even with nothing approved to lock
            require_any_role(
                session, ws.engine, actor, lockers, what="lock on assessment", kind="assessment"
            )
        for row in rows:
            ws.engine.fire(session, row.id, "lock", actor=actor, expected_version=row.version)
    return [r.code for r in rows]


@dataclass(frozen=True)
class Change:
    """The last applied change of an instance: who, as which role, what, when, to which state."""

    actor: str
    role: str | None
    trigger: str
    to_state: str | None
    occurred_at: datetime


def last_change(ws: Workspace, instance_id: int) -> Change | None:
    """Who changed the instance last and when (its last applied audit event)."""
    query = (
        select(
            AuditEvent.actor,
            AuditEvent.role,
            AuditEvent.trigger,
            AuditEvent.to_state,
            AuditEvent.occurred_at,
        )
        .where(AuditEvent.instance_id == instance_id, AuditEvent.outcome == "applied")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    with ws.sessions() as session:
        found = session.execute(query).first()
    return None if found is None else Change(*found)
