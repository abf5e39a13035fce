"""One holder at a time per tenant, across processes and machines: the database's own lock.

``tenant_lock(db, tenant)`` holds the tenant's exclusive lock for a whole block of work (a ward's
sweep or review, many transactions long). It is the safety net under the Prefect concurrency
limit of the city flows (docs/scale-out.md) and holds without any Prefect server:

- PostgreSQL: a session-level advisory lock (``pg_advisory_lock``) on a connection kept for the
  block, keyed by the schema and the tenant. The server drops it if the holder dies.
- SQLite: an exclusive ``flock`` on a file beside the database file (one machine, as SQLite is).
  The kernel drops it if the holder dies. An in-memory database needs no lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

POLL_SECONDS = 0.2
"""How often a waiter on SQLite tries the lock file again."""

# hashtextextended (PostgreSQL >= 11) gives a 64-bit key; every holder computes it in the server.
_KEY = "hashtextextended('cchc.tenant:' || current_schema() || ':' || :tenant, 0)"
_LOCK = text(f"SELECT pg_advisory_lock({_KEY})")
_UNLOCK = text(f"SELECT pg_advisory_unlock({_KEY})")
_LOCK_NOT_AVAILABLE = "55P03"


class TenantBusyError(TimeoutError):
    """Another holder kept the tenant's lock for longer than the caller would wait."""

    def __init__(self, tenant: str, timeout: float) -> None:
        super().__init__(f"tenant {tenant!r} is busy: its lock was not free within {timeout:g} s")
        self.tenant = tenant


@contextmanager
def tenant_lock(db: Engine, tenant: str, *, timeout: float = 3600.0) -> Iterator[None]:
    """Hold ``tenant``'s exclusive lock for the block; ``TenantBusyError`` after ``timeout`` s."""
    if not tenant:
        raise ValueError("tenant_lock needs a tenant code")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    if db.dialect.name == "postgresql":
        with _advisory_lock(db, tenant, timeout):
            yield
    elif db.dialect.name == "sqlite":
        path = _lock_file(db, tenant)
        if path is None:
            yield
        else:
            with _file_lock(path, tenant, timeout):
                yield
    else:
        raise NotImplementedError(f"no tenant lock for the {db.dialect.name} dialect")


@contextmanager
def _advisory_lock(db: Engine, tenant: str, timeout: float) -> Iterator[None]:
    # Autocommit: the lock belongs to the session, so no transaction stays open while held.
    conn = db.connect().execution_options(isolation_level="AUTOCOMMIT")
    locked = False
    try:
        conn.execute(
            text("SELECT set_config('lock_timeout', :ms, false)"),
            {"ms": f"{max(1, round(timeout * 1000))}ms"},
        )
        try:
            conn.execute(_LOCK, {"tenant": tenant})
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise TenantBusyError(tenant, timeout) from None
            raise
        locked = True
        yield
    finally:
        # The connection goes back to the pool only clean: unlocked, default lock_timeout.
        clean = False
        try:
            conn.execute(text("RESET lock_timeout"))
            clean = not locked or bool(conn.execute(_UNLOCK, {"tenant": tenant}).scalar_one())
        except Exception:  # noqa: BLE001 - a broken connection: the server has dropped its locks already
            clean = False
        if not clean:
            conn.invalidate()
        conn.close()


def _lock_file(db: Engine, tenant: str) -> Path | None:
    database = db.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    digest = hashlib.sha256(tenant.encode()).hexdigest()[:16]
    return Path(database).with_name(f"{Path(database).name}.tenant-{digest}.lock")


@contextmanager
def _file_lock(path: Path, tenant: str, timeout: float) -> Iterator[None]:
    deadline = time.monotonic() + timeout
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TenantBusyError(tenant, timeout) from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
