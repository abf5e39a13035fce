"""What routes use: the router of an area, the signed-in person, rendering a page, refusals.

A new area is a module of ``routes/`` with ``router = area_router()``; its routes take
``viewer: Viewer = Depends(signed_in)`` when they need the person, call service functions and
``return page(request, "template.html", ...)``. A POST form carries
``<input type="hidden" name="csrf" value="{{ csrf }}">``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from cchc.accounts.service import Current
from cchc.organization.access import AccessDeniedError, read_scope, require_read
from cchc.organization.capabilities import roles_with
from cchc.organization.model import Person
from cchc.web.context import WebContext
from cchc.web.security import CSRF_FIELD, csrf_ok, expected_csrf
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.errors import NotPermittedError
from workflows.registry import Actor

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequiredError(Exception):
    """An anonymous request for a page that needs a signed-in person (→ the sign-in page)."""


class NotFoundError(Exception):
    """Nothing to show: unknown, or not the viewer's to see (the refusal was audited)."""


class CsrfRefusedError(Exception):
    """A POST without this session's CSRF token (→ 403; audited when signed in)."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in person of a request."""

    person: Person
    actor: Actor
    session: Current
    unit_name: str | None
    role_labels: tuple[str, ...]
    fires: frozenset[tuple[str, str]] = frozenset()
    """The ``(kind, trigger)`` pairs the workflow definitions in force let the viewer's roles
    fire (guards and state aside): what the pages and the navigation offer them."""

    def may(self, kind: str, trigger: str) -> bool:
        """Whether the viewer's roles may fire ``trigger`` on ``kind`` (e.g. ``evidence``,
        ``accept``: the reviewers), as the definitions say; the engine still decides."""
        return (kind, trigger) in self.fires

    @property
    def id(self) -> str:
        """The person id."""
        return self.person.id

    @property
    def csrf(self) -> str:
        """The CSRF token of this session's forms."""
        return self.session.csrf

    def can(self, capability: str) -> bool:
        """Whether one of the viewer's roles declares ``capability`` (``definitions/roles.yaml``;
        the navigation shows the pages the viewer may use)."""
        return bool(self.actor.roles & roles_with(capability))


def web(request: Request) -> WebContext:
    """The application's state."""
    context: WebContext = request.app.state.web
    return context


def workspace(request: Request) -> Workspace:
    """The workspace the application serves."""
    return web(request).ws


_VIEWER = "cchc.viewer"
"""The key in the request's state of the viewer built for it: the dependencies, ``page`` and
the menu helpers of one request ask for it several times."""


def _viewer(request: Request) -> Viewer | None:
    found: Current | None = request.state.current
    if found is None:
        return None
    state: dict[str, Any] = request.scope.setdefault("state", {})
    built = state.get(_VIEWER)
    if built is not None and built.session is found:
        return cast(Viewer, built)
    viewer = _build_viewer(request, found)
    state[_VIEWER] = viewer
    return viewer


def _build_viewer(request: Request, found: Current) -> Viewer:
    ws = workspace(request)
    person = ws.organization.person(found.person_id)
    labels = ws.role_labels()
    unit = None if person.unit is None else ws.unit_names().get(person.unit, person.unit)
    roles = set(person.roles)
    fires = frozenset(
        (kind, transition.trigger)
        for kind, definition in ws.engine.definitions.workflows.items()
        for transition in definition.transitions
        if roles & set(transition.roles)
    )
    return Viewer(
        person,
        ws.actor(person.id),
        found,
        unit,
        tuple(labels.get(r, r) for r in person.roles),
        fires,
    )


def signed_in(request: Request) -> Viewer:
    """The signed-in person; anonymous requests go to the sign-in page."""
    viewer = _viewer(request)
    if viewer is None:
        raise SignInRequiredError
    return viewer


def maybe_signed_in(request: Request) -> Viewer | None:
    """The signed-in person, or None."""
    return _viewer(request)


async def csrf_protect(request: Request) -> None:
    """Refuse an unsafe request whose form (or ``X-CSRF-Token`` header) lacks the CSRF token
    of this session (anonymous: of this browser's pre-session cookie). A refusal by a
    signed-in person is audited (``kind='web'``, ``trigger='csrf'``)."""
    if request.method not in UNSAFE_METHODS:
        return
    sent: object = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        sent = form.get(CSRF_FIELD)
    if csrf_ok(request, sent):
        return
    viewer = _viewer(request)
    if viewer is not None:
        await run_in_threadpool(_audit_csrf, workspace(request), viewer, request.url.path)
    raise CsrfRefusedError


def _audit_csrf(ws: Workspace, viewer: Viewer, path: str) -> None:
    try:
        with unit_of_work(ws.sessions) as session:
            ws.engine.refuse(
                session,
                actor=viewer.actor,
                kind="web",
                ref=path[:200],
                trigger="csrf",
                error=NotPermittedError(f"{viewer.id}: a form without its CSRF token ({path})"),
            )
    except NotPermittedError:
        pass


async def _require_signed_in(request: Request) -> None:
    signed_in(request)


def area_router(*, public: bool = False, before_body: Sequence[Any] = ()) -> APIRouter:
    """The router of one area: every route checks the CSRF token of unsafe requests and,
    unless ``public`` (sign-in, invite links), refuses anonymous requests. ``before_body``:
    dependencies run before the CSRF check reads the request's body (e.g. refusing an upload
    by its ``Content-Length``)."""
    dependencies = [*before_body, Depends(csrf_protect)]
    if not public:
        dependencies.insert(0, Depends(_require_signed_in))
    return APIRouter(dependencies=dependencies)


def page(
    request: Request, template: str, status_code: int = 200, **context: object
) -> HTMLResponse:
    """Render ``template`` with the viewer, the CSRF token and ``context``."""
    env = web(request).templates
    html = env.get_template(template).render(
        request=request,
        viewer=_viewer(request),
        csrf=expected_csrf(request),
        ward=workspace(request).organization,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def readable_or_not_found(
    ws: Workspace, viewer: Viewer, *, what: str, tenant: str, unit: str | None
) -> None:
    """Return when the viewer may read ``what`` of ``unit`` in ``tenant``; else audit the
    refusal (``cchc.organization.access``) and raise ``NotFoundError``: the page does not say
    it exists."""
    if read_scope(viewer.actor).allows(tenant, unit):
        return
    target = what if unit is None else f"{what} of unit {unit}"  # as the CLI names it
    try:
        with unit_of_work(ws.sessions) as session:
            require_read(session, ws.engine, viewer.actor, what=target, tenant=tenant, unit=unit)
    except AccessDeniedError:
        pass
    raise NotFoundError
