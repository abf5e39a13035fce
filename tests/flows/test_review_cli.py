"""`cchc --tenant … review run` and `… sweep`: the flows run on the ward the command names."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import Result

from cchc.commands import cycle_common
from tests.test_cli_cycle import PLAN, PLAN_YAML, Cli, Ticking, as_json, ok, runner

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]

TIEN_LANG = "xa-tien-lang"
FOCAL = "hoang.van.phuc"
"""Tiên Lãng's reform focal official (not a person of the default Phù Liễn file)."""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run `cchc --data-dir <tmp>/var ARGS…` on SQLite with the sample city, in November 2025."""
    from cchc.cli import app

    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 11, 3, 2, 0, tzinfo=UTC)))
    folder = tmp_path / "var"
    env = {
        "CCHC_DATABASE_URL": "",
        "CCHC_ORGANIZATION": "",
        "CCHC_INDEX_SET": "",
        "CCHC_CITY": "",
        "CCHC_TENANT": "",
    }

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(folder), *args], env=env)

    return run


@pytest.fixture
def issued(cli: Cli, tmp_path: Path) -> Cli:
    """Xã Tiên Lãng has issued the test plan (its own file, in the shared database)."""
    plan = tmp_path / "plan-tien-lang.yaml"
    plan.write_text(
        PLAN_YAML.replace("tenant: phuong-phu-lien", f"tenant: {TIEN_LANG}"), encoding="utf-8"
    )
    ok(cli("db", "upgrade"))
    ok(cli("--tenant", TIEN_LANG, "plan", "issue", str(plan), "--as", FOCAL))
    return cli


def test_review_run_uses_the_tenant_of_the_command(issued: Cli, tmp_path: Path) -> None:
    """`--tenant xa-tien-lang review run` reviews Tiên Lãng's plan with Tiên Lãng's people."""
    out = tmp_path / "review"
    result = as_json(
        issued(
            "--tenant",
            TIEN_LANG,
            "review",
            "run",
            "--plan",
            PLAN,
            "--month",
            "2025-11",
            "--as",
            FOCAL,
            "--out",
            str(out),
            "--json",
        )
    )
    assert result["conclusions"] > 0
    files = [Path(f) for f in result["files"]]
    assert files
    assert all(f.is_file() and f.parent == out / "2025-11" for f in files)
    report = next(f for f in files if f.suffix == ".html").read_text(encoding="utf-8")
    assert "Xã Tiên Lãng" in report
    assert "Phù Liễn" not in report


def test_review_run_with_an_unknown_chair_is_a_clear_error(issued: Cli, tmp_path: Path) -> None:
    """An unknown --chair exits with a did-you-mean message before the flow, not a traceback."""
    result = issued(
        "--tenant",
        TIEN_LANG,
        "review",
        "run",
        "--plan",
        PLAN,
        "--month",
        "2025-11",
        "--as",
        FOCAL,
        "--chair",
        "doan.van.nm",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 2, result.output
    assert "--chair: no person 'doan.van.nm' in xa-tien-lang" in result.output
    assert "doan.van.nam" in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, LookupError)


def test_sweep_uses_the_tenant_of_the_command(issued: Cli) -> None:
    """`--tenant xa-tien-lang sweep` sweeps Tiên Lãng as its own administrator: its plan's
    notifications go out."""
    result = ok(issued("--tenant", TIEN_LANG, "sweep", "--as", "ong.thi.thuy"))
    sent = re.search(r"; (\d+) thư đã gửi", result.output)
    assert sent is not None, result.output
    assert int(sent.group(1)) > 0
