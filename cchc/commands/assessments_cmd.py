"""``cchc assessments``: the self-assessment of each sub-criterion — list, approve, lock."""

from __future__ import annotations

from decimal import Decimal

import typer
from rich.markup import escape

from cchc import vi_text
from cchc.commands.common import console
from cchc.commands.cycle_common import (
    AS_HELP,
    JSON_HELP,
    READ_AS_HELP,
    acting,
    acting_reader,
    check_choice,
    instances,
    open_workspace,
    print_json,
    reporting,
    require_plan,
    require_roles,
    say,
    state_labels,
    stop,
    table,
)
from cchc.scoring.approvals import assessment_rows, lock_approved
from workflows.database import unit_of_work
from workflows.definition.checks import did_you_mean

app = typer.Typer(
    help="List sub-criterion assessments; approve, return and lock them.", no_args_is_help=True
)

TRIGGERS = ("self_score", "approve", "return_score", "lock")


@app.command("list")
def list_command(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="The plan whose period is assessed."),
    unit: str = typer.Option(None, help="Only this owner unit."),
    state: str = typer.Option(None, help="Only this state (open, self_scored, approved …)."),
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The assessments of a plan with their state and self-score."""
    with reporting(), open_workspace(ctx) as ws:
        require_plan(ws, plan)
        labels = state_labels(ws, "assessment")
        names = ws.unit_names()
        check_choice("--unit", unit, names)
        shown = acting_reader(ws, person, unit, what="assessments", narrow=True).unit
        rows = [
            r.as_json() for r in assessment_rows(ws, plan, unit=shown or None, state=state or None)
        ]
    if as_json:
        print_json(rows)
        return
    console.print(
        table(
            f"Tự đánh giá – kế hoạch {plan}"
            + (f", đơn vị {names.get(shown, shown)}" if shown else "")
            + f" ({len(rows)})",
            ["ID", "Mã", "Tiêu chí thành phần", "Đơn vị", "Trạng thái", "Tự chấm", "Tối đa"],
            [
                [
                    r["id"],
                    r["code"],
                    r["title"],
                    names.get(r["owner_unit"], r["owner_unit"]),
                    labels.get(r["state"], r["state"]),
                    vi_text.number(Decimal(r["self_score"])) if r["self_score"] else "",
                    vi_text.number(Decimal(r["max_points"])),
                ]
                for r in rows
            ],
        )
    )


@app.command("fire")
def fire(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="Sub-criterion code, e.g. 1.1.3."),
    trigger: str = typer.Argument(..., help=f"One of: {', '.join(TRIGGERS)}."),
    plan: str = typer.Option(..., help="The plan whose period is assessed."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    reason: str = typer.Option(None, help="Why (return_score)."),
    points: str = typer.Option(None, help="The self-score (self_score)."),
    explanation: str = typer.Option(None, help="Explanation when evidence is incomplete."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Act on an assessment: self_score, approve (head), return_score, lock (Chairman)."""
    if trigger not in TRIGGERS:
        raise stop(f"unknown action {trigger!r}; {did_you_mean(trigger, TRIGGERS)}", 2)
    given = (("reason", reason), ("points", points), ("explanation", explanation))
    payload: dict[str, object] = {k: v for k, v in given if v is not None}
    if trigger == "self_score" and explanation is not None:
        payload["evidence_complete"] = False
    with reporting(), open_workspace(ctx) as ws:
        actor = acting(ws, person)
        matches = [r for r in instances(ws, "assessment", plan) if r.ref == f"{plan}/TC-{code}"]
        if not matches:
            raise stop(f"no assessment of {code!r} in plan {plan!r}", 2)
        labels = state_labels(ws, "assessment")
        with unit_of_work(ws.sessions) as session:
            result = ws.engine.fire(session, matches[0].id, trigger, actor=actor, payload=payload)
    if as_json:
        print_json(
            {
                "id": result.instance_id,
                "code": code,
                "trigger": trigger,
                "from_state": result.source,
                "to_state": result.dest,
                "actor": actor.id,
            }
        )
        return
    before = labels.get(result.source or "", result.source or "")
    say(
        f"[green]✓[/] {escape(code)}: {escape(before)} → {escape(labels[result.dest])} "
        f"({trigger}, {escape(actor.id)})"
    )


@app.command("lock-approved")
def lock_approved_command(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="The plan whose period is assessed."),
    unit: str = typer.Option(None, help="Only this owner unit's assessments."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Lock every approved assessment of the plan at once (all or none; the Chairman)."""
    with reporting(), open_workspace(ctx) as ws:
        require_plan(ws, plan)
        check_choice("--unit", unit, ws.unit_names())
        actor = acting(ws, person)
        require_roles(ws, actor, "assessment", "lock")  # refused even with nothing to lock
        codes = lock_approved(ws, plan, actor, unit)
    if as_json:
        print_json({"plan": plan, "locked": codes})
        return
    say(f"[green]✓[/] Đã khóa {len(codes)} tiêu chí: {escape(', '.join(codes)) or 'không có'}")
