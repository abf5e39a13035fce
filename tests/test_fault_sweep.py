"""The daily sweep under load and races: it delivers everything due in one run, however many
batches it takes, and a task changed while the sweep acts on it does not make the sweep fail."""

from __future__ import annotations

import mailbox
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import flows.sweep
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from tests.conftest import Db
from tests.helpers import count
from tests.notifications.conftest import SmtpServer, free_port
from workflows.audit import verify
from workflows.database import Settings, unit_of_work

TASKS = 12
NOW = datetime(2026, 2, 13, 9, tzinfo=LOCAL_TZ)


@pytest.fixture
def ward(db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The sample ward with ``TASKS`` tasks just assigned (their notifications queued), on a
    clock where nothing else is due; deliveries go to the default Maildir."""
    monkeypatch.delenv("CCHC_NOTIFY_CHANNEL", raising=False)
    monkeypatch.delenv("CCHC_MAILDIR", raising=False)
    ws = Workspace.open(Settings(data_dir=tmp_path, database_url=db.url), clock=lambda: NOW)
    units = [unit.code for unit in ws.organization.units]
    with unit_of_work(ws.sessions) as session:
        for i in range(TASKS):
            ws.engine.create(
                session,
                "task",
                actor=ws.actor("nguyen.thi.lan"),
                ref=f"KH-2026/NV-{i:02}",
                data={
                    "plan": "KH-2026",
                    "code": f"NV-{i:02}",
                    "title": "Rà soát TTHC",
                    "expected_product": "Báo cáo",
                    "owner_unit": units[i % len(units)],
                    "owner_unit_name": units[i % len(units)],
                    "support_units": [],
                    "deadline": "2026-06-30",
                    "deadline_text": "30/06/2026",
                    "criteria": [],
                },
            )
    yield ws
    ws.close()


def test_sweep_delivers_more_than_one_batch(
    db: Db, ward: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 5 deliveries per dispatch round, one sweep still sends every queued notification
    (it used to stop after the first round: 500 a day)."""
    monkeypatch.setattr(flows.sweep, "DISPATCH_BATCH", 5)

    result = flows.sweep.sweep_ward(ward, "tran.van.minh")

    assert count(db, "outbox") > 2 * 5  # three rounds at least
    assert count(db, "outbox", "status != 'sent'") == 0
    assert count(db, "notification_deliveries", "status != 'sent'") == 0
    assert result["sent"] == count(db, "notification_deliveries", "outbox_id is not null")
    mail = mailbox.Maildir(ward.settings.data_dir / "mail", create=False)
    assert len(mail) == result["sent"] + result["digests"]


def test_the_sweep_reports_its_progress(db: Db, ward: Workspace) -> None:
    """The sweep tells its progress callback the deadline steps, then the deliveries done out
    of those due, ending at all of them."""
    calls: list[tuple[int, int]] = []

    result = flows.sweep.sweep_ward(ward, "tran.van.minh", lambda d, t: calls.append((d, t)))

    sent = result["sent"]
    assert sent == count(db, "notification_deliveries", "outbox_id is not null") > 0
    assert calls[0] == (0, 0)  # no deadline step is due
    assert calls[-1] == (sent, sent)
    assert all(done <= total for done, total in calls)
    assert [done for done, _ in calls[1:]] == sorted(done for done, _ in calls[1:])


def test_the_sweep_says_what_was_sent_and_what_waits_for_a_retry(
    db: Db, ward: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SMTP down: nothing sent, every delivery and digest counted as waiting for a retry; the
    next day's sweep, with the server up, sends them all, the day-old digests included."""
    server = SmtpServer(free_port())
    monkeypatch.setenv("CCHC_NOTIFY_CHANNEL", "smtp")
    monkeypatch.setenv("CCHC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CCHC_SMTP_PORT", str(server.port))

    down = flows.sweep.sweep_ward(ward, "tran.van.minh")

    waiting = count(db, "notification_deliveries", "status = 'pending' and attempts = 1")
    digests = count(db, "notification_deliveries", "outbox_id is null")
    assert digests > 0
    assert waiting == count(db, "notification_deliveries") > digests
    assert (down["sent"], down["digests"], down["waiting"]) == (0, 0, waiting)
    assert f"0 thư đã gửi (0 bản tổng hợp ngày), {waiting} thư chờ gửi lại" in (
        flows.sweep.summary(down)
    )
    next_day = Workspace.open(ward.settings, clock=lambda: NOW + timedelta(days=1))
    server.start()
    try:
        up = flows.sweep.sweep_ward(next_day, "tran.van.minh")
    finally:
        server.stop()
        next_day.close()
    assert (up["sent"], up["digests"], up["waiting"]) == (waiting - digests, digests, 0)
    assert f"{waiting} thư đã gửi ({digests} bản tổng hợp ngày), 0 thư chờ gửi lại" in (
        flows.sweep.summary(up)
    )
    assert len(server.received) == waiting
    assert count(db, "notification_deliveries", "status != 'sent'") == 0


# --- a unit submitting while the sweep marks its task overdue (PostgreSQL) ------------------

DEADLINE_END = datetime(2026, 2, 2, 17, 30, tzinfo=LOCAL_TZ)
"""Half an hour after the deadline day of 02/02/2026 ended: the overdue mark is due."""


@pytest.mark.postgres
def test_a_task_changed_while_the_sweep_marks_it_overdue_is_left_for_the_next_sweep(
    pg_db: Db, tmp_path: Path
) -> None:
    """The unit submits its product while the sweep is marking the task overdue: the sweep
    does not fail (it used to raise ConflictError and roll back its whole batch); the step is
    left for the next sweep, which closes it, and the audit chain holds."""
    name = f"cchc-sweep-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, database_url=f"{pg_db.url}&application_name={name}")
    ws = Workspace.open(settings, clock=lambda: DEADLINE_END)
    official = ws.actor("ngo.thi.ha")
    with unit_of_work(ws.sessions) as session:
        task_id = ws.engine.create(
            session,
            "task",
            actor=ws.actor("nguyen.thi.lan"),
            ref="KH-2026/NV-01",
            data={
                "plan": "KH-2026",
                "code": "NV-01",
                "title": "Rà soát TTHC",
                "expected_product": "Báo cáo",
                "owner_unit": official.unit,
                "owner_unit_name": "Phòng Kinh tế",
                "support_units": [],
                "deadline": "2026-02-02",
                "deadline_text": "02/02/2026",
                "criteria": [],
            },
        ).instance_id
    outcome: list[object] = []
    try:
        with unit_of_work(ws.sessions) as unit:  # the unit's submission, not committed yet
            ws.engine.fire(
                unit,
                task_id,
                "submit_product",
                actor=official,
                payload={"product": "Báo cáo rà soát"},
            )
            sweeper = threading.Thread(target=lambda: outcome.append(_sweep_or_error(ws)))
            sweeper.start()
            _wait_for_lock(pg_db, name)  # the sweep moved on the task and waits for the row
        sweeper.join(timeout=60)
        assert outcome, "the sweep did not finish"
        first = outcome[0]
        assert isinstance(first, dict), first
        assert first["overdue"] == 0
        assert count(pg_db, "deadline_steps", "step = 'overdue' and done_at is null") == 1
        second = flows.sweep.sweep_ward(ws, "tran.van.minh")
        assert second["closed"] == 1
        assert count(pg_db, "deadline_steps", "step = 'overdue' and outcome = 'closed'") == 1
        assert count(pg_db, "audit_events", "trigger = 'mark_overdue'") == 0
        with pg_db.sessions() as session:
            assert ws.engine.get(session, task_id).state == "product_submitted"
            assert verify(session).ok
    finally:
        ws.close()


def _sweep_or_error(ws: Workspace) -> object:
    try:
        return flows.sweep.sweep_ward(ws, "tran.van.minh")
    except Exception as exc:  # reported by the test, which expects a result
        return exc


def _wait_for_lock(db: Db, application_name: str) -> None:
    """Until a backend of ``application_name`` waits for a lock (a fresh connection each time:
    ``pg_stat_activity`` is a snapshot per transaction)."""
    waiting = sa.text(
        "select count(*) from pg_stat_activity "
        "where application_name = :name and wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 60
    while True:
        with db.engine.connect() as conn:
            if conn.execute(waiting, {"name": application_name}).scalar_one():
                return
        assert time.monotonic() < deadline, "the sweep never waited for the task's row"
        time.sleep(0.01)
