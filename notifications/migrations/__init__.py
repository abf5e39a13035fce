"""The ``notifications`` branch of migrations: its tables (``notifications.tables``).

``VERSIONS`` is the folder the application adds to the engine's migrations
(``workflows.migrations``) so that one upgrade brings every branch to its head.
"""

from __future__ import annotations

from pathlib import Path

VERSIONS = Path(__file__).parent / "versions"
