"""``cchc review``: run a review meeting for a month now, and issue its conclusion notice."""

from __future__ import annotations

from pathlib import Path

import typer

from cchc.commands.common import state_of
from cchc.commands.cycle_common import (
    AS_HELP,
    JSON_HELP,
    acting,
    index_set_path,
    open_workspace,
    organization_path,
    print_json,
    reporting,
    require_plan,
    require_roles,
    say,
    stop,
)
from cchc.commands.state import prefect_logs_to_file
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace

app = typer.Typer(
    help="Review meetings (giao ban): report, draft notice, follow-up.", no_args_is_help=True
)


@app.command("run")
def run(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="The plan under review."),
    month: str = typer.Option(
        ..., help="The month, YYYY-MM (e.g. 2025-11), a week YYYY-Www, or previous."
    ),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    chair: str = typer.Option(None, help="Who chairs (default: the Chairman)."),
    out: Path = typer.Option(
        None,
        help="Folder for the report and notice (default DATA_DIR/review); a sub-folder per month.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Run the monthly-review flow at once (the scheduled deployment runs the same flow)."""
    from flows.review import monthly_review_flow  # imports prefect: only when the flow runs

    settings = state_of(ctx).settings()
    # Checked before Prefect starts: an unknown person exits 2 with a hint, not a traceback.
    with reporting(), open_workspace(ctx) as ws:
        require_roles(ws, acting(ws, person), "meeting")
        require_plan(ws, plan)
        chair_id = chair or ws.organization.chairman.id
        acting(ws, chair_id, "--chair")
        month = _month_in_plan(ws, plan, month)
    folder = out or settings.data_dir / "review"
    prefect_logs_to_file(state_of(ctx))
    # The flow opens its own workspace: it gets this ward's files (--tenant/--org, --index-set).
    result = monthly_review_flow(
        settings.database_url, str(settings.data_dir), plan, month, person, chair_id, str(folder),
        organization=str(organization_path(ctx)), index_set=str(index_set_path(ctx)),
    )  # fmt: skip
    if as_json:
        print_json(result)
        return
    say(
        f"[green]✓[/] Giao ban {month}: {result['conclusions']} kết luận dự kiến; "
        f"tệp trong {folder}"
    )
    for path in result["files"]:
        say(f"   {path}")


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
    from cchc.review.service import issue_notice, issued_notice_path

    folder = out or state_of(ctx).settings().data_dir / "review" / month

    with reporting(), open_workspace(ctx) as ws:
        require_roles(ws, acting(ws, person), "meeting", "issue_notice")
        follower = (
            office
            or ws.organization.people_with_role("office_official", ws.organization.office_unit)[
                0
            ].id
        )
        created = issue_notice(
            ws, plan=plan, month=month, chair_id=person, office_id=follower, number=number,
            out=folder,
        )  # fmt: skip
    written = issued_notice_path(folder, month)
    if as_json:
        print_json({"month": month, "notice": number, "follow_up_tasks": created,
                    "file": str(written)})  # fmt: skip
        return
    say(f"[green]✓[/] Thông báo {number}: {created} kết luận được theo dõi như nhiệm vụ")
    say(f"   {written}")
