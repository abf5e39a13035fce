"""Read a plan from YAML or from the XLSX table officials keep; report every problem at once.

Problems carry the file and line (YAML) or the sheet, row and column (XLSX), a stable code
``CCHC-P0NN`` and a hint. A plan with any problem is refused whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from cchc import vi_text
from cchc.plan.models import Plan
from cchc.settings import ENV
from cchc.workbooks.notes import cell_problems, sheets_holding
from workflows.datafile import DataFile, FileCodes, Reading, read_problem
from workflows.definition.checks import did_you_mean
from workflows.errors import DefinitionError, Problem
from workflows.limits import (
    TOO_MANY_TASKS,
    FileTooLargeError,
    check_size,
    limits,
    too_many_rows,
)

if TYPE_CHECKING:
    from openpyxl import Workbook

PLAN_SHEET = "Kế hoạch"
TASK_SHEET = "Nhiệm vụ"
PLAN_FIELDS = {
    "mã kế hoạch": ("code",),
    "tên kế hoạch": ("title",),
    "mã phường/xã": ("tenant",),
    "số quyết định": ("decision", "number"),
    "ngày quyết định": ("decision", "date"),
    "kỳ kế hoạch": ("period", "label"),
    "mã kỳ": ("period", "code"),
    "từ ngày": ("period", "start"),
    "đến ngày": ("period", "end"),
    "bộ chỉ số": ("index_set",),
}
TASK_COLUMNS = {
    "stt": None,
    "mã nhiệm vụ": "code",
    "nội dung nhiệm vụ": "title",
    "sản phẩm": "expected_product",
    "đơn vị chủ trì": "owner_unit",
    "đơn vị phối hợp": "support_units",
    "thời hạn": "deadline",
    "tiêu chí": "criteria",
}
REQUIRED_COLUMNS = ("mã nhiệm vụ", "nội dung nhiệm vụ", "sản phẩm", "đơn vị chủ trì", "thời hạn")


def _plain(reading: Reading[None]) -> Any:
    return reading.data


PLAN_FILE: DataFile[Any, None] = DataFile(
    "plan",
    FileCodes(
        "CCHC-P001",
        "CCHC-P002",
        "CCHC-P001",
        "",
        duplicate_hint="",
        not_mapping_message="the plan file does not hold a mapping",
    ),
    _plain,
)
"""A plan in YAML: read here as plain data, then checked as a plan read from XLSX is."""


class _Places:
    """Where each value came from, to name it in a problem."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.where: dict[tuple[Any, ...], tuple[str, int]] = {}

    def problem(self, path: tuple[Any, ...], code: str, message: str, hint: str = "") -> Problem:
        for end in range(len(path), -1, -1):
            if path[:end] in self.where:
                file, line = self.where[path[:end]]
                return Problem(file, line, code, message, hint)
        return Problem(self.file, 1, code, message, hint)


def check_plan(
    path: Path,
    *,
    known_units: Collection[str],
    known_criteria: Collection[str],
    unit_aliases: Mapping[str, str] | None = None,
) -> tuple[Plan | None, list[Problem]]:
    """Read ``path`` (.yaml/.yml or .xlsx) and check it; the plan if valid, and every problem."""
    problems: list[Problem] = []
    try:
        check_size(path)
    except FileTooLargeError as exc:
        return None, [read_problem(exc, str(path), "CCHC-P001")]
    if path.suffix.lower() in {".yaml", ".yml"}:
        data, places = _read_yaml(path, problems)
    elif path.suffix.lower() == ".xlsx":
        data, places = _read_xlsx(path, problems, unit_aliases or {})
    else:
        return None, [
            Problem(
                str(path),
                1,
                "CCHC-P001",
                "a plan is a .yaml or .xlsx file",
                "export the table from Excel as .xlsx",
            )
        ]
    if data is None:
        return None, problems
    tasks, most = data.get("tasks"), limits().plan_tasks
    if isinstance(tasks, list) and len(tasks) > most:
        return None, [
            places.problem(
                ("tasks", most),
                TOO_MANY_TASKS,
                f"the plan has {len(tasks):,} tasks, more than {most:,}",
                f"split the plan, or raise the limit with {ENV['plan_tasks']}",
            )
        ]
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "(top)"
            code = "CCHC-P002" if err["type"] == "extra_forbidden" else "CCHC-P003"
            message = (
                f"unknown field {where!r}" if code == "CCHC-P002" else f"{where}: {err['msg']}"
            )
            problems.append(places.problem(loc, code, message))
        return None, problems
    problems.extend(_cross_check(plan, places, known_units, known_criteria))
    return (None if problems else plan), problems


def load_plan(
    path: Path,
    *,
    known_units: Collection[str],
    known_criteria: Collection[str],
    unit_aliases: Mapping[str, str] | None = None,
) -> Plan:
    """Like ``check_plan`` but raises ``DefinitionError`` listing every problem."""
    plan, problems = check_plan(
        path, known_units=known_units, known_criteria=known_criteria, unit_aliases=unit_aliases
    )
    if plan is None:
        raise DefinitionError(problems)
    return plan


def _cross_check(
    plan: Plan, places: _Places, units: Collection[str], criteria: Collection[str]
) -> list[Problem]:
    problems: list[Problem] = []
    if plan.period.start > plan.period.end:
        problems.append(
            places.problem(("period", "end"), "CCHC-P004", "the period ends before it starts")
        )
    counts = Counter(t.code for t in plan.tasks)
    seen: set[str] = set()
    for i, task in enumerate(plan.tasks):
        at = ("tasks", i)
        if counts[task.code] > 1 and task.code in seen:
            problems.append(
                places.problem(
                    (*at, "code"),
                    "CCHC-P005",
                    f"task code {task.code!r} is used twice",
                    "give each task its own code",
                )
            )
        seen.add(task.code)
        for field, values in (
            ("owner_unit", (task.owner_unit,)),
            ("support_units", task.support_units),
        ):
            problems.extend(
                places.problem(
                    (*at, field),
                    "CCHC-P006",
                    f"task {task.code}: unknown unit {unit!r}",
                    did_you_mean(unit, units),
                )
                for unit in values
                if unit not in units
            )
        problems.extend(
            places.problem(
                (*at, "criteria"),
                "CCHC-P007",
                f"task {task.code}: unknown sub-criterion {code!r}",
                did_you_mean(code, criteria),
            )
            for code in task.criteria
            if code not in criteria
        )
        if not plan.period.start <= task.deadline <= plan.period.end:
            problems.append(
                places.problem(
                    (*at, "deadline"),
                    "CCHC-P008",
                    f"task {task.code}: deadline {vi_text.date_text(task.deadline)} is outside the "
                    f"period {vi_text.date_text(plan.period.start)} – "
                    f"{vi_text.date_text(plan.period.end)}",
                    "move the deadline into the plan's period",
                )
            )
    return problems


def _read_yaml(path: Path, problems: list[Problem]) -> tuple[Any, _Places]:
    places = _Places(str(path))
    located = PLAN_FILE.parse_file(path, str(path), problems)
    if located is None:
        return None, places
    places.where = {p: (str(path), line) for p, line in located.lines.items()}
    return located.data, places


LAYOUT = "CCHC-P011"
"""A workbook whose layout hides values: merged cells, uncomputed formulas."""


def _norm(value: object) -> str:
    return " ".join(str(value or "").strip().lower().split())


def _units(cell: str, aliases: Mapping[str, str]) -> list[str]:
    """The unit codes of a cell: units separated by ``;`` or new lines, or by commas when the
    part is not itself a unit's name (``Phòng Kinh tế, Hạ tầng và Đô thị`` has a comma)."""
    units: list[str] = []
    for part in cell.replace("\n", ";").split(";"):
        if not part.strip():
            continue
        if _norm(part) in aliases:
            units.append(aliases[_norm(part)])
            continue
        units.extend(aliases.get(_norm(p), p.strip()) for p in part.split(",") if p.strip())
    return units


def _cell_date(value: object) -> object:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d"):
            try:
                return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - only the date is kept
            except ValueError:
                continue
    return value


def _read_xlsx(
    path: Path, problems: list[Problem], aliases: Mapping[str, str]
) -> tuple[Any, _Places]:
    from cchc.workbooks.read import read_workbook

    places = _Places(str(path))
    try:
        book = read_workbook(path)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a file that is not a workbook
        problems.append(
            Problem(
                str(path),
                1,
                "CCHC-P001",
                f"cannot open the workbook: {exc}",
                "save it from Excel or LibreOffice as .xlsx",
            )
        )
        return None, places
    try:
        return _read_book(book, path, problems, aliases, places)
    finally:
        book.close()


def _read_book(
    book: Workbook, path: Path, problems: list[Problem], aliases: Mapping[str, str], places: _Places
) -> tuple[Any, _Places]:
    from openpyxl.utils import get_column_letter

    missing = [name for name in (PLAN_SHEET, TASK_SHEET) if name not in book.sheetnames]
    if missing:
        _, holding = sheets_holding(path, TASK_COLUMNS)
        found = (
            f"; the tasks seem to be on sheet {holding[0]!r} (rename it {TASK_SHEET!r})"
            if holding and TASK_SHEET in missing
            else ""
        )
        problems.append(
            Problem(
                str(path),
                1,
                "CCHC-P009",
                f"missing sheet(s): {', '.join(missing)}; the workbook has "
                f"{', '.join(map(repr, book.sheetnames))}{found}",
                f"the workbook needs sheets {PLAN_SHEET!r} and {TASK_SHEET!r} "
                "(`cchc plan template` writes one)",
            )
        )
        return None, places
    data: dict[str, Any] = {}
    plan_file = f"{path}[{PLAN_SHEET}]"
    for row_number, row in enumerate(book[PLAN_SHEET].iter_rows(values_only=True), 1):
        if not row or row[0] is None:
            continue
        target = PLAN_FIELDS.get(_norm(row[0]))
        if target is None:
            continue
        value: Any = row[1] if len(row) > 1 else None
        if target[-1] in {"date", "start", "end"}:
            value = _cell_date(value)
        node = data
        for part in target[:-1]:
            node = node.setdefault(part, {})
        node[target[-1]] = value.strip() if isinstance(value, str) else value
        places.where[target] = (plan_file, row_number)
    task_file = f"{path}[{TASK_SHEET}]"
    rows = book[TASK_SHEET].iter_rows(values_only=True)
    header_row, columns = 0, {}
    for number, row in enumerate(rows, 1):
        header_row = number
        columns = {i: _norm(v) for i, v in enumerate(row) if _norm(v) in TASK_COLUMNS}
        if columns:
            break
    absent = [name for name in REQUIRED_COLUMNS if name not in columns.values()]
    if absent:
        needed = ", ".join(REQUIRED_COLUMNS)
        problems.append(
            Problem(
                task_file,
                max(header_row, 1),
                "CCHC-P010",
                f"missing column(s): {', '.join(absent)}",
                f"the header row needs: {needed}",
            )
        )
        return None, places
    read = {i + 1 for i, name in columns.items() if TASK_COLUMNS[name] is not None}
    layout = cell_problems(path, PLAN_SHEET, plan_file, LAYOUT, 1, (1, 2))
    layout += cell_problems(path, TASK_SHEET, task_file, LAYOUT, header_row + 1, read)
    if layout:
        problems.extend(layout)
        return None, places
    tasks: list[dict[str, Any]] = []
    most = limits().rows
    for row_number, row in enumerate(rows, header_row + 1):
        if row_number - header_row > most:
            problems.append(too_many_rows(task_file, most, row_number))
            return None, places
        if not any(v not in (None, "") for v in row):
            continue
        task: dict[str, Any] = {}
        index = len(tasks)
        for i, name in columns.items():
            field = TASK_COLUMNS[name]
            if field is None or i >= len(row):
                continue
            value = row[i]
            if field == "deadline":
                value = _cell_date(value)
            elif field in {"owner_unit", "support_units"} and isinstance(value, str):
                mapped = _units(value, aliases)
                value = mapped[0] if field == "owner_unit" and len(mapped) == 1 else mapped
            elif isinstance(value, str):
                value = value.strip()
            elif isinstance(value, float) and value.is_integer():
                value = str(int(value))
            if value is None or value == "":
                continue
            task[field] = value
            places.where[("tasks", index, field)] = (
                f"{task_file} {get_column_letter(i + 1)}{row_number}",
                row_number,
            )
        places.where[("tasks", index)] = (f"{task_file} row {row_number}", row_number)
        tasks.append(task)
    data["tasks"] = tasks
    return data, places


def plan_as_rows(plan: Plan, unit_names: Mapping[str, str] | None = None) -> list[tuple[Any, ...]]:
    """The tasks as the rows of the XLSX task sheet (for a template or a round trip); units by
    their names from ``unit_names`` (code → name) when given, several separated by ``; ``."""
    names = unit_names or {}
    return [
        (
            n,
            t.code,
            t.title,
            t.expected_product,
            names.get(t.owner_unit, t.owner_unit),
            "; ".join(names.get(u, u) for u in t.support_units),
            t.deadline,
            ", ".join(t.criteria),
        )
        for n, t in enumerate(plan.tasks, 1)
    ]


PLAN_WIDTHS = (20, 70)
TASK_WIDTHS = (6, 12, 50, 40, 24, 24, 12, 12)


def write_plan_xlsx(plan: Plan, path: Path, unit_names: Mapping[str, str] | None = None) -> Path:
    """Write ``plan`` as the workbook ``check_plan`` reads (sheets "Kế hoạch" and "Nhiệm vụ"),
    units by their names from ``unit_names`` (code → name; ``check_plan`` reads names back
    through its aliases), laid out to print on A4."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from cchc.reports.xlsx import BORDER, FONT, save, set_layout, write_header_row

    book = Workbook()
    info = book.active
    if info is None:
        raise AssertionError("a new workbook always has one sheet")
    info.title = PLAN_SHEET
    values: dict[tuple[str, ...], object] = {
        ("code",): plan.code,
        ("title",): plan.title,
        ("tenant",): plan.tenant,
        ("decision", "number"): plan.decision.number,
        ("decision", "date"): plan.decision.date,
        ("period", "label"): plan.period.label,
        ("period", "code"): plan.period.code,
        ("period", "start"): plan.period.start,
        ("period", "end"): plan.period.end,
        ("index_set",): plan.index_set,
    }
    for label, target in PLAN_FIELDS.items():
        info.append([label[0].upper() + label[1:], values[target]])
    for row in info.iter_rows():
        for cell in row:
            cell.font = Font(name=FONT, size=12, bold=cell.column == 1)
            cell.border = BORDER
            cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
            if isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"
    set_layout(info, PLAN_WIDTHS, None)
    sheet = book.create_sheet(TASK_SHEET)
    headers = [
        "STT",
        "Mã nhiệm vụ",
        "Nội dung nhiệm vụ",
        "Sản phẩm",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
        "Thời hạn",
        "Tiêu chí",
    ]
    write_header_row(sheet, headers, 1)
    for row_values in plan_as_rows(plan, unit_names):
        sheet.append(list(row_values))
    for row in sheet.iter_rows(min_row=2):
        row[6].number_format = "DD/MM/YYYY"
        for cell in row:
            cell.font = Font(name=FONT, size=12)
            cell.border = BORDER
            centred = cell.column in (1, 7)
            cell.alignment = Alignment(
                wrap_text=True, vertical="top", horizontal="center" if centred else "left"
            )
    set_layout(sheet, TASK_WIDTHS, 1)
    return save(book, path)
