"""Malformed plans (YAML and the officials' XLSX) on the issue path: a clear error, nothing
written.

Each example mutates the sample plan (a key, a value, a raw line, a task, a cell, a row, a
sheet, the bytes) and issues it through ``cchc.cycle.issue`` into the same database. A refused
plan raises ``DefinitionError`` whose problems name the file and the line (YAML) or the sheet,
row and cell (XLSX), and leaves every table as it was. A plan that is still valid is issued,
or refused with a clear error (another tenant's plan; ``PlanChangedError`` for a code issued
before with other content), again with nothing written. Any other exception fails the test.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from cchc import cycle
from cchc.plan.issue import PlanChangedError
from cchc.plan.loader import PLAN_SHEET, TASK_SHEET, check_plan, write_plan_xlsx
from cchc.plan.models import Plan
from cchc.workspace import Workspace
from tests.conftest import ROOT, Db
from tests.helpers import count
from tests.mutations import holder, nodes
from workflows.database import Settings
from workflows.errors import DefinitionError
from workflows.schema import Instance

SAMPLE = ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"
SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
SAMPLE_DATA = yaml.safe_load(SAMPLE_TEXT)
FOCAL = "nguyen.thi.lan"
TABLES = ("instances", "audit_events", "outbox", "idempotency_keys", "workflow_definitions")

KEY_PATHS = [path for path, _ in nodes(SAMPLE_DATA) if isinstance(path[-1], str)]
SCALAR_PATHS = [path for path, value in nodes(SAMPLE_DATA) if not isinstance(value, dict | list)]
TASK_PATHS = [("tasks", n) for n in range(len(SAMPLE_DATA["tasks"]))]
RAW_VALUE_LINE = re.compile(r"^(?P<key>\s*(?:- )?[a-z_]+:)\s+\S.*$")
RAW_LINES = [n for n, line in enumerate(SAMPLE_TEXT.splitlines()) if RAW_VALUE_LINE.match(line)]
TRICKY = [
    "2025-02-30",
    "2025-13-01",
    "31/12/2025",
    "2026-01-01",
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
    "1e999",
    '"\\0"',
    '"\\x07bell"',
    '"a\\u2028b"',
    "NV-01",
    "vhxh",
    "Phòng Kinh tế",
    "9.9.9",
    "phuong-khac",
    "x" * 2001,
    "KH/../..",
]
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.dates(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
SHEET_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(TRICKY).map(lambda text: ILLEGAL_CHARACTERS_RE.sub("", text)),
    st.text(max_size=20).map(lambda text: ILLEGAL_CHARACTERS_RE.sub("", text)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
)


@st.composite
def yaml_mutants(draw: st.DrawFn) -> str:
    """The sample plan with a key deleted, a value replaced, a task repeated, or cut short."""
    how = draw(st.sampled_from(["delete_key", "replace", "raw", "duplicate", "truncate"]))
    if how == "truncate":
        return SAMPLE_TEXT[: draw(st.integers(0, len(SAMPLE_TEXT)))]
    if how == "raw":
        lines = SAMPLE_TEXT.splitlines()
        n = draw(st.sampled_from(RAW_LINES))
        match = RAW_VALUE_LINE.match(lines[n])
        assert match
        lines[n] = f"{match['key']} {draw(st.one_of(st.sampled_from(TRICKY), st.text()))}"
        return "\n".join(lines) + "\n"
    data = copy.deepcopy(SAMPLE_DATA)
    if how == "delete_key":
        path = draw(st.sampled_from(KEY_PATHS))
        del holder(data, path)[path[-1]]
    elif how == "duplicate":
        path = draw(st.sampled_from(TASK_PATHS))
        data["tasks"].insert(path[-1], copy.deepcopy(data["tasks"][path[-1]]))
    else:
        path = draw(st.sampled_from(SCALAR_PATHS))
        old = holder(data, path)[path[-1]]
        holder(data, path)[path[-1]] = draw(ANY_VALUE.filter(lambda v: v != old))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture(scope="module")
def sample_xlsx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The sample plan as the workbook officials fill in."""
    plan, problems = check_plan(
        SAMPLE, known_units={"vhxh", "vp", "kt", "ttphc", "ttsnc"}, known_criteria=_criteria()
    )
    assert plan is not None, problems
    return write_plan_xlsx(plan, tmp_path_factory.mktemp("plan") / "kh.xlsx").read_bytes()


def _criteria() -> set[str]:
    return {code for task in SAMPLE_DATA["tasks"] for code in task.get("criteria", [])}


def xlsx_mutants(sample: bytes) -> st.SearchStrategy[bytes]:
    """The sample workbook with a cell changed, a row or column removed, a sheet renamed, or
    its bytes cut short."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        book = load_workbook(io.BytesIO(sample))
        sheet = book[draw(st.sampled_from([PLAN_SHEET, TASK_SHEET]))]
        how = draw(st.sampled_from(["cell", "cell", "cell", "row", "column", "sheet", "cut"]))
        if how == "cell":
            row = draw(st.integers(1, sheet.max_row + 1))
            column = draw(st.integers(1, sheet.max_column + 1))
            sheet.cell(row=row, column=column).value = draw(SHEET_VALUE)
        elif how == "row":
            sheet.delete_rows(draw(st.integers(1, sheet.max_row)))
        elif how == "column":
            sheet.delete_cols(draw(st.integers(1, sheet.max_column)))
        elif how == "sheet":
            sheet.title = draw(st.sampled_from(["Sheet1", "Ke hoach", "nhiệm vụ", "Nhiệm vụ "]))
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
        if how == "cut":  # a fraction: the saved length varies with the time stamps
            data = data[: int(len(data) * draw(st.floats(0, 0.999)))]
        return data

    return mutate()


@pytest.fixture
def ward(db: Db, tmp_path: Path) -> Iterator[Workspace]:
    """The sample ward's workspace on the test database (nothing issued yet)."""
    ws = Workspace.open(Settings(data_dir=tmp_path / "data", database_url=db.url))
    yield ws
    ws.close()


def _written(db: Db) -> dict[str, int]:
    return {table: count(db, table) for table in TABLES}


def _issue_once(db: Db, ws: Workspace, path: Path) -> None:
    """Issue ``path``: refused with well-formed problems and nothing written, or issued."""
    checked, problems = check_plan(
        path,
        known_units={u.code for u in ws.organization.units},
        known_criteria={s.code for s in ws.index_set.sub_criteria()},
        unit_aliases=ws.unit_aliases(),
    )
    before = _written(db)
    if checked is None:
        with pytest.raises(DefinitionError) as refused:
            cycle.issue(ws, path, FOCAL)
        assert refused.value.problems == problems
        assert _written(db) == before
        lines = len(path.read_bytes().splitlines()) + 1 if path.suffix == ".yaml" else None
        for problem in problems:
            assert problem.file.startswith(str(path)), problem
            assert re.fullmatch(r"CCHC-P0\d\d", problem.code), problem
            assert problem.message, problem
            assert problem.line >= 1, problem
            assert lines is None or problem.line <= lines, problem
        return
    if checked.tenant != ws.tenant:
        with pytest.raises(ValueError, match="belongs to"):
            cycle.issue(ws, path, FOCAL)
        assert _written(db) == before
        return
    issued_before = count(db, "instances", f"kind = 'plan' and ref = '{checked.code}'")
    try:
        cycle.issue(ws, path, FOCAL)
    except PlanChangedError:
        assert issued_before
        assert _written(db) == before
        return
    _assert_issued(db, checked)


def _assert_issued(db: Db, plan: Plan) -> None:
    with db.sessions() as session:
        rows = session.execute(
            sa.select(Instance.ref, Instance.state).where(Instance.ref.startswith(plan.code))
        ).all()
    states = {row.ref: row.state for row in rows}
    assert states[plan.code] == "issued"
    assert all(f"{plan.code}/{task.code}" in states for task in plan.tasks)


SETTINGS = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@SETTINGS
@given(text=yaml_mutants())
def test_malformed_yaml_plan_is_refused_whole_or_issued(
    db: Db, ward: Workspace, tmp_path: Path, text: str
) -> None:
    """A mutated YAML plan is refused naming file and line with nothing written, or issued."""
    path = tmp_path / "ke-hoach.yaml"
    path.write_text(text, encoding="utf-8")
    _issue_once(db, ward, path)


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date:UserWarning")  # then an error
@SETTINGS
@given(data=st.data())
def test_malformed_xlsx_plan_is_refused_whole_or_issued(
    db: Db, ward: Workspace, tmp_path: Path, sample_xlsx: bytes, data: st.DataObject
) -> None:
    """A mutated XLSX plan is refused naming sheet, row and cell with nothing written, or issued."""
    path = tmp_path / "ke-hoach.xlsx"
    path.write_bytes(data.draw(xlsx_mutants(sample_xlsx)))
    _issue_once(db, ward, path)


def test_the_sample_is_issued_by_the_same_path(db: Db, ward: Workspace) -> None:
    """The unmutated sample issues (the properties above start from a valid plan)."""
    _issue_once(db, ward, SAMPLE)
    assert count(db, "instances", "kind = 'task'") == len(SAMPLE_DATA["tasks"])


def test_a_changed_plan_under_an_issued_code_is_refused_naming_the_change(
    db: Db, ward: Workspace, tmp_path: Path
) -> None:
    """Re-issuing a plan whose task changed names the task and writes nothing (it used to
    report a reused idempotency key)."""
    cycle.issue(ward, SAMPLE, FOCAL)
    before = _written(db)
    changed = tmp_path / "ke-hoach.yaml"
    changed.write_text(SAMPLE_TEXT.replace("deadline: 2025-09-15", "deadline: 2025-09-16"), "utf-8")
    with pytest.raises(PlanChangedError, match=r"\(task NV-03\); nothing was changed"):
        cycle.issue(ward, changed, FOCAL)
    assert _written(db) == before
