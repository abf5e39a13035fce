"""The daily digest: one Vietnamese message per person with the day's notifications and the
unit's tasks that are due; sent once per person and day."""

from __future__ import annotations

import json
import mailbox
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cchc.cli import app
from cchc.commands import cycle_common
from cchc.organization.model import Organization
from cchc.plan.digest_tasks import UnitTasks
from notifications.channels import DeliveryError, MaildirChannel
from notifications.digest import daily_digest, day_bounds, send_daily_digests
from notifications.dispatch import DispatchReport, dispatch
from notifications.render import Rendered
from notifications.tables import NotificationDelivery
from tests.conftest import Clock, Db
from tests.notifications.conftest import EXPECTED
from tests.notifications.test_dispatch import Recorder
from workflows.database import unit_of_work
from workflows.engine import Engine
from workflows.schema import Instance

DAY = date(2025, 11, 3)
TASKS = UnitTasks()
"""The open plan tasks digests list (the project's calendar)."""


def test_day_bounds_are_local_days() -> None:
    """A local day starts at 17:00 UTC the evening before."""
    start, end = day_bounds(DAY)
    assert start.isoformat() == "2025-11-02T17:00:00+00:00"
    assert end.isoformat() == "2025-11-03T17:00:00+00:00"


def test_digest_lists_the_days_notifications_and_due_tasks(
    issued: Db, org: Organization, clock: Clock
) -> None:
    """The head of Phòng Kinh tế sees four notifications (pending, then sent) and NV-01 late by
    one working day (due Friday 31/10, the digest of Monday 03/11)."""
    with issued.sessions() as session:
        before = daily_digest(session, org, "pham.quoc.khanh", DAY, tasks=TASKS)
    assert before is not None
    assert before.subject == "[CCHC] Tổng hợp ngày 03/11/2025: 4 thông báo, 1 nhiệm vụ cần chú ý"
    assert before.text.startswith("Kính gửi Ông/Bà Phạm Quốc Khánh – Trưởng phòng Kinh tế")
    assert (
        "Phường Phù Liễn gửi Ông/Bà tổng hợp công việc cải cách hành chính ngày 03 tháng 11 "
        "năm 2025."
    ) in before.text
    lines = [line.strip() for line in before.text.splitlines() if line.startswith("  - ")]
    assert lines == [
        "- 09:00 [CCHC] Ban hành kế hoạch cải cách hành chính KH-2025-H2 (chờ gửi)",
        (
            "- 09:00 [CCHC] Giao nhiệm vụ KH-2025-H2/NV-01: Rà soát thủ tục hành chính lĩnh vực "
            "đất đai (chờ gửi)"
        ),
        "- 09:00 [CCHC] Tự đánh giá tiêu chí 1.1.3 (chờ gửi)",
        "- 09:00 [CCHC] Tự đánh giá tiêu chí 1.2.1 (chờ gửi)",
        (
            "- KH-2025-H2/NV-01: Rà soát thủ tục hành chính lĩnh vực đất đai, hạn 31/10/2025 "
            "(trễ 1 ngày làm việc)"
        ),
    ]
    assert before.html is not None
    assert "trễ 1 ngày làm việc" in before.html

    dispatch(issued.sessions, org, Recorder(), clock.now)
    with issued.sessions() as session:
        after = daily_digest(session, org, "pham.quoc.khanh", DAY, tasks=TASKS)
    assert after is not None
    assert after.text.count("(đã gửi)") == 4


def test_no_digest_when_nothing_concerns_the_person(issued: Db, org: Organization) -> None:
    """The Chairman received nothing that day and has no unit: no digest."""
    with issued.sessions() as session:
        assert daily_digest(session, org, "dang.van.thang", DAY, tasks=TASKS) is None
        assert (
            daily_digest(session, org, "pham.quoc.khanh", date(2025, 11, 4), tasks=TASKS)
            is not None
        )
        # NV-02 (due 30/11) is beyond the horizon on the 4th; the only due task is NV-01.
        nothing = daily_digest(session, org, "ta.minh.quan", date(2025, 11, 4), tasks=TASKS)
    assert nothing is None


def test_the_chairman_and_the_inspector_receive_the_signed_checkpoint(
    issued: Db, org: Organization
) -> None:
    """The checkpoint sentence reaches the Chairman and the inspector, not a unit official."""
    sentence = "Điểm neo nhật ký đã ký số (Ed25519) lúc 06/11/2025 07:00:00: số thứ tự đầu chuỗi 42"
    with issued.sessions() as session:
        chairman = daily_digest(
            session, org, "dang.van.thang", DAY, tasks=TASKS, checkpoint=sentence
        )
        inspector = daily_digest(session, org, "cu.van.son", DAY, tasks=TASKS, checkpoint=sentence)
        official = daily_digest(
            session, org, "pham.quoc.khanh", DAY, tasks=TASKS, checkpoint=sentence
        )
    for digest in (chairman, inspector):
        assert digest is not None
        assert sentence in digest.text
        assert sentence in (digest.html or "")
    assert official is not None
    assert "Điểm neo" not in official.text


def due_lines(digest: Rendered | None) -> list[str]:
    """The digest's lines about due tasks (``- REF: title, hạn …``)."""
    assert digest is not None
    return [line.strip() for line in digest.text.splitlines() if line.startswith("  - KH-")]


def test_a_task_whose_product_is_submitted_is_not_due(
    issued: Db, org: Organization, engine: Engine
) -> None:
    """Submitting the product completes the task (cchc.plan.lateness): the digest no longer lists
    NV-01 although its acceptance is pending."""
    with unit_of_work(issued.sessions) as session:
        task = session.scalars(
            sa.select(Instance).where(Instance.kind == "task", Instance.ref.endswith("NV-01"))
        ).one()
        engine.fire(
            session,
            task.id,
            "submit_product",
            actor=org.actor("ngo.thi.ha"),
            payload={"product": "Báo cáo số 12/BC-UBND"},
        )
    with issued.sessions() as session:
        digest = daily_digest(session, org, "pham.quoc.khanh", DAY, tasks=TASKS)
    assert digest is not None
    assert digest.subject.endswith(", 0 nhiệm vụ cần chú ý")
    assert due_lines(digest) == []


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (date(2025, 11, 26), "còn 3 ngày làm việc"),  # Wed: Thu, Fri, then Monday 01/12
        (date(2025, 11, 28), "còn 1 ngày làm việc"),
        (date(2025, 11, 30), "còn 1 ngày làm việc"),  # the deadline itself, a Sunday
        (date(2025, 12, 1), "đến hạn hôm nay"),  # due on the next working day (art. 148(5))
        (date(2025, 12, 2), "trễ 1 ngày làm việc"),
        (date(2025, 12, 8), "trễ 5 ngày làm việc"),
    ],
)
def test_days_left_and_late_are_working_days_from_the_due_day(
    issued: Db, org: Organization, day: date, status: str
) -> None:
    """NV-02's deadline, Sunday 30/11/2025, moves to Monday 01/12: the digest counts working
    days to and after that due day, worded like `cchc tasks list`."""
    with issued.sessions() as session:
        digest = daily_digest(session, org, "ta.minh.quan", day, tasks=TASKS)
    assert due_lines(digest) == [
        (
            "- KH-2025-H2/NV-02: Số hóa hồ sơ tại Trung tâm Phục vụ hành chính công, hạn "
            f"30/11/2025 ({status})"
        )
    ]


def test_digests_are_sent_once_per_person_and_day(
    issued: Db, org: Organization, clock: Clock, tmp_path: Path
) -> None:
    """Everyone with something gets one digest; running again the same day sends nothing."""
    channel = MaildirChannel(tmp_path / "digests", per_recipient=True)
    report = send_daily_digests(issued.sessions, org, channel, DAY, clock.now, tasks=TASKS)
    assert report == DispatchReport(sent=len(EXPECTED))
    again = send_daily_digests(
        issued.sessions, org, channel, DAY, clock.advance(hours=1), tasks=TASKS
    )
    assert again == DispatchReport()
    boxes = {
        p.name: len(mailbox.Maildir(p, create=False)) for p in (tmp_path / "digests").iterdir()
    }
    assert boxes == dict.fromkeys(EXPECTED, 1)
    # Digests do not disturb the outbox: its notifications are still all to be dispatched.
    assert dispatch(issued.sessions, org, channel, clock.now).sent == sum(EXPECTED.values())


def test_notify_send_retries_the_digests_left_waiting(
    issued: Db, org: Organization, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Digests whose sending failed are delivered by the next day's `cchc notify send`."""
    down = Recorder(fail=DeliveryError("SMTP server down", transient=True))
    assert send_daily_digests(
        issued.sessions, org, down, DAY, clock.now, tasks=TASKS
    ).retried == len(EXPECTED)
    monkeypatch.setattr(cycle_common, "CLOCK", lambda: clock.now + timedelta(days=1))
    monkeypatch.setenv("CCHC_NOTIFY_CHANNEL", "maildir")
    monkeypatch.setenv("CCHC_MAILDIR", str(tmp_path / "mail"))
    env = {"CCHC_DATABASE_URL": issued.url, "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}
    result = CliRunner().invoke(
        app,
        ["--data-dir", str(tmp_path), "notify", "send", "--as", "tran.van.minh", "--json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["digests"] == len(EXPECTED)
    box = mailbox.Maildir(tmp_path / "mail", create=False)
    subjects = [
        str(message_from_bytes(box.get_bytes(k), policy=policy.default)["Subject"])
        for k in box.iterkeys()
    ]
    digests = [s for s in subjects if s.startswith("[CCHC] Tổng hợp ngày 03/11/2025")]
    assert len(digests) == len(EXPECTED)
    with issued.sessions() as session:
        waiting = session.scalar(
            sa.select(sa.func.count()).where(
                NotificationDelivery.outbox_id.is_(None), NotificationDelivery.status != "sent"
            )
        )
    assert waiting == 0
