"""The fast verification path hashes exactly the bytes ``event_hash`` hashed when appending."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchc.migrations import upgrade
from tests.conftest import TENANT, Db
from workflows.audit import GENESIS, AuditRecord, append_event, event_hash, verify
from workflows.canonical import canonical_json
from workflows.database import make_engine, session_factory, unit_of_work
from workflows.schema import AuditEvent

TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
"""Any text both databases store: quotes, backslashes, control characters, Vietnamese, emoji
(not NUL, which PostgreSQL text cannot hold)."""
MAYBE = st.none() | TEXT


def _fields(tenant: str, n: int, **over: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "tenant": tenant,
        "occurred_at": datetime(2025, 11, 3, 2, 0, n, 1234 * n, tzinfo=UTC),
        "actor": "lan",
        "role": "author",
        "instance_id": n,
        "kind": "approval_request",
        "ref": f"REQ-{n}",
        "trigger": "submit",
        "from_state": "draft",
        "to_state": "submitted",
        "payload": canonical_json({"reason": "Thiếu tài liệu"}),
        "definition_hash": "d" * 64,
        "outcome": "applied",
        "reason": None,
    }
    fields.update(over)
    return fields


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    actor=TEXT,
    role=MAYBE,
    ref=TEXT,
    trigger=TEXT,
    from_state=MAYBE,
    to_state=MAYBE,
    reason=MAYBE,
    payload=st.dictionaries(TEXT, TEXT | st.integers(), max_size=3),
    instance_id=st.none() | st.integers(0, 2**62),
    tenant=TEXT.filter(bool),
    micro=st.integers(0, 999_999),
)
def test_any_content_verifies(
    db: Db,
    actor: str,
    role: str | None,
    ref: str,
    trigger: str,
    from_state: str | None,
    to_state: str | None,
    reason: str | None,
    payload: dict[str, object],
    instance_id: int | None,
    tenant: str,
    micro: int,
) -> None:
    """Whatever the strings hold, an event appended with ``event_hash`` verifies."""
    name = f"t-{tenant}"[:64]
    with unit_of_work(db.sessions) as session:
        for n in (1, 2):
            append_event(
                session,
                AuditRecord(
                    **_fields(
                        name,
                        n,
                        actor=actor,
                        role=role,
                        ref=ref,
                        trigger=trigger,
                        from_state=from_state,
                        to_state=to_state,
                        reason=reason,
                        payload=canonical_json(payload),
                        instance_id=instance_id,
                        occurred_at=datetime(2025, 1, 1, 0, 0, n, micro, tzinfo=UTC),
                    )
                ),
            )
    with db.sessions() as session:
        report = verify(session, tenant=name)
    assert report.ok, report.breaks
    assert report.events >= 2


@contextmanager
def unprotected(db: Db) -> Iterator[sa.Connection]:
    """A transaction that may edit audit events, as an attacker with database access would
    arrange (on PostgreSQL the trigger is back on when it commits)."""
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
            yield conn


def _trail(db: Db, tenants: int = 3, events: int = 4) -> None:
    with unit_of_work(db.sessions) as session:
        for t in range(tenants):
            for n in range(1, events + 1):
                append_event(session, AuditRecord(**_fields(f"{TENANT}-{t}", n)))


def test_two_processes_give_the_same_report(db: Db) -> None:
    """Verifying in two processes counts the same events and finds the same break."""
    _trail(db)
    with db.sessions() as session:
        one, two = verify(session), verify(session, workers=2)
    assert (one.ok, one.events, one.tenants) == (two.ok, two.events, two.tenants) == (True, 12, 3)
    with unprotected(db) as conn:
        conn.execute(
            sa.text("update audit_events set actor = 'x' where tenant = :t and seq = 3"),
            {"t": f"{TENANT}-1"},
        )
    with db.sessions() as session:
        one, two = verify(session), verify(session, workers=2)
    assert one.breaks == two.breaks
    ((broken,),) = (one.breaks,)
    assert (broken.tenant, broken.seq) == (f"{TENANT}-1", 3)


def test_postgresql_session_time_zone_does_not_matter(pg_db: Db) -> None:
    """The time is hashed in UTC whatever the session's time zone is."""
    _trail(pg_db, tenants=1)
    with pg_db.sessions() as session:
        session.execute(sa.text("SET TIME ZONE 'Asia/Ho_Chi_Minh'"))
        report = verify(session)
    assert report.ok
    assert report.events == 4


def test_sqlite_time_stored_in_another_form_is_read_the_slow_way(tmp_path: Path) -> None:
    """A time SQLite holds in another text form (no microseconds) still verifies."""
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    upgrade(engine)
    fields = _fields(TENANT, 1, occurred_at=datetime(2025, 11, 3, 2, 0, 0, tzinfo=UTC), seq=1)
    fields["prev_hash"] = GENESIS
    fields["hash"] = event_hash(GENESIS, fields)
    with engine.begin() as conn:
        conn.execute(sa.insert(AuditEvent.__table__), fields)
        conn.execute(sa.text("DROP TRIGGER audit_events_no_update"))
        conn.execute(sa.text("update audit_events set occurred_at = '2025-11-03 02:00:00'"))
        conn.execute(
            sa.text("insert into audit_chain_heads values (:t, 1, :h)"),
            {"t": TENANT, "h": fields["hash"]},
        )
    with session_factory(engine)() as session:
        report = verify(session)
    engine.dispose()
    assert report.ok, report.breaks
    assert report.events == 1


@pytest.mark.parametrize("column", ["payload", "ref", "reason", "role"])
def test_editing_any_text_column_breaks_the_chain(db: Db, column: str) -> None:
    """Each hashed text column is part of what the fast path hashes."""
    _trail(db, tenants=1)
    with unprotected(db) as conn:
        conn.execute(sa.text(f"update audit_events set {column} = 'x' where seq = 2"))
    with db.sessions() as session:
        ((broken,),) = (verify(session).breaks,)
    assert broken.seq == 2
    assert "edited" in broken.problem
