"""``cchc rank``: the emulation ranking (xếp hạng thi đua) of the ward's units."""

from __future__ import annotations

from pathlib import Path

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
    require_plan,
    require_roles,
    say,
    table,
    today,
)
from cchc.commands.score_cmd import INPUTS_HELP
from cchc.organization.permits import SCORE_ALL

app = typer.Typer(help="Rank the ward's units for a plan's period.", no_args_is_help=True)


@app.command("run")
def run(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="Plan code."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    publish: bool = typer.Option(False, "--publish", help="Publish it (notifies the units)."),
    inputs: Path = typer.Option(None, "--inputs", help=INPUTS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Score the period (same inputs as `cchc score run`), then rank the units."""
    from cchc import cycle

    with reporting(as_json), open_workspace(ctx) as ws:
        actor = acting(ws, person)
        require_roles(ws, actor, "assessment", SCORE_ALL)
        require_roles(ws, actor, "ranking")
        if publish:
            require_roles(ws, actor, "ranking", "publish")
        record = require_plan(ws, plan)
        manual = cycle.read_manual(inputs, ws.index_set)
        card = cycle.score(ws, plan, person, manual).card
        outcome = cycle.rank(ws, plan, person, card, today=today(ws), publish=publish)
    rows = [
        {
            "rank": r.rank,
            "unit": r.unit,
            "unit_name": r.unit_name,
            "score": str(r.score),
            "band": r.band,
            "explanation": r.explanation_vi,
        }
        for r in outcome.rows
    ]
    if as_json:
        print_json(
            {
                "plan": plan,
                "ranking_id": outcome.instance_id,
                "published": outcome.published,
                "score_run": card.run_id,
                "rows": rows,
            }
        )
        return
    status = "đã công bố – published" if outcome.published else "dự thảo – draft"
    console.print(
        table(
            f"Xếp hạng thi đua CCHC – {record['period']['label']} ({status})",
            ("Hạng", "Đơn vị", "Điểm", "Xếp loại", "Giải thích"),
            [
                (r.rank, r.unit_name, vi_text.number(r.score, 2), r.band, r.explanation_vi)
                for r in outcome.rows
            ],
        )
    )
    say(
        f"Bảng xếp hạng #{outcome.instance_id} theo lần chấm (score run) {card.run_id[:12]}"
        + ("" if outcome.published else "; công bố bằng --publish (publish with --publish)")
        + f". Kế hoạch {escape(plan)}."
    )
