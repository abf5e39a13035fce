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
from workflows.definition import yamlpos
from workflows.errors import Problem
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
        (tmp_path / "roles.yaml").write_text((DEFINITIONS / "roles.yaml").read_text("utf-8"),
                                             encoding="utf-8")  # fmt: skip
        folder = tmp_path / "workflows"
        folder.mkdir()
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, ["--data-dir", str(tmp_path / "var"), *args],
                         env={**ENV, **(env or {})})  # fmt: skip


def test_the_billion_laughs_is_refused_fast_without_expanding() -> None:
    """The 1.2 KB alias bomb stops at the value limit in well under two seconds."""
    assert len(BILLION_LAUGHS) < 1300
    started = time.perf_counter()
    with pytest.raises(yamlpos.YamlLimitError) as raised:
        yamlpos.load_located(BILLION_LAUGHS)
    assert time.perf_counter() - started < 2
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
    ids=lambda c: " ".join(c),
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
    ids=lambda c: " ".join(c),
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
    assert yamlpos.parse_mapping_file(sample, "x", _codes(), problems) is None
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
    assert re.search(r"big\.yaml:1: CCHC-L001 the file is [\d,]+ bytes, above the limit of "
                     r"100,000 bytes \(CCHC_MAX_FILE_BYTES\)", result.output)  # fmt: skip
    assert result.output.count("CCHC-L001") == 1


def _codes() -> yamlpos.FileCodes:
    return yamlpos.FileCodes("X001", "X002", "X003", "hint")
