"""The meeting report (HTML and DOCX, with a chart) and the draft conclusion notice (DOCX)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cchc import vi_text
from cchc.reports.admin_document import write_admin_document
from cchc.reports.model import (
    Block,
    DocumentHeader,
    Heading,
    Signature,
    TableBlock,
    TextBlock,
)
from cchc.review.compile import ReviewData, UnitProgress

if TYPE_CHECKING:
    from matplotlib.figure import Figure


PROGRESS_WIDTHS_MM = (40.0, 14.0, 12.0, 12.0, 14.0, 13.0, 13.0, 13.0, 34.0)
"""The progress table's columns (165 mm, the text width): the unit's name on two lines at most."""


@dataclass(frozen=True)
class Conclusion:
    """One numbered conclusion of the notice: what, which unit, by when."""

    number: int
    text: str
    owner_unit: str
    deadline: date


def draft_conclusions(review: ReviewData, *, days: int = 10) -> list[Conclusion]:
    """Conclusions drafted from the figures; officials edit them before the notice is issued."""
    due = review.end + timedelta(days=days)
    items: list[tuple[str, str]] = []
    for u in review.units:
        if u.overdue:
            items.append(
                (
                    u.unit,
                    (
                        f"{u.unit_name} khẩn trương hoàn thành các nhiệm vụ quá hạn "
                        f"({', '.join(u.overdue)}), bảo đảm có sản phẩm cụ thể theo tiêu chí "
                        "1.1.3."
                    ),
                )
            )
        if u.missing_evidence:
            items.append(
                (
                    u.unit,
                    (
                        f"{u.unit_name} bổ sung đầy đủ tài liệu kiểm chứng các tiêu "
                        f"chí: {', '.join(u.missing_evidence)}."
                    ),
                )
            )
        if u.points_at_risk > 0 and not u.overdue:
            items.append(
                (
                    u.unit,
                    (
                        f"{u.unit_name} rà soát, có giải pháp khắc phục các tiêu chí có "
                        f"nguy cơ bị trừ điểm ({vi_text.number(u.points_at_risk)} điểm)."
                    ),
                )
            )
        if u.follow_ups_open:
            items.append(
                (
                    u.unit,
                    (
                        f"{u.unit_name} hoàn thành các kết luận giao ban kỳ trước chưa "
                        f"thực hiện ({cite_conclusions(u)})."
                    ),
                )
            )
    return [Conclusion(n, text, unit, due) for n, (unit, text) in enumerate(items, 1)]


def cite_conclusions(u: UnitProgress) -> str:
    """The open follow-ups as an official cites them: ``kết luận số 2, 3 tại Thông báo số
    21/TB-UBND`` (several notices separated by ``;``)."""
    parts = []
    for notice, numbers in u.open_conclusions.items():
        listed = ", ".join(str(n) for n in numbers)
        parts.append(f"kết luận số {listed} tại Thông báo số {notice}" if notice else listed)
    return "; ".join(parts) or ", ".join(u.follow_ups_open)


def _change(review: ReviewData, u: UnitProgress) -> str:
    before = review.previous.get(u.unit)
    if not before:
        return "—"
    delta = u.points_at_risk - Decimal(str(before.get("points_at_risk", "0")))
    sign = "+" if delta > 0 else ""
    return f"{sign}{vi_text.number(delta)} điểm nguy cơ\n{len(u.done_in_period)} việc mới xong"


def _table(review: ReviewData) -> TableBlock:
    rows = [
        [
            u.unit_name,
            str(len(u.done_in_period)),
            str(len(u.due_in_period)),
            str(len(u.overdue)),
            f"{u.covered}/{u.criteria}",
            str(u.pending_reviews),
            vi_text.number(u.points_at_risk),
            f"{len(u.follow_ups_done)}/{len(u.follow_ups_done) + len(u.follow_ups_open)}",
            _change(review, u),
        ]
        for u in review.units
    ]
    return TableBlock(
        columns=[
            "Đơn vị",
            "Hoàn thành",
            "Đến hạn",
            "Quá hạn",
            "Có minh chứng",
            "Chờ thẩm định",
            "Điểm nguy cơ",
            "Kết luận kỳ trước",
            "Thay đổi so với kỳ trước",
        ],
        rows=rows,
        widths_mm=PROGRESS_WIDTHS_MM,
        numeric_columns=frozenset({1, 2, 3, 5, 6}),
        font_pt=10,
    )


def write_report_docx(
    path: Path,
    review: ReviewData,
    header: DocumentHeader,
    signature: Signature,
    recipients: list[str],
    issuer: str,
    checkpoint: str | None = None,
) -> Path:
    """The meeting report in the administrative layout; ``issuer`` closes it (``Ủy ban nhân
    dân xã Tiên Lãng``); ``checkpoint`` is the ward's signed audit checkpoint sentence."""
    blocks: list[Block] = [
        TextBlock(
            text=f"Kỳ đánh giá: {review.label} (từ {vi_text.date_text(review.start)} đến "
            f"{vi_text.date_text(review.end)}). Chỉ số CCHC tự chấm hiện tại: "
            f"{vi_text.number(review.index)}%."
        ),
        Heading(text="I. TIẾN ĐỘ THEO ĐƠN VỊ"),
        _table(review),
        Heading(text="II. NHỮNG VẤN ĐỀ CẦN CHỈ ĐẠO"),
        *[
            TextBlock(text=f"- {c.text} Thời hạn: {vi_text.date_text(c.deadline)}.")
            for c in draft_conclusions(review)
        ],
        *([TextBlock(text=checkpoint)] if checkpoint else []),
        TextBlock(
            text=f"Trên đây là báo cáo tiến độ công tác cải cách hành chính {review.label} "
            f"của {issuer}./."
        ),
    ]
    return write_admin_document(path, header, blocks, recipients, signature)


@dataclass(frozen=True)
class NoticeText:
    """What the conclusion notice says around its conclusions."""

    label: str
    """The period reviewed: ``tháng 10/2025``."""
    held_on: date
    chair: str
    """``đồng chí Đặng Văn Thắng, Chủ tịch UBND phường``."""
    office: str
    """Who follows the conclusions up: ``Văn phòng HĐND và UBND xã``."""


def write_notice_docx(
    path: Path,
    text: NoticeText,
    conclusions: list[Conclusion],
    header: DocumentHeader,
    signature: Signature,
    recipients: list[str],
    unit_names: dict[str, str],
) -> Path:
    """The conclusion notice (a draft when ``header.draft``): numbered conclusions, each with
    an owner and a deadline, then who follows them up; ends with ``./.``."""
    blocks: list[Block] = [
        TextBlock(
            text=f"Ngày {vi_text.date_text(text.held_on)}, {text.chair} chủ trì cuộc họp giao ban "
            f"công tác cải cách hành chính {text.label}. Sau khi nghe báo cáo tiến độ của "
            "các đơn vị, Chủ tọa kết luận như sau:"
        ),
        *[
            TextBlock(
                text=f"{c.number}. {c.text.rstrip('.')} (Đơn vị chủ trì: "
                f"{unit_names.get(c.owner_unit, c.owner_unit)}; thời hạn: "
                f"{vi_text.date_text(c.deadline)})."
            )
            for c in conclusions
        ],
        TextBlock(
            text=f"{text.office} theo dõi, đôn đốc việc thực hiện các kết luận trên và báo "
            "cáo tại cuộc họp giao ban kỳ sau./."
        ),
    ]
    return write_admin_document(path, header, blocks, recipients, signature)


_ENV = Environment(
    loader=PackageLoader("cchc.review", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
)


def write_report_html(path: Path, review: ReviewData, ward: str, chart: str | None) -> Path:
    """The meeting report as a self-contained HTML page."""
    html = _ENV.get_template("review_report.html.j2").render(
        review=review,
        ward=ward,
        conclusions=draft_conclusions(review),
        chart=chart,
        fmt=vi_text.number,
    )
    path.write_text(html, encoding="utf-8")
    return path


def write_chart_png(path: Path, review: ReviewData) -> Path:
    """:func:`review_chart` as a PNG at ``path``."""
    review_chart(review).savefig(path)
    return path


def review_chart(review: ReviewData) -> Figure:
    """Bars of done and overdue tasks per unit, each with its count; whole-number ticks."""
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import TightLayoutEngine
    from matplotlib.ticker import MaxNLocator

    with mpl.rc_context({"font.family": "DejaVu Sans"}):  # covers Vietnamese on any machine
        figure = Figure(figsize=(9, 4.5), dpi=120)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        names = [u.unit_name for u in review.units]
        positions = range(len(names))
        done = [len(u.done_in_period) for u in review.units]
        overdue = [len(u.overdue) for u in review.units]
        for values, shift, label, colour in (
            (done, -0.2, "Hoàn thành trong kỳ", "#1a9850"),
            (overdue, 0.2, "Quá hạn", "#d73027"),
        ):
            bars = axes.barh(
                [p + shift for p in positions], values, height=0.4, label=label, color=colour
            )
            axes.bar_label(bars, labels=[str(v) for v in values], padding=3)
        axes.set_yticks(list(positions), names)
        axes.invert_yaxis()
        axes.set_xlim(0, max([1, *done, *overdue]) * 1.15)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("Số nhiệm vụ")
        axes.set_ylabel("Đơn vị")
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.set_title(f"Tiến độ nhiệm vụ – {review.label}")
        axes.legend(loc="best")
        # The tight layout applied once, without installing it as the figure's layout engine
        # (``figure.tight_layout()`` does): savefig then draws once instead of laying out again.
        TightLayoutEngine().execute(figure)
    return figure
