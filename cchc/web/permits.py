"""Who may do the focal unit's work in the browser, from the engine's definitions.

The roles come from the workflow definitions (``create_roles`` of a kind, the roles of a
trigger), as ``cchc.commands.cycle_common.require_roles`` reads them for the CLI; a refusal is
audited through ``cchc.organization.access.require_any_role`` and worded by
``cchc.refusals``. ``nav`` tells ``base.html`` which of these pages to list.
"""

from __future__ import annotations

from starlette.requests import Request

from cchc.organization.access import read_scope, require_any_role
from cchc.organization.capabilities import roles_with
from cchc.refusals import refusal_sentence
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.errors import NotPermittedError
from workflows.registry import Actor

SCORE_ALL = "score_all"
"""The pseudo-trigger of a scoring run: it self-scores every unit's assessments, which the
guard ``own_unit_or_focal`` lets only ``submit_for_any_unit`` roles do for another unit, so
a run needs a role that may ``self_score`` and holds that capability."""


def allowed_roles(ws: Workspace, kind: str, trigger: str | None = None) -> set[str]:
    """The roles that may create ``kind`` (or fire ``trigger`` on it; for ``assessment`` and
    ``SCORE_ALL``: run the scoring of every unit)."""
    if kind == "assessment" and trigger == SCORE_ALL:
        return allowed_roles(ws, kind, "self_score") & roles_with("submit_for_any_unit")
    definition = ws.engine.current(kind).definition
    if trigger is None:
        return set(definition.create_roles)
    return {r for t in definition.transitions if t.trigger == trigger for r in t.roles}


def may(ws: Workspace, actor: Actor, kind: str, trigger: str | None = None) -> bool:
    """True when ``actor`` holds a role that may create ``kind`` (or fire ``trigger``)."""
    return bool(actor.roles & allowed_roles(ws, kind, trigger))


def role_labels(ws: Workspace) -> dict[str, str]:
    """Role name → its Vietnamese label."""
    return {name: spec.label for name, spec in ws.engine.definitions.roles.roles.items()}


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
            return refusal_sentence(exc, role_labels(ws))
    return None


def nav(request: Request) -> dict[str, bool]:
    """Which of the focal unit's pages the signed-in person may use (for the menu)."""
    from cchc.web.deps import maybe_signed_in, workspace

    viewer = maybe_signed_in(request)
    if viewer is None:
        return {}
    ws = workspace(request)
    actor = viewer.actor
    reads = read_scope(actor).whole_tenant or bool(read_scope(actor).units)
    return {
        "plans": may(ws, actor, "plan"),
        "metrics": may(ws, actor, "metric_import"),
        "scores": reads,
        "at_risk": reads,
        "ranking": read_scope(actor).whole_tenant,
    }
