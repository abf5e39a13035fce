"""The SQL of the fire path, built once with named parameters and run on the session's connection.

Building ORM statements with literal values on every call cost more than SQLite's own work
(bench/README.md); these statements are compiled once and cached by SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from workflows.schema import Base

_INSTANCES = Base.metadata.tables["instances"]
_DEFINITIONS = Base.metadata.tables["workflow_definitions"]
_KEYS = Base.metadata.tables["idempotency_keys"]
_OUTBOX = Base.metadata.tables["outbox"]
_EVENTS = Base.metadata.tables["audit_events"]

_LOAD = select(_INSTANCES).where(_INSTANCES.c.id == bindparam("p_id"))
_REF = select(_INSTANCES.c.id).where(
    _INSTANCES.c.tenant == bindparam("p_tenant"),
    _INSTANCES.c.kind == bindparam("p_kind"),
    _INSTANCES.c.ref == bindparam("p_ref"),
)
_INSERT = insert(_INSTANCES).returning(_INSTANCES.c.id)
_MOVE = (
    update(_INSTANCES)
    .where(_INSTANCES.c.id == bindparam("p_id"), _INSTANCES.c.version == bindparam("p_version"))
    .values(
        state=bindparam("p_state"),
        version=bindparam("p_new_version"),
        data=bindparam("p_data"),
        updated_at=bindparam("p_now"),
    )
)
_DEFINITION_BODY = select(_DEFINITIONS.c.body).where(_DEFINITIONS.c.hash == bindparam("p_hash"))
_VERSION_HASHES = select(_DEFINITIONS.c.hash).where(
    _DEFINITIONS.c.kind == bindparam("p_kind"), _DEFINITIONS.c.version == bindparam("p_version")
)
_KEY = select(_KEYS.c.request_hash, _KEYS.c.result).where(
    _KEYS.c.tenant == bindparam("p_tenant"), _KEYS.c.key == bindparam("p_key")
)
_INSERT_KEY = insert(_KEYS)
_INSERT_OUTBOX = insert(_OUTBOX)


def load_instance(conn: Connection, instance_id: int) -> Row[Any] | None:
    """Every column of one instance, or None."""
    return conn.execute(_LOAD, {"p_id": instance_id}).first()


def instance_with_ref(conn: Connection, tenant: str, kind: str, ref: str) -> int | None:
    """The id of the instance with this tenant, kind and ref, if one exists."""
    return conn.execute(_REF, {"p_tenant": tenant, "p_kind": kind, "p_ref": ref}).scalar()


def insert_instance(
    conn: Connection,
    *,
    tenant: str,
    kind: str,
    ref: str,
    state: str,
    definition_hash: str,
    data: str,
    created_by: str,
    now: datetime,
) -> int:
    """Insert a new instance (version 1, created and updated ``now``); returns its id."""
    values = {
        "tenant": tenant,
        "kind": kind,
        "ref": ref,
        "state": state,
        "definition_hash": definition_hash,
        "version": 1,
        "data": data,
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
    }
    return int(conn.execute(_INSERT, values).scalar_one())


def move(
    conn: Connection, instance_id: int, version: int, state: str, data: str, now: datetime
) -> bool:
    """Set state and data if the instance is still at ``version``; False when it is not."""
    result = conn.execute(
        _MOVE,
        {
            "p_id": instance_id,
            "p_version": version,
            "p_state": state,
            "p_new_version": version + 1,
            "p_data": data,
            "p_now": now,
        },
    )
    return result.rowcount == 1


def definition_body(conn: Connection, definition_hash: str) -> str | None:
    """The stored canonical JSON of a definition version, if stored."""
    return conn.execute(_DEFINITION_BODY, {"p_hash": definition_hash}).scalar()


def definition_hashes(conn: Connection, kind: str, version: int) -> list[str]:
    """The hashes stored under a kind and version (one, unless stored before this was checked)."""
    return list(conn.execute(_VERSION_HASHES, {"p_kind": kind, "p_version": version}).scalars())


@dataclass(frozen=True)
class DefinitionRow:
    """A definition version as stored: its content hash, kind, version and canonical body."""

    hash: str
    kind: str
    version: int
    body: str
    registered_at: datetime


def store_definition(conn: Connection, row: DefinitionRow) -> None:
    """Store a definition version, once: a version stored meanwhile by another process (two
    wards creating their first instance of a kind at once) is left as it is; its hash is its
    content, so both rows would be the same."""
    maker = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    values = {
        "hash": row.hash,
        "kind": row.kind,
        "version": row.version,
        "body": row.body,
        "registered_at": row.registered_at,
    }
    conn.execute(maker(_DEFINITIONS).values(**values).on_conflict_do_nothing())


def idempotency_record(conn: Connection, tenant: str, key: str) -> Row[Any] | None:
    """``(request_hash, result)`` stored under an idempotency key, if any."""
    return conn.execute(_KEY, {"p_tenant": tenant, "p_key": key}).first()


def store_idempotency(
    conn: Connection,
    *,
    tenant: str,
    key: str,
    request_hash: str,
    result: str,
    now: datetime,
) -> None:
    """Remember the result (canonical JSON) of a request made with an idempotency key."""
    values = {
        "tenant": tenant,
        "key": key,
        "request_hash": request_hash,
        "result": result,
        "created_at": now,
    }
    conn.execute(_INSERT_KEY, values)


_OUTBOX_KEY = select(_OUTBOX.c.id).where(_OUTBOX.c.dedupe_key == bindparam("p_key"))


def outbox_exists(conn: Connection, dedupe_key: str) -> bool:
    """Whether an outbox row with this dedupe key was written."""
    return conn.execute(_OUTBOX_KEY, {"p_key": dedupe_key}).first() is not None


def insert_outbox(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert outbox rows (one executemany)."""
    if rows:
        conn.execute(_INSERT_OUTBOX, list(rows))


_FIRED_BY = (
    select(_EVENTS.c.trigger, _EVENTS.c.actor)
    .where(
        _EVENTS.c.instance_id == bindparam("p_id"),
        _EVENTS.c.outcome == "applied",
        _EVENTS.c.trigger.in_(bindparam("p_triggers", expanding=True)),
    )
    .order_by(_EVENTS.c.seq)
)


def last_fired_by(conn: Connection, instance_id: int, triggers: Sequence[str]) -> dict[str, str]:
    """Who last fired each of ``triggers`` on the instance (from its applied audit events)."""
    rows = conn.execute(_FIRED_BY, {"p_id": instance_id, "p_triggers": list(triggers)})
    return {row.trigger: row.actor for row in rows}
