"""Sign-in, sign-out, and setting a password from an invite or reset link (public pages)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from cchc.accounts.service import (
    AccountRefusedError,
    PasswordRejectedError,
    pending_invite,
    set_password,
    sign_in,
    sign_out,
)
from cchc.web.deps import area_router, maybe_signed_in, page, web
from cchc.web.security import SESSION_COOKIE, cookie_header
from workflows.database import unit_of_work

router = area_router(public=True)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None, done: int = 0) -> Response:  # noqa: A002 - the query parameter officials' links carry is named next
    """The sign-in form (a signed-in person goes home)."""
    if maybe_signed_in(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = "Đã đặt mật khẩu. Mời Ông/Bà đăng nhập." if done else None
    return page(request, "sign_in.html", next=safe_next(next), notice=notice, error=None, login="")


@router.post("/sign-in")
def sign_in_submit(
    request: Request,
    login: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),  # noqa: A002 - the form field is named next, as the query parameter
) -> Response:
    """Check the password, open a new session (the old one ends) and go on."""
    context = web(request)
    ws = context.ws
    try:
        with unit_of_work(ws.sessions) as session:
            signed = sign_in(
                session,
                ws.engine,
                ws.organization,
                login,
                password,
                address=request.state.address,
                user_agent=request.headers.get("user-agent", ""),
                policy=context.policy,
                previous=request.cookies.get(SESSION_COOKIE),
            )
    except AccountRefusedError as exc:
        return page(
            request,
            "sign_in.html",
            status_code=401,
            next=safe_next(next),
            error=str(exc),
            notice=None,
            login=login[:64],
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.headers.append(
        "set-cookie", cookie_header(SESSION_COOKIE, signed.token, secure=request.state.secure)
    )
    return response


@router.post("/sign-out")
def sign_out_submit(request: Request) -> Response:
    """End the session and go to the sign-in page."""
    ws = web(request).ws
    token = request.state.session_token
    if token:
        with unit_of_work(ws.sessions) as session:
            sign_out(session, ws.engine, ws.organization, token)
    response = RedirectResponse("/sign-in", status_code=303)
    response.headers.append(
        "set-cookie",
        cookie_header(SESSION_COOKIE, "", secure=request.state.secure, clear=True),
    )
    return response


@router.get("/invite/{token}")
def invite_page(request: Request, token: str) -> Response:
    """The form to set a password, when the link is still usable."""
    ws = web(request).ws
    with ws.sessions() as session:
        row = pending_invite(session, ws.tenant, token, ws.engine.clock())
    if row is None:
        return page(request, "invite_invalid.html", status_code=410)
    person = ws.organization.person(row.person_id)
    return page(
        request,
        "set_password.html",
        person=person,
        purpose=row.purpose,
        error=None,
        min_length=web(request).policy.password_min_length,
    )


@router.post("/invite/{token}")
def invite_submit(
    request: Request, token: str, password: str = Form(""), confirm: str = Form("")
) -> Response:
    """Set the password (the link is used up), then sign in."""
    context = web(request)
    ws = context.ws
    with ws.sessions() as session:
        row = pending_invite(session, ws.tenant, token, ws.engine.clock())
    if row is not None and password != confirm:
        return page(
            request,
            "set_password.html",
            status_code=400,
            person=ws.organization.person(row.person_id),
            purpose=row.purpose,
            error="Hai lần nhập mật khẩu không khớp.",
            min_length=context.policy.password_min_length,
        )
    try:
        with unit_of_work(ws.sessions) as session:
            set_password(
                session, ws.engine, ws.organization, token, password, policy=context.policy
            )
    except PasswordRejectedError as exc:
        if row is None:  # a weak password is only checked on a usable link
            raise AssertionError("a rejected password comes from a usable link") from exc
        return page(
            request,
            "set_password.html",
            status_code=400,
            person=ws.organization.person(row.person_id),
            purpose=row.purpose,
            error=str(exc),
            min_length=context.policy.password_min_length,
        )
    except AccountRefusedError:
        return page(request, "invite_invalid.html", status_code=410)
    return RedirectResponse("/sign-in?done=1", status_code=303)
