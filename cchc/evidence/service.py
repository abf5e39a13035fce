"""Evidence (tài liệu kiểm chứng) for a plan's sub-criteria and tasks: submit, review, coverage.

A piece of evidence is a file in the content-addressed ``EvidenceStore`` plus an ``evidence``
instance that names its target (``criterion:<code>`` or ``task:<task code>`` of a plan) and the
sha256 of the file. Submitting the same file again for the same target changes nothing; a new
version (``replaces=``, or a file of the same name for the same target) supersedes the old one in
the same transaction. A review decision names the sha256 the reviewer saw, and the workflow's
``hash_matches`` guard refuses it when that is not the stored version's hash.

These are plain functions on the caller's session; the caller commits (use
``workflows.database.unit_of_work``: a refusal rolls the whole submission back and keeps only
the audited refusal). Every state change goes
through ``Engine.create`` / ``Engine.fire``; reading (``coverage``) selects from the tables.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from cchc.evidence.store import EvidenceStore, StoredFile
from cchc.organization.capabilities import roles_with
from workflows.engine import Engine, FireResult, InstanceExistsError
from workflows.errors import InstanceNotFoundError, NotPermittedError
from workflows.registry import Actor
from workflows.schema import Instance

KIND = "evidence"
"""The workflow kind of an evidence instance (``definitions/workflows/evidence.yaml``)."""
SUPERSEDED = "superseded"
ACCEPTED = "accepted"
FOCAL_ROLES = roles_with("submit_for_any_unit")
"""Officials of the reform focal unit may submit evidence for any unit's target."""

TargetKind = Literal["criterion", "task"]
Decision = Literal["accept", "request_changes", "reject"]
DECISIONS: tuple[str, ...] = get_args(Decision)

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
"""The shape of plan, task and criterion codes (``cchc.plan.models.Code``)."""


@dataclass(frozen=True)
class EvidenceTarget:
    """What a piece of evidence supports: a sub-criterion's assessment or a task of a plan."""

    kind: TargetKind
    code: str
    instance_id: int
    """The assessment or task instance."""
    ref: str
    owner_unit: str | None

    @property
    def text(self) -> str:
        """``criterion:1.1.3`` or ``task:NV-01``."""
        return f"{self.kind}:{self.code}"


@dataclass(frozen=True)
class EvidenceSubmission:
    """What ``submit_evidence`` did, or found already done (``already_present``)."""

    instance_id: int
    ref: str
    state: str
    """The state of the evidence instance now (``submitted`` when just created)."""
    target: str
    version: int
    sha256: str
    size: int
    media_type: str
    original_name: str
    """The uploader's file name as kept in the data (sanitised; never a path)."""
    supersedes: int | None
    """The evidence instance this version replaced, if any."""
    superseded: tuple[int, ...]
    """Instances on which ``supersede`` was fired by this call (empty when already present)."""
    already_present: bool
    path: Path
    """Where the file lives in the store (``root/ab/cd/<sha256>``)."""


@dataclass(frozen=True)
class CoverageLine:
    """One sub-criterion of a plan: whether accepted evidence backs it, and its evidence."""

    code: str
    title: str
    owner_unit: str
    assessment_id: int
    assessment_state: str
    covered: bool
    """True when at least one accepted evidence targets it or a task of the plan serving it."""
    accepted: tuple[int, ...]
    """Ids of the accepted evidence that counts for it (direct and through tasks)."""
    counts: Mapping[str, int]
    """Evidence that counts for it (direct and through tasks), by state."""
    tasks: tuple[str, ...]
    """Codes of the plan's tasks whose ``criteria`` include it."""


class UnitCoverage(NamedTuple):
    """A unit's sub-criteria: how many are covered, of how many, and the codes still missing."""

    covered: int
    total: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class _Row:
    id: int
    ref: str
    state: str
    data: dict[str, Any]


# --- targets ------------------------------------------------------------------------------------


def parse_target(target: str) -> tuple[TargetKind, str]:
    """Split ``criterion:<code>`` / ``task:<task code>``; ``ValueError`` when malformed."""
    kind, sep, code = target.partition(":")
    if not sep or kind not in ("criterion", "task") or not _CODE.fullmatch(code):
        raise ValueError(
            f"evidence target {target!r} is not 'criterion:<code>' or 'task:<task code>' "
            "(e.g. 'criterion:1.1.3', 'task:NV-01')"
        )
    return ("criterion" if kind == "criterion" else "task"), code


def target_ref(plan_code: str, kind: TargetKind, code: str) -> str:
    """The ref of the instance a target names: ``{plan}/TC-{code}`` or ``{plan}/{code}``."""
    return f"{plan_code}/TC-{code}" if kind == "criterion" else f"{plan_code}/{code}"


def evidence_ref(plan_code: str, target: str, sha256: str) -> str:
    """The ref of an evidence instance: ``{plan}/{target}/{sha256[:16]}``."""
    return f"{plan_code}/{target}/{sha256[:16]}"


def find_target(session: Session, tenant: str, plan_code: str, target: str) -> EvidenceTarget:
    """The assessment or task ``target`` names in ``tenant``; ``LookupError`` when none."""
    if not _CODE.fullmatch(plan_code):
        raise ValueError(f"not a plan code: {plan_code!r}")
    kind, code = parse_target(target)
    instance_kind = "assessment" if kind == "criterion" else "task"
    ref = target_ref(plan_code, kind, code)
    row = _one(session, tenant, instance_kind, ref)
    if row is None:
        what = f"sub-criterion {code}" if kind == "criterion" else f"task {code}"
        raise LookupError(
            f"plan {plan_code} of {tenant} has no {what} ({instance_kind} {ref!r} not found); "
            "is the plan issued, and is the code right?"
        )
    owner = row.data.get("owner_unit")
    return EvidenceTarget(
        kind=kind,
        code=code,
        instance_id=row.id,
        ref=ref,
        owner_unit=str(owner) if owner is not None else None,
    )


def may_submit_for(actor: Actor, target: EvidenceTarget) -> bool:
    """Whether ``actor`` may submit evidence for ``target``: its unit owns it, or focal official."""
    if FOCAL_ROLES & actor.roles:
        return True
    return actor.unit is not None and actor.unit == target.owner_unit


# --- submitting ---------------------------------------------------------------------------------


def submit_evidence(
    session: Session,
    engine: Engine,
    store: EvidenceStore,
    actor: Actor,
    *,
    plan_code: str,
    target: str,
    source: bytes | BinaryIO | Path,
    original_name: str,
    replaces: int | None = None,
) -> EvidenceSubmission:
    """Store the file and record it as evidence for ``target`` of ``plan_code``, as ``actor``.

    Raises ``ValueError`` for a malformed target, ``LookupError`` when the plan has no such
    sub-criterion or task (or ``replaces`` names no evidence of this tenant),
    ``NotPermittedError`` (a ``PermissionError``, audited as a refusal) when the actor's unit
    does not own the target (focal officials may submit for any unit) and ``EvidenceRejected``
    when the store refuses the file; all of these before anything else is written. The same
    file for the same target returns the existing instance (``already_present``). Otherwise a
    new ``evidence`` instance is created; it supersedes ``replaces`` and any active evidence of
    the target with the same file name, firing ``supersede`` on them in the same transaction,
    and takes their version + 1.
    """
    found = find_target(session, actor.tenant, plan_code, target)
    if not may_submit_for(actor, found):
        engine.refuse(
            session,
            actor=actor,
            kind=KIND,
            ref=target_ref(plan_code, found.kind, found.code),
            trigger="create",
            error=NotPermittedError(
                f"{actor.id} (unit {actor.unit or 'none'}) may not submit evidence for "
                f"{found.text} of plan {plan_code}: it belongs to unit "
                f"{found.owner_unit or 'none'}",
                facts={
                    "rule": "evidence_unit",
                    "actor": actor.id,
                    "actor_unit": actor.unit,
                    "target": found.text,
                    "plan": plan_code,
                    "owner_unit": found.owner_unit,
                },
            ),
        )
    replaced = _replaced(session, actor, plan_code, found, replaces)
    stored = store.put(source, original_name)  # EvidenceRejected: nothing written to the database
    ref = evidence_ref(plan_code, found.text, stored.sha256)
    existing = _one(session, actor.tenant, KIND, ref)
    if existing is not None:
        return _present(existing, stored)
    same_name = _name_key(stored.original_name)
    predecessors = {
        row.id: row
        for row in _active_evidence(session, actor.tenant, plan_code, found)
        if _name_key(str(row.data.get("original_name", ""))) == same_name
    }
    if replaced is not None:
        predecessors[replaced.id] = replaced
    primary = replaced or max(predecessors.values(), key=_version_key, default=None)
    version = max((_version(row) for row in predecessors.values()), default=0) + 1
    supersedes = primary.id if primary is not None else None
    data: dict[str, Any] = {
        "plan": plan_code,
        "target": found.text,
        "target_kind": found.kind,
        "target_code": found.code,
        "owner_unit": found.owner_unit,
        "sha256": stored.sha256,
        "size": stored.size,
        "media_type": stored.media_type,
        "original_name": stored.original_name,
        "version": version,
        "supersedes": supersedes,
    }
    try:
        created = engine.create(session, KIND, actor=actor, ref=ref, data=data)
    except InstanceExistsError:  # the same file was recorded concurrently
        existing = _one(session, actor.tenant, KIND, ref)
        if existing is None:
            raise
        return _present(existing, stored)
    superseded = []
    for old_id in sorted(predecessors):
        engine.fire(
            session,
            old_id,
            "supersede",
            actor=actor,
            payload={"superseded_by": created.instance_id, "sha256": stored.sha256},
        )
        superseded.append(old_id)
    return EvidenceSubmission(
        instance_id=created.instance_id,
        ref=ref,
        state=created.dest,
        target=found.text,
        version=version,
        sha256=stored.sha256,
        size=stored.size,
        media_type=stored.media_type,
        original_name=stored.original_name,
        supersedes=supersedes,
        superseded=tuple(superseded),
        already_present=False,
        path=stored.path,
    )


def _replaced(
    session: Session, actor: Actor, plan_code: str, target: EvidenceTarget, replaces: int | None
) -> _Row | None:
    """The evidence ``replaces`` names, checked: same tenant, plan and target, not superseded."""
    if replaces is None:
        return None
    row = _by_id(session, replaces)
    if row is None or row[0] != actor.tenant or row[1] != KIND:
        raise LookupError(f"no evidence #{replaces} in {actor.tenant} to replace")
    old = row[2]
    if old.data.get("plan") != plan_code or old.data.get("target") != target.text:
        raise ValueError(
            f"evidence #{replaces} is for {old.data.get('target')} of plan "
            f"{old.data.get('plan')}, not for {target.text} of plan {plan_code}"
        )
    if old.state == SUPERSEDED:
        raise ValueError(
            f"evidence #{replaces} ({old.data.get('original_name')}) was already superseded by "
            "a newer version; replace the current version instead"
        )
    return old


def _present(row: _Row, stored: StoredFile) -> EvidenceSubmission:
    supersedes = row.data.get("supersedes")
    return EvidenceSubmission(
        instance_id=row.id,
        ref=row.ref,
        state=row.state,
        target=str(row.data.get("target", "")),
        version=_version(row),
        sha256=stored.sha256,
        size=stored.size,
        media_type=stored.media_type,
        original_name=str(row.data.get("original_name", stored.original_name)),
        supersedes=int(supersedes) if supersedes is not None else None,
        superseded=(),
        already_present=True,
        path=stored.path,
    )


def _active_evidence(
    session: Session, tenant: str, plan_code: str, target: EvidenceTarget
) -> list[_Row]:
    return [
        row
        for row in _rows(session, tenant, KIND, plan_code)
        if row.data.get("target") == target.text and row.state != SUPERSEDED
    ]


def _name_key(name: str) -> str:
    """File names compare as the same file when equal up to Unicode form and letter case."""
    return unicodedata.normalize("NFC", name).casefold()


def _version(row: _Row) -> int:
    value = row.data.get("version", 1)
    return value if isinstance(value, int) else 1


def _version_key(row: _Row) -> tuple[int, int]:
    return _version(row), row.id


# --- reviewing ----------------------------------------------------------------------------------


def review_evidence(
    session: Session,
    engine: Engine,
    actor: Actor,
    evidence_id: int,
    decision: Decision,
    *,
    sha256: str,
    reason: str | None = None,
) -> FireResult:
    """Accept, request changes on or reject evidence #``evidence_id`` as ``actor``.

    ``sha256`` is the hash of the version the reviewer saw: the engine's ``hash_matches`` guard
    refuses (``GuardFailedError``, audited) when it is not the stored version's. Requesting
    changes and rejecting need a ``reason`` (``PayloadInvalidError`` otherwise, audited).
    ``InstanceNotFoundError`` when the id names no evidence.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown review decision {decision!r}; one of: {', '.join(DECISIONS)}")
    row = _by_id(session, evidence_id)
    if row is None or row[1] != KIND:
        raise InstanceNotFoundError(f"no evidence #{evidence_id}")
    return engine.fire(
        session, evidence_id, decision, actor=actor, payload={"sha256": sha256, "reason": reason}
    )


# --- coverage -----------------------------------------------------------------------------------


def coverage(session: Session, tenant: str, plan_code: str) -> list[CoverageLine]:
    """For every sub-criterion the plan opened: is it covered by accepted evidence, and counts.

    Evidence counts for a sub-criterion when it targets it directly or targets a task of the
    plan whose ``criteria`` include it. Lines are in criterion-code order.
    """
    tasks_for: dict[str, list[str]] = {}
    for task in _rows(session, tenant, "task", plan_code):
        for criterion in task.data.get("criteria") or ():
            tasks_for.setdefault(str(criterion), []).append(str(task.data.get("code", "")))
    by_target: dict[str, list[_Row]] = {}
    for evidence in _rows(session, tenant, KIND, plan_code):
        by_target.setdefault(str(evidence.data.get("target", "")), []).append(evidence)
    lines = []
    for assessment in _rows(session, tenant, "assessment", plan_code):
        code = str(assessment.data.get("code", ""))
        tasks = tuple(sorted(tasks_for.get(code, ()), key=_natural))
        targets = [f"criterion:{code}", *(f"task:{t}" for t in tasks)]
        relevant = [e for t in targets for e in by_target.get(t, ())]
        accepted = tuple(sorted(e.id for e in relevant if e.state == ACCEPTED))
        lines.append(
            CoverageLine(
                code=code,
                title=str(assessment.data.get("title", "")),
                owner_unit=str(assessment.data.get("owner_unit", "")),
                assessment_id=assessment.id,
                assessment_state=assessment.state,
                covered=bool(accepted),
                accepted=accepted,
                counts=dict(sorted(Counter(e.state for e in relevant).items())),
                tasks=tasks,
            )
        )
    return sorted(lines, key=lambda line: _natural(line.code))


def coverage_by_unit(lines: Iterable[CoverageLine]) -> dict[str, UnitCoverage]:
    """Per owner unit (sorted by code): covered sub-criteria, all of them, the missing codes."""
    grouped: dict[str, list[CoverageLine]] = {}
    for line in lines:
        grouped.setdefault(line.owner_unit, []).append(line)
    return {
        unit: UnitCoverage(
            covered=sum(1 for line in group if line.covered),
            total=len(group),
            missing=tuple(line.code for line in group if not line.covered),
        )
        for unit, group in sorted(grouped.items())
    }


# --- reading the tables -------------------------------------------------------------------------


def _rows(session: Session, tenant: str, kind: str, plan_code: str) -> list[_Row]:
    """Instances of ``kind`` of the plan (ref under ``{plan}/`` and ``data.plan`` equal)."""
    result = session.execute(
        select(Instance.id, Instance.ref, Instance.state, Instance.data)
        .where(
            Instance.tenant == tenant,
            Instance.kind == kind,
            Instance.ref.startswith(f"{plan_code}/", autoescape=True),
        )
        .order_by(Instance.id)
    )
    rows = [_Row(id=r.id, ref=r.ref, state=r.state, data=json.loads(r.data)) for r in result]
    return [row for row in rows if row.data.get("plan") == plan_code]


def _one(session: Session, tenant: str, kind: str, ref: str) -> _Row | None:
    found = session.execute(
        select(Instance.id, Instance.ref, Instance.state, Instance.data).where(
            Instance.tenant == tenant, Instance.kind == kind, Instance.ref == ref
        )
    ).one_or_none()
    if found is None:
        return None
    return _Row(id=found.id, ref=found.ref, state=found.state, data=json.loads(found.data))


def _by_id(session: Session, instance_id: int) -> tuple[str, str, _Row] | None:
    """(tenant, kind, row) of an instance, or None."""
    found = session.execute(
        select(
            Instance.tenant, Instance.kind, Instance.id, Instance.ref, Instance.state, Instance.data
        ).where(Instance.id == instance_id)
    ).one_or_none()
    if found is None:
        return None
    row = _Row(id=found.id, ref=found.ref, state=found.state, data=json.loads(found.data))
    return found.tenant, found.kind, row


def _natural(code: str) -> tuple[tuple[int, str], ...]:
    """Sort key: ``1.2.10`` after ``1.2.9``, ``NV-10`` after ``NV-9``."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", code)
    )
