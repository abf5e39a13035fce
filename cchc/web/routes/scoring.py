"""Scores, points at risk and the units' ranking in the browser (``cchc score run|explain|
at-risk``, ``cchc rank run``), on the same service functions: ``cchc.cycle.score`` and
``rank``, the latest stored run (``cchc.commands.cycle_common.latest_card``) and
``cchc.scoring.scores.at_risk``.

Running is for whoever the definitions let self-score assessments (and create a ranking),
checked up front as the CLI does (an audited refusal otherwise); the engine refuses the rest
(an assessment of another unit) and the run is rolled back whole. Reading follows the read
scope: a unit's head or official sees their own unit's rows, the focal unit the whole ward.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from cchc import cycle
from cchc.commands.cycle_common import latest_card
from cchc.indexset.codes import item_label
from cchc.organization.access import read_scope
from cchc.organization.permits import SCORE_ALL
from cchc.ranking.emulation import RankedUnit, rank_units, ranking_table
from cchc.ranking.unit_results import unit_results
from cchc.refusals import refusal_sentence
from cchc.scoring.scores import ScoreCard, SubScore, at_risk, covered_codes, latest_run
from cchc.vietnam import LOCAL_TZ
from cchc.web import staging
from cchc.web.deps import NotFoundError, Viewer, area_router, page, readable_or_not_found, signed_in
from cchc.web.deps import workspace as workspace_of
from cchc.web.permits import may, refusal
from cchc.workspace import Workspace
from workflows.errors import DefinitionError, TransitionRefusedError
from workflows.schema import Instance

router = area_router()

SCORE_CHECKS: list[tuple[str, str | None]] = [("assessment", SCORE_ALL)]
RANK_CHECKS: list[tuple[str, str | None]] = [("assessment", SCORE_ALL), ("ranking", None)]


# --- shared --------------------------------------------------------------------------------


def _plans(ws: Workspace) -> list[str]:
    """The ward's plan codes, newest first."""
    with ws.sessions() as session:
        codes = session.scalars(
            select(Instance.ref)
            .where(Instance.tenant == ws.tenant, Instance.kind == "plan")
            .order_by(Instance.id.desc())
        ).all()
    return list(codes)


def _chosen_plan(ws: Workspace, plan: str | None) -> str | None:
    plans = _plans(ws)
    if plan is None or plan == "":
        return plans[0] if plans else None
    if plan not in plans:
        raise NotFoundError
    return plan


def _unit_read(ws: Workspace, viewer: Viewer, unit: str | None, what: str) -> str | None:
    """The unit read (None: the whole ward), as the CLI's narrowed listings: a reader of one
    unit who names none reads their own; a unit not theirs answers 404 (audited)."""
    scope = read_scope(viewer.actor)
    unit = unit or None
    if unit is not None and unit not in ws.unit_names():
        raise NotFoundError
    if unit is None and scope.units is not None and len(scope.units) == 1:
        unit = next(iter(scope.units))
    readable_or_not_found(ws, viewer, what=what, tenant=ws.tenant, unit=unit)
    return unit


def _manual(
    ws: Workspace, upload: UploadFile | None
) -> tuple[dict[str, dict[str, Any]], list[staging.ProblemRow], int]:
    """The scorer's inputs from an optional YAML upload (``cchc.cycle.read_manual``)."""
    if upload is None or not upload.filename:
        return {}, [], 0
    suffix = staging.suffix_of(upload.filename)
    if suffix != "yaml":
        row = staging.ProblemRow("", 1, "", "CCHC-I", "Tệp dữ liệu chấm điểm phải là .yaml", "", "")
        return {}, [row], 1
    kept = staging.stage(ws.settings.data_dir, upload, suffix)
    try:
        return cycle.read_manual(kept.path, ws.index_set), [], 0
    except DefinitionError as exc:
        return {}, staging.problem_rows(exc.problems, kept.path, first_sheet=""), len(exc.problems)
    finally:
        staging.discard(kept.path)


def _refused(request: Request, message: str) -> Response:
    return page(
        request, "error.html", status_code=403, title="Thao tác bị từ chối", message=message
    )


# --- the score table -----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One row of the score table: an area, a criterion or a sub-criterion."""

    level: str
    code: str
    title: str
    points: Decimal
    max_points: Decimal
    sub: SubScore | None = None


def score_lines(card: ScoreCard, unit: str | None) -> tuple[list[Line], list[Line]]:
    """Rows per area, criterion and sub-criterion (of ``unit`` only when given), and the
    bonus and penalty rows; every total is the sum of the rows shown under it."""
    by_code = {s.code: s for s in card.subs if unit is None or s.owner_unit == unit}
    lines: list[Line] = []
    for area in card.index_set.areas:
        criteria: list[tuple[Any, list[SubScore]]] = []
        for criterion in area.criteria:
            subs = [
                by_code[item.code]
                for item in criterion.scored_items
                if item.code in by_code and not by_code[item.code].outside_base
            ]
            if subs:
                criteria.append((criterion, subs))
        if not criteria:
            continue
        shown = [s for _, subs in criteria for s in subs]
        lines.append(Line("area", area.code, area.title, *_sums(shown)))
        for criterion, subs in criteria:
            if not criterion.scored_directly:
                lines.append(Line("criterion", criterion.code, criterion.title, *_sums(subs)))
            lines.extend(Line("sub", s.code, s.title, s.points, s.max_points, s) for s in subs)
    adjustments = [
        Line("sub", s.code, s.title, s.points, s.max_points, s)
        for s in by_code.values()
        if s.outside_base
    ]
    return lines, adjustments


def _sums(subs: Sequence[SubScore]) -> tuple[Decimal, Decimal]:
    return (
        sum((s.points for s in subs), Decimal(0)),
        sum((s.max_points for s in subs), Decimal(0)),
    )


def _scores_page(
    request: Request,
    ws: Workspace,
    viewer: Viewer,
    plan: str | None,
    *,
    status_code: int = 200,
    **extra: object,
) -> Response:
    unit = _unit_read(ws, viewer, None, "scores") if plan is not None else None
    card = None if plan is None else latest_card(ws, plan)
    lines: list[Line] = []
    adjustments: list[Line] = []
    if card is not None:
        lines, adjustments = score_lines(card, unit)
    base = sum((line.points for line in lines if line.level == "area"), Decimal(0))
    base_max = sum((line.max_points for line in lines if line.level == "area"), Decimal(0))
    extra_points = sum((line.points for line in adjustments), Decimal(0))
    return page(
        request,
        "scores.html",
        status_code=status_code,
        plans=_plans(ws),
        plan=plan,
        card=card,
        unit=unit,
        unit_name=ws.unit_names().get(unit or "", "toàn phường"),
        lines=lines,
        adjustments=adjustments,
        base=base,
        base_max=base_max,
        extra_points=extra_points,
        total=base + extra_points,
        may_run=may(ws, viewer.actor, "assessment", SCORE_ALL),
        **extra,
    )


@router.get("/scores")
def scores(
    request: Request, plan: str | None = None, viewer: Viewer = Depends(signed_in)
) -> Response:
    """The latest run's points per area, criterion and sub-criterion, and the run form."""
    ws = workspace_of(request)
    return _scores_page(request, ws, viewer, _chosen_plan(ws, plan))


@router.post("/scores/run")
def scores_run(
    request: Request,
    plan: str = Form(...),
    inputs: UploadFile | None = File(None),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Score the plan's period (``cchc score run``) and show the new run."""
    ws = workspace_of(request)
    code = _chosen_plan(ws, plan)
    refused = refusal(ws, viewer.actor, SCORE_CHECKS, what="score every unit's assessments")
    if refused is not None:
        return _refused(request, refused)
    manual, problems, total = _manual(ws, inputs)
    if problems or code is None:
        return _scores_page(
            request, ws, viewer, code, status_code=422, problems=problems, total=total
        )
    try:
        outcome = cycle.score(ws, code, viewer.id, manual)
    except TransitionRefusedError as exc:
        return _refused(request, refusal_sentence(exc, ws.role_labels()))
    return _scores_page(request, ws, viewer, code, outcome=outcome)


@router.get("/scores/{code}")
def score_explain(
    request: Request, code: str, plan: str | None = None, viewer: Viewer = Depends(signed_in)
) -> Response:
    """How one sub-criterion was scored in the latest run (``cchc score explain``)."""
    ws = workspace_of(request)
    plan_code = _chosen_plan(ws, plan)
    owners = {s.code: s.owner_unit for s in ws.index_set.sub_criteria()}
    if plan_code is None or code not in owners:
        raise NotFoundError
    readable_or_not_found(
        ws, viewer, what=f"the score of {code}", tenant=ws.tenant, unit=owners[code]
    )
    with ws.sessions() as session:
        rows = latest_run(session, ws.tenant, plan_code)
        covered = covered_codes(session, ws.tenant, plan_code)
    found = next((r for r in rows if r.code == code), None)
    if found is None:
        raise NotFoundError
    from cchc.commands.cycle_common import stored_sub

    titles = {s.code: s.title for s in ws.index_set.sub_criteria()}
    sub = stored_sub(found, titles.get(code, code), covered.get(code, False))
    rule = json.loads(found.rule)
    return page(
        request,
        "scores_explain.html",
        plan=plan_code,
        row=found,
        sub=sub,
        label=item_label(code),
        unit_name=ws.unit_names().get(found.owner_unit, found.owner_unit),
        rule=rule,
        parameters={k: v for k, v in rule.items() if k not in {"type", "input"}},
        inputs=json.loads(found.inputs),
        current=found.index_set_hash == ws.index_set.content_hash,
    )


# --- points at risk ------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRisk:
    """A unit's points at risk and the sub-criteria behind them."""

    unit: str
    name: str
    points: Decimal
    subs: list[SubScore]


def unit_risks(ws: Workspace, card: ScoreCard, unit: str | None) -> list[UnitRisk]:
    """Points each unit would lose (of ``unit`` only when given), the largest first."""
    names = ws.unit_names()
    risks = [
        UnitRisk(u, names.get(u, u), sum((s.points_at_risk for s in subs), Decimal(0)), subs)
        for u, subs in at_risk(card).items()
        if unit in {None, u}
    ]
    return sorted(risks, key=lambda r: (-r.points, r.unit))


@router.get("/at-risk")
def at_risk_page(
    request: Request,
    plan: str | None = None,
    unit: str | None = None,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Points each unit would lose if nothing changes, a chart, the sub-criteria per unit."""
    ws = workspace_of(request)
    plan_code = _chosen_plan(ws, plan)
    shown = _unit_read(ws, viewer, unit, "points at risk")
    card = None if plan_code is None else latest_card(ws, plan_code)
    risks = [] if card is None else unit_risks(ws, card, shown)
    units = ws.unit_names() if read_scope(viewer.actor).whole_tenant else {}
    return page(
        request,
        "at_risk.html",
        plans=_plans(ws),
        plan=plan_code,
        card=card,
        unit=shown,
        units=units,
        risks=risks,
        unit_name=ws.unit_names().get(shown or "", "toàn phường"),
    )


@router.get("/at-risk/chart.png")
def at_risk_chart(
    request: Request,
    plan: str | None = None,
    unit: str | None = None,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The points at risk per unit as a bar chart (PNG)."""
    ws = workspace_of(request)
    plan_code = _chosen_plan(ws, plan)
    shown = _unit_read(ws, viewer, unit, "points at risk")
    card = None if plan_code is None else latest_card(ws, plan_code)
    if card is None:
        raise NotFoundError
    png = risk_chart(unit_risks(ws, card, shown), plan_code or "")
    return Response(
        png,
        media_type="image/png",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def risk_chart(risks: Sequence[UnitRisk], plan: str) -> bytes:
    """Horizontal bars of the points at risk per unit, each with its value (decimal comma)."""
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import TightLayoutEngine

    from cchc.vi_text import number

    with mpl.rc_context({"font.family": "DejaVu Sans"}):  # covers Vietnamese
        figure = Figure(figsize=(8, 1.2 + 0.55 * max(1, len(risks))), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        values = [float(r.points) for r in risks]
        bars = axes.barh(range(len(risks)), values, height=0.6, color="#d73027")
        axes.bar_label(bars, labels=[number(r.points) for r in risks], padding=3)
        axes.set_yticks(list(range(len(risks))), [r.name for r in risks])
        axes.invert_yaxis()
        axes.set_xlim(0, max([1.0, *values]) * 1.2)
        axes.set_xlabel("Điểm có nguy cơ bị mất")
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.set_title(f"Điểm có nguy cơ bị mất theo đơn vị – {plan}")
        TightLayoutEngine().execute(figure)
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()


# --- the ranking ---------------------------------------------------------------------------


def _latest_ranking(ws: Workspace, plan: str) -> tuple[Instance, dict[str, Any]] | None:
    with ws.sessions() as session:
        row = session.scalars(
            select(Instance)
            .where(
                Instance.tenant == ws.tenant,
                Instance.kind == "ranking",
                Instance.ref.startswith(f"{plan}/", autoescape=True),
            )
            .order_by(Instance.id.desc())
            .limit(1)
        ).first()
    return None if row is None else (row, json.loads(row.data))


def explained_rows(
    ws: Workspace, plan: str, latest: tuple[Instance, dict[str, Any]]
) -> list[RankedUnit] | None:
    """The stored ranking's rows with their explanations, recomputed as ``cchc export`` does;
    None when it is not of the latest scoring run or no longer matches its record (deadlines
    passed since: rank again)."""
    card = latest_card(ws, plan)
    if card is None or latest[1].get("score_run") != card.run_id:
        return None
    today = ws.engine.clock().astimezone(LOCAL_TZ).date()
    with ws.sessions() as session:
        results = unit_results(session, ws.organization, plan, card, today, ws.calendar)
    rows = rank_units(results, ws.emulation)
    table = [{"rank": r.rank, "unit": r.unit, "score": str(r.score), "band": r.band} for r in rows]
    return rows if table == latest[1].get("table") else None


def _ranking_page(
    request: Request,
    ws: Workspace,
    viewer: Viewer,
    plan: str | None,
    *,
    rows: list[RankedUnit] | None = None,
    status_code: int = 200,
    **extra: object,
) -> Response:
    readable_or_not_found(ws, viewer, what="ranking", tenant=ws.tenant, unit=None)
    latest = None if plan is None else _latest_ranking(ws, plan)
    explained = rows
    if explained is None and latest is not None and plan is not None:
        explained = explained_rows(ws, plan, latest)
    states = {s.name: s.label for s in ws.engine.current("ranking").definition.states}
    by = None
    if latest is not None:
        try:
            by = ws.organization.person(latest[0].created_by).full_name
        except LookupError:
            by = latest[0].created_by
    return page(
        request,
        "ranking.html",
        status_code=status_code,
        plans=_plans(ws),
        plan=plan,
        rows=explained,
        latest=latest,
        latest_by=by,
        state_label=states.get(latest[0].state, latest[0].state) if latest else "",
        units=ws.unit_names(),
        may_run=all(may(ws, viewer.actor, kind, trigger) for kind, trigger in RANK_CHECKS),
        may_publish=may(ws, viewer.actor, "ranking", "publish"),
        **extra,
    )


@router.get("/ranking")
def ranking(
    request: Request, plan: str | None = None, viewer: Viewer = Depends(signed_in)
) -> Response:
    """The latest ranking of the plan's period, and the form to rank the units."""
    ws = workspace_of(request)
    return _ranking_page(request, ws, viewer, _chosen_plan(ws, plan))


@router.post("/ranking/run")
def ranking_run(
    request: Request,
    plan: str = Form(...),
    publish: str = Form(""),
    inputs: UploadFile | None = File(None),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Score the period, then rank the units (``cchc rank run``): the ranking explained."""
    ws = workspace_of(request)
    code = _chosen_plan(ws, plan)
    checks = RANK_CHECKS + ([("ranking", "publish")] if publish else [])
    refused = refusal(ws, viewer.actor, checks, what="rank the units")
    if refused is not None:
        return _refused(request, refused)
    manual, problems, total = _manual(ws, inputs)
    if problems or code is None:
        return _ranking_page(
            request, ws, viewer, code, status_code=422, problems=problems, total=total
        )
    try:
        card = cycle.score(ws, code, viewer.id, manual).card
        today = ws.engine.clock().astimezone(LOCAL_TZ).date()
        outcome = cycle.rank(ws, code, viewer.id, card, today=today, publish=bool(publish))
    except TransitionRefusedError as exc:
        return _refused(request, refusal_sentence(exc, ws.role_labels()))
    return _ranking_page(request, ws, viewer, code, rows=outcome.rows, outcome=outcome, card=card)


@router.get("/ranking/export.xlsx")
def ranking_export(
    request: Request, plan: str | None = None, viewer: Viewer = Depends(signed_in)
) -> Response:
    """The latest ranking as the XLSX ``cchc export`` writes (a download)."""
    ws = workspace_of(request)
    code = _chosen_plan(ws, plan)
    readable_or_not_found(ws, viewer, what="ranking", tenant=ws.tenant, unit=None)
    latest = None if code is None else _latest_ranking(ws, code)
    rows = None if latest is None or code is None else explained_rows(ws, code, latest)
    if rows is None or code is None:
        raise NotFoundError
    from cchc.reports.ranking import write_ranking_xlsx

    period = cycle.plan_record(ws, code)["period"]["label"]
    table = ranking_table(
        rows, ws.emulation, title=f"Xếp hạng thi đua CCHC {period}", period_label=period
    )
    with tempfile.TemporaryDirectory() as folder:
        path = write_ranking_xlsx(Path(folder) / "xep-hang.xlsx", table)
        content = path.read_bytes()
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="xep-hang-{code}.xlsx"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
