"""Security of the web application, shown with a test client: anonymous access, CSRF, headers,
cookies, the session id at sign-in, other units' items, escaping, locks, the audit channel."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from cchc.accounts.secrets_ import token_hash
from cchc.web import deps
from cchc.web.app import AREAS, create_app
from cchc.web.routes import auth
from cchc.web.security import PRE_COOKIE, SESSION_COOKIE
from cchc.workspace import Workspace
from tests.web.conftest import (
    CHAIRMAN,
    KT_OFFICIAL,
    PASSWORD,
    POLICY,
    csrf_of,
    invite_token,
    sign_in,
)
from workflows.schema import Instance

PUBLIC = {"/sign-in", "/sign-out", "/invite/{token}"}


def _events(ward: Workspace, where: str) -> list[tuple[str, ...]]:
    with ward.sessions() as session:
        rows = session.execute(
            sa.text(
                "select actor, kind, ref, trigger, outcome, coalesce(channel, '') "
                f"from audit_events where {where} order by seq"
            )
        )
        return [tuple(str(v) for v in row) for row in rows]


def _task_of(ward: Workspace, unit: str) -> int:
    with ward.sessions() as session:
        rows = session.scalars(sa.select(Instance).where(Instance.kind == "task")).all()
    return next(r.id for r in rows if f'"owner_unit":"{unit}"' in r.data)


def test_every_route_checks_csrf_and_all_but_sign_in_need_a_person(client: TestClient) -> None:
    """The application holds the static files and the areas' routers only; each router checks
    CSRF, and each but the sign-in area's needs a signed-in person."""
    routers = {id(area.router): area for area in AREAS}
    for route in client.app.routes:  # type: ignore[attr-defined]  # TestClient.app: a FastAPI
        if isinstance(route, Mount):
            assert route.path == "/static"
        else:
            assert id(getattr(route, "original_router", None)) in routers, route
    paths = set()
    for area in AREAS:
        calls = {d.dependency for d in area.router.dependencies}
        assert deps.csrf_protect in calls, area.__name__
        assert (deps._require_signed_in in calls) == (area is not auth), area.__name__
        routes = [r for r in area.router.routes if isinstance(r, APIRoute)]
        paths |= {r.path for r in routes}
        assert (area is auth) == ({r.path for r in routes} <= PUBLIC), area.__name__
    assert paths >= PUBLIC | {"/", "/tasks", "/tasks/{task_id}", "/password"}


def test_anonymous_requests_go_to_sign_in(client: TestClient, ward: Workspace) -> None:
    """Every page but sign-in redirects an anonymous browser to the sign-in page, naming where
    it was going; the sign-in page and the stylesheet are served."""
    task = _task_of(ward, "kt")
    for path in ("/", "/tasks", f"/tasks/{task}", "/tasks?show=late", "/password"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next=%2F")
    assert client.get("/sign-in").status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_a_post_without_the_csrf_token_is_refused_and_audited(
    client: TestClient, ward: Workspace
) -> None:
    """Signing out without the form's token answers 403 and leaves the session open; the
    refusal is audited; with the token it signs out. An anonymous POST without it is refused
    too."""
    assert sign_in(client, KT_OFFICIAL).status_code == 303
    refused = client.post("/sign-out", data={"csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200
    assert _events(ward, "kind = 'web'")[0][:5] == (
        KT_OFFICIAL,
        "web",
        "/sign-out",
        "csrf",
        "refused",
    )
    token = csrf_of(client.get("/"))
    assert client.post("/sign-out", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303
    anonymous = client.post("/sign-in", data={"login": KT_OFFICIAL, "password": PASSWORD})
    assert anonymous.status_code == 403


def test_security_headers_are_set_on_every_response(client: TestClient) -> None:
    """CSP without inline scripts, nosniff, no framing and no referrer on pages and files;
    no HSTS over plain HTTP."""
    for path in ("/sign-in", "/static/app.css", "/nowhere"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in headers


def _session_cookie(response: object) -> str:
    headers = response.headers  # type: ignore[attr-defined]
    return next(c for c in headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))


def test_cookies_are_httponly_lax_and_secure_over_https(ward: Workspace) -> None:
    """The session cookie is HttpOnly and SameSite=Lax; Secure (with HSTS) over HTTPS, or
    behind a trusted proxy saying HTTPS, never because an untrusted client says so."""
    plain = TestClient(create_app(ward, policy=POLICY, proxy=False))
    cookie = _session_cookie(sign_in(plain, KT_OFFICIAL))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    https = TestClient(create_app(ward, policy=POLICY, proxy=False), base_url="https://testserver")
    signed = sign_in(https, KT_OFFICIAL)
    assert "Secure" in _session_cookie(signed)
    assert "max-age=" in signed.headers["strict-transport-security"]
    forged = TestClient(
        create_app(ward, policy=POLICY, proxy=False), headers={"X-Forwarded-Proto": "https"}
    )
    assert "Secure" not in _session_cookie(sign_in(forged, KT_OFFICIAL))
    proxied = TestClient(
        create_app(ward, policy=POLICY, proxy=True), headers={"X-Forwarded-Proto": "https"}
    )
    form = proxied.get("/sign-in")
    assert "Secure" in form.headers["set-cookie"]
    proxied.cookies.set(PRE_COOKIE, form.cookies[PRE_COOKIE])  # as the browser on HTTPS would
    signed = proxied.post(
        "/sign-in",
        data={"login": KT_OFFICIAL, "password": PASSWORD, "csrf": csrf_of(form)},
        follow_redirects=False,
    )
    assert "Secure" in _session_cookie(signed)


def test_the_session_id_changes_at_sign_in(client: TestClient) -> None:
    """Signing in again gives a new session cookie and the old one stops working."""
    first = _session_cookie(sign_in(client, KT_OFFICIAL)).split(";")[0].split("=", 1)[1]
    second = _session_cookie(sign_in(client, KT_OFFICIAL)).split(";")[0].split("=", 1)[1]
    assert first != second
    old = TestClient(client.app, cookies={SESSION_COOKIE: first})
    assert old.get("/", follow_redirects=False).status_code == 303


def test_another_units_task_is_not_found_and_the_refusal_audited(
    client: TestClient, ward: Workspace
) -> None:
    """A Phòng Kinh tế official asking for a task of Văn phòng by id gets 404, like an unknown
    id; the refusal is an audit event (an unknown id writes nothing)."""
    sign_in(client, KT_OFFICIAL)
    own, other = _task_of(ward, "kt"), _task_of(ward, "vp")
    assert client.get(f"/tasks/{own}").status_code == 200
    assert client.get(f"/tasks/{other}").status_code == 404
    assert client.get("/tasks/999999").status_code == 404
    assert client.get("/tasks?unit=vp").status_code == 404
    refused = _events(ward, "kind = 'access'")
    assert [r[:5] for r in refused] == [
        (KT_OFFICIAL, "access", f"task #{other} of unit vp", "read", "refused"),
        (KT_OFFICIAL, "access", "tasks of unit vp", "read", "refused"),
    ]


def test_typed_markup_comes_back_escaped(client: TestClient) -> None:
    """Script typed as the name on the sign-in form is shown escaped, never as markup."""
    form = client.get("/sign-in")
    attack = '<script>alert("x")</script>'
    response = client.post(
        "/sign-in", data={"login": attack, "password": "x", "csrf": csrf_of(form), "next": "/"}
    )
    assert response.status_code == 401
    assert attack not in response.text
    assert "&lt;script&gt;" in response.text


def test_sign_in_goes_only_to_this_sites_pages(client: TestClient) -> None:
    """A ``next`` naming another site is replaced by the home page."""
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        form = client.get("/sign-in")  # signed in after the first: the form of the home page
        response = client.post(
            "/sign-in",
            data={
                "login": KT_OFFICIAL,
                "password": PASSWORD,
                "csrf": csrf_of(form),
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"


def test_the_lock_after_failed_sign_ins_works_and_is_audited(
    client: TestClient, ward: Workspace
) -> None:
    """Five wrong passwords lock the account: the right one is then refused too; the lock is
    an audit event."""
    for _ in range(POLICY.max_failures):
        assert sign_in(client, CHAIRMAN, "sai mật khẩu rồi").status_code == 401
    locked = sign_in(client, CHAIRMAN)
    assert locked.status_code == 401
    assert "tạm khóa" in locked.text
    assert [e[3:5] for e in _events(ward, "trigger = 'lock'")] == [("lock", "applied")]


def test_web_events_record_the_session_as_their_channel(
    client: TestClient, ward: Workspace
) -> None:
    """An event written by a signed-in request names its session (``web:`` and the session
    hash's first 12 hex); one written before sign-in says ``web:anonymous``."""
    token = _session_cookie(sign_in(client, KT_OFFICIAL)).split(";")[0].split("=", 1)[1]
    client.post("/sign-out", data={"csrf": csrf_of(client.get("/"))})
    (signed_in,) = _events(ward, f"trigger = 'sign_in' and actor = '{KT_OFFICIAL}'")[-1:]
    (signed_out,) = _events(ward, "trigger = 'sign_out'")
    assert signed_in[5] == "web:anonymous"
    assert signed_out[5] == f"web:{token_hash(token)[:12]}"


@pytest.mark.parametrize("purpose", ["invite", "reset"])
def test_an_invite_link_sets_the_password_then_signs_in(
    client: TestClient, ward: Workspace, purpose: str
) -> None:
    """The link's form sets the password (mismatch refused first); the link is then used up,
    and the person signs in with the new password."""
    token = invite_token(ward, "luong.van.tung", purpose)
    form = client.get(f"/invite/{token}")
    assert form.status_code == 200
    assert "Lương Văn Tùng" in form.text
    csrf = csrf_of(form)
    mismatch = client.post(
        f"/invite/{token}", data={"password": "mật khẩu mới dài", "confirm": "khác", "csrf": csrf}
    )
    assert mismatch.status_code == 400
    done = client.post(
        f"/invite/{token}",
        data={"password": "mật khẩu mới dài", "confirm": "mật khẩu mới dài", "csrf": csrf},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/sign-in?done=1"
    assert client.get(f"/invite/{token}").status_code == 410
    assert sign_in(client, "luong.van.tung", "mật khẩu mới dài").status_code == 303
    assert re.search(r"<h1>Việc cần làm</h1>", client.get("/").text)
