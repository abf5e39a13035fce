"""`cchc demo`: the Phù Liễn half-year end to end, its files, and its record."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from docx import Document
from openpyxl import load_workbook
from typer.testing import CliRunner

from cchc import cycle
from cchc.cli import app
from cchc.demo import FOCAL, INPUTS_FILE, PLAN
from cchc.scoring.scores import delete_scores, rows_as_json
from cchc.settings import sqlite_url
from cchc.workspace import Workspace
from flows.demo import run_demo
from tests.render import pages, to_pdf
from workflows.database import Settings, make_engine, unit_of_work

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One demo run shared by the tests of this module: (data folder, output folder)."""
    root = tmp_path_factory.mktemp("demo")
    assert run_demo(root / "var", out=root / "out") == 0
    return root / "var", root / "out"


def _scalar(folder: Path, sql: str) -> object:
    engine = make_engine(sqlite_url(folder))
    with engine.connect() as conn:
        value = conn.execute(sa.text(sql)).scalar_one()
    engine.dispose()
    return value


def test_every_step_is_in_the_audit_trail(demo: tuple[Path, Path]) -> None:
    """Plan, tasks, evidence, assessments, metrics and ranking all left applied events."""
    folder, _ = demo
    kinds = _scalar(
        folder, "select group_concat(distinct kind) from audit_events where outcome = 'applied'"
    )
    assert (
        _scalar(
            folder,
            "select count(*) from audit_events where outcome = 'notified' "
            "and trigger = 'notify:task_reminder'",
        )
        > 0
    )
    assert (
        _scalar(
            folder,
            "select count(*) from audit_events where actor = 'tran.van.minh' "
            "and trigger = 'mark_overdue'",
        )
        == 3
    )
    assert set(str(kinds).split(",")) >= {
        "plan",
        "task",
        "evidence",
        "assessment",
        "metric_import",
        "ranking",
    }
    result = runner.invoke(
        app,
        ["--data-dir", str(folder), "audit", "verify", "--as", "cu.van.son"],
        env={"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": ""},
    )
    assert result.exit_code == 0, result.output


def test_story_outcomes(demo: tuple[Path, Path]) -> None:
    """One task overdue, evidence replaced and rejected once each, the ranking published."""
    folder, _ = demo
    assert (
        _scalar(folder, "select count(*) from instances where kind = 'task' and state = 'overdue'")
        == 1
    )
    assert (
        _scalar(
            folder,
            "select count(*) from instances where kind = 'evidence' and state = 'superseded'",
        )
        == 1
    )
    assert (
        _scalar(
            folder, "select count(*) from instances where kind = 'evidence' and state = 'rejected'"
        )
        == 1
    )
    assert (
        _scalar(
            folder, "select count(*) from instances where kind = 'ranking' and state = 'published'"
        )
        == 1
    )


def test_files_officials_open(demo: tuple[Path, Path]) -> None:
    """The XLSX and DOCX re-open with their Vietnamese content; the chart is a PNG."""
    _, out = demo
    sheet = load_workbook(out / f"tu-danh-gia-{PLAN}.xlsx").active
    assert sheet is not None
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "Mã tiêu chí" in cells
    assert "Phòng Văn hóa - Xã hội" in cells
    assert any(c.startswith("Mức độ hoàn thành Kế hoạch CCHC") for c in cells)
    text = "\n".join(
        p.text for p in Document(str(out / f"bao-cao-tu-danh-gia-{PLAN}.docx")).paragraphs
    )
    assert "Kết quả tự đánh giá, chấm điểm Chỉ số cải cách hành chính" in text
    ranking = load_workbook(out / f"xep-hang-{PLAN}.xlsx").active
    assert ranking is not None
    assert any("Hoàn thành" in str(c) for row in ranking.iter_rows(values_only=True) for c in row)
    assert (out / f"xep-hang-{PLAN}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scores_are_recomputable(demo: tuple[Path, Path]) -> None:
    """Deleting the stored scores and scoring again gives identical scores and run id."""
    folder, _ = demo
    ws = Workspace.open(Settings(data_dir=folder, database_url=sqlite_url(folder)))
    manual = cycle.read_manual(INPUTS_FILE)
    try:
        before = cycle.score(ws, PLAN, FOCAL, manual).card
        with unit_of_work(ws.sessions) as session:
            assert delete_scores(session, ws.tenant, PLAN) > 0
        after = cycle.score(ws, PLAN, FOCAL, manual).card
    finally:
        ws.close()
    assert after.stored
    assert after.run_id == before.run_id
    assert rows_as_json(after.subs) == rows_as_json(before.subs)
    assert after.index == before.index


def test_demo_keeps_foreign_data(tmp_path: Path) -> None:
    """A database the demo did not make is left alone (exit 2)."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "cchc.sqlite3").write_bytes(b"not the demo's")
    assert run_demo(other) == 2
    assert (other / "cchc.sqlite3").read_bytes() == b"not the demo's"


def test_reviews_and_mail(demo: tuple[Path, Path]) -> None:
    """Two review meetings wrote their files; the notifications landed in the Maildir."""
    import mailbox
    from email.header import decode_header, make_header

    _, out = demo
    for month in ("2025-10", "2025-11"):
        assert (out / "giao-ban" / month / f"du-thao-thong-bao-ket-luan-{month}.docx").exists()
    box = mailbox.Maildir(out / "thu", create=False)
    subjects = [str(make_header(decode_header(message["Subject"]))) for message in box]
    assert len(subjects) > 50
    assert any(s.startswith("[CCHC] Giao nhiệm vụ") for s in subjects)


def test_the_city_ranks_the_three_sample_wards_by_block(demo: tuple[Path, Path]) -> None:
    """The city ranking is published in the city's tenant, each ward on its own chain, and its
    XLSX has one sheet per block listing the block's wards."""
    folder, out = demo
    assert (
        _scalar(
            folder,
            "select count(*) from instances where kind = 'city_ranking' "
            "and tenant = 'hai-phong' and state = 'published'",
        )
        == 1
    )
    assert _scalar(folder, "select count(distinct tenant) from scores") == 3
    assert _scalar(folder, "select count(*) from audit_chain_heads") == 4  # 3 wards + the city
    book = load_workbook(out / "xep-hang-chi-so-cchc-2025-H2.xlsx")
    cells = {
        sheet.title: {str(c) for row in sheet.iter_rows(values_only=True) for c in row}
        for sheet in book.worksheets
    }
    assert {"Phường Phù Liễn", "Phường Lê Chân"} <= cells["Khối phường"]
    assert "Xã Tiên Lãng" in cells["Khối xã, đặc khu"]
    assert "Phường Lê Chân" not in cells["Khối xã, đặc khu"]


def test_every_document_renders_with_libreoffice(demo: tuple[Path, Path], tmp_path: Path) -> None:
    """LibreOffice converts every DOCX and XLSX the demo writes, and an inspection report with
    its history sheet, to PDF in one run: each has pages, all A4; the sheets print landscape,
    but the plan's own sheet, which is narrow, prints on one portrait page."""
    folder, out = demo
    inspection = tmp_path / "kiem-tra"
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(folder),
            "audit",
            "history",
            "--person",
            "bui.duc.anh",
            "--as",
            "cu.van.son",
            "--xlsx",
            str(inspection / "lich-su-bui.duc.anh.xlsx"),
            "--docx",
            str(inspection / "bao-cao-kiem-tra-bui.duc.anh.docx"),
        ],
        env={"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": ""},
    )
    assert result.exit_code == 0, result.output
    documents = sorted(
        p for d in (out, inspection) for p in d.rglob("*") if p.suffix in {".docx", ".xlsx"}
    )
    assert len(documents) >= 11  # 5 workbooks and 4 reports and notices, the inspection's 2
    pdfs = to_pdf(documents, tmp_path / "pdf", tmp_path / "profile")
    for document, pdf in pdfs.items():
        assert pdf.is_file(), f"LibreOffice did not convert {document.name}"
        sizes = pages(pdf)
        assert sizes, f"{document.name}: no page"
        assert all(page.a4 for page in sizes), f"{document.name}: {sizes}"
        if document.suffix == ".docx":
            assert not sizes[0].landscape, document.name
        elif document.name.startswith("ke-hoach-"):
            assert not sizes[0].landscape, document.name  # the plan: one portrait page
            assert sizes[1].landscape, document.name  # then its tasks
            assert len(sizes) == 2, f"{document.name}: {len(sizes)} pages"
        else:
            assert all(page.landscape for page in sizes), document.name


def test_every_demo_subject_round_trips_through_smtp(demo: tuple[Path, Path]) -> None:
    """Each subject the demo mails, sent to a real SMTP server, parses back unchanged."""
    import json
    from email import policy
    from email.parser import BytesParser

    from notifications.channels import Envelope, SmtpChannel
    from notifications.render import default_renderer
    from notifications.tables import NotificationDelivery
    from tests.notifications.conftest import SmtpServer, free_port
    from workflows.schema import OutboxMessage

    folder, _ = demo
    ws = Workspace.open(Settings(data_dir=folder, database_url=sqlite_url(folder)))
    renderer = default_renderer()
    try:
        with ws.sessions() as session:
            rows = session.execute(
                sa.select(
                    NotificationDelivery.recipient, OutboxMessage.template, OutboxMessage.context
                )
                .join(OutboxMessage, OutboxMessage.id == NotificationDelivery.outbox_id)
                .where(NotificationDelivery.tenant == ws.tenant)
            ).all()
        org = ws.organization
        subjects = {
            renderer.render(template, json.loads(context), org.person(who), ward=org).subject
            for who, template, context in rows
        }
    finally:
        ws.close()
    assert len(subjects) > 100
    assert max(len(s) for s in subjects) > 120  # long ones, folded over several lines
    server = SmtpServer(free_port())
    server.start()
    try:
        channel = SmtpChannel("127.0.0.1", server.port)
        for n, subject in enumerate(sorted(subjects)):
            channel.send(
                Envelope(
                    dedupe_key=f"demo:{n}",
                    tenant="t",
                    template="demo",
                    recipient_id="a",
                    recipient_name="Ngô Thị Hà",
                    address="a@phulien.example",
                    subject=subject,
                    text=".",
                )
            )
        received = server.received
    finally:
        server.stop()
    parser = BytesParser(policy=policy.default)
    got = [str(parser.parsebytes(r.raw)["Subject"]) for r in received]
    assert got == sorted(subjects)
