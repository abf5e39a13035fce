"""Access from the command line: every mutating command refuses the inspector, and reads are
scoped to the reader's unit. A refusal exits 1 and writes nothing but its audit event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner, Result

from cchc.cli import LazyGroup, app
from cchc.commands import cycle_common
from tests.conftest import Clock
from tests.test_cli_cycle import METRICS_CSV, PDF, PLAN, PLAN_YAML
from workflows.database import make_engine

runner = CliRunner()

FOCAL = "nguyen.thi.lan"  # focal official, vhxh
KT_OFFICIAL = "ngo.thi.ha"  # official of kt (owns NV-01 and 1.1.3's neighbour 6.2.1)
INSPECTOR = "cu.van.son"
ADMIN = "tran.van.minh"


class Ticking(Clock):
    """A clock that moves one minute every time it is read (events keep their order)."""

    def __call__(self) -> datetime:
        return self.advance(minutes=1)


class Ward:
    """A data folder with the plan issued, a piece of evidence submitted and metrics imported."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "var"
        self.env = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}
        self.plan_file = folder / "ke-hoach.yaml"
        self.plan_file.write_text(PLAN_YAML, encoding="utf-8")
        self.pdf = folder / "bao-cao.pdf"
        self.pdf.write_bytes(PDF)
        self.other_pdf = folder / "bao-cao-2.pdf"
        self.other_pdf.write_bytes(PDF.replace(b"Catalog", b"Catalog /Lang (vi)"))
        self.metrics = folder / "so-lieu.csv"
        self.metrics.write_text(METRICS_CSV, encoding="utf-8")
        self.evidence: dict[str, Any] = {}

    def __call__(self, *args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(self.data), *args], env=self.env)

    def ok(self, *args: str) -> Any:
        """Run, check exit 0, and return the JSON printed (``--json`` is added)."""
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a query on the ward's database."""
        engine = make_engine(f"sqlite:///{self.data / 'cchc.sqlite3'}")
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.text(sql), params))
        finally:
            engine.dispose()

    def snapshot(self) -> tuple[dict[str, list[Any]], int, list[tuple[str, int]]]:
        """Every table but the audit trail, the number of audit events, the stored files."""
        tables = [
            name
            for (name,) in self.rows("select name from sqlite_master where type = 'table'")
            if name not in {"audit_events", "audit_chain_heads"}
        ]
        content = {name: sorted(map(repr, self.rows(f'select * from "{name}"'))) for name in tables}
        events = int(self.rows("select count(*) from audit_events")[0][0])
        files = sorted(
            (str(p.relative_to(self.data)), p.stat().st_size)
            for p in self.data.rglob("*")
            if p.is_file() and not p.name.startswith("cchc.sqlite3")
        )
        return content, events, files

    def last_events(self, n: int) -> list[Any]:
        """The last ``n`` audit events, newest first."""
        return self.rows(
            "select actor, kind, trigger, outcome, reason from audit_events "
            "order by id desc limit :n",
            n=n,
        )


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    """One ward for the module, on a clock in November 2025."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 11, 3, 2, 0, tzinfo=UTC)))
        w = Ward(tmp_path_factory.mktemp("ward"))
        assert w("db", "upgrade").exit_code == 0
        w.ok("plan", "issue", str(w.plan_file), "--as", FOCAL)
        w.evidence = w.ok(
            "evidence",
            "submit",
            str(w.pdf),
            "--plan",
            PLAN,
            "--target",
            "task:NV-01",
            "--as",
            KT_OFFICIAL,
        )
        w.ok("metrics", "import", str(w.metrics), "--period", "2025-H2", "--as", FOCAL)
        yield w


def _mutating(ward: Ward) -> dict[str, list[str]]:
    sha = str(ward.evidence["sha256"])
    return {
        "plan issue": ["plan", "issue", str(ward.plan_file)],
        "tasks fire": ["tasks", "fire", "NV-01", "start", "--plan", PLAN],
        "assessments fire": [
            "assessments",
            "fire",
            "1.1.3",
            "self_score",
            "--plan",
            PLAN,
            "--points",
            "1",
        ],
        "evidence submit": [
            "evidence",
            "submit",
            str(ward.other_pdf),
            "--plan",
            PLAN,
            "--target",
            "criterion:1.1.3",
        ],
        "evidence review": [
            "evidence",
            "review",
            str(ward.evidence["id"]),
            "accept",
            "--sha256",
            sha,
        ],
        "metrics import": ["metrics", "import", str(ward.metrics), "--period", "2025-H2"],
        "score run": ["score", "run", "--plan", PLAN],
        "rank run": ["rank", "run", "--plan", PLAN, "--publish"],
        "review run": ["review", "run", "--plan", PLAN, "--month", "2025-10"],
        "review issue-notice": [
            "review",
            "issue-notice",
            "--plan",
            PLAN,
            "--month",
            "2025-10",
            "--number",
            "15/TB-UBND",
        ],
        "notify send": ["notify", "send"],
        "sweep": ["sweep"],
        "assessments lock-approved": ["assessments", "lock-approved", "--plan", PLAN],
    }


MUTATING = [
    "plan issue",
    "tasks fire",
    "assessments fire",
    "evidence submit",
    "evidence review",
    "metrics import",
    "score run",
    "rank run",
    "review run",
    "review issue-notice",
    "notify send",
    "sweep",
    "assessments lock-approved",
]
"""Every command that changes stored data and acts as someone (`--as`)."""


@pytest.mark.parametrize("command", MUTATING)
def test_every_mutating_command_refuses_the_inspector(ward: Ward, command: str) -> None:
    """Run as the inspector: exit 1 in Vietnamese, and only the refusal is written."""
    before, events, files = ward.snapshot()
    result = ward(*_mutating(ward)[command], "--as", INSPECTOR)
    assert result.exit_code == 1, result.output
    assert "không có quyền" in result.output
    after, events_after, files_after = ward.snapshot()
    assert after == before
    assert files_after == files
    assert events_after == events + 1
    [(actor, _kind, _trigger, outcome, reason)] = ward.last_events(1)
    assert (actor, outcome) == (INSPECTOR, "refused")
    assert reason.startswith("not_permitted: ")


def _commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(``group sub``, command) for every leaf command under a (typer-built click) group."""
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


READS = {
    "tasks list",
    "assessments list",
    "score explain",
    "score at-risk",
    "export",
}
"""The reads this module checks for unit scope (other reads are checked where they live)."""


def test_the_matrix_names_every_mutating_command_with_an_acting_person() -> None:
    """Each command of the cycle that takes --as is either in the inspector matrix or a read."""
    root = typer.main.get_command(app)
    assert isinstance(root, LazyGroup)
    root.load_all()
    acting = {
        name
        for name, command in _commands(root)
        if any("--as" in getattr(p, "opts", ()) for p in command.params)
    }
    assert set(MUTATING) <= acting
    assert acting >= READS
    cycle_groups = {
        "plan",
        "tasks",
        "assessments",
        "evidence",
        "metrics",
        "score",
        "rank",
        "review",
        "notify",
    }
    unclassified = {
        name for name in acting - set(MUTATING) - READS if name.split(" ")[0] in cycle_groups
    }
    assert unclassified <= {"evidence list", "evidence coverage", "evidence verify"}


def test_an_official_lists_only_their_own_unit(ward: Ward) -> None:
    """Without --unit a unit's official sees their unit's tasks and assessments, nothing else."""
    tasks = ward.ok("tasks", "list", "--as", KT_OFFICIAL)
    assert [t["owner_unit"] for t in tasks] == ["kt"]
    assessments = ward.ok("assessments", "list", "--plan", PLAN, "--as", KT_OFFICIAL)
    assert assessments
    assert {a["owner_unit"] for a in assessments} == {"kt"}
    everything = ward.ok("tasks", "list", "--as", INSPECTOR)
    assert [t["owner_unit"] for t in everything] == ["kt", "ttphc", "vhxh"]


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["tasks", "list", "--unit", "ttphc"], "tasks of unit ttphc"),
        (["assessments", "list", "--plan", PLAN, "--unit", "vhxh"], "assessments of unit vhxh"),
        (["score", "explain", "3.4.1", "--plan", PLAN], "the score of 3.4.1"),
        (["score", "at-risk", "--plan", PLAN, "--unit", "vp"], "points at risk of unit vp"),
        (["export", "--plan", PLAN, "--out", "OUT"], "the ward's self-assessment and ranking"),
    ],
    ids=["tasks list", "assessments list", "score explain", "score at-risk", "export"],
)
def test_reading_another_unit_or_the_whole_ward_is_refused_and_audited(
    ward: Ward, args: list[str], what: str
) -> None:
    """A unit's official asking for another unit (or the whole ward) exits 1; it is audited."""
    args = [str(ward.folder / "out") if a == "OUT" else a for a in args]
    before, events, files = ward.snapshot()
    result = ward(*args, "--as", KT_OFFICIAL)
    assert result.exit_code == 1, result.output
    assert "không có quyền xem" in result.output
    assert ward.snapshot() == (before, events + 1, files)
    assert not (ward.folder / "out").exists()
    [(actor, kind, trigger, outcome, reason)] = ward.last_events(1)
    assert (actor, kind, trigger, outcome) == (KT_OFFICIAL, "access", "read", "refused")
    assert reason.startswith("not_permitted: ")
    assert what in reason


def test_notifications_are_sent_by_the_admin_or_the_focal_unit_only(ward: Ward) -> None:
    """A unit's official may not deliver the outbox (refused, audited); the admin may."""
    refused = ward("notify", "send", "--as", KT_OFFICIAL)
    assert refused.exit_code == 1
    assert "không có quyền" in refused.output
    assert ward.last_events(1)[0][:4] == (KT_OFFICIAL, "outbox", "send", "refused")
    sent = ward.ok("notify", "send", "--as", ADMIN)
    assert sent["sent"] > 0


def test_an_unknown_reader_is_a_mistake_not_a_refusal(ward: Ward) -> None:
    """An unknown --as on a read exits 2 with a did-you-mean hint and audits nothing."""
    events = ward.snapshot()[1]
    result = ward("tasks", "list", "--as", "cu.van.sonn")
    assert result.exit_code == 2
    assert "did you mean 'cu.van.son'?" in result.output
    assert ward.snapshot()[1] == events


def test_an_official_may_not_import_another_units_metrics(ward: Ward) -> None:
    """A kt official importing ttphc's figures is refused and audited; nothing is imported."""
    before, events, files = ward.snapshot()
    result = ward(
        "metrics", "import", str(ward.metrics), "--period", "2025-H2", "--as", KT_OFFICIAL
    )
    assert result.exit_code == 1, result.output
    assert "không có quyền" in result.output
    assert "ttphc" in result.output
    assert ward.snapshot() == (before, events + 1, files)
    assert ward.last_events(1)[0][:4] == (KT_OFFICIAL, "metric_import", "import", "refused")


@pytest.mark.parametrize(
    ("who", "exit_code", "message"),
    [
        ({"--as": INSPECTOR}, 1, "không có quyền"),
        ({"--chair": "dang.van.thangg"}, 2, "did you mean 'dang.van.thang'"),
        ({"--sweep-as": INSPECTOR}, 1, "không có quyền"),
    ],
    ids=["reviews as the inspector", "unknown chair", "sweep as the inspector"],
)
def test_deploy_refuses_who_could_not_do_the_scheduled_work(
    ward: Ward, who: dict[str, str], exit_code: int, message: str
) -> None:
    """`cchc deploy` checks the people its scheduled runs act as before registering anything:
    an unknown person exits 2 with a hint, one without the roles exits 1 (the refusal audited)."""
    options = {"--as": FOCAL, "--chair": "dang.van.thang", **who}
    args = [arg for option, value in options.items() for arg in (option, value)]
    _, events, _ = ward.snapshot()
    result = ward("deploy", "--plan", PLAN, *args)
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert ward.snapshot()[1] == events + (exit_code == 1)
