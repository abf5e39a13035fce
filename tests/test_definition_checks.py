"""Definition validation: every problem code, its line, and a loader that never throws.

The fixtures in ``tests/definitions/invalid/workflows/`` each hold one defect and say on their
first line which problems (code and 1-based line) the loader must report for it.
"""

from __future__ import annotations

import copy
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cchc.runtime import registry as runtime_registry
from notifications.catalog import template_names
from tests.conftest import long_tests
from tests.expectations import expected, found, line_of, replace_once
from tests.mutations import holder, nodes
from workflows.definition.loader import (
    DefinitionSet,
    check_mappings,
    check_paths,
    load_definitions,
    load_mappings,
)
from workflows.definition.models import State, Transition
from workflows.errors import Problem

REGISTRY = runtime_registry()


ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
APPROVAL = DEFINITIONS / "workflows" / "approval_request.yaml"
INVALID = Path(__file__).resolve().parent / "definitions" / "invalid"
FIXTURES = sorted((INVALID / "workflows").glob("*.yaml"))
TEMPLATES = template_names()

CODE = re.compile(r"CCHC-D\d{3}")
CROSS_FILE_CODES = {"CCHC-D023", "CCHC-D025", "CCHC-D027"}
"""Codes that need several files (or none): tested with folders built in tmp_path."""


def _check(*paths: Path) -> tuple[DefinitionSet | None, list[Problem]]:
    return check_paths(list(paths), registry=REGISTRY, templates=TEMPLATES)


def _definitions_copy(tmp_path: Path) -> Path:
    target = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, target)
    return target


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_invalid_fixture_reports_its_problems_at_their_lines(fixture: Path) -> None:
    """Each invalid fixture yields exactly the (code, line) pairs its header names, in its file."""
    definitions, problems = _check(fixture)
    assert definitions is None
    assert found(problems) == expected(fixture, "D"), "\n".join(p.format() for p in problems)
    assert all(p.file.endswith(fixture.name) for p in problems)


def test_fixtures_cover_every_code_the_loader_emits() -> None:
    """Every code in the loader's source has a fixture, except the codes that need a folder."""
    source = "".join(
        (ROOT / "workflows" / "definition" / name).read_text(encoding="utf-8")
        for name in ("loader.py", "checks.py")
    )
    emitted = set(CODE.findall(source))
    covered = {code for fixture in FIXTURES for code, _ in expected(fixture, "D")}
    assert emitted - CROSS_FILE_CODES == covered
    assert emitted >= CROSS_FILE_CODES


def test_shipped_definitions_load_without_problems() -> None:
    """The definitions/ folder as shipped loads with no problem at all."""
    definitions, problems = _check(DEFINITIONS)
    assert problems == []
    assert definitions is not None
    assert "approval_request" in definitions.workflows


def test_duplicate_kind_across_files_is_reported(tmp_path: Path) -> None:
    """Two files defining the same kind give CCHC-D023 at the second file's 'kind:' line."""
    folder = _definitions_copy(tmp_path)
    text = APPROVAL.read_text(encoding="utf-8")
    second = folder / "workflows" / "zz_same_kind.yaml"
    second.write_text(text, encoding="utf-8")
    definitions, problems = _check(folder)
    assert definitions is None
    assert found(problems) == {("CCHC-D023", line_of(text, "kind: approval_request"))}
    assert problems[0].file.endswith("zz_same_kind.yaml")
    assert "approval_request.yaml" in problems[0].message


def test_missing_roles_catalog_is_reported(tmp_path: Path) -> None:
    """A workflow file with no roles.yaml above it gives CCHC-D025 at line 1 of that file."""
    workflow = tmp_path / "workflows" / "approval_request.yaml"
    workflow.parent.mkdir()
    shutil.copy(APPROVAL, workflow)
    definitions, problems = _check(workflow)
    assert definitions is None
    assert found(problems) == {("CCHC-D025", 1)}
    assert problems[0].file.endswith("approval_request.yaml")


def test_folder_without_workflow_files_is_reported(tmp_path: Path) -> None:
    """A folder with no workflows/*.yaml (only stray YAML elsewhere) gives CCHC-D027 at line 1."""
    shutil.copy(DEFINITIONS / "roles.yaml", tmp_path / "roles.yaml")
    shutil.copy(APPROVAL, tmp_path / "not_in_a_workflows_folder.yaml")
    definitions, problems = _check(tmp_path)
    assert definitions is None
    assert found(problems) == {("CCHC-D027", 1)}
    assert problems[0].file == str(tmp_path)


def test_three_defects_are_all_reported_in_one_call(tmp_path: Path) -> None:
    """A misspelled dest, a duplicate trigger and an unknown key all come back from one check."""
    folder = _definitions_copy(tmp_path)
    workflow = folder / "workflows" / "approval_request.yaml"
    text = workflow.read_text(encoding="utf-8")
    text = replace_once(
        text,
        "    source: changes_requested\n    dest: submitted\n",
        "    source: changes_requested\n    dest: submited\n",
    )
    text = replace_once(
        text,
        "\n\ndeadlines:",
        "\n  - trigger: accept  # duplicate\n    source: submitted\n    dest: rejected\n"
        "    roles: [reviewer]\n    not_by: [submit]\n\ndeadlines:",
    )
    text = replace_once(text, "    escalate_every: 2\n", "    escalate_evry: 2\n")
    workflow.write_text(text, encoding="utf-8")

    definitions, problems = _check(folder)

    assert definitions is None
    assert found(problems) == {
        ("CCHC-D004", line_of(text, "dest: submited")),
        ("CCHC-D006", line_of(text, "trigger: accept  # duplicate")),
        ("CCHC-D002", line_of(text, "escalate_evry")),
    }
    (misspelled,) = [p for p in problems if p.code == "CCHC-D004"]
    assert "did you mean 'submitted'?" in misspelled.hint
    assert all(p.file.endswith("approval_request.yaml") for p in problems)


def test_unknown_key_in_roles_catalog_hides_no_role(tmp_path: Path) -> None:
    """An unknown key in roles.yaml is one CCHC-D002, not a flood of unknown-role problems."""
    folder = _definitions_copy(tmp_path)
    roles = folder / "roles.yaml"
    text = replace_once(
        roles.read_text(encoding="utf-8"),
        "    label: Người xem xét\n",
        "    label: Người xem xét\n    colour: blue\n",
    )
    roles.write_text(text, encoding="utf-8")
    definitions, problems = _check(folder)
    assert definitions is None
    assert found(problems) == {("CCHC-D002", line_of(text, "colour: blue"))}
    assert problems[0].file.endswith("roles.yaml")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2025-02-30", "invalid value"),
        ("&loop [*loop]", "recursive alias"),
        ("{[a, b]: c}", "unhashable key"),
    ],
    ids=["impossible-date", "recursive-alias", "list-as-key"],
)
def test_yaml_that_pyyaml_cannot_build_is_a_syntax_problem(
    tmp_path: Path, value: str, why: str
) -> None:
    """Values PyYAML parses but cannot build give CCHC-D001 at their line instead of raising."""
    folder = _definitions_copy(tmp_path)
    workflow = folder / "workflows" / "approval_request.yaml"
    text = replace_once(
        workflow.read_text(encoding="utf-8"),
        "description: Generic submit / review cycle used by the engine's tests and demo.",
        f"description: {value}",
    )
    workflow.write_text(text, encoding="utf-8")
    definitions, problems = _check(folder)
    assert definitions is None
    assert found(problems) == {("CCHC-D001", line_of(text, f"description: {value}"))}
    assert why in problems[0].message


def test_loaded_models_are_frozen(definitions: DefinitionSet) -> None:
    """Assigning to a loaded definition, or to one of its states, raises."""
    approval = definitions.get("approval_request")
    with pytest.raises(ValidationError, match="frozen"):
        approval.title = "Đã sửa"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        approval.states[0].label = "Đã sửa"  # type: ignore[misc]
    assert approval.title == "Đề nghị phê duyệt"


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (State, {"name": "draft", "label": "Bản nháp", "colour": "blue"}),
        (
            Transition,
            {"trigger": "go", "source": "a", "dest": "b", "roles": ["author"], "when": "now"},
        ),
    ],
    ids=["state", "transition"],
)
def test_models_forbid_unknown_keys(model: type[State | Transition], data: dict[str, Any]) -> None:
    """A key the model does not declare is refused as extra_forbidden."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert [e["type"] for e in caught.value.errors()] == ["extra_forbidden"]


def test_content_hash_is_stable_across_loads() -> None:
    """Two independent loads of the same files give the same content hash."""
    first = load_definitions([DEFINITIONS], registry=REGISTRY, templates=TEMPLATES)
    second = load_definitions([DEFINITIONS], registry=REGISTRY, templates=TEMPLATES)
    one, two = first.get("approval_request"), second.get("approval_request")
    assert one is not two
    assert one.content_hash == two.content_hash
    assert re.fullmatch(r"[0-9a-f]{64}", one.content_hash)


def test_content_hash_changes_when_a_label_changes(tmp_path: Path) -> None:
    """Changing only one state's Vietnamese label changes the content hash."""
    folder = _definitions_copy(tmp_path)
    workflow = folder / "workflows" / "approval_request.yaml"
    text = workflow.read_text(encoding="utf-8")
    workflow.write_text(replace_once(text, "label: Đã rút", "label: Đã rút lại"), "utf-8")
    before = load_definitions([DEFINITIONS], registry=REGISTRY, templates=TEMPLATES)
    after = load_definitions([folder], registry=REGISTRY, templates=TEMPLATES)
    assert before.get("approval_request").content_hash != after.get("approval_request").content_hash


def test_string_source_is_normalised_to_a_tuple(definitions: DefinitionSet) -> None:
    """'source: draft' (a string) becomes the tuple ('draft',), in the model and when loaded."""
    transition = Transition.model_validate(
        {"trigger": "submit", "source": "draft", "dest": "submitted", "roles": ["author"]}
    )
    assert transition.source == ("draft",)
    loaded = definitions.get("approval_request").transition("submit", "draft")
    assert loaded is not None
    assert loaded.source == ("draft",)


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An importable module ``cchc_canary`` that leaves a file behind if it is ever imported."""
    marker = tmp_path / "imported"
    module_dir = tmp_path / "canary"
    module_dir.mkdir()
    (module_dir / "cchc_canary.py").write_text(
        f"from pathlib import Path\n\nPath({str(marker)!r}).touch()\n\n\n"
        "def boom(ctx):\n    return True\n"
    )
    monkeypatch.syspath_prepend(str(module_dir))
    yield marker
    sys.modules.pop("cchc_canary", None)


@pytest.mark.parametrize("field", ["guards", "actions"])
@pytest.mark.parametrize("name", ["os.system", "cchc_canary.boom"])
def test_dotted_guard_or_action_is_refused_and_not_imported(
    tmp_path: Path, canary: Path, field: str, name: str
) -> None:
    """A dotted path as a guard/action fails the name pattern (CCHC-D003); nothing is imported."""
    folder = _definitions_copy(tmp_path)
    workflow = folder / "workflows" / "approval_request.yaml"
    text = replace_once(
        workflow.read_text(encoding="utf-8"),
        "    dest: submitted\n    roles: [author]\n    actions: [count_revision]\n"
        "  - trigger: request_changes",
        f"    dest: submitted\n    roles: [author]\n    {field}: [{name}]\n"
        "  - trigger: request_changes",
    )
    workflow.write_text(text, encoding="utf-8")
    modules_before = set(sys.modules)

    definitions, problems = _check(folder)

    assert definitions is None
    assert found(problems) == {("CCHC-D003", line_of(text, f"{field}: [{name}]"))}
    assert "^[a-z][a-z0-9_]*$" in problems[0].message
    assert not canary.exists()
    assert "cchc_canary" not in set(sys.modules) - modules_before


# --- property: check_paths never throws --------------------------------------------------------

APPROVAL_TEXT = APPROVAL.read_text(encoding="utf-8")
APPROVAL_DATA = yaml.safe_load(APPROVAL_TEXT)
RAW_VALUE_LINE = re.compile(r"^(?P<key>\s*(?:- )?[a-z_]+:)\s+\S.*$")
RAW_LINES = [n for n, line in enumerate(APPROVAL_TEXT.splitlines()) if RAW_VALUE_LINE.match(line)]
TRICKY_SCALARS = [
    "2025-02-30",
    "2025-13-01",
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
    "`tick",
    "- item",
    ": colon",
    "\t",
    ".nan",
    "1e999",
    "0x_",
    "os.system",
]


KEY_PATHS = [path for path, _ in nodes(APPROVAL_DATA) if isinstance(path[-1], str)]
SCALAR_PATHS = [path for path, value in nodes(APPROVAL_DATA) if not isinstance(value, dict | list)]
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def mutated_approval(draw: st.DrawFn) -> str:
    """The approval YAML with one random key deleted, one scalar replaced, or the text cut."""
    how = draw(st.sampled_from(["delete_key", "replace_scalar", "replace_raw", "truncate"]))
    if how == "truncate":
        return APPROVAL_TEXT[: draw(st.integers(0, len(APPROVAL_TEXT)))]
    if how == "replace_raw":
        lines = APPROVAL_TEXT.splitlines()
        n = draw(st.sampled_from(RAW_LINES))
        match = RAW_VALUE_LINE.match(lines[n])
        assert match
        raw = draw(st.one_of(st.sampled_from(TRICKY_SCALARS), st.text(max_size=20)))
        lines[n] = f"{match['key']} {raw}"
        return "\n".join(lines) + "\n"
    data = copy.deepcopy(APPROVAL_DATA)
    if how == "delete_key":
        path = draw(st.sampled_from(KEY_PATHS))
        del holder(data, path)[path[-1]]
    else:
        path = draw(st.sampled_from(SCALAR_PATHS))
        old = holder(data, path)[path[-1]]
        holder(data, path)[path[-1]] = draw(ANY_VALUE.filter(lambda v: type(v) is not type(old)))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture(scope="module")
def mutant_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each mutated definition is written, below a valid roles.yaml."""
    folder = tmp_path_factory.mktemp("mutants")
    shutil.copy(DEFINITIONS / "roles.yaml", folder / "roles.yaml")
    (folder / "workflows").mkdir()
    return folder / "workflows" / "mutant.yaml"


@settings(max_examples=500 if long_tests() else 60, deadline=None, database=None)
@given(text=mutated_approval())
def test_mutated_definitions_give_problems_never_exceptions(mutant_file: Path, text: str) -> None:
    """check_paths returns well-formed problems (code, line >= 1) for any mutant; never raises."""
    mutant_file.write_text(text, encoding="utf-8")
    definitions, problems = _check(mutant_file)
    assert (definitions is None) == bool(problems)
    last_line = len(text.splitlines()) + 1
    for problem in problems:
        assert re.fullmatch(r"CCHC-D\d{3}", problem.code), problem
        assert 1 <= problem.line <= last_line, problem
        assert problem.file.endswith("mutant.yaml"), problem


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """A YAML alias bomb is reported as CCHC-L003 instead of expanding without limit."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(DEFINITIONS / "roles.yaml", tmp_path / "roles.yaml")
    path = folder / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    _, problems = check_paths([path], registry=REGISTRY, templates=template_names())
    assert [p.code for p in problems] == ["CCHC-L003"]
    assert "aliases" in problems[0].message


PARSE_CODES = {"CCHC-D001", "CCHC-D024", "CCHC-D026"}
"""Codes of reading a file (syntax, duplicate keys, not a mapping): registered content has none."""
MAPPING_FIXTURES = [f for f in FIXTURES if not {c for c, _ in expected(f, "D")} & PARSE_CODES]


@pytest.mark.parametrize("fixture", MAPPING_FIXTURES, ids=[f.stem for f in MAPPING_FIXTURES])
def test_parsed_mappings_get_the_same_checks_as_files(fixture: Path) -> None:
    """Definitions given as parsed mappings (as registered in a database) are refused with the
    same problem codes as the same definition read from its file, without file lines."""
    codes = {code for code, _ in expected(fixture, "D")}
    roles = yaml.safe_load((INVALID / "roles.yaml").read_text("utf-8"))
    data = yaml.safe_load(fixture.read_text("utf-8"))
    definitions, problems = check_mappings(
        roles, [data], source="db", registry=REGISTRY, templates=TEMPLATES
    )
    assert definitions is None
    assert {p.code for p in problems} == codes, "\n".join(p.format() for p in problems)
    assert all(p.file.startswith("db#") and p.line == 1 for p in problems)


def test_parsed_shipped_definitions_load_as_from_files() -> None:
    """The shipped definitions, parsed, load into the same definitions (same content hashes)."""
    from_files, _ = _check(DEFINITIONS)
    assert from_files is not None
    workflows = [
        yaml.safe_load(p.read_text("utf-8"))
        for p in sorted((DEFINITIONS / "workflows").glob("*.yaml"))
    ]
    roles = yaml.safe_load((DEFINITIONS / "roles.yaml").read_text("utf-8"))
    parsed = load_mappings(roles, workflows, source="db", registry=REGISTRY, templates=TEMPLATES)
    assert {k: d.content_hash for k, d in parsed.workflows.items()} == {
        k: d.content_hash for k, d in from_files.workflows.items()
    }
