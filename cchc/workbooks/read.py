"""Workbooks officials bring in (plans, metrics), read for what they hold.

openpyxl's read-only mode sizes a sheet by the ``<dimension>`` its writer stored and stops
there: a file whose stored size understates it (a careless tool, or a hostile one) would lose
the rows and columns past it without a word. :func:`read_workbook` forgets the stored size, so
every row and cell in the file is read.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet


def read_workbook(path: Path | str) -> Workbook:
    """``path`` opened read-only with cell values (not formulas), every worksheet read to its
    last stored cell whatever its ``<dimension>`` says; close it after use."""
    book = load_workbook(path, read_only=True, data_only=True)
    for sheet in book.worksheets:
        if isinstance(sheet, ReadOnlyWorksheet):
            sheet.reset_dimensions()
    return book
