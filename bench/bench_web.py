"""Latency of the web application under 20 signed-in clients, on SQLite and on PostgreSQL.

For each backend the script builds the demo ward (the story of ``cchc demo``, played by
``flows.demo.run_demo`` with each flow's task body called directly instead of through Prefect,
so no Prefect server is started; on PostgreSQL in a new schema ``cchc_bench_web_<hex>`` dropped
at the end), starts ``cchc serve`` on it in a subprocess (SQLite: 1 worker; PostgreSQL:
``--pg-workers``, default 2), signs ``--clients`` clients in (each its own session, as the demo
people in turn, with the demo password), then every client loops GET over the pages for
``--seconds`` and the script prints, per page, the requests, p50, p95, p99 and max latency and
the errors. The review queue (``/review``) is measured when it answers 200, else reported as not
available. ``--profile`` then profiles the slowest page in this process (cProfile). See
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _common import machine_info, machine_line

BIN = Path(sys.executable).parent
PG_URL = os.environ.get(
    "CCHC_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PAGES = ("/", "/tasks", "/review")
FOCAL = "nguyen.thi.lan"
"""The focal official: sees the whole ward (the profile signs in as them)."""
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


# --- the demo ward -------------------------------------------------------------------------


def build_demo(data_dir: Path, database_url: str | None) -> str:
    """Play the demo into ``data_dir`` (SQLite there, or ``database_url``); the database URL.

    ``flows.demo.run_demo`` is the demo ``cchc demo`` runs; its three flows are replaced by the
    functions their single task runs (``flows.cycle._issue.fn`` …: the same workspace, the same
    ``cycle`` call, the same checkpoint), which is all a flow does besides logging.
    """
    from cchc.commands.common import console
    from flows import cycle as flow_cycle
    from flows import demo as demo_flows

    demo_flows.issue_plan_flow = flow_cycle._issue.fn  # type: ignore[assignment]
    demo_flows.score_flow = flow_cycle._score.fn  # type: ignore[assignment]
    demo_flows.rank_flow = flow_cycle._rank.fn  # type: ignore[assignment]
    url = database_url
    if url is not None:
        demo_flows.fresh_database = lambda folder, force: url  # type: ignore[assignment]
    console.quiet = True
    try:
        code = demo_flows.run_demo(data_dir, out=data_dir / "demo-output")
    finally:
        console.quiet = False
    if code != 0:
        raise SystemExit(f"the demo failed (exit {code})")
    from cchc.settings import sqlite_url

    return url or sqlite_url(data_dir)


def demo_people(data_dir: Path, database_url: str) -> list[str]:
    """The person ids of the demo ward, in the organization file's order."""
    from cchc.workspace import Workspace
    from workflows.database import Settings

    ws = Workspace.open(Settings(data_dir=data_dir, database_url=database_url))
    try:
        return [p.id for p in ws.organization.people]
    finally:
        ws.close()


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A new schema ``cchc_bench_web_<hex>`` on ``base`` (its URL), dropped afterwards."""
    from workflows.database import make_engine

    admin = make_engine(base)
    schema = f"cchc_bench_web_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    """This environment without any CCHC_ setting, on ``data_dir`` and ``database_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "PREFECT_"))}
    env.update(CCHC_DATA_DIR=str(data_dir), CCHC_DATABASE_URL=database_url, DO_NOT_TRACK="1")
    return env


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) of the live processes of session ``sid`` (the server and
    its workers), from ``/proc``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[3]) == sid:  # fields after the name: state, ppid, pgrp, session, ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


@dataclass(frozen=True)
class Server:
    """A running ``cchc serve``: its address and its session id (for its CPU time)."""

    base: str
    sid: int

    def cpu(self) -> float:
        """CPU seconds the server's processes used so far."""
        return session_cpu(self.sid)


@contextmanager
def serving(data_dir: Path, database_url: str, workers: int) -> Iterator[Server]:
    """``cchc serve --workers N`` on the data folder in a subprocess."""
    port = free_port()
    log = (data_dir / f"serve-{port}.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "cchc"), "serve", "--port", str(port), "--workers", str(workers)],
        env=server_env(data_dir, database_url),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"cchc serve did not start; see {log.name}")
            try:
                if httpx.get(f"{base}/sign-in", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield Server(base, server.pid)
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
        log.close()


# --- the clients ---------------------------------------------------------------------------


@dataclass
class Client:
    """One signed-in browser: its person, its HTTP client (cookies), the pages it loops over."""

    person: str
    http: httpx.AsyncClient
    pages: list[str] = field(default_factory=list)


@dataclass
class Sample:
    """The latencies (seconds) and errors of one page."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    why: Counter[str] = field(default_factory=Counter)
    """Each error's HTTP status or exception name."""


async def sign_in(base: str, person: str, password: str) -> Client:
    """A new client signed in as ``person`` (the sign-in form, with its CSRF token)."""
    http = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False)
    form = await http.get("/sign-in")
    token = CSRF.search(form.text)
    if token is None:
        raise SystemExit("no CSRF token on the sign-in page")
    done = await http.post(
        "/sign-in",
        data={"csrf": token.group(1), "login": person, "password": password, "next": "/"},
    )
    if done.status_code != 303 or "cchc_session" not in http.cookies:
        raise SystemExit(f"{person} could not sign in: {done.status_code}")
    return Client(person, http)


async def loop(
    client: Client,
    samples: dict[str, Sample],
    start: asyncio.Event,
    until: list[float],
    pause: float = 0.0,
) -> None:
    """GET the client's pages in turn until the deadline, recording each latency; ``pause``
    seconds on average between a response and the next request (0: back to back), drawn
    between half and one and a half times it, the first one before the first request, so that
    the clients do not move in step."""
    await start.wait()
    if pause:
        await asyncio.sleep(random.uniform(0, pause))
    i = 0
    while time.perf_counter() < until[0]:
        path = client.pages[i % len(client.pages)]
        i += 1
        began = time.perf_counter()
        try:
            answer = await client.http.get(path)
            failure = None if answer.status_code == 200 else str(answer.status_code)
        except httpx.HTTPError as exc:
            failure = type(exc).__name__
        elapsed = time.perf_counter() - began
        if failure is None:
            samples[path].latencies.append(elapsed)
        else:
            samples[path].errors += 1
            samples[path].why[failure] += 1
        if pause:
            await asyncio.sleep(random.uniform(0.5 * pause, 1.5 * pause))


@dataclass(frozen=True)
class Run:
    """One measured run: its samples, how many clients measured each page, CPU and wall time."""

    samples: dict[str, Sample]
    measured: dict[str, int]
    wall: float
    server_cpu: float
    client_cpu: float

    @property
    def requests(self) -> int:
        """Every request answered, errors included."""
        return sum(len(s.latencies) + s.errors for s in self.samples.values())

    def as_json(self) -> dict[str, float]:
        """Throughput and CPU milliseconds per request."""
        n = max(self.requests, 1)
        return {
            "requests_per_s": round(n / self.wall, 1),
            "server_cpu_ms": round(1000 * self.server_cpu / n, 2),
            "client_cpu_ms": round(1000 * self.client_cpu / n, 2),
        }

    def summary(self) -> str:
        """Throughput and CPU per request, server and clients."""
        n = max(self.requests, 1)
        return (
            f"{n / self.wall:.0f} requests/s; CPU per request: server "
            f"{1000 * self.server_cpu / n:.1f} ms, clients {1000 * self.client_cpu / n:.1f} ms"
        )


async def drive(
    server: Server, people: Sequence[str], clients: int, seconds: float, pause: float = 0.0
) -> Run:
    """Sign ``clients`` clients in, probe the pages, loop for ``seconds``."""
    base = server.base
    from cchc.accounts.demo import DEMO_PASSWORD

    # One after another: each sign-in hashes a password (Argon2).
    signed = [await sign_in(base, people[i % len(people)], DEMO_PASSWORD) for i in range(clients)]
    for client in signed:  # a page a person may not see (404) is not theirs to measure
        for path in PAGES:
            if (await client.http.get(path)).status_code == 200:
                client.pages.append(path)
        if not client.pages:
            raise SystemExit(f"{client.person} sees none of {', '.join(PAGES)}")
    samples = {path: Sample() for path in PAGES}
    start, until = asyncio.Event(), [0.0]
    tasks = [asyncio.create_task(loop(c, samples, start, until, pause)) for c in signed]
    await asyncio.sleep(0)
    server_cpu, client_cpu, began = server.cpu(), time.process_time(), time.perf_counter()
    until[0] = began + seconds
    start.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    server_cpu, client_cpu = server.cpu() - server_cpu, time.process_time() - client_cpu
    for client in signed:
        await client.http.aclose()
    measured = {path: sum(path in c.pages for c in signed) for path in PAGES}
    return Run(samples, measured, wall, server_cpu, client_cpu)


# --- figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    page: str
    backend: str
    clients: int
    requests: int
    p50: float
    p95: float
    p99: float
    max: float
    errors: int

    def as_json(self) -> dict[str, Any]:
        """The figures, in milliseconds."""
        return {
            "page": self.page,
            "backend": self.backend,
            "clients": self.clients,
            "requests": self.requests,
            "p50_ms": round(self.p50, 1),
            "p95_ms": round(self.p95, 1),
            "p99_ms": round(self.p99, 1),
            "max_ms": round(self.max, 1),
            "errors": self.errors,
        }


def row_of(page: str, backend: str, sample: Sample, clients: int) -> Row | None:
    """The percentiles of ``sample`` in milliseconds (None when nothing was measured)."""
    if not sample.latencies:
        return None
    ms = sorted(1000 * x for x in sample.latencies)
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return Row(page, backend, clients, len(ms), cuts[49], cuts[94], cuts[98], ms[-1], sample.errors)


def table(rows: Sequence[Row], missing: Sequence[tuple[str, str]]) -> str:
    """The figures as a Markdown table; pages that did not answer 200 as "not available"."""
    lines = [
        "| page | backend | clients | requests | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{r.page}` | {r.backend} | {r.clients} | {r.requests:,} | {r.p50:.1f} | "
        f"{r.p95:.1f} | {r.p99:.1f} | {r.max:.1f} | {r.errors} |"
        for r in rows
    ]
    lines += [f"| `{page}` | {backend} | | not available | | | | | |" for page, backend in missing]
    return "\n".join(lines)


# --- profile -------------------------------------------------------------------------------


def profile_page(
    data_dir: Path, database_url: str, page: str, person: str, requests: int, only: str = ""
) -> str:
    """cProfile of ``requests`` GETs of ``page`` through the application in this process,
    signed in as ``person``; the top 30 functions by cumulative time (of the files whose path
    matches ``only``, e.g. ``cchc/``, when given).

    The requests go through the whole ASGI application (middleware, dependencies, route,
    template) over ``httpx.ASGITransport``, and the work Starlette would hand to its thread
    pool runs inline on the event loop, so one profiler sees all of it.
    """
    import anyio.to_thread

    from cchc.accounts.demo import DEMO_PASSWORD
    from cchc.web.app import create_app
    from cchc.workspace import Workspace
    from workflows.database import Settings

    async def inline(func: Any, *args: Any, **_: Any) -> Any:
        return func(*args)

    threaded = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline  # type: ignore[assignment]  # one thread, one profile
    ws = Workspace.open(Settings(data_dir=data_dir, database_url=database_url))
    profiler = cProfile.Profile()

    async def run() -> float:
        transport = httpx.ASGITransport(app=create_app(ws))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            token = CSRF.search((await http.get("/sign-in")).text)
            if token is None:
                raise SystemExit("no CSRF token on the sign-in page")
            form = {"csrf": token.group(1), "login": person, "password": DEMO_PASSWORD}
            await http.post("/sign-in", data=form)
            for _ in range(5):
                await http.get(page)
            began = time.perf_counter()
            profiler.enable()
            for _ in range(requests):
                if (await http.get(page)).status_code != 200:
                    raise SystemExit(f"{page} did not answer 200 to {person}")
            profiler.disable()
            return 1000 * (time.perf_counter() - began) / requests

    try:
        each = asyncio.run(run())
    finally:
        ws.close()
        anyio.to_thread.run_sync = threaded
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(
        os.environ.get("BENCH_PROFILE_SORT", "cumulative")
    ).print_stats(only, 30)
    return f"{page} as {person}: {each:.1f} ms a request under the profiler\n{out.getvalue()}"


# --- main ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the runs of the backends gave: table rows, pages not available, run summaries."""

    rows: list[Row] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    runs: dict[str, Run] = field(default_factory=dict)


def run_backend(backend: str, args: argparse.Namespace, folder: Path, outcome: Outcome) -> None:
    """Build the demo on ``backend`` (or reuse it), measure each worker count, and profile the
    slowest page when asked."""
    from cchc.settings import SQLITE_FILE, sqlite_url

    data_dir = folder / backend
    data_dir.mkdir(parents=True, exist_ok=True)
    with postgres_schema(args.pg_url) if backend == "postgresql" else _none() as pg:
        if pg is None and args.reuse and (data_dir / SQLITE_FILE).exists():
            url = sqlite_url(data_dir)
            print(f"{backend}: the demo of {data_dir} reused", flush=True)
        else:
            began = time.perf_counter()
            url = build_demo(data_dir, pg)
            print(f"{backend}: demo built in {time.perf_counter() - began:.1f} s", flush=True)
        people = demo_people(data_dir, url)
        labels = []
        for workers in [1] if backend == "sqlite" else args.pg_workers:
            label = f"{backend}, {workers} worker{'s' if workers > 1 else ''}"
            labels.append(label)
            with serving(data_dir, url, workers) as server:
                run = asyncio.run(
                    drive(server, people, args.clients, args.seconds, args.pause / 1000)
                )
            outcome.runs[label] = run
            for page in PAGES:
                row = row_of(page, label, run.samples[page], run.measured[page])
                if row is None:
                    outcome.missing.append((page, label))
                else:
                    outcome.rows.append(row)
            print(table([r for r in outcome.rows if r.backend == label], []), flush=True)
            print(f"{label}: {run.summary()}", flush=True)
            for page, sample in run.samples.items():
                if sample.why:
                    print(f"{label}: errors of {page}: {dict(sample.why)}", flush=True)
        mine = [r for r in outcome.rows if r.backend in labels]
        if args.profile and mine:
            worst = max(mine, key=lambda r: r.p95)
            print(profile_page(data_dir, url, worst.page, FOCAL, args.profile, "cchc"), flush=True)


@contextmanager
def _none() -> Iterator[None]:
    yield None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the machine, the table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--clients", type=int, default=20, help="concurrent signed-in clients")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        metavar="MS",
        help="each client waits this long on average after a response (default 0: back to back)",
    )
    parser.add_argument(
        "--pg-workers",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[2],
        help="uvicorn workers on PostgreSQL, e.g. 2,4 (each a run)",
    )
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL database to make a schema in")
    parser.add_argument("--data-dir", type=Path, help="keep the demo folders here")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --data-dir: measure the SQLite demo left there by an earlier run again",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="then profile N requests of each backend's slowest page (cProfile, as the focal "
        "official)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    machine = machine_info(load=" ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(machine_line(machine), flush=True)
    outcome = Outcome()
    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="cchc-bench-web-"))
    try:
        for backend in backends:
            run_backend(backend, args, folder, outcome)
    finally:
        if args.data_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\n{args.clients} clients, {args.seconds:g} s per run, pause {args.pause:g} ms, "
        f"load average at the end {os.getloadavg()[0]:.2f}"
    )
    print(table(outcome.rows, outcome.missing))
    for label, run in outcome.runs.items():
        print(f"{label}: {run.summary()}")
    print(
        json.dumps(
            {
                "machine": machine,
                "clients": args.clients,
                "seconds": args.seconds,
                "pause_ms": args.pause,
                "rows": [r.as_json() for r in outcome.rows],
                "not_available": [{"page": p, "backend": b} for p, b in outcome.missing],
                "runs": {label: run.as_json() for label, run in outcome.runs.items()},
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
