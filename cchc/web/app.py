"""``create_app(ws)``: the web application on an open workspace; ``app_from_env`` for uvicorn.

``cchc serve`` runs ``app_from_env`` (a factory, so that each uvicorn worker opens its own
workspace) on the data folder / ``CCHC_DATABASE_URL`` the CLI uses.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from cchc.accounts.policy import Policy
from cchc.web.context import STATIC, WebContext, templates, trust_proxy
from cchc.web.deps import CsrfRefusedError, NotFoundError, SignInRequiredError, page
from cchc.web.head import HeadAsGetMiddleware
from cchc.web.routes import (
    account,
    admin,
    assessments,
    auth,
    evidence,
    home,
    inspection,
    review,
    reviews,
    scoring,
    tasks,
    uploads,
)
from cchc.web.security import SessionMiddleware
from cchc.workspace import Workspace

AREAS = (
    auth,
    home,
    tasks,
    account,
    review,
    assessments,
    reviews,
    uploads,
    scoring,
    evidence,
    inspection,
    admin,
)
"""The route modules, each with a ``router`` (``cchc.web.deps.area_router``)."""


def create_app(
    ws: Workspace, *, policy: Policy | None = None, proxy: bool | None = None
) -> FastAPI:
    """The application serving ``ws`` (``proxy``: ``CCHC_TRUST_PROXY`` unless given)."""
    app = FastAPI(title="CCHC", docs_url=None, redoc_url=None, openapi_url=None)
    context = WebContext(
        ws=ws,
        policy=policy or Policy.from_env(),
        templates=templates(),
        trust_proxy=trust_proxy() if proxy is None else proxy,
    )
    app.state.web = context
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for area in AREAS:
        app.include_router(area.router)
    app.add_middleware(SessionMiddleware, web=context)
    app.add_middleware(HeadAsGetMiddleware)  # outermost: HEAD runs as GET, body dropped

    @app.exception_handler(SignInRequiredError)
    async def _to_sign_in(request: Request, exc: SignInRequiredError) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> Response:
        return page(
            request,
            "error.html",
            status_code=404,
            title="Không tìm thấy",
            message="Không tìm thấy trang hoặc mục Ông/Bà yêu cầu.",
        )

    @app.exception_handler(CsrfRefusedError)
    async def _csrf(request: Request, exc: CsrfRefusedError) -> Response:
        return page(
            request,
            "error.html",
            status_code=403,
            title="Yêu cầu bị từ chối",
            message="Biểu mẫu đã hết hạn hoặc không hợp lệ. Đề nghị tải lại trang và thử lại.",
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return await _not_found(request, NotFoundError())
        return page(
            request, "error.html", status_code=exc.status_code, title="Lỗi", message=str(exc.detail)
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return page(
            request,
            "error.html",
            status_code=400,
            title="Yêu cầu không hợp lệ",
            message="Dữ liệu gửi lên không hợp lệ.",
        )

    return app


def app_from_env() -> FastAPI:
    """The application on the workspace the environment names (``CCHC_DATA_DIR``,
    ``CCHC_DATABASE_URL``, ``CCHC_ORGANIZATION`` …), as the CLI opens it."""
    from cchc.settings import resolve_settings

    return create_app(Workspace.open(resolve_settings()))
