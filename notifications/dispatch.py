"""Deliver the outbox: one delivery per (outbox row, recipient), retried with backoff, sent once.

``dispatch`` runs in three kinds of short transactions, so a crash at any point loses nothing:

1. **Expand** (one transaction): pending outbox rows of the tenant get one
   ``notification_deliveries`` row per recipient, keyed ``{outbox.dedupe_key}:{person id}``
   (unique), and become ``queued`` (``skipped`` when nobody holds their roles).
2. **Claim** (one transaction): due deliveries (``pending``, or ``sending`` whose lease ran out)
   become ``sending`` with a lease (``next_attempt_at = now + lease``) and get a
   ``delivery_attempts`` row. PostgreSQL locks them ``FOR UPDATE SKIP LOCKED``; SQLite's
   ``BEGIN IMMEDIATE`` serialises the claim. Another dispatcher sees them as not due.
3. **Send** outside any transaction, then **record** (one transaction per delivery): ``sent``;
   or, on a transient error, ``pending`` again at ``now + backoff``; or ``failed`` on a
   permanent error or after ``max_attempts``. The outbox row becomes ``sent`` when all its
   deliveries are sent, ``failed`` when all are finished and one failed.

A delivery is sent at least once and, except in one window, at most once: if the process dies
after the channel accepted a message but before step 3 recorded it, the delivery stays
``sending`` until its lease expires and is then sent again (the attempt is recorded as
``interrupted``). The copy carries the same dedupe key (``Message-ID`` / ``Idempotency-Key``),
so the receiver can drop it. The lease must be longer than sending one batch takes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from notifications.channels import Channel, DeliveryError, Envelope
from notifications.recipients import Organization, Person, resolve_recipients
from notifications.render import Addressee, Rendered, Renderer, RenderError, default_renderer
from notifications.tables import DeliveryAttempt, NotificationDelivery
from workflows.canonical import utc
from workflows.database import unit_of_work
from workflows.schema import OutboxMessage

log = logging.getLogger(__name__)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
QUEUED = "queued"
"""Outbox status once its deliveries exist (before: ``pending``; after: ``sent``/``failed``)."""
SKIPPED = "skipped"
"""Outbox status when nobody holds the roles it names."""

INTERRUPTED = (
    "the dispatcher stopped before recording the result (lease expired); "
    "the message may have been delivered"
)

Outcome = Literal["sent", "transient", "permanent"]


@dataclass(frozen=True)
class Backoff:
    """Waiting time after the n-th failed attempt: ``base`` doubling each time, up to ``cap``."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def delay(self, failures: int) -> timedelta:
        """30 s after the first failure, 60 s after the second … never more than ``cap``."""
        delay: timedelta = self.base * (1 << min(max(failures - 1, 0), 30))
        return min(delay, self.cap)


@dataclass(frozen=True)
class DispatchReport:
    """What one dispatch run did to deliveries (``skipped``: outbox rows nobody receives)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(
            self.sent + other.sent,
            self.retried + other.retried,
            self.failed + other.failed,
            self.skipped + other.skipped,
        )


@dataclass(frozen=True)
class Claim:
    """A delivery this dispatcher holds (status ``sending``) for attempt number ``attempt``."""

    delivery_id: int
    outbox_id: int | None
    dedupe_key: str
    attempt: int
    tenant: str
    template: str
    recipient: str
    context: dict[str, Any]


@dataclass(frozen=True)
class Result:
    """How one attempt ended."""

    outcome: Outcome
    error: str | None = None


def dispatch(
    session_factory: sessionmaker[Session],
    org: Organization,
    channel: Channel,
    now: datetime,
    batch: int = 100,
    max_attempts: int = 8,
    backoff: Backoff | None = None,
    *,
    lease: timedelta = timedelta(hours=1),
    renderer: Renderer | None = None,
) -> DispatchReport:
    """Deliver up to ``batch`` due notifications of ``org``'s tenant through ``channel``.

    Call it again (e.g. every minute) to carry on: retries wait for their backoff, and
    nothing already sent is sent again.
    """
    now = utc(now)
    backoff = backoff or Backoff()
    renderer = renderer or default_renderer()
    report = _expand(session_factory, org, now, batch)
    claims, given_up = _claim(session_factory, org, channel.name, now, batch, lease, max_attempts)
    report += DispatchReport(failed=given_up)
    for claim in claims:
        result = attempt(claim, org, channel, renderer)
        report += finish_attempt(session_factory, claim, result, now, max_attempts, backoff)
    return report


# --- 1. expand -------------------------------------------------------------------------------


def _expand(
    sessions: sessionmaker[Session], org: Organization, now: datetime, batch: int
) -> DispatchReport:
    skipped = failed = 0
    with unit_of_work(sessions) as session:
        rows = session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.tenant == org.tenant, OutboxMessage.status == PENDING)
            .order_by(OutboxMessage.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return DispatchReport()
        existing = set(
            session.scalars(
                sa.select(NotificationDelivery.dedupe_key).where(
                    NotificationDelivery.outbox_id.in_([row.id for row in rows])
                )
            )
        )
        for row in rows:
            try:
                people = resolve_recipients(org, row)
            except (LookupError, ValueError) as exc:
                # An expected refusal, recorded on the row: the message says it all, no traceback.
                log.error("outbox #%s (%s) cannot be addressed: %s", row.id, row.template, exc)  # noqa: TRY400
                row.status = FAILED
                failed += 1
                continue
            if not people:
                log.info("outbox #%s (%s): nobody holds %s", row.id, row.template, row.recipients)
                row.status = SKIPPED
                skipped += 1
                continue
            for person in people:
                key = f"{row.dedupe_key}:{person.id}"
                if key not in existing:
                    session.add(_new_delivery(row.tenant, key, row.id, row.template, person, now))
            row.status = QUEUED
    return DispatchReport(failed=failed, skipped=skipped)


def _new_delivery(
    tenant: str, key: str, outbox_id: int | None, template: str, person: Person, now: datetime
) -> NotificationDelivery:
    return NotificationDelivery(
        tenant=tenant,
        dedupe_key=key,
        outbox_id=outbox_id,
        template=template,
        recipient=person.id,
        address=person.email,
        channel=None,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        last_error=None,
        sent_at=None,
        created_at=now,
        updated_at=now,
    )


# --- 2. claim --------------------------------------------------------------------------------


def _claim(
    sessions: sessionmaker[Session],
    org: Organization,
    channel: str,
    now: datetime,
    batch: int,
    lease: timedelta,
    max_attempts: int,
) -> tuple[list[Claim], int]:
    claims: list[Claim] = []
    given_up = 0
    with unit_of_work(sessions) as session:
        due = session.scalars(
            sa.select(NotificationDelivery)
            .where(
                NotificationDelivery.tenant == org.tenant,
                NotificationDelivery.outbox_id.is_not(None),
                NotificationDelivery.status.in_([PENDING, SENDING]),
                NotificationDelivery.next_attempt_at <= now,
            )
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        outbox_ids = {d.outbox_id for d in due if d.outbox_id is not None}
        outboxes = {
            o.id: o
            for o in session.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids))
            )
        }
        settle: set[int] = set()
        for delivery in due:
            if delivery.outbox_id is None:
                raise AssertionError(f"delivery #{delivery.id} belongs to no outbox row")
            if not start_attempt(session, delivery, channel, now, lease, max_attempts):
                given_up += 1
                settle.add(delivery.outbox_id)
                continue
            outbox = outboxes[delivery.outbox_id]
            claims.append(_claim_of(delivery, outbox.template, json.loads(outbox.context)))
        for outbox_id in sorted(settle):
            _settle_outbox(session, outbox_id)
    return claims, given_up


def _claim_of(delivery: NotificationDelivery, template: str, context: dict[str, Any]) -> Claim:
    return Claim(
        delivery_id=delivery.id,
        outbox_id=delivery.outbox_id,
        dedupe_key=delivery.dedupe_key,
        attempt=delivery.attempts,
        tenant=delivery.tenant,
        template=template,
        recipient=delivery.recipient,
        context=context,
    )


def start_attempt(
    session: Session,
    delivery: NotificationDelivery,
    channel: str,
    now: datetime,
    lease: timedelta,
    max_attempts: int,
) -> bool:
    """Mark ``delivery`` ``sending`` with a new attempt row; False when it is given up instead.

    A delivery still ``sending`` was left by a dispatcher that stopped (its lease expired):
    that attempt is recorded as ``interrupted`` and counts against ``max_attempts``.
    """
    if delivery.status == SENDING:
        for unfinished in session.scalars(
            sa.select(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id == delivery.id, DeliveryAttempt.outcome == SENDING
            )
        ):
            unfinished.outcome = "interrupted"
            unfinished.finished_at = now
            unfinished.error = INTERRUPTED
        delivery.last_error = INTERRUPTED
        if delivery.attempts >= max_attempts:
            delivery.status = FAILED
            delivery.next_attempt_at = None
            delivery.updated_at = now
            return False
    delivery.attempts += 1
    delivery.status = SENDING
    delivery.channel = channel
    delivery.next_attempt_at = now + lease
    delivery.updated_at = now
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            channel=channel,
            started_at=now,
            finished_at=None,
            outcome=SENDING,
            error=None,
        )
    )
    return True


# --- 3. send and record ----------------------------------------------------------------------


def attempt(claim: Claim, org: Organization, channel: Channel, renderer: Renderer) -> Result:
    """Render and send one claimed delivery (outside any transaction); never raises Exception."""
    try:
        person = org.person(claim.recipient)
        rendered = renderer.render(claim.template, claim.context, person, ward=org)
    except LookupError as exc:
        return Result("permanent", f"recipient {claim.recipient} is gone: {exc}")
    except RenderError as exc:
        return Result("permanent", str(exc))
    return send_rendered(channel, claim, person, person.email, rendered)


def send_rendered(
    channel: Channel, claim: Claim, recipient: Addressee, address: str, rendered: Rendered
) -> Result:
    """Hand one rendered message to ``channel``; the outcome, never an exception."""
    envelope = Envelope(
        dedupe_key=claim.dedupe_key,
        tenant=claim.tenant,
        template=claim.template,
        recipient_id=recipient.id,
        recipient_name=recipient.full_name,
        address=address,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        context=claim.context,
    )
    try:
        channel.send(envelope)
    except DeliveryError as exc:
        return Result("transient" if exc.transient else "permanent", str(exc))
    except Exception as exc:  # a channel bug must not stop the other deliveries
        log.exception("channel %s failed on %s", channel.name, claim.dedupe_key)
        return Result("transient", f"{type(exc).__name__}: {exc}")
    return Result("sent")


def finish_attempt(
    sessions: sessionmaker[Session],
    claim: Claim,
    result: Result,
    now: datetime,
    max_attempts: int,
    backoff: Backoff,
) -> DispatchReport:
    """Record how ``claim``'s attempt ended (one transaction) and settle its outbox row."""
    with unit_of_work(sessions) as session:
        delivery = session.get(NotificationDelivery, claim.delivery_id, with_for_update=True)
        if delivery is None:
            raise AssertionError(f"claimed delivery #{claim.delivery_id} is gone")
        row = session.scalars(
            sa.select(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id == claim.delivery_id,
                DeliveryAttempt.attempt == claim.attempt,
            )
        ).one()
        row.finished_at = now
        row.outcome = result.outcome
        row.error = result.error
        delivery.updated_at = now
        report = _apply(delivery, claim, result, now, max_attempts, backoff)
        if delivery.outbox_id is not None:
            _settle_outbox(session, delivery.outbox_id)
    return report


def _apply(
    delivery: NotificationDelivery,
    claim: Claim,
    result: Result,
    now: datetime,
    max_attempts: int,
    backoff: Backoff,
) -> DispatchReport:
    if result.outcome == "sent":
        if delivery.status != SENT:
            delivery.status = SENT
            delivery.sent_at = now
            delivery.next_attempt_at = None
            delivery.last_error = None
        return DispatchReport(sent=1)
    if delivery.status == SENT or delivery.attempts != claim.attempt:
        # Our lease ran out and another dispatcher took over: its attempt decides.
        return DispatchReport(retried=1)
    delivery.last_error = result.error
    if result.outcome == "permanent" or delivery.attempts >= max_attempts:
        delivery.status = FAILED
        delivery.next_attempt_at = None
        log.warning("delivery %s failed for good: %s", delivery.dedupe_key, result.error)
        return DispatchReport(failed=1)
    delivery.status = PENDING
    delivery.next_attempt_at = now + backoff.delay(delivery.attempts)
    return DispatchReport(retried=1)


def _settle_outbox(session: Session, outbox_id: int) -> None:
    """``sent`` when every delivery is sent, ``failed`` when all ended and one failed.

    The outbox row is locked first, so two dispatchers finishing its last two deliveries at
    once cannot both miss the other's result.
    """
    outbox = session.get(OutboxMessage, outbox_id, with_for_update=True)
    if outbox is None:
        raise AssertionError(f"outbox row #{outbox_id} is gone")
    rows = session.execute(
        sa.select(NotificationDelivery.status, NotificationDelivery.attempts).where(
            NotificationDelivery.outbox_id == outbox_id
        )
    ).all()
    outbox.attempts = max([outbox.attempts, *(attempts for _, attempts in rows)])
    statuses = {status for status, _ in rows}
    if statuses == {SENT}:
        outbox.status = SENT
    elif statuses and statuses <= {SENT, FAILED}:
        outbox.status = FAILED


def waiting_for_retry(session_factory: sessionmaker[Session], tenant: str) -> int:
    """Deliveries of ``tenant`` (digests included) that failed once and wait for a retry."""
    with session_factory() as session:
        return int(
            session.scalar(
                sa.select(sa.func.count()).where(
                    NotificationDelivery.tenant == tenant,
                    NotificationDelivery.status == PENDING,
                    NotificationDelivery.attempts > 0,
                )
            )
            or 0
        )


def due_deliveries(session_factory: sessionmaker[Session], tenant: str, now: datetime) -> int:
    """Deliveries of ``tenant``'s outbox a dispatch at ``now`` would claim (for progress)."""
    with session_factory() as session:
        return int(
            session.scalar(
                sa.select(sa.func.count()).where(
                    NotificationDelivery.tenant == tenant,
                    NotificationDelivery.outbox_id.is_not(None),
                    NotificationDelivery.status.in_([PENDING, SENDING]),
                    NotificationDelivery.next_attempt_at <= utc(now),
                )
            )
            or 0
        )
