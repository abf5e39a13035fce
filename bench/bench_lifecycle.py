"""One approval lifecycle three ways: the engine, SpiffWorkflow (BPMN) and plain Prefect tasks.

Usage: ``.venv/bin/python bench/bench_lifecycle.py [--lifecycles N] [--prefect-lifecycles M]
[--prefect-postgres URL] [--data-dir DIR]``

A lifecycle is create (draft) → submit → request_changes (with a reason) → resubmit → accept:
five transitions, each persisted to SQLite (WAL, ``synchronous=NORMAL``, opened with
``workflows.database.make_engine``) before the next. SpiffWorkflow runs
``bench/approval_request.bpmn`` and saves its JSON serialisation after every step; plain
Prefect is one ``@flow`` per lifecycle calling one ``@task`` per transition, each updating a
row, against Prefect's temporary (ephemeral) API server in a child process. Needs the
``bench`` extra (``pip install -e '.[bench]'``). See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache, partial, wraps
from importlib.metadata import version
from pathlib import Path
from time import perf_counter
from typing import Any

if importlib.util.find_spec("workflows") is None:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
import yaml
from _common import Measure, data_folder, machine_info, machine_line, remove_sqlite_file
from rich.console import Console
from rich.table import Table

try:
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState
except ImportError:  # pragma: no cover - the optional extra is missing
    raise SystemExit("SpiffWorkflow is missing: .venv/bin/pip install -e '.[bench]'") from None

from cchc.migrations import upgrade
from cchc.runtime import make_workflow_engine
from workflows.audit import verify
from workflows.canonical import canonical_json, utc_iso, utcnow
from workflows.database import make_engine, normalise_url, session_factory, unit_of_work
from workflows.engine import Engine
from workflows.registry import Actor

HERE = Path(__file__).resolve().parent
BPMN_FILE = HERE / "approval_request.bpmn"
DEFINITION_FILE = HERE.parent / "definitions" / "workflows" / "approval_request.yaml"
KIND = "approval_request"
DATA = {"title": "Đề nghị xác nhận thông tin cư trú", "ward": "Phú Liên"}
REASON = "Thiếu bản sao giấy tờ tùy thân"
AUTHOR = ("bench-author", "author")
REVIEWER = ("bench-reviewer", "reviewer")
STEPS: tuple[tuple[str, tuple[str, str], dict[str, str]], ...] = (
    ("submit", AUTHOR, {}),
    ("request_changes", REVIEWER, {"reason": REASON}),
    ("resubmit", AUTHOR, {}),
    ("accept", REVIEWER, {}),
)
"""The lifecycle after ``create``: trigger, (actor id, role), payload."""
TRANSITIONS = 1 + len(STEPS)
WARM_UP = 1
"""Untimed lifecycles run first by every section (the checks count them too)."""
FINAL = "accepted"
TENANTS = {"engine_per_transition": "bench-life-tx", "engine_per_lifecycle": "bench-life-one"}
PLAIN_TABLE = sa.table(
    "requests",
    sa.column("id"),
    sa.column("ref"),
    sa.column("state"),
    sa.column("version"),
    sa.column("created_by"),
    sa.column("data"),
    sa.column("updated_at"),
)
PLAIN_DDL = (
    "CREATE TABLE requests (id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE, "
    "state TEXT NOT NULL, version INTEGER NOT NULL, created_by TEXT NOT NULL, "
    "data TEXT NOT NULL, updated_at TEXT NOT NULL)"
)
SPIFF_DDL = (
    "CREATE TABLE spiff_workflows (id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE, "
    "state TEXT NOT NULL, created_by TEXT NOT NULL, workflow TEXT NOT NULL, "
    "updated_at TEXT NOT NULL)"
)


class RefusedError(RuntimeError):
    """A transition the Spiff or plain-Prefect version refused (role, state, guard, payload)."""


# -- set-up ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options; ``--prefect-child`` is internal (the Prefect section's own process)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--lifecycles", type=int, default=500, help="lifecycles per engine and Spiff section"
    )
    parser.add_argument(
        "--prefect-lifecycles", type=int, default=20, help="lifecycles per Prefect section"
    )
    parser.add_argument(
        "--prefect-postgres",
        metavar="URL",
        help="also run Prefect with its server on PostgreSQL: a fresh database is created "
        "on this server (e.g. postgresql://postgres@127.0.0.1:5432/postgres) and dropped",
    )
    parser.add_argument("--data-dir", type=Path, help="folder for the SQLite files (replaced)")
    parser.add_argument("--prefect-child", metavar="LABEL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.lifecycles < 1 or args.prefect_lifecycles < 1:
        parser.error("--lifecycles and --prefect-lifecycles must be at least 1")
    return args


def fresh_sqlite(path: Path, *ddl: str) -> sa.Engine:
    """A new SQLite file at ``path`` (an old one is replaced), with ``ddl`` run on it."""
    remove_sqlite_file(path)
    db = make_engine(f"sqlite:///{path}")
    with db.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement)
    return db


@cache
def definition() -> dict[str, dict[str, Any]]:
    """The transitions of ``approval_request.yaml`` by trigger, for the hand-written versions."""
    text = yaml.safe_load(DEFINITION_FILE.read_text(encoding="utf-8"))
    return {t["trigger"]: t for t in text["transitions"]}


def timed(n: int, one: Callable[[int], None]) -> float:
    """Run lifecycle ``-1`` untimed (first-use costs), then time lifecycles ``0 … n-1``."""
    one(-1)
    start = perf_counter()
    for i in range(n):
        one(i)
    return perf_counter() - start


def actor_of(who: tuple[str, str], tenant: str) -> Actor:
    """The engine actor for ``(id, role)``."""
    return Actor.of(who[0], who[1], tenant=tenant)


# -- the engine --------------------------------------------------------------------------------


def engine_lifecycle(engine: Engine, tx: Callable[[], Any], i: int, tenant: str) -> None:
    """Create ``R-i`` and run it to accepted; ``tx()`` gives the session of each transition."""
    author = actor_of(AUTHOR, tenant)
    actors = {AUTHOR: author, REVIEWER: actor_of(REVIEWER, tenant)}
    with tx() as session:
        instance_id = engine.create(
            session, KIND, actor=author, ref=f"R-{i}", data=DATA
        ).instance_id
    for trigger, who, payload in STEPS:
        with tx() as session:
            engine.fire(session, instance_id, trigger, actor=actors[who], payload=payload)


def engine_section(folder: Path, n: int, tenant: str, one_transaction: bool) -> Measure:
    """``n`` lifecycles through ``Engine.create``/``fire``: a transaction per transition, or one
    per lifecycle when ``one_transaction``. Checks every instance ended accepted, 5n events."""
    db = make_engine(f"sqlite:///{folder / 'engine.sqlite3'}")
    factory, engine = session_factory(db), make_workflow_engine()

    def one(i: int) -> None:
        if one_transaction:
            with unit_of_work(factory) as session:
                engine_lifecycle(engine, partial(nullcontext, session), i, tenant)
        else:
            engine_lifecycle(engine, partial(unit_of_work, factory), i, tenant)

    seconds = timed(n, one)
    check_engine(db, factory, tenant, n + WARM_UP)
    db.dispose()
    return Measure(
        f"engine, 1 tx per {'lifecycle' if one_transaction else 'transition'}", n, seconds
    )


def check_engine(db: sa.Engine, factory: Any, tenant: str, n: int) -> None:
    """All ``n`` instances of ``tenant`` accepted, ``5n`` applied events, the chain intact."""
    with db.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT state, count(*) FROM instances WHERE tenant = :t GROUP BY state"),
            {"t": tenant},
        )
        states = {str(state): int(count) for state, count in rows}
        events = conn.scalar(
            sa.text("SELECT count(*) FROM audit_events WHERE tenant = :t AND outcome = 'applied'"),
            {"t": tenant},
        )
    if states != {FINAL: n} or events != TRANSITIONS * n:
        raise SystemExit(f"engine {tenant}: states {states}, {events} events; expected {n} {FINAL}")
    with factory() as session:
        report = verify(session, tenant=tenant)
    if not report.ok:
        raise SystemExit(f"engine {tenant}: audit chain broken: {report.breaks[0].describe()}")


# -- SpiffWorkflow -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spiff:
    """The parsed BPMN spec, the serializer, the table the workflows are saved to."""

    spec: Any
    serializer: Any
    db: sa.Engine


SPIFF_STEPS = {
    "submit": ("draft", "action", "submit"),
    "request_changes": ("submitted", "decision", "request_changes"),
    "resubmit": ("changes_requested", "action", "submit"),
    "accept": ("submitted", "decision", "accept"),
}
"""Trigger → the user task that must be ready, the variable it sets and its value."""


def open_spiff(path: Path) -> Spiff:
    """Parse ``approval_request.bpmn`` once (untimed, like the engine's definitions)."""
    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN_FILE))
    return Spiff(parser.get_spec(KIND), BpmnWorkflowSerializer(), fresh_sqlite(path, SPIFF_DDL))


def spiff_state(workflow: Any) -> str:
    """The ready user task's name, or the end event reached once the workflow completed."""
    if workflow.completed:
        ends = [
            t
            for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.name in ("accepted", "rejected", "withdrawn")
        ]
        return str(ends[0].task_spec.name)
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    return str(ready[0].task_spec.name)


def spiff_step(
    workflow: Any, trigger: str, who: tuple[str, str], creator: str, payload: Any
) -> None:
    """Complete the ready user task for ``trigger`` as ``who``, checking lane (role), the
    reviewer-is-not-the-creator guard and a required reason, then run the engine steps."""
    name, variable, value = SPIFF_STEPS[trigger]
    ready = [
        t
        for t in workflow.get_tasks(state=TaskState.READY, manual=True)
        if t.task_spec.name == name
    ]
    if not ready:
        raise RefusedError(f"spiff: {trigger} not possible now")
    task = ready[0]
    if task.task_spec.lane != who[1]:
        raise RefusedError(f"spiff: {who[1]} may not {trigger}")
    if who[1] == "reviewer" and who[0] == creator:
        raise RefusedError(f"spiff: the creator may not {trigger}")
    data: dict[str, Any] = {variable: value}
    if trigger == "request_changes":
        if not payload.get("reason"):
            raise RefusedError("spiff: request_changes needs a reason")
        data["last_reason"] = payload["reason"]
    if variable == "action":
        data["revision"] = int(task.data.get("revision", 0)) + 1
    if trigger == "accept":
        data["decided_by"] = who[0]
        data["decided_at"] = utc_iso(utcnow())
    task.set_data(**data)
    task.run()
    workflow.do_engine_steps()


def spiff_save(spiff: Spiff, conn: sa.Connection, workflow_id: int, workflow: Any) -> None:
    """UPDATE the row with the workflow's JSON serialisation and its state."""
    conn.execute(
        sa.text(
            "UPDATE spiff_workflows SET workflow = :w, state = :s, updated_at = :u WHERE id = :id"
        ),
        {
            "w": spiff.serializer.serialize_json(workflow),
            "s": spiff_state(workflow),
            "u": utc_iso(utcnow()),
            "id": workflow_id,
        },
    )


def spiff_create(spiff: Spiff, ref: str) -> tuple[int, Any]:
    """A new workflow (waiting in ``draft``), serialised and INSERTed in its own transaction."""
    workflow = BpmnWorkflow(spiff.spec)
    workflow.do_engine_steps()
    workflow.get_tasks(state=TaskState.READY, manual=True)[0].set_data(**DATA)
    with spiff.db.begin() as conn:
        workflow_id = conn.execute(
            sa.text(
                "INSERT INTO spiff_workflows (ref, state, created_by, workflow, updated_at) "
                "VALUES (:r, :s, :c, :w, :u) RETURNING id"
            ),
            {
                "r": ref,
                "s": spiff_state(workflow),
                "c": AUTHOR[0],
                "w": spiff.serializer.serialize_json(workflow),
                "u": utc_iso(utcnow()),
            },
        ).scalar_one()
    return int(workflow_id), workflow


def spiff_section(folder: Path, n: int, reload: bool) -> Measure:
    """``n`` lifecycles; each step in its own transaction. With ``reload`` each step first
    SELECTs and deserialises the workflow (as a request in a stateless service would); else
    the workflow object stays in memory between steps and is only saved."""
    spiff = open_spiff(folder / f"spiff-{'reload' if reload else 'memory'}.sqlite3")
    select = sa.text("SELECT workflow, created_by FROM spiff_workflows WHERE id = :id")

    def one(i: int) -> None:
        workflow_id, workflow = spiff_create(spiff, f"R-{i}")
        creator = AUTHOR[0]
        for trigger, who, payload in STEPS:
            with spiff.db.begin() as conn:
                if reload:
                    text, creator = conn.execute(select, {"id": workflow_id}).one()
                    workflow = spiff.serializer.deserialize_json(text)
                spiff_step(workflow, trigger, who, creator, payload)
                spiff_save(spiff, conn, workflow_id, workflow)

    seconds = timed(n, one)
    check_spiff(spiff, n + WARM_UP)
    spiff.db.dispose()
    return Measure(
        f"Spiff, {'reload + save' if reload else 'in memory, save'} per step", n, seconds
    )


def check_spiff(spiff: Spiff, n: int) -> None:
    """Every saved workflow, deserialised again, completed at the ``accepted`` end event."""
    with spiff.db.connect() as conn:
        rows = conn.execute(sa.text("SELECT state, workflow FROM spiff_workflows")).all()
    finals = [spiff_state(spiff.serializer.deserialize_json(text)) for _, text in rows]
    if len(rows) != n or {state for state, _ in rows} != {FINAL} or set(finals) != {FINAL}:
        raise SystemExit(
            f"spiff: {len(rows)} workflows, states {set(finals)}; expected {n} {FINAL}"
        )


# -- plain Prefect (runs in its own process: python bench_lifecycle.py --prefect-child L) ------


@cache
def plain_db(url: str) -> sa.Engine:
    """One SQLAlchemy engine per database URL in the Prefect process."""
    return make_engine(url)


def plain_create(url: str, ref: str, who: tuple[str, str]) -> int:
    """INSERT a draft row as ``who`` (must hold a create role); its id."""
    if who[1] != "author":
        raise RefusedError(f"plain: {who[1]} may not create")
    with plain_db(url).begin() as conn:
        return int(
            conn.execute(
                sa.insert(PLAIN_TABLE).returning(PLAIN_TABLE.c.id),
                {
                    "ref": ref,
                    "state": "draft",
                    "version": 1,
                    "created_by": who[0],
                    "data": canonical_json(DATA),
                    "updated_at": utc_iso(utcnow()),
                },
            ).scalar_one()
        )


def plain_transition(
    url: str, row_id: int, trigger: str, who: tuple[str, str], payload: Any
) -> str:
    """Read the row, check role, source state, guard and payload from the YAML definition, apply
    its actions and UPDATE the row (checked against the version read), in one transaction."""
    spec = definition()[trigger]
    sources = spec["source"] if isinstance(spec["source"], list) else [spec["source"]]
    with plain_db(url).begin() as conn:
        state, version, created_by, data_text = conn.execute(
            sa.select(
                PLAIN_TABLE.c.state,
                PLAIN_TABLE.c.version,
                PLAIN_TABLE.c.created_by,
                PLAIN_TABLE.c.data,
            ).where(PLAIN_TABLE.c.id == row_id)
        ).one()
        if who[1] not in spec["roles"] or state not in sources:
            raise RefusedError(f"plain: {who[1]} may not {trigger} in {state}")
        if "not_creator" in spec.get("guards", []) and who[0] == created_by:
            raise RefusedError(f"plain: the creator may not {trigger}")
        if any(not payload.get(field) for field in spec.get("requires", [])):
            raise RefusedError(f"plain: {trigger} needs {spec['requires']}")
        data = json.loads(data_text)
        actions = spec.get("actions", [])
        if "count_revision" in actions:
            data["revision"] = int(data.get("revision", 0)) + 1
        if "record_reason" in actions:
            data["last_reason"] = payload["reason"]
        if "record_decision" in actions:
            data["decision"] = {"by": who[0], "at": utc_iso(utcnow()), "outcome": spec["dest"]}
        updated = conn.execute(
            sa.update(PLAIN_TABLE)
            .where(PLAIN_TABLE.c.id == row_id, PLAIN_TABLE.c.version == version)
            .values(
                state=spec["dest"],
                version=version + 1,
                data=canonical_json(data),
                updated_at=utc_iso(utcnow()),
            )
        )
        if updated.rowcount != 1:
            raise RefusedError(f"plain: row {row_id} changed underneath")
    return str(spec["dest"])


class RetryCounter(logging.Handler):
    """Counts the Prefect client's retries of a request the server answered 503 (busy)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        """One more retry when the client logs a retryable status."""
        if "retryable status code" in record.getMessage():
            self.retries += 1


def body_timed(function: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    """``function``, adding the wall time of each call to ``spent[0]`` (what the task bodies cost
    out of a flow run's time; the rest is Prefect's orchestration)."""

    @wraps(function)
    def timed_body(*args: Any, **kwargs: Any) -> Any:
        start = perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[0] += perf_counter() - start

    return timed_body


def prefect_child(label: str, folder: Path, m: int) -> dict[str, Any]:
    """Run in the Prefect process: one untimed warm-up flow run (starts the temporary server),
    then ``m`` timed lifecycle flow runs; the figures and checks as a dict."""
    os.environ["PREFECT_HOME"] = str(folder / f"prefect-home-{label}")
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    from flows.prefect_env import configure

    configure()  # the project's Prefect settings (no telemetry, no heartbeat), before Prefect
    from prefect import flow, task

    url = f"sqlite:///{folder / f'prefect-{label}.sqlite3'}"
    fresh_sqlite(Path(url.removeprefix("sqlite:///")), PLAIN_DDL).dispose()
    counter, in_bodies = RetryCounter(), [0.0]
    client_log = logging.getLogger("prefect.client")
    tasks: dict[str, Callable[..., Any]] = {
        trigger: task(name=trigger)(body_timed(plain_transition, in_bodies))
        for trigger, _, _ in STEPS
    }
    create_task = task(name="create")(body_timed(plain_create, in_bodies))

    @flow(name="approval-lifecycle")
    def lifecycle(url: str, ref: str) -> str:
        row_id = create_task(url, ref, AUTHOR)
        state = "draft"
        for trigger, who, payload in STEPS:
            state = tasks[trigger](url, row_id, trigger, who, payload)
        return state

    start = perf_counter()
    warm = lifecycle(url, "WARM-UP", return_state=True)
    startup = perf_counter() - start
    client_log.addHandler(counter)
    client_log.setLevel(logging.DEBUG)
    states, in_bodies[0] = [], 0.0
    start = perf_counter()
    states.extend(lifecycle(url, f"R-{i}", return_state=True) for i in range(m))
    seconds = perf_counter() - start
    client_log.removeHandler(counter)
    completed = sum(1 for s in states if s.is_completed() and s.result() == FINAL)
    with plain_db(url).connect() as conn:
        accepted = conn.scalar(
            sa.text("SELECT count(*) FROM requests WHERE state = :s AND ref != 'WARM-UP'"),
            {"s": FINAL},
        )
    if not warm.is_completed():
        raise SystemExit(f"prefect ({label}): the warm-up flow run ended {warm.type}")
    return {
        "label": label,
        "lifecycles": m,
        "seconds": seconds,
        "startup_seconds": startup,
        "completed_runs": completed,
        "accepted_rows": int(accepted or 0),
        "retries_503": counter.retries,
        "task_body_seconds": in_bodies[0],
    }


@contextmanager
def prefect_postgres(admin_url: str | None) -> Iterator[str | None]:
    """A fresh database (with ``pg_trgm``) for Prefect's server on ``admin_url``'s server, as an
    asyncpg URL, dropped afterwards; ``None`` when no URL was given."""
    if admin_url is None:
        yield None
        return
    name = f"cchc_bench_prefect_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    url = sa.make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        with sa.create_engine(url.set(drivername="postgresql+psycopg")).connect() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            conn.commit()
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run_prefect(label: str, folder: Path, m: int, database_url: str | None) -> dict[str, Any]:
    """Run ``prefect_child`` in a new process (its own temporary Prefect server); its figures."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_DATABASE_CONNECTION_URL"}
    if database_url is not None:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--prefect-child",
        label,
        "--data-dir",
        str(folder),
        "--prefect-lifecycles",
        str(m),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:  # the temporary server's shutdown noise is dropped
        sys.stderr.write(done.stderr)
        raise SystemExit(f"prefect ({label}) failed with exit code {done.returncode}")
    result: dict[str, Any] = json.loads(lines[-1])
    if result["completed_runs"] != m or result["accepted_rows"] != m:
        raise SystemExit(f"prefect ({label}): {result}; expected {m} completed and accepted")
    return result


# -- printing ----------------------------------------------------------------------------------


def results_table(measures: dict[str, Measure]) -> Table:
    """One row per section: lifecycles, seconds, lifecycles/s, transitions/s, ms per lifecycle."""
    table = Table(title=f"Approval lifecycle ({TRANSITIONS} transitions), each persisted to SQLite")
    headers = ("section", "lifecycles", "s", "lifecycles/s", "transitions/s", "ms/lifecycle")
    for header in headers:
        table.add_column(header, justify="left" if header == "section" else "right")
    for m in measures.values():
        table.add_row(
            m.name,
            str(m.count),
            f"{m.seconds:.2f}",
            f"{m.per_second:,.1f}",
            f"{TRANSITIONS * m.per_second:,.0f}",
            f"{m.ms_each:,.1f}",
        )
    return table


def ratios(measures: dict[str, Measure]) -> dict[str, float]:
    """Each engine variant's lifecycles per second divided by every other section's."""
    engines = [k for k in measures if k.startswith("engine")]
    return {
        f"{e}/{other}": measures[e].per_second / measures[other].per_second
        for e in engines
        for other in measures
        if not other.startswith("engine")
    }


def run_sections(
    folder: Path, n: int, m: int, pg_url: str | None
) -> tuple[dict[str, Measure], list[dict[str, Any]]]:
    """Engine and Spiff (two ways each) on ``n`` lifecycles, Prefect on ``m`` per backend."""
    engine_db = fresh_sqlite(folder / "engine.sqlite3")
    upgrade(engine_db)
    engine_db.dispose()
    measures = {
        "engine_per_transition": engine_section(
            folder, n, TENANTS["engine_per_transition"], one_transaction=False
        ),
        "engine_per_lifecycle": engine_section(
            folder, n, TENANTS["engine_per_lifecycle"], one_transaction=True
        ),
        "spiff_reload": spiff_section(folder, n, reload=True),
        "spiff_memory": spiff_section(folder, n, reload=False),
    }
    runs = [run_prefect("sqlite", folder, m, None)]
    if pg_url is not None:
        runs.append(run_prefect("postgresql", folder, m, pg_url))
    for run in runs:
        backend = "SQLite" if run["label"] == "sqlite" else "PostgreSQL"
        measures[f"prefect_{run['label']}"] = Measure(
            f"Prefect, server on {backend}", run["lifecycles"], run["seconds"]
        )
    return measures, runs


def print_report(
    console: Console, measures: dict[str, Measure], runs: list[dict[str, Any]], n: int, m: int
) -> None:
    """The machine line, the table, the ratios, the Prefect notes, the target and the check;
    then the JSON line."""
    machine = machine_info(spiffworkflow=version("SpiffWorkflow"), prefect=version("prefect"))
    console.print(machine_line(machine))
    console.print(results_table(measures))
    found = ratios(measures)
    for key, ratio in found.items():
        engine_key, other = key.split("/")
        console.print(f"{measures[engine_key].name} / {measures[other].name}: ×{ratio:,.1f}")
    for run in runs:
        console.print(
            f"prefect ({run['label']}): temporary server started in {run['startup_seconds']:.1f} s "
            f"(untimed warm-up run); {run['retries_503']} client retries after a 503 (server "
            f"busy); task bodies {run['task_body_seconds']:.2f} s of {run['seconds']:.2f} s"
        )
    worst = min(v for k, v in found.items() if k.startswith("engine_per_transition/prefect"))
    verdict = "met" if worst >= 10 else f"MISSED by ×{10 / worst:.1f}"
    console.print(
        f"target: engine (1 tx per transition) ≥ 10× plain Prefect on every backend: "
        f"×{worst:,.1f}, {verdict}"
    )
    console.print(
        f"check: every lifecycle ended '{FINAL}' in every section (engine: {n + WARM_UP} per "
        f"section, {TRANSITIONS} applied events each, audit chains verified; Spiff: {n + WARM_UP} "
        f"per section, deserialised again; Prefect: {m} flow runs Completed per backend, rows "
        f"'{FINAL}')"
    )
    print(
        json.dumps(
            {
                "bench": "lifecycle",
                "lifecycles": n,
                "prefect_lifecycles": m,
                "transitions_per_lifecycle": TRANSITIONS,
                "machine": machine,
                "results": {k: v.as_json() for k, v in measures.items()},
                "ratios": {k: round(v, 2) for k, v in found.items()},
                "prefect": runs,
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run every section on fresh files and print the report, then the JSON line."""
    args = parse_args(argv)
    if args.prefect_child is not None:
        print(json.dumps(prefect_child(args.prefect_child, args.data_dir, args.prefect_lifecycles)))
        return
    n, m = args.lifecycles, args.prefect_lifecycles
    with data_folder(args.data_dir) as folder, prefect_postgres(args.prefect_postgres) as pg_url:
        measures, runs = run_sections(folder, n, m, pg_url)
    print_report(Console(highlight=False, soft_wrap=True, width=110), measures, runs, n, m)


if __name__ == "__main__":
    main()
