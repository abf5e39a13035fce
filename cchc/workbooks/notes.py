"""What a workbook's values alone do not say: merged cells, formulas never computed, a table on
another sheet. The XLSX readers (plans, metrics) add these as problems in words, instead of the
empty cells or "is not a number" they would otherwise report."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from workflows.errors import Problem

MERGED_HINT = "unmerge the cells and write the value in every row"
FORMULA_HINT = (
    "type the value itself, or open the file in Excel or LibreOffice and save it again so the "
    "computed value is stored"
)


def _load(path: Path, *, data_only: bool) -> Any:
    from openpyxl import load_workbook

    return load_workbook(path, read_only=False, data_only=data_only)


def cell_problems(
    path: Path, sheet: str | int, file: str, code: str, first_row: int, columns: Collection[int]
) -> list[Problem]:
    """Merged ranges and uncomputed formulas in ``sheet`` (a name, or 0 for the first) from
    ``first_row`` down, in the ``columns`` read (1-based), each a problem with its cells;
    ``file`` is the name problems carry."""
    book = _load(path, data_only=False)
    try:
        ws = book.worksheets[sheet] if isinstance(sheet, int) else book[sheet]
        problems = [
            Problem(
                file,
                cells.min_row,
                code,
                f"cells {cells.coord} are merged: only {cells.start_cell.coordinate} holds "
                f"a value, the other rows read as empty",
                MERGED_HINT,
            )
            for cells in sorted(ws.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
            if cells.max_row >= first_row
            and any(cells.min_col <= column <= cells.max_col for column in columns)
        ]
        formulas = [
            (c.coordinate, c.row, str(c.value))
            for row in ws.iter_rows(min_row=first_row)
            for c in row
            if c.data_type == "f" and c.column in columns
        ]
        title = ws.title
    finally:
        book.close()
    if formulas:
        cached = _load(path, data_only=True)
        try:
            values = cached[title]
            problems.extend(
                Problem(
                    file,
                    row,
                    code,
                    f"cell {where} holds a formula ({formula}) whose value "
                    "was never computed, so it reads as empty",
                    FORMULA_HINT,
                )
                for where, row, formula in formulas
                if values[where].value is None
            )
        finally:
            cached.close()
    return sorted(problems, key=lambda p: p.line)


def sheets_holding(path: Path, headers: Collection[str]) -> tuple[list[str], list[str]]:
    """Every sheet's name in order, and those whose first ten rows hold one of ``headers``
    (compared without case and extra spaces)."""
    from openpyxl import load_workbook

    wanted = {" ".join(h.lower().split()) for h in headers}
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        found = []
        for ws in book.worksheets:
            for row in ws.iter_rows(max_row=10, values_only=True):
                if any(" ".join(str(v or "").lower().split()) in wanted for v in row):
                    found.append(ws.title)
                    break
        return list(book.sheetnames), found
    finally:
        book.close()


def table_elsewhere(path: Path, headers: Collection[str], file: str, code: str) -> Problem | None:
    """A problem when the first sheet (the one read) lacks the table another sheet holds."""
    names, holding = sheets_holding(path, headers)
    others = [name for name in holding if name != names[0]]
    if not names or names[0] in holding or not others:
        return None
    return Problem(
        file,
        1,
        code,
        f"only the first sheet ({names[0]!r}) is read, and the table is on sheet {others[0]!r}",
        "drag that sheet's tab to the far left, or delete the sheets before it",
    )
