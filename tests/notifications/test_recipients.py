"""Recipients: roles become people, unit roles scoped to the owner unit, leadership ward-wide."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from cchc.organization.model import Organization, UnknownUnitError
from notifications.recipients import resolve_recipients


@dataclass
class Row:
    """The two outbox columns resolving reads."""

    recipients: str
    context: str


def row(roles: list[str], data: dict[str, Any]) -> Row:
    return Row(json.dumps(roles), json.dumps({"data": data}))


def ids(org: Organization, roles: list[str], data: dict[str, Any]) -> list[str]:
    return [p.id for p in resolve_recipients(org, row(roles, data))]


def test_unit_roles_go_to_the_owner_unit_only(org: Organization) -> None:
    """A task of Phòng Kinh tế notifies that unit's head and officials, nobody else."""
    assert ids(org, ["unit_head", "unit_official"], {"owner_unit": "kt"}) == [
        "pham.quoc.khanh",
        "ngo.thi.ha",
        "luong.van.tung",
    ]


def test_without_owner_unit_unit_roles_are_ward_wide(org: Organization) -> None:
    """A plan (no owner unit) notifies every unit head, in file order."""
    assert ids(org, ["unit_head"], {"title": "Kế hoạch"}) == [
        "le.thi.hong.nhung",
        "trinh.van.hai",
        "pham.quoc.khanh",
        "dinh.thi.bich.ngoc",
        "mai.van.luc",
    ]


def test_leadership_and_focal_roles_are_not_scoped(org: Organization) -> None:
    """Chairman and focal official get any unit's message; Vice-Chairmen all, unless in charge."""
    assert ids(org, ["chairman", "focal_official"], {"owner_unit": "kt"}) == [
        "dang.van.thang",
        "nguyen.thi.lan",
    ]
    assert ids(org, ["vice_chairman"], {}) == ["vu.thi.mai", "hoang.minh.tuan"]
    assert ids(org, ["vice_chairman"], {"owner_unit": "vp"}) == ["vu.thi.mai", "hoang.minh.tuan"]


def test_a_person_holding_two_listed_roles_is_listed_once(org: Organization) -> None:
    """Lan is focal official and an official of VH-XH: one notification, not two."""
    assert ids(org, ["focal_official", "unit_official"], {"owner_unit": "vhxh"}) == [
        "nguyen.thi.lan",
        "bui.duc.anh",
    ]


def test_roles_nobody_holds_resolve_to_nobody(org: Organization) -> None:
    """The generic 'reviewer' role of the proving-ground definition has no holder here."""
    assert ids(org, ["reviewer"], {}) == []


def test_unknown_owner_unit_is_an_error(org: Organization) -> None:
    """A context naming a unit the ward does not have cannot be addressed."""
    with pytest.raises(UnknownUnitError, match="no unit 'tn'"):
        ids(org, ["unit_head"], {"owner_unit": "tn"})


def test_escalation_goes_to_the_vice_chairman_in_charge() -> None:
    """vice_chairman with an owner unit reaches only the Vice-Chairman in charge of that unit."""
    import json as _json
    from dataclasses import dataclass as _dataclass
    from pathlib import Path as _Path

    import yaml as _yaml

    from cchc.organization.model import load_organization
    from notifications.recipients import resolve_recipients

    root = _Path(__file__).resolve().parents[2]
    roles = set(_yaml.safe_load((root / "definitions" / "roles.yaml").read_text("utf-8"))["roles"])
    org = load_organization(root / "definitions" / "organizations" / "phu-lien.yaml", roles)

    @_dataclass
    class Message:
        recipients: str
        context: str

    unit = next(u for u in org.units if u.vice_chairman_in_charge)
    message = Message(
        _json.dumps(["vice_chairman"]), _json.dumps({"data": {"owner_unit": unit.code}})
    )
    assert [p.id for p in resolve_recipients(org, message)] == [unit.vice_chairman_in_charge]
