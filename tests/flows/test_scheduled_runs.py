"""Scheduled runs run: what ``cchc deploy`` registers, a real worker in another folder runs.

Like ``test_scale_out`` this test starts its own ``prefect server start`` (on a free port, its
own ``PREFECT_HOME``, Prefect's default SQLite database) and a process worker, here in an empty
folder of its own. The ward is set up as a user would, with the ``cchc`` command in a project
folder on the default data folder (``./var``, SQLite) or on a PostgreSQL schema: ``db upgrade``,
``plan issue``, ``deploy --work-pool … --sweep-as …``. Then ``prefect deployment run … --watch``
runs the review and the sweep. Everything is stopped and dropped afterwards, also on failure.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from cchc.migrations import upgrade
from tests.conftest import IN_CI, PG_URL
from tests.flows.test_scale_out import (
    PREFECT,
    _admin,
    _child_env,
    _drop_schema,
    _free_port,
    _start,
    _stop,
    _tail,
    _wait_healthy,
)
from workflows.database import make_engine

pytestmark = [pytest.mark.prefect]

REPO = Path(__file__).resolve().parents[2]
POOL = "cchc-scheduled-test"
PLAN = REPO / "examples" / "plan-phu-lien-2025-h2.yaml"  # KH-CCHC-2025-H2: 01/07 – 31/12/2025
FOCAL, CHAIR, ADMIN = "nguyen.thi.lan", "dang.van.thang", "tran.van.minh"
CCHC = Path(sys.executable).with_name("cchc")
RUN_SECONDS = "240"


@dataclass
class Server:
    """A Prefect server and one process worker, started in a folder without the project."""

    api_url: str
    home: Path
    logs: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``prefect server start`` on a free port, a process pool and a worker in an empty folder."""
    root = tmp_path_factory.mktemp("scheduled")
    home, logs, elsewhere = root / "prefect-home", root / "logs", root / "worker-folder"
    for folder in (home, logs, elsewhere):
        folder.mkdir()
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    with ExitStack() as cleanup:
        env = _child_env(
            home, PREFECT_SERVER_UI_ENABLED="false", PREFECT_SERVER_LOGGING_LEVEL="WARNING"
        )
        proc = _start(
            [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env,
            logs / "server.log",
        )
        cleanup.callback(_stop, proc)
        _wait_healthy(api_url, proc, logs / "server.log")
        client_env = _child_env(home, PREFECT_API_URL=api_url)
        subprocess.run(
            [str(PREFECT), "work-pool", "create", POOL, "--type", "process"],
            env=client_env,
            check=True,
            capture_output=True,
        )
        worker_env = _child_env(home, PREFECT_API_URL=api_url, PREFECT_WORKER_QUERY_SECONDS="1")
        worker = subprocess.Popen(
            [str(PREFECT), "worker", "start", "--pool", POOL, "--type", "process"],
            env=worker_env,
            cwd=elsewhere,
            stdout=(logs / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        cleanup.callback(_stop, worker)
        yield Server(api_url, home, logs)


@dataclass
class Ward:
    """The project folder the user works in, and the environment of their commands."""

    folder: Path
    env: dict[str, str]
    data_dir: Path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ward(request: pytest.FixtureRequest, server: Server, tmp_path: Path) -> Iterator[Ward]:
    """A project folder whose ward has the sample plan issued, on SQLite (./var) or PostgreSQL."""
    folder = tmp_path / "project"
    folder.mkdir()
    env = _child_env(server.home, PREFECT_API_URL=server.api_url)
    for name in ("CCHC_DATA_DIR", "CCHC_DATABASE_URL", "CCHC_ORGANIZATION", "CCHC_INDEX_SET"):
        env.pop(name, None)
    with ExitStack() as cleanup:
        if request.param == "postgresql":
            admin = _admin()
            cleanup.callback(admin.dispose)
            try:
                with admin.connect() as conn:
                    conn.execute(sa.text("select 1"))
            except sa.exc.OperationalError as exc:
                if IN_CI:
                    pytest.fail(f"PostgreSQL is required in CI (CI=true): {exc.orig}")
                pytest.skip(f"PostgreSQL unavailable: {exc.orig}")
            schema = f"cchc_sched_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            cleanup.callback(_drop_schema, admin, schema)
            separator = "&" if "?" in PG_URL else "?"
            env["CCHC_DATABASE_URL"] = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
            project = make_engine(env["CCHC_DATABASE_URL"])
            upgrade(project)
            project.dispose()
        else:
            _cchc(folder, env, "db", "upgrade")
        _cchc(folder, env, "plan", "issue", str(PLAN), "--as", FOCAL)
        yield Ward(folder, env, folder / "var")


def _cchc(folder: Path, env: dict[str, str], *args: str) -> str:
    """Run ``cchc ARGS`` in ``folder`` (whose ``var`` is the default data folder); its output."""
    done = subprocess.run(
        [str(CCHC), *args], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"cchc {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _run(server: Server, ward: Ward, deployment: str, now: str) -> tuple[int, str, str]:
    """``prefect deployment run DEPLOYMENT --watch`` (from the project folder); exit, output, id."""
    done = subprocess.run(
        [
            str(PREFECT),
            "deployment",
            "run",
            deployment,
            "--param",
            f"now={now}",
            "--watch",
            "--watch-timeout",
            RUN_SECONDS,
        ],
        cwd=ward.folder,
        env=ward.env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + done.stderr
    found = re.search(r"UUID: ([0-9a-f-]{36})", output)
    assert found, output
    return done.returncode, output, found.group(1)


def _explain(server: Server, output: str) -> str:
    return f"{output}\n--- worker\n{_tail(server.logs / 'worker.log', 60)}"


def test_deployed_review_and_sweep_complete_on_a_worker_elsewhere(
    server: Server, ward: Ward
) -> None:
    """`cchc deploy`'s review and sweep deployments end Completed on a worker in another folder."""
    # Registered from the project's checkout, as the README says, on the ward's data folder.
    env = {**ward.env, "CCHC_DATA_DIR": str(ward.data_dir)}
    out = _cchc(
        REPO,
        env,
        "deploy",
        "--plan",
        "KH-CCHC-2025-H2",
        "--as",
        FOCAL,
        "--chair",
        CHAIR,
        "--work-pool",
        POOL,
        "--sweep-as",
        ADMIN,
    )
    assert "review-monthly" in out, out
    assert "daily-sweep" in out, out

    code, output, _ = _run(server, ward, "monthly-review/review-monthly", "2025-12-01T07:00+07:00")
    assert code == 0, _explain(server, output)
    assert "'Completed'" in output, _explain(server, output)
    report = ward.data_dir / "review" / "2025-11" / "bao-cao-giao-ban-2025-11.docx"
    assert report.is_file(), sorted(p.name for p in (ward.data_dir / "review").rglob("*"))

    code, output, _ = _run(server, ward, "daily-sweep/daily-sweep", "2025-12-01T06:00+07:00")
    assert code == 0, _explain(server, output)
    assert "'Completed'" in output, _explain(server, output)
    assert list((ward.data_dir / "mail").rglob("*")), "the sweep delivered nothing"


def test_previous_month_after_the_plan_ended_is_not_reviewed(server: Server, ward: Ward) -> None:
    """A scheduled review after the plan's period says the plan ended and reviews nothing."""
    # Registered from the ward's folder on its default data folder, ./var: stored absolute.
    _cchc(
        ward.folder,
        ward.env,
        "deploy",
        "--plan",
        "KH-CCHC-2025-H2",
        "--as",
        FOCAL,
        "--chair",
        CHAIR,
        "--work-pool",
        POOL,
    )
    code, output, run_id = _run(
        server, ward, "monthly-review/review-monthly", "2026-03-01T07:00+07:00"
    )
    assert code == 0, _explain(server, output)
    assert "'Completed'" in output, _explain(server, output)
    logs = subprocess.run(
        [str(PREFECT), "flow-run", "logs", run_id],
        env=ward.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    said = [line for line in logs.splitlines() if "KH-CCHC-2025-H2" in line]
    assert said, logs
    assert "31/12/2025" in said[0], said
    assert "2026-02" in said[0], said
    assert not (ward.data_dir / "review" / "2026-02").exists()
    meetings = _cchc(
        ward.folder, ward.env, "audit", "query", "--as", ADMIN, "--kind", "meeting", "--json"
    )
    assert "2026-02" not in meetings
