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
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _common import machine_info, machine_line

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get(
    "CCHC_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PAGES = ("/", "/tasks", "/review")
OPTIONAL = "/review"
"""A page another area is building: measured only when it answers 200."""
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


@contextmanager
def serving(data_dir: Path, database_url: str, workers: int) -> Iterator[str]:
    """``cchc serve --workers N`` on the data folder in a subprocess; its base URL."""
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
        yield base
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
    client: Client, samples: dict[str, Sample], start: asyncio.Event, until: list[float]
) -> None:
    """GET the client's pages in turn until the deadline, recording each latency."""
    await start.wait()
    i = 0
    while time.perf_counter() < until[0]:
        path = client.pages[i % len(client.pages)]
        i += 1
        began = time.perf_counter()
        try:
            answer = await client.http.get(path)
            ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        elapsed = time.perf_counter() - began
        if ok:
            samples[path].latencies.append(elapsed)
        else:
            samples[path].errors += 1


async def drive(
    base: str, people: Sequence[str], clients: int, seconds: float
) -> tuple[dict[str, Sample], dict[str, int]]:
    """Sign ``clients`` clients in, probe the pages, loop for ``seconds``; the samples and how
    many clients measured each page."""
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
    tasks = [asyncio.create_task(loop(c, samples, start, until)) for c in signed]
    await asyncio.sleep(0)
    until[0] = time.perf_counter() + seconds
    start.set()
    await asyncio.gather(*tasks)
    for client in signed:
        await client.http.aclose()
    measured = {path: sum(path in c.pages for c in signed) for path in PAGES}
    return samples, measured


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


def profile_page(data_dir: Path, database_url: str, page: str, person: str, requests: int) -> str:
    """cProfile of ``requests`` GETs of ``page`` through the application in this process
    (FastAPI's test client, signed in as ``person``); the top 25 by cumulative time."""
    from fastapi.testclient import TestClient

    from cchc.accounts.demo import DEMO_PASSWORD
    from cchc.settings import resolve_settings
    from cchc.web.app import create_app
    from cchc.workspace import Workspace

    os.environ.update(CCHC_DATA_DIR=str(data_dir), CCHC_DATABASE_URL=database_url)
    ws = Workspace.open(resolve_settings())
    try:
        with TestClient(create_app(ws)) as http:
            form = http.get("/sign-in")
            token = CSRF.search(form.text)
            assert token is not None
            http.post(
                "/sign-in",
                data={"csrf": token.group(1), "login": person, "password": DEMO_PASSWORD},
                follow_redirects=False,
            )
            for _ in range(5):
                http.get(page)
            profiler = cProfile.Profile()
            began = time.perf_counter()
            profiler.enable()
            for _ in range(requests):
                assert http.get(page).status_code == 200
            profiler.disable()
            each = 1000 * (time.perf_counter() - began) / requests
    finally:
        ws.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(25)
    return f"{page} as {person}: {each:.1f} ms a request under the profiler\n{out.getvalue()}"


# --- main ----------------------------------------------------------------------------------


def run_backend(
    backend: str, args: argparse.Namespace, folder: Path
) -> tuple[list[Row], list[tuple[str, str]], list[dict[str, Any]]]:
    """Build the demo on ``backend``, then measure each worker count; rows, missing pages and
    the context of the slowest page (for ``--profile``)."""
    rows: list[Row] = []
    missing: list[tuple[str, str]] = []
    data_dir = folder / backend
    data_dir.mkdir(parents=True, exist_ok=True)
    with postgres_schema(args.pg_url) if backend == "postgresql" else _none() as pg:
        began = time.perf_counter()
        url = build_demo(data_dir, pg)
        print(f"{backend}: demo built in {time.perf_counter() - began:.1f} s", flush=True)
        people = demo_people(data_dir, url)
        worker_counts = [1] if backend == "sqlite" else args.pg_workers
        slowest: list[dict[str, Any]] = []
        for workers in worker_counts:
            label = f"{backend}, {workers} worker{'s' if workers > 1 else ''}"
            with serving(data_dir, url, workers) as base:
                samples, measured = asyncio.run(drive(base, people, args.clients, args.seconds))
            for page in PAGES:
                row = row_of(page, label, samples[page], measured[page])
                if row is None:
                    missing.append((page, label))
                else:
                    rows.append(row)
            print(table([r for r in rows if r.backend == label], []), flush=True)
        if args.profile and rows:
            worst = max((r for r in rows if r.backend.startswith(backend)), key=lambda r: r.p95)
            person = people[0] if worst.page == "/" else "nguyen.thi.lan"
            print(profile_page(data_dir, url, worst.page, person, args.profile), flush=True)
            slowest.append({"page": worst.page, "backend": worst.backend})
    return rows, missing, slowest


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
        "--pg-workers",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[2],
        help="uvicorn workers on PostgreSQL, e.g. 2,4 (each a run)",
    )
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL database to make a schema in")
    parser.add_argument("--data-dir", type=Path, help="keep the demo folders here")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="then profile N requests of each backend's slowest page (cProfile)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    machine = machine_info(load=" ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(machine_line(machine), flush=True)
    rows: list[Row] = []
    missing: list[tuple[str, str]] = []
    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="cchc-bench-web-"))
    try:
        for backend in backends:
            got, lacking, _ = run_backend(backend, args, folder)
            rows += got
            missing += lacking
    finally:
        if args.data_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\n{args.clients} clients, {args.seconds:g} s per run, "
        f"load average at the end {os.getloadavg()[0]:.2f}"
    )
    print(table(rows, missing))
    print(
        json.dumps(
            {
                "machine": machine,
                "clients": args.clients,
                "seconds": args.seconds,
                "rows": [r.as_json() for r in rows],
                "not_available": [{"page": p, "backend": b} for p, b in missing],
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
