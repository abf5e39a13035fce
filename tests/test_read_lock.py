"""Readers do not take the write lock (SQLite): an inspector's query runs while a writer works,
and sees only what was committed; writers still start with BEGIN IMMEDIATE."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import Result

from cchc.cli import app
from cchc.commands import cycle_common
from cchc.settings import resolve_settings
from cchc.workspace import Workspace
from tests.test_cli_cycle import (
    FOCAL,
    INSPECTOR,
    KT_OFFICIAL,
    PLAN,
    PLAN_YAML,
    Cli,
    Ticking,
    as_json,
    ok,
    runner,
)
from workflows.database import unit_of_work

PATIENCE = 10.0
"""Seconds a read may take here; the busy timeout a reader behind the write lock waits is 30."""


@pytest.fixture
def ward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Cli, Path]:
    """`cchc` on a SQLite file in November 2025 with the small plan issued; and its data dir."""
    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 11, 3, 2, 0, tzinfo=UTC)))
    env = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}
    folder = tmp_path / "var"

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(folder), *args], env=env)

    plan = tmp_path / "ke-hoach.yaml"
    plan.write_text(PLAN_YAML, encoding="utf-8")
    ok(run("db", "upgrade"))
    ok(run("plan", "issue", str(plan), "--as", FOCAL))
    return run, folder


def _task_id(ws: Workspace, code: str) -> int:
    from workflows.schema import Instance

    with ws.sessions() as session:
        return int(
            session.scalars(
                sa.select(Instance.id).where(
                    Instance.tenant == ws.tenant, Instance.ref == f"{PLAN}/{code}"
                )
            ).one()
        )


class Writer:
    """A thread that starts task NV-01 in a write transaction and holds it open until told."""

    def __init__(self, folder: Path) -> None:
        self.ws = Workspace.open(resolve_settings(data_dir=folder))
        self.task = _task_id(self.ws, "NV-01")
        self.holding, self.release = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._write)

    def _write(self) -> None:
        try:
            with unit_of_work(self.ws.sessions) as session:
                self.ws.engine.fire(session, self.task, "start", actor=self.ws.actor(KT_OFFICIAL))
                session.flush()
                self.holding.set()
                assert self.release.wait(120), "the test never released the writer"
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.holding.set()

    def __enter__(self) -> Writer:
        self.thread.start()
        assert self.holding.wait(30), "the writer did not start"
        assert self.error is None, self.error
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self.thread.join(60)
        self.ws.close()
        assert self.error is None, self.error


def _timed(cli: Cli, *args: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = cli(*args)
    return result, time.monotonic() - started


def test_inspector_reads_while_a_writer_holds_the_lock(ward: tuple[Cli, Path]) -> None:
    """`audit query`, `audit verify` and `tasks list` finish at once beside an open write
    transaction, and show what was committed before it, not the write in progress."""
    cli, folder = ward
    with Writer(folder):
        queried, query_time = _timed(cli, "audit", "query", "--as", INSPECTOR, "--json")
        listed, list_time = _timed(
            cli, "tasks", "list", "--plan", PLAN, "--as", INSPECTOR, "--json"
        )
        verified, verify_time = _timed(cli, "audit", "verify", "--as", INSPECTOR)
        for result, seconds in (
            (queried, query_time),
            (listed, list_time),
            (verified, verify_time),
        ):
            assert result.exit_code == 0, result.output
            assert seconds < PATIENCE, f"a read waited {seconds:.1f} s behind the writer"
        assert "start" not in {e["trigger"] for e in as_json(queried)}
        assert {t["code"]: t["state"] for t in as_json(listed)}["NV-01"] == "assigned"
    after = as_json(cli("tasks", "list", "--plan", PLAN, "--as", INSPECTOR, "--json"))
    assert {t["code"]: t["state"] for t in after}["NV-01"] == "in_progress"
    assert "start" in {
        e["trigger"] for e in as_json(cli("audit", "query", "--as", INSPECTOR, "--json"))
    }


def test_a_second_writer_still_waits_for_the_first(ward: tuple[Cli, Path]) -> None:
    """A write beside an open write transaction waits for it (BEGIN IMMEDIATE) and then succeeds
    on the committed state, rather than failing as a deferred upgrade would."""
    cli, folder = ward
    with Writer(folder) as writer:
        done: list[Result] = []
        second = threading.Thread(
            target=lambda: done.append(
                cli(
                    "tasks",
                    "fire",
                    f"{PLAN}/NV-01",
                    "submit_product",
                    "--as",
                    KT_OFFICIAL,
                    "--product",
                    "Báo cáo số 1",
                )
            )
        )
        second.start()
        time.sleep(1.0)
        assert not done, "the second writer did not wait for the first"
        assert writer.thread.is_alive()
    second.join(60)
    assert done[0].exit_code == 0, done[0].output
    states = {
        t["code"]: t["state"]
        for t in as_json(cli("tasks", "list", "--plan", PLAN, "--as", INSPECTOR, "--json"))
    }
    assert states["NV-01"] == "product_submitted"
