"""Audit queries and verification over a million-event trail, on SQLite and PostgreSQL.

Usage: ``.venv/bin/python bench/bench_audit.py [--backend sqlite|postgresql|both]
[--events N] [--tenants N] [--queries N] [--data-dir DIR [--reuse]] [--pg-url URL]``

The trail is generated in bulk: for each of ``--tenants`` wards (default 114) real instances
(a plan, 40 tasks, one assessment per sub-criterion of the sample index set, 3 evidence files
per sub-criterion) and a year of events on them (creations, transitions of their definitions,
refusals, reminders, out-of-scope reads), ``--events`` in all (default 1,000,000), hashed with
``workflows.audit.event_hash`` into valid chains and inserted with executemany in large
transactions; plus two score runs per ward. SQLite: a file in ``--data-dir`` (default a
temporary folder). PostgreSQL: a new, uniquely named schema, dropped at the end.

Then each inspector question is asked ``--queries`` times (default 100) about a random ward
and subject, through the functions ``cchc audit history`` uses (``cchc.inspection.history``),
each in a new session: a sub-criterion's history, a unit's month, a task's history, a person's
quarter, and ``workflows.audit.query_events`` by actor. It prints p50 / p95 / max in ms, then
``workflows.audit.verify`` over every chain in events per second, and one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

if importlib.util.find_spec("cchc") is None:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from _common import data_folder, machine_info, machine_line, remove_sqlite_file
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from cchc.indexset.loader import load_index_set
from cchc.inspection import history as inspection
from cchc.migrations import upgrade
from cchc.organization.model import load_organization
from cchc.runtime import make_workflow_engine
from cchc.tables import Score
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import default_index_set, default_organization
from workflows.audit import GENESIS, AuditFilter, event_hash, query_events, verify
from workflows.canonical import canonical_json
from workflows.database import make_engine, session_factory, unit_of_work
from workflows.schema import Base

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PLAN = "KH-CCHC-2025"
TASKS = 40
EVIDENCE_PER_CRITERION = 3
YEAR_START = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)
YEAR_END = datetime(2025, 12, 31, 10, 0, tzinfo=UTC)
FLUSH_EVENTS = 100_000

EVENTS = Base.metadata.tables["audit_events"]
INSTANCES = Base.metadata.tables["instances"]
HEADS = Base.metadata.tables["audit_chain_heads"]
SCORES = Score.__table__

console = Console(width=150)


# --- generating the trail -----------------------------------------------------------------------


class City:
    """The reference data every ward shares: units, people by role, sub-criteria, definitions."""

    def __init__(self) -> None:
        self.engine = make_workflow_engine()
        roles = set(self.engine.definitions.roles.roles)
        self.org = load_organization(default_organization(), known_roles=roles)
        self.units = [u.code for u in self.org.units]
        self.index_set = load_index_set(default_index_set(), known_units=set(self.units))
        self.subs = list(self.index_set.sub_criteria())
        self.people = [p.id for p in self.org.people]
        self.by_role: dict[tuple[str, str | None], list[str]] = {}
        for p in self.org.people:
            for role in p.roles:
                self.by_role.setdefault((role, p.unit), []).append(p.id)
                self.by_role.setdefault((role, None), []).append(p.id)
        self.members = {u: [p.id for p in self.org.members(u)] for u in self.units}
        self.hashes: dict[str, str] = {}
        """Kind → the hash of its registered definition version."""
        self.transitions = {
            kind: list(self.engine.current(kind).definition.transitions)
            for kind in ("plan", "task", "assessment", "evidence")
        }

    def actor(self, rng: random.Random, role: str, unit: str | None) -> str:
        """Someone holding ``role`` (of ``unit`` when the role is a unit's)."""
        people = self.by_role.get((role, unit)) or self.by_role.get((role, None)) or self.people
        return rng.choice(people)


def _instances(city: City, tenant: str, rng: random.Random) -> list[dict[str, Any]]:
    """The ward's plan, tasks, assessments and evidence as instance values (ids given later)."""
    rows: list[dict[str, Any]] = [
        {"kind": "plan", "ref": PLAN, "owner": None, "data": {"title": "Kế hoạch CCHC năm 2025"}}
    ]
    for n in range(1, TASKS + 1):
        code = f"NV-{n:02d}"
        owner = city.units[n % len(city.units)]
        criteria = sorted({rng.choice(city.subs).code for _ in range(rng.randint(1, 2))})
        rows.append(
            {
                "kind": "task",
                "ref": f"{PLAN}/{code}",
                "owner": owner,
                "data": {
                    "plan": PLAN,
                    "code": code,
                    "title": f"Nhiệm vụ {n}",
                    "owner_unit": owner,
                    "criteria": criteria,
                },
            }
        )
    for sub in city.subs:
        rows.append(
            {
                "kind": "assessment",
                "ref": f"{PLAN}/TC-{sub.code}",
                "owner": sub.owner_unit,
                "data": {
                    "plan": PLAN,
                    "code": sub.code,
                    "title": sub.title,
                    "owner_unit": sub.owner_unit,
                    "max_points": str(sub.max_points),
                },
            }
        )
        for k in range(1, EVIDENCE_PER_CRITERION + 1):
            sha = hashlib.sha256(f"{tenant}/{sub.code}/{k}".encode()).hexdigest()
            target = f"criterion:{sub.code}"
            rows.append(
                {
                    "kind": "evidence",
                    "ref": f"{PLAN}/{target}/{sha[:16]}",
                    "owner": sub.owner_unit,
                    "data": {
                        "plan": PLAN,
                        "target": target,
                        "owner_unit": sub.owner_unit,
                        "sha256": sha,
                        "original_name": f"minh-chung-{k}.pdf",
                        "version": 1,
                    },
                }
            )
    return rows


def _event(
    city: City, rng: random.Random, tenant: str, item: dict[str, Any], when: datetime
) -> dict[str, Any]:
    """A random plausible event on ``item``: a transition, a refusal, a reminder or a read."""
    roll = rng.random()
    kind, owner = item["kind"], item["owner"]
    base = {
        "tenant": tenant,
        "occurred_at": when,
        "instance_id": item["id"],
        "kind": kind,
        "ref": item["ref"],
        "definition_hash": city.hashes[kind],
        "reason": None,
    }
    if roll < 0.01:  # an out-of-scope read, refused
        unit = rng.choice(city.units)
        return {
            **base,
            "actor": city.actor(rng, "unit_official", unit),
            "role": "unit_official",
            "instance_id": None,
            "kind": "access",
            "ref": f"history of unit {owner or unit}",
            "trigger": "read",
            "from_state": None,
            "to_state": None,
            "payload": "{}",
            "definition_hash": "",
            "outcome": "refused",
            "reason": "not_permitted: may not read another unit's history",
        }
    if kind == "task" and roll < 0.25:  # a reminder
        return {
            **base,
            "actor": "tran.van.minh",
            "role": "admin",
            "trigger": "notify:task_reminder",
            "from_state": "in_progress",
            "to_state": "in_progress",
            "payload": canonical_json({"days_before": rng.choice([7, 3, 1])}),
            "outcome": "notified",
        }
    t = rng.choice(city.transitions[kind])
    role = rng.choice(t.roles)
    payload: dict[str, Any] = {}
    if kind == "evidence" and t.trigger in inspection.REVIEW_TRIGGERS:
        payload = {"sha256": item["data"]["sha256"], "reason": "Đã xem xét nội dung tài liệu"}
    elif "reason" in t.requires:
        payload = {"reason": "Cần bổ sung, hoàn thiện theo hướng dẫn"}
    elif "points" in t.requires:
        payload = {"points": "1.5"}
    event = {
        **base,
        "actor": city.actor(rng, role, owner),
        "role": role,
        "trigger": t.trigger,
        "from_state": rng.choice(t.source),
        "to_state": t.dest,
        "payload": canonical_json(payload),
        "outcome": "applied",
    }
    if roll > 0.96:
        why = f"not_permitted: {event['actor']} may not fire {t.trigger!r}"
        event.update(to_state=None, outcome="refused", reason=why)
    return event


def generate(db: Engine, city: City, tenants: int, events: int, seed: int = 5) -> None:
    """Write the whole trail: instances, chains, chain heads and score runs of every ward."""
    rng = random.Random(seed)
    next_instance = next_event = 1
    pending: dict[str, list[dict[str, Any]]] = {"instances": [], "events": [], "heads": []}
    pending["scores"] = []
    per_tenant = [events // tenants + (1 if t < events % tenants else 0) for t in range(tenants)]
    span = (YEAR_END - YEAR_START).total_seconds()
    initial_of = {
        kind: city.engine.current(kind).definition.initial_state.name for kind in city.transitions
    }
    for t, count in enumerate(per_tenant):
        tenant = f"ward-{t + 1:03d}"
        items = _instances(city, tenant, rng)
        for item in items:
            item["id"], next_instance = next_instance, next_instance + 1
        creates = [(YEAR_START + timedelta(minutes=i), item, True) for i, item in enumerate(items)]
        rest = count - len(creates)
        weights = [3 if i["kind"] == "task" else 1 for i in items]
        chosen = rng.choices(items, weights=weights, k=max(rest, 0))
        later = sorted(YEAR_START + timedelta(seconds=600 + rng.random() * span) for _ in chosen)
        timeline = creates[:count] + [(w, i, False) for w, i in zip(later, chosen, strict=True)]
        prev, states, versions = GENESIS, {}, {}
        for seq, (when, item, is_create) in enumerate(timeline, 1):
            if is_create:
                initial = initial_of[item["kind"]]
                actor = city.actor(rng, "focal_official", None)
                fields = {
                    "tenant": tenant,
                    "occurred_at": when,
                    "actor": actor,
                    "role": "focal_official",
                    "instance_id": item["id"],
                    "kind": item["kind"],
                    "ref": item["ref"],
                    "trigger": "create",
                    "from_state": None,
                    "to_state": initial,
                    "payload": canonical_json(item["data"]),
                    "definition_hash": city.hashes[item["kind"]],
                    "outcome": "applied",
                    "reason": None,
                }
            else:
                fields = _event(city, rng, tenant, item, when)
            if fields["outcome"] == "applied" and fields["instance_id"] is not None:
                states[item["id"]] = fields["to_state"]
                versions[item["id"]] = versions.get(item["id"], 0) + 1
            fields["seq"] = seq
            fields["prev_hash"] = prev
            fields["hash"] = prev = event_hash(prev, fields)
            fields["id"], next_event = next_event, next_event + 1
            pending["events"].append(fields)
        pending["heads"].append({"tenant": tenant, "seq": len(timeline), "hash": prev})
        for item in items:
            pending["instances"].append(
                {
                    "id": item["id"],
                    "tenant": tenant,
                    "kind": item["kind"],
                    "ref": item["ref"],
                    "state": states.get(item["id"], initial_of[item["kind"]]),
                    "definition_hash": city.hashes[item["kind"]],
                    "version": versions.get(item["id"], 1),
                    "data": canonical_json(item["data"]),
                    "created_by": "nguyen.thi.lan",
                    "created_at": YEAR_START,
                    "updated_at": YEAR_END,
                }
            )
        for run in range(2):
            computed = datetime(2025, 6 + 6 * run, 28, 3, 0, tzinfo=UTC)
            run_id = hashlib.sha256(f"{tenant}/run/{run}".encode()).hexdigest()
            pending["scores"].extend(
                {
                    "tenant": tenant,
                    "plan": PLAN,
                    "run_id": run_id,
                    "index_set": "par-2025",
                    "index_set_hash": "0" * 64,
                    "code": sub.code,
                    "owner_unit": sub.owner_unit,
                    "rule": "{}",
                    "inputs": "{}",
                    "points": sub.max_points,
                    "max_points": sub.max_points,
                    "explanation": "Đạt tối đa",
                    "outside_base": False,
                    "computed_at": computed,
                }
                for sub in city.subs
            )
        if len(pending["events"]) >= FLUSH_EVENTS or t == tenants - 1:
            _flush(db, pending)
            console.print(f"  … {t + 1}/{tenants} wards, {next_event - 1:,} events", style="dim")
    if db.dialect.name == "postgresql":
        with db.begin() as conn:
            for table in ("instances", "audit_events", "scores"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            conn.execute(sa.text("ANALYZE"))
    else:
        with db.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def _flush(db: Engine, pending: dict[str, list[dict[str, Any]]]) -> None:
    """One transaction: every pending row, one executemany per table."""
    with db.begin() as conn:
        for table, key in (
            (INSTANCES, "instances"),
            (EVENTS, "events"),
            (HEADS, "heads"),
            (SCORES, "scores"),
        ):
            if pending[key]:
                conn.execute(sa.insert(table), pending[key])
                pending[key] = []


# --- measuring ----------------------------------------------------------------------------------


def _timed(
    db: Engine, repeat: int, ask: Callable[[Any, random.Random], int], seed: int
) -> tuple[list[float], list[float], float]:
    """Wall and CPU milliseconds of each of ``repeat`` questions (each in a new session), and
    the mean number of rows returned. CPU time is this process's: all of it on SQLite, the
    client's share on PostgreSQL."""
    rng = random.Random(seed)
    sessions = session_factory(db)
    times, cpu, rows = [], [], []
    for _ in range(repeat):
        start, start_cpu = perf_counter(), process_time()
        with sessions() as session:
            rows.append(ask(session, rng))
        times.append(1000 * (perf_counter() - start))
        cpu.append(1000 * (process_time() - start_cpu))
    return times, cpu, statistics.mean(rows)


def questions(city: City, tenants: int) -> dict[str, Callable[[Any, random.Random], int]]:
    """The inspector's questions, each about a random ward and subject."""
    labels = inspection.Labels.of(city.engine.definitions)

    def ward(rng: random.Random) -> str:
        return f"ward-{rng.randint(1, tenants):03d}"

    def month(rng: random.Random) -> tuple[datetime, datetime]:
        m = rng.randint(1, 12)
        start = datetime(2025, m, 1, tzinfo=LOCAL_TZ)
        end = datetime(2025 + m // 12, m % 12 + 1, 1, tzinfo=LOCAL_TZ)
        return start, end

    def criterion(session: Any, rng: random.Random) -> int:
        subject = inspection.find_criterion(session, ward(rng), PLAN, rng.choice(city.subs).code)
        return len(inspection.history(session, subject, labels).rows)

    def unit_month(session: Any, rng: random.Random) -> int:
        unit = rng.choice(city.units)
        subject = inspection.find_unit(session, ward(rng), unit, city.members[unit], title=unit)
        since, until = month(rng)
        return len(inspection.history(session, subject, labels, since=since, until=until).rows)

    def task(session: Any, rng: random.Random) -> int:
        code = f"NV-{rng.randint(1, TASKS):02d}"
        subject = inspection.find_task(session, ward(rng), PLAN, code)
        return len(inspection.history(session, subject, labels).rows)

    def person_quarter(session: Any, rng: random.Random) -> int:
        person = rng.choice(city.people)
        subject = inspection.find_person(session, ward(rng), person, title=person, unit=None)
        q = rng.randint(0, 3)
        since = datetime(2025, 3 * q + 1, 1, tzinfo=LOCAL_TZ)
        until = datetime(2025 + (q == 3), (3 * q + 3) % 12 + 1, 1, tzinfo=LOCAL_TZ)
        return len(inspection.history(session, subject, labels, since=since, until=until).rows)

    def by_actor(session: Any, rng: random.Random) -> int:
        f = AuditFilter(tenant=ward(rng), actor=rng.choice(city.people), limit=1000)
        return len(query_events(session, f))

    return {
        "criterion history": criterion,
        "unit's month": unit_month,
        "task history": task,
        "person's quarter": person_quarter,
        "query_events by actor (limit 1000)": by_actor,
    }


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (p95: the value 95% of the measures do not exceed)."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


@contextmanager
def database(backend: str, folder: Path, pg_url: str, reuse: bool = False) -> Iterator[Engine]:
    """A fresh migrated database: a SQLite file in ``folder`` (kept with ``reuse``) or a new
    PostgreSQL schema."""
    if backend == "sqlite":
        path = folder / "bench_audit.sqlite3"
        if not reuse:
            remove_sqlite_file(path)
        db = make_engine(f"sqlite:///{path}")
        upgrade(db)
        try:
            yield db
        finally:
            db.dispose()
        return
    admin = make_engine(pg_url)
    schema = f"cchc_bench_audit_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in pg_url else "?"
    db = make_engine(f"{pg_url}{separator}options=-csearch_path%3D{schema}")
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(backend: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Generate, ask, verify on one backend; print its table; its figures."""
    city = City()
    reuse = args.reuse and backend == "sqlite"
    with database(backend, folder, args.pg_url, reuse) as db:
        with unit_of_work(session_factory(db)) as session:
            for kind in city.engine.definitions.workflows:
                built = city.engine.current(kind)
                city.engine.register(session, built)
                city.hashes[kind] = built.hash
            present = session.execute(sa.text("select count(*) from audit_events")).scalar_one()
        start = perf_counter()
        if not (reuse and present):
            console.print(
                f"[bold]{backend}[/]: generating {args.events:,} events in {args.tenants} wards …"
            )
            generate(db, city, args.tenants, args.events)
        generated = perf_counter() - start
        with db.connect() as conn:
            total = conn.execute(sa.text("select count(*) from audit_events")).scalar_one()
        figures: dict[str, Any] = {"events": total, "generate_seconds": round(generated, 1)}
        table = Table(
            title=f"{backend}: {total:,} events, {args.tenants} wards "
            f"(generated in {generated:.0f} s)"
        )
        for column in (
            "question",
            "p50 ms",
            "p95 ms",
            "max ms",
            "CPU p50",
            "CPU p95",
            "rows (mean)",
        ):
            table.add_column(column, justify="left" if column == "question" else "right")
        for n, (name, ask) in enumerate(questions(city, args.tenants).items()):
            _timed(db, 3, ask, seed=1000 + n)  # warm the caches
            times, cpu, rows = _timed(db, args.queries, ask, seed=n)
            p50, p95, worst = statistics.median(times), percentile(times, 0.95), max(times)
            cpu50, cpu95 = statistics.median(cpu), percentile(cpu, 0.95)
            figures[name] = {
                "p50_ms": round(p50, 2),
                "p95_ms": round(p95, 2),
                "max_ms": round(worst, 2),
                "cpu_p50_ms": round(cpu50, 2),
                "cpu_p95_ms": round(cpu95, 2),
                "rows": round(rows, 1),
            }
            table.add_row(
                name,
                f"{p50:.1f}",
                f"{p95:.1f}",
                f"{worst:.1f}",
                f"{cpu50:.1f}",
                f"{cpu95:.1f}",
                f"{rows:.0f}",
            )
        for workers in (1, 2):
            with session_factory(db)() as session:
                start, start_cpu = perf_counter(), process_time()
                report = verify(session, workers=workers)
                seconds, cpu_seconds = perf_counter() - start, process_time() - start_cpu
            assert report.ok, report.breaks
            rate = report.events / seconds
            name = f"verify every chain, {workers} process{'es' if workers > 1 else ''}"
            figures[name] = {
                "events": report.events,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu_seconds, 2),
                "events_per_second": round(rate),
            }
            table.add_row(name, "", "", "", "", "", f"{rate:,.0f} events/s ({seconds:.1f} s)")
        console.print(table)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run each backend, print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=114)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument(
        "--reuse", action="store_true", help="SQLite: reuse the trail left in --data-dir"
    )
    args = parser.parse_args(argv)
    machine = machine_info(load=" ".join(f"{x:.1f}" for x in os.getloadavg()))
    console.print(machine_line(machine))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = {}
    with data_folder(args.data_dir) as folder:
        for backend in backends:
            results[backend] = run(backend, args, folder)
    print(json.dumps({"bench": "audit", "machine": machine, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
