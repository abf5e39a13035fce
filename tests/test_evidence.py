"""Evidence for a plan's sub-criteria and tasks: submitting, versions, reviews bound to a hash,
coverage per sub-criterion and per unit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from cchc.evidence.service import (
    CoverageLine,
    Decision,
    EvidenceSubmission,
    UnitCoverage,
    coverage,
    coverage_by_unit,
    review_evidence,
    submit_evidence,
)
from cchc.evidence.store import EvidenceRejected, EvidenceStore, RejectReason
from cchc.organization.model import Organization, load_organization
from cchc.plan.issue import CriterionToOpen, issue_plan
from cchc.plan.models import Decision as PlanDecision
from cchc.plan.models import Period, Plan, PlanTask
from tests.conftest import Db
from tests.helpers import count
from workflows.database import unit_of_work
from workflows.engine import Engine, FireResult
from workflows.errors import GuardFailedError, InstanceNotFoundError, PayloadInvalidError
from workflows.registry import Actor

ROOT = Path(__file__).resolve().parent.parent
ROLES = frozenset(
    yaml.safe_load((ROOT / "definitions" / "roles.yaml").read_text(encoding="utf-8"))["roles"]
)
TENANT = "phuong-phu-lien"

PLAN = Plan(
    code="KH-2025-H2",
    title="Kế hoạch cải cách hành chính 6 tháng cuối năm 2025",
    tenant=TENANT,
    decision=PlanDecision(number="337/QĐ-UBND", date=date(2025, 7, 29)),
    period=Period(
        code="2025-H2",
        start=date(2025, 7, 1),
        end=date(2025, 12, 31),
        label="6 tháng cuối năm 2025",
    ),
    index_set="PAR-XA-2025",
    tasks=(
        PlanTask(
            code="NV-01",
            title="Rà soát thủ tục hành chính lĩnh vực đất đai",
            expected_product="Báo cáo rà soát",
            owner_unit="kt",
            deadline=date(2025, 10, 31),
            criteria=("1.1.3",),
        ),
        PlanTask(
            code="NV-02",
            title="Số hóa hồ sơ tại Trung tâm Phục vụ hành chính công",
            expected_product="Báo cáo kết quả số hóa",
            owner_unit="ttphc",
            deadline=date(2025, 11, 30),
            criteria=("1.2.1",),
        ),
    ),
)
CRITERIA = (
    CriterionToOpen("1.1.1", "Ban hành kế hoạch CCHC đúng thời hạn", "1", "vhxh", "Kế hoạch"),
    CriterionToOpen("1.1.3", "Mức độ hoàn thành kế hoạch CCHC", "2", "kt", "Báo cáo"),
    CriterionToOpen("1.2.1", "Số hóa hồ sơ, kết quả giải quyết TTHC", "1", "kt", "Báo cáo"),
)


def pdf(text: str) -> bytes:
    """A small PDF-looking file whose content (and so whose hash) depends on ``text``."""
    return b"%PDF-1.7\n% " + text.encode() + b"\n" + bytes(range(256)) + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def org() -> Organization:
    return load_organization(ROOT / "definitions" / "organizations" / "phu-lien.yaml", ROLES)


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "data" / "evidence")


@pytest.fixture
def lan(org: Organization) -> Actor:
    """The focal official (Phòng VH-XH): reviews evidence, may submit for any unit."""
    return org.actor("nguyen.thi.lan")


@pytest.fixture
def ha(org: Organization) -> Actor:
    """An official of Phòng Kinh tế (kt), owner of 1.1.3, 1.2.1 and task NV-01."""
    return org.actor("ngo.thi.ha")


@pytest.fixture
def quan(org: Organization) -> Actor:
    """An official of the one-stop shop (ttphc), owner of task NV-02."""
    return org.actor("ta.minh.quan")


@pytest.fixture
def anh(org: Organization) -> Actor:
    """An official of Phòng VH-XH without the focal role."""
    return org.actor("bui.duc.anh")


@pytest.fixture
def plan(db: Db, engine: Engine, org: Organization, lan: Actor) -> Plan:
    with unit_of_work(db.sessions) as session:
        issue_plan(session, engine, PLAN, CRITERIA, lan, {u.code: u.name for u in org.units})
    return PLAN


def submit(
    db: Db,
    engine: Engine,
    store: EvidenceStore,
    actor: Actor,
    target: str,
    content: bytes,
    name: str,
    replaces: int | None = None,
) -> EvidenceSubmission:
    with unit_of_work(db.sessions) as session:
        return submit_evidence(
            session,
            engine,
            store,
            actor,
            plan_code=PLAN.code,
            target=target,
            source=content,
            original_name=name,
            replaces=replaces,
        )


def review(
    db: Db,
    engine: Engine,
    actor: Actor,
    evidence_id: int,
    decision: Decision,
    sha256: str,
    reason: str | None = None,
) -> FireResult:
    with unit_of_work(db.sessions) as session:
        return review_evidence(
            session, engine, actor, evidence_id, decision, sha256=sha256, reason=reason
        )


def state_of(db: Db, engine: Engine, instance_id: int) -> str:
    with db.sessions() as session:
        return engine.get(session, instance_id).state


def lines_of(db: Db) -> dict[str, CoverageLine]:
    with db.sessions() as session:
        return {line.code: line for line in coverage(session, TENANT, PLAN.code)}


def written(db: Db) -> tuple[int, int]:
    """(instances, audit events) in the database."""
    return count(db, "instances"), count(db, "audit_events")


@pytest.mark.usefixtures("plan")
def test_accepted_evidence_covers_its_criterion(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor, lan: Actor
) -> None:
    """Evidence accepted with the hash it was stored under makes its sub-criterion covered."""
    sub = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "Báo cáo rà soát.pdf")
    assert (sub.state, sub.version, sub.already_present) == ("submitted", 1, False)
    assert sub.ref == f"KH-2025-H2/criterion:1.1.3/{sub.sha256[:16]}"
    with db.sessions() as session:
        data = engine.get(session, sub.instance_id).data
    assert data == {
        "plan": "KH-2025-H2",
        "target": "criterion:1.1.3",
        "target_kind": "criterion",
        "target_code": "1.1.3",
        "owner_unit": "kt",
        "sha256": sub.sha256,
        "size": sub.size,
        "media_type": "application/pdf",
        "original_name": "Báo cáo rà soát.pdf",
        "version": 1,
        "supersedes": None,
    }
    assert not lines_of(db)["1.1.3"].covered

    result = review(db, engine, lan, sub.instance_id, "accept", sub.sha256)

    assert (result.source, result.dest) == ("submitted", "accepted")
    line = lines_of(db)["1.1.3"]
    assert line.covered
    assert line.accepted == (sub.instance_id,)
    assert dict(line.counts) == {"accepted": 1}
    assert line.assessment_state == "open"


@pytest.mark.usefixtures("plan")
def test_stale_hash_is_refused_and_audited(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor, lan: Actor
) -> None:
    """A decision naming the hash of an older version is refused by the guard and audited."""
    old = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "bao-cao.pdf")
    new = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v2"), "bao-cao.pdf")
    refused_before = count(db, "audit_events", "outcome = 'refused'")

    with pytest.raises(GuardFailedError, match="hash_matches"):
        review(db, engine, lan, new.instance_id, "accept", old.sha256)

    assert state_of(db, engine, new.instance_id) == "submitted"
    where = (
        f"outcome = 'refused' and instance_id = {new.instance_id} and trigger = 'accept' "
        "and actor = 'nguyen.thi.lan' and reason like 'guard_failed%'"
    )
    assert count(db, "audit_events", where) == 1
    assert count(db, "audit_events", "outcome = 'refused'") == refused_before + 1
    assert not lines_of(db)["1.1.3"].covered


@pytest.mark.usefixtures("plan")
def test_request_changes_requires_a_reason(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor, lan: Actor
) -> None:
    """Requesting changes without a reason is refused; with one it is kept with the hash."""
    sub = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "bao-cao.pdf")

    with pytest.raises(PayloadInvalidError, match="reason"):
        review(db, engine, lan, sub.instance_id, "request_changes", sub.sha256, reason="  ")
    assert state_of(db, engine, sub.instance_id) == "submitted"

    review(db, engine, lan, sub.instance_id, "request_changes", sub.sha256, "Thiếu chữ ký")

    with db.sessions() as session:
        view = engine.get(session, sub.instance_id)
    assert view.state == "changes_requested"
    assert [(r["trigger"], r["sha256"], r["reason"]) for r in view.data["reviews"]] == [
        ("request_changes", sub.sha256, "Thiếu chữ ký")
    ]
    line = lines_of(db)["1.1.3"]
    assert not line.covered
    assert dict(line.counts) == {"changes_requested": 1}


@pytest.mark.usefixtures("plan")
def test_review_of_something_that_is_not_evidence_is_not_found(
    db: Db, engine: Engine, lan: Actor
) -> None:
    """Reviewing an id that is not an evidence instance raises InstanceNotFoundError."""
    with db.sessions() as session:
        task_id = session.execute(
            sa.text("select id from instances where kind = 'task' order by id limit 1")
        ).scalar_one()
    before = written(db)
    with pytest.raises(InstanceNotFoundError):
        review(db, engine, lan, task_id, "accept", "0" * 64)
    with pytest.raises(InstanceNotFoundError):
        review(db, engine, lan, 999_999, "accept", "0" * 64)
    assert written(db) == before


@pytest.mark.usefixtures("plan")
def test_same_file_twice_is_one_instance(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor
) -> None:
    """The same file for the same target returns the existing instance and writes nothing."""
    first = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "bao-cao.pdf")
    before = written(db)

    again = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "ban-sao.pdf")

    assert again.already_present
    assert (again.instance_id, again.ref, again.version) == (first.instance_id, first.ref, 1)
    assert again.original_name == "bao-cao.pdf"
    assert again.superseded == ()
    assert written(db) == before
    assert count(db, "instances", "kind = 'evidence'") == 1


@pytest.mark.usefixtures("plan")
def test_same_file_for_another_target_is_another_instance(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor
) -> None:
    """One file may back two targets: each target gets its own evidence instance."""
    a = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "bao-cao.pdf")
    b = submit(db, engine, store, ha, "task:NV-01", pdf("v1"), "bao-cao.pdf")

    assert a.sha256 == b.sha256
    assert a.instance_id != b.instance_id
    assert not b.already_present
    assert count(db, "instances", "kind = 'evidence'") == 2


@pytest.mark.usefixtures("plan")
def test_new_version_with_the_same_name_supersedes_the_old(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor, lan: Actor
) -> None:
    """A file of the same name with other content supersedes the active one, as version 2."""
    old = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "Báo cáo.pdf")
    review(db, engine, lan, old.instance_id, "accept", old.sha256)
    other = submit(db, engine, store, ha, "criterion:1.1.3", pdf("x"), "Phụ lục.pdf")

    new = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v2"), "BÁO CÁO.pdf")

    assert (new.version, new.supersedes, new.superseded) == (2, old.instance_id, (old.instance_id,))
    assert state_of(db, engine, old.instance_id) == "superseded"
    assert state_of(db, engine, other.instance_id) == "submitted"
    assert state_of(db, engine, new.instance_id) == "submitted"
    where = (
        f"instance_id = {old.instance_id} and trigger = 'supersede' and outcome = 'applied' "
        "and actor = 'ngo.thi.ha' and to_state = 'superseded'"
    )
    assert count(db, "audit_events", where) == 1
    line = lines_of(db)["1.1.3"]
    assert not line.covered  # the accepted version was replaced; the new one awaits review
    assert dict(line.counts) == {"submitted": 2, "superseded": 1}


@pytest.mark.usefixtures("plan")
def test_replaces_supersedes_an_explicit_instance(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor
) -> None:
    """``replaces=`` supersedes the named evidence even when the new file has another name."""
    old = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "du-thao.pdf")

    new = submit(
        db,
        engine,
        store,
        ha,
        "criterion:1.1.3",
        pdf("v2"),
        "ban-chinh-thuc.pdf",
        replaces=old.instance_id,
    )

    assert (new.version, new.supersedes) == (2, old.instance_id)
    assert state_of(db, engine, old.instance_id) == "superseded"
    with db.sessions() as session:
        assert engine.get(session, new.instance_id).data["supersedes"] == old.instance_id

    third = submit(
        db,
        engine,
        store,
        ha,
        "criterion:1.1.3",
        pdf("v3"),
        "ban-cuoi.pdf",
        replaces=new.instance_id,
    )
    assert (third.version, third.supersedes) == (3, new.instance_id)


@pytest.mark.usefixtures("plan")
def test_replaces_also_supersedes_an_active_file_of_the_same_name(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor
) -> None:
    """With ``replaces=``, an active file of the new file's name is superseded too."""
    named = submit(db, engine, store, ha, "criterion:1.1.3", pdf("a1"), "a.pdf")
    other = submit(db, engine, store, ha, "criterion:1.1.3", pdf("b1"), "b.pdf")

    new = submit(db, engine, store, ha, "criterion:1.1.3", pdf("a2"), "a.pdf", other.instance_id)

    assert (new.supersedes, new.version) == (other.instance_id, 2)
    assert new.superseded == tuple(sorted((named.instance_id, other.instance_id)))
    assert state_of(db, engine, named.instance_id) == "superseded"
    assert state_of(db, engine, other.instance_id) == "superseded"


@pytest.mark.usefixtures("plan")
def test_resubmitting_a_superseded_file_returns_it_as_it_stands(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor
) -> None:
    """A file already recorded (even superseded) for the target is returned, not recorded again."""
    old = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "a.pdf")
    submit(db, engine, store, ha, "criterion:1.1.3", pdf("v2"), "a.pdf")
    before = written(db)

    again = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "a.pdf")

    assert (again.instance_id, again.state, again.already_present) == (
        old.instance_id,
        "superseded",
        True,
    )
    assert written(db) == before


@pytest.mark.usefixtures("plan")
def test_replaces_must_name_active_evidence_of_the_same_target(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor
) -> None:
    """Replacing a superseded, foreign or unknown instance is refused before anything is written."""
    old = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "a.pdf")
    submit(db, engine, store, ha, "criterion:1.1.3", pdf("v2"), "a.pdf")
    elsewhere = submit(db, engine, store, ha, "task:NV-01", pdf("t"), "t.pdf")
    before = written(db)

    with pytest.raises(ValueError, match="already superseded"):
        submit(db, engine, store, ha, "criterion:1.1.3", pdf("v3"), "b.pdf", old.instance_id)
    with pytest.raises(ValueError, match="task:NV-01"):
        submit(db, engine, store, ha, "criterion:1.1.3", pdf("v3"), "b.pdf", elsewhere.instance_id)
    with pytest.raises(LookupError, match="#999999"):
        submit(db, engine, store, ha, "criterion:1.1.3", pdf("v3"), "b.pdf", 999_999)
    assert written(db) == before


@pytest.mark.usefixtures("plan")
def test_name_with_dot_dot_is_stored_under_the_root_only(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor, tmp_path: Path
) -> None:
    """A ``../`` file name never becomes a path: the file lands under the store root by hash."""
    sub = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "../../../../etc/bao-cao.pdf")

    root = store.root.resolve()
    assert sub.path.resolve().is_relative_to(root)
    assert sub.path.resolve() == root / sub.sha256[:2] / sub.sha256[2:4] / sub.sha256
    outside = [
        p for p in tmp_path.rglob("*") if p.is_file() and not p.resolve().is_relative_to(root)
    ]
    assert [p.name for p in outside if not p.name.startswith("cchc.sqlite3")] == []
    assert not (tmp_path / "etc").exists()
    with db.sessions() as session:
        assert engine.get(session, sub.instance_id).data["original_name"] == "bao-cao.pdf"


@pytest.mark.usefixtures("plan")
@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (pdf("big") + bytes(2048), "qua-lon.pdf", RejectReason.TOO_LARGE),
        (pdf("exe"), "chuong-trinh.exe", RejectReason.TYPE_NOT_ALLOWED),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "doi-ten.pdf", RejectReason.CONTENT_MISMATCH),
        (b"", "rong.pdf", RejectReason.EMPTY),
    ],
)
def test_refused_file_writes_nothing_to_the_database(
    db: Db, engine: Engine, tmp_path: Path, ha: Actor, content: bytes, name: str, reason: str
) -> None:
    """A file the store refuses (size, type, content) raises EvidenceRejected; nothing written."""
    store = EvidenceStore(tmp_path / "small", max_bytes=1024)
    previous = submit(db, engine, store, ha, "criterion:1.1.3", pdf("ok"), name="bao-cao.pdf")
    before = written(db)

    with pytest.raises(EvidenceRejected) as caught:
        submit(db, engine, store, ha, "criterion:1.1.3", content, name)

    assert caught.value.reason == reason
    assert written(db) == before
    assert state_of(db, engine, previous.instance_id) == "submitted"
    assert [p.name for p in store.root.rglob("*") if p.is_file()] == [previous.sha256]


@pytest.mark.usefixtures("plan")
def test_official_of_another_unit_cannot_submit(
    db: Db, engine: Engine, store: EvidenceStore, anh: Actor, quan: Actor, lan: Actor
) -> None:
    """Officials may submit only for their own unit's targets (else refused, audited); focal any."""
    before = written(db)

    with pytest.raises(PermissionError, match="kt"):
        submit(db, engine, store, anh, "criterion:1.1.3", pdf("v1"), "bao-cao.pdf")
    with pytest.raises(PermissionError):
        submit(db, engine, store, quan, "task:NV-01", pdf("v1"), "bao-cao.pdf")

    assert written(db) == (before[0], before[1] + 2)  # the two refusals, nothing else
    assert count(db, "audit_events", "outcome = 'refused' and trigger = 'create'") == 2
    assert not store.root.exists() or not any(p.is_file() for p in store.root.rglob("*"))
    by_focal = submit(db, engine, store, lan, "criterion:1.1.3", pdf("v1"), "bao-cao.pdf")
    assert by_focal.state == "submitted"


@pytest.mark.usefixtures("plan")
def test_unknown_or_malformed_target_is_refused(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor
) -> None:
    """A target the plan does not have is a LookupError; a malformed one a ValueError."""
    before = written(db)
    with pytest.raises(LookupError, match=r"sub-criterion 9\.9\.9"):
        submit(db, engine, store, ha, "criterion:9.9.9", pdf("v1"), "a.pdf")
    with pytest.raises(LookupError, match="task NV-99"):
        submit(db, engine, store, ha, "task:NV-99", pdf("v1"), "a.pdf")
    with pytest.raises(ValueError, match="criterion:<code>"):
        submit(db, engine, store, ha, "tieu-chi:1.1.3", pdf("v1"), "a.pdf")
    assert written(db) == before


@pytest.mark.usefixtures("plan")
def test_coverage_per_unit_lists_the_missing_codes(
    db: Db, engine: Engine, store: EvidenceStore, ha: Actor, lan: Actor
) -> None:
    """Per unit: covered sub-criteria, the total, and the codes without accepted evidence."""
    with db.sessions() as session:
        assert coverage_by_unit(coverage(session, TENANT, PLAN.code)) == {
            "kt": UnitCoverage(0, 2, ("1.1.3", "1.2.1")),
            "vhxh": UnitCoverage(0, 1, ("1.1.1",)),
        }
    sub = submit(db, engine, store, ha, "criterion:1.1.3", pdf("v1"), "bao-cao.pdf")
    review(db, engine, lan, sub.instance_id, "accept", sub.sha256)

    with db.sessions() as session:
        lines = coverage(session, TENANT, PLAN.code)
        assert coverage(session, "another-ward", PLAN.code) == []
    assert [line.code for line in lines] == ["1.1.1", "1.1.3", "1.2.1"]
    by_unit = coverage_by_unit(lines)
    assert by_unit == {
        "kt": UnitCoverage(covered=1, total=2, missing=("1.2.1",)),
        "vhxh": UnitCoverage(covered=0, total=1, missing=("1.1.1",)),
    }
    assert by_unit["kt"] == (1, 2, ("1.2.1",))


@pytest.mark.usefixtures("plan")
def test_task_evidence_covers_the_task_criteria(
    db: Db, engine: Engine, store: EvidenceStore, quan: Actor, lan: Actor
) -> None:
    """Accepted evidence for a task covers every sub-criterion listed in the task's criteria."""
    sub = submit(db, engine, store, quan, "task:NV-02", pdf("so-hoa"), "ket-qua-so-hoa.pdf")
    with db.sessions() as session:
        data = engine.get(session, sub.instance_id).data
    assert (data["target_kind"], data["target_code"], data["owner_unit"]) == (
        "task",
        "NV-02",
        "ttphc",
    )
    assert dict(lines_of(db)["1.2.1"].counts) == {"submitted": 1}

    review(db, engine, lan, sub.instance_id, "accept", sub.sha256)

    lines = lines_of(db)
    assert lines["1.2.1"].covered
    assert lines["1.2.1"].tasks == ("NV-02",)
    assert lines["1.2.1"].accepted == (sub.instance_id,)
    assert not lines["1.1.3"].covered  # NV-02 does not serve 1.1.3
    assert lines["1.1.3"].tasks == ("NV-01",)
