"""The focal unit's review pages: the queue of evidence waiting for a decision, one item with
its file and its decision forms bound to the sha256 shown, and the coverage matrix; refusals
in Vietnamese that change nothing, other units' evidence a 404 with an audited refusal."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cchc import cycle
from cchc.evidence.service import EvidenceSubmission, review_evidence, submit_evidence
from cchc.waiting import task_lines, waiting_for
from cchc.workspace import Workspace
from tests.conftest import ROOT, Clock, Db
from tests.web.conftest import FOCAL, KT_HEAD, KT_OFFICIAL, csrf_of, sign_in
from tests.web.test_browser import (
    WIDTHS,
    _cchc,
    _fits_and_labelled,
    _free_port,
    _set_password,
    _shoot,
    _wait_until_up,
    chromium,
)
from workflows.database import Settings, unit_of_work
from workflows.schema import Instance

PLAN = "KH-CCHC-2025-H2"
TTPHC_OFFICIAL = "ta.minh.quan"
LC_FOCAL = "bui.thi.ngoc.anh"
"""The focal official of Phường Lê Chân, another ward of the sample city."""


def pdf(text: str) -> bytes:
    """A small PDF whose content (and so its hash) depends on ``text``."""
    return b"%PDF-1.4\n% " + text.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png() -> bytes:
    """The smallest PNG header the store recognises."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def office(folder: str) -> bytes:
    """A minimal Office Open XML zip (``word/`` for DOCX, ``xl/`` for XLSX)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<doc/>")
    return buffer.getvalue()


def submit(
    ward: Workspace, person: str, target: str, name: str, content: bytes
) -> EvidenceSubmission:
    """``person`` submits ``content`` as ``name`` for ``target`` of the plan."""
    with unit_of_work(ward.sessions) as session:
        return submit_evidence(
            session,
            ward.engine,
            ward.store,
            ward.actor(person),
            plan_code=PLAN,
            target=target,
            source=content,
            original_name=name,
        )


def state_of(ward: Workspace, evidence_id: int) -> str:
    """The evidence instance's state now."""
    with ward.sessions() as session:
        row = session.get(Instance, evidence_id)
        assert row is not None
        return row.state


def event_count(ward: Workspace) -> int:
    """How many audit events the ward's chain holds."""
    with ward.sessions() as session:
        return int(session.scalar(sa.text("select count(*) from audit_events")) or 0)


def events_on(ward: Workspace, instance_id: int) -> list[tuple[str, ...]]:
    """(actor, trigger, outcome, channel) of the events on an instance, in order."""
    with ward.sessions() as session:
        rows = session.execute(
            sa.text(
                "select actor, trigger, outcome, coalesce(channel, '') from audit_events "
                "where instance_id = :i order by seq"
            ),
            {"i": instance_id},
        ).all()
    return [tuple(str(value) for value in r) for r in rows]


def listed_ids(page: str) -> list[int]:
    """The evidence ids the queue lists, in order."""
    return [int(i) for i in re.findall(r'<a href="/review/(\d+)">', page)]


def test_the_queue_lists_waiting_evidence_oldest_first_and_filters(
    client: TestClient, ward: Workspace, clock: Clock
) -> None:
    """The queue shows every unit's submitted evidence oldest first with unit, target, file,
    version, size, submitter and time; the unit and criterion filters narrow it (a task's
    evidence counts for the criterion the task serves); decided evidence is not listed."""
    first = submit(ward, KT_OFFICIAL, "criterion:6.1.3", "bao-cao-tai-chinh.pdf", pdf("a"))
    clock.advance(minutes=5)
    second = submit(ward, TTPHC_OFFICIAL, "criterion:3.1.1", "mot-cua.pdf", pdf("b"))
    clock.advance(minutes=5)
    via_task = submit(ward, KT_OFFICIAL, "task:NV-06", "nv06.pdf", pdf("c"))
    decided = submit(ward, KT_OFFICIAL, "criterion:6.2.1", "da-duyet.pdf", pdf("d"))
    with unit_of_work(ward.sessions) as session:
        review_evidence(
            session,
            ward.engine,
            ward.actor(FOCAL),
            decided.instance_id,
            "accept",
            sha256=decided.sha256,
        )
    sign_in(client, FOCAL)
    queue = client.get("/review")
    assert queue.status_code == 200
    assert listed_ids(queue.text) == [first.instance_id, second.instance_id, via_task.instance_id]
    assert "Phòng Kinh tế" in queue.text
    assert "Tiêu chí 6.1.3" in queue.text
    assert "Nhiệm vụ NV-06" in queue.text
    assert "bao-cao-tai-chinh.pdf" in queue.text
    assert "03/11/2025 09:00" in queue.text
    assert "Ngô Thị Hà" in queue.text
    kt = client.get("/review?unit=kt")
    assert listed_ids(kt.text) == [first.instance_id, via_task.instance_id]
    criterion = client.get("/review?unit=kt&criterion=6.1.1")
    assert listed_ids(criterion.text) == [via_task.instance_id]
    assert listed_ids(client.get("/review?criterion=3.1.1").text) == [second.instance_id]
    assert client.get("/review?unit=khong-co").status_code == 404


def test_the_reviewer_sees_the_review_link_and_count(client: TestClient, ward: Workspace) -> None:
    """The focal official has "Thẩm định" in the navigation and the reviews count on the home
    page links to the queue; a unit's official has neither."""
    sign_in(client, FOCAL)
    home = client.get("/")
    assert '<a href="/review">Thẩm định</a>' in home.text
    assert '<a class="box" href="/review">' in home.text
    other = TestClient(client.app)
    sign_in(other, KT_OFFICIAL)
    assert 'href="/review"' not in other.get("/").text


def test_accepting_with_the_sha256_shown_changes_the_state_through_the_web_channel(
    client: TestClient, ward: Workspace
) -> None:
    """The item page shows the file's facts and sha256; accepting posts that sha256 and the
    evidence is accepted, audited as the focal official through the web channel."""
    sub = submit(ward, KT_OFFICIAL, "criterion:6.1.3", "bao-cao.pdf", pdf("accept"))
    sign_in(client, FOCAL)
    item = client.get(f"/review/{sub.instance_id}")
    assert item.status_code == 200
    assert sub.sha256 in item.text
    assert f'<input type="hidden" name="sha256" value="{sub.sha256}">' in item.text
    assert f'<iframe class="evidence-view" src="/review/{sub.instance_id}/view"' in item.text
    done = client.post(
        f"/review/{sub.instance_id}",
        data={"csrf": csrf_of(item), "decision": "accept", "sha256": sub.sha256},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert state_of(ward, sub.instance_id) == "accepted"
    actor, trigger, outcome, channel = events_on(ward, sub.instance_id)[-1]
    assert (actor, trigger, outcome) == (FOCAL, "accept", "applied")
    assert channel.startswith("web:")
    shown = client.get(done.headers["location"])
    assert "Đã ghi nhận quyết định “Công nhận”" in shown.text
    assert "Nguyễn Thị Lan đã quyết định “Công nhận” lúc 03/11/2025 09:00" in shown.text
    assert 'name="decision"' not in shown.text


def test_a_decision_on_another_version_is_refused_and_changes_nothing(
    client: TestClient, ward: Workspace
) -> None:
    """Posting the sha256 of an earlier version (the file was replaced since the page was
    opened) is refused by the hash guard, shown in Vietnamese, audited, and nothing moves."""
    old = submit(ward, KT_OFFICIAL, "criterion:6.1.3", "bao-cao.pdf", pdf("v1"))
    new = submit(ward, KT_OFFICIAL, "criterion:6.1.3", "bao-cao.pdf", pdf("v2"))
    assert new.version == 2
    sign_in(client, FOCAL)
    item = client.get(f"/review/{new.instance_id}")
    assert "Phiên bản 1" in item.text
    refused = client.post(
        f"/review/{new.instance_id}",
        data={"csrf": csrf_of(item), "decision": "accept", "sha256": old.sha256},
    )
    assert refused.status_code == 409
    assert "Thao tác bị từ chối – không đáp ứng điều kiện" in refused.text
    assert "mã SHA-256 khác nhau" in refused.text
    assert state_of(ward, new.instance_id) == "submitted"
    assert events_on(ward, new.instance_id)[-1][1:3] == ("accept", "refused")
    stale = client.post(
        f"/review/{old.instance_id}",
        data={"csrf": csrf_of(item), "decision": "accept", "sha256": old.sha256},
    )
    assert stale.status_code == 409
    assert "Ngô Thị Hà thay bằng phiên bản mới" in html.unescape(stale.text)
    assert f'href="/review/{new.instance_id}"' in stale.text
    assert state_of(ward, old.instance_id) == "superseded"


def test_requesting_changes_without_a_reason_writes_nothing(
    client: TestClient, ward: Workspace
) -> None:
    """Requesting changes (or rejecting) with an empty reason shows the form again with a
    Vietnamese error; no event is written and the state stays."""
    sub = submit(ward, KT_OFFICIAL, "criterion:6.1.3", "bao-cao.pdf", pdf("reason"))
    sign_in(client, FOCAL)
    item = client.get(f"/review/{sub.instance_id}")
    before = event_count(ward)
    for decision in ("request_changes", "reject"):
        again = client.post(
            f"/review/{sub.instance_id}",
            data={
                "csrf": csrf_of(item),
                "decision": decision,
                "sha256": sub.sha256,
                "reason": "   ",
            },
        )
        assert again.status_code == 400
        assert "Đề nghị ghi rõ lý do" in again.text
        assert 'name="reason"' in again.text
    assert event_count(ward) == before
    assert state_of(ward, sub.instance_id) == "submitted"


def test_nobody_decides_their_own_submission(client: TestClient, ward: Workspace) -> None:
    """The focal official who submitted a file for a unit may not accept it: the engine's
    separation of duties refuses, in Vietnamese, and the refusal is audited."""
    sub = submit(ward, FOCAL, "criterion:6.1.3", "tu-nop.pdf", pdf("own"))
    sign_in(client, FOCAL)
    item = client.get(f"/review/{sub.instance_id}")
    refused = client.post(
        f"/review/{sub.instance_id}",
        data={"csrf": csrf_of(item), "decision": "accept", "sha256": sub.sha256},
    )
    assert refused.status_code == 403
    text = html.unescape(refused.text)
    assert "người đã nộp không được tự quyết định" in text
    assert "việc này phải do người khác làm" in text
    assert state_of(ward, sub.instance_id) == "submitted"
    assert events_on(ward, sub.instance_id)[-1][:3] == (FOCAL, "accept", "refused")


def test_someone_decided_first_the_page_says_who_and_when(
    client: TestClient, ward: Workspace, clock: Clock
) -> None:
    """When the evidence was decided after the page was opened (another session, the CLI),
    the decision posted is refused and the page names who decided, what and when."""
    sub = submit(ward, KT_OFFICIAL, "criterion:6.1.3", "bao-cao.pdf", pdf("first"))
    sign_in(client, FOCAL)
    item = client.get(f"/review/{sub.instance_id}")
    clock.now = datetime(2025, 11, 3, 9, 20, tzinfo=clock.now.tzinfo)  # session still open
    with unit_of_work(ward.sessions) as session:
        review_evidence(
            session,
            ward.engine,
            ward.actor(FOCAL),
            sub.instance_id,
            "reject",
            sha256=sub.sha256,
            reason="Thiếu chữ ký",
        )
    late = client.post(
        f"/review/{sub.instance_id}",
        data={"csrf": csrf_of(item), "decision": "accept", "sha256": sub.sha256},
    )
    assert late.status_code == 409
    text = html.unescape(late.text)
    assert "Thao tác bị từ chối" in text
    assert "Nguyễn Thị Lan đã quyết định “Không công nhận” lúc 03/11/2025 09:20" in text
    assert "Thiếu chữ ký" in text
    assert state_of(ward, sub.instance_id) == "rejected"


def test_the_file_is_inline_only_for_pdf_and_images(client: TestClient, ward: Workspace) -> None:
    """A PDF or PNG is served inline, sandboxed, never sniffed, framable by our pages only;
    a DOCX or XLSX only as an attachment; the item page offers those as a download."""
    files = {
        "bao-cao.pdf": (pdf("view"), "inline", "application/pdf"),
        "anh.png": (png(), "inline", "image/png"),
        "to-trinh.docx": (office("word/"), "attachment", "application/octet-stream"),
        "so-lieu.xlsx": (office("xl/"), "attachment", "application/octet-stream"),
    }
    sign_in(client, FOCAL)
    for name, (content, disposition, media) in files.items():
        sub = submit(ward, KT_OFFICIAL, "criterion:6.1.3", name, content)
        got = client.get(f"/review/{sub.instance_id}/view")
        assert got.status_code == 200
        assert got.content == content
        assert got.headers["content-disposition"].startswith(f'{disposition}; filename="{name}"')
        assert got.headers["content-type"].startswith(media)
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-security-policy"].startswith("sandbox")
        assert "frame-ancestors 'self'" in got.headers["content-security-policy"]
        assert got.headers["x-frame-options"] == "SAMEORIGIN"
        item = client.get(f"/review/{sub.instance_id}")
        if disposition == "attachment":
            assert "<iframe" not in item.text
            assert "<img" not in item.text
            assert "đề nghị tải về để xem" in item.text
        download = client.get(f"/review/{sub.instance_id}/view?download=1")
        assert download.headers["content-disposition"].startswith("attachment")
    page = client.get("/review")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_the_coverage_matrix_marks_gaps_with_links(client: TestClient, ward: Workspace) -> None:
    """Each criterion × unit cell shows sub-criteria covered / required; an accepted file
    fills its cell's count, and every missing sub-criterion links to the queue filtered on
    its unit and code."""
    sub = submit(ward, KT_OFFICIAL, "criterion:6.1.3", "bao-cao.pdf", pdf("cov"))
    with unit_of_work(ward.sessions) as session:
        review_evidence(
            session, ward.engine, ward.actor(FOCAL), sub.instance_id, "accept", sha256=sub.sha256
        )
    sign_in(client, FOCAL)
    matrix = client.get("/coverage")
    assert matrix.status_code == 200
    text = html.unescape(matrix.text)
    assert f"kế hoạch {PLAN}" in text
    row = re.search(r'<span class="ref">6\.1</span>.*?</tr>', text, re.DOTALL)
    assert row, "criterion 6.1 has a row"
    assert "<strong>1/2</strong>" in row.group(0)  # kt: 6.1.3 accepted, 6.1.1 missing
    assert f'<a href="/review?plan={PLAN}&unit=kt&criterion=6.1.1">6.1.1</a>' in row.group(0)
    assert "/review?plan=KH-CCHC-2025-H2&unit=kt&criterion=6.1.3" not in text
    assert client.get(f"/review?plan={PLAN}&unit=kt&criterion=6.1.1").status_code == 200
    assert '<div class="matrix-scroll"' in matrix.text


def test_hostile_names_and_reasons_are_escaped(client: TestClient, ward: Workspace) -> None:
    """A file name and a reason carrying markup are shown as text in the queue and the item."""
    hostile = "<b onmouseover=alert(1)>x.pdf"
    sub = submit(ward, KT_OFFICIAL, "criterion:6.1.3", hostile, pdf("xss"))
    sign_in(client, FOCAL)
    queue = client.get("/review")
    assert "<b onmouseover" not in queue.text
    assert "&lt;b onmouseover=alert(1)&gt;x.pdf" in queue.text
    item = client.get(f"/review/{sub.instance_id}")
    assert "<b onmouseover" not in item.text
    assert "&lt;b onmouseover=alert(1)&gt;x.pdf" in item.text
    reason = '<img src=x onerror="alert(2)">'
    client.post(
        f"/review/{sub.instance_id}",
        data={
            "csrf": csrf_of(item),
            "decision": "request_changes",
            "sha256": sub.sha256,
            "reason": reason,
        },
    )
    assert state_of(ward, sub.instance_id) == "changes_requested"
    shown = client.get(f"/review/{sub.instance_id}")
    assert "<img src=x" not in shown.text
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in shown.text


def test_other_units_evidence_is_not_found_and_readers_see_it_read_only(
    client: TestClient, ward: Workspace
) -> None:
    """A Phòng Kinh tế official asking for another unit's evidence by id gets 404 and the
    refusal is audited; their own unit's evidence is shown without the decision forms, and
    their queue is their unit's; the unit head's file view of another unit is a 404 too."""
    own = submit(ward, KT_OFFICIAL, "criterion:6.1.3", "cua-kt.pdf", pdf("kt"))
    other = submit(ward, TTPHC_OFFICIAL, "criterion:3.1.1", "cua-ttphc.pdf", pdf("tt"))
    sign_in(client, KT_OFFICIAL)
    assert client.get(f"/review/{other.instance_id}").status_code == 404
    with ward.sessions() as session:
        refused = session.execute(
            sa.text(
                "select actor, kind, ref, outcome from audit_events "
                "where kind = 'access' order by seq desc"
            )
        ).first()
    assert refused is not None
    assert tuple(refused) == (
        KT_OFFICIAL,
        "access",
        f"evidence #{other.instance_id} of unit ttphc",
        "refused",
    )
    mine = client.get(f"/review/{own.instance_id}")
    assert mine.status_code == 200
    assert "cua-kt.pdf" in mine.text
    assert 'name="decision"' not in mine.text
    assert listed_ids(client.get("/review").text) == [own.instance_id]
    assert client.get("/review?unit=ttphc").status_code == 404
    head = TestClient(client.app)
    sign_in(head, KT_HEAD)
    assert head.get(f"/review/{other.instance_id}/view").status_code == 404
    assert client.get("/review/999999").status_code == 404


def test_products_waiting_are_listed_under_the_queue(client: TestClient, ward: Workspace) -> None:
    """A task whose product waits for the focal unit is listed below the evidence, linked to
    the task, so that the queue shows every review the home page counts."""
    task = next(t for t in task_lines(ward, "kt", ward.engine.clock()) if t.ref.endswith("NV-06"))
    with unit_of_work(ward.sessions) as session:
        ward.engine.fire(
            session,
            task.id,
            "submit_product",
            actor=ward.actor(KT_OFFICIAL),
            payload={"product": "Báo cáo công khai ngân sách"},
        )
    sign_in(client, FOCAL)
    queue = client.get("/review")
    assert "Sản phẩm nhiệm vụ chờ duyệt (1)" in queue.text
    assert f'<a href="/tasks/{task.id}">' in queue.text
    assert "Báo cáo công khai ngân sách" in queue.text
    count = {w.key: w.count for w in waiting_for(ward, ward.actor(FOCAL), ward.engine.clock())}
    assert count["reviews"] == 1


def test_another_wards_evidence_is_not_found(
    client: TestClient, ward: Workspace, db: Db, clock: Clock, tmp_path: Path
) -> None:
    """Evidence of Phường Lê Chân (same database) asked for by id by Phù Liễn's focal official
    is a 404, for the page and the file, and each refusal is audited on Phù Liễn's chain."""
    other = Workspace.open(
        Settings(data_dir=tmp_path / "le-chan", database_url=db.url),
        organization=ROOT / "definitions" / "organizations" / "le-chan.yaml",
        clock=clock,
    )
    try:
        plan = cycle.read_plan(other, ROOT / "examples" / "plan-phu-lien-2025-h2.yaml")
        cycle.issue_checked(other, plan.model_copy(update={"tenant": other.tenant}), LC_FOCAL)
        theirs = submit(other, LC_FOCAL, "criterion:6.1.3", "le-chan.pdf", pdf("lc"))
    finally:
        other.close()
    sign_in(client, FOCAL)
    assert client.get(f"/review/{theirs.instance_id}").status_code == 404
    assert client.get(f"/review/{theirs.instance_id}/view").status_code == 404
    with ward.sessions() as session:
        refused = session.execute(
            sa.text(
                "select actor, ref from audit_events where tenant = :t and kind = 'access' "
                "and outcome = 'refused' order by seq"
            ),
            {"t": ward.tenant},
        ).all()
    assert [r[0] for r in refused] == [FOCAL, FOCAL]
    assert all(r[1].startswith(f"evidence #{theirs.instance_id}") for r in refused)


# --- in a real browser ---------------------------------------------------------------------------

__all__ = ["chromium"]  # the browser fixture of test_browser, shared
FOCAL_PASSWORD = "mật khẩu của Lan 2025"


def readable_pdf(title: str) -> bytes:
    """A one-page PDF with a line of text that a PDF viewer shows (offsets computed)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({title}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


@pytest.fixture(scope="module")
def served_review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``cchc serve`` on a data folder with the example plan issued, two PDFs submitted by a
    Phòng Kinh tế official through ``cchc evidence submit``, and the focal official's
    password set through their invite link."""
    import os

    folder = tmp_path_factory.mktemp("served-review")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCHC_")}
    env.update(CCHC_DATA_DIR=str(folder / "var"), CCHC_BASE_URL=url, CCHC_NOTIFY_CHANNEL="maildir")
    _cchc(env, "db", "upgrade")
    plan_file = str(ROOT / "examples" / "plan-phu-lien-2025-h2.yaml")
    _cchc(env, "plan", "issue", plan_file, "--as", FOCAL)
    for name, target in (("bao-cao-thu-chi.pdf", "6.1.3"), ("bao-cao-tai-san.pdf", "6.2.1")):
        path = folder / name
        path.write_bytes(readable_pdf(f"Bao cao {target} - Phong Kinh te"))
        _cchc(
            env,
            "evidence",
            "submit",
            str(path),
            "--plan",
            PLAN,
            "--target",
            f"criterion:{target}",
            "--as",
            KT_OFFICIAL,
        )
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from cchc.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(url, server, folder / "serve.log")
        link = json.loads(_cchc(env, "users", "invite", FOCAL, "--as", "tran.van.minh", "--json"))
        _set_password(str(link["link"]), FOCAL_PASSWORD)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _sign_in_focal(page: Any, url: str) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_label("Tên đăng nhập").fill(FOCAL)
    page.get_by_label("Mật khẩu").fill(FOCAL_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{url}/")


def test_the_focal_official_reviews_in_a_browser(chromium: Any, served_review: str) -> None:
    """The focal official opens the queue from the navigation, opens a PDF item (shown in a
    frame), requests changes with a reason and sees the decision recorded; the queue, the
    item and the coverage matrix need no sideways scrolling at 360 px, every control is
    labelled, and screenshots of each are saved at phone and desktop widths."""
    url = served_review
    for width_name in ("desktop", "phone"):
        width, height = WIDTHS[width_name]
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
        page = context.new_page()
        _sign_in_focal(page, url)
        page.get_by_role("navigation").get_by_role("link", name="Thẩm định").click()
        page.wait_for_url(f"{url}/review")
        assert page.inner_text("h1").startswith("Tài liệu kiểm chứng chờ thẩm định")
        items = page.locator("li.review")
        assert items.count() == 2  # the desktop only looks; the phone decides
        _fits_and_labelled(page, width)
        _shoot(page, "review-queue", width_name)
        items.first.get_by_role("link").click()
        page.wait_for_url(re.compile(r".*/review/\d+$"))
        frame = page.locator("iframe.evidence-view")
        assert frame.count() == 1
        viewed = page.request.get(f"{url}{frame.get_attribute('src')}")
        assert viewed.headers["content-disposition"].startswith("inline")
        assert viewed.headers["content-security-policy"].startswith("sandbox")
        page.wait_for_timeout(3000)  # the PDF viewer draws the page
        _fits_and_labelled(page, width)
        _shoot(page, "review-item", width_name)
        if width_name == "phone":  # deciding works at 360 px too
            page.get_by_label("Nội dung cần bổ sung, chỉnh sửa (bắt buộc)").fill(
                "Đề nghị bổ sung chữ ký của Trưởng phòng"
            )
            page.get_by_role("button", name="Yêu cầu bổ sung").click()
            page.wait_for_url("**?done=request_changes")
            assert "Đã ghi nhận quyết định “Yêu cầu bổ sung”" in page.inner_text("main")
            assert "Đề nghị bổ sung chữ ký của Trưởng phòng" in page.inner_text(".decided")
            assert page.locator("form.decision").count() == 0
        page.goto(f"{url}/coverage")
        assert page.locator("td.gap a").count() > 0
        _fits_and_labelled(page, width)
        _shoot(page, "coverage", width_name)
        context.close()
