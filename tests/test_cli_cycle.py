"""The `cchc` commands of the reform cycle: plan, tasks, evidence, metrics, score, rank, export."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cchc.cli import app
from cchc.commands import cycle_common
from tests.conftest import Clock

runner = CliRunner()

PLAN = "KH-2025-H2"
FOCAL = "nguyen.thi.lan"  # focal official, Phòng Văn hóa - Xã hội (vhxh)
KT_OFFICIAL = "ngo.thi.ha"  # official of Phòng Kinh tế, Hạ tầng và Đô thị (kt)
TTPHC_OFFICIAL = "ta.minh.quan"  # official of Trung tâm Phục vụ hành chính công (ttphc)
VHXH_OFFICIAL = "bui.duc.anh"  # official of vhxh: uploads what the focal official reviews
INSPECTOR = "cu.van.son"  # the inspection team: reads the whole ward
ADMIN = "tran.van.minh"  # the ward's administrator: registers reference data
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

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
    title: Số hóa hồ sơ tại Trung tâm Phục vụ hành chính công
    expected_product: Báo cáo kết quả số hóa
    owner_unit: ttphc
    support_units: [vp]
    deadline: 2025-12-15
    criteria: [3.4.1]
  - code: NV-03
    title: Ban hành Kế hoạch tuyên truyền CCHC năm 2025
    expected_product: Kế hoạch tuyên truyền
    owner_unit: vhxh
    deadline: 2025-12-20
    criteria: [1.4.1]
"""

METRICS_CSV = """\
Mã đơn vị,Kỳ,Chỉ số,Tử số,Mẫu số,Nguồn
ttphc,2025-H2,on_time_dossiers,980,1000,"Cổng DVC, xuất ngày 05/01/2026"
ttphc,2025-H2,online_payments,450,600,"Cổng DVC, xuất ngày 05/01/2026"
"""

Cli = Callable[..., Result]


class Ticking(Clock):
    """A clock that moves one minute every time it is read (events keep their order)."""

    def __call__(self) -> datetime:
        return self.advance(minutes=1)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run `cchc --data-dir <tmp>/var ARGS…` on SQLite, on a clock in November 2025."""
    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 11, 3, 2, 0, tzinfo=UTC)))
    folder = tmp_path / "var"
    env = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(folder), *args], env=env)

    return run


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    """A small plan of Phường Phù Liễn for 2025-H2: three tasks of three units."""
    path = tmp_path / "ke-hoach.yaml"
    path.write_text(PLAN_YAML, encoding="utf-8")
    return path


@pytest.fixture
def issued(cli: Cli, plan_file: Path) -> Cli:
    """A migrated database with the plan issued by the focal official."""
    ok(cli("db", "upgrade"))
    ok(cli("plan", "issue", str(plan_file), "--as", FOCAL))
    return cli


def ok(result: Result) -> Result:
    """The result, after checking it exited 0 (showing its output otherwise)."""
    assert result.exit_code == 0, result.output
    return result


def as_json(result: Result) -> Any:
    """The JSON a successful command printed."""
    return json.loads(ok(result).stdout)


def refusals(cli: Cli) -> list[dict[str, Any]]:
    """Refused events of the audit trail."""
    return list(as_json(cli("audit", "query", "--outcome", "refused", "--as", INSPECTOR, "--json")))


def test_the_whole_cycle_from_the_command_line(cli: Cli, plan_file: Path, tmp_path: Path) -> None:
    """Issue, deliver a task, review evidence, import metrics, score, explain, rank, export."""
    ok(cli("db", "upgrade"))
    issued = ok(cli("plan", "issue", str(plan_file), "--as", FOCAL)).output
    assert "3 nhiệm vụ đã giao" in issued
    assert "57 tiêu chí đã mở" in issued
    again = ok(cli("plan", "issue", str(plan_file), "--as", FOCAL)).output
    assert "không có gì thay đổi" in again
    assert "nothing changed" in again

    tasks = as_json(cli("tasks", "list", "--plan", PLAN, "--as", FOCAL, "--json"))
    assert [(t["code"], t["owner_unit"], t["state"]) for t in tasks] == [
        ("NV-01", "kt", "assigned"),
        ("NV-02", "ttphc", "assigned"),
        ("NV-03", "vhxh", "assigned"),
    ]
    assert tasks[0]["deadline_text"] == "30/11/2025"
    assert tasks[0]["state_label"] == "Đã giao"
    table = ok(cli("tasks", "list", "--unit", "kt", "--as", FOCAL)).stdout
    for heading in ("Mã", "Nhiệm vụ", "Đơn vị chủ trì", "Thời hạn", "Trạng thái", "Sản phẩm"):
        assert heading in table
    assert "Phòng Kinh tế, Hạ tầng và Đô thị" in table
    assert "NV-02" not in table

    ok(cli("tasks", "fire", f"{PLAN}/NV-01", "start", "--as", KT_OFFICIAL))
    ok(
        cli(
            "tasks",
            "fire",
            "NV-01",
            "submit_product",
            "--as",
            KT_OFFICIAL,
            "--product",
            "Báo cáo số 12/BC-KT ngày 20/11/2025",
        )
    )
    accepted = ok(cli("tasks", "fire", "NV-01", "accept_product", "--as", FOCAL)).output
    assert "Đã nộp sản phẩm → Hoàn thành" in accepted
    done = as_json(cli("tasks", "list", "--state", "done", "--as", FOCAL, "--json"))
    assert [(t["code"], t["done_on_time"]) for t in done] == [("NV-01", True)]

    pdf = tmp_path / "Kế hoạch CCHC năm 2025.pdf"
    pdf.write_bytes(PDF)
    sub = as_json(
        cli(
            "evidence",
            "submit",
            str(pdf),
            "--plan",
            PLAN,
            "--target",
            "criterion:1.1.1",
            "--as",
            VHXH_OFFICIAL,
            "--json",
        )
    )
    assert sub["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (sub["state"], sub["version"], sub["original_name"]) == (
        "submitted",
        1,
        "Kế hoạch CCHC năm 2025.pdf",
    )
    reviewed = ok(
        cli(
            "evidence", "review", str(sub["id"]), "accept", "--sha256", sub["sha256"], "--as", FOCAL
        )
    ).output
    assert "Đạt" in reviewed
    listed = as_json(cli("evidence", "list", "--plan", PLAN, "--as", FOCAL, "--json"))
    assert [(e["id"], e["state"], e["target"]) for e in listed] == [
        (sub["id"], "accepted", "criterion:1.1.1")
    ]
    covered = as_json(cli("evidence", "coverage", "--plan", PLAN, "--as", FOCAL, "--json"))
    vhxh = next(u for u in covered["units"] if u["unit"] == "vhxh")
    assert vhxh["covered"] == 1
    assert "1.1.1" not in vhxh["missing"]
    assert "1.1.3" in vhxh["missing"]

    metrics = tmp_path / "chi-so.csv"
    metrics.write_text(METRICS_CSV, encoding="utf-8")
    imported = as_json(
        cli(
            "metrics",
            "import",
            str(metrics),
            "--period",
            "2025-H2",
            "--as",
            TTPHC_OFFICIAL,
            "--json",
        )
    )
    assert (imported["rows"], imported["already_present"]) == (2, False)

    card = as_json(cli("score", "run", "--plan", PLAN, "--as", FOCAL, "--json"))
    subs = {s["code"]: s for s in card["sub_criteria"]}
    assert subs["1.1.1"]["points"] == "1.00"
    assert (subs["1.1.3"]["inputs"]["numerator"], subs["1.1.3"]["inputs"]["denominator"]) == (
        "1",
        "3",
    )
    assert subs["3.2.1"]["points"] == "4.00"
    assert [a["code"] for a in card["areas"]] == ["1", "2", "3", "4", "5", "6", "7"]
    assert "1.1.3" in card["waiting_explanation"]
    assert "1.1.1" not in card["waiting_explanation"]
    text = ok(cli("score", "run", "--plan", PLAN, "--as", FOCAL)).stdout
    assert "TỔNG CỘNG" in text
    assert "Chờ giải trình" in text

    explained = as_json(cli("score", "explain", "1.1.3", "--plan", PLAN, "--as", FOCAL, "--json"))
    assert explained["rule"]["type"] == "tiers"
    assert explained["inputs"]["source"] == (
        f"nhiệm vụ của kế hoạch {PLAN} có thời hạn đến 31/12/2025, không tính nhiệm vụ đã hủy"
    )
    assert explained["index_set"] == "par-2025-ward-sample"
    assert explained["index_set_is_current"]
    assert "(1/3)" in explained["explanation"]
    shown = ok(cli("score", "explain", "3.2.1", "--plan", PLAN, "--as", FOCAL)).stdout
    assert "980/1.000" in shown
    assert "Cổng DVC" in shown

    risky = as_json(cli("score", "at-risk", "--plan", PLAN, "--as", FOCAL, "--json"))
    ttphc = next(u for u in risky["units"] if u["unit"] == "ttphc")
    assert "3.2.1" in [s["code"] for s in ttphc["sub_criteria"]]

    ranking = as_json(cli("rank", "run", "--plan", PLAN, "--as", FOCAL, "--publish", "--json"))
    assert ranking["published"] is True
    assert [r["rank"] for r in ranking["rows"]] == [1, 2, 3, 4, 5]
    assert {r["unit"] for r in ranking["rows"]} == {"vhxh", "vp", "kt", "ttphc", "ttsnc"}
    assert all(r["explanation"].startswith(f"Hạng {r['rank']}:") for r in ranking["rows"])
    table = ok(cli("rank", "run", "--plan", PLAN, "--as", FOCAL)).stdout
    for heading in ("Hạng", "Đơn vị", "Điểm", "Xếp loại", "Giải thích"):
        assert heading in table

    out = str(tmp_path / "out")
    exported = as_json(cli("export", "--plan", PLAN, "--out", out, "--as", FOCAL, "--json"))
    assert exported["ranking_id"] == ranking["ranking_id"]
    assert {Path(f).suffix for f in exported["files"]} == {".xlsx", ".docx", ".png"}
    assert all(Path(f).is_file() for f in exported["files"])

    assert "audit chain intact" in ok(cli("audit", "verify", "--as", INSPECTOR)).output


def test_unknown_person_is_refused_with_a_hint(cli: Cli, plan_file: Path) -> None:
    """An unknown --as exits 2 naming the closest person, and issues nothing."""
    ok(cli("db", "upgrade"))
    result = cli("plan", "issue", str(plan_file), "--as", "nguyen.thi.lann")
    assert result.exit_code == 2
    assert "did you mean 'nguyen.thi.lan'?" in result.output
    assert as_json(cli("tasks", "list", "--as", FOCAL, "--json")) == []


def test_official_of_another_unit_is_refused_and_audited(issued: Cli) -> None:
    """An official submitting another unit's product is refused by own_unit, and it is audited."""
    result = issued(
        "tasks", "fire", "NV-01", "submit_product", "--as", TTPHC_OFFICIAL, "--product", "Báo cáo"
    )
    assert result.exit_code == 1
    assert "own_unit" in result.output
    assert "đã được ghi vào nhật ký kiểm tra" in " ".join(result.output.split())
    refused = refusals(issued)
    assert [(e["actor"], e["trigger"], e["ref"]) for e in refused] == [
        (TTPHC_OFFICIAL, "submit_product", f"{PLAN}/NV-01")
    ]
    tasks = as_json(issued("tasks", "list", "--unit", "kt", "--as", FOCAL, "--json"))
    assert [t["state"] for t in tasks] == ["assigned"]
    assert "audit chain intact" in ok(issued("audit", "verify", "--as", INSPECTOR)).output


def test_a_returned_task_lists_the_reason_it_was_returned(issued: Cli) -> None:
    """`tasks list --json` gives the reason the focal unit returned a product with."""
    ok(issued("tasks", "fire", "NV-01", "submit_product", "--as", KT_OFFICIAL, "--product", "BC"))
    ok(
        issued(
            "tasks", "fire", "NV-01", "return_product", "--as", FOCAL, "--reason", "Thiếu phụ lục"
        )
    )
    (task,) = [
        t
        for t in as_json(issued("tasks", "list", "--as", FOCAL, "--json"))
        if t["ref"].endswith("NV-01")
    ]
    assert (task["state"], task["reason"]) == ("returned", "Thiếu phụ lục")


def test_missing_product_is_a_usage_error(issued: Cli) -> None:
    """submit_product without --product exits 2 before anything reaches the engine."""
    result = issued("tasks", "fire", "NV-01", "submit_product", "--as", KT_OFFICIAL)
    assert result.exit_code == 2
    assert "--product" in result.output
    assert refusals(issued) == []


def test_evidence_of_another_unit_and_wrong_hash_are_refused(issued: Cli, tmp_path: Path) -> None:
    """Evidence for another unit's criterion is not permitted; a stale hash is refused, audited."""
    pdf = tmp_path / "bao-cao.pdf"
    pdf.write_bytes(PDF)
    other = issued(
        "evidence",
        "submit",
        str(pdf),
        "--plan",
        PLAN,
        "--target",
        "criterion:1.1.3",
        "--as",
        KT_OFFICIAL,
    )
    assert other.exit_code == 1
    assert "không được nộp tài liệu kiểm chứng" in " ".join(other.output.split())
    sub = as_json(
        issued(
            "evidence",
            "submit",
            str(pdf),
            "--plan",
            PLAN,
            "--target",
            "task:NV-01",
            "--as",
            KT_OFFICIAL,
            "--json",
        )
    )
    stale = issued(
        "evidence", "review", str(sub["id"]), "accept", "--sha256", "0" * 64, "--as", FOCAL
    )
    assert stale.exit_code == 1
    assert "hash_matches" in stale.output
    assert [e["trigger"] for e in refusals(issued)] == ["create", "accept"]
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"not a pdf at all")
    rejected = issued(
        "evidence",
        "submit",
        str(fake),
        "--plan",
        PLAN,
        "--target",
        "task:NV-01",
        "--as",
        KT_OFFICIAL,
    )
    assert rejected.exit_code == 1
    assert "content_mismatch" in rejected.output


def test_bad_metrics_file_lists_every_problem(issued: Cli, tmp_path: Path) -> None:
    """A metrics file with bad rows is refused whole, each problem as file:row: CODE message."""
    bad = tmp_path / "chi-so-loi.csv"
    bad.write_text(
        "Mã đơn vị,Kỳ,Chỉ số,Tử số,Mẫu số,Nguồn\n"
        "ttphcc,2025-H2,on_time_dossiers,980,1000,Cổng DVC\n"
        "ttphc,2025-H2,online_paymnts,450,600,Cổng DVC\n"
        "ttphc,2025-H1,on_time_dossiers,1200,1000,Cổng DVC\n",
        encoding="utf-8",
    )
    result = issued("metrics", "import", str(bad), "--period", "2025-H2", "--as", TTPHC_OFFICIAL)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"{bad}:2: CCHC-M003 row 2, column A (unit): unknown unit 'ttphcc'" in lines[0]
    assert any(
        line.startswith(f"{bad}:3: CCHC-M003") and "online_paymnts" in line for line in lines
    )
    assert sum(line.startswith(f"{bad}:4: CCHC-M003") for line in lines) == 2
    assert "nothing was written" in result.stderr
    assert (
        as_json(issued("audit", "query", "--kind", "metric_import", "--as", INSPECTOR, "--json"))
        == []
    )


def test_score_explain_needs_a_run_and_a_known_code(issued: Cli) -> None:
    """Explaining before any scoring run, or an unknown code, exits 2 with what to do."""
    before = issued("score", "explain", "1.1.3", "--plan", PLAN, "--as", FOCAL)
    assert before.exit_code == 2
    assert "cchc score run" in before.output
    ok(issued("score", "run", "--plan", PLAN, "--as", FOCAL, "--json"))
    unknown = issued("score", "explain", "1.1.33", "--plan", PLAN, "--as", FOCAL)
    assert unknown.exit_code == 2
    assert "did you mean" in unknown.output
    wrong_plan = issued("score", "run", "--plan", "KH-2025-H3", "--as", FOCAL)
    assert wrong_plan.exit_code == 2
    assert f"did you mean {PLAN!r}?" in wrong_plan.output


def test_ranking_by_someone_without_the_roles_writes_nothing(issued: Cli) -> None:
    """The Chairman may publish but not compile a ranking: refused before any score is stored."""
    result = issued("rank", "run", "--plan", PLAN, "--as", "dang.van.thang", "--publish")
    assert result.exit_code == 1
    assert "nothing was written" in result.output
    assert issued("score", "explain", "1.1.3", "--plan", PLAN, "--as", FOCAL).exit_code == 2
    assert [(e["actor"], e["outcome"]) for e in refusals(issued)] == [
        ("dang.van.thang", "refused")
    ]  # only the refusal is recorded


def test_plan_template_round_trips_through_check(cli: Cli, tmp_path: Path) -> None:
    """The template workbook passes `plan check`; the empty one asks for tasks."""
    sample, empty = tmp_path / "mau.xlsx", tmp_path / "trong.xlsx"
    ok(cli("plan", "template", str(sample)))
    checked = as_json(cli("plan", "check", str(sample), "--json"))
    assert checked["tenant"] == "phuong-phu-lien"
    assert len(checked["tasks"]) == 3
    ok(cli("plan", "template", str(empty), "--empty"))
    result = cli("plan", "check", str(empty))
    assert result.exit_code == 1
    assert "CCHC-P003" in result.stdout
    assert cli("plan", "template", str(sample)).exit_code == 2  # exists: needs --force


def test_reference_data_check_and_show(cli: Cli, tmp_path: Path) -> None:
    """org and index-set: check passes on the samples, show lists them, a bad file exits 1."""
    assert "17 người" in ok(cli("org", "check")).output
    people = ok(cli("org", "show")).stdout
    assert "Họ và tên" in people
    assert "Công chức đầu mối CCHC" in people
    org = as_json(cli("org", "show", "--json"))
    assert org["focal_unit"] == "vhxh"
    assert len(org["units"]) == 5
    assert "57 tiêu chí thành phần" in ok(cli("index-set", "check")).output
    shown = as_json(cli("index-set", "show", "--json"))
    first = shown["areas"][0]["criteria"][0]["sub_criteria"][0]
    assert (first["code"], first["owner_unit"]) == ("1.1.1", "vhxh")
    assert "Đơn vị phụ trách" in ok(cli("index-set", "show")).stdout
    source = Path(__file__).resolve().parent.parent / "definitions/index-sets"
    text = (source / "par-2025-ward-sample.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bo-chi-so.yaml"
    bad.write_text(text.replace("owner_unit: ttsnc", "owner_unit: ttsncc", 1), encoding="utf-8")
    result = cli("index-set", "check", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:" in result.stdout
    assert "CCHC-I009" in result.stdout
    assert "did you mean 'ttsnc'?" in result.stdout


def test_cycle_commands_on_an_empty_data_dir_say_to_upgrade(cli: Cli) -> None:
    """Without a schema the cycle commands tell the user to run `cchc db upgrade`."""
    result = cli("tasks", "list", "--as", FOCAL)
    assert result.exit_code == 2
    assert "cchc db upgrade" in result.output


def test_assessment_is_self_scored_approved_by_its_head_and_locked(issued: Cli) -> None:
    """A unit head approves only their unit's criteria; the Chairman locks an approved one."""
    kt_head, other_head, chairman = "pham.quoc.khanh", "dinh.thi.bich.ngoc", "dang.van.thang"
    ok(
        issued(
            "assessments",
            "fire",
            "6.2.1",
            "self_score",
            "--plan",
            PLAN,
            "--as",
            KT_OFFICIAL,
            "--points",
            "5.2",
            "--explanation",
            "Đang chờ xác nhận của Kho bạc",
        )
    )
    refused = issued("assessments", "fire", "6.2.1", "approve", "--plan", PLAN, "--as", other_head)
    assert refused.exit_code == 1
    assert "own_unit" in refused.output
    ok(issued("assessments", "fire", "6.2.1", "approve", "--plan", PLAN, "--as", kt_head))
    locked = as_json(
        issued("assessments", "fire", "6.2.1", "lock", "--plan", PLAN, "--as", chairman, "--json")
    )
    assert locked["to_state"] == "locked"
    listing = ("assessments", "list", "--plan", PLAN, "--unit", "kt", "--as", FOCAL)
    rows = as_json(issued(*listing, "--json"))
    assert {r["code"]: r["state"] for r in rows}["6.2.1"] == "locked"
    assert "Đã khóa" in ok(issued(*listing)).output


def test_the_chairman_locks_every_approved_assessment_at_once(issued: Cli) -> None:
    """`assessments lock-approved` locks the approved assessments only, all at once; as a unit
    head it is refused and locks nothing."""
    kt_head, chairman = "pham.quoc.khanh", "dang.van.thang"
    for code in ("6.2.1", "6.3.1"):
        ok(
            issued(
                "assessments",
                "fire",
                code,
                "self_score",
                "--plan",
                PLAN,
                "--as",
                KT_OFFICIAL,
                "--points",
                "1",
            )
        )
    ok(issued("assessments", "fire", "6.2.1", "approve", "--plan", PLAN, "--as", kt_head))
    refused = issued("assessments", "lock-approved", "--plan", PLAN, "--as", kt_head)
    assert refused.exit_code == 1
    assert "không có quyền" in refused.output
    done = as_json(
        issued("assessments", "lock-approved", "--plan", PLAN, "--as", chairman, "--json")
    )
    assert done == {"plan": PLAN, "locked": ["6.2.1"]}
    listing = ("assessments", "list", "--plan", PLAN, "--unit", "kt", "--as", FOCAL, "--json")
    states = {r["code"]: r["state"] for r in as_json(issued(*listing))}
    assert (states["6.2.1"], states["6.3.1"]) == ("locked", "self_scored")


def test_one_meaning_of_late_in_tasks_list_and_ranking(
    issued: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A product after the deadline is late in the list (JSON and table) and the ranking alike."""
    # NV-01 is due Sunday 30/11/2025: the deadline moves to Monday 01/12 (BLDS art. 148(5)).
    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 12, 1, 2, 0, tzinfo=UTC)))
    ok(issued("tasks", "fire", "NV-01", "submit_product", "--as", KT_OFFICIAL, "--product", "BC"))
    ok(issued("tasks", "fire", "NV-01", "accept_product", "--as", FOCAL))
    # NV-02 is due Monday 15/12/2025; its product comes on Wednesday 17/12, 2 working days late.
    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 12, 17, 2, 0, tzinfo=UTC)))
    ok(
        issued(
            "tasks", "fire", "NV-02", "submit_product", "--as", TTPHC_OFFICIAL, "--product", "BC"
        )
    )
    ok(issued("tasks", "fire", "NV-02", "accept_product", "--as", FOCAL))
    tasks = as_json(issued("tasks", "list", "--plan", PLAN, "--as", FOCAL, "--json"))
    assert [
        (t["code"], t["state"], t["late"], t["working_days_late"], t["done_on_time"]) for t in tasks
    ] == [
        ("NV-01", "done", False, 0, True),
        ("NV-02", "done", True, 2, False),
        ("NV-03", "assigned", False, 0, False),
    ]
    shown = ok(issued("tasks", "list", "--plan", PLAN, "--as", FOCAL)).stdout
    assert "Hoàn thành (trễ 2 ngày làm việc)" in " ".join(shown.split())
    assert shown.count("trễ") == 1
    ranking = as_json(issued("rank", "run", "--plan", PLAN, "--as", FOCAL, "--json"))
    explained = {r["unit"]: r["explanation"] for r in ranking["rows"]}
    assert "1 việc quá hạn" in explained["ttphc"]
    assert "không có việc quá hạn" in explained["kt"]


def test_points_at_risk_name_the_evidence_gap(issued: Cli, tmp_path: Path) -> None:
    """A qualitative sub-criterion at full points without accepted evidence is at risk."""
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text('"2.1.1": {level: full, explanation: Đang bổ sung hồ sơ}\n', "utf-8")
    ok(issued("score", "run", "--plan", PLAN, "--as", FOCAL, "--inputs", str(inputs)))
    risk = as_json(
        issued("score", "at-risk", "--plan", PLAN, "--unit", "vp", "--as", FOCAL, "--json")
    )
    (unit,) = risk["units"]
    sub = next(s for s in unit["sub_criteria"] if s["code"] == "2.1.1")
    assert (sub["points"], sub["lost"], sub["evidence_complete"]) == ("2.00", "0.00", False)
    assert (sub["evidence_gap"], sub["points_at_risk"]) == ("2.00", "2.00")
    assert Decimal(unit["points_at_risk"]) == sum(
        Decimal(s["points_at_risk"]) for s in unit["sub_criteria"]
    )
    table = ok(issued("score", "at-risk", "--plan", PLAN, "--unit", "vp", "--as", FOCAL)).stdout
    assert "2.1.1 (2,00/2,00; thiếu tài liệu kiểm chứng: 2,00)" in " ".join(table.split())
    explained = as_json(
        issued("score", "explain", "2.1.1", "--plan", PLAN, "--as", FOCAL, "--json")
    )
    assert (explained["evidence_complete"], explained["points_at_risk"]) == (False, "2.00")
    text = " ".join(
        ok(issued("score", "explain", "2.1.1", "--plan", PLAN, "--as", FOCAL)).stdout.split()
    )
    assert "chưa có tài liệu kiểm chứng được chấp nhận" in text
    assert "2,00 điểm có nguy cơ bị trừ khi thẩm định" in text


@pytest.mark.parametrize(
    ("code", "first"),
    [("7.1", "7.1.1"), ("7", "7.1.1"), ("7.1.4", "7.1.3"), ("1.1.33", "1.1.3")],
)
def test_explain_suggests_the_codes_under_a_criterion_first(
    issued: Cli, code: str, first: str
) -> None:
    """`score explain 7.1` suggests 7.1.1 (what 7.1 is scored through), not 7.2.1 or 7.3.1."""
    ok(issued("score", "run", "--plan", PLAN, "--as", FOCAL, "--json"))
    result = issued("score", "explain", code, "--plan", PLAN, "--as", FOCAL)
    assert result.exit_code == 2
    assert f"did you mean {first!r}?" in " ".join(result.output.split())


def test_explain_names_a_criterion_scored_directly_and_a_bonus_item_as_such(
    cli: Cli, tmp_path: Path
) -> None:
    """`score explain 1.2` says «Tiêu chí 1.2», `score explain T.1` «Điểm thưởng, điểm trừ T.1»."""
    from tests.indexset.shapes import write_real_shape

    shaped = str(write_real_shape(tmp_path))
    plan = tmp_path / "ke-hoach.yaml"
    plan.write_text(PLAN_YAML.replace("criteria: [1.1.3]", 'criteria: ["1.2", "T.1"]'), "utf-8")
    ok(cli("db", "upgrade"))
    ok(cli("--index-set", shaped, "plan", "issue", str(plan), "--as", FOCAL))
    ok(cli("--index-set", shaped, "score", "run", "--plan", PLAN, "--as", FOCAL))
    direct = ok(
        cli("--index-set", shaped, "score", "explain", "1.2", "--plan", PLAN, "--as", FOCAL)
    )
    assert direct.stdout.startswith("Tiêu chí 1.2: Báo cáo cải cách hành chính")
    bonus = ok(cli("--index-set", shaped, "score", "explain", "T.1", "--plan", PLAN, "--as", FOCAL))
    assert bonus.stdout.startswith("Điểm thưởng, điểm trừ T.1: Sáng kiến")


def test_a_refused_command_reads_as_one_vietnamese_sentence(issued: Cli) -> None:
    """Locking an open assessment exits 1 with a Vietnamese sentence naming its state and the
    actions possible now, then the reason code; no English sentence sits in the line."""
    chairman = "dang.van.thang"
    result = issued("assessments", "fire", "6.2.1", "lock", "--plan", PLAN, "--as", chairman)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "Thao tác bị từ chối – thao tác không hợp lệ ở trạng thái này: " in text
    assert "đang ở trạng thái “Đang mở” nên không thể “Khóa kết quả”" in text
    assert "các thao tác làm được lúc này: “Tự chấm điểm”" in text
    assert "Mã lý do: trigger_not_allowed/trigger_from_state" in text
    assert "cannot fire" not in text
    assert "refused:" not in text


def test_nobody_decides_on_what_they_submitted_from_the_command_line(
    issued: Cli, tmp_path: Path
) -> None:
    """The focal official (also vhxh's official) cannot accept her own product or evidence, nor a
    unit head approve his own self-score: refused in Vietnamese, audited; another person may."""
    ok(issued("tasks", "fire", "NV-03", "submit_product", "--as", FOCAL, "--product", "KH 01"))
    own_product = issued("tasks", "fire", "NV-03", "accept_product", "--as", FOCAL)
    assert own_product.exit_code == 1
    assert "người đã nộp không được tự quyết định" in own_product.output
    assert "separation_of_duties" in own_product.output
    pdf = tmp_path / "Kế hoạch tuyên truyền.pdf"
    pdf.write_bytes(PDF)
    sub = as_json(
        issued(
            "evidence",
            "submit",
            str(pdf),
            "--plan",
            PLAN,
            "--target",
            "criterion:1.1.1",
            "--as",
            FOCAL,
            "--json",
        )
    )
    own_evidence = issued(
        "evidence", "review", str(sub["id"]), "accept", "--sha256", sub["sha256"], "--as", FOCAL
    )
    assert own_evidence.exit_code == 1
    assert "separation_of_duties" in own_evidence.output
    kt_head = "pham.quoc.khanh"
    ok(
        issued(
            "assessments",
            "fire",
            "6.2.1",
            "self_score",
            "--plan",
            PLAN,
            "--as",
            kt_head,
            "--points",
            "5.2",
            "--explanation",
            "Đang chờ xác nhận của Kho bạc",
        )
    )
    own_score = issued("assessments", "fire", "6.2.1", "approve", "--plan", PLAN, "--as", kt_head)
    assert own_score.exit_code == 1
    assert "separation_of_duties" in own_score.output
    refused = [(e["actor"], e["trigger"]) for e in refusals(issued)]
    assert refused == [(FOCAL, "accept_product"), (FOCAL, "accept"), (kt_head, "approve")]
    assert all(e["reason"].startswith("separation_of_duties: ") for e in refusals(issued))
    tasks = as_json(issued("tasks", "list", "--unit", "vhxh", "--as", FOCAL, "--json"))
    assert [t["state"] for t in tasks] == ["product_submitted"]
    ok(
        issued(
            "assessments",
            "fire",
            "6.2.1",
            "self_score",
            "--plan",
            PLAN,
            "--as",
            KT_OFFICIAL,
            "--points",
            "5.2",
            "--explanation",
            "Đang chờ xác nhận của Kho bạc",
        )
    )
    ok(issued("assessments", "fire", "6.2.1", "approve", "--plan", PLAN, "--as", kt_head))
    assert "audit chain intact" in ok(issued("audit", "verify", "--as", INSPECTOR)).output


def test_tasks_list_and_ranking_use_the_registered_calendar_and_bands(
    issued: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task state label, a day off and band labels an admin applied count in `tasks list` and
    `rank run` run without the definitions folder (the shipped files differ)."""
    folder = tmp_path / "definitions"
    shutil.copytree(Path(__file__).resolve().parent.parent / "definitions", folder)
    task = folder / "workflows" / "task.yaml"
    text = re.sub(
        r"(?m)^version: (\d+)$",
        lambda m: f"version: {int(m[1]) + 1}",
        task.read_text("utf-8"),
        count=1,
    )
    task.write_text(text.replace("label: Đã giao\n", "label: Đã giao (bản đăng ký)\n", 1), "utf-8")
    calendar = folder / "calendar.yaml"
    day_off = 'days_off:\n  2025-12-16: "Nghỉ theo văn bản thử"\n'
    calendar.write_text(calendar.read_text("utf-8").replace("days_off:\n", day_off, 1), "utf-8")
    emulation = folder / "emulation.yaml"
    emulation.write_text(
        re.sub(r"(?m)^(  - label: .+)$", r"\1 (bản đăng ký)", emulation.read_text("utf-8")), "utf-8"
    )
    applied = runner.invoke(
        app,
        ["--data-dir", str(tmp_path / "var"), "definitions", "apply", "--as", ADMIN, "--yes"],
        env={
            "CCHC_DATABASE_URL": "",
            "CCHC_ORGANIZATION": "",
            "CCHC_INDEX_SET": "",
            "CCHC_DEFINITIONS_DIR": str(folder),
        },
    )
    assert applied.exit_code == 0, applied.output
    # NV-02 is due Monday 15/12/2025; Tuesday 16/12 is now a day off: Wednesday is 1 day late.
    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 12, 17, 2, 0, tzinfo=UTC)))
    ok(
        issued(
            "tasks", "fire", "NV-02", "submit_product", "--as", TTPHC_OFFICIAL, "--product", "BC"
        )
    )
    ok(issued("tasks", "fire", "NV-02", "accept_product", "--as", FOCAL))
    tasks = as_json(issued("tasks", "list", "--plan", PLAN, "--as", FOCAL, "--json"))
    assert {t["code"]: t["working_days_late"] for t in tasks}["NV-02"] == 1
    assert {t["code"]: t["state_label"] for t in tasks}["NV-03"] == "Đã giao (bản đăng ký)"
    ranking = as_json(issued("rank", "run", "--plan", PLAN, "--as", FOCAL, "--json"))
    assert ranking["rows"]
    assert all(r["band"].endswith(" (bản đăng ký)") for r in ranking["rows"]), ranking["rows"]
