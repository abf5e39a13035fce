"""The unit official's evidence and task actions in the browser (``cchc.web.routes.evidence``):
uploads of several files at once into the content-addressed store, refusals worded in
Vietnamese and audited, replacements after a review sent a file back, downloads, the task's
actions from its workflow definition, and what was sent back with who and when."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cchc.evidence.service import review_evidence
from cchc.waiting import waiting_for
from cchc.web.routes.evidence import MAX_FILES, attachment_header, body_limit
from cchc.workspace import Workspace
from tests.web import test_browser
from tests.web.conftest import (
    CHAIRMAN,
    FOCAL,
    KT_HEAD,
    KT_OFFICIAL,
    csrf_of,
    make_account,
    sign_in,
)
from tests.web.test_browser import (
    HEAD,
    HEAD_PASSWORD,
    WIDTHS,
    Served,
    _fits_and_labelled,
    _shoot,
)
from workflows.database import unit_of_work
from workflows.schema import Instance

PLAN = "KH-CCHC-2025-H2"
OTHER_UNIT_OFFICIAL = "ta.minh.quan"  # Trung tâm Phục vụ hành chính công
chromium = test_browser.chromium  # the browser fixtures: Debian's Chromium, `cchc serve`
served = test_browser.served
PDF = b"%PDF-1.4\n" + b"bien ban hop giao ban\n" * 20
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _instance(ws: Workspace, kind: str, ref: str) -> Instance:
    with ws.sessions() as session:
        return session.scalars(
            sa.select(Instance).where(Instance.kind == kind, Instance.ref == ref)
        ).one()


def _evidence(ws: Workspace) -> list[tuple[int, str, dict[str, object]]]:
    with ws.sessions() as session:
        rows = session.scalars(sa.select(Instance).where(Instance.kind == "evidence")).all()
    return [(r.id, r.state, json.loads(r.data)) for r in rows]


def _stored(ws: Workspace) -> list[Path]:
    root = ws.store.root
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _refusals(ws: Workspace, kind: str) -> list[tuple[str, str]]:
    with ws.sessions() as session:
        rows = session.execute(
            sa.select(sa.text("actor, ref from audit_events")).where(
                sa.text("kind = :kind and outcome = 'refused'")
            ),
            {"kind": kind},
        ).all()
    return [(str(a), str(r)) for a, r in rows]


def _kt_task(ws: Workspace) -> Instance:
    return _instance(ws, "task", f"{PLAN}/NV-06")


def _kt_criterion(ws: Workspace) -> str:
    with ws.sessions() as session:
        rows = session.scalars(sa.select(Instance).where(Instance.kind == "assessment")).all()
    return next(
        str(json.loads(r.data)["code"]) for r in rows if json.loads(r.data)["owner_unit"] == "kt"
    )


def _upload(
    client: TestClient, page_url: str, action: str, files: list[tuple[str, bytes]]
) -> object:
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(
        action,
        data={"csrf": csrf_of(page), "plan": PLAN},
        files=[("files", (name, content, "application/octet-stream")) for name, content in files],
    )


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> int:
    """``CCHC_MAX_FILE_BYTES`` at 64 KiB (above every reference data file) before the ward's
    workspace opens."""
    monkeypatch.setenv("CCHC_MAX_FILE_BYTES", "65536")
    return 65536


@pytest.fixture
def official(client: TestClient) -> TestClient:
    """The test client signed in as the Phòng Kinh tế official."""
    sign_in(client, KT_OFFICIAL)
    return client


def test_two_files_in_one_form_become_two_evidence_with_their_sha256(
    official: TestClient, ward: Workspace
) -> None:
    """One form with two files: two evidence instances of the task, version 1, each file in
    the store under its sha256, each hash on the page."""
    task = _kt_task(ward)
    done = _upload(
        official,
        f"/tasks/{task.id}",
        f"/tasks/{task.id}/evidence",
        [("bien-ban.pdf", PDF), ("anh-hop.png", PNG)],
    )
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    rows = _evidence(ward)
    assert sorted(str(d["original_name"]) for _, _, d in rows) == ["anh-hop.png", "bien-ban.pdf"]
    assert {d["target"] for _, _, d in rows} == {"task:NV-06"}
    assert {d["version"] for _, _, d in rows} == {1}
    for content in (PDF, PNG):
        digest = hashlib.sha256(content).hexdigest()
        assert digest in done.text  # type: ignore[attr-defined]
        assert ward.store.path_of(digest).read_bytes() == content
    assert "Kết quả tải lên" in done.text  # type: ignore[attr-defined]
    assert "Đã nộp, chờ thẩm định" in done.text  # type: ignore[attr-defined]


def test_the_upload_form_takes_several_files_and_says_the_limit(
    official: TestClient, ward: Workspace
) -> None:
    """The task page's upload form: multipart, ``multiple``, labelled, the store's limit."""
    page = official.get(f"/tasks/{_kt_task(ward).id}")
    assert 'enctype="multipart/form-data"' in page.text
    assert 'type="file" multiple' in page.text
    assert '<label for="files">' in page.text
    assert "Mỗi tệp tối đa 20 MB" in page.text


def test_an_over_limit_file_is_refused_in_vietnamese_and_nothing_is_written(
    limited: int, official: TestClient, ward: Workspace
) -> None:
    """Above ``CCHC_MAX_FILE_BYTES`` (the store's limit) the file is refused with the
    store's Vietnamese reason; no evidence row, no stored file."""
    assert ward.store.max_bytes == limited
    task = _kt_task(ward)
    big = PDF + b"x" * limited
    done = _upload(official, f"/tasks/{task.id}", f"/tasks/{task.id}/evidence", [("to.pdf", big)])
    assert done.status_code == 400  # type: ignore[attr-defined]
    assert "vượt quá dung lượng cho phép" in done.text  # type: ignore[attr-defined]
    assert "The file" not in done.text  # type: ignore[attr-defined]
    assert _evidence(ward) == []
    assert _stored(ward) == []


def test_a_body_far_above_the_limit_is_refused_before_it_is_read(
    limited: int, official: TestClient, ward: Workspace
) -> None:
    """A body larger than ``MAX_FILES`` files at the limit answers 413 with the limits in
    Vietnamese; nothing is written."""
    task = _kt_task(ward)
    huge = PDF + b"x" * (body_limit(ward) + 1)
    assert len(huge) > MAX_FILES * limited
    done = _upload(official, f"/tasks/{task.id}", f"/tasks/{task.id}/evidence", [("h.pdf", huge)])
    assert done.status_code == 413  # type: ignore[attr-defined]
    assert "Không có tệp nào được lưu" in done.text  # type: ignore[attr-defined]
    assert _evidence(ward) == []
    assert _stored(ward) == []


def test_an_upload_without_its_length_is_refused_before_it_is_read(
    official: TestClient, ward: Workspace
) -> None:
    """A chunked multipart body (no ``Content-Length``) answers 411; nothing is written."""
    task = _kt_task(ward)
    done = official.post(
        f"/tasks/{task.id}/evidence",
        content=iter([b"--x\r\n", PDF, b"\r\n--x--\r\n"]),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert done.status_code == 411
    assert "Content-Length" in done.text
    assert _evidence(ward) == []


def test_another_units_task_is_not_found_and_the_refusal_audited(
    official: TestClient, ward: Workspace
) -> None:
    """An upload to another unit's task by id answers 404; the refused read is audited and
    nothing is written."""
    other = _instance(ward, "task", f"{PLAN}/NV-01")  # Phòng Văn hóa - Xã hội's
    mine = official.get(f"/tasks/{_kt_task(ward).id}")
    done = official.post(
        f"/tasks/{other.id}/evidence",
        data={"csrf": csrf_of(mine)},
        files=[("files", ("x.pdf", PDF, "application/pdf"))],
    )
    assert done.status_code == 404
    assert (KT_OFFICIAL, f"task #{other.id} of unit vhxh") in _refusals(ward, "access")
    assert _evidence(ward) == []
    assert _stored(ward) == []


def test_a_ward_reader_may_not_submit_for_a_unit_and_the_service_says_why(
    client: TestClient, ward: Workspace
) -> None:
    """The Chairman reads every unit but submits for none: no upload form, and a forged post
    gets the service's refusal in Vietnamese, audited; nothing is written."""
    sign_in(client, CHAIRMAN)
    task = _kt_task(ward)
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert 'type="file"' not in page.text
    done = client.post(
        f"/tasks/{task.id}/evidence",
        data={"csrf": csrf_of(page)},
        files=[("files", ("x.pdf", PDF, "application/pdf"))],
    )
    assert done.status_code == 400
    assert "không được nộp tài liệu kiểm chứng" in done.text
    assert (CHAIRMAN, f"{PLAN}/NV-06") in _refusals(ward, "evidence")
    assert _evidence(ward) == []
    assert _stored(ward) == []


def test_a_file_sent_back_is_replaced_by_version_2(
    official: TestClient, client: TestClient, ward: Workspace
) -> None:
    """After the focal unit requests changes, the sent-back page shows the reason, who and
    when; a replacement uploaded from the item is version 2 and supersedes it; a second
    replacement from the same stale page is refused, saying who replaced it first and when."""
    code = _kt_criterion(ward)
    done = _upload(
        official, f"/criteria/{code}", f"/criteria/{code}/evidence", [("bao-cao.pdf", PDF)]
    )
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    [(first, _, data)] = _evidence(ward)
    with unit_of_work(ward.sessions) as session:
        review_evidence(
            session,
            ward.engine,
            ward.actor(FOCAL),
            first,
            "request_changes",
            sha256=str(data["sha256"]),
            reason="Thiếu chữ ký của thủ trưởng",
        )
    back = official.get("/sent-back")
    assert "Thiếu chữ ký của thủ trưởng" in back.text
    assert "Nguyễn Thị Lan" in back.text
    assert "03/11/2025 09:00" in back.text
    assert f'href="/evidence/{first}"' in back.text
    item = official.get(f"/evidence/{first}")
    assert "Nộp tệp thay thế" in item.text
    replaced = official.post(
        f"/evidence/{first}/replace",
        data={"csrf": csrf_of(item)},
        files=[("files", ("bao-cao-da-ky.pdf", PDF + b"ky", "application/pdf"))],
    )
    assert replaced.status_code == 200, replaced.text
    rows = {i: (state, d) for i, state, d in _evidence(ward)}
    assert rows[first][0] == "superseded"
    [(state, new_data)] = [v for i, v in rows.items() if i != first]
    assert (state, new_data["version"], new_data["supersedes"]) == ("submitted", 2, first)
    assert "<dt>Phiên bản</dt><dd>2</dd>" in replaced.text
    assert "Thiếu chữ ký" not in official.get("/sent-back").text
    stale = official.post(
        f"/evidence/{first}/replace",
        data={"csrf": csrf_of(item), "seen_state": "changes_requested"},
        files=[("files", ("bao-cao-khac.pdf", PDF + b"khac", "application/pdf"))],
    )
    assert stale.status_code == 400
    assert "Ngô Thị Hà đã “Thay bằng phiên bản mới” lúc 03/11/2025 09:00" in stale.text
    assert len(_evidence(ward)) == 2


def test_hostile_file_names_come_back_escaped_and_are_stored_by_hash(
    official: TestClient, ward: Workspace
) -> None:
    """A name with markup or starting with ``=`` is shown escaped; the store names the file
    by its sha256 only; the download's name is quoted."""
    task = _kt_task(ward)
    hostile = "<img src=x onerror=alert(1)>.pdf"
    formula = "=HYPERLINK(A1)&'x'.png"
    done = _upload(
        official,
        f"/tasks/{task.id}",
        f"/tasks/{task.id}/evidence",
        [(hostile, PDF), (formula, PNG)],
    )
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    text = done.text  # type: ignore[attr-defined]
    assert "<img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;.pdf" in text
    assert "=HYPERLINK(A1)&amp;&#39;x&#39;.png" in text
    stored = _stored(ward)
    assert sorted(p.name for p in stored) == sorted(
        hashlib.sha256(c).hexdigest() for c in (PDF, PNG)
    )
    header = attachment_header(formula)
    assert header.startswith('attachment; filename="HYPERLINK_A1_x_.png"')
    assert "\n" not in header
    assert '"=' not in header


def test_an_upload_without_its_csrf_token_is_refused(official: TestClient, ward: Workspace) -> None:
    """A multipart post without the CSRF token answers 403; nothing is written."""
    task = _kt_task(ward)
    done = official.post(
        f"/tasks/{task.id}/evidence", files=[("files", ("x.pdf", PDF, "application/pdf"))]
    )
    assert done.status_code == 403
    assert _evidence(ward) == []
    assert _stored(ward) == []


def test_the_download_is_an_attachment_not_sniffed(
    official: TestClient, client: TestClient, ward: Workspace
) -> None:
    """``/evidence/{id}/file`` gives the stored bytes as an attachment with nosniff; another
    unit's reader gets 404 and the refusal is audited."""
    task = _kt_task(ward)
    _upload(official, f"/tasks/{task.id}", f"/tasks/{task.id}/evidence", [("Biên bản.pdf", PDF)])
    [(evidence_id, _, _)] = _evidence(ward)
    got = official.get(f"/evidence/{evidence_id}/file")
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Bi%C3%AAn%20b%E1%BA%A3n.pdf" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-type"] == "application/pdf"
    official.post("/sign-out", data={"csrf": csrf_of(official.get("/"))})
    make_account(ward, OTHER_UNIT_OFFICIAL)
    sign_in(client, OTHER_UNIT_OFFICIAL)
    assert client.get(f"/evidence/{evidence_id}/file").status_code == 404
    assert client.get(f"/evidence/{evidence_id}").status_code == 404
    assert (OTHER_UNIT_OFFICIAL, f"evidence #{evidence_id} of unit kt") in _refusals(ward, "access")


def test_the_task_offers_the_triggers_the_definition_lets_the_viewer_fire(
    client: TestClient, ward: Workspace
) -> None:
    """The official sees start and submit product (with its product field), not the focal
    unit's decisions; the focal official (also an official of her own unit) is not offered
    another unit's start, its guard says no; submitting moves the task; the focal official
    returns it with a reason that the unit then reads with who and when; a stale form says
    who moved it first."""
    task = _kt_task(ward)
    sign_in(client, KT_OFFICIAL)
    page = client.get(f"/tasks/{task.id}")
    assert 'name="trigger" value="submit_product"' in page.text
    assert 'name="trigger" value="accept_product"' not in page.text
    assert '<label for="submit_product-product">' in page.text
    csrf = csrf_of(page)
    done = client.post(
        f"/tasks/{task.id}/fire",
        data={
            "csrf": csrf,
            "trigger": "submit_product",
            "seen_state": task.state,
            "product": "Báo cáo công khai tài chính",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _instance(ward, "task", task.ref).state == "product_submitted"
    assert "Đã thực hiện: Nộp sản phẩm" in client.get(done.headers["location"]).text
    stale = client.post(
        f"/tasks/{task.id}/fire",
        data={"csrf": csrf, "trigger": "submit_product", "seen_state": task.state, "product": "x"},
    )
    assert stale.status_code == 409
    assert "Thao tác bị từ chối" in stale.text
    assert "Ngô Thị Hà đã “Nộp sản phẩm” lúc 03/11/2025 09:00" in stale.text
    client.post("/sign-out", data={"csrf": csrf_of(client.get("/"))})
    sign_in(client, FOCAL)
    page = client.get(f"/tasks/{task.id}")
    assert 'name="trigger" value="return_product"' in page.text
    assert 'name="trigger" value="submit_product"' not in page.text
    other = _instance(ward, "task", f"{PLAN}/NV-07")  # Phòng Kinh tế's, not started
    assert other.state == "assigned"
    other_page = client.get(f"/tasks/{other.id}").text
    assert 'name="trigger" value="cancel"' in other_page  # the focal unit may cancel
    assert 'name="trigger" value="start"' not in other_page  # own_unit: not the focal's unit
    client.post(
        f"/tasks/{task.id}/fire",
        data={
            "csrf": csrf_of(page),
            "trigger": "return_product",
            "seen_state": "product_submitted",
            "reason": "Thiếu số liệu quý III",
        },
    )
    assert _instance(ward, "task", task.ref).state == "returned"
    client.post("/sign-out", data={"csrf": csrf_of(client.get("/"))})
    sign_in(client, KT_HEAD)
    page = client.get(f"/tasks/{task.id}")
    assert "Nguyễn Thị Lan trả lại lúc 03/11/2025 09:00" in page.text
    assert "Thiếu số liệu quý III" in page.text
    listed = client.get("/sent-back").text
    assert f'href="/tasks/{task.id}"' in listed
    assert "Thiếu số liệu quý III" in listed


def test_a_refused_action_is_worded_and_audited(official: TestClient, ward: Workspace) -> None:
    """Submitting a product without one is refused by the engine (audited), the page says
    what is missing in Vietnamese, and the task does not move."""
    task = _kt_task(ward)
    page = official.get(f"/tasks/{task.id}")
    done = official.post(
        f"/tasks/{task.id}/fire",
        data={"csrf": csrf_of(page), "trigger": "submit_product", "seen_state": task.state},
    )
    assert done.status_code == 403
    assert "cần có sản phẩm" in done.text
    assert (KT_OFFICIAL, task.ref) in _refusals(ward, "task")
    assert _instance(ward, "task", task.ref).state == task.state


def test_the_sent_back_page_lists_what_the_home_page_counts(
    official: TestClient, ward: Workspace
) -> None:
    """The home page's sent-back count links to ``/sent-back``, which lists those items."""
    home = official.get("/")
    assert '<a class="box" href="/sent-back">' in home.text
    counts = {
        w.key: w.count for w in waiting_for(ward, ward.actor(KT_OFFICIAL), ward.engine.clock())
    }
    listed = official.get("/sent-back")
    assert listed.status_code == 200
    assert f"<p>{counts['sent_back']} mục.</p>" in listed.text


def test_the_units_sub_criteria_link_to_their_pages(official: TestClient, ward: Workspace) -> None:
    """``/criteria`` lists the sub-criteria of the official's unit, each linking to its page
    with the upload form; another unit's sub-criterion answers 404."""
    listed = official.get("/criteria")
    code = _kt_criterion(ward)
    assert f'href="/criteria/{code}?plan={PLAN}"' in listed.text
    assert '<a href="/criteria">Minh chứng</a>' in listed.text
    one = official.get(f"/criteria/{code}?plan={PLAN}")
    assert one.status_code == 200
    assert 'type="file" multiple' in one.text
    with ward.sessions() as session:
        rows = session.scalars(sa.select(Instance).where(Instance.kind == "assessment")).all()
    other = next(
        json.loads(r.data)["code"] for r in rows if json.loads(r.data)["owner_unit"] != "kt"
    )
    assert other not in listed.text
    assert official.get(f"/criteria/{other}").status_code == 404


def test_a_form_without_files_or_with_too_many_stores_nothing(
    official: TestClient, ward: Workspace
) -> None:
    """No file chosen, more than ``MAX_FILES`` files, or two files for one replacement: the
    page says so and nothing is written."""
    task = _kt_task(ward)
    page = official.get(f"/tasks/{task.id}")
    csrf = csrf_of(page)
    empty = official.post(
        f"/tasks/{task.id}/evidence",
        data={"csrf": csrf},
        files=[("files", ("", b"", "application/octet-stream"))],
    )
    assert empty.status_code == 400
    assert "Chưa chọn tệp nào để tải lên." in empty.text
    many = official.post(
        f"/tasks/{task.id}/evidence",
        data={"csrf": csrf},
        files=[("files", (f"{i}.pdf", PDF, "application/pdf")) for i in range(MAX_FILES + 1)],
    )
    assert many.status_code == 400
    assert f"Mỗi lần tải lên tối đa {MAX_FILES} tệp" in many.text
    assert _evidence(ward) == []
    _upload(official, f"/tasks/{task.id}", f"/tasks/{task.id}/evidence", [("a.pdf", PDF)])
    [(first, _, _)] = _evidence(ward)
    two = official.post(
        f"/evidence/{first}/replace",
        data={"csrf": csrf},
        files=[("files", (n, PDF + n.encode(), "application/pdf")) for n in ("b.pdf", "c.pdf")],
    )
    assert two.status_code == 400
    assert "Thay thế bằng đúng một tệp" in two.text
    assert len(_evidence(ward)) == 1


def test_a_file_missing_from_the_store_is_not_found(official: TestClient, ward: Workspace) -> None:
    """When the stored file is gone the download answers 404 (the record stays)."""
    task = _kt_task(ward)
    _upload(official, f"/tasks/{task.id}", f"/tasks/{task.id}/evidence", [("a.pdf", PDF)])
    [(evidence_id, _, _)] = _evidence(ward)
    ward.store.path_of(hashlib.sha256(PDF).hexdigest()).unlink()
    assert official.get(f"/evidence/{evidence_id}/file").status_code == 404
    assert official.get(f"/evidence/{evidence_id}").status_code == 200


def test_the_focal_official_reads_the_sub_criteria_of_every_unit(
    client: TestClient, ward: Workspace
) -> None:
    """The focal official sees the whole ward's sub-criteria or one unit's; an unknown unit,
    plan or code answers 404."""
    sign_in(client, FOCAL)
    everything = client.get("/criteria")
    kt_only = client.get("/criteria?unit=kt")
    code = _kt_criterion(ward)
    assert code in kt_only.text
    assert everything.text.count('<li class="task') > kt_only.text.count('<li class="task') > 0
    assert client.get("/criteria?unit=nowhere").status_code == 404
    assert client.get("/criteria?plan=KH-NONE").status_code == 404
    assert client.get("/criteria/9.9.9").status_code == 404
    assert client.get(f"/criteria/{code}?plan={PLAN}").status_code == 200


def test_a_returned_self_score_is_listed_as_sent_back(
    official: TestClient, ward: Workspace
) -> None:
    """A self-score the head returned is on the unit's sent-back page with the reason, who
    and when, linking to its sub-criterion, as the home page counts it."""
    code = _kt_criterion(ward)
    assessment = _instance(ward, "assessment", f"{PLAN}/TC-{code}")
    with unit_of_work(ward.sessions) as session:
        ward.engine.fire(
            session,
            assessment.id,
            "self_score",
            actor=ward.actor(KT_OFFICIAL),
            payload={"points": 1},
        )
    with unit_of_work(ward.sessions) as session:
        ward.engine.fire(
            session,
            assessment.id,
            "return_score",
            actor=ward.actor(KT_HEAD),
            payload={"reason": "Chấm cao hơn kết quả thực tế"},
        )
    listed = official.get("/sent-back").text
    assert f'href="/criteria/{code}?plan={PLAN}"' in listed
    assert "Chấm cao hơn kết quả thực tế" in listed
    assert "Phạm Quốc Khánh, 03/11/2025 09:00" in listed
    counts = {
        w.key: w.count for w in waiting_for(ward, ward.actor(KT_OFFICIAL), ward.engine.clock())
    }
    assert f"<p>{counts['sent_back']} mục.</p>" in listed
    criterion = official.get(f"/criteria/{code}?plan={PLAN}").text
    assert "Điểm tự chấm bị trả lại: Phạm Quốc Khánh, 03/11/2025 09:00" in criterion


def test_a_unit_head_uploads_through_the_real_page(
    chromium: Any, served: Served, tmp_path: Path
) -> None:
    """In Chromium, at 360 px and 1280 px: the head of Phòng Kinh tế opens a task of the
    unit, chooses two files in the upload form and sees each with its version, state and
    sha256; nothing needs sideways scrolling and every control is labelled."""
    for width_name, (width, height) in WIDTHS.items():
        files = []
        for name, content in ((f"bien-ban-{width_name}.pdf", PDF), (f"anh-{width_name}.png", PNG)):
            path = tmp_path / name
            path.write_bytes(content + width_name.encode())
            files.append(path)
        context = chromium.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"{served.url}/sign-in")
        page.get_by_label("Tên đăng nhập").fill(HEAD)
        page.get_by_label("Mật khẩu").fill(HEAD_PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{served.url}/")
        page.goto(f"{served.url}/tasks?show=all")
        page.get_by_role("link", name="NV-06").click()
        page.wait_for_url("**/tasks/*")
        page.get_by_label("Chọn tệp (có thể chọn nhiều tệp)").set_input_files(files)
        page.get_by_role("button", name="Tải lên").click()
        page.wait_for_selector("#results-title")
        results = page.inner_text(".upload-results")
        for path in files:
            assert path.name in results
            assert hashlib.sha256(path.read_bytes()).hexdigest() in results
        assert "Đã nộp, chờ thẩm định" in results
        _fits_and_labelled(page, width)
        _shoot(page, "task-upload", width_name)
        context.close()
