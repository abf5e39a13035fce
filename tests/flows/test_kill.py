"""kill -9 of a real ``fire-selected`` flow run mid-way, on SQLite and PostgreSQL.

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

CI: 300 drafts, one kill. ``--long``: 3000 drafts killed three times before the final run.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import DEFINITIONS, ROOT, TENANT, Db, long_tests
from workflows.audit import verify
from workflows.database import unit_of_work
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

SCRIPT = """
import json, sys
from flows.batch_fire import fire_selected
print(json.dumps(fire_selected(**json.loads(sys.argv[1]))))
"""


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


@pytest.fixture
def launch(tmp_path: Path, db: Db, author: Actor) -> Iterator[Callable[[str], Child]]:
    """Start ``fire-selected`` (submit every draft) in a child process; kills leftovers after."""
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "PREFECT_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    children: list[Child] = []

    def start(name: str) -> Child:
        url = db.url if db.backend == "sqlite" else f"{db.url}&application_name={name}"
        params = {
            "database_url": url, "kind": KIND, "state": "draft", "trigger": "submit",
            "actor_id": author.id, "roles": sorted(author.roles), "tenant": author.tenant,
            "batch_size": BATCH, "definitions_dir": str(DEFINITIONS),
        }  # fmt: skip
        err = tmp_path / f"child-{len(children)}.err"
        with err.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", SCRIPT, json.dumps(params)],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
                start_new_session=True,
            )  # fmt: skip
        children.append(Child(process, err, name))
        return children[-1]

    yield start
    for child in children:
        if child.process.poll() is None:
            child.kill()


def _drafts(db: Db, engine: Engine, author: Actor, count: int) -> None:
    with unit_of_work(db.sessions) as session:
        for i in range(count):
            engine.create(session, KIND, actor=author, ref=f"KILL-{i}")


SUBMITTED = "select count(*) from audit_events where trigger = 'submit' and outcome = 'applied'"


def _poller(db: Db) -> Callable[[], int]:
    """Counts applied submissions without taking the write lock (SQLite readers do not block)."""
    if db.backend == "sqlite":
        path = db.url.split("///", 1)[1]

        def count_sqlite() -> int:
            with sqlite3.connect(path, timeout=30) as conn:
                return int(conn.execute(SUBMITTED).fetchone()[0])

        return count_sqlite

    def count_pg() -> int:
        with db.engine.connect() as conn:
            return int(conn.execute(sa.text(SUBMITTED)).scalar_one())

    return count_pg


def _wait_until(condition: Callable[[], bool], child: Child, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if child.process.poll() is not None:
            pytest.fail(f"the flow ended before {what}:\n{child.stderr()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}:\n{child.stderr()}")
        time.sleep(0.005)


def _kill_when(db: Db, child: Child, target: int) -> None:
    """Kill ``child`` once ``target`` submissions are applied (PostgreSQL: mid-transaction)."""
    submitted = _poller(db)
    _wait_until(lambda: submitted() >= target, child, f"{target} drafts were submitted")
    if db.backend == "sqlite":
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
    with db.engine.connect() as probe:
        while probe.execute(gone, {"app": app}).scalar_one():
            assert time.monotonic() < deadline, "the killed child's backend did not go away"
            time.sleep(0.02)
    assert submitted() == before  # the move the child had made was rolled back


def _state(db: Db) -> dict[str, Any]:
    """Check the invariants that must hold after any crash; what the database holds."""
    with db.sessions() as session:
        report = verify(session)
        instances = session.execute(
            sa.select(Instance.id, Instance.state, Instance.version).where(Instance.kind == KIND)
        ).all()
        events = session.execute(
            sa.select(AuditEvent.id, AuditEvent.instance_id, AuditEvent.trigger,
                      AuditEvent.to_state, AuditEvent.outcome).order_by(AuditEvent.seq)
        ).all()  # fmt: skip
        outbox = session.execute(sa.select(OutboxMessage.event_id, OutboxMessage.instance_id)).all()
        keys = session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord))
    assert report.ok, [b.describe() for b in report.breaks]
    applied: dict[int, list[Any]] = defaultdict(list)
    for event in events:
        if event.outcome == "applied":
            applied[event.instance_id].append(event)
    assert set(applied) == {i.id for i in instances}, "an applied event without its instance"
    for instance in instances:
        history = applied[instance.id]
        assert instance.version == len(history), (instance, history)
        assert instance.state == history[-1].to_state, (instance, history)
    submits = {e.id: e for e in events if e.trigger == "submit" and e.outcome == "applied"}
    assert sorted(o.event_id for o in outbox) == sorted(submits)
    assert all(submits[o.event_id].instance_id == o.instance_id for o in outbox)
    assert keys == len(submits)  # every submission remembered its key, nothing else did
    per_instance = [len([e for e in h if e.trigger == "submit"]) for h in applied.values()]
    return {
        "submitted": len(submits),
        "in_submitted": sum(1 for i in instances if i.state == "submitted"),
        "most_submits_per_instance": max(per_instance),
        "refused": sum(1 for e in events if e.outcome == "refused"),
        "outbox": len(outbox),
    }


def test_killed_flow_leaves_consistent_data_and_a_rerun_finishes_once(
    db: Db, engine: Engine, author: Actor, launch: Callable[[str], Child]
) -> None:
    """kill -9 mid-run keeps state, audit and outbox consistent; a re-run submits each once."""
    _drafts(db, engine, author, DRAFTS)
    done = 0
    for fraction in KILL_AT:
        child = launch(f"cchc-kill-{uuid.uuid4().hex[:8]}")
        _kill_when(db, child, target=max(done + 1, int(DRAFTS * fraction)))
        state = _state(db)
        assert done < state["submitted"] < DRAFTS, child.stderr()
        assert state["in_submitted"] == state["submitted"]
        assert state["most_submits_per_instance"] == 1
        done = state["submitted"]

    child = launch(f"cchc-kill-{uuid.uuid4().hex[:8]}")
    out, _ = child.process.communicate(timeout=TIMEOUT * 2)
    assert child.process.returncode == 0, child.stderr()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["selected"] == result["applied"] == DRAFTS - done
    assert result["refused"] == result["conflicts"] == 0
    assert _state(db) == {
        "submitted": DRAFTS,
        "in_submitted": DRAFTS,
        "most_submits_per_instance": 1,
        "refused": 0,
        "outbox": DRAFTS,
    }
