"""Small helpers shared by the engine tests."""

from __future__ import annotations

from collections import deque

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import Db
from workflows.database import unit_of_work
from workflows.definition.models import WorkflowDefinition
from workflows.engine import Engine
from workflows.registry import Actor

KIND = "approval_request"
REASON = {"reason": "Thiếu tài liệu kiểm chứng"}
SHA = "0" * 64
FULL_PAYLOAD = {
    **REASON,
    "sha256": SHA,
    "points": "1.5",
    "product": "Báo cáo số 12/BC-UBND",
    "decision_number": "337/QĐ-UBND",
    "decision_date": "29/07/2025",
    "notice_number": "15/TB-UBND",
}
"""A payload that satisfies every ``requires`` and payload-reading guard of the definitions."""


def path_to(definition: WorkflowDefinition, target: str) -> list[str]:
    """The shortest list of triggers leading from the initial state to ``target``."""
    start = definition.initial_state.name
    paths: dict[str, list[str]] = {start: []}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for t in definition.transitions:
            if state in t.source and t.dest not in paths:
                paths[t.dest] = [*paths[state], t.trigger]
                queue.append(t.dest)
    return paths[target]


def deciding_for(actor: Actor) -> Actor:
    """Another person with ``actor``'s roles and unit: who takes the decisions on a walk."""
    return Actor(id=f"{actor.id}.decider", roles=actor.roles, tenant=actor.tenant, unit=actor.unit)


def walk(
    engine: Engine, session: Session, instance_id: int, triggers: list[str], actor: Actor
) -> None:
    """Fire ``triggers`` in order as ``actor``; a decision on a submission (a transition with
    ``not_by``) is fired by ``deciding_for(actor)``, as separation of duties requires."""
    for trigger in triggers:
        view = engine.get(session, instance_id)
        definition = engine.machine_for(session, view.definition_hash).definition
        transition = definition.transition(trigger, view.state)
        who = deciding_for(actor) if transition is not None and transition.not_by else actor
        engine.fire(session, instance_id, trigger, actor=who, payload=FULL_PAYLOAD)


def instance_in(
    db: Db, engine: Engine, state: str, creator: Actor, actor: Actor, ref: str, kind: str = KIND
) -> int:
    """Create an instance as ``creator`` and walk it to ``state`` as ``actor``."""
    definition = engine.current(kind).definition
    with unit_of_work(db.sessions) as session:
        instance_id = engine.create(
            session, kind, actor=creator, ref=ref, data={"sha256": SHA}
        ).instance_id
        walk(engine, session, instance_id, path_to(definition, state), actor)
    return instance_id


def count(db: Db, table: str, where: str = "1=1") -> int:
    """Rows of ``table`` matching the SQL condition ``where``."""
    with db.engine.connect() as conn:
        return int(
            conn.execute(sa.text(f"select count(*) from {table} where {where}")).scalar_one()
        )
