"""Neutral exports: hostile text (file names, reasons, names) never becomes a live formula.

The hostile strings of OWASP's CSV-injection page go through every XLSX and CSV the product
writes; the files are read back as a spreadsheet program would (openpyxl, csv).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from typer.testing import Result

from cchc.city.ranking import CityRanking, RankedWard, WardEntry, WardFigures
from cchc.city.xlsx import write_city_ranking_xlsx
from cchc.cli import app
from cchc.commands import cycle_common
from cchc.plan.loader import write_plan_xlsx
from cchc.plan.models import Decision, Period, Plan, PlanTask
from cchc.reports.model import AssessmentRow, RankingRow, RankingTable, SelfAssessmentTable
from cchc.reports.ranking import write_ranking_xlsx
from cchc.reports.self_assessment import write_self_assessment_xlsx
from tests.test_cli_cycle import (
    FOCAL,
    INSPECTOR,
    PDF,
    PLAN,
    PLAN_YAML,
    Cli,
    Ticking,
    as_json,
    ok,
    runner,
)

HOSTILE = (
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
)
"""OWASP's examples of text a spreadsheet program runs as a formula."""
STARTS = ("=", "+", "-", "@", "\t", "\r")
VHXH_OFFICIAL = "bui.duc.anh"  # an official of the focal unit: submits, the focal official decides
CRITERIA = ("1.1.1", "1.1.2", "1.2.1", "1.2.2", "1.3.1", "1.3.2", "1.4.1")  # owned by vhxh


@pytest.fixture
def issued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`cchc` on SQLite in November 2025, the small plan of tests/test_cli_cycle.py issued."""
    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 11, 3, 2, 0, tzinfo=UTC)))
    env = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(tmp_path / "var"), *args], env=env)

    plan = tmp_path / "ke-hoach.yaml"
    plan.write_text(PLAN_YAML, encoding="utf-8")
    ok(run("db", "upgrade"))
    ok(run("plan", "issue", str(plan), "--as", FOCAL))
    return run


def _cells(path: Path) -> Iterator[Cell]:
    book = load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell, Cell):
                    yield cell


def neutral_xlsx_texts(path: Path) -> list[str]:
    """The texts of the workbook, after checking that no cell is a formula and that every text
    a spreadsheet program would run is a quote-prefixed string."""
    texts = []
    for cell in _cells(path):
        assert cell.data_type != "f", f"{path.name}!{cell.coordinate} is a formula: {cell.value!r}"
        if isinstance(cell.value, str):
            texts.append(cell.value)
            if cell.value.startswith(STARTS):
                where = f"{path.name}!{cell.coordinate} {cell.value!r}"
                assert cell.data_type == "s", where
                assert cell.quotePrefix, f"{where} is not quote-prefixed"
    return texts


def neutral_csv_texts(path: Path) -> list[str]:
    """The cells of the CSV, after checking that none starts as a formula."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        texts = [value for row in csv.reader(handle) for value in row]
    for value in texts:
        assert not value.startswith(STARTS), f"{path.name}: {value!r} starts as a formula"
    return texts


def carries(texts: list[str], hostile: str, *, quoted: bool = False) -> bool:
    """Whether some cell holds ``hostile`` (behind a single quote when ``quoted``)."""
    wanted = f"'{hostile}" if quoted else hostile
    return any(wanted in text for text in texts)


def test_command_line_exports_keep_hostile_names_and_reasons_as_text(
    issued: Cli, tmp_path: Path
) -> None:
    """Evidence named and decisions reasoned like formulas stay text in the self-assessment
    and ranking workbooks and in `audit history --xlsx/--csv`."""
    for hostile, code in zip(HOSTILE, CRITERIA, strict=True):
        name = hostile.replace("/", "") + ".pdf"  # a file name holds no slash; kept stripped
        pdf = tmp_path / "upload" / code / name
        pdf.parent.mkdir(parents=True)
        pdf.write_bytes(PDF + code.encode())
        sent = as_json(
            issued(
                "evidence",
                "submit",
                str(pdf),
                "--plan",
                PLAN,
                "--target",
                f"criterion:{code}",
                "--as",
                VHXH_OFFICIAL,
                "--json",
            )
        )
        assert sent["original_name"] == name.strip()
        ok(
            issued(
                "evidence",
                "review",
                str(sent["id"]),
                "accept",
                "--sha256",
                sent["sha256"],
                "--as",
                FOCAL,
            )
        )
        other = tmp_path / "upload" / code / "ban-nhap.pdf"
        other.write_bytes(PDF + b"draft " + code.encode())
        draft = as_json(
            issued(
                "evidence",
                "submit",
                str(other),
                "--plan",
                PLAN,
                "--target",
                f"criterion:{code}",
                "--as",
                VHXH_OFFICIAL,
                "--json",
            )
        )
        ok(
            issued(
                "evidence",
                "review",
                str(draft["id"]),
                "request_changes",
                "--sha256",
                draft["sha256"],
                "--reason",
                hostile,
                "--as",
                FOCAL,
            )
        )
    ok(issued("score", "run", "--plan", PLAN, "--as", FOCAL))
    ok(issued("rank", "run", "--plan", PLAN, "--as", FOCAL, "--publish"))
    exported = as_json(
        issued("export", "--plan", PLAN, "--out", str(tmp_path / "out"), "--as", FOCAL, "--json")
    )
    workbooks = [Path(f) for f in exported["files"] if f.endswith(".xlsx")]
    assert len(workbooks) == 2  # the self-assessment and the ranking
    texts = [text for book in workbooks for text in neutral_xlsx_texts(book)]
    for hostile in HOSTILE:
        assert carries(texts, hostile.replace("/", "").strip() + ".pdf"), hostile

    history_xlsx, history_csv = tmp_path / "ls.xlsx", tmp_path / "ls.csv"
    for code in CRITERIA:
        ok(
            issued(
                "audit",
                "history",
                "--criterion",
                code,
                "--plan",
                PLAN,
                "--as",
                INSPECTOR,
                "--xlsx",
                str(history_xlsx),
                "--csv",
                str(history_csv),
            )
        )
        hostile = HOSTILE[CRITERIA.index(code)]
        assert carries(neutral_xlsx_texts(history_xlsx), hostile), hostile
        assert carries(neutral_csv_texts(history_csv), hostile, quoted=True), hostile


def _plan(title: str) -> Plan:
    period = Period(
        code="2025-H2",
        label="6 tháng cuối năm 2025",
        start=date(2025, 7, 1),
        end=date(2025, 12, 31),
    )
    tasks = tuple(
        PlanTask(
            code=f"NV-{n:02d}",
            title=text,
            expected_product=text,
            owner_unit=text,
            support_units=(text,),
            deadline=date(2025, 12, 1),
            criteria=("1.1.1",),
        )
        for n, text in enumerate(HOSTILE, 1)
    )
    return Plan(
        code="KH-2025-H2",
        title=title,
        tenant="phuong-phu-lien",
        decision=Decision(number="=1/QĐ", date=date(2025, 7, 1)),
        period=period,
        index_set="par-2025-ward-sample",
        tasks=tasks,
    )


def test_plan_workbook_keeps_hostile_tasks_as_text(tmp_path: Path) -> None:
    """A plan whose titles, units and criteria look like formulas is written as text."""
    path = write_plan_xlsx(_plan(HOSTILE[1]), tmp_path / "kh.xlsx", {"+1+1": "@Phòng"})
    texts = neutral_xlsx_texts(path)
    for hostile in (*HOSTILE, "@Phòng", "=1/QĐ"):
        assert carries(texts, hostile.strip()), hostile  # the plan's texts are stripped


def test_ranking_workbook_keeps_hostile_text_and_negative_numbers(tmp_path: Path) -> None:
    """Unit names, bands and explanations stay text; a negative number stays a number."""
    rows = [
        RankingRow(
            rank=n,
            unit_name=text,
            score=Decimal(-n),
            band=text,
            on_time_share=None,
            first_review_share=None,
            points_lost=Decimal("-1.5"),
            overdue=n,
            explanation=text,
        )
        for n, text in enumerate(HOSTILE, 1)
    ]
    table = RankingTable(title=HOSTILE[0], period_label="-6 tháng", rows=rows)
    path = write_ranking_xlsx(tmp_path / "xh.xlsx", table)
    texts = neutral_xlsx_texts(path)
    for hostile in HOSTILE:
        assert carries(texts, hostile), hostile
    sheet = load_workbook(path).active
    assert sheet is not None
    assert (sheet["C4"].value, sheet["C4"].data_type) == (-1, "n")
    assert (sheet["G4"].value, sheet["G4"].data_type) == (-1.5, "n")


def test_self_assessment_workbook_keeps_hostile_text_and_a_penalty_numeric(
    tmp_path: Path,
) -> None:
    """Evidence names, explanations and units stay text; a penalty (negative) stays a number."""
    rows = [AssessmentRow(level="area", code="1", title="=Lĩnh vực", max_points=Decimal(10))]
    rows += [
        AssessmentRow(
            level="sub",
            code=f"1.{n}",
            title=text,
            max_points=Decimal(1),
            self_score=Decimal("-0.5"),
            evidence=(text,),
            explanation=text,
            owner_unit=text,
        )
        for n, text in enumerate(HOSTILE, 1)
    ]
    table = SelfAssessmentTable(
        ward_name="@Phường", period_label="-2025", index_set_title=HOSTILE[0], rows=rows
    )
    path = write_self_assessment_xlsx(tmp_path / "tdg.xlsx", table)
    texts = neutral_xlsx_texts(path)
    for hostile in HOSTILE:
        assert carries(texts, hostile), hostile
    scores = [c for c in _cells(path) if c.column == 5 and c.value == -0.5]
    assert len(scores) == len(HOSTILE)
    assert {c.data_type for c in scores} == {"n"}


def test_city_ranking_workbook_keeps_hostile_names_as_text(tmp_path: Path) -> None:
    """Ward names, plans and explanations of the city ranking stay text."""
    figures = WardFigures(
        plan="=KH",
        score_run="-run",
        index_set="x",
        base_points=Decimal(80),
        adjustments=Decimal(-2),
        base_max=Decimal(100),
    )
    rows = tuple(
        RankedWard(
            entry=WardEntry(tenant=f"w{n}", name=text, block="phuong", figures=figures),
            rank=n,
            of=len(HOSTILE),
            explanation_vi=text,
        )
        for n, text in enumerate(HOSTILE, 1)
    )
    ranking = CityRanking(
        city="hp",
        period="2025",
        period_label="@Năm 2025",
        run_id="=run",
        rows=rows,
        instance_id=1,
        state="draft",
        replayed=False,
    )
    path = write_city_ranking_xlsx(tmp_path / "city.xlsx", ranking, "+Hải Phòng")
    texts = neutral_xlsx_texts(path)
    for hostile in (*HOSTILE, "=KH", "+Hải Phòng"):
        assert carries(texts, hostile), hostile
    adjustments = [c for c in _cells(path) if c.column == 5 and c.value == -2]
    assert [c.data_type for c in adjustments] == ["n"] * len(HOSTILE)


@pytest.mark.parametrize("value", [-5, Decimal("-2.5"), -0.25, 0, None])
def test_csv_cells_leave_numbers_alone(value: object) -> None:
    """A number (negative too) is written to CSV as it is; only text gets the quote."""
    from cchc.reports.neutral import safe_cell

    assert safe_cell(value) is value
    assert safe_cell("-5") == "'-5"
    assert safe_cell("Đạt") == "Đạt"
