"""The scorer's inputs file (`score run --inputs`) goes through the checked loader: unknown codes
and fields, bad numbers and alias bombs are problems with file:line, and nothing is scored."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from cchc.indexset.loader import load_index_set
from cchc.indexset.models import IndexSet
from cchc.scoring.inputs import check_inputs
from tests.conftest import DEFINITIONS, ROOT
from tests.test_cli_cycle import FOCAL, PLAN, Cli, cli, issued, ok, plan_file  # noqa: F401
from tests.test_input_limits import BILLION_LAUGHS

SAMPLE = DEFINITIONS / "index-sets" / "par-2025-ward-sample.yaml"


@pytest.fixture(scope="module")
def index_set() -> IndexSet:
    return load_index_set(SAMPLE)


def problems_of(tmp_path: Path, index_set: IndexSet, text: str) -> list[tuple[int, str, str]]:
    path = tmp_path / "inputs.yaml"
    path.write_text(text, encoding="utf-8")
    inputs, problems = check_inputs(path, index_set)
    assert (inputs is None) == bool(problems)
    return [(p.line, p.code, p.message) for p in problems]


def test_the_example_inputs_pass(index_set: IndexSet) -> None:
    """The shipped example file has no problem and keeps every field as written."""
    inputs, problems = check_inputs(ROOT / "examples" / "scoring-inputs-2025-h2.yaml", index_set)
    assert problems == []
    assert inputs is not None
    assert inputs["1.1.2"] == {"level": "full"}
    assert inputs["1.4.2"] == {"events": 4}


def test_an_unknown_code_is_refused_with_its_line(tmp_path: Path, index_set: IndexSet) -> None:
    """A code the index set does not have is CCHC-S004 on its line, with a suggestion."""
    found = problems_of(tmp_path, index_set, '"1.1.2": {level: full}\n"9.9.9": {value: 5}\n')
    assert found == [
        (2, "CCHC-S004", (f"unknown sub-criterion '9.9.9' in index set {index_set.code}"))
    ]


def test_an_unknown_field_is_refused_with_its_line(tmp_path: Path, index_set: IndexSet) -> None:
    """A field the rule does not read (a typo, or value for a level) is CCHC-S006 on its line."""
    text = '"1.1.2":\n  level: full\n  lvel: good\n"1.3.2":\n  level: full\n'
    found = problems_of(tmp_path, index_set, text)
    assert [(line, code) for line, code, _ in found] == [(3, "CCHC-S006"), (5, "CCHC-S006")]
    assert "field 'lvel' is not read by its qualitative rule" in found[0][2]


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ('"1.3.2": {value: .nan}', "finite"),
        ('"1.3.2": {value: .inf}', "finite"),
        ('"1.3.2": {value: -5}', "a percent must be within 0 … 100, not -5"),
        ('"1.3.2": {value: 250}', "a percent must be within 0 … 100, not 250"),
        ('"1.3.2": {value: "abc"}', "value 'abc'"),
        ('"1.4.2": {events: -5}', "greater than or equal to 0"),
        ('"1.4.2": {events: 2.5}', "events 2.5"),
        ('"1.4.2": {events: "abc"}', "events 'abc'"),
        ('"1.4.2": {value: -1}', "value -1 is negative"),
        ('"5.2.2": {numerator: 5, denominator: 4}', "numerator 5 is above the denominator 4"),
        ('"5.2.2": {numerator: -1, denominator: 4}', "greater than or equal to 0"),
        ('"1.1.2": {level: splendid}', "unknown level 'splendid'"),
        ('"1.1.1": {done: "yes"}', "done 'yes'"),
        ('"1.1.2": {level: full, explanation: [a, b]}', "explanation must be text"),
    ],
)
def test_a_bad_number_or_level_is_refused(
    tmp_path: Path, index_set: IndexSet, entry: str, words: str
) -> None:
    """NaN, infinity, negative, out-of-range, non-numeric values and unknown levels are each a
    CCHC-S007 problem on their line, instead of 0 points."""
    found = problems_of(tmp_path, index_set, f'"2.1.1": {{level: full}}\n{entry}\n')
    assert [(line, code) for line, code, _ in found] == [(2, "CCHC-S007")], found
    assert words in found[0][2]


def test_inputs_not_a_mapping_are_refused(tmp_path: Path, index_set: IndexSet) -> None:
    """A list at the top, or a number for a code, is a problem, not a crash."""
    assert problems_of(tmp_path, index_set, "- 1\n- 2\n")[0][1] == "CCHC-S003"
    assert problems_of(tmp_path, index_set, '"1.3.2": 95\n') == [
        (1, "CCHC-S005", "1.3.2: the inputs are not a mapping")
    ]


def test_the_alias_bomb_is_refused_fast(tmp_path: Path, index_set: IndexSet) -> None:
    """The billion laughs as an inputs file is one CCHC-L003 problem, in under two seconds."""
    started = time.perf_counter()
    found = problems_of(tmp_path, index_set, BILLION_LAUGHS)
    assert time.perf_counter() - started < 2
    assert [code for _, code, _ in found] == ["CCHC-L003"]


def test_deep_nesting_is_refused(tmp_path: Path, index_set: IndexSet) -> None:
    """An inputs file nested 500 deep is one CCHC-L002 problem."""
    found = problems_of(tmp_path, index_set, '"1.1.2": ' + "[" * 500 + "]" * 500 + "\n")
    assert [code for _, code, _ in found] == ["CCHC-L002"]


def test_score_run_refuses_a_bad_inputs_file_and_stores_nothing(
    issued: Cli,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`score run --inputs` with NaN, -5, "abc" and an unknown code exits 1, prints each problem
    with file:line and stores no score; so does `rank run`; the bomb is refused the same way."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        '"1.3.2": {value: .nan}\n"1.3.3": {value: -5}\n"5.1.1": {value: "abc"}\n'
        '"9.9.9": {level: full}\n',
        encoding="utf-8",
    )
    result = issued("score", "run", "--plan", PLAN, "--as", FOCAL, "--inputs", str(bad))
    assert result.exit_code == 1, result.output
    for line, code in [(1, "S007"), (2, "S007"), (3, "S007"), (4, "S004")]:
        assert re.search(rf"bad\.yaml:{line}: CCHC-{code} ", result.output), result.output
    assert "4 problem(s) found; nothing was written." in result.output
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS, encoding="utf-8")
    result = issued("score", "run", "--plan", PLAN, "--as", FOCAL, "--inputs", str(bomb))
    assert result.exit_code == 1, result.output
    assert "CCHC-L003" in result.output
    result = issued("rank", "run", "--plan", PLAN, "--as", FOCAL, "--inputs", str(bad))
    assert result.exit_code == 1, result.output
    assert re.search(r"bad\.yaml:4: CCHC-S004 ", result.output), result.output
    shown = issued("score", "explain", "1.3.2", "--plan", PLAN, "--as", FOCAL)
    assert shown.exit_code != 0, shown.output  # no scoring run was stored
    good = tmp_path / "good.yaml"
    good.write_text('"1.3.2": {value: 95}\n', encoding="utf-8")
    ok(issued("score", "run", "--plan", PLAN, "--as", FOCAL, "--inputs", str(good)))
