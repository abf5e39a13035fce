"""The city's reference data is registered, not passed: the first `city rank` registers the
city file (its wards and officials) and the definitions for the city's tenant; afterwards a city
file that differs is refused, naming the difference, `city apply` registers a new version, and
the ranking runs on the registered city and definitions."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import Result

from tests import test_reference_data
from tests.conftest import Db
from tests.test_reference_data import ROOT, Ward
from tests.test_registered_definitions import edit

CITY = "hai-phong"
SAMPLE = ROOT / "definitions" / "cities" / "hai-phong.yaml"
OFFICIAL = "giang.van.hieu"
INSPECTOR = "ong.thi.phuong"
CITY_ADMIN = "mac.van.tuan"
PERIOD = "2025-H2"


class City(Ward):
    """The CLI on the test database, with the sample city and files chosen by default."""

    def __init__(self, db: Db, folder: Path) -> None:
        super().__init__(db, folder)
        self.env |= {"CCHC_CITY": "", "CCHC_TENANT": ""}

    def rank(self, person: str = OFFICIAL, *options: str, **env: str) -> Result:
        """`[options] city rank --period PERIOD --as person --json`."""
        return self(*options, "city", "rank", "--period", PERIOD, "--as", person, "--json", **env)

    def city_events(self) -> list[tuple[Any, ...]]:
        """(actor, kind, outcome, reason) of the city's chain, in order."""
        return [
            tuple(r)
            for r in self.rows(
                "select actor, kind, outcome, reason from audit_events "
                f"where tenant = '{CITY}' order by seq"
            )
        ]


@pytest.fixture
def city(db: Db, tmp_path: Path) -> City:
    """A city whose reference data was registered by a first `city rank` (the sample files)."""
    city = City(db, tmp_path)
    result = city.rank()
    assert result.exit_code == 0, result.output
    return city


def city_file(folder: Path, change: Any) -> Path:
    """The sample city file after ``change`` on its data, its wards' globs made absolute."""
    data = yaml.safe_load(SAMPLE.read_text("utf-8"))
    data["organizations"] = [str(ROOT / "definitions" / "organizations" / "*.yaml")]
    change(data)
    path = folder / "thanh-pho.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def inspector_ranks(data: Any) -> None:
    """The inspector Ông Thị Phượng also holds city_official."""
    for person in data["officials"]:
        if person["id"] == INSPECTOR:
            person["roles"] = ["inspector", "city_official"]


def test_the_first_city_rank_registers_the_city_file_and_definitions(city: City) -> None:
    """The first `city rank` registers the city file and the definitions for the city's tenant,
    by `system`, in one audited event before the ranking."""
    rows = city.rows(
        "select kind, version, registered_by from reference_data "
        f"where tenant = '{CITY}' order by kind"
    )
    assert [tuple(r) for r in rows] == [("city", 1, "system"), ("definitions", 1, "system")]
    events = city.city_events()
    assert events[0] == ("system", "reference_data", "applied", None)
    assert [k for _, k, _, _ in events[1:]] == ["city_ranking"]


def test_a_changed_city_file_is_refused_naming_the_difference(city: City) -> None:
    """`--city FILE` that makes the inspector a city official is refused naming the roles;
    nothing is ranked, only the refusal is written on the city's chain."""
    evil = city_file(city.folder, inspector_ranks)
    before, events = city.counts(), city.city_events()
    result = city.rank(INSPECTOR, "--city", str(evil))
    assert result.exit_code == 1, result.output
    assert "thành phố (city)" in result.output
    assert "`cchc city apply FILE --as ADMIN`" in result.output
    assert f'officials.{INSPECTOR}.roles: ["inspector"] → ["inspector","city_official"]' in (
        result.output
    )
    assert city.counts() == before
    after = city.city_events()
    assert after[: len(events)] == events
    assert [(a, k, o) for a, k, o, _ in after[len(events) :]] == [
        ("system", "reference_data", "refused")
    ]


def test_city_apply_registers_a_new_version(city: City) -> None:
    """`city apply FILE --as ADMIN --yes` shows the difference and registers version 2 by the
    admin; the file is then accepted, the sample named explicitly is refused, and the default
    follows the registered city."""
    path = city_file(city.folder, inspector_ranks)
    result = city("city", "apply", str(path), "--as", CITY_ADMIN, "--yes")
    assert result.exit_code == 0, result.output
    assert f"officials.{INSPECTOR}.roles" in result.output
    rows = city.rows(
        "select version, registered_by from reference_data "
        f"where tenant = '{CITY}' and kind = 'city' order by version"
    )
    assert [tuple(r) for r in rows] == [(1, "system"), (2, CITY_ADMIN)]
    assert city.city_events()[-1] == (CITY_ADMIN, "reference_data", "applied", None)
    assert city.rank(INSPECTOR, "--city", str(path)).exit_code == 0
    refused = city.rank(OFFICIAL, "--city", str(SAMPLE))
    assert refused.exit_code == 1
    assert '["inspector","city_official"] → ["inspector"]' in refused.output
    followed = city.rank(INSPECTOR)
    assert followed.exit_code == 0, followed.output


def test_city_apply_needs_a_registered_admin(city: City) -> None:
    """A city official whose own file would make them admin is refused (audited on the city's
    chain), nothing registered."""

    def self_granted(data: Any) -> None:
        for person in data["officials"]:
            if person["id"] == OFFICIAL:
                person["roles"] = ["city_official", "admin"]

    path = city_file(city.folder, self_granted)
    before, events = city.counts(), city.city_events()
    result = city("city", "apply", str(path), "--as", OFFICIAL, "--yes")
    assert result.exit_code == 1, result.output
    assert city.counts() == before
    assert [(a, o) for a, _, o, _ in city.city_events()[len(events) :]] == [(OFFICIAL, "refused")]


def test_a_ward_admin_cannot_apply_the_city_file(city: City) -> None:
    """A ward's administrator is no administrator of the city: `city apply` is refused (audited
    on the ward's chain), nothing registered for the city."""
    path = city_file(city.folder, inspector_ranks)
    before = city.counts()
    result = city("city", "apply", str(path), "--as", test_reference_data.ADMIN, "--yes")
    assert result.exit_code == 1, result.output
    assert "hai-phong" in result.output
    assert city.counts() == before
    assert city.events()[-1][:3] == (test_reference_data.ADMIN, "reference_data", "refused")


def test_city_rank_runs_on_the_registered_definitions(city: City, tmp_path: Path) -> None:
    """Definitions registered for the city (a city_ranking an inspector may create) are the ones
    `city rank` runs on without the folder; the shipped folder named explicitly is refused."""
    folder = tmp_path / "definitions"
    shutil.copytree(ROOT / "definitions", folder)

    def inspectors_rank(data: Any) -> None:
        data["version"] += 1
        data["create_roles"] = ["city_official", "inspector"]

    edit(folder / "workflows" / "city_ranking.yaml", inspectors_rank)
    assert city.rank(INSPECTOR).exit_code == 1  # the shipped definitions: not permitted
    applied = city("city", "apply", "--as", CITY_ADMIN, "--yes", CCHC_DEFINITIONS_DIR=str(folder))
    assert applied.exit_code == 0, applied.output
    assert "workflows.city_ranking.create_roles" in applied.output
    ranked = city.rank(INSPECTOR)
    assert ranked.exit_code == 0, ranked.output
    shipped = city.rank(INSPECTOR, CCHC_DEFINITIONS_DIR=str(ROOT / "definitions"))
    assert shipped.exit_code == 1
    assert "định nghĩa quy trình (definitions)" in shipped.output
