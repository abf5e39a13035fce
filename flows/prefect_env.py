"""Prefect's environment for this project, applied before Prefect is imported.

``flows/__init__.py`` calls ``configure()`` first thing, so every process that runs a flow
(CLI, demo, tests, a worker importing ``flows.*``) gets the same settings. Nothing else in the
project imports Prefect: ``import workflows`` and ``import cchc.cli`` stay Prefect-free.

Each variable is only a default (``os.environ.setdefault``): a value set by the operator wins.
"""

from __future__ import annotations

import os

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
