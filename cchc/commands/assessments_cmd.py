"""``cchc assessments``: the self-assessment of each sub-criterion — list, approve, lock."""

from __future__ import annotations

import json
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
    say,
    state_labels,
    stop,
    table,
)
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
        rows = []
        for row in instances(ws, "assessment", plan):
            data = json.loads(row.data)
            if (shown and data["owner_unit"] != shown) or (state and row.state != state):
                continue
            rows.append(
                {
                    "id": row.id,
                    "code": data["code"],
                    "title": data["title"],
                    "owner_unit": data["owner_unit"],
                    "state": row.state,
                    "self_score": data.get("self_score"),
                    "max_points": data["max_points"],
                    "explanation": data.get("explanation", ""),
                }
            )
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
