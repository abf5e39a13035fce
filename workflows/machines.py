"""Build one shared ``transitions`` machine per definition version, and fire it unbound.

Rows are never bound to a machine (``add_model`` grows superlinearly and holds strong
references); instead a light token carrying the state is passed to ``Event.trigger``.
``auto_transitions`` is off: no ``to_<state>()`` shortcut exists. The machine moves the state
and runs the actions; whether a fire may happen at all (roles, payload, guards …) the engine's
rules decide before it runs (``workflows.rules``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from transitions import EventData, Machine

from workflows.definition.models import StateType, WorkflowDefinition
from workflows.registry import Action, FireContext, Registry


class Token:
    """The only object a machine ever sees: the state of one instance during one fire."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def _action(action: Action) -> Callable[[EventData], None]:
    def callback(event: EventData) -> None:
        action(event.kwargs["ctx"])

    return callback


@dataclass(frozen=True)
class BuiltMachine:
    """A definition, its content hash and the machine built from it."""

    definition: WorkflowDefinition
    hash: str
    machine: Any

    def run(self, trigger: str, state: str, ctx: FireContext) -> str:
        """Fire ``trigger`` from ``state`` (the rules passed), running its actions on ``ctx``;
        the new state."""
        token = Token(state)
        if not self.machine.events[trigger].trigger(token, ctx=ctx):
            raise RuntimeError(f"the machine did not fire {trigger!r} from {state!r}")
        return token.state


def build_machine(definition: WorkflowDefinition, registry: Registry) -> BuiltMachine:
    """The machine for a validated definition, its guards and actions resolved in ``registry``."""
    transitions = [
        {
            "trigger": t.trigger,
            "source": list(t.source),
            "dest": t.dest,
            "after": [_action(registry.actions[name]) for name in t.actions],
        }
        for t in definition.transitions
    ]
    machine = Machine(
        model=None,
        states=[{"name": s.name, "final": s.type is StateType.FINAL} for s in definition.states],
        initial=definition.initial_state.name,
        transitions=transitions,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
        name=definition.kind,
    )
    return BuiltMachine(definition=definition, hash=definition.content_hash, machine=machine)
