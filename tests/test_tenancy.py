"""Two wards in one database: neither changes nor reads the other's data; one chain each."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from cchc.city import load_city
from cchc.organization.access import AccessDeniedError, require_read
from cchc.organization.model import Organization
from tests.conftest import Db
from workflows.audit import verify
from workflows.database import unit_of_work
from workflows.engine import Engine
from workflows.errors import NotPermittedError

ROOT = Path(__file__).resolve().parent.parent
ROLES = frozenset(
    yaml.safe_load((ROOT / "definitions" / "roles.yaml").read_text(encoding="utf-8"))["roles"]
)
CITY = load_city(ROOT / "definitions" / "cities" / "hai-phong.yaml", ROLES)
A = CITY.ward("phuong-phu-lien")
B = CITY.ward("phuong-le-chan")
PLAN = "KH-CCHC-2025-H2"
DATA = {"title": "Kế hoạch CCHC", "period": {"code": "2025-H2", "label": "6 tháng cuối năm"}}
ISSUE = {"decision_number": "12/QĐ-UBND", "decision_date": "01/07/2025"}


def focal(org: Organization) -> str:
    """The id of the ward's focal official."""
    return org.people_with_role("focal_official")[0].id


def create_plan(db: Db, engine: Engine, org: Organization, key: str | None = None) -> int:
    """A draft plan ``PLAN`` of ``org``, created by its focal official."""
    with unit_of_work(db.sessions) as session:
        return engine.create(
            session, "plan", actor=org.actor(focal(org)), ref=PLAN, data=DATA, idempotency_key=key
        ).instance_id


def events(db: Db, tenant: str) -> list[tuple[object, ...]]:
    """(seq, actor, instance, kind, trigger, outcome) of the tenant's chain, in order."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select seq, actor, instance_id, kind, trigger, outcome from audit_events "
                "where tenant = :t order by seq"
            ),
            {"t": tenant},
        ).all()
    return [tuple(r) for r in rows]


def test_the_same_ref_lives_in_each_ward(db: Db, engine: Engine) -> None:
    """Both wards have their own plan with the same code; each chain starts at seq 1."""
    a_plan, b_plan = create_plan(db, engine, A), create_plan(db, engine, B)
    assert a_plan != b_plan
    assert events(db, A.tenant) == [(1, focal(A), a_plan, "plan", "create", "applied")]
    assert events(db, B.tenant) == [(1, focal(B), b_plan, "plan", "create", "applied")]


def test_an_official_of_ward_a_cannot_fire_on_ward_b(db: Db, engine: Engine) -> None:
    """A's focal official may issue plans, but not B's: refused, audited on A's chain only."""
    b_plan = create_plan(db, engine, B)
    before = events(db, B.tenant)
    with (
        pytest.raises(NotPermittedError, match="another tenant"),
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(session, b_plan, "issue", actor=A.actor(focal(A)), payload=ISSUE)
    with db.sessions() as session:
        plan = engine.get(session, b_plan)
        assert engine.available_triggers(session, b_plan, A.actor(focal(A))) == []
    assert (plan.state, plan.version) == ("draft", 1)
    assert events(db, B.tenant) == before
    assert events(db, A.tenant) == [(1, focal(A), b_plan, "plan", "issue", "refused")]


def test_an_official_of_ward_a_cannot_read_ward_b(db: Db, engine: Engine) -> None:
    """Even A's Chairman (who reads all of A) may not read B: refused, audited on A's chain."""
    chairman = A.actor(A.chairman.id)
    with unit_of_work(db.sessions) as session:
        scope = require_read(session, engine, chairman, what="tasks", tenant=A.tenant)
    assert scope.whole_tenant
    with (
        pytest.raises(AccessDeniedError, match=f"may not read tasks of tenant '{B.tenant}'"),
        unit_of_work(db.sessions) as session,
    ):
        require_read(session, engine, chairman, what="tasks", tenant=B.tenant)
    assert events(db, A.tenant) == [(1, A.chairman.id, None, "access", "read", "refused")]
    assert events(db, B.tenant) == []


def test_idempotency_keys_do_not_cross_wards(db: Db, engine: Engine) -> None:
    """The same idempotency key in two wards makes two instances, never a replay of the other."""
    a_plan = create_plan(db, engine, A, key="plan:KH-CCHC-2025-H2")
    b_plan = create_plan(db, engine, B, key="plan:KH-CCHC-2025-H2")
    assert a_plan != b_plan
    with db.sessions() as session:
        assert engine.get(session, b_plan).tenant == B.tenant


def test_each_ward_chain_verifies_on_its_own(db: Db, engine: Engine) -> None:
    """After work and refusals in both wards, each tenant's chain verifies by itself."""
    a_plan, b_plan = create_plan(db, engine, A), create_plan(db, engine, B)
    for org, own, other in ((A, a_plan, b_plan), (B, b_plan, a_plan)):
        actor = org.actor(focal(org))
        with unit_of_work(db.sessions) as session:
            engine.fire(session, own, "issue", actor=actor, payload=ISSUE)
        with pytest.raises(NotPermittedError), unit_of_work(db.sessions) as session:
            engine.fire(session, other, "close", actor=actor)
    with db.sessions() as session:
        reports = {t: verify(session, tenant=t) for t in (A.tenant, B.tenant)}
    for tenant, report in reports.items():
        assert report.ok, tenant
        assert (report.tenants, report.events) == (1, 3)
        assert [e[0] for e in events(db, tenant)] == [1, 2, 3]
        assert [e[5] for e in events(db, tenant)] == ["applied", "applied", "refused"]
