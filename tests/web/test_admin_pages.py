"""The administrator's pages: accounts (``cchc users``) and the registered definitions with
their state diagrams; nobody else reaches them."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cchc.web.app import create_app
from cchc.workspace import Workspace
from tests.test_diagram_dot import needs_dot
from tests.web.conftest import ADMIN, KT_OFFICIAL, POLICY, csrf_of, make_account, sign_in

NEWCOMER = "bui.duc.anh"
LINK = re.compile(r"<code>(http://127\.0\.0\.1:8000/invite/[A-Za-z0-9_-]+)</code>")


def _events(ward: Workspace, where: str, **values: str) -> list[tuple[str, ...]]:
    with ward.sessions() as session:
        rows = session.execute(
            sa.text(
                "select actor, kind, ref, trigger, outcome, coalesce(channel, '') "
                f"from audit_events where {where} order by seq"
            ),
            values,
        )
        return [tuple(str(v) for v in row) for row in rows]


def _mails(folder: Path) -> list[str]:
    """The text parts of every message of the Maildirs under ``folder``, decoded."""
    texts = []
    for path in folder.rglob("*"):
        if path.is_file() and path.parent.name == "new":
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            body = message.get_body(preferencelist=("plain",))
            texts.append(body.get_content() if body is not None else "")
    return texts


@pytest.fixture
def admin(ward: Workspace, client: TestClient) -> TestClient:
    """The client signed in as the administrator."""
    make_account(ward, ADMIN)
    assert sign_in(client, ADMIN).status_code == 303
    return client


def test_the_accounts_page_lists_everyone_with_their_account(
    admin: TestClient, ward: Workspace
) -> None:
    """Every person of the ward is listed with the state of their account; the nav shows
    the administration to the administrator."""
    got = admin.get("/admin/accounts")
    assert got.status_code == 200
    for person in ward.organization.people:
        assert f'<td data-label="Tên đăng nhập">{person.id}</td>' in got.text
    assert "đang hoạt động" in got.text
    assert "chưa có tài khoản" in got.text
    assert '<a href="/admin">Quản trị</a>' in got.text
    assert "Lịch chạy và tiến trình (Prefect)" in got.text
    assert 'href="http://127.0.0.1:4200"' in got.text


def test_an_invite_is_sent_audited_and_its_link_shown_once(
    admin: TestClient, ward: Workspace, tmp_path: Path
) -> None:
    """Inviting a person sends the one-time link through the notification channel (Maildir),
    shows it once on the answer (not on the next visit), is audited with the web channel, and
    the link opens the form to set a password."""
    page = admin.get("/admin/accounts")
    done = admin.post(
        "/admin/accounts",
        data={"csrf": csrf_of(page), "person": NEWCOMER, "action": "invite"},
    )
    assert done.status_code == 200, done.text
    assert "Đã gửi lời mời cho Bùi Đức Anh qua kênh thông báo" in done.text
    found = LINK.search(done.text)
    assert found
    link = found.group(1)
    assert link not in admin.get("/admin/accounts").text
    assert any(link in text for text in _mails(tmp_path)), "the invite reached the Maildir"
    (event,) = _events(ward, "kind = 'account' and trigger = 'invite' and ref = :who", who=NEWCOMER)
    assert event[:5] == (ADMIN, "account", NEWCOMER, "invite", "applied")
    assert event[5].startswith("web:")
    with TestClient(create_app(ward, policy=POLICY, proxy=False)) as newcomer:
        assert newcomer.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 200


def test_disabling_ends_the_persons_sessions(admin: TestClient, ward: Workspace) -> None:
    """Disabling an account ends its open sessions: the person's browser is sent to sign in."""
    with TestClient(create_app(ward, policy=POLICY, proxy=False)) as official:
        assert sign_in(official, KT_OFFICIAL).status_code == 303
        assert official.get("/", follow_redirects=False).status_code == 200
        page = admin.get("/admin/accounts")
        done = admin.post(
            "/admin/accounts",
            data={"csrf": csrf_of(page), "person": KT_OFFICIAL, "action": "disable"},
        )
        assert done.status_code == 200, done.text
        assert (
            "Đã vô hiệu hóa tài khoản của Ngô Thị Hà; 1 phiên đăng nhập đã kết thúc." in done.text
        )
        assert official.get("/", follow_redirects=False).status_code == 303
    assert _events(ward, "trigger = 'disable'")[0][:5] == (
        ADMIN,
        "account",
        KT_OFFICIAL,
        "disable",
        "applied",
    )


def test_others_get_no_administration(client: TestClient, ward: Workspace) -> None:
    """A unit official sees no administration link; each administration page answers 404 and
    each refusal is audited; their POST is refused by the account service (403, audited) and
    invites nobody."""
    sign_in(client, KT_OFFICIAL)
    assert 'href="/admin"' not in client.get("/").text
    for path in ("/admin", "/admin/accounts", "/admin/definitions", "/admin/definitions/task.svg"):
        assert client.get(path).status_code == 404, path
    refused = _events(ward, "actor = :who and kind = 'access'", who=KT_OFFICIAL)
    assert [e[2] for e in refused] == [
        "read administration",
        "read accounts",
        "read definitions",
        "read definitions",
    ]
    assert {e[4] for e in refused} == {"refused"}
    posted = client.post(
        "/admin/accounts",
        data={"csrf": csrf_of(client.get("/")), "person": NEWCOMER, "action": "invite"},
    )
    assert posted.status_code == 403
    assert "Thao tác bị từ chối – không có quyền" in posted.text
    refusal = _events(ward, "ref = :ref", ref=f"invite account {NEWCOMER}")
    assert [e[:5] for e in refusal] == [
        (KT_OFFICIAL, "account", f"invite account {NEWCOMER}", "invite", "refused")
    ]
    assert _events(ward, "ref = :who", who=NEWCOMER) == []


def test_the_definitions_page_shows_each_registered_definition(
    admin: TestClient, ward: Workspace
) -> None:
    """Every registered kind is listed with its states' labels and transitions with role
    labels, and its diagram is an image whose SVG is drawn from the definition."""
    got = admin.get("/admin/definitions")
    assert got.status_code == 200
    definitions = ward.engine.definitions.workflows
    assert definitions
    for kind, definition in definitions.items():
        assert f'<img src="/admin/definitions/{kind}.svg" alt="Sơ đồ trạng thái' in got.text
        for state in definition.states:
            assert state.label in got.text
        for transition in definition.transitions:
            assert f"({transition.trigger})" in got.text
    assert "Công chức đầu mối CCHC" in got.text
    needs_dot()
    svg = admin.get("/admin/definitions/task.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["x-content-type-options"] == "nosniff"
    assert "<svg" in svg.text
    assert "Hoàn thành" in svg.text
    assert admin.get("/admin/definitions/nothing.svg").status_code == 404
