"""The rules a fire must pass, in order, each named and with its reason code.

As Prefect's orchestration policies do, the fire path is a list of rules: each looks at the
attempt (``Attempt``: who fires what on which instance, the transition looked up once) and
returns None (go on) or a ``Refusal``: a reason code, the facts behind it and a developer's
sentence. The engine stops at the first refusal, records it and raises the error of its code;
the application words the code and facts for officials (``cchc.refusals``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

from sqlalchemy import Row
from sqlalchemy.orm import Session

from workflows import store
from workflows.definition.checks import did_you_mean
from workflows.definition.models import Transition, WorkflowDefinition
from workflows.errors import (
    GuardFailedError,
    NotPermittedError,
    PayloadInvalidError,
    SeparationOfDutiesError,
    TransitionRefusedError,
    TriggerNotAllowedError,
)
from workflows.registry import Actor, FireContext, Guard

CREATE = "create"
"""The trigger name an instance's creation is recorded under."""

NOT_PERMITTED = "not_permitted"
TRIGGER_NOT_ALLOWED = "trigger_not_allowed"
GUARD_FAILED = "guard_failed"
PAYLOAD_INVALID = "payload_invalid"
SEPARATION_OF_DUTIES = "separation_of_duties"

ERRORS: Mapping[str, type[TransitionRefusedError]] = {
    NOT_PERMITTED: NotPermittedError,
    TRIGGER_NOT_ALLOWED: TriggerNotAllowedError,
    GUARD_FAILED: GuardFailedError,
    PAYLOAD_INVALID: PayloadInvalidError,
    SEPARATION_OF_DUTIES: SeparationOfDutiesError,
}
"""The error raised for each reason code."""


SameActorText = Callable[[Actor, Sequence[tuple[str, str | None]], str, str], str]
"""How the application words a separation-of-duties refusal: (actor, the triggers they fired with
their labels, the instance's name, the decision's label) → the sentence an official reads."""


@dataclass(frozen=True)
class Refusal:
    """Why a fire may not happen: a reason code, the rule that said so, a developer's sentence
    (``str()`` of the error and the audit record's reason) and the facts for the application."""

    code: str
    rule: str
    message: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    def error(self) -> TransitionRefusedError:
        """The error to raise: the class of the code, carrying the rule and the facts."""
        return ERRORS[self.code](self.message, facts={"rule": self.rule, **self.facts})


@dataclass(frozen=True)
class Attempt:
    """One try to fire a trigger on a stored instance, as the rules see it."""

    session: Session
    row: Row[Any]
    """The instance as stored."""
    definition: WorkflowDefinition
    """The definition version the instance runs on."""
    trigger: str
    actor: Actor
    requested_role: str | None
    payload: Mapping[str, Any]
    transition: Transition | None
    """The transition ``trigger`` fires from the instance's state (None: it cannot)."""
    acting_role: str | None
    """The role the actor acts in: the requested one if allowed, else the first allowed held."""
    not_by: tuple[str, ...]
    """The transition's ``not_by``, with that of the loaded definition of the kind added."""
    guards: Mapping[str, Guard]
    now: datetime
    same_actor_text: SameActorText | None = None
    """How the application words a separation-of-duties refusal for its officials."""

    @property
    def fired(self) -> Transition:
        """The transition, for the rules that run only once it is known (never None there)."""
        if self.transition is None:
            raise AssertionError(f"no transition {self.trigger!r} from {self.row.state!r}")
        return self.transition

    @property
    def name(self) -> str:
        """``kind #id (ref)``, how messages name the instance."""
        return f"{self.row.kind} #{self.row.id} ({self.row.ref})"

    def facts(self) -> dict[str, Any]:
        """The facts every refusal of this attempt carries: who, on what, which trigger."""
        row, definition = self.row, self.definition
        return {
            "actor": self.actor.id,
            "kind": row.kind,
            "kind_title": definition.title,
            "instance_id": row.id,
            "ref": row.ref,
            "trigger": self.trigger,
            "trigger_label": trigger_label(definition, self.trigger),
            "state": row.state,
            "state_label": definition.state(row.state).label,
        }

    @cached_property
    def context(self) -> FireContext:
        """What guards read and actions change (only once the transition and role are known)."""
        transition = self.fired
        if self.acting_role is None:
            raise AssertionError(f"{self.actor.id} holds no role for {self.trigger!r}")
        return FireContext(
            instance_id=self.row.id,
            kind=self.row.kind,
            tenant=self.row.tenant,
            ref=self.row.ref,
            trigger=self.trigger,
            source=self.row.state,
            dest=transition.dest,
            actor=self.actor,
            role=self.acting_role,
            payload=self.payload,
            data=json.loads(self.row.data),
            created_by=self.row.created_by,
            now=self.now,
        )


class Rule:
    """A named check of the fire path with the reason code of its refusals."""

    name: ClassVar[str]
    code: ClassVar[str]
    role_known: ClassVar[bool] = False
    """The refusal is recorded with the acting role (the role rule has passed)."""

    def check(self, attempt: Attempt) -> Refusal | None:
        """None when the attempt passes this rule, else why not."""
        raise NotImplementedError

    def refuse(self, attempt: Attempt, message: str, **facts: Any) -> Refusal:
        """A refusal of ``attempt`` by this rule: its facts, with ``facts`` added."""
        return Refusal(self.code, self.name, message, {**attempt.facts(), **facts})


class SameTenant(Rule):
    """The actor acts in the instance's tenant (a refusal lands on the actor's own chain)."""

    name, code = "same_tenant", NOT_PERMITTED

    def check(self, attempt: Attempt) -> Refusal | None:
        """Refused when the actor belongs to another tenant."""
        actor, row = attempt.actor, attempt.row
        if actor.tenant == row.tenant:
            return None
        return self.refuse(
            attempt,
            f"{actor.id} of tenant {actor.tenant!r} may not act on {attempt.name} of another "
            "tenant",
            actor_tenant=actor.tenant,
            tenant=row.tenant,
        )


class KnownTrigger(Rule):
    """The kind has the trigger."""

    name, code = "known_trigger", TRIGGER_NOT_ALLOWED

    def check(self, attempt: Attempt) -> Refusal | None:
        """Refused, with the closest trigger as a hint, when the kind has no such trigger."""
        triggers = attempt.definition.triggers()
        if attempt.trigger in triggers:
            return None
        close = difflib.get_close_matches(attempt.trigger, triggers, n=1, cutoff=0.6)
        suggestion = close[0] if close else None
        return self.refuse(
            attempt,
            f"{attempt.row.kind!r} has no trigger {attempt.trigger!r}; "
            f"{did_you_mean(attempt.trigger, triggers)}",
            suggestion=suggestion,
            suggestion_label=trigger_label(attempt.definition, suggestion) if suggestion else None,
        )


class TriggerFromState(Rule):
    """The trigger fires from the instance's state."""

    name, code = "trigger_from_state", TRIGGER_NOT_ALLOWED

    def check(self, attempt: Attempt) -> Refusal | None:
        """Refused, naming the triggers possible now, when the state does not allow it."""
        if attempt.transition is not None:
            return None
        row, definition = attempt.row, attempt.definition
        possible = [t for t in definition.transitions if row.state in t.source]
        label = definition.state(row.state).label
        return self.refuse(
            attempt,
            f"{attempt.name} is in state {row.state!r} ({label}); {attempt.trigger!r} cannot "
            f"fire from there. Possible: {', '.join(t.trigger for t in possible) or 'none'}",
            possible=[t.trigger for t in possible],
            possible_labels=[t.label or t.trigger for t in possible],
        )


class RoleHeld(Rule):
    """The actor holds one of the roles the transition allows (the requested one, if any)."""

    name, code = "role_held", NOT_PERMITTED

    def check(self, attempt: Attempt) -> Refusal | None:
        """Refused, naming the roles needed and held, when the actor may not fire it."""
        if attempt.acting_role is not None:
            return None
        roles, held = list(attempt.fired.roles), sorted(attempt.actor.roles)
        return self.refuse(
            attempt,
            f"{attempt.actor.id} may not fire {attempt.trigger!r} on {attempt.name}: it needs "
            f"one of the roles {', '.join(roles)} (holds {', '.join(held)})",
            roles=roles,
            held=held,
        )


class PayloadComplete(Rule):
    """Every payload field the transition requires is given and not blank."""

    name, code, role_known = "payload_complete", PAYLOAD_INVALID, True

    def check(self, attempt: Attempt) -> Refusal | None:
        """Refused, naming the missing fields, when one is absent or blank."""
        payload = attempt.payload
        missing = [f for f in attempt.fired.requires if not str(payload.get(f) or "").strip()]
        if not missing:
            return None
        return self.refuse(
            attempt,
            f"{attempt.trigger!r} on {attempt.name} needs a non-empty {', '.join(missing)} in "
            "the payload",
            missing=missing,
        )


class SeparationOfDuties(Rule):
    """The actor did not make the submission the transition decides on (``not_by``)."""

    name, code, role_known = "separation_of_duties", SEPARATION_OF_DUTIES, True

    def check(self, attempt: Attempt) -> Refusal | None:
        """Refused when the actor last fired one of the ``not_by`` triggers (``create``: the
        instance's creator), from the instance's applied audit events."""
        return same_person(
            attempt.session,
            attempt.row,
            attempt.definition,
            attempt.fired,
            attempt.not_by,
            attempt.actor,
            attempt.same_actor_text,
        )


class GuardsPass(Rule):
    """Every named guard of the transition lets the fire go on (in the order named)."""

    name, code, role_known = "guards", GUARD_FAILED, True

    def check(self, attempt: Attempt) -> Refusal | None:
        """Refused by the first guard that says no, with that guard's own message."""
        for guard_name in attempt.fired.guards:
            said = attempt.guards[guard_name](attempt.context)
            if said is not None:
                return self.refuse(
                    attempt,
                    f"{attempt.trigger!r} on {attempt.name} refused by guard {guard_name!r}: "
                    f"{said.message}",
                    **said.facts,
                    guard=guard_name,
                )
        return None


FIRE_RULES: Sequence[Rule] = (
    SameTenant(),
    KnownTrigger(),
    TriggerFromState(),
    RoleHeld(),
    PayloadComplete(),
    SeparationOfDuties(),
    GuardsPass(),
)
"""The rules of ``Engine.fire``, in the order they are checked."""


def first_refusal(rules: Sequence[Rule], attempt: Attempt) -> tuple[Rule, Refusal] | None:
    """The first rule that refuses ``attempt`` and its refusal; None when all pass."""
    for rule in rules:
        refusal = rule.check(attempt)
        if refusal is not None:
            return rule, refusal
    return None


def create_refusal(definition: WorkflowDefinition, actor: Actor) -> Refusal:
    """The refusal of ``Engine.create``'s rule (``create_role_held``) when the actor holds
    none of the kind's ``create_roles``."""
    roles, held = list(definition.create_roles), sorted(actor.roles)
    return Refusal(
        NOT_PERMITTED,
        "create_role_held",
        f"{actor.id} may not create {definition.kind!r}: it needs one of the roles "
        f"{', '.join(roles)} (holds {', '.join(held)})",
        {
            "actor": actor.id,
            "kind": definition.kind,
            "kind_title": definition.title,
            "trigger": CREATE,
            "roles": roles,
            "held": held,
        },
    )


def same_person(
    session: Session,
    row: Row[Any],
    definition: WorkflowDefinition,
    transition: Transition,
    not_by: tuple[str, ...],
    actor: Actor,
    wording: SameActorText | None = None,
) -> Refusal | None:
    """The separation-of-duties refusal when ``actor`` last fired one of ``not_by`` on the
    instance (from its applied audit events; ``create``: the instance's creator). ``wording``
    (the application's) puts the sentence an official reads before the engine's own words."""
    if not not_by:
        return None
    fired = store.last_fired_by(session.connection(), row.id, not_by)
    fired[CREATE] = row.created_by
    mine = [t for t in not_by if fired.get(t) == actor.id]
    if not mine:
        return None
    labels: dict[str, str | None] = {t.trigger: t.label for t in definition.transitions}
    labels[CREATE] = None
    name = f"{row.kind} #{row.id} ({row.ref})"
    action = transition.label or transition.trigger
    message = (
        f"separation of duties: {actor.id} fired {', '.join(mine)} on {name} and may not "
        f"also fire {transition.trigger!r}; another person must decide"
    )
    if wording is not None:
        message = f"{wording(actor, [(t, labels.get(t)) for t in mine], name, action)} ({message})"
    return Refusal(
        SEPARATION_OF_DUTIES,
        SeparationOfDuties.name,
        message,
        {
            "actor": actor.id,
            "kind": row.kind,
            "kind_title": definition.title,
            "instance_id": row.id,
            "ref": row.ref,
            "trigger": transition.trigger,
            "trigger_label": action,
            "fired": mine,
            "fired_labels": [labels.get(t) or t for t in mine],
        },
    )


def trigger_label(definition: WorkflowDefinition, trigger: str) -> str:
    """The label of ``trigger`` in ``definition`` (the trigger itself when it has none)."""
    for t in definition.transitions:
        if t.trigger == trigger:
            return t.label or t.trigger
    return trigger
