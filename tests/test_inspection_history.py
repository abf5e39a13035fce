"""The history queries find exactly their subject's events, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cchc.inspection import history as inspection
from cchc.tables import Score
from tests.conftest import TENANT, Clock, Db
from workflows.database import unit_of_work
from workflows.definition.loader import DefinitionSet
from workflows.engine import Engine
from workflows.errors import NotPermittedError
from workflows.registry import Actor

P = "KH-1"
FOCAL = Actor.of("lan", "focal_official", "unit_official", tenant=TENANT, unit="vhxh")
KT = Actor.of("ha", "unit_official", tenant=TENANT, unit="kt")
VHXH = Actor.of("anh", "unit_official", tenant=TENANT, unit="vhxh")
"""Uploads vhxh's evidence: the focal official reviews it and may not review her own."""
INSPECTOR = Actor.of("son", "inspector", tenant=TENANT)


def _sha(letter: str) -> str:
    return letter * 64


@pytest.fixture
def world(db: Db, engine: Engine, clock: Clock) -> dict[str, int]:
    """Two look-alike sub-criteria (1.1.3, 1.1.30), tasks NV-1 and NV-10 serving one each, and
    evidence for each (plus one whose ref differs from a task's only in letter case)."""
    ids: dict[str, int] = {}
    with unit_of_work(db.sessions) as session:
        for code, owner in (("1.1.3", "vhxh"), ("1.1.30", "kt")):
            ids[code] = engine.create(
                session,
                "assessment",
                actor=FOCAL,
                ref=f"{P}/TC-{code}",
                data={"plan": P, "code": code, "title": f"Tiêu chí {code}", "owner_unit": owner},
            ).instance_id
        for code, criterion in (("NV-1", "1.1.3"), ("NV-10", "1.1.30")):
            ids[code] = engine.create(
                session,
                "task",
                actor=FOCAL,
                ref=f"{P}/{code}",
                data={"plan": P, "code": code, "owner_unit": "kt", "criteria": [criterion]},
            ).instance_id
        targets = (
            ("a", "criterion:1.1.3", "vhxh"),
            ("b", "criterion:1.1.30", "kt"),
            ("c", "task:NV-1", "kt"),
            ("d", "task:NV-10", "kt"),
            ("e", "task:nv-1", "kt"),
        )
        for key, target, owner in targets:
            clock.advance(minutes=1)
            ids[key] = engine.create(
                session,
                "evidence",
                actor=KT if owner == "kt" else VHXH,
                ref=f"{P}/{target}/{_sha(key)[:16]}",
                data={
                    "plan": P,
                    "target": target,
                    "owner_unit": owner,
                    "sha256": _sha(key),
                    "original_name": f"{key}.pdf",
                    "version": 1,
                },
            ).instance_id
        clock.advance(days=1)
        engine.fire(session, ids["a"], "accept", actor=FOCAL, payload={"sha256": _sha("a")})
    with pytest.raises(NotPermittedError), unit_of_work(db.sessions) as session:
        engine.create(
            session,
            "evidence",
            actor=INSPECTOR,
            ref=f"{P}/criterion:1.1.3/ffff",
            data={"plan": P, "target": "criterion:1.1.3"},
        )
    return ids


def _labels(definitions: DefinitionSet) -> inspection.Labels:
    return inspection.Labels.of(definitions, people={"lan": "Nguyễn Thị Lan"})


def test_criterion_history_is_exact(
    db: Db, world: dict[str, int], definitions: DefinitionSet
) -> None:
    """1.1.3's history has its evidence and NV-1's, not 1.1.30's, NV-10's or nv-1's; the
    refused creation of evidence for it too."""
    with db.sessions() as session:
        subject = inspection.find_criterion(session, TENANT, P, "1.1.3")
        found = inspection.history(session, subject, _labels(definitions))
    assert subject.tasks == ("NV-1",)
    assert subject.owner_unit == "vhxh"
    evidence = {r.instance_id for r in found.rows if r.kind == "evidence"}
    assert evidence == {world["a"], world["c"], None}
    refused = next(r for r in found.rows if r.outcome == "refused")
    assert (refused.actor, refused.instance_id) == ("son", None)
    assert refused.reason is not None
    assert refused.reason.startswith("không có quyền")
    accepted = next(r for r in found.rows if r.trigger == "accept")
    assert (accepted.sha256, accepted.actor_name) == (_sha("a"), "Nguyễn Thị Lan")
    assert {e["sha256"] for e in found.evidence()} == {_sha("a"), _sha("c")}


def test_task_history_is_exact(db: Db, world: dict[str, int], definitions: DefinitionSet) -> None:
    """NV-1's history has NV-1 and its own evidence only (not NV-10's, not nv-1's)."""
    with db.sessions() as session:
        subject = inspection.find_task(session, TENANT, P, "NV-1")
        found = inspection.history(session, subject, _labels(definitions))
    assert {r.instance_id for r in found.rows} == {world["NV-1"], world["c"]}
    assert subject.owner_unit == "kt"


def test_unit_history_and_period(
    db: Db, world: dict[str, int], definitions: DefinitionSet, clock: Clock
) -> None:
    """kt's history: everything on kt's items and kt's people's acts; the period narrows it."""
    with db.sessions() as session:
        subject = inspection.find_unit(session, TENANT, "kt", ["ha"], title="kt")
        found = inspection.history(session, subject, _labels(definitions))
        later = inspection.history(
            session, subject, _labels(definitions), since=clock.now + timedelta(hours=1)
        )
    kt_items = {world[k] for k in ("1.1.30", "NV-1", "NV-10", "b", "c", "d", "e")}
    assert {r.instance_id for r in found.rows} == kt_items
    assert later.rows == ()


def test_person_history(db: Db, world: dict[str, int], definitions: DefinitionSet) -> None:
    """A person's history is their own acts only, each naming the item and its evidence hash."""
    with db.sessions() as session:
        subject = inspection.find_person(session, TENANT, "ha", title="ha", unit="kt")
        found = inspection.history(session, subject, _labels(definitions))
    assert {r.actor for r in found.rows} == {"ha"}
    assert len(found.rows) == 4
    named = {r.object: r.sha256 for r in found.rows}
    assert named[f"Tài liệu kiểm chứng #{world['c']} (nhiệm vụ NV-1, c.pdf, phiên bản 1)"] == _sha(
        "c"
    )


def test_unknown_subjects_are_lookup_errors(db: Db, world: dict[str, int]) -> None:
    """An unknown sub-criterion or task is a LookupError naming it."""
    with db.sessions() as session:
        with pytest.raises(LookupError, match=r"9\.9"):
            inspection.find_criterion(session, TENANT, P, "9.9")
        with pytest.raises(LookupError, match="NV-99"):
            inspection.find_task(session, TENANT, P, "NV-99")


def test_criterion_history_has_its_score_runs(
    db: Db, world: dict[str, int], definitions: DefinitionSet, clock: Clock
) -> None:
    """Each scoring run of the sub-criterion is a row: its points of the maximum, explained."""
    with unit_of_work(db.sessions) as session:
        for run, (points, code) in enumerate(((Decimal("1.5"), "1.1.3"), (Decimal(2), "1.1.30"))):
            session.add(
                Score(
                    tenant=TENANT,
                    plan=P,
                    run_id=f"{run}" * 64,
                    index_set="mau",
                    index_set_hash="0" * 64,
                    code=code,
                    owner_unit="vhxh",
                    rule="{}",
                    inputs="{}",
                    points=points,
                    max_points=Decimal(2),
                    explanation="1/2 nhiệm vụ đúng hạn",
                    outside_base=False,
                    computed_at=clock.now,
                )
            )
    with db.sessions() as session:
        subject = inspection.find_criterion(session, TENANT, P, "1.1.3")
        rows = inspection.history(session, subject, _labels(definitions)).rows
    (score,) = [r for r in rows if r.kind == "score"]
    assert (score.outcome_label, score.reason) == ("1,50/2,00 điểm", "1/2 nhiệm vụ đúng hạn")
    assert score.object.startswith("Điểm tiêu chí 1.1.3 (lần chấm 000000000000")


def test_task_history_names_roles_actions_and_products_in_words(
    db: Db, world: dict[str, int], engine: Engine, definitions: DefinitionSet
) -> None:
    """A row carries the role's and the action's Vietnamese labels, and the product submitted
    is shown as "Sản phẩm: …", not by its payload key."""
    with unit_of_work(db.sessions) as session:
        engine.fire(session, world["NV-1"], "start", actor=KT)
        engine.fire(
            session,
            world["NV-1"],
            "submit_product",
            actor=KT,
            payload={"product": "Báo cáo rà soát"},
        )
    with db.sessions() as session:
        subject = inspection.find_task(session, TENANT, P, "NV-1")
        found = inspection.history(session, subject, _labels(definitions))
    submitted = next(r for r in found.rows if r.trigger == "submit_product")
    assert submitted.role_label == "Công chức đơn vị"
    assert submitted.action_label == "Nộp sản phẩm"
    assert submitted.reason == "Sản phẩm: Báo cáo rà soát"
