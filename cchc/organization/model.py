"""Who works where: one ward's (or commune's) units and people, loaded from a YAML file.

An organization file (``definitions/organizations/*.yaml``, format in ``docs/organizations.md``)
names the tenant, its units (each with a head and the Vice-Chairman in charge) and its people
(each with a unit and roles from the role catalogue). Loading checks the file as a whole and
reports every problem at once, as ``file:line: CCHC-O0NN message (hint)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
)

from cchc.organization.capabilities import roles_with
from workflows.datafile import DataFile, FileCodes, Reading, Schema
from workflows.definition.checks import did_you_mean
from workflows.definition.yamlpos import Path_
from workflows.errors import Problem
from workflows.registry import Actor

TenantCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=64)]
"""A tenant code such as ``phuong-phu-lien``: lower-case ASCII and hyphens."""

UnitCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)]
"""A unit code such as ``vhxh``: snake_case ASCII."""

PersonId = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$", max_length=64)
]
"""A person id such as ``nguyen.thi.lan``: lower-case ASCII words joined by ``.``, ``_``, ``-``."""

RoleName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]

Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]

OsAccount = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=64)
]
"""An operating-system account name such as ``lan`` or ``nguyen.thi.lan``."""

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s.]+$", max_length=254)]

UNIT_ROLES = roles_with("belongs_to_unit")
"""Roles that only make sense inside a unit: a person holding one must name their unit."""


_CODES = FileCodes(
    "CCHC-O001", "CCHC-O004", "CCHC-O005", "an organization file starts with 'tenant:'"
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(_Frozen):
    """A unit of the People's Committee (a phòng or a trung tâm), with its head."""

    code: UnitCode
    name: Text
    short_name: Text
    head: PersonId
    vice_chairman_in_charge: PersonId | None = None


class Person(_Frozen):
    """Someone who acts in the workflows: their unit (``None`` for the leadership) and roles."""

    id: PersonId
    full_name: Text
    title: Text
    """Vietnamese job title, e.g. ``Trưởng phòng Văn hóa - Xã hội``."""
    unit: UnitCode | None = None
    roles: tuple[RoleName, ...] = Field(min_length=1)
    email: Email
    os_account: OsAccount | None = None
    """The person's operating-system account on the server: with ``CCHC_CLI_IDENTITY=os`` the
    CLI acts only as the person mapped to the account running it (``cchc.identity``)."""

    @model_serializer(mode="wrap")
    def _without_unset_os_account(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Leave ``os_account`` out when unset, so that the canonical JSON of an organization
        registered before the field existed is unchanged (``cchc.reference_data``)."""
        data = handler(self)
        if isinstance(data, dict) and data.get("os_account") is None:
            data.pop("os_account", None)
        return data


SCOPED_ROLES = roles_with("notified_for_own_unit")
"""Roles a notification sends to the owner unit only, when the message names one."""


def owner_unit(context: Mapping[str, Any]) -> str | None:
    """``data.owner_unit`` of a notification context, or None when it has none."""
    data = context.get("data")
    unit = data.get("owner_unit") if isinstance(data, dict) else None
    return str(unit) if unit else None


class UnknownPersonError(LookupError):
    """No person of the organization has the given id."""


class UnknownUnitError(LookupError):
    """No unit of the organization has the given code."""


KIND_NAMES = {"phuong": "phường", "xa": "xã", "dac_khu": "đặc khu"}
"""An organization's ``kind`` as written in running text (``HĐND xã``)."""


class Organization(_Frozen):
    """One tenant: a ward (phường), commune (xã) or special zone (đặc khu) and its people."""

    tenant: TenantCode
    name: Text
    """Full name as in letterheads, e.g. ``Phường Phù Liễn``."""
    kind: Literal["phuong", "xa", "dac_khu"]
    city: Text
    place_name: Text
    """The place written before dates: ``Phù Liễn, ngày … tháng … năm …``."""
    focal_unit: UnitCode
    """The reform focal unit (Phòng Văn hóa - Xã hội)."""
    office_unit: UnitCode
    """The Office (Văn phòng HĐND và UBND): conclusion notices and their follow-up."""
    units: tuple[Unit, ...] = Field(min_length=1)
    people: tuple[Person, ...] = Field(min_length=1)

    def person(self, person_id: str) -> Person:
        """The person with ``person_id``; raises ``UnknownPersonError`` with a hint."""
        for person in self.people:
            if person.id == person_id:
                return person
        known = [p.id for p in self.people]
        raise UnknownPersonError(
            f"no person {person_id!r} in {self.tenant}; {did_you_mean(person_id, known)}"
        )

    def actor(self, person_id: str) -> Actor:
        """The engine actor for ``person_id``: their roles from the file, the org's tenant."""
        person = self.person(person_id)
        return Actor(
            id=person.id, roles=frozenset(person.roles), tenant=self.tenant, unit=person.unit
        )

    def unit(self, code: str) -> Unit:
        """The unit with ``code``; raises ``UnknownUnitError`` with a hint."""
        for unit in self.units:
            if unit.code == code:
                return unit
        known = [u.code for u in self.units]
        raise UnknownUnitError(f"no unit {code!r} in {self.tenant}; {did_you_mean(code, known)}")

    def unit_of(self, person_id: str) -> Unit | None:
        """The unit ``person_id`` belongs to, or ``None`` for the leadership and outsiders."""
        person = self.person(person_id)
        return None if person.unit is None else self.unit(person.unit)

    def people_with_role(self, role: str, unit: str | None = None) -> tuple[Person, ...]:
        """Everyone holding ``role``, in file order; only those of ``unit`` when given."""
        if unit is not None:
            self.unit(unit)  # an unknown unit is a mistake, not an empty answer
        return tuple(p for p in self.people if role in p.roles and (unit is None or p.unit == unit))

    def recipients(self, roles: Sequence[str], context: Mapping[str, Any]) -> list[Person]:
        """The people a notification naming ``roles`` goes to, in role order then file order,
        each once (``notifications.recipients.Organization.recipients``).

        A unit role (``SCOPED_ROLES``) is scoped to the owner unit when the context has
        ``data.owner_unit`` (a task of Phòng Kinh tế notifies that unit's head, not every
        head); any other role (Chairman, the focal official, the Office, admin …) is
        ward-wide, except ``vice_chairman``, which goes to the Vice-Chairman in charge of the
        owner unit when it has one. Raises ``UnknownUnitError`` when ``data.owner_unit`` is not
        a unit of the ward (the message cannot be addressed correctly).
        """
        unit = owner_unit(context)
        people: dict[str, Person] = {}
        for role in roles:
            if role in roles_with("notified_for_field") and unit is not None:
                in_charge = self.unit(unit).vice_chairman_in_charge
                if in_charge is not None:  # the Vice-Chairman in charge of the unit's field
                    person = self.person(in_charge)
                    people.setdefault(person.id, person)
                    continue
            scope = unit if role in SCOPED_ROLES else None
            for person in self.people_with_role(str(role), scope):
                people.setdefault(person.id, person)
        return list(people.values())

    def reads_checkpoints(self, roles: Sequence[str]) -> bool:
        """Whether a person holding ``roles`` receives the ward's signed audit checkpoint in
        their digest (a copy outside the database): the ``read_checkpoint`` capability."""
        return bool(roles_with("read_checkpoint") & set(roles))

    def members(self, unit: str) -> tuple[Person, ...]:
        """Everyone whose unit is ``unit``, in file order."""
        self.unit(unit)
        return tuple(p for p in self.people if p.unit == unit)

    @property
    def kind_name(self) -> str:
        """``phường``, ``xã`` or ``đặc khu``: the ward type as written in running text."""
        return KIND_NAMES[self.kind]

    @property
    def name_in_text(self) -> str:
        """The name as written in running text: ``Xã Tiên Lãng`` → ``xã Tiên Lãng``."""
        return f"{self.name[:1].lower()}{self.name[1:]}"

    @property
    def focal(self) -> Unit:
        """The reform focal unit."""
        return self.unit(self.focal_unit)

    @property
    def office(self) -> Unit:
        """The Office (Văn phòng HĐND và UBND)."""
        return self.unit(self.office_unit)

    @property
    def chairman(self) -> Person:
        """The (first) person holding the ``chairman`` role."""
        return self.people_with_role("chairman")[0]


# --- loading ------------------------------------------------------------------------------------

Report = Callable[[Path_, str, str, str], None]


def check_organization(
    path: Path, known_roles: Collection[str]
) -> tuple[Organization | None, list[Problem]]:
    """Load and check one organization file; the organization (if valid) and every problem."""
    return ORGANIZATION_FILE.check_file(path, frozenset(known_roles))


def load_organization(path: Path, known_roles: Collection[str]) -> Organization:
    """Like ``check_organization`` but raises ``DefinitionError`` listing every problem."""
    return ORGANIZATION_FILE.load_file(path, frozenset(known_roles))


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    if len(loc) >= 3 and loc[0] in ("units", "people"):
        model: type[BaseModel] = Unit if loc[0] == "units" else Person
    else:
        model = Organization
    return ", ".join(model.model_fields)


def _check_file(org: Organization, reading: Reading[frozenset[str]]) -> None:
    _check(org, set(reading.context), reading.report)


def _check(org: Organization, roles: set[str], report: Report) -> None:
    """Every problem the schema alone cannot see."""
    units = _check_units(org, report)
    people = _check_people(org, roles, units, report)
    for i, unit in enumerate(org.units):
        at: Path_ = ("units", i)
        _check_head(unit, at, people, units, report)
        vc_id = unit.vice_chairman_in_charge
        if vc_id is not None:
            vc = people.get(vc_id)
            if vc is None or "vice_chairman" not in vc.roles:
                detail = (
                    "is not a person of this file" if vc is None else "lacks the role vice_chairman"
                )
                report(
                    (*at, "vice_chairman_in_charge"),
                    "CCHC-O013",
                    f"vice_chairman_in_charge {vc_id!r} of unit {unit.code!r} {detail}",
                    "name a Phó Chủ tịch holding the role vice_chairman"
                    + ("" if vc is not None else f"; {did_you_mean(vc_id, people)}"),
                )
    for key, code, what in (
        ("focal_unit", "CCHC-O014", "focal unit"),
        ("office_unit", "CCHC-O015", "office unit"),
    ):
        value = getattr(org, key)
        if value not in units:
            report(
                (key,),
                code,
                f"{what} {value!r} is not a unit of this file",
                did_you_mean(value, units),
            )
    if not any("chairman" in p.roles for p in org.people):
        report(
            ("people",),
            "CCHC-O016",
            "nobody holds the role chairman",
            "give the Chủ tịch UBND the role chairman",
        )


def _check_units(org: Organization, report: Report) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for i, unit in enumerate(org.units):
        if unit.code in units:
            report(
                ("units", i, "code"),
                "CCHC-O006",
                f"unit code {unit.code!r} is used twice",
                "each unit has its own code",
            )
            continue
        units[unit.code] = unit
    return units


def _check_people(
    org: Organization, roles: set[str], units: dict[str, Unit], report: Report
) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for i, person in enumerate(org.people):
        at: Path_ = ("people", i)
        if person.id in people:
            report(
                (*at, "id"),
                "CCHC-O007",
                f"person id {person.id!r} is used twice",
                "each person has their own id",
            )
        else:
            people[person.id] = person
        if person.unit is not None and person.unit not in units:
            report(
                (*at, "unit"),
                "CCHC-O008",
                f"{person.id} is in unknown unit {person.unit!r}",
                did_you_mean(person.unit, units),
            )
        repeated = [r for r, n in Counter(person.roles).items() if n > 1]
        for role in repeated:
            report(
                (*at, "roles"),
                "CCHC-O003",
                f"{person.id} has role {role!r} twice",
                "list each role once",
            )
        for j, role in enumerate(person.roles):
            if role not in roles:
                report(
                    (*at, "roles", j),
                    "CCHC-O009",
                    f"{person.id} has unknown role {role!r}",
                    f"roles come from roles.yaml; {did_you_mean(role, roles)}",
                )
        _check_unit_roles(org, person, at, units, report)
    return people


def _check_unit_roles(
    org: Organization, person: Person, at: Path_, units: dict[str, Unit], report: Report
) -> None:
    if person.unit is None:
        for role in sorted(UNIT_ROLES.intersection(person.roles)):
            report(
                (*at, "roles"),
                "CCHC-O017",
                f"{person.id} has role {role!r} but no unit",
                "add 'unit:' with the code of their unit",
            )
        return
    for role, key in (("focal_official", "focal_unit"), ("office_official", "office_unit")):
        expected = getattr(org, key)
        # An unknown focal/office unit is reported once, as CCHC-O014/O015.
        if role in person.roles and person.unit != expected and expected in units:
            report(
                (*at, "unit"),
                "CCHC-O018",
                f"{person.id} has role {role!r} but is in unit {person.unit!r}",
                f"the role belongs to the {key}, {expected!r}",
            )


def _check_head(
    unit: Unit, at: Path_, people: dict[str, Person], units: dict[str, Unit], report: Report
) -> None:
    head = people.get(unit.head)
    where: Path_ = (*at, "head")
    if head is None:
        report(
            where,
            "CCHC-O010",
            f"head {unit.head!r} of unit {unit.code!r} is not a person of this file",
            did_you_mean(unit.head, people),
        )
        return
    # A head in an unknown unit is reported once, as CCHC-O008 on the person.
    if head.unit != unit.code and (head.unit is None or head.unit in units):
        member = f"unit {head.unit!r}" if head.unit else "no unit"
        report(
            where,
            "CCHC-O011",
            f"head {head.id!r} of unit {unit.code!r} is a member of {member}",
            f"set 'unit: {unit.code}' on {head.id} or name another head",
        )
    if "unit_head" not in head.roles:
        report(
            where,
            "CCHC-O012",
            f"head {head.id!r} of unit {unit.code!r} lacks the role unit_head",
            f"add unit_head to the roles of {head.id}",
        )


ORGANIZATION_FILE: DataFile[Organization, frozenset[str]] = DataFile(
    "organization file",
    _CODES,
    Schema(Organization.model_validate, "CCHC-O002", "CCHC-O003", _allowed_keys),
    checks=(_check_file,),
    sort_problems=True,
)
"""An organization file, checked against the known roles (the context)."""
