"""Index set loading: the shipped sample, every problem code at its line, and robustness.

The fixtures in ``tests/indexset/invalid/`` each hold one defect and say on their first line
which problems (code and 1-based line) the loader must report for it.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cchc.indexset import (
    RULE_MODELS,
    IndexSet,
    check_index_set,
    check_index_set_text,
    load_index_set,
    score_sub_criterion,
)
from tests.conftest import long_tests
from tests.expectations import expected, found, line_of, replace_once
from tests.mutations import holder, nodes
from workflows.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "definitions" / "index-sets" / "par-2025-ward-sample.yaml"
SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
INVALID = Path(__file__).resolve().parent / "invalid"
FIXTURES = sorted(INVALID.glob("*.yaml"))
UNITS = frozenset({"vhxh", "vp", "kt", "ttphc", "ttsnc"})
"""The unit codes of a ward after the 2025 merger, as the sample's owners use them."""

CODE = re.compile(r"CCHC-I\d{3}")


@pytest.fixture(scope="module")
def sample() -> IndexSet:
    """The shipped sample set, loaded against the ward's unit codes."""
    return load_index_set(SAMPLE, UNITS)


# --- the sample --------------------------------------------------------------------------------


def test_sample_loads_without_problems() -> None:
    """The shipped sample set has no problem at all, owner units checked."""
    index_set, problems = check_index_set(SAMPLE, UNITS)
    assert problems == []
    assert index_set is not None


def test_sample_is_labelled_as_a_sample(sample: IndexSet) -> None:
    """The sample says it is a sample, shaped like QĐ 3665/QĐ-UBND but not its text."""
    assert sample.sample is True
    assert sample.code == "par-2025-ward-sample"
    assert (sample.year, sample.level) == (2025, "phuong")
    assert "MẪU" in sample.title
    assert sample.description is not None
    assert "3665/QĐ-UBND" in sample.description
    assert "không phải" in sample.description


def test_sample_has_enough_sub_criteria_and_every_rule_type(sample: IndexSet) -> None:
    """At least 30 sub-criteria over areas 1–7, and every rule type is used."""
    subs = list(sample.sub_criteria())
    assert len(subs) >= 30
    assert [a.code for a in sample.areas] == ["1", "2", "3", "4", "5", "6", "7"]
    assert {s.rule.type for s in subs} == set(RULE_MODELS)
    assert all(s.evidence for s in subs)
    assert {s.owner_unit for s in subs} == UNITS


def test_sample_base_totals_are_100(sample: IndexSet) -> None:
    """Base sub-criteria add up to 100 (= total_max); bonus and penalty items are outside."""
    base = sum((s.max_points for s in sample.base_sub_criteria()), Decimal(0))
    assert base == sample.total_max == 100
    assert sum((a.max_points for a in sample.areas), Decimal(0)) == 100
    assert {s.rule.type for s in sample.adjustments()} == {"bonus", "penalty"}


def test_sample_has_plan_completion_as_1_1_3(sample: IndexSet) -> None:
    """Sub-criterion 1.1.3 reads plan_completion and scores full points at 100% of tasks."""
    sub = sample.sub_criterion("1.1.3")
    assert sub.rule.input == "plan_completion"
    assert score_sub_criterion(sub, {"numerator": 12, "denominator": 12}).points == sub.max_points


@pytest.mark.parametrize(
    ("metric", "rule_type", "target"),
    [
        ("metric:on_time_dossiers", "tiers", None),
        ("metric:full_online_dossiers", "ratio_threshold", Decimal(70)),
        ("metric:online_payments", "ratio_threshold", Decimal(60)),
        ("metric:electronic_documents", "ratio_threshold", Decimal(100)),
        ("metric:digitised_dossiers", "ratio_threshold", Decimal(80)),
        ("metric:public_investment_disbursement", "ratio_threshold", Decimal(100)),
        ("metric:sipas_satisfaction", "survey", None),
    ],
)
def test_sample_has_the_metric_criteria_of_the_seeds(
    sample: IndexSet, metric: str, rule_type: str, target: Decimal | None
) -> None:
    """Each metric target named in the ward letters has one sub-criterion reading it."""
    (sub,) = [s for s in sample.sub_criteria() if s.rule.input == metric]
    assert sub.rule.type == rule_type
    if target is not None:
        assert getattr(sub.rule, "threshold", None) == target


def test_sample_on_time_dossiers_tiers_span_98_to_100(sample: IndexSet) -> None:
    """On-time dossiers: 100% earns full points, 98% the next tier; no dossier earns full."""
    sub = next(s for s in sample.sub_criteria() if s.rule.input == "metric:on_time_dossiers")
    full = score_sub_criterion(sub, {"numerator": 500, "denominator": 500})
    at_98 = score_sub_criterion(sub, {"numerator": 490, "denominator": 500})
    none = score_sub_criterion(sub, {"numerator": 0, "denominator": 0})
    assert full.points == sub.max_points
    assert 0 < at_98.points < sub.max_points
    assert none.points == sub.max_points
    assert none.no_data


def test_sample_titles_keep_vietnamese_diacritics(sample: IndexSet) -> None:
    """Titles are Vietnamese with diacritics (not stripped to ASCII)."""
    assert sample.areas[2].title == "Cải cách thủ tục hành chính"
    assert sample.sub_criterion("1.1.3").title.startswith("Mức độ hoàn thành Kế hoạch CCHC")


def test_loaded_models_are_frozen(sample: IndexSet) -> None:
    """Assigning to a loaded set or one of its sub-criteria raises."""
    with pytest.raises(ValidationError, match="frozen"):
        sample.title = "Đã sửa"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        sample.sub_criterion("1.1.1").max_points = Decimal(5)  # type: ignore[misc]


def test_content_hash_is_stable_and_changes_with_the_text(tmp_path: Path) -> None:
    """Two loads hash alike; changing one sub-criterion's title changes the hash."""
    first, second = load_index_set(SAMPLE), load_index_set(SAMPLE)
    assert first is not second
    assert first.content_hash == second.content_hash
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        replace_once(
            SAMPLE_TEXT,
            "title: Ban hành Kế hoạch kiểm tra CCHC năm\n",
            "title: Ban hành Kế hoạch kiểm tra CCHC năm 2025\n",
        ),
        "utf-8",
    )
    assert load_index_set(changed).content_hash != first.content_hash


def test_owner_units_are_not_checked_without_a_unit_list(tmp_path: Path) -> None:
    """known_units=None skips the owner check; a list with the unit missing reports it."""
    path = tmp_path / "set.yaml"
    path.write_text(SAMPLE_TEXT, "utf-8")
    assert check_index_set(path)[1] == []
    _, problems = check_index_set(path, UNITS - {"ttsnc"})
    assert {p.code for p in problems} == {"CCHC-I009"}


# --- invalid sets ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_invalid_fixture_reports_its_problems_at_their_lines(fixture: Path) -> None:
    """Each invalid fixture yields exactly the (code, line) pairs its header names."""
    index_set, problems = check_index_set(fixture, UNITS)
    assert index_set is None
    assert found(problems) == expected(fixture, "I"), "\n".join(p.format() for p in problems)
    assert all(p.file.endswith(fixture.name) for p in problems)


def test_fixtures_cover_every_code_the_loader_emits() -> None:
    """Every problem code in the loader's source has at least one fixture, and vice versa."""
    source = (ROOT / "cchc" / "indexset" / "loader.py").read_text(encoding="utf-8")
    emitted = set(CODE.findall(source))
    covered = {code for fixture in FIXTURES for code, _ in expected(fixture, "I")}
    assert emitted == covered


def test_every_code_is_documented() -> None:
    """docs/index-sets.md lists every problem code the loader emits."""
    source = (ROOT / "cchc" / "indexset" / "loader.py").read_text(encoding="utf-8")
    docs = (ROOT / "docs" / "index-sets.md").read_text(encoding="utf-8")
    assert set(CODE.findall(source)) <= set(CODE.findall(docs))


def test_load_raises_definition_error_with_every_problem(tmp_path: Path) -> None:
    """An unknown owner and a renumbered criterion: all three problems in one DefinitionError."""
    text = replace_once(
        SAMPLE_TEXT,
        "            owner_unit: kt\n            evidence: Kế hoạch, biên bản hội nghị",
        "            owner_unit: ktt\n            evidence: Kế hoạch, biên bản hội nghị",
    )
    text = replace_once(text, '      - code: "6.3"\n', '      - code: "6.4"\n')
    path = tmp_path / "broken.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_index_set(path, UNITS)
    assert found(caught.value.problems) >= {
        ("CCHC-I009", line_of(text, "owner_unit: ktt")),
        ("CCHC-I007", line_of(text, 'code: "6.3.1"')),
        ("CCHC-I007", line_of(text, 'code: "6.3.2"')),
    }
    assert len(caught.value.problems) == 3
    assert "broken.yaml" in str(caught.value)


def test_unquoted_codes_keep_the_digits_as_written(tmp_path: Path) -> None:
    """`code: 1.10` (a YAML float) is read as "1.10", not "1.1"; `code: 1` as "1"."""
    text = (INVALID / "i008_set_total.yaml").read_text(encoding="utf-8")
    text = "\n".join(text.splitlines()[2:]) + "\n"
    text = replace_once(text, "total_max: 120", "total_max: 100")
    text = replace_once(text, '  - code: "1"', "  - code: 1")
    text = replace_once(text, '      - code: "1.1"\n', "      - code: 1.10\n")
    text = text.replace('code: "1.1.', 'code: "1.10.')
    index_set, problems = check_index_set_text(text, "codes.yaml", UNITS)
    assert problems == []
    assert index_set is not None
    assert index_set.areas[0].code == "1"
    assert index_set.areas[0].criteria[0].code == "1.10"
    assert index_set.areas[0].criteria[0].sub_criteria[0].code == "1.10.1"


def test_missing_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    """A path that does not exist gives CCHC-I001 at line 1."""
    index_set, problems = check_index_set(tmp_path / "nope.yaml")
    assert index_set is None
    assert found(problems) == {("CCHC-I001", 1)}


def test_only_unknown_keys_still_runs_the_whole_set_checks(tmp_path: Path) -> None:
    """An unknown key does not hide a points-total problem elsewhere in the file."""
    text = replace_once(SAMPLE_TEXT, "year: 2025\n", "year: 2025\nnam: 2025\n")
    text = replace_once(text, "    max_points: 14\n", "    max_points: 15\n")
    index_set, problems = check_index_set_text(text, "x.yaml", UNITS)
    assert index_set is None
    assert {p.code for p in problems} == {"CCHC-I002", "CCHC-I008"}


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2025-02-30", "invalid value"),
        ("&loop [*loop]", "recursive alias"),
        ("{[a, b]: c}", "unhashable key"),
    ],
    ids=["impossible-date", "recursive-alias", "list-as-key"],
)
def test_yaml_that_pyyaml_cannot_build_is_a_syntax_problem(value: str, why: str) -> None:
    """Values PyYAML parses but cannot build give CCHC-I001 at their line instead of raising."""
    text = replace_once(SAMPLE_TEXT, "year: 2025\n", f"year: {value}\n")
    _, problems = check_index_set_text(text, "x.yaml", UNITS)
    assert found(problems) == {("CCHC-I001", line_of(text, f"year: {value}"))}
    assert why in problems[0].message


# --- property: check_index_set never throws ----------------------------------------------------

SAMPLE_DATA = yaml.safe_load(SAMPLE_TEXT)
DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False)


RAW_VALUE_LINE = re.compile(r"^(?P<key>\s*(?:- )?[a-z_]+:)\s+\S.*$")
RAW_LINES = [n for n, line in enumerate(SAMPLE_TEXT.splitlines()) if RAW_VALUE_LINE.match(line)]
TRICKY_SCALARS = [
    "2025-02-30",
    "&a [*a]",
    "*nowhere",
    "!!python/name:os.system",
    "!!binary xyz",
    "{[a]: b}",
    "[unclosed",
    "{a: 1",
    "'unclosed",
    "~",
    "|",
    "@at",
    "- item",
    ": colon",
    ".nan",
    ".inf",
    "-.inf",
    "1e999",
    "0.001",
    "-5",
    "1.1.1.1",
    "metric:",
    "events:Bad",
    "true",
]


KEY_PATHS = [path for path, _ in nodes(SAMPLE_DATA) if isinstance(path[-1], str)]
SCALAR_PATHS = [path for path, value in nodes(SAMPLE_DATA) if not isinstance(value, dict | list)]
LIST_ITEM_PATHS = [path for path, _ in nodes(SAMPLE_DATA) if isinstance(path[-1], int)]
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 10**6),
    st.floats(),
    st.decimals(allow_nan=False, places=3).map(str),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def mutated_sample(draw: st.DrawFn) -> str:
    """The sample YAML with a key deleted, a scalar replaced, an item duplicated or text cut."""
    how = draw(
        st.sampled_from(["delete_key", "replace_scalar", "replace_raw", "duplicate", "truncate"])
    )
    if how == "truncate":
        return SAMPLE_TEXT[: draw(st.integers(0, len(SAMPLE_TEXT)))]
    if how == "replace_raw":
        lines = SAMPLE_TEXT.splitlines()
        n = draw(st.sampled_from(RAW_LINES))
        match = RAW_VALUE_LINE.match(lines[n])
        assert match
        raw = draw(st.one_of(st.sampled_from(TRICKY_SCALARS), st.text(max_size=20)))
        lines[n] = f"{match['key']} {raw}"
        return "\n".join(lines) + "\n"
    data = copy.deepcopy(SAMPLE_DATA)
    if how == "delete_key":
        path = draw(st.sampled_from(KEY_PATHS))
        del holder(data, path)[path[-1]]
    elif how == "duplicate":
        path = draw(st.sampled_from(LIST_ITEM_PATHS))
        items = holder(data, path)
        items.insert(path[-1], copy.deepcopy(items[path[-1]]))
    else:
        path = draw(st.sampled_from(SCALAR_PATHS))
        old = holder(data, path)[path[-1]]
        holder(data, path)[path[-1]] = draw(ANY_VALUE.filter(lambda v: v != old))
    return _dump(data)


@settings(max_examples=500 if long_tests() else 100, deadline=None, database=None)
@given(text=mutated_sample())
def test_mutated_sets_give_problems_never_exceptions(text: str) -> None:
    """check_index_set_text returns well-formed problems for any mutant and never raises."""
    index_set, problems = check_index_set_text(text, "mutant.yaml", UNITS)
    assert (index_set is None) == bool(problems)
    last_line = len(text.splitlines()) + 1
    for problem in problems:
        assert re.fullmatch(r"CCHC-I\d{3}", problem.code), problem
        assert 1 <= problem.line <= last_line, problem
        assert problem.file == "mutant.yaml"
        assert problem.message


@settings(max_examples=500 if long_tests() else 40, deadline=None, database=None)
@given(
    path=st.sampled_from(
        [p for p in KEY_PATHS if p[-1] in {"max_points", "code", "owner_unit", "type"}]
    )
)
def test_breaking_a_required_value_always_gives_a_problem(path: tuple[Any, ...]) -> None:
    """Deleting a max_points, code, owner_unit or rule type anywhere is always reported."""
    data = copy.deepcopy(SAMPLE_DATA)
    del holder(data, path)[path[-1]]
    text = _dump(data)
    index_set, problems = check_index_set_text(text, "mutant.yaml", UNITS)
    assert index_set is None
    assert problems


# --- the shape of real sets ---------------------------------------------------------------------


def test_criteria_scored_directly_and_items_outside_the_areas_load(tmp_path: Path) -> None:
    """A criterion without sub-criteria is scored as one item; T.1/TR.1 sit outside the areas."""
    from tests.indexset.shapes import write_real_shape

    index_set, problems = check_index_set(write_real_shape(tmp_path), UNITS)
    assert problems == []
    assert index_set is not None
    codes = [s.code for s in index_set.sub_criteria()]
    assert codes[:4] == ["1.1.1", "1.1.2", "1.1.3", "1.2"]
    assert codes[-2:] == ["T.1", "TR.1"]
    direct = index_set.sub_criterion("1.2")
    assert (direct.max_points, direct.rule.type, direct.owner_unit) == (2, "deduction", "vhxh")
    assert score_sub_criterion(direct, {"events": 1}).points == Decimal("1.5")
    assert [s.code for s in index_set.adjustments()][-2:] == ["T.1", "TR.1"]
    assert not {"1.2.1", "1.2.2", "1.5.3"} & set(codes)
    assert sum((s.max_points for s in index_set.base_sub_criteria()), Decimal(0)) == 100


def test_the_sample_keeps_its_hash_with_the_new_optional_parts() -> None:
    """Optional parts a set does not use are left out of its canonical JSON (hash unchanged)."""
    text = load_index_set(SAMPLE, UNITS).canonical_json()
    assert '"bonus_penalty"' not in text
    assert '"rule":null' not in text


@pytest.mark.parametrize(
    ("old", "new", "kind", "example"),
    [
        ("code: par-2025-ward-sample", "code: PAR 2025", "index set", "par-2025-ward"),
        ('code: "7"', 'code: "A"', "area", "7"),
        ('code: "7.1"', 'code: "7-1"', "criterion", "7.1"),
        ('code: "7.1.1"', 'code: "7.1.a"', "sub-criterion", "7.1.1"),
    ],
)
def test_a_bad_code_says_what_a_code_looks_like(
    old: str, new: str, kind: str, example: str
) -> None:
    """A malformed code is explained in words with an example, never as a regular expression."""
    _, problems = check_index_set_text(replace_once(SAMPLE_TEXT, old, new), "s.yaml", UNITS)
    (problem,) = [p for p in problems if p.code == "CCHC-I003"]
    text = problem.format()
    assert problem.line == line_of(replace_once(SAMPLE_TEXT, old, new), new)
    assert not {"pattern", "^", "["} & set(re.findall(r"pattern|\^|\[", text))
    assert f"is not {'an' if kind[0] in 'aei' else 'a'} {kind} code" in text
    assert f"e.g. {example}" in text
