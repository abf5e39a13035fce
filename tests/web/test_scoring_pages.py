"""The focal unit's pages: the plan and metrics uploads (checked first, nothing written; then
exactly the checked file issued or imported), the scores and their explanation, the points at
risk with their chart, and who may run the scoring."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import load_workbook

from cchc.commands.plan_cmd import sample_plan
from cchc.plan.loader import TASK_SHEET, write_plan_xlsx
from cchc.workspace import Workspace
from tests.conftest import ROOT
from tests.web.conftest import FOCAL, KT_HEAD, KT_OFFICIAL, csrf_of, sign_in

PLAN = "KH-CCHC-2025-H2"
WEB_PLAN = "KH-WEB-2025-H2"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
METRICS_OK = "ttphc,2025-H2,on_time_dossiers,980,1000,Cổng DVC\n"
METRICS_HEADER = "Mã đơn vị,Kỳ,Chỉ số,Tử số,Mẫu số,Nguồn\n"


def _workbook(ws: Workspace, folder: Path) -> Path:
    """A valid plan workbook (``cchc plan template``) for a plan not yet issued."""
    plan = sample_plan(ws.organization, ws.index_set).model_copy(update={"code": WEB_PLAN})
    path = folder / "ke-hoach.xlsx"
    write_plan_xlsx(plan, path, ws.unit_names())
    return path


def _edit(path: Path, cells: dict[str, object], *, as_text: bool = False) -> bytes:
    """Set cells of the task sheet (``as_text``: a value starting with ``=`` stays text)."""
    book = load_workbook(path)
    sheet = book[TASK_SHEET]
    for where, value in cells.items():
        sheet[where] = value
        if as_text:
            sheet[where].data_type = "s"
    book.save(path)
    return path.read_bytes()


def _count(ws: Workspace, sql: str, **params: object) -> int:
    with ws.sessions() as session:
        return int(session.execute(sa.text(sql), params).scalar_one())


def _upload(
    client: TestClient, path: str, files: dict[str, tuple[str, bytes, str]], **data: str
) -> Response:
    form = client.get(path)
    return client.post(path, data={"csrf": csrf_of(form), **data}, files=files)


def _hidden(page: Response, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert found, page.text
    return found.group(1)


def test_a_plan_workbook_with_errors_lists_each_problem_and_issues_nothing(
    client: TestClient, ward: Workspace, tmp_path: Path
) -> None:
    """A workbook with two bad deadlines answers every problem with its sheet, row and column
    and Vietnamese words, keeps no file and creates no instance."""
    path = _workbook(ward, tmp_path)
    content = _edit(path, {"G2": "31/02/2025", "G3": "không phải ngày"})
    before = _count(ward, "select count(*) from instances")
    sign_in(client, FOCAL)
    answer = _upload(client, "/plans/upload", {"file": ("ke-hoach.xlsx", content, XLSX)})
    assert answer.status_code == 422
    rows = re.findall(
        r'<tr class="problem">\s*<td data-label="Trang tính">([^<]*)</td>\s*'
        r'<td data-label="Dòng">(\d+)</td>\s*<td data-label="Cột">([^<]*)</td>',
        answer.text,
    )
    assert ("Nhiệm vụ", "2", "G") in rows
    assert ("Nhiệm vụ", "3", "G") in rows
    assert "Thiếu thông tin bắt buộc hoặc thông tin không hợp lệ" in answer.text
    assert "Ban hành kế hoạch</button>" not in answer.text
    assert _count(ward, "select count(*) from instances") == before
    assert not list((ward.settings.data_dir / "staging").glob("*"))


def test_a_huge_upload_is_refused_by_the_size_check_and_not_kept(
    client: TestClient, ward: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above CCHC_MAX_FILE_BYTES the plan is refused with the reader's size problem (nothing
    issued, nothing kept in the staging folder)."""
    monkeypatch.setenv("CCHC_MAX_FILE_BYTES", "1000")
    before = _count(ward, "select count(*) from instances")
    sign_in(client, FOCAL)
    answer = _upload(client, "/plans/upload", {"file": ("to.yaml", b"a: b\n" * 5000, "text/yaml")})
    assert answer.status_code == 422
    assert "CCHC-L001" in answer.text
    assert "Tệp vượt giới hạn cho phép" in answer.text
    assert _count(ward, "select count(*) from instances") == before
    assert not list((ward.settings.data_dir / "staging").glob("*"))


def test_a_clean_plan_is_issued_from_the_checked_hash_and_its_tasks_appear(
    client: TestClient, ward: Workspace, tmp_path: Path
) -> None:
    """The check previews the plan and writes nothing; the issue form carries the file's hash,
    an unknown hash issues nothing, and the checked hash issues the plan: its tasks appear."""
    content = _workbook(ward, tmp_path).read_bytes()
    sign_in(client, FOCAL)
    preview = _upload(client, "/plans/upload", {"file": ("ke-hoach.xlsx", content, XLSX)})
    assert preview.status_code == 200, preview.text
    assert "Ban hành kế hoạch</button>" in preview.text
    sha = _hidden(preview, "sha256")
    assert sha == hashlib.sha256(content).hexdigest()
    assert re.search(r"<td data-label=\"Thời hạn\">\d\d/\d\d/2025</td>", preview.text)
    plan_rows = "select count(*) from instances where kind = 'plan' and ref = :ref"
    assert _count(ward, plan_rows, ref=WEB_PLAN) == 0
    token = csrf_of(preview)
    wrong = client.post("/plans/issue", data={"csrf": token, "sha256": "0" * 64, "kind": "xlsx"})
    assert wrong.status_code == 400
    escape = client.post("/plans/issue", data={"csrf": token, "sha256": "../x", "kind": "xlsx"})
    assert escape.status_code == 400
    assert _count(ward, plan_rows, ref=WEB_PLAN) == 0
    issued = client.post("/plans/issue", data={"csrf": token, "sha256": sha, "kind": "xlsx"})
    assert issued.status_code == 200, issued.text
    assert f"Đã ban hành kế hoạch {WEB_PLAN}" in issued.text
    assert _count(ward, plan_rows, ref=WEB_PLAN) == 1
    tasks = _count(
        ward,
        "select count(*) from instances where kind = 'task' and ref like :p",
        p=f"{WEB_PLAN}/%",
    )
    assert tasks > 0
    listing = client.get("/tasks?show=all")
    assert listing.text.count(f"{WEB_PLAN}/NV-") == tasks


def test_a_formula_is_not_computed_and_equals_text_is_shown_as_text(
    client: TestClient, ward: Workspace, tmp_path: Path
) -> None:
    """A deadline written as a formula never computed is a problem at its cell; a title that
    is text starting with ``=`` and holding markup is previewed escaped, as plain text."""
    path = _workbook(ward, tmp_path)
    formula = _edit(path, {"G2": "=DATE(2025,9,30)"})
    sign_in(client, FOCAL)
    answer = _upload(client, "/plans/upload", {"file": ("cong-thuc.xlsx", formula, XLSX)})
    assert answer.status_code == 422
    assert "CCHC-P011" in answer.text
    assert re.search(r'<td data-label="Dòng">2</td>\s*<td data-label="Cột">G</td>', answer.text)
    title = '=HYPERLINK("http://x.example","bấm") <script>alert(1)</script>'
    text = _edit(_workbook(ward, tmp_path), {"C2": title}, as_text=True)
    preview = _upload(client, "/plans/upload", {"file": ("van-ban.xlsx", text, XLSX)})
    assert preview.status_code == 200, preview.text
    assert "<script>alert(1)</script>" not in preview.text
    assert "=HYPERLINK(&#34;http://x.example&#34;,&#34;bấm&#34;) &lt;script&gt;" in preview.text


def test_a_metrics_file_with_one_bad_row_is_refused_whole(
    client: TestClient, ward: Workspace
) -> None:
    """One bad row: every problem by row and column, no import; a clean file is imported on
    confirm from its hash."""
    bad = METRICS_HEADER + METRICS_OK + "ttphc,2025-H2,online_payments,700,600,Cổng DVC\n"
    sign_in(client, FOCAL)
    imports = "select count(*) from instances where kind = 'metric_import'"
    answer = _upload(
        client,
        "/metrics/upload",
        {"file": ("so-lieu.csv", bad.encode(), "text/csv")},
        period="2025-H2",
    )
    assert answer.status_code == 422
    assert re.search(r'<td data-label="Dòng">3</td>\s*<td data-label="Cột">D</td>', answer.text)
    assert "Nhập số liệu</button>" not in answer.text
    assert _count(ward, imports) == 0
    assert _count(ward, "select count(*) from metric_values") == 0
    good = (METRICS_HEADER + METRICS_OK).encode()
    preview = _upload(
        client, "/metrics/upload", {"file": ("so-lieu.csv", good, "text/csv")}, period="2025-H2"
    )
    assert preview.status_code == 200, preview.text
    assert '<td data-label="Tỷ lệ" class="num">98,00%</td>' in preview.text
    done = client.post(
        "/metrics/import",
        data={
            "csrf": csrf_of(preview),
            "sha256": _hidden(preview, "sha256"),
            "kind": "csv",
            "period": "2025-H2",
            "name": "so-lieu.csv",
        },
    )
    assert done.status_code == 200, done.text
    assert "Đã nhập 1 giá trị chỉ số cho kỳ 2025-H2" in done.text
    again = client.post(
        "/metrics/upload",
        data={"csrf": csrf_of(done), "period": "2025-H2"},
        files={"file": ("so-lieu.csv", good, "text/csv")},
    )
    repeat = client.post(
        "/metrics/import",
        data={
            "csrf": csrf_of(again),
            "sha256": _hidden(again, "sha256"),
            "kind": "csv",
            "period": "2025-H2",
        },
    )
    assert "Tệp này đã được nhập cho kỳ 2025-H2" in repeat.text
    assert "do Nguyễn Thị Lan thực hiện lúc 03/11/2025 09:00" in repeat.text
    assert _count(ward, imports) == 1
    assert _count(ward, "select count(*) from metric_values") == 1


def _score(client: TestClient) -> Response:
    page = client.get("/scores")
    return client.post(
        "/scores/run", data={"csrf": csrf_of(page), "plan": PLAN}, files={"inputs": ("", b"")}
    )


def test_scoring_then_the_explanation_of_a_sub_criterion(
    client: TestClient, ward: Workspace
) -> None:
    """The focal official runs the scoring; the table links each sub-criterion to its
    explanation, which shows the rule, the inputs and the points with a decimal comma."""
    sign_in(client, FOCAL)
    run = _score(client)
    assert run.status_code == 200, run.text
    assert "Đã chấm điểm" in run.text
    assert f'href="/scores/1.1.3?plan={PLAN}"' in run.text
    assert re.search(r'<td data-label="Điểm" class="num">\d+,\d\d</td>', run.text)
    explain = client.get(f"/scores/1.1.3?plan={PLAN}")
    assert explain.status_code == 200
    assert re.search(r'<strong class="points">\d+,\d\d</strong> / \d+,\d\d', explain.text)
    assert "Cách chấm" in explain.text
    assert '<dd class="explanation">' in explain.text


def test_at_risk_for_the_focal_official_and_only_the_own_unit_for_a_head(
    client: TestClient, ward: Workspace
) -> None:
    """The focal official sees every unit's points at risk and the chart; a unit's head
    sees their own unit only, and another unit answers 404 with the refusal audited."""
    sign_in(client, FOCAL)
    assert _score(client).status_code == 200
    everyone = client.get("/at-risk")
    assert everyone.status_code == 200
    assert everyone.text.count('<section class="card risk"') > 1
    assert '<img src="/at-risk/chart.png?plan=' in everyone.text
    chart = client.get(f"/at-risk/chart.png?plan={PLAN}")
    assert chart.status_code == 200
    assert chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG")
    client.post("/sign-out", data={"csrf": csrf_of(everyone)})
    sign_in(client, KT_HEAD)
    own = client.get("/at-risk")
    assert own.status_code == 200
    assert own.text.count('<section class="card risk"') == 1
    assert 'id="risk-kt"' in own.text
    assert client.get(f"/at-risk/chart.png?plan={PLAN}").status_code == 200
    owners = {s.code: s.owner_unit for s in ward.index_set.sub_criteria()}
    scores = client.get("/scores").text
    shown = set(re.findall(r'<a href="/scores/([^"?]+)\?plan=', scores))
    assert shown
    assert {owners[code] for code in shown} == {"kt"}
    refused = "select count(*) from audit_events where actor = :a and outcome = 'refused'"
    before = _count(ward, refused, a=KT_HEAD)
    assert client.get("/at-risk?unit=vhxh").status_code == 404
    assert client.get(f"/at-risk/chart.png?plan={PLAN}&unit=vhxh").status_code == 404
    assert _count(ward, refused, a=KT_HEAD) == before + 2


def test_a_unit_official_cannot_run_the_scoring(client: TestClient, ward: Workspace) -> None:
    """A Phòng Kinh tế official's run is refused in Vietnamese, audited, and stores no score;
    their plan upload is refused (audited) before any file is kept."""
    sign_in(client, KT_OFFICIAL)
    refused = "select count(*) from audit_events where actor = :a and outcome = 'refused'"
    before = _count(ward, refused, a=KT_OFFICIAL)
    answer = _score(client)
    assert answer.status_code == 403
    assert "Thao tác bị từ chối" in answer.text
    assert _count(ward, "select count(*) from scores") == 0
    assert _count(ward, refused, a=KT_OFFICIAL) == before + 1
    plan = client.post(
        "/plans/upload",
        data={"csrf": csrf_of(client.get("/plans/upload"))},
        files={"file": ("k.yaml", b"code: X", "text/yaml")},
    )
    assert plan.status_code == 403
    assert _count(ward, refused, a=KT_OFFICIAL) == before + 2
    assert not (ward.settings.data_dir / "staging").exists()


def test_a_yaml_plan_already_issued_says_who_issued_it_and_when(
    client: TestClient, ward: Workspace
) -> None:
    """The example plan in YAML checks clean; being issued already, the preview names who
    issued it and when instead of offering to issue it again."""
    content = (ROOT / "examples" / "plan-phu-lien-2025-h2.yaml").read_bytes()
    sign_in(client, FOCAL)
    preview = _upload(client, "/plans/upload", {"file": ("ke-hoach.yaml", content, "text/yaml")})
    assert preview.status_code == 200, preview.text
    assert f"Kế hoạch {PLAN} đã được Nguyễn Thị Lan ban hành lúc 29/07/2025 09:00" in preview.text
    assert "Ban hành kế hoạch</button>" not in preview.text


def test_the_ranking_is_explained_and_downloaded(client: TestClient, ward: Workspace) -> None:
    """Ranking scores and ranks the units with an explanation each; the page shows the stored
    ranking explained afterwards, and its XLSX downloads as an attachment."""
    sign_in(client, FOCAL)
    form = client.get("/ranking")
    assert "chưa được xếp hạng" in form.text
    run = client.post(
        "/ranking/run", data={"csrf": csrf_of(form), "plan": PLAN}, files={"inputs": ("", b"")}
    )
    assert run.status_code == 200, run.text
    units = len(ward.organization.units)
    assert run.text.count('<td data-label="Giải thích" class="explanation">Hạng ') == units
    shown = client.get("/ranking")
    assert shown.text.count('<td data-label="Giải thích" class="explanation">Hạng ') == units
    assert re.search(r'<td data-label="Điểm" class="num">\d+,\d\d</td>', shown.text)
    download = client.get(f"/ranking/export.xlsx?plan={PLAN}")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.content.startswith(b"PK")
