"""Separation of duties over every shipped definition: nobody decides on what they submitted.

The submissions of each kind are the domain's (DOMAIN.md), written here so that a definition
cannot drop a duty unnoticed. The decisions are derived from the definition: every transition
that can fire while a submission is out of its submitter's hands, from the state it enters until
the item comes back to them (a state a submission leaves) or ends. Each decision is played with
the submitter holding every role of the catalogue (so no role check hides the rule) and must be
refused, audited, unless the definition names the exception; another person then fires it.
"""

from __future__ import annotations

import shutil
from collections import deque
from pathlib import Path

import pytest
import sqlalchemy as sa

from cchc.runtime import registry as runtime_registry
from notifications.catalog import template_names
from tests.conftest import DEFINITIONS, TENANT, Clock, Db
from tests.helpers import FULL_PAYLOAD, SHA, path_to, walk
from workflows.database import unit_of_work
from workflows.definition.loader import load_definitions
from workflows.definition.models import WorkflowDefinition
from workflows.engine import CREATE, Engine
from workflows.errors import SeparationOfDutiesError
from workflows.registry import Actor

REGISTRY = runtime_registry()
DEFS = load_definitions([DEFINITIONS], registry=REGISTRY, templates=template_names())
ROLES = frozenset(DEFS.roles.roles)
UNIT = "vhxh"

SUBMISSIONS: dict[str, frozenset[str]] = {
    "approval_request": frozenset({"submit", "resubmit"}),
    "task": frozenset({"submit_product"}),
    "evidence": frozenset({CREATE}),
    "assessment": frozenset({"self_score"}),
    "plan": frozenset(),
    "meeting": frozenset(),
    "metric_import": frozenset(),
    "ranking": frozenset(),
    "city_ranking": frozenset(),
}
"""What a person hands to someone else to decide, per kind (``create``: the upload itself)."""

EXCEPTIONS = frozenset({("evidence", "supersede"), ("approval_request", "withdraw")})
"""Transitions the submitter may fire on their own submission: replacing or withdrawing it."""


def _actor(name: str) -> Actor:
    return Actor(id=name, roles=ROLES, tenant=TENANT, unit=UNIT)


CREATOR = _actor("duty.creator")
SUBMITTER = _actor("duty.submitter")
WALKER = _actor("duty.walker")
DECIDER = _actor("duty.decider")
OTHER = _actor("duty.other")
"""Test actors holding every role: only their ids differ."""


def _dest(definition: WorkflowDefinition, submission: str) -> list[str]:
    if submission == CREATE:
        return [definition.initial_state.name]
    return sorted({t.dest for t in definition.transitions if t.trigger == submission})


def decisions(definition: WorkflowDefinition) -> list[tuple[str, str, str, list[str]]]:
    """(submission, state, decision, path from the submission's state) for every decision."""
    submissions = SUBMISSIONS[definition.kind]
    handed_back = {s for t in definition.transitions if t.trigger in submissions for s in t.source}
    found = []
    for submission in sorted(submissions):
        for start in _dest(definition, submission):
            paths: dict[str, list[str]] = {start: []}
            queue = deque([start])
            while queue:
                state = queue.popleft()
                for t in definition.transitions:
                    if state not in t.source or t.trigger in submissions:
                        continue
                    found.append((submission, state, t.trigger, paths[state]))
                    if t.dest not in paths and t.dest not in handed_back:
                        paths[t.dest] = [*paths[state], t.trigger]
                        queue.append(t.dest)
    return found


CASES = [
    pytest.param(
        kind,
        submission,
        state,
        trigger,
        path,
        id=f"{kind}: {submission} then {trigger} from {state}",
    )
    for kind, definition in sorted(DEFS.workflows.items())
    for submission, state, trigger, path in decisions(definition)
]


def _submitted(db: Db, engine: Engine, kind: str, submission: str) -> int:
    """An instance of ``kind`` whose ``submission`` SUBMITTER made (walked there by others)."""
    definition = engine.current(kind).definition
    data = {"sha256": SHA, "owner_unit": UNIT}
    with unit_of_work(db.sessions) as session:
        creator = SUBMITTER if submission == CREATE else CREATOR
        instance_id = engine.create(session, kind, actor=creator, ref="D-1", data=data).instance_id
        if submission != CREATE:
            source = next(t.source[0] for t in definition.transitions if t.trigger == submission)
            walk(engine, session, instance_id, path_to(definition, source), WALKER)
            engine.fire(session, instance_id, submission, actor=SUBMITTER, payload=FULL_PAYLOAD)
    return instance_id


@pytest.mark.parametrize(("kind", "submission", "state", "trigger", "path"), CASES)
def test_the_submitter_cannot_decide_unless_the_definition_names_the_exception(
    db: Db, engine: Engine, kind: str, submission: str, state: str, trigger: str, path: list[str]
) -> None:
    """The submitter (holding every role) is refused each decision, audited; another may fire it."""
    instance_id = _submitted(db, engine, kind, submission)
    with unit_of_work(db.sessions) as session:
        for step in path:
            engine.fire(session, instance_id, step, actor=DECIDER, payload=FULL_PAYLOAD)
    if (kind, trigger) in EXCEPTIONS:
        with unit_of_work(db.sessions) as session:
            result = engine.fire(
                session, instance_id, trigger, actor=SUBMITTER, payload=FULL_PAYLOAD
            )
        assert result.source == state
        return
    with (
        pytest.raises(SeparationOfDutiesError) as refused,
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(session, instance_id, trigger, actor=SUBMITTER, payload=FULL_PAYLOAD)
    assert refused.value.reason_code == "separation_of_duties"
    assert SUBMITTER.id in str(refused.value)
    assert "không được" in str(refused.value)
    with db.sessions() as session:
        last = (
            session.connection()
            .execute(
                sa.text(
                    "select actor, trigger, outcome, reason from audit_events "
                    "where instance_id = :i order by seq desc limit 1"
                ),
                {"i": instance_id},
            )
            .one()
        )
    assert tuple(last[:3]) == (SUBMITTER.id, trigger, "refused")
    assert last.reason.startswith("separation_of_duties: ")
    with unit_of_work(db.sessions) as session:
        result = engine.fire(session, instance_id, trigger, actor=OTHER, payload=FULL_PAYLOAD)
    assert result.source == state


def test_every_shipped_kind_says_what_is_submitted() -> None:
    """A new definition must name its submissions here before the duties test can judge it."""
    assert set(SUBMISSIONS) == set(DEFS.workflows)


def test_the_issue_decisions_are_all_covered() -> None:
    """Evidence review, product acceptance, assessment approval and lock are among the cases."""
    played = {(p.values[0], p.values[3]) for p in CASES}
    assert played >= {
        ("evidence", "accept"),
        ("evidence", "request_changes"),
        ("evidence", "reject"),
        ("task", "accept_product"),
        ("task", "return_product"),
        ("assessment", "approve"),
        ("assessment", "lock"),
        ("assessment", "return_score"),
        ("approval_request", "accept"),
    }


def test_the_exceptions_are_exactly_the_ones_the_definitions_name_with_a_reason() -> None:
    """Only the transitions listed in EXCEPTIONS declare allow_same_person, each with a reason."""
    named = {
        (kind, t.trigger): t.allow_same_person
        for kind, definition in DEFS.workflows.items()
        for t in definition.transitions
        if t.allow_same_person is not None
    }
    assert set(named) == EXCEPTIONS
    assert all(reason and reason.strip() for reason in named.values())


def test_an_item_started_on_a_version_without_the_rule_is_held_to_it_too(
    db: Db, engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    """A task created before not_by existed (older stored version) still refuses its submitter."""
    old = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, old)
    task = old / "workflows" / "task.yaml"
    task.write_text(
        task.read_text(encoding="utf-8").replace("    not_by: [submit_product]\n", ""),
        encoding="utf-8",
    )
    before = Engine(
        load_definitions([old], registry=REGISTRY, templates=template_names()),
        REGISTRY,
        clock=clock,
    )
    assert before.current("task").hash != engine.current("task").hash
    data = {"owner_unit": UNIT}
    with unit_of_work(db.sessions) as session:
        task_id = before.create(session, "task", actor=CREATOR, ref="T-1", data=data).instance_id
        before.fire(session, task_id, "submit_product", actor=SUBMITTER, payload=FULL_PAYLOAD)
    with pytest.raises(SeparationOfDutiesError), unit_of_work(db.sessions) as session:
        engine.fire(session, task_id, "accept_product", actor=SUBMITTER)
    with unit_of_work(db.sessions) as session:
        assert engine.get(session, task_id).definition_hash == before.current("task").hash
        engine.fire(session, task_id, "accept_product", actor=OTHER)


def test_repeating_the_deciders_idempotency_key_does_not_let_the_submitter_through(
    db: Db, engine: Engine
) -> None:
    """The submitter reusing the key of another's acceptance is refused, not handed the result."""
    task = _submitted(db, engine, "task", "submit_product")
    with unit_of_work(db.sessions) as session:
        first = engine.fire(session, task, "accept_product", actor=OTHER, idempotency_key="k")
    with pytest.raises(SeparationOfDutiesError), unit_of_work(db.sessions) as session:
        engine.fire(session, task, "accept_product", actor=SUBMITTER, idempotency_key="k")
    with unit_of_work(db.sessions) as session:
        again = engine.fire(session, task, "accept_product", actor=OTHER, idempotency_key="k")
    assert (again.replayed, again.event_id) == (True, first.event_id)
