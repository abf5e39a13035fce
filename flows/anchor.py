"""The signed audit checkpoint taken at the end of each flow run, kept as a Prefect artifact.

Without a signing key (``cchc keys init``) nothing is taken. A key that cannot be used (others
may read it) is logged as an error: the flow's own work is done and kept.
"""

from __future__ import annotations

import re
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext, TaskRunContext

from cchc.anchor import SigningKeyError, checkpoint_text, checkpoint_ward
from cchc.workspace import Workspace


def checkpoint_step(ws: Workspace) -> dict[str, Any] | None:
    """Sign the ward's checkpoint; in a flow run also publish it as a markdown artifact."""
    try:
        taken = checkpoint_ward(ws.settings, ws.sessions, ws.tenant, ws.engine.clock())
    except SigningKeyError as exc:
        get_run_logger().error("audit checkpoint not signed: %s", exc)
        return None
    if taken is None:
        return None
    checkpoint, path = taken
    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        create_markdown_artifact(
            key="audit-checkpoint-" + re.sub(r"[^a-z0-9-]+", "-", ws.tenant.lower()),
            markdown=(
                f"**{checkpoint_text(checkpoint)}**\n\n"
                "| tenant | seq | head hash | events | instances | key |\n"
                "|---|---|---|---|---|---|\n"
                f"| {checkpoint.tenant} | {checkpoint.seq} | `{checkpoint.head_hash}` | "
                f"{checkpoint.events} | {checkpoint.instances} | `{checkpoint.key}` |\n\n"
                f"Signature (Ed25519): `{checkpoint.signature}`"
            ),
            description=f"Signed audit checkpoint of {ws.tenant}, seq {checkpoint.seq}",
        )
    return {"seq": checkpoint.seq, "head_hash": checkpoint.head_hash, "file": str(path),
            "text": checkpoint_text(checkpoint)}  # fmt: skip
