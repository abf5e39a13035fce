"""Immutable definition models: what a workflow YAML file may say, and nothing else."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from workflows.canonical import canonical_json, sha256_hex

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""Identifiers in definitions: snake_case ASCII, so they are safe as keys and method names."""

Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateType(StrEnum):
    """Where a state sits in the life of an instance."""

    INITIAL = "initial"
    NORMAL = "normal"
    FINAL = "final"


class State(_Frozen):
    """One state of a kind, with the Vietnamese label officials read."""

    name: Name
    label: Label
    type: StateType = StateType.NORMAL


def _as_tuple(value: object) -> object:
    return (value,) if isinstance(value, str) else value


class Transition(_Frozen):
    """A trigger that moves an instance from one of ``source`` to ``dest``."""

    trigger: Name
    label: Label | None = None
    source: tuple[Name, ...] = Field(min_length=1)
    dest: Name
    roles: tuple[Name, ...] = Field(min_length=1)
    guards: tuple[Name, ...] = ()
    actions: tuple[Name, ...] = ()
    requires: tuple[Name, ...] = ()
    """Payload fields that must be present and non-empty (e.g. ``reason`` for a refusal)."""
    not_by: tuple[Name, ...] = ()
    """Separation of duties: whoever last fired one of these triggers on the instance (``create``:
    its creator) may not fire this one; the engine refuses them (``separation_of_duties``)."""
    allow_same_person: Label | None = None
    """The declared exception: why the person who submitted may fire this transition."""

    _normalise_lists = field_validator(
        "source", "roles", "guards", "actions", "requires", "not_by", mode="before"
    )(_as_tuple)


_LATER_FIELDS = ("not_by", "allow_same_person")
"""Transition fields that the canonical JSON omits when empty (see ``canonical_json``)."""


class DayCount(StrEnum):
    """How a deadline counts days."""

    CALENDAR = "calendar"
    WORKING = "working"


class Deadline(_Frozen):
    """A due time relative to entering ``state``, with reminders and escalation."""

    state: Name
    days: int = Field(gt=0, le=3660)
    count: DayCount = DayCount.CALENDAR
    reminders: tuple[int, ...] = ()
    """Days before the due time at which to remind (e.g. ``[7, 3, 1]``)."""
    on_expiry: Name | None = None
    """Trigger fired when the deadline passes (e.g. ``mark_overdue``)."""
    escalate_to: tuple[Name, ...] = ()
    """Roles told when the deadline passes, in order, one step per ``escalate_every`` days."""
    escalate_every: int = Field(default=2, gt=0, le=365)

    _normalise_escalate = field_validator("escalate_to", mode="before")(_as_tuple)


class Notification(_Frozen):
    """A message written to the outbox on entering a state or on firing a trigger."""

    on_enter: Name | None = None
    on_trigger: Name | None = None
    template: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_./-]*$", max_length=120)]
    to: tuple[Name, ...] = Field(min_length=1)

    _normalise_to = field_validator("to", mode="before")(_as_tuple)


class WorkflowDefinition(_Frozen):
    """A kind of stateful thing: its states, transitions, deadlines and notifications."""

    kind: Name
    version: int = Field(ge=1)
    title: Label
    description: str | None = None
    create_roles: tuple[Name, ...] = Field(min_length=1)
    """Roles allowed to create an instance (it starts in the initial state)."""
    states: tuple[State, ...] = Field(min_length=1)
    transitions: tuple[Transition, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    notifications: tuple[Notification, ...] = ()

    _normalise_create = field_validator("create_roles", mode="before")(_as_tuple)

    @property
    def initial_state(self) -> State:
        """The one initial state (the loader has checked there is exactly one)."""
        return next(s for s in self.states if s.type is StateType.INITIAL)

    def state(self, name: str) -> State:
        """The state called ``name``."""
        return next(s for s in self.states if s.name == name)

    def transition(self, trigger: str, source: str) -> Transition | None:
        """The transition ``trigger`` fires from ``source``, if any."""
        for t in self.transitions:
            if t.trigger == trigger and source in t.source:
                return t
        return None

    def triggers(self) -> list[str]:
        """Every trigger name, in definition order, without repeats."""
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def canonical_json(self) -> str:
        """The definition as canonical JSON (sorted keys, no spaces): what its hash covers.

        Transition fields added later (``not_by``, ``allow_same_person``) are left out when
        unset, so a definition that does not use them keeps the hash it always had.
        """
        data = self.model_dump(mode="json")
        for transition in data["transitions"]:
            for name in _LATER_FIELDS:
                if not transition[name]:
                    del transition[name]
        return canonical_json(data)

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON: the definition version an instance runs on."""
        return sha256_hex(self.canonical_json())


class RoleSpec(_Frozen):
    """A role that people can hold and transitions can name.

    ``capabilities`` name what holding the role lets a person do outside the workflow
    definitions (read every unit, sign documents, …): free names that the application looks
    up and the engine does not interpret.
    """

    label: Label
    description: str | None = None
    capabilities: tuple[Name, ...] = ()

    @field_validator("capabilities")
    @classmethod
    def _listed_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({c for c in value if value.count(c) > 1})
        if twice:
            raise ValueError(f"capability listed twice: {', '.join(twice)}")
        return value


class RoleCatalog(_Frozen):
    """Every role known to a set of definitions (``roles.yaml``)."""

    roles: dict[Name, RoleSpec] = Field(min_length=1)

    def holders(self, capability: str) -> frozenset[str]:
        """The roles that declare ``capability``."""
        return frozenset(n for n, spec in self.roles.items() if capability in spec.capabilities)


FileKind = Literal["workflow", "roles"]
