"""The signed-in person of each request, the audit channel, security headers and CSRF.

``SessionMiddleware`` (plain ASGI) runs before every route:

- finds the session of the ``cchc_session`` cookie (``cchc.accounts.service.current``: timeouts,
  disabled accounts) and puts it in ``request.state.current`` (None when anonymous);
- gives an anonymous browser a pre-session cookie, so that the sign-in form has a CSRF token too;
- names the audit channel of everything the request writes (``web:<session hash prefix>``, or
  ``web:anonymous``; ``workflows.channel``);
- sets the security headers on every response (CSP without inline scripts or styles, nosniff,
  no framing, no referrer, HSTS over HTTPS).

HTTPS is the request's own scheme, or ``X-Forwarded-Proto`` when ``CCHC_TRUST_PROXY=1``.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cchc.accounts.secrets_ import csrf_token, new_token, same
from cchc.accounts.service import Current, current
from cchc.web.context import WebContext
from workflows import channel
from workflows.database import unit_of_work

SESSION_COOKIE = "cchc_session"
PRE_COOKIE = "cchc_pre"
"""An anonymous browser's random token: the CSRF token of the sign-in and password forms."""
CSRF_FIELD = "csrf"
ANONYMOUS_CHANNEL = "web:anonymous"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # invite links carry their token in the path
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
RESPONSE_MAY_NARROW = frozenset({"Content-Security-Policy", "X-Frame-Options"})
"""Headers a route may set itself (an evidence file shown inline in a frame of the review
page: a sandboxing CSP with ``frame-ancestors 'self'``, ``X-Frame-Options: SAMEORIGIN``)."""


def is_https(scope: Scope, trust_proxy: bool) -> bool:
    """Whether the browser reached us over HTTPS."""
    if trust_proxy:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-proto":
                return bool(value.decode("latin-1").split(",")[0].strip().lower() == "https")
    return bool(scope.get("scheme") == "https")


def client_address(request: Request, trust_proxy: bool) -> str:
    """The browser's address: the first of ``X-Forwarded-For`` behind a trusted proxy."""
    if trust_proxy and (forwarded := request.headers.get("x-forwarded-for")):
        return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


def cookie_header(name: str, value: str, *, secure: bool, clear: bool = False) -> str:
    """A ``Set-Cookie`` value: HttpOnly, SameSite=Lax, path /, Secure over HTTPS; a browser
    session cookie (the server decides the session's end)."""
    parts = [f"{name}={'' if clear else value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if clear:
        parts.append("Max-Age=0")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _lookup(web: WebContext, token: str) -> Current | None:
    """The session of ``token``: read first, and written (``last_seen``, an ended session)
    only when needed, so most requests take no write lock."""
    ws = web.ws
    now = ws.engine.clock()
    with ws.sessions() as session:
        found = current(session, ws.organization, token, now, web.policy)
        dirty = bool(session.dirty)
        session.rollback()
    if not dirty:
        return found
    with unit_of_work(ws.sessions) as session:
        return current(session, ws.organization, token, now, web.policy)


class SessionMiddleware:
    """See the module."""

    def __init__(self, app: ASGIApp, web: WebContext) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        secure = is_https(scope, self.web.trust_proxy)
        token = request.cookies.get(SESSION_COOKIE)
        found = await run_in_threadpool(_lookup, self.web, token) if token else None
        pre = request.cookies.get(PRE_COOKIE) or ""
        new_pre = None if pre else new_token()
        state: dict[str, Any] = scope.setdefault("state", {})
        state.update(
            current=found,
            session_token=token if found else None,
            pre=pre or new_pre,
            secure=secure,
            address=client_address(request, self.web.trust_proxy),
        )
        stale = token is not None and found is None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name in RESPONSE_MAY_NARROW and name in headers:
                        continue  # a file shown in a frame of our pages sets its own
                    headers[name] = value
                if secure:
                    headers["Strict-Transport-Security"] = HSTS
                sets = headers.getlist("set-cookie")
                if new_pre and found is None:
                    headers.append("set-cookie", cookie_header(PRE_COOKIE, new_pre, secure=secure))
                if stale and not any(c.startswith(f"{SESSION_COOKIE}=") for c in sets):
                    headers.append(
                        "set-cookie", cookie_header(SESSION_COOKIE, "", secure=secure, clear=True)
                    )
            await send(message)

        entered = channel.enter(found.channel if found else ANONYMOUS_CHANNEL)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            channel.leave(entered)


def expected_csrf(request: Request) -> str:
    """The CSRF token the forms of this request carry: the session's, or the pre-session's."""
    found: Current | None = request.state.current
    if found is not None:
        return found.csrf
    return csrf_token(str(request.state.pre))


def csrf_ok(request: Request, sent: object) -> bool:
    """Whether ``sent`` is this request's CSRF token."""
    return isinstance(sent, str) and bool(sent) and same(sent, expected_csrf(request))
