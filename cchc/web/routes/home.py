"""The home page of everyone: what waits for me and my unit (``cchc.waiting``)."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response

from cchc.waiting import waiting_for
from cchc.web.deps import Viewer, area_router, page, signed_in, workspace

router = area_router()

LINKS = {
    "tasks_due": "/tasks?show=open",
    "tasks_overdue": "/tasks?show=late",
    "sent_back": "/sent-back",
    "follow_ups": "/tasks?show=follow_up",
    "reviews": "/review",
    "approvals": "/assessments?show=waiting",
}
"""Count → the page listing its items. A count without a page yet is shown without a link;
the role pages add theirs here (reviews → the review queue, approvals → the head's page)."""


@router.get("/")
def home(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """The counts that concern the viewer, each a link to its items."""
    ws = workspace(request)
    counts = waiting_for(ws, viewer.actor, ws.engine.clock())
    items = [(w, LINKS.get(w.key)) for w in counts]
    return page(request, "home.html", items=items, links=LINKS)
