"""``cchc tasks``: list a plan's tasks and move them (start, submit a product, accept …)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

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
    plan_codes,
    print_json,
    reporting,
    say,
    state_labels,
    stop,
    table,
)
from cchc.plan.lateness import done_on_time, task_lateness
from cchc.workspace import Workspace
from workflows.calendar import WorkingCalendar
from workflows.database import unit_of_work
from workflows.definition.checks import did_you_mean
from workflows.schema import Instance

app = typer.Typer(help="List plan tasks and act on them.", no_args_is_help=True)

TRIGGERS = ("start", "submit_product", "accept_product", "return_product", "cancel")
OPTION_OF = {"product": "--product", "reason": "--reason"}


def task_json(
    row: Instance,
    labels: dict[str, str],
    now: datetime,
    calendar: WorkingCalendar,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A task as JSON; ``late`` and ``working_days_late`` as ``cchc.plan.lateness`` says.
    ``data``: the row's data when the caller has already parsed it."""
    data = json.loads(row.data) if data is None else data
    deadline = str(data.get("deadline", ""))
    lateness = task_lateness(row.state, data, now, calendar)
    label = labels.get(row.state, row.state)
    return {
        "id": row.id,
        "ref": row.ref,
        "plan": data.get("plan"),
        "code": data.get("code"),
        "title": data.get("title"),
        "owner_unit": data.get("owner_unit"),
        "owner_unit_name": data.get("owner_unit_name"),
        "support_units": data.get("support_units", []),
        "deadline": deadline,
        "deadline_text": vi_text.date_text(deadline) if deadline else "",
        "state": row.state,
        "state_label": label,
        "status_text": lateness.label(label),
        "late": lateness.late,
        "working_days_late": lateness.working_days,
        "done_on_time": done_on_time(row.state, data, calendar),
        "expected_product": data.get("expected_product"),
        "product": data.get("product"),
        "product_submitted_at": data.get("product_submitted_at"),
        "product_submitted_by": data.get("product_submitted_by"),
        "criteria": data.get("criteria", []),
        "reason": data.get("last_reason") or data.get("reason"),
    }


@app.command("list")
def list_tasks(
    ctx: typer.Context,
    unit: str = typer.Option(None, help="Only tasks this unit leads (unit code)."),
    state: str = typer.Option(None, help="Only tasks in this state, e.g. assigned, done."),
    plan: str = typer.Option(None, help="Only tasks of this plan (plan code)."),
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List tasks with their lead unit, deadline, state and product."""
    with reporting(), open_workspace(ctx) as ws:
        labels = state_labels(ws, "task")
        check_choice("--unit", unit, ws.unit_names())
        check_choice("--state", state, labels)
        check_choice("--plan", plan, plan_codes(ws))
        shown = acting_reader(ws, person, unit, what="tasks", narrow=True).unit
        names = ws.unit_names()
        rows = instances(ws, "task", plan)
        now = ws.engine.clock()
    calendar = ws.calendar
    tasks = [task_json(row, labels, now, calendar) for row in rows]
    tasks = [
        t
        for t in tasks
        if (plan is None or t["plan"] == plan)
        and (shown is None or t["owner_unit"] == shown)
        and (state is None or t["state"] == state)
    ]
    if as_json:
        print_json(tasks)
        return
    body = []
    for t in tasks:
        product = str(t["expected_product"] or "")
        if t["product"]:
            product += f"\nĐã nộp: {t['product']}"
        body.append(
            (
                t["id"],
                t["ref"],
                t["title"],
                t["owner_unit_name"] or t["owner_unit"],
                t["deadline_text"],
                t["status_text"],
                product,
            )
        )
    scope = f"kế hoạch {plan}" if plan else "tất cả kế hoạch"
    if shown is not None:
        scope += f", đơn vị {names.get(shown, shown)}"
    console.print(
        table(
            f"Nhiệm vụ – {scope} ({len(tasks)})",
            ("ID", "Mã", "Nhiệm vụ", "Đơn vị chủ trì", "Thời hạn", "Trạng thái", "Sản phẩm"),
            body,
        )
    )


def find_task(ws: Workspace, ref: str, plan: str | None) -> Instance:
    """A task by id (``12`` or ``#12``), ref (``KH/NV-01``) or code (``NV-01``, with --plan)."""
    rows = instances(ws, "task", plan)
    text = ref.removeprefix("#")
    if text.isdigit():
        found = [r for r in rows if r.id == int(text)]
    elif "/" in ref:
        found = [r for r in rows if r.ref == ref]
    else:
        found = [r for r in rows if r.ref.rsplit("/", 1)[-1] == ref]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise stop(
            f"task {ref!r} is in several plans ({', '.join(r.ref for r in found)}); "
            "give --plan or the full reference",
            2,
        )
    raise stop(
        f"no task {ref!r}{f' in plan {plan}' if plan else ''}; "
        f"{did_you_mean(ref, [r.ref for r in rows])}",
        2,
    )


@app.command("fire")
def fire(
    ctx: typer.Context,
    task_ref: str = typer.Argument(..., help="Task id, reference (KH-…/NV-01) or code (NV-01)."),
    trigger: str = typer.Argument(..., help=f"One of: {', '.join(TRIGGERS)}."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    reason: str = typer.Option(None, help="Why (return_product, cancel)."),
    product: str = typer.Option(None, help="The product delivered (submit_product)."),
    plan: str = typer.Option(None, help="The plan, when a task code is in several plans."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Act on a task as a person: start, submit_product, accept_product, return_product, cancel."""
    if trigger not in TRIGGERS:
        raise stop(f"unknown action {trigger!r}; {did_you_mean(trigger, TRIGGERS)}", 2)
    payload = {
        key: value for key, value in (("product", product), ("reason", reason)) if value is not None
    }
    with reporting(), open_workspace(ctx) as ws:
        actor = acting(ws, person)
        row = find_task(ws, task_ref, plan)
        definition = ws.engine.current("task").definition
        needed = {f for t in definition.transitions if t.trigger == trigger for f in t.requires}
        missing = [OPTION_OF.get(f, f) for f in sorted(needed) if not payload.get(f, "").strip()]
        if missing:
            raise stop(f"{trigger} needs {' and '.join(missing)}", 2)
        labels = state_labels(ws, "task")
        with unit_of_work(ws.sessions) as session:
            result = ws.engine.fire(session, row.id, trigger, actor=actor, payload=payload)
    if as_json:
        print_json(
            {
                "id": result.instance_id,
                "ref": result.ref,
                "trigger": trigger,
                "from_state": result.source,
                "to_state": result.dest,
                "actor": actor.id,
                "event_seq": result.event_seq,
                "notifications": result.notifications,
            }
        )
        return
    before = labels.get(result.source or "", result.source or "")
    say(
        f"[green]✓[/] {escape(result.ref)}: {escape(before)} → {escape(labels[result.dest])} "
        f"({trigger}, {escape(actor.id)})"
        + (f"; {result.notifications} thông báo chờ gửi" if result.notifications else "")
    )
