"""What was sent back to a unit, and why: returned tasks, evidence with changes requested or
rejected, returned self-scores; each with the reviewer's reason, who decided and when.

The scope is the reader's (``cchc.organization.access.read_scope``), as for the home page's
``sent_back`` count (``cchc.waiting``); who and when come from the audit trail (the applied
event that moved the item into its present state), the reason from that event's payload.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from cchc.organization.access import read_scope
from cchc.workspace import Workspace
from workflows.engine import APPLIED
from workflows.registry import Actor
from workflows.schema import AuditEvent, Instance

SENT_BACK_STATES = {
    "task": ("returned",),
    "evidence": ("changes_requested", "rejected"),
    "assessment": ("returned",),
}
"""The states in which an item waits for its unit's answer (rejected evidence: a new file)."""
COUNTED = frozenset(
    {("task", "returned"), ("evidence", "changes_requested"), ("assessment", "returned")}
)
"""The states the home page's ``sent_back`` count counts (``cchc.waiting``)."""


@dataclass(frozen=True)
class Decision:
    """Who moved an item into its present state, when, and the reason they gave."""

    by: str
    at: datetime
    trigger: str
    reason: str


@dataclass(frozen=True)
class SentBack:
    """One item sent back to its unit."""

    kind: str
    id: int
    ref: str
    state: str
    data: dict[str, Any]
    decision: Decision | None
    counted: bool
    """Part of the home page's ``sent_back`` count."""


def last_decisions(ws: Workspace, ids: Iterable[int]) -> dict[int, Decision]:
    """Instance id → the last applied event that moved it (its who, when, trigger and reason)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    found: dict[int, Decision] = {}
    with ws.sessions() as session:
        rows = session.execute(
            select(
                AuditEvent.instance_id,
                AuditEvent.actor,
                AuditEvent.occurred_at,
                AuditEvent.trigger,
                AuditEvent.payload,
            )
            .where(
                AuditEvent.tenant == ws.tenant,
                AuditEvent.instance_id.in_(wanted),
                AuditEvent.outcome == APPLIED,
            )
            .order_by(AuditEvent.seq)
        ).all()
    for instance_id, actor, at, trigger, payload in rows:
        reason = json.loads(payload or "{}").get("reason") if payload else None
        found[int(instance_id)] = Decision(str(actor), at, str(trigger), str(reason or ""))
    return found


def sent_back(ws: Workspace, actor: Actor) -> list[SentBack]:
    """The items of ``actor``'s read scope waiting for their unit's answer, tasks first."""
    scope = read_scope(actor)
    if scope.units is not None and not scope.units:
        return []
    with ws.sessions() as session:
        rows = session.scalars(
            select(Instance)
            .where(Instance.tenant == ws.tenant, Instance.kind.in_(list(SENT_BACK_STATES)))
            .order_by(Instance.id)
        ).all()
    chosen = []
    for row in rows:
        if row.state not in SENT_BACK_STATES[row.kind]:
            continue
        data = json.loads(row.data)
        if scope.units is not None and data.get("owner_unit") not in scope.units:
            continue
        chosen.append((row, data))
    decisions = last_decisions(ws, (row.id for row, _ in chosen))
    order = list(SENT_BACK_STATES)
    items = [
        SentBack(
            kind=row.kind,
            id=row.id,
            ref=row.ref,
            state=row.state,
            data=data,
            decision=decisions.get(row.id),
            counted=(row.kind, row.state) in COUNTED,
        )
        for row, data in chosen
    ]
    return sorted(items, key=lambda item: (order.index(item.kind), item.ref))
