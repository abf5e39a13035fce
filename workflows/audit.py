"""The append-only, hash-chained audit trail: one chain per tenant.

Each event's hash is sha256 over the previous event's hash and the event's own canonical
content, so editing, deleting, reordering or inserting a row breaks the chain at that row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    bindparam,
    create_engine,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflows import channel as audit_channel
from workflows.canonical import canonical_json, sha256_hex, utc_iso
from workflows.database import make_engine
from workflows.progress import Progress
from workflows.schema import AuditEvent, Base, ChainHead, Instance

GENESIS = "0" * 64
"""The ``prev_hash`` of a tenant's first event."""

HASHED_FIELDS = (
    "tenant",
    "seq",
    "occurred_at",
    "actor",
    "role",
    "instance_id",
    "kind",
    "ref",
    "trigger",
    "from_state",
    "to_state",
    "payload",
    "definition_hash",
    "outcome",
    "reason",
)
OPTIONAL_HASHED_FIELDS = ("channel",)
"""Hashed only when set: events written before the field existed (NULL) keep their hash."""


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The hash of an event: sha256 of ``prev_hash``, a newline, and its canonical content
    (``HASHED_FIELDS``, and each of ``OPTIONAL_HASHED_FIELDS`` that is not None)."""
    content = {name: fields[name] for name in HASHED_FIELDS}
    content["occurred_at"] = utc_iso(content["occurred_at"])
    for name in OPTIONAL_HASHED_FIELDS:
        if fields.get(name) is not None:
            content[name] = fields[name]
    return sha256_hex(prev_hash + "\n" + canonical_json(content))


@dataclass(frozen=True)
class AuditRecord:
    """One event of the trail as the engine (or the application) writes it, before it is
    chained: the same record type for an applied change, a refusal and a notification.

    ``append_event`` adds the chain fields (``seq``, ``prev_hash``, ``hash``).
    """

    tenant: str
    occurred_at: datetime
    actor: str
    role: str | None
    instance_id: int | None
    kind: str
    ref: str
    trigger: str
    from_state: str | None
    to_state: str | None
    payload: str
    """Canonical JSON."""
    definition_hash: str
    outcome: str
    """``applied``, ``refused`` or ``notified`` (the application may add its own)."""
    reason: str | None
    """For a refusal: ``<reason code>: <developer text>``."""
    channel: str | None = field(default_factory=audit_channel.current)
    """How the actor reached the system (``workflows.channel``: the web session, the CLI …);
    unless given, the one in force when the record is made. Hashed when set."""

    def fields(self) -> dict[str, Any]:
        """The record as the columns of its row (a new dict)."""
        return {
            "tenant": self.tenant,
            "occurred_at": self.occurred_at,
            "actor": self.actor,
            "role": self.role,
            "instance_id": self.instance_id,
            "kind": self.kind,
            "ref": self.ref,
            "trigger": self.trigger,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "payload": self.payload,
            "definition_hash": self.definition_hash,
            "outcome": self.outcome,
            "reason": self.reason,
            "channel": self.channel,
        }


@dataclass(frozen=True)
class AppendedEvent:
    """Where an appended event landed."""

    id: int
    seq: int
    hash: str


_EVENTS = Base.metadata.tables["audit_events"]
_HEADS = Base.metadata.tables["audit_chain_heads"]
# Statements built once with named parameters: building them per call (ORM entities, literal
# values) cost more than SQLite's own work (bench/README.md).
_SELECT_HEAD = (
    select(_HEADS.c.seq, _HEADS.c.hash)
    .where(_HEADS.c.tenant == bindparam("p_tenant"))
    .with_for_update()
)
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_UPDATE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.tenant == bindparam("p_tenant"))
    .values(seq=bindparam("p_seq"), hash=bindparam("p_hash"))
)


def _lock_head(conn: Connection, tenant: str) -> tuple[int, str]:
    """The tenant's chain head, locked until the transaction ends (created on first use)."""
    row = conn.execute(_SELECT_HEAD, {"p_tenant": tenant}).first()
    if row is None:
        maker = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(
            maker(_HEADS).values(tenant=tenant, seq=0, hash=GENESIS).on_conflict_do_nothing()
        )
        row = conn.execute(_SELECT_HEAD, {"p_tenant": tenant}).one()
    return int(row.seq), str(row.hash)


def append_event(session: Session, record: AuditRecord) -> AppendedEvent:
    """Append ``record`` to its tenant's chain, in the caller's transaction.

    On PostgreSQL the chain-head row is locked (``SELECT … FOR UPDATE``), so concurrent appends
    for one tenant serialise; SQLite's ``BEGIN IMMEDIATE`` already gives one writer at a time.
    """
    conn = session.connection()
    fields = record.fields()
    seq, prev_hash = _lock_head(conn, record.tenant)
    fields["seq"] = seq + 1
    fields["prev_hash"] = prev_hash
    fields["hash"] = event_hash(prev_hash, fields)
    event_id = conn.execute(_INSERT_EVENT, fields).scalar_one()
    conn.execute(
        _UPDATE_HEAD,
        {"p_tenant": record.tenant, "p_seq": fields["seq"], "p_hash": fields["hash"]},
    )
    return AppendedEvent(id=int(event_id), seq=fields["seq"], hash=fields["hash"])


_HELD = "workflows.audit.held_refusals"
"""The key in ``Session.info`` under which refusals wait for ``unit_of_work`` to append them."""


def hold_refusal(session: Session, record: AuditRecord) -> None:
    """Keep a refusal for ``unit_of_work`` to append: after the rest of a failed unit of work
    was rolled back, in a transaction of its own; or with the rest when the caller handled the
    refusal and the unit of work commits."""
    session.info.setdefault(_HELD, []).append(record)


def held_refusal_count(session: Session) -> int:
    """How many refusals are held on ``session``."""
    return len(session.info.get(_HELD, ()))


def take_held_refusals(session: Session) -> list[AuditRecord]:
    """The refusals held on ``session``, in order; they are no longer held (the caller
    appends them)."""
    held: list[AuditRecord] = session.info.pop(_HELD, [])
    return held


@dataclass(frozen=True)
class Break:
    """The first place a tenant's chain does not verify."""

    tenant: str
    event_id: int | None
    seq: int | None
    problem: str

    def describe(self) -> str:
        """One line naming the event and what is wrong with it."""
        if self.event_id:
            where = f"event #{self.event_id} (seq {self.seq}): "
        else:
            where = "" if self.seq is None else f"seq {self.seq}: "
        return f"tenant {self.tenant!r}: {where}{self.problem}"


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of verifying every chain: how many events, and the first break per tenant."""

    events: int
    tenants: int
    breaks: tuple[Break, ...]

    @property
    def ok(self) -> bool:
        """True when every chain verified."""
        return not self.breaks


def verify(
    session: Session,
    tenant: str | None = None,
    batch: int = 20000,
    workers: int = 1,
    progress: Progress | None = None,
) -> VerifyReport:
    """Recompute every chain (or one tenant's) and report the first broken event of each.

    With ``workers > 1`` the tenants' chains are recomputed in that many processes at once
    (each opens its own connection to the session's database); one chain is always one process.
    ``progress`` is told the events read so far out of the events stored (after each batch,
    or each tenant's chain with ``workers > 1``).
    """
    tenants_q = select(ChainHead.tenant).order_by(ChainHead.tenant)
    event_tenants = select(AuditEvent.tenant).distinct()
    if tenant is not None:
        tenants_q = tenants_q.where(ChainHead.tenant == tenant)
        event_tenants = event_tenants.where(AuditEvent.tenant == tenant)
    tenants = sorted(set(session.scalars(tenants_q)) | set(session.scalars(event_tenants)))
    counter = _Counter(session, tenant, progress) if progress is not None else None
    if workers > 1 and len(tenants) > 1:
        url = session.get_bind().engine.url.render_as_string(hide_password=False)
        results = _verify_in_processes(url, tenants, batch, workers, counter)
    else:
        results = [verify_tenant(session, name, batch, counter) for name in tenants]
    breaks = tuple(broken for _, broken in results if broken is not None)
    breaks += tuple(_wiped(session, tenant, set(tenants)))
    return VerifyReport(events=sum(n for n, _ in results), tenants=len(tenants), breaks=breaks)


def _wiped(session: Session, tenant: str | None, chained: set[str]) -> Iterator[Break]:
    """Tenants with instances but neither events nor a chain head: their trail was deleted.

    Every instance is created by an audited event, so an instance without a trail means the
    tenant's events and chain head were removed (with the append-only triggers dropped).
    """
    query = select(Instance.tenant, func.count()).group_by(Instance.tenant)
    if tenant is not None:
        query = query.where(Instance.tenant == tenant)
    for name, instances in session.execute(query.order_by(Instance.tenant)):
        if name not in chained:
            yield Break(
                name,
                None,
                None,
                f"trail deleted: {instances} instances but no audit "
                "events and no chain head (the tenant's whole trail was deleted)",
            )


class _Counter:
    """Events read so far, out of the events stored, told to a ``Progress``."""

    def __init__(self, session: Session, tenant: str | None, progress: Progress) -> None:
        query = select(func.count()).select_from(AuditEvent)
        if tenant is not None:
            query = query.where(AuditEvent.tenant == tenant)
        self.total = int(session.scalar(query) or 0)
        self.done = 0
        self.progress = progress
        progress(0, self.total)

    def add(self, events: int) -> None:
        """``events`` more were read."""
        self.done += events
        self.progress(self.done, max(self.total, self.done))


def _verify_in_processes(
    url: str, tenants: Sequence[str], batch: int, workers: int, counter: _Counter | None = None
) -> list[tuple[int, Break | None]]:
    """``verify_tenant`` of every tenant, spread over ``workers`` fresh processes, in order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Without progress each process takes one share of the tenants; with it, one tenant at a
    # time, so that the progress moves as each chain is done.
    shares = (
        [list(tenants[i::workers]) for i in range(workers)]
        if counter is None
        else [[name] for name in tenants]
    )
    context = multiprocessing.get_context("spawn")  # nothing inherited: no shared connections
    by_tenant: dict[str, tuple[int, Break | None]] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_verify_share, url, share, batch) for share in shares]
        for future in as_completed(futures):
            for name, result in future.result():
                by_tenant[name] = result
                if counter is not None:
                    counter.add(result[0])
    return [by_tenant[name] for name in tenants]


def _verify_share(
    url: str, tenants: Sequence[str], batch: int
) -> list[tuple[str, tuple[int, Break | None]]]:
    """In a worker process: verify ``tenants`` on a connection of its own.

    On SQLite a plain (deferred) connection: ``make_engine``'s ``BEGIN IMMEDIATE`` would take
    the write lock, so the workers would wait for each other (and block every writer).
    """
    engine = create_engine(url) if url.startswith("sqlite") else make_engine(url)
    try:
        with Session(engine) as session:
            return [(name, verify_tenant(session, name, batch)) for name in tenants]
    finally:
        engine.dispose()


# --- the verification fast path -----------------------------------------------------------------
#
# ``event_hash`` builds a dict and runs ``json.dumps(sort_keys=True)`` per event. Verification
# reads the columns as they are stored (strings, integers, NULL), so it writes the same canonical
# JSON directly: the keys in sorted order, each string through the very escaping function
# ``json.dumps(ensure_ascii=False)`` uses, integers as ``int.__repr__``, NULL as ``null``. The
# bytes are identical (tests/test_audit_verify.py appends with ``event_hash`` and verifies), at a
# fraction of the cost. The time is formatted by the database or from SQLite's stored text.

_ENCODE = json.encoder.encode_basestring  # the C escaper json.dumps(ensure_ascii=False) uses
_VERIFY_COLUMNS = (
    "seq",
    "id",
    "prev_hash",
    "hash",
    "actor",
    "channel",
    "definition_hash",
    "from_state",
    "instance_id",
    "kind",
    "outcome",
    "payload",
    "reason",
    "ref",
    "role",
    "to_state",
    "trigger",
)
"""Every hashed column but the tenant (equal to the one asked for) and the time (formatted)."""


def _verify_statement(dialect: str) -> Select[Any]:
    """The chain in seq order after ``p_after``, ``p_limit`` rows, time as ``utc_iso`` text.

    PostgreSQL formats the time itself. SQLite gives what SQLAlchemy stored: naive UTC text
    ``YYYY-MM-DD HH:MM:SS.ffffff``, which ``verify_tenant`` rewrites; any other form is read
    the slow way (``_stored_time``).
    """
    time: Any
    if dialect == "postgresql":
        time = func.to_char(
            func.timezone("UTC", _EVENTS.c.occurred_at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
        )
    else:  # the stored text, rewritten by ``verify_tenant`` (cheaper than in SQL)
        time = type_coerce(_EVENTS.c.occurred_at, String)
    return (
        select(*(_EVENTS.c[name] for name in _VERIFY_COLUMNS), time.label("time"))
        .where(_EVENTS.c.tenant == bindparam("p_tenant"), _EVENTS.c.seq > bindparam("p_after"))
        .order_by(_EVENTS.c.seq)
        .limit(bindparam("p_limit"))
    )


_VERIFY = {name: _verify_statement(name) for name in ("postgresql", "sqlite")}


def _stored_time(session: Session, event_id: int) -> str:
    """The hashed form of an event's time, read through the ORM (the slow path)."""
    stored = session.execute(select(AuditEvent.occurred_at).where(AuditEvent.id == event_id))
    return utc_iso(stored.scalar_one())


def _chain(
    session: Session, tenant: str, batch: int, counter: _Counter | None = None
) -> Iterator[tuple[Any, ...]]:
    """The tenant's events in seq order, as plain tuples (``_VERIFY_COLUMNS`` and the time).

    Read through the driver's cursor on the session's own connection (and transaction): a
    SQLAlchemy Row per event cost a fifth of the verification time.
    """
    conn = session.connection()
    statement = _VERIFY["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    compiled = statement.compile(dialect=conn.dialect)
    cursor = conn.connection.cursor()
    try:
        after = 0
        while True:
            params = {**compiled.params, "p_tenant": tenant, "p_after": after, "p_limit": batch}
            if compiled.positiontup is not None:  # SQLite's qmark style
                cursor.execute(compiled.string, [params[name] for name in compiled.positiontup])
            else:  # psycopg's named style
                cursor.execute(compiled.string, params)
            rows = cursor.fetchall()
            if not rows:
                return
            yield from rows
            if counter is not None:
                counter.add(len(rows))
            after = rows[-1][0]
    finally:
        cursor.close()


def verify_tenant(
    session: Session, tenant: str, batch: int = 20000, counter: _Counter | None = None
) -> tuple[int, Break | None]:
    """Recompute one tenant's chain: (events read, the first break or None)."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    sha256 = hashlib.sha256
    enc = _ENCODE
    tenant_json = enc(tenant)
    stored_text = session.get_bind().dialect.name != "postgresql"
    for (
        seq,
        event_id,
        stored_prev,
        stored_hash,
        actor,
        channel,
        definition_hash,
        from_state,
        instance_id,
        kind,
        outcome,
        payload,
        reason,
        ref,
        role,
        to_state,
        trigger,
        raw_time,
    ) in _chain(session, tenant, batch, counter):
        count += 1
        time = raw_time
        if stored_text:
            time = (
                f"{raw_time[:10]}T{raw_time[11:]}Z"
                if len(raw_time) == 26 and raw_time[10] == " "
                else _stored_time(session, event_id)
            )
        if seq != expected_seq:
            gap = "missing" if seq > expected_seq else "out of order"
            return count, Break(
                tenant, event_id, seq, f"expected seq {expected_seq} (an event is {gap})"
            )
        if stored_prev != prev_hash:
            return count, Break(
                tenant,
                event_id,
                seq,
                "prev_hash does not match the previous event (deleted, inserted or reordered row)",
            )
        text = (
            f'{prev_hash}\n{{"actor":{enc(actor)},'
            + ("" if channel is None else f'"channel":{enc(channel)},')
            + f'"definition_hash":{enc(definition_hash)},'
            f'"from_state":{"null" if from_state is None else enc(from_state)},'
            f'"instance_id":{"null" if instance_id is None else instance_id},'
            f'"kind":{enc(kind)},"occurred_at":"{time}",'
            f'"outcome":{enc(outcome)},'
            f'"payload":{enc(payload)},"reason":{"null" if reason is None else enc(reason)},'
            f'"ref":{enc(ref)},"role":{"null" if role is None else enc(role)},'
            f'"seq":{seq},"tenant":{tenant_json},'
            f'"to_state":{"null" if to_state is None else enc(to_state)},'
            f'"trigger":{enc(trigger)}}}'
        )
        if sha256(text.encode("utf-8")).hexdigest() != stored_hash:
            return count, Break(
                tenant, event_id, seq, "content does not match its hash (the row was edited)"
            )
        prev_hash, expected_seq = stored_hash, expected_seq + 1
    head = session.execute(select(ChainHead).where(ChainHead.tenant == tenant)).scalar_one_or_none()
    if head is None:
        return count, Break(tenant, None, None, "events exist but the chain head is missing")
    if head.seq != expected_seq - 1 or head.hash != prev_hash:
        return count, Break(
            tenant,
            None,
            head.seq,
            f"chain head says seq {head.seq} but the chain ends at seq "
            f"{expected_seq - 1} (events at the end were deleted)",
        )
    return count, None


@dataclass(frozen=True)
class AuditFilter:
    """What ``cchc audit query`` can ask for; every field is optional."""

    tenant: str | None = None
    instance_id: int | None = None
    kind: str | None = None
    actor: str | None = None
    trigger: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000


def query_events(session: Session, f: AuditFilter) -> Sequence[AuditEvent]:
    """Events matching ``f``, oldest first."""
    q: Select[tuple[AuditEvent]] = select(AuditEvent)
    for column, value in (
        (AuditEvent.tenant, f.tenant),
        (AuditEvent.instance_id, f.instance_id),
        (AuditEvent.kind, f.kind),
        (AuditEvent.actor, f.actor),
        (AuditEvent.trigger, f.trigger),
        (AuditEvent.outcome, f.outcome),
    ):
        if value is not None:
            q = q.where(column == value)
    if f.since is not None:
        q = q.where(AuditEvent.occurred_at >= f.since)
    if f.until is not None:
        q = q.where(AuditEvent.occurred_at < f.until)
    return session.scalars(q.order_by(AuditEvent.occurred_at, AuditEvent.id).limit(f.limit)).all()
