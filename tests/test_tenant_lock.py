"""The tenant lock: one holder at a time per tenant, on SQLite (lock file) and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import Db
from workflows.database import make_engine
from workflows.tenant_lock import TenantBusyError, tenant_lock


def test_held_lock_refuses_a_second_holder_of_the_same_tenant(db: Db) -> None:
    """While one holder has a tenant, another gives up after its timeout; other tenants are free."""
    with tenant_lock(db.engine, "phuong-a", timeout=5):
        with (
            pytest.raises(TenantBusyError, match="phuong-a"),
            tenant_lock(db.engine, "phuong-a", timeout=0.3),
        ):
            pass
        with tenant_lock(db.engine, "phuong-b", timeout=1):
            pass
    with tenant_lock(db.engine, "phuong-a", timeout=1):
        pass


def test_waiter_gets_the_lock_only_after_the_holder_releases(db: Db) -> None:
    """A second holder in another thread (own connection) gets in only once the first is done."""
    order: list[str] = []
    other = make_engine(db.url)
    try:
        with tenant_lock(db.engine, "phuong-a", timeout=5):

            def wait_for_lock() -> None:
                with tenant_lock(other, "phuong-a", timeout=30):
                    order.append("acquired")

            waiter = threading.Thread(target=wait_for_lock)
            waiter.start()
            time.sleep(0.5)  # let the waiter reach the lock; the order below proves it waited
            order.append("released")
        waiter.join(timeout=30)
    finally:
        other.dispose()
    assert order == ["released", "acquired"]


def test_error_inside_the_block_releases_the_lock(db: Db) -> None:
    """An exception in the held block propagates and leaves the tenant free for the next holder."""
    with pytest.raises(RuntimeError, match="boom"), tenant_lock(db.engine, "phuong-a", timeout=1):
        raise RuntimeError("boom")
    with tenant_lock(db.engine, "phuong-a", timeout=0.5):
        pass


def test_released_lock_is_not_kept_by_a_pooled_connection(db: Db) -> None:
    """After the block a holder on another engine (own connections) gets the tenant at once."""
    with tenant_lock(db.engine, "phuong-a", timeout=1):
        pass
    other = make_engine(db.url)
    try:
        with tenant_lock(other, "phuong-a", timeout=0.3):
            pass
    finally:
        other.dispose()


def test_bad_arguments_are_refused(db: Db) -> None:
    """An empty tenant or a non-positive timeout is a caller's error, not a silent no-lock."""
    with pytest.raises(ValueError, match="tenant"), tenant_lock(db.engine, ""):
        pass
    with pytest.raises(ValueError, match="timeout"), tenant_lock(db.engine, "a", timeout=0):
        pass
