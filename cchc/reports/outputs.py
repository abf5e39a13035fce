"""The files officials open: the self-assessment table (XLSX) and report (DOCX), the ranking
(XLSX and a PNG chart), built from the stored scores and the record."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from cchc.city import city_committee, city_name_of
from cchc.cycle import local_today, plan_record
from cchc.evidence.service import coverage
from cchc.indexset.models import IndexSet, SubCriterion
from cchc.organization.capabilities import roles_with
from cchc.ranking.emulation import RankedUnit
from cchc.reports.model import (
    AssessmentRow,
    DocumentHeader,
    Level,
    RankingTable,
    SelfAssessmentTable,
    Signature,
)
from cchc.reports.ranking import write_ranking_png, write_ranking_xlsx
from cchc.reports.self_assessment import write_self_assessment_docx, write_self_assessment_xlsx
from cchc.scoring.scores import ScoreCard, SubScore, covered_codes, latest_run
from cchc.workspace import Workspace
from workflows.schema import Instance


def card_from_store(ws: Workspace, plan_code: str) -> ScoreCard:
    """The latest stored scoring run of the plan as a score card (LookupError before any run)."""
    with ws.sessions() as session:
        rows = latest_run(session, ws.tenant, plan_code)
        covered = covered_codes(session, ws.tenant, plan_code)
    if not rows:
        raise LookupError(f"plan {plan_code!r} has not been scored yet: run `cchc score run`")
    titles = {s.code: s.title for s in ws.index_set.sub_criteria()}
    subs = tuple(
        SubScore(
            code=r.code,
            title=titles.get(r.code, r.code),
            owner_unit=r.owner_unit,
            max_points=Decimal(r.max_points),
            points=Decimal(r.points),
            explanation=r.explanation,
            rule=json.loads(r.rule),
            inputs=json.loads(r.inputs),
            outside_base=r.outside_base,
            missing_input="Chưa có dữ liệu" in r.explanation,
            evidence_complete=covered.get(r.code, False),
        )
        for r in rows
    )
    return ScoreCard(ws.tenant, plan_code, ws.index_set, rows[0].run_id, subs, rows[0].computed_at)


def _evidence_names(ws: Workspace, plan_code: str) -> dict[str, list[str]]:
    with ws.sessions() as session:
        lines = coverage(session, ws.tenant, plan_code)
        ids = {i for line in lines for i in line.accepted}
        names = (
            dict(
                session.execute(select(Instance.id, Instance.data).where(Instance.id.in_(ids)))
                .tuples()
                .all()
            )
            if ids
            else {}
        )
    return {
        line.code: [json.loads(names[i])["original_name"] for i in line.accepted] for line in lines
    }


def assessment_rows(
    index_set: IndexSet,
    card: ScoreCard,
    evidence: Mapping[str, Sequence[str]],
    unit_names: Mapping[str, str],
) -> list[AssessmentRow]:
    """The score card as the rows of the self-assessment table, in index-set order (pure).

    Area and criterion rows carry no score: the writer adds up the rows beneath them.
    """
    by_code = {s.code: s for s in card.subs}
    rows: list[AssessmentRow] = []

    def scored(level: Level, sub: SubCriterion) -> AssessmentRow:
        score = by_code.get(sub.code)
        return AssessmentRow(
            level=level,
            code=sub.code,
            title=sub.title,
            max_points=Decimal(sub.max_points),
            self_score=None if score is None else score.points,
            evidence=evidence.get(sub.code, []),
            explanation="" if score is None else score.explanation,
            owner_unit=unit_names.get(sub.owner_unit, sub.owner_unit),
            bonus_penalty=sub.is_adjustment,
        )

    for area in index_set.areas:
        rows.append(
            AssessmentRow(
                level="area", code=area.code, title=area.title, max_points=Decimal(area.max_points)
            )
        )
        for criterion in area.criteria:
            if criterion.scored_directly:  # the criterion is its own scored line
                rows.extend(scored("criterion", item) for item in criterion.scored_items)
                continue
            rows.append(
                AssessmentRow(
                    level="criterion",
                    code=criterion.code,
                    title=criterion.title,
                    max_points=Decimal(criterion.max_points),
                )
            )
            rows.extend(scored("sub", sub) for sub in criterion.sub_criteria)
    if index_set.bonus_penalty:  # điểm thưởng, điểm trừ after the areas, outside the base
        caps = (s.max_points for s in index_set.bonus_penalty if s.rule.type == "bonus")
        rows.append(
            AssessmentRow(
                level="area",
                code="",
                title="Điểm thưởng, điểm trừ",
                max_points=sum(caps, Decimal(0)),
                bonus_penalty=True,
            )
        )
        rows.extend(scored("sub", item) for item in index_set.bonus_penalty)
    return rows


def self_assessment_table(ws: Workspace, card: ScoreCard, period_label: str) -> SelfAssessmentTable:
    """The score card as the self-assessment table of the workspace's ward."""
    rows = assessment_rows(ws.index_set, card, _evidence_names(ws, card.plan), ws.unit_names())
    return SelfAssessmentTable(
        ward_name=ws.organization.name,
        period_label=period_label,
        index_set_title=ws.index_set.title,
        rows=rows,
    )


def ward_recipients(ws: Workspace, *, city: bool) -> list[str]:
    """“Nơi nhận” of a ward's report: the city body (when ``city``: named from the city file),
    the ward's Party committee and council, its units, the archive and the focal unit; the
    ward type (phường, xã, đặc khu) from the organization file."""
    org = ws.organization
    kind = org.kind_name
    lines = [
        f"Thường trực Đảng ủy, HĐND {kind}",
        f"Các đơn vị thuộc UBND {kind}",
        f"Lưu: VT, {org.focal.short_name}",
    ]
    if city:
        name = city_name_of(org, set(ws.engine.definitions.roles.roles))
        lines.insert(0, f"{city_committee(name)} (Sở Nội vụ)")
    return lines


def _signature(ws: Workspace, signer_id: str) -> Signature:
    person = ws.organization.person(signer_id)
    if roles_with("sign_as_chairman") & set(person.roles):
        return Signature(
            on_behalf="TM. ỦY BAN NHÂN DÂN", deputy=None, title="CHỦ TỊCH", name=person.full_name
        )
    return Signature(
        on_behalf="TM. ỦY BAN NHÂN DÂN",
        deputy="KT. CHỦ TỊCH",
        title="PHÓ CHỦ TỊCH",
        name=person.full_name,
    )


def write_outputs(
    ws: Workspace,
    plan_code: str,
    out: Path,
    *,
    signer_id: str,
    ranking: Sequence[RankedUnit] | None = None,
    card: ScoreCard | None = None,
) -> list[Path]:
    """Write the self-assessment XLSX and DOCX, and the ranking XLSX and PNG when given."""
    record = plan_record(ws, plan_code)
    card = card or card_from_store(ws, plan_code)
    period = record["period"]["label"]
    table = self_assessment_table(ws, card, period)
    out.mkdir(parents=True, exist_ok=True)
    stem = plan_code.replace("/", "-")
    ward = ws.organization.name
    header = DocumentHeader(
        issuing_body=ward.upper(),
        number="      /BC-UBND",
        place=ws.organization.place_name,
        date=local_today(ws),
        kind_title="BÁO CÁO",
        subject=[f"Kết quả tự đánh giá, chấm điểm Chỉ số cải cách hành chính {period}"],
    )
    recipients = ward_recipients(ws, city=True)
    files = [
        write_self_assessment_xlsx(out / f"tu-danh-gia-{stem}.xlsx", table),
        write_self_assessment_docx(
            out / f"bao-cao-tu-danh-gia-{stem}.docx",
            table,
            header,
            _signature(ws, signer_id),
            recipients,
            intro=[
                (
                    f"Thực hiện {record['title']}, Ủy ban nhân dân "
                    f"{ws.organization.name_in_text} báo cáo kết quả tự đánh giá, chấm điểm "
                    f"Chỉ số cải cách hành chính {period} như sau:"
                )
            ],
        ),
    ]
    if ranking:
        bands = ws.emulation.band_labels
        ranked = RankingTable(
            title=f"Xếp hạng thi đua CCHC {period}",
            period_label=period,
            rows=[r.to_ranking_row() for r in ranking],
            band_order=bands,
        )
        files.append(write_ranking_xlsx(out / f"xep-hang-{stem}.xlsx", ranked))
        files.append(write_ranking_png(out / f"xep-hang-{stem}.png", ranked))
    return files
