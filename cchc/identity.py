"""Who the CLI acts as: anyone named by ``--as`` (open mode, the default), or only the person
mapped to the operating-system account running it (``CCHC_CLI_IDENTITY=os``).

In ``os`` mode the organization file maps people to accounts (``os_account:`` per person); a
command naming anyone else with ``--as`` is refused, and the refusal is audited
(``kind='identity'``), so a shell on a production server cannot act as the Chairman. The demo
and the tests use the open mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from cchc.organization.model import Person
from workflows import channel
from workflows.engine import Engine
from workflows.errors import NotPermittedError
from workflows.registry import Actor

IDENTITY_ENV = "CCHC_CLI_IDENTITY"
MODES = ("open", "os")


def mode(env: Mapping[str, str] | None = None) -> str:
    """``open`` or ``os`` from ``CCHC_CLI_IDENTITY`` (``ValueError`` for anything else)."""
    env = os.environ if env is None else env
    value = (env.get(IDENTITY_ENV) or "open").strip().lower()
    if value not in MODES:
        raise ValueError(f"{IDENTITY_ENV} must be one of {', '.join(MODES)}, not {value!r}")
    return value


def mapped_person(people: Iterable[Person], account: str) -> str | None:
    """The id of the person (of ``people``) whose ``os_account`` is ``account``, if any."""
    for person in people:
        if person.os_account is not None and person.os_account == account:
            return person.id
    return None


class IdentityRefusedError(NotPermittedError):
    """The CLI was asked to act as someone else than the person of its operating-system
    account (``CCHC_CLI_IDENTITY=os``)."""

    reason_code = "identity_refused"


def require_cli_identity(
    session: Session,
    engine: Engine,
    people: Iterable[Person],
    actor: Actor,
    *,
    account: str | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Nothing in open mode, or when ``actor`` is the person mapped to the operating-system
    ``account`` (default: the one running); else audit the refusal and raise
    ``IdentityRefusedError``."""
    if mode(env) == "open":
        return
    account = account or channel.os_account()
    mapped = mapped_person(people, account)
    if mapped == actor.id:
        return
    who = Actor(id=mapped or f"os:{account}", roles=frozenset(), tenant=actor.tenant, unit=None)
    mapped_text = f"mapped to {mapped}" if mapped else "mapped to nobody in the organization"
    engine.refuse(
        session,
        actor=who,
        kind="identity",
        ref=actor.id,
        trigger="act_as",
        error=IdentityRefusedError(
            f"{IDENTITY_ENV}=os: the operating-system account {account!r} is {mapped_text}; "
            f"it may not act as {actor.id}",
            facts={"rule": "cli_identity", "account": account, "mapped": mapped, "actor": actor.id},
        ),
    )
