"""The explicit registry of guards and actions that definitions may name.

Definitions refer to guards and actions by name only; a name resolves here or the definition is
invalid. Nothing is ever imported from a dotted path found in a definition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Someone (or a flow acting for someone) who fires triggers: an id, roles and a tenant."""

    id: str
    roles: frozenset[str]
    tenant: str
    unit: str | None = None
    """The organisational unit the actor belongs to, for guards that scope by unit."""

    @classmethod
    def of(cls, id: str, *roles: str, tenant: str, unit: str | None = None) -> Actor:  # noqa: A002
        """Shorthand: ``Actor.of("lan", "author", tenant="phu-lien")``."""
        # ``id`` is named like the field it fills (A002 waived: callers may pass it by name).
        return cls(id=id, roles=frozenset(roles), tenant=tenant, unit=unit)


@dataclass
class FireContext:
    """What a guard reads and an action changes while one trigger fires."""

    instance_id: int
    kind: str
    tenant: str
    ref: str
    trigger: str
    source: str
    dest: str
    actor: Actor
    role: str
    payload: Mapping[str, Any]
    data: dict[str, Any]
    """The instance's data; actions may change it and the engine saves it with the state."""
    created_by: str
    now: datetime


@dataclass(frozen=True)
class GuardRefusal:
    """Why a guard said no: a developer's sentence (kept under ``python -OO``, unlike a
    docstring) and the facts the application words for officials."""

    message: str
    facts: Mapping[str, Any] = field(default_factory=dict)


Guard = Callable[[FireContext], GuardRefusal | None]
"""A read-only check on the fire context: None when the fire may go on, else why not."""
Action = Callable[[FireContext], None]


@dataclass
class Registry:
    """Named guards and actions. Use ``@registry.guard("name")`` / ``@registry.action("name")``."""

    guards: dict[str, Guard] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)

    def guard(self, name: str) -> Callable[[Guard], Guard]:
        """Register a guard: a read-only check on the fire context that returns None (pass) or
        a ``GuardRefusal`` saying why not."""

        def register(func: Guard) -> Guard:
            _register(self.guards, "guard", name, func)
            return func

        return register

    def action(self, name: str) -> Callable[[Action], Action]:
        """Register an action: changes ``ctx.data`` after the guards passed."""

        def register(func: Action) -> Action:
            _register(self.actions, "action", name, func)
            return func

        return register

    def merged(self, other: Registry) -> Registry:
        """A new registry holding both; a name registered in both is an error."""
        merged = Registry(dict(self.guards), dict(self.actions))
        for name, guard in other.guards.items():
            _register(merged.guards, "guard", name, guard)
        for name, action in other.actions.items():
            _register(merged.actions, "action", name, action)
        return merged


def _register(table: dict[str, Any], what: str, name: str, func: Any) -> None:
    if name in table:
        raise ValueError(f"{what} {name!r} is registered twice")
    table[name] = func


builtins = Registry()
"""Generic guards and actions any kind may use."""


@builtins.guard("not_creator")
def _not_creator(ctx: FireContext) -> GuardRefusal | None:
    """Prevents anyone from deciding on an instance they created themselves (four-eyes rule)."""
    if ctx.actor.id != ctx.created_by:
        return None
    return GuardRefusal(
        "Prevents anyone from deciding on an instance they created themselves (four-eyes rule)",
        {"creator": ctx.created_by},
    )


@builtins.guard("payload_has_attachment")
def _payload_has_attachment(ctx: FireContext) -> GuardRefusal | None:
    """Prevents submitting without at least one attachment hash in ``payload['attachments']``."""
    attachments = ctx.payload.get("attachments")
    if isinstance(attachments, list) and len(attachments) > 0:
        return None
    return GuardRefusal(
        "Prevents submitting without at least one attachment hash in payload['attachments']"
    )


@builtins.action("count_revision")
def _count_revision(ctx: FireContext) -> None:
    """Counts how many times the instance was (re)submitted, in ``data['revision']``."""
    ctx.data["revision"] = int(ctx.data.get("revision", 0)) + 1


@builtins.action("record_reason")
def _record_reason(ctx: FireContext) -> None:
    """Keeps the last decision's reason and who gave it, for the next reader of the instance."""
    ctx.data["last_reason"] = str(ctx.payload.get("reason", ""))
    ctx.data["last_reason_by"] = ctx.actor.id


@builtins.action("record_decision")
def _record_decision(ctx: FireContext) -> None:
    """Keeps who decided, as what role, with which trigger and when, in ``data['decision']``."""
    ctx.data["decision"] = {
        "trigger": ctx.trigger,
        "by": ctx.actor.id,
        "role": ctx.role,
        "at": ctx.now.isoformat(),
    }
