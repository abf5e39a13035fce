"""Who may read what. The engine decides every change; this module decides every read.

Reading never goes through a state machine, so the read side has its own small policy:

- people of the leadership, the focal unit, the Office, the administrator and the inspection
  team read everything of their own tenant (ward);
- a unit's head and officials read their own unit's items only;
- nobody reads another tenant's data (a city official reads the wards' published indices
  through the city view, never their records).

A refused read is audited on the reader's tenant chain (``kind='access'``) and raised as
``AccessDeniedError`` (a ``PermissionError``), so an inspector can see who tried to look where.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cchc.organization.capabilities import roles_with
from workflows.engine import Engine
from workflows.errors import NotPermittedError
from workflows.registry import Actor

TENANT_READERS = roles_with("read_ward")
"""Roles that read every unit's items of their tenant."""

UNIT_READERS = roles_with("read_own_unit")
"""Roles that read their own unit's items only."""

READ_ONLY_ROLES = roles_with("read_only")
"""Roles that change nothing: no definition may grant them a trigger (checked by the tests)."""


class AccessDeniedError(NotPermittedError):
    """The actor may not read what was asked for (another tenant, another unit)."""


@dataclass(frozen=True)
class ReadScope:
    """What one actor may read: a tenant, and every unit of it (``units is None``) or some."""

    tenant: str
    units: frozenset[str] | None

    @property
    def whole_tenant(self) -> bool:
        """True when every unit of the tenant is readable."""
        return self.units is None

    def allows(self, tenant: str, unit: str | None = None) -> bool:
        """True when an item of ``tenant`` owned by ``unit`` (None: the whole ward) is readable."""
        if tenant != self.tenant:
            return False
        if self.units is None:
            return True
        return unit is not None and unit in self.units


def read_scope(actor: Actor) -> ReadScope:
    """The actor's read scope from their roles and unit (nothing for a role-less actor)."""
    if actor.roles & TENANT_READERS:
        return ReadScope(actor.tenant, None)
    if actor.roles & UNIT_READERS and actor.unit is not None:
        return ReadScope(actor.tenant, frozenset({actor.unit}))
    return ReadScope(actor.tenant, frozenset())


def require_read(  # noqa: RET503 - ends in engine.refuse(), which never returns
    session: Session,
    engine: Engine,
    actor: Actor,
    *,
    what: str,
    tenant: str,
    unit: str | None = None,
) -> ReadScope:
    """The actor's scope when it allows reading ``what``; else audit the refusal and raise.

    ``unit=None`` asks for the tenant as a whole (every unit's items). ``what`` names the read
    in the audit trail and the message, e.g. ``tasks of unit kt`` or ``audit trail``.
    """
    scope = read_scope(actor)
    if scope.allows(tenant, unit):
        return scope
    if tenant != actor.tenant:
        why = f"{actor.id} of tenant {actor.tenant!r} may not read {what} of tenant {tenant!r}"
    elif unit is None:
        why = (
            f"{actor.id} may read the items of their own unit only "
            f"({actor.unit or 'no unit'}), not {what} of the whole tenant"
        )
    else:
        why = f"{actor.id} may not read {what}: it belongs to unit {unit!r}, not theirs"
    engine.refuse(
        session,
        actor=actor,
        kind="access",
        ref=what[:200],
        trigger="read",
        error=AccessDeniedError(
            why,
            facts={
                "rule": "read_scope",
                "actor": actor.id,
                "what": what,
                "tenant": tenant,
                "unit": unit,
            },
        ),
    )


def require_any_role(  # noqa: RET503 - ends in engine.refuse(), which never returns
    session: Session,
    engine: Engine,
    actor: Actor,
    roles: Collection[str],
    *,
    what: str,
    kind: str = "command",
    facts: Mapping[str, Any] | None = None,
) -> str:
    """The first of ``roles`` the actor holds; else audit a ``not_permitted`` refusal and raise.

    For work decided outside a single fire (a sweep, a delivery run, a multi-step command):
    checked up front, so nothing but the refusal is written. ``what`` names the work in the
    message and the audit trail, e.g. ``run the deadline sweep``; ``facts`` are added to the
    error's (a ``rule`` among them replaces ``command_role``) for ``cchc.refusals`` to word.
    """
    held = sorted(actor.roles & set(roles))
    if held:
        return held[0]
    engine.refuse(
        session,
        actor=actor,
        kind=kind,
        ref=what[:200],
        trigger=what.split(" ", 1)[0],
        error=NotPermittedError(
            f"{actor.id} may not {what}: it needs one of the roles {', '.join(sorted(roles))} "
            f"(holds {', '.join(sorted(actor.roles)) or 'none'})",
            facts={
                "rule": "command_role",
                "actor": actor.id,
                "what": what,
                "roles": sorted(roles),
                "held": sorted(actor.roles),
                **(facts or {}),
            },
        ),
    )
