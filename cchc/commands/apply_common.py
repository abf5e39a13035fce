"""``cchc org apply``, ``cchc index-set apply``, ``cchc definitions apply``: an administrator
registers a new version of the tenant's reference data, after seeing the difference.

The acting person's roles come from the organization in force (the registered one), so a file
cannot grant its own author the administrator role. The registration is one audit event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import typer
from rich.markup import escape

from cchc import reference_data
from cchc.capabilities import roles_with
from cchc.commands.cycle_common import (
    acting,
    open_workspace,
    reporting,
    require_any_role,
    say,
    stop,
)
from cchc.reference_data import LABELS, Snapshot, differences, register, registered
from cchc.workspace import Workspace
from workflows.database import unit_of_work

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
        with ws.sessions() as session:
            current = {s.kind: registered(session, ws.tenant, s.kind) for s in snapshots}
        changed = [s for s in snapshots if (row := current[s.kind]) is None or row.hash != s.hash]
        if not changed:
            say(f"Không có thay đổi (nothing to apply): {ws.tenant} đã dùng đúng các tệp này.")
            return
        for snapshot in changed:
            row = current[snapshot.kind]
            version = 0 if row is None else row.version
            say(f"[bold]{escape(LABELS[snapshot.kind])}[/] của {ws.tenant}: phiên bản {version} "
                f"→ {version + 1} ({escape(snapshot.source)})")  # fmt: skip
            lines = ["mới (new)"] if row is None else differences(snapshot.kind, row.content,
                                                                  snapshot.content)  # fmt: skip
            for line in lines:
                say(f"  • {escape(line)}")
        if not yes and not typer.confirm(
            "Đăng ký phiên bản mới? (register the new version?)", default=False
        ):
            raise stop("không đăng ký gì (nothing was registered)", 1)
        with unit_of_work(ws.sessions) as session:
            versions = register(session, ws.tenant, changed, actor=actor.id, role=role,
                                now=ws.engine.clock(), trigger="apply")  # fmt: skip
        done = ", ".join(f"{LABELS[k]} v{v}" for k, v in versions.items())
        say(f"[green]✓[/] Đã đăng ký (registered, audited) cho {ws.tenant}: {escape(done)}")
