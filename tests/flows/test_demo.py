"""`cchc demo`: the approval cycle, a refused attempt and the batch flow, on a fresh SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cchc.cli import app
from cchc.demo import DRAFTS, REVIEWED, run_demo
from workflows.database import make_engine, sqlite_url

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()


def _states(folder: Path) -> dict[str, int]:
    engine = make_engine(sqlite_url(folder))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select state, count(*) from instances group by state"))
        states = dict(rows.tuples().all())
        refused = conn.execute(
            sa.text("select count(*) from audit_events where outcome = 'refused'")
        ).scalar_one()
    engine.dispose()
    return {**states, "refused": refused}


def test_demo_runs_the_cycle_and_the_flow(tmp_path: Path) -> None:
    """The demo accepts, rejects, audits two refusals, submits every draft and verifies."""
    folder = tmp_path / "var"
    assert run_demo(folder, batch_size=10) == 0
    assert _states(folder) == {
        "accepted": len(REVIEWED), "rejected": 1, "submitted": DRAFTS, "refused": 2,
    }  # fmt: skip
    result = runner.invoke(app, ["--data-dir", str(folder), "audit", "verify"],
                           env={"CCHC_DATABASE_URL": ""})  # fmt: skip
    assert result.exit_code == 0, result.output


def test_demo_runs_again_but_keeps_foreign_data(tmp_path: Path) -> None:
    """A second demo replaces its own database; a database it did not make is left alone."""
    folder = tmp_path / "var"
    assert run_demo(folder, batch_size=50) == 0
    assert run_demo(folder, batch_size=50) == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "cchc.sqlite3").write_bytes(b"not the demo's")
    assert run_demo(other) == 2
    assert (other / "cchc.sqlite3").read_bytes() == b"not the demo's"
