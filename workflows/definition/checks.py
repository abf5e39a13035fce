"""Cross-checks of one loaded workflow definition, each problem with a stable code and a hint."""

from __future__ import annotations

import difflib
from collections import Counter, deque
from collections.abc import Collection

from workflows.definition.models import StateType, WorkflowDefinition
from workflows.definition.yamlpos import Located, Path_
from workflows.errors import Problem
from workflows.registry import Registry

RESERVED_TRIGGERS = frozenset({"create"})
"""``create`` is how the audit trail records a new instance; no transition may use it."""


def did_you_mean(name: str, choices: Collection[str]) -> str:
    """A hint naming the closest known name, or listing the known names."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    known = ", ".join(sorted(choices)) or "none"
    return f"known: {known}"


class _Reporter:
    def __init__(self, file: str, located: Located, problems: list[Problem]) -> None:
        self.file = file
        self.located = located
        self.problems = problems

    def __call__(self, path: Path_, code: str, message: str, hint: str = "") -> None:
        line = self.located.line_of(path)
        self.problems.append(Problem(self.file, line, code, message, hint))


def check_workflow(
    defn: WorkflowDefinition,
    file: str,
    located: Located,
    *,
    roles: Collection[str],
    registry: Registry,
    templates: Collection[str],
) -> list[Problem]:
    """Every problem of ``defn`` that the schema alone cannot see."""
    problems: list[Problem] = []
    report = _Reporter(file, located, problems)
    state_names = [s.name for s in defn.states]
    known_states = set(state_names)

    _check_states(defn, state_names, report)
    _check_roles(("create_roles",), defn.create_roles, roles, report)
    for i, t in enumerate(defn.transitions):
        at: Path_ = ("transitions", i)
        if t.trigger in RESERVED_TRIGGERS:
            report(
                (*at, "trigger"),
                "CCHC-D017",
                f"trigger name {t.trigger!r} is reserved",
                "the engine records instance creation under this name; choose another",
            )
        for j, src in enumerate(t.source):
            if src not in known_states:
                report(
                    (*at, "source", j) if len(t.source) > 1 else (*at, "source"),
                    "CCHC-D005",
                    f"transition {t.trigger!r} starts from unknown state {src!r}",
                    did_you_mean(src, known_states),
                )
        if t.dest not in known_states:
            report(
                (*at, "dest"),
                "CCHC-D004",
                f"transition {t.trigger!r} goes to unknown state {t.dest!r}",
                did_you_mean(t.dest, known_states),
            )
        _check_roles((*at, "roles"), t.roles, roles, report)
        _check_names((*at, "guards"), "guard", "CCHC-D011", t.guards, registry.guards, report)
        _check_names((*at, "actions"), "action", "CCHC-D012", t.actions, registry.actions, report)

    _check_duties(defn, report)
    _check_duplicate_triggers(defn, report)
    _check_graph(defn, known_states, report)
    _check_deadlines(defn, known_states, roles, report)
    _check_notifications(defn, known_states, roles, templates, report)
    return problems


def _check_states(defn: WorkflowDefinition, names: list[str], report: _Reporter) -> None:
    for name, count in Counter(names).items():
        if count > 1:
            index = [i for i, n in enumerate(names) if n == name][1]
            report(
                ("states", index, "name"),
                "CCHC-D015",
                f"state {name!r} is declared {count} times",
                "give each state a unique name",
            )
    initial = [i for i, s in enumerate(defn.states) if s.type is StateType.INITIAL]
    if not initial:
        report(
            ("states",),
            "CCHC-D008",
            "no initial state",
            "mark exactly one state with 'type: initial'",
        )
    for i in initial[1:]:
        report(
            ("states", i, "type"),
            "CCHC-D009",
            f"several initial states: {', '.join(defn.states[j].name for j in initial)}",
            "keep 'type: initial' on one state only",
        )


def _check_roles(
    path: Path_, used: Collection[str], roles: Collection[str], report: _Reporter
) -> None:
    for j, role in enumerate(used):
        if role not in roles:
            report(
                (*path, j),
                "CCHC-D010",
                f"unknown role {role!r}",
                f"{did_you_mean(role, roles)} (roles are declared in roles.yaml)",
            )


def _check_names(
    path: Path_,
    what: str,
    code: str,
    used: Collection[str],
    known: Collection[str],
    report: _Reporter,
) -> None:
    for j, name in enumerate(used):
        if name not in known:
            report(
                (*path, j),
                code,
                f"unknown {what} {name!r}",
                f"{did_you_mean(name, known)} ({what}s come from the engine's registry)",
            )


def _check_duties(defn: WorkflowDefinition, report: _Reporter) -> None:
    """``not_by`` names known triggers; every decision on a submission takes a declared side."""
    triggers = set(defn.triggers()) | RESERVED_TRIGGERS
    submissions: set[str] = set()
    for i, t in enumerate(defn.transitions):
        for j, name in enumerate(t.not_by):
            if name not in triggers:
                report(
                    ("transitions", i, "not_by", j)
                    if len(t.not_by) > 1
                    else ("transitions", i, "not_by"),
                    "CCHC-D028",
                    f"transition {t.trigger!r} is not_by unknown trigger {name!r}",
                    did_you_mean(name, triggers),
                )
            submissions.add(name)
        if t.not_by and t.allow_same_person is not None:
            report(
                ("transitions", i, "allow_same_person"),
                "CCHC-D030",
                f"transition {t.trigger!r} both refuses (not_by) and allows the submitter",
                "keep one: not_by, or allow_same_person with the reason for the exception",
            )
    for i in _undeclared_decisions(defn, submissions):
        t = defn.transitions[i]
        report(
            ("transitions", i, "trigger"),
            "CCHC-D029",
            f"transition {t.trigger!r} decides on a submission "
            f"({', '.join(sorted(submissions))}) but does not say whether its submitter may",
            "add not_by: [the submission's trigger] or allow_same_person: <why>",
        )


def _undeclared_decisions(defn: WorkflowDefinition, submissions: set[str]) -> list[int]:
    """Indexes of transitions that fire while a submission awaits a decision, undeclared.

    A submission awaits from the state it enters until the item is back in a state a submission
    leaves (returned to its submitter) or ends; ``create`` submits in the initial state.
    """
    handed_back = {s for t in defn.transitions if t.trigger in submissions for s in t.source}
    starts = {t.dest for t in defn.transitions if t.trigger in submissions}
    if submissions & RESERVED_TRIGGERS and any(s.type is StateType.INITIAL for s in defn.states):
        starts.add(defn.initial_state.name)
    seen = set(starts)
    queue = deque(starts)
    found: list[int] = []
    while queue:
        state = queue.popleft()
        for i, t in enumerate(defn.transitions):
            if state not in t.source or t.trigger in submissions:
                continue
            if not t.not_by and t.allow_same_person is None and i not in found:
                found.append(i)
            if t.dest not in seen and t.dest not in handed_back:
                seen.add(t.dest)
                queue.append(t.dest)
    return sorted(found)


def _check_duplicate_triggers(defn: WorkflowDefinition, report: _Reporter) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, t in enumerate(defn.transitions):
        for src in t.source:
            first = seen.setdefault((t.trigger, src), i)
            if first != i:
                report(
                    ("transitions", i, "trigger"),
                    "CCHC-D006",
                    f"trigger {t.trigger!r} is defined twice from state {src!r} "
                    f"(transitions #{first + 1} and #{i + 1})",
                    "one trigger may leave a state only once; rename one of them",
                )


def _check_graph(defn: WorkflowDefinition, known: set[str], report: _Reporter) -> None:
    initial = [s.name for s in defn.states if s.type is StateType.INITIAL]
    outgoing: dict[str, list[str]] = {name: [] for name in known}
    for t in defn.transitions:
        for src in t.source:
            if src in outgoing and t.dest in known:
                outgoing[src].append(t.dest)
    reached = set(initial)
    queue = deque(initial)
    while queue:
        for nxt in outgoing[queue.popleft()]:
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    for i, state in enumerate(defn.states):
        at: Path_ = ("states", i)
        if initial and state.name not in reached:
            report(
                at,
                "CCHC-D007",
                f"state {state.name!r} cannot be reached from {initial[0]!r}",
                "add a transition into it or remove it",
            )
        leaving = [t.trigger for t in defn.transitions if state.name in t.source]
        if state.type is StateType.FINAL and leaving:
            report(
                at,
                "CCHC-D016",
                f"final state {state.name!r} has outgoing transitions: {', '.join(leaving)}",
                "make it a normal state or remove those transitions",
            )
        if state.type is not StateType.FINAL and not leaving:
            report(
                at,
                "CCHC-D018",
                f"state {state.name!r} is a dead end: no transition leaves it",
                "mark it 'type: final' or add a transition out of it",
            )


def _check_deadlines(
    defn: WorkflowDefinition, known: set[str], roles: Collection[str], report: _Reporter
) -> None:
    for i, d in enumerate(defn.deadlines):
        at: Path_ = ("deadlines", i)
        if d.state not in known:
            report(
                (*at, "state"),
                "CCHC-D014",
                f"deadline on unknown state {d.state!r}",
                did_you_mean(d.state, known),
            )
        for j, offset in enumerate(d.reminders):
            if not 0 < offset < d.days:
                report(
                    (*at, "reminders", j),
                    "CCHC-D019",
                    f"reminder {offset} day(s) before a deadline of {d.days} day(s)",
                    f"use offsets between 1 and {d.days - 1}",
                )
        if len(set(d.reminders)) != len(d.reminders):
            report(
                (*at, "reminders"), "CCHC-D019", "reminder offsets repeat", "list each offset once"
            )
        if d.on_expiry is not None and defn.transition(d.on_expiry, d.state) is None:
            report(
                (*at, "on_expiry"),
                "CCHC-D020",
                f"deadline on {d.state!r} fires {d.on_expiry!r}, which cannot fire from there",
                did_you_mean(d.on_expiry, defn.triggers()),
            )
        _check_roles((*at, "escalate_to"), d.escalate_to, roles, report)


def _check_notifications(
    defn: WorkflowDefinition,
    known: set[str],
    roles: Collection[str],
    templates: Collection[str],
    report: _Reporter,
) -> None:
    triggers = set(defn.triggers()) | RESERVED_TRIGGERS
    for i, n in enumerate(defn.notifications):
        at: Path_ = ("notifications", i)
        if (n.on_enter is None) == (n.on_trigger is None):
            report(
                at,
                "CCHC-D021",
                "a notification needs exactly one of on_enter or on_trigger",
                "say when it is sent: on entering a state or on firing a trigger",
            )
        if n.on_enter is not None and n.on_enter not in known:
            report(
                (*at, "on_enter"),
                "CCHC-D004",
                f"notification on entering unknown state {n.on_enter!r}",
                did_you_mean(n.on_enter, known),
            )
        if n.on_trigger is not None and n.on_trigger not in triggers:
            report(
                (*at, "on_trigger"),
                "CCHC-D022",
                f"notification on unknown trigger {n.on_trigger!r}",
                did_you_mean(n.on_trigger, triggers),
            )
        if n.template not in templates:
            report(
                (*at, "template"),
                "CCHC-D013",
                f"unknown template {n.template!r}",
                f"{did_you_mean(n.template, templates)} (see notifications/templates)",
            )
        _check_roles((*at, "to"), n.to, roles, report)
