"""Channels deliver one rendered notification to one recipient: Maildir, SMTP or a webhook.

A channel's ``send`` returns when the message was handed over and raises ``DeliveryError`` when
it was not, saying whether trying again later may help (``transient``). Every message carries
its dedupe key so that a receiver can drop the rare duplicate (see ``docs/notifications.md``):
e-mail as a ``Message-ID`` derived from it (plus ``X-CCHC-Dedupe-Key``), the webhook as an
``Idempotency-Key`` header and a ``dedupe_key`` field.
"""

from __future__ import annotations

import hashlib
import mailbox
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol

import httpx

from workflows.canonical import utcnow

DEFAULT_SENDER = "Hệ thống CCHC <cchc@localhost.localdomain>"
"""The sender of a channel built without one (tests); the commands, the sweep and the demo sign
with ``CCHC_MAIL_FROM`` or the ward's sender (``notifications.recipients.ward_sender``)."""
MAIL_FROM_ENV = "CCHC_MAIL_FROM"


class EncodedSubject(UnstructuredHeader, BaseHeader):
    """A Subject folded into RFC 2047 encoded words that carry their own spaces.

    Python 3.11's folder can put the space between two words into the folding whitespace
    between two encoded words, where RFC 2047 readers drop it ("Hệ thốngthông tin"). A
    non-ASCII subject is therefore encoded by ``email.header.Header``, which cuts it into
    encoded words at character boundaries with every space inside an encoded word.
    """

    def fold(self, *, policy: Policy) -> str:
        """``Subject: =?utf-8?…?=`` folded to ``policy.max_line_length``, ``policy.linesep``."""
        value = str(self)
        if value.isascii():
            return super().fold(policy=policy)
        width = policy.max_line_length or 78
        header = Header(value, "utf-8", maxlinelen=width, header_name=self.name)
        return f"{self.name}: {header.encode(linesep=policy.linesep)}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("subject", EncodedSubject)

MAIL_POLICY = policy.default.clone(cte_type="7bit", header_factory=_HEADERS)
"""UTF-8 bodies go out as quoted-printable or base64 (whichever is shorter), headers as RFC 2047
encoded words: the messages are 7-bit clean for any SMTP server and any mailbox. The subject is
folded by ``EncodedSubject`` so that it round-trips through any standard parser."""

SMTP_USERNAME_ENV = "CCHC_SMTP_USERNAME"
SMTP_PASSWORD_ENV = "CCHC_SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a password


@dataclass(frozen=True)
class Envelope:
    """One rendered notification for one recipient, as a channel sends it."""

    dedupe_key: str
    """``{outbox.dedupe_key}:{person id}``: the same notification always has the same key."""
    tenant: str
    template: str
    recipient_id: str
    recipient_name: str
    address: str
    subject: str
    text: str
    html: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    """The outbox context the message was rendered from (sent along by the webhook)."""


class DeliveryError(Exception):
    """A channel could not deliver; ``transient`` when a later attempt may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Channel(Protocol):
    """Delivers envelopes. ``name`` is recorded with every attempt."""

    @property
    def name(self) -> str: ...

    def send(self, envelope: Envelope) -> None:
        """Hand ``envelope`` over, or raise ``DeliveryError``."""
        ...


# --- e-mail ----------------------------------------------------------------------------------


def message_id(dedupe_key: str, domain: str) -> str:
    """A Message-ID that only depends on the dedupe key: a resent copy has the same one."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def _domain(sender: str) -> str:
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2]
    return domain or "localhost.localdomain"


def build_email(envelope: Envelope, sender: str = DEFAULT_SENDER) -> EmailMessage:
    """The RFC 5322 message of ``envelope``: UTF-8 text (and HTML alternative), encoded subject."""
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = sender
    msg["To"] = Address(display_name=envelope.recipient_name, addr_spec=envelope.address)
    msg["Subject"] = envelope.subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id(envelope.dedupe_key, _domain(sender))
    msg["X-CCHC-Dedupe-Key"] = envelope.dedupe_key
    msg["X-CCHC-Template"] = envelope.template
    msg.set_content(envelope.text, subtype="plain", charset="utf-8")
    if envelope.html is not None:
        msg.add_alternative(envelope.html, subtype="html", charset="utf-8")
    return msg


class MaildirChannel:
    """Writes each message into a Maildir: the default channel, for demos and tests.

    With ``per_recipient=False`` (the default) every message goes into the one Maildir at
    ``root`` (``root/new/…``); with ``per_recipient=True`` each person has their own Maildir
    ``root/<person id>/``. Any mail reader (``mutt -f root``) opens them.
    """

    name = "maildir"

    def __init__(
        self, root: Path, *, per_recipient: bool = False, sender: str = DEFAULT_SENDER
    ) -> None:
        self.root = Path(root)
        self.per_recipient = per_recipient
        self.sender = sender

    def folder(self, recipient_id: str) -> Path:
        """The Maildir a recipient's messages go to."""
        return self.root / recipient_id if self.per_recipient else self.root

    def send(self, envelope: Envelope) -> None:
        """Add the message to the recipient's (or the shared) Maildir."""
        try:
            folder = self.folder(envelope.recipient_id)
            folder.parent.mkdir(parents=True, exist_ok=True)
            box = mailbox.Maildir(folder, create=True)
            box.add(build_email(envelope, self.sender))
        except OSError as exc:
            raise DeliveryError(f"cannot write to the Maildir: {exc}", transient=True) from exc


class SmtpChannel:
    """Sends through an SMTP server. Credentials come only from the environment.

    ``CCHC_SMTP_USERNAME`` / ``CCHC_SMTP_PASSWORD``, when set, are used to log in (after
    STARTTLS when ``starttls``). Connection problems, timeouts, 4xx replies and refused logins
    are transient (retried); other 5xx replies are permanent.
    """

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int = 25,
        sender: str = DEFAULT_SENDER,
        timeout: float = 30.0,
        *,
        starttls: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.starttls = starttls

    def send(self, envelope: Envelope) -> None:
        """Send one message to ``envelope.address``."""
        msg = build_email(envelope, self.sender)
        username = os.environ.get(SMTP_USERNAME_ENV)
        password = os.environ.get(SMTP_PASSWORD_ENV, "")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if username:
                    smtp.login(username, password)
                smtp.send_message(
                    msg, from_addr=parseaddr(self.sender)[1], to_addrs=[envelope.address]
                )
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {_smtp_text(exc)}", transient=True) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            transient = all(400 <= code < 500 for code in codes)
            raise DeliveryError(
                f"recipient refused: {exc.recipients}", transient=transient
            ) from exc
        except smtplib.SMTPResponseException as exc:
            transient = 400 <= exc.smtp_code < 500
            raise DeliveryError(f"SMTP {_smtp_text(exc)}", transient=transient) from exc
        except (smtplib.SMTPException, OSError) as exc:
            where = f"{self.host}:{self.port}"
            raise DeliveryError(
                f"SMTP server {where} unreachable: {type(exc).__name__}: {exc}", transient=True
            ) from exc


def _smtp_text(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}"


# --- webhook ---------------------------------------------------------------------------------


def webhook_body(envelope: Envelope) -> dict[str, Any]:
    """The JSON object the webhook posts."""
    return {
        "dedupe_key": envelope.dedupe_key,
        "tenant": envelope.tenant,
        "template": envelope.template,
        "recipient": {
            "id": envelope.recipient_id,
            "name": envelope.recipient_name,
            "email": envelope.address,
        },
        "subject": envelope.subject,
        "text": envelope.text,
        "html": envelope.html,
        "context": dict(envelope.context),
    }


class WebhookChannel:
    """POSTs each notification as JSON (UTF-8) to ``url``, with an ``Idempotency-Key`` header.

    2xx is delivered; 5xx, 408, 429 and connection errors or timeouts are transient; any other
    status (4xx, or a redirect, which is not followed) is permanent.
    """

    name = "webhook"

    def __init__(
        self, url: str, timeout: float = 10.0, headers: Mapping[str, str] | None = None
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.headers = dict(headers or {})

    def send(self, envelope: Envelope) -> None:
        """POST the envelope; raise ``DeliveryError`` unless the answer is 2xx."""
        headers = {**self.headers, "Idempotency-Key": envelope.dedupe_key}
        try:
            response = httpx.post(
                self.url, json=webhook_body(envelope), headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"webhook {self.url} unreachable: {type(exc).__name__}: {exc}", transient=True
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        transient = status >= 500 or status in (408, 429)
        body = response.text[:200]
        raise DeliveryError(f"webhook answered HTTP {status}: {body}", transient=transient)


# --- configuration ---------------------------------------------------------------------------


def channel_from_env(
    data_dir: Path, env: Mapping[str, str] | None = None, *, sender: str | None = None
) -> Channel:
    """The channel the environment asks for; by default the Maildir ``data_dir/mail``.

    ``CCHC_NOTIFY_CHANNEL`` = ``maildir`` (``CCHC_MAILDIR``, default ``data_dir/mail``),
    ``smtp`` (``CCHC_SMTP_HOST``, ``CCHC_SMTP_PORT`` = 25, ``CCHC_SMTP_STARTTLS`` = ``1``/``0``)
    or ``webhook`` (``CCHC_WEBHOOK_URL``). E-mail is signed by ``CCHC_MAIL_FROM``, else by
    ``sender`` (the ward's, ``notifications.recipients.ward_sender``).
    """
    env = os.environ if env is None else env
    kind = env.get("CCHC_NOTIFY_CHANNEL", "maildir").strip().lower()
    sender = env.get(MAIL_FROM_ENV) or sender or DEFAULT_SENDER
    if kind == "maildir":
        return MaildirChannel(Path(env.get("CCHC_MAILDIR") or data_dir / "mail"), sender=sender)
    if kind == "smtp":
        return SmtpChannel(
            env.get("CCHC_SMTP_HOST", "localhost"),
            int(env.get("CCHC_SMTP_PORT", "25")),
            sender,
            starttls=env.get("CCHC_SMTP_STARTTLS", "0") in ("1", "true", "yes"),
        )
    if kind == "webhook":
        url = env.get("CCHC_WEBHOOK_URL")
        if not url:
            raise ValueError("CCHC_NOTIFY_CHANNEL=webhook needs CCHC_WEBHOOK_URL")
        return WebhookChannel(url)
    raise ValueError(f"unknown CCHC_NOTIFY_CHANNEL {kind!r}: use maildir, smtp or webhook")
