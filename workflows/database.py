"""Where the data lives and how to connect: SQLite by default (WAL), PostgreSQL when configured."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class Settings:
    """The data folder (SQLite file, stored files) and the database URL, as the application
    resolved them (its options, environment and defaults)."""

    data_dir: Path
    database_url: str

    def absolute(self) -> Settings:
        """The same settings with the data folder and a SQLite file as absolute paths.

        For processes started in another folder (a Prefect worker running a deployment).
        """
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            url = url.set(database=str(Path(url.database).resolve()))
        return Settings(self.data_dir.resolve(), url.render_as_string(hide_password=False))


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist yet (connecting would create it)."""
    url = normalise_url(url)
    if not url.startswith("sqlite") or "///" not in url:
        return None
    path = url.split("///", 1)[1].split("?", 1)[0]
    if not path or path == ":memory:" or Path(path).exists():
        return None
    return Path(path)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


BEGIN = "workflows_sqlite_begin"
"""Execution option saying how a SQLite transaction begins: ``IMMEDIATE`` (the default: it takes
the write lock at once, so writers queue instead of failing when a deferred read would have to
upgrade) or ``DEFERRED`` (a read: no lock, a snapshot of what was committed; WAL lets it run
while a writer works). PostgreSQL ignores it."""
IMMEDIATE = {BEGIN: "IMMEDIATE"}
DEFERRED = {BEGIN: "DEFERRED"}


def reading(engine: Engine) -> Engine:
    """``engine`` whose transactions are reads (deferred on SQLite): for sessions and
    connections that only read, so they never wait behind a writer."""
    return engine.execution_options(**DEFERRED)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets WAL and ``synchronous=NORMAL``; its transactions
    begin with ``BEGIN IMMEDIATE`` unless the connection is marked a read (:data:`BEGIN`)."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        # Pre-ping kept on purpose: a pooled connection the server closed (a restart, a
        # failover, an idle timeout) is replaced before a request uses it instead of failing
        # that request. Measured on the local PostgreSQL (bench/README.md, web pages): about
        # 0.035 ms of CPU and wall time a checkout, well under 1% of a page's 5–7 ms.
        return create_engine(url, pool_pre_ping=True, **kwargs)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (pysqlite's own BEGIN handling is off),
        # so that every transaction starts with BEGIN IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the write lock at the start: a deferred BEGIN makes concurrent writers
        # fail with "database is locked" when they upgrade from reading to writing. A read
        # (marked DEFERRED) takes no lock, so it neither waits for nor blocks a writer.
        mode = connection.get_execution_options().get(BEGIN, "IMMEDIATE")
        connection.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit.

    A session used on its own (``with sessions() as session``) only reads: on SQLite its
    transaction is deferred (:func:`reading`). Writes go through :func:`unit_of_work`, which
    begins them with ``BEGIN IMMEDIATE``.
    """
    return sessionmaker(reading(engine), expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite): committed on success, rolled back
    whole on any error, a refusal included.

    The engine does not write a refusal into the unit of work: it holds it on the session
    (``workflows.audit.hold_refusal``). When the unit of work fails, everything it wrote is
    rolled back and the held refusals are then appended to their chains in a transaction of
    their own, so a refused unit of work leaves exactly its refusal. A refusal the caller
    handled (caught and went on) is appended with the rest when the unit of work commits.
    Writes made with :func:`keep_on_failure` are made again in that transaction, before the
    held refusals.
    """
    session = factory()
    try:
        try:
            with session.begin():
                _lock_for_writing(session)
                yield session
                _append_held_refusals(session)
        except BaseException:
            kept: list[Callable[[Session], None]] = session.info.pop(_KEPT, [])
            if kept or _has_held_refusals(session):
                with session.begin():
                    _lock_for_writing(session)
                    for write in kept:
                        write(session)
                    _append_held_refusals(session)
            raise
    finally:
        session.close()


_KEPT = "workflows.database.kept_writes"
"""The key in ``Session.info`` of the writes ``unit_of_work`` makes again after a rollback."""


def keep_on_failure(session: Session, write: Callable[[Session], None]) -> None:
    """Make ``write`` now, in the unit of work of ``session``, and make it again after the
    rollback should the unit of work fail: for what must be recorded even when the work is
    refused (a failed attempt that counts towards a limit). ``write`` reads what it changes
    from ``session`` each time (after a rollback, the state it first saw)."""
    write(session)
    session.info.setdefault(_KEPT, []).append(write)


def _lock_for_writing(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options=IMMEDIATE)  # a write: the lock first


def _has_held_refusals(session: Session) -> bool:
    from workflows.audit import held_refusal_count

    return held_refusal_count(session) > 0


def _append_held_refusals(session: Session) -> None:
    from workflows.audit import append_event, take_held_refusals

    for record in take_held_refusals(session):
        append_event(session, record)
