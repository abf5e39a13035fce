"""`cchc audit history`, `cchc evidence verify` and the read scope of every audit/evidence read."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from cchc.cli import app
from cchc.commands import cycle_common
from cchc.inspection.exports import HEADINGS
from tests.conftest import Clock

runner = CliRunner()

PLAN = "KH-2025-H2"
FOCAL = "nguyen.thi.lan"  # focal official (vhxh)
KT_OFFICIAL = "ngo.thi.ha"  # official of kt
KT_HEAD = "pham.quoc.khanh"
VHXH_OFFICIAL = "bui.duc.anh"  # official of vhxh: uploads what the focal official reviews
INSPECTOR = "cu.van.son"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
OTHER_PDF = PDF + b"% phien ban 2\n"
REASON = "Thiếu chữ ký của lãnh đạo phòng"

PLAN_YAML = f"""\
code: {PLAN}
title: Kế hoạch cải cách hành chính 6 tháng cuối năm 2025
tenant: phuong-phu-lien
decision:
  number: 337/QĐ-UBND
  date: 2025-07-29
period:
  code: 2025-H2
  start: 2025-07-01
  end: 2025-12-31
  label: 6 tháng cuối năm 2025
index_set: par-2025-ward-sample
tasks:
  - code: NV-01
    title: Rà soát thủ tục hành chính lĩnh vực đất đai
    expected_product: Báo cáo rà soát
    owner_unit: kt
    deadline: 2025-11-30
    criteria: [1.1.3]
  - code: NV-02
    title: Ban hành Kế hoạch tuyên truyền CCHC năm 2025
    expected_product: Kế hoạch tuyên truyền
    owner_unit: vhxh
    deadline: 2025-12-20
    criteria: [1.4.1]
"""

Cli = Callable[..., Result]


class Ticking(Clock):
    """A clock that moves one hour every time it is read (events keep their order)."""

    def __call__(self) -> datetime:
        return self.advance(hours=1)


def ok(result: Result) -> Result:
    """The result, after checking it exited 0 (showing its output otherwise)."""
    assert result.exit_code == 0, result.output
    return result


def as_json(result: Result) -> Any:
    """The JSON a successful command printed."""
    return json.loads(ok(result).stdout)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The data folder of the run."""
    return tmp_path / "var"


def _runner(folder: Path) -> Cli:
    env = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(folder), *args], env=env)

    return run


@pytest.fixture
def cli(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run `cchc --data-dir <tmp>/var ARGS…` on SQLite, on a clock in December 2025."""
    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 12, 1, 2, 0, tzinfo=UTC)))
    return _runner(folder)


@pytest.fixture(scope="module")
def story_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Made once: a plan issued; evidence for 1.1.3 accepted, evidence for task NV-01 sent back
    with a reason after a review on the wrong hash was refused; NV-01 (serving 1.1.3) started."""
    root = tmp_path_factory.mktemp("story")
    folder = root / "var"
    cli = _runner(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 11, 3, 2, 0, tzinfo=UTC)))
        plan = root / "plan.yaml"
        plan.write_text(PLAN_YAML, encoding="utf-8")
        ok(cli("db", "upgrade"))
        ok(cli("plan", "issue", str(plan), "--as", FOCAL))
        first, second = root / "Kế hoạch CCHC.pdf", root / "Báo cáo rà soát.pdf"
        first.write_bytes(PDF)
        second.write_bytes(OTHER_PDF)
        direct = as_json(
            cli(
                "evidence",
                "submit",
                str(first),
                "--plan",
                PLAN,
                "--target",
                "criterion:1.1.3",
                "--as",
                VHXH_OFFICIAL,
                "--json",
            )
        )
        via_task = as_json(
            cli(
                "evidence",
                "submit",
                str(second),
                "--plan",
                PLAN,
                "--target",
                "task:NV-01",
                "--as",
                KT_OFFICIAL,
                "--json",
            )
        )
        ok(
            cli(
                "evidence",
                "review",
                str(direct["id"]),
                "accept",
                "--sha256",
                direct["sha256"],
                "--as",
                FOCAL,
            )
        )
        wrong = cli(
            "evidence", "review", str(via_task["id"]), "accept", "--sha256", "0" * 64, "--as", FOCAL
        )
        assert wrong.exit_code == 1
        ok(
            cli(
                "evidence",
                "review",
                str(via_task["id"]),
                "request_changes",
                "--sha256",
                via_task["sha256"],
                "--reason",
                REASON,
                "--as",
                FOCAL,
            )
        )
        ok(cli("tasks", "fire", "NV-01", "start", "--as", KT_OFFICIAL))
    return folder, {"direct": direct, "via_task": via_task}


@pytest.fixture
def story(story_template: tuple[Path, dict[str, Any]], folder: Path) -> dict[str, Any]:
    """A copy of the story's data folder for this test: what it submitted and reviewed."""
    template, made = story_template
    shutil.copytree(template, folder)
    return made


def history(cli: Cli, *args: str) -> dict[str, Any]:
    """`cchc audit history ARGS --json` as the inspector."""
    return dict(as_json(cli("audit", "history", *args, "--as", INSPECTOR, "--json")))


def refusals(cli: Cli) -> list[dict[str, Any]]:
    """Refused reads recorded in the trail."""
    events = as_json(cli("audit", "query", "--kind", "access", "--as", INSPECTOR, "--json"))
    return [e for e in events if e["outcome"] == "refused"]


def test_criterion_history_has_evidence_hashes_decisions_and_tasks(
    cli: Cli, story: dict[str, Any]
) -> None:
    """A sub-criterion's history: its assessment, the evidence for it and for the task serving
    it with sha256, every decision (with its reason, the refused one too) and the task."""
    found = history(cli, "--criterion", "1.1.3", "--plan", PLAN)
    assert found["subject"]["tasks"] == ["NV-01"]
    assert found["subject"]["owner_unit"] == "vhxh"
    rows = found["rows"]
    by = {(r["kind"], r["trigger"], r["outcome"]): r for r in rows}
    direct, via_task = story["direct"], story["via_task"]
    assert by[("evidence", "accept", "applied")]["sha256"] == direct["sha256"]
    assert by[("evidence", "accept", "applied")]["moved"] == "Đã nộp, chờ thẩm định → Đạt"
    refused = by[("evidence", "accept", "refused")]
    assert refused["sha256"] == "0" * 64
    assert refused["reason"].startswith("không đáp ứng điều kiện")
    sent_back = by[("evidence", "request_changes", "applied")]
    assert (sent_back["sha256"], sent_back["reason"]) == (via_task["sha256"], REASON)
    assert ("assessment", "create", "applied") in by
    assert by[("task", "start", "applied")]["actor"] == KT_OFFICIAL
    assert {e["sha256"] for e in found["evidence"]} == {direct["sha256"], via_task["sha256"]}
    times = [r["occurred_at"] for r in rows]
    assert times == sorted(times)
    assert rows[0]["occurred_at_local"].endswith(":00:00")
    other = history(cli, "--criterion", "1.4.1", "--plan", PLAN)
    assert not [r for r in other["rows"] if r["kind"] == "evidence"]
    assert other["subject"]["tasks"] == ["NV-02"]


def test_task_history_has_its_evidence_only(cli: Cli, story: dict[str, Any]) -> None:
    """A task's history: the task's events and its own evidence, not the criterion's."""
    rows = history(cli, "--task", "NV-01", "--plan", PLAN)["rows"]
    assert {r["instance_id"] for r in rows if r["kind"] == "evidence"} == {story["via_task"]["id"]}
    assert [r["trigger"] for r in rows if r["kind"] == "task"] == ["create", "start"]


def test_unit_history_is_the_units_items_and_its_peoples_acts(
    cli: Cli, story: dict[str, Any]
) -> None:
    """A unit's history: what happened on the items it owns and what its people did."""
    rows = history(cli, "--unit", "kt")["rows"]
    assert {r["unit"] for r in rows if r["kind"] != "access"} <= {"kt", None}
    assert any(r["actor"] == KT_OFFICIAL and r["trigger"] == "start" for r in rows)
    assert any(r["actor"] == FOCAL and r["trigger"] == "request_changes" for r in rows)
    assert not any(r["sha256"] == story["direct"]["sha256"] for r in rows)


def test_person_history_over_a_period(cli: Cli, story: dict[str, Any]) -> None:
    """--since/--until (local time) narrow a person's acts to the period."""
    everything = history(cli, "--person", FOCAL)["rows"]
    assert everything
    assert {r["actor"] for r in everything} == {FOCAL}
    middle = everything[len(everything) // 2]["occurred_at_local"]
    day, clock = middle.split(" ")
    since = "-".join(reversed(day.split("/"))) + "T" + clock
    later = history(cli, "--person", FOCAL, "--since", since)["rows"]
    assert 0 < len(later) < len(everything)
    assert all(r["occurred_at"] >= everything[len(everything) // 2]["occurred_at"] for r in later)
    assert history(cli, "--person", FOCAL, "--until", "2025-11-03")["rows"] == []


def test_history_table_in_vietnamese(cli: Cli, story: dict[str, Any]) -> None:
    """The table has the Vietnamese headings, local times and the decision reasons."""
    out = ok(cli("audit", "history", "--task", "NV-01", "--plan", PLAN, "--as", INSPECTOR)).stdout
    for heading in ("Thời điểm (GMT+7)", "Người thực hiện", "Mã băm tài liệu", "Lý do"):
        assert heading in out
    assert "Yêu cầu bổ sung" in out
    assert "03/11/2025" in out


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--unit", "kt", "--person", FOCAL),
        ("--criterion", "1.1.3"),
        ("--criterion", "9.9.9", "--plan", PLAN),
        ("--unit", "ktt"),
        ("--person", "nobody"),
        ("--task", "NV-01", "--plan", "KH-9999"),
    ],
    ids=[
        "no subject",
        "two subjects",
        "no plan",
        "unknown code",
        "unknown unit",
        "unknown person",
        "unknown plan",
    ],
)
def test_history_bad_input_exits_2(cli: Cli, story: dict[str, Any], args: tuple[str, ...]) -> None:
    """A missing, doubled or unknown subject is a clear error with exit 2."""
    result = cli("audit", "history", *args, "--as", INSPECTOR)
    assert result.exit_code == 2, result.output


def test_exports_open_as_officials_files(cli: Cli, story: dict[str, Any], tmp_path: Path) -> None:
    """CSV, XLSX and the DOCX report hold the same rows, Vietnamese headings and full hashes."""
    out = tmp_path / "xuat"
    found = as_json(
        cli(
            "audit",
            "history",
            "--criterion",
            "1.1.3",
            "--plan",
            PLAN,
            "--as",
            INSPECTOR,
            "--json",
            "--csv",
            str(out / "lich-su.csv"),
            "--xlsx",
            str(out / "lich-su.xlsx"),
            "--docx",
            str(out / "bao-cao-kiem-tra.docx"),
        )
    )
    rows = found["rows"]
    assert len(found["files"]) == 3
    with (out / "lich-su.csv").open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert tuple(table[0]) == HEADINGS
    assert len(table) == 1 + len(rows)
    assert story["direct"]["sha256"] in {line[8] for line in table}

    sheet = load_workbook(out / "lich-su.xlsx").active
    assert sheet is not None
    assert str(sheet["A1"].value).startswith("LỊCH SỬ THAO TÁC – Tiêu chí thành phần 1.1.3")
    assert tuple(c.value for c in sheet[4]) == HEADINGS
    assert sheet.max_row == 4 + len(rows)
    assert story["via_task"]["sha256"] in {c.value for c in sheet["I"]}

    doc = Document(str(out / "bao-cao-kiem-tra.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = {c.text for t in doc.tables for r in t.rows for c in r.cells}
    assert "BÁO CÁO" in text
    assert any("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in c for c in cells)
    assert any(c.startswith("Nơi nhận:") for c in cells)
    assert "toàn vẹn" in text
    assert "khớp với hồ sơ" in text
    assert story["direct"]["sha256"] in cells  # the evidence table
    appendix = doc.tables[-1]
    assert tuple(c.text for c in appendix.rows[0].cells) == HEADINGS
    assert len(appendix.rows) == 1 + len(rows)


def _stored(folder: Path, sha256: str) -> Path:
    return folder / "evidence" / sha256[:2] / sha256[2:4] / sha256


def test_evidence_verify_finds_altered_and_missing_files(
    cli: Cli, story: dict[str, Any], folder: Path
) -> None:
    """All files match (exit 0); a file edited on disk is altered and a deleted one missing."""
    out = ok(cli("evidence", "verify", "--plan", PLAN, "--as", INSPECTOR)).stdout
    assert "all 2 files match" in out
    edited = _stored(folder, story["direct"]["sha256"])
    edited.chmod(0o644)
    edited.write_bytes(PDF + b"% sua\n")
    _stored(folder, story["via_task"]["sha256"]).unlink()
    result = cli("evidence", "verify", "--as", INSPECTOR)
    assert result.exit_code == 1
    assert f"ALTERED {story['direct']['sha256']}" in result.stdout
    assert f"MISSING {story['via_task']['sha256']}" in result.stdout
    assert "task:NV-01" in result.stdout
    report = json.loads(cli("evidence", "verify", "--as", INSPECTOR, "--json").stdout)
    assert not report["ok"]
    assert {(p["problem"], p["evidence"][0]["id"]) for p in report["problems"]} == {
        ("altered", story["direct"]["id"]),
        ("missing", story["via_task"]["id"]),
    }
    assert hashlib.sha256(edited.read_bytes()).hexdigest() != story["direct"]["sha256"]


def test_a_unit_official_reads_their_own_unit_only(cli: Cli, story: dict[str, Any]) -> None:
    """A kt official sees kt's evidence and history; anything wider exits 1 and is audited."""
    listed = as_json(cli("evidence", "list", "--as", KT_OFFICIAL, "--json"))
    assert {e["owner_unit"] for e in listed} == {"kt"}
    coverage = as_json(cli("evidence", "coverage", "--plan", PLAN, "--as", KT_HEAD, "--json"))
    assert [u["unit"] for u in coverage["units"]] == ["kt"]
    ok(cli("audit", "history", "--unit", "kt", "--as", KT_OFFICIAL))
    ok(cli("audit", "history", "--task", "NV-01", "--plan", PLAN, "--as", KT_OFFICIAL))
    ok(cli("evidence", "verify", "--as", KT_OFFICIAL))
    denied = [
        ("evidence", "list", "--unit", "vhxh"),
        ("evidence", "verify", "--unit", "vhxh"),
        ("audit", "history", "--criterion", "1.1.3", "--plan", PLAN),
        ("audit", "history", "--person", FOCAL),
        ("audit", "verify"),
        ("audit", "query"),
    ]
    before = len(refusals(cli))
    for args in denied:
        result = cli(*args, "--as", KT_OFFICIAL)
        assert result.exit_code == 1, (args, result.output)
        assert "không có quyền" in result.output
    after = refusals(cli)
    assert len(after) == before + len(denied)
    assert {e["actor"] for e in after[before:]} == {KT_OFFICIAL}
    assert after[-1]["ref"] == "audit trail"


def test_audit_commands_need_as(cli: Cli, story: dict[str, Any]) -> None:
    """Every audit and evidence read names the person reading (--as is required)."""
    for args in (
        ("audit", "verify"),
        ("audit", "query"),
        ("evidence", "list"),
        ("evidence", "verify"),
        ("evidence", "coverage", "--plan", PLAN),
        ("audit", "history", "--unit", "kt"),
    ):
        result = cli(*args)
        assert result.exit_code == 2
        assert "--as" in result.output


def test_inspector_verifies_the_chain(cli: Cli, story: dict[str, Any]) -> None:
    """The inspector verifies the ward's chain (reads change nothing but are not refused)."""
    out = ok(cli("audit", "verify", "--as", INSPECTOR)).stdout
    assert "audit chain intact" in out
    other = cli("audit", "verify", "--as", INSPECTOR, "--tenant", "phuong-khac")
    assert other.exit_code == 1


@pytest.fixture
def person_report(cli: Cli, story: dict[str, Any], tmp_path: Path) -> Any:
    """The inspection report on the kt official, who submitted evidence and started NV-01."""
    report = tmp_path / "bao-cao-ca-nhan.docx"
    ok(cli("audit", "history", "--person", KT_OFFICIAL, "--as", INSPECTOR, "--docx", str(report)))
    return Document(str(report))


def _body(doc: Any) -> list[str]:
    return [p.text for p in doc.paragraphs]


def test_person_report_counts_the_evidence_they_submitted(
    person_report: Any, story: dict[str, Any]
) -> None:
    """§II lists the evidence the person submitted; §III counts their submission."""
    body = "\n".join(_body(person_report))
    assert "Không có tài liệu kiểm chứng" not in body
    evidence = person_report.tables[1]
    assert evidence.rows[0].cells[0].text == "ID"
    row = [c.text for c in evidence.rows[1].cells]
    assert row[0] == str(story["via_task"]["id"])
    assert row[1] == "Nhiệm vụ NV-01"
    assert row[3] == "Yêu cầu bổ sung, chỉnh sửa"
    assert row[4] == story["via_task"]["sha256"]
    assert "Số thao tác trên tài liệu kiểm chứng: 1 (nộp tài liệu: 1;" in body


def test_person_report_title_has_no_login_id(person_report: Any) -> None:
    """The title names the person and their title, not their login id."""
    body = _body(person_report)
    title = body.index("BÁO CÁO")
    assert body[title + 1 : title + 3] == [
        "Kết quả kiểm tra hồ sơ, nhật ký",
        "Ngô Thị Hà, Chuyên viên Phòng Kinh tế, Hạ tầng và Đô thị",
    ]
    assert not [line for line in body if KT_OFFICIAL in line]


def test_person_report_appendix_in_words(person_report: Any) -> None:
    """The appendix names roles and actions in Vietnamese words, without their codes."""
    appendix = person_report.tables[-1]
    roles = {row.cells[3].text for row in appendix.rows[1:]}
    actions = {row.cells[5].text for row in appendix.rows[1:]}
    assert roles == {"Công chức đơn vị"}
    assert "Bắt đầu thực hiện" in actions
    assert "Tạo mới" in actions
    assert not [a for a in actions if "(" in a]


def test_person_report_citation_and_header(person_report: Any) -> None:
    """The appendix cites the inspection team plainly; the header breaks between names."""
    citation = next(line for line in _body(person_report) if line.startswith("(Kèm theo"))
    assert citation.endswith(
        "/BC-ĐKT ngày 01/12/2025 của Đoàn kiểm tra cải cách hành chính phường Phù Liễn)"
    )
    left = person_report.tables[0].rows[0].cells[0]
    assert [p.text for p in left.paragraphs][:3] == [
        "ỦY BAN NHÂN DÂN PHƯỜNG\u00a0PHÙ\u00a0LIỄN",
        "ĐOÀN KIỂM TRA",
        "CẢI CÁCH HÀNH CHÍNH",
    ]
    assert any(line.endswith("./.") for line in _body(person_report))


def test_inspection_report_prints_the_signed_checkpoint(
    cli: Cli, story: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a signing key, the DOCX inspection report states the signed checkpoint it took."""
    monkeypatch.delenv("CCHC_SIGNING_KEY", raising=False)
    ok(cli("keys", "init"))
    report = tmp_path / "bao-cao-kiem-tra.docx"
    ok(
        cli(
            "audit",
            "history",
            "--criterion",
            "1.1.3",
            "--plan",
            PLAN,
            "--as",
            INSPECTOR,
            "--docx",
            str(report),
        )
    )
    text = "\n".join(p.text for p in Document(str(report)).paragraphs)
    assert "Điểm neo nhật ký đã ký số (Ed25519)" in text
    assert "dấu vân tay khóa ký SHA256:" in text
