"""The engine's error tree: one root, each error also a fitting built-in exception."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class WorkflowError(Exception):
    """Root of every error the engine raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a definition file, reported with its place and a stable code."""

    file: str
    line: int
    code: str
    message: str
    hint: str = ""

    def format(self) -> str:
        """Render as ``file:line: CODE message (hint)``, as ``cchc definitions check`` prints."""
        text = f"{self.file}:{self.line}: {self.code} {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class DefinitionError(WorkflowError, ValueError):
    """A definition is invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(p.format() for p in problems)
        super().__init__(f"{len(problems)} problem(s) in definitions:\n{lines}")


class UnknownKindError(WorkflowError, LookupError):
    """No definition is loaded for a kind (or for a definition version)."""


class InstanceNotFoundError(WorkflowError, LookupError):
    """No instance has the given id."""


class TransitionRefusedError(WorkflowError):
    """A fire was refused. ``reason_code`` says why and ``facts`` give the particulars (the
    actor, the roles needed, the state …) for the application to word; ``str()`` is a
    developer's sentence. The refusal is held for the audit trail before this is raised
    (``workflows.database.unit_of_work`` appends it)."""

    reason_code = "refused"

    def __init__(self, message: str, *, facts: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.facts: dict[str, Any] = dict(facts or {})


class NotPermittedError(TransitionRefusedError, PermissionError):
    """The actor holds none of the roles the transition allows, or acts outside its tenant."""

    reason_code = "not_permitted"


class TriggerNotAllowedError(TransitionRefusedError, ValueError):
    """The trigger does not exist for the kind or cannot fire from the instance's state."""

    reason_code = "trigger_not_allowed"


class GuardFailedError(TransitionRefusedError, ValueError):
    """A named guard of the transition returned false."""

    reason_code = "guard_failed"


class PayloadInvalidError(TransitionRefusedError, ValueError):
    """A payload field the transition requires is missing or empty."""

    reason_code = "payload_invalid"


class SeparationOfDutiesError(TransitionRefusedError, PermissionError):
    """The actor made the submission this transition decides on (the definition's ``not_by``)."""

    reason_code = "separation_of_duties"


class ConflictError(WorkflowError, RuntimeError):
    """The instance changed since it was read (stale version); nothing was written."""


class IdempotencyKeyReusedError(WorkflowError, ValueError):
    """An idempotency key was reused for a different instance, trigger or payload."""


class DefinitionVersionConflictError(WorkflowError, ValueError):
    """A definition's body differs from the one already stored under its kind and version."""


class StateAssignmentError(WorkflowError, AttributeError):
    """Code tried to set an instance's state directly instead of firing a trigger."""
