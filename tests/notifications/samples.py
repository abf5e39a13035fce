"""Sample outbox contexts, one per template, shaped exactly as ``Engine._write_outbox`` writes
them (the values are those the shipped definitions and the CCHC layer put there)."""

from __future__ import annotations

from typing import Any

SHA = "5d41402abc4b2a76b9719d911017c592" * 2


def engine_context(kind: str, kind_title: str, ref: str, trigger: str, dest: str,
                   state_label: str, actor: str, role: str | None,
                   payload: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The context the engine writes for one fired transition (at 03/11/2025 09:00 local)."""
    return {
        "kind": kind, "kind_title": kind_title, "instance_id": 7, "ref": ref,
        "trigger": trigger, "source": None if trigger == "create" else "submitted",
        "dest": dest, "state_label": state_label, "actor": actor, "role": role,
        "payload": payload, "data": data, "occurred_at": "2025-11-03T02:00:00.000000Z",
        "occurred_at_local": "03/11/2025 09:00:00",
    }  # fmt: skip


TASK_DATA = {
    "plan": "KH-2025-H2", "code": "NV-01", "title": "Rà soát thủ tục hành chính lĩnh vực đất đai",
    "expected_product": "Báo cáo rà soát", "owner_unit": "kt",
    "owner_unit_name": "Phòng Kinh tế, Hạ tầng và Đô thị", "support_units": [],
    "deadline": "2025-10-31", "deadline_text": "31/10/2025", "criteria": ["1.1.3", "1.2.1"],
}  # fmt: skip
ASSESSMENT_DATA = {
    "plan": "KH-2025-H2", "code": "1.1.3", "title": "Mức độ hoàn thành kế hoạch CCHC",
    "max_points": "2", "owner_unit": "kt", "owner_unit_name": "Phòng Kinh tế, Hạ tầng và Đô thị",
    "evidence_requirement": "Báo cáo kết quả thực hiện kế hoạch",
    "period": {"code": "2025-H2", "label": "6 tháng cuối năm 2025"},
}  # fmt: skip
EVIDENCE_DATA = {
    "plan": "KH-2025-H2", "target": "criterion:1.1.3", "target_kind": "criterion",
    "target_code": "1.1.3", "owner_unit": "kt", "sha256": SHA, "size": 52113,
    "media_type": "application/pdf", "original_name": "Báo cáo rà soát.pdf", "version": 1,
    "supersedes": None,
}  # fmt: skip
REASON = {"reason": "Thiếu chữ ký của Trưởng phòng và dấu của đơn vị"}
APPROVAL = ("approval_request", "Đề nghị phê duyệt")

SAMPLES: dict[str, dict[str, Any]] = {
    "account_invite": {"purpose": "invite", "expires_at": "2025-11-06T02:00:00.000000Z",
                       "link": "https://cchc.phulien.example/invite/3q2-7sXkP0y9fW1cT4mN8bVrLzQ"},
    "approval_submitted": engine_context(
        *APPROVAL, "REQ-2025-014", "submit", "submitted", "Đã trình, chờ xem xét",
        "lan.author", "author", {}, {"revision": 1}),
    "approval_changes_requested": engine_context(
        *APPROVAL, "REQ-2025-014", "request_changes", "changes_requested",
        "Yêu cầu chỉnh sửa", "minh.reviewer", "reviewer", REASON, {"revision": 1}),
    "approval_decided": engine_context(
        *APPROVAL, "REQ-2025-014", "reject", "rejected", "Không chấp thuận", "minh.reviewer",
        "reviewer", REASON, {"revision": 2}),
    "assessment_opened": engine_context(
        "assessment", "Tự đánh giá tiêu chí thành phần", "KH-2025-H2/TC-1.1.3", "create", "open",
        "Đang mở", "nguyen.thi.lan", "focal_official", {}, ASSESSMENT_DATA),
    "assessment_returned": engine_context(
        "assessment", "Tự đánh giá tiêu chí thành phần", "KH-2025-H2/TC-1.1.3", "return_score",
        "returned", "Trả lại để chấm lại", "pham.quoc.khanh", "unit_head", REASON,
        ASSESSMENT_DATA),
    "evidence_decided": engine_context(
        "evidence", "Tài liệu kiểm chứng", f"KH-2025-H2/criterion:1.1.3/{SHA[:16]}",
        "request_changes", "changes_requested", "Yêu cầu bổ sung, chỉnh sửa", "nguyen.thi.lan",
        "focal_official", {**REASON, "sha256": SHA}, EVIDENCE_DATA),
    "plan_issued": engine_context(
        "plan", "Kế hoạch cải cách hành chính", "KH-2025-H2", "issue", "issued", "Đã ban hành",
        "nguyen.thi.lan", "focal_official",
        {"decision_number": "337/QĐ-UBND", "decision_date": "29/07/2025"},
        {"title": "Kế hoạch cải cách hành chính 6 tháng cuối năm 2025", "tasks": 12,
         "index_set": "par-2025-ward-sample",
         "period": {"code": "2025-H2", "label": "6 tháng cuối năm 2025"}}),
    "ranking_published": engine_context(
        "ranking", "Xếp hạng thi đua CCHC", "XH-2025-H2", "publish", "published", "Đã công bố",
        "dang.van.thang", "chairman", {}, {"plan": "KH-2025-H2",
                                           "period_label": "6 tháng cuối năm 2025"}),
    "task_assigned": engine_context(
        "task", "Nhiệm vụ kế hoạch CCHC", "KH-2025-H2/NV-01", "create", "assigned", "Đã giao",
        "nguyen.thi.lan", "focal_official", {}, TASK_DATA),
    "task_overdue": engine_context(
        "task", "Nhiệm vụ kế hoạch CCHC", "KH-2025-H2/NV-01", "mark_overdue", "overdue",
        "Quá hạn", "tran.van.minh", "admin", {}, TASK_DATA),
    "deadline_reminder": engine_context(
        "approval_request", "Đề nghị phê duyệt", "BC-CCHC-10", "notify:deadline_reminder",
        "submitted", "Đã trình, chờ xem xét", "tran.van.minh", "",
        {"due": "2026-02-27T10:00:00+00:00"}, {"title": "Báo cáo CCHC tháng 10"}),
    "deadline_escalated": engine_context(
        "approval_request", "Đề nghị phê duyệt", "BC-CCHC-10", "notify:deadline_escalated",
        "submitted", "Đã trình, chờ xem xét", "tran.van.minh", "",
        {"level": 1, "due": "2026-02-27T10:00:00+00:00"}, {"title": "Báo cáo CCHC tháng 10"}),
    "task_reminder": engine_context(
        "task", "Nhiệm vụ kế hoạch CCHC", "KH-2025-H2/NV-01", "notify:task_reminder",
        "in_progress", "Đang thực hiện", "tran.van.minh", "", {"working_days_left": 3},
        TASK_DATA),
    "task_escalated": engine_context(
        "task", "Nhiệm vụ kế hoạch CCHC", "KH-2025-H2/NV-01", "notify:task_escalated",
        "overdue", "Quá hạn", "tran.van.minh", "", {"level": 1}, TASK_DATA),
    "task_returned": engine_context(
        "task", "Nhiệm vụ kế hoạch CCHC", "KH-2025-H2/NV-01", "return_product", "returned",
        "Trả lại để hoàn thiện", "nguyen.thi.lan", "focal_official", REASON, TASK_DATA),
    "meeting_notice_issued": engine_context(
        "meeting", "Họp giao ban CCHC", "GB-2025-11", "issue_notice", "notice_issued",
        "Đã ban hành thông báo kết luận", "dang.van.thang", "chairman",
        {"notice_number": "215/TB-UBND"}, {"month_label": "tháng 11 năm 2025"}),
    "daily_digest": {
        "day": "2025-11-03", "due_within_days": 7,
        "checkpoint": "Điểm neo nhật ký đã ký số (Ed25519) lúc 03/11/2025 07:00:00: số thứ tự "
                      "đầu chuỗi 1.204, mã băm đầu chuỗi 9f2c4a1b7e3d5f60…, 1.204 sự kiện, 275 "
                      "hồ sơ; dấu vân tay khóa ký SHA256:c54b1f0e9a7d2b3c…",
        "notifications": [
            {"time": "09:00", "subject": "[CCHC] Giao nhiệm vụ KH-2025-H2/NV-01: Rà soát thủ tục",
             "status_label": "đã gửi"},
            {"time": "14:30", "subject": "[CCHC] Tiêu chí 1.1.3: đề nghị chấm lại",
             "status_label": "chờ gửi"},
        ],
        "due_tasks": [
            {"ref": "KH-2025-H2/NV-01", "title": "Rà soát thủ tục hành chính lĩnh vực đất đai",
             "deadline_text": "31/10/2025", "working_days_left": -1,
             "status_text": "trễ 1 ngày làm việc"},
            {"ref": "KH-2025-H2/NV-04", "title": "Cập nhật dịch vụ công trực tuyến",
             "deadline_text": "07/11/2025", "working_days_left": 4,
             "status_text": "còn 4 ngày làm việc"},
        ],
    },
}  # fmt: skip
"""Template name → a realistic context (a new template needs its sample here)."""
