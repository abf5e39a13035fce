"""`cchc city show`, `cchc city rank` and the global --city / --tenant options."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from cchc.cli import app
from cchc.commands import cycle_common
from tests.test_cli_cycle import PLAN, PLAN_YAML, Cli, Ticking, as_json, ok

runner = CliRunner()
LE_CHAN = "phuong-le-chan"
PL_FOCAL = "nguyen.thi.lan"
LC_FOCAL = "bui.thi.ngoc.anh"
OFFICIAL = "giang.van.hieu"
INPUTS = Path(__file__).resolve().parent.parent / "examples" / "scoring-inputs-2025-h2.yaml"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run `cchc --data-dir <tmp>/var ARGS…` on SQLite with the sample city, in November 2025."""
    monkeypatch.setattr(cycle_common, "CLOCK", Ticking(datetime(2025, 11, 3, 2, 0, tzinfo=UTC)))
    folder = tmp_path / "var"
    env = {
        "CCHC_DATABASE_URL": "",
        "CCHC_ORGANIZATION": "",
        "CCHC_INDEX_SET": "",
        "CCHC_CITY": "",
        "CCHC_TENANT": "",
    }

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(folder), *args], env=env)

    return run


@pytest.fixture
def plans(tmp_path: Path) -> dict[str, Path]:
    """The same small plan for Phù Liễn and for Lê Chân (same code, one file per ward)."""
    files = {}
    for tenant in ("phuong-phu-lien", LE_CHAN):
        path = tmp_path / f"{tenant}.yaml"
        path.write_text(
            PLAN_YAML.replace("tenant: phuong-phu-lien", f"tenant: {tenant}"), encoding="utf-8"
        )
        files[tenant] = path
    return files


def test_city_show_lists_wards_by_block(cli: Cli) -> None:
    """`cchc city show` lists the sample wards under their blocks, as a table and as JSON."""
    shown = as_json(cli("city", "show", "--json"))
    assert shown["city"] == "hai-phong"
    assert [w["tenant"] for w in shown["blocks"]["phuong"]] == [LE_CHAN, "phuong-phu-lien"]
    assert [w["tenant"] for w in shown["blocks"]["xa_dac_khu"]] == ["xa-tien-lang"]
    assert OFFICIAL in [p["id"] for p in shown["officials"]]
    text = ok(cli("city", "show")).stdout
    for heading in ("Khối phường (2)", "Khối xã, đặc khu (1)", "Công chức cấp thành phố"):
        assert heading in text


def test_tenant_option_chooses_the_ward_of_the_city(cli: Cli) -> None:
    """--tenant picks the organization file from the city file; a typo gets a hint, exit 2."""
    assert as_json(cli("--tenant", LE_CHAN, "org", "show", "--json"))["tenant"] == LE_CHAN
    assert as_json(cli("org", "show", "--json"))["tenant"] == "phuong-phu-lien"
    wrong = cli("--tenant", "phuong-le-chn", "org", "show")
    assert wrong.exit_code == 2
    assert "did you mean 'phuong-le-chan'" in wrong.output


def test_a_broken_city_file_is_reported(cli: Cli) -> None:
    """`city check` (and every city command) prints a bad file's problems and exits 1."""
    broken = Path(__file__).resolve().parent / "cities" / "invalid" / "several_problems.yaml"
    result = cli("--city", str(broken), "city", "show")
    assert result.exit_code == 1
    assert "several_problems.yaml:5: CCHC-Y006" in result.stdout
    checked = cli("--city", str(broken), "city", "check")
    assert checked.exit_code == 1
    assert checked.stdout == result.stdout
    assert "3 đơn vị cấp xã (wards)" in ok(cli("city", "check")).stdout


def test_city_rank_from_the_command_line(cli: Cli, plans: dict[str, Path], tmp_path: Path) -> None:
    """Two wards issue the same plan code in one database, are scored and ranked by the city."""
    ok(cli("db", "upgrade"))
    ok(cli("plan", "issue", str(plans["phuong-phu-lien"]), "--as", PL_FOCAL))
    issued = ok(cli("--tenant", LE_CHAN, "plan", "issue", str(plans[LE_CHAN]), "--as", LC_FOCAL))
    assert "không có gì thay đổi" not in issued.output  # its own plan, not Phù Liễn's again
    ok(cli("score", "run", "--plan", PLAN, "--inputs", str(INPUTS), "--as", PL_FOCAL))
    ok(cli("--tenant", LE_CHAN, "score", "run", "--plan", PLAN, "--as", LC_FOCAL))

    out = tmp_path / "out"
    ranked = as_json(
        cli("city", "rank", "--period", "2025-H2", "--as", OFFICIAL, "--json", "--out", str(out))
    )
    phuong = ranked["blocks"]["phuong"]
    assert [(w["tenant"], w["rank"], w["of"]) for w in phuong] == [
        ("phuong-phu-lien", 1, 2),
        (LE_CHAN, 2, 2),
    ]
    assert phuong[0]["explanation"].startswith("Xếp thứ 1/2 khối phường: chỉ số ")
    assert [(w["tenant"], w["rank"]) for w in ranked["blocks"]["xa_dac_khu"]] == [
        ("xa-tien-lang", None)
    ]
    assert ranked["state"] == "draft"
    assert not ranked["replayed"]
    book = load_workbook(ranked["xlsx"])
    assert book.sheetnames == ["Khối phường", "Khối xã, đặc khu"]
    # Figures and texts keep a gap from the cell borders (they touched when rendered).
    first = book["Khối phường"][4]
    assert [cell.alignment.indent for cell in first[:3]] == [0, 1, 0]
    assert first[2].number_format == "0.00_)"

    again = as_json(cli("city", "rank", "--period", "2025-H2", "--as", OFFICIAL, "--json"))
    assert (again["run_id"], again["ranking_id"], again["replayed"]) == (
        ranked["run_id"],
        ranked["ranking_id"],
        True,
    )
    text = ok(cli("city", "rank", "--period", "2025-H2", "--as", OFFICIAL, "--publish")).stdout
    assert "Xếp hạng chỉ số CCHC – Khối phường" in text
    assert "đã công bố" in text


def test_city_rank_refuses_a_ward_official_and_unknown_people(cli: Cli) -> None:
    """A ward's official is refused (exit 1); an unknown id is a mistake with a hint (exit 2)."""
    ok(cli("db", "upgrade"))
    refused = cli("city", "rank", "--period", "2025-H2", "--as", PL_FOCAL)
    assert refused.exit_code == 1
    assert "không được xếp hạng các phường, xã của" in " ".join(refused.output.split())
    unknown = cli("city", "rank", "--period", "2025-H2", "--as", "giang.van.hiu")
    assert unknown.exit_code == 2
    assert "did you mean 'giang.van.hieu'" in unknown.output
