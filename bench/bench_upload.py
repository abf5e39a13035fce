"""Memory of the web application while it receives a large evidence upload.

Serves the application with ``cchc serve`` (uvicorn, one worker) in a subprocess on a fresh
data folder (the example plan issued, the demo accounts made as ``cchc demo`` makes them),
signs in as a Phòng Kinh tế official, streams one file (200 MB by default) to a task's upload
form and samples the server's resident memory (``VmRSS`` of ``/proc/<pid>/status``, with its
children's) every 20 ms. Prints the idle RSS, the peak RSS during the upload, peak − idle,
the upload's wall time and throughput, and one JSON line.

    .venv/bin/python bench/bench_upload.py [--megabytes 200] [--data-dir DIR]

The limit per file is raised for the run with ``CCHC_MAX_FILE_BYTES`` (the one setting for
file sizes, which the evidence store reads). Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from _common import data_folder

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"
OFFICIAL = "ngo.thi.ha"
TASK_REF = "KH-CCHC-2025-H2/NV-06"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
MiB = 1024 * 1024
SAMPLE_SECONDS = 0.02


def _cli(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, "-c", "from cchc.cli import main; main()", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cchc {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _prepare(env: dict[str, str]) -> None:
    """The schema, the example plan, and an account for every person (the demo password)."""
    _cli(env, "db", "upgrade")
    _cli(env, "plan", "issue", str(PLAN), "--as", "nguyen.thi.lan")
    code = (
        "from cchc.accounts.demo import create_demo_accounts\n"
        "from cchc.settings import resolve_settings\n"
        "from cchc.workspace import Workspace\n"
        "ws = Workspace.open(resolve_settings())\n"
        "create_demo_accounts(ws)\n"
        "ws.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and of its children, in KiB (0 once it is gone)."""
    total = 0
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    for each in pids:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total


class Sampler(threading.Thread):
    """Samples the server's RSS every 20 ms until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, _rss_kib(self.pid))
            self.samples += 1
            time.sleep(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _big_file(path: Path, megabytes: int) -> str:
    """A PDF-headed file of ``megabytes`` MiB written in 1 MiB chunks; its sha256."""
    digest = hashlib.sha256()
    chunk = os.urandom(MiB)
    with path.open("wb") as out:
        head = b"%PDF-1.7\n" + chunk[9:]
        for i in range(megabytes):
            block = head if i == 0 else chunk
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


def _csrf(text: str) -> str:
    found = CSRF.search(text)
    if not found:
        raise SystemExit("no CSRF token on the page")
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200, help="size of the file (MiB)")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the data here")
    args = parser.parse_args()
    with data_folder(args.data_dir) as folder:
        data = folder / "var"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
        env.update(
            CCHC_DATA_DIR=str(data),
            CCHC_NOTIFY_CHANNEL="maildir",
            CCHC_MAX_FILE_BYTES=str((args.megabytes + 16) * MiB),
        )
        _prepare(env)
        big = folder / "ban-do-so-hoa.pdf"
        sha256 = _big_file(big, args.megabytes)
        from cchc.accounts.demo import DEMO_PASSWORD

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = (folder / "serve.log").open("w")
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from cchc.cli import main; main()",
                "serve",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{url}/sign-in", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            with httpx.Client(base_url=url, timeout=600, follow_redirects=True) as browser:
                form = browser.get("/sign-in")
                signed = browser.post(
                    "/sign-in",
                    data={
                        "login": OFFICIAL,
                        "password": DEMO_PASSWORD,
                        "next": "/",
                        "csrf": _csrf(form.text),
                    },
                )
                assert signed.status_code == 200, signed.text
                listing = browser.get("/tasks?show=all").text
                task_id = re.search(r'href="/tasks/(\d+)"><span class="ref">' + TASK_REF, listing)
                assert task_id, "the task NV-06 is not on the official's list"
                task_url = f"/tasks/{task_id.group(1)}"
                token = _csrf(browser.get(task_url).text)
                time.sleep(1.0)
                idle = min(_rss_kib(server.pid) for _ in range(10))
                sampler = Sampler(server.pid)
                sampler.start()
                started = time.perf_counter()
                with big.open("rb") as handle:
                    done = browser.post(
                        f"{task_url}/evidence",
                        data={"csrf": token},
                        files={"files": (big.name, handle, "application/pdf")},
                    )
                seconds = time.perf_counter() - started
                time.sleep(0.1)
                sampler.stop()
            if done.status_code != 200 or sha256 not in done.text:
                raise SystemExit(f"the upload failed ({done.status_code}):\n{done.text[-2000:]}")
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    peak = sampler.peak
    size_mb = args.megabytes
    print(f"file                 {size_mb} MiB, stored as {sha256[:16]}…")
    print(f"idle RSS             {idle / 1024:8.1f} MiB")
    print(f"peak RSS (upload)    {peak / 1024:8.1f} MiB  ({sampler.samples} samples, 20 ms)")
    print(f"peak − idle          {(peak - idle) / 1024:8.1f} MiB  (target < 50 MiB)")
    print(f"upload time          {seconds:8.2f} s  ({size_mb / seconds:.1f} MiB/s)")
    print(
        json.dumps(
            {
                "megabytes": size_mb,
                "idle_rss_mib": round(idle / 1024, 1),
                "peak_rss_mib": round(peak / 1024, 1),
                "peak_minus_idle_mib": round((peak - idle) / 1024, 1),
                "upload_seconds": round(seconds, 2),
                "samples": sampler.samples,
            }
        )
    )


if __name__ == "__main__":
    main()
