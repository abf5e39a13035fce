"""The half-year's main path, played by five people in Debian's Chromium on ``cchc serve``.

A Phòng Kinh tế official signs in through their invite and uploads the evidence of 6.1.1; the
focal official asks for changes; the official replaces the file; the focal official accepts it
and runs the scoring; the unit head approves the self-score; the Chairman locks it; the score
page shows the sub-criterion's new points; the inspector finds every step in the history.
Screenshots of the steps are saved to ``docs/screenshots/`` (``main-path-*.png``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.web.test_browser import (
    _cchc,
    _free_port,
    _set_password,
    _shoot,
    _wait_until_up,
    chromium,
)
from tests.web.test_review_pages import readable_pdf

__all__ = ["chromium"]  # the browser fixture of test_browser, shared

PLAN = "KH-CCHC-2025-H2"
CODE = "6.1.1"  # binary, scored on accepted evidence, owned by Phòng Kinh tế
ADMIN = "tran.van.minh"
OFFICIAL = "ngo.thi.ha"
FOCAL = "nguyen.thi.lan"
HEAD = "pham.quoc.khanh"
CHAIRMAN = "dang.van.thang"
INSPECTOR = "cu.van.son"
PASSWORDS = {
    FOCAL: "trời xanh mây trắng 2025",
    HEAD: "sông sâu núi cao 2025",
    CHAIRMAN: "đường dài mới biết 2025",
    INSPECTOR: "nước chảy đá mòn 2025",
}
OFFICIAL_PASSWORD = "mật khẩu của Hà 2025"


@dataclass
class Ward:
    """A served ward: its address, the official's invite link, a folder for files."""

    url: str
    invite_link: str
    files: Path


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    """``cchc serve`` on a data folder with the example plan issued, the official's invite
    left for the browser and the other four people's passwords set through their invites."""
    folder = tmp_path_factory.mktemp("main-path")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCHC_")}
    env.update(CCHC_DATA_DIR=str(folder / "var"), CCHC_BASE_URL=url, CCHC_NOTIFY_CHANNEL="maildir")
    _cchc(env, "db", "upgrade")
    _cchc(
        env, "plan", "issue", str(ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"), "--as", FOCAL
    )
    invites = {
        person: json.loads(_cchc(env, "users", "invite", person, "--as", ADMIN, "--json"))["link"]
        for person in (OFFICIAL, *PASSWORDS)
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
        for person, password in PASSWORDS.items():
            _set_password(str(invites[person]), password)
        yield Ward(url, str(invites[OFFICIAL]), folder)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _signed_in(chromium: Any, ward: Ward, person: str, password: str) -> Any:
    """A new browser context (its own cookies) with ``person`` signed in; its page."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{ward.url}/sign-in")
    page.get_by_label("Tên đăng nhập").fill(person)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{ward.url}/")
    return page


def _pdf(ward: Ward, name: str, title: str) -> tuple[Path, str]:
    """A readable PDF file in the ward's folder and its sha256."""
    data = readable_pdf(title)
    path = ward.files / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def _assessment(page: Any) -> Any:
    """The list item of 6.1.1 on the assessments page."""
    return page.locator("li.assessment", has=page.locator(".ref", has_text=CODE))


def test_the_half_years_main_path_in_the_browser(chromium: Any, ward: Ward) -> None:
    """Upload, changes requested, replacement, acceptance, scoring, approval and lock go
    through the pages; the score page shows 6.1.1's point and the history lists every step."""
    # The official opens the invite, sets a password, signs in and uploads the evidence.
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    official = context.new_page()
    official.goto(ward.invite_link)
    official.get_by_label("Mật khẩu mới (ít nhất").fill(OFFICIAL_PASSWORD)
    official.get_by_label("Nhập lại mật khẩu mới").fill(OFFICIAL_PASSWORD)
    official.get_by_role("button", name="Đặt mật khẩu").click()
    official.wait_for_url("**/sign-in?done=1")
    official.get_by_label("Tên đăng nhập").fill(OFFICIAL)
    official.get_by_label("Mật khẩu").fill(OFFICIAL_PASSWORD)
    official.get_by_role("button", name="Đăng nhập").click()
    official.wait_for_url(f"{ward.url}/")
    first, first_sha = _pdf(ward, "cong-khai-du-toan.pdf", "Cong khai du toan 2025")
    official.goto(f"{ward.url}/criteria/{CODE}?plan={PLAN}")
    official.get_by_label("Chọn tệp (có thể chọn nhiều tệp)").set_input_files([str(first)])
    official.get_by_role("button", name="Tải lên").click()
    official.wait_for_load_state()
    assert first_sha in official.content()
    _shoot(official, "main-path-1-upload", "desktop")

    # The focal official asks for changes on that file.
    focal = _signed_in(chromium, ward, FOCAL, PASSWORDS[FOCAL])
    focal.goto(f"{ward.url}/review?criterion={CODE}")
    focal.get_by_role("link", name="cong-khai-du-toan.pdf").click()
    assert first_sha in focal.content()
    focal.get_by_label("Nội dung cần bổ sung, chỉnh sửa (bắt buộc)").fill(
        "Thiếu ảnh niêm yết công khai"
    )
    focal.get_by_role("button", name="Yêu cầu bổ sung").click()
    focal.wait_for_load_state()
    assert "Thiếu ảnh niêm yết công khai" in focal.content()
    _shoot(focal, "main-path-2-changes-requested", "desktop")

    # The official finds it sent back, with the reason, and replaces the file.
    official.goto(f"{ward.url}/sent-back")
    assert "Thiếu ảnh niêm yết công khai" in official.inner_text("main")
    official.get_by_role("link", name="cong-khai-du-toan.pdf").first.click()
    second, second_sha = _pdf(ward, "cong-khai-du-toan-v2.pdf", "Cong khai du toan, anh niem yet")
    official.get_by_label("Tệp thay thế").set_input_files([str(second)])
    official.get_by_role("button", name="Nộp phiên bản mới").click()
    official.wait_for_load_state()
    assert second_sha in official.content()
    _shoot(official, "main-path-3-replaced", "desktop")

    # The focal official accepts the new version, then runs the scoring.
    focal.goto(f"{ward.url}/review?criterion={CODE}")
    focal.get_by_role("link", name="cong-khai-du-toan-v2.pdf").click()
    assert second_sha in focal.content()
    focal.get_by_role("button", name="Công nhận", exact=True).click()
    focal.wait_for_load_state()
    focal.goto(f"{ward.url}/scores")
    focal.get_by_role("button", name="Chấm điểm", exact=True).click()
    focal.wait_for_load_state()

    # The head approves the self-score; the Chairman locks it.
    head = _signed_in(chromium, ward, HEAD, PASSWORDS[HEAD])
    head.goto(f"{ward.url}/assessments?show=waiting")
    _assessment(head).get_by_role("button", name="Duyệt điểm", exact=True).click()
    head.wait_for_load_state()
    assert "Trưởng đơn vị đã duyệt" in head.content()
    chairman = _signed_in(chromium, ward, CHAIRMAN, PASSWORDS[CHAIRMAN])
    chairman.goto(f"{ward.url}/assessments?show=waiting&unit=kt")
    _assessment(chairman).get_by_role("button", name="Khóa kết quả", exact=True).click()
    chairman.wait_for_load_state()
    assert "Đã khóa" in chairman.content()
    _shoot(chairman, "main-path-4-locked", "desktop")

    # The score page shows 6.1.1's new point.
    chairman.goto(f"{ward.url}/scores/{CODE}?plan={PLAN}")
    explained = chairman.inner_text("main")
    assert "1,00" in explained, explained
    _shoot(chairman, "main-path-5-score", "desktop")

    # The inspector finds every step of 6.1.1 in the history.
    inspector = _signed_in(chromium, ward, INSPECTOR, PASSWORDS[INSPECTOR])
    inspector.goto(f"{ward.url}/history?criterion={CODE}&plan={PLAN}")
    history = inspector.inner_text("main")
    for person in ("Ngô Thị Hà", "Nguyễn Thị Lan", "Phạm Quốc Khánh", "Đặng Văn Thắng"):
        assert person in history, person
    for step in ("Yêu cầu bổ sung", "Công nhận", "Duyệt điểm", "Khóa kết quả"):
        assert step in history, step
    assert "điểm tự chấm: 1,00" in history  # points with a decimal comma
    _shoot(inspector, "main-path-6-history", "desktop")
    for page in (official, focal, head, chairman, inspector):
        page.context.close()
