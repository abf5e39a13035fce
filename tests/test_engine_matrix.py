"""Exhaustive matrices: every trigger from every state, every role on every transition."""

from __future__ import annotations

import pytest

from notifications.catalog import template_names
from tests.conftest import DEFINITIONS, TENANT, Db
from tests.helpers import KIND, REASON, count, instance_in
from workflows.database import unit_of_work
from workflows.definition.loader import load_definitions
from workflows.engine import Engine
from workflows.errors import NotPermittedError, TriggerNotAllowedError
from workflows.registry import Actor, builtins

_DEFINITION = load_definitions([DEFINITIONS], registry=builtins, templates=template_names()).get(
    KIND
)
STATES = [s.name for s in _DEFINITION.states]
TRIGGERS = _DEFINITION.triggers()
ROLES = ["author", "reviewer", "admin", "inspector"]

MATRIX = [
    pytest.param(
        state,
        trigger,
        _DEFINITION.transition(trigger, state) is not None,
        id=f"{state} => {trigger}",
    )
    for state in STATES
    for trigger in TRIGGERS
]


@pytest.mark.parametrize(("state", "trigger", "allowed"), MATRIX)
def test_trigger_from_state(
    db: Db, engine: Engine, state: str, trigger: str, allowed: bool
) -> None:
    """A trigger applies exactly from the states its transition lists; otherwise it is refused."""
    creator = Actor.of("creator", "author", tenant=TENANT)
    everyone = Actor.of("officer", "author", "reviewer", tenant=TENANT)
    instance_id = instance_in(db, engine, state, creator, everyone, ref="M-1")
    refused_before = count(db, "audit_events", "outcome = 'refused'")
    if allowed:
        with unit_of_work(db.sessions) as session:
            result = engine.fire(session, instance_id, trigger, actor=everyone, payload=REASON)
        assert result.source == state
        assert result.dest == _DEFINITION.transition(trigger, state).dest  # type: ignore[union-attr]
    else:
        with (
            pytest.raises(TriggerNotAllowedError, match=f"state '{state}'"),
            unit_of_work(db.sessions) as session,
        ):
            engine.fire(session, instance_id, trigger, actor=everyone, payload=REASON)
        assert count(db, "audit_events", "outcome = 'refused'") == refused_before + 1
        with db.sessions() as session:
            assert engine.get(session, instance_id).state == state


ROLE_MATRIX = [
    pytest.param(t.trigger, t.source[0], role, role in t.roles, id=f"{role} fires {t.trigger}")
    for t in _DEFINITION.transitions
    for role in ROLES
]


@pytest.mark.parametrize(("trigger", "state", "role", "allowed"), ROLE_MATRIX)
def test_role_on_transition(
    db: Db, engine: Engine, trigger: str, state: str, role: str, allowed: bool
) -> None:
    """Only the roles a transition names may fire it; any other role is refused and audited."""
    creator = Actor.of("creator", "author", tenant=TENANT)
    walker = Actor.of("walker", "author", "reviewer", tenant=TENANT)
    instance_id = instance_in(db, engine, state, creator, walker, ref="R-1")
    actor = Actor.of("someone", role, tenant=TENANT)
    if allowed:
        with unit_of_work(db.sessions) as session:
            result = engine.fire(session, instance_id, trigger, actor=actor, payload=REASON)
        assert result.trigger == trigger
        assert count(db, "audit_events", f"actor = 'someone' and role = '{role}'") == 1
    else:
        with (
            pytest.raises(NotPermittedError, match="needs one of the roles"),
            unit_of_work(db.sessions) as session,
        ):
            engine.fire(session, instance_id, trigger, actor=actor, payload=REASON)
        assert count(db, "audit_events", "actor = 'someone' and outcome = 'refused'") == 1
