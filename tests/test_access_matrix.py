"""Access matrix: every kind, state, trigger and role, played by people of the sample ward.

Each case fires one trigger on an instance in one state as one person and compares with an
oracle written here from the definition alone (trigger allowed from the state, role listed,
required payload given, unit and other guards): allowed ⇒ applied; otherwise refused with the
oracle's reason code, exactly one refused audit event, the instance's state, version and data
unchanged and no outbox row. Refused attempts reuse one instance per (kind, state, owner unit);
allowed fires get a fresh one. CI runs one person per role; ``--long`` runs every person.

Instances are walked by test actors (a decision on the walk by another one, as separation of
duties requires); each decision that keeps a submitter out (``not_by``) is also played on an
instance the person themselves created and walked, where the oracle expects that refusal.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from cchc.organization.access import READ_ONLY_ROLES
from cchc.organization.model import load_organization
from cchc.runtime import registry as runtime_registry
from notifications.catalog import template_names
from tests.conftest import DEFINITIONS, Clock, _truncate, long_tests
from tests.helpers import FULL_PAYLOAD, SHA, path_to, walk
from workflows.audit import verify
from workflows.database import make_engine, session_factory, unit_of_work
from workflows.definition.loader import load_definitions
from workflows.definition.models import Transition, WorkflowDefinition
from workflows.engine import Engine
from workflows.errors import TransitionRefusedError
from workflows.registry import Actor

REGISTRY = runtime_registry()
DEFS = load_definitions([DEFINITIONS], registry=REGISTRY, templates=template_names())
ORG = load_organization(
    DEFINITIONS / "organizations" / "phu-lien.yaml", known_roles=set(DEFS.roles.roles)
)
TENANT = ORG.tenant
ROLES = sorted(DEFS.roles.roles)
LONG = long_tests()

UNIT_OWNED_KINDS = frozenset({"task", "assessment", "evidence"})
"""Kinds whose instances carry ``owner_unit`` (set by plan issue and evidence submission)."""
UNIT_ROLES = frozenset({"unit_head", "unit_official"})
"""Roles that act for their own unit only."""

GuardModel = Callable[[Actor, str | None, Mapping[str, Any], str], bool]


def _own(actor: Actor, owner: str | None) -> bool:
    return owner is None or actor.unit == owner


GUARD_MODEL: dict[str, GuardModel] = {
    "own_unit": lambda actor, owner, payload, creator: _own(actor, owner),
    "own_unit_or_focal": lambda actor, owner, payload, creator: (
        "focal_official" in actor.roles or _own(actor, owner)
    ),
    "own_unit_or_ward": lambda actor, owner, payload, creator: (
        bool(actor.roles & {"focal_official", "chairman", "vice_chairman"}) or _own(actor, owner)
    ),
    "not_creator": lambda actor, owner, payload, creator: actor.id != creator,
    "hash_matches": lambda actor, owner, payload, creator: payload.get("sha256") == SHA,
    "explained_if_incomplete": lambda actor, owner, payload, creator: (
        payload.get("evidence_complete", True) is not False
        or bool(str(payload.get("explanation") or "").strip())
    ),
    "payload_has_attachment": lambda actor, owner, payload, creator: (
        isinstance(payload.get("attachments"), list) and len(payload["attachments"]) > 0
    ),
}
"""What each guard allows, restated from its docstring (the oracle's view, not the code's)."""
UNIT_GUARDS = frozenset({"own_unit", "own_unit_or_focal", "own_unit_or_ward"})

CREATOR = Actor(id="matrix.creator", roles=frozenset(ROLES), tenant=TENANT)
WALKER = Actor(id="matrix.walker", roles=frozenset(ROLES), tenant=TENANT)
"""Test actors (not people of the ward) that create instances and walk them to a state."""


# --- who plays each role ------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    """An actor playing a role: a person of the sample ward, or a labelled test actor."""

    role: str
    actor: Actor
    label: str


def _personas() -> list[Persona]:
    chosen: list[Persona] = []
    for role in ROLES:
        people = sorted(ORG.people_with_role(role), key=lambda p: (len(p.roles), p.id))
        if people:
            chosen.extend(
                Persona(role, ORG.actor(person.id), f"{role} {person.id}")
                for person in (people if LONG else people[:1])
            )
        else:  # the engine's generic roles (author, reviewer): nobody in the ward holds them
            actor = Actor.of(f"test.{role}", role, tenant=TENANT)
            chosen.append(Persona(role, actor, f"{role} (test actor)"))
    stranger = Actor(id="nguoi.phuong.khac", roles=frozenset(ROLES), tenant="xa-khac", unit="kt")
    chosen.append(Persona("*", stranger, "every role of another tenant"))
    return chosen


PERSONAS = _personas()


def _positions(kind: str, persona: Persona) -> list[tuple[str | None, str]]:
    """(owner unit of the instance, label): the persona's own unit and another unit."""
    if kind not in UNIT_OWNED_KINDS:
        return [(None, "")]
    unit = persona.actor.unit
    others = [u.code for u in ORG.units if u.code != unit]
    if unit is None or persona.actor.tenant != TENANT:
        return [(others[0], " (a unit's item)")]
    return [(unit, " (own unit)"), (others[0], " (other unit)")]


# --- the oracle ---------------------------------------------------------------------------------


def _transition(definition: WorkflowDefinition, trigger: str, state: str) -> Transition | None:
    found = [t for t in definition.transitions if t.trigger == trigger and state in t.source]
    assert len(found) <= 1, f"{definition.kind}: {trigger} from {state} is ambiguous"
    return found[0] if found else None


def _submitted_by_walker(definition: WorkflowDefinition, state: str) -> set[str]:
    """The triggers the walker itself fires on the way to ``state`` (with ``create``)."""
    fired = {"create"}
    current = definition.initial_state.name
    for trigger in path_to(definition, state):
        transition = _transition(definition, trigger, current)
        assert transition is not None
        if not transition.not_by:
            fired.add(trigger)
        current = transition.dest
    return fired


def oracle(
    kind: str,
    state: str,
    trigger: str,
    actor: Actor,
    owner: str | None,
    payload: Mapping[str, Any],
    walked_by_actor: bool = False,
) -> str | None:
    """None when the definition allows the fire, else the reason code of the refusal.

    ``walked_by_actor``: the actor created the instance and walked it to ``state`` (their own
    submission), so a decision that names one of their triggers in ``not_by`` is not theirs.
    """
    if actor.tenant != TENANT:
        return "not_permitted"
    definition = DEFS.get(kind)
    transition = _transition(definition, trigger, state)
    if transition is None:
        return "trigger_not_allowed"
    if not actor.roles & set(transition.roles):
        return "not_permitted"
    if any(not str(payload.get(name) or "").strip() for name in transition.requires):
        return "payload_invalid"
    if walked_by_actor and set(transition.not_by) & _submitted_by_walker(definition, state):
        return "separation_of_duties"
    creator = actor.id if walked_by_actor else CREATOR.id
    for guard in transition.guards:
        if not GUARD_MODEL[guard](actor, owner, payload, creator):
            return "guard_failed"
    return None


# --- the cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One fire of the matrix and what the oracle expects of it."""

    kind: str
    state: str
    trigger: str
    persona: Persona
    owner: str | None
    payload: Mapping[str, Any]
    expected: str | None
    own: bool = False
    """The persona created the instance and walked it to the state (their own submission)."""


def _payloads(
    definition: WorkflowDefinition, trigger: str, state: str
) -> list[tuple[dict[str, Any], str]]:
    transition = _transition(definition, trigger, state)
    variants: list[tuple[dict[str, Any], str]] = [(dict(FULL_PAYLOAD), "")]
    if transition is not None and (transition.requires or "hash_matches" in transition.guards):
        variants.append(({}, " without payload"))
    return variants


def _cases() -> list[Any]:
    cases = []
    for kind, definition in sorted(DEFS.workflows.items()):
        for state, trigger in itertools.product(definition.states, definition.triggers()):
            for persona in PERSONAS:
                for owner, where in _positions(kind, persona):
                    for payload, bare in _payloads(definition, trigger, state.name):
                        expected = oracle(kind, state.name, trigger, persona.actor, owner, payload)
                        case = Case(kind, state.name, trigger, persona, owner, payload, expected)
                        name = f"{kind}: {state.name} => {trigger} as {persona.label}{where}{bare}"
                        cases.append(pytest.param(case, id=name))
        cases.extend(_own_submission_cases(definition))
    return cases


def _own_submission_cases(definition: WorkflowDefinition) -> list[Any]:
    """Each decision with ``not_by``, as every ward persona on an item they walked themselves."""
    cases = []
    decisions = [(s, t) for t in definition.transitions if t.not_by for s in t.source]
    for state, t in decisions:
        for persona in PERSONAS:
            if persona.actor.tenant != TENANT:
                continue
            owner, _ = _positions(definition.kind, persona)[0]
            payload = dict(FULL_PAYLOAD)
            expected = oracle(
                definition.kind, state, t.trigger, persona.actor, owner, payload, True
            )
            case = Case(definition.kind, state, t.trigger, persona, owner, payload, expected, True)
            name = f"{definition.kind}: {state} => {t.trigger} as {persona.label} (own submission)"
            cases.append(pytest.param(case, id=name))
    return cases


CASES = _cases()


# --- the world: one database per backend for the whole module -----------------------------------


@dataclass
class World:
    """A database, an engine and the instances kept for refused attempts."""

    backend: str
    sessions: sessionmaker[Any]
    engine: Engine
    kept: dict[tuple[str, str, str | None, str], int] = field(default_factory=dict)
    refs: Iterator[int] = field(default_factory=itertools.count)
    refused: int = 0

    def instance(
        self, kind: str, state: str, owner: str | None, *, fresh: bool, by: str | None = None
    ) -> int:
        """An instance of ``kind`` in ``state`` owned by ``owner``: kept, or new when fresh.

        ``by``: the id that creates and walks it (with every role); the test actors otherwise.
        """
        key = (kind, state, owner, by or "")
        if not fresh and key in self.kept:
            return self.kept[key]
        data: dict[str, Any] = {"sha256": SHA}
        if owner is not None:
            data["owner_unit"] = owner
        walker = Actor(id=by or WALKER.id, roles=WALKER.roles, tenant=TENANT, unit=owner)
        creator = Actor(id=by or CREATOR.id, roles=CREATOR.roles, tenant=TENANT, unit=owner)
        with unit_of_work(self.sessions) as session:
            ref = f"{kind}/{state}/{owner}/{next(self.refs)}"
            instance_id = self.engine.create(
                session, kind, actor=creator, ref=ref, data=data
            ).instance_id
            path = path_to(self.engine.current(kind).definition, state)
            walk(self.engine, session, instance_id, path, walker)
        if not fresh:
            self.kept[key] = instance_id
        return instance_id


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One database per backend for every case of the module (SQLite file, PostgreSQL schema)."""
    clock = Clock(datetime(2025, 11, 3, 2, 0, tzinfo=UTC))
    engine = Engine(DEFS, REGISTRY, clock=clock)
    if request.param == "sqlite":
        path = Path(tmp_path_factory.mktemp("matrix")) / "cchc.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = make_engine(f"sqlite:///{path}")
        yield World("sqlite", session_factory(database), engine)
        database.dispose()
    else:
        database = request.getfixturevalue("pg_engine")
        _truncate(database)
        yield World("postgresql", session_factory(database), engine)


def _snapshot(world: World, instance_id: int, tenant: str = TENANT) -> tuple[Any, ...]:
    """The instance row, the event count of ``tenant``'s chain, and its outbox rows."""
    with world.sessions() as session:
        conn = session.connection()
        row = conn.execute(
            sa.text("select state, version, data, updated_at from instances where id = :i"),
            {"i": instance_id},
        ).one()
        events = conn.execute(
            sa.text("select count(*) from audit_events where tenant = :t"), {"t": tenant}
        ).scalar_one()
        outbox = conn.execute(
            sa.text("select count(*) from outbox where instance_id = :i"), {"i": instance_id}
        ).scalar_one()
    return tuple(row), events, outbox


def _last_event(world: World, tenant: str = TENANT) -> Any:
    with world.sessions() as session:
        return (
            session.connection()
            .execute(
                sa.text(
                    "select actor, instance_id, trigger, outcome, reason, to_state "
                    "from audit_events where tenant = :t order by seq desc limit 1"
                ),
                {"t": tenant},
            )
            .one()
        )


@pytest.mark.parametrize("case", CASES)
def test_fire_matches_the_oracle(world: World, case: Case) -> None:
    """Allowed by the definition ⇒ applied; otherwise refused, audited once, nothing changed."""
    actor = case.persona.actor
    instance_id = world.instance(
        case.kind,
        case.state,
        case.owner,
        fresh=case.expected is None,
        by=actor.id if case.own else None,
    )
    # A refusal lands on the actor's own chain (another tenant's actor: theirs, not the ward's).
    before, events, outbox = _snapshot(world, instance_id, actor.tenant)
    if case.expected is None:
        with unit_of_work(world.sessions) as session:
            result = world.engine.fire(
                session, instance_id, case.trigger, actor=actor, payload=case.payload
            )
        transition = _transition(DEFS.get(case.kind), case.trigger, case.state)
        assert transition is not None
        assert (result.source, result.dest, result.version) == (
            case.state,
            transition.dest,
            before[1] + 1,
        )
        last = _last_event(world)
        assert (last.actor, last.instance_id, last.outcome) == (actor.id, instance_id, "applied")
        return
    with (
        pytest.raises(TransitionRefusedError) as refused,
        unit_of_work(world.sessions) as session,
    ):
        world.engine.fire(session, instance_id, case.trigger, actor=actor, payload=case.payload)
    world.refused += 1
    assert refused.value.reason_code == case.expected, str(refused.value)
    after, events_after, outbox_after = _snapshot(world, instance_id, actor.tenant)
    assert after == before
    assert events_after == events + 1
    assert outbox_after == outbox
    last = _last_event(world, actor.tenant)
    assert (last.actor, last.instance_id, last.trigger, last.outcome, last.to_state) == (
        actor.id,
        instance_id,
        case.trigger,
        "refused",
        None,
    )
    assert last.reason.startswith(f"{case.expected}: ")


CREATE_CASES = [
    pytest.param(kind, persona, id=f"{kind}: create as {persona.label}")
    for kind in sorted(DEFS.workflows)
    for persona in PERSONAS
]


@pytest.mark.parametrize(("kind", "persona"), CREATE_CASES)
def test_create_matches_the_definition(world: World, kind: str, persona: Persona) -> None:
    """Only the create roles of a kind create it, always in the creator's own tenant."""
    allowed = bool(persona.actor.roles & set(DEFS.get(kind).create_roles))
    ref = f"{kind}/create/{persona.label}/{next(world.refs)}"
    count = "select count(*) from instances where ref = :r"
    if allowed:
        with unit_of_work(world.sessions) as session:
            result = world.engine.create(session, kind, actor=persona.actor, ref=ref)
        assert result.dest == DEFS.get(kind).initial_state.name
        with world.sessions() as session:
            tenant = session.connection().execute(
                sa.text("select tenant from instances where ref = :r"), {"r": ref}
            )
            assert tenant.scalar_one() == persona.actor.tenant
        return
    with pytest.raises(TransitionRefusedError) as refused, unit_of_work(world.sessions) as session:
        world.engine.create(session, kind, actor=persona.actor, ref=ref)
    world.refused += 1
    assert refused.value.reason_code == "not_permitted"
    with world.sessions() as session:
        conn = session.connection()
        assert conn.execute(sa.text(count), {"r": ref}).scalar_one() == 0
        event = conn.execute(
            sa.text("select actor, trigger, outcome from audit_events where ref = :r"), {"r": ref}
        ).one()
    assert tuple(event) == (persona.actor.id, "create", "refused")


def test_the_audit_chains_still_verify_and_hold_every_refusal(world: World) -> None:
    """After the matrix every chain verifies and holds one refused event per refused case."""
    with world.sessions() as session:
        report = verify(session)
        refused = (
            session.connection()
            .execute(
                sa.text(
                    "select count(*) from audit_events where outcome = 'refused' and actor <> :w"
                ),
                {"w": WALKER.id},
            )
            .scalar_one()
        )
    assert report.ok, [b.describe() for b in report.breaks]
    assert refused == world.refused


# --- the definitions themselves -----------------------------------------------------------------


def test_no_definition_lets_a_read_only_role_change_anything() -> None:
    """The inspector (every read-only role) is granted no trigger and no creation anywhere."""
    assert READ_ONLY_ROLES
    assert set(ROLES) >= READ_ONLY_ROLES
    grants = [
        f"{kind}: {'create' if t is None else t.trigger}"
        for kind, definition in DEFS.workflows.items()
        for t, roles in [(None, definition.create_roles)]
        + [(t, t.roles) for t in definition.transitions]
        if READ_ONLY_ROLES & set(roles)
    ]
    assert grants == []


def test_every_guard_of_the_definitions_is_modelled_by_the_oracle() -> None:
    """A new guard must be added to the oracle before the matrix can judge its transitions."""
    named = {g for d in DEFS.workflows.values() for t in d.transitions for g in t.guards}
    assert named
    assert set(GUARD_MODEL) >= named
    assert set(REGISTRY.guards) >= set(GUARD_MODEL)


def test_unit_roles_act_for_their_own_unit_only() -> None:
    """Every transition a unit's head or official may fire on a unit's item has a unit guard."""
    assert set(DEFS.workflows) >= UNIT_OWNED_KINDS
    unguarded = [
        f"{kind}: {t.trigger}"
        for kind in sorted(UNIT_OWNED_KINDS)
        for t in DEFS.get(kind).transitions
        if UNIT_ROLES & set(t.roles) and not UNIT_GUARDS & set(t.guards)
    ]
    assert unguarded == []


def test_the_matrix_covers_every_kind_state_trigger_and_role() -> None:
    """The cases span every (kind, state, trigger) and every role, with both outcomes."""
    cases: list[Case] = [p.values[0] for p in CASES]
    expected = {
        (kind, s.name, trigger)
        for kind, d in DEFS.workflows.items()
        for s in d.states
        for trigger in d.triggers()
    }
    assert {(c.kind, c.state, c.trigger) for c in cases} == expected
    assert {c.persona.role for c in cases} == {*ROLES, "*"}
    assert {c.expected for c in cases} == {
        None,
        "not_permitted",
        "trigger_not_allowed",
        "payload_invalid",
        "guard_failed",
        "separation_of_duties",
    }
    own = [c for c in cases if c.own]
    assert {(c.kind, c.trigger) for c in own} == {
        (kind, t.trigger) for kind, d in DEFS.workflows.items() for t in d.transitions if t.not_by
    }
    assert all(c.expected in {"separation_of_duties", "not_permitted"} for c in own)
    other_unit = [c for c in cases if c.owner not in {None, c.persona.actor.unit}]
    assert any(c.expected is None for c in other_unit)  # ward-wide roles act on any unit's item
    assert all(
        c.expected is not None
        for c in other_unit
        if c.persona.actor.roles <= UNIT_ROLES and c.persona.actor.tenant == TENANT
    )
