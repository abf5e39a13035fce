"""The fire path: refusals audited, idempotency, optimistic concurrency, outbox, versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cchc.runtime import registry as runtime_registry
from notifications.catalog import template_names
from tests.conftest import DEFINITIONS, TENANT, Clock, Db
from tests.helpers import KIND, REASON, count, instance_in
from workflows.audit import verify
from workflows.database import session_factory, unit_of_work
from workflows.definition.loader import DefinitionSet, load_definitions
from workflows.engine import Engine, InstanceExistsError
from workflows.errors import (
    ConflictError,
    DefinitionVersionConflictError,
    GuardFailedError,
    IdempotencyKeyReusedError,
    InstanceNotFoundError,
    NotPermittedError,
    PayloadInvalidError,
    TriggerNotAllowedError,
    UnknownKindError,
)
from workflows.registry import Actor
from workflows.schema import DefinitionRecord

REGISTRY = runtime_registry()


def _created(db: Db, engine: Engine, actor: Actor, ref: str = "REQ-1") -> int:
    with unit_of_work(db.sessions) as session:
        return engine.create(session, KIND, actor=actor, ref=ref).instance_id


def test_lifecycle_submit_changes_resubmit_accept(
    db: Db, engine: Engine, author: Actor, reviewer: Actor
) -> None:
    """The approval cycle runs to accepted, counting revisions and keeping the last reason."""
    instance_id = _created(db, engine, author)
    steps = [
        ("submit", author, {}),
        ("request_changes", reviewer, REASON),
        ("resubmit", author, {}),
        ("accept", reviewer, {}),
    ]
    for trigger, actor, payload in steps:
        with unit_of_work(db.sessions) as session:
            engine.fire(session, instance_id, trigger, actor=actor, payload=payload)
    with db.sessions() as session:
        view = engine.get(session, instance_id)
    assert (view.state, view.version, view.state_label) == ("accepted", 5, "Đã chấp thuận")
    assert view.data["revision"] == 2
    assert view.data["last_reason"] == REASON["reason"]
    assert view.data["decision"]["by"] == reviewer.id
    assert count(db, "audit_events", "outcome = 'applied'") == 5


def test_wrong_role_is_refused_and_audited(db: Db, engine: Engine, author: Actor) -> None:
    """An author accepting is refused with PermissionError, audited, and the state is unchanged."""
    instance_id = instance_in(db, engine, "submitted", author, author, "REQ-1")
    with (
        pytest.raises(PermissionError, match="needs one of the roles reviewer"),
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(session, instance_id, "accept", actor=author)
    with db.sessions() as session:
        assert engine.get(session, instance_id).state == "submitted"
    assert (
        count(
            db,
            "audit_events",
            "trigger = 'accept' and outcome = 'refused' and reason like 'not_permitted:%'",
        )
        == 1
    )


def test_failing_guard_is_refused_and_names_the_guard(
    db: Db, engine: Engine, author: Actor
) -> None:
    """Someone who is author and reviewer cannot accept a request they created (not_creator)."""
    both = Actor.of("hoa", "author", "reviewer", tenant=TENANT)
    instance_id = instance_in(db, engine, "submitted", both, author, "REQ-1")
    with (
        pytest.raises(GuardFailedError, match="guard 'not_creator'"),
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(session, instance_id, "accept", actor=both)
    assert count(db, "audit_events", "reason like 'guard_failed:%'") == 1
    assert (
        count(db, "outbox", f"instance_id = {instance_id} and template = 'approval_decided'") == 0
    )


def test_missing_reason_is_refused(db: Db, engine: Engine, author: Actor, reviewer: Actor) -> None:
    """A rejection without a non-empty reason is refused as an invalid payload."""
    instance_id = instance_in(db, engine, "submitted", author, author, "REQ-1")
    with (
        pytest.raises(PayloadInvalidError, match="non-empty reason"),
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(session, instance_id, "reject", actor=reviewer, payload={"reason": "  "})
    assert count(db, "audit_events", "reason like 'payload_invalid:%'") == 1


def test_unknown_trigger_suggests_the_closest(db: Db, engine: Engine, author: Actor) -> None:
    """A misspelled trigger is refused with a did-you-mean hint."""
    instance_id = _created(db, engine, author)
    with (
        pytest.raises(TriggerNotAllowedError, match="did you mean 'submit'"),
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(session, instance_id, "submt", actor=author)


def test_other_tenant_cannot_act(db: Db, engine: Engine, author: Actor) -> None:
    """An actor of another tenant is refused even with the right role, on their own chain."""
    instance_id = _created(db, engine, author)
    stranger = Actor.of("x", "author", tenant="another-ward")
    with (
        pytest.raises(NotPermittedError, match="another tenant"),
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(session, instance_id, "submit", actor=stranger)
    assert count(db, "audit_events", f"tenant = '{TENANT}' and outcome = 'refused'") == 0
    assert count(db, "audit_events", "tenant = 'another-ward' and outcome = 'refused'") == 1


def test_refused_creation_is_audited(db: Db, engine: Engine, reviewer: Actor) -> None:
    """A reviewer may not create a request; the refusal is audited without an instance."""
    with pytest.raises(NotPermittedError), unit_of_work(db.sessions) as session:
        engine.create(session, KIND, actor=reviewer, ref="REQ-9")
    assert count(db, "instances") == 0
    assert count(db, "audit_events", "trigger = 'create' and instance_id is null") == 1


def test_duplicate_ref_and_unknown_ids_raise_lookup_errors(
    db: Db, engine: Engine, author: Actor
) -> None:
    """A second instance with the same ref, an unknown id and an unknown kind raise clearly."""
    _created(db, engine, author)
    with pytest.raises(InstanceExistsError, match="already exists"):
        _created(db, engine, author)
    with pytest.raises(InstanceNotFoundError), db.sessions() as session:
        engine.fire(session, 999, "submit", actor=author)
    with pytest.raises(UnknownKindError, match="did you mean 'approval_request'"):
        engine.current("aproval_request")


def test_idempotency_key_returns_first_result(
    db: Db, engine: Engine, author: Actor, reviewer: Actor
) -> None:
    """Repeating a fire with the same key returns the first result and writes nothing more."""
    instance_id = instance_in(db, engine, "submitted", author, author, "REQ-1")
    calls = []
    for _ in range(3):
        with unit_of_work(db.sessions) as session:
            calls.append(
                engine.fire(
                    session,
                    instance_id,
                    "request_changes",
                    actor=reviewer,
                    payload=REASON,
                    idempotency_key="review-42",
                )
            )
    first, *repeats = calls
    assert not first.replayed
    assert all(r.replayed and r.event_id == first.event_id for r in repeats)
    assert count(db, "audit_events", "trigger = 'request_changes'") == 1
    with db.sessions() as session:
        assert engine.get(session, instance_id).version == first.version


def test_a_known_key_replays_only_for_who_may_make_the_request(
    db: Db, engine: Engine, author: Actor, reviewer: Actor
) -> None:
    """Someone without the transition's role reusing a known key is refused and audited, not
    handed the first result; a reviewer repeating it gets the replay."""
    instance_id = instance_in(db, engine, "submitted", author, author, "REQ-1")
    with unit_of_work(db.sessions) as session:
        first = engine.fire(
            session,
            instance_id,
            "request_changes",
            actor=reviewer,
            payload=REASON,
            idempotency_key="review-43",
        )
    inspector = Actor.of("son.inspector", "inspector", tenant=TENANT)
    with (
        pytest.raises(NotPermittedError, match="may not repeat 'request_changes'"),
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(
            session,
            instance_id,
            "request_changes",
            actor=inspector,
            payload=REASON,
            idempotency_key="review-43",
        )
    assert count(db, "audit_events", "actor = 'son.inspector' and outcome = 'refused'") == 1
    other = Actor.of("hoa.reviewer", "reviewer", tenant=TENANT)
    with unit_of_work(db.sessions) as session:
        again = engine.fire(
            session,
            instance_id,
            "request_changes",
            actor=other,
            payload=REASON,
            idempotency_key="review-43",
        )
    assert again.replayed
    assert again.event_id == first.event_id


def test_idempotency_key_reused_for_another_request(
    db: Db, engine: Engine, author: Actor, reviewer: Actor
) -> None:
    """The same key with a different payload is an error, not a replay."""
    instance_id = instance_in(db, engine, "submitted", author, author, "REQ-1")
    with unit_of_work(db.sessions) as session:
        engine.fire(
            session,
            instance_id,
            "request_changes",
            actor=reviewer,
            payload=REASON,
            idempotency_key="k",
        )
    with pytest.raises(IdempotencyKeyReusedError), unit_of_work(db.sessions) as session:
        engine.fire(
            session,
            instance_id,
            "request_changes",
            actor=reviewer,
            payload={"reason": "other"},
            idempotency_key="k",
        )


def test_stale_expected_version_conflicts_and_writes_nothing(
    db: Db, engine: Engine, author: Actor
) -> None:
    """A fire against a version that is no longer current raises ConflictError, no event."""
    instance_id = _created(db, engine, author)
    with unit_of_work(db.sessions) as session:
        engine.fire(session, instance_id, "submit", actor=author, expected_version=1)
    events = count(db, "audit_events")
    with (
        pytest.raises(ConflictError, match="version 2, not 1"),
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(session, instance_id, "withdraw", actor=author, expected_version=1)
    assert count(db, "audit_events") == events
    with db.sessions() as session:
        assert engine.get(session, instance_id).state == "submitted"


def test_outbox_rows_follow_the_definition(
    db: Db, engine: Engine, author: Actor, reviewer: Actor
) -> None:
    """Entering 'submitted' writes one outbox row to reviewers with a renderable context."""
    instance_id = instance_in(db, engine, "submitted", author, author, "REQ-1")
    with db.sessions() as session:
        from workflows.schema import OutboxMessage

        rows = session.query(OutboxMessage).filter_by(instance_id=instance_id).all()
    assert [(r.template, json.loads(r.recipients), r.status) for r in rows] == [
        ("approval_submitted", ["reviewer"], "pending")
    ]
    context = json.loads(rows[0].context)
    assert context["state_label"] == "Đã trình, chờ xem xét"
    assert context["occurred_at_local"] == "03/11/2025 09:00:00"


def test_save_reload_round_trip(
    db: Db, definitions: DefinitionSet, clock: Clock, author: Actor, reviewer: Actor
) -> None:
    """After every step a new engine and session read back the same state, version and data."""
    steps = [
        ("submit", author, {}),
        ("request_changes", reviewer, REASON),
        ("resubmit", author, {}),
        ("accept", reviewer, {}),
    ]
    engine = Engine(definitions, REGISTRY, clock=clock)
    instance_id = _created(db, engine, author)
    for trigger, actor, payload in steps:
        with unit_of_work(db.sessions) as session:
            before = engine.get(session, instance_id)
            result = engine.fire(session, instance_id, trigger, actor=actor, payload=payload)
        clock.advance(minutes=5)
        engine = Engine(definitions, REGISTRY, clock=clock)  # a fresh machine, nothing cached
        db.engine.dispose()
        with session_factory(db.engine)() as session:
            after = engine.get(session, instance_id)
        assert (after.state, after.version) == (result.dest, before.version + 1)
        assert after.definition_hash == definitions.get(KIND).content_hash
        assert after.created_at == before.created_at
    with db.sessions() as session:
        assert verify(session).ok


def test_instance_keeps_its_definition_version(
    db: Db, clock: Clock, author: Actor, reviewer: Actor, tmp_path: Path
) -> None:
    """An instance keeps running on the definition it was created with after a new version loads."""
    first = load_definitions([DEFINITIONS], registry=REGISTRY, templates=template_names())
    old = Engine(first, REGISTRY, clock=clock)
    instance_id = _created(db, old, author)
    copy = tmp_path / "definitions"
    (copy / "workflows").mkdir(parents=True)
    (copy / "roles.yaml").write_text((DEFINITIONS / "roles.yaml").read_text("utf-8"), "utf-8")
    data = yaml.safe_load((DEFINITIONS / "workflows" / f"{KIND}.yaml").read_text("utf-8"))
    data["version"] += 1
    data["states"][1]["label"] = "Đã trình (phiên bản mới)"
    (copy / "workflows" / f"{KIND}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    second = load_definitions([copy], registry=REGISTRY, templates=template_names())
    new = Engine(second, REGISTRY, clock=clock)
    assert second.get(KIND).content_hash != first.get(KIND).content_hash
    newer_id = _created(db, new, author, ref="REQ-2")
    for instance in (instance_id, newer_id):
        with unit_of_work(db.sessions) as session:
            new.fire(session, instance, "submit", actor=author)
    with db.sessions() as session:
        assert engine_label(new, session, instance_id) == "Đã trình, chờ xem xét"
        assert engine_label(new, session, newer_id) == "Đã trình (phiên bản mới)"
        assert session.query(DefinitionRecord).count() == 2


def engine_label(engine: Engine, session: object, instance_id: int) -> str:
    """The state label an instance shows, from the definition version it runs on."""
    return engine.get(session, instance_id).state_label  # type: ignore[arg-type]


def test_direct_state_assignment_is_refused(db: Db, engine: Engine, author: Actor) -> None:
    """Setting Instance.state through the ORM raises instead of bypassing the engine."""
    from workflows.errors import StateAssignmentError
    from workflows.schema import Instance

    instance_id = _created(db, engine, author)
    with db.sessions() as session:
        instance = session.get(Instance, instance_id)
        assert instance is not None
        with pytest.raises(StateAssignmentError, match="fire a trigger"):
            instance.state = "accepted"
    with db.sessions() as session:
        assert engine.get(session, instance_id).state == "draft"


def test_a_second_body_under_the_same_version_is_refused(
    db: Db, clock: Clock, author: Actor, tmp_path: Path
) -> None:
    """A definition whose body differs from the one stored under its kind and version is refused."""
    first = load_definitions([DEFINITIONS], registry=REGISTRY, templates=template_names())
    _created(db, Engine(first, REGISTRY, clock=clock), author)
    copy = tmp_path / "definitions"
    (copy / "workflows").mkdir(parents=True)
    (copy / "roles.yaml").write_text((DEFINITIONS / "roles.yaml").read_text("utf-8"), "utf-8")
    data = yaml.safe_load((DEFINITIONS / "workflows" / f"{KIND}.yaml").read_text("utf-8"))
    data["states"][1]["label"] = "Đã trình (cùng phiên bản, nội dung khác)"
    (copy / "workflows" / f"{KIND}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    second = load_definitions([copy], registry=REGISTRY, templates=template_names())
    version = data["version"]
    with pytest.raises(DefinitionVersionConflictError, match=f"{KIND} version {version}"):
        _created(db, Engine(second, REGISTRY, clock=clock), author, ref="REQ-2")
    assert count(db, "instances") == 1
    assert count(db, "workflow_definitions") == 1
