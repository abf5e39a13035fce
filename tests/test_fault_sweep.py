"""The daily sweep delivers everything that is due in one run, however many batches it takes."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

import flows.sweep
from cchc.workspace import Workspace
from tests.conftest import Db
from tests.helpers import count
from workflows.canonical import LOCAL_TZ
from workflows.database import Settings, unit_of_work

TASKS = 12
NOW = datetime(2026, 2, 13, 9, tzinfo=LOCAL_TZ)


@pytest.fixture
def ward(db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The sample ward with ``TASKS`` tasks just assigned (their notifications queued), on a
    clock where nothing else is due; deliveries go to the default Maildir."""
    monkeypatch.delenv("CCHC_NOTIFY_CHANNEL", raising=False)
    monkeypatch.delenv("CCHC_MAILDIR", raising=False)
    ws = Workspace.open(Settings(data_dir=tmp_path, database_url=db.url), clock=lambda: NOW)
    units = [unit.code for unit in ws.organization.units]
    with unit_of_work(ws.sessions) as session:
        for i in range(TASKS):
            ws.engine.create(
                session, "task", actor=ws.actor("nguyen.thi.lan"), ref=f"KH-2026/NV-{i:02}",
                data={"plan": "KH-2026", "code": f"NV-{i:02}", "title": "Rà soát TTHC",
                      "expected_product": "Báo cáo", "owner_unit": units[i % len(units)],
                      "owner_unit_name": units[i % len(units)], "support_units": [],
                      "deadline": "2026-06-30", "deadline_text": "30/06/2026", "criteria": []},
            )  # fmt: skip
    yield ws
    ws.close()


def test_sweep_delivers_more_than_one_batch(
    db: Db, ward: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 5 deliveries per dispatch round, one sweep still sends every queued notification
    (it used to stop after the first round: 500 a day)."""
    monkeypatch.setattr(flows.sweep, "DISPATCH_BATCH", 5)

    result = flows.sweep.sweep_ward(ward, "tran.van.minh")

    assert count(db, "outbox") > 2 * 5  # three rounds at least
    assert count(db, "outbox", "status != 'sent'") == 0
    assert count(db, "notification_deliveries", "status != 'sent'") == 0
    assert result["sent"] == count(db, "notification_deliveries", "outbox_id is not null")
    mail = mailbox.Maildir(ward.settings.data_dir / "mail", create=False)
    assert len(mail) == result["sent"] + result["digests"]
