"""Who may do the focal unit's work in the browser, from the engine's definitions.

The roles come from the workflow definitions (``create_roles`` of a kind, the roles of a
trigger), as ``cchc.commands.cycle_common.require_roles`` reads them for the CLI; a refusal is
audited through ``cchc.organization.access.require_any_role`` and worded by
``cchc.refusals``; the menu (``cchc.web.nav``) asks ``may``.
"""

from __future__ import annotations

from cchc.organization import permits
from cchc.organization.access import require_any_role
from cchc.refusals import refusal_sentence
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.errors import NotPermittedError
from workflows.registry import Actor


def allowed_roles(ws: Workspace, kind: str, trigger: str | None = None) -> set[str]:
    """The roles that may create ``kind`` (or fire ``trigger``; ``SCORE_ALL``: run the scoring
    of every unit), as the CLI asks (``cchc.organization.permits``)."""
    return permits.allowed_roles(ws.engine, kind, trigger)


def may(ws: Workspace, actor: Actor, kind: str, trigger: str | None = None) -> bool:
    """True when ``actor`` holds a role that may create ``kind`` (or fire ``trigger``)."""
    return bool(actor.roles & allowed_roles(ws, kind, trigger))


def refusal(
    ws: Workspace, actor: Actor, checks: list[tuple[str, str | None]], *, what: str
) -> str | None:
    """None when ``actor`` may do every ``(kind, trigger)`` of ``checks``; else the refusal
    is audited (``kind`` of the first check failed) and its Vietnamese sentence returned."""
    for kind, trigger in checks:
        allowed = allowed_roles(ws, kind, trigger)
        if actor.roles & allowed:
            continue
        try:
            with unit_of_work(ws.sessions) as session:
                require_any_role(session, ws.engine, actor, allowed, what=what, kind=kind)
        except NotPermittedError as exc:
            return refusal_sentence(exc, ws.role_labels())
    return None
