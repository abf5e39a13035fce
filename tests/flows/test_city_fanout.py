"""The city fan-out's ward list and refusals (no server; the runs: test_scale_out.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cchc.city import load_city
from flows.city import city_fanout_flow, city_wards, ward_limit_name
from flows.deployments import apply_city
from tests.conftest import DEFINITIONS

CITY = DEFINITIONS / "cities" / "hai-phong.yaml"
PHU_LIEN = DEFINITIONS / "organizations" / "phu-lien.yaml"


def test_city_file_gives_each_ward_its_organization_file() -> None:
    """Every ward of the sample city comes with its own file and tenant, in the city's order."""
    city = load_city(CITY)
    wards = city_wards(city=str(CITY))
    assert [tenant for _, tenant in wards] == [org.tenant for org in city.wards]
    for path, tenant in wards:
        assert Path(path) == city.organization_path(tenant)


def test_listed_organization_files_give_their_tenants() -> None:
    """Without a city file the listed organization files are the wards."""
    assert city_wards(organizations=[str(PHU_LIEN)]) == [(str(PHU_LIEN), "phuong-phu-lien")]


def test_a_ward_listed_twice_is_refused() -> None:
    """Two runs of one ward in one fan-out would only queue behind each other: refused."""
    with pytest.raises(ValueError, match="listed twice"):
        city_wards(organizations=[str(PHU_LIEN), str(PHU_LIEN)])


def test_exactly_one_source_of_wards() -> None:
    """A city file or a list of organization files, never both or neither."""
    with pytest.raises(ValueError, match="either a city file or a list"):
        city_wards()
    with pytest.raises(ValueError, match="either a city file or a list"):
        city_wards(city=str(CITY), organizations=[str(PHU_LIEN)])


def test_unknown_job_is_refused_before_anything_is_registered() -> None:
    """Only the sweep and the review run per ward."""
    with pytest.raises(ValueError, match="sweep, review"):
        apply_city("rank", {}, "cchc", city=str(CITY))
    with pytest.raises(ValueError, match="sweep, review"):
        city_fanout_flow.fn("rank", {}, city=str(CITY))


def test_overrides_for_a_ward_outside_the_city_are_refused() -> None:
    """ward_parameters naming a tenant the city does not have is a typo, not a silent no-op."""
    with pytest.raises(ValueError, match="phuong-khong-co"):
        city_fanout_flow.fn("sweep", {}, city=str(CITY),
                            ward_parameters={"phuong-khong-co": {}})  # fmt: skip


def test_ward_limit_is_named_after_the_tenant() -> None:
    """The Prefect limit of a ward is ward:<tenant>, the tag its runs carry."""
    assert ward_limit_name("phuong-phu-lien") == "ward:phuong-phu-lien"
