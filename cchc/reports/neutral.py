"""Neutral exports: no text the product writes to XLSX or CSV turns into a formula.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and
tab or carriage return can hide such a start (OWASP, “CSV Injection”). Officials' text reaches
the files the product writes (evidence file names, reasons, titles), so every text cell goes
through one rule, :func:`is_formula_like`:

- XLSX (:func:`neutral_workbook`, called by ``cchc.reports.xlsx.save`` before every workbook is
  written): such a cell is stored as a string with Excel's quote prefix, exactly as Excel keeps
  text typed after an apostrophe: it shows the same text and never runs it, not even when the
  cell is edited.
- CSV (:func:`safe_cell`, applied to every cell of every row written): a single quote is put
  in front of such a text, as OWASP recommends.

Numbers are not text: a negative number stays a number in both.
"""

from __future__ import annotations

from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell.cell import Cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""The first characters that make a spreadsheet program read a text as a formula."""


def is_formula_like(value: object) -> bool:
    """Whether ``value`` is a text a spreadsheet program could run as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def safe_cell(value: object) -> object:
    """A CSV cell as written: a formula-like text behind a single quote, anything else as is."""
    return f"'{value}" if is_formula_like(value) else value


def safe_row(values: Iterable[object]) -> list[object]:
    """Every cell of a CSV row through :func:`safe_cell`."""
    return [safe_cell(value) for value in values]


def neutral_cell(cell: Cell) -> None:
    """Keep a text cell text: a formula-like text (or one that reads as an error code such as
    ``#N/A``) becomes a quote-prefixed string; numbers, dates and other text are left alone."""
    if not isinstance(cell.value, str):
        return
    if cell.data_type in ("f", "e") or is_formula_like(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True


def neutral_workbook(wb: Workbook) -> Workbook:
    """:func:`neutral_cell` on every cell of every worksheet of ``wb``; returns ``wb``."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell, Cell):
                    neutral_cell(cell)
    return wb
