"""The signed audit checkpoint taken at the end of each flow run, kept as a Prefect artifact.

Without a signing key (``cchc keys init``) nothing is taken. A key that cannot be used (others
may read it) is logged as an error: the flow's own work is done and kept.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext, TaskRunContext
from prefect.exceptions import MissingContextError
from sqlalchemy.orm import Session, sessionmaker

from cchc.anchor import SigningKeyError, checkpoint_text, checkpoint_ward
from cchc.workspace import Workspace
from workflows.database import Settings


def checkpoint_step(ws: Workspace) -> dict[str, Any] | None:
    """Sign the ward's checkpoint; in a flow run also publish it as a markdown artifact."""
    return publish_checkpoint(ws.settings, ws.sessions, ws.tenant, ws.engine.clock())


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:  # called outside a run (a plain function of the flow)
        return logging.getLogger(__name__)


def publish_checkpoint(
    settings: Settings, sessions: sessionmaker[Session], tenant: str, now: datetime
) -> dict[str, Any] | None:
    """``checkpoint_step`` for a flow without a workspace (``flows.batch_fire``)."""
    try:
        taken = checkpoint_ward(settings, sessions, tenant, now)
    except SigningKeyError as exc:
        _logger().error("audit checkpoint not signed: %s", exc)
        return None
    if taken is None:
        return None
    checkpoint, path = taken
    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        create_markdown_artifact(
            key="audit-checkpoint-" + re.sub(r"[^a-z0-9-]+", "-", tenant.lower()),
            markdown=(
                f"**{checkpoint_text(checkpoint)}**\n\n"
                "| tenant | seq | head hash | events | instances | key |\n"
                "|---|---|---|---|---|---|\n"
                f"| {checkpoint.tenant} | {checkpoint.seq} | `{checkpoint.head_hash}` | "
                f"{checkpoint.events} | {checkpoint.instances} | `{checkpoint.key}` |\n\n"
                f"Signature (Ed25519): `{checkpoint.signature}`"
            ),
            description=f"Signed audit checkpoint of {tenant}, seq {checkpoint.seq}",
        )
    return {
        "seq": checkpoint.seq,
        "head_hash": checkpoint.head_hash,
        "file": str(path),
        "text": checkpoint_text(checkpoint),
    }
