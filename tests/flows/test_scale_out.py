"""Scale out: a Prefect server on PostgreSQL, two process workers, the city fanned out per ward.

This test does not use the session's Prefect harness: it starts its own ``prefect server start``
on a fresh PostgreSQL database (with ``pg_trgm``) and its own ``PREFECT_HOME``, creates a process
work pool, starts two ``prefect worker start`` processes, registers the city deployments
(``flows.deployments.apply_city``) and submits the city's sweep twice at once, so every ward gets
two runs at the same time. The project's data is a PostgreSQL schema made for the test. The
child processes get their own environment; this process only talks to the server inside
``temporary_settings``. Everything is stopped and dropped afterwards, also on failure.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from cchc.migrations import upgrade
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from tests.conftest import DEFINITIONS, IN_CI, PG_URL
from workflows.audit import verify
from workflows.database import Settings, make_engine, unit_of_work
from workflows.schema import AuditEvent

pytestmark = [pytest.mark.prefect, pytest.mark.postgres]

WARDS = 3
TASKS_PER_WARD = 4
REMINDERS_PER_TASK = 3  # a task due 23/02/2026, swept on 13/02: its 7-, 3- and 1-day reminders
WORKERS = ("scale-worker-a", "scale-worker-b")
WORKER_LIMIT = WARDS  # each worker takes one fan-out's wards at once: every ward has two runs live
POOL = "cchc-scale-test"
PREFECT = Path(sys.executable).with_name("prefect")
STARTUP_SECONDS = 150.0
RUNS_SECONDS = 180.0


@dataclass
class City:
    """What the fixture set up: the server's API, the project database, the ward files."""

    api_url: str
    project_url: str
    data_dir: Path
    city: Path
    tenants: list[str]
    logs: Path


def _admin() -> sa.Engine:
    return make_engine(PG_URL, connect_args={"connect_timeout": 3}, isolation_level="AUTOCOMMIT")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process: this one's, without any PREFECT_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.update(extra)
    return env


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    """Stop children and what they started (each its own process group, by id), all at once.

    Nothing is running by now, so a short grace is enough before SIGKILL.
    """
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        alive = [p for p in procs if p.poll() is None]
        for proc in alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        deadline = time.monotonic() + wait
        for proc in alive:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _wait_healthy(api_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prefect server exited ({server.returncode}):\n{_tail(log)}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {STARTUP_SECONDS:g} s:\n{_tail(log)}")


CITY_FILE = """\
city: scale-city
name: Thành phố Thử Tải
organizations:
  - wards/*.yaml
officials:
  - id: trieu.thi.kim.oanh
    full_name: Triệu Thị Kim Oanh
    title: Chuyên viên Phòng Cải cách hành chính, Sở Nội vụ
    roles: [city_official]
    email: trieu.thi.kim.oanh@sonoivu.example
"""


def _city_file(folder: Path) -> tuple[Path, list[Path]]:
    """A city file over WARDS copies of the sample ward, each its own tenant and name."""
    sample = (DEFINITIONS / "organizations" / "phu-lien.yaml").read_text(encoding="utf-8")
    for line in ("tenant: phuong-phu-lien", "name: Phường Phù Liễn"):
        assert re.search(f"^{line}$", sample, flags=re.MULTILINE), line
    (folder / "wards").mkdir()
    paths = []
    for i in range(1, WARDS + 1):
        path = folder / "wards" / f"ward-{i}.yaml"
        text = sample.replace("tenant: phuong-phu-lien", f"tenant: scale-ward-{i}")
        path.write_text(
            text.replace("name: Phường Phù Liễn", f"name: Phường Thử {i}"), encoding="utf-8"
        )
        paths.append(path)
    city = folder / "city.yaml"
    city.write_text(CITY_FILE, encoding="utf-8")
    return city, paths


def _seed(project_url: str, data_dir: Path, organization: Path) -> str:
    """TASKS_PER_WARD tasks due 23/02/2026 in the ward; its tenant."""
    ws = Workspace.open(
        Settings(data_dir=data_dir, database_url=project_url), organization=organization
    )
    try:
        with unit_of_work(ws.sessions) as session:
            for n in range(1, TASKS_PER_WARD + 1):
                ws.engine.create(
                    session,
                    "task",
                    actor=ws.actor("nguyen.thi.lan"),
                    ref=f"KH-2026/NV-0{n}",
                    data={
                        "plan": "KH-2026",
                        "code": f"NV-0{n}",
                        "title": "Rà soát TTHC",
                        "expected_product": "Báo cáo",
                        "owner_unit": "kt",
                        "owner_unit_name": "Phòng Kinh tế, Hạ tầng và Đô thị",
                        "support_units": [],
                        "deadline": "2026-02-23",
                        "deadline_text": "23/02/2026",
                        "criteria": [],
                    },
                )
        return ws.tenant
    finally:
        ws.close()


@pytest.fixture
def city(tmp_path: Path) -> Iterator[City]:
    """A Prefect server on its own PostgreSQL database, two workers, a seeded city; torn down."""
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI (CI=true): {exc.orig}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {exc.orig}")
    uid = uuid.uuid4().hex[:10]
    prefect_db, schema = f"cchc_prefect_{uid}", f"cchc_scale_{uid}"
    home, logs, data_dir = tmp_path / "prefect-home", tmp_path / "logs", tmp_path / "data"
    for folder in (home, logs, data_dir):
        folder.mkdir()
    with ExitStack() as cleanup:
        cleanup.callback(admin.dispose)
        # Prefect's own database: a fresh one, with the extension its server needs.
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{prefect_db}"'))
        cleanup.callback(_drop_database, admin, prefect_db)
        prefect_url = make_url(PG_URL).set(drivername="postgresql+asyncpg", database=prefect_db)
        ext = make_engine(
            prefect_url.set(drivername="postgresql+psycopg").render_as_string(False),
            isolation_level="AUTOCOMMIT",
        )
        with ext.connect() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        ext.dispose()
        # The project's data: a schema of the test database, migrated.
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        cleanup.callback(_drop_schema, admin, schema)
        separator = "&" if "?" in PG_URL else "?"
        project_url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
        project = make_engine(project_url)
        upgrade(project)
        project.dispose()
        city_file, organizations = _city_file(tmp_path)
        tenants = [_seed(project_url, data_dir, path) for path in organizations]

        port = _free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        server_env = _child_env(
            home,
            PREFECT_SERVER_DATABASE_CONNECTION_URL=prefect_url.render_as_string(False),
            PREFECT_SERVER_UI_ENABLED="false",
            PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        )
        server = _start(
            [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            server_env,
            logs / "server.log",
        )
        cleanup.callback(_stop, server)
        _wait_healthy(api_url, server, logs / "server.log")
        _create_pool(api_url)
        worker_env = _child_env(home, PREFECT_API_URL=api_url, PREFECT_WORKER_QUERY_SECONDS="1")
        workers: list[subprocess.Popen[bytes]] = []
        cleanup.callback(lambda: _stop(*workers))  # each worker as soon as it exists
        for name in WORKERS:  # a loop, not extend(): each worker is listed as soon as it starts
            workers.append(  # noqa: PERF401 - see the loop's comment
                _start(
                    [
                        str(PREFECT),
                        "worker",
                        "start",
                        "--pool",
                        POOL,
                        "--type",
                        "process",
                        "--name",
                        name,
                        "--limit",
                        str(WORKER_LIMIT),
                    ],
                    worker_env,
                    logs / f"{name}.log",
                )
            )
        yield City(api_url, project_url, data_dir, city_file, tenants, logs)


def _drop_database(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _drop_schema(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


def _create_pool(api_url: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))


def _wait_for(what: str, check: Any, city: City) -> Any:
    deadline = time.monotonic() + RUNS_SECONDS
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(1)
    logs = "\n".join(f"--- {p.name}\n{_tail(p)}" for p in sorted(city.logs.iterdir()))
    pytest.fail(f"{what} not done after {RUNS_SECONDS:g} s\n{logs}")


def test_two_workers_run_the_city_one_run_per_ward_at_a_time(city: City) -> None:
    """Two fan-outs at once: all ward runs complete on both workers, no ward's work overlaps."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterId,
    )
    from prefect.client.schemas.objects import FlowRun, TaskRun
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.deployments import apply_city

    started = time.monotonic()
    now = datetime(2026, 2, 13, 9, tzinfo=LOCAL_TZ).isoformat()
    parameters = {
        "database_url": city.project_url,
        "data_dir": str(city.data_dir),
        "system_actor": "tran.van.minh",
        "now": now,
    }
    with temporary_settings(updates={PREFECT_API_URL: city.api_url}):
        ids = apply_city("sweep", parameters, POOL, city=str(city.city), scheduled=False)
        ward_deployment, fanout_deployment = ids["ward-sweep/city"], ids["city-fanout/city-sweep"]
        with get_client(sync_client=True) as client:
            fanouts = [
                client.create_flow_run_from_deployment(uuid.UUID(fanout_deployment))
                for _ in range(2)
            ]

            def ward_runs() -> list[FlowRun] | None:
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(
                        id=DeploymentFilterId(any_=[uuid.UUID(ward_deployment)])
                    )
                )
                fan = [client.read_flow_run(f.id) for f in fanouts]
                done = all(r.state is not None and r.state.is_final() for r in [*runs, *fan])
                return runs if done and len(runs) == 2 * len(city.tenants) else None

            runs = _wait_for("the ward runs", ward_runs, city)
            fanout_runs = [client.read_flow_run(f.id) for f in fanouts]

            def work_intervals() -> list[TaskRun] | None:
                tasks = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in runs]))
                )
                tasks = [t for t in tasks if t.name.startswith("sweep-ward")]
                recorded = len(tasks) == len(runs) and all(t.end_time for t in tasks)
                return tasks if recorded else None

            states = {str(r.id): (r.state_name, r.state.message if r.state else "") for r in runs}
            assert all(name == "Completed" for name, _ in states.values()), states
            tasks = _wait_for("the task runs' records", work_intervals, city)
    elapsed = time.monotonic() - started

    assert {r.labels.get("prefect.worker.name") for r in runs} == set(WORKERS)
    tenant_of = {r.id: _tenant_tag(r.tags) for r in runs}
    assert sorted(tenant_of.values()) == sorted(city.tenants * 2)
    by_ward: dict[str, list[tuple[datetime, datetime]]] = {}
    for t in tasks:
        assert t.start_time is not None
        assert t.end_time is not None
        by_ward.setdefault(tenant_of[t.flow_run_id], []).append((t.start_time, t.end_time))
    for tenant, spans in by_ward.items():
        spans.sort()
        for (_, first_end), (second_start, _) in itertools.pairwise(spans):
            assert second_start >= first_end, f"two runs worked on {tenant} at once: {spans}"
    contended = sum(1 for tenant in city.tenants if _runs_overlap(runs, tenant_of, tenant))
    _print_timeline(fanout_runs, runs, tasks, tenant_of)
    assert contended >= 1, "no ward had two runs live at once: the exclusion was not exercised"

    project = make_engine(city.project_url)
    try:
        with project.connect() as conn, sa.orm.Session(bind=conn) as session:
            report = verify(session)
            notified_q = (
                sa.select(AuditEvent.tenant, sa.func.count())
                .where(AuditEvent.outcome == "notified")
                .group_by(AuditEvent.tenant)
            )
            notified = dict(session.execute(notified_q).tuples().all())
    finally:
        project.dispose()
    assert report.ok, [b.describe() for b in report.breaks]
    # Each reminder was sent once, though two runs swept every ward.
    assert notified == dict.fromkeys(city.tenants, TASKS_PER_WARD * REMINDERS_PER_TASK)
    print(
        f"\nscale-out: {len(runs)} ward runs on {len(WORKERS)} workers in {elapsed:.1f} s; "
        f"wards whose two runs were live at once: {contended}/{WARDS}"
    )


def _tenant_tag(tags: list[str]) -> str:
    (tag,) = [t for t in tags if t.startswith("ward:")]
    return tag.removeprefix("ward:")


def _runs_overlap(runs: list[Any], tenant_of: dict[Any, str], tenant: str) -> bool:
    spans = sorted((r.start_time, r.end_time) for r in runs if tenant_of[r.id] == tenant)
    return len(spans) == 2 and spans[1][0] < spans[0][1]


def _print_timeline(
    fanouts: list[Any], runs: list[Any], tasks: list[Any], tenant_of: dict[Any, str]
) -> None:
    """Each run's span, and each ward run's work (task), in seconds from the first fan-out."""
    origin = min(r.start_time for r in fanouts)
    work = {t.flow_run_id: t for t in tasks}
    print()
    for r in fanouts:
        print(
            f"  {'city-fanout':14} {r.labels.get('prefect.worker.name'):15} "
            f"run {(r.start_time - origin).total_seconds():5.1f}-"
            f"{(r.end_time - origin).total_seconds():5.1f} s"
        )
    for r in sorted(runs, key=lambda r: r.start_time):
        t = work[r.id]
        print(
            f"  {tenant_of[r.id]:14} {r.labels.get('prefect.worker.name'):15} "
            f"run {(r.start_time - origin).total_seconds():5.1f}-"
            f"{(r.end_time - origin).total_seconds():5.1f} s, work "
            f"{(t.start_time - origin).total_seconds():5.1f}-"
            f"{(t.end_time - origin).total_seconds():5.1f} s"
        )
