"""A city and its wards: the city file, its check, and the blocks wards are ranked in.

A city file (``definitions/cities/*.yaml``, format in ``docs/city.md``) names the city's own
tenant (where city officials act), its organization files (globs, relative to the city file)
and its officials (Sở Nội vụ). Loading checks the city file and every organization file it
names, and reports every problem at once as ``file:line: CCHC-Y0NN message (hint)`` (the
organization files' own problems keep their ``CCHC-O0NN`` codes and lines).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cchc.organization.model import (
    UNIT_ROLES,
    Organization,
    Person,
    TenantCode,
    Text,
    UnknownPersonError,
    check_organization,
)
from workflows.datafile import DataFile, FileCodes, Reading, Schema
from workflows.definition.checks import did_you_mean
from workflows.definition.yamlpos import Path_, display_path
from workflows.errors import DefinitionError, Problem
from workflows.progress import Progress, no_progress
from workflows.registry import Actor

CITY_ROLE = "city_official"
"""The role that ranks the wards; held by people of the city file only."""

Block = Literal["phuong", "xa_dac_khu"]

BLOCKS: dict[str, str] = {"phuong": "Khối phường", "xa_dac_khu": "Khối xã, đặc khu"}
"""Block code → Vietnamese label, in the order the city view lists them."""

_BLOCK_OF_KIND: dict[str, Block] = {"phuong": "phuong", "xa": "xa_dac_khu", "dac_khu": "xa_dac_khu"}

_CODES = FileCodes("CCHC-Y001", "CCHC-Y004", "CCHC-Y005", "a city file starts with 'city:'")


def block_of(org: Organization) -> Block:
    """The block a ward is ranked in: ``phuong`` (Khối phường) or ``xa_dac_khu`` (xã, đặc khu)."""
    return _BLOCK_OF_KIND[org.kind]


def default_city() -> Path:
    """``CCHC_CITY`` or the Hải Phòng sample."""
    from cchc.runtime import definitions_dir

    return Path(os.environ.get("CCHC_CITY") or definitions_dir() / "cities" / "hai-phong.yaml")


class CityFile(BaseModel):
    """The city file as written (organizations are still globs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    city: TenantCode
    name: Text
    organizations: tuple[Text, ...] = Field(min_length=1)
    officials: tuple[Person, ...] = Field(min_length=1)


@dataclass(frozen=True)
class City:
    """A city: its own tenant, its wards (one organization each) and its officials."""

    code: str
    """The city's tenant code: city officials act in it (city rankings are stored there)."""
    name: str
    wards: tuple[Organization, ...]
    """In the order of the city file's globs (each glob sorted by file name)."""
    officials: tuple[Person, ...] = ()
    paths: Mapping[str, Path] = field(default_factory=dict)
    """Tenant → organization file (empty for a city built in code)."""

    def ward(self, tenant: str) -> Organization:
        """The ward with tenant code ``tenant``; ``LookupError`` with a did-you-mean hint."""
        for org in self.wards:
            if org.tenant == tenant:
                return org
        known = [org.tenant for org in self.wards]
        raise LookupError(f"no ward {tenant!r} in {self.code}; {did_you_mean(tenant, known)}")

    def organization_path(self, tenant: str) -> Path:
        """The organization file of the ward ``tenant`` (``LookupError`` when unknown)."""
        self.ward(tenant)
        try:
            return self.paths[tenant]
        except KeyError:
            raise LookupError(f"ward {tenant!r} of {self.code} has no organization file") from None

    def official(self, person_id: str) -> Person:
        """The city official ``person_id``; ``UnknownPersonError`` with a hint."""
        for person in self.officials:
            if person.id == person_id:
                return person
        known = [p.id for p in self.officials]
        raise UnknownPersonError(
            f"no city official {person_id!r} in {self.code}; {did_you_mean(person_id, known)}"
        )

    def actor(self, person_id: str) -> Actor:
        """A city official as an engine actor: their roles, the city's tenant, no unit."""
        person = self.official(person_id)
        return Actor(id=person.id, roles=frozenset(person.roles), tenant=self.code)

    def block(self, block: str) -> tuple[Organization, ...]:
        """The wards of ``block`` (``phuong`` or ``xa_dac_khu``), in file order."""
        if block not in BLOCKS:
            raise LookupError(f"no block {block!r}; {did_you_mean(block, BLOCKS)}")
        return tuple(org for org in self.wards if block_of(org) == block)


# --- loading ------------------------------------------------------------------------------------


def check_city(
    path: Path | str,
    known_roles: Collection[str] | None = None,
    progress: Progress = no_progress,
) -> tuple[City | None, list[Problem]]:
    """Load and check a city file and its organization files: the city (if valid), problems.

    ``known_roles`` default to the role catalogue of the definitions folder. ``progress`` is
    told the organization files read out of those the city file names.
    """
    file = Path(path)
    roles = set(_catalogue_roles() if known_roles is None else known_roles)
    context = _Context(roles, file.parent, progress)
    spec, problems = CITY_FILE.check_file(file, context)
    problems = problems + context.org_problems
    if spec is None or problems:
        return None, problems
    wards = context.wards
    city = City(
        code=spec.city,
        name=spec.name,
        wards=tuple(w.org for w in wards),
        officials=spec.officials,
        paths={w.org.tenant: w.path for w in wards},
    )
    return city, []


def load_city(
    path: Path | str,
    known_roles: Collection[str] | None = None,
    progress: Progress = no_progress,
) -> City:
    """Like ``check_city`` but raises ``DefinitionError`` listing every problem."""
    city, problems = check_city(path, known_roles, progress)
    if city is None:
        raise DefinitionError(problems)
    return city


def city_name_of(
    org: Organization, known_roles: Collection[str], path: Path | str | None = None
) -> str:
    """The name of the city ``org`` belongs to as its city file writes it (``Thành phố Hải
    Phòng``; the file is ``path``, else ``CCHC_CITY`` or the sample). When that file does not
    list the ward, or cannot be read, the organization file's ``city`` stands in."""
    try:
        city = load_city(path or default_city(), known_roles)
    except (DefinitionError, OSError):
        return org.city
    return city.name if any(w.tenant == org.tenant for w in city.wards) else org.city


def city_committee(city_name: str) -> str:
    """``Thành phố Hải Phòng`` → ``UBND thành phố Hải Phòng`` (the type in lower case)."""
    for kind in ("Thành phố ", "Tỉnh "):
        if city_name.startswith(kind):
            return f"UBND {kind.lower()}{city_name.removeprefix(kind)}"
    return f"UBND {city_name}"


def _catalogue_roles() -> set[str]:
    from cchc.runtime import load

    return set(load().roles.roles)


def _allowed_keys(loc: tuple[object, ...]) -> str:
    allowed = Person if len(loc) >= 3 and loc[0] == "officials" else CityFile
    return ", ".join(allowed.model_fields)


Report = Callable[[Path_, str, str, str], None]


@dataclass(frozen=True)
class _Ward:
    org: Organization
    path: Path
    entry: int
    """Index of the ``organizations`` entry that named the file."""


def _check_officials(spec: CityFile, roles: set[str], report: Report) -> None:
    seen: set[str] = set()
    for i, person in enumerate(spec.officials):
        at: Path_ = ("officials", i)
        if person.id in seen:
            report(
                (*at, "id"),
                "CCHC-Y010",
                f"official id {person.id!r} is used twice",
                "each official has their own id",
            )
        seen.add(person.id)
        for j, role in enumerate(person.roles):
            if role not in roles:
                report(
                    (*at, "roles", j),
                    "CCHC-Y009",
                    f"{person.id} has unknown role {role!r}",
                    f"roles come from roles.yaml; {did_you_mean(role, roles)}",
                )
        unit_roles = sorted(UNIT_ROLES.intersection(person.roles))
        if person.unit is not None or unit_roles:
            what = f"unit {person.unit!r}" if person.unit else f"role {unit_roles[0]!r}"
            report(
                (*at, "unit" if person.unit else "roles"),
                "CCHC-Y011",
                f"city official {person.id} has {what}, which only a ward's people have",
                "city officials belong to no ward unit; remove it",
            )
    if not any(CITY_ROLE in p.roles for p in spec.officials):
        report(
            ("officials",),
            "CCHC-Y012",
            f"no official holds the role {CITY_ROLE}",
            f"give the Sở Nội vụ official who ranks the wards the role {CITY_ROLE}",
        )


def _load_wards(
    spec: CityFile,
    base: Path,
    roles: set[str],
    report: Report,
    org_problems: list[Problem],
    progress: Progress = no_progress,
) -> list[_Ward]:
    """Every valid organization the globs name, each file once, in entry then name order."""
    files: list[tuple[int, Path]] = []
    seen: set[Path] = set()
    for i, pattern in enumerate(spec.organizations):
        # glob.glob, not Path.glob: a pattern may be absolute, which Path.glob refuses.
        matches = sorted(Path(p).resolve() for p in glob.glob(str(base / pattern)))  # noqa: PTH207
        matches = [m for m in matches if m.is_file()]
        if not matches:
            report(
                ("organizations", i),
                "CCHC-Y006",
                f"{pattern!r} matches no organization file",
                f"globs are relative to the city file: {display_path(base)}",
            )
            continue
        for match in matches:
            if match not in seen:  # two globs naming one file: it is one ward
                seen.add(match)
                files.append((i, match))
    wards: list[_Ward] = []
    progress(0, len(files))
    for done, (i, match) in enumerate(files, 1):
        org, problems = check_organization(match, roles)
        org_problems.extend(problems)
        if org is not None:
            wards.append(_Ward(org, match, i))
        progress(done, len(files))
    return wards


def _check_wards(spec: CityFile, wards: list[_Ward], report: Report) -> None:
    tenants: dict[str, Path] = {}
    names: dict[str, str] = {}
    for ward in wards:
        org, where = ward.org, ward.path
        at: Path_ = ("organizations", ward.entry)
        shown = display_path(where)
        if org.tenant == spec.city:
            report(
                at,
                "CCHC-Y008",
                f"{shown}: ward tenant {org.tenant!r} is the city's own tenant",
                "the city acts in its own tenant; give the ward its own code",
            )
        if org.tenant in tenants:
            report(
                at,
                "CCHC-Y007",
                f"{shown}: tenant {org.tenant!r} is also the tenant of "
                f"{display_path(tenants[org.tenant])}",
                "each ward has its own tenant code; one file per ward",
            )
        else:
            tenants[org.tenant] = where
        if org.name in names and names[org.name] != org.tenant:
            report(
                at,
                "CCHC-Y014",
                f"{shown}: ward name {org.name!r} is also {names[org.name]}'s",
                "ward names are unique in a city: the ranking shows them",
            )
        names.setdefault(org.name, org.tenant)
        holders = [p.id for p in org.people if CITY_ROLE in p.roles]
        if holders:
            report(
                at,
                "CCHC-Y013",
                f"{shown}: {', '.join(holders)} of ward {org.tenant} hold(s) {CITY_ROLE}",
                "only the city file's officials rank the wards; remove the role",
            )


@dataclass
class _Context:
    """What a city file is checked with, and the wards its checks read."""

    roles: set[str]
    base: Path
    """The city file's folder: its globs are relative to it."""
    progress: Progress
    org_problems: list[Problem] = field(default_factory=list)
    wards: list[_Ward] = field(default_factory=list)


def _officials_checked(spec: CityFile, reading: Reading[_Context]) -> None:
    _check_officials(spec, reading.context.roles, reading.report)


def _wards_loaded(spec: CityFile, reading: Reading[_Context]) -> None:
    context = reading.context
    context.wards = _load_wards(
        spec, context.base, context.roles, reading.report, context.org_problems, context.progress
    )


def _wards_checked(spec: CityFile, reading: Reading[_Context]) -> None:
    _check_wards(spec, reading.context.wards, reading.report)


CITY_FILE: DataFile[CityFile, _Context] = DataFile(
    "city file",
    _CODES,
    Schema(
        CityFile.model_validate,
        "CCHC-Y002",
        "CCHC-Y003",
        _allowed_keys,
        invalid_hint="see docs/city.md",
        drop_echoes=True,
    ),
    checks=(_officials_checked, _wards_loaded, _wards_checked),
    sort_problems=True,
)
"""A city file; its checks read the organization files it names (their problems apart)."""
