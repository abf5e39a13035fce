"""The ``cchc`` command line: definitions check and diagram, db upgrade, audit verify and query."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cchc.cli import app
from cchc.migrations import SchemaOutdatedError
from cchc.settings import sqlite_url
from cchc.vi_text import number as points
from cchc.workspace import Workspace
from tests.conftest import DEFINITIONS
from tests.helpers import KIND
from workflows.database import Settings, make_engine, session_factory, unit_of_work
from workflows.engine import Engine
from workflows.registry import Actor

runner = CliRunner()
WARD = "phuong-phu-lien"
"""The tenant of the sample organization, whose inspector runs the audit commands."""
INSPECTOR = "cu.van.son"


def _broken_copy(tmp_path: Path) -> Path:
    """definitions/ copied with a misspelled destination, a duplicate trigger and an unknown key."""
    copy = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, copy)
    path = copy / "workflows" / f"{KIND}.yaml"
    text = path.read_text("utf-8")
    text = text.replace("    dest: accepted\n", "    dest: acepted\n", 1)
    text = text.replace("  - trigger: reject\n", "  - trigger: accept\n", 1)
    text = text.replace("    label: Bản nháp\n", "    label: Bản nháp\n    colour: grey\n", 1)
    path.write_text(text, "utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(
        n for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in line
    )


def test_check_shipped_definitions_exits_zero() -> None:
    """`cchc definitions check definitions/` accepts the shipped definitions."""
    result = runner.invoke(app, ["definitions", "check", str(DEFINITIONS)])
    assert result.exit_code == 0, result.output
    assert "approval_request v2" in result.output


def test_check_reports_three_defects_with_file_and_line(tmp_path: Path) -> None:
    """A copy with three defects exits 1 and names each as file:line: CODE."""
    path = _broken_copy(tmp_path)
    result = runner.invoke(app, ["definitions", "check", str(tmp_path / "definitions")])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    expected = {
        ("CCHC-D004", _line_of(path, "dest: acepted")),
        (
            "CCHC-D006",
            [
                n
                for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
                if line == "  - trigger: accept"
            ][1],
        ),
        ("CCHC-D002", _line_of(path, "colour: grey")),
    }
    found = set()
    for line in lines:
        location, _, rest = line.partition(": ")
        file, _, number = location.rpartition(":")
        assert file.endswith(f"{KIND}.yaml")
        found.add((rest.split(" ", 1)[0], int(number)))
    assert expected <= found
    assert "did you mean 'accepted'?" in result.stdout


def test_check_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    """A path that does not exist is reported, with exit 2."""
    result = runner.invoke(app, ["definitions", "check", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_diagram_is_mermaid() -> None:
    """`cchc definitions diagram KIND` prints a Mermaid state diagram with every transition, its
    separation of duties and its declared exception."""
    result = runner.invoke(app, ["definitions", "diagram", KIND])
    assert result.exit_code == 0
    assert result.stdout.startswith("stateDiagram-v2\n")
    assert (
        "    submitted --> accepted: accept [reviewer] (not by submit, resubmit; if not_creator)"
        in result.stdout
    )
    assert "draft --> withdrawn: withdraw [author] (the submitter may too)" in result.stdout
    assert 'state "Đã chấp thuận" as accepted' in result.stdout


def test_diagram_unknown_kind_suggests() -> None:
    """An unknown kind exits 2 with a did-you-mean hint."""
    result = runner.invoke(app, ["definitions", "diagram", "aproval_request"])
    assert result.exit_code == 2
    assert "did you mean 'approval_request'" in result.output


def test_commands_on_an_empty_data_dir_say_to_upgrade(tmp_path: Path) -> None:
    """Audit commands on a database without schema tell the user to run `cchc db upgrade`."""
    result = runner.invoke(
        app,
        ["--data-dir", str(tmp_path), "audit", "verify", "--as", INSPECTOR],
        env={"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": ""},
    )
    assert result.exit_code == 2
    assert "cchc db upgrade" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "verify", "--as", INSPECTOR],
        ["notify", "send", "--as", "tran.van.minh"],
        ["tasks", "list", "--plan", "KH-1", "--as", "nguyen.thi.lan"],
        ["sweep", "--as", "tran.van.minh"],
    ],
)
def test_a_data_folder_without_database_is_left_untouched(
    tmp_path: Path, command: list[str]
) -> None:
    """A command on a data folder with no database names `cchc db upgrade` and creates no file."""
    folder = tmp_path / "var"
    result = runner.invoke(
        app,
        ["--data-dir", str(folder), *command],
        env={"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": ""},
    )
    assert result.exit_code == 2, result.output
    assert "cchc db upgrade" in result.output
    assert not folder.exists()


def test_a_workspace_is_not_opened_on_a_missing_database(tmp_path: Path) -> None:
    """Workspace.open (the flows' way in) refuses a missing SQLite file without creating it."""
    folder = tmp_path / "var"
    with pytest.raises(SchemaOutdatedError, match="cchc db upgrade"):
        Workspace.open(Settings(data_dir=folder, database_url=sqlite_url(folder)))
    assert not folder.exists()


@pytest.fixture
def data_dir(tmp_path: Path, engine: Engine) -> Path:
    """A data folder upgraded by the CLI, holding one request taken through review."""
    folder = tmp_path / "var"
    result = runner.invoke(
        app, ["--data-dir", str(folder), "db", "upgrade"], env={"CCHC_DATABASE_URL": ""}
    )
    assert result.exit_code == 0, result.output
    db = make_engine(sqlite_url(folder))
    author = Actor.of("lan", "author", tenant=WARD)
    reviewer = Actor.of("minh", "reviewer", tenant=WARD)
    with unit_of_work(session_factory(db)) as session:
        instance_id = engine.create(session, KIND, actor=author, ref="REQ-1").instance_id
        engine.fire(session, instance_id, "submit", actor=author)
    try:
        with unit_of_work(session_factory(db)) as session:
            engine.fire(session, instance_id, "accept", actor=author)
    except PermissionError:
        pass
    with unit_of_work(session_factory(db)) as session:
        engine.fire(session, instance_id, "accept", actor=reviewer)
    db.dispose()
    return folder


def _cli(data_dir: Path, *args: str) -> tuple[int, str]:
    """Run an audit command as the ward's inspector."""
    result = runner.invoke(
        app,
        ["--data-dir", str(data_dir), *args, "--as", INSPECTOR],
        env={"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": ""},
    )
    return result.exit_code, result.stdout


def test_audit_verify_then_sqlite3_edit_is_named(data_dir: Path) -> None:
    """`cchc audit verify` exits 0, and 1 naming the event after sqlite3 edits its payload."""
    code, out = _cli(data_dir, "audit", "verify")
    assert code == 0
    assert "5 events" in out  # the registration of the reference data, then the work
    database = data_dir / "cchc.sqlite3"
    subprocess.run(
        [
            "sqlite3",
            str(database),
            (
                "DROP TRIGGER audit_events_no_update; "
                'UPDATE audit_events SET payload = \'{"reason":"sửa"}\' WHERE seq = 2;'
            ),
        ],
        check=True,
    )
    code, out = _cli(data_dir, "audit", "verify")
    assert code == 1
    assert "event #2 (seq 2)" in out
    assert "edited" in out


def test_audit_query_json_filters(data_dir: Path) -> None:
    """`cchc audit query --json` prints a JSON array filtered by trigger and outcome."""
    code, out = _cli(data_dir, "audit", "query", "--trigger", "accept", "--json")
    assert code == 0
    events = json.loads(out)
    assert [(e["actor"], e["outcome"]) for e in events] == [("lan", "refused"), ("minh", "applied")]
    assert events[1]["from_state"] == "submitted"
    assert events[1]["to_state"] == "accepted"
    code, out = _cli(
        data_dir, "audit", "query", "--outcome", "refused", "--actor", "minh", "--json"
    )
    assert json.loads(out) == []


def test_audit_query_time_range_uses_local_time(data_dir: Path) -> None:
    """--since/--until are read in Asia/Ho_Chi_Minh; a range in the future finds nothing."""
    code, out = _cli(data_dir, "audit", "query", "--since", "2025-11-03", "--json")
    assert code == 0
    assert len(json.loads(out)) == 5  # 4 on 03/11/2025, then the reference data's registration
    code, out = _cli(data_dir, "audit", "query", "--until", "2025-11-03T08:59", "--json")
    assert json.loads(out) == []
    code, _ = _cli(data_dir, "audit", "query", "--since", "hôm qua")
    assert code == 2


def test_audit_query_table_in_vietnamese(data_dir: Path) -> None:
    """The table form has Vietnamese headings and local times."""
    code, out = _cli(data_dir, "audit", "query", "--instance", "1")
    assert code == 0
    assert "Nhật ký thao tác (4 sự kiện)" in out
    assert "03/11/2025 09:00:00" in out
    assert "Bị từ chối (không có quyền)" in out


HEAVY = ("prefect", "matplotlib", "docx", "openpyxl", "alembic", "sqlalchemy")
"""Libraries that cost a start-up a tenth of a second or more each."""


def _imported_by(code: str, *names: str) -> list[str]:
    """Which of ``names`` a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {names!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.splitlines()[-1].replace("'", '"')))


def _cchc(*args: str) -> str:
    """Code running ``cchc ARGS`` as the console script does, ending without an error."""
    return (
        f"import sys\nsys.argv = ['cchc', *{list(args)!r}]\nfrom cchc.cli import main\n"
        "try:\n    main()\n"
        "except SystemExit as exit:\n    assert not exit.code, exit.code"
    )


def test_engine_import_does_not_import_prefect() -> None:
    """Importing the engine does not import prefect."""
    assert _imported_by("import workflows, workflows.engine, workflows.audit", "prefect") == []


def test_help_imports_no_heavy_library() -> None:
    """`cchc --help` imports none of prefect, matplotlib, docx, openpyxl, alembic, sqlalchemy."""
    assert _imported_by(_cchc("--help"), *HEAVY) == []


@pytest.mark.parametrize(
    "args",
    [
        ("tasks", "--help"),
        ("tasks", "list", "--help"),
        ("audit", "verify", "--help"),
        ("db", "--help"),
    ],
)
def test_a_command_imports_only_what_it_needs(args: tuple[str, ...]) -> None:
    """Commands that write no document import no prefect, matplotlib, docx, openpyxl, alembic."""
    assert _imported_by(_cchc(*args), *HEAVY[:5]) == []


def test_opening_a_workspace_does_not_import_alembic() -> None:
    """Checking that the schema is current (every command does) needs no Alembic."""
    assert _imported_by("import cchc.workspace, cchc.migrations", "alembic") == []


def test_help_lists_each_command_with_its_own_help() -> None:
    """`cchc --help` shows each sub-command's help as its module states it, without loading it."""
    from cchc.cli import SUBCOMMANDS, load_subcommand

    listing = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    for name, (_, _, shown) in SUBCOMMANDS.items():
        command = load_subcommand(name)
        assert command.name == name
        assert (command.help or "").split("\n\n")[0].strip() == shown, name
        assert shown in listing.output, name
        sub = runner.invoke(app, [name, "--help"])
        assert sub.exit_code == 0, sub.output


def test_a_mistyped_command_gets_a_suggestion() -> None:
    """`cchc taks` names the sub-command meant, though sub-commands load only on use."""
    result = runner.invoke(app, ["taks"])
    assert result.exit_code == 2
    assert "Did you mean 'tasks'?" in result.output


def test_points_in_tables_always_have_two_decimals() -> None:
    """Points show 2 decimals ("2,40" beside "3,96", "14,00"), in `index-set show` too."""
    assert [points(Decimal(v)) for v in ("2.4", "3.96", "14", "-1", "1234.5")] == [
        "2,40",
        "3,96",
        "14,00",
        "-1,00",
        "1.234,50",
    ]
    env = {"CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": "", "COLUMNS": "200"}
    result = runner.invoke(app, ["index-set", "show"], env=env)
    assert result.exit_code == 0, result.output
    cells = [
        line.split("│")[3].strip() for line in result.stdout.splitlines() if line.startswith("│")
    ]
    assert len(cells) > 60
    assert all(re.fullmatch(r"[-+]?\d+,\d\d", cell) for cell in cells), cells
