"""Channels: Maildir, SMTP (a real aiosmtpd server on loopback) and a JSON webhook."""

from __future__ import annotations

import mailbox
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cchc.cli import app
from notifications.channels import (
    DeliveryError,
    Envelope,
    MaildirChannel,
    SmtpChannel,
    WebhookChannel,
    channel_from_env,
    message_id,
)
from tests.conftest import Db
from tests.notifications.conftest import EXPECTED_TOTAL, SmtpServer, WebhookServer, free_port

SUBJECT = "[CCHC] Giao nhiệm vụ KH-2025-H2/NV-01: Rà soát thủ tục hành chính lĩnh vực đất đai"
TEXT = (
    "Kính gửi Ông/Bà Ngô Thị Hà – Chuyên viên Phòng Kinh tế, Hạ tầng và Đô thị,\n\n"
    "Đơn vị được giao chủ trì nhiệm vụ KH-2025-H2/NV-01.\nThời hạn hoàn thành: 31/10/2025.\n"
)
HTML = "<p>Kính gửi Ông/Bà <strong>Ngô Thị Hà</strong>,</p>\n"


def envelope(html: str | None = HTML) -> Envelope:
    return Envelope(
        dedupe_key="phuong-phu-lien:12:0:ngo.thi.ha",
        tenant="phuong-phu-lien",
        template="task_assigned",
        recipient_id="ngo.thi.ha",
        recipient_name="Ngô Thị Hà",
        address="ngo.thi.ha@phulien.example",
        subject=SUBJECT,
        text=TEXT,
        html=html,
        context={"ref": "KH-2025-H2/NV-01"},
    )


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def assert_vietnamese_mail(msg: EmailMessage, raw: bytes) -> None:
    """Subject and body decode to the Vietnamese text, and the wire form is 7-bit ASCII."""
    raw.decode("ascii")  # encoded words and QP/base64: nothing raw outside ASCII
    assert msg["Subject"] == SUBJECT
    assert str(msg["To"]) == "Ngô Thị Hà <ngo.thi.ha@phulien.example>"
    plain = msg.get_body(("plain",))
    assert plain is not None
    assert plain.get_content_charset() == "utf-8"
    assert plain.get_content() == TEXT
    assert msg["Message-ID"] == message_id("phuong-phu-lien:12:0:ngo.thi.ha", "phulien.example")
    assert msg["X-CCHC-Dedupe-Key"] == "phuong-phu-lien:12:0:ngo.thi.ha"


SENDER = "Hệ thống CCHC phường Phù Liễn <cchc@phulien.example>"


def test_maildir_writes_an_rfc5322_message_with_the_vietnamese_subject(tmp_path: Path) -> None:
    """The shared Maildir gets one message whose decoded subject and body are the Vietnamese."""
    MaildirChannel(tmp_path / "mail", sender=SENDER).send(envelope())
    box = mailbox.Maildir(tmp_path / "mail", create=False)
    keys = box.keys()
    assert len(keys) == 1
    raw = box.get_bytes(keys[0])
    msg = parse(raw)
    assert_vietnamese_mail(msg, raw)
    assert b"=?utf-8?" in raw.split(b"\n\n", 1)[0]
    html = msg.get_body(("html",))
    assert html is not None
    assert html.get_content() == HTML
    assert str(msg["From"]) == SENDER


def test_maildir_per_recipient_folders(tmp_path: Path) -> None:
    """With per_recipient each person has their own Maildir."""
    channel = MaildirChannel(tmp_path, per_recipient=True)
    channel.send(envelope(html=None))
    assert len(mailbox.Maildir(tmp_path / "ngo.thi.ha", create=False)) == 1
    assert not (tmp_path / "new").exists()


def test_smtp_delivers_vietnamese_subject_and_body(smtp_server: SmtpServer) -> None:
    """A real SMTP server on loopback receives the message; subject and body decode exactly."""
    smtp_server.start()
    SmtpChannel("127.0.0.1", smtp_server.port, SENDER, timeout=5).send(envelope())
    [received] = smtp_server.received
    assert received.rcpt_tos == ["ngo.thi.ha@phulien.example"]
    assert received.mail_from == "cchc@phulien.example"
    assert_vietnamese_mail(received.message, received.raw)


LONG_SUBJECTS = (
    (
        "[CCHC] Giao nhiệm vụ GB-KH-CCHC-2025-H2-2025-10/KL-1: Phòng Văn hóa - Xã hội bổ sung đầy "
        "đủ tài liệu kiểm chứng các tiêu chí: 1.5.1, 5.2.1, 5.3.1."
    ),
    (
        "Trung thống đai vụ vực thống tập của đai hành KH-2025-H2/NV-01: hóa thành lĩnh thủ nhiệm "
        "công [CCHC] vụ"
    ),
    "nhiệm KH-2025-H2/NV-01: Số của soát thủ soát tâm thành hóa thống phố",
    (
        "[CCHC] Giao nhiệm vụ KH-CCHC-2025-H2/NV-11: Gửi báo cáo định kỳ qua Hệ thống thông tin "
        "báo cáo của thành phố"
    ),
)


def test_long_subjects_keep_their_spaces_through_smtp(smtp_server: SmtpServer) -> None:
    """Long Vietnamese subjects folded over several lines parse back with every space."""
    smtp_server.start()
    channel = SmtpChannel("127.0.0.1", smtp_server.port, SENDER, timeout=5)
    for n, subject in enumerate(LONG_SUBJECTS):
        channel.send(replace(envelope(), dedupe_key=f"long:{n}", subject=subject))
    parser = BytesParser(policy=policy.default)
    received = [parser.parsebytes(r.raw) for r in smtp_server.received]
    assert [str(msg["Subject"]) for msg in received] == list(LONG_SUBJECTS)
    for r in smtp_server.received:
        head = r.raw.split(b"\r\n\r\n", 1)[0]
        assert max(len(line) for line in head.split(b"\r\n")) <= 78


def test_smtp_server_down_is_transient() -> None:
    """Nobody listening: a transient error (to be retried)."""
    channel = SmtpChannel("127.0.0.1", free_port(), timeout=2)
    with pytest.raises(DeliveryError, match="unreachable") as caught:
        channel.send(envelope())
    assert caught.value.transient


@pytest.mark.parametrize(
    ("reply", "transient"),
    [("451 4.3.0 mailbox busy, try later", True), ("550 5.1.1 no such user", False)],
    ids=["4xx", "5xx"],
)
def test_smtp_refusals_follow_the_reply_code(
    smtp_server: SmtpServer, reply: str, transient: bool
) -> None:
    """A 4xx refusal is transient, a 5xx one permanent."""
    smtp_server.inbox.refuse = reply
    smtp_server.start()
    with pytest.raises(DeliveryError, match="recipient refused") as caught:
        SmtpChannel("127.0.0.1", smtp_server.port, timeout=5).send(envelope())
    assert caught.value.transient is transient
    assert smtp_server.received == []


def test_webhook_posts_json_with_an_idempotency_key(webhook: WebhookServer) -> None:
    """200: delivered; the JSON carries the Vietnamese subject, the key is in the header."""
    WebhookChannel(webhook.url, timeout=5).send(envelope())
    [hook] = webhook.requests
    assert hook.headers["Idempotency-Key"] == "phuong-phu-lien:12:0:ngo.thi.ha"
    assert hook.headers["Content-Type"] == "application/json"
    assert hook.body["subject"] == SUBJECT
    assert hook.body["text"] == TEXT
    assert hook.body["recipient"] == {
        "id": "ngo.thi.ha",
        "name": "Ngô Thị Hà",
        "email": "ngo.thi.ha@phulien.example",
    }
    assert hook.body["context"] == {"ref": "KH-2025-H2/NV-01"}


@pytest.mark.parametrize(
    ("status", "transient"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
def test_webhook_errors(webhook: WebhookServer, status: int, transient: bool) -> None:
    """5xx and 429 are transient; other 4xx permanent."""
    webhook.status = status
    with pytest.raises(DeliveryError, match=f"HTTP {status}") as caught:
        WebhookChannel(webhook.url, timeout=5).send(envelope())
    assert caught.value.transient is transient


def test_webhook_unreachable_is_transient() -> None:
    """Connection refused: transient."""
    with pytest.raises(DeliveryError, match="unreachable") as caught:
        WebhookChannel(f"http://127.0.0.1:{free_port()}/hook", timeout=2).send(envelope())
    assert caught.value.transient


def test_channel_from_env(tmp_path: Path) -> None:
    """Maildir under the data folder by default; SMTP and webhook when asked."""
    default = channel_from_env(tmp_path, {})
    assert isinstance(default, MaildirChannel)
    assert default.root == tmp_path / "mail"
    smtp = channel_from_env(
        tmp_path, {"CCHC_NOTIFY_CHANNEL": "smtp", "CCHC_SMTP_HOST": "mx", "CCHC_SMTP_PORT": "2525"}
    )
    assert isinstance(smtp, SmtpChannel)
    assert (smtp.host, smtp.port) == ("mx", 2525)
    with pytest.raises(ValueError, match="CCHC_WEBHOOK_URL"):
        channel_from_env(tmp_path, {"CCHC_NOTIFY_CHANNEL": "webhook"})


@pytest.mark.parametrize(
    ("mail_from", "sender", "domain"),
    [
        (None, "Hệ thống CCHC Phường Phù Liễn <cchc@phulien.example>", "phulien.example"),
        (
            "CCHC Phù Liễn <cchc@mail.phulien.example>",
            "CCHC Phù Liễn <cchc@mail.phulien.example>",
            "mail.phulien.example",
        ),
    ],
)
def test_notify_send_signs_with_the_configured_sender(
    issued: Db,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mail_from: str | None,
    sender: str,
    domain: str,
) -> None:
    """`cchc notify send` writes From and Message-ID from CCHC_MAIL_FROM or the ward's file."""
    monkeypatch.setenv("CCHC_NOTIFY_CHANNEL", "maildir")
    monkeypatch.setenv("CCHC_MAILDIR", str(tmp_path / "mail"))
    if mail_from is None:
        monkeypatch.delenv("CCHC_MAIL_FROM", raising=False)
    else:
        monkeypatch.setenv("CCHC_MAIL_FROM", mail_from)
    env = {"CCHC_DATABASE_URL": issued.url, "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}
    result = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path), "notify", "send", "--as", "tran.van.minh"], env=env
    )
    assert result.exit_code == 0, result.output
    box = mailbox.Maildir(tmp_path / "mail", create=False)
    messages = [parse(box.get_bytes(key)) for key in box.iterkeys()]
    assert len(messages) == EXPECTED_TOTAL
    assert {str(msg["From"]) for msg in messages} == {sender}
    assert {str(msg["Message-ID"]).rpartition("@")[2] for msg in messages} == {f"{domain}>"}
