"""``HEAD`` of any page answers as its ``GET`` would, without a body."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import KT_OFFICIAL, sign_in


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    """HEAD / and HEAD /sign-in give GET's status and headers and no body; HEAD of a page that
    needs a person redirects like GET; HEAD of a POST-only route is still 405."""
    anonymous = client.head("/", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/sign-in")
    page = client.head("/sign-in")
    got = client.get("/sign-in")
    assert page.status_code == got.status_code == 200
    assert page.content == b""
    assert page.headers["content-type"] == got.headers["content-type"]
    assert page.headers["content-security-policy"] == got.headers["content-security-policy"]
    sign_in(client, KT_OFFICIAL)
    home = client.head("/")
    assert home.status_code == 200
    assert home.content == b""
    assert int(home.headers["content-length"]) > 0
    assert client.head("/static/app.css").status_code == 200
    assert client.head("/sign-out").status_code == 405
