"""The administrator's pages: accounts (``cchc users list|invite|reset|disable``), the
registered workflow definitions with their state diagrams, and the link to the Prefect UI.

Accounts need the ``manage_accounts`` capability, definitions ``apply_reference_data``
(``definitions/roles.yaml``: the administrator). Anyone else asking for a page gets 404 and the
refusal is audited; a POST from anyone else reaches the account service, which refuses it
(audited) and the page words the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from cchc import reference_data, vi_text
from cchc.accounts.delivery import send_invite
from cchc.accounts.service import STATUS_LABELS, disable, invite, list_accounts
from cchc.organization.access import require_any_role
from cchc.organization.capabilities import roles_with
from cchc.organization.model import UnknownPersonError
from cchc.refusals import FIELD_LABELS, refusal_sentence
from cchc.settings import prefect_ui_url
from cchc.web.deps import NotFoundError, Viewer, area_router, page, signed_in, web
from cchc.web.deps import workspace as workspace_of
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.definition.loader import DefinitionSet
from workflows.definition.models import WorkflowDefinition
from workflows.diagram import DiagramUnavailableError, dot_svg, to_dot
from workflows.errors import NotPermittedError, TransitionRefusedError

router = area_router()

ACCOUNTS = "manage_accounts"
DEFINITIONS = "apply_reference_data"
ACTIONS = {
    "invite": "Gửi lời mời",
    "reset": "Đặt lại mật khẩu",
    "disable": "Vô hiệu hóa",
}
SVG_TYPE = "image/svg+xml"


def _allowed_or_not_found(ws: Workspace, viewer: Viewer, capability: str, what: str) -> None:
    """Return when the viewer's roles have ``capability``; else audit the refusal
    (``kind='access'``) and answer 404, as for an item that is not the viewer's."""
    if viewer.can(capability):
        return
    try:
        with unit_of_work(ws.sessions) as session:
            require_any_role(
                session, ws.engine, viewer.actor, roles_with(capability), what=what, kind="access"
            )
    except NotPermittedError:
        pass
    raise NotFoundError


def _sections(viewer: Viewer) -> list[tuple[str, str]]:
    """The administrator's pages the viewer may open: (address, title)."""
    found = []
    if viewer.can(ACCOUNTS):
        found.append(("/admin/accounts", "Tài khoản người dùng"))
    if viewer.can(DEFINITIONS):
        found.append(("/admin/definitions", "Định nghĩa quy trình"))
    return found


@router.get("/admin")
def admin_page(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """The administrator's pages and the Prefect UI's address."""
    sections = _sections(viewer)
    if not sections:
        _allowed_or_not_found(workspace_of(request), viewer, ACCOUNTS, "read administration")
    return page(request, "admin_index.html", sections=sections, prefect=prefect_ui_url())


# --- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    """What the last action did, for the page's notice (the link is shown this once)."""

    text: str
    link: str | None = None
    problem: str | None = None


def _accounts(
    request: Request,
    viewer: Viewer,
    *,
    done: Done | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    ws = workspace_of(request)
    with ws.sessions() as session:
        lines = list_accounts(session, ws.organization, ws.engine.clock())
    labels = ws.role_labels()
    return page(
        request,
        "admin_accounts.html",
        status_code=status_code,
        lines=lines,
        statuses=STATUS_LABELS,
        units=ws.unit_names(),
        roles=labels,
        actions=ACTIONS,
        done=done,
        error=error,
        prefect=prefect_ui_url(),
    )


@router.get("/admin/accounts")
def accounts_page(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """Every person with the state of their account, last sign-in and open sessions
    (``cchc users list``), and the form to invite, reset or disable."""
    _allowed_or_not_found(workspace_of(request), viewer, ACCOUNTS, "read accounts")
    return _accounts(request, viewer)


@router.post("/admin/accounts")
def accounts_submit(
    request: Request,
    person: str = Form(""),
    action: str = Form(""),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Invite, reset or disable, through the same service functions as ``cchc users``."""
    context = web(request)
    ws = context.ws
    org = ws.organization
    try:
        someone = org.person(person)
    except UnknownPersonError:
        return _accounts(request, viewer, error="Đề nghị chọn một người.", status_code=400)
    if action not in ACTIONS:
        return _accounts(request, viewer, error="Đề nghị chọn một thao tác.", status_code=400)
    try:
        with unit_of_work(ws.sessions) as session:
            if action == "disable":
                ended = disable(session, ws.engine, org, viewer.actor, someone.id)
            else:
                invitation = invite(
                    session,
                    ws.engine,
                    org,
                    viewer.actor,
                    someone.id,
                    purpose=action,
                    policy=context.policy,
                )
    except TransitionRefusedError as exc:
        labels = ws.role_labels()
        return page(
            request,
            "error.html",
            status_code=403,
            title="Yêu cầu bị từ chối",
            message=refusal_sentence(exc, labels),
        )
    except ValueError:
        return _accounts(
            request,
            viewer,
            error=f"Không gửi được lời mời cho {someone.full_name}: tài khoản đã có mật khẩu "
            "hoặc đã bị vô hiệu hóa. Dùng “Đặt lại mật khẩu” để gửi liên kết mới.",
            status_code=400,
        )
    except LookupError:
        return _accounts(
            request,
            viewer,
            error=f"{someone.full_name} chưa có tài khoản để vô hiệu hóa.",
            status_code=400,
        )
    if action == "disable":
        done = Done(
            f"Đã vô hiệu hóa tài khoản của {someone.full_name}; {ended} phiên đăng nhập đã "
            "kết thúc."
        )
        return _accounts(request, viewer, done=done)
    link = invitation.link(context.policy.base_url)
    problem = send_invite(org, invitation, link, ws.settings.data_dir)
    what = "lời mời" if action == "invite" else "liên kết đặt lại mật khẩu"
    expires = vi_text.datetime_text(invitation.expires_at)
    if problem is None:
        text = (
            f"Đã gửi {what} cho {someone.full_name} qua kênh thông báo ({someone.email}). "
            f"Liên kết dùng một lần, hết hạn lúc {expires}."
        )
    else:
        text = (
            f"Chưa gửi được {what} cho {someone.full_name}: hãy chuyển liên kết dưới đây cho "
            f"người này. Liên kết dùng một lần, hết hạn lúc {expires}."
        )
    return _accounts(request, viewer, done=Done(text, link=link, problem=problem))


# --- definitions --------------------------------------------------------------------------------


def registered_definitions(ws: Workspace) -> DefinitionSet:
    """The workflow definitions the ward's database registered (``cchc.reference_data``)."""
    return reference_data.definitions_of(ws.reference["definitions"])


def _definition(ws: Workspace, kind: str) -> WorkflowDefinition:
    found = registered_definitions(ws).workflows.get(kind)
    if found is None:
        raise NotFoundError
    return found


@router.get("/admin/definitions")
def definitions_page(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """Each registered definition: kind, version, states, transitions with their roles, and its
    state diagram (an SVG drawn by Graphviz)."""
    ws = workspace_of(request)
    _allowed_or_not_found(ws, viewer, DEFINITIONS, "read definitions")
    with ws.sessions() as session:
        row = reference_data.registered(session, ws.tenant, "definitions")
        registration = (
            None if row is None else (row.version, row.registered_by, row.registered_at, row.hash)
        )
    definitions = registered_definitions(ws)
    labels = {name: spec.label for name, spec in definitions.roles.roles.items()}
    people = {p.id: p.full_name for p in ws.organization.people}
    return page(
        request,
        "admin_definitions.html",
        definitions=sorted(definitions.workflows.values(), key=lambda d: d.kind),
        roles=labels,
        registration=registration,
        people=people,
        fields=FIELD_LABELS,
        prefect=prefect_ui_url(),
    )


@router.get("/admin/definitions/{kind}.svg")
def definition_svg(request: Request, kind: str, viewer: Viewer = Depends(signed_in)) -> Response:
    """The state diagram of a registered definition, drawn as SVG (``to_dot`` → ``dot``)."""
    ws = workspace_of(request)
    _allowed_or_not_found(ws, viewer, DEFINITIONS, "read definitions")
    definition = _definition(ws, kind)
    try:
        svg = dot_svg(to_dot(definition))
    except DiagramUnavailableError as exc:
        return Response(
            f"Không vẽ được sơ đồ: {exc}",
            status_code=503,
            media_type="text/plain; charset=utf-8",
        )
    return Response(
        svg,
        media_type=SVG_TYPE,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )
