"""Which role pages a signed-in person may use, for the menu (``may_use`` in templates).

Asked of the definitions in force, never of role names: the assessments page is for whoever
may decide on a self-score (``cchc.scoring.approvals.decision_roles``), the review meetings
page for whoever may open a meeting or act on one and reads the whole ward.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from cchc.organization.access import read_scope
from cchc.review.files import review_roles
from cchc.scoring.approvals import decision_roles


@pass_context
def may_use(context: Context, area: str) -> bool:
    """Whether the page's viewer may use ``area`` (``assessments``, ``reviews``)."""
    viewer: Any = context.get("viewer")
    request: Any = context.get("request")
    if viewer is None or request is None:
        return False
    ws = request.app.state.web.ws
    roles = viewer.actor.roles
    if area == "assessments":
        return bool(roles & decision_roles(ws))
    if area == "reviews":
        return bool(roles & review_roles(ws)) and read_scope(viewer.actor).whole_tenant
    return False


GLOBALS = {"may_use": may_use}
"""The template globals of the menu."""
