"""The focal official's pages in Chromium (``cchc serve``, Playwright): checking a plan
workbook, scoring, the points at risk with their chart and the ranking, at 360 px and
1280 px; screenshots ``docs/screenshots/{plan-upload,scores,at-risk,ranking}-*.png``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cchc.commands.cycle_common import known_roles
from cchc.commands.plan_cmd import sample_plan
from cchc.indexset.loader import load_index_set
from cchc.organization.model import load_organization
from cchc.plan.loader import write_plan_xlsx
from cchc.workspace import default_index_set, default_organization
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

__all__ = ["chromium"]  # the module's browser fixture, shared with test_browser.py

FOCAL = "nguyen.thi.lan"
PASSWORD = "mật khẩu của Lan 2025"
PLAN = "KH-CCHC-2025-H2"


@dataclass
class Served:
    """A running ``cchc serve`` and a plan workbook to upload."""

    url: str
    workbook: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``cchc serve`` on a data folder with the example plan issued and the focal official's
    password set; a workbook of a second plan beside it."""
    folder = tmp_path_factory.mktemp("served-scoring")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCHC_")}
    env.update(CCHC_DATA_DIR=str(folder / "var"), CCHC_BASE_URL=url, CCHC_NOTIFY_CHANNEL="maildir")
    _cchc(env, "db", "upgrade")
    _cchc(
        env, "plan", "issue", str(ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"), "--as", FOCAL
    )
    org = load_organization(default_organization(), known_roles=known_roles())
    index_set = load_index_set(default_index_set(), known_units={u.code for u in org.units})
    plan = sample_plan(org, index_set).model_copy(update={"code": "KH-BO-SUNG-2025-H2"})
    workbook = folder / "ke-hoach-bo-sung.xlsx"
    write_plan_xlsx(plan, workbook, {u.code: u.name for u in org.units})
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
        _set_password(str(link["link"]), PASSWORD)
        yield Served(url, workbook)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_the_focal_official_checks_a_plan_scores_and_ranks(chromium: Any, served: Served) -> None:
    """At each width: the plan workbook is checked and previewed with its issue form, the
    scoring runs and its table links the explanations, the points at risk show their chart,
    the ranking is explained; no sideways scrolling and every control labelled."""
    for width_name, (width, height) in WIDTHS.items():
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
        page = context.new_page()
        page.goto(f"{served.url}/sign-in")
        page.get_by_label("Tên đăng nhập").fill(FOCAL)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{served.url}/")
        page.get_by_role("link", name="Kế hoạch", exact=True).click()
        page.wait_for_url("**/plans/upload")
        page.get_by_label("Tệp kế hoạch (.xlsx hoặc .yaml)").set_input_files(str(served.workbook))
        page.get_by_role("button", name="Kiểm tra tệp").click()
        page.wait_for_load_state()
        assert page.get_by_role("button", name="Ban hành kế hoạch").is_visible()
        assert page.locator("tr.plan-task").count() > 0
        _fits_and_labelled(page, width)
        _shoot(page, "plan-upload", width_name)

        page.get_by_role("link", name="Chấm điểm", exact=True).click()
        page.wait_for_url("**/scores")
        page.get_by_role("button", name="Chấm điểm", exact=True).click()
        page.wait_for_load_state()
        assert "Đã chấm điểm" in page.inner_text("main")
        assert page.locator("tr.sub a").count() > 10
        _fits_and_labelled(page, width)
        _shoot(page, "scores", width_name)

        page.get_by_role("link", name="Điểm nguy cơ mất").click()
        page.wait_for_url("**/at-risk")
        chart = page.locator("figure.chart img")
        assert "Biểu đồ điểm có nguy cơ bị mất" in str(chart.get_attribute("alt"))
        assert page.evaluate("document.querySelector('figure.chart img').naturalWidth") > 0
        _fits_and_labelled(page, width)
        _shoot(page, "at-risk", width_name)

        page.get_by_role("link", name="Xếp hạng", exact=True).click()
        page.wait_for_url("**/ranking")
        page.get_by_role("button", name="Xếp hạng", exact=True).click()
        page.wait_for_load_state()
        assert page.locator("table.ranking td.explanation").count() > 0
        _fits_and_labelled(page, width)
        _shoot(page, "ranking", width_name)
        context.close()
