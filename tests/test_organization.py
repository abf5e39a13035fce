"""Organization files: the shipped sample, the lookup helpers and every problem code."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from cchc.organization.model import (
    Organization,
    UnknownPersonError,
    UnknownUnitError,
    check_organization,
    load_organization,
)
from tests.expectations import expected, found
from workflows.errors import DefinitionError
from workflows.registry import Actor

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "definitions" / "organizations" / "phu-lien.yaml"
INVALID = Path(__file__).resolve().parent / "organizations" / "invalid"
FIXTURES = sorted(INVALID.glob("*.yaml"))
ROLES = frozenset(
    yaml.safe_load((ROOT / "definitions" / "roles.yaml").read_text(encoding="utf-8"))["roles"]
)

CODE = re.compile(r"CCHC-O\d{3}")


@pytest.fixture(scope="module")
def org() -> Organization:
    return load_organization(SAMPLE, ROLES)


def _sample_with(tmp_path: Path, old: str, new: str) -> Path:
    text = SAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    target = tmp_path / "org.yaml"
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


# --- the sample ---------------------------------------------------------------------------------


def test_sample_loads_without_problems() -> None:
    """The shipped Phường Phù Liễn file loads against roles.yaml with no problem at all."""
    org, problems = check_organization(SAMPLE, ROLES)
    assert problems == []
    assert org is not None
    assert (org.tenant, org.name, org.kind) == ("phuong-phu-lien", "Phường Phù Liễn", "phuong")
    assert (org.city, org.place_name) == ("Hải Phòng", "Phù Liễn")
    assert [u.code for u in org.units] == ["vhxh", "vp", "kt", "ttphc", "ttsnc"]
    assert org.focal.name == "Phòng Văn hóa - Xã hội"
    assert org.office.name == "Văn phòng HĐND và UBND"


def test_sample_says_its_people_are_fictional() -> None:
    """The sample's header comment states that every person in it is fictional."""
    header = SAMPLE.read_text(encoding="utf-8").split("\ntenant:")[0]
    assert "FICTIONAL" in header


def test_sample_shape_matches_the_brief(org: Organization) -> None:
    """One Chairman, two Vice-Chairmen, and per unit a head plus one or two officials."""
    assert [p.id for p in org.people_with_role("chairman")] == ["dang.van.thang"]
    assert len(org.people_with_role("vice_chairman")) == 2
    for unit in org.units:
        assert org.people_with_role("unit_head", unit.code) == (org.person(unit.head),)
        officials = org.people_with_role("unit_official", unit.code)
        assert 1 <= len(officials) <= 2, unit.code
    assert [p.id for p in org.people_with_role("focal_official")] == ["nguyen.thi.lan"]
    assert [p.unit for p in org.people_with_role("office_official")] == ["vp"]
    assert [p.unit for p in org.people_with_role("inspector")] == [None]
    assert len(org.people_with_role("admin")) == 1


def test_sample_vice_chairmen_are_each_in_charge_of_units(org: Organization) -> None:
    """Both Vice-Chairmen are in charge of at least one unit, and only they are."""
    in_charge = {u.vice_chairman_in_charge for u in org.units} - {None}
    assert in_charge == {p.id for p in org.people_with_role("vice_chairman")}


def test_sample_names_are_vietnamese_and_ids_ascii(org: Organization) -> None:
    """Full names carry diacritics (NFC); ids are ASCII and fold from the name."""
    for person in org.people:
        assert person.id.isascii()
        assert unicodedata.normalize("NFC", person.full_name) == person.full_name
        folded = unicodedata.normalize("NFD", person.full_name.replace("Đ", "D").replace("đ", "d"))
        ascii_name = "".join(ch for ch in folded if not unicodedata.combining(ch))
        assert person.id == ascii_name.lower().replace(" ", "."), person.id
    assert any(not p.full_name.isascii() for p in org.people)


# --- helpers ------------------------------------------------------------------------------------


def test_actor_carries_the_roles_of_the_file(org: Organization) -> None:
    """actor() gives the person's id, their roles from the file and the org's tenant."""
    actor = org.actor("nguyen.thi.lan")
    assert isinstance(actor, Actor)
    assert actor.id == "nguyen.thi.lan"
    assert actor.roles == frozenset({"focal_official", "unit_official"})
    assert actor.tenant == "phuong-phu-lien"
    assert org.actor("dang.van.thang").roles == frozenset({"chairman"})


def test_actor_of_unknown_person_suggests_the_closest_id(org: Organization) -> None:
    """An unknown id raises a LookupError whose message names the closest known id."""
    with pytest.raises(LookupError, match=r"did you mean 'nguyen\.thi\.lan'"):
        org.actor("nguyen.thi.lann")
    with pytest.raises(UnknownPersonError):
        org.unit_of("nobody")


def test_people_with_role_filters_by_unit(org: Organization) -> None:
    """people_with_role() lists holders in file order, only those of a unit when one is given."""
    assert [p.id for p in org.people_with_role("unit_official", "kt")] == [
        "ngo.thi.ha",
        "luong.van.tung",
    ]
    assert len(org.people_with_role("unit_official")) == 7
    assert org.people_with_role("reviewer") == ()
    with pytest.raises(UnknownUnitError, match="did you mean 'vhxh'"):
        org.people_with_role("unit_official", "vh_xh")


def test_unit_and_unit_of(org: Organization) -> None:
    """unit() finds a unit by code; unit_of() gives a person's unit, None for the leadership."""
    assert org.unit("kt").name == "Phòng Kinh tế, Hạ tầng và Đô thị"
    unit = org.unit_of("bui.duc.anh")
    assert unit is not None
    assert unit.code == "vhxh"
    assert org.unit_of("vu.thi.mai") is None
    assert org.unit_of("cu.van.son") is None
    with pytest.raises(UnknownUnitError):
        org.unit("xyz")


def test_organization_is_immutable(org: Organization) -> None:
    """A loaded organization cannot be changed in place."""
    with pytest.raises(ValidationError):
        org.tenant = "other"  # type: ignore[misc]


# --- problems -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_invalid_fixture_reports_its_problems(fixture: Path) -> None:
    """Each invalid file yields exactly the (code, line) pairs its header names, in that file."""
    org, problems = check_organization(fixture, ROLES)
    assert org is None
    assert found(problems) == expected(fixture, "O"), "\n".join(p.format() for p in problems)
    assert all(p.file.endswith(fixture.name) for p in problems)
    assert all(p.message for p in problems)


def test_fixtures_cover_every_code_the_loader_emits() -> None:
    """Every CCHC-O code in cchc/organization/model.py has at least one invalid fixture."""
    source = (ROOT / "cchc" / "organization" / "model.py").read_text(encoding="utf-8")
    emitted = set(CODE.findall(source))
    covered = {code for fixture in FIXTURES for code, _ in expected(fixture, "O")}
    assert emitted == covered


def test_codes_are_documented() -> None:
    """docs/organizations.md lists every code the loader emits."""
    source = (ROOT / "cchc" / "organization" / "model.py").read_text(encoding="utf-8")
    docs = (ROOT / "docs" / "organizations.md").read_text(encoding="utf-8")
    assert set(CODE.findall(source)) <= set(CODE.findall(docs))


def test_load_raises_with_every_problem() -> None:
    """load_organization raises DefinitionError listing all problems, each with a hint."""
    with pytest.raises(DefinitionError) as caught:
        load_organization(INVALID / "several_problems.yaml", ROLES)
    codes = [p.code for p in caught.value.problems]
    assert codes == ["CCHC-O002", "CCHC-O014", "CCHC-O008"]
    assert all(p.hint for p in caught.value.problems)
    assert "several_problems.yaml:9: CCHC-O014" in str(caught.value)


def test_unknown_role_is_judged_against_the_given_catalogue(tmp_path: Path) -> None:
    """A role missing from known_roles is CCHC-O009 at that role's line, with a suggestion."""
    org, problems = check_organization(SAMPLE, ROLES - {"inspector"})
    assert org is None
    line = SAMPLE.read_text(encoding="utf-8").splitlines().index("    roles: [inspector]") + 1
    assert found(problems) == {("CCHC-O009", line)}


def test_role_listed_twice_is_a_problem(tmp_path: Path) -> None:
    """A person listing the same role twice gets CCHC-O003 on their roles line."""
    path = _sample_with(tmp_path, "roles: [chairman]", "roles: [chairman, chairman]")
    org, problems = check_organization(path, ROLES)
    assert org is None
    assert [(p.code, "twice" in p.message) for p in problems] == [("CCHC-O003", True)]


def test_vice_chairman_in_charge_must_be_a_person(tmp_path: Path) -> None:
    """An unknown vice_chairman_in_charge is CCHC-O013 with a did-you-mean hint."""
    path = _sample_with(
        tmp_path,
        "head: pham.quoc.khanh\n    vice_chairman_in_charge: hoang.minh.tuan",
        "head: pham.quoc.khanh\n    vice_chairman_in_charge: hoang.minh.tuam",
    )
    org, problems = check_organization(path, ROLES)
    assert org is None
    assert [p.code for p in problems] == ["CCHC-O013"]
    assert "did you mean 'hoang.minh.tuan'" in problems[0].hint


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """A file that does not exist is reported as CCHC-O001 at line 1."""
    org, problems = check_organization(tmp_path / "absent.yaml", ROLES)
    assert org is None
    assert found(problems) == {("CCHC-O001", 1)}
