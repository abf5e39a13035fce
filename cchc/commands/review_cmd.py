"""``cchc review``: issue a review meeting's conclusion notice (``review run``, which runs the
meeting's flow now, is added to this group by ``flows.commands.review``)."""

from __future__ import annotations

from pathlib import Path

import typer

from cchc.commands.common import state_of
from cchc.commands.cycle_common import (
    JSON_HELP,
    acting,
    open_workspace,
    print_json,
    reporting,
    require_roles,
    say,
    stop,
)
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace

app = typer.Typer(
    help="Review meetings (giao ban): report, draft notice, follow-up.", no_args_is_help=True
)


def _month_in_plan(ws: Workspace, plan: str, month: str) -> str:
    """``month`` resolved (``previous`` …); exit 2 when it is malformed or outside the plan."""
    from cchc.review.service import outside_plan, resolve_month

    resolved = resolve_month(month, ws.engine.clock().astimezone(LOCAL_TZ).date())
    try:
        reason = outside_plan(ws, plan, resolved)
    except ValueError as exc:  # not YYYY-MM / YYYY-Www
        raise stop(str(exc), 2) from None
    if reason is not None:
        raise stop(reason, 2)
    return resolved


@app.command("issue-notice")
def issue(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="The plan under review."),
    month: str = typer.Option(..., help="The month of the meeting, YYYY-MM."),
    number: str = typer.Option(..., help="The notice number, e.g. 15/TB-UBND."),
    person: str = typer.Option(..., "--as", help="The chair issuing the notice."),
    office: str = typer.Option(None, help="The Office official following it up."),
    out: Path = typer.Option(
        None, help="Folder for the issued notice (default DATA_DIR/review/MONTH, by the draft)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Issue the conclusion notice: each conclusion becomes a follow-up task of its unit, and
    the notice is written with its number."""
    from cchc.review.files import notice_follower, review_folder
    from cchc.review.service import issue_notice, issued_notice_path

    folder = out or review_folder(state_of(ctx).settings().data_dir, month)

    with reporting(), open_workspace(ctx) as ws:
        require_roles(ws, acting(ws, person), "meeting", "issue_notice")
        follower = office or notice_follower(ws)
        created = issue_notice(
            ws,
            plan=plan,
            month=month,
            chair_id=person,
            office_id=follower,
            number=number,
            out=folder,
        )
    written = issued_notice_path(folder, month)
    if as_json:
        print_json(
            {"month": month, "notice": number, "follow_up_tasks": created, "file": str(written)}
        )
        return
    say(f"[green]✓[/] Thông báo {number}: {created} kết luận được theo dõi như nhiệm vụ")
    say(f"   {written}")
