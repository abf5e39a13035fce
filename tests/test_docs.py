"""The documentation says what the code does: commands it names exist, formats it describes
are the ones the code reads, and the configuration table lists every global option."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from cchc.cli import app
from cchc.metrics.values import COLUMNS, check_metrics
from tests.conftest import DEFINITIONS, ROOT

runner = CliRunner()
DOCS = ROOT / "docs"
UNITS = {"vhxh", "vp", "kt", "ttphc", "ttsnc"}


def test_readme_configuration_table_lists_every_global_option() -> None:
    """Each global option with an environment variable has its row: option, variable."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n\n", 2)[1]
    rows = {
        tuple(cell.strip() for cell in line.strip("|").split("|"))
        for line in table.splitlines()[2:]
    }
    pairs = {(row[1], row[2]) for row in rows if len(row) == 4}
    for param in typer.main.get_command(app).params:
        if param.envvar:
            option = max(param.opts, key=len)
            assert (f"`{option}`", f"`{param.envvar}`") in pairs, option


def test_index_set_doc_names_the_check_command_that_exists(tmp_path: Path) -> None:
    """docs/index-sets.md shows `cchc index-set check`, which reports a bad file's problems."""
    text = (DOCS / "index-sets.md").read_text(encoding="utf-8")
    assert "no CLI command" not in text
    assert "cchc index-set check" in text
    bad = tmp_path / "bad.yaml"
    sample = DEFINITIONS / "index-sets" / "par-2025-ward-sample.yaml"
    text = re.sub(
        r"owner_unit: \w+", "owner_unit: khongco", sample.read_text(encoding="utf-8"), count=1
    )
    bad.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["index-set", "check", str(bad)], env={"CCHC_ORGANIZATION": ""})
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(bad))}:\d+: CCHC-I009 ", result.output)


def test_metric_file_format_is_documented_as_the_code_reads_it(tmp_path: Path) -> None:
    """docs/metrics.md names every header the reader accepts, and its example file passes."""
    text = (DOCS / "metrics.md").read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.strip().startswith("|")]
    documented = {h.lower() for line in table for h in re.findall(r"`([^`]+)`", line)}
    assert set(COLUMNS) <= documented
    assert "without a denominator" in text
    example = text.split("```csv\n", 1)[1].split("```", 1)[0]
    (tmp_path / "so-lieu.csv").write_text(example, encoding="utf-8")
    values, problems = check_metrics(
        tmp_path / "so-lieu.csv",
        known_units=UNITS,
        period="2025-H2",
        known_metrics={"on_time_dossiers", "online_payments", "late_reports"},
    )
    assert problems == []
    assert values is not None
    events = [v for v in values if v.metric == "late_reports"]
    assert [(v.numerator, v.denominator) for v in events] == [(1, None)]
