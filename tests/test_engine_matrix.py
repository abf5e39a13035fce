"""Exhaustive matrices: every trigger from every state, every role on every transition.

The cases share one migrated database per backend (:func:`matrix_db`); each case acts in a
tenant of its own (:func:`tenant`), so no case sees another's instances or audit events.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator

import pytest

from cchc.runtime import registry as runtime_registry
from notifications.catalog import template_names
from tests.conftest import DEFINITIONS, Db, _truncate
from tests.helpers import FULL_PAYLOAD, count, instance_in
from workflows.database import make_engine, session_factory, unit_of_work
from workflows.definition.loader import load_definitions
from workflows.engine import Engine
from workflows.errors import NotPermittedError, TriggerNotAllowedError
from workflows.registry import Actor

REGISTRY = runtime_registry()

_DEFINITIONS = load_definitions([DEFINITIONS], registry=REGISTRY, templates=template_names())
ROLES = sorted(_DEFINITIONS.roles.roles)
_TENANTS = itertools.count(1)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def matrix_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Db]:
    """One empty migrated database per backend, shared by every case of this module."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("matrix") / "cchc.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield Db("sqlite", url, engine, session_factory(engine))
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        _truncate(engine)
        yield Db("postgresql", request.getfixturevalue("pg_url"), engine, session_factory(engine))


@pytest.fixture
def db(matrix_db: Db) -> Db:
    """The module's shared database (overrides the fresh database of conftest)."""
    return matrix_db


@pytest.fixture
def tenant() -> str:
    """A tenant no other case of this module uses: the case's own corner of the database."""
    return f"matrix-{next(_TENANTS)}"


def every_role(name: str, tenant: str) -> Actor:
    """``name`` holding every role of the definitions, in ``tenant``."""
    return Actor(id=name, roles=frozenset(ROLES), tenant=tenant)


def in_tenant(tenant: str, where: str) -> str:
    """The SQL condition ``where`` restricted to the rows of ``tenant``."""
    return f"tenant = '{tenant}' and {where}"


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
    db: Db, engine: Engine, tenant: str, kind: str, state: str, trigger: str, allowed: bool
) -> None:
    """A trigger applies exactly from the states its transition lists; otherwise it is refused."""
    definition = _DEFINITIONS.get(kind)
    officer = every_role("officer", tenant)
    creator, walker = every_role("creator", tenant), every_role("walker", tenant)
    # The walker moves the instance to the state: the officer then acts on what someone else
    # submitted.
    instance_id = instance_in(db, engine, state, creator, walker, "M-1", kind)
    refused = in_tenant(tenant, "outcome = 'refused'")
    refused_before = count(db, "audit_events", refused)
    if allowed:
        with unit_of_work(db.sessions) as session:
            result = engine.fire(session, instance_id, trigger, actor=officer, payload=FULL_PAYLOAD)
        assert result.source == state
        assert result.dest == definition.transition(trigger, state).dest  # type: ignore[union-attr]
    else:
        with (
            pytest.raises(TriggerNotAllowedError, match=f"state '{state}'"),
            unit_of_work(db.sessions) as session,
        ):
            engine.fire(session, instance_id, trigger, actor=officer, payload=FULL_PAYLOAD)
        assert count(db, "audit_events", refused) == refused_before + 1
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
    db: Db,
    engine: Engine,
    tenant: str,
    kind: str,
    trigger: str,
    state: str,
    role: str,
    allowed: bool,
) -> None:
    """Only the roles a transition names may fire it; any other role is refused and audited."""
    creator, walker = every_role("creator", tenant), every_role("walker", tenant)
    instance_id = instance_in(db, engine, state, creator, walker, "R-1", kind)
    actor = Actor.of("someone", role, tenant=tenant)
    if allowed:
        with unit_of_work(db.sessions) as session:
            result = engine.fire(session, instance_id, trigger, actor=actor, payload=FULL_PAYLOAD)
        assert result.trigger == trigger
        by_someone = in_tenant(tenant, f"actor = 'someone' and role = '{role}'")
        assert count(db, "audit_events", by_someone) == 1
    else:
        with (
            pytest.raises(NotPermittedError, match="needs one of the roles"),
            unit_of_work(db.sessions) as session,
        ):
            engine.fire(session, instance_id, trigger, actor=actor, payload=FULL_PAYLOAD)
        refused = in_tenant(tenant, "actor = 'someone' and outcome = 'refused'")
        assert count(db, "audit_events", refused) == 1
