"""A history as files officials open: CSV (Excel-ready UTF-8), XLSX, and an inspection report DOCX.

The report follows Decree 30/2020/NĐ-CP through ``cchc.reports.admin_document``: the issuing
body and number, the national motto, place and date, “BÁO CÁO” and its subject; the scope and
the integrity checks in the body; the evidence reviewed; the full history in a landscape
appendix; recipients and the inspector's signature block.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from cchc import vi_text
from cchc.inspection.history import REVIEW_TRIGGERS, History, HistoryRow, target_words
from cchc.reports.admin_document import AdminDocument
from cchc.reports.model import DocumentHeader, Heading, Signature, TableBlock, TextBlock
from cchc.reports.neutral import safe_row
from cchc.reports.xlsx import BORDER, FONT, finish_and_save, write_header_row, write_titles
from cchc.vietnam import LOCAL_TZ
from workflows.canonical import utc

HEADINGS = (
    "STT",
    "Thời điểm (GMT+7)",
    "Người thực hiện",
    "Vai trò",
    "Đối tượng",
    "Thao tác",
    "Trạng thái (từ → đến)",
    "Kết quả",
    "Mã băm tài liệu (SHA-256)",
    "Lý do, nội dung quyết định",
)
"""The columns of every history table, file and report."""

XLSX_WIDTHS = (6, 19, 28, 16, 30, 24, 28, 14, 36, 40)
TIME_FORMAT = "dd/mm/yyyy hh:mm:ss"
"""Seconds shown, as in the CSV and the report: an audit trail orders acts within a minute."""


def local_time(value: datetime) -> datetime:
    """``value`` in Asia/Ho_Chi_Minh without its zone, as a spreadsheet stores a date-time."""
    return utc(value).astimezone(LOCAL_TZ).replace(tzinfo=None)


def person_text(row: HistoryRow) -> str:
    """``Nguyễn Thị Lan (nguyen.thi.lan)``, or the id alone, or ``—`` for the system."""
    if not row.actor:
        return "—"
    return f"{row.actor_name} ({row.actor})" if row.actor_name else row.actor


def cells(number: int, row: HistoryRow) -> list[str]:
    """The row's cells under ``HEADINGS``, as text."""
    return [
        str(number),
        row.time_local,
        person_text(row),
        row.role or "—",
        row.object,
        row.action,
        row.moved,
        row.outcome_label,
        row.sha256 or "",
        row.reason or "",
    ]


def document_cells(number: int, row: HistoryRow) -> list[str]:
    """The row's cells for the report's appendix: role and action in words, not codes."""
    values = cells(number, row)
    values[3] = row.role_label or values[3]
    values[5] = row.action_label or values[5]
    return values


def period_text(history: History) -> str:
    """``từ 01/11/2025 00:00:00 đến 01/12/2025 00:00:00`` (local time), or ``toàn bộ``."""
    since = vi_text.datetime_text(history.since, seconds=True) if history.since else "đầu"
    until = vi_text.datetime_text(history.until, seconds=True) if history.until else "nay"
    if not history.since and not history.until:
        return "toàn bộ thời gian"
    return f"từ {since} đến {until}"


def scope_text(history: History) -> str:
    """One line naming the subject, the plan and the period."""
    s = history.subject
    plan = f", kế hoạch {s.plan}" if s.plan else ""
    return f"{s.title}{plan}; {period_text(history)}; {len(history.rows)} dòng"


def write_csv(path: Path, history: History) -> Path:
    """The history as CSV (UTF-8 with a BOM so spreadsheet programs read the diacritics); a text
    that would run as a formula is written behind a single quote (:mod:`cchc.reports.neutral`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(safe_row(HEADINGS))
        for number, row in enumerate(history.rows, 1):
            writer.writerow(safe_row(cells(number, row)))
    return path


def write_xlsx(path: Path, history: History) -> Path:
    """The history as a worksheet: title, scope, a note on times, header row, one row per event;
    times as real date-times (Vietnam's local time, as Excel has no time zones); A4 landscape."""
    wb = Workbook()
    ws = wb.active
    if ws is None:
        raise AssertionError("a new workbook always has one sheet")
    ws.title = "Lịch sử"
    titles = (
        (f"LỊCH SỬ THAO TÁC – {history.subject.title}", 14),
        (scope_text(history), 12),
        ("Thời điểm theo giờ Việt Nam (GMT+7).", 12),
    )
    write_titles(ws, titles, len(HEADINGS))
    header_row = len(titles) + 1
    write_header_row(ws, HEADINGS, header_row)
    for number, row in enumerate(history.rows, 1):
        values: list[str | int | datetime] = list(cells(number, row))
        values[0] = number
        values[1] = local_time(row.occurred_at)
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=header_row + number, column=c, value=value or None)
            cell.font = Font(name=FONT, size=12)
            cell.border = BORDER
            cell.alignment = Alignment(
                wrap_text=True, vertical="top", horizontal="center" if c <= 2 else "left"
            )
        ws.cell(row=header_row + number, column=2).number_format = TIME_FORMAT
    ws.auto_filter.ref = f"A{header_row}:J{header_row + len(history.rows)}"
    return finish_and_save(wb, ws, XLSX_WIDTHS, header_row, path)


@dataclass(frozen=True)
class ReportContext:
    """Who issues the inspection report, where and when, and what was checked alongside."""

    ward_name: str
    """``Phường Phù Liễn``."""
    place: str
    today: date
    signer_name: str
    signer_title: str
    integrity: Sequence[str] = ()
    """Sentences on the checks made (audit chain verified, evidence files re-hashed)."""
    recipients: Sequence[str] = ("Chủ tịch UBND (để báo cáo)", "Lưu: VT, Đoàn kiểm tra")


def write_docx(path: Path, history: History, context: ReportContext) -> Path:
    """The inspection report (Decree 30 layout) with the full history in a landscape appendix."""
    s = history.subject
    header = DocumentHeader(
        issuing_body_parent=f"ỦY BAN NHÂN DÂN {context.ward_name.upper()}",
        issuing_body="ĐOÀN KIỂM TRA\nCẢI CÁCH HÀNH CHÍNH",
        bold_parent=False,
        number="      /BC-ĐKT",
        place=context.place,
        date=context.today,
        kind_title="BÁO CÁO",
        subject=["Kết quả kiểm tra hồ sơ, nhật ký", s.title],
    )
    document = AdminDocument(header)
    outcomes = Counter(row.outcome_label for row in history.rows)
    counted = "; ".join(f"{label}: {n}" for label, n in sorted(outcomes.items())) or "không có"
    plan = f" thuộc kế hoạch {s.plan}" if s.plan else ""
    document.extend(
        [
            TextBlock(
                text=f"Đoàn kiểm tra đã tra cứu nhật ký thao tác của hệ thống đối với {s.title}"
                f"{plan}, {period_text(history)} (giờ Việt Nam, GMT+7). Kết quả như sau:"
            ),
            Heading(text="I. PHẠM VI VÀ TÍNH TOÀN VẸN CỦA DỮ LIỆU"),
            TextBlock(
                text=f"Số dòng nhật ký được tra cứu: {len(history.rows)} ({counted}). "
                "Chi tiết tại Phụ lục kèm theo."
            ),
            *[TextBlock(text=f"- {line}") for line in context.integrity],
        ]
    )
    evidence = history.evidence()
    document.add(Heading(text="II. TÀI LIỆU KIỂM CHỨNG"))
    if evidence:
        document.add(
            TableBlock(
                columns=["ID", "Đối tượng", "Tệp, phiên bản", "Trạng thái", "SHA-256"],
                rows=[
                    [
                        str(e["id"]),
                        _sentence(target_words(str(e["target"] or ""))),
                        f"{e['file'] or ''} (v{e['version'] or 1})",
                        str(e["state_label"]),
                        str(e["sha256"] or ""),
                    ]
                    for e in evidence
                ],
                widths_mm=(12, 30, 40, 25, 58),
                font_pt=9,
            )
        )
    else:
        document.add(TextBlock(text="Không có tài liệu kiểm chứng trong phạm vi tra cứu."))
    on_evidence = [r for r in history.rows if r.kind == "evidence"]
    submitted = sum(r.trigger == "create" for r in on_evidence)
    decided = sum(r.trigger in REVIEW_TRIGGERS for r in on_evidence)
    document.add(Heading(text="III. CÁC QUYẾT ĐỊNH THẨM ĐỊNH VÀ THAO TÁC BỊ TỪ CHỐI"))
    refused = [r for r in history.rows if r.outcome == "refused"]
    document.add(
        TextBlock(
            text=f"Số thao tác trên tài liệu kiểm chứng: {len(on_evidence)} (nộp tài liệu: "
            f"{submitted}; quyết định thẩm định: {decided}; khác: "
            f"{len(on_evidence) - submitted - decided}); số thao tác bị từ chối (đã được ghi "
            f"nhật ký): {len(refused)}."
        )
    )
    for row in refused[:20]:
        document.add(
            TextBlock(
                text=f"- {row.time_local}: {person_text(row)}, "
                f"{row.action_label or row.action} trên {row.object}: {row.reason or ''}"
            )
        )
    document.add(
        TextBlock(text=f"Trên đây là kết quả kiểm tra hồ sơ, nhật ký đối với {s.title}./.")
    )
    document.close(
        context.recipients,
        Signature(
            on_behalf=None, deputy=None, title=context.signer_title, name=context.signer_name
        ),
    )
    ward = f"{context.ward_name[:1].lower()}{context.ward_name[1:]}"
    document.appendix(
        [f"LỊCH SỬ THAO TÁC: {s.title.upper()}"],
        label="Phụ lục",
        issuer_phrase=f"Đoàn kiểm tra cải cách hành chính {ward}",
    )
    document.add(
        TableBlock(
            columns=list(HEADINGS),
            rows=[_short(document_cells(n, row)) for n, row in enumerate(history.rows, 1)],
            widths_mm=(10, 22, 28, 18, 34, 26, 32, 20, 30, 32),
            font_pt=8,
        )
    )
    return document.save(path)


def _sentence(text: str) -> str:
    """The first letter in upper case, as a table cell starts."""
    return text[:1].upper() + text[1:]


def _short(values: list[str]) -> list[str]:
    """The appendix cells, with the hash split in two lines so it fits its column."""
    sha = values[8]
    if len(sha) == 64:
        values[8] = f"{sha[:32]}\n{sha[32:]}"
    return values
