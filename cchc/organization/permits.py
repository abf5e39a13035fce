"""Which roles may create a kind or fire a trigger, read from the workflow definitions in force.

The CLI's up-front checks (``cchc.commands.cycle_common.require_roles``) and the web pages'
(``cchc.web.permits``) ask here, so both refuse the same people. ``SCORE_ALL`` is the one
action that is not a single trigger: a scoring run self-scores every unit's assessments.
"""

from __future__ import annotations

from cchc.organization.capabilities import roles_with
from workflows.engine import Engine

SCORE_ALL = "score_all"
"""The pseudo-trigger of a scoring (or ranking) run: it self-scores every unit's assessments,
which the guard ``own_unit_or_focal`` lets only ``submit_for_any_unit`` roles do for another
unit, so a run needs a role that may ``self_score`` and holds that capability."""


def allowed_roles(engine: Engine, kind: str, trigger: str | None = None) -> set[str]:
    """The roles that may create ``kind`` (or fire ``trigger`` on it; for ``assessment`` and
    ``SCORE_ALL``: run the scoring of every unit)."""
    if kind == "assessment" and trigger == SCORE_ALL:
        return allowed_roles(engine, kind, "self_score") & roles_with("submit_for_any_unit")
    definition = engine.current(kind).definition
    if trigger is None:
        return set(definition.create_roles)
    return {r for t in definition.transitions if t.trigger == trigger for r in t.roles}
