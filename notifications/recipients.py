"""Who receives an outbox message: the application's organization says (a resolver).

The engine's outbox names roles, not people (``["unit_head", "unit_official"]``). Which people
hold them, and for which unit, is the application's: the organization passed to ``dispatch``
and the digest is an ``Organization`` (a protocol, ``cchc.organization.model.Organization`` is one)
whose ``recipients`` resolves the roles of a message. ``notifications`` imports nothing of the
application.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from email.headerregistry import Address
from typing import Any, Protocol

__all__ = [
    "Organization",
    "OutboxLike",
    "Person",
    "resolve_recipients",
    "ward_sender",
]


class Person(Protocol):
    """Someone notifications are addressed to."""

    @property
    def id(self) -> str: ...

    @property
    def full_name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def email(self) -> str: ...

    @property
    def roles(self) -> Sequence[str]: ...

    @property
    def unit(self) -> str | None: ...


class Organization(Protocol):
    """The ward notifications come from, its people and who receives what (the resolver)."""

    @property
    def tenant(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def kind_name(self) -> str: ...

    @property
    def name_in_text(self) -> str: ...

    @property
    def people(self) -> Sequence[Person]: ...

    def person(self, person_id: str) -> Person:
        """The person ``person_id`` (``LookupError`` when unknown)."""
        ...

    def recipients(self, roles: Sequence[str], context: Mapping[str, Any]) -> Sequence[Person]:
        """The people a message naming ``roles`` with ``context`` goes to, each once, in
        order (``LookupError`` when the message cannot be addressed)."""
        ...

    def reads_checkpoints(self, roles: Sequence[str]) -> bool:
        """Whether a person holding ``roles`` gets the ward's signed audit checkpoint."""
        ...


class OutboxLike(Protocol):
    """What resolving needs from an outbox row (``workflows.schema.OutboxMessage``)."""

    @property
    def recipients(self) -> str: ...

    @property
    def context(self) -> str: ...


def resolve_recipients(org: Organization, message: OutboxLike) -> list[Person]:
    """The people ``message`` goes to, as ``org`` resolves its roles (``LookupError`` when
    it cannot be addressed; dispatch marks it failed)."""
    roles = [str(role) for role in json.loads(message.recipients)]
    return list(org.recipients(roles, json.loads(message.context)))


def ward_sender(org: Organization) -> str:
    """The ward's default e-mail sender: ``Hệ thống CCHC <ward> <cchc@<its mail domain>>``.

    The domain is the one most of the ward's people have in the organization file (the first
    in alphabetical order on a tie); ``CCHC_MAIL_FROM`` overrides the whole sender.
    """
    domains = Counter(person.email.rpartition("@")[2].lower() for person in org.people)
    domain = min(domains, key=lambda d: (-domains[d], d))
    return str(Address(display_name=f"Hệ thống CCHC {org.name}", addr_spec=f"cchc@{domain}"))
