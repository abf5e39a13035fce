"""State diagrams of workflow definitions: Mermaid text (``cchc definitions diagram KIND``) and
Graphviz DOT text drawn as SVG (the administrator's page of definitions)."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from workflows.definition.models import StateType, WorkflowDefinition

DOT_TIMEOUT_SECONDS = 20
START = "__start"
"""The DOT node the initial state's arrow starts from (no state name has a leading '_')."""


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


def _quoted(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, line breaks as ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def to_dot(definition: WorkflowDefinition) -> str:
    """A Graphviz ``digraph``: each state a rounded box with its Vietnamese label (a final state
    ringed twice), an arrow from a start point to the initial state, and one arrow per source
    of each transition labelled with the trigger's label and, in brackets, the roles."""
    title = f"{definition.title} ({definition.kind} v{definition.version})"
    lines = [
        f"digraph {_quoted(definition.kind)} {{",
        f'  graph [rankdir=LR, labelloc=t, fontname="DejaVu Sans", label={_quoted(title)}];',
        '  node [shape=box, style="rounded", fontname="DejaVu Sans", fontsize=11];',
        '  edge [fontname="DejaVu Sans", fontsize=9];',
        f'  {_quoted(START)} [shape=point, label=""];',
    ]
    for state in definition.states:
        ring = ", peripheries=2" if state.type is StateType.FINAL else ""
        lines.append(f"  {_quoted(state.name)} [label={_quoted(state.label)}{ring}];")
    lines.append(f"  {_quoted(START)} -> {_quoted(definition.initial_state.name)};")
    for t in definition.transitions:
        label = _quoted(f"{t.label or t.trigger}\n[{', '.join(t.roles)}]")
        lines.extend(
            f"  {_quoted(source)} -> {_quoted(t.dest)} [label={label}];" for source in t.source
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


class DiagramUnavailableError(RuntimeError):
    """Graphviz ``dot`` is not installed, or it could not draw the text."""


@lru_cache(maxsize=64)
def dot_svg(text: str) -> bytes:
    """The SVG drawing of a DOT text by Graphviz ``dot`` (Debian package ``graphviz``); the
    same text is drawn once per process."""
    program = shutil.which("dot")
    if program is None:
        raise DiagramUnavailableError("Graphviz `dot` is not installed (apt-get install graphviz)")
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program, the text on standard input
            [program, "-Tsvg"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DiagramUnavailableError(f"`dot` took over {DOT_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0:
        problem = done.stderr.decode("utf-8", "replace").strip()
        raise DiagramUnavailableError(f"`dot` failed: {problem}")
    return done.stdout
