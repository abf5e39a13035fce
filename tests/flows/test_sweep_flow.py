"""The daily-sweep flow: deadline steps acted on, then notifications and digests delivered."""

from __future__ import annotations

import mailbox
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from cchc.settings import sqlite_url
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from flows.sweep import sweep_flow
from workflows.database import Settings, unit_of_work

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]


def test_sweep_flow_reminds_and_delivers(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 13/02/2026 the flow sends the three reminders of a task due 23/02 into the Maildir."""
    monkeypatch.delenv("CCHC_NOTIFY_CHANNEL", raising=False)
    monkeypatch.delenv("CCHC_MAILDIR", raising=False)
    shutil.copy(sqlite_template, tmp_path / "cchc.sqlite3")
    url = sqlite_url(tmp_path)
    ws = Workspace.open(Settings(data_dir=tmp_path, database_url=url))
    with unit_of_work(ws.sessions) as session:
        ws.engine.create(
            session,
            "task",
            actor=ws.actor("nguyen.thi.lan"),
            ref="KH-2026/NV-01",
            data={
                "plan": "KH-2026",
                "code": "NV-01",
                "title": "Rà soát TTHC",
                "expected_product": "Báo cáo",
                "owner_unit": "kt",
                "owner_unit_name": "Phòng Kinh tế, Hạ tầng và Đô thị",
                "support_units": [],
                "deadline": "2026-02-23",
                "deadline_text": "23/02/2026",
                "criteria": [],
            },
        )
    ws.close()
    now = datetime(2026, 2, 13, 9, tzinfo=LOCAL_TZ).isoformat()
    result = sweep_flow(url, str(tmp_path), "tran.van.minh", now=now)
    assert (result["reminders"], result["overdue"]) == (3, 0)
    assert result["sent"] >= 3
    assert (
        len(mailbox.Maildir(tmp_path / "mail", create=False)) == result["sent"] + result["digests"]
    )


def test_sweep_flow_signs_a_checkpoint_kept_as_an_artifact(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a signing key the daily sweep signs the ward's checkpoint: a file and an artifact."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from cchc.anchor import checkpoint_folder, init_key
    from workflows.checkpoint import signature_ok

    monkeypatch.delenv("CCHC_SIGNING_KEY", raising=False)
    monkeypatch.setenv("CCHC_NOTIFY_CHANNEL", "maildir")
    shutil.copy(sqlite_template, tmp_path / "cchc.sqlite3")
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url(tmp_path))
    init_key(settings)
    now = datetime(2026, 2, 13, 9, tzinfo=LOCAL_TZ).isoformat()
    result = sweep_flow(settings.database_url, str(tmp_path), "tran.van.minh", now=now)
    folder = checkpoint_folder(settings)
    latest = folder.latest("phuong-phu-lien")
    assert latest is not None
    assert result["checkpoint"] == {
        "seq": latest.seq,
        "head_hash": latest.head_hash,
        "file": str(folder.root / "phuong-phu-lien" / f"{latest.seq:012d}.json"),
    }
    assert signature_ok(latest, folder.public_key() or b"")
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["audit-checkpoint-phuong-phu-lien"])
            )
        )
    assert any(latest.head_hash in str(artifact.data) for artifact in artifacts)
