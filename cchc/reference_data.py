"""A tenant's reference data, registered in the database instead of passed on each command.

The organization, the definitions, the index set, the working calendar, the emulation
configuration and the task deadline policy a ward works with, and a city's own file (its wards
and officials) and definitions, are stored in ``reference_data`` (content, hash, version, who
registered them, when), each registration an audit event on the tenant's chain. The first time
a tenant is opened the chosen files register themselves (by ``system``); afterwards a file that
differs from the registered version is refused, naming the difference, and only an
administrator's ``apply`` (``cchc org apply FILE --as ADMIN`` …) registers a new version.

Content is canonical text: canonical JSON of the checked model (organization, index set,
definitions, deadline policy, city), or the file's text (calendar, emulation configuration;
empty when absent).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cchc.indexset.models import IndexSet
from cchc.organization.model import Organization
from cchc.ranking.emulation import EmulationConfig, load_emulation_text
from cchc.vietnam import CALENDAR_LOCALE
from workflows.audit import AuditRecord, append_event
from workflows.calendar import WorkingCalendar, load_calendar_text
from workflows.canonical import canonical_json, sha256_hex
from workflows.database import unit_of_work
from workflows.definition.loader import DefinitionSet, load_mappings
from workflows.engine import Engine
from workflows.errors import WorkflowError
from workflows.schema import ChainHead, Instance, ReferenceData

if TYPE_CHECKING:
    from cchc.city import City
    from cchc.plan.deadlines import TaskDeadlinePolicy

KINDS = ("organization", "definitions", "index_set", "calendar", "emulation", "deadlines", "city")
LABELS = {
    "organization": "tổ chức (organization)",
    "definitions": "định nghĩa quy trình (definitions)",
    "index_set": "bộ chỉ số (index set)",
    "calendar": "lịch làm việc (calendar)",
    "emulation": "cấu hình thi đua (emulation)",
    "deadlines": "hạn xử lý nhiệm vụ (deadlines)",
    "city": "thành phố (city)",
}
SYSTEM = "system"
"""The actor of a first registration (the files chosen before the tenant was registered)."""
AUDIT_KIND = "reference_data"
MAX_DIFFERENCES = 20


@dataclass(frozen=True)
class Snapshot:
    """The reference data of one kind as read from a file, in canonical text."""

    kind: str
    content: str
    source: str

    @property
    def hash(self) -> str:
        """sha256 of the content."""
        return sha256_hex(self.content)


def organization_snapshot(org: Organization, source: Path | str) -> Snapshot:
    """The organization as canonical JSON of its checked model."""
    return Snapshot("organization", canonical_json(org.model_dump(mode="json")), str(source))


def index_set_snapshot(index_set: IndexSet, source: Path | str) -> Snapshot:
    """The index set as canonical JSON of its checked model."""
    return Snapshot("index_set", canonical_json(index_set.model_dump(mode="json")), str(source))


def definitions_snapshot(definitions: DefinitionSet, source: Path | str) -> Snapshot:
    """The workflow definitions and the role catalogue as canonical JSON."""
    content = {
        "roles": definitions.roles.model_dump(mode="json"),
        "workflows": {k: json.loads(d.canonical_json()) for k, d in definitions.workflows.items()},
    }
    return Snapshot("definitions", canonical_json(content), str(source))


def deadlines_snapshot(policy: TaskDeadlinePolicy, source: Path | str) -> Snapshot:
    """The task deadline policy as canonical JSON of its checked model (defaults filled in)."""
    return Snapshot("deadlines", canonical_json(policy.model_dump(mode="json")), str(source))


def city_snapshot(city: City, source: Path | str) -> Snapshot:
    """A city file as canonical JSON of what it names: the city's code and name, its officials
    and its wards' organizations (the files' paths are not content)."""
    content = {
        "city": city.code,
        "name": city.name,
        "officials": [p.model_dump(mode="json") for p in city.officials],
        "wards": [org.model_dump(mode="json") for org in city.wards],
    }
    return Snapshot("city", canonical_json(content), str(source))


def file_snapshot(kind: str, path: Path) -> Snapshot:
    """A file's text (empty when the file does not exist)."""
    text = path.read_text("utf-8") if path.is_file() else ""
    return Snapshot(kind, text, str(path))


def organization_of(content: str) -> Organization:
    """The organization registered as ``content``."""
    return Organization.model_validate_json(content)


def index_set_of(content: str) -> IndexSet:
    """The index set registered as ``content``."""
    return IndexSet.model_validate_json(content)


def deadlines_of(content: str) -> TaskDeadlinePolicy:
    """The task deadline policy registered as ``content``."""
    from cchc.plan.deadlines import TaskDeadlinePolicy

    return TaskDeadlinePolicy.model_validate_json(content)


def city_of(content: str, paths: Mapping[str, Path] | None = None) -> City:
    """The city registered as ``content``; ``paths`` (tenant → organization file, e.g. the
    city file's) are kept for the wards it names."""
    from cchc.city import City
    from cchc.organization.model import Person

    data = json.loads(content)
    wards = tuple(Organization.model_validate(org) for org in data["wards"])
    known = {org.tenant for org in wards}
    return City(
        code=data["city"],
        name=data["name"],
        wards=wards,
        officials=tuple(Person.model_validate(p) for p in data["officials"]),
        paths={t: p for t, p in (paths or {}).items() if t in known},
    )


_PARSED: dict[tuple[str, str], Any] = {}
"""(kind, content hash) → the parsed content: each registered version is checked once a process."""
_PARSED_MAX = 32


def _parsed(kind: str, content: str, parse: Callable[[], Any]) -> Any:
    key = (kind, sha256_hex(content))
    if key not in _PARSED:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = parse()
    return _PARSED[key]


def definitions_of(content: str, source: str = "registered definitions") -> DefinitionSet:
    """The definitions registered as ``content``, through the same checks as a folder's files
    (``DefinitionError`` when they fail); checked once per content in a process."""
    from cchc.runtime import registry
    from notifications.catalog import template_names

    def parse() -> DefinitionSet:
        data = json.loads(content)
        return load_mappings(
            data["roles"],
            data["workflows"].values(),
            source=source,
            registry=registry(),
            templates=template_names(),
        )

    result: DefinitionSet = _parsed("definitions", content, parse)
    return result


def calendar_of(content: str, source: str = "registered calendar") -> WorkingCalendar:
    """The working calendar registered as ``content`` (a calendar file's text; empty: the
    library's holidays alone); ``DefinitionError`` when it is invalid."""
    result: WorkingCalendar = _parsed(
        "calendar", content, lambda: load_calendar_text(content, source, CALENDAR_LOCALE)
    )
    return result


def emulation_of(content: str, source: str = "registered emulation") -> EmulationConfig:
    """The emulation configuration registered as ``content`` (the file's text);
    ``DefinitionError`` when it is invalid or empty (there was no file)."""
    result: EmulationConfig = _parsed(
        "emulation", content, lambda: load_emulation_text(content, source)
    )
    return result


class ReferenceMismatchError(WorkflowError):
    """A file differs from the tenant's registered reference data; the refusal is audited."""

    def __init__(self, tenant: str, mismatches: Mapping[str, Sequence[str]]) -> None:
        self.tenant = tenant
        self.mismatches = dict(mismatches)
        parts = [
            f"{LABELS[kind]} khác bản đã đăng ký của {tenant} (differs from the registered "
            f"version; register a change with `{_COMMANDS[kind]}`): " + "; ".join(lines)
            for kind, lines in mismatches.items()
        ]
        super().__init__("\n".join(parts))


_FOLDER = "cchc definitions apply --as ADMIN"
_COMMANDS = {
    "organization": "cchc org apply FILE --as ADMIN",
    "definitions": _FOLDER,
    "index_set": "cchc index-set apply FILE --as ADMIN",
    "calendar": _FOLDER,
    "emulation": _FOLDER,
    "deadlines": _FOLDER,
    "city": "cchc city apply FILE --as ADMIN",
}
"""Each kind's command registering a new version (the definitions folder's kinds: no FILE)."""


# --- reading and writing ----------------------------------------------------------------------


def registered(session: Session, tenant: str, kind: str) -> ReferenceData | None:
    """The version of ``kind`` in force for ``tenant`` (the highest), if any."""
    return session.scalars(
        select(ReferenceData)
        .where(ReferenceData.tenant == tenant, ReferenceData.kind == kind)
        .order_by(ReferenceData.version.desc())
        .limit(1)
    ).first()


def register(
    session: Session,
    tenant: str,
    snapshots: Iterable[Snapshot],
    *,
    actor: str,
    role: str | None,
    now: datetime,
    trigger: str = "register",
) -> dict[str, int]:
    """Register new versions of ``snapshots`` in one audited event; kind → version."""
    rows: list[tuple[Snapshot, int]] = []
    for snapshot in snapshots:
        current = registered(session, tenant, snapshot.kind)
        rows.append((snapshot, 1 if current is None else current.version + 1))
    if not rows:
        return {}
    payload = {s.kind: {"version": v, "hash": s.hash, "source": s.source} for s, v in rows}
    event = append_event(
        session,
        AuditRecord(
            tenant=tenant,
            occurred_at=now,
            actor=actor,
            role=role,
            instance_id=None,
            kind=AUDIT_KIND,
            ref="+".join(s.kind for s, _ in rows),
            trigger=trigger,
            from_state=None,
            to_state=None,
            payload=canonical_json(payload),
            definition_hash="",
            outcome="applied",
            reason=None,
        ),
    )
    for snapshot, version in rows:
        session.add(
            ReferenceData(
                tenant=tenant,
                kind=snapshot.kind,
                version=version,
                hash=snapshot.hash,
                content=snapshot.content,
                source=snapshot.source,
                registered_by=actor,
                registered_at=now,
                event_id=event.id,
            )
        )
    session.flush()
    return {s.kind: v for s, v in rows}


def audit_refusal(
    session: Session,
    tenant: str,
    mismatches: Mapping[str, Sequence[str]],
    sources: Mapping[str, str],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Record that files differing from the registered reference data were refused."""
    payload = {kind: {"source": sources[kind]} for kind in mismatches}
    reason = " | ".join(f"{kind}: {'; '.join(lines)}" for kind, lines in mismatches.items())
    append_event(
        session,
        AuditRecord(
            tenant=tenant,
            occurred_at=now,
            actor=actor,
            role=None,
            instance_id=None,
            kind=AUDIT_KIND,
            ref="+".join(mismatches),
            trigger="register",
            from_state=None,
            to_state=None,
            payload=canonical_json(payload),
            definition_hash="",
            outcome="refused",
            reason=f"reference_mismatch: {reason}",
        ),
    )


# --- differences ------------------------------------------------------------------------------


def differences(kind: str, old: str, new: str) -> list[str]:
    """What changed from ``old`` to ``new`` (registered → file), one line each, capped."""
    if kind in {"calendar", "emulation"}:
        lines = _text_differences(old, new)
    else:
        lines = []
        _json_differences(json.loads(old), json.loads(new), "", lines)
    if len(lines) > MAX_DIFFERENCES:
        more = len(lines) - MAX_DIFFERENCES
        lines = [*lines[:MAX_DIFFERENCES], f"… và {more} khác biệt nữa (and {more} more)"]
    return lines or ["nội dung khác (content differs)"]


_KEYS = ("tenant", "id", "code", "kind", "name", "trigger")


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """A list of objects by their id/code/kind/name, when every item has a distinct one."""
    for key in _KEYS:
        if items and all(isinstance(i, dict) and isinstance(i.get(key), str) for i in items):
            keyed = {i[key]: i for i in items}
            if len(keyed) == len(items):
                return keyed
    return None


def _json_differences(old: Any, new: Any, where: str, out: list[str]) -> None:
    if old == new:
        return
    if isinstance(old, list) and isinstance(new, list):
        old_keyed, new_keyed = _keyed(old), _keyed(new)
        if old_keyed is not None and new_keyed is not None:
            old, new = old_keyed, new_keyed
        elif len(old) == len(new) and all(isinstance(i, dict | list) for i in old + new):
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                _json_differences(a, b, f"{where.rstrip('.')}[{index}].", out)
            return
    if isinstance(old, dict) and isinstance(new, dict):
        out.extend(f"{where}{key}: bỏ (removed)" for key in sorted(old.keys() - new.keys()))
        out.extend(
            f"{where}{key}: thêm (added) {_short(new[key])}"
            for key in sorted(new.keys() - old.keys())
        )
        for key in sorted(old.keys() & new.keys()):
            _json_differences(old[key], new[key], f"{where}{key}.", out)
        return
    out.append(f"{where.rstrip('.')}: {_short(old)} → {_short(new)}")


def _short(value: Any) -> str:
    text = canonical_json(value)
    return text if len(text) <= 80 else f"{text[:77]}…"


def _text_differences(old: str, new: str) -> list[str]:
    lines = []
    for group in difflib.SequenceMatcher(None, old.splitlines(), new.splitlines()).get_opcodes():
        tag, i1, i2, j1, j2 = group
        if tag != "equal":
            lines.append(f"dòng {i1 + 1}–{i2} → dòng {j1 + 1}–{j2} ({tag})")
    return lines


# --- opening a tenant ---------------------------------------------------------------------------


CHOSEN_BY = {
    "organization": "CCHC_ORGANIZATION",
    "index_set": "CCHC_INDEX_SET",
    "definitions": "CCHC_DEFINITIONS_DIR",
    "calendar": "CCHC_DEFINITIONS_DIR",
    "emulation": "CCHC_DEFINITIONS_DIR",
    "deadlines": "CCHC_DEFINITIONS_DIR",
    "city": "CCHC_CITY",
}
"""Each kind's environment variable: a file named there was chosen, not a default."""


def followed(chosen: Mapping[str, object]) -> set[str]:
    """The kinds of ``chosen`` (kind → the file or folder given, or None) whose file is a
    default: neither given nor named by its environment variable, so a registered version that
    differs is followed instead of refused."""
    return {k for k, given in chosen.items() if not given and not os.environ.get(CHOSEN_BY[k])}


def engine_in_force(engine: Engine, content: str, snapshot: Snapshot, tenant: str) -> Engine:
    """``engine`` when the registered definitions ``content`` are the folder's ``snapshot``;
    else an engine over the registered definitions (same registry and clock)."""
    if content == snapshot.content:
        return engine
    definitions = definitions_of(content, f"{tenant} (registered definitions)")
    return Engine(
        definitions,
        engine.registry,
        clock=engine.clock,
        timezone=engine.timezone,
        same_actor_text=engine.same_actor_text,
    )


def settle(
    sessions: sessionmaker[Session],
    tenant: str,
    snapshots: Sequence[Snapshot],
    *,
    follow: Collection[str],
    now: datetime,
) -> dict[str, str]:
    """The content in force for each kind of ``snapshots``: kind → canonical text.

    A kind not registered yet registers the snapshot (one audited event by ``system``). A
    snapshot that differs from the registered version is refused (``ReferenceMismatchError``
    naming the differences; the refusal is audited, nothing else is written), unless its kind is
    in ``follow`` (the file was a default, not chosen): then the registered version is used.
    """
    try:
        return _settle(sessions, tenant, snapshots, follow, now)
    except IntegrityError:  # another process registered the same tenant meanwhile
        return _settle(sessions, tenant, snapshots, follow, now)


def _trail_missing(session: Session, tenant: str) -> bool:
    """The tenant has instances but no audit chain: its trail was deleted. Registering now
    would start a new chain over the gap; ``audit verify`` must find the wipe instead."""
    if session.scalar(select(ChainHead.tenant).where(ChainHead.tenant == tenant)) is not None:
        return False
    return session.scalar(select(Instance.id).where(Instance.tenant == tenant).limit(1)) is not None


def _settle(
    sessions: sessionmaker[Session],
    tenant: str,
    snapshots: Sequence[Snapshot],
    follow: Collection[str],
    now: datetime,
) -> dict[str, str]:
    with sessions() as session:  # a read first: once registered, opening writes nothing
        current = {s.kind: registered(session, tenant, s.kind) for s in snapshots}
    settled = {
        s.kind: row.content
        for s in snapshots
        if (row := current[s.kind]) is not None and (row.hash == s.hash or s.kind in follow)
    }
    if len(settled) == len(snapshots):
        return settled
    with unit_of_work(sessions) as session:
        current = {s.kind: registered(session, tenant, s.kind) for s in snapshots}
        mismatches = {
            s.kind: differences(s.kind, row.content, s.content)
            for s in snapshots
            if (row := current[s.kind]) is not None and row.hash != s.hash and s.kind not in follow
        }
        if mismatches:
            sources = {s.kind: s.source for s in snapshots}
            audit_refusal(session, tenant, mismatches, sources, actor=SYSTEM, now=now)
        elif not _trail_missing(session, tenant):
            new = [s for s in snapshots if current[s.kind] is None]
            register(session, tenant, new, actor=SYSTEM, role=None, now=now)
    if mismatches:
        raise ReferenceMismatchError(tenant, mismatches)
    return {
        s.kind: s.content if (row := current[s.kind]) is None else row.content for s in snapshots
    }
