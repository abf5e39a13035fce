"""Prefect flows over the workflow engine. The only package of the project that imports Prefect.

``configure()`` runs before anything below imports Prefect: it sets the project's Prefect
environment (no telemetry, a patient temporary-server start-up, quiet server logs) and switches
flow-run heartbeats off.
"""

from flows.prefect_env import configure

configure()
