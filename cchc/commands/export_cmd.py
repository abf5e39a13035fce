"""``cchc export``: the files officials open (self-assessment XLSX/DOCX, ranking XLSX/PNG)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from cchc.commands.cycle_common import (
    JSON_HELP,
    READ_AS_HELP,
    acting_reader,
    instances,
    open_workspace,
    print_json,
    reporting,
    require_plan,
    say,
    stop,
    stored_card,
    today,
    warn,
)
from cchc.organization.capabilities import roles_with
from cchc.organization.model import UnknownPersonError
from cchc.ranking.emulation import RankedUnit, rank_units
from cchc.ranking.unit_results import unit_results
from cchc.scoring.scores import ScoreCard
from cchc.workspace import Workspace

SIGNER_ROLES = roles_with("sign_documents")


def _ranking(ws: Workspace, plan: str, card: ScoreCard) -> tuple[int, list[RankedUnit]] | None:
    """The stored ranking of the scoring run, recomputed for the writers, if it still matches."""
    stored = [
        row
        for row in instances(ws, "ranking", plan)
        if json.loads(row.data).get("score_run") == card.run_id
    ]
    if not stored:
        warn(
            f"no ranking for the latest scoring run of {plan}: run `cchc rank run` to add the "
            "ranking files"
        )
        return None
    ranking = stored[-1]
    config = ws.emulation
    with ws.sessions() as session:
        results = unit_results(session, ws.organization, plan, card, today(ws), ws.calendar)
        rows = rank_units(results, config)
    table = [{"rank": r.rank, "unit": r.unit, "score": str(r.score), "band": r.band} for r in rows]
    if table != json.loads(ranking.data).get("table"):
        warn(
            f"the ranking #{ranking.id} no longer matches the record (deadlines passed since); "
            "run `cchc rank run` again; the ranking files are left out"
        )
        return None
    return ranking.id, rows


def export_command(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="Plan code."),
    out: Path = typer.Option(..., "--out", help="Folder to write the files into."),
    signer: str = typer.Option(None, help="Who signs the report (default: the Chairman)."),
    ranking: bool = typer.Option(
        True, "--ranking/--no-ranking", help="Add the ranking XLSX and PNG chart."
    ),
    reader: str = typer.Option(..., "--as", help=READ_AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Write the self-assessment table and report and the ranking, from the latest scores."""
    from cchc.reports.outputs import write_outputs

    with reporting(), open_workspace(ctx) as ws:
        require_plan(ws, plan)
        acting_reader(ws, reader, what="the ward's self-assessment and ranking")
        try:
            person = ws.organization.person(signer) if signer else ws.organization.chairman
        except UnknownPersonError as exc:
            raise stop(f"--signer: {exc}", 2) from None
        if not SIGNER_ROLES & set(person.roles):
            raise stop(f"--signer: {person.id} is not the Chairman or a Vice-Chairman", 2)
        card = stored_card(ws, plan)
        ranked = _ranking(ws, plan, card) if ranking else None
        files = write_outputs(
            ws, plan, out, signer_id=person.id, ranking=ranked[1] if ranked else None, card=card
        )
    if as_json:
        print_json(
            {
                "plan": plan,
                "score_run": card.run_id,
                "signer": person.id,
                "ranking_id": ranked[0] if ranked else None,
                "files": [str(f) for f in files],
            }
        )
        return
    say(
        f"[green]✓[/] Đã xuất {len(files)} tệp (files written) cho kế hoạch {escape(plan)}, "
        f"lần chấm {card.run_id[:12]}, người ký {escape(person.full_name)}:"
    )
    for file in files:
        say(f"  {escape(str(file))}")
