"""``HEAD`` answered as ``GET`` without a body (FastAPI routes declared with ``GET`` only
answer ``HEAD`` with 405; monitors and link checkers send ``HEAD``)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    """Runs a ``HEAD`` request as ``GET`` (a copy of the scope: the server keeps its own
    ``HEAD``) and drops the body of the answer; status and headers (``Content-Length``
    included) stay those of ``GET``. Pages are read-only on ``GET``, so nothing else changes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
