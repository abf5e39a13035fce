"""``cchc score``: score a plan's period, explain a score, show the points at risk."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
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
    open_workspace,
    plain,
    print_json,
    reporting,
    require_plan,
    require_roles,
    say,
    stop,
    stored_card,
    stored_sub,
    sub_json,
    table,
)
from cchc.indexset.codes import code_hint, item_label
from cchc.indexset.rules import report
from cchc.organization.permits import SCORE_ALL
from cchc.scoring.scores import (
    ScoreCard,
    SubScore,
    at_risk,
    covered_codes,
    latest_run,
    rows_as_json,
)
from cchc.vi_text import number, percent

app = typer.Typer(help="Score a plan's period and explain the scores.", no_args_is_help=True)

INPUTS_HELP = "YAML of the scorer's inputs per sub-criterion (level, value, explanation …)."


def card_json(card: ScoreCard) -> dict[str, Any]:
    """Totals per area and overall, as JSON."""
    return {
        "plan": card.plan,
        "run_id": card.run_id,
        "index_set": card.index_set.code,
        "index_set_hash": card.index_set.content_hash,
        "stored": card.stored,
        "areas": [
            {
                "code": a.code,
                "title": a.title,
                "points": str(report(a.points)),
                "max_points": str(a.max_points),
                "index": str(a.index),
            }
            for a in card.areas()
        ],
        "base_points": str(report(card.base_points)),
        "adjustments": str(report(card.adjustments)),
        "total_points": str(report(card.total_points)),
        "total_max": str(card.index_set.total_max),
        "index": str(card.index),
    }


def print_card(card: ScoreCard, title: str) -> None:
    """The card as a table per area, with the adjustments and the total."""
    rows: list[tuple[str, ...]] = [
        (a.code, a.title, number(a.points), number(a.max_points), percent(a.index))
        for a in card.areas()
    ]
    rows.append(("", "Điểm thưởng, điểm trừ (ngoài thang điểm)", number(card.adjustments), "", ""))
    rows.append(
        (
            "",
            "TỔNG CỘNG (Chỉ số CCHC)",
            number(card.total_points),
            number(card.index_set.total_max),
            percent(card.index),
        )
    )
    console.print(table(title, ("Lĩnh vực", "Nội dung", "Điểm", "Tối đa", "Chỉ số"), rows))


@app.command("run")
def run(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="Plan code."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    inputs: Path = typer.Option(None, "--inputs", help=INPUTS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Score every sub-criterion, store the scores and self-score the open assessments."""
    from cchc import cycle

    with reporting(as_json), open_workspace(ctx) as ws:
        require_roles(ws, acting(ws, person), "assessment", SCORE_ALL)
        record = require_plan(ws, plan)
        manual = cycle.read_manual(inputs, ws.index_set)
        outcome = cycle.score(ws, plan, person, manual)
    card = outcome.card
    if as_json:
        print_json(
            {
                **card_json(card),
                "self_scored": outcome.self_scored,
                "waiting_explanation": outcome.waiting_explanation,
                "decided_otherwise": outcome.decided_otherwise,
                "sub_criteria": rows_as_json(card.subs),
            }
        )
        return
    print_card(card, f"Kết quả chấm điểm – kế hoạch {plan} ({record['period']['label']})")
    stored = "đã lưu (stored)" if card.stored else "trùng lần chấm trước (same inputs as before)"
    say(
        f"Lần chấm (run) {card.run_id[:12]}: {stored}; {outcome.self_scored} tiêu chí đã tự chấm "
        f"(assessments self-scored); bộ chỉ số {escape(card.index_set.code)} phiên bản "
        f"{card.index_set.content_hash[:12]}."
    )
    if outcome.waiting_explanation:
        say(
            f"[yellow]Chờ giải trình[/] (waiting for an explanation, evidence incomplete; "
            f"{len(outcome.waiting_explanation)}): {', '.join(outcome.waiting_explanation)}"
        )
    if outcome.decided_otherwise:
        say(
            f"[yellow]Đã duyệt hoặc đã khóa với điểm khác lần chấm này[/] (approved or locked with "
            f"another self-score; the head returns them to rescore; "
            f"{len(outcome.decided_otherwise)}): {', '.join(outcome.decided_otherwise)}"
        )


@app.command("explain")
def explain(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="Sub-criterion code, e.g. 1.1.3."),
    plan: str = typer.Option(..., help="Plan code."),
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """How a sub-criterion was scored in the latest run: rule, inputs, points, explanation."""
    with reporting(), open_workspace(ctx) as ws:
        require_plan(ws, plan)
        owners = {s.code: s.owner_unit for s in ws.index_set.sub_criteria()}
        if code in owners:  # an unknown code is reported below, with a did-you-mean hint
            acting_reader(ws, person, owners[code], what=f"the score of {code}")
        else:
            acting(ws, person)
        with ws.sessions() as session:
            rows = latest_run(session, ws.tenant, plan)
            covered = covered_codes(session, ws.tenant, plan)
        current_hash = ws.index_set.content_hash
        names = ws.unit_names()
        titles = {s.code: s.title for s in ws.index_set.sub_criteria()}
    if not rows:
        raise stop(f"plan {plan!r} has not been scored yet: run `cchc score run` first", 2)
    found = next((r for r in rows if r.code == code), None)
    if found is None:
        raise stop(
            f"no sub-criterion {code!r} in the scores of plan {plan}; "
            f"{code_hint(code, [r.code for r in rows])}",
            2,
        )
    sub = stored_sub(found, titles.get(found.code, found.code), covered.get(found.code, False))
    data = {
        "plan": plan,
        "run_id": found.run_id,
        "code": found.code,
        "title": titles.get(found.code, found.code),
        "owner_unit": found.owner_unit,
        "owner_unit_name": names.get(found.owner_unit, found.owner_unit),
        "rule": json.loads(found.rule),
        "inputs": json.loads(found.inputs),
        "points": str(report(Decimal(found.points))),
        "max_points": plain(Decimal(found.max_points)),
        "explanation": found.explanation,
        "outside_base": found.outside_base,
        "evidence_complete": sub.evidence_complete,
        "lost": str(report(sub.lost)),
        "evidence_gap": str(report(sub.evidence_gap)),
        "points_at_risk": str(report(sub.points_at_risk)),
        "index_set": found.index_set,
        "index_set_hash": found.index_set_hash,
        "index_set_is_current": found.index_set_hash == current_hash,
        "computed_at": vi_text.datetime_text(found.computed_at, seconds=True),
    }
    if as_json:
        print_json(data)
        return
    rule = data["rule"]
    parameters = {k: v for k, v in rule.items() if k not in {"type", "input"}}
    lines = [
        f"[bold]{escape(item_label(found.code))}[/]: {escape(str(data['title']))}",
        f"Đơn vị phụ trách (owner): {escape(str(data['owner_unit_name']))}",
        f"Điểm (points): [bold]{number(Decimal(found.points))}[/] / "
        f"{number(Decimal(found.max_points))}"
        + (" (ngoài thang điểm, outside the base)" if found.outside_base else ""),
        (
            f"Cách chấm (rule): {escape(str(rule.get('type')))}, "
            f"dữ liệu (input) {escape(str(rule.get('input')))}; "
            f"tham số (parameters): {escape(json.dumps(parameters, ensure_ascii=False))}"
        ),
        f"Dữ liệu đầu vào (inputs): {escape(json.dumps(data['inputs'], ensure_ascii=False))}",
        f"Giải thích (explanation): {escape(found.explanation)}",
        *_evidence_lines(sub),
        (
            f"Bộ chỉ số (index set): {escape(found.index_set)}, phiên bản (version) "
            f"{found.index_set_hash[:12]}; lần chấm (run) {found.run_id[:12]} lúc "
            f"{data['computed_at']}"
        ),
    ]
    for line in lines:
        say(line)
    if not data["index_set_is_current"]:
        say(
            "[yellow]Lưu ý:[/] scored with another version of the index set than the one "
            "loaded now; run `cchc score run` again to rescore"
        )


def _evidence_lines(sub: SubScore) -> list[str]:
    """Whether accepted evidence backs the score, and the points at risk (lost or for want of
    evidence)."""
    if sub.evidence_complete:
        lines = ["Tài liệu kiểm chứng (evidence): đã có tài liệu được chấp nhận (accepted)"]
    else:
        gap = (
            (
                f" → {number(sub.evidence_gap)} điểm có nguy cơ bị trừ khi thẩm định (points the "
                "appraisal would take)"
            )
            if sub.evidence_gap
            else ""
        )
        lines = [
            (
                "Tài liệu kiểm chứng (evidence): [yellow]chưa có tài liệu kiểm chứng được chấp "
                f"nhận[/]{gap}"
            )
        ]
    if sub.points_at_risk:
        lines.append(
            f"Điểm có nguy cơ mất (points at risk): [bold]{number(sub.points_at_risk)}[/]"
            f" (chưa đạt {number(sub.lost)}; thiếu tài liệu kiểm chứng "
            f"{number(sub.evidence_gap)})"
        )
    return lines


@app.command("at-risk")
def at_risk_command(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="Plan code."),
    unit: str = typer.Option(None, help="Only this unit (unit code)."),
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Points each unit would lose if nothing changes, with the sub-criteria (latest run)."""
    with reporting(), open_workspace(ctx) as ws:
        require_plan(ws, plan)
        names = ws.unit_names()
        check_choice("--unit", unit, names)
        shown = acting_reader(ws, person, unit, what="points at risk", narrow=True).unit
        card = stored_card(ws, plan)
    risky = sorted(
        ((u, subs) for u, subs in at_risk(card).items() if shown in {None, u}),
        key=lambda item: (-_risk(item[1]), item[0]),
    )
    units = [
        {
            "unit": unit,
            "unit_name": names.get(unit, unit),
            "points_at_risk": str(report(_risk(subs))),
            "sub_criteria": [sub_json(s, names) for s in subs],
        }
        for unit, subs in risky
    ]
    if as_json:
        print_json({"plan": plan, "run_id": card.run_id, "units": units})
        return
    console.print(
        table(
            f"Điểm có nguy cơ bị mất – kế hoạch {plan} (lần chấm {card.run_id[:12]})",
            ("Đơn vị", "Điểm có nguy cơ mất", "Tiêu chí thành phần (điểm / tối đa)"),
            [
                (
                    names.get(unit, unit),
                    number(_risk(subs)),
                    "; ".join(_risky_text(s) for s in subs),
                )
                for unit, subs in risky
            ],
        )
    )


def _risk(subs: list[SubScore]) -> Decimal:
    return sum((s.points_at_risk for s in subs), Decimal(0))


def _risky_text(sub: SubScore) -> str:
    """``2.1.1 (2,00/2,00; thiếu tài liệu kiểm chứng: 2,00)``: score and what the gap risks."""
    gap = f"; thiếu tài liệu kiểm chứng: {number(sub.evidence_gap)}" if sub.evidence_gap else ""
    return f"{sub.code} ({number(sub.points)}/{number(sub.max_points)}{gap})"
