"""Imports read what is there: a workbook whose stored size (``<dimension>``) understates its
rows and columns still gives every row and column (plans and metrics)."""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import Result

from cchc.cli import app
from cchc.commands import cycle_common
from cchc.metrics.values import check_metrics
from cchc.plan.loader import write_plan_xlsx
from tests.test_cli_cycle import FOCAL, Cli, Ticking, as_json, ok, runner
from tests.test_plan import SAMPLE, _check

REFS = pytest.mark.parametrize("ref", ["A1:B2", "A1:Z2"], ids=["columns-and-rows", "rows"])
"""Understated sizes: too few columns and rows (the problems name the wrong cause), too few
rows only (the rows past it were dropped silently)."""
UNITS = {"ttphc", "vp", "kt"}
METRICS = {"on_time_dossiers", "online_payment", "online_dossiers", "digitised", "complaints"}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`cchc --data-dir <tmp>/var ARGS…` on SQLite, in November 2025."""
    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 11, 3, 2, 0, tzinfo=UTC)))
    env = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(tmp_path / "var"), *args], env=env)

    return run


def understate(path: Path, ref: str = "A1:B2") -> Path:
    """Rewrite every worksheet's ``<dimension ref=…/>`` to ``ref`` (as a careless or hostile
    tool might), leaving the cells as they are."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    rewritten = 0
    for name, data in parts.items():
        if name.startswith("xl/worksheets/sheet") and name.endswith(".xml"):
            parts[name], count = re.subn(
                rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data
            )
            rewritten += count
    assert rewritten, "the workbook had no <dimension> to understate"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


@REFS
def test_plan_with_an_understated_dimension_reads_every_task(tmp_path: Path, ref: str) -> None:
    """A 12-task plan workbook claiming fewer rows still reads with 12 complete tasks."""
    plan, _ = _check(SAMPLE)
    assert plan is not None
    assert len(plan.tasks) == 12
    path = understate(write_plan_xlsx(plan, tmp_path / "kh.xlsx"), ref)
    again, problems = _check(path)
    assert problems == []
    assert again == plan


@REFS
def test_plan_with_an_understated_dimension_issues_every_task(
    cli: Cli, tmp_path: Path, ref: str
) -> None:
    """`plan issue` of that workbook issues all 12 tasks, not the 1 its dimension leaves."""
    plan, _ = _check(SAMPLE)
    assert plan is not None
    path = understate(write_plan_xlsx(plan, tmp_path / "kh.xlsx"), ref)
    ok(cli("db", "upgrade"))
    ok(cli("plan", "issue", str(path), "--as", FOCAL))
    tasks = as_json(cli("tasks", "list", "--plan", plan.code, "--as", FOCAL, "--json"))
    assert [t["code"] for t in tasks] == [t.code for t in plan.tasks]


@REFS
def test_metrics_with_an_understated_dimension_read_every_row(tmp_path: Path, ref: str) -> None:
    """A 15-row metric workbook claiming to be A1:B2 gives 15 values with every column."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Mã đơn vị", "Kỳ", "Chỉ số", "Tử số", "Mẫu số", "Nguồn"])
    rows = [
        (unit, "2025-H2", metric, n, 100, "Cổng DVC")
        for n, (unit, metric) in enumerate(
            ((u, m) for u in sorted(UNITS) for m in sorted(METRICS)), 1
        )
    ]
    for row in rows:
        sheet.append(list(row))
    path = tmp_path / "chi-so.xlsx"
    book.save(path)
    understate(path, ref)
    values, problems = check_metrics(
        path, known_units=UNITS, known_metrics=METRICS, period="2025-H2"
    )
    assert problems == []
    assert values is not None
    assert len(values) == len(rows) == 15
    assert [(v.unit, v.metric, int(v.numerator), v.source) for v in values] == [
        (unit, metric, n, source) for unit, _, metric, n, _, source in rows
    ]
