"""The history an inspector asks for: of a sub-criterion, a task, a unit or a person.

Every answer is a list of ``HistoryRow`` read from the audit trail (and, for a sub-criterion,
its score runs): when (Asia/Ho_Chi_Minh), who, as which role, on what, which action, from →
to, the outcome, the evidence hash the act concerned and the reason given. Reading never goes
through a state machine; the caller checks the reader's scope first
(``cchc.organization.access``) with the owner unit the ``find_*`` functions return.

The lookups use the indexes of migration 0005: events of an object by ``(tenant, kind, ref)``
(refused creations included, which have no instance id), a person's acts by
``(tenant, actor, occurred_at)``, a unit's objects by instance id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from cchc import vi_text
from cchc.refusals import REFUSAL_LABELS
from cchc.tables import Score
from workflows.canonical import utc
from workflows.definition.loader import DefinitionSet
from workflows.schema import AuditEvent, Instance

OUTCOME_LABELS = {
    "applied": "Đã thực hiện",
    "refused": "Bị từ chối",
    "notified": "Đã nhắc, thông báo",
    "scored": "Đã tính điểm",
}
KIND_LABELS = {
    "plan": "Kế hoạch",
    "task": "Nhiệm vụ",
    "assessment": "Tiêu chí",
    "evidence": "Tài liệu kiểm chứng",
    "meeting": "Giao ban",
    "metric_import": "Số liệu",
    "ranking": "Xếp hạng",
    "access": "Truy cập",
    "score": "Điểm",
}
PAYLOAD_WORDS = {
    "product": "Sản phẩm",
    "decision_number": "Số quyết định",
    "notice_number": "Số thông báo",
}
"""What a row's reason column calls the payload value it shows (``Sản phẩm: …``)."""
REVIEW_TRIGGERS = frozenset({"accept", "request_changes", "reject"})
"""Evidence decisions: their payload names the sha256 the reviewer saw."""
OWNED_KINDS = ("task", "assessment", "evidence")
"""Kinds whose instances name an owner unit in their data."""

_COLUMNS = (
    AuditEvent.id,
    AuditEvent.seq,
    AuditEvent.occurred_at,
    AuditEvent.actor,
    AuditEvent.role,
    AuditEvent.instance_id,
    AuditEvent.kind,
    AuditEvent.ref,
    AuditEvent.trigger,
    AuditEvent.from_state,
    AuditEvent.to_state,
    AuditEvent.payload,
    AuditEvent.outcome,
    AuditEvent.reason,
    AuditEvent.channel,
)


class _Event(NamedTuple):
    """The columns of ``_COLUMNS`` as read."""

    id: int
    seq: int
    occurred_at: datetime
    actor: str
    role: str | None
    instance_id: int | None
    kind: str
    ref: str
    trigger: str
    from_state: str | None
    to_state: str | None
    payload: str
    outcome: str
    reason: str | None
    channel: str | None


@dataclass(frozen=True)
class Labels:
    """Vietnamese names for what the rows show: states, triggers, people, units."""

    states: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    triggers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        definitions: DefinitionSet,
        people: Mapping[str, str] | None = None,
        units: Mapping[str, str] | None = None,
    ) -> Labels:
        """Labels from the loaded definitions and the organization's names."""
        return cls(
            states={
                k: {s.name: s.label for s in d.states} for k, d in definitions.workflows.items()
            },
            triggers={
                k: {t.trigger: t.label for t in d.transitions if t.label}
                for k, d in definitions.workflows.items()
            },
            people=dict(people or {}),
            units=dict(units or {}),
            roles={name: role.label for name, role in definitions.roles.roles.items()},
        )

    def role(self, name: str) -> str:
        """``Công chức đơn vị`` for ``unit_official`` (the catalogue's label); ``—`` for none."""
        return self.roles.get(name, name) if name else "—"

    def action_words(self, kind: str, trigger: str) -> str:
        """The trigger in words only (``Nộp sản phẩm``), for documents officials read."""
        if trigger == "create":
            return "Tạo mới"
        if trigger.startswith("notify:"):
            return "Nhắc việc, thông báo"
        if kind == "access" and trigger == "read":
            return "Xem dữ liệu"
        return self.triggers.get(kind, {}).get(trigger, trigger)

    def state(self, kind: str, name: str | None) -> str:
        """``Đã nộp, chờ thẩm định`` for ``submitted``; ``—`` for none."""
        if not name:
            return "—"
        return self.states.get(kind, {}).get(name, name)

    def action(self, kind: str, trigger: str) -> str:
        """The trigger's label (``Công nhận``), with its code when they differ."""
        if trigger == "create":
            return "Tạo mới (create)"
        if trigger.startswith("notify:"):
            return f"Nhắc việc, thông báo ({trigger.removeprefix('notify:')})"
        if kind == "access" and trigger == "read":
            return "Xem dữ liệu (read)"
        label = self.triggers.get(kind, {}).get(trigger)
        return f"{label} ({trigger})" if label else trigger


class HistoryRow(NamedTuple):
    """One line of a history: an audit event, or a score run of a sub-criterion.

    A named tuple: histories run to thousands of rows, and a tuple is built several times
    faster than a frozen dataclass.
    """

    occurred_at: datetime
    actor: str
    actor_name: str
    role: str
    kind: str
    instance_id: int | None
    ref: str
    object: str
    """What the act was on, in words: ``Tài liệu kiểm chứng #45 (criterion:1.1.3)``."""
    trigger: str
    action: str
    from_state: str | None
    to_state: str | None
    moved: str
    """``Đã nộp, chờ thẩm định → Đạt``."""
    outcome: str
    outcome_label: str
    sha256: str | None
    reason: str | None
    event_id: int | None = None
    seq: int | None = None
    unit: str | None = None
    role_label: str = ""
    """The role in words (``Công chức đơn vị``); empty for the system."""
    action_label: str = ""
    """The action in words only (``Nộp sản phẩm``), without the trigger's code."""
    channel: str | None = None
    """How the actor reached the system (``web:…``, ``cli:…``); None before it was recorded."""

    @property
    def time_local(self) -> str:
        """``dd/mm/yyyy HH:MM:SS`` in Asia/Ho_Chi_Minh."""
        return vi_text.datetime_text(self.occurred_at, seconds=True)

    def as_json(self) -> dict[str, Any]:
        """The row as a JSON object (times in UTC ISO and local text)."""
        return {
            "occurred_at": utc(self.occurred_at).isoformat().replace("+00:00", "Z"),
            "occurred_at_local": self.time_local,
            "actor": self.actor,
            "actor_name": self.actor_name,
            "role": self.role,
            "kind": self.kind,
            "instance_id": self.instance_id,
            "ref": self.ref,
            "object": self.object,
            "trigger": self.trigger,
            "action": self.action,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "moved": self.moved,
            "outcome": self.outcome,
            "outcome_label": self.outcome_label,
            "sha256": self.sha256,
            "reason": self.reason,
            "event_id": self.event_id,
            "seq": self.seq,
            "unit": self.unit,
            "channel": self.channel,
        }


@dataclass(frozen=True)
class Subject:
    """What a history is about, found before it is read (its owner unit decides who may)."""

    what: str
    """``criterion``, ``task``, ``unit`` or ``person``."""
    code: str
    title: str
    """In words, for headings: ``Tiêu chí thành phần 1.1.3 – Ban hành kế hoạch CCHC``."""
    tenant: str
    plan: str | None
    owner_unit: str | None
    """The unit whose item it is (None: the leadership, the whole ward)."""
    instances: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    """Instance id → its kind, ref, state and data, for the objects the history covers."""
    refs: Mapping[str, Collection[str]] = field(default_factory=dict)
    """Kind → exact refs whose events belong to the history (refused creations too)."""
    prefixes: Mapping[str, Collection[str]] = field(default_factory=dict)
    """Kind → ref prefixes whose events belong to it (evidence of a target)."""
    members: Collection[str] = ()
    """People whose acts belong to it (a unit's people; the person)."""
    tasks: tuple[str, ...] = ()
    """For a sub-criterion: the plan's tasks whose criteria include it."""


@dataclass(frozen=True)
class History:
    """A subject's rows in time order, for a period (``since`` inclusive, ``until`` not)."""

    subject: Subject
    since: datetime | None
    until: datetime | None
    rows: tuple[HistoryRow, ...]
    touched: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    """Instances the rows act on beyond the subject's own (a person's acts on others' items)."""
    evidence_states: Mapping[str, str] = field(default_factory=dict)
    """Evidence state → its label (``accepted`` → ``Đạt``)."""

    def evidence(self) -> list[dict[str, Any]]:
        """The evidence instances the history covers (the subject's, and those its rows act on,
        e.g. what a person submitted or reviewed): id, target, file, version, sha256, state."""
        covered = {**self.touched, **self.subject.instances}
        return [
            {
                "id": instance_id,
                "target": data.get("target"),
                "file": data.get("original_name"),
                "version": data.get("version"),
                "sha256": data.get("sha256"),
                "state": info["state"],
                "state_label": self.evidence_states.get(info["state"], info["state"]),
                "owner_unit": data.get("owner_unit"),
            }
            for instance_id, info in sorted(covered.items())
            if info["kind"] == "evidence" and isinstance(data := info["data"], dict)
        ]

    def as_json(self) -> dict[str, Any]:
        """The whole history as JSON."""
        s = self.subject
        return {
            "subject": {
                "what": s.what,
                "code": s.code,
                "title": s.title,
                "tenant": s.tenant,
                "plan": s.plan,
                "owner_unit": s.owner_unit,
                "tasks": list(s.tasks),
            },
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "evidence": self.evidence(),
            "rows": [row.as_json() for row in self.rows],
        }


# --- finding the subject ------------------------------------------------------------------------


def _instances(session: Session, query: Select[Any]) -> dict[int, dict[str, Any]]:
    return {
        row.id: {"kind": row.kind, "ref": row.ref, "state": row.state, "data": json.loads(row.data)}
        for row in session.execute(query)
    }


def _instance_query() -> Select[Any]:
    return select(Instance.id, Instance.kind, Instance.ref, Instance.state, Instance.data)


def _under(prefix: str) -> Any:
    return Instance.ref.startswith(prefix, autoescape=True)


def _prefixed(column: Any, prefix: str, dialect: str) -> Any:
    """``column`` starts with ``prefix``, as the index can use it.

    SQLite compares text byte by byte, so the prefix is a range of the index; its LIKE would
    ignore letter case and scan. PostgreSQL's collation need not sort a prefix's strings
    together, so there LIKE it is (the index still narrows to the tenant and kind).
    """
    if dialect == "sqlite":
        return and_(column >= prefix, column < prefix + "\U0010ffff")
    return column.startswith(prefix, autoescape=True)


def find_criterion(session: Session, tenant: str, plan: str, code: str) -> Subject:
    """A sub-criterion of a plan: its assessment, the tasks serving it, the evidence of both."""
    found = _instances(
        session,
        _instance_query().where(
            Instance.tenant == tenant,
            Instance.kind == "assessment",
            Instance.ref == f"{plan}/TC-{code}",
        ),
    )
    if not found:
        raise LookupError(
            f"plan {plan} of {tenant} has no sub-criterion {code} (assessment "
            f"{plan}/TC-{code} not found); is the plan issued, and is the code right?"
        )
    ((_, assessment),) = found.items()
    tasks = {
        instance_id: info
        for instance_id, info in _instances(
            session,
            _instance_query().where(
                Instance.tenant == tenant, Instance.kind == "task", _under(f"{plan}/")
            ),
        ).items()
        if code in (info["data"].get("criteria") or ())
    }
    task_codes = tuple(
        sorted((str(t["data"].get("code", "")) for t in tasks.values()), key=natural)
    )
    prefixes = [f"{plan}/criterion:{code}/", *(f"{plan}/task:{t}/" for t in task_codes)]
    evidence = _evidence_under(session, tenant, prefixes)
    data = assessment["data"]
    return Subject(
        what="criterion",
        code=code,
        title=f"Tiêu chí thành phần {code} – {data.get('title', '')}".rstrip(" –"),
        tenant=tenant,
        plan=plan,
        owner_unit=_text(data.get("owner_unit")),
        instances={**found, **tasks, **evidence},
        refs={"assessment": [assessment["ref"]], "task": [t["ref"] for t in tasks.values()]},
        prefixes={"evidence": prefixes},
        tasks=task_codes,
    )


def find_task(session: Session, tenant: str, plan: str, code: str) -> Subject:
    """A task of a plan (or a follow-up task of its notices, by code) and its evidence."""
    found = _instances(
        session,
        _instance_query().where(
            Instance.tenant == tenant, Instance.kind == "task", Instance.ref == f"{plan}/{code}"
        ),
    )
    if not found:
        found = {
            instance_id: info
            for instance_id, info in _instances(
                session,
                _instance_query().where(
                    Instance.tenant == tenant, Instance.kind == "task", _under(f"GB-{plan}-")
                ),
            ).items()
            if info["data"].get("code") == code
        }
    if not found:
        raise LookupError(f"plan {plan} of {tenant} has no task {code}; is the code right?")
    ((_, task),) = found.items()
    prefixes = [f"{plan}/task:{code}/"]
    data = task["data"]
    return Subject(
        what="task",
        code=code,
        title=f"Nhiệm vụ {code} – {data.get('title', '')}".rstrip(" –"),
        tenant=tenant,
        plan=plan,
        owner_unit=_text(data.get("owner_unit")),
        instances={**found, **_evidence_under(session, tenant, prefixes)},
        refs={"task": [task["ref"]]},
        prefixes={"evidence": prefixes},
    )


def find_unit(
    session: Session,
    tenant: str,
    unit: str,
    members: Collection[str],
    *,
    title: str,
    plan: str | None = None,
) -> Subject:
    """A unit: every task, assessment and evidence it owns (of ``plan`` when given), its people."""
    owned = {
        instance_id: info
        for instance_id, info in _instances(
            session,
            _instance_query().where(
                Instance.tenant == tenant,
                Instance.kind.in_(OWNED_KINDS),
                # a cheap first cut (the JSON string of the code appears in the data); the
                # parsed owner_unit decides
                Instance.data.contains(json.dumps(unit), autoescape=True),
            ),
        ).items()
        if info["data"].get("owner_unit") == unit and (plan is None or in_plan(info["ref"], plan))
    }
    return Subject(
        what="unit",
        code=unit,
        title=title,
        tenant=tenant,
        plan=plan,
        owner_unit=unit,
        instances=owned,
        members=tuple(members),
    )


def find_person(
    session: Session,
    tenant: str,
    person: str,
    *,
    title: str,
    unit: str | None,
    plan: str | None = None,
) -> Subject:
    """A person: their acts (on ``plan`` when given); ``unit`` decides who may read them."""
    del session  # the acts are read with the history; nothing to find first
    return Subject(
        what="person",
        code=person,
        title=title,
        tenant=tenant,
        plan=plan,
        owner_unit=unit,
        members=(person,),
    )


def _evidence_under(
    session: Session, tenant: str, prefixes: Sequence[str]
) -> dict[int, dict[str, Any]]:
    if not prefixes:
        return {}
    found = _instances(
        session,
        _instance_query().where(
            Instance.tenant == tenant,
            Instance.kind == "evidence",
            or_(*(_prefixed(Instance.ref, p, session.get_bind().dialect.name) for p in prefixes)),
        ),
    )
    # LIKE ignores letter case on SQLite: keep exact prefixes only.
    return {i: info for i, info in found.items() if info["ref"].startswith(tuple(prefixes))}


# --- reading the history ------------------------------------------------------------------------


def history(
    session: Session,
    subject: Subject,
    labels: Labels,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> History:
    """The subject's events (and a sub-criterion's score runs) in ``[since, until)``."""
    rows: dict[int, _Event] = {}
    dialect = session.get_bind().dialect.name

    def read(query: Select[Any]) -> None:
        query = query.where(AuditEvent.tenant == subject.tenant)
        if since is not None:
            query = query.where(AuditEvent.occurred_at >= since)
        if until is not None:
            query = query.where(AuditEvent.occurred_at < until)
        for values in session.execute(query).tuples():
            event = _Event._make(values)  # attribute access on a Row costs ~30x a tuple's
            rows[event.id] = event

    base = select(*_COLUMNS)
    for kind, refs in subject.refs.items():
        if refs:
            read(base.where(AuditEvent.kind == kind, AuditEvent.ref.in_(list(refs))))
    for kind, prefixes in subject.prefixes.items():
        if prefixes:
            read(
                base.where(
                    AuditEvent.kind == kind,
                    or_(*(_prefixed(AuditEvent.ref, p, dialect) for p in prefixes)),
                )
            )
    if subject.what == "unit":
        ids = list(subject.instances)
        for start in range(0, len(ids), 500):
            read(base.where(AuditEvent.instance_id.in_(ids[start : start + 500])))
    if subject.members:
        read(base.where(AuditEvent.actor.in_(list(subject.members))))
    kept = [r for r in rows.values() if _keep(r, subject)]
    known = dict(subject.instances)
    unknown = sorted({r.instance_id for r in kept if r.instance_id is not None} - set(known))
    for start in range(0, len(unknown), 500):  # a person's acts on others' items: name them
        known.update(
            _instances(
                session, _instance_query().where(Instance.id.in_(unknown[start : start + 500]))
            )
        )
    result = [_row(r, known, labels) for r in kept]
    if subject.what == "criterion" and subject.plan is not None:
        result.extend(_score_rows(session, subject, since, until))
    result.sort(key=lambda row: (utc(row.occurred_at), row.event_id or 0))
    acted_on = {r.instance_id for r in kept if r.instance_id is not None}
    touched = {i: known[i] for i in sorted(acted_on - set(subject.instances)) if i in known}
    states = labels.states.get("evidence", {})
    return History(subject, since, until, tuple(result), touched, states)


def _keep(row: _Event, subject: Subject) -> bool:
    """Exact prefixes only (SQLite's LIKE ignores letter case); a unit's or person's acts on
    the plan only, when one is given."""
    prefixes = tuple(subject.prefixes.get(row.kind, ()))
    if prefixes and not row.ref.startswith(prefixes):
        return False
    if subject.plan is not None and subject.what in {"unit", "person"}:
        return in_plan(row.ref, subject.plan)
    return True


def _row(r: _Event, instances: Mapping[int, Mapping[str, Any]], labels: Labels) -> HistoryRow:
    payload = _payload(r.payload)
    info = instances.get(r.instance_id) if r.instance_id is not None else None
    data: Mapping[str, Any] = info["data"] if info else {}
    sha = None
    if r.trigger in REVIEW_TRIGGERS and r.kind == "evidence":
        sha = _text(payload.get("sha256"))
    elif r.kind == "evidence":
        sha = _text(data.get("sha256") or payload.get("sha256"))
    reason = _reason(r, payload)
    return HistoryRow(
        occurred_at=r.occurred_at,
        actor=r.actor,
        actor_name=labels.people.get(r.actor, ""),
        role=r.role or "",
        kind=r.kind,
        instance_id=r.instance_id,
        ref=r.ref,
        object=_object(r, data, payload),
        trigger=r.trigger,
        action=labels.action(r.kind, r.trigger),
        from_state=r.from_state,
        to_state=r.to_state,
        moved=f"{labels.state(r.kind, r.from_state)} → {labels.state(r.kind, r.to_state)}",
        outcome=r.outcome,
        outcome_label=OUTCOME_LABELS.get(r.outcome, r.outcome),
        sha256=sha,
        reason=reason,
        event_id=r.id,
        seq=r.seq,
        unit=_text(data.get("owner_unit") or payload.get("owner_unit")),
        role_label=labels.role(r.role) if r.role else "",
        action_label=labels.action_words(r.kind, r.trigger),
        channel=r.channel,
    )


def _object(r: _Event, data: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    kind = KIND_LABELS.get(r.kind, r.kind)
    number = f" #{r.instance_id}" if r.instance_id is not None else ""
    if r.kind == "evidence":
        target = target_words(str(data.get("target") or payload.get("target") or r.ref))
        version = data.get("version") or payload.get("version")
        name = data.get("original_name") or payload.get("original_name")
        extra = f", {name}" if name else ""
        extra += f", phiên bản {version}" if version else ""
        return f"{kind}{number} ({target}{extra})"
    if r.kind == "assessment":
        code = data.get("code") or payload.get("code") or r.ref.rsplit("/TC-", 1)[-1]
        return f"{kind} {code}{number}"
    if r.kind == "task":
        code = data.get("code") or payload.get("code") or r.ref.rsplit("/", 1)[-1]
        return f"{kind} {code}{number}"
    return f"{kind}{number} {r.ref}"


def _reason(r: _Event, payload: Mapping[str, Any]) -> str | None:
    if r.reason:
        code, _, detail = str(r.reason).partition(": ")
        label = REFUSAL_LABELS.get(code)
        return f"{label}: {detail}" if label else str(r.reason)
    for key in ("reason", "explanation", *PAYLOAD_WORDS):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value if key in {"reason", "explanation"} else f"{PAYLOAD_WORDS[key]}: {value}"
    points = payload.get("points")
    return f"điểm tự chấm: {_points(points)}" if points is not None else None


def _score_rows(
    session: Session, subject: Subject, since: datetime | None, until: datetime | None
) -> list[HistoryRow]:
    query = select(
        Score.run_id,
        Score.computed_at,
        Score.points,
        Score.max_points,
        Score.explanation,
        Score.owner_unit,
        Score.index_set,
    ).where(Score.tenant == subject.tenant, Score.plan == subject.plan, Score.code == subject.code)
    if since is not None:
        query = query.where(Score.computed_at >= since)
    if until is not None:
        query = query.where(Score.computed_at < until)
    return [
        HistoryRow(
            occurred_at=s.computed_at,
            actor="",
            actor_name="",
            role="",
            kind="score",
            instance_id=None,
            ref=f"{subject.plan}/TC-{subject.code}",
            object=f"Điểm tiêu chí {subject.code} (lần chấm {s.run_id[:12]}, {s.index_set})",
            trigger="score",
            action="Tính điểm theo quy tắc (score run)",
            from_state=None,
            to_state=None,
            moved="—",
            outcome="scored",
            outcome_label=f"{_points(s.points)}/{_points(s.max_points)} điểm",
            sha256=None,
            reason=s.explanation,
            unit=s.owner_unit,
            action_label="Tính điểm theo quy tắc",
        )
        for s in session.execute(query)
    ]


# --- small helpers ------------------------------------------------------------------------------

TARGET_WORDS = {"criterion": "tiêu chí thành phần", "task": "nhiệm vụ"}


def target_words(target: str) -> str:
    """``criterion:1.1.3`` → ``tiêu chí thành phần 1.1.3``; ``task:NV-01`` → ``nhiệm vụ NV-01``."""
    kind, sep, code = target.partition(":")
    return f"{TARGET_WORDS[kind]} {code}" if sep and kind in TARGET_WORDS else target


def in_plan(ref: str, plan: str) -> bool:
    """Whether an object's ref belongs to the plan (its tasks, assessments, evidence, meetings)."""
    return ref == plan or ref.startswith((f"{plan}/", f"GB-{plan}-"))


def natural(code: str) -> tuple[tuple[int, str], ...]:
    """Sort key: ``1.2.10`` after ``1.2.9``, ``NV-10`` after ``NV-9``."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", code)
    )


def _payload(text: str) -> dict[str, Any]:
    if text == "{}":
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _points(value: object) -> str:
    return vi_text.number(Decimal(str(value)), 2)  # 2 decimals, as every CLI table shows points
