"""Score a plan's period: every sub-criterion by its rule, from its recorded inputs.

Inputs come from the record: accepted evidence (coverage), plan tasks (1.1.3: of the tasks due
in the period, those done on time with an accepted product, ``cchc.plan.lateness``), imported
metrics, and the scorer's manual inputs. Every score
keeps its inputs, its rule and the index-set version, so it can be explained and recomputed:
the same inputs give the same run id and the same rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from cchc import vi_text
from cchc.evidence.service import coverage
from cchc.indexset.codes import natural_key
from cchc.indexset.models import IndexSet, InputKind, SubCriterion, input_kind, input_name
from cchc.indexset.rules import report, score_sub_criterion
from cchc.metrics.values import current_values
from cchc.plan.lateness import done_on_time, due_in_period
from cchc.runtime import working_calendar
from cchc.tables import Score
from workflows.calendar import WorkingCalendar
from workflows.canonical import canonical_json, sha256_hex
from workflows.schema import Instance

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class SubScore:
    """The score of one sub-criterion and how it was reached.

    ``points`` are rounded once, half up to 2 decimals, when the score is made: every total is
    the sum of these shown points (docs/index-sets.md, "Totals and points lost").
    """

    code: str
    title: str
    owner_unit: str
    max_points: Decimal
    points: Decimal
    explanation: str
    rule: dict[str, Any]
    inputs: dict[str, Any]
    outside_base: bool
    missing_input: bool
    evidence_complete: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", report(Decimal(self.points)))

    @property
    def best(self) -> Decimal:
        """The most this row can give: ``max_points`` in the base, 0 for a penalty (its cap is
        the most it can take), the points earned for a bonus (nothing to lose)."""
        if not self.outside_base:
            return self.max_points
        return max(self.points, Decimal(0))

    @property
    def lost(self) -> Decimal:
        """Points lost: ``best − points`` (max − points in the base, what a penalty took)."""
        return self.best - self.points

    @property
    def evidence_gap(self) -> Decimal:
        """Points the appraisal would take for want of accepted evidence: the points scored."""
        return self.points if self.points > 0 and not self.evidence_complete else Decimal(0)

    @property
    def points_at_risk(self) -> Decimal:
        """Points lost plus the points the evidence gap puts at risk."""
        return self.lost + self.evidence_gap


@dataclass(frozen=True)
class AreaTotal:
    """Points of one area against its max, and its index in %."""

    code: str
    title: str
    points: Decimal
    max_points: Decimal

    @property
    def index(self) -> Decimal:
        """points / max × 100, rounded to 2 decimals."""
        return report(self.points * HUNDRED / self.max_points) if self.max_points else Decimal(0)


@dataclass(frozen=True)
class ScoreCard:
    """A scored period: every sub-criterion, area totals, the index, lost points per unit."""

    tenant: str
    plan: str
    index_set: IndexSet
    run_id: str
    subs: tuple[SubScore, ...]
    computed_at: datetime
    stored: bool = field(default=False)

    def areas(self) -> list[AreaTotal]:
        """Totals per area (base sub-criteria only)."""
        by_code = {s.code: s for s in self.subs}
        totals = []
        for area in self.index_set.areas:
            subs = [
                by_code[sub.code]
                for c in area.criteria
                for sub in c.scored_items
                if sub.code in by_code and not by_code[sub.code].outside_base
            ]
            points = sum((s.points for s in subs), Decimal(0))
            top = sum((s.max_points for s in subs), Decimal(0))
            totals.append(AreaTotal(area.code, area.title, points, top))
        return totals

    @property
    def base_points(self) -> Decimal:
        """Points on the 100-point base."""
        return sum((s.points for s in self.subs if not s.outside_base), Decimal(0))

    @property
    def adjustments(self) -> Decimal:
        """Bonus minus penalty points, outside the base."""
        return sum((s.points for s in self.subs if s.outside_base), Decimal(0))

    @property
    def total_points(self) -> Decimal:
        """Base points plus adjustments."""
        return self.base_points + self.adjustments

    @property
    def index(self) -> Decimal:
        """The index in %: total points / base max × 100, rounded to 2 decimals."""
        return report(self.total_points * HUNDRED / Decimal(self.index_set.total_max))

    def lost_by_unit(self) -> dict[str, Decimal]:
        """Points lost per owner unit (its base rows and its penalties), largest first."""
        lost: dict[str, Decimal] = defaultdict(Decimal)
        for s in self.subs:
            if s.lost:
                lost[s.owner_unit] += s.lost
        return dict(sorted(lost.items(), key=lambda item: (-item[1], item[0])))

    def max_lost_by_unit(self) -> dict[str, Decimal]:
        """The most each owner unit can lose: the max of its base rows plus its penalty caps."""
        penalties = {s.code for s in self.index_set.adjustments() if s.rule.type == "penalty"}
        most: dict[str, Decimal] = defaultdict(Decimal)
        for s in self.subs:
            if not s.outside_base or s.code in penalties:
                most[s.owner_unit] += s.max_points
        return dict(most)


# -- inputs -------------------------------------------------------------------------------------


def _plan_tasks(session: Session, tenant: str, plan: str) -> list[tuple[str, dict[str, Any]]]:
    rows = session.execute(
        select(Instance.state, Instance.data)
        .where(
            Instance.tenant == tenant,
            Instance.kind == "task",
            Instance.ref.startswith(f"{plan}/", autoescape=True),
        )
        .order_by(Instance.ref)
    ).all()
    return [(r.state, json.loads(r.data)) for r in rows]


def period_end(session: Session, tenant: str, plan: str) -> date | None:
    """The last day of the issued plan's period (None when the plan was not issued with one)."""
    data = session.scalar(
        select(Instance.data).where(
            Instance.tenant == tenant, Instance.kind == "plan", Instance.ref == plan
        )
    )
    end = json.loads(data or "{}").get("period", {}).get("end")
    return date.fromisoformat(end) if end else None


def tasks_due(
    session: Session, tenant: str, plan: str
) -> tuple[list[tuple[str, dict[str, Any]]], date | None]:
    """The plan's tasks due in its period (1.1.3's denominator: not cancelled, deadline on or
    before the period's last day), and that day."""
    end = period_end(session, tenant, plan)
    tasks = [
        (state, data)
        for state, data in _plan_tasks(session, tenant, plan)
        if due_in_period(state, data, end or date.max)
    ]
    return tasks, end


def _plain(value: Decimal) -> str:
    """A decimal as plain text without trailing zeros: ``1970.0000`` → ``1970``.

    Both databases return NUMERIC with their scale; inputs (and the run id hashed over them)
    must not depend on the backend.
    """
    return format(Decimal(value).normalize(), "f")


def covered_codes(session: Session, tenant: str, plan: str) -> dict[str, bool]:
    """Sub-criterion → whether accepted evidence backs it, for the plan."""
    return {line.code: line.covered for line in coverage(session, tenant, plan)}


def gather_inputs(
    session: Session,
    tenant: str,
    plan: str,
    period: str,
    index_set: IndexSet,
    manual: Mapping[str, Mapping[str, Any]],
    covered: Mapping[str, bool] | None = None,
    calendar: WorkingCalendar | None = None,
) -> dict[str, dict[str, Any]]:
    """The inputs of every sub-criterion, as JSON-ready dicts (what the score will keep).

    ``covered`` (sub-criterion → has accepted evidence) is read from the record when not given;
    ``calendar`` is the ward's working calendar (default: the project's).
    """
    if covered is None:
        covered = covered_codes(session, tenant, plan)
    tasks, end = tasks_due(session, tenant, plan)
    calendar = calendar or working_calendar()
    on_time = sum(1 for state, data in tasks if done_on_time(state, data, calendar))
    due_by = f" có thời hạn đến {vi_text.date_text(end)}" if end else ""
    source = f"nhiệm vụ của kế hoạch {plan}{due_by}, không tính nhiệm vụ đã hủy"
    metrics: dict[str, list[Any]] = defaultdict(list)
    for (_unit, name), value in sorted(current_values(session, tenant, period).items()):
        metrics[name].append(value)
    inputs: dict[str, dict[str, Any]] = {}
    for sub in index_set.sub_criteria():
        given = dict(manual.get(sub.code, {}))
        given.pop("explanation", None)
        kind, name = input_kind(sub.rule.input), input_name(sub.rule.input) or ""
        found: dict[str, Any] = {}
        if kind is InputKind.EVIDENCE:
            found = {"done": covered.get(sub.code, False), "source": "tài liệu kiểm chứng"}
        elif kind is InputKind.PLAN_COMPLETION:
            found = {"numerator": on_time, "denominator": len(tasks), "source": source}
        elif kind is InputKind.METRIC and name in metrics:
            values = metrics[name]
            denominators = [v.denominator for v in values if v.denominator is not None]
            found = {
                "numerator": _plain(sum((v.numerator for v in values), Decimal(0))),
                "source": "; ".join(sorted({v.source for v in values if v.source})),
            }
            if denominators:
                found["denominator"] = _plain(sum(denominators, Decimal(0)))
        elif kind is InputKind.EVENTS:
            values = metrics.get(name, [])
            found = {
                "events": int(sum(v.numerator for v in values)),
                "source": "; ".join(sorted({v.source for v in values if v.source}))
                or "không ghi nhận sự kiện",
            }
        inputs[sub.code] = {**found, **given, "period": period}
    return inputs


# -- computing ----------------------------------------------------------------------------------


def score_one(sub: SubCriterion, inputs: Mapping[str, Any], evidence_complete: bool) -> SubScore:
    """Score one sub-criterion; missing inputs give 0 points with a Vietnamese note."""
    rule = json.loads(canonical_json(sub.rule.model_dump(mode="json")))
    try:
        result = score_sub_criterion(sub, inputs)
        points, explanation, recorded, missing = (
            result.points,
            result.explanation_vi,
            result.inputs,
            False,
        )
    except ValueError as exc:
        points, missing = Decimal(0), True
        explanation = f"Chưa có dữ liệu để chấm ({exc}) → 0 điểm"
        recorded = {"sub_criterion": sub.code, **json.loads(canonical_json(dict(inputs)))}
    return SubScore(
        code=sub.code,
        title=sub.title,
        owner_unit=sub.owner_unit,
        max_points=Decimal(sub.max_points),
        points=points,
        explanation=explanation,
        rule=rule,
        inputs=json.loads(
            canonical_json(
                recorded,
            )
        ),
        outside_base=sub.is_adjustment,
        missing_input=missing,
        evidence_complete=evidence_complete,
    )


def compute(
    index_set: IndexSet, inputs: Mapping[str, Mapping[str, Any]], covered: Mapping[str, bool]
) -> tuple[SubScore, ...]:
    """Score every sub-criterion from ``inputs`` (pure: no database)."""
    return tuple(
        score_one(sub, inputs.get(sub.code, {}), covered.get(sub.code, False))
        for sub in index_set.sub_criteria()
    )


def run_id_of(index_set: IndexSet, inputs: Mapping[str, Any]) -> str:
    """The run's id: sha256 over the index-set version and every input."""
    return sha256_hex(canonical_json({"index_set": index_set.content_hash, "inputs": inputs}))


def score_plan(
    session: Session,
    *,
    tenant: str,
    plan: str,
    period: str,
    index_set: IndexSet,
    manual: Mapping[str, Mapping[str, Any]],
    now: datetime,
    calendar: WorkingCalendar | None = None,
) -> ScoreCard:
    """Score the plan's period and store the scores (once per distinct set of inputs), on-time
    tasks counted with ``calendar`` (the ward's; default: the project's)."""
    covered = covered_codes(session, tenant, plan)
    inputs = gather_inputs(session, tenant, plan, period, index_set, manual, covered, calendar)
    subs = compute(index_set, inputs, covered)
    run_id = run_id_of(index_set, inputs)
    exists = session.scalar(
        select(func.count())
        .select_from(Score)
        .where(Score.tenant == tenant, Score.plan == plan, Score.run_id == run_id)
    )
    if exists:  # the same inputs again: this run becomes the latest one
        session.execute(
            update(Score)
            .where(Score.tenant == tenant, Score.plan == plan, Score.run_id == run_id)
            .values(computed_at=now)
        )
    else:
        version = index_set.content_hash
        session.execute(
            insert(Score),
            [
                {
                    "tenant": tenant,
                    "plan": plan,
                    "run_id": run_id,
                    "index_set": index_set.code,
                    "index_set_hash": version,
                    "code": s.code,
                    "owner_unit": s.owner_unit,
                    "rule": canonical_json(s.rule),
                    "inputs": canonical_json(s.inputs),
                    "points": s.points,
                    "max_points": s.max_points,
                    "explanation": s.explanation,
                    "outside_base": s.outside_base,
                    "computed_at": now,
                }
                for s in subs
            ],
        )
    return ScoreCard(tenant, plan, index_set, run_id, subs, now, stored=not exists)


def latest_run(session: Session, tenant: str, plan: str) -> list[Score]:
    """The rows of the most recent scoring run of the plan (empty before any run)."""
    newest = session.execute(
        select(Score.run_id)
        .where(Score.tenant == tenant, Score.plan == plan)
        .order_by(Score.computed_at.desc(), Score.id.desc())
        .limit(1)
    ).scalar()
    if newest is None:
        return []
    return list(
        session.scalars(
            select(Score)
            .where(Score.tenant == tenant, Score.plan == plan, Score.run_id == newest)
            .order_by(Score.id)
        )
    )


def delete_scores(session: Session, tenant: str, plan: str) -> int:
    """Remove every stored score of the plan (they can all be recomputed); the count removed."""
    result = session.execute(delete(Score).where(Score.tenant == tenant, Score.plan == plan))
    return int(result.rowcount)  # type: ignore[attr-defined]


def needs_explanation(card: ScoreCard, manual: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Codes whose evidence is incomplete and that have no explanation yet (giải trình)."""
    return [
        s.code
        for s in card.subs
        if not s.evidence_complete
        and not str(manual.get(s.code, {}).get("explanation") or "").strip()
    ]


def self_score_assessments(
    session: Session,
    engine: Any,
    actor: Any,
    card: ScoreCard,
    manual: Mapping[str, Mapping[str, Any]],
) -> tuple[int, list[str]]:
    """Fire ``self_score`` on each open assessment with its computed points.

    An assessment whose evidence is incomplete is left open unless the manual inputs give an
    explanation. One already self-scored with exactly this score is left as it is (a retry is a
    no-op); any other score is a new transition, even one an earlier run already wrote (the
    idempotency key names the assessment's version and the content written). Returns
    (assessments scored, codes waiting for an explanation).
    """
    waiting = set(needs_explanation(card, manual))
    rows = session.execute(
        select(Instance.id, Instance.state, Instance.ref, Instance.version, Instance.data).where(
            Instance.tenant == card.tenant,
            Instance.kind == "assessment",
            Instance.ref.startswith(f"{card.plan}/TC-", autoescape=True),
        )
    ).all()
    by_code = {row.ref.rsplit("/TC-", 1)[1]: row for row in rows}
    scored = 0
    for sub in card.subs:
        row = by_code.get(sub.code)
        if (
            row is None
            or sub.code in waiting
            or row.state not in {"open", "self_scored", "returned"}
        ):
            continue
        payload = {
            "points": str(report(sub.points)),
            "evidence_complete": sub.evidence_complete,
            "explanation": str(manual.get(sub.code, {}).get("explanation") or ""),
        }
        if row.state == "self_scored" and _holds(json.loads(row.data), payload):
            continue
        result = engine.fire(
            session,
            row.id,
            "self_score",
            actor=actor,
            payload=payload,
            idempotency_key=f"score:{card.run_id}:{sub.code}:v{row.version}:"
            f"{sha256_hex(canonical_json(payload))[:16]}",
        )
        scored += 0 if result.replayed else 1
    return scored, sorted(waiting, key=_code_key)


def _holds(data: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    """True when an assessment's data already records the self-score ``payload`` writes."""
    return (data.get("self_score"), data.get("evidence_complete"), data.get("explanation")) == (
        payload["points"],
        payload["evidence_complete"],
        payload["explanation"],
    )


def _code_key(code: str) -> tuple[tuple[int, str], ...]:
    return natural_key(code)  # 1.2.10 after 1.2.9; T.1 after the areas


def at_risk(card: ScoreCard) -> dict[str, list[SubScore]]:
    """Sub-criteria that would lose points if nothing changes (points below the max, or points
    scored without accepted evidence), per owner unit."""
    risky: dict[str, list[SubScore]] = defaultdict(list)
    for s in card.subs:
        if s.points_at_risk > 0:
            risky[s.owner_unit].append(s)
    return dict(sorted(risky.items()))


def rows_as_json(subs: Sequence[SubScore]) -> list[dict[str, Any]]:
    """Scores as JSON-ready dicts (for ``--json``)."""
    return [
        {
            "code": s.code,
            "title": s.title,
            "owner_unit": s.owner_unit,
            "max_points": str(s.max_points),
            "points": str(report(s.points)),
            "lost": str(report(s.lost)),
            "explanation": s.explanation,
            "rule": s.rule,
            "inputs": s.inputs,
            "outside_base": s.outside_base,
            "missing_input": s.missing_input,
            "evidence_complete": s.evidence_complete,
        }
        for s in subs
    ]
