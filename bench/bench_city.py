"""City-scale figures on a synthetic city: score and rank every ward, the monthly review of every
ward, fire throughput with 1 and 2 workers, peak memory.

Usage: ``.venv/bin/python bench/bench_city.py [--backend sqlite|postgresql] [--wards N]
[--out DIR | --reuse DIR] [--fire-tasks N] [--pg-url URL]``

The city comes from ``bench/city_gen.py`` (generated into ``--out`` or a temporary folder, or
reused from ``--reuse DIR`` on SQLite). Each measured phase runs in its own process, so its
peak memory (``ru_maxrss``) is its own; on SQLite each phase works on a fresh copy of the
generated database, so a reused city gives the same figures as a new one. On PostgreSQL the
city is generated into a new, uniquely named schema that is dropped at the end. Prints the
machine, a table and, last, one JSON line. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

if importlib.util.find_spec("cchc") is None:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import city_gen  # noqa: E402  (the generator beside this file)

from cchc import cycle  # noqa: E402
from cchc.vietnam import LOCAL_TZ  # noqa: E402
from cchc.workspace import Workspace  # noqa: E402
from workflows.database import Settings, make_engine, unit_of_work  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REVIEW_MONTH = "2025-11"
SCORE_DAY = date(2025, 12, 1)
REVIEW_DAY = date(2025, 12, 3)
TARGETS = {"score_rank": 30.0, "review": 60.0}
"""Targets of issue 5 on SQLite, in seconds for the whole city."""


def machine_info() -> dict[str, Any]:
    """CPU count, load, Python, SQLite and SQLAlchemy versions, OS."""
    return {
        "cpus": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sa.__version__,
        "platform": platform.platform(terse=True),
    }


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class FixedClock:
    """A clock fixed at a local moment (the bench acts at one date)."""

    def __init__(self, day: date, hour: int = 9) -> None:
        self.now = datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now


def open_ward(city: Path, url: str, tenant: str, clock: FixedClock) -> Workspace:
    """One ward's workspace, as a single command or flow opens it (all reference data read)."""
    settings = Settings(data_dir=city / "data", database_url=url)
    return Workspace.open(
        settings,
        organization=city / "organizations" / f"{tenant}.yaml",
        index_set=city_gen.INDEX_SET,
        clock=clock,
    )


def city_run(city: Path, url: str, clock: FixedClock) -> tuple[city_gen.CityWorkspaces, Any]:
    """The city's shared workspaces and, when ``cchc.city`` is there, the loaded city file
    (every organization read through it); otherwise each organization file is read."""
    started = time.perf_counter()
    try:
        from cchc.city import load_city
    except ImportError:
        return city_gen.CityWorkspaces(city, url, clock), None
    loaded = load_city(city / "city.yaml")
    run = city_gen.CityWorkspaces(city, url, clock, {org.tenant: org for org in loaded.wards})
    run.load_seconds = time.perf_counter() - started
    return run, loaded


# --- phases (each runs in its own process) ----------------------------------------------


def phase_generate(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the city; its manifest (timings and counts) and peak memory."""
    manifest = city_gen.generate(
        args.city,
        wards=args.wards,
        seed=args.seed,
        database_url=args.url or None,
        jobs=args.jobs,
        force=True,
    )
    return {"seconds": manifest["seconds"], "counts": manifest["counts"]}


def _city_rank(run: city_gen.CityWorkspaces, city: Any, period: str) -> dict[str, Any] | None:
    """Rank the wards in blocks (``cchc.city.ranking.rank_city``) as the first city official."""
    try:
        from cchc.city.ranking import rank_city
    except ImportError:
        return None
    started = time.perf_counter()
    official = next(p for p in city.officials if "city_official" in p.roles)
    with unit_of_work(run.sessions) as session:
        ranking = rank_city(
            session, run.engine, city, city.actor(official.id), period=period, publish=True
        )
    ranked = [r for r in ranking.rows if r.entry.figures is not None]
    return {
        "seconds": time.perf_counter() - started,
        "wards_ranked": len(ranked),
        "state": ranking.state,
    }


def _tenants(args: argparse.Namespace, manifest: dict[str, Any]) -> list[str]:
    """The wards this process works on: ``--tenants a,b`` or all of them."""
    return list(args.tenants.split(",")) if args.tenants else list(manifest["tenants"])


def _go(args: argparse.Namespace) -> tuple[float, float]:
    """With ``--wait-go``: say ready and wait for the go line. Wall and CPU clocks at the start."""
    if args.wait_go:
        print("ready", flush=True)
        sys.stdin.readline()
    return time.perf_counter(), time.process_time()


def phase_cityrank(args: argparse.Namespace) -> dict[str, Any]:
    """Only the city ranking (after score workers): the city read, the wards ranked."""
    manifest = json.loads((args.city / city_gen.MANIFEST).read_text(encoding="utf-8"))
    started, cpu = time.perf_counter(), time.process_time()
    run, loaded = city_run(args.city, args.url, FixedClock(SCORE_DAY))
    try:
        city = _city_rank(run, loaded, manifest["period"]) if loaded is not None else None
    finally:
        run.close()
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "city_rank": city,
    }


def phase_score(args: argparse.Namespace) -> dict[str, Any]:
    """Score every ward (stored scores, self-scored assessments), rank its units and publish,
    then rank the wards of the city in blocks."""
    manifest = json.loads((args.city / city_gen.MANIFEST).read_text(encoding="utf-8"))
    started, cpu = _go(args)
    run, loaded = city_run(args.city, args.url, FixedClock(SCORE_DAY))
    per_ward: list[float] = []
    scored = ranked = 0
    indexes = []
    try:
        for tenant in _tenants(args, manifest):
            t0 = time.perf_counter()
            people = manifest["people"][tenant]
            ws = run.ward(tenant)
            manual = cycle.read_manual(args.city / "inputs" / f"{tenant}.yaml")
            outcome = cycle.score(ws, manifest["plan"], people["focal"], manual)
            ranking = cycle.rank(
                ws,
                manifest["plan"],
                people["focal"],
                outcome.card,
                today=SCORE_DAY,
                publish=True,
                publisher_id=people["chairman"],
            )
            scored += outcome.self_scored
            ranked += len(ranking.rows)
            indexes.append(float(outcome.card.index))
            per_ward.append(time.perf_counter() - t0)
        rank_city = loaded is not None and not args.no_city_rank
        city = _city_rank(run, loaded, manifest["period"]) if rank_city else None
    finally:
        run.close()
    return {
        "seconds": time.perf_counter() - started,
        "started": started,
        "cpu_seconds": time.process_time() - cpu,
        "load_seconds": run.load_seconds,
        "wards_seconds": sum(per_ward),
        "city_rank": city,
        "per_ward_ms": 1000 * sum(per_ward) / len(per_ward),
        "slowest_ward_ms": 1000 * max(per_ward),
        "assessments_self_scored": scored,
        "units_ranked": ranked,
        "index_min": min(indexes),
        "index_max": max(indexes),
    }


def phase_review(args: argparse.Namespace) -> dict[str, Any]:
    """The monthly review of every ward: compile, report (PNG, HTML, DOCX), draft notice (DOCX)
    and the meeting opened."""
    from cchc.review.service import run_review

    manifest = json.loads((args.city / city_gen.MANIFEST).read_text(encoding="utf-8"))
    out = args.city / "bench-output" / "review"
    started, cpu = _go(args)
    run, _ = city_run(args.city, args.url, FixedClock(REVIEW_DAY))
    files = conclusions = 0
    size = 0
    try:
        for tenant in _tenants(args, manifest):
            people = manifest["people"][tenant]
            outcome = run_review(
                run.ward(tenant),
                plan=manifest["plan"],
                month=REVIEW_MONTH,
                actor_id=people["focal"],
                chair_id=people["chairman"],
                out=out / tenant / REVIEW_MONTH,
            )
            files += len(outcome.files)
            size += sum(f.stat().st_size for f in outcome.files)
            conclusions += len(outcome.conclusions)
    finally:
        run.close()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    kinds = sorted({f.suffix.lstrip(".") for f in out.rglob("*") if f.is_file()})
    return {
        "seconds": seconds,
        "started": started,
        "cpu_seconds": cpu_seconds,
        "load_seconds": run.load_seconds,
        "files": files,
        "mib": round(size / 2**20, 1),
        "conclusions": conclusions,
        "file_types": kinds,
    }


def _fire_tasks(ws: Workspace, people: dict[str, Any], tag: str, n: int) -> list[int]:
    """``n`` fresh tasks of the ward for the throughput test (not timed)."""
    focal = ws.actor(people["focal"])
    ids = []
    with unit_of_work(ws.sessions) as session:
        for i in range(n):
            created = ws.engine.create(
                session,
                "task",
                actor=focal,
                ref=f"BENCH-{tag}/T-{i}",
                data={
                    "plan": f"BENCH-{tag}",
                    "code": f"T-{i}",
                    "title": "Nhiệm vụ đo tốc độ",
                    "expected_product": "Báo cáo",
                    "owner_unit": "kt",
                    "owner_unit_name": "Phòng Kinh tế",
                    "support_units": [],
                    "deadline": "2025-12-31",
                    "deadline_text": "31/12/2025",
                    "criteria": [],
                },
            )
            ids.append(created.instance_id)
    return ids


def phase_fire(args: argparse.Namespace) -> dict[str, Any]:
    """Fire start → submit_product → accept_product on fresh tasks of one ward, one
    transaction per fire, after a go signal on stdin (so two workers start together)."""
    manifest = json.loads((args.city / city_gen.MANIFEST).read_text(encoding="utf-8"))
    tenant = args.tenant
    people = manifest["people"][tenant]
    ws = open_ward(args.city, args.url, tenant, FixedClock(REVIEW_DAY))
    try:
        ids = _fire_tasks(ws, people, uuid.uuid4().hex[:8], args.fire_tasks)
        official, focal = ws.actor(people["officials"]["kt"]), ws.actor(people["focal"])
        steps = [
            ("start", official, None),
            ("submit_product", official, {"product": "Báo cáo kết quả"}),
            ("accept_product", focal, None),
        ]
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.perf_counter()
        fires = 0
        for trigger, actor, payload in steps:
            for instance_id in ids:
                with unit_of_work(ws.sessions) as session:
                    ws.engine.fire(session, instance_id, trigger, actor=actor, payload=payload)
                fires += 1
        seconds = time.perf_counter() - started
    finally:
        ws.close()
    return {"seconds": seconds, "fires": fires, "started": started}


PHASES = {
    "generate": phase_generate,
    "score": phase_score,
    "review": phase_review,
    "fire": phase_fire,
    "cityrank": phase_cityrank,
}


def run_phase(args: argparse.Namespace) -> int:
    """Child process: run one phase, print its result (with peak memory) as the last line."""
    result = PHASES[args.phase](args)
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result), flush=True)
    return 0


# --- the parent ----------------------------------------------------------------------------------


def _child_args(phase: str, city: Path, url: str, work: Path, **extra: Any) -> list[str]:
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--city",
        str(city),
        "--url",
        url,
        "--work",
        str(work),
    ]
    for key, value in extra.items():
        argv.append(f"--{key.replace('_', '-')}")
        if value is not None:
            argv.append(str(value))
    return argv


def child(phase: str, city: Path, url: str, work: Path, **extra: Any) -> dict[str, Any]:
    """Run a phase in a new process (stderr passes through); its JSON result."""
    done = subprocess.run(
        _child_args(phase, city, url, work, **extra), check=True, stdout=subprocess.PIPE, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def sharded(
    phase: str, city: Path, url: str, work: Path, tenants: list[str], workers: int
) -> dict[str, Any]:
    """Run ``phase`` over ``tenants`` in ``workers`` processes started together; the wall time
    from the go signal to the last one's end, the sums and the largest peak memory."""
    if workers <= 1:
        return child(phase, city, url, work)
    extra: dict[str, Any] = {"wait_go": None}
    if phase == "score":
        extra["no_city_rank"] = None
    shares = [",".join(tenants[i::workers]) for i in range(workers)]
    procs = [
        subprocess.Popen(
            _child_args(phase, city, url, work, tenants=share, **extra),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in shares
        if share
    ]
    results = _go_and_collect(procs)
    wall = max(r["started"] + r["seconds"] for r in results) - min(r["started"] for r in results)
    merged: dict[str, Any] = {"workers": len(procs), "per_worker": results}
    for key in (
        "cpu_seconds",
        "files",
        "mib",
        "conclusions",
        "assessments_self_scored",
        "units_ranked",
        "wards_seconds",
    ):
        if key in results[0]:
            merged[key] = sum(r[key] for r in results)
    merged["peak_rss_mib"] = max(r["peak_rss_mib"] for r in results)
    merged["load_seconds"] = max(r["load_seconds"] for r in results)
    if "file_types" in results[0]:
        merged["file_types"] = results[0]["file_types"]
    if phase == "score":
        ranked = child("cityrank", city, url, work)
        merged["city_rank"] = ranked["city_rank"]
        merged["cpu_seconds"] += ranked["cpu_seconds"]
        wall += ranked["seconds"]
        merged["per_ward_ms"] = 1000 * merged["wards_seconds"] / len(tenants)
    merged["seconds"] = wall
    return merged


def _go_and_collect(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"worker did not start: {line!r}")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"worker failed ({proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def fire_workers(
    city: Path, url: str, work: Path, tenants: list[str], tasks: int
) -> dict[str, Any]:
    """Workers firing at once, one per tenant; transitions per second over the wall time."""
    procs = [
        subprocess.Popen(
            _child_args("fire", city, url, work, tenant=t, fire_tasks=tasks),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for t in tenants
    ]
    results = _go_and_collect(procs)
    start = min(r["started"] for r in results)
    wall = max(r["started"] + r["seconds"] for r in results) - start
    fires = sum(r["fires"] for r in results)
    return {
        "workers": len(tenants),
        "fires": fires,
        "seconds": wall,
        "per_s": fires / wall,
        "peak_rss_mib": max(r["peak_rss_mib"] for r in results),
    }


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A new schema ``cchc_bench_<hex>`` on ``base`` (its URL), dropped afterwards."""
    admin = make_engine(base)
    schema = f"cchc_bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        print(f"schema {schema} dropped", file=sys.stderr)


def sqlite_copy(city: Path, work: Path, name: str) -> str:
    """A fresh copy of the generated SQLite database for one phase; its URL."""
    source = city / "data" / "cchc.sqlite3"
    target = work / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    shutil.copy(source, target)
    return f"sqlite:///{target}"


def measure(args: argparse.Namespace, city: Path, work: Path, url: str | None) -> dict[str, Any]:
    """Generate (unless reused), then every phase; the figures."""
    figures: dict[str, Any] = {}
    if args.reuse is None:
        figures["generate"] = child(
            "generate", city, url or "", work, wards=args.wards, seed=args.seed, jobs=args.jobs
        )
    manifest = json.loads((city / city_gen.MANIFEST).read_text(encoding="utf-8"))
    figures["manifest"] = {k: manifest[k] for k in ("wards", "seed", "counts", "seconds")}

    def db(name: str) -> str:
        return url if url is not None else sqlite_copy(city, work, name)

    print("score + rank …", file=sys.stderr, flush=True)
    scored = db("score")
    tenants = manifest["tenants"]
    figures["score"] = sharded("score", city, scored, work, tenants, args.workers)
    print("review …", file=sys.stderr, flush=True)
    figures["review"] = sharded(
        "review", city, scored, work, tenants, args.workers
    )  # after scoring: points at risk
    print("fire …", file=sys.stderr, flush=True)
    tenants = manifest["tenants"]
    fire_url = db("fire")
    pair = [tenants[0], tenants[1 % len(tenants)]]
    if pair[0] == pair[1]:
        raise SystemExit("the fire test needs at least 2 wards")
    figures["fire_1"] = fire_workers(city, fire_url, work, pair[:1], args.fire_tasks)
    figures["fire_2"] = fire_workers(city, fire_url, work, pair, args.fire_tasks)
    return figures


def report(console: Console, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """The table and the JSON line."""
    info = machine_info()
    console.print(f"machine: {info}", highlight=False)
    counts = figures["manifest"]["counts"]
    console.print(f"city: {json.dumps(counts)}", highlight=False)
    table = Table(title=f"Synthetic city on {args.backend}: {counts['wards']} wards")
    for header, justify in (
        ("figure", "left"),
        ("value", "right"),
        ("peak RSS MiB", "right"),
        ("note", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    gen = figures.get("generate")
    if gen:
        table.add_row(
            "generate the city (s)",
            f"{gen['seconds']:.1f}",
            f"{gen['peak_rss_mib']}",
            f"{counts['audit_events']:,} audit events, {counts['fires']:,} fires",
        )
    s, r = figures["score"], figures["review"]
    city = "incl. city ranking" if s["city_rank"] else "cchc.city.rank_city not available"
    target = TARGETS["score_rank"] if args.backend == "sqlite" else None
    table.add_row(
        "score + rank whole city (s)",
        f"{s['seconds']:.1f}",
        f"{s['peak_rss_mib']}",
        f"CPU {s['cpu_seconds']:.1f} s; {s['per_ward_ms']:.0f} ms/ward; {city}; "
        f"{s.get('workers', 1)} process(es)" + (f"; target < {target:.0f} s" if target else ""),
    )
    target = TARGETS["review"] if args.backend == "sqlite" else None
    table.add_row(
        "monthly review whole city (s)",
        f"{r['seconds']:.1f}",
        f"{r['peak_rss_mib']}",
        f"CPU {r['cpu_seconds']:.1f} s; {r['files']} files ({', '.join(r['file_types'])}), "
        f"{r['mib']} MiB; {r.get('workers', 1)} process(es)"
        + (f"; target < {target:.0f} s" if target else ""),
    )
    f1, f2 = figures["fire_1"], figures["fire_2"]
    table.add_row(
        "fire, 1 worker (transitions/s)",
        f"{f1['per_s']:.0f}",
        f"{f1['peak_rss_mib']}",
        f"{f1['fires']} fires, 1 per transaction",
    )
    table.add_row(
        "fire, 2 workers (transitions/s)",
        f"{f2['per_s']:.0f}",
        f"{f2['peak_rss_mib']}",
        f"{f2['fires']} fires on 2 wards; ×{f2['per_s'] / f1['per_s']:.2f} of 1 worker",
    )
    console.print(table)
    print(
        json.dumps(
            {"bench": "city", "backend": args.backend, "machine": info, **figures}, default=str
        )
    )


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--wards", type=int, default=114)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path, help="generate the city here (and keep it)")
    parser.add_argument("--reuse", type=Path, help="a city generated earlier (SQLite only)")
    parser.add_argument(
        "--fire-tasks",
        type=int,
        default=200,
        help="tasks per worker in the fire test (3 fires each)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="generator processes")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes sharing the wards (score, review)"
    )
    parser.add_argument("--pg-url", default=os.environ.get("CCHC_BENCH_POSTGRES_URL", PG_URL))
    # Internal: one phase in a child process.
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--city", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tenant", help=argparse.SUPPRESS)
    parser.add_argument("--tenants", help=argparse.SUPPRESS)
    parser.add_argument("--wait-go", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-city-rank", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        return run_phase(args)
    if args.reuse is not None and args.backend != "sqlite":
        parser.error("--reuse works with --backend sqlite (PostgreSQL schemas are dropped)")
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="bench-city-") as tmp:
        work = Path(tmp)
        city = args.reuse or args.out or work / "city"
        if args.backend == "postgresql":
            with postgres_schema(args.pg_url) as url:
                figures = measure(args, city, work, url)
        else:
            figures = measure(args, city, work, None)
        report(console, args, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
