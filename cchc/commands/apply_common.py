"""``cchc org apply``, ``cchc index-set apply``, ``cchc definitions apply``: an administrator
registers a new version of the tenant's reference data, after seeing the difference.

The acting person's roles come from the organization in force (the registered one), so a file
cannot grant its own author the administrator role. The registration is one audit event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import typer
from rich.markup import escape
from sqlalchemy.orm import Session, sessionmaker

from cchc import reference_data
from cchc.commands.cycle_common import (
    acting,
    open_workspace,
    reporting,
    require_any_role,
    say,
    stop,
)
from cchc.organization.capabilities import roles_with
from cchc.reference_data import LABELS, Snapshot, differences, register, registered
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.definition.loader import DefinitionSet

ADMIN_ROLES = roles_with("apply_reference_data")
YES_HELP = "Register without asking (the difference is still printed)."
Reader = Callable[[Workspace], Sequence[Snapshot]]


def apply(ctx: typer.Context, kinds: tuple[str, ...], read: Reader, person: str, yes: bool) -> None:
    """Show how ``read``'s snapshots differ from the registered versions, then register them."""
    with reporting(), open_workspace(ctx, follow=kinds) as ws:
        actor = acting(ws, person)
        what = f"apply {'+'.join(kinds)}"
        require_any_role(ws, actor, ADMIN_ROLES, what=what, kind=reference_data.AUDIT_KIND)
        role = min(actor.roles & ADMIN_ROLES)  # the role that allowed it, recorded
        snapshots = read(ws)
        register_shown(ws.sessions, ws.tenant, snapshots, actor.id, ws.engine.clock(), yes, role)


def register_shown(
    sessions: sessionmaker[Session],
    tenant: str,
    snapshots: Sequence[Snapshot],
    actor: str,
    now: datetime,
    yes: bool,
    role: str,
) -> None:
    """Print how ``snapshots`` differ from ``tenant``'s registered versions, ask (unless
    ``yes``), then register the changed ones as ``actor`` in ``role`` in one audited event."""
    with sessions() as session:
        current = {s.kind: registered(session, tenant, s.kind) for s in snapshots}
    changed = [s for s in snapshots if (row := current[s.kind]) is None or row.hash != s.hash]
    if not changed:
        say(f"Không có thay đổi (nothing to apply): {tenant} đã dùng đúng các tệp này.")
        return
    for snapshot in changed:
        row = current[snapshot.kind]
        version = 0 if row is None else row.version
        say(
            f"[bold]{escape(LABELS[snapshot.kind])}[/] của {tenant}: phiên bản {version} "
            f"→ {version + 1} ({escape(snapshot.source)})"
        )
        lines = (
            ["mới (new)"]
            if row is None
            else differences(snapshot.kind, row.content, snapshot.content)
        )
        for line in lines:
            say(f"  • {escape(line)}")
    if not yes and not typer.confirm(
        "Đăng ký phiên bản mới? (register the new version?)", default=False
    ):
        raise stop("không đăng ký gì (nothing was registered)", 1)
    with unit_of_work(sessions) as session:
        versions = register(
            session, tenant, changed, actor=actor, role=role, now=now, trigger="apply"
        )
    done = ", ".join(f"{LABELS[k]} v{v}" for k, v in versions.items())
    say(f"[green]✓[/] Đã đăng ký (registered, audited) cho {tenant}: {escape(done)}")


def folder_definitions(sessions: sessionmaker[Session]) -> DefinitionSet:
    """The definitions folder in use (``CCHC_DEFINITIONS_DIR`` or the project's), not the
    registered definitions; exit 1 when a definition's body differs from the one stored under
    the same kind and version (a changed definition needs a new version number)."""
    from cchc.runtime import definitions_dir, load
    from workflows import store

    definitions = load(definitions_dir())
    with sessions() as session:
        conn = session.connection()
        for kind, definition in definitions.workflows.items():
            stored = store.definition_hashes(conn, kind, definition.version)
            if stored and definition.content_hash not in stored:
                raise stop(
                    f"definition {kind} version {definition.version} is already stored with "
                    "another body; a changed definition needs a new version number",
                    1,
                )
    return definitions
