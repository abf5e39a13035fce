"""The one place that changes state.

``Engine.fire`` (and ``Engine.create``) do, in the caller's transaction: check the rules of the
fire path in order (``workflows.rules``: the actor's tenant, the trigger, the roles, the
required payload, separation of duties, the guards), move the state with optimistic
concurrency, append the audit event and write the outbox rows. A refused attempt writes
nothing: its audit record is held on the session and the error of its reason code raised; run
it in ``workflows.database.unit_of_work``, which rolls back the whole unit of work and then
appends the refusal in a transaction of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, NoReturn

from sqlalchemy import Row
from sqlalchemy.orm import Session

from workflows import store
from workflows.audit import AppendedEvent, AuditRecord, append_event, hold_refusal
from workflows.canonical import canonical_json, local_text, sha256_hex, utc, utc_iso, utcnow
from workflows.definition.loader import DefinitionSet
from workflows.definition.models import Transition, WorkflowDefinition
from workflows.errors import (
    ConflictError,
    DefinitionVersionConflictError,
    IdempotencyKeyReusedError,
    InstanceNotFoundError,
    TransitionRefusedError,
    UnknownKindError,
    WorkflowError,
)
from workflows.machines import BuiltMachine, build_machine
from workflows.registry import Actor, FireContext, Registry
from workflows.rules import (
    CREATE,
    FIRE_RULES,
    NOT_PERMITTED,
    Attempt,
    Refusal,
    SameActorText,
    create_refusal,
    first_refusal,
    same_person,
)

APPLIED, REFUSED, NOTIFIED = "applied", "refused", "notified"
"""The outcomes the engine records."""


class InstanceExistsError(WorkflowError, ValueError):
    """An instance with this tenant, kind and ref already exists."""


@dataclass(frozen=True)
class FireResult:
    """What an applied fire did. ``replayed`` is True when an idempotency key returned it."""

    instance_id: int
    kind: str
    ref: str
    trigger: str
    source: str | None
    dest: str
    version: int
    event_id: int
    event_seq: int
    notifications: int
    replayed: bool = False


@dataclass(frozen=True)
class InstanceView:
    """An instance as read from the database (reading never goes through a machine)."""

    id: int
    tenant: str
    kind: str
    ref: str
    state: str
    state_label: str
    version: int
    data: dict[str, Any]
    definition_hash: str
    created_by: str
    created_at: datetime
    updated_at: datetime


"""Words a separation-of-duties refusal for the application's users: ``(actor, [(trigger,
label)] the actor fired (label None for ``create``), the instance's name, the label of the
refused transition) → sentence``."""


class Engine:
    """Fires triggers on persisted instances; one shared machine per definition version."""

    def __init__(
        self,
        definitions: DefinitionSet,
        registry: Registry,
        clock: Callable[[], datetime] = utcnow,
        timezone: tzinfo = UTC,
        same_actor_text: SameActorText | None = None,
    ) -> None:
        self.definitions = definitions
        self.registry = registry
        self.timezone = timezone
        """The application's time zone: local times in notification contexts are in it."""
        self.same_actor_text = same_actor_text
        """How the application words a separation-of-duties refusal for its users (put before
        the engine's own words); None: the engine's words alone."""
        self.clock: Callable[[], datetime] = lambda: utc(clock())
        """Now, always in UTC: what is stored and hashed (a clock may give any time zone)."""
        self._by_hash: dict[str, BuiltMachine] = {}
        self._current: dict[str, BuiltMachine] = {}
        for kind, definition in definitions.workflows.items():
            built = build_machine(definition, registry)
            self._by_hash[built.hash] = built
            self._current[kind] = built

    # -- definitions -------------------------------------------------------------------------

    def current(self, kind: str) -> BuiltMachine:
        """The machine of the loaded definition of ``kind``; ``UnknownKindError`` with a hint."""
        return self._current[self.definitions.get(kind).kind]

    def machine_for(self, session: Session, definition_hash: str) -> BuiltMachine:
        """The machine an instance runs on, rebuilt from the stored definition if not loaded."""
        built = self._by_hash.get(definition_hash)
        if built is None:
            body = store.definition_body(session.connection(), definition_hash)
            if body is None:
                raise UnknownKindError(f"definition version {definition_hash[:12]} is not stored")
            definition = WorkflowDefinition.model_validate_json(body)
            built = build_machine(definition, self.registry)
            self._by_hash[definition_hash] = built
        return built

    def register(self, session: Session, built: BuiltMachine) -> None:
        """Store the definition version in the database (once) so instances can refer to it.

        One kind and version means one content: a body differing from the one stored under the
        same kind and version raises ``DefinitionVersionConflictError`` (raise the version).
        """
        conn = session.connection()
        if store.definition_body(conn, built.hash) is None:
            kind, version = built.definition.kind, built.definition.version
            if store.definition_hashes(conn, kind, version):
                raise DefinitionVersionConflictError(
                    f"definition {kind} version {version} is already stored with another body; "
                    f"a changed definition needs a new version number (this body: "
                    f"{built.hash[:12]})"
                )
            store.store_definition(
                conn,
                store.DefinitionRow(
                    hash=built.hash,
                    kind=built.definition.kind,
                    version=built.definition.version,
                    body=built.definition.canonical_json(),
                    registered_at=self.clock(),
                ),
            )

    # -- state changes -----------------------------------------------------------------------

    def create(
        self,
        session: Session,
        kind: str,
        *,
        actor: Actor,
        ref: str,
        data: Mapping[str, Any] | None = None,
        role: str | None = None,
        idempotency_key: str | None = None,
    ) -> FireResult:
        """Create an instance of ``kind`` in its initial state, as ``actor``."""
        built = self.current(kind)
        definition = built.definition
        data_text = _json(data or {}, "data")
        request = {"create": kind, "ref": ref, "data": data_text}
        replay = self._replay(session, actor.tenant, idempotency_key, request)
        if replay is not None:
            return self._replayed_for(session, actor, role, replay)
        now = self.clock()
        self.register(session, built)
        dest = definition.initial_state.name
        record = AuditRecord(
            tenant=actor.tenant,
            occurred_at=now,
            actor=actor.id,
            role=None,
            instance_id=None,
            kind=kind,
            ref=ref,
            trigger=CREATE,
            from_state=None,
            to_state=dest,
            payload=data_text,
            definition_hash=built.hash,
            outcome=APPLIED,
            reason=None,
        )
        acting_role = _resolve_role(actor, role, definition.create_roles)
        if acting_role is None:
            self._refuse(
                session, record, _role_text(actor, role), create_refusal(definition, actor)
            )
        conn = session.connection()
        existing = store.instance_with_ref(conn, actor.tenant, kind, ref)
        if existing is not None:
            raise InstanceExistsError(f"{kind} {ref!r} already exists (#{existing})")
        instance_id = store.insert_instance(
            conn,
            tenant=actor.tenant,
            kind=kind,
            ref=ref,
            state=dest,
            definition_hash=built.hash,
            data=data_text,
            created_by=actor.id,
            now=now,
        )
        ctx = FireContext(
            instance_id=instance_id,
            kind=kind,
            tenant=actor.tenant,
            ref=ref,
            trigger=CREATE,
            source="",
            dest=dest,
            actor=actor,
            role=acting_role,
            payload={},
            data=dict(data or {}),
            created_by=actor.id,
            now=now,
        )
        record = replace(record, instance_id=instance_id, role=acting_role)
        return self._applied(session, definition, record, ctx, 1, idempotency_key, request)

    def require_create(
        self, session: Session, kind: str, *, actor: Actor, ref: str, role: str | None = None
    ) -> str:
        """The role ``actor`` creates ``kind`` in (``create``'s rule, for work that checks it
        before reading); else the refusal is held for the audit trail and raised, as
        ``create`` would."""
        built = self.current(kind)
        acting_role = _resolve_role(actor, role, built.definition.create_roles)
        if acting_role is None:
            record = AuditRecord(
                tenant=actor.tenant,
                occurred_at=self.clock(),
                actor=actor.id,
                role=None,
                instance_id=None,
                kind=kind,
                ref=ref,
                trigger=CREATE,
                from_state=None,
                to_state=None,
                payload=canonical_json({}),
                definition_hash=built.hash,
                outcome=REFUSED,
                reason=None,
            )
            refusal = create_refusal(built.definition, actor)
            self._refuse(session, record, _role_text(actor, role), refusal)
        return acting_role

    def fire(
        self,
        session: Session,
        instance_id: int,
        trigger: str,
        *,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        role: str | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> FireResult:
        """Fire ``trigger`` on instance ``instance_id`` as ``actor`` (optionally as ``role``).

        Raises a ``TransitionRefusedError`` subclass (its audit record held on the session for
        ``unit_of_work``; the first of ``workflows.rules.FIRE_RULES`` that refuses decides),
        ``ConflictError`` when the instance changed underneath (nothing written), or
        ``IdempotencyKeyReusedError``. With a known ``idempotency_key`` it returns the first
        result again and changes nothing.
        """
        payload = dict(payload or {})
        payload_text = _json(payload, "payload")
        request = {"instance": instance_id, "trigger": trigger, "payload": payload_text}
        replay = self._replay(session, actor.tenant, idempotency_key, request)
        if replay is not None:
            return self._replayed_for(session, actor, role, replay)
        row = self._load(session, instance_id)
        built = self.machine_for(session, row.definition_hash)
        definition = built.definition
        now = self.clock()
        if expected_version is not None and expected_version != row.version:
            raise ConflictError(
                f"{row.kind} #{row.id} ({row.ref}) is at version {row.version}, not "
                f"{expected_version}: it changed since it was read; reload and try again"
            )
        transition = definition.transition(trigger, row.state)
        attempt = Attempt(
            session=session,
            row=row,
            definition=definition,
            trigger=trigger,
            actor=actor,
            requested_role=role,
            payload=payload,
            transition=transition,
            acting_role=_resolve_role(actor, role, transition.roles) if transition else None,
            not_by=() if transition is None else self._not_by(row, transition),
            guards=self.registry.guards,
            now=now,
            same_actor_text=self.same_actor_text,
        )
        record = AuditRecord(
            tenant=row.tenant,
            occurred_at=now,
            actor=actor.id,
            role=attempt.acting_role,
            instance_id=row.id,
            kind=row.kind,
            ref=row.ref,
            trigger=trigger,
            from_state=row.state,
            to_state=None if transition is None else transition.dest,
            payload=payload_text,
            definition_hash=row.definition_hash,
            outcome=APPLIED,
            reason=None,
        )
        refused = first_refusal(FIRE_RULES, attempt)
        if refused is not None:
            rule, refusal = refused
            # On the actor's own chain (nothing of theirs in another tenant's), with the role
            # they act in once the role rule has passed.
            role_text = attempt.acting_role if rule.role_known else _role_text(actor, role)
            self._refuse(session, replace(record, tenant=actor.tenant), role_text, refusal)
        ctx = attempt.context
        dest = built.run(trigger, row.state, ctx)
        moved = store.move(
            session.connection(), row.id, row.version, dest, _json(ctx.data, "data"), now
        )
        if not moved:
            raise ConflictError(
                f"{attempt.name} was changed by someone else while {trigger!r} was "
                "being fired; nothing was written, reload and try again"
            )
        return self._applied(
            session, definition, record, ctx, row.version + 1, idempotency_key, request
        )

    def notify(
        self,
        session: Session,
        instance_id: int,
        template: str,
        to: Sequence[str],
        *,
        actor: Actor,
        key: str,
        payload: Mapping[str, Any] | None = None,
    ) -> bool:
        """Send ``template`` about an instance to roles ``to``, once per ``key``.

        Nothing changes state: the audit trail records a ``notified`` event (so an inspector
        sees who was reminded, and when) and the outbox gets one row. A known ``key`` is a
        no-op that returns False.
        """
        row = self._load(session, instance_id)
        dedupe = f"{row.tenant}:notify:{key}"
        if store.outbox_exists(session.connection(), dedupe):
            return False
        definition = self.machine_for(session, row.definition_hash).definition
        now = self.clock()
        body = dict(payload or {})
        event = append_event(
            session,
            AuditRecord(
                tenant=row.tenant,
                occurred_at=now,
                actor=actor.id,
                role="|".join(sorted(actor.roles)),
                instance_id=row.id,
                kind=row.kind,
                ref=row.ref,
                trigger=f"notify:{template}",
                from_state=row.state,
                to_state=row.state,
                payload=_json(body, "payload"),
                definition_hash=row.definition_hash,
                outcome=NOTIFIED,
                reason=None,
            ),
        )
        ctx = FireContext(
            instance_id=row.id,
            kind=row.kind,
            tenant=row.tenant,
            ref=row.ref,
            trigger=f"notify:{template}",
            source=row.state,
            dest=row.state,
            actor=actor,
            role="",
            payload=body,
            data=json.loads(row.data),
            created_by=row.created_by,
            now=now,
        )
        store.insert_outbox(
            session.connection(), [self._outbox_row(definition, ctx, event, template, to, dedupe)]
        )
        return True

    def refuse(
        self,
        session: Session,
        *,
        actor: Actor,
        kind: str,
        ref: str,
        trigger: str,
        error: TransitionRefusedError,
        instance_id: int | None = None,
    ) -> NoReturn:
        """Hold the audit record of a refusal decided outside a fire (a read out of scope …),
        then raise ``error``.

        The event lands on the actor's tenant chain with no state change, like every refusal
        (``unit_of_work`` appends it after rolling back the rest).
        """
        record = AuditRecord(
            tenant=actor.tenant,
            occurred_at=self.clock(),
            actor=actor.id,
            role=_role_text(actor, None),
            instance_id=instance_id,
            kind=kind,
            ref=ref,
            trigger=trigger,
            from_state=None,
            to_state=None,
            payload=canonical_json({}),
            definition_hash="",
            outcome=REFUSED,
            reason=None,
        )
        _hold(session, record, error)

    # -- reading -----------------------------------------------------------------------------

    def get(self, session: Session, instance_id: int) -> InstanceView:
        """The instance as stored now."""
        row = self._load(session, instance_id)
        definition = self.machine_for(session, row.definition_hash).definition
        return InstanceView(
            id=row.id,
            tenant=row.tenant,
            kind=row.kind,
            ref=row.ref,
            state=row.state,
            state_label=definition.state(row.state).label,
            version=row.version,
            data=json.loads(row.data),
            definition_hash=row.definition_hash,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def available_triggers(self, session: Session, instance_id: int, actor: Actor) -> list[str]:
        """Triggers ``actor`` may try on the instance now (roles and state; guards not run)."""
        row = self._load(session, instance_id)
        if row.tenant != actor.tenant:
            return []
        definition = self.machine_for(session, row.definition_hash).definition
        return [
            t.trigger
            for t in definition.transitions
            if row.state in t.source and actor.roles & set(t.roles)
        ]

    # -- internals ---------------------------------------------------------------------------

    def _not_by(self, row: Row[Any], transition: Transition) -> tuple[str, ...]:
        """The ``not_by`` of ``transition``, with that of the loaded definition of its kind.

        An instance keeps the definition version it started on, but separation of duties is the
        ward's rule now: an item begun before a definition named it is held to it too.
        """
        loaded = self._current.get(row.kind)
        if loaded is None or loaded.hash == row.definition_hash:
            return tuple(transition.not_by)
        now = loaded.definition.transition(transition.trigger, row.state)
        if now is None:
            return tuple(transition.not_by)
        return tuple(dict.fromkeys((*transition.not_by, *now.not_by)))

    @staticmethod
    def _load(session: Session, instance_id: int) -> Row[Any]:
        row = store.load_instance(session.connection(), instance_id)
        if row is None:
            raise InstanceNotFoundError(f"no instance #{instance_id}")
        return row

    def _applied(
        self,
        session: Session,
        definition: WorkflowDefinition,
        record: AuditRecord,
        ctx: FireContext,
        version: int,
        idempotency_key: str | None,
        request: Mapping[str, Any],
    ) -> FireResult:
        """Append the applied event, write the outbox, remember the key; the result."""
        event = append_event(session, record)
        result = FireResult(
            instance_id=ctx.instance_id,
            kind=ctx.kind,
            ref=ctx.ref,
            trigger=ctx.trigger,
            source=ctx.source or None,
            dest=ctx.dest,
            version=version,
            event_id=event.id,
            event_seq=event.seq,
            notifications=self._write_outbox(session, definition, ctx, event),
        )
        self._remember(session, ctx.actor.tenant, idempotency_key, request, result, ctx.now)
        return result

    @staticmethod
    def _refuse(
        session: Session, record: AuditRecord, role: str | None, refusal: Refusal
    ) -> NoReturn:
        """Hold ``record`` as ``refusal`` (by ``role``) for the audit trail and raise its error."""
        _hold(session, replace(record, role=role), refusal.error())

    def _write_outbox(
        self,
        session: Session,
        definition: WorkflowDefinition,
        ctx: FireContext,
        event: AppendedEvent,
    ) -> int:
        rows = [
            self._outbox_row(
                definition, ctx, event, n.template, n.to, f"{ctx.tenant}:{event.seq}:{index}"
            )
            for index, n in enumerate(definition.notifications)
            if n.on_trigger == ctx.trigger or n.on_enter == ctx.dest
        ]
        store.insert_outbox(session.connection(), rows)
        return len(rows)

    def _outbox_row(
        self,
        definition: WorkflowDefinition,
        ctx: FireContext,
        event: AppendedEvent,
        template: str,
        to: Sequence[str],
        dedupe_key: str,
    ) -> dict[str, Any]:
        context = {
            "kind": ctx.kind,
            "kind_title": definition.title,
            "instance_id": ctx.instance_id,
            "ref": ctx.ref,
            "trigger": ctx.trigger,
            "source": ctx.source or None,
            "dest": ctx.dest,
            "state_label": definition.state(ctx.dest).label,
            "actor": ctx.actor.id,
            "role": ctx.role,
            "payload": dict(ctx.payload),
            "data": ctx.data,
            "occurred_at": utc_iso(ctx.now),
            "occurred_at_local": local_text(ctx.now, self.timezone),
        }
        return {
            "tenant": ctx.tenant,
            "event_id": event.id,
            "instance_id": ctx.instance_id,
            "template": template,
            "recipients": canonical_json(list(to)),
            "context": canonical_json(context),
            "dedupe_key": dedupe_key,
            "status": "pending",
            "attempts": 0,
            "created_at": ctx.now,
        }

    def _replayed_for(  # noqa: RET503 - ends in self._refuse(), which never returns
        self, session: Session, actor: Actor, role: str | None, replay: FireResult
    ) -> FireResult:
        """``replay`` when ``actor`` holds a role that may do what it did; else a refusal.

        A repeat changes nothing, but it is only for who may make the request: someone else
        reusing a known key is refused (and audited) like a first attempt would be.
        """
        row = self._load(session, replay.instance_id)
        definition = self.machine_for(session, row.definition_hash).definition
        transition = None
        if replay.trigger == CREATE:
            allowed: Sequence[str] = definition.create_roles
        else:
            transition = definition.transition(replay.trigger, replay.source or "")
            allowed = transition.roles if transition is not None else ()
        acting_role = _resolve_role(actor, role, allowed)
        duty = (
            same_person(
                session,
                row,
                definition,
                transition,
                self._not_by(row, transition),
                actor,
                self.same_actor_text,
            )
            if transition is not None and acting_role is not None
            else None
        )
        if acting_role is not None and duty is None:
            return replay
        record = AuditRecord(
            tenant=actor.tenant,
            occurred_at=self.clock(),
            actor=actor.id,
            role=None,
            instance_id=row.id,
            kind=row.kind,
            ref=row.ref,
            trigger=replay.trigger,
            from_state=row.state,
            to_state=None,
            payload=canonical_json({}),
            definition_hash=row.definition_hash,
            outcome=REFUSED,
            reason=None,
        )
        if duty is not None:
            self._refuse(session, record, acting_role, duty)
        held = sorted(actor.roles)
        self._refuse(
            session,
            record,
            _role_text(actor, role),
            Refusal(
                NOT_PERMITTED,
                "replay_role_held",
                f"{actor.id} may not repeat {replay.trigger!r} on {row.kind} #{row.id} "
                f"({row.ref}): it needs one of the roles {', '.join(allowed) or 'none'} "
                f"(holds {', '.join(held)})",
                {
                    "actor": actor.id,
                    "kind": row.kind,
                    "kind_title": definition.title,
                    "instance_id": row.id,
                    "ref": row.ref,
                    "trigger": replay.trigger,
                    "roles": list(allowed),
                    "held": held,
                },
            ),
        )

    @staticmethod
    def _replay(
        session: Session, tenant: str, key: str | None, request: Mapping[str, Any]
    ) -> FireResult | None:
        if key is None:
            return None
        record = store.idempotency_record(session.connection(), tenant, key)
        if record is None:
            return None
        if record.request_hash != sha256_hex(canonical_json(request)):
            raise IdempotencyKeyReusedError(
                f"idempotency key {key!r} was first used for a different request; "
                "use a new key for a new request"
            )
        return FireResult(**{**json.loads(record.result), "replayed": True})

    @staticmethod
    def _remember(
        session: Session,
        tenant: str,
        key: str | None,
        request: Mapping[str, Any],
        result: FireResult,
        now: datetime,
    ) -> None:
        if key is None:
            return
        store.store_idempotency(
            session.connection(),
            tenant=tenant,
            key=key,
            request_hash=sha256_hex(canonical_json(request)),
            result=canonical_json(asdict(result)),
            now=now,
        )


def _hold(session: Session, record: AuditRecord, error: TransitionRefusedError) -> NoReturn:
    """Hold ``record`` as the refusal ``error`` for ``unit_of_work`` to append, then raise."""
    reason = f"{error.reason_code}: {error}"
    hold_refusal(session, replace(record, to_state=None, outcome=REFUSED, reason=reason))
    raise error


def _resolve_role(actor: Actor, requested: str | None, allowed: Iterable[str]) -> str | None:
    allowed_set = set(allowed)
    if requested is not None:
        return requested if requested in actor.roles and requested in allowed_set else None
    matching = sorted(actor.roles & allowed_set)
    return matching[0] if matching else None


def _role_text(actor: Actor, requested: str | None) -> str:
    return requested if requested is not None else "|".join(sorted(actor.roles))


def _json(value: Mapping[str, Any], what: str) -> str:
    try:
        return canonical_json(dict(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"the {what} must be JSON (strings, numbers, lists, objects): {exc}"
        ) from exc
