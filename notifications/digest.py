"""The daily digest: one Vietnamese message per person with what concerns them that day.

It lists the notifications addressed to the person during the (Asia/Ho_Chi_Minh) day, sent or
not yet, and the person's open work that is late or due within ``due_within_days`` working
days, as the application gives it (``DueTasks``; CCHC's: a unit's plan tasks,
``cchc.plan.digest_tasks``). Nothing to say: no digest (``None``).

``send_daily_digests`` delivers them through a channel with the same guarantees as
``dispatch``: the dedupe key ``digest:{tenant}:{day}:{person}`` is recorded in
``notification_deliveries`` (without an outbox row), so running it again the same day sends
nothing twice and retries what failed once the backoff has passed. ``retry_digests`` retries
the digests of earlier days that still wait (``cchc notify send`` and the sweep call it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from notifications.channels import Channel
from notifications.dispatch import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    Backoff,
    Claim,
    DispatchReport,
    finish_attempt,
    send_rendered,
    start_attempt,
)
from notifications.recipients import Organization, Person, resolve_recipients
from notifications.render import (
    LOCAL_TZ,
    Rendered,
    Renderer,
    RenderError,
    default_renderer,
)
from notifications.tables import NotificationDelivery
from workflows.canonical import utc
from workflows.database import unit_of_work
from workflows.schema import OutboxMessage

TEMPLATE = "daily_digest"

STATUS_LABELS = {
    "sent": "đã gửi",
    "failed": "gửi không thành công",
    "skipped": "không có người nhận",
}
"""Vietnamese label of a delivery status; anything else reads ``chờ gửi``."""


@dataclass(frozen=True)
class DigestItem:
    """A notification of the day, as the digest lists it."""

    time: str
    subject: str
    status_label: str


@dataclass(frozen=True)
class DueTask:
    """An open task of the person's unit, due soon or late."""

    ref: str
    title: str
    deadline_text: str
    working_days_left: int
    """Working days from the digest's day to the due day; minus the working days late."""
    status_text: str
    """``còn 2 ngày làm việc``, ``đến hạn hôm nay`` or ``trễ 3 ngày làm việc``."""


class DueTasks(Protocol):
    """The application's open work of a person that the digest lists: due within ``within``
    working days of ``day``, or late (e.g. a unit's plan tasks), soonest first."""

    def __call__(
        self, session: Session, tenant: str, person: Person, day: date, within: int
    ) -> list[DueTask]: ...


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where the local (Asia/Ho_Chi_Minh) ``day`` starts and ends."""
    start = datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)
    return start, start + timedelta(days=1)


def daily_digest(
    session: Session,
    org: Organization,
    person_id: str,
    day: date,
    *,
    due_within_days: int = 7,
    renderer: Renderer | None = None,
    tasks: DueTasks | None = None,
    checkpoint: str | None = None,
) -> Rendered | None:
    """The digest of ``person_id`` for ``day``, or None when there is nothing for them.

    ``tasks`` gives the person's open work due within ``due_within_days`` working days (none
    without it). The
    ``checkpoint`` sentence (the ward's signed audit checkpoint) goes to those the organization
    says read checkpoints (``Organization.reads_checkpoints``).
    """
    renderer = renderer or default_renderer()
    person = org.person(person_id)
    items = _notifications_of_day(session, org, person, day, renderer)
    due = tasks(session, org.tenant, person, day, due_within_days) if tasks else []
    if not org.reads_checkpoints(person.roles):
        checkpoint = None
    if not items and not due and checkpoint is None:
        return None
    context = {
        "checkpoint": checkpoint,
        "day": day.isoformat(),
        "notifications": [item.__dict__ for item in items],
        "due_tasks": [task.__dict__ for task in due],
        "due_within_days": due_within_days,
    }
    return renderer.render(TEMPLATE, context, person, ward=org)


def _notifications_of_day(
    session: Session, org: Organization, person: Person, day: date, renderer: Renderer
) -> list[DigestItem]:
    start, end = day_bounds(day)
    rows = session.scalars(
        sa.select(OutboxMessage)
        .where(
            OutboxMessage.tenant == org.tenant,
            OutboxMessage.created_at >= start,
            OutboxMessage.created_at < end,
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    ).all()
    if not rows:
        return []
    found = session.execute(
        sa.select(NotificationDelivery.outbox_id, NotificationDelivery.status).where(
            NotificationDelivery.recipient == person.id,
            NotificationDelivery.outbox_id.in_([row.id for row in rows]),
        )
    ).tuples()
    statuses = dict(found.all())  # not dict(found): a Result has .keys(), the column names
    items = []
    for row in rows:
        status = statuses.get(row.id)
        if status is None:
            if row.status != "pending" or not _addressed_to(org, row, person):
                continue  # not (or not yet known to be) for this person
            status = "pending"
        context = json.loads(row.context)
        try:
            subject = renderer.render(row.template, context, person, ward=org).subject
        except RenderError:
            subject = f"{context.get('kind_title', row.template)} {context.get('ref', '')}".strip()
        items.append(
            DigestItem(
                time=str(context.get("occurred_at_local", ""))[11:16],
                subject=subject,
                status_label=STATUS_LABELS.get(status, "chờ gửi"),
            )
        )
    return items


def _addressed_to(org: Organization, row: OutboxMessage, person: Person) -> bool:
    try:
        return any(p.id == person.id for p in resolve_recipients(org, row))
    except (LookupError, ValueError):
        return False


def digest_key(tenant: str, day: date, person_id: str) -> str:
    """The dedupe key of a person's digest for a day."""
    return f"digest:{tenant}:{day.isoformat()}:{person_id}"


def send_daily_digests(
    session_factory: sessionmaker[Session],
    org: Organization,
    channel: Channel,
    day: date,
    now: datetime,
    *,
    max_attempts: int = 8,
    backoff: Backoff | None = None,
    lease: timedelta = timedelta(hours=1),
    renderer: Renderer | None = None,
    checkpoint: str | None = None,
    tasks: DueTasks | None = None,
) -> DispatchReport:
    """Send each person of ``org`` their digest for ``day`` (once; run again to retry).

    ``checkpoint``: the sentence of the ward's signed audit checkpoint, for its readers;
    ``tasks``: the person's open work the digest lists (``DueTasks``).
    """
    sender = _DigestSender(
        session_factory,
        org,
        channel,
        utc(now),
        max_attempts,
        backoff or Backoff(),
        lease,
        renderer or default_renderer(),
        checkpoint,
        tasks,
    )
    report = DispatchReport()
    for person in org.people:
        report += sender.send(person, day)
    return report


def retry_digests(
    session_factory: sessionmaker[Session],
    org: Organization,
    channel: Channel,
    now: datetime,
    *,
    max_attempts: int = 8,
    backoff: Backoff | None = None,
    lease: timedelta = timedelta(hours=1),
    renderer: Renderer | None = None,
    tasks: DueTasks | None = None,
) -> DispatchReport:
    """Send again the digests of any day whose earlier attempt failed and whose backoff is over.

    ``send_daily_digests`` only retries the day it is given; ``cchc notify send`` and the sweep
    call this so that a digest left waiting yesterday is not forgotten. No new digest is made.
    ``tasks``: the person's open work the digest lists (``DueTasks``).
    """
    now = utc(now)
    with session_factory() as session:
        keys = session.scalars(
            sa.select(NotificationDelivery.dedupe_key)
            .where(
                NotificationDelivery.tenant == org.tenant,
                NotificationDelivery.outbox_id.is_(None),
                NotificationDelivery.template == TEMPLATE,
                NotificationDelivery.status.in_([PENDING, SENDING]),
                NotificationDelivery.next_attempt_at <= now,
            )
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
        ).all()
    sender = _DigestSender(
        session_factory,
        org,
        channel,
        now,
        max_attempts,
        backoff or Backoff(),
        lease,
        renderer or default_renderer(),
        tasks=tasks,
    )
    report = DispatchReport()
    for key in keys:
        _, day, person_id = key.rsplit(":", 2)
        try:
            person = org.person(person_id)
        except LookupError:
            report += _give_up(session_factory, key, now, f"recipient {person_id} is gone")
            continue
        report += sender.send(person, date.fromisoformat(day))
    return report


@dataclass(frozen=True)
class _DigestSender:
    """Claims, sends and records one person's digest of one day."""

    sessions: sessionmaker[Session]
    org: Organization
    channel: Channel
    now: datetime
    max_attempts: int
    backoff: Backoff
    lease: timedelta
    renderer: Renderer
    checkpoint: str | None = None
    tasks: DueTasks | None = None

    def send(self, person: Person, day: date) -> DispatchReport:
        """Send the digest unless it was sent, gave up, waits for its backoff or is empty."""
        try:
            claimed = _claim_digest(
                self.sessions,
                self.org,
                person,
                day,
                self.now,
                self.channel.name,
                self.lease,
                self.max_attempts,
                self.renderer,
                self.checkpoint,
                self.tasks,
            )
        except IntegrityError:  # another sender created this digest's row at the same time
            return DispatchReport()
        if claimed is None:
            return DispatchReport()
        claim, rendered = claimed
        result = send_rendered(self.channel, claim, person, person.email, rendered)
        return finish_attempt(
            self.sessions, claim, result, self.now, self.max_attempts, self.backoff
        )


def _give_up(
    sessions: sessionmaker[Session], key: str, now: datetime, error: str
) -> DispatchReport:
    with unit_of_work(sessions) as session:
        delivery = session.scalars(
            sa.select(NotificationDelivery).where(NotificationDelivery.dedupe_key == key)
        ).one()
        delivery.status = FAILED
        delivery.next_attempt_at = None
        delivery.last_error = error
        delivery.updated_at = now
    return DispatchReport(failed=1)


def _claim_digest(
    sessions: sessionmaker[Session],
    org: Organization,
    person: Person,
    day: date,
    now: datetime,
    channel: str,
    lease: timedelta,
    max_attempts: int,
    renderer: Renderer,
    checkpoint: str | None = None,
    tasks: DueTasks | None = None,
) -> tuple[Claim, Rendered] | None:
    key = digest_key(org.tenant, day, person.id)
    with unit_of_work(sessions) as session:
        delivery = session.scalars(
            sa.select(NotificationDelivery)
            .where(NotificationDelivery.dedupe_key == key)
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if delivery is not None and (
            delivery.status in (SENT, FAILED)
            or (delivery.next_attempt_at is not None and utc(delivery.next_attempt_at) > now)
        ):
            return None
        rendered = daily_digest(
            session, org, person.id, day, renderer=renderer, tasks=tasks, checkpoint=checkpoint
        )
        if rendered is None:
            return None
        if delivery is None:
            delivery = NotificationDelivery(
                tenant=org.tenant,
                dedupe_key=key,
                outbox_id=None,
                template=TEMPLATE,
                recipient=person.id,
                address=person.email,
                channel=None,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                last_error=None,
                sent_at=None,
                created_at=now,
                updated_at=now,
            )
            session.add(delivery)
            session.flush()
        if not start_attempt(session, delivery, channel, now, lease, max_attempts):
            return None
        claim = Claim(
            delivery_id=delivery.id,
            outbox_id=None,
            dedupe_key=key,
            attempt=delivery.attempts,
            tenant=org.tenant,
            template=TEMPLATE,
            recipient=person.id,
            context={"day": day.isoformat()},
        )
        return claim, rendered
