"""What the focal unit's review pages read: the evidence waiting for a decision, one piece of
evidence with its versions, and who last moved it (from the audit trail).

Reads only, on the same rows and functions as ``cchc evidence list`` (``evidence_json``) and
``cchc evidence coverage`` (``coverage``); the decisions themselves go through
``cchc.evidence.service.review_evidence``. "Waiting" is what ``cchc.waiting`` counts as
reviews waiting: evidence in the state ``submitted`` (a superseded version never waits).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cchc.evidence.service import KIND, coverage
from cchc.waiting import TaskLine, task_lines
from cchc.workspace import Workspace
from workflows.audit import AuditFilter, query_events
from workflows.schema import Instance

WAITING = "submitted"
"""The evidence state that waits for the focal unit's decision (``cchc.waiting``)."""

PRODUCT_WAITING = "product_submitted"
"""The task state whose product waits for the focal unit (``cchc.waiting``: reviews)."""

INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})
"""Stored media types (the store checked the magic bytes) a browser may show inline."""


@dataclass(frozen=True)
class Moved:
    """The last applied change of an instance: who, when, which trigger, to which state."""

    actor: str
    at: datetime
    trigger: str
    to_state: str | None
    payload: dict[str, Any]


def evidence_lines(
    ws: Workspace, plan: str | None = None, state: str | None = None
) -> list[dict[str, Any]]:
    """Every evidence record of the ward (of ``plan``; in ``state``), as ``cchc evidence list
    --json``."""
    from cchc.commands.cycle_common import state_labels
    from cchc.commands.evidence_cmd import _evidence, evidence_json

    labels = state_labels(ws, KIND)
    return [
        evidence_json(row, labels)
        for row in _evidence(ws, plan)
        if state is None or row.state == state
    ]


def criterion_targets(ws: Workspace, plan: str, code: str) -> frozenset[str]:
    """The targets whose evidence counts for sub-criterion ``code`` of ``plan``, as
    ``coverage`` counts them: the sub-criterion itself and the plan's tasks serving it."""
    with ws.sessions() as session:
        lines = coverage(session, ws.tenant, plan)
    for line in lines:
        if line.code == code:
            return frozenset({f"criterion:{code}", *(f"task:{t}" for t in line.tasks)})
    return frozenset({f"criterion:{code}"})


def waiting_reviews(
    ws: Workspace,
    units: Collection[str] | None,
    *,
    plan: str | None = None,
    criterion: str | None = None,
) -> list[dict[str, Any]]:
    """Evidence waiting for a decision, oldest first: of ``units`` (None: every unit), of
    ``plan``, counting for sub-criterion ``criterion`` (directly or through a task)."""
    lines = [
        line
        for line in evidence_lines(ws, plan, WAITING)
        if units is None or line["owner_unit"] in units
    ]
    if criterion is not None:
        targets: dict[str, frozenset[str]] = {}
        for plan_code in sorted({str(line["plan"]) for line in lines}):
            targets[plan_code] = criterion_targets(ws, plan_code, criterion)
        lines = [line for line in lines if line["target"] in targets[str(line["plan"])]]
    return sorted(lines, key=lambda line: int(line["id"]))


def products_waiting(ws: Workspace, unit: str | None, now: datetime) -> list[TaskLine]:
    """Tasks whose product waits for the focal unit's decision (the other half of the
    reviews ``cchc.waiting`` counts), of ``unit`` (None: the whole ward)."""
    return task_lines(ws, unit, now, PRODUCT_WAITING)


def evidence_row(ws: Workspace, evidence_id: int) -> Instance | None:
    """The evidence instance ``evidence_id`` (of any tenant: the caller checks reading), or
    None when the id names no evidence."""
    with ws.sessions() as session:
        row = session.get(Instance, evidence_id)
        if row is None or row.kind != KIND:
            return None
        session.expunge(row)
        return row


def earlier_versions(ws: Workspace, row: Instance) -> list[dict[str, Any]]:
    """The versions this evidence replaced, newest first (following ``supersedes``)."""
    from cchc.commands.cycle_common import state_labels
    from cchc.commands.evidence_cmd import evidence_json

    labels = state_labels(ws, KIND)
    found = []
    seen = {row.id}
    previous = json.loads(row.data).get("supersedes")
    while isinstance(previous, int) and previous not in seen:
        older = evidence_row(ws, previous)
        if older is None or older.tenant != row.tenant:
            break
        seen.add(older.id)
        found.append(evidence_json(older, labels))
        previous = json.loads(older.data).get("supersedes")
    return found


def last_moved(ws: Workspace, row: Instance) -> Moved | None:
    """The last applied change of the instance after its creation (a decision, a
    supersession), from the audit trail; None while nothing changed it."""
    with ws.sessions() as session:
        events = query_events(
            session, AuditFilter(tenant=row.tenant, instance_id=row.id, outcome="applied")
        )
    changes = [e for e in events if e.trigger != "create"]
    if not changes:
        return None
    last = changes[-1]
    return Moved(
        actor=last.actor,
        at=last.occurred_at,
        trigger=last.trigger,
        to_state=last.to_state,
        payload=json.loads(last.payload or "{}"),
    )
