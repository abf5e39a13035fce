"""Review meetings: the month compiled per unit, report and notice written, conclusions followed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from docx import Document
from docx.oxml.ns import qn

from cchc import cycle
from cchc.review.service import OutsidePlanError, issue_notice, month_bounds, run_review
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from tests.conftest import Clock, Db
from workflows.audit import verify
from workflows.database import Settings, unit_of_work
from workflows.errors import NotPermittedError

ROOT = Path(__file__).resolve().parent.parent
PLAN = "KH-CCHC-2025-H2"
FOCAL, CHAIR, OFFICE = "nguyen.thi.lan", "dang.van.thang", "do.thi.thu.trang"


@pytest.fixture
def ws(db: Db, clock: Clock, tmp_path: Path) -> Workspace:
    """The example plan issued on 29/7/2025; NV-01 done on time, NV-09 left to run late."""
    clock.now = datetime(2025, 7, 29, 9, tzinfo=LOCAL_TZ)
    workspace = Workspace.open(Settings(data_dir=tmp_path, database_url=db.url), clock=clock)
    cycle.issue(workspace, ROOT / "examples" / "plan-phu-lien-2025-h2.yaml", FOCAL)
    ids = cycle.task_ids(workspace, PLAN)
    clock.now = datetime(2025, 8, 12, 9, tzinfo=LOCAL_TZ)
    with unit_of_work(workspace.sessions) as session:
        workspace.engine.fire(
            session,
            ids["NV-01"],
            "submit_product",
            actor=workspace.actor("bui.duc.anh"),
            payload={"product": "KH"},
        )
        workspace.engine.fire(session, ids["NV-01"], "accept_product", actor=workspace.actor(FOCAL))
    yield workspace
    workspace.close()


def test_review_report_prints_the_signed_checkpoint(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a signing key, the meeting report states the ward's signed audit checkpoint."""
    from cchc.anchor import init_key

    monkeypatch.delenv("CCHC_SIGNING_KEY", raising=False)
    init_key(ws.settings)
    outcome = run_review(
        ws, plan=PLAN, month="2025-08", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "out"
    )
    report = next(f for f in outcome.files if f.name == "bao-cao-giao-ban-2025-08.docx")
    text = "\n".join(p.text for p in Document(str(report)).paragraphs)
    assert "Điểm neo nhật ký đã ký số (Ed25519)" in text
    assert "dấu vân tay khóa ký SHA256:" in text


def test_month_bounds() -> None:
    """A month gives its first and last day and the label officials write."""
    assert month_bounds("2025-02")[1].day == 28
    assert month_bounds("2025-11")[2] == "tháng 11/2025"
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds("11/2025")


def test_review_compiles_units_and_writes_documents(ws: Workspace, tmp_path: Path) -> None:
    """August: VH-XH has NV-01 done and NV-09 overdue; the notice numbers its conclusions."""
    outcome = run_review(
        ws, plan=PLAN, month="2025-08", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "out"
    )
    vhxh = next(u for u in outcome.review.units if u.unit == "vhxh")
    assert vhxh.done_in_period == ["NV-01"]
    assert "NV-09" in vhxh.overdue
    assert any("NV-09" in c.text and c.owner_unit == "vhxh" for c in outcome.conclusions)
    notice = next(f for f in outcome.files if f.name.startswith("du-thao-thong-bao"))
    text = "\n".join(p.text for p in Document(str(notice)).paragraphs)
    cells = "\n".join(c.text for t in Document(str(notice)).tables for r in t.rows for c in r.cells)
    assert "THÔNG BÁO" in text
    assert "1. " in text
    assert "thời hạn: 10/09/2025" in text
    assert "Số:" in cells
    assert "Nơi nhận:" in cells
    assert "CHỦ TỊCH" in cells
    assert "Phù Liễn, ngày 31 tháng 8 năm 2025" in cells
    html = next(f for f in outcome.files if f.suffix == ".html").read_text(encoding="utf-8")
    assert "Phòng Văn hóa - Xã hội" in html


def test_a_product_submitted_on_time_is_not_overdue_in_the_review(
    ws: Workspace, clock: Clock, tmp_path: Path
) -> None:
    """NV-02 (due 29/08), submitted 28/08 and awaiting acceptance, is not listed as overdue."""
    clock.now = datetime(2025, 8, 28, 9, tzinfo=LOCAL_TZ)
    nv02 = cycle.task_ids(ws, PLAN)["NV-02"]
    with unit_of_work(ws.sessions) as session:
        ws.engine.fire(
            session,
            nv02,
            "submit_product",
            actor=ws.actor("bui.duc.anh"),
            payload={"product": "KH tuyên truyền"},
        )
    clock.now = datetime(2025, 9, 1, 9, tzinfo=LOCAL_TZ)
    outcome = run_review(
        ws, plan=PLAN, month="2025-08", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "out"
    )
    vhxh = next(u for u in outcome.review.units if u.unit == "vhxh")
    assert vhxh.overdue == ["NV-09"]


def test_a_month_outside_the_plan_is_not_reviewed(ws: Workspace, tmp_path: Path) -> None:
    """January 2026, after the plan's period, is refused with the plan's end date; no files."""
    with pytest.raises(OutsidePlanError, match=r"KH-CCHC-2025-H2 đã kết thúc ngày 31/12/2025"):
        run_review(
            ws, plan=PLAN, month="2026-01", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "2026-01"
        )
    with pytest.raises(OutsidePlanError, match=r"bắt đầu từ ngày 01/07/2025"):
        run_review(
            ws,
            plan=PLAN,
            month="2025-W26",
            actor_id=FOCAL,
            chair_id=CHAIR,
            out=tmp_path / "2025-W26",
        )
    assert not list(tmp_path.glob("2026-01"))
    assert not list(tmp_path.glob("2025-W26"))
    run_review(
        ws, plan=PLAN, month="2025-W27", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "2025-W27"
    )  # 30/06 – 06/07/2025 overlaps the period


def test_notice_conclusions_are_followed_up_next_month(ws: Workspace, tmp_path: Path) -> None:
    """Issued conclusions become tasks; next month's review shows which were done."""
    first = run_review(
        ws, plan=PLAN, month="2025-08", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "08"
    )
    created = issue_notice(
        ws, plan=PLAN, month="2025-08", chair_id=CHAIR, office_id=OFFICE, number="15/TB-UBND"
    )
    assert created == len(first.conclusions) > 0
    again = issue_notice(
        ws, plan=PLAN, month="2025-08", chair_id=CHAIR, office_id=OFFICE, number="15/TB-UBND"
    )
    assert again == created
    second = run_review(
        ws, plan=PLAN, month="2025-09", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "09"
    )
    vhxh = next(u for u in second.review.units if u.unit == "vhxh")
    assert vhxh.follow_ups_open
    assert second.review.previous["vhxh"]["done"] == 1


def test_a_notice_refused_at_its_follow_ups_leaves_the_meeting_as_it_was(
    ws: Workspace, db: Db, tmp_path: Path
) -> None:
    """Holding the meeting and issuing the notice are undone when a follow-up task is refused
    (the office person may not create tasks): only the refusal is written; the chain verifies."""
    run_review(ws, plan=PLAN, month="2025-08", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path)
    with db.engine.connect() as conn:
        before = conn.execute(
            sa.text("select state, version from instances where kind = 'meeting'")
        ).one()
        events = conn.execute(sa.text("select count(*) from audit_events")).scalar_one()
    with pytest.raises(NotPermittedError, match="may not create 'task'"):
        issue_notice(
            ws,
            plan=PLAN,
            month="2025-08",
            chair_id=CHAIR,
            office_id="bui.duc.anh",
            number="15/TB-UBND",
        )
    with db.engine.connect() as conn:
        after = conn.execute(
            sa.text("select state, version from instances where kind = 'meeting'")
        ).one()
        last = conn.execute(
            sa.text("select actor, trigger, outcome from audit_events order by id desc limit 1")
        ).one()
        total = conn.execute(sa.text("select count(*) from audit_events")).scalar_one()
    assert tuple(after) == tuple(before) == ("scheduled", 1)
    assert total == events + 1
    assert tuple(last) == ("bui.duc.anh", "create", "refused")
    with ws.sessions() as session:
        assert verify(session).ok


def test_previous_month_for_a_schedule() -> None:
    """A schedule on the 1st reviews the month before; an explicit month is kept."""
    from datetime import date

    from cchc.review.service import resolve_month

    assert resolve_month("previous", date(2026, 1, 1)) == "2025-12"
    assert resolve_month("previous", date(2025, 12, 15)) == "2025-11"
    assert resolve_month("2025-10", date(2026, 1, 1)) == "2025-10"


def test_weekly_cadence() -> None:
    """A week is an ISO week (Monday–Sunday); a weekly schedule reviews the week before."""
    from datetime import date

    from cchc.review.service import resolve_month

    start, end, label = month_bounds("2025-W45")
    assert (start, end) == (date(2025, 11, 3), date(2025, 11, 9))
    assert label.startswith("tuần 45/2025")
    assert resolve_month("previous-week", date(2025, 11, 10)) == "2025-W45"
    with pytest.raises(ValueError, match="YYYY-Www"):
        month_bounds("2025-W60")


def _paragraphs(path: Path) -> list[str]:
    return [p.text for p in Document(str(path)).paragraphs if p.text.strip()]


def _cells(path: Path) -> list[str]:
    return [c.text for t in Document(str(path)).tables for r in t.rows for c in r.cells]


def test_draft_notice_is_marked_and_issuing_writes_the_numbered_notice(
    ws: Workspace, clock: Clock, tmp_path: Path
) -> None:
    """The draft says DỰ THẢO and has no number; issuing writes the notice with its number."""
    first = run_review(
        ws, plan=PLAN, month="2025-08", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "08"
    )
    draft = next(f for f in first.files if f.name.startswith("du-thao-thong-bao"))
    assert _paragraphs(draft)[0] == "DỰ THẢO"
    assert "Số:       /TB-UBND" in _cells(draft)[0]
    clock.now = datetime(2025, 9, 3, 9, tzinfo=LOCAL_TZ)
    issue_notice(
        ws,
        plan=PLAN,
        month="2025-08",
        chair_id=CHAIR,
        office_id=OFFICE,
        number="15/TB-UBND",
        out=tmp_path / "08",
    )
    issued = tmp_path / "08" / "thong-bao-ket-luan-2025-08.docx"
    lines = _paragraphs(issued)
    assert "DỰ THẢO" not in lines
    assert lines[0] == "THÔNG BÁO"
    header = _cells(issued)[:2]
    assert "Số: 15/TB-UBND" in header[0]
    assert header[1].endswith("Phù Liễn, ngày 03 tháng 9 năm 2025")
    assert len([line for line in lines if line[:1].isdigit()]) == len(first.conclusions)


def test_follow_ups_cite_the_notice_by_its_number(ws: Workspace, tmp_path: Path) -> None:
    """Next month's conclusions cite open follow-ups as "kết luận số N tại Thông báo số …"."""
    run_review(ws, plan=PLAN, month="2025-08", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "08")
    issue_notice(
        ws, plan=PLAN, month="2025-08", chair_id=CHAIR, office_id=OFFICE, number="15/TB-UBND"
    )
    second = run_review(
        ws, plan=PLAN, month="2025-09", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "09"
    )
    cited = [c.text for c in second.conclusions if "kỳ trước" in c.text]
    assert cited
    assert all("tại Thông báo số 15/TB-UBND)" in text for text in cited)
    assert not [text for text in cited if "KL-" in text]
    draft = next(f for f in second.files if f.name.startswith("du-thao-thong-bao"))
    body = "\n".join(_paragraphs(draft))
    assert "Thông báo số 15/TB-UBND" in body
    assert "KL-2025-08" not in body


def test_report_table_fits_unit_names_and_documents_end_with_the_mark(
    ws: Workspace, tmp_path: Path
) -> None:
    """The unit column is wide enough for a name on two lines; rows stay whole, the header
    row repeats; the report and the notice end with ./."""
    outcome = run_review(
        ws, plan=PLAN, month="2025-08", actor_id=FOCAL, chair_id=CHAIR, out=tmp_path / "out"
    )
    report = next(f for f in outcome.files if f.name == "bao-cao-giao-ban-2025-08.docx")
    table = Document(str(report)).tables[1]
    assert table.rows[0].cells[0].text == "Đơn vị"
    widths = [c.width.mm for c in table.rows[0].cells]
    assert widths[0] >= 40
    assert widths[0] == max(widths)
    assert round(sum(widths)) == 165
    assert all(r._tr.trPr.find(qn("w:cantSplit")) is not None for r in table.rows)
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert _paragraphs(report)[-1].endswith("của Ủy ban nhân dân phường Phù Liễn./.")
    notice = next(f for f in outcome.files if f.name.startswith("du-thao-thong-bao"))
    assert _paragraphs(notice)[-1].endswith("báo cáo tại cuộc họp giao ban kỳ sau./.")
    assert not [line for line in _paragraphs(notice) if ". (Đơn vị chủ trì" in line]


@pytest.fixture
def xa(db: Db, clock: Clock, tmp_path: Path) -> Workspace:
    """Xã Tiên Lãng (a commune of the sample city) with the example plan issued."""
    clock.now = datetime(2025, 7, 29, 9, tzinfo=LOCAL_TZ)
    workspace = Workspace.open(
        Settings(data_dir=tmp_path, database_url=db.url),
        organization=ROOT / "definitions" / "organizations" / "tien-lang.yaml",
        clock=clock,
    )
    plan = cycle.read_plan(workspace, ROOT / "examples" / "plan-phu-lien-2025-h2.yaml")
    focal = workspace.organization.people_with_role("focal_official")[0].id
    cycle.issue_checked(workspace, plan.model_copy(update={"tenant": workspace.tenant}), focal)
    clock.now = datetime(2025, 9, 2, 9, tzinfo=LOCAL_TZ)
    yield workspace
    workspace.close()


def _recipients(path: Path) -> list[str]:
    closing = next(
        t for t in Document(str(path)).tables if t.rows[0].cells[0].text.startswith("Nơi nhận:")
    )
    return [p.text for p in closing.rows[0].cells[0].paragraphs[1:]]


def test_a_communes_meeting_documents_say_xa(xa: Workspace, tmp_path: Path) -> None:
    """A xã's report and notice name its council, committee and office as the xã's."""
    org = xa.organization
    focal = org.people_with_role("focal_official")[0].id
    outcome = run_review(
        xa, plan=PLAN, month="2025-08", actor_id=focal, chair_id=org.chairman.id, out=tmp_path
    )
    for path in (f for f in outcome.files if f.suffix == ".docx"):
        text = "\n".join(_paragraphs(path) + _cells(path))
        assert "phường" not in text.lower(), path.name
        assert _recipients(path) == [
            "- Thường trực Đảng ủy, HĐND xã;",
            "- Chủ tịch, các Phó Chủ tịch UBND xã;",
            "- Các đơn vị thuộc UBND xã;",
            "- Lưu: VT, VH-XH.",
        ]
    notice = next(f for f in outcome.files if f.name.startswith("du-thao-thong-bao"))
    assert _paragraphs(notice)[-1].startswith("Văn phòng HĐND và UBND xã theo dõi")


def test_a_communes_self_assessment_names_its_city_from_the_city_file(
    xa: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The self-assessment report goes to the city committee named in the city file, and to
    the xã's council; the xã is written in lower case in running text."""
    from cchc.reports.outputs import write_outputs

    org = xa.organization
    focal = org.people_with_role("focal_official")[0].id
    city = tmp_path / "thu-nghiem.yaml"
    sample = (ROOT / "definitions" / "cities" / "hai-phong.yaml").read_text(encoding="utf-8")
    city.write_text(
        sample.replace("name: Thành phố Hải Phòng", "name: Thành phố Thử Nghiệm").replace(
            "../organizations/*.yaml", str(ROOT / "definitions" / "organizations" / "*.yaml")
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("CCHC_CITY", str(city))
    cycle.score(xa, PLAN, focal, {})
    files = write_outputs(xa, PLAN, tmp_path / "out", signer_id=org.chairman.id)
    report = next(f for f in files if f.suffix == ".docx")
    assert _recipients(report) == [
        "- UBND thành phố Thử Nghiệm (Sở Nội vụ);",
        "- Thường trực Đảng ủy, HĐND xã;",
        "- Các đơn vị thuộc UBND xã;",
        "- Lưu: VT, VH-XH.",
    ]
    body = "\n".join(_paragraphs(report))
    assert "Ủy ban nhân dân xã Tiên Lãng báo cáo kết quả tự đánh giá" in body
    assert "Xã Tiên Lãng" not in body.replace("XÃ TIÊN LÃNG", "")


def test_cli_review_of_a_month_after_the_plan_says_it_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cchc review run --month previous` in February 2026 exits 2: the plan ended 31/12/2025."""
    from typer.testing import CliRunner

    from cchc.cli import app
    from cchc.commands import cycle_common

    monkeypatch.setattr(cycle_common, "CLOCK", lambda: datetime(2026, 2, 2, 2, tzinfo=LOCAL_TZ))
    env = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}
    runner = CliRunner()

    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--data-dir", str(tmp_path / "var"), *args], env=env)
        return result.exit_code, result.output

    assert cli("db", "upgrade")[0] == 0
    plan_file = str(ROOT / "examples" / "plan-phu-lien-2025-h2.yaml")
    assert cli("plan", "issue", plan_file, "--as", FOCAL)[0] == 0
    code, out = cli("review", "run", "--plan", PLAN, "--month", "previous", "--as", FOCAL)
    assert code == 2, out
    assert "KH-CCHC-2025-H2 đã kết thúc ngày 31/12/2025" in out
    assert "2026-01" in out
    assert not (tmp_path / "var" / "review").exists()
