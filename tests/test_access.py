"""The read-side policy (cchc.organization.access) and the role checks of work outside a fire."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from cchc import cycle
from cchc.organization.access import (
    READ_ONLY_ROLES,
    AccessDeniedError,
    read_scope,
    require_any_role,
    require_read,
)
from cchc.organization.model import load_organization
from cchc.plan.deadlines import sweep
from cchc.review.service import run_review
from cchc.runtime import load
from cchc.vietnam import CALENDAR_LOCALE, LOCAL_TZ
from cchc.workspace import Workspace
from tests.conftest import DEFINITIONS, ROOT, Clock, Db
from tests.helpers import count
from workflows.audit import verify
from workflows.calendar import load_calendar
from workflows.database import Settings, unit_of_work
from workflows.engine import Engine
from workflows.errors import NotPermittedError
from workflows.registry import Actor

ORG = load_organization(
    DEFINITIONS / "organizations" / "phu-lien.yaml", known_roles=set(load().roles.roles)
)
WARD = ORG.tenant
UNITS = [u.code for u in ORG.units]

WHOLE_WARD = [
    "cu.van.son",
    "dang.van.thang",
    "vu.thi.mai",
    "nguyen.thi.lan",
    "do.thi.thu.trang",
    "tran.van.minh",
]
"""Inspector, Chairman, a Vice-Chairman, the focal official, the Office official, the admin."""
ONE_UNIT = {
    "pham.quoc.khanh": "kt",
    "ngo.thi.ha": "kt",
    "bui.duc.anh": "vhxh",
    "mai.van.luc": "ttsnc",
    "ta.minh.quan": "ttphc",
}
"""Heads and officials of a unit (no tenant-wide role)."""


@pytest.mark.parametrize("person", WHOLE_WARD)
def test_tenant_readers_read_every_unit_of_their_ward_only(person: str) -> None:
    """The leadership, focal unit, Office, admin and inspector read all of their own ward."""
    scope = read_scope(ORG.actor(person))
    assert scope.whole_tenant
    assert all(scope.allows(WARD, unit) for unit in [*UNITS, None])
    assert not scope.allows("xa-khac", None)
    assert not scope.allows("xa-khac", "kt")


@pytest.mark.parametrize(("person", "unit"), sorted(ONE_UNIT.items()))
def test_a_units_people_read_their_own_unit_only(person: str, unit: str) -> None:
    """A unit's head or official reads their unit's items; not another's, not the whole ward."""
    scope = read_scope(ORG.actor(person))
    assert scope.units == frozenset({unit})
    assert [u for u in UNITS if scope.allows(WARD, u)] == [unit]
    assert not scope.allows(WARD, None)
    assert not scope.allows("xa-khac", unit)


def test_someone_without_a_reading_role_reads_nothing() -> None:
    """An actor whose roles grant no reading (the engine's author) reads nothing at all."""
    scope = read_scope(Actor.of("lan.author", "author", tenant=WARD, unit="kt"))
    assert scope.units == frozenset()
    assert not any(scope.allows(WARD, u) for u in [*UNITS, None])


def test_read_only_roles_are_tenant_readers() -> None:
    """The inspector is read-only and still reads the whole of their ward."""
    assert {"inspector"} == READ_ONLY_ROLES
    assert read_scope(Actor.of("x", *READ_ONLY_ROLES, tenant=WARD)).whole_tenant


def test_an_allowed_read_writes_nothing(db: Db, engine: Engine) -> None:
    """require_read returns the scope of a permitted read and appends no audit event."""
    with unit_of_work(db.sessions) as session:
        scope = require_read(
            session, engine, ORG.actor("ngo.thi.ha"), what="tasks", tenant=WARD, unit="kt"
        )
    assert scope.units == frozenset({"kt"})
    assert count(db, "audit_events") == 0


@pytest.mark.parametrize(
    ("person", "tenant", "unit", "why"),
    [
        ("ngo.thi.ha", WARD, "ttphc", "it belongs to unit 'ttphc', not theirs"),
        ("ngo.thi.ha", WARD, None, "their own unit only (kt), not tasks of the whole tenant"),
        ("cu.van.son", "xa-khac", None, "of tenant 'phuong-phu-lien' may not read tasks of"),
    ],
    ids=["another unit", "the whole ward", "another tenant"],
)
def test_a_refused_read_is_audited_on_the_readers_chain(
    db: Db, engine: Engine, person: str, tenant: str, unit: str | None, why: str
) -> None:
    """A read out of scope raises AccessDeniedError after one refused 'access' event."""
    actor = ORG.actor(person)
    with (
        pytest.raises(AccessDeniedError, match=re.escape(why)) as refused,
        unit_of_work(db.sessions) as session,
    ):
        require_read(session, engine, actor, what="tasks", tenant=tenant, unit=unit)
    assert refused.value.reason_code == "not_permitted"
    assert isinstance(refused.value, PermissionError)
    refusals = f"tenant = '{WARD}' and actor = '{person}' and kind = 'access' and trigger = 'read'"
    assert count(db, "audit_events", f"{refusals} and outcome = 'refused'") == 1
    assert count(db, "audit_events") == 1
    with db.sessions() as session:
        assert verify(session).ok


def test_require_any_role_passes_holders_and_audits_the_rest(db: Db, engine: Engine) -> None:
    """A holder gets the role they act as, unaudited; anyone else is refused and audited."""
    with unit_of_work(db.sessions) as session:
        role = require_any_role(
            session,
            engine,
            ORG.actor("nguyen.thi.lan"),
            {"admin", "focal_official"},
            what="send notifications",
        )
    assert role == "focal_official"
    assert count(db, "audit_events") == 0
    with (
        pytest.raises(NotPermittedError, match=r"cu\.van\.son may not send notifications"),
        unit_of_work(db.sessions) as session,
    ):
        require_any_role(
            session,
            engine,
            ORG.actor("cu.van.son"),
            {"admin", "focal_official"},
            what="send notifications",
            kind="outbox",
        )
    assert count(db, "audit_events", "outcome = 'refused' and kind = 'outbox'") == 1
    assert count(db, "audit_events") == 1


@pytest.fixture
def ws(db: Db, clock: Clock, tmp_path: Path) -> Workspace:
    """The example plan issued on 29/7/2025 in a workspace on ``db``; the clock in November."""
    clock.now = datetime(2025, 7, 29, 9, tzinfo=LOCAL_TZ)
    workspace = Workspace.open(Settings(data_dir=tmp_path, database_url=db.url), clock=clock)
    cycle.issue(workspace, ROOT / "examples" / "plan-phu-lien-2025-h2.yaml", "nguyen.thi.lan")
    clock.now = datetime(2025, 11, 20, 9, tzinfo=LOCAL_TZ)
    return workspace


def _tables(db: Db) -> tuple[int, ...]:
    return tuple(
        count(db, table)
        for table in ("instances", "deadline_steps", "outbox", "audit_events", "scores")
    )


def test_the_sweep_runs_as_an_admin_only(ws: Workspace, db: Db) -> None:
    """The sweep as the inspector is refused and audited before any step is scheduled."""
    before = _tables(db)
    calendar = load_calendar(DEFINITIONS / "calendar.yaml", CALENDAR_LOCALE)
    with pytest.raises(NotPermittedError, match="run the deadline sweep"):
        sweep(ws, calendar, "cu.van.son")
    assert _tables(db) == (*before[:3], before[3] + 1, before[4])
    assert count(db, "audit_events", "actor = 'cu.van.son' and outcome = 'refused'") == 1
    report = sweep(ws, calendar, "tran.van.minh")
    assert report.overdue > 0


def test_a_review_is_compiled_only_by_who_may_open_the_meeting(
    ws: Workspace, db: Db, tmp_path: Path
) -> None:
    """A unit's official may not compile the ward's review: refused, audited, no file written."""
    before = _tables(db)
    out = tmp_path / "giao-ban"
    with pytest.raises(NotPermittedError, match="compile a review meeting"):
        run_review(
            ws,
            plan="KH-CCHC-2025-H2",
            month="2025-10",
            actor_id="ngo.thi.ha",
            chair_id="dang.van.thang",
            out=out,
        )
    assert not out.exists()
    assert _tables(db) == (*before[:3], before[3] + 1, before[4])
    done = run_review(
        ws,
        plan="KH-CCHC-2025-H2",
        month="2025-10",
        actor_id="nguyen.thi.lan",
        chair_id="dang.van.thang",
        out=out,
    )
    assert done.files
