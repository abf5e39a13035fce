"""One Prefect test server per session, for the tests marked ``prefect``.

``PREFECT_HOME`` points at a temporary folder from the moment this file is imported, which is
before the test modules here import ``flows`` (and so Prefect): the tests never touch the
developer's ``~/.prefect``. The folder is removed when the session finishes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PREFECT_HOME = Path(tempfile.mkdtemp(prefix="cchc-prefect-home-"))
os.environ["PREFECT_HOME"] = str(PREFECT_HOME)
_PREFECT_IMPORTED_EARLY = "prefect" in sys.modules


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API server on a fresh database, shared by the whole session."""
    from prefect.settings import temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    import flows  # noqa: F401  -- the project's Prefect settings (heartbeat off, no telemetry)

    # Prefect reads PREFECT_HOME on import; if another test module imported it before this
    # file was loaded, point the settings at the temporary home explicitly.
    updates = {"home": PREFECT_HOME} if _PREFECT_IMPORTED_EARLY else {}
    with temporary_settings(updates=updates), prefect_test_harness(server_startup_timeout=120):
        yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the temporary PREFECT_HOME (the harness has stopped its server by now)."""
    shutil.rmtree(PREFECT_HOME, ignore_errors=True)
