"""The menu: the pages a signed-in person may use, in one place (``menu`` in ``base.html``).

Each entry asks the definitions in force or the roles' capabilities (``definitions/roles.yaml``),
never role names: the review queue is for whoever may accept evidence, the assessments page for
whoever may decide on a self-score, the review meetings for whoever may act on a meeting and reads
the whole ward, the plan and metrics uploads for whoever may create those kinds, the history for
readers, the administration for account managers and those who register reference data. The pages
themselves still check; the menu only spares people links that would refuse them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from cchc.organization.access import read_scope
from cchc.review.files import review_roles
from cchc.scoring.approvals import decision_roles
from cchc.web.permits import may

if TYPE_CHECKING:
    from cchc.web.deps import Viewer
    from cchc.workspace import Workspace


@dataclass(frozen=True)
class Entry:
    """One menu link and who sees it."""

    href: str
    label: str
    shown: Callable[[Workspace, Viewer], bool]


def _always(ws: Workspace, viewer: Viewer) -> bool:
    return True


def _reads_units(ws: Workspace, viewer: Viewer) -> bool:
    scope = read_scope(viewer.actor)
    return scope.whole_tenant or bool(scope.units)


def _reads_ward(ws: Workspace, viewer: Viewer) -> bool:
    return read_scope(viewer.actor).whole_tenant


ENTRIES = (
    Entry("/", "Trang chủ", _always),
    Entry("/tasks", "Nhiệm vụ", _always),
    Entry("/criteria", "Minh chứng", _always),
    Entry("/review", "Thẩm định", lambda ws, v: v.may("evidence", "accept")),
    Entry("/assessments", "Đánh giá", lambda ws, v: bool(v.actor.roles & decision_roles(ws))),
    Entry(
        "/meetings",
        "Giao ban",
        lambda ws, v: bool(v.actor.roles & review_roles(ws)) and _reads_ward(ws, v),
    ),
    Entry("/plans/upload", "Kế hoạch", lambda ws, v: may(ws, v.actor, "plan")),
    Entry("/metrics/upload", "Số liệu", lambda ws, v: may(ws, v.actor, "metric_import")),
    Entry("/scores", "Chấm điểm", _reads_units),
    Entry("/at-risk", "Điểm nguy cơ mất", _reads_units),
    Entry("/ranking", "Xếp hạng", _reads_ward),
    Entry(
        "/history",
        "Tra cứu lịch sử",
        lambda ws, v: v.can("read_ward") or v.can("read_own_unit"),
    ),
    Entry(
        "/admin",
        "Quản trị",
        lambda ws, v: v.can("manage_accounts") or v.can("apply_reference_data"),
    ),
    Entry("/password", "Đổi mật khẩu", _always),
)
"""The menu, in its order."""


def menu(request: Request) -> list[tuple[str, str]]:
    """``(href, label)`` of the entries the request's signed-in person may use."""
    from cchc.web.deps import maybe_signed_in, workspace

    viewer = maybe_signed_in(request)
    if viewer is None:
        return []
    ws = workspace(request)
    return [(e.href, e.label) for e in ENTRIES if e.shown(ws, viewer)]


GLOBALS = {"menu": menu}
"""The template globals of the menu."""
