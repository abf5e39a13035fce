"""Tampering with the audit trail (edit, delete, reorder, insert) is detected at the right event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.conftest import TENANT, Db
from tests.helpers import REASON, instance_in
from workflows.audit import event_hash, verify
from workflows.database import unit_of_work
from workflows.engine import Engine
from workflows.registry import Actor
from workflows.schema import AuditEvent


@contextmanager
def unprotected(db: Db) -> Iterator[sa.Connection]:
    """A connection on which the append-only triggers are off, as an attacker would arrange."""
    with db.engine.begin() as conn:
        if db.backend == "postgresql":
            conn.execute(
                sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            )
            yield conn
            conn.execute(
                sa.text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
            )
        else:
            conn.execute(sa.text("DROP TRIGGER audit_events_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_events_no_delete"))
            yield conn


@pytest.fixture
def trail(db: Db, engine: Engine) -> list[int]:
    """Ten events on one tenant's chain; returns their ids in chain order."""
    author = Actor.of("author", "author", tenant=TENANT)
    reviewer = Actor.of("reviewer", "reviewer", tenant=TENANT)
    walker = Actor.of("walker", "author", "reviewer", tenant=TENANT)
    for n in range(2):
        instance_id = instance_in(db, engine, "changes_requested", author, walker, f"T-{n}")
        with unit_of_work(db.sessions) as session:
            engine.fire(session, instance_id, "resubmit", actor=author)
            engine.fire(session, instance_id, "accept", actor=reviewer, payload=REASON)
    with db.engine.connect() as conn:
        ids = conn.execute(sa.text("select id from audit_events order by seq")).scalars().all()
    assert len(ids) == 10
    return list(ids)


def _delete_event(conn: sa.Connection, event_id: int) -> None:
    """Delete an event and the outbox rows that refer to it."""
    conn.execute(sa.text("delete from outbox where event_id = :id"), {"id": event_id})
    conn.execute(sa.text("delete from audit_events where id = :id"), {"id": event_id})


def _first_break(db: Db) -> tuple[int | None, str]:
    with db.sessions() as session:
        report = verify(session)
    assert not report.ok
    (broken,) = report.breaks
    return broken.event_id, broken.problem


def test_intact_chain_verifies(db: Db, trail: list[int]) -> None:
    """An untouched chain verifies, counting every event."""
    with db.sessions() as session:
        report = verify(session)
    assert report.ok
    assert report.events == len(trail)


def test_edited_payload_is_named(db: Db, trail: list[int]) -> None:
    """Editing one event's payload breaks the chain at exactly that event."""
    with unprotected(db) as conn:
        conn.execute(
            sa.text('update audit_events set payload = \'{"reason":"x"}\' where id = :id'),
            {"id": trail[4]},
        )
    assert _first_break(db) == (trail[4], "content does not match its hash (the row was edited)")


def test_edited_actor_is_named(db: Db, trail: list[int]) -> None:
    """Changing who acted breaks the chain at that event."""
    with unprotected(db) as conn:
        conn.execute(
            sa.text("update audit_events set actor = 'chairman' where id = :id"), {"id": trail[7]}
        )
    assert _first_break(db)[0] == trail[7]


def test_deleted_event_is_named(db: Db, trail: list[int]) -> None:
    """Deleting an event breaks the chain at the event that followed it."""
    with unprotected(db) as conn:
        _delete_event(conn, trail[3])
    event_id, problem = _first_break(db)
    assert event_id == trail[4]
    assert "missing" in problem


def test_deleted_last_event_is_found(db: Db, trail: list[int]) -> None:
    """Deleting the newest event is caught by the chain head."""
    with unprotected(db) as conn:
        _delete_event(conn, trail[-1])
    assert "were deleted" in _first_break(db)[1]


def test_reordered_events_are_named(db: Db, trail: list[int]) -> None:
    """Swapping the order of two events breaks the chain at the first of them."""
    with unprotected(db) as conn:
        swap = "update audit_events set seq = :seq where id = :id"
        conn.execute(sa.text(swap), {"seq": -1, "id": trail[5]})
        conn.execute(sa.text(swap), {"seq": 6, "id": trail[6]})
        conn.execute(sa.text(swap), {"seq": 7, "id": trail[5]})
    assert _first_break(db)[0] == trail[6]


def test_inserted_forged_event_is_found(db: Db, trail: list[int]) -> None:
    """An event inserted mid-chain with a correctly computed hash still breaks the next link."""
    with unprotected(db) as conn:
        table = AuditEvent.__table__
        rows = conn.execute(sa.select(table).order_by(table.c.seq)).mappings().all()
        for row in reversed(rows[3:]):
            conn.execute(
                sa.text("update audit_events set seq = seq + 1 where id = :id"), {"id": row["id"]}
            )
        forged = {k: v for k, v in rows[2].items() if k != "id"}
        forged.update(seq=4, actor="forger", prev_hash=rows[2]["hash"])
        forged["hash"] = event_hash(rows[2]["hash"], forged)
        conn.execute(sa.insert(table).values(**forged))
    event_id, problem = _first_break(db)
    assert event_id == trail[3]
    assert "prev_hash" in problem


def test_database_refuses_updates_and_deletes(db: Db, trail: list[int]) -> None:
    """The append-only triggers stop UPDATE and DELETE on audit events."""
    for statement in ("update audit_events set actor = 'x'", "delete from audit_events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    with db.sessions() as session:
        assert verify(session).events == len(trail)


@pytest.mark.parametrize(
    "statement",
    [
        "delete from audit_chain_heads",
        "update audit_chain_heads set seq = seq - 1",
        "update audit_chain_heads set tenant = 'elsewhere'",
    ],
    ids=["delete head", "rewind head", "rename head"],
)
def test_database_refuses_deleting_or_rewinding_a_chain_head(
    db: Db, trail: list[int], statement: str
) -> None:
    """A chain head cannot be deleted, moved back or renamed (that would hide deleted events)."""
    with (
        pytest.raises(sa.exc.DBAPIError, match="only moves forward"),
        db.engine.begin() as conn,
    ):
        conn.execute(sa.text(statement))
    with db.sessions() as session:
        report = verify(session)
    assert report.ok
    assert report.events == len(trail)


def test_postgresql_refuses_truncate(pg_db: Db, engine: Engine) -> None:
    """On PostgreSQL, TRUNCATE of the audit trail or of the chain heads is refused."""
    author = Actor.of("author", "author", tenant=TENANT)
    with unit_of_work(pg_db.sessions) as session:
        engine.create(session, "approval_request", actor=author, ref="T-1")
    for table in ("audit_events", "audit_chain_heads"):
        with (
            pytest.raises(sa.exc.DBAPIError, match="TRUNCATE refused"),
            pg_db.engine.begin() as conn,
        ):
            conn.execute(sa.text(f"TRUNCATE {table} CASCADE"))
    with pg_db.sessions() as session:
        assert verify(session).events == 1
