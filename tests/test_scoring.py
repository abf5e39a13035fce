"""Scoring a period from the record: inputs gathered, rules applied, runs reproducible."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cchc import cycle
from cchc.metrics.values import MetricValue, record_import
from cchc.scoring.scores import compute, gather_inputs, score_plan
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from tests.conftest import Clock, Db
from workflows.database import Settings, unit_of_work

ROOT = Path(__file__).resolve().parent.parent
PLAN_FILE = ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"
PLAN = "KH-CCHC-2025-H2"
FOCAL = "nguyen.thi.lan"


def local(text: str) -> datetime:
    """A local Asia/Ho_Chi_Minh time."""
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


@pytest.fixture
def ws(db: Db, clock: Clock, tmp_path: Path) -> Workspace:
    """A workspace on the test database with the example plan issued on 29/7/2025."""
    clock.now = local("2025-07-29T09:00")
    workspace = Workspace.open(Settings(data_dir=tmp_path, database_url=db.url), clock=clock)
    cycle.issue(workspace, PLAN_FILE, FOCAL)
    yield workspace
    workspace.close()


def _fire(ws: Workspace, clock: Clock, task: str, trigger: str, who: str, when: str) -> None:
    clock.now = local(when)
    ids = cycle.task_ids(ws, PLAN)
    with unit_of_work(ws.sessions) as session:
        ws.engine.fire(
            session,
            ids[task],
            trigger,
            actor=ws.actor(who),
            payload={"product": "Sản phẩm"} if trigger == "submit_product" else {},
        )


def _inputs(ws: Workspace, manual: dict[str, dict[str, object]] | None = None) -> dict:
    with ws.sessions() as session:
        return gather_inputs(session, ws.tenant, PLAN, "2025-H2", ws.index_set, manual or {})


def test_plan_completion_counts_accepted_products_by_local_deadline(
    ws: Workspace, clock: Clock
) -> None:
    """1.1.3 counts accepted products submitted by 17:00 Vietnamese time on the deadline day."""
    _fire(ws, clock, "NV-01", "submit_product", "bui.duc.anh", "2025-08-15T16:30")
    _fire(ws, clock, "NV-01", "accept_product", FOCAL, "2025-08-16T08:00")
    _fire(ws, clock, "NV-09", "submit_product", "bui.duc.anh", "2025-08-20T17:30")  # 10:30 UTC
    _fire(ws, clock, "NV-09", "accept_product", FOCAL, "2025-08-21T08:00")
    _fire(ws, clock, "NV-12", "submit_product", "bui.duc.anh", "2025-09-01T09:00")
    inputs = _inputs(ws)["1.1.3"]
    assert (inputs["numerator"], inputs["denominator"]) == (1, 12)


def test_plan_completion_counts_the_tasks_due_in_the_period(ws: Workspace, clock: Clock) -> None:
    """1.1.3's denominator: the plan's tasks due by the period's end (31/12/2025), not cancelled."""
    clock.now = local("2025-08-01T09:00")
    nv10 = cycle.task_ids(ws, PLAN)["NV-10"]
    with unit_of_work(ws.sessions) as session:
        for code, deadline in (("NV-20", "2025-12-31"), ("NV-21", "2026-01-15")):
            ws.engine.create(
                session,
                "task",
                actor=ws.actor(FOCAL),
                ref=f"{PLAN}/{code}",
                data={
                    "plan": PLAN,
                    "code": code,
                    "title": "Nhiệm vụ bổ sung",
                    "expected_product": "Báo cáo",
                    "owner_unit": "vhxh",
                    "support_units": [],
                    "deadline": deadline,
                    "criteria": [],
                },
            )
        ws.engine.fire(
            session, nv10, "cancel", actor=ws.actor(FOCAL), payload={"reason": "Không còn phù hợp"}
        )
    inputs = _inputs(ws)["1.1.3"]
    assert (inputs["numerator"], inputs["denominator"]) == (0, 12)  # 12 - NV-10 + NV-20
    assert "31/12/2025" in inputs["source"]


def test_metrics_are_summed_and_missing_inputs_score_zero(ws: Workspace) -> None:
    """A metric sums over units; a sub-criterion without inputs scores 0 and says why."""
    values = [
        MetricValue("ttphc", "2025-H2", "on_time_dossiers", Decimal(970), Decimal(1000), "A"),
        MetricValue("vp", "2025-H2", "on_time_dossiers", Decimal(1000), Decimal(1000), "B"),
    ]
    with unit_of_work(ws.sessions) as session:
        record_import(
            session,
            ws.engine,
            ws.actor(FOCAL),
            values,
            period="2025-H2",
            file_sha256="c" * 64,
            file_name="m.csv",
        )
    inputs = _inputs(ws)
    assert (inputs["3.2.1"]["numerator"], inputs["3.2.1"]["denominator"]) == ("1970", "2000")
    subs = {s.code: s for s in compute(ws.index_set, inputs, {})}
    assert subs["2.1.1"].points == 0
    assert subs["2.1.1"].missing_input
    assert subs["2.1.1"].explanation.startswith("Chưa có dữ liệu")


def test_same_inputs_same_run_new_inputs_new_run(ws: Workspace) -> None:
    """Scoring twice stores one run; a changed manual input makes a new run with new points."""
    with unit_of_work(ws.sessions) as session:
        first = score_plan(
            session,
            tenant=ws.tenant,
            plan=PLAN,
            period="2025-H2",
            index_set=ws.index_set,
            manual={},
            now=ws.engine.clock(),
        )
        again = score_plan(
            session,
            tenant=ws.tenant,
            plan=PLAN,
            period="2025-H2",
            index_set=ws.index_set,
            manual={},
            now=ws.engine.clock(),
        )
        changed = score_plan(
            session,
            tenant=ws.tenant,
            plan=PLAN,
            period="2025-H2",
            index_set=ws.index_set,
            manual={"2.1.1": {"level": "full"}},
            now=ws.engine.clock(),
        )
    assert first.stored
    assert not again.stored
    assert again.run_id == first.run_id
    assert changed.run_id != first.run_id
    assert changed.total_points - first.total_points == Decimal(2)


def test_lost_points_add_up_to_what_the_index_misses(ws: Workspace) -> None:
    """Points lost per owner unit add up to the base maximum minus the base points."""
    manual = cycle.read_manual(ROOT / "examples" / "scoring-inputs-2025-h2.yaml")
    card = compute(ws.index_set, _inputs(ws, manual), {})
    from cchc.scoring.scores import ScoreCard

    scored = ScoreCard(ws.tenant, PLAN, ws.index_set, "x", card, ws.engine.clock())
    assert sum(scored.lost_by_unit().values()) == Decimal(100) - scored.base_points
    assert scored.index == (scored.total_points).quantize(Decimal("0.01"))


def test_incomplete_evidence_waits_for_an_explanation(ws: Workspace) -> None:
    """Without evidence only the explained sub-criteria are self-scored; the rest wait."""
    manual = {"2.1.1": {"level": "full", "explanation": "Hồ sơ đang lưu tại bộ phận một cửa"}}
    outcome = cycle.score(ws, PLAN, FOCAL, manual)
    assert outcome.self_scored == 1
    assert "2.1.1" not in outcome.waiting_explanation
    assert len(outcome.waiting_explanation) == len(list(ws.index_set.sub_criteria())) - 1


def test_scoring_again_with_earlier_inputs_makes_that_run_the_latest(
    ws: Workspace, clock: Clock
) -> None:
    """Going back to earlier inputs makes their (stored) run the one explained and exported."""
    from cchc.scoring.scores import latest_run

    runs = []
    for manual in ({}, {"2.1.1": {"level": "full"}}, {}):
        clock.advance(minutes=1)
        with unit_of_work(ws.sessions) as session:
            runs.append(
                score_plan(
                    session,
                    tenant=ws.tenant,
                    plan=PLAN,
                    period="2025-H2",
                    index_set=ws.index_set,
                    manual=manual,
                    now=ws.engine.clock(),
                ).run_id
            )
    with ws.sessions() as session:
        latest = latest_run(session, ws.tenant, PLAN)
    assert runs[0] == runs[2] != runs[1]
    assert {row.run_id for row in latest} == {runs[0]}


def test_an_official_cannot_self_score_another_units_criterion(ws: Workspace) -> None:
    """An official of Phòng Kinh tế is refused on a VH-XH sub-criterion; the focal one is not."""
    from sqlalchemy import select

    from workflows.errors import GuardFailedError
    from workflows.schema import Instance

    with ws.sessions() as session:
        target = session.scalar(
            select(Instance.id).where(
                Instance.kind == "assessment", Instance.ref == f"{PLAN}/TC-1.1.2"
            )
        )
    assert target is not None
    payload = {"points": "1", "evidence_complete": False, "explanation": "Đang bổ sung"}
    with (
        pytest.raises(GuardFailedError, match="own_unit_or_focal"),
        unit_of_work(ws.sessions) as session,
    ):
        ws.engine.fire(session, target, "self_score", actor=ws.actor("ngo.thi.ha"), payload=payload)
    with unit_of_work(ws.sessions) as session:
        result = ws.engine.fire(
            session, target, "self_score", actor=ws.actor(FOCAL), payload=payload
        )
    assert result.dest == "self_scored"


def _self_score(ws: Workspace, code: str) -> tuple[str, str, int]:
    """(state, self-score, version) of the assessment of ``code``."""
    import json

    from sqlalchemy import select

    from workflows.schema import Instance

    with ws.sessions() as session:
        row = session.execute(
            select(Instance.state, Instance.data, Instance.version).where(
                Instance.kind == "assessment", Instance.ref == f"{PLAN}/TC-{code}"
            )
        ).one()
    return row.state, json.loads(row.data).get("self_score"), row.version


def test_assessments_carry_the_latest_score_after_going_back_to_earlier_inputs(
    ws: Workspace, clock: Clock
) -> None:
    """Scoring A, then B, then A again leaves the assessment with A's self-score, not B's."""
    note = "Hồ sơ đang lưu tại bộ phận một cửa"
    full = {"2.1.1": {"level": "full", "explanation": note}}
    part = {"2.1.1": {"level": "incomplete", "explanation": note}}
    scores = []
    for manual in (full, part, full):
        clock.advance(minutes=1)
        card = cycle.score(ws, PLAN, FOCAL, manual).card
        scores.append({s.code: s.points for s in card.subs}["2.1.1"])
        assert _self_score(ws, "2.1.1")[1] == str(scores[-1].quantize(Decimal("0.01")))
    assert scores[0] == scores[2] != scores[1]


def test_scoring_again_with_the_same_inputs_changes_no_assessment(
    ws: Workspace, clock: Clock
) -> None:
    """A true retry (same inputs, nothing changed since) self-scores nothing and bumps nothing."""
    manual = {"2.1.1": {"level": "full", "explanation": "Đang bổ sung hồ sơ"}}
    first = cycle.score(ws, PLAN, FOCAL, manual)
    before = _self_score(ws, "2.1.1")
    clock.advance(minutes=1)
    again = cycle.score(ws, PLAN, FOCAL, manual)
    assert (first.self_scored, again.self_scored) == (1, 0)
    assert _self_score(ws, "2.1.1") == before


def test_a_set_in_the_shape_of_real_ones_is_scored_and_assessed(
    db: Db, clock: Clock, tmp_path: Path
) -> None:
    """A criterion scored directly counts in its area; T.1/TR.1 are assessed, outside the base."""
    from tests.indexset.shapes import write_real_shape

    clock.now = local("2025-07-29T09:00")
    workspace = Workspace.open(
        Settings(data_dir=tmp_path, database_url=db.url),
        clock=clock,
        index_set=write_real_shape(tmp_path),
    )
    try:
        cycle.issue(workspace, PLAN_FILE, FOCAL)
        note = {"explanation": "Hồ sơ đang bổ sung"}
        manual = {
            "1.2": {"events": 1, **note},
            "T.1": {"events": 1, **note},
            "TR.1": {"events": 1, **note},
        }
        outcome = cycle.score(workspace, PLAN, FOCAL, manual)
        card = outcome.card
        subs = {s.code: s for s in card.subs}
        assert (subs["1.2"].points, subs["1.2"].outside_base) == (Decimal("1.5"), False)
        assert (subs["T.1"].points, subs["TR.1"].points) == (Decimal("0.5"), Decimal("-0.5"))
        area = next(a for a in card.areas() if a.code == "1")
        assert area.max_points == 14
        assert area.points == sum(
            (s.points for s in card.subs if s.code.startswith("1.") and not s.outside_base),
            Decimal(0),
        )
        assert subs["1.2"].points <= area.points
        assert card.adjustments == sum((s.points for s in card.subs if s.outside_base), Decimal(0))
        assert outcome.self_scored == 3
        waiting = cycle.score(workspace, PLAN, FOCAL, {}).waiting_explanation
        assert waiting[-3:] == ["7.3.4", "T.1", "TR.1"]  # letter codes after the areas
        assert {_self_score(workspace, code)[1] for code in ("1.2", "T.1", "TR.1")} == {
            "1.50",
            "0.50",
            "-0.50",
        }
        from cchc.reports.outputs import self_assessment_table
        from cchc.reports.self_assessment import summarise

        table = self_assessment_table(workspace, card, "6 tháng cuối năm 2025")
        rows = {row.code: row for row in table.rows}
        assert (rows["1.2"].level, rows["1.2"].self_score) == ("criterion", Decimal("1.5"))
        assert (rows["T.1"].bonus_penalty, rows["TR.1"].bonus_penalty) == (True, True)
        summary = summarise(table)
        assert (summary.base_score, summary.bonus_penalty) == (card.base_points, card.adjustments)
    finally:
        workspace.close()


def test_scoring_names_approved_assessments_that_now_score_otherwise(
    ws: Workspace, clock: Clock
) -> None:
    """An approved self-score the latest run contradicts is named; scoring leaves it approved."""
    note = "Hồ sơ đang lưu tại bộ phận một cửa"
    cycle.score(ws, PLAN, FOCAL, {"2.1.1": {"level": "full", "explanation": note}})
    ids = _assessment_ids(ws)
    with unit_of_work(ws.sessions) as session:
        ws.engine.fire(session, ids["2.1.1"], "approve", actor=ws.actor("trinh.van.hai"))
    clock.advance(minutes=1)
    same = cycle.score(ws, PLAN, FOCAL, {"2.1.1": {"level": "full", "explanation": note}})
    other = cycle.score(ws, PLAN, FOCAL, {"2.1.1": {"level": "incomplete", "explanation": note}})
    assert same.decided_otherwise == []
    assert other.decided_otherwise == ["2.1.1"]
    assert _self_score(ws, "2.1.1")[:2] == ("approved", "2.00")


def _assessment_ids(ws: Workspace) -> dict[str, int]:
    """Sub-criterion code → assessment instance id."""
    from sqlalchemy import select

    from workflows.schema import Instance

    with ws.sessions() as session:
        rows = session.execute(
            select(Instance.id, Instance.ref).where(Instance.kind == "assessment")
        ).all()
    return {row.ref.rsplit("/TC-", 1)[1]: row.id for row in rows}


def test_a_penalty_counts_against_its_unit_and_ranks_it_lower(ws: Workspace) -> None:
    """A unit's penalty is in its lost points and ranks it below an identical unit without."""
    from cchc.cycle import emulation_config_path
    from cchc.ranking.emulation import load_emulation_config, rank_units
    from cchc.ranking.unit_results import unit_results
    from cchc.scoring.scores import ScoreCard, SubScore

    penalised = {"1.2.2": Decimal(-1)}  # owned by vhxh, like its twin 5.3.3 (no events)
    subs = tuple(
        SubScore(
            code=s.code,
            title=s.title,
            owner_unit=s.owner_unit,
            max_points=Decimal(s.max_points),
            points=penalised.get(s.code, Decimal(0 if s.is_adjustment else s.max_points)),
            explanation="",
            rule={},
            inputs={},
            outside_base=s.is_adjustment,
            missing_input=False,
            evidence_complete=True,
        )
        for s in ws.index_set.sub_criteria()
    )
    card = ScoreCard(ws.tenant, PLAN, ws.index_set, "run", subs, ws.engine.clock())
    assert card.lost_by_unit() == {"vhxh": Decimal(1)}
    with ws.sessions() as session:  # another plan: no tasks or evidence, units alike but vhxh
        results = unit_results(session, ws.organization, "KH-KHAC", card, date(2025, 12, 31))
    ranked = rank_units(results, load_emulation_config(emulation_config_path()))
    by_unit = {r.unit: r for r in ranked}
    others = [r for r in ranked if r.unit != "vhxh"]
    assert by_unit["vhxh"].result.points_lost == Decimal(1)
    assert all(by_unit["vhxh"].score < r.score for r in others)
    assert by_unit["vhxh"].rank > max(r.rank for r in others)
