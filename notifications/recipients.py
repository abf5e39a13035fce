"""Who receives an outbox message in a CCHC ward: the people holding its roles.

The engine's outbox names roles, not people (``["unit_head", "unit_official"]``). A unit role
(``unit_head``, ``unit_official``) is scoped to the owner unit when the message's context has
``data.owner_unit`` (a task of Phòng Kinh tế notifies that unit's head, not every head); any
other role (Chairman, the focal official, the Office, admin …) is ward-wide, except
``vice_chairman``, which goes to the Vice-Chairman in charge of the owner unit when it has one.
Someone holding two of the listed roles is listed once. This is the only module of
``notifications`` that knows the CCHC organization.
"""

from __future__ import annotations

import json
from collections import Counter
from email.headerregistry import Address
from typing import Any, Protocol

from cchc.capabilities import roles_with
from cchc.organization import Organization, Person

__all__ = [
    "SCOPED_ROLES",
    "Organization",
    "OutboxLike",
    "Person",
    "owner_unit",
    "resolve_recipients",
    "ward_sender",
]

SCOPED_ROLES = roles_with("notified_for_own_unit")
"""Roles that go to the owner unit only, when the message names one."""


class OutboxLike(Protocol):
    """What resolving needs from an outbox row (``workflows.schema.OutboxMessage``)."""

    @property
    def recipients(self) -> str: ...

    @property
    def context(self) -> str: ...


def owner_unit(context: dict[str, Any]) -> str | None:
    """``data.owner_unit`` of an outbox context, or None when it has none."""
    data = context.get("data")
    unit = data.get("owner_unit") if isinstance(data, dict) else None
    return str(unit) if unit else None


def resolve_recipients(org: Organization, message: OutboxLike) -> list[Person]:
    """The people ``message`` goes to, in role order then file order, each once.

    Raises ``cchc.organization.UnknownUnitError`` when ``data.owner_unit`` is not a unit of
    ``org`` (the message cannot be addressed correctly; dispatch marks it failed).
    """
    roles = json.loads(message.recipients)
    unit = owner_unit(json.loads(message.context))
    people: dict[str, Person] = {}
    for role in roles:
        if role in roles_with("notified_for_field") and unit is not None:
            in_charge = org.unit(unit).vice_chairman_in_charge
            if in_charge is not None:  # the Vice-Chairman in charge of the unit's field
                person = org.person(in_charge)
                people.setdefault(person.id, person)
                continue
        scope = unit if role in SCOPED_ROLES else None
        for person in org.people_with_role(str(role), scope):
            people.setdefault(person.id, person)
    return list(people.values())


def ward_sender(org: Organization) -> str:
    """The ward's default e-mail sender: ``Hệ thống CCHC <ward> <cchc@<its mail domain>>``.

    The domain is the one most of the ward's people have in the organization file (the first
    in alphabetical order on a tie); ``CCHC_MAIL_FROM`` overrides the whole sender.
    """
    domains = Counter(person.email.rpartition("@")[2].lower() for person in org.people)
    domain = min(domains, key=lambda d: (-domains[d], d))
    return str(Address(display_name=f"Hệ thống CCHC {org.name}", addr_spec=f"cchc@{domain}"))
