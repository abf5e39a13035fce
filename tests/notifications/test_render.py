"""Rendering: every template renders with a realistic context, strictly and escaped for HTML."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from jinja2 import meta

from cchc.evidence.service import review_evidence, submit_evidence
from cchc.evidence.store import EvidenceStore
from cchc.organization.model import Organization, Person, load_organization
from notifications.catalog import TEMPLATE_DIR, template_names
from notifications.recipients import resolve_recipients
from notifications.render import (
    MissingVariableError,
    Renderer,
    RenderError,
    recipient_label,
    render,
    vn_date,
    vn_datetime,
    vn_long_date,
)
from tests.conftest import Db
from tests.notifications.conftest import PLAN, ROLES, ROOT
from tests.notifications.samples import SAMPLES, TASK_DATA
from workflows.database import unit_of_work
from workflows.engine import Engine
from workflows.schema import OutboxMessage

FILES = sorted(p.name for p in TEMPLATE_DIR.glob("*.j2"))
INJECTED = {"recipient_label", "recipient_name", "recipient_id", "ward"}


@pytest.fixture(scope="module")
def lan(org: Organization) -> Person:
    return org.person("nguyen.thi.lan")


@pytest.mark.parametrize("filename", FILES)
def test_every_template_renders_with_a_sample(filename: str, org: Organization) -> None:
    """Each template file renders with the sample context of its kind, for a real person."""
    name, _, kind = filename.partition(".")
    assert name in SAMPLES, f"add a sample context for {name} to tests/notifications/samples.py"
    person = org.person("pham.quoc.khanh")
    rendered = render(name, SAMPLES[name], person, ward=org)
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert "{{" not in rendered.subject + rendered.text
    assert f"Kính gửi Ông/Bà Phạm Quốc Khánh – {person.title}," in rendered.text
    if kind == "html.j2":
        assert rendered.html is not None
        assert rendered.html.startswith("<!DOCTYPE html>")
        assert "Phạm Quốc Khánh" in rendered.html
        assert "{{" not in rendered.html


@pytest.mark.parametrize("filename", FILES)
def test_every_variable_a_template_uses_is_required(filename: str, org: Organization) -> None:
    """Removing any variable a template reads makes rendering fail and name that variable."""
    name = filename.partition(".")[0]
    renderer = Renderer()
    assert renderer.env.loader is not None
    source = renderer.env.loader.get_source(renderer.env, filename)[0]
    used = meta.find_undeclared_variables(renderer.env.parse(source)) - INJECTED
    assert used, f"{filename} uses no variable at all"
    for variable in sorted(used):
        context = {k: v for k, v in SAMPLES[name].items() if k != variable}
        with pytest.raises(MissingVariableError, match=variable) as caught:
            renderer.render(name, context, org.person("ngo.thi.ha"), ward=org)
        assert caught.value.template.startswith(name)


def test_missing_variable_is_an_error_naming_template_line_and_variable(
    tmp_path: Path, lan: Person
) -> None:
    """A temporary template reading an absent variable fails instead of rendering a blank."""
    (tmp_path / "broken.txt.j2").write_text(
        "Tiêu đề {{ ref }}\n\nKính gửi {{ recipient_label }},\nHạn: {{ data.deadline_text }}\n",
        encoding="utf-8",
    )
    renderer = Renderer(tmp_path)
    ok = renderer.render("broken", {"ref": "NV-01", "data": {"deadline_text": "31/10/2025"}}, lan)
    assert ok.text.endswith("Hạn: 31/10/2025\n")
    with pytest.raises(MissingVariableError) as caught:
        renderer.render("broken", {"ref": "NV-01", "data": {"title": "x"}}, lan)
    error = caught.value
    assert (error.template, error.line) == ("broken.txt.j2", 4)
    assert error.variable.startswith("data.deadline_text")
    assert "broken.txt.j2, line 4: missing variable: data.deadline_text" in str(error)


def test_subject_line_must_be_followed_by_a_blank_line(tmp_path: Path, lan: Person) -> None:
    """A text template without the subject/body layout is refused."""
    (tmp_path / "flat.txt.j2").write_text("Tiêu đề\nKhông có dòng trống\n", encoding="utf-8")
    with pytest.raises(RenderError, match="followed by a blank line"):
        Renderer(tmp_path).render("flat", {}, lan)


def test_html_is_escaped_and_text_is_not(org: Organization) -> None:
    """A <script> in the data is escaped in HTML and left as written in the plain text."""
    context = {
        **SAMPLES["task_assigned"],
        "data": {**TASK_DATA, "title": "<script>alert('x')</script> & co"},
    }
    rendered = render("task_assigned", context, org.person("ngo.thi.ha"))
    assert rendered.html is not None
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in rendered.html
    assert "<script>alert('x')</script> & co" in rendered.text
    assert "<script>" in rendered.subject


def test_recipient_label_and_vietnamese_dates(org: Organization) -> None:
    """Greeting and date helpers read as Vietnamese officials write them."""
    assert recipient_label(org.person("nguyen.thi.lan")) == (
        "Ông/Bà Nguyễn Thị Lan – Chuyên viên Phòng Văn hóa - Xã hội, đầu mối cải cách hành chính"
    )
    assert vn_date("2025-10-31") == "31/10/2025"
    assert vn_long_date(date(2025, 12, 5)) == "ngày 05 tháng 12 năm 2025"
    assert vn_long_date("2026-02-01") == "ngày 01 tháng 02 năm 2026"
    assert vn_long_date("2025-09-09") == "ngày 09 tháng 9 năm 2025"
    assert vn_datetime("2025-11-03T17:30:00.000000Z") == "04/11/2025 00:30"
    assert vn_date(datetime(2025, 11, 3, 17, 30, tzinfo=UTC)) == "04/11/2025"


def test_catalog_lists_the_digest_and_no_html_only_template() -> None:
    """Every HTML template has its text template (the subject comes from the text one)."""
    assert "daily_digest" in template_names()
    for html in TEMPLATE_DIR.glob("*.html.j2"):
        assert html.with_name(html.name.replace(".html.j2", ".txt.j2")).is_file()


def test_what_the_engine_writes_renders_for_every_recipient(
    db: Db, engine: Engine, org: Organization, issued: Db, tmp_path: Path
) -> None:
    """Outbox rows written by issuing a plan, returning a task and reviewing evidence render."""
    lan, ha = org.actor("nguyen.thi.lan"), org.actor("ngo.thi.ha")
    admin = org.actor("tran.van.minh")
    store = EvidenceStore(tmp_path / "evidence")
    with unit_of_work(db.sessions) as session:
        task = session.query(OutboxMessage).filter_by(template="task_assigned").first()
        assert task is not None
        engine.fire(
            session,
            task.instance_id,
            "submit_product",
            actor=ha,
            payload={"product": "Báo cáo số 12/BC-UBND"},
        )
        engine.fire(
            session,
            task.instance_id,
            "return_product",
            actor=lan,
            payload={"reason": "Thiếu phụ lục số liệu"},
        )
        engine.fire(session, task.instance_id, "mark_overdue", actor=admin)
        sub = submit_evidence(
            session,
            engine,
            store,
            ha,
            plan_code=PLAN.code,
            target="criterion:1.1.3",
            source=b"%PDF-1.7\n%%EOF\n",
            original_name="Báo cáo rà soát.pdf",
        )
        review_evidence(
            session,
            engine,
            lan,
            sub.instance_id,
            "request_changes",
            sha256=sub.sha256,
            reason="Thiếu chữ ký",
        )
    with db.sessions() as session:
        rows = session.query(OutboxMessage).order_by(OutboxMessage.id).all()
    templates = {row.template for row in rows}
    assert {
        "plan_issued",
        "task_assigned",
        "assessment_opened",
        "task_returned",
        "task_overdue",
        "evidence_decided",
    } <= templates
    for row in rows:
        people = resolve_recipients(org, row)
        assert people, row.template
        for person in people:
            rendered = render(row.template, json.loads(row.context), person, ward=org)
            assert person.full_name in rendered.text


@pytest.fixture(scope="module")
def tien_lang() -> Organization:
    """Xã Tiên Lãng: a commune (xã), not a ward (phường)."""
    return load_organization(ROOT / "definitions" / "organizations" / "tien-lang.yaml", ROLES)


@pytest.mark.parametrize("name", sorted(template_names()))
def test_a_communes_notifications_never_say_phuong(name: str, tien_lang: Organization) -> None:
    """Every template rendered for Xã Tiên Lãng's people names it a xã, never a phường."""
    rendered = render(name, SAMPLES[name], tien_lang.person("vu.van.tien"), ward=tien_lang)
    for part in (rendered.subject, rendered.text, rendered.html or ""):
        assert "phường" not in part.lower()


def test_the_ward_is_named_by_its_kind(org: Organization, tien_lang: Organization) -> None:
    """The conclusion notice and the overdue warning say "phường" for Phù Liễn, "xã" for
    Tiên Lãng: the name and kind come from the organization file."""
    notice = SAMPLES["meeting_notice_issued"]
    overdue = SAMPLES["task_overdue"]
    for ward, person, name, kind in (
        (org, "pham.quoc.khanh", "phường Phù Liễn", "phường"),
        (tien_lang, "vu.van.tien", "xã Tiên Lãng", "xã"),
    ):
        to = ward.person(person)
        assert (
            f"Ủy ban nhân dân {name} đã ban hành"
            in render("meeting_notice_issued", notice, to, ward=ward).text
        )
        assert f"làm giảm điểm của {kind};" in render("task_overdue", overdue, to, ward=ward).text
