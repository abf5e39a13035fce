"""Hostile data files (alias bombs, deep nesting, oversize files) give one clear problem each,
with its code and file:line, fast; never a traceback, never an expansion."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from cchc.cli import app
from tests.conftest import DEFINITIONS
from workflows import datafile
from workflows.definition import yamlpos
from workflows.errors import DefinitionError, Problem
from workflows.limits import FileTooLargeError, limits, read_text

runner = CliRunner()
ENV = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def deep_flow(levels: int) -> str:
    """A mapping whose value is ``levels`` nested flow lists on line 2."""
    return "kind: x\nunits: " + "[" * levels + "]" * levels + "\n"


def deep_block(levels: int) -> str:
    """``levels`` nested block mappings, one per line, starting on line 2."""
    return (
        "kind: x\n" + "".join("  " * i + f"k{i}:\n" for i in range(levels)) + "  " * levels + "v\n"
    )


def place(tmp_path: Path, command: list[str], name: str, text: str) -> Path:
    """Write ``text`` where ``command`` reads it: a definition goes in a ``workflows/`` folder
    beside the shipped roles.yaml."""
    folder = tmp_path
    if command[0] == "definitions":
        (tmp_path / "roles.yaml").write_text(
            (DEFINITIONS / "roles.yaml").read_text("utf-8"), encoding="utf-8"
        )
        folder = tmp_path / "workflows"
        folder.mkdir()
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(
        app, ["--data-dir", str(tmp_path / "var"), *args], env={**ENV, **(env or {})}
    )


def test_the_billion_laughs_is_refused_fast_without_expanding() -> None:
    """The billion laughs (9 aliases of 9, 387 million values) is refused from its measured
    size, before anything is built: in well under half a second."""
    started = time.perf_counter()
    with pytest.raises(yamlpos.YamlLimitError) as raised:
        yamlpos.load_located(BILLION_LAUGHS)
    assert time.perf_counter() - started < 0.5
    assert raised.value.code == "CCHC-L003"
    assert "aliases" in str(raised.value)


def test_the_value_limit_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    """CCHC_MAX_YAML_NODES lowers the value limit: 35 values are refused under 20."""
    text = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: [*a, *a]\n"
    assert yamlpos.load_located(text).nodes == 35
    monkeypatch.setenv("CCHC_MAX_YAML_NODES", "20")
    with pytest.raises(yamlpos.YamlLimitError):
        yamlpos.load_located(text)


@pytest.mark.parametrize("levels", [500, 5000])
@pytest.mark.parametrize("shape", [deep_flow, deep_block], ids=["flow", "block"])
@pytest.mark.parametrize("fast", [True, False], ids=["libyaml", "pyyaml"])
def test_deep_nesting_is_a_limit_error_with_its_line(
    levels: int, shape: object, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nesting past the depth limit raises YamlLimitError (CCHC-L002) on the line where the
    limit is crossed, with either parser, never RecursionError."""
    if not fast:
        monkeypatch.setattr(yamlpos, "_FAST_LOADER", yaml.SafeLoader)
    text = shape(levels)  # type: ignore[operator]
    with pytest.raises(yamlpos.YamlLimitError) as raised:
        yamlpos.load_located(text)
    assert raised.value.code == "CCHC-L002"
    mark = raised.value.problem_mark
    assert mark is not None
    expected = 2 if shape is deep_flow else 2 + limits().yaml_depth
    assert mark.line + 1 == expected


@pytest.mark.parametrize("shape", [deep_flow, deep_block], ids=["flow", "block"])
@pytest.mark.parametrize(
    "command",
    [["org", "check"], ["plan", "check"], ["index-set", "check"], ["definitions", "check"]],
    ids=" ".join,
)
def test_every_check_command_reports_deep_nesting_as_a_problem(
    tmp_path: Path, command: list[str], shape: object
) -> None:
    """A YAML file nested 500 deep is one CCHC-L002 problem at file:line, exit 1, no traceback."""
    bad = place(tmp_path, command, "deep.yaml", shape(500))  # type: ignore[operator]
    result = run(tmp_path, *command, str(bad))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, RecursionError)
    assert re.search(r"deep\.yaml:\d+: CCHC-L002 nested more than 64 levels deep", result.output)


@pytest.mark.parametrize(
    "command",
    [["org", "check"], ["plan", "check"], ["index-set", "check"], ["definitions", "check"]],
    ids=" ".join,
)
def test_every_check_command_refuses_the_alias_bomb(tmp_path: Path, command: list[str]) -> None:
    """The billion laughs is one CCHC-L003 problem with its line, exit 1."""
    bad = place(tmp_path, command, "bomb.yaml", BILLION_LAUGHS)
    result = run(tmp_path, *command, str(bad))
    assert result.exit_code == 1, result.output
    assert re.search(r"bomb\.yaml:\d+: CCHC-L003 more than 100,000 values", result.output)


def test_a_file_over_the_size_limit_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above CCHC_MAX_FILE_BYTES a file is refused before it is read, saying its size."""
    sample = DEFINITIONS / "organizations" / "phu-lien.yaml"
    monkeypatch.setenv("CCHC_MAX_FILE_BYTES", "1000")
    with pytest.raises(FileTooLargeError, match=r"above the limit of 1,000 bytes"):
        read_text(sample)
    problems: list[Problem] = []
    assert datafile.parse_mapping_file(sample, "x", _codes(), problems) is None
    assert [(p.line, p.code) for p in problems] == [(1, "CCHC-L001")]


@pytest.mark.parametrize(
    ("command", "sample"),
    [
        (["org", "check"], "organizations/phu-lien.yaml"),
        (["index-set", "check"], "index-sets/par-2025-ward-sample.yaml"),
        (["definitions", "check"], "workflows/evidence.yaml"),
        (["plan", "check"], None),
    ],
    ids=["org", "index-set", "definitions", "plan"],
)
def test_every_check_command_refuses_an_oversize_file(
    tmp_path: Path, command: list[str], sample: str | None
) -> None:
    """A file above the configured size (a valid file padded with a comment) is one CCHC-L001
    problem on line 1, while the shipped files under the limit are read."""
    text = (DEFINITIONS / sample).read_text("utf-8") if sample else "a: 1\n"
    path = place(tmp_path, command, "big.yaml", text + "# " + "x" * 100_000 + "\n")
    result = run(tmp_path, *command, str(path), env={"CCHC_MAX_FILE_BYTES": "100000"})
    assert result.exit_code == 1, result.output
    assert re.search(
        r"big\.yaml:1: CCHC-L001 the file is [\d,]+ bytes, above the limit of "
        r"100,000 bytes \(CCHC_MAX_FILE_BYTES\)",
        result.output,
    )
    assert result.output.count("CCHC-L001") == 1


def _codes() -> datafile.FileCodes:
    return datafile.FileCodes("X001", "X002", "X003", "hint")


METRIC_ROWS = [
    ("ttphc", "2025-H2", "on_time_dossiers", 980, 1000, "x"),
    ("ttphc", "2025-H2", "online_payments", 450, 600, "x"),
    ("kt", "2025-H2", "online_payments", 45, 60, "x"),
]
METRIC_HEADER = ("Mã đơn vị", "Kỳ", "Chỉ số", "Tử số", "Mẫu số", "Nguồn")


def metrics_file(tmp_path: Path, suffix: str) -> Path:
    """Three valid metric rows as CSV or XLSX."""
    path = tmp_path / f"metrics{suffix}"
    if suffix == ".csv":
        lines = [",".join(map(str, row)) for row in [METRIC_HEADER, *METRIC_ROWS]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [METRIC_HEADER, *METRIC_ROWS]:
        sheet.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_metrics_file_over_the_row_limit_stops_at_the_limit(tmp_path: Path, suffix: str) -> None:
    """With CCHC_MAX_ROWS=2, three data rows are one CCHC-L004 problem at the third (line 4);
    with the default limit the same file is valid."""
    path = metrics_file(tmp_path, suffix)
    assert run(tmp_path, "metrics", "check", str(path)).exit_code == 0
    result = run(tmp_path, "metrics", "check", str(path), env={"CCHC_MAX_ROWS": "2"})
    assert result.exit_code == 1
    assert re.search(r"metrics\.\w+:4: CCHC-L004 more than 2 data rows", result.stdout)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_metrics_file_over_the_size_limit_is_not_read(tmp_path: Path, suffix: str) -> None:
    """A metrics file above CCHC_MAX_FILE_BYTES is one CCHC-L001 problem (not opened)."""
    path = metrics_file(tmp_path, suffix)
    path.write_bytes(path.read_bytes() + b" " * 200_000)  # above every definition file
    limit = str(path.stat().st_size - 1)
    result = run(tmp_path, "metrics", "check", str(path), env={"CCHC_MAX_FILE_BYTES": limit})
    assert result.exit_code == 1
    assert re.search(r"metrics\.\w+:1: CCHC-L001 the file is [\d,]+ bytes", result.stdout)


@pytest.fixture
def plan_xlsx(tmp_path: Path) -> Path:
    """The plan template with its three sample tasks (rows 2 … 4 of the task sheet)."""
    path = tmp_path / "plan.xlsx"
    assert run(tmp_path, "plan", "template", str(path)).exit_code == 0
    assert run(tmp_path, "plan", "check", str(path)).exit_code == 0
    return path


def test_a_plan_workbook_over_the_row_limit_stops_at_the_limit(
    tmp_path: Path, plan_xlsx: Path
) -> None:
    """With CCHC_MAX_ROWS=2 the third task row is one CCHC-L004 problem on row 4."""
    result = run(tmp_path, "plan", "check", str(plan_xlsx), env={"CCHC_MAX_ROWS": "2"})
    assert result.exit_code == 1
    assert re.search(r"plan\.xlsx\[Nhiệm vụ\]:4: CCHC-L004 more than 2 data rows", result.stdout)


def test_a_plan_over_the_task_limit_is_refused(tmp_path: Path, plan_xlsx: Path) -> None:
    """With CCHC_MAX_PLAN_TASKS=2, a 3-task plan (XLSX or YAML) is one CCHC-L005 problem at the
    first task past the limit, before any task is checked or issued."""
    result = run(tmp_path, "plan", "check", str(plan_xlsx), env={"CCHC_MAX_PLAN_TASKS": "2"})
    assert result.exit_code == 1
    assert re.search(r"row 4:4: CCHC-L005 the plan has 3 tasks, more than 2", result.stdout)
    from tests.test_cli_cycle import PLAN_YAML

    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN_YAML, encoding="utf-8")
    result = run(tmp_path, "plan", "check", str(plan), env={"CCHC_MAX_PLAN_TASKS": "2"})
    assert result.exit_code == 1
    line = PLAN_YAML.splitlines().index("  - code: NV-03") + 1
    assert f"plan.yaml:{line}: CCHC-L005 the plan has 3 tasks, more than 2" in result.stdout


def test_a_limit_that_is_not_a_number_is_a_clear_error(tmp_path: Path) -> None:
    """CCHC_MAX_ROWS=abc stops the command with a message naming the variable."""
    result = run(
        tmp_path,
        "metrics",
        "check",
        str(metrics_file(tmp_path, ".csv")),
        env={"CCHC_MAX_ROWS": "abc"},
    )
    assert result.exit_code == 2
    assert "CCHC_MAX_ROWS='abc' is not a whole number" in result.output


def test_the_task_deadline_policy_is_read_within_the_limits(tmp_path: Path) -> None:
    """task-deadlines.yaml nested 500 deep is one CCHC-L002 problem at its line (raised as
    DefinitionError, as every data file's problems are), not a RecursionError."""
    from cchc.plan.deadlines import load_policy

    path = tmp_path / "task-deadlines.yaml"
    path.write_text("reminders: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="nested more than 64 levels") as raised:
        load_policy(path)
    assert [(p.line, p.code) for p in raised.value.problems] == [(1, "CCHC-L002")]


def test_docs_list_every_limit_with_its_variable_and_default() -> None:
    """docs/limits.md has a row per limit: its environment variable and its default value."""
    from dataclasses import fields

    from cchc.settings import ENV
    from tests.conftest import ROOT
    from workflows.limits import Limits

    text = (ROOT / "docs" / "limits.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[3].strip(" `"): line
        for line in text.splitlines()
        if line.startswith("| ") and line.count("|") == 5
    }
    for field in fields(Limits):
        if field.name == "settings":
            continue
        row = rows[ENV[field.name]]
        assert f"{field.default:,}" in row or f"| {field.default} " in row, row
