"""Sample inputs for the report writers: a small index set, a report header, a ranking."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cchc.reports.model import (
    AssessmentRow,
    DocumentHeader,
    RankingRow,
    RankingTable,
    SelfAssessmentTable,
    Signature,
)

VHXH = "Phòng Văn hóa - Xã hội"
OFFICE = "Văn phòng HĐND và UBND phường"
CENTRE = "Trung tâm Phục vụ hành chính công"


@pytest.fixture
def assessment() -> SelfAssessmentTable:
    """Two areas and a bonus area: base 18 points, 13,65 scored, +0,50 bonus → 78,61%."""
    rows = [
        AssessmentRow(
            level="area",
            code="1",
            title="Công tác chỉ đạo, điều hành CCHC",
            max_points=Decimal(10),
        ),
        AssessmentRow(
            level="criterion", code="1.1", title="Kế hoạch CCHC năm", max_points=Decimal(4)
        ),
        AssessmentRow(
            level="sub",
            code="1.1.1",
            title="Ban hành kế hoạch CCHC đúng thời hạn",
            max_points=Decimal(1),
            self_score=Decimal(1),
            evidence=["Quyết định số 248/QĐ-UBND ngày 31/7/2025"],
            owner_unit=VHXH,
        ),
        AssessmentRow(
            level="sub",
            code="1.1.2",
            title="Xác định đầy đủ nhiệm vụ, sản phẩm, đơn vị chủ trì",
            max_points=Decimal("1.5"),
            self_score=Decimal("1.5"),
            evidence=["Kế hoạch kèm theo Quyết định số 248/QĐ-UBND"],
            owner_unit=VHXH,
        ),
        AssessmentRow(
            level="sub",
            code="1.1.3",
            title="Mức độ hoàn thành kế hoạch CCHC",
            max_points=Decimal("1.5"),
            self_score=Decimal("0.75"),
            evidence=["Báo cáo kết quả thực hiện kế hoạch", "Danh mục sản phẩm nhiệm vụ"],
            explanation="Hoàn thành 18/22 nhiệm vụ (81,8%) đúng hạn",
            owner_unit=VHXH,
        ),
        AssessmentRow(level="criterion", code="1.2", title="Báo cáo CCHC", max_points=Decimal(2)),
        AssessmentRow(
            level="sub",
            code="1.2.1",
            title="Báo cáo định kỳ đầy đủ",
            max_points=Decimal(1),
            self_score=Decimal(1),
            evidence=["Báo cáo quý III/2025"],
            owner_unit=VHXH,
        ),
        AssessmentRow(
            level="sub",
            code="1.2.2",
            title="Báo cáo đúng thời hạn",
            max_points=Decimal(1),
            self_score=Decimal("0.5"),
            explanation="Một báo cáo gửi chậm 2 ngày",
            owner_unit=OFFICE,
        ),
        AssessmentRow(
            level="criterion",
            code="1.3",
            title="Kiểm tra công tác CCHC",
            max_points=Decimal(4),
            self_score=Decimal(4),
            evidence=["Kế hoạch kiểm tra", "Báo cáo kết quả kiểm tra"],
            owner_unit=VHXH,
        ),
        AssessmentRow(
            level="area", code="3", title="Cải cách thủ tục hành chính", max_points=Decimal(8)
        ),
        AssessmentRow(
            level="criterion",
            code="3.1",
            title="Giải quyết thủ tục hành chính",
            max_points=Decimal(8),
        ),
        AssessmentRow(
            level="sub",
            code="3.1.1",
            title="Tỷ lệ hồ sơ giải quyết đúng hạn",
            max_points=Decimal(5),
            self_score=Decimal("4.9"),
            evidence=["Số liệu Hệ thống thông tin giải quyết TTHC"],
            owner_unit=CENTRE,
        ),
        AssessmentRow(
            level="sub",
            code="3.1.2",
            title="Tỷ lệ thanh toán trực tuyến",
            max_points=Decimal(3),
            owner_unit=CENTRE,
        ),
        AssessmentRow(
            level="area",
            code="T",
            title="Điểm thưởng, điểm trừ",
            max_points=Decimal(2),
            bonus_penalty=True,
        ),
        AssessmentRow(
            level="sub",
            code="T.1",
            title="Sáng kiến CCHC được công nhận",
            max_points=Decimal(1),
            self_score=Decimal(1),
            evidence=["Quyết định công nhận sáng kiến"],
            owner_unit=VHXH,
        ),
        AssessmentRow(
            level="sub",
            code="T.2",
            title="Chậm báo cáo theo yêu cầu của thành phố",
            max_points=Decimal(0),
            self_score=Decimal("-0.5"),
            owner_unit=OFFICE,
        ),
    ]
    return SelfAssessmentTable(
        ward_name="Phường Phù Liễn",
        period_label="năm 2025",
        index_set_title=(
            "Quyết định số 3665/QĐ-UBND ngày 09/9/2025 của Ủy ban nhân dân thành phố Hải Phòng"
        ),
        rows=rows,
    )


@pytest.fixture
def header() -> DocumentHeader:
    """The report's header: Phường Phù Liễn, number 12/BC-UBND, 05/12/2025."""
    return DocumentHeader(
        number="12/BC-UBND",
        date=date(2025, 12, 5),
        subject=["Kết quả tự đánh giá, chấm điểm Chỉ số CCHC năm 2025"],
    )


@pytest.fixture
def signature() -> Signature:
    """A Vice-Chairman signing for the Committee."""
    return Signature(name="Trần Quang Hưng")


@pytest.fixture
def recipients() -> list[str]:
    """As in the ward's letters."""
    return ["- Như trên;", "- Sở Nội vụ (Phòng CCHC&PC);", "- Lưu: VT, VH-XH."]


@pytest.fixture
def ranking() -> RankingTable:
    """Five units in three bands."""

    def row(
        rank: int,
        unit: str,
        score: str,
        band: str,
        *,
        on_time_share: Decimal | None = Decimal("0.95"),
        points_lost: str = "0.5",
        overdue: int = 1,
        explanation: str = "",
    ) -> RankingRow:
        return RankingRow(
            rank=rank,
            unit_name=unit,
            score=Decimal(score),
            band=band,
            on_time_share=on_time_share,
            first_review_share=Decimal("0.8"),
            points_lost=Decimal(points_lost),
            overdue=overdue,
            explanation=explanation,
        )

    return RankingTable(
        title="Xếp hạng thi đua CCHC 6 tháng cuối năm 2025",
        period_label="6 tháng cuối năm 2025",
        band_order=["Hoàn thành xuất sắc", "Hoàn thành tốt", "Hoàn thành", "Không hoàn thành"],
        rows=[
            row(1, CENTRE, "96.5", "Hoàn thành xuất sắc", on_time_share=Decimal(1), overdue=0),
            row(2, VHXH, "92.25", "Hoàn thành xuất sắc", explanation="Đủ minh chứng, đúng hạn"),
            row(3, "Phòng Kinh tế, Hạ tầng và Đô thị", "84", "Hoàn thành tốt"),
            row(4, OFFICE, "80.1", "Hoàn thành tốt", on_time_share=None),
            row(
                5,
                "Trung tâm sự nghiệp công",
                "68.75",
                "Hoàn thành",
                points_lost="3.25",
                overdue=4,
                explanation="4 việc quá hạn; 2 minh chứng bị trả lại",
            ),
        ],
    )
