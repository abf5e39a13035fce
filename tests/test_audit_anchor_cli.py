"""`cchc keys init`, `cchc audit checkpoint` and `cchc audit verify` against signed checkpoints."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cchc.cli import app
from cchc.settings import sqlite_url
from tests.helpers import KIND
from workflows.database import make_engine, session_factory, unit_of_work
from workflows.engine import Engine
from workflows.registry import Actor

runner = CliRunner()
WARD = "phuong-phu-lien"
INSPECTOR = "cu.van.son"
ENV = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_SIGNING_KEY": ""}


def _run(data_dir: Path, *args: str) -> tuple[int, str]:
    """Run ``cchc --data-dir DATA_DIR ARGS``; exit code and stdout plus stderr."""
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env=ENV)
    return result.exit_code, result.stdout + result.stderr


def _as_inspector(data_dir: Path, *args: str) -> tuple[int, str]:
    return _run(data_dir, *args, "--as", INSPECTOR)


@pytest.fixture
def data_dir(tmp_path: Path, engine: Engine) -> Path:
    """A data folder with a signing key, three requests of the ward and a signed checkpoint."""
    folder = tmp_path / "var"
    assert _run(folder, "db", "upgrade")[0] == 0
    db = make_engine(sqlite_url(folder))
    author = Actor.of("lan", "author", tenant=WARD)
    for n in range(3):
        with unit_of_work(session_factory(db)) as session:
            instance_id = engine.create(session, KIND, actor=author, ref=f"REQ-{n}").instance_id
            engine.fire(session, instance_id, "submit", actor=author)
    db.dispose()
    code, out = _run(folder, "keys", "init")
    assert code == 0, out
    code, out = _as_inspector(folder, "audit", "checkpoint")
    assert code == 0, out
    return folder


def _sql(data_dir: Path, script: str) -> None:
    """Run ``script`` on the ward's SQLite file with the audit triggers dropped."""
    with sqlite3.connect(data_dir / "cchc.sqlite3") as conn:
        for trigger in (
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_chain_heads_no_delete",
            "audit_chain_heads_no_rewind",
        ):
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.executescript(script)


CUT_TAIL = (
    "DELETE FROM outbox WHERE event_id IN (SELECT id FROM audit_events WHERE seq > 4);"
    "DELETE FROM audit_events WHERE seq > 4;"
    "UPDATE audit_chain_heads SET seq = 4, hash = (SELECT hash FROM audit_events WHERE seq = 4);"
)
WIPE = "DELETE FROM outbox; DELETE FROM audit_events; DELETE FROM audit_chain_heads;"


def test_keys_init_makes_a_key_only_its_owner_reads(data_dir: Path) -> None:
    """The private key is 0600 beside no checkpoint; its public key lies with the checkpoints."""
    key = data_dir / "keys" / "checkpoint-signing-key.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert b"PRIVATE KEY" in key.read_bytes()
    public = (data_dir / "checkpoints" / "public-key.pem").read_bytes()
    assert b"PUBLIC KEY" in public
    assert b"PRIVATE" not in public
    assert len(list((data_dir / "checkpoints" / WARD).glob("*.json"))) == 1
    code, out = _run(data_dir, "keys", "init")
    assert code == 2
    assert "exists already" in out


def test_a_key_others_can_read_is_refused(data_dir: Path) -> None:
    """A signing key readable by others is refused with the chmod that fixes it."""
    key = data_dir / "keys" / "checkpoint-signing-key.pem"
    key.chmod(0o644)
    code, out = _as_inspector(data_dir, "audit", "checkpoint")
    assert code == 2
    assert "chmod 600" in out


def test_a_replaced_key_keeps_its_checkpoints_verifiable(data_dir: Path) -> None:
    """After `keys init --force`, the old key's checkpoint still verifies beside the new one's."""
    code, out = _run(data_dir, "keys", "init", "--force")
    assert code == 0, out
    assert len(list((data_dir / "checkpoints" / "retired-keys").glob("*.pem"))) == 1
    _sql(data_dir, "")  # nothing changed in the trail; a new checkpoint of the same seq is kept
    code, out = _as_inspector(data_dir, "audit", "verify")
    assert code == 0, out
    assert "Khớp 1 điểm neo đã ký" in out


def test_verify_reports_the_checkpoints_it_matched(data_dir: Path) -> None:
    """An untouched ward verifies and says it matched its signed checkpoint."""
    code, out = _as_inspector(data_dir, "audit", "verify")
    assert code == 0, out
    assert "7 events" in out  # the three requests' six and the ward's registration
    assert "Khớp 1 điểm neo đã ký" in out


@pytest.mark.parametrize(
    ("script", "named"),
    [(CUT_TAIL, "tail cut: "), (WIPE, "trail deleted: ")],
    ids=["cut tail", "wiped tenant"],
)
def test_verify_names_the_attack(data_dir: Path, script: str, named: str) -> None:
    """`audit verify` exits 1 naming a cut tail with a moved head, or a wiped ward."""
    _sql(data_dir, script)
    code, out = _as_inspector(data_dir, "audit", "verify")
    assert code == 1
    assert re.search(rf"BROKEN tenant '{WARD}': (seq \d+: )?{named}", out), out


def test_verify_against_a_checkpoint_brought_by_the_inspector(
    data_dir: Path, tmp_path: Path
) -> None:
    """With the stored checkpoints gone, --checkpoint FILE still shows the cut tail."""
    (kept,) = (data_dir / "checkpoints" / WARD).glob("*.json")
    brought = tmp_path / "inspector-copy.json"
    shutil.copy(kept, brought)
    shutil.rmtree(data_dir / "checkpoints" / WARD)
    _sql(data_dir, CUT_TAIL)
    code, out = _as_inspector(data_dir, "audit", "verify")
    assert code == 0  # nothing stored is left to compare with
    code, out = _as_inspector(data_dir, "audit", "verify", "--checkpoint", str(brought))
    assert code == 1
    assert "tail cut: " in out


def test_a_checkpoint_of_another_ward_is_refused(data_dir: Path, tmp_path: Path) -> None:
    """--checkpoint of another ward exits 2 naming both wards."""
    (kept,) = (data_dir / "checkpoints" / WARD).glob("*.json")
    other = tmp_path / "other.json"
    other.write_text(kept.read_text().replace(WARD, "xa-khac"), encoding="utf-8")
    code, out = _as_inspector(data_dir, "audit", "verify", "--checkpoint", str(other))
    assert code == 2
    assert "'xa-khac', not 'phuong-phu-lien'" in out


def test_help_does_not_import_cryptography() -> None:
    """`cchc --help` and `cchc audit verify --help` start without importing cryptography."""
    for args in (["--help"], ["audit", "verify", "--help"], ["keys", "--help"]):
        probe = (
            f"import sys\nsys.argv = ['cchc', *{args!r}]\nfrom cchc.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('cryptography' in sys.modules)"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ},
        )
        assert done.stdout.splitlines()[-1] == "False", args
