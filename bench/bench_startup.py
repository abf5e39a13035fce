"""What a ``cchc`` command costs as a whole process: start-up, imports, the command itself.

Each command runs ``--runs`` times as its own process (``subprocess.run``), next to
``python -c pass`` for the interpreter alone; the table shows the median and the fastest wall
time and the median CPU time (user + system of the child, from ``resource.getrusage``). The
commands run on a fresh SQLite data folder with the sample plan issued. ``--flow`` also times a
flow command (``cchc sweep``) against a ``prefect server start`` the script starts on a free
port with its own ``PREFECT_HOME``, and once with no server (Prefect's temporary server). See
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CCHC = str(BIN / "cchc")
PLAN = ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"
FOCAL, OFFICIAL, ADMIN = "nguyen.thi.lan", "bui.duc.anh", "tran.van.minh"


@dataclass(frozen=True)
class Timing:
    """The runs of one command: wall and CPU seconds of each."""

    name: str
    walls: list[float]
    cpus: list[float]

    def as_json(self) -> dict[str, float | int | str]:
        """Medians and the fastest wall time, in milliseconds."""
        return {
            "command": self.name,
            "runs": len(self.walls),
            "wall_median_ms": round(1000 * statistics.median(self.walls), 1),
            "wall_min_ms": round(1000 * min(self.walls), 1),
            "cpu_median_ms": round(1000 * statistics.median(self.cpus), 1),
        }


def run_once(args: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process running ``args`` (which must exit 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(
    name: str, commands: Sequence[Sequence[str]], env: dict[str, str], warm_up: bool = True
) -> Timing:
    """Run each of ``commands`` once, in order (after an untimed run of the first)."""
    if warm_up:
        run_once(commands[0], env)
    walls, cpus = [], []
    for args in commands:
        wall, cpu = run_once(args, env)
        walls.append(wall)
        cpus.append(cpu)
    return Timing(name, walls, cpus)


def ward_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment on the data folder, without any CCHC_ or PREFECT_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCHC_", "PREFECT_"))}
    env.update(CCHC_DATA_DIR=str(data_dir), DO_NOT_TRACK="1", **extra)
    return env


def fires(runs: int) -> list[list[str]]:
    """``runs`` single fires on task NV-01, alternately submitting and returning its product."""
    submit = [
        CCHC,
        "tasks",
        "fire",
        "NV-01",
        "submit_product",
        "--product",
        "Kế hoạch",
        "--as",
        OFFICIAL,
    ]
    back = [CCHC, "tasks", "fire", "NV-01", "return_product", "--reason", "Bổ sung", "--as", FOCAL]
    return [submit if i % 2 == 0 else back for i in range(runs)]


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """``prefect server start`` on a free port with its own home; its API URL. Stopped after."""
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"prefect server did not start; see {home / 'server.log'}")
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield api
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Set up a ward, time the commands, print the table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per command (default 10)")
    parser.add_argument(
        "--flow",
        action="store_true",
        help="also time `cchc sweep` against a server and without one",
    )
    parser.add_argument("--flow-runs", type=int, default=3, help="sweeps per setting (default 3)")
    options = parser.parse_args(argv)
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    results: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="cchc-bench-startup-") as folder:
        data_dir = Path(folder) / "var"
        env = ward_env(data_dir)
        for args in (
            ["db", "upgrade"],
            ["plan", "issue", str(PLAN), "--as", FOCAL],
            ["tasks", "fire", "NV-01", "start", "--as", OFFICIAL],
        ):
            run_once([CCHC, *args], env)
        n = options.runs
        results.append(measure("python -c pass", [[sys.executable, "-c", "pass"]] * n, env))
        results.append(measure("cchc --help", [[CCHC, "--help"]] * n, env))
        listing = [CCHC, "tasks", "list", "--plan", "KH-CCHC-2025-H2", "--as", FOCAL]
        results.append(measure("cchc tasks list", [listing] * n, env))
        results.append(measure("cchc tasks fire", fires(n), env, warm_up=False))
        if options.flow:
            sweep = [[CCHC, "sweep", "--as", ADMIN]] * options.flow_runs
            home = Path(folder) / "prefect-home"
            home.mkdir()
            with prefect_server(home) as api:
                served = ward_env(data_dir, PREFECT_HOME=str(home), PREFECT_API_URL=api)
                results.append(measure("cchc sweep (server)", sweep, served))
            alone = ward_env(data_dir, PREFECT_HOME=str(Path(folder) / "prefect-temp"))
            results.append(measure("cchc sweep (temporary server)", sweep, alone))
            shutil.rmtree(home, ignore_errors=True)
    print(f"\n{'command':32} {'runs':>4} {'wall median':>12} {'wall min':>9} {'CPU median':>11}")
    for timing in results:
        row = timing.as_json()
        print(
            f"{timing.name:32} {row['runs']:>4} {row['wall_median_ms']:>9.0f} ms "
            f"{row['wall_min_ms']:>6.0f} ms {row['cpu_median_ms']:>8.0f} ms"
        )
    print(json.dumps({"bench": "startup", "results": [t.as_json() for t in results]}))


if __name__ == "__main__":
    main()
