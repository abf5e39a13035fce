"""The ``cchc`` sub-commands that run Prefect flows (``demo``, ``deploy``, ``sweep``, ``review
run``), registered in ``cchc.cli.SUBCOMMANDS`` by module path: ``cchc`` imports no ``flows``.

Each module imports Prefect only when its command runs, so ``cchc --help`` stays light.
"""

from __future__ import annotations

from pathlib import Path

from cchc.commands.state import AppState


def prefect_logs_to_file(state: AppState) -> Path:
    """Before a flow runs: Prefect's log lines to ``DATA_DIR/logs/prefect.log``; the terminal
    keeps Prefect's warnings and errors only, unless ``--verbose``. Imports Prefect."""
    from flows.prefect_env import log_to_file

    path = state.settings().data_dir / "logs" / "prefect.log"
    log_to_file(path, verbose=state.verbose)
    return path
