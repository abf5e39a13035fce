"""In a real browser: ``cchc serve`` on a ward's data folder, driven by Playwright in Debian's
Chromium (``/usr/bin/chromium``, or ``CCHC_CHROMIUM``). An official opens their invite link,
sets a password, signs in and sees their home page and tasks, at phone and desktop widths.

Screenshots of each page at 360 px and 1280 px are saved to ``docs/screenshots/``. Without
Chromium (or Playwright) these tests are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, ROOT

CHROMIUM = Path(os.environ.get("CCHC_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "docs" / "screenshots"
OFFICIAL = "ngo.thi.ha"
PASSWORD = "mật khẩu của Hà 2025"
HEAD = "pham.quoc.khanh"
HEAD_PASSWORD = "mật khẩu của Khánh 2025"
WIDTHS = {"phone": (360, 740), "desktop": (1280, 800)}


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the browser tests need {reason} in CI (CI=true)", pytrace=False)
    pytest.skip(f"browser tests: {reason} is missing")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (one browser for the module)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python (pip install playwright)")
    if not CHROMIUM.exists():
        _unavailable(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cchc(env: dict[str, str], *args: str) -> str:
    """Run the CLI in a fresh process; its standard output."""
    command = [sys.executable, "-c", "from cchc.cli import main; main()", *args]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@dataclass
class Served:
    """A running ``cchc serve`` and the invite link of the official."""

    url: str
    invite_link: str
    """The official's invite, left for the browser to open."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``cchc serve`` on a free port, on a data folder with the example plan issued and an
    invite for a Phòng Kinh tế official."""
    folder = tmp_path_factory.mktemp("served")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCHC_")}
    env.update(CCHC_DATA_DIR=str(folder / "var"), CCHC_BASE_URL=url, CCHC_NOTIFY_CHANNEL="maildir")
    _cchc(env, "db", "upgrade")
    _cchc(
        env,
        "plan",
        "issue",
        str(ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"),
        "--as",
        "nguyen.thi.lan",
    )
    link = json.loads(_cchc(env, "users", "invite", OFFICIAL, "--as", "tran.van.minh", "--json"))
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from cchc.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(url, server, folder / "serve.log")
        head = json.loads(_cchc(env, "users", "invite", HEAD, "--as", "tran.van.minh", "--json"))
        _set_password(str(head["link"]), HEAD_PASSWORD)
        yield Served(url, str(link["link"]))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the sign-in page until the server answers (or fail with its log)."""
    for _ in range(600):
        if server.poll() is not None:
            pytest.fail(f"cchc serve exited:\n{log.read_text('utf-8')}")
        try:
            if httpx.get(f"{url}/sign-in", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"cchc serve did not answer:\n{log.read_text('utf-8')}")


def _set_password(link: str, password: str) -> None:
    """Set a password through an invite link's form, as a browser without JavaScript would."""
    import re

    with httpx.Client() as browser:
        form = browser.get(link)
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert found, form.text
        done = browser.post(
            link, data={"csrf": found.group(1), "password": password, "confirm": password}
        )
        assert done.status_code == 303, done.text


def _shoot(page: Any, name: str, width: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


def _fits_and_labelled(page: Any, width: int) -> None:
    """No sideways scrolling at this width; every visible control has a label."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))
             .map(e => e.name)"""
    )
    assert unlabelled == []


def test_an_official_signs_in_through_the_invite_and_sees_their_home(
    chromium: Any, served: Served
) -> None:
    """The invite link's form sets the password; signing in shows the home page with what
    waits for the official, and the tasks page marks their unit's overdue tasks."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = context.new_page()
    page.goto(served.invite_link)
    assert "Đặt mật khẩu lần đầu" in page.inner_text("h1")
    _shoot(page, "dat-mat-khau", "desktop")
    page.get_by_label("Mật khẩu mới (ít nhất").fill(PASSWORD)
    page.get_by_label("Nhập lại mật khẩu mới").fill(PASSWORD)
    page.get_by_role("button", name="Đặt mật khẩu").click()
    page.wait_for_url("**/sign-in?done=1")
    _shoot(page, "dang-nhap", "desktop")
    page.get_by_label("Tên đăng nhập").fill(OFFICIAL)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{served.url}/")
    assert page.inner_text("h1") == "Việc cần làm"
    assert "Ngô Thị Hà" in page.inner_text("header")
    overdue = page.get_by_role("link", name="Nhiệm vụ quá hạn")
    assert int(overdue.locator(".number").inner_text()) > 0
    _shoot(page, "trang-chu", "desktop")
    overdue.click()
    page.wait_for_url("**/tasks?show=late")
    assert page.locator("li.task.late").count() > 0
    _shoot(page, "nhiem-vu", "desktop")
    context.close()


def test_the_main_pages_at_phone_width(chromium: Any, served: Served) -> None:
    """At 360 px (and 1280 px) the sign-in, home and tasks pages of a unit head need no
    sideways scrolling and every control is labelled; phone screenshots of each are saved."""
    for name, (width, height) in WIDTHS.items():
        context = chromium.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"{served.url}/")
        page.wait_for_url("**/sign-in?next=*")
        _fits_and_labelled(page, width)
        if name == "phone":
            _shoot(page, "dang-nhap", name)
        page.get_by_label("Tên đăng nhập").fill(HEAD)
        page.get_by_label("Mật khẩu").fill(HEAD_PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{served.url}/")
        _fits_and_labelled(page, width)
        if name == "phone":
            _shoot(page, "trang-chu", name)
        page.goto(f"{served.url}/tasks?show=all")
        _fits_and_labelled(page, width)
        if name == "phone":
            _shoot(page, "nhiem-vu", name)
        context.close()
