"""``cchc users``: accounts of the web application (invite, reset, list, disable).

An administrator invites a person of the organization: a one-time link (72 h by default) is
sent through the notification channel and printed, and the person sets their password in the
browser (``cchc serve``). Every step is an event of the ward's audit trail.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from cchc import vi_text
from cchc.commands.common import console
from cchc.commands.cycle_common import (
    AS_HELP,
    JSON_HELP,
    acting,
    open_workspace,
    print_json,
    reporting,
    say,
    table,
    warn,
)
from cchc.commands.state import state_of

app = typer.Typer(
    help="Accounts of the web application: invite, reset, list, disable.", no_args_is_help=True
)


def _send_link(ctx: typer.Context, person: str, admin: str, purpose: str, as_json: bool) -> None:
    from cchc.accounts.delivery import send_invite
    from cchc.accounts.policy import Policy
    from cchc.accounts.service import invite
    from workflows.database import unit_of_work

    with reporting(), open_workspace(ctx) as ws:
        policy = Policy.from_env()
        actor = acting(ws, admin)
        with unit_of_work(ws.sessions) as session:
            invitation = invite(
                session, ws.engine, ws.organization, actor, person, purpose=purpose, policy=policy
            )
        link = invitation.link(policy.base_url)
        problem = send_invite(ws.organization, invitation, link, state_of(ctx).settings().data_dir)
    if as_json:
        print_json(
            {
                "person": person,
                "purpose": purpose,
                "link": link,
                "expires_at": invitation.expires_at,
                "delivered": problem is None,
            }
        )
        return
    what = "Lời mời" if purpose == "invite" else "Liên kết đặt lại mật khẩu"
    say(
        f"[green]✓[/] {what} cho {escape(person)} (dùng một lần, hết hạn "
        f"{vi_text.datetime_text(invitation.expires_at)}):"
    )
    typer.echo(link)
    if problem is not None:
        warn(f"chưa gửi được thư (not delivered: {problem}); hãy chuyển liên kết trên cho {person}")


@app.command("invite")
def invite_command(
    ctx: typer.Context,
    person: str = typer.Argument(..., help="Person id from the organization file."),
    admin: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Invite a person to set their first password (one-time link, sent and printed)."""
    _send_link(ctx, person, admin, "invite", as_json)


@app.command("reset")
def reset_command(
    ctx: typer.Context,
    person: str = typer.Argument(..., help="Person id from the organization file."),
    admin: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """End a person's password and sessions and send them a link to set a new password."""
    _send_link(ctx, person, admin, "reset", as_json)


@app.command("disable")
def disable_command(
    ctx: typer.Context,
    person: str = typer.Argument(..., help="Person id from the organization file."),
    admin: str = typer.Option(..., "--as", help=AS_HELP),
) -> None:
    """Disable an account: it can no longer sign in and its sessions end."""
    from cchc.accounts.service import disable
    from workflows.database import unit_of_work

    with reporting(), open_workspace(ctx) as ws:
        actor = acting(ws, admin)
        with unit_of_work(ws.sessions) as session:
            ended = disable(session, ws.engine, ws.organization, actor, person)
    say(
        f"[green]✓[/] Đã vô hiệu hóa tài khoản {escape(person)}; {ended} phiên đăng nhập "
        "đã kết thúc."
    )


@app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the people of the organization with the state of their account."""
    from cchc.accounts.service import STATUS_LABELS, list_accounts

    with reporting(), open_workspace(ctx) as ws, ws.sessions() as session:
        lines = list_accounts(session, ws.organization, ws.engine.clock())
    if as_json:
        print_json(
            [
                {
                    "person": a.person_id,
                    "full_name": a.full_name,
                    "unit": a.unit,
                    "roles": a.roles,
                    "status": a.status,
                    "last_sign_in": a.last_sign_in,
                    "open_sessions": a.open_sessions,
                }
                for a in lines
            ]
        )
        return
    rows = [
        (
            a.person_id,
            a.full_name,
            a.unit or "",
            ", ".join(a.roles),
            STATUS_LABELS[a.status],
            "" if a.last_sign_in is None else vi_text.datetime_text(a.last_sign_in),
            a.open_sessions,
        )
        for a in lines
    ]
    console.print(
        table(
            f"Tài khoản – {ws.organization.name} ({len(lines)})",
            (
                "Người",
                "Họ tên",
                "Đơn vị",
                "Vai trò",
                "Trạng thái",
                "Đăng nhập gần nhất",
                "Phiên mở",
            ),
            rows,
        )
    )
