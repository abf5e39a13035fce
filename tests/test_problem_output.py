"""A check prints the first problems and counts the rest, and prints JSON with --json when the
file has problems too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_cli_cycle import FOCAL, PLAN, Cli, cli, issued, ok, plan_file  # noqa: F401
from tests.test_input_limits import place, run

runner = CliRunner()

HEADER = "Mã đơn vị,Kỳ,Chỉ số,Tử số,Mẫu số,Nguồn\n"


def bad_metrics(tmp_path: Path, rows: int) -> Path:
    """A metrics CSV whose every row names an unknown unit: one problem per row."""
    path = tmp_path / "metrics.csv"
    path.write_text(
        HEADER + "".join(f"u{n},2025-H2,on_time_dossiers,1,2,x\n" for n in range(rows)),
        encoding="utf-8",
    )
    return path


def test_only_the_first_50_problems_are_printed_then_a_count(tmp_path: Path) -> None:
    """120 bad rows print 50 problem lines, "… and 70 more", and the full count."""
    result = run(tmp_path, "metrics", "check", str(bad_metrics(tmp_path, 120)))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert sum(" CCHC-M003 " in line for line in lines) == 50
    assert "… and 70 more" in lines[-1]
    assert "120 problem(s) found." in result.stderr


def test_the_number_of_problems_printed_is_configurable(tmp_path: Path) -> None:
    """CCHC_MAX_PROBLEMS_SHOWN=5 prints 5 problems and counts the other 7."""
    result = run(
        tmp_path,
        "metrics",
        "check",
        str(bad_metrics(tmp_path, 12)),
        env={"CCHC_MAX_PROBLEMS_SHOWN": "5"},
    )
    assert result.stdout.count(" CCHC-M003 ") == 5
    assert "… and 7 more" in result.stdout


def _json_problems(stdout: str) -> dict[str, object]:
    data = json.loads(stdout)
    assert data["ok"] is False
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "command",
    [["org", "check"], ["plan", "check"], ["index-set", "check"], ["definitions", "check"]],
    ids=" ".join,
)
def test_check_json_on_a_bad_file_is_json(tmp_path: Path, command: list[str]) -> None:
    """`check --json` on a file with problems prints only JSON (each problem with its file,
    line and code) and exits 1."""
    bad = place(tmp_path, command, "bad.yaml", "kind: x\nunits: " + "[" * 100 + "]" * 100 + "\n")
    result = run(tmp_path, *command, str(bad), "--json")
    assert result.exit_code == 1, result.output
    data = _json_problems(result.stdout)
    problems = data["problems"]
    assert isinstance(problems, list)
    assert {"file", "line", "code", "message", "hint"} <= set(problems[0])
    assert "CCHC-L002" in {p["code"] for p in problems}
    assert data["total"] == len(problems)


def test_metrics_check_json_caps_the_problems_and_counts_them(tmp_path: Path) -> None:
    """`metrics check --json` with 120 bad rows gives 50 problems, total 120, omitted 70."""
    result = run(tmp_path, "metrics", "check", str(bad_metrics(tmp_path, 120)), "--json")
    assert result.exit_code == 1
    data = _json_problems(result.stdout)
    assert (len(data["problems"]), data["total"], data["omitted"]) == (50, 120, 70)  # type: ignore[arg-type]


def test_metrics_import_and_score_run_json_on_a_bad_file_is_json(
    issued: Cli,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`metrics import --json` and `score run --json` on bad files print JSON problems, exit 1,
    and say nothing was written."""
    result = issued(
        "metrics",
        "import",
        str(bad_metrics(tmp_path, 3)),
        "--period",
        "2025-H2",
        "--as",
        FOCAL,
        "--json",
    )
    assert result.exit_code == 1, result.output
    data = _json_problems(result.stdout)
    assert (data["written"], data["total"]) == (False, 3)
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text('"9.9.9": {value: 5}\n', encoding="utf-8")
    result = issued(
        "score", "run", "--plan", PLAN, "--as", FOCAL, "--inputs", str(inputs), "--json"
    )
    assert result.exit_code == 1, result.output
    data = _json_problems(result.stdout)
    assert [p["code"] for p in data["problems"]] == ["CCHC-S004"]  # type: ignore[attr-defined]
    ok(issued("plan", "check", str(tmp_path / "ke-hoach.yaml"), "--json"))
