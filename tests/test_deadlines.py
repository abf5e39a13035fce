"""Durable deadlines: reminders on working days, overdue, escalation; a sweep acts once."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from cchc.plan.deadlines import schedule, sweep
from cchc.vietnam import LOCAL_TZ, vietnam_calendar
from cchc.workspace import Workspace
from tests.conftest import Clock, Db
from tests.helpers import count
from workflows.canonical import utc
from workflows.database import Settings, unit_of_work
from workflows.registry import Actor

CAL = vietnam_calendar()
ADMIN = "tran.van.minh"


def local(text: str) -> datetime:
    """A local Asia/Ho_Chi_Minh time."""
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


@pytest.fixture
def ws(db: Db, clock: Clock, tmp_path: Path) -> Workspace:
    """A workspace with one task of Phòng Kinh tế due on Monday 23/02/2026, after Tết."""
    clock.now = local("2026-01-20T09:00")
    workspace = Workspace.open(Settings(data_dir=tmp_path, database_url=db.url), clock=clock)
    with unit_of_work(workspace.sessions) as session:
        workspace.engine.create(
            session,
            "task",
            actor=workspace.actor("nguyen.thi.lan"),
            ref="KH-2026/NV-01",
            data={
                "plan": "KH-2026",
                "code": "NV-01",
                "title": "Rà soát TTHC đất đai",
                "expected_product": "Báo cáo",
                "owner_unit": "kt",
                "owner_unit_name": "Phòng Kinh tế, Hạ tầng và Đô thị",
                "support_units": [],
                "deadline": "2026-02-23",
                "deadline_text": "23/02/2026",
                "criteria": [],
            },
        )
    yield workspace
    workspace.close()


def _due(db: Db) -> dict[str, datetime]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("select step, due_at from deadline_steps")).all()
    return {
        step: (due if isinstance(due, datetime) else datetime.fromisoformat(due))
        for step, due in rows
    }


def test_steps_fall_on_working_days_around_tet(ws: Workspace, db: Db) -> None:
    """Reminders 7/3/1 working days before 23/02/2026 skip Tết; escalations count after it."""
    with unit_of_work(ws.sessions) as session:
        assert schedule(session, CAL, ws.tenant) == 6
        assert schedule(session, CAL, ws.tenant) == 0
    due = {step: CAL.local(utc(at)) for step, at in _due(db).items()}
    assert due["remind-1"] == local("2026-02-13T08:00")
    assert due["remind-3"] == local("2026-02-11T08:00")
    assert due["remind-7"] == local("2026-02-05T08:00")
    assert due["overdue"] == local("2026-02-23T17:00")
    assert due["escalate-1"] == local("2026-02-25T17:00")
    assert due["escalate-2"] == local("2026-02-27T17:00")


def test_a_deadline_in_tet_falls_due_on_the_next_working_day(ws: Workspace, db: Db) -> None:
    """A task due Sunday 15/02/2026 (Tết) falls due Monday 23/02 at 17:00 (BLDS art. 148(5))."""
    with unit_of_work(ws.sessions) as session:
        ws.engine.create(
            session,
            "task",
            actor=ws.actor("nguyen.thi.lan"),
            ref="KH-2026/NV-02",
            data={
                "plan": "KH-2026",
                "code": "NV-02",
                "title": "Báo cáo quý I",
                "expected_product": "Báo cáo",
                "owner_unit": "kt",
                "support_units": [],
                "deadline": "2026-02-15",
                "criteria": [],
            },
        )
        schedule(session, CAL, ws.tenant)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("select key, due_at from deadline_steps")).all()
    due = {
        key.rsplit(":", 1)[1]: CAL.local(
            utc(at if isinstance(at, datetime) else datetime.fromisoformat(at))
        )
        for key, at in rows
        if ":2026-02-15:" in key
    }
    assert due["overdue"] == local("2026-02-23T17:00")
    assert due["escalate-1"] == local("2026-02-25T17:00")
    assert due["remind-1"] == local("2026-02-13T08:00")


def test_sweep_reminds_once_then_marks_overdue_then_escalates(
    ws: Workspace, db: Db, clock: Clock
) -> None:
    """Each step fires once at its time; a second sweep at the same time does nothing."""
    clock.now = local("2026-02-13T09:00")
    first = sweep(ws, CAL, ADMIN)
    assert (first.reminders, first.overdue, first.escalations) == (3, 0, 0)
    again = sweep(ws, CAL, ADMIN)
    assert (again.reminders, again.overdue, again.escalations) == (0, 0, 0)
    assert count(db, "outbox", "template = 'task_reminder'") == 3
    assert count(db, "audit_events", "outcome = 'notified'") == 3
    clock.now = local("2026-02-23T17:01")
    assert sweep(ws, CAL, ADMIN).overdue == 1
    assert count(db, "instances", "kind = 'task' and state = 'overdue'") == 1
    clock.now = local("2026-02-25T17:01")
    assert sweep(ws, CAL, ADMIN).escalations == 1
    assert count(db, "outbox", "template = 'task_escalated'") == 1


def test_done_task_is_not_chased(ws: Workspace, db: Db, clock: Clock) -> None:
    """A task whose product was accepted gets no reminder or overdue mark."""
    with ws.sessions() as session:
        task_id = session.scalar(sa.text("select id from instances where kind = 'task'"))
    with unit_of_work(ws.sessions) as session:
        ws.engine.fire(
            session,
            task_id,
            "submit_product",
            actor=ws.actor("ngo.thi.ha"),
            payload={"product": "Báo cáo"},
        )
        ws.engine.fire(session, task_id, "accept_product", actor=ws.actor("nguyen.thi.lan"))
    clock.now = local("2026-03-02T09:00")
    report = sweep(ws, CAL, ADMIN)
    assert (report.reminders, report.overdue, report.escalations) == (0, 0, 0)


@pytest.mark.postgres
def test_concurrent_sweeps_send_each_reminder_once(pg_db: Db, clock: Clock, tmp_path: Path) -> None:
    """Four sweeps at once on PostgreSQL: the three reminders are written exactly once."""
    clock.now = local("2026-01-20T09:00")
    ws = Workspace.open(Settings(data_dir=tmp_path, database_url=pg_db.url), clock=clock)
    try:
        with unit_of_work(ws.sessions) as session:
            for n in range(5):
                ws.engine.create(
                    session,
                    "task",
                    actor=ws.actor("nguyen.thi.lan"),
                    ref=f"KH/NV-{n}",
                    data={
                        "plan": "KH",
                        "code": f"NV-{n}",
                        "title": "T",
                        "expected_product": "P",
                        "owner_unit": "kt",
                        "owner_unit_name": "KT",
                        "support_units": [],
                        "deadline": "2026-02-23",
                        "deadline_text": "23/02/2026",
                        "criteria": [],
                    },
                )
        with unit_of_work(ws.sessions) as session:
            schedule(session, CAL, ws.tenant)
        clock.now = local("2026-02-13T09:00")
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def run() -> None:
            barrier.wait()
            try:
                sweep(ws, CAL, ADMIN)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert count(pg_db, "outbox", "template = 'task_reminder'") == 15
    finally:
        ws.close()


def test_reminders_after_the_deadline_are_not_sent(ws: Workspace, db: Db, clock: Clock) -> None:
    """A first sweep after the deadline marks the task overdue but sends no stale reminders."""
    clock.now = local("2026-02-24T09:00")
    report = sweep(ws, CAL, ADMIN)
    assert (report.reminders, report.overdue) == (0, 1)
    assert count(db, "outbox", "template = 'task_reminder'") == 0


def test_definition_deadline_in_working_days(ws: Workspace, db: Db, clock: Clock) -> None:
    """An approval submitted on Friday 13/02/2026 is due 5 working days later: 27/02 after Tết."""
    author = Actor.of("lan", "author", tenant=ws.tenant)
    clock.now = local("2026-02-13T10:00")
    with unit_of_work(ws.sessions) as session:
        created = ws.engine.create(session, "approval_request", actor=author, ref="DN-1")
        ws.engine.fire(session, created.instance_id, "submit", actor=author)
    sweep(ws, CAL, ADMIN)
    due = {step: CAL.local(utc(at)) for step, at in _due(db).items() if step.startswith("def-")}
    assert due == {
        "def-remind-3": local("2026-02-24T08:00"),
        "def-remind-1": local("2026-02-26T08:00"),
        "def-escalate-1": local("2026-03-03T17:00"),
    }
    clock.now = local("2026-02-26T09:00")
    sweep(ws, CAL, ADMIN)
    assert count(db, "outbox", "template = 'deadline_reminder'") == 2
    clock.now = local("2026-03-03T17:30")
    sweep(ws, CAL, ADMIN)
    sweep(ws, CAL, ADMIN)
    assert count(db, "outbox", "template = 'deadline_escalated'") == 1


def test_policy_file_configures_reminders_and_escalations(tmp_path: Path) -> None:
    """The shipped policy loads; bad reminder offsets are refused; a missing file gives defaults."""
    from cchc.plan.deadlines import load_policy

    root = Path(__file__).resolve().parent.parent
    policy = load_policy(root / "definitions" / "task-deadlines.yaml")
    assert policy.reminders == (7, 3, 1)
    assert [e.to for e in policy.escalations] == [("unit_head",), ("vice_chairman",)]
    bad = tmp_path / "p.yaml"
    bad.write_text("reminders: [3, 3]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="distinct"):
        load_policy(bad)
    assert load_policy(tmp_path / "none.yaml").reminders == (7, 3, 1)


def test_a_bad_policy_file_lists_each_problem_at_its_line(tmp_path: Path) -> None:
    """Every problem of task-deadlines.yaml is reported at once, each with its line and code."""
    from cchc.plan.deadlines import load_policy
    from workflows.errors import DefinitionError

    bad = tmp_path / "task-deadlines.yaml"
    bad.write_text(
        "reminders: [3, 3]\nescalations:\n  - after: 2\n    to: [unit_head]\n    cc: x\n"
        "    after: 3\n",
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as raised:
        load_policy(bad)
    found = [(p.line, p.code) for p in raised.value.problems]
    assert found == [(6, "CCHC-T004"), (1, "CCHC-T003"), (5, "CCHC-T002")]
    assert all(p.file.endswith("task-deadlines.yaml") for p in raised.value.problems)
