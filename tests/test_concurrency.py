"""Real threads racing on one instance: exactly one fire wins, and the audit chain holds."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import Engine as SqlEngine

from tests.conftest import TENANT, Db
from tests.helpers import instance_in
from workflows.audit import verify
from workflows.database import session_factory, unit_of_work
from workflows.engine import Engine
from workflows.errors import ConflictError, TransitionRefusedError
from workflows.registry import Actor

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
