"""Each unit's results for a period, read from the record: the inputs of the emulation ranking."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cchc.organization.model import Organization
from cchc.plan.lateness import done_on_time, due_in_period, task_lateness
from cchc.ranking.emulation import UnitResult
from cchc.runtime import working_calendar
from cchc.scoring.scores import ScoreCard, period_end
from workflows.calendar import WorkingCalendar
from workflows.schema import Instance


def unit_results(
    session: Session,
    org: Organization,
    plan: str,
    card: ScoreCard,
    today: date,
    calendar: WorkingCalendar | None = None,
) -> list[UnitResult]:
    """Tasks on time, evidence accepted at first review, points lost and overdue items per unit.

    Tasks are those 1.1.3 counts (due in the plan's period, not cancelled); a task is on time
    or late as ``cchc.plan.lateness`` says, ``today`` meaning the end of that working day.
    """
    calendar = calendar or working_calendar()
    end = period_end(session, org.tenant, plan) or date.max
    tasks: dict[str, list[tuple[str, dict[str, object]]]] = defaultdict(list)
    evidence: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = session.execute(
        select(Instance.kind, Instance.state, Instance.data).where(
            Instance.tenant == org.tenant,
            Instance.kind.in_(("task", "evidence")),
            Instance.ref.startswith(f"{plan}/", autoescape=True),
        )
    ).all()
    for row in rows:
        data = json.loads(row.data)
        if row.kind == "task" and due_in_period(row.state, data, end):
            tasks[str(data["owner_unit"])].append((row.state, data))
        elif row.kind == "evidence" and data.get("reviews"):
            evidence[str(data.get("owner_unit"))].append(data)
    owned = card.max_lost_by_unit()
    lost = card.lost_by_unit()
    results = []
    for unit in org.units:
        mine = tasks.get(unit.code, [])
        reviewed = evidence.get(unit.code, [])
        first_accepted = sum(1 for d in reviewed if d["reviews"][0]["trigger"] == "accept")
        results.append(
            UnitResult(
                unit=unit.code,
                unit_name=unit.name,
                tasks_total=len(mine),
                tasks_on_time=sum(1 for state, data in mine if done_on_time(state, data, calendar)),
                evidence_reviewed=len(reviewed),
                evidence_first_accepted=first_accepted,
                max_points_owned=owned.get(unit.code, Decimal(0)),
                points_lost=lost.get(unit.code, Decimal(0)),
                overdue_items=sum(
                    1 for state, data in mine if task_lateness(state, data, today, calendar).late
                ),
            )
        )
    return results
