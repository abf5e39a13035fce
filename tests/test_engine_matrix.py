"""Exhaustive matrices: every trigger from every state, every role on every transition."""

from __future__ import annotations

import pytest

from cchc.runtime import registry as runtime_registry
from notifications.catalog import template_names
from tests.conftest import DEFINITIONS, TENANT, Db
from tests.helpers import FULL_PAYLOAD, count, instance_in
from workflows.database import unit_of_work
from workflows.definition.loader import load_definitions
from workflows.engine import Engine
from workflows.errors import NotPermittedError, TriggerNotAllowedError
from workflows.registry import Actor

REGISTRY = runtime_registry()

_DEFINITIONS = load_definitions([DEFINITIONS], registry=REGISTRY, templates=template_names())
ROLES = sorted(_DEFINITIONS.roles.roles)
EVERY_ROLE = Actor(id="officer", roles=frozenset(ROLES), tenant=TENANT)
CREATOR = Actor(id="creator", roles=frozenset(ROLES), tenant=TENANT)
WALKER = Actor(id="walker", roles=frozenset(ROLES), tenant=TENANT)
"""Walks instances to a state: the officer then acts on what someone else submitted."""

MATRIX = [
    pytest.param(
        kind,
        state.name,
        trigger,
        definition.transition(trigger, state.name) is not None,
        id=f"{kind}: {state.name} => {trigger}",
    )
    for kind, definition in _DEFINITIONS.workflows.items()
    for state in definition.states
    for trigger in definition.triggers()
]


@pytest.mark.parametrize(("kind", "state", "trigger", "allowed"), MATRIX)
def test_trigger_from_state(
    db: Db, engine: Engine, kind: str, state: str, trigger: str, allowed: bool
) -> None:
    """A trigger applies exactly from the states its transition lists; otherwise it is refused."""
    definition = _DEFINITIONS.get(kind)
    instance_id = instance_in(db, engine, state, CREATOR, WALKER, "M-1", kind)
    refused_before = count(db, "audit_events", "outcome = 'refused'")
    if allowed:
        with unit_of_work(db.sessions) as session:
            result = engine.fire(
                session, instance_id, trigger, actor=EVERY_ROLE, payload=FULL_PAYLOAD
            )
        assert result.source == state
        assert result.dest == definition.transition(trigger, state).dest  # type: ignore[union-attr]
    else:
        with (
            pytest.raises(TriggerNotAllowedError, match=f"state '{state}'"),
            unit_of_work(db.sessions) as session,
        ):
            engine.fire(session, instance_id, trigger, actor=EVERY_ROLE, payload=FULL_PAYLOAD)
        assert count(db, "audit_events", "outcome = 'refused'") == refused_before + 1
        with db.sessions() as session:
            assert engine.get(session, instance_id).state == state


ROLE_MATRIX = [
    pytest.param(
        kind, t.trigger, t.source[0], role, role in t.roles, id=f"{kind}: {role} fires {t.trigger}"
    )
    for kind, definition in _DEFINITIONS.workflows.items()
    for t in definition.transitions
    for role in ROLES
]


@pytest.mark.parametrize(("kind", "trigger", "state", "role", "allowed"), ROLE_MATRIX)
def test_role_on_transition(
    db: Db, engine: Engine, kind: str, trigger: str, state: str, role: str, allowed: bool
) -> None:
    """Only the roles a transition names may fire it; any other role is refused and audited."""
    instance_id = instance_in(db, engine, state, CREATOR, WALKER, "R-1", kind)
    actor = Actor.of("someone", role, tenant=TENANT)
    if allowed:
        with unit_of_work(db.sessions) as session:
            result = engine.fire(session, instance_id, trigger, actor=actor, payload=FULL_PAYLOAD)
        assert result.trigger == trigger
        assert count(db, "audit_events", f"actor = 'someone' and role = '{role}'") == 1
    else:
        with (
            pytest.raises(NotPermittedError, match="needs one of the roles"),
            unit_of_work(db.sessions) as session,
        ):
            engine.fire(session, instance_id, trigger, actor=actor, payload=FULL_PAYLOAD)
        assert count(db, "audit_events", "actor = 'someone' and outcome = 'refused'") == 1
