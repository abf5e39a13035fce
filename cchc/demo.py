"""``cchc demo``: the CCHC half-year of Phường Phù Liễn end to end, on a fresh SQLite database.

With a clock the demo controls: the plan is issued from the XLSX officials keep (Prefect flow
``issue-plan``), units carry out tasks (some late, one returned, one overdue), upload evidence
(one sent back and replaced, one rejected), the portal's metrics are imported (some below
target), the period is scored (flow ``score-period``) and the units ranked and published (flow
``rank-units``). The score and ranking tables are printed; XLSX, DOCX and PNG files are written
to the output folder. The city's two other sample wards issue the same plan and score it, and a
city official ranks the wards by block (XLSX). The audit chains are verified.

This module holds the story and its steps; ``flows.demo.run_demo`` plays it with the flows
(``cchc`` imports no ``flows``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.table import Table
from sqlalchemy import select

from cchc import cycle, vi_text
from cchc.city import BLOCKS, load_city
from cchc.city.model import default_city
from cchc.city.ranking import CityRanking, rank_city
from cchc.city.reference import settle_city
from cchc.city.xlsx import write_city_ranking_xlsx
from cchc.commands.common import console
from cchc.evidence.service import review_evidence, submit_evidence
from cchc.metrics.values import load_metrics, record_import
from cchc.plan.deadlines import sweep
from cchc.ranking.emulation import RankedUnit
from cchc.runtime import PROJECT_ROOT, make_workflow_engine
from cchc.scoring.scores import ScoreCard, at_risk
from cchc.settings import SQLITE_FILE, sqlite_url
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from workflows.canonical import sha256_hex
from workflows.database import Settings, make_engine, session_factory, unit_of_work
from workflows.schema import Instance

MARKER = ".cchc-demo"
EXAMPLES = PROJECT_ROOT / "examples"
PLAN_FILE = EXAMPLES / "plan-phu-lien-2025-h2.yaml"
INPUTS_FILE = EXAMPLES / "scoring-inputs-2025-h2.yaml"
PLAN = "KH-CCHC-2025-H2"
PERIOD = "2025-H2"
FOCAL = "nguyen.thi.lan"
ADMIN = "tran.van.minh"
CHAIRMAN = "dang.van.thang"
SIGNER = "vu.thi.mai"
OFFICIAL = {
    "vhxh": "bui.duc.anh",
    "vp": "do.thi.thu.trang",
    "kt": "ngo.thi.ha",
    "ttphc": "ta.minh.quan",
    "ttsnc": "phan.thi.yen",
}

# (task, owner unit, [(local date, trigger, actor, payload)])
TASK_STORY: list[tuple[str, str, list[tuple[str, str, str, dict[str, str]]]]] = [
    (
        "NV-01",
        "vhxh",
        [
            ("2025-08-12", "submit_product", "unit", {}),
            ("2025-08-13", "accept_product", "focal", {}),
        ],
    ),
    (
        "NV-12",
        "vhxh",
        [
            ("2025-09-04", "submit_product", "unit", {}),
            ("2025-09-05", "accept_product", "focal", {}),
        ],
    ),
    (
        "NV-09",
        "vhxh",
        [
            ("2025-08-19", "submit_product", "unit", {}),
            ("2025-08-19", "accept_product", "focal", {}),
        ],
    ),
    (
        "NV-02",
        "vhxh",
        [
            ("2025-08-27", "submit_product", "unit", {}),
            (
                "2025-08-28",
                "return_product",
                "focal",
                {"reason": "Chưa nêu hình thức tuyên truyền trên loa truyền thanh"},
            ),
            ("2025-09-03", "submit_product", "unit", {}),
            ("2025-09-04", "accept_product", "focal", {}),
        ],
    ),
    (
        "NV-03",
        "ttphc",
        [
            ("2025-09-10", "submit_product", "unit", {}),
            ("2025-09-11", "accept_product", "focal", {}),
        ],
    ),
    (
        "NV-04",
        "vp",
        [
            ("2025-09-29", "submit_product", "unit", {}),
            ("2025-09-30", "accept_product", "focal", {}),
        ],
    ),
    (
        "NV-11",
        "vhxh",
        [
            ("2025-10-09", "submit_product", "unit", {}),
            ("2025-10-09", "accept_product", "focal", {}),
        ],
    ),
    (
        "NV-05",
        "vp",
        [
            ("2025-10-22", "submit_product", "unit", {}),
            ("2025-10-23", "accept_product", "focal", {}),
        ],
    ),
    (
        "NV-06",
        "kt",
        [
            ("2025-10-28", "submit_product", "unit", {}),
            ("2025-10-29", "accept_product", "focal", {}),
        ],
    ),
    (
        "NV-07",
        "kt",
        [
            ("2025-11-12", "submit_product", "unit", {}),
            ("2025-11-13", "accept_product", "focal", {}),
        ],
    ),
    ("NV-08", "vhxh", [("2025-11-20", "start", "unit", {})]),
]

# (local date, target, unit, file name, review: (decision, reason) or None)
EVIDENCE_STORY: list[tuple[str, str, str, str, tuple[str, str] | None]] = [
    ("2025-08-01", "criterion:1.1.1", "vhxh", "QD-337-ban-hanh-KH-CCHC.pdf", ("accept", "")),
    ("2025-08-13", "task:NV-01", "vhxh", "KH-kiem-tra-CCHC.pdf", ("accept", "")),
    ("2025-08-20", "task:NV-09", "vhxh", "KH-chuyen-doi-so-2025.pdf", ("accept", "")),
    ("2025-09-04", "task:NV-02", "vhxh", "KH-tuyen-truyen-CCHC.pdf", ("accept", "")),
    ("2025-09-05", "task:NV-12", "vhxh", "QD-chuc-nang-nhiem-vu.pdf", ("accept", "")),
    (
        "2025-09-11",
        "task:NV-03",
        "ttphc",
        "Danh-muc-TTHC-cong-khai.pdf",
        ("request_changes", "Thiếu danh mục TTHC liên thông và ảnh chụp niêm yết tại Trung tâm"),
    ),
    ("2025-09-16", "task:NV-03", "ttphc", "Danh-muc-TTHC-cong-khai.pdf", ("accept", "")),
    ("2025-09-30", "task:NV-04", "vp", "BC-tu-kiem-tra-VBQPPL.pdf", ("accept", "")),
    ("2025-10-10", "task:NV-11", "vhxh", "BC-quy-III-he-thong-bao-cao.pdf", ("accept", "")),
    ("2025-10-23", "task:NV-05", "vp", "KH-ra-soat-VBQPPL.pdf", ("accept", "")),
    ("2025-10-29", "task:NV-06", "kt", "QD-cong-khai-ngan-sach.pdf", ("accept", "")),
    (
        "2025-11-13",
        "task:NV-07",
        "kt",
        "Anh-hoi-nghi.pdf",
        ("reject", "Không phải biên bản hội nghị đối thoại; đề nghị nộp biên bản có chữ ký"),
    ),
    ("2025-11-14", "task:NV-07", "kt", "Bien-ban-hoi-nghi-doi-thoai.pdf", ("accept", "")),
]

METRICS_CSV = """Mã đơn vị,Kỳ,Chỉ số,Tử số,Mẫu số,Nguồn
ttphc,2025-H2,on_time_dossiers,1930,2000,Cổng DVC thành phố
ttphc,2025-H2,full_online_dossiers,1120,2000,Cổng DVC thành phố
ttphc,2025-H2,online_payments,270,600,Cổng DVC thành phố
ttphc,2025-H2,digitised_dossiers,1660,2000,Hệ thống TTHC thành phố
ttphc,2025-H2,reused_digitised_data,900,2000,Hệ thống TTHC thành phố
ttphc,2025-H2,online_services_offered,152,180,Cổng DVC thành phố
ttphc,2025-H2,repeat_supplement_requests,1,,Sổ theo dõi hồ sơ
ttphc,2025-H2,overdue_without_apology,0,,Sổ theo dõi hồ sơ
vp,2025-H2,published_dossiers,2000,2000,Cổng DVC thành phố
vp,2025-H2,electronic_documents,1450,1450,Hệ thống quản lý văn bản
vp,2025-H2,digitally_signed_documents,1300,1450,Hệ thống quản lý văn bản
kt,2025-H2,public_investment_disbursement,"8,7",10,Kho bạc Nhà nước (tỷ đồng)
vhxh,2025-H2,sipas_satisfaction,91,100,Khảo sát SIPAS của phường
vhxh,2025-H2,late_reports,1,,Sổ theo dõi báo cáo
ttsnc,2025-H2,website_posts,48,,Trang thông tin điện tử phường
"""


class DemoError(Exception):
    """The demo cannot run in this data folder."""


class DemoClock:
    """The demo's clock: Asia/Ho_Chi_Minh dates moved forward by the story."""

    def __init__(self, start: str) -> None:
        self.now = self.at(start)

    @staticmethod
    def at(day: str, hour: int = 9) -> datetime:
        """09:00 local on ``day`` (YYYY-MM-DD)."""
        return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=LOCAL_TZ)

    def __call__(self) -> datetime:
        return self.now

    def set(self, day: str) -> None:
        """Move to ``day`` (never backwards; same day moves a minute on)."""
        target = self.at(day)
        self.now = max(target, self.now + timedelta(minutes=1))


def _seconds(started: float) -> str:
    """Seconds since ``started`` (``time.perf_counter``), Vietnamese style: ``30,7``."""
    return vi_text.number(Decimal(f"{time.perf_counter() - started:.1f}"), 1)


def fresh_database(data_dir: Path, force: bool) -> str:
    """A new SQLite file in ``data_dir``, replacing only a database an earlier demo made."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SQLITE_FILE
    if path.exists() and not (data_dir / MARKER).exists() and not force:
        raise DemoError(
            f"{path} holds data the demo did not create; use --data-dir for another folder "
            "or --force to replace it"
        )
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    (data_dir / MARKER).write_text("created by `cchc demo`; safe to delete\n", encoding="utf-8")
    return sqlite_url(data_dir)


def pdf_bytes(title: str) -> bytes:
    """A small valid one-page PDF whose text is ``title`` (ASCII)."""
    text = title.encode("ascii", "replace").decode().replace("(", "[").replace(")", "]")
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@contextmanager
def step(title: str) -> Iterator[None]:
    """Print a step heading and how long it took."""
    console.print(f"[bold]{title}[/]", highlight=False)
    started = time.perf_counter()
    yield
    console.print(f"   [dim]xong sau {_seconds(started)} giây[/]", highlight=False)


def _who(role: str, unit: str) -> str:
    return {"unit": OFFICIAL[unit], "focal": FOCAL, "admin": ADMIN}[role]


def play_tasks(ws: Workspace, clock: DemoClock) -> Counter[str]:
    """Units carry out their tasks over the half-year, as the story says; the daily sweep runs
    before each day's events (reminders, overdue marks, escalations). Returns the sweep counts."""
    calendar = ws.calendar
    policy = ws.deadlines  # the ward's registered task deadline policy
    swept: Counter[str] = Counter()
    events = sorted(
        (day, n, task, unit, trigger, who, payload)
        for task, unit, story in TASK_STORY
        for n, (day, trigger, who, payload) in enumerate(story)
    )
    ids = cycle.task_ids(ws, PLAN)
    for day, _, task, unit, trigger, who, story_payload in events:
        clock.set(day)
        report = sweep(ws, calendar, ADMIN, policy=policy)
        swept.update(
            reminders=report.reminders, overdue=report.overdue, escalations=report.escalations
        )
        payload = (
            {"product": f"Sản phẩm của nhiệm vụ {task}"}
            if trigger == "submit_product"
            else story_payload
        )
        with unit_of_work(ws.sessions) as session:
            ws.engine.fire(
                session,
                ids[task],
                trigger,
                actor=ws.actor(_who(who, unit)),
                payload=payload,
                idempotency_key=f"demo:{task}:{day}:{trigger}",
            )
    return swept


def play_evidence(ws: Workspace, clock: DemoClock) -> int:
    """Units upload evidence; the focal official reviews it. Returns the number of uploads."""
    for day, target, unit, name, review in EVIDENCE_STORY:
        clock.set(day)
        content = pdf_bytes(f"{name} {day}")
        with unit_of_work(ws.sessions) as session:
            sent = submit_evidence(
                session,
                ws.engine,
                ws.store,
                ws.actor(OFFICIAL[unit]),
                plan_code=PLAN,
                target=target,
                source=content,
                original_name=name,
            )
        if review is not None:
            decision, reason = review
            with unit_of_work(ws.sessions) as session:
                review_evidence(
                    session,
                    ws.engine,
                    ws.actor(FOCAL),
                    sent.instance_id,
                    decision,  # type: ignore[arg-type]  # the story's decisions are the three
                    sha256=sent.sha256,
                    reason=reason or None,
                )
    return len(EVIDENCE_STORY)


MISSING_EVIDENCE = {"5.2.1", "5.3.1"}
"""Sub-criteria left without evidence: 5.2.1 is explained in the scoring inputs, 5.3.1 is not."""


def play_criterion_evidence(ws: Workspace, clock: DemoClock) -> int:
    """Each owner unit uploads a document for every sub-criterion no task or upload covers."""
    clock.set("2025-12-01")
    tasked = {code for task in cycle.read_plan(ws, PLAN_FILE).tasks for code in task.criteria}
    done = {target.split(":", 1)[1] for _, target, _, _, _ in EVIDENCE_STORY}
    uploads = 0
    for sub in ws.index_set.sub_criteria():
        if sub.code in tasked | done | MISSING_EVIDENCE:
            continue
        with unit_of_work(ws.sessions) as session:
            sent = submit_evidence(
                session,
                ws.engine,
                ws.store,
                ws.actor(OFFICIAL[sub.owner_unit]),
                plan_code=PLAN,
                target=f"criterion:{sub.code}",
                source=pdf_bytes(f"TLKC {sub.code}"),
                original_name=f"TLKC-{sub.code}.pdf",
            )
            review_evidence(
                session, ws.engine, ws.actor(FOCAL), sent.instance_id, "accept", sha256=sent.sha256
            )
        uploads += 1
    return uploads


def import_metrics(ws: Workspace, clock: DemoClock, folder: Path) -> Path:
    """Write the portal's export as CSV and import it as the focal official."""
    clock.set("2025-12-05")
    path = folder / f"so-lieu-chi-so-{PERIOD}.csv"
    path.write_text(METRICS_CSV, encoding="utf-8")
    values = load_metrics(
        path, known_units=set(ws.unit_names()), known_metrics=ws.metric_names(), period=PERIOD
    )
    with unit_of_work(ws.sessions) as session:
        record_import(
            session,
            ws.engine,
            ws.actor(FOCAL),
            values,
            period=PERIOD,
            file_sha256=sha256_hex(path.read_text(encoding="utf-8")),
            file_name=path.name,
        )
    return path


def score_table(card: ScoreCard) -> Table:
    """Points per area, the index, and the adjustments."""
    table = Table(title=f"Kết quả tự chấm điểm — {card.index_set.title[:60]}…")
    for header, justify in (
        ("Lĩnh vực", "left"),
        ("Nội dung", "left"),
        ("Điểm đạt", "right"),
        ("Tối đa", "right"),
        ("Tỷ lệ", "right"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for area in card.areas():
        table.add_row(
            area.code,
            area.title,
            vi_text.number(area.points, 2),
            vi_text.number(area.max_points, 2),
            vi_text.percent(area.index),
        )
    table.add_section()
    table.add_row("", "Điểm thưởng / điểm trừ", vi_text.number(card.adjustments, 2), "", "")
    total = vi_text.number(card.total_points, 2)
    index = f"[bold]{vi_text.number(card.index, 2)}%[/]"
    table.add_row(
        "",
        "[bold]Tổng cộng (Chỉ số CCHC)[/]",
        total,
        vi_text.number(Decimal(card.index_set.total_max), 2),
        index,
    )
    return table


def risk_table(ws: Workspace, card: ScoreCard) -> Table:
    """Points lost (or at risk) per owner unit, with the sub-criteria."""
    table = Table(title="Điểm bị mất / có nguy cơ mất theo đơn vị chủ trì")
    table.add_column("Đơn vị")
    table.add_column("Điểm", justify="right")
    table.add_column("Tiêu chí thành phần")
    names = ws.unit_names()
    for unit, subs in at_risk(card).items():
        lost = sum((s.points_at_risk for s in subs), Decimal(0))
        table.add_row(
            names.get(unit, unit),
            vi_text.number(lost, 2),
            ", ".join(f"{s.code} (−{vi_text.number(s.points_at_risk, 2)})" for s in subs),
        )
    return table


def ranking_table(rows: list[RankedUnit]) -> Table:
    """The ranking with each unit's explanation."""
    table = Table(title="Xếp hạng thi đua CCHC 6 tháng cuối năm 2025", show_lines=True)
    for header in ("Hạng", "Đơn vị", "Điểm", "Xếp loại", "Giải thích"):
        table.add_column(header)
    for r in rows:
        score = vi_text.number(r.score, 2)
        table.add_row(str(r.rank), r.unit_name, score, r.band, r.explanation_vi)
    return table


def play_reviews(ws: Workspace, clock: DemoClock, folder: Path) -> list[str]:
    """October's meeting issues a notice; one conclusion is done; November's report shows it."""
    from cchc.review.service import issue_notice, issued_notice_path, run_review

    clock.set("2025-12-11")
    first = run_review(
        ws, plan=PLAN, month="2025-10", actor_id=FOCAL, chair_id=CHAIRMAN, out=folder / "2025-10"
    )
    issue_notice(
        ws,
        plan=PLAN,
        month="2025-10",
        chair_id=CHAIRMAN,
        office_id=OFFICIAL["vp"],
        number="21/TB-UBND",
        out=folder / "2025-10",
    )
    with ws.sessions() as session:
        follow_up = session.execute(
            select(Instance.id, Instance.data)
            .where(
                Instance.tenant == ws.tenant,
                Instance.kind == "task",
                Instance.ref.startswith("GB-", autoescape=True),
            )
            .order_by(Instance.id)
        ).first()
    if follow_up is not None:
        unit = json.loads(follow_up.data)["owner_unit"]
        clock.set("2025-12-12")
        with unit_of_work(ws.sessions) as session:
            ws.engine.fire(
                session,
                follow_up.id,
                "submit_product",
                actor=ws.actor(OFFICIAL[unit]),
                payload={"product": "Báo cáo kết quả thực hiện kết luận"},
            )
            ws.engine.fire(session, follow_up.id, "accept_product", actor=ws.actor(FOCAL))
    second = run_review(
        ws, plan=PLAN, month="2025-11", actor_id=FOCAL, chair_id=CHAIRMAN, out=folder / "2025-11"
    )
    done = sum(len(u.follow_ups_done) for u in second.review.units)
    pending = sum(len(u.follow_ups_open) for u in second.review.units)
    return [
        f"tháng 10: {len(first.conclusions)} kết luận, Thông báo 21/TB-UBND đã ban hành",
        f"tháng 11: kết luận kỳ trước đã xong {done}, còn {pending}",
        *[
            str(path)
            for path in (
                *first.files,
                issued_notice_path(folder / "2025-10", "2025-10"),
                *second.files,
            )
        ],
    ]


def deliver_notifications(ws: Workspace, folder: Path) -> int:
    """Deliver the outbox into a Maildir the officials' mail client could open; how many sent."""
    import os

    from notifications.channels import MAIL_FROM_ENV, MaildirChannel
    from notifications.dispatch import dispatch
    from notifications.recipients import ward_sender

    sender = os.environ.get(MAIL_FROM_ENV) or ward_sender(ws.organization)
    channel = MaildirChannel(folder, sender=sender)
    sent = 0
    while True:
        report = dispatch(ws.sessions, ws.organization, channel, ws.engine.clock(), batch=200)
        sent += report.sent
        if report.sent + report.retried + report.failed == 0:
            return sent


CITY_OFFICIAL = "giang.van.hieu"
OTHER_WARDS = {"phuong-le-chan": ("1.", "5."), "xa-tien-lang": ("7.",)}
"""The city's two other sample wards: the same plan, scored without the manual inputs of the
areas named (so their indices differ from Phù Liễn's and from each other)."""


def play_city(
    settings: Settings, clock: DemoClock, manual: Mapping[str, Mapping[str, Any]], out: Path
) -> tuple[CityRanking, Path]:
    """The other wards of the sample city issue the plan and score it; a city official ranks
    the wards of each block and publishes the ranking (XLSX into ``out``)."""
    city = load_city(default_city())
    for tenant, without in OTHER_WARDS.items():
        ws = Workspace.open(settings, organization=city.organization_path(tenant), clock=clock)
        try:
            focal = ws.organization.people_with_role("focal_official")[0].id
            plan = cycle.read_plan(ws, PLAN_FILE).model_copy(update={"tenant": tenant})
            cycle.issue_checked(ws, plan, focal)
            inputs = {code: v for code, v in manual.items() if not code.startswith(without)}
            cycle.score(ws, PLAN, focal, inputs)
        finally:
            ws.close()
    db = make_engine(settings.database_url)
    try:
        sessions = session_factory(db)
        city, engine = settle_city(
            sessions, city, default_city(), make_workflow_engine(clock=clock), chosen=None
        )
        with unit_of_work(sessions) as session:
            ranking = rank_city(
                session, engine, city, city.actor(CITY_OFFICIAL), period=PERIOD, publish=True
            )
    finally:
        db.dispose()
    xlsx = write_city_ranking_xlsx(out / f"xep-hang-chi-so-cchc-{PERIOD}.xlsx", ranking, city.name)
    return ranking, xlsx


def city_tables(ranking: CityRanking) -> list[Table]:
    """The city ranking, one table per block."""
    tables = []
    for block, label in BLOCKS.items():
        table = Table(title=f"Xếp hạng chỉ số CCHC – {label} – {ranking.period_label}")
        for header in ("Hạng", "Đơn vị", "Chỉ số", "Giải thích"):
            table.add_column(header)
        for row in ranking.block(block):
            figures = row.entry.figures
            index = "" if figures is None else f"{vi_text.number(figures.index, 2)}%"
            table.add_row(str(row.rank or "—"), row.entry.name, index, row.explanation_vi)
        tables.append(table)
    return tables
