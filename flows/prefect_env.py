"""Prefect's environment for this project, applied before Prefect is imported.

``flows/__init__.py`` calls ``configure()`` first thing, so every process that runs a flow
(CLI, demo, tests, a worker importing ``flows.*``) gets the same settings. Nothing else in the
project imports Prefect: ``import workflows`` and ``import cchc.cli`` stay Prefect-free.

Each variable is only a default (``os.environ.setdefault``): a value set by the operator wins.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

DEFAULTS: dict[str, str] = {
    # No phoning home, neither from the client nor from the (temporary) API server.
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # A temporary server needs 6-8 s to start, ~20 s on a fresh PREFECT_HOME (migrations);
    # Prefect's default of 20 s is too tight on a busy or slow machine.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    # The API server (and its uvicorn / fastapi loggers) only speaks up when something is wrong.
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
}

HEARTBEAT_VARIABLES = ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")
"""When either holds a number, the operator chose a heartbeat and ``configure`` leaves it on."""

OFF_VALUES = {"", "none", "null", "off", "0"}
"""Values meaning "no heartbeat", which Prefect itself would reject on import."""


def configure() -> None:
    """Set the project's Prefect defaults, then switch off flow-run heartbeats.

    A heartbeat thread costs every flow run about one second at its end (the thread sleeps
    in one-second steps and is joined when the run finishes). The setting
    ``flows.heartbeat_frequency`` can only be switched off with ``None``, which no environment
    value can express (``""`` and ``"None"`` fail validation; the minimum number is 30), so it
    is set in code on Prefect's process-wide settings once Prefect is imported. Set
    ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` (>= 30) to keep heartbeats, e.g. on a worker whose
    crashed runs should be detected; an empty value (or ``none``, ``off``, ``0``) is removed
    from the environment and means off.
    """
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    for name in HEARTBEAT_VARIABLES:
        if os.environ.get(name, "x").strip().lower() in OFF_VALUES:
            del os.environ[name]
    if not any(name in os.environ for name in HEARTBEAT_VARIABLES):
        _disable_heartbeat()


def _disable_heartbeat() -> None:
    # Imported here, after the environment above is in place: Prefect reads it on import.
    import prefect.context

    current = prefect.context.GLOBAL_SETTINGS_CONTEXT
    if current.settings.flows.heartbeat_frequency is None:
        return
    # An explicitly set value survives the copies Prefect makes later (temporary_settings,
    # prefect_test_harness), which keep the fields that were set.
    prefect.context.GLOBAL_SETTINGS_CONTEXT = prefect.context.SettingsContext(
        profile=current.profile,
        settings=current.settings.copy_with_update(updates={"flows.heartbeat_frequency": None}),
    )


CONSOLE_LEVEL_VARIABLE = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"
"""Prefect's override of its console handler's level (read each time it sets logging up)."""
LOG_FORMAT = "%(asctime)s | %(levelname)-7s | %(name)s - %(message)s"
_file_handler: logging.FileHandler | None = None


def log_to_file(log_file: Path, *, verbose: bool = False) -> None:
    """Send Prefect's log lines (INFO and up, English) to ``log_file``, appended.

    The terminal keeps only warnings and errors unless ``verbose`` (or unless the operator set
    ``PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL``), so a CLI command's own Vietnamese lines are not
    interleaved with Prefect's. Flow runs still send their logs to the API as before. A second
    call replaces the file of the first.
    """
    global _file_handler  # noqa: PLW0603 - one file handler per process, replaced on a new call
    from prefect.logging.formatters import PrefectFormatter
    from prefect.logging.handlers import PrefectConsoleHandler

    if not verbose and CONSOLE_LEVEL_VARIABLE not in os.environ:
        os.environ[CONSOLE_LEVEL_VARIABLE] = "WARNING"  # also when Prefect sets logging up again
        for handler in logging.getLogger().handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(logging.WARNING)
    prefect_logger = logging.getLogger("prefect")
    if _file_handler is not None:
        prefect_logger.removeHandler(_file_handler)
        _file_handler.close()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    _file_handler = logging.FileHandler(log_file, encoding="utf-8", delay=True)
    _file_handler.setLevel(logging.INFO)
    _file_handler.setFormatter(
        PrefectFormatter(
            format=LOG_FORMAT,
            flow_run_fmt="%(asctime)s | %(levelname)-7s | Flow run %(flow_run_name)r - %(message)s",
            task_run_fmt="%(asctime)s | %(levelname)-7s | Task run %(task_run_name)r - %(message)s",
        )
    )
    prefect_logger.addHandler(_file_handler)
