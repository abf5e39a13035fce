"""Fire-path throughput on SQLite: ``Engine.fire`` against raw Core writes of the same rows.

Usage: ``.venv/bin/python bench/bench_fire.py [--instances N] [--data-dir DIR] [--profile]``

Every section uses its own tenant (so its own audit chain) in one fresh migrated SQLite file
(WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE``, as ``workflows.database.make_engine`` makes
it). The output is a table and, last, one JSON line for machines. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import pstats
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

if importlib.util.find_spec("workflows") is None:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from _common import Measure, data_folder, machine_info, machine_line, remove_sqlite_file
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from cchc.migrations import upgrade
from cchc.runtime import make_workflow_engine
from cchc.vietnam import local_text
from workflows.audit import verify
from workflows.canonical import canonical_json, utc_iso, utcnow
from workflows.database import make_engine, session_factory, unit_of_work
from workflows.engine import Engine
from workflows.registry import Actor
from workflows.schema import Base

KIND = "approval_request"
TRIGGER = "submit"
BATCH = 1000
DB_FILE = "bench_fire.sqlite3"
DATA = {"title": "Đề nghị xác nhận thông tin cư trú", "ward": "Phú Liên"}
TENANTS = {
    "engine_single": "bench-engine-single",
    "engine_batched": "bench-engine-batched",
    "raw_single": "bench-raw-single",
    "raw_batched": "bench-raw-batched",
}
PROFILE_TENANT = "bench-profile"

INSTANCES = Base.metadata.tables["instances"]
EVENTS = Base.metadata.tables["audit_events"]
OUTBOX = Base.metadata.tables["outbox"]
HEADS = Base.metadata.tables["audit_chain_heads"]

RAW_UPDATE_INSTANCE = (
    sa.update(INSTANCES)
    .where(INSTANCES.c.id == sa.bindparam("b_id"), INSTANCES.c.version == sa.bindparam("b_old"))
    .values(
        state=sa.bindparam("b_state"),
        version=sa.bindparam("b_version"),
        data=sa.bindparam("b_data"),
        updated_at=sa.bindparam("b_updated_at"),
    )
)
RAW_INSERT_EVENT = sa.insert(EVENTS)
RAW_INSERT_OUTBOX = sa.insert(OUTBOX)
RAW_UPDATE_HEAD = (
    sa.update(HEADS)
    .where(HEADS.c.tenant == sa.bindparam("b_tenant"))
    .values(seq=sa.bindparam("b_seq"), hash=sa.bindparam("b_hash"))
)


@dataclass(frozen=True)
class Bench:
    """What every section needs: the SQLAlchemy engine, the session factory, the workflow engine."""

    db: sa.Engine
    factory: sessionmaker[Session]
    engine: Engine


# -- set-up ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """``--instances N`` (default 2000), ``--data-dir DIR`` (default: a temporary folder)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000, help="instances per section")
    parser.add_argument("--data-dir", type=Path, help=f"folder for {DB_FILE} (replaced)")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile one extra single-fire pass"
    )
    args = parser.parse_args(argv)
    if args.instances < 1:
        parser.error("--instances must be at least 1")
    return args


def open_bench(folder: Path) -> Bench:
    """A fresh migrated SQLite file in ``folder`` and a workflow engine over the definitions."""
    remove_sqlite_file(folder / DB_FILE)
    db = make_engine(f"sqlite:///{folder / DB_FILE}")
    upgrade(db)
    return Bench(db=db, factory=session_factory(db), engine=make_workflow_engine())


def author(tenant: str) -> Actor:
    """The actor that creates and submits in ``tenant``."""
    return Actor.of("bench-author", "author", tenant=tenant)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- engine sections ---------------------------------------------------------------------------


def create_instances(bench: Bench, tenant: str, n: int) -> tuple[list[int], float]:
    """Create ``n`` draft instances in ``tenant``, 1,000 per transaction; ids and seconds."""
    actor, ids = author(tenant), []
    start = perf_counter()
    for refs in chunks(range(n), BATCH):
        with unit_of_work(bench.factory) as session:
            for i in refs:
                result = bench.engine.create(session, KIND, actor=actor, ref=f"R-{i}", data=DATA)
                ids.append(result.instance_id)
    return ids, perf_counter() - start


def fire_single(bench: Bench, tenant: str, ids: Sequence[int]) -> float:
    """Submit every instance, each fire in its own transaction; seconds."""
    actor = author(tenant)
    start = perf_counter()
    for instance_id in ids:
        with unit_of_work(bench.factory) as session:
            bench.engine.fire(session, instance_id, TRIGGER, actor=actor)
    return perf_counter() - start


def fire_batched(bench: Bench, tenant: str, ids: Sequence[int]) -> float:
    """Submit every instance, 1,000 fires per transaction; seconds."""
    actor = author(tenant)
    start = perf_counter()
    for batch in chunks(ids, BATCH):
        with unit_of_work(bench.factory) as session:
            for instance_id in batch:
                bench.engine.fire(session, instance_id, TRIGGER, actor=actor)
    return perf_counter() - start


# -- raw baseline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawTransition:
    """The parameters of the four statements one transition costs, computed before timing."""

    instance: dict[str, Any]
    event: dict[str, Any]
    outbox: dict[str, Any]
    head: dict[str, Any]


def draft_row(tenant: str, definition_hash: str, i: int, now: Any) -> dict[str, Any]:
    """An ``instances`` row as ``Engine.create`` writes it."""
    return {
        "tenant": tenant,
        "kind": KIND,
        "ref": f"R-{i}",
        "state": "draft",
        "definition_hash": definition_hash,
        "version": 1,
        "data": canonical_json(DATA),
        "created_by": "bench-author",
        "created_at": now,
        "updated_at": now,
    }


def create_event_row(draft: sa.Row[Any], seq: int, now: Any) -> dict[str, Any]:
    """The ``create`` audit event of ``draft``, with a fake hash."""
    return {
        "tenant": draft.tenant,
        "seq": seq,
        "occurred_at": now,
        "actor": "bench-author",
        "role": "author",
        "instance_id": draft.id,
        "kind": KIND,
        "ref": draft.ref,
        "trigger": "create",
        "from_state": None,
        "to_state": "draft",
        "payload": canonical_json(DATA),
        "definition_hash": draft.definition_hash,
        "outcome": "applied",
        "reason": None,
        "prev_hash": f"{seq - 1:064x}",
        "hash": f"{seq:064x}",
    }


def seed_drafts(db: sa.Engine, tenant: str, definition_hash: str, n: int) -> None:
    """Untimed set-up of a raw section: n draft instances, their create events, the chain head."""
    now = utcnow()
    with db.begin() as conn:
        conn.execute(
            sa.insert(INSTANCES), [draft_row(tenant, definition_hash, i, now) for i in range(n)]
        )
    drafts = draft_instances(db, tenant)
    with db.begin() as conn:
        events = [create_event_row(d, seq, now) for seq, d in enumerate(drafts, start=1)]
        conn.execute(sa.insert(EVENTS), events)
        conn.execute(sa.insert(HEADS).values(tenant=tenant, seq=n, hash=f"{n:064x}"))


def chain_position(db: sa.Engine, tenant: str) -> tuple[int, int]:
    """The next free audit event id and the tenant's chain-head seq."""
    with db.connect() as conn:
        last_id = conn.scalar(sa.select(sa.func.max(EVENTS.c.id))) or 0
        seq = conn.scalar(sa.select(HEADS.c.seq).where(HEADS.c.tenant == tenant)) or 0
    return int(last_id) + 1, int(seq)


def draft_instances(db: sa.Engine, tenant: str) -> list[sa.Row[Any]]:
    """The tenant's instances (id, tenant, ref, version, definition hash), oldest first."""
    columns = (
        INSTANCES.c.id,
        INSTANCES.c.tenant,
        INSTANCES.c.ref,
        INSTANCES.c.version,
        INSTANCES.c.definition_hash,
    )
    query = sa.select(*columns).where(INSTANCES.c.tenant == tenant).order_by(INSTANCES.c.id)
    with db.connect() as conn:
        return list(conn.execute(query))


def outbox_context(row: sa.Row[Any], now: Any) -> str:
    """An outbox context shaped like the engine's ``approval_submitted`` one."""
    return canonical_json(
        {
            "kind": KIND,
            "kind_title": "Đề nghị phê duyệt",
            "instance_id": row.id,
            "ref": row.ref,
            "trigger": TRIGGER,
            "source": "draft",
            "dest": "submitted",
            "state_label": "Đã trình, chờ xem xét",
            "actor": "bench-author",
            "role": "author",
            "payload": {},
            "data": {**DATA, "revision": 1},
            "occurred_at": utc_iso(now),
            "occurred_at_local": local_text(now),
        }
    )


def raw_transition(tenant: str, row: sa.Row[Any], event_id: int, seq: int) -> RawTransition:
    """The rows the engine writes for one ``submit``, with a fake hash in place of the chain."""
    now, fake_hash = utcnow(), f"{seq:064x}"
    event = {
        "id": event_id,
        "tenant": tenant,
        "seq": seq,
        "occurred_at": now,
        "actor": "bench-author",
        "role": "author",
        "instance_id": row.id,
        "kind": KIND,
        "ref": row.ref,
        "trigger": TRIGGER,
        "from_state": "draft",
        "to_state": "submitted",
        "payload": "{}",
        "definition_hash": row.definition_hash,
        "outcome": "applied",
        "reason": None,
        "prev_hash": f"{seq - 1:064x}",
        "hash": fake_hash,
    }
    outbox = {
        "tenant": tenant,
        "event_id": event_id,
        "instance_id": row.id,
        "template": "approval_submitted",
        "recipients": '["reviewer"]',
        "context": outbox_context(row, now),
        "dedupe_key": f"{tenant}:{seq}:0",
        "status": "pending",
        "attempts": 0,
        "created_at": now,
    }
    instance = {
        "b_id": row.id,
        "b_old": row.version,
        "b_state": "submitted",
        "b_version": row.version + 1,
        "b_data": canonical_json({**DATA, "revision": 1}),
        "b_updated_at": now,
    }
    head = {"b_tenant": tenant, "b_seq": seq, "b_hash": fake_hash}
    return RawTransition(instance=instance, event=event, outbox=outbox, head=head)


def raw_transitions(db: sa.Engine, tenant: str) -> list[RawTransition]:
    """One prepared ``RawTransition`` per instance of ``tenant``."""
    next_id, seq = chain_position(db, tenant)
    return [
        raw_transition(tenant, row, next_id + i, seq + 1 + i)
        for i, row in enumerate(draft_instances(db, tenant))
    ]


def write_raw(conn: sa.Connection, batch: Sequence[RawTransition]) -> None:
    """The four statements per transition, as one executemany each for the whole batch."""
    conn.execute(RAW_UPDATE_INSTANCE, [t.instance for t in batch])
    conn.execute(RAW_INSERT_EVENT, [t.event for t in batch])
    conn.execute(RAW_INSERT_OUTBOX, [t.outbox for t in batch])
    conn.execute(RAW_UPDATE_HEAD, [t.head for t in batch])


def raw_single(db: sa.Engine, transitions: Sequence[RawTransition]) -> float:
    """Write every transition in its own transaction; seconds."""
    start = perf_counter()
    for transition in transitions:
        with db.begin() as conn:
            write_raw(conn, [transition])
    return perf_counter() - start


def raw_batched(db: sa.Engine, transitions: Sequence[RawTransition]) -> float:
    """Write the transitions 1,000 per transaction, executemany per statement; seconds."""
    start = perf_counter()
    for batch in chunks(transitions, BATCH):
        with db.begin() as conn:
            write_raw(conn, batch)
    return perf_counter() - start


# -- verification and checks -------------------------------------------------------------------


def verify_chains(bench: Bench, tenants: Sequence[str]) -> Measure:
    """Recompute the engine-written chains with ``workflows.audit.verify``; events per second."""
    events = 0
    start = perf_counter()
    with bench.factory() as session:
        for tenant in tenants:
            report = verify(session, tenant=tenant)
            if not report.ok:
                raise SystemExit(f"audit chain broken: {report.breaks[0].describe()}")
            events += report.events
    return Measure("audit verify (engine chains)", events, perf_counter() - start)


def rows_written(db: sa.Engine, tenant: str) -> tuple[int, int, int]:
    """Submitted instances, audit events and outbox rows of ``tenant``."""
    with db.connect() as conn:
        submitted = conn.scalar(
            sa.select(sa.func.count())
            .select_from(INSTANCES)
            .where(INSTANCES.c.tenant == tenant, INSTANCES.c.state == "submitted")
        )
        events = conn.scalar(
            sa.select(sa.func.count()).select_from(EVENTS).where(EVENTS.c.tenant == tenant)
        )
        outbox = conn.scalar(
            sa.select(sa.func.count()).select_from(OUTBOX).where(OUTBOX.c.tenant == tenant)
        )
    return int(submitted or 0), int(events or 0), int(outbox or 0)


def check_same_rows(db: sa.Engine, n: int) -> None:
    """Every section wrote n submitted instances, 2n events (create + submit), n outbox rows."""
    expected = (n, 2 * n, n)
    for tenant in TENANTS.values():
        found = rows_written(db, tenant)
        if found != expected:
            raise SystemExit(f"{tenant} wrote {found}, expected {expected}")


# -- running -----------------------------------------------------------------------------------


def run_engine_sections(bench: Bench, n: int) -> dict[str, Measure]:
    """Create (timed apart) then submit: one fire per transaction, then 1,000 per transaction."""
    ids, create_single = create_instances(bench, TENANTS["engine_single"], n)
    single = fire_single(bench, TENANTS["engine_single"], ids)
    ids, create_batched = create_instances(bench, TENANTS["engine_batched"], n)
    batched = fire_batched(bench, TENANTS["engine_batched"], ids)
    return {
        "engine_create": Measure(
            "engine create, 1,000 per tx", 2 * n, create_single + create_batched
        ),
        "engine_single": Measure("engine fire, 1 per tx", n, single),
        "engine_batched": Measure("engine fire, 1,000 per tx", n, batched),
    }


def run_raw_sections(bench: Bench, n: int) -> dict[str, Measure]:
    """The same rows through SQLAlchemy Core, on draft instances seeded (untimed) the same way."""
    definition_hash = bench.engine.current(KIND).hash
    seed_drafts(bench.db, TENANTS["raw_single"], definition_hash, n)
    single = raw_single(bench.db, raw_transitions(bench.db, TENANTS["raw_single"]))
    seed_drafts(bench.db, TENANTS["raw_batched"], definition_hash, n)
    batched = raw_batched(bench.db, raw_transitions(bench.db, TENANTS["raw_batched"]))
    return {
        "raw_single": Measure("raw Core, 1 per tx", n, single),
        "raw_batched": Measure("raw Core, 1,000 per tx (executemany)", n, batched),
    }


def ratios(measures: dict[str, Measure]) -> dict[str, float]:
    """Engine throughput divided by raw throughput, single and batched."""
    return {
        mode: measures[f"engine_{mode}"].per_second / measures[f"raw_{mode}"].per_second
        for mode in ("single", "batched")
    }


def profile_single_fire(bench: Bench, n: int, top: int = 10) -> str:
    """cProfile an extra single-fire pass on its own tenant; the top entries by cumulative time."""
    ids, _ = create_instances(bench, PROFILE_TENANT, n)
    profiler = cProfile.Profile()
    profiler.runcall(fire_single, bench, PROFILE_TENANT, ids)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# -- printing ----------------------------------------------------------------------------------


def results_table(measures: dict[str, Measure], verified: Measure) -> Table:
    """One row per section: count, seconds, per second, milliseconds each."""
    table = Table(title="Fire path on SQLite (WAL, synchronous=NORMAL)")
    for header in ("section", "count", "seconds", "per s", "ms each"):
        table.add_column(header, justify="left" if header == "section" else "right")
    for m in [*measures.values(), verified]:
        table.add_row(
            m.name, str(m.count), f"{m.seconds:.3f}", f"{m.per_second:,.0f}", f"{m.ms_each:.3f}"
        )
    return table


def print_report(
    console: Console,
    machine: dict[str, Any],
    measures: dict[str, Measure],
    verified: Measure,
    n: int,
) -> None:
    """The machine line, the table, the ratios and the row check."""
    console.print(machine_line(machine))
    console.print(results_table(measures, verified))
    for mode, ratio in ratios(measures).items():
        console.print(
            f"engine / raw, {mode}: {ratio:.2f} of raw throughput "
            f"({1 / ratio:.1f}x the time per transition)"
        )
    console.print(
        f"rows per section: {n} instances submitted, {2 * n} audit events, {n} outbox rows "
        "(same in all four sections)"
    )


def json_line(
    machine: dict[str, Any], measures: dict[str, Measure], verified: Measure, n: int
) -> str:
    """Everything measured, as one JSON object on one line."""
    return json.dumps(
        {
            "bench": "fire",
            "instances": n,
            "batch": BATCH,
            "machine": machine,
            "results": {key: m.as_json() for key, m in measures.items()},
            "ratios": {k: round(v, 3) for k, v in ratios(measures).items()},
            "verify": verified.as_json(),
        },
        ensure_ascii=False,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run every section on a fresh database and print the table, then the JSON line."""
    args = parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    with data_folder(args.data_dir) as folder:
        bench = open_bench(folder)
        try:
            measures = run_engine_sections(bench, args.instances)
            measures.update(run_raw_sections(bench, args.instances))
            check_same_rows(bench.db, args.instances)
            verified = verify_chains(bench, [TENANTS["engine_single"], TENANTS["engine_batched"]])
            machine = machine_info()
            print_report(console, machine, measures, verified, args.instances)
            if args.profile:
                print(profile_single_fire(bench, args.instances).rstrip())
            print(json_line(machine, measures, verified, args.instances), flush=True)
        finally:
            bench.db.dispose()


if __name__ == "__main__":
    main()
