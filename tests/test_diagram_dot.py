"""``workflows.diagram.to_dot``: a Graphviz DOT text of a definition, and its SVG drawing."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import IN_CI
from workflows.definition.loader import DefinitionSet
from workflows.definition.models import State, StateType, Transition, WorkflowDefinition
from workflows.diagram import dot_svg, to_dot

KIND = "approval_request"


def test_dot_has_every_state_and_transition_with_its_roles(definitions: DefinitionSet) -> None:
    """Every state is a node with its Vietnamese label (final states ringed twice), the start
    points at the initial state, and each source of a transition has an edge labelled with the
    trigger's label and the roles that may fire it."""
    definition = definitions.get(KIND)
    text = to_dot(definition)
    assert text.startswith("digraph ")
    for state in definition.states:
        assert f'"{state.name}" [label="{state.label}"' in text
    final = [s for s in definition.states if s.type is StateType.FINAL]
    assert final
    for state in final:
        assert f'"{state.name}" [label="{state.label}", peripheries=2]' in text
    assert f'"__start" -> "{definition.initial_state.name}"' in text
    edges = sum(len(t.source) for t in definition.transitions)
    assert text.count(" -> ") == edges + 1
    accept = next(t for t in definition.transitions if t.trigger == "accept")
    assert f'"submitted" -> "accepted" [label="{accept.label or "accept"}\\n[reviewer]"]' in text


def test_quotes_and_backslashes_in_labels_are_escaped() -> None:
    """A label with a double quote or a backslash cannot end the DOT string early."""
    definition = WorkflowDefinition(
        kind="odd",
        version=1,
        title='Một "quy trình" \\ lạ',
        create_roles=("author",),
        states=(
            State(name="draft", label='Bản "nháp" \\', type=StateType.INITIAL),
            State(name="done", label="Xong", type=StateType.FINAL),
        ),
        transitions=(
            Transition(
                trigger="finish",
                label='Kết "thúc"',
                source=("draft",),
                dest="done",
                roles=("author",),
            ),
        ),
    )
    text = to_dot(definition)
    assert '"draft" [label="Bản \\"nháp\\" \\\\"]' in text
    assert 'label="Kết \\"thúc\\"\\n[author]"' in text


def needs_dot() -> None:
    """Skip without Graphviz's ``dot``, except under ``CI=true`` (``.ci/run`` installs it)."""
    if shutil.which("dot") is None:
        if IN_CI:
            pytest.fail("Graphviz `dot` is required in CI (apt-get install graphviz)")
        pytest.skip("Graphviz `dot` is not installed (apt-get install graphviz)")


def test_dot_svg_draws_the_definition(definitions: DefinitionSet) -> None:
    """Graphviz turns the DOT text into an SVG document naming the states."""
    needs_dot()
    svg = dot_svg(to_dot(definitions.get(KIND))).decode("utf-8")
    assert "<svg" in svg
    assert "Đã chấp thuận" in svg
