"""kill -9 of real flow runs (``fire-selected``, ``daily-sweep``) mid-way, on SQLite and PostgreSQL.

The flow runs as a script in a child process (its own ``PREFECT_HOME``, reporting to the
session's Prefect test server, as a worker would). The test polls the audit trail until some
but not all drafts are submitted, kills the child's process group with SIGKILL, and checks:

* every instance's version and state match its applied audit events (no state change without
  its event, no event without its change), outbox rows and idempotency keys match the applied
  submissions, and the chain verifies;
* on PostgreSQL the kill lands inside a transaction: the test holds the tenant's chain-head
  row, so the child is killed after moving an instance and before its event is appended, and
  that move must not survive;
* re-running the flow finishes the work: every draft submitted exactly once, one outbox row
  each, nothing refused.

The daily sweep is killed the same way while it delivers (``--long``: also while it acts on
deadline steps, and more times): every due step is acted on once, and the re-runs deliver every
notification, a message twice only where an attempt was interrupted after the channel took it.

CI: 300 drafts and 30 tasks, one kill each. ``--long``: 3000 drafts and 400 tasks, three kills.
"""

from __future__ import annotations

import json
import mailbox
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from cchc.tables import DeadlineStep
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from notifications.tables import DeliveryAttempt, NotificationDelivery
from tests.conftest import DEFINITIONS, ROOT, TENANT, Db, long_tests
from workflows.audit import verify
from workflows.database import Settings, unit_of_work
from workflows.engine import Engine
from workflows.registry import Actor
from workflows.schema import AuditEvent, IdempotencyRecord, Instance, OutboxMessage

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]

KIND = "approval_request"
DRAFTS = 3000 if long_tests() else 300
BATCH = 100 if long_tests() else 25
KILL_AT = (0.15, 0.45, 0.8) if long_tests() else (0.4,)
"""Fractions of the drafts submitted (counted over all runs) at which a run is killed."""
TIMEOUT = 180.0


@dataclass
class Child:
    """A flow run in a child process that leads its own process group."""

    process: subprocess.Popen[str]
    err: Path
    name: str
    """Its PostgreSQL ``application_name``, to find its backend in ``pg_stat_activity``."""

    def kill(self) -> None:
        """SIGKILL the child's process group (it started it) and reap the child."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stderr(self) -> str:
        """The end of what the child wrote to stderr (for failure messages)."""
        return self.err.read_text(encoding="utf-8", errors="replace")[-3000:]


Launch = Callable[[str, dict[str, Any]], Child]
"""``launch(flow, params)``: run ``flows.<module>.<function>(**params)`` in a child process."""

FLOWS = {
    "fire-selected": ("flows.batch_fire", "fire_selected"),
    "daily-sweep": ("flows.sweep", "sweep_flow"),
}
SCRIPT = """
import importlib, json, sys
flow = getattr(importlib.import_module(sys.argv[1]), sys.argv[2])
print(json.dumps(flow(**json.loads(sys.argv[3]))))
"""


@pytest.fixture
def launch(tmp_path: Path, db: Db) -> Iterator[Launch]:
    """Start a flow in a child process (the database URL is added); kills leftovers after."""
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "PREFECT_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    children: list[Child] = []

    def start(flow: str, params: dict[str, Any]) -> Child:
        name = f"cchc-kill-{uuid.uuid4().hex[:8]}"
        url = db.url if db.backend == "sqlite" else f"{db.url}&application_name={name}"
        err = tmp_path / f"child-{len(children)}.err"
        with err.open("w") as stderr:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    SCRIPT,
                    *FLOWS[flow],
                    json.dumps({"database_url": url, **params}),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
        children.append(Child(process, err, name))
        return children[-1]

    yield start
    for child in children:
        if child.process.poll() is None:
            child.kill()


def _finish(child: Child) -> dict[str, Any]:
    """Wait for ``child`` to finish; the flow's result."""
    out, _ = child.process.communicate(timeout=TIMEOUT * 2)
    assert child.process.returncode == 0, child.stderr()
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample ward as tenant TENANT, with the author of the engine's tests."""
    data = yaml.safe_load((DEFINITIONS / "organizations" / "phu-lien.yaml").read_text("utf-8"))
    data["tenant"] = TENANT
    data["people"].append(
        {
            "id": "lan.author",
            "full_name": "Người thử nghiệm",
            "title": "Thử nghiệm",
            "roles": ["author"],
            "email": "lan.author@phulien.example",
        }
    )
    path = tmp_path_factory.mktemp("org") / "org.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def _fire_params(author: Actor, organization: str) -> dict[str, Any]:
    return {
        "kind": KIND,
        "state": "draft",
        "trigger": "submit",
        "actor_id": author.id,
        "organization": organization,
        "batch_size": BATCH,
        "definitions_dir": str(DEFINITIONS),
    }


def _drafts(db: Db, engine: Engine, author: Actor, count: int) -> None:
    with unit_of_work(db.sessions) as session:
        for i in range(count):
            engine.create(session, KIND, actor=author, ref=f"KILL-{i}")


SUBMITTED = "select count(*) from audit_events where trigger = 'submit' and outcome = 'applied'"


def _poller(db: Db, query: str = SUBMITTED) -> Callable[[], int]:
    """Counts rows of ``query`` without taking the write lock (SQLite readers do not block)."""
    if db.backend == "sqlite":
        path = db.url.split("///", 1)[1]

        def count_sqlite() -> int:
            with sqlite3.connect(path, timeout=30) as conn:
                return int(conn.execute(query).fetchone()[0])

        return count_sqlite

    def count_pg() -> int:
        with db.engine.connect() as conn:
            return int(conn.execute(sa.text(query)).scalar_one())

    return count_pg


def _wait_until(condition: Callable[[], bool], child: Child, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if child.process.poll() is not None:
            pytest.fail(f"the flow ended before {what}:\n{child.stderr()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}:\n{child.stderr()}")
        time.sleep(0.005)


def _kill_when(db: Db, child: Child, target: int, query: str = SUBMITTED) -> None:
    """Kill ``child`` once ``query`` counts ``target`` rows (fire-selected on PostgreSQL: inside
    the transaction of a submission)."""
    submitted = _poller(db, query)
    _wait_until(lambda: submitted() >= target, child, f"{query} counted {target}")
    if db.backend == "sqlite" or query != SUBMITTED:
        child.kill()  # wherever it is: most of its time is spent inside a fire's transaction
        return
    app = child.name
    with db.engine.connect() as conn, conn.begin():
        conn.execute(
            sa.text("select seq from audit_chain_heads where tenant = :t for update"),
            {"t": TENANT},
        )
        blocked = sa.text(
            "select count(*) from pg_stat_activity "
            "where application_name = :app and wait_event_type = 'Lock'"
        )

        def child_blocked() -> bool:
            with db.engine.connect() as probe:
                return bool(probe.execute(blocked, {"app": app}).scalar_one())

        # The child has moved an instance and waits to append its event: kill it there.
        _wait_until(child_blocked, child, "the child waited on the chain head")
        before = submitted()
        child.kill()
    gone = sa.text("select count(*) from pg_stat_activity where application_name = :app")
    deadline = time.monotonic() + TIMEOUT
    while True:  # a fresh connection each time: pg_stat_activity is a snapshot per transaction
        with db.engine.connect() as probe:
            if not probe.execute(gone, {"app": app}).scalar_one():
                break
        assert time.monotonic() < deadline, "the killed child's backend did not go away"
        time.sleep(0.02)
    assert submitted() == before  # the move the child had made was rolled back


def _instances_match_events(session: Session) -> list[Any]:
    """The chain verifies, and every instance's version and state are those its applied
    events give it (no change without its event, no event without its change); the events."""
    report = verify(session)
    assert report.ok, [b.describe() for b in report.breaks]
    instances = session.execute(sa.select(Instance.id, Instance.state, Instance.version)).all()
    events = session.execute(
        sa.select(
            AuditEvent.id,
            AuditEvent.instance_id,
            AuditEvent.trigger,
            AuditEvent.to_state,
            AuditEvent.outcome,
            AuditEvent.kind,
        ).order_by(AuditEvent.seq)
    ).all()
    applied: dict[int, list[Any]] = defaultdict(list)
    for event in events:  # the registration of the reference data changes no instance
        if event.outcome == "applied" and event.kind != "reference_data":
            applied[event.instance_id].append(event)
    assert set(applied) == {i.id for i in instances}, "an applied event without its instance"
    for instance in instances:
        history = applied[instance.id]
        assert instance.version == len(history), (instance, history)
        assert instance.state == history[-1].to_state, (instance, history)
    return list(events)


def _state(db: Db) -> dict[str, Any]:
    """Check the invariants that must hold after any crash; what the database holds."""
    with db.sessions() as session:
        events = _instances_match_events(session)
        outbox = session.execute(sa.select(OutboxMessage.event_id, OutboxMessage.instance_id)).all()
        keys = session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord))
    submits = {e.id: e for e in events if e.trigger == "submit" and e.outcome == "applied"}
    assert sorted(o.event_id for o in outbox) == sorted(submits)
    assert all(submits[o.event_id].instance_id == o.instance_id for o in outbox)
    assert keys == len(submits)  # every submission remembered its key, nothing else did
    per_instance = Counter(e.instance_id for e in submits.values())
    return {
        "submitted": len(submits),
        "in_submitted": count_state(db, "submitted"),
        "most_submits_per_instance": max(per_instance.values(), default=0),
        "refused": sum(1 for e in events if e.outcome == "refused"),
        "outbox": len(outbox),
    }


def count_state(db: Db, state: str) -> int:
    """Instances of the test's kind in ``state``."""
    with db.sessions() as session:
        query = sa.select(sa.func.count()).where(Instance.kind == KIND, Instance.state == state)
        return int(session.execute(query).scalar_one())


def test_killed_flow_leaves_consistent_data_and_a_rerun_finishes_once(
    db: Db, engine: Engine, author: Actor, organization: str, launch: Launch
) -> None:
    """kill -9 mid-run keeps state, audit and outbox consistent; a re-run submits each once."""
    _drafts(db, engine, author, DRAFTS)
    done = 0
    for fraction in KILL_AT:
        child = launch("fire-selected", _fire_params(author, organization))
        _kill_when(db, child, target=max(done + 1, int(DRAFTS * fraction)))
        state = _state(db)
        assert done < state["submitted"] < DRAFTS, child.stderr()
        assert state["in_submitted"] == state["submitted"]
        assert state["most_submits_per_instance"] == 1
        done = state["submitted"]

    result = _finish(launch("fire-selected", _fire_params(author, organization)))
    assert result["selected"] == result["applied"] == DRAFTS - done
    assert result["refused"] == result["conflicts"] == 0
    assert _state(db) == {
        "submitted": DRAFTS,
        "in_submitted": DRAFTS,
        "most_submits_per_instance": 1,
        "refused": 0,
        "outbox": DRAFTS,
    }


# --- the daily sweep: every due step acted on once, every notification delivered ------------

TASKS = 400 if long_tests() else 60
SWEEP_KILLS = (("steps", 1), ("sent", 300), ("sent", 900)) if long_tests() else (("sent", 100),)
"""Where each killed sweep is stopped: after ``n`` steps are done, or ``n`` deliveries sent."""
KILL_QUERIES = {
    "steps": "select count(*) from deadline_steps where done_at is not null",
    "sent": "select count(*) from notification_deliveries where status = 'sent'",
}
NOW = datetime(2026, 2, 13, 9, tzinfo=LOCAL_TZ)
SOON = date(2026, 2, 23)
"""A deadline whose three reminders are due at ``NOW``."""
PAST = date(2026, 2, 2)
"""A deadline whose overdue mark and both escalations are due at ``NOW`` (reminders stale)."""
SYSTEM = "tran.van.minh"


@pytest.fixture
def ward(db: Db, tmp_path: Path) -> Iterator[Workspace]:
    """The sample ward on the test database with ``TASKS`` open tasks, half due soon, half
    overdue."""
    ws = Workspace.open(Settings(data_dir=tmp_path / "data", database_url=db.url))
    units = [unit.code for unit in ws.organization.units]
    with unit_of_work(ws.sessions) as session:
        for i in range(TASKS):
            deadline, unit = (SOON if i % 2 == 0 else PAST), units[i % len(units)]
            ws.engine.create(
                session,
                "task",
                actor=ws.actor("nguyen.thi.lan"),
                ref=f"KH-2026/NV-{i:03}",
                data={
                    "plan": "KH-2026",
                    "code": f"NV-{i:03}",
                    "title": "Rà soát TTHC",
                    "expected_product": "Báo cáo",
                    "owner_unit": unit,
                    "owner_unit_name": unit,
                    "support_units": [],
                    "deadline": deadline.isoformat(),
                    "deadline_text": deadline.strftime("%d/%m/%Y"),
                    "criteria": [],
                },
            )
    yield ws
    ws.close()


def _sweep_params(ws: Workspace, now: datetime) -> dict[str, Any]:
    return {"data_dir": str(ws.settings.data_dir), "system_actor": SYSTEM, "now": now.isoformat()}


def _mail(ws: Workspace) -> Counter[str]:
    """How many messages the Maildir holds per dedupe key."""
    folder = ws.settings.data_dir / "mail"
    if not folder.exists():
        return Counter()
    return Counter(str(m["X-CCHC-Dedupe-Key"]) for m in mailbox.Maildir(folder, create=False))


def _swept(db: Db, ws: Workspace) -> dict[str, Any]:
    """Check what must hold after any crash of a sweep; what the database and Maildir hold.

    A step is done exactly when what it did is there (its reminder or escalation notified
    once, its overdue mark fired once); every message in the Maildir is a recorded delivery,
    and a message twice only where an attempt was interrupted.
    """
    with db.sessions() as session:
        events = _instances_match_events(session)
        steps = session.execute(
            sa.select(DeadlineStep.key, DeadlineStep.instance_id, DeadlineStep.outcome)
        ).all()
        notify_rows = Counter(
            session.scalars(
                sa.select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.like("%:notify:%")
                )
            )
        )
        deliveries = dict(
            session.execute(sa.select(NotificationDelivery.dedupe_key, NotificationDelivery.status))
            .tuples()
            .all()
        )
        interrupted = session.scalar(
            sa.select(sa.func.count()).where(DeliveryAttempt.outcome == "interrupted")
        )
    notifying = {f"{ws.tenant}:notify:{s.key}" for s in steps if s.outcome in NOTIFYING}
    assert set(notify_rows) == notifying
    assert set(notify_rows.values()) <= {1}
    assert sum(1 for e in events if e.outcome == "notified") == len(notify_rows)
    marked = Counter(e.instance_id for e in events if e.trigger == "mark_overdue")
    assert set(marked.values()) <= {1}
    assert set(marked) == {s.instance_id for s in steps if s.outcome == "overdue"}
    mail = _mail(ws)
    assert set(mail) <= set(deliveries)
    assert {key for key, status in deliveries.items() if status == "sent"} <= set(mail)
    assert sum(mail.values()) - len(mail) <= (interrupted or 0)
    return {
        "outcomes": Counter(s.outcome for s in steps if s.outcome is not None),
        "statuses": Counter(deliveries.values()),
        "mailed": set(mail),
        "deliveries": set(deliveries),
    }


NOTIFYING = {"reminded", "escalated"}


def test_killed_sweep_acts_on_each_step_once_and_a_rerun_delivers_everything(
    db: Db, ward: Workspace, launch: Launch
) -> None:
    """kill -9 of the daily sweep (while acting, while delivering) keeps steps, audit, outbox
    and Maildir consistent; re-runs act on each step once and deliver every notification."""
    for phase, target in SWEEP_KILLS:
        child = launch("daily-sweep", _sweep_params(ward, NOW))
        _kill_when(db, child, target, KILL_QUERIES[phase])
        killed = _swept(db, ward)
        assert set(killed["statuses"]) != {"sent"}, "the sweep had finished before the kill"

    again = _swept_after(launch, ward, db, NOW)
    assert set(again["statuses"]) <= {"sent", "sending"}  # "sending": claimed by a killed run
    later = _swept_after(launch, ward, db, NOW + timedelta(hours=2))  # the claims' lease ran out
    soon, past = (TASKS + 1) // 2, TASKS // 2
    assert later["outcomes"] == Counter(
        reminded=3 * soon, overdue=past, escalated=2 * past, stale=3 * past
    )
    assert set(later["statuses"]) == {"sent"}
    assert later["mailed"] == later["deliveries"]


def _swept_after(launch: Launch, ws: Workspace, db: Db, now: datetime) -> dict[str, Any]:
    """Run the sweep at ``now`` to its end; what ``_swept`` finds after it."""
    _finish(launch("daily-sweep", _sweep_params(ws, now)))
    return _swept(db, ws)
