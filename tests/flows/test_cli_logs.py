"""A flow command's terminal shows the Vietnamese lines; Prefect's English INFO lines go to a file.

The commands run as processes (Prefect configures its console handler on import), against the
session's Prefect server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness")]

ROOT = Path(__file__).resolve().parents[2]
CCHC = Path(sys.executable).with_name("cchc")
PREFECT_INFO = "| INFO    |"


def _cchc(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "PREFECT_API"))}
    env.update(
        PREFECT_API_URL=str(PREFECT_API_URL.value()), PREFECT_HOME=os.environ["PREFECT_HOME"]
    )
    done = subprocess.run(
        [str(CCHC), "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_sweep_prints_vietnamese_and_logs_prefect_to_a_file(tmp_path: Path) -> None:
    """`cchc sweep` shows no Prefect INFO line; they are in DATA_DIR/logs/prefect.log."""
    data = tmp_path / "var"
    _cchc(data, "db", "upgrade")
    _cchc(
        data,
        "plan",
        "issue",
        str(ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"),
        "--as",
        "nguyen.thi.lan",
    )
    quiet = _cchc(data, "sweep", "--as", "tran.van.minh")
    assert PREFECT_INFO not in quiet.stdout + quiet.stderr, quiet.stderr
    assert "nhắc hạn" in quiet.stdout
    log = (data / "logs" / "prefect.log").read_text(encoding="utf-8")
    assert "Beginning flow run" in log
    assert "'daily-sweep'" in log

    loud = _cchc(data, "--verbose", "sweep", "--as", "tran.van.minh")
    assert "Beginning flow run" in loud.stderr
    assert "nhắc hạn" in loud.stdout
