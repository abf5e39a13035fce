"""In Chromium: the inspector's history page and the administrator's pages at phone and desktop
widths (``cchc serve`` on a ward's data folder, driven by Playwright; skipped without Chromium
except under ``CI=true``). Screenshots go to ``docs/screenshots/``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT
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

__all__ = ["chromium"]  # the fixture, shared with the other browser tests

INSPECTOR = "cu.van.son"
ADMIN = "tran.van.minh"
PASSWORDS = {INSPECTOR: "mật khẩu của Sơn 2025", ADMIN: "mật khẩu của Minh 2025"}
PLAN = "KH-CCHC-2025-H2"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``cchc serve`` on a data folder with the example plan issued, two tasks of Phòng Kinh tế
    started from the command line, and accounts for the inspector and the administrator."""
    folder = tmp_path_factory.mktemp("inspection-served")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCHC_")}
    env.update(CCHC_DATA_DIR=str(folder / "var"), CCHC_BASE_URL=url, CCHC_NOTIFY_CHANNEL="maildir")
    _cchc(env, "db", "upgrade")
    plan = str(ROOT / "examples" / "plan-phu-lien-2025-h2.yaml")
    _cchc(env, "plan", "issue", plan, "--as", "nguyen.thi.lan")
    for task in ("NV-06", "NV-07"):
        _cchc(env, "tasks", "fire", task, "start", "--plan", PLAN, "--as", "ngo.thi.ha")
    links = {
        person: json.loads(_cchc(env, "users", "invite", person, "--as", ADMIN, "--json"))["link"]
        for person in PASSWORDS
    }
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from cchc.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(url, server, folder / "serve.log")
        for person, link in links.items():
            _set_password(str(link), PASSWORDS[person])
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _sign_in(page: Any, url: str, person: str, target: str) -> None:
    page.goto(f"{url}{target}")
    page.wait_for_url("**/sign-in?next=*")
    page.get_by_label("Tên đăng nhập").fill(person)
    page.get_by_label("Mật khẩu").fill(PASSWORDS[person])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{url}{target}")


def test_history_and_administration_pages_in_the_browser(chromium: Any, site: str) -> None:
    """At 360 px and 1280 px: the inspector's search by unit (sent from the keyboard) lists the
    unit's events under an intact chain, with no action form; the administrator's accounts and
    definitions pages fit the width, every control is labelled and each diagram image is
    drawn."""
    for width_name, (width, height) in WIDTHS.items():
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
        page = context.new_page()
        _sign_in(page, site, INSPECTOR, "/history")
        assert "Chuỗi nhật ký toàn vẹn" in page.inner_text("main")
        page.get_by_label("Đơn vị").select_option("kt")
        for _ in range(40):  # the search button is reached with the keyboard alone
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Tra cứu":
                break
        else:
            pytest.fail("the search button cannot be reached with Tab")
        page.keyboard.press("Enter")
        page.wait_for_url("**/history?*unit=kt*")
        assert page.locator("table.trail tbody tr").count() >= 2
        assert "Bắt đầu thực hiện" in page.inner_text("table.trail")
        assert page.locator("main form[method=post]").count() == 0
        assert page.get_by_role("link", name="Quản trị").count() == 0
        _fits_and_labelled(page, width)
        _shoot(page, "history", width_name)
        context.close()

        context = chromium.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
        page = context.new_page()
        _sign_in(page, site, ADMIN, "/admin/accounts")
        assert "Cù Văn Sơn" in page.inner_text("table.accounts")
        assert page.get_by_role("link", name="Lịch chạy và tiến trình (Prefect)").count() == 1
        _fits_and_labelled(page, width)
        _shoot(page, "admin-accounts", width_name)
        page.get_by_role("link", name="Định nghĩa quy trình").first.click()
        page.wait_for_url("**/admin/definitions")
        assert page.locator("figure.diagram img").count() >= 7
        page.wait_for_function(
            "[...document.querySelectorAll('figure.diagram img')]"
            ".every(img => img.complete && img.naturalWidth > 0)",
            timeout=30000,
        )
        _fits_and_labelled(page, width)
        _shoot(page, "admin-definitions", width_name)
        context.close()
