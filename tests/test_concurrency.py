"""Real threads racing on one instance: exactly one fire (or decision) wins, the chain holds."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine as SqlEngine

from cchc.evidence.service import Decision, EvidenceSubmission, review_evidence, submit_evidence
from cchc.evidence.store import EvidenceStore
from cchc.organization.model import load_organization
from cchc.plan.issue import issue_plan
from tests.conftest import ROOT, TENANT, Db, long_tests
from tests.helpers import count, instance_in
from tests.test_evidence import CRITERIA, PLAN, ROLES, pdf
from tests.test_evidence import TENANT as WARD
from workflows.audit import verify
from workflows.database import make_engine, session_factory, unit_of_work
from workflows.engine import Engine, FireResult
from workflows.errors import (
    ConflictError,
    TransitionRefusedError,
    TriggerNotAllowedError,
    WorkflowError,
)
from workflows.registry import Actor
from workflows.schema import Instance

THREADS = 8


def _race(
    db_engine: SqlEngine, engine: Engine, instance_id: int, expected: int | None
) -> Counter[str]:
    sessions = session_factory(db_engine)
    barrier = threading.Barrier(THREADS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def review(n: int) -> None:
        reviewer = Actor.of(f"reviewer-{n}", "reviewer", tenant=TENANT)
        barrier.wait()
        try:
            with unit_of_work(sessions) as session:
                engine.fire(
                    session, instance_id, "accept", actor=reviewer, expected_version=expected
                )
            outcome = "won"
        except ConflictError:
            outcome = "conflict"
        except TransitionRefusedError:
            outcome = "refused"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=review, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
def test_reviewers_racing_with_the_version_they_read(pg_db: Db, engine: Engine) -> None:
    """Eight reviewers accept version 2 at once on PostgreSQL: one wins, seven get ConflictError."""
    author = Actor.of("author", "author", tenant=TENANT)
    instance_id = instance_in(pg_db, engine, "submitted", author, author, "RACE-1")
    outcomes = _race(pg_db.engine, engine, instance_id, expected=2)
    assert outcomes == Counter(won=1, conflict=THREADS - 1)
    with pg_db.sessions() as session:
        assert engine.get(session, instance_id).version == 3
        report = verify(session)
    assert report.ok, report.breaks


@pytest.mark.postgres
def test_reviewers_racing_blind(pg_db: Db, engine: Engine) -> None:
    """Without an expected version, one fire applies; the rest conflict or are refused."""
    author = Actor.of("author", "author", tenant=TENANT)
    instance_id = instance_in(pg_db, engine, "submitted", author, author, "RACE-2")
    outcomes = _race(pg_db.engine, engine, instance_id, expected=None)
    assert outcomes["won"] == 1
    assert outcomes["conflict"] + outcomes["refused"] == THREADS - 1
    with pg_db.sessions() as session:
        assert verify(session).ok


def test_sqlite_writers_serialise(db: Db, engine: Engine) -> None:
    """On both backends concurrent reviewers never both apply, and the chain verifies."""
    author = Actor.of("author", "author", tenant=TENANT)
    instance_id = instance_in(db, engine, "submitted", author, author, "RACE-3")
    outcomes = _race(db.engine, engine, instance_id, expected=2)
    assert outcomes == Counter(won=1, conflict=THREADS - 1)
    with db.sessions() as session:
        assert verify(session).ok


# --- the domain path: focal officials deciding on the same evidence or product at once -------

ROUNDS = 20 if long_tests() else 3
"""Races per test; each is a fresh piece of evidence (or task) decided by ``RACERS`` at once."""
RACERS = 8 if long_tests() else 2
DECISIONS: tuple[Decision, ...] = ("accept", "request_changes", "reject")
REASON = "Thiếu chữ ký của lãnh đạo"
LOSING = (ConflictError, TriggerNotAllowedError)
"""What a reviewer who lost the race may get: changed underneath, or already decided (audited)."""


def _focal(n: int) -> Actor:
    return Actor.of(f"focal-{n}", "focal_official", tenant=WARD)


def _decide_at_once(decide: Callable[[int], FireResult]) -> list[FireResult | WorkflowError]:
    """Run ``decide(n)`` for every racer at the same moment; each one's result or error."""
    barrier = threading.Barrier(RACERS)
    results: list[FireResult | WorkflowError] = [WorkflowError("did not run")] * RACERS

    def racer(n: int) -> None:
        barrier.wait()
        try:
            results[n] = decide(n)
        except WorkflowError as exc:
            results[n] = exc

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _last_event(db: Db) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(sa.text("select coalesce(max(id), 0) from audit_events")).scalar_one()
        )


def _one_winner(
    db: Db, instance_id: int, after: int, results: list[FireResult | WorkflowError]
) -> FireResult:
    """Exactly one applied decision, the others lost cleanly; the trail (events after event
    ``after``) shows exactly that."""
    won = [r for r in results if isinstance(r, FireResult)]
    lost = [r for r in results if not isinstance(r, FireResult)]
    assert len(won) == 1, results
    assert all(isinstance(r, LOSING) for r in lost), lost
    decided = f"instance_id = {instance_id} and id > {after}"
    assert count(db, "audit_events", f"{decided} and outcome = 'applied'") == 1
    refused = sum(isinstance(r, TriggerNotAllowedError) for r in lost)
    assert count(db, "audit_events", f"{decided} and outcome = 'refused'") == refused
    assert count(db, "instances", f"id = {instance_id} and state = '{won[0].dest}'") == 1
    return won[0]


def _review(
    db: Db, engine: Engine, evidence: EvidenceSubmission, round_: int, n: int
) -> FireResult:
    """Racer ``n`` reviews ``evidence`` with one of the three decisions, on the hash it saw."""
    decision = DECISIONS[(n + round_) % len(DECISIONS)]
    with unit_of_work(db.sessions) as session:
        return review_evidence(
            session,
            engine,
            _focal(n),
            evidence.instance_id,
            decision,
            sha256=evidence.sha256,
            reason=REASON,
        )


def _decide_product(db: Db, engine: Engine, task_id: int, round_: int, n: int) -> FireResult:
    """Racer ``n`` accepts or returns the task's submitted product."""
    trigger = ("accept_product", "return_product")[(n + round_) % 2]
    with unit_of_work(db.sessions) as session:
        return engine.fire(session, task_id, trigger, actor=_focal(n), payload={"reason": REASON})


@pytest.fixture
def ward(pg_db: Db, engine: Engine) -> Db:
    """The test plan of tests/test_evidence.py issued on PostgreSQL by the focal official."""
    org = load_organization(ROOT / "definitions" / "organizations" / "phu-lien.yaml", ROLES)
    with unit_of_work(pg_db.sessions) as session:
        issue_plan(session, engine, PLAN, CRITERIA, org.actor("nguyen.thi.lan"), {})
    return pg_db


@pytest.mark.postgres
def test_focal_officials_deciding_the_same_evidence_at_once(
    ward: Db, engine: Engine, tmp_path: Path
) -> None:
    """Accept, request changes and reject on one file's hash at once: one decision applies."""
    store = EvidenceStore(tmp_path / "evidence")
    official = Actor.of("ngo.thi.ha", "unit_official", tenant=WARD, unit="kt")
    winners = Counter[str]()
    for round_ in range(ROUNDS):
        with unit_of_work(ward.sessions) as session:
            evidence = submit_evidence(
                session,
                engine,
                store,
                official,
                plan_code=PLAN.code,
                target="criterion:1.1.3",
                source=pdf(f"báo cáo {round_}"),
                original_name=f"bao-cao-{round_}.pdf",
            )

        after = _last_event(ward)
        results = _decide_at_once(partial(_review, ward, engine, evidence, round_))
        winner = _one_winner(ward, evidence.instance_id, after, results)
        winners[winner.trigger] += 1
        notified = 0 if winner.trigger == "accept" else 1
        assert count(ward, "outbox", f"instance_id = {evidence.instance_id}") == notified
    assert sum(winners.values()) == ROUNDS
    with ward.sessions() as session:
        report = verify(session)
    assert report.ok, [b.describe() for b in report.breaks]


@pytest.mark.postgres
def test_focal_officials_accepting_and_returning_one_product_at_once(
    ward: Db, engine: Engine
) -> None:
    """Accepting and returning one submitted product at once: one decision applies."""
    official = Actor.of("ngo.thi.ha", "unit_official", tenant=WARD, unit="kt")
    with ward.sessions() as session:
        task_id = session.scalars(
            sa.select(Instance.id).where(Instance.ref == f"{PLAN.code}/NV-01")
        ).one()
    for round_ in range(ROUNDS):
        with unit_of_work(ward.sessions) as session:
            engine.fire(
                session,
                task_id,
                "submit_product",
                actor=official,
                payload={"product": f"Báo cáo rà soát, lần {round_ + 1}"},
            )
        after = _last_event(ward)
        results = _decide_at_once(partial(_decide_product, ward, engine, task_id, round_))
        winner = _one_winner(ward, task_id, after, results)
        if winner.dest == "done":
            break  # accepted: nothing is left to decide on this task
        assert winner.dest == "returned"
    with ward.sessions() as session:
        assert verify(session).ok


@pytest.mark.postgres
def test_two_wards_store_a_definition_version_at_once(pg_db: Db, engine: Engine) -> None:
    """Two wards creating the first instance of a kind at once on PostgreSQL both succeed, and
    the definition version is stored once (the second insert waited for the first, then yielded)."""
    name = f"cchc-register-{uuid.uuid4().hex[:8]}"
    other = make_engine(f"{pg_db.url}&application_name={name}")
    results: list[object] = []

    def second_ward() -> None:
        try:
            with unit_of_work(session_factory(other)) as session:
                engine.create(
                    session,
                    "approval_request",
                    ref="R-1",
                    actor=Actor.of("b", "author", tenant="ward-b"),
                )
            results.append("created")
        except WorkflowError as exc:
            results.append(exc)
        except sa.exc.IntegrityError as exc:
            results.append(exc)

    try:
        thread = threading.Thread(target=second_ward)
        with unit_of_work(pg_db.sessions) as first:
            engine.create(
                first, "approval_request", ref="R-1", actor=Actor.of("a", "author", tenant="ward-a")
            )
            thread.start()
            _wait_until_waiting(pg_db, name)  # the second ward's insert waits for this commit
        thread.join(timeout=60)
        assert results == ["created"]
        assert count(pg_db, "workflow_definitions", "kind = 'approval_request'") == 1
        assert count(pg_db, "instances", "kind = 'approval_request'") == 2
    finally:
        other.dispose()


def _wait_until_waiting(db: Db, application_name: str) -> None:
    """Until a backend of ``application_name`` waits for a lock (fresh connections: the
    activity view is a snapshot per transaction)."""
    waiting = sa.text(
        "select count(*) from pg_stat_activity "
        "where application_name = :name and wait_event_type = 'Lock'"
    )
    for _ in range(6000):
        with db.engine.connect() as conn:
            if conn.execute(waiting, {"name": application_name}).scalar_one():
                return
        time.sleep(0.01)
    pytest.fail("the second ward never waited for the first ward's definition row")
