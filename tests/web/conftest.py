"""A ward with the example plan issued, its people's accounts, and a test client of the web
application on it (``cchc.web.app.create_app``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from cchc import cycle
from cchc.accounts.policy import Policy
from cchc.accounts.service import invite, set_password
from cchc.vietnam import LOCAL_TZ
from cchc.web.app import create_app
from cchc.workspace import Workspace
from tests.conftest import ROOT, Clock, Db
from workflows.database import Settings, unit_of_work

ADMIN = "tran.van.minh"
KT_OFFICIAL = "ngo.thi.ha"
KT_HEAD = "pham.quoc.khanh"
FOCAL = "nguyen.thi.lan"
CHAIRMAN = "dang.van.thang"
PASSWORD = "mật khẩu thử nghiệm"
POLICY = Policy()
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def invite_token(ws: Workspace, person: str, purpose: str = "invite") -> str:
    """A fresh invite (or reset) link token for ``person``."""
    with unit_of_work(ws.sessions) as session:
        return invite(
            session,
            ws.engine,
            ws.organization,
            ws.actor(ADMIN),
            person,
            purpose=purpose,
            policy=POLICY,
        ).token


def make_account(ws: Workspace, person: str) -> None:
    """``person`` can sign in with ``PASSWORD``."""
    token = invite_token(ws, person)
    with unit_of_work(ws.sessions) as session:
        set_password(session, ws.engine, ws.organization, token, PASSWORD, policy=POLICY)


@pytest.fixture
def ward(db: Db, clock: Clock, tmp_path: Path) -> Iterator[Workspace]:
    """The example plan issued on 29/7/2025; the clock on Monday 3/11/2025, 9:00; accounts
    for a Phòng Kinh tế official and head, the focal official and the Chairman."""
    clock.now = datetime(2025, 7, 29, 9, tzinfo=LOCAL_TZ)
    ws = Workspace.open(Settings(data_dir=tmp_path, database_url=db.url), clock=clock)
    cycle.issue(ws, ROOT / "examples" / "plan-phu-lien-2025-h2.yaml", FOCAL)
    clock.now = datetime(2025, 11, 3, 9, tzinfo=LOCAL_TZ)
    for person in (KT_OFFICIAL, KT_HEAD, FOCAL, CHAIRMAN):
        make_account(ws, person)
    yield ws
    ws.close()


@pytest.fixture
def client(ward: Workspace) -> Iterator[TestClient]:
    """A browser on the application over plain HTTP (no proxy trusted)."""
    with TestClient(create_app(ward, policy=POLICY, proxy=False)) as browser:
        yield browser


def csrf_of(response: Response) -> str:
    """The CSRF token of the page's first form."""
    found = CSRF.search(response.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(browser: TestClient, person: str, password: str = PASSWORD) -> Response:
    """Sign in through the form (not following the redirect)."""
    form = browser.get("/sign-in")
    return browser.post(
        "/sign-in",
        data={"login": person, "password": password, "next": "/", "csrf": csrf_of(form)},
        follow_redirects=False,
    )
