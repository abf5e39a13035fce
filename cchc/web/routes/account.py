"""The signed-in person's own account: changing their password."""

from __future__ import annotations

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from cchc.accounts.service import AccountRefusedError, PasswordRejectedError, change_password
from cchc.web.deps import Viewer, area_router, page, signed_in, web
from workflows.database import unit_of_work

router = area_router()


@router.get("/password")
def password_page(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """The form to change one's password."""
    return page(
        request,
        "password.html",
        error=None,
        done=False,
        min_length=web(request).policy.password_min_length,
    )


@router.post("/password")
def password_submit(
    request: Request,
    current: str = Form(""),
    password: str = Form(""),
    confirm: str = Form(""),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Change the password after checking the current one; the person's other sessions end."""
    context = web(request)
    ws = context.ws
    error = "Hai lần nhập mật khẩu mới không khớp." if password != confirm else None
    if error is None:
        try:
            with unit_of_work(ws.sessions) as session:
                change_password(
                    session,
                    ws.engine,
                    ws.organization,
                    viewer.id,
                    current,
                    password,
                    policy=context.policy,
                    keep_session=request.state.session_token,
                )
        except (AccountRefusedError, PasswordRejectedError) as exc:
            error = str(exc)
    return page(
        request,
        "password.html",
        status_code=200 if error is None else 400,
        error=error,
        done=error is None,
        min_length=context.policy.password_min_length,
    )
