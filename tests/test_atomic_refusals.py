"""A unit of work that meets a refusal leaves only the refusal, on SQLite and PostgreSQL alike.

``unit_of_work`` rolls everything back on any error, then appends the refusal the engine held
in a transaction of its own, on the actor's chain; the chain verifies afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import TENANT, Db
from tests.helpers import KIND, REASON, count
from workflows.audit import AuditRecord, append_event, verify
from workflows.database import keep_on_failure, unit_of_work
from workflows.engine import Engine
from workflows.errors import (
    GuardFailedError,
    NotPermittedError,
    PayloadInvalidError,
    SeparationOfDutiesError,
    TransitionRefusedError,
    TriggerNotAllowedError,
)
from workflows.registry import Actor

AUTHOR = Actor.of("lan.author", "author", tenant=TENANT)
REVIEWER = Actor.of("minh.reviewer", "reviewer", tenant=TENANT)
BOTH = Actor.of("hoa", "author", "reviewer", tenant=TENANT)
SUBMITTER = Actor.of("lan.author", "author", "reviewer", tenant=TENANT)
"""The author who submitted, also holding the reviewer role."""
STRANGER = Actor.of("x", "author", "reviewer", tenant="another-ward")


def _only_the_refusal(db: Db, tenant: str = TENANT) -> None:
    """Nothing but one refusal event (on ``tenant``'s chain) is stored; every chain verifies."""
    assert count(db, "instances") == 0
    assert count(db, "outbox") == 0
    assert count(db, "idempotency_keys") == 0
    assert count(db, "workflow_definitions") == 0
    assert count(db, "audit_events") == 1
    assert count(db, "audit_events", f"outcome = 'refused' and tenant = '{tenant}'") == 1
    with db.sessions() as session:
        report = verify(session)
    assert report.ok, report.breaks


def _create_submit_then(
    engine: Engine, trigger: str, actor: Actor, payload: dict[str, str] | None = None
) -> Callable[[Session], None]:
    """A unit of work: ``BOTH`` creates a request, ``AUTHOR`` submits it (an outbox row), then
    ``actor`` fires ``trigger``."""

    def steps(session: Session) -> None:
        created = engine.create(session, KIND, actor=BOTH, ref="REQ-1", idempotency_key="k1")
        engine.fire(session, created.instance_id, "submit", actor=AUTHOR)
        engine.fire(session, created.instance_id, trigger, actor=actor, payload=payload)

    return steps


CASES = {
    "not permitted": ("accept", AUTHOR, None, NotPermittedError),
    "trigger not allowed": ("resubmit", BOTH, None, TriggerNotAllowedError),
    "unknown trigger": ("acept", BOTH, None, TriggerNotAllowedError),
    "payload invalid": ("reject", REVIEWER, {"reason": " "}, PayloadInvalidError),
    "guard failed": ("accept", BOTH, None, GuardFailedError),
    "separation of duties": ("accept", SUBMITTER, None, SeparationOfDutiesError),
}


@pytest.mark.parametrize(("trigger", "actor", "payload", "error"), CASES.values(), ids=CASES)
def test_a_refused_fire_after_a_creation_leaves_only_the_refusal(
    db: Db,
    engine: Engine,
    trigger: str,
    actor: Actor,
    payload: dict[str, str] | None,
    error: type[TransitionRefusedError],
) -> None:
    """Create, submit, then a refused fire in one unit of work: no instance, event, outbox row,
    key or definition row stays; exactly the refusal is on the chain, which verifies."""
    steps = _create_submit_then(engine, trigger, actor, payload)
    with pytest.raises(error), unit_of_work(db.sessions) as session:
        steps(session)
    _only_the_refusal(db)


def test_the_same_unit_of_work_without_the_refusal_writes_everything(
    db: Db, engine: Engine
) -> None:
    """The control: the same steps ending in an allowed fire keep instance, events and outbox."""
    with unit_of_work(db.sessions) as session:
        _create_submit_then(engine, "request_changes", REVIEWER, REASON)(session)
    assert count(db, "instances") == 1
    assert count(db, "outbox") > 0
    assert count(db, "audit_events", "outcome = 'applied'") == 3


def test_a_refusal_on_another_tenant_lands_on_the_actors_chain_alone(
    db: Db, engine: Engine
) -> None:
    """A stranger's refused fire after a creation: nothing of the ward's stays, only the
    refusal on the stranger's own chain."""

    def steps(session: Session) -> None:
        created = engine.create(session, KIND, actor=AUTHOR, ref="REQ-1")
        engine.fire(session, created.instance_id, "submit", actor=STRANGER)

    with pytest.raises(NotPermittedError), unit_of_work(db.sessions) as session:
        steps(session)
    _only_the_refusal(db, tenant="another-ward")


def test_a_refused_creation_after_a_creation_leaves_only_the_refusal(
    db: Db, engine: Engine
) -> None:
    """A second creation refused (a reviewer may not create) undoes the first one."""

    def steps(session: Session) -> None:
        engine.create(session, KIND, actor=AUTHOR, ref="REQ-1")
        engine.create(session, KIND, actor=REVIEWER, ref="REQ-2")

    with pytest.raises(NotPermittedError), unit_of_work(db.sessions) as session:
        steps(session)
    _only_the_refusal(db)


def test_a_refusal_followed_by_another_error_still_leaves_only_the_refusal(
    db: Db, engine: Engine
) -> None:
    """A refusal the caller caught, then a failure: everything else rolls back, the refusal
    is kept."""

    def steps(session: Session) -> None:
        created = engine.create(session, KIND, actor=AUTHOR, ref="REQ-1")
        with pytest.raises(NotPermittedError):
            engine.fire(session, created.instance_id, "submit", actor=REVIEWER)
        raise RuntimeError("a later failure")

    with pytest.raises(RuntimeError, match="later failure"), unit_of_work(db.sessions) as session:
        steps(session)
    _only_the_refusal(db)


def test_a_refusal_the_caller_handled_is_kept_with_the_committed_work(
    db: Db, engine: Engine
) -> None:
    """A refusal caught inside a unit of work that then commits is recorded with the rest,
    after it on the chain, which verifies."""
    with unit_of_work(db.sessions) as session:
        created = engine.create(session, KIND, actor=AUTHOR, ref="REQ-1")
        with pytest.raises(NotPermittedError):
            engine.fire(session, created.instance_id, "submit", actor=REVIEWER)
        engine.fire(session, created.instance_id, "submit", actor=AUTHOR)
    assert count(db, "instances") == 1
    assert count(db, "audit_events", "outcome = 'applied'") == 2
    assert count(db, "audit_events", "outcome = 'refused' and seq = 3") == 1
    with db.sessions() as session:
        assert verify(session).ok


def test_concurrent_refused_units_of_work_keep_one_verifying_chain(db: Db, engine: Engine) -> None:
    """Writers racing on one tenant, half refused after creating: the applied ones and every
    refusal are chained without a gap or a fork."""
    threads = 6
    errors: list[Exception] = []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        barrier.wait()
        try:
            with unit_of_work(db.sessions) as session:
                created = engine.create(session, KIND, actor=AUTHOR, ref=f"REQ-{n}")
                actor = REVIEWER if n % 2 else AUTHOR
                engine.fire(session, created.instance_id, "submit", actor=actor)
        except NotPermittedError:
            pass
        except Exception as exc:  # collected: the assertion below reports it
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert count(db, "instances") == threads // 2
    assert count(db, "audit_events", "outcome = 'applied'") == threads  # create + submit
    assert count(db, "audit_events", "outcome = 'refused'") == threads // 2
    with db.sessions() as session:
        report = verify(session)
    assert report.ok, report.breaks
    assert report.events == threads + threads // 2


def _kept_attempt(session: Session) -> None:
    """A write kept on failure: an applied event of an attempt (as a failed sign-in's)."""
    append_event(
        session,
        AuditRecord(
            tenant=TENANT,
            occurred_at=datetime(2025, 11, 3, 2, tzinfo=UTC),
            actor="lan.author",
            role=None,
            instance_id=None,
            kind="attempt",
            ref="A-1",
            trigger="attempt",
            from_state=None,
            to_state=None,
            payload="{}",
            definition_hash="",
            outcome="applied",
            reason=None,
        ),
    )


def test_a_write_kept_on_failure_outlives_the_refusal_once(db: Db, engine: Engine) -> None:
    """A write made with keep_on_failure stays (once, before the refusal) when the unit of
    work is refused; the rest rolls back and the chain verifies."""

    def steps(session: Session) -> None:
        engine.create(session, KIND, actor=AUTHOR, ref="REQ-1")
        keep_on_failure(session, _kept_attempt)
        engine.create(session, KIND, actor=REVIEWER, ref="REQ-2")

    with pytest.raises(NotPermittedError), unit_of_work(db.sessions) as session:
        steps(session)
    assert count(db, "instances") == 0
    with db.sessions() as session:
        kinds = session.execute(sa.text("select kind, outcome from audit_events order by seq"))
        assert [tuple(row) for row in kinds] == [("attempt", "applied"), (KIND, "refused")]
        assert verify(session).ok


def test_a_write_kept_on_failure_is_made_once_when_the_work_commits(db: Db) -> None:
    """Without a failure the kept write is made once, with the rest of the unit of work."""
    with unit_of_work(db.sessions) as session:
        keep_on_failure(session, _kept_attempt)
    assert count(db, "audit_events", "kind = 'attempt'") == 1
