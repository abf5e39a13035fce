"""Fixtures of the notification tests: the sample ward, an issued plan, an SMTP server on
loopback (aiosmtpd) and a webhook receiver (http.server), both on free ports."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from cchc.organization.model import Organization, load_organization
from cchc.plan.issue import CriterionToOpen, issue_plan
from cchc.plan.models import Decision, Period, Plan, PlanTask
from tests.conftest import Db
from workflows.database import unit_of_work
from workflows.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
ROLES = frozenset(
    yaml.safe_load((ROOT / "definitions" / "roles.yaml").read_text(encoding="utf-8"))["roles"]
)
TENANT = "phuong-phu-lien"

PLAN = Plan(
    code="KH-2025-H2",
    title="Kế hoạch cải cách hành chính 6 tháng cuối năm 2025",
    tenant=TENANT,
    decision=Decision(number="337/QĐ-UBND", date=date(2025, 7, 29)),
    period=Period(
        code="2025-H2",
        start=date(2025, 7, 1),
        end=date(2025, 12, 31),
        label="6 tháng cuối năm 2025",
    ),
    index_set="PAR-XA-2025",
    tasks=(
        PlanTask(
            code="NV-01",
            title="Rà soát thủ tục hành chính lĩnh vực đất đai",
            expected_product="Báo cáo rà soát",
            owner_unit="kt",
            deadline=date(2025, 10, 31),
            criteria=("1.1.3",),
        ),
        PlanTask(
            code="NV-02",
            title="Số hóa hồ sơ tại Trung tâm Phục vụ hành chính công",
            expected_product="Báo cáo kết quả số hóa",
            owner_unit="ttphc",
            deadline=date(2025, 11, 30),
            criteria=("1.2.1",),
        ),
    ),
)
CRITERIA = (
    CriterionToOpen("1.1.1", "Ban hành kế hoạch CCHC đúng thời hạn", "1", "vhxh", "Kế hoạch"),
    CriterionToOpen("1.1.3", "Mức độ hoàn thành kế hoạch CCHC", "2", "kt", "Báo cáo"),
    CriterionToOpen("1.2.1", "Số hóa hồ sơ, kết quả giải quyết TTHC", "1", "kt", "Báo cáo"),
)

EXPECTED = {
    # plan_issued → every unit head
    "le.thi.hong.nhung": 2,
    "trinh.van.hai": 1,
    "pham.quoc.khanh": 4,
    "dinh.thi.bich.ngoc": 2,
    "mai.van.luc": 1,
    # task_assigned NV-01 (kt) and NV-02 (ttphc) → that unit's officials too
    "ngo.thi.ha": 1,
    "luong.van.tung": 1,
    "ta.minh.quan": 1,
}
"""Notifications per person after issuing PLAN: plan, tasks, assessments (to owner heads)."""
EXPECTED_TOTAL = sum(EXPECTED.values())


@pytest.fixture(scope="session")
def org() -> Organization:
    """The sample ward, Phường Phù Liễn."""
    return load_organization(ROOT / "definitions" / "organizations" / "phu-lien.yaml", ROLES)


@pytest.fixture
def issued(db: Db, engine: Engine, org: Organization) -> Db:
    """PLAN issued by the focal official: its outbox rows wait in ``db``."""
    with unit_of_work(db.sessions) as session:
        issue_plan(
            session,
            engine,
            PLAN,
            CRITERIA,
            org.actor("nguyen.thi.lan"),
            {u.code: u.name for u in org.units},
        )
    return db


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- SMTP ------------------------------------------------------------------------------------


@dataclass
class Received:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


@dataclass
class Inbox:
    """aiosmtpd handler keeping what it receives; ``refuse`` answers RCPT with that reply."""

    received: list[Received] = field(default_factory=list)
    refuse: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        with self.lock:
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """An SMTP server on 127.0.0.1:``port`` that tests start and stop."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        with self.inbox.lock:
            return list(self.inbox.received)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on a free loopback port, not started yet (the test starts it)."""
    server = SmtpServer(free_port())
    try:
        yield server
    finally:
        server.stop()


# --- webhook ---------------------------------------------------------------------------------


@dataclass
class Hook:
    """A request the webhook receiver got."""

    headers: dict[str, str]
    body: dict[str, Any]


class WebhookServer:
    """An HTTP server on 127.0.0.1 answering POSTs with ``status`` and keeping them."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[Hook] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                owner.requests.append(Hook(dict(self.headers.items()), body))
                self.send_response(owner.status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.end_headers()
                self.wfile.write(f"status {owner.status}".encode())

            # The name of BaseHTTPRequestHandler.log_message's parameter, which this overrides.
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cchc"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    """A local webhook receiver (http.server in a thread)."""
    server = WebhookServer()
    try:
        yield server
    finally:
        server.close()
