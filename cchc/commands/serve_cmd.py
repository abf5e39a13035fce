"""``cchc serve``: the ward's web application (docs/web.md) on the CLI's data folder/database."""

from __future__ import annotations

import os

import typer
from rich.markup import escape

from cchc.commands.common import console
from cchc.commands.cycle_common import chosen_organization, open_workspace, reporting, say
from cchc.commands.state import state_of


def serve_command(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes (PostgreSQL: several)."),
) -> None:
    """Serve the web application on the data folder / database of the CLI."""
    import uvicorn

    from cchc.accounts.demo import DEMO_PASSWORD, is_demo_folder
    from cchc.web.context import trust_proxy

    state = state_of(ctx)
    settings = state.settings()
    with reporting(), open_workspace(ctx) as ws:  # the same checks as every command, up front
        people = [(p.id, p.full_name, ", ".join(p.roles)) for p in ws.organization.people]
        name = ws.organization.name
    os.environ["CCHC_DATA_DIR"] = str(settings.data_dir)
    os.environ["CCHC_DATABASE_URL"] = settings.database_url
    if (org := chosen_organization(ctx)) is not None:
        os.environ["CCHC_ORGANIZATION"] = str(org)
    # Not a bind: the address to print when the server listens on every interface.
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    say(f"[bold]CCHC – {escape(name)}[/]: http://{shown}:{port}/  (Ctrl+C để dừng)")
    if is_demo_folder(settings.data_dir):
        say(
            f"Dữ liệu demo: đăng nhập bằng mã người (tên đăng nhập) và mật khẩu demo "
            f"[bold]{DEMO_PASSWORD}[/] (chỉ có trong thư mục dữ liệu demo), ví dụ:"
        )
        for person_id, full_name, roles in people:
            console.print(
                f"   {person_id:<22} {full_name} ({roles})", highlight=False, markup=False
            )
    else:
        say("Đăng nhập: quản trị viên mời từng người bằng `cchc users invite NGUOI --as ADMIN`.")
    proxy = trust_proxy()
    uvicorn.run(
        "cchc.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,  # X-Forwarded-* are read by the app, only with CCHC_TRUST_PROXY=1
        server_header=False,
        log_level="warning" if not proxy else "info",
    )
