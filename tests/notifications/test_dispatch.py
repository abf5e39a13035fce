"""Dispatch: every recipient gets each notification once, retried with backoff, after a crash
too, through the Maildir, a real SMTP server on loopback and a local webhook."""

from __future__ import annotations

import json
import mailbox
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from cchc.organization.model import Organization, load_organization
from cchc.plan.issue import issue_plan
from notifications.channels import (
    DeliveryError,
    Envelope,
    MaildirChannel,
    SmtpChannel,
    WebhookChannel,
)
from notifications.dispatch import Backoff, DispatchReport, dispatch
from notifications.tables import DeliveryAttempt, NotificationDelivery
from tests.conftest import Clock, Db
from tests.helpers import count
from tests.notifications.conftest import (
    CRITERIA,
    EXPECTED,
    EXPECTED_TOTAL,
    PLAN,
    ROLES,
    ROOT,
    SmtpServer,
    WebhookServer,
)
from workflows.database import unit_of_work
from workflows.engine import Engine
from workflows.registry import Actor
from workflows.schema import OutboxMessage


class Recorder:
    """A channel that keeps what it is given (thread-safe), optionally slowly or failing."""

    name = "recorder"

    def __init__(self, delay: float = 0.0, fail: DeliveryError | None = None) -> None:
        self.delay = delay
        self.fail = fail
        self.sent: list[Envelope] = []
        self.lock = threading.Lock()

    def send(self, envelope: Envelope) -> None:
        time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.sent.append(envelope)


class Crash(BaseException):
    """The process dies (not an Exception: nothing in dispatch may catch it)."""


class CrashAfterSending(Recorder):
    """Hands the first message over, then the process dies before recording it."""

    def send(self, envelope: Envelope) -> None:
        super().send(envelope)
        raise Crash


def statuses(db: Db, table: type[OutboxMessage] | type[NotificationDelivery]) -> Counter[str]:
    with db.sessions() as session:
        return Counter(session.scalars(sa.select(table.status)))


def per_recipient(envelopes: list[Envelope]) -> dict[str, int]:
    return dict(Counter(e.recipient_id for e in envelopes))


def test_maildir_dispatch_delivers_each_notification_once(
    issued: Db, org: Organization, clock: Clock, tmp_path: Path
) -> None:
    """Every recipient's Maildir gets their notifications; a second run sends nothing."""
    channel = MaildirChannel(tmp_path / "mail", per_recipient=True)
    report = dispatch(issued.sessions, org, channel, clock.now)
    assert report == DispatchReport(sent=EXPECTED_TOTAL)
    delivered = {
        p.name: len(mailbox.Maildir(p, create=False)) for p in (tmp_path / "mail").iterdir()
    }
    assert delivered == EXPECTED
    assert statuses(issued, OutboxMessage) == {"sent": 6}
    assert statuses(issued, NotificationDelivery) == {"sent": EXPECTED_TOTAL}
    assert (
        count(issued, "delivery_attempts", "outcome = 'sent' and error is null") == EXPECTED_TOTAL
    )

    again = dispatch(issued.sessions, org, channel, clock.advance(hours=2))
    assert again == DispatchReport()
    assert sum(len(mailbox.Maildir(p, create=False)) for p in (tmp_path / "mail").iterdir()) == (
        EXPECTED_TOTAL
    )


def test_smtp_down_then_up_delivers_all_exactly_once(
    issued: Db, org: Organization, clock: Clock, smtp_server: SmtpServer
) -> None:
    """Server down: transient failures, retries scheduled; back up: everything arrives once."""
    channel = SmtpChannel("127.0.0.1", smtp_server.port, "CCHC <cchc@phulien.example>", timeout=5)
    first = dispatch(issued.sessions, org, channel, clock.now)
    assert first == DispatchReport(retried=EXPECTED_TOTAL)
    with issued.sessions() as session:
        deliveries = session.scalars(sa.select(NotificationDelivery)).all()
        attempts = session.scalars(sa.select(DeliveryAttempt)).all()
    assert {(d.status, d.attempts) for d in deliveries} == {("pending", 1)}
    assert {d.next_attempt_at.replace(tzinfo=None) for d in deliveries if d.next_attempt_at} == {
        (clock.now + timedelta(seconds=30)).replace(tzinfo=None)
    }
    assert len(attempts) == EXPECTED_TOTAL
    assert all(a.outcome == "transient" and "unreachable" in (a.error or "") for a in attempts)
    assert statuses(issued, OutboxMessage) == {"queued": 6}

    # Not due yet: nothing is tried before the backoff has passed.
    assert dispatch(issued.sessions, org, channel, clock.advance(seconds=10)) == DispatchReport()

    smtp_server.start()
    second = dispatch(issued.sessions, org, channel, clock.advance(seconds=25))
    assert second == DispatchReport(sent=EXPECTED_TOTAL)
    assert dispatch(issued.sessions, org, channel, clock.advance(minutes=5)) == DispatchReport()

    received = smtp_server.received
    rcpt = Counter(addr for r in received for addr in r.rcpt_tos)
    assert rcpt == Counter({f"{person}@phulien.example": n for person, n in EXPECTED.items()})
    assert len({r.message["Message-ID"] for r in received}) == EXPECTED_TOTAL
    subjects = Counter(str(r.message["Subject"]) for r in received)
    assert subjects["[CCHC] Ban hành kế hoạch cải cách hành chính KH-2025-H2"] == 5
    khanh = [r.message for r in received if r.rcpt_tos == ["pham.quoc.khanh@phulien.example"]]
    task = next(m for m in khanh if "NV-01" in str(m["Subject"]))
    body = task.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert text.startswith("Kính gửi Ông/Bà Phạm Quốc Khánh – Trưởng phòng Kinh tế, Hạ tầng")
    assert "Rà soát thủ tục hành chính lĩnh vực đất đai" in text
    assert statuses(issued, OutboxMessage) == {"sent": 6}
    assert count(issued, "delivery_attempts") == 2 * EXPECTED_TOTAL


def test_concurrent_dispatchers_never_send_twice(
    issued: Db, org: Organization, clock: Clock
) -> None:
    """Four dispatchers at once (threads, slow channel): each notification goes out once."""
    channel = Recorder(delay=0.02)
    reports: list[DispatchReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(dispatch(issued.sessions, org, channel, clock.now, batch=5))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    for _ in range(3):  # three rounds of four racing dispatchers drain batches of 5
        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert sum(r.sent for r in reports) == EXPECTED_TOTAL
    assert per_recipient(channel.sent) == EXPECTED
    assert len({e.dedupe_key for e in channel.sent}) == EXPECTED_TOTAL
    assert statuses(issued, OutboxMessage) == {"sent": 6}


def test_a_crash_loses_nothing_and_the_lease_bounds_the_duplicate(
    issued: Db, org: Organization, clock: Clock
) -> None:
    """Dying after a send leaves claimed rows 'sending'; after the lease they are all sent."""
    crashing = CrashAfterSending()
    with pytest.raises(Crash):
        dispatch(issued.sessions, org, crashing, clock.now, lease=timedelta(minutes=10))
    assert len(crashing.sent) == 1
    assert statuses(issued, NotificationDelivery) == {"sending": EXPECTED_TOTAL}

    restarted = Recorder()
    assert dispatch(issued.sessions, org, restarted, clock.advance(minutes=5)) == DispatchReport()
    report = dispatch(issued.sessions, org, restarted, clock.advance(minutes=6))
    assert report == DispatchReport(sent=EXPECTED_TOTAL)
    # The one message handed over before the crash goes out again, with the same dedupe key.
    assert crashing.sent[0].dedupe_key in {e.dedupe_key for e in restarted.sent}
    assert per_recipient(restarted.sent) == EXPECTED
    assert count(issued, "delivery_attempts", "outcome = 'interrupted'") == EXPECTED_TOTAL
    assert count(issued, "delivery_attempts", "outcome = 'sent'") == EXPECTED_TOTAL
    assert statuses(issued, OutboxMessage) == {"sent": 6}


def test_backoff_doubles_and_gives_up_after_max_attempts(
    issued: Db, org: Organization, clock: Clock
) -> None:
    """Transient failures wait 30 s, 60 s …; after max_attempts the outbox row is failed."""
    assert [Backoff().delay(n).total_seconds() for n in (1, 2, 3, 7, 8, 50)] == [
        30,
        60,
        120,
        1920,
        3600,
        3600,
    ]
    failing = Recorder(fail=DeliveryError("mailbox busy", transient=True))
    reports = [dispatch(issued.sessions, org, failing, clock.now, max_attempts=3)]
    reports.extend(
        dispatch(issued.sessions, org, failing, clock.advance(seconds=wait), max_attempts=3)
        for wait in (30, 60)
    )
    assert reports == [DispatchReport(retried=EXPECTED_TOTAL)] * 2 + [
        DispatchReport(failed=EXPECTED_TOTAL)
    ]
    assert statuses(issued, OutboxMessage) == {"failed": 6}
    assert count(issued, "delivery_attempts", "outcome = 'transient'") == 3 * EXPECTED_TOTAL
    with issued.sessions() as session:
        outbox = session.scalars(sa.select(OutboxMessage)).all()
    assert {o.attempts for o in outbox} == {3}
    assert dispatch(issued.sessions, org, failing, clock.advance(hours=5)) == DispatchReport()


def test_a_template_missing_a_variable_fails_the_delivery_for_good(
    issued: Db, org: Organization, clock: Clock
) -> None:
    """An outbox context lacking what its template reads is a permanent failure, recorded."""
    with unit_of_work(issued.sessions) as session:
        row = session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.template == "plan_issued")
        ).one()
        context = json.loads(row.context)
        del context["payload"]["decision_number"]
        row.context = json.dumps(context, ensure_ascii=False)
    report = dispatch(issued.sessions, org, Recorder(), clock.now)
    assert report == DispatchReport(sent=EXPECTED_TOTAL - 5, failed=5)
    assert statuses(issued, OutboxMessage) == {"sent": 5, "failed": 1}
    with issued.sessions() as session:
        errors = set(
            session.scalars(
                sa.select(DeliveryAttempt.error).where(DeliveryAttempt.outcome == "permanent")
            )
        )
    assert errors == {
        (
            "template plan_issued.txt.j2, line 5: missing variable: "
            "payload.decision_number — 'decision_number' (present: decision_date)"
        )
    }


def test_a_role_nobody_holds_is_skipped(
    db: Db, engine: Engine, org: Organization, clock: Clock
) -> None:
    """The generic approval request notifies 'reviewer': nobody in the ward holds it."""
    author = Actor.of("lan.author", "author", tenant=org.tenant)
    with unit_of_work(db.sessions) as session:
        created = engine.create(session, "approval_request", actor=author, ref="REQ-1", data={})
        engine.fire(session, created.instance_id, "submit", actor=author)
    assert dispatch(db.sessions, org, Recorder(), clock.now) == DispatchReport(skipped=1)
    assert statuses(db, OutboxMessage) == {"skipped": 1}


def test_webhook_200_500_400(
    issued: Db, org: Organization, clock: Clock, webhook: WebhookServer
) -> None:
    """Against a local HTTP server: 500 is retried, then 200 delivers; 400 fails for good."""
    channel = WebhookChannel(webhook.url, timeout=5)
    webhook.status = 500
    assert dispatch(issued.sessions, org, channel, clock.now, batch=4) == DispatchReport(retried=4)
    webhook.status = 400
    assert dispatch(issued.sessions, org, channel, clock.now, batch=3) == DispatchReport(failed=3)
    webhook.status = 200
    rest = EXPECTED_TOTAL - 3
    assert dispatch(issued.sessions, org, channel, clock.advance(seconds=30)) == DispatchReport(
        sent=rest
    )
    assert len(webhook.requests) == 4 + 3 + rest
    keys = [h.headers["Idempotency-Key"] for h in webhook.requests[7:]]
    assert len(set(keys)) == rest
    assert all(h.body["dedupe_key"] == h.headers["Idempotency-Key"] for h in webhook.requests)
    assert statuses(issued, NotificationDelivery) == {"sent": rest, "failed": 3}
    with issued.sessions() as session:
        errors = session.scalars(
            sa.select(DeliveryAttempt.error).where(DeliveryAttempt.outcome == "permanent")
        ).all()
    assert errors == ["webhook answered HTTP 400: status 400"] * 3


def test_a_communes_mail_names_it_a_xa(db: Db, engine: Engine, clock: Clock) -> None:
    """Dispatching Xã Tiên Lãng's notifications (plan issued, a task overdue) gives the
    templates the ward's name and kind: "Ủy ban nhân dân xã Tiên Lãng", "điểm của xã"."""
    tien_lang = load_organization(ROOT / "definitions" / "organizations" / "tien-lang.yaml", ROLES)
    plan = PLAN.model_copy(update={"tenant": tien_lang.tenant})
    with unit_of_work(db.sessions) as session:
        issue_plan(
            session,
            engine,
            plan,
            CRITERIA,
            tien_lang.actor("hoang.van.phuc"),
            {u.code: u.name for u in tien_lang.units},
        )
        task = session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.template == "task_assigned")
        ).first()
        assert task is not None
        admin = tien_lang.actor("ong.thi.thuy")
        engine.fire(session, task.instance_id, "mark_overdue", actor=admin)
    channel = Recorder()
    assert dispatch(db.sessions, tien_lang, channel, clock.now).failed == 0
    texts = {(e.template, e.text) for e in channel.sent}
    assert any(
        t == "plan_issued" and "Ủy ban nhân dân xã Tiên Lãng đã ban hành" in x for t, x in texts
    )
    assert any(t == "task_overdue" and "làm giảm điểm của xã;" in x for t, x in texts)
    assert not [x for _, x in texts if "phường" in x.lower()]
