"""Mermaid state diagrams of workflow definitions (``cchc definitions diagram KIND``)."""

from __future__ import annotations

from workflows.definition.models import StateType, WorkflowDefinition


def mermaid(definition: WorkflowDefinition) -> str:
    """A ``stateDiagram-v2`` with Vietnamese state labels and trigger names (roles in brackets)."""
    lines = [
        "stateDiagram-v2",
        f"    %% {definition.kind} v{definition.version}: {definition.title}",
    ]
    for state in definition.states:
        label = state.label.replace('"', "'")
        lines.append(f'    state "{label}" as {state.name}')
    lines.append(f"    [*] --> {definition.initial_state.name}")
    for t in definition.transitions:
        extras = []
        if t.not_by:
            extras.append("not by " + ", ".join(t.not_by))
        if t.allow_same_person is not None:
            extras.append("the submitter may too")
        if t.guards:
            extras.append("if " + ", ".join(t.guards))
        if t.requires:
            extras.append("needs " + ", ".join(t.requires))
        note = f" ({'; '.join(extras)})" if extras else ""
        lines.extend(
            f"    {source} --> {t.dest}: {t.trigger} [{', '.join(t.roles)}]{note}"
            for source in t.source
        )
    lines.extend(
        f"    {state.name} --> [*]" for state in definition.states if state.type is StateType.FINAL
    )
    return "\n".join(lines) + "\n"
