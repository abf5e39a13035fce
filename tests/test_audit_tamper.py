"""Tampering with the audit trail (edit, delete, reorder, insert) is detected at the right event."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import TENANT, Db
from tests.helpers import KIND, REASON, instance_in
from workflows.audit import GENESIS, event_hash, verify
from workflows.canonical import utcnow
from workflows.checkpoint import (
    Checkpoint,
    CheckpointFolder,
    check,
    generate_key,
    sign,
    signature_ok,
    take,
)
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
    """Delete an event and the outbox and reference-data rows that refer to it."""
    conn.execute(sa.text("delete from outbox where event_id = :id"), {"id": event_id})
    conn.execute(sa.text("delete from reference_data where event_id = :id"), {"id": event_id})
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


# --- attacks that re-hash: caught by signed checkpoints kept outside the database -------------


PG_TRIGGERS = (
    ("audit_events", "audit_events_append_only"),
    ("audit_chain_heads", "audit_chain_heads_forward_only"),
    ("reference_data", "reference_data_append_only"),
)
"""The append-only triggers an attacker on PostgreSQL switches off."""


@contextmanager
def attacker(db: Db) -> Iterator[sa.Connection]:
    """A connection with every audit trigger off (events, chain heads, registered reference
    data), as a DBA could."""
    with db.engine.begin() as conn:
        if db.backend == "postgresql":
            for table, trigger in PG_TRIGGERS:
                conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
            yield conn
            for table, trigger in PG_TRIGGERS:
                conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        else:
            for trigger in (
                "audit_events_no_update",
                "audit_events_no_delete",
                "audit_chain_heads_no_delete",
                "audit_chain_heads_no_rewind",
                "reference_data_no_update",
                "reference_data_no_delete",
            ):
                conn.execute(sa.text(f"DROP TRIGGER {trigger}"))
            yield conn


def _rehash_from(conn: sa.Connection, seq: int) -> None:
    """Recompute every hash from ``seq`` on and move the head to the new last hash."""
    table = AuditEvent.__table__
    rows = conn.execute(sa.select(table).order_by(table.c.seq)).mappings().all()
    prev = rows[seq - 2]["hash"] if seq > 1 else GENESIS
    for row in rows[seq - 1 :]:
        fields = dict(row)
        new = event_hash(prev, fields)
        conn.execute(
            sa.text("update audit_events set prev_hash = :p, hash = :h where id = :id"),
            {"p": prev, "h": new, "id": row["id"]},
        )
        prev = new
    conn.execute(sa.text("update audit_chain_heads set hash = :h"), {"h": prev})


def _cut_tail(conn: sa.Connection, keep: int) -> None:
    """Delete the events after seq ``keep`` and move the head back to seq ``keep``."""
    ids = conn.execute(sa.text("select id from audit_events where seq > :k"), {"k": keep})
    for event_id in ids.scalars().all():
        _delete_event(conn, event_id)
    kept = conn.execute(sa.text("select hash from audit_events where seq = :k"), {"k": keep})
    conn.execute(
        sa.text("update audit_chain_heads set seq = :k, hash = :h"),
        {"k": keep, "h": kept.scalar_one()},
    )


def _wipe_tenant(conn: sa.Connection, tenant: str = TENANT) -> None:
    """Delete the tenant's whole trail and chain head; its instances stay."""
    conn.execute(sa.text("delete from notification_deliveries where outbox_id is not null"))
    conn.execute(sa.text("delete from outbox"))
    conn.execute(sa.text("delete from reference_data where tenant = :t"), {"t": tenant})
    conn.execute(sa.text("delete from audit_events where tenant = :t"), {"t": tenant})
    conn.execute(sa.text("delete from audit_chain_heads where tenant = :t"), {"t": tenant})


@pytest.fixture
def signed(tmp_path: Path) -> tuple[bytes, CheckpointFolder]:
    """A fresh Ed25519 key pair and a checkpoint folder holding its public key."""
    private, public = generate_key()
    folder = CheckpointFolder(tmp_path / "checkpoints")
    folder.root.mkdir()
    folder.public_key_path.write_bytes(public)
    return private, folder


def _checkpoint(db: Db, private: bytes, folder: CheckpointFolder) -> Checkpoint:
    with db.sessions() as session:
        taken = take(session, TENANT, private, utcnow())
    folder.write(taken)
    return taken


def _anchor_breaks(db: Db, folder: CheckpointFolder) -> list[str]:
    with db.sessions() as session:
        return [b.problem for b in check(session, folder.load(TENANT), folder.public_keys())]


def test_checkpoint_of_intact_chain_matches(
    db: Db, trail: list[int], signed: tuple[bytes, CheckpointFolder]
) -> None:
    """A signed checkpoint of an untouched chain records its head and counts and checks clean."""
    private, folder = signed
    taken = _checkpoint(db, private, folder)
    assert (taken.seq, taken.events, taken.instances) == (10, 10, 2)
    assert signature_ok(taken, folder.public_key() or b"")
    assert _anchor_breaks(db, folder) == []


def test_rewrite_and_rehash_is_named(
    db: Db, trail: list[int], signed: tuple[bytes, CheckpointFolder]
) -> None:
    """(a) An event rewritten and the rest re-hashed passes the chain but not the checkpoint."""
    private, folder = signed
    latest = _checkpoint(db, private, folder)
    with db.engine.connect() as conn:  # an earlier checkpoint, at seq 3, narrows where it was
        third = conn.execute(sa.text("select hash from audit_events where seq = 3")).scalar_one()
    folder.write(sign(dataclasses.replace(latest, seq=3, head_hash=third), private))
    with attacker(db) as conn:
        conn.execute(
            sa.text("update audit_events set actor = 'chairman' where id = :id"), {"id": trail[5]}
        )
        _rehash_from(conn, 6)
    with db.sessions() as session:
        assert verify(session).ok  # the chain alone cannot tell
    (problem,) = _anchor_breaks(db, folder)
    assert problem.startswith("rewritten: the event at seq 10 ")
    assert "between seq 4 and 10" in problem


def test_cut_tail_with_moved_head_is_named(
    db: Db, trail: list[int], signed: tuple[bytes, CheckpointFolder]
) -> None:
    """(b) The tail cut and the head moved back passes the chain but not the checkpoint."""
    private, folder = signed
    _checkpoint(db, private, folder)
    with attacker(db) as conn:
        _cut_tail(conn, 7)
    with db.sessions() as session:
        assert verify(session).ok
    (problem,) = _anchor_breaks(db, folder)
    assert problem.startswith("tail cut: ")
    assert "ends at seq 7" in problem


def test_wiped_tenant_is_named(
    db: Db, trail: list[int], signed: tuple[bytes, CheckpointFolder]
) -> None:
    """(c) A tenant's whole trail deleted, instances left: the checkpoint and verify name it."""
    private, folder = signed
    _checkpoint(db, private, folder)
    with attacker(db) as conn:
        _wipe_tenant(conn)
    (problem,) = _anchor_breaks(db, folder)
    assert problem.startswith("trail deleted: ")
    assert "0 events and 2 instances" in problem
    with db.sessions() as session:
        report = verify(session)
    assert [b.problem.split(":")[0] for b in report.breaks] == ["trail deleted"]


def test_altered_checkpoint_is_refused(
    db: Db, trail: list[int], signed: tuple[bytes, CheckpointFolder]
) -> None:
    """A checkpoint file edited to match a rewritten chain fails its signature."""
    private, folder = signed
    taken = _checkpoint(db, private, folder)
    path = folder.write(taken)
    path.write_text(path.read_text().replace('"seq": 10', '"seq": 7'), encoding="utf-8")
    with attacker(db) as conn:
        _cut_tail(conn, 7)
    (problem,) = _anchor_breaks(db, folder)
    assert "signature does not verify" in problem


WARD, INSPECTOR = "phuong-phu-lien", "cu.van.son"
"""The sample organization's tenant and inspector, for the command line."""
ATTACKS = {
    "rewritten: ": lambda conn: (
        conn.execute(sa.text("update audit_events set actor = 'chairman' where seq = 2")),
        _rehash_from(conn, 2),
    ),
    "tail cut: ": lambda conn: _cut_tail(conn, 4),
    "trail deleted: ": lambda conn: _wipe_tenant(conn, WARD),
}


@pytest.mark.parametrize("named", list(ATTACKS), ids=["rewrite", "cut tail", "wipe"])
def test_audit_verify_names_each_attack(db: Db, engine: Engine, tmp_path: Path, named: str) -> None:
    """`cchc audit verify` exits 1 naming the attack against the signed checkpoint."""
    from typer.testing import CliRunner

    from cchc.cli import app

    author = Actor.of("lan", "author", tenant=WARD)
    for n in range(3):
        with unit_of_work(db.sessions) as session:
            instance_id = engine.create(session, KIND, actor=author, ref=f"REQ-{n}").instance_id
            engine.fire(session, instance_id, "submit", actor=author)
    env = {"CCHC_ORGANIZATION": "", "CCHC_SIGNING_KEY": "", "CCHC_DATABASE_URL": db.url}

    def cchc(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "var"), *args], env=env)
        return result.exit_code, result.stdout + result.stderr

    assert cchc("keys", "init")[0] == 0
    assert cchc("audit", "checkpoint", "--as", INSPECTOR)[0] == 0
    assert cchc("audit", "verify", "--as", INSPECTOR)[0] == 0
    with attacker(db) as conn:
        ATTACKS[named](conn)
    code, out = cchc("audit", "verify", "--as", INSPECTOR)
    assert code == 1, out
    # seq: the checkpoint's head (the three requests' six events and the ward's registration)
    assert re.search(rf"BROKEN tenant '{WARD}': seq \d+: {named}", out), out


def test_deleted_instance_is_named(
    db: Db, trail: list[int], signed: tuple[bytes, CheckpointFolder]
) -> None:
    """An instance deleted (its events left) passes the chain but not the checkpoint's count."""
    private, folder = signed
    _checkpoint(db, private, folder)
    with db.engine.begin() as conn:  # no trigger guards instances
        doomed = conn.execute(sa.text("select min(id) from instances")).scalar_one()
        conn.execute(sa.text("delete from outbox where instance_id = :id"), {"id": doomed})
        conn.execute(sa.text("delete from instances where id = :id"), {"id": doomed})
    with db.sessions() as session:
        assert verify(session).ok
    (problem,) = _anchor_breaks(db, folder)
    assert problem.startswith("instances deleted: ")
    assert "counts 2 instances, the database has 1" in problem
