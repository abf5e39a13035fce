"""One reader for every data file: each file parsed once, each problem code with one meaning."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cchc.city.model import check_city
from cchc.indexset.loader import check_index_set_text, load_index_set
from cchc.indexset.models import IndexSet
from cchc.organization.model import check_organization
from cchc.plan.deadlines import load_policy
from cchc.plan.loader import check_plan
from cchc.ranking.emulation import check_emulation_config
from cchc.scoring.inputs import check_inputs
from cchc.vietnam import CALENDAR_LOCALE
from tests.conftest import DEFINITIONS, ROOT
from workflows import datafile
from workflows.calendar import check_calendar
from workflows.datafile import DataFile, FileCodes, Reading, parse_counts
from workflows.definition.loader import ROLE_FILE
from workflows.errors import DefinitionError, Problem

Read = Callable[[Path], tuple[Any, list[Problem]]]

SOURCES = ("cchc", "workflows", "flows", "notifications")
CODE = re.compile(r"\bCCHC-[A-Z]\d{3}\b")
ROW = re.compile(r"^\| (CCHC-[A-Z]\d{3}) \|")
"""A row that defines a code: its first cell is the code alone."""
ROLES = frozenset(ROLE_FILE.load_file(DEFINITIONS / "roles.yaml", None).roles)


def _source_codes() -> dict[str, set[str]]:
    """Every problem code written in the source → the modules that write it."""
    found: dict[str, set[str]] = defaultdict(set)
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for code in CODE.findall(path.read_text(encoding="utf-8")):
                found[code].add(str(path.relative_to(ROOT)))
    return found


def _documented() -> dict[str, list[str]]:
    """Every code a docs/ table row defines → the files defining it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "docs").glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = ROW.match(line)
            if match:
                found[match[1]].append(path.name)
    return found


def test_every_problem_code_is_documented_once() -> None:
    """Each code the source writes has exactly one row in docs/ that says what it means."""
    documented = _documented()
    source = _source_codes()
    assert source, "no problem code found in the source"
    missing = {code: sorted(where) for code, where in source.items() if code not in documented}
    assert not missing, f"codes without a row in docs/: {missing}"
    twice = {code: files for code, files in documented.items() if len(files) > 1}
    assert not twice, f"codes defined by more than one row: {twice}"


def test_each_code_prefix_has_one_meaning() -> None:
    """All the codes of a prefix are defined in one docs/ file: no two kinds of file share
    a prefix (the calendar's and the city's codes once both were CCHC-C…)."""
    files_of: dict[str, set[str]] = defaultdict(set)
    for code, files in _documented().items():
        files_of[code.rstrip("0123456789")].update(files)
    shared = {prefix: sorted(files) for prefix, files in files_of.items() if len(files) > 1}
    assert not shared, f"prefixes defined in several files: {shared}"


def test_every_data_file_registers_its_own_prefix() -> None:
    """Each kind of data file holds a code prefix of its own, and its codes are documented."""
    owners = datafile.registered()
    expected = {
        "CCHC-C": "calendar file",
        "CCHC-D": "workflow definition",
        "CCHC-E": "emulation configuration",
        "CCHC-I": "index set",
        "CCHC-O": "organization file",
        "CCHC-P": "plan",
        "CCHC-S": "scoring inputs file",
        "CCHC-T": "task deadline policy",
        "CCHC-Y": "city file",
    }
    assert {prefix: owners.get(prefix) for prefix in expected} == expected
    documented = {code.rstrip("0123456789") for code in _documented()}
    assert set(owners) <= documented


def test_a_second_kind_of_file_cannot_take_a_prefix() -> None:
    """A data file claiming a prefix another kind already owns is refused when defined."""
    codes = FileCodes("CCHC-O901", "CCHC-O902", "CCHC-O903", "")
    with pytest.raises(ValueError, match="CCHC-O of another file is already used"):
        DataFile("another file", codes, _plain)


def _plain(reading: Reading[None]) -> object:
    return reading.data


def test_a_data_file_is_parsed_once_per_process(tmp_path: Path) -> None:
    """Reading the same file again reuses its parse; a changed file is parsed again."""
    path = tmp_path / "phu-lien.yaml"
    text = (DEFINITIONS / "organizations" / "phu-lien.yaml").read_text(encoding="utf-8")
    path.write_text(f"{text}# {uuid.uuid4()}: a text no other test has read\n", encoding="utf-8")
    before = parse_counts()
    first, problems = check_organization(path, ROLES)
    assert first is not None, problems
    after_first = parse_counts()
    second, _ = check_organization(path, ROLES)
    after_second = parse_counts()
    assert second == first
    assert after_first.parses == before.parses + 1
    assert after_second.parses == after_first.parses
    assert after_second.reuses == after_first.reuses + 1
    path.write_text(path.read_text(encoding="utf-8") + "extra: 1\n", encoding="utf-8")
    changed, problems = check_organization(path, ROLES)
    assert changed is None
    assert [p.code for p in problems] == ["CCHC-O002"]
    assert parse_counts().parses == after_second.parses + 1


def test_a_city_reads_each_organization_file_once() -> None:
    """Checking a city twice parses the city file and its organization files only once."""
    city = DEFINITIONS / "cities" / "hai-phong.yaml"
    first, problems = check_city(city, ROLES)
    assert first is not None, problems
    before = parse_counts()
    check_city(city, ROLES)
    after = parse_counts()
    assert after.parses == before.parses
    assert after.reuses == before.reuses + 1 + len(first.wards)


def test_the_shared_parse_is_not_changed_by_a_reader(tmp_path: Path) -> None:
    """A file whose unknown keys are dropped to go on checking still reads the same the next
    time (the parse kept for the process is never changed by a reader)."""
    path = tmp_path / "org.yaml"
    text = (DEFINITIONS / "organizations" / "phu-lien.yaml").read_text(encoding="utf-8")
    path.write_text(text + "extra: 1\n", encoding="utf-8")
    _, first = check_organization(path, ROLES)
    _, second = check_organization(path, ROLES)
    assert first == second
    assert [p.code for p in first] == ["CCHC-O002"]


@pytest.mark.parametrize(
    ("read", "text", "code"),
    [
        (lambda p: check_calendar(p, CALENDAR_LOCALE), "- 1\n", "CCHC-C005"),
        (check_emulation_config, "a: [\n", "CCHC-E001"),
        (lambda p: check_city(p, ROLES), "x: 1\nx: 2\n", "CCHC-Y004"),
        (lambda p: check_index_set_text(p.read_text(encoding="utf-8"), str(p)), "", "CCHC-I005"),
        (lambda p: check_plan(p, known_units=(), known_criteria=()), "[]\n", "CCHC-P001"),
        (lambda p: ROLE_FILE.check_file(p, None), "roles: {}\nroles: {}\n", "CCHC-D024"),
        (lambda p: check_inputs(p, _sample_index_set()), "7\n", "CCHC-S003"),
    ],
    ids=["calendar", "emulation", "city", "index-set", "plan", "roles", "inputs"],
)
def test_every_reader_reports_its_own_reading_problems(
    tmp_path: Path, read: Read, text: str, code: str
) -> None:
    """Each kind of file reports a file it cannot use with its own code, at file:line."""
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")
    value, problems = read(path)
    assert value is None
    assert code in [p.code for p in problems]


def test_the_deadline_policy_problems_carry_lines(tmp_path: Path) -> None:
    """task-deadlines.yaml's problems name the line (it was read without lines before)."""
    path = tmp_path / "task-deadlines.yaml"
    path.write_text("reminders: [1]\nescalations:\n  - after: 0\n    to: [unit_head]\n", "utf-8")
    with pytest.raises(DefinitionError) as raised:
        load_policy(path)
    assert [(p.line, p.code) for p in raised.value.problems] == [(3, "CCHC-T003")]


def _sample_index_set() -> IndexSet:
    return load_index_set(DEFINITIONS / "index-sets" / "par-2025-ward-sample.yaml")
