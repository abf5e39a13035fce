"""The steps of the CCHC cycle as functions on a workspace: issue, score, rank, export.

Flows (``flows/cycle.py``), the CLI and the demo call these; each opens its own transaction
through ``unit_of_work`` and goes through the engine for every state change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cchc.indexset.codes import natural_key
from cchc.indexset.loader import load_index_set
from cchc.indexset.models import IndexSet
from cchc.indexset.rules import report
from cchc.plan.issue import CriterionToOpen, IssueResult, issue_plan
from cchc.plan.loader import load_plan
from cchc.plan.models import Plan
from cchc.ranking.emulation import RankedUnit, rank_units
from cchc.ranking.unit_results import unit_results
from cchc.runtime import definitions_dir
from cchc.scoring.inputs import check_inputs
from cchc.scoring.scores import ScoreCard, score_plan, self_score_assessments
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace, default_index_set
from workflows.database import unit_of_work
from workflows.errors import DefinitionError
from workflows.progress import Progress, no_progress
from workflows.schema import Instance


def read_plan(ws: Workspace, path: Path) -> Plan:
    """Read and check a plan file (YAML or XLSX) against the ward and the index set."""
    return load_plan(
        path,
        known_units={u.code for u in ws.organization.units},
        known_criteria={s.code for s in ws.index_set.sub_criteria()},
        unit_aliases=ws.unit_aliases(),
    )


def issue(
    ws: Workspace, path: Path, actor_id: str, progress: Progress = no_progress
) -> IssueResult:
    """Issue the plan in ``path`` as ``actor_id``: tasks assigned, assessments opened."""
    return issue_checked(ws, read_plan(ws, path), actor_id, progress)


def issue_checked(
    ws: Workspace, plan: Plan, actor_id: str, progress: Progress = no_progress
) -> IssueResult:
    """Issue a plan already read and checked (``read_plan``) as ``actor_id``."""
    criteria = [
        CriterionToOpen(
            code=s.code,
            title=s.title,
            max_points=str(s.max_points),
            owner_unit=s.owner_unit,
            evidence=s.evidence,
        )
        for s in ws.index_set.sub_criteria()
    ]
    with unit_of_work(ws.sessions) as session:
        return issue_plan(
            session, ws.engine, plan, criteria, ws.actor(actor_id), ws.unit_names(), progress
        )


def plan_record(ws: Workspace, plan_code: str) -> dict[str, Any]:
    """The issued plan's data (period, index set …); LookupError when it was not issued."""
    with ws.sessions() as session:
        row = session.execute(
            select(Instance.data, Instance.state).where(
                Instance.tenant == ws.tenant, Instance.kind == "plan", Instance.ref == plan_code
            )
        ).first()
    if row is None:
        raise LookupError(f"plan {plan_code!r} has not been issued in {ws.tenant}")
    return {**json.loads(row.data), "state": row.state}


def read_manual(path: Path | None, index_set: IndexSet | None = None) -> dict[str, dict[str, Any]]:
    """The scorer's manual inputs per sub-criterion (level, value, explanation …) from YAML,
    checked against ``index_set`` (default: the ward's default index set); raises
    ``DefinitionError`` listing every problem (``cchc.scoring.inputs``)."""
    if path is None:
        return {}
    if index_set is None:
        index_set = load_index_set(default_index_set())
    inputs, problems = check_inputs(path, index_set)
    if inputs is None:
        raise DefinitionError(problems)
    return inputs


@dataclass(frozen=True)
class ScoreOutcome:
    """A scoring run: the card, assessments self-scored, codes waiting for an explanation, and
    codes already approved or locked with another self-score than this run gives."""

    card: ScoreCard
    self_scored: int
    waiting_explanation: list[str]
    decided_otherwise: list[str] = field(default_factory=list)


def decided_otherwise(session: Session, card: ScoreCard) -> list[str]:
    """Codes whose assessment was approved or locked with a self-score the run does not give
    (scoring cannot change them: the head returns them first)."""
    points = {s.code: str(report(s.points)) for s in card.subs}
    rows = session.execute(
        select(Instance.ref, Instance.data).where(
            Instance.tenant == card.tenant,
            Instance.kind == "assessment",
            Instance.state.in_(("approved", "locked")),
            Instance.ref.startswith(f"{card.plan}/TC-", autoescape=True),
        )
    ).all()
    codes = [
        row.ref.rsplit("/TC-", 1)[1]
        for row in rows
        if json.loads(row.data).get("self_score") != points.get(row.ref.rsplit("/TC-", 1)[1])
    ]
    return sorted(codes, key=natural_key)


def score(
    ws: Workspace, plan_code: str, actor_id: str, manual: Mapping[str, Mapping[str, Any]]
) -> ScoreOutcome:
    """Score the plan's period, store the scores and self-score the open assessments."""
    period = plan_record(ws, plan_code)["period"]["code"]
    with unit_of_work(ws.sessions) as session:
        card = score_plan(
            session,
            tenant=ws.tenant,
            plan=plan_code,
            period=period,
            index_set=ws.index_set,
            manual=manual,
            now=ws.engine.clock(),
            calendar=ws.calendar,
        )
        scored, waiting = self_score_assessments(
            session, ws.engine, ws.actor(actor_id), card, manual
        )
        decided = decided_otherwise(session, card)
    return ScoreOutcome(card, scored, waiting, decided)


def emulation_config_path() -> Path:
    """The emulation configuration (weights, bands, tie-breaks)."""
    return definitions_dir() / "emulation.yaml"


@dataclass(frozen=True)
class RankOutcome:
    """A ranking: its rows and the ranking instance (published or draft)."""

    rows: list[RankedUnit]
    instance_id: int
    published: bool


def rank(
    ws: Workspace,
    plan_code: str,
    actor_id: str,
    card: ScoreCard,
    *,
    today: date,
    publish: bool,
    publisher_id: str | None = None,
) -> RankOutcome:
    """Rank the units for the plan's period as ``actor_id`` (the focal official drafts it);
    optionally publish it as ``publisher_id`` (default the same person), notifying the units."""
    config = ws.emulation
    record = plan_record(ws, plan_code)
    actor = ws.actor(actor_id)
    with unit_of_work(ws.sessions) as session:
        results = unit_results(session, ws.organization, plan_code, card, today, ws.calendar)
        rows = rank_units(results, config)
        table = [
            {"rank": r.rank, "unit": r.unit, "score": str(r.score), "band": r.band} for r in rows
        ]
        created = ws.engine.create(
            session,
            "ranking",
            actor=actor,
            ref=f"{plan_code}/XH-{card.run_id[:12]}",
            idempotency_key=f"rank:{plan_code}:{card.run_id}",
            data={
                "plan": plan_code,
                "period_label": record["period"]["label"],
                "score_run": card.run_id,
                "table": table,
            },
        )
        published = False
        if publish:
            publisher = ws.actor(publisher_id) if publisher_id else actor
            ws.engine.fire(
                session,
                created.instance_id,
                "publish",
                actor=publisher,
                idempotency_key=f"publish:{plan_code}:{card.run_id}",
            )
            published = True
    return RankOutcome(rows, created.instance_id, published)


def local_today(ws: Workspace) -> date:
    """Today in Asia/Ho_Chi_Minh by the workspace's clock."""
    return ws.engine.clock().astimezone(LOCAL_TZ).date()


def task_ids(ws: Workspace, plan_code: str) -> dict[str, int]:
    """Task code → instance id for the plan's tasks."""
    with ws.sessions() as session:
        rows = session.execute(
            select(Instance.id, Instance.ref).where(
                Instance.tenant == ws.tenant,
                Instance.kind == "task",
                Instance.ref.startswith(f"{plan_code}/", autoescape=True),
            )
        ).all()
    return {row.ref.split("/", 1)[1]: row.id for row in rows}
