"""The unit head's approvals, the Chairman's lock and the monthly review meeting in the
browser: ``/assessments`` and ``/meetings`` call the services the CLI calls
(``cchc.scoring.approvals``, ``cchc.review.service``); refusals are the engine's, worded in
Vietnamese and audited; downloads come from the data folder's known layout only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from cchc.review.files import review_folder
from cchc.scoring.approvals import lock_approved
from cchc.workspace import Workspace
from tests.conftest import ROOT, Clock
from tests.web.conftest import (
    CHAIRMAN,
    FOCAL,
    KT_HEAD,
    KT_OFFICIAL,
    csrf_of,
    sign_in,
)
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
from workflows.database import unit_of_work
from workflows.errors import TransitionRefusedError
from workflows.schema import Instance

PLAN = "KH-CCHC-2025-H2"
MONTH = "2025-10"


def _assessments(ward: Workspace) -> dict[str, Instance]:
    """Code → the plan's assessment instance, as stored now."""
    with ward.sessions() as session:
        rows = session.scalars(sa.select(Instance).where(Instance.kind == "assessment")).all()
    return {json.loads(r.data)["code"]: r for r in rows}


def _of_unit(ward: Workspace, unit: str) -> list[str]:
    """The codes of ``unit``'s assessments, in code order."""
    found = [c for c, r in _assessments(ward).items() if json.loads(r.data)["owner_unit"] == unit]
    return sorted(found)


def _self_score(ward: Workspace, code: str, person: str, points: str = "5.2") -> None:
    """``person`` self-scores ``code`` as ``cchc assessments fire CODE self_score`` does."""
    row = _assessments(ward)[code]
    payload = {"points": points, "explanation": "Đang chờ xác nhận", "evidence_complete": False}
    with unit_of_work(ward.sessions) as session:
        ward.engine.fire(session, row.id, "self_score", actor=ward.actor(person), payload=payload)


def _events(ward: Workspace, where: str) -> list[tuple[str, ...]]:
    """(actor, kind, trigger, outcome, channel) of the audit events matching ``where``."""
    with ward.sessions() as session:
        rows = session.execute(
            sa.text(
                "select actor, kind, trigger, outcome, coalesce(channel, '') "
                f"from audit_events where {where} order by seq"
            )
        )
        return [tuple(str(v) for v in row) for row in rows]


def _fire(client: TestClient, item: int, trigger: str, **fields: str) -> Response:
    """Post the item page's form for ``trigger``, with the version the page showed."""
    shown = client.get(f"/assessments/{item}")
    version = re.search(r'name="version" value="(\d+)"', shown.text)
    assert version, shown.text
    data = {"csrf": csrf_of(shown), "trigger": trigger, "version": version.group(1), **fields}
    posted: Response = client.post(f"/assessments/{item}", data=data, follow_redirects=False)
    return posted


@pytest.fixture
def scored(ward: Workspace) -> Workspace:
    """Two Phòng Kinh tế sub-criteria self-scored by its official (5,2 points each)."""
    for code in _of_unit(ward, "kt")[:2]:
        _self_score(ward, code, KT_OFFICIAL)
    return ward


def test_head_approves_an_assessment_of_their_unit(client: TestClient, scored: Workspace) -> None:
    """The head's list shows their unit's assessments only, with the self-score written with a
    decimal comma and an approve form; approving moves the state, audited with the web
    session as its channel."""
    code = _of_unit(scored, "kt")[0]
    item = _assessments(scored)[code]
    sign_in(client, KT_HEAD)
    listing = client.get("/assessments")
    assert listing.status_code == 200
    assert listing.text.count('<li class="assessment') == len(_of_unit(scored, "kt"))
    assert "5,20" in listing.text
    assert 'value="approve"' in listing.text
    assert 'value="lock"' not in listing.text
    done = _fire(client, item.id, "approve")
    assert done.status_code == 303
    assert _assessments(scored)[code].state == "approved"
    events = _events(scored, f"instance_id = {item.id} and trigger = 'approve'")
    assert [e[:4] for e in events] == [(KT_HEAD, "assessment", "approve", "applied")]
    assert events[0][4].startswith("web:")
    page = client.get(f"/assessments/{item.id}")
    assert "Trưởng đơn vị đã duyệt" in page.text
    assert "Phạm Quốc Khánh" in page.text  # the history says who approved


def test_waiting_approvals_link_to_the_filtered_list(client: TestClient, scored: Workspace) -> None:
    """The home page's "waiting for approval" count links to the list of assessments waiting for
    the viewer's decision, which shows exactly that many."""
    sign_in(client, KT_HEAD)
    home = client.get("/")
    assert '<a class="box" href="/assessments?show=waiting">' in home.text
    waiting = client.get("/assessments?show=waiting")
    assert waiting.text.count('<li class="assessment') == 2


def test_head_cannot_see_another_units_assessment(client: TestClient, scored: Workspace) -> None:
    """An assessment of another unit asked for by id answers 404, and the refused read is
    audited; its forms refuse likewise and nothing changes."""
    other = _assessments(scored)[_of_unit(scored, "ttphc")[0]]
    sign_in(client, KT_HEAD)
    assert client.get(f"/assessments/{other.id}").status_code == 404
    token = csrf_of(client.get("/assessments"))
    posted = client.post(
        f"/assessments/{other.id}",
        data={"csrf": token, "trigger": "approve", "version": str(other.version)},
    )
    assert posted.status_code == 404
    refused = _events(scored, f"actor = '{KT_HEAD}' and kind = 'access'")
    assert len(refused) == 2
    assert {e[3] for e in refused} == {"refused"}
    assert _assessments(scored)[_of_unit(scored, "ttphc")[0]].state == other.state


def test_return_without_reason_is_refused_and_changes_nothing(
    client: TestClient, scored: Workspace
) -> None:
    """Returning a self-score with a blank reason shows the form again with the Vietnamese
    refusal; the state stays and no return is applied; with a reason it is returned."""
    code = _of_unit(scored, "kt")[0]
    item = _assessments(scored)[code]
    sign_in(client, KT_HEAD)
    refused = _fire(client, item.id, "return_score", reason="   ")
    assert refused.status_code == 400
    assert "cần có lý do" in refused.text
    assert 'name="reason"' in refused.text
    assert _assessments(scored)[code].state == "self_scored"
    events = _events(scored, f"instance_id = {item.id} and trigger = 'return_score'")
    assert [e[3] for e in events] == ["refused"]
    returned = _fire(client, item.id, "return_score", reason="Thiếu tài liệu kiểm chứng")
    assert returned.status_code == 303
    assert _assessments(scored)[code].state == "returned"


def test_the_self_scorer_cannot_approve_their_own(client: TestClient, ward: Workspace) -> None:
    """A head who self-scored their unit's sub-criterion is refused approving it, in
    Vietnamese; the refusal is audited and the state stays."""
    code = _of_unit(ward, "kt")[0]
    _self_score(ward, code, KT_HEAD)
    item = _assessments(ward)[code]
    sign_in(client, KT_HEAD)
    refused = _fire(client, item.id, "approve")
    assert refused.status_code == 409
    assert "người đã nộp không được tự quyết định" in refused.text
    assert _assessments(ward)[code].state == "self_scored"
    assert [e[3] for e in _events(ward, f"instance_id = {item.id} and trigger = 'approve'")] == [
        "refused"
    ]


def test_chairman_locks_one_and_then_every_approved(client: TestClient, scored: Workspace) -> None:
    """The Chairman sees the lock form on approved assessments only; locking one locks it, and
    "lock all approved" locks the rest in one go."""
    first, second = _of_unit(scored, "kt")[:2]
    sign_in(client, KT_HEAD)
    for code in (first, second):
        _fire(client, _assessments(scored)[code].id, "approve")
    other = TestClient(client.app)
    sign_in(other, CHAIRMAN)
    listing = other.get("/assessments?show=waiting")
    assert listing.text.count('value="lock"') == 2
    assert _fire(other, _assessments(scored)[first].id, "lock").status_code == 303
    assert _assessments(scored)[first].state == "locked"
    page = other.get("/assessments")
    done = other.post(
        "/assessments/lock-approved", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert done.status_code == 303
    assert _assessments(scored)[second].state == "locked"
    assert "Đã khóa 1 tiêu chí" in other.get(done.headers["location"]).text


def test_a_second_lock_says_who_locked_and_when(
    client: TestClient, scored: Workspace, clock: Clock
) -> None:
    """Locking an already locked assessment is refused by the engine (audited), and the page
    says who locked it and when."""
    code = _of_unit(scored, "kt")[0]
    item = _assessments(scored)[code]
    sign_in(client, KT_HEAD)
    _fire(client, item.id, "approve")
    sign_in(client, CHAIRMAN)
    shown = client.get(f"/assessments/{item.id}")
    form = {"csrf": csrf_of(shown), "trigger": "lock", "version": str(item.version + 1)}
    assert client.post(f"/assessments/{item.id}", data=form).status_code == 200
    clock.advance(minutes=5)
    again = client.post(f"/assessments/{item.id}", data=form)
    assert again.status_code == 409
    assert "Thao tác bị từ chối" in again.text
    assert "Đặng Văn Thắng" in again.text
    assert "03/11/2025 09:00" in again.text
    outcomes = [e[3] for e in _events(scored, f"instance_id = {item.id} and trigger = 'lock'")]
    assert outcomes == ["applied", "refused"]


def test_a_decision_on_a_changed_item_names_who_changed_it(
    client: TestClient, scored: Workspace
) -> None:
    """The Chairman returning a self-score the head approved after the page was shown is not
    applied: the page says who approved it and when; nothing changes."""
    code = _of_unit(scored, "kt")[0]
    item = _assessments(scored)[code]
    chairman = TestClient(client.app)
    sign_in(chairman, CHAIRMAN)
    shown = chairman.get(f"/assessments/{item.id}")
    sign_in(client, KT_HEAD)
    _fire(client, item.id, "approve")
    late = chairman.post(
        f"/assessments/{item.id}",
        data={
            "csrf": csrf_of(shown),
            "trigger": "return_score",
            "version": str(item.version),
            "reason": "Chưa đủ",
        },
    )
    assert late.status_code == 409
    assert "Phạm Quốc Khánh" in late.text
    assert "03/11/2025 09:00" in late.text
    assert _assessments(scored)[code].state == "approved"


def test_lock_approved_service_refuses_whole(scored: Workspace) -> None:
    """``lock_approved`` as the head is refused by the engine and locks nothing."""
    for code in _of_unit(scored, "kt")[:2]:
        with unit_of_work(scored.sessions) as session:
            row = _assessments(scored)[code]
            scored.engine.fire(session, row.id, "approve", actor=scored.actor(KT_HEAD))
    with pytest.raises(TransitionRefusedError):
        lock_approved(scored, PLAN, scored.actor(KT_HEAD))
    assert "locked" not in {r.state for r in _assessments(scored).values()}
    assert lock_approved(scored, PLAN, scored.actor(CHAIRMAN)) == _of_unit(scored, "kt")[:2]


def test_the_nav_shows_only_what_the_viewer_may_use(client: TestClient, ward: Workspace) -> None:
    """A unit official sees neither "Đánh giá" nor "Giao ban"; the head sees "Đánh giá" only;
    the Chairman both."""
    menus = {}
    for person in (KT_OFFICIAL, KT_HEAD, CHAIRMAN):
        browser = TestClient(client.app)
        sign_in(browser, person)
        menus[person] = browser.get("/").text
    assert 'href="/assessments"' not in menus[KT_OFFICIAL]
    assert 'href="/meetings"' not in menus[KT_OFFICIAL]
    assert 'href="/assessments"' in menus[KT_HEAD]
    assert 'href="/meetings"' not in menus[KT_HEAD]
    assert 'href="/assessments"' in menus[CHAIRMAN]
    assert 'href="/meetings"' in menus[CHAIRMAN]


def test_review_page_runs_the_report_and_offers_the_docx(
    client: TestClient, ward: Workspace
) -> None:
    """The focal official runs the month's report: the files are written where the CLI writes
    them, the page lists the conclusions and offers the DOCX as an attachment (nosniff); a
    file name from the address is never used."""
    sign_in(client, FOCAL)
    page = client.get("/meetings")
    assert page.status_code == 200
    ran = client.post(
        "/meetings",
        data={"csrf": csrf_of(page), "plan": PLAN, "month": MONTH},
        follow_redirects=False,
    )
    assert ran.status_code == 303
    folder = review_folder(ward.settings.data_dir, MONTH)
    assert (folder / f"bao-cao-giao-ban-{MONTH}.docx").is_file()
    shown = client.get(ran.headers["location"])
    assert "Kết luận dự kiến" in shown.text
    link = f"/meetings/{PLAN}/{MONTH}/files/report.docx"
    assert f'href="{link}"' in shown.text
    docx = client.get(link)
    assert docx.status_code == 200
    assert docx.headers["content-disposition"].startswith("attachment;")
    assert docx.headers["x-content-type-options"] == "nosniff"
    assert docx.content == (folder / f"bao-cao-giao-ban-{MONTH}.docx").read_bytes()
    for bad in ("../../cchc.sqlite3", "report.exe", "..%2F..%2Fcchc.sqlite3"):
        assert client.get(f"/meetings/{PLAN}/{MONTH}/files/{bad}").status_code == 404
    assert client.get(f"/meetings/{PLAN}/2025-09/files/report.docx").status_code == 404


def test_a_review_run_from_the_page_signs_a_checkpoint(client: TestClient, ward: Workspace) -> None:
    """With a signing key, running the month's review from the page signs a checkpoint of the
    chain that covers the meeting, as the monthly-review flow does."""
    from cchc.anchor import checkpoint_folder, init_key
    from workflows.schema import AuditEvent

    init_key(ward.settings)
    _run_review(client)
    with ward.sessions() as session:
        meeting_seq = session.scalar(
            sa.select(sa.func.max(AuditEvent.seq)).where(
                AuditEvent.tenant == ward.tenant, AuditEvent.kind == "meeting"
            )
        )
    latest = checkpoint_folder(ward.settings).latest(ward.tenant)
    assert meeting_seq is not None
    assert latest is not None
    assert latest.seq >= meeting_seq


def _run_review(client: TestClient) -> None:
    """The focal official runs the review of ``MONTH`` through the page."""
    sign_in(client, FOCAL)
    page = client.get("/meetings")
    client.post("/meetings", data={"csrf": csrf_of(page), "plan": PLAN, "month": MONTH})


def _follow_ups(ward: Workspace) -> list[Instance]:
    with ward.sessions() as session:
        rows = session.scalars(sa.select(Instance).where(Instance.kind == "task")).all()
    return [r for r in rows if json.loads(r.data).get("source") == "notice"]


def test_the_chairman_issues_the_notice_and_conclusions_become_tasks(
    client: TestClient, ward: Workspace
) -> None:
    """Issuing the notice with its number turns each drafted conclusion into a follow-up task
    and writes the issued notice; a second issue is refused and says who issued it and when."""
    _run_review(client)
    chairman = TestClient(client.app)
    sign_in(chairman, CHAIRMAN)
    shown = chairman.get(f"/meetings?plan={PLAN}&month={MONTH}")
    assert 'action="/meetings/issue"' in shown.text
    with ward.sessions() as session:
        meeting = session.scalars(sa.select(Instance).where(Instance.kind == "meeting")).one()
    conclusions = json.loads(meeting.data)["conclusions"]
    assert conclusions
    form = {"csrf": csrf_of(shown), "plan": PLAN, "month": MONTH, "number": "15/TB-UBND"}
    issued = chairman.post("/meetings/issue", data=form, follow_redirects=False)
    assert issued.status_code == 303
    assert len(_follow_ups(ward)) == len(conclusions)
    folder = review_folder(ward.settings.data_dir, MONTH)
    assert (folder / f"thong-bao-ket-luan-{MONTH}.docx").is_file()
    after = chairman.get(issued.headers["location"])
    assert "15/TB-UBND" in after.text
    assert f'href="/meetings/{PLAN}/{MONTH}/files/notice.docx"' in after.text
    again = chairman.post("/meetings/issue", data={**form, "number": "16/TB-UBND"})
    assert again.status_code == 409
    assert "Đặng Văn Thắng" in again.text
    assert len(_follow_ups(ward)) == len(conclusions)


def test_a_unit_official_cannot_issue_the_notice(client: TestClient, ward: Workspace) -> None:
    """A unit official posting the issue form is refused in Vietnamese (403), the refusal is
    audited, and no follow-up task is made; nor may they open the review page (404)."""
    _run_review(client)
    official = TestClient(client.app)
    sign_in(official, KT_OFFICIAL)
    assert official.get("/meetings").status_code == 404
    token = csrf_of(official.get("/"))
    refused = official.post(
        "/meetings/issue",
        data={"csrf": token, "plan": PLAN, "month": MONTH, "number": "15/TB-UBND"},
    )
    assert refused.status_code == 403
    assert "không có quyền" in refused.text
    events = _events(ward, f"actor = '{KT_OFFICIAL}' and outcome = 'refused'")
    assert any(e[2] != "read" for e in events)
    assert _follow_ups(ward) == []


def test_a_focal_official_cannot_issue_and_the_chairman_cannot_compile(
    client: TestClient, ward: Workspace
) -> None:
    """The forms follow the definitions: the focal official gets no issue form, the Chairman
    no "Lập báo cáo" form."""
    _run_review(client)
    focal = client.get(f"/meetings?plan={PLAN}&month={MONTH}")
    assert 'action="/meetings/issue"' not in focal.text
    chairman = TestClient(client.app)
    sign_in(chairman, CHAIRMAN)
    assert "Lập báo cáo" not in chairman.get("/meetings").text


def test_review_refusals_are_worded_and_change_nothing(client: TestClient, ward: Workspace) -> None:
    """The Chairman may not compile (403, audited); the notice cannot be issued before the
    report, nor without a number; a month outside the plan and a month compiled twice are
    refused with their reason; a unit head may not download the files (404)."""
    chairman = TestClient(client.app)
    sign_in(chairman, CHAIRMAN)
    token = csrf_of(chairman.get("/meetings"))
    refused = chairman.post("/meetings", data={"csrf": token, "plan": PLAN, "month": MONTH})
    assert refused.status_code == 403
    assert "không có quyền" in refused.text
    assert _events(ward, f"actor = '{CHAIRMAN}' and outcome = 'refused'")[0][1] == "meeting"
    early = {"csrf": token, "plan": PLAN, "month": MONTH, "number": "15/TB-UBND"}
    not_yet = chairman.post("/meetings/issue", data=early)
    assert not_yet.status_code == 409
    assert "hãy lập báo cáo trước" in not_yet.text
    _run_review(client)
    token = csrf_of(client.get("/meetings"))
    again = client.post("/meetings", data={"csrf": token, "plan": PLAN, "month": MONTH})
    assert again.status_code == 409
    assert "đã được lập" in again.text
    outside = client.post("/meetings", data={"csrf": token, "plan": PLAN, "month": "2026-03"})
    assert outside.status_code == 400
    assert "ngoài kỳ kế hoạch" in outside.text
    blank = chairman.post("/meetings/issue", data={**early, "number": " "})
    assert blank.status_code == 400
    assert "số thông báo" in blank.text
    assert _follow_ups(ward) == []
    head = TestClient(client.app)
    sign_in(head, KT_HEAD)
    assert head.get(f"/meetings/{PLAN}/{MONTH}/files/report.docx").status_code == 404


def test_lock_all_as_the_head_is_refused_whole(client: TestClient, scored: Workspace) -> None:
    """A head posting "lock all approved" is refused by the engine in Vietnamese (403) and
    nothing is locked."""
    sign_in(client, KT_HEAD)
    for code in _of_unit(scored, "kt")[:2]:
        _fire(client, _assessments(scored)[code].id, "approve")
    page = client.get("/assessments")
    assert "Khóa tất cả" not in page.text
    refused = client.post(
        "/assessments/lock-approved", data={"csrf": csrf_of(page), "plan": PLAN, "unit": "kt"}
    )
    assert refused.status_code == 403
    assert "không có quyền" in refused.text
    assert "locked" not in {r.state for r in _assessments(scored).values()}


__all__ = ["chromium"]  # the browser fixture of test_browser, shared with this module
BROWSER_PASSWORD = "mật khẩu thử trình duyệt 2025"


@dataclass
class Ward:
    """A running ``cchc serve`` whose Phòng Kinh tế has two self-scored sub-criteria."""

    url: str


@pytest.fixture(scope="module")
def served_ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    """``cchc serve`` on a data folder with the example plan issued, 6.2.1 and 6.3.1
    self-scored by the Phòng Kinh tế official, and accounts for its head, the focal official
    and the Chairman."""
    folder = tmp_path_factory.mktemp("approvals")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCHC_")}
    env.update(CCHC_DATA_DIR=str(folder / "var"), CCHC_BASE_URL=url, CCHC_NOTIFY_CHANNEL="maildir")
    _cchc(env, "db", "upgrade")
    plan_file = str(ROOT / "examples" / "plan-phu-lien-2025-h2.yaml")
    _cchc(env, "plan", "issue", plan_file, "--as", FOCAL)
    for code in ("6.2.1", "6.3.1"):
        _cchc(
            env,
            *("assessments", "fire", code, "self_score", "--plan", PLAN, "--points", "0.5"),
            *("--explanation", "Đang chờ xác nhận của Kho bạc", "--as", KT_OFFICIAL),
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
        for person in (KT_HEAD, FOCAL, CHAIRMAN):
            link = json.loads(
                _cchc(env, "users", "invite", person, "--as", "tran.van.minh", "--json")
            )
            _set_password(str(link["link"]), BROWSER_PASSWORD)
        yield Ward(url)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _signed_in(chromium: Any, ward: Ward, person: str, size: tuple[int, int]) -> Any:
    """A new browser context at ``size`` with ``person`` signed in; its page."""
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{ward.url}/sign-in")
    page.get_by_label("Tên đăng nhập").fill(person)
    page.get_by_label("Mật khẩu").fill(BROWSER_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{ward.url}/")
    return page


def test_head_approves_and_the_review_meeting_in_chromium(chromium: Any, served_ward: Ward) -> None:
    """In Chromium at 360 px and 1280 px: the head follows the menu to the assessments waiting
    for approval and approves one; the focal official compiles October's review; the Chairman
    sees its conclusions and the issue form. No page scrolls sideways, every control is
    labelled; screenshots of both pages are saved."""
    url = served_ward.url
    for name, size in WIDTHS.items():
        page = _signed_in(chromium, served_ward, KT_HEAD, size)
        page.goto(f"{url}/assessments?show=waiting")
        _fits_and_labelled(page, size[0])
        assert page.locator("li.assessment").count() >= 1
        assert "0,50" in page.inner_text("main")
        _shoot(page, "assessments", name)
        if name == "desktop":
            assert page.locator("nav").get_by_role("link", name="Đánh giá").count() == 1
            page.locator("li.assessment").first.get_by_role("button", name="Duyệt điểm").click()
            page.wait_for_url("**/assessments/*?done=approve")
            assert "Trưởng đơn vị đã duyệt" in page.inner_text("main")
            _fits_and_labelled(page, size[0])
        page.context.close()
    focal = _signed_in(chromium, served_ward, FOCAL, WIDTHS["desktop"])
    focal.goto(f"{url}/meetings?plan={PLAN}&month={MONTH}")
    focal.get_by_role("button", name=f"Lập báo cáo kỳ {MONTH}").click()
    focal.wait_for_url("**/meetings?*done=run")
    assert focal.get_by_role("link", name="Báo cáo giao ban (DOCX)").count() == 1
    focal.context.close()
    for name, size in WIDTHS.items():
        page = _signed_in(chromium, served_ward, CHAIRMAN, size)
        page.get_by_role("link", name="Giao ban").click()
        page.goto(f"{url}/meetings?plan={PLAN}&month={MONTH}")
        assert "Kết luận dự kiến" in page.inner_text("main")
        assert page.get_by_label("Số thông báo").count() == 1
        assert page.locator("img.chart").evaluate("i => i.naturalWidth") > 0
        _fits_and_labelled(page, size[0])
        _shoot(page, "review-meeting", name)
        page.context.close()
