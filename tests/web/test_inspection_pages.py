"""The inspector's history page (``/history``): the search ``cchc audit history`` runs, its
downloads, the chain's status ``cchc audit verify`` gives, and who may read what."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cchc import cycle
from cchc.anchor import checkpoint_ward, init_key
from cchc.commands.audit import labels_of
from cchc.inspection import history as inspection
from cchc.vietnam import LOCAL_TZ
from cchc.web.app import AREAS
from cchc.workspace import Workspace
from tests.conftest import Clock, Db
from tests.test_audit_tamper import unprotected
from tests.web.conftest import FOCAL, KT_OFFICIAL, csrf_of, make_account, sign_in
from workflows import channel
from workflows.database import unit_of_work

INSPECTOR = "cu.van.son"
VHXH_OFFICIAL = "bui.duc.anh"
PLAN = "KH-CCHC-2025-H2"
FORMULA = "=cmd|' /C calc'!A0"
SEARCH = f"/history?unit=kt&plan={PLAN}&since=05/11/2025&until=15/11/2025"


def _fire(
    ws: Workspace,
    clock: Clock,
    when: datetime,
    task: str,
    trigger: str,
    person: str,
    **payload: str,
) -> None:
    clock.now = when
    task_id = cycle.task_ids(ws, PLAN)[task]
    with channel.using("cli:ha@may-1"), unit_of_work(ws.sessions) as session:
        ws.engine.fire(session, task_id, trigger, actor=ws.actor(person), payload=payload)


@pytest.fixture
def acted(ward: Workspace, clock: Clock) -> Workspace:
    """Phòng Kinh tế starts NV-06 on 10/11, submits it on 11/11 and the focal official returns
    it with a comment typed as a spreadsheet formula; VH-XH starts NV-08 on 12/11; Phòng Kinh
    tế starts NV-07 on 20/11. The inspector has an account."""
    day = lambda d: datetime(2025, 11, d, 9, tzinfo=LOCAL_TZ)  # noqa: E731
    _fire(ward, clock, day(10), "NV-06", "start", KT_OFFICIAL)
    _fire(ward, clock, day(11), "NV-06", "submit_product", KT_OFFICIAL, product="Báo cáo")
    _fire(ward, clock, day(11), "NV-06", "return_product", FOCAL, reason=FORMULA)
    _fire(ward, clock, day(12), "NV-08", "start", VHXH_OFFICIAL)
    _fire(ward, clock, day(20), "NV-07", "start", KT_OFFICIAL)
    clock.now = datetime(2025, 11, 24, 9, tzinfo=LOCAL_TZ)
    make_account(ward, INSPECTOR)
    return ward


def _body_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[ >].*?</tr>", body, flags=re.DOTALL)


def test_an_inspector_searches_a_unit_over_a_period(client: TestClient, acted: Workspace) -> None:
    """The inspector's search by unit and period lists exactly the rows the history service
    gives: the events of Phòng Kinh tế's items in those days (local time dd/mm/yyyy HH:MM,
    names, actions in words, the web or command-line channel), none of another unit's or of
    another day; the page has no form but the search and signing out."""
    sign_in(client, INSPECTOR)
    page = client.get(SEARCH)
    assert page.status_code == 200, page.text
    with acted.sessions() as session:
        subject = inspection.find_unit(
            session,
            acted.tenant,
            "kt",
            [p.id for p in acted.organization.members("kt")],
            title="",
            plan=PLAN,
        )
        since = datetime(2025, 11, 5, tzinfo=LOCAL_TZ)
        until = datetime(2025, 11, 16, tzinfo=LOCAL_TZ)
        expected = inspection.history(session, subject, labels_of(acted), since=since, until=until)
    assert [r.trigger for r in expected.rows] == ["start", "submit_product", "return_product"]
    rows = _body_rows(page.text)
    assert len(rows) == len(expected.rows)
    assert "10/11/2025 09:00" in rows[0]
    assert "Ngô Thị Hà" in rows[0]
    assert "Bắt đầu thực hiện" in rows[0]
    assert "Nhiệm vụ NV-06" in rows[0]
    assert "Nguyễn Thị Lan" in rows[2]
    assert "Trả lại sản phẩm" in rows[2]
    assert not any("NV-08" in row or "NV-07" in row for row in rows)
    assert '<td data-label="Kênh">Dòng lệnh (ha@may-1)</td>' in rows[0]
    assert page.text.count('method="post"') == 1  # signing out, in the header
    assert 'action="/sign-out"' in page.text


def test_the_downloads_are_attachments_and_formulas_stay_text(
    client: TestClient, acted: Workspace
) -> None:
    """CSV, XLSX and DOCX of the same search come as attachments with their content type and
    nosniff; the comment typed as a formula is text in the CSV (behind a quote) and in the
    XLSX (a string cell, never a formula)."""
    sign_in(client, INSPECTOR)
    query = SEARCH.split("?", 1)[1]
    types = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }
    files = {}
    for extension, content_type in types.items():
        got = client.get(f"/history.{extension}?{query}")
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == content_type
        assert got.headers["content-disposition"].startswith("attachment;")
        assert f"lich-su-unit-kt.{extension}" in got.headers["content-disposition"]
        assert got.headers["x-content-type-options"] == "nosniff"
        files[extension] = got.content
    assert files["docx"][:2] == b"PK"
    table = list(csv.reader(io.StringIO(files["csv"].decode("utf-8-sig"))))
    assert len(table) == 1 + 3
    assert "'" + FORMULA in table[3]
    sheet = load_workbook(io.BytesIO(files["xlsx"])).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row if c.value == FORMULA]
    assert len(cells) == 1
    assert cells[0].data_type == "s"


def test_chain_status_is_intact_then_names_the_tampered_event(
    client: TestClient, acted: Workspace, db: Db
) -> None:
    """On a fresh trail the page says the chain is intact (with the time verifying took) and up
    to which signed checkpoint; after one event's row is edited behind the triggers' back it
    names that event."""
    sign_in(client, INSPECTOR)
    page = client.get("/history")
    assert page.status_code == 200
    assert "Chuỗi nhật ký toàn vẹn" in page.text
    assert re.search(r"kiểm tra mất \d+,\d\d giây", page.text)
    assert "Chưa có điểm neo đã ký số" in page.text
    init_key(acted.settings)
    taken = checkpoint_ward(acted.settings, acted.sessions, acted.tenant, acted.engine.clock())
    assert taken is not None
    page = client.get("/history")
    assert "Chuỗi nhật ký toàn vẹn" in page.text
    assert f"Đã đối chiếu 1 điểm neo đã ký số; mới nhất: số thứ tự {taken[0].seq}, lúc" in page.text
    with acted.sessions() as session:
        victim = session.execute(
            sa.text("select id, seq from audit_events where trigger = 'return_product'")
        ).one()
    with unprotected(db) as conn:
        conn.execute(
            sa.text("update audit_events set reason = 'sửa lén' where id = :id"), {"id": victim.id}
        )
    page = client.get("/history")
    assert "Chuỗi nhật ký KHÔNG toàn vẹn" in page.text
    assert f"Sự kiện #{victim.id} (số thứ tự {victim.seq})" in page.text


def test_a_unit_reads_its_own_history_only(client: TestClient, acted: Workspace) -> None:
    """A Phòng Kinh tế official reads their unit's history (no chain status: that reads the
    whole trail); another unit's answers 404 and the refusal is audited."""
    sign_in(client, KT_OFFICIAL)
    own = client.get(SEARCH)
    assert own.status_code == 200
    assert len(_body_rows(own.text)) == 3
    assert "Chuỗi nhật ký" not in own.text
    other = client.get(f"/history?unit=vhxh&plan={PLAN}")
    assert other.status_code == 404
    with acted.sessions() as session:
        refused = (
            session.execute(
                sa.text(
                    "select ref from audit_events where actor = :who and kind = 'access' "
                    "and outcome = 'refused'"
                ),
                {"who": KT_OFFICIAL},
            )
            .scalars()
            .all()
        )
    assert refused == ["history of unit vhxh of unit vhxh"]
    assert client.get(f"/history.csv?unit=vhxh&plan={PLAN}").status_code == 404


def test_a_wrong_search_says_why(client: TestClient, acted: Workspace) -> None:
    """Two subjects at once, a criterion without a plan or a date not in dd/mm/yyyy are
    refused with a Vietnamese sentence (400)."""
    sign_in(client, INSPECTOR)
    for query, words in (
        ("unit=kt&person=ngo.thi.ha", "đúng một đối tượng"),
        ("criterion=1.1.3", "cần chọn kế hoạch"),
        ("unit=kt&since=2025/31/12", "không phải là ngày hợp lệ"),
    ):
        got = client.get(f"/history?{query}")
        assert got.status_code == 400, query
        assert words in got.text, query


PERSONAL = {"/sign-in", "/sign-out", "/invite/{token}", "/password"}
"""POST routes about one's own session and password, open to everyone signed in."""


def test_an_inspectors_post_to_any_action_route_is_refused(
    client: TestClient, acted: Workspace
) -> None:
    """Every POST route of the application but signing in and out and one's own password
    refuses the inspector (with a valid CSRF token and the fields an action form sends), and
    the trail gains no applied event of theirs."""
    sign_in(client, INSPECTOR)
    token = csrf_of(client.get("/history"))
    routes = [
        r
        for area in AREAS
        for r in area.router.routes
        if isinstance(r, APIRoute) and "POST" in r.methods and r.path not in PERSONAL
    ]
    assert "/admin/accounts" in {r.path for r in routes}
    fields = {"csrf": token, "person": KT_OFFICIAL, "action": "reset", "reason": "x"}
    before = _applied(acted)
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        got = client.post(path, data=fields, follow_redirects=False)
        assert got.status_code in {400, 403, 404, 405}, path
    assert _applied(acted) == before
    with acted.sessions() as session:
        account = session.execute(
            sa.text("select password_hash is not null from accounts where person_id = :who"),
            {"who": KT_OFFICIAL},
        ).scalar_one()
    assert account


def _applied(ws: Workspace) -> int:
    """How many applied events the trail holds."""
    with ws.sessions() as session:
        return int(
            session.execute(
                sa.text("select count(*) from audit_events where outcome = 'applied'")
            ).scalar_one()
        )
