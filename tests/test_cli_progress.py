"""Long commands draw a transient progress bar on stderr when it is a terminal, never with
``--json`` and never when stderr is not a terminal; stdout is the same either way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"
FOCAL = "nguyen.thi.lan"
ENV = {
    "CCHC_DATABASE_URL": "",
    "CCHC_ORGANIZATION": "",
    "CCHC_INDEX_SET": "",
    "CCHC_CITY": "",
    "CCHC_TENANT": "",
    "TERM": "xterm-256color",
    "COLUMNS": "120",
    "PYTHONPATH": str(ROOT),
}


def cchc(*args: str, tty: bool) -> tuple[int, str, str]:
    """Run the CLI in a process of its own: (exit code, stdout, stderr); with ``tty`` its
    stderr is a pseudo-terminal."""
    command = [sys.executable, "-c", "from cchc.cli import main; main()", *args]
    env = {**os.environ, **ENV}
    if not tty:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=300, check=False
        )
        return done.returncode, done.stdout, done.stderr
    master, slave = os.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other end closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    stdout, _ = process.communicate(timeout=300)
    reader.join(10)
    os.close(master)
    return process.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated data folder."""
    data = tmp_path_factory.mktemp("progress") / "var"
    code, _, err = cchc("--data-dir", str(data), "db", "upgrade", tty=False)
    assert code == 0, err
    return data


def test_plan_issue_and_audit_verify_draw_a_bar_on_a_terminal(folder: Path) -> None:
    """On a terminal `plan issue` counts 12 tasks + 57 assessments, `audit verify` its events;
    with --json the terminal gets nothing and stdout is plain JSON."""
    code, out, err = cchc(
        "--data-dir", str(folder), "plan", "issue", str(PLAN), "--as", FOCAL, tty=True
    )
    assert code == 0, out + err
    assert "Ban hành kế hoạch KH-CCHC-2025-H2" in err
    assert "69/69" in err
    assert "Đã ban hành kế hoạch" in out
    assert "\x1b" not in out

    code, out, err = cchc(
        "--data-dir", str(folder), "plan", "issue", str(PLAN), "--as", FOCAL, "--json", tty=True
    )
    assert code == 0, out + err
    assert json.loads(out)["replayed"] is True
    assert "Ban hành" not in err

    code, out, err = cchc(
        "--data-dir", str(folder), "audit", "verify", "--as", "cu.van.son", tty=True
    )
    assert code == 0, out + err
    events = int(out.split("): ")[1].split(" events")[0])
    assert events > 69
    assert "Kiểm tra chuỗi nhật ký" in err
    assert f"{events}/{events}" in err


def test_no_bar_when_stderr_is_not_a_terminal(folder: Path) -> None:
    """Piped stderr (a log file, CI) gets no progress bar."""
    code, out, err = cchc(
        "--data-dir", str(folder), "audit", "verify", "--as", "cu.van.son", tty=False
    )
    assert code == 0, out + err
    assert "Kiểm tra chuỗi nhật ký" not in err
    assert "\x1b" not in err


def test_city_rank_draws_a_bar_over_the_wards(folder: Path) -> None:
    """`city rank` counts the wards' organization files read, then ranking and writing."""
    code, out, err = cchc(
        "--data-dir",
        str(folder),
        "city",
        "rank",
        "--period",
        "2025-H2",
        "--as",
        "giang.van.hieu",
        tty=True,
    )
    assert code == 0, out + err
    assert "Xếp hạng các phường, xã kỳ 2025-H2" in err
    assert "5/5" in err  # three wards, the ranking, the (absent) XLSX
    assert "Xếp hạng chỉ số CCHC" in out
    code, out, err = cchc(
        "--data-dir",
        str(folder),
        "city",
        "rank",
        "--period",
        "2025-H2",
        "--as",
        "giang.van.hieu",
        "--json",
        tty=True,
    )
    assert code == 0, out + err
    assert json.loads(out)
    assert err == ""
