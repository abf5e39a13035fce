"""What the commands of the CCHC cycle share: the workspace, the acting person, errors, output.

Every command that changes something names the person acting (``--as PERSON_ID``); their roles
and unit come from the organization file. Errors become one clear message and a non-zero exit:
2 for a mistake in the command (unknown person, plan, code …), 1 when the work itself was
refused (a definition problem, a refused transition, a rejected file). The services run in one
transaction, so a refused command leaves nothing half-written (refusals themselves are audited).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from cchc.commands.common import (
    console,
    database_exists,
    errors,
    fail,
    open_database,
    state_of,
)
from cchc.commands.problems import print_problems
from cchc.evidence.store import EvidenceRejected
from cchc.indexset.loader import load_index_set
from cchc.indexset.models import IndexSet
from cchc.indexset.rules import report
from cchc.migrations import SchemaOutdatedError
from cchc.organization import access
from cchc.organization.access import AccessDeniedError, ReadScope, read_scope, require_read
from cchc.organization.capabilities import CapabilitiesDifferError
from cchc.organization.model import Organization, UnknownPersonError, load_organization
from cchc.reference_data import ReferenceMismatchError
from cchc.refusals import refusal_sentence
from cchc.scoring.scores import ScoreCard, SubScore, latest_run
from cchc.tables import Score
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace, default_index_set, default_organization
from workflows.canonical import utcnow
from workflows.database import unit_of_work
from workflows.definition.checks import did_you_mean
from workflows.definition.models import RoleCatalog
from workflows.errors import (
    ConflictError,
    DefinitionError,
    IdempotencyKeyReusedError,
    NotPermittedError,
    TransitionRefusedError,
)
from workflows.registry import Actor
from workflows.schema import Instance

CLOCK: Callable[[], datetime] = utcnow
"""The clock workspaces run on. Tests replace it; there is deliberately no option to backdate."""

AS_HELP = "Person acting (id from the organization file); their roles and unit apply."
READ_AS_HELP = (
    "Person reading (id from the organization file); a unit's head or official sees their own "
    "unit only."
)
JSON_HELP = "Print JSON instead of a table."


# --- opening ------------------------------------------------------------------------------------


def organization_path(ctx: typer.Context) -> Path:
    """The organization file: ``--tenant`` (from the city file), ``--org``,
    ``CCHC_ORGANIZATION`` or the sample."""
    state = state_of(ctx)
    if state.tenant:
        from cchc.commands.city_cmd import tenant_organization

        return tenant_organization(state)
    return state.organization or default_organization()


def chosen_organization(ctx: typer.Context) -> Path | None:
    """The organization file chosen by ``--tenant`` (from the city file) or ``--org``; None
    when none was chosen (the tenant's registered organization, or the default file, is used)."""
    state = state_of(ctx)
    return organization_path(ctx) if state.tenant else state.organization


def index_set_path(ctx: typer.Context) -> Path:
    """The index set file: ``--index-set``, ``CCHC_INDEX_SET`` or the sample."""
    return state_of(ctx).index_set or default_index_set()


def known_roles(ws: Workspace | None = None) -> set[str]:
    """Every role of the role catalogue in force: the ward's registered definitions' (``ws``),
    or the definitions folder's ``roles.yaml`` when there is no database yet (``None``)."""
    return set(_catalogue(ws).roles)


def role_labels(ws: Workspace | None = None) -> dict[str, str]:
    """Role name → Vietnamese label, from the role catalogue in force (as ``known_roles``)."""
    if ws is not None:
        return ws.role_labels()
    return {name: spec.label for name, spec in _catalogue(None).roles.items()}


def _catalogue(ws: Workspace | None) -> RoleCatalog:
    if ws is not None:
        return ws.engine.definitions.roles
    from cchc.runtime import load

    return load().roles


def load_reference(ctx: typer.Context) -> tuple[Organization, IndexSet]:
    """The organization and index set chosen by the global options, checked (no database)."""
    org = load_organization(organization_path(ctx), known_roles=known_roles())
    index_set = load_index_set(index_set_path(ctx), known_units={u.code for u in org.units})
    return org, index_set


@contextmanager
def in_force(ctx: typer.Context) -> Iterator[Workspace | None]:
    """The ward's workspace when the database exists, so its registered reference data is what
    a command shows; None before there is a database (the files chosen are all there is)."""
    if not database_exists(state_of(ctx).settings()):
        yield None
        return
    with open_workspace(ctx) as ws:
        yield ws


@contextmanager
def open_workspace(ctx: typer.Context, follow: Collection[str] = ()) -> Iterator[Workspace]:
    """The workspace of this invocation (database with schema, engine, reference data); the
    reference data of ``follow`` kinds is not refused when it differs (``apply`` only)."""
    state = state_of(ctx)
    settings = state.settings()
    open_database(settings).dispose()  # a clear error when there is no schema yet
    ws = Workspace.open(
        settings,
        organization=chosen_organization(ctx),
        index_set=state.index_set,
        clock=CLOCK,
        follow=follow,
    )
    try:
        yield ws
    finally:
        ws.close()


def acting(ws: Workspace, person_id: str, option: str = "--as") -> Actor:
    """``--as PERSON_ID`` (or another ``option`` naming a person) as an actor; exit 2 with a
    did-you-mean hint when unknown, exit 1 when ``CCHC_CLI_IDENTITY=os`` forbids acting as
    them (``require_identity``)."""
    try:
        actor = ws.actor(person_id)
    except UnknownPersonError as exc:
        raise stop(f"{option}: {exc}", 2) from None
    require_identity(ws, actor)
    return actor


def require_identity(ws: Workspace, actor: Actor) -> None:
    """With ``CCHC_CLI_IDENTITY=os``, exit 1 unless ``actor`` is the person mapped to the
    operating-system account running the command (the refusal is audited; ``cchc.identity``)."""
    from cchc import identity

    try:
        if identity.mode() == "open":
            return
    except ValueError as exc:
        raise stop(str(exc), 2) from None
    try:
        with unit_of_work(ws.sessions) as session:
            identity.require_cli_identity(session, ws.engine, ws.organization.people, actor)
    except identity.IdentityRefusedError as exc:
        raise stop(refusal_line(exc), 1) from None


def require_roles(ws: Workspace, actor: Actor, kind: str, trigger: str | None = None) -> None:
    """Exit 1 up front when ``actor`` may not create ``kind`` (or fire ``trigger`` on it).

    Not needed for a single unit of work (the engine's refusal rolls it back whole): for
    commands whose work is not all the engine's or not one transaction, e.g. scoring (the
    scores are stored before any fire, and with nothing left to self-score no fire refuses),
    ranking (scores, then the ranking, in two transactions), a review (before Prefect starts
    and files are written), issuing a notice (refused before the meeting is looked up, so who
    may not issue it learns nothing of it) and importing a file already imported (a no-op
    without a fire). The refusal is audited (and nothing else is written).
    """
    from cchc.organization.permits import allowed_roles

    allowed = allowed_roles(ws.engine, kind, trigger)
    action = f"{trigger} on {kind}" if trigger else f"create {kind}"
    require_any_role(ws, actor, allowed, what=action, kind=kind)


def require_any_role(
    ws: Workspace, actor: Actor, allowed: Collection[str], *, what: str, kind: str = "command"
) -> None:
    """Exit 1 when ``actor`` holds none of ``allowed``; the refusal is audited first.

    ``what`` names the action in the message and the audit trail (e.g. ``send notifications``).
    """
    if actor.roles & set(allowed):
        return
    try:
        with unit_of_work(ws.sessions) as session:
            access.require_any_role(session, ws.engine, actor, allowed, what=what, kind=kind)
    except NotPermittedError as exc:
        raise stop(
            f"không có quyền (not permitted; nothing was written, the refusal is recorded in the "
            f"audit trail): {exc}",
            1,
        ) from None


@dataclass(frozen=True)
class Reading:
    """Who reads (``--as``), what they may read, and the unit read (None: the whole ward)."""

    actor: Actor
    scope: ReadScope
    unit: str | None


def acting_reader(
    ws: Workspace, person_id: str, unit: str | None = None, *, what: str, narrow: bool = False
) -> Reading:
    """``--as PERSON_ID`` reading ``what`` of ``unit`` (None: the whole ward), or exit.

    Exit 2 for an unknown person (did-you-mean hint); exit 1 with a Vietnamese message when the
    person may not read it (another unit, or the whole ward for a unit's official): the refusal
    is recorded in the audit trail first (``kind='access'``). With ``narrow`` (listings), a
    reader of one unit who names no unit reads their own unit instead of being refused.
    """
    actor = acting(ws, person_id)
    scope = read_scope(actor)
    if narrow and unit is None and scope.units is not None and len(scope.units) == 1:
        unit = next(iter(scope.units))
    require_reading(ws, actor, what=what, unit=unit)
    return Reading(actor, scope, unit)


def require_reading(
    ws: Workspace, actor: Actor, *, what: str, unit: str | None = None, tenant: str | None = None
) -> ReadScope:
    """The actor's read scope when it covers ``what`` of ``unit`` (None: the whole ward) of
    ``tenant`` (default the ward's), else exit 1 with a Vietnamese message.

    Only a refusal opens a (write) transaction, to record it in the audit trail: an allowed
    read writes nothing and holds no lock.
    """
    scope = read_scope(actor)
    tenant = tenant or ws.tenant
    if scope.allows(tenant, unit):
        return scope
    target = what if unit is None else f"{what} of unit {unit}"
    try:
        with unit_of_work(ws.sessions) as session:  # refuses (audited) and raises
            return require_read(session, ws.engine, actor, what=target, tenant=tenant, unit=unit)
    except AccessDeniedError as exc:
        raise stop(
            f"không có quyền xem (not permitted to read; the refusal is recorded in the "
            f"audit trail): {exc}",
            1,
        ) from None


def check_choice(option: str, value: str | None, choices: Collection[str]) -> None:
    """Exit 2 with a hint when ``value`` is given and not one of ``choices``."""
    if value is not None and value not in choices:
        raise stop(f"{option} {value!r} is not known; {did_you_mean(value, choices)}", 2)


def today(ws: Workspace) -> date:
    """Today in Asia/Ho_Chi_Minh by the workspace's clock."""
    return ws.engine.clock().astimezone(LOCAL_TZ).date()


# --- errors -------------------------------------------------------------------------------------


def stop(message: str, code: int) -> typer.Exit:
    """Print ``message`` (no markup) as an error and return the exit to raise."""
    return fail(escape(message), code)


def refusal_line(error: TransitionRefusedError) -> str:
    """The line an official reads for a refused command: a Vietnamese sentence from the
    refusal's reason code and facts, then the code (and the rule) for whoever looks it up."""
    rule = error.facts.get("rule")
    guard = error.facts.get("guard")
    code = "/".join(str(part) for part in (error.reason_code, rule, guard) if part)
    return (
        f"{refusal_sentence(error, role_labels())} Mã lý do: {code}; lần từ chối đã được ghi "
        "vào nhật ký kiểm tra."
    )


@contextmanager
def reporting(as_json: bool = False) -> Iterator[None]:
    """Turn the services' errors into a clear message and a non-zero exit (a file's problems
    as JSON with ``as_json``)."""
    try:
        yield
    except TransitionRefusedError as exc:
        raise stop(refusal_line(exc), 1) from None
    except ReferenceMismatchError as exc:
        raise stop(
            f"dữ liệu tham chiếu bị từ chối (refused; the refusal is recorded in the audit "
            f"trail): {exc}",
            1,
        ) from None
    except CapabilitiesDifferError as exc:
        raise stop(str(exc), 2) from None
    except DefinitionError as exc:
        print_problems(exc.problems, as_json=as_json)
        raise typer.Exit(1) from None
    except EvidenceRejected as exc:
        raise stop(f"tệp không được chấp nhận (file refused: {exc.reason}): {exc}", 1) from None
    except PermissionError as exc:
        raise stop(f"không có quyền (not permitted; nothing was written): {exc}", 1) from None
    except ConflictError as exc:
        raise stop(f"dữ liệu vừa bị thay đổi (changed concurrently): {exc}", 1) from None
    except IdempotencyKeyReusedError as exc:
        raise stop(f"đã thực hiện với dữ liệu khác (already done differently): {exc}", 1) from None
    except SchemaOutdatedError as exc:
        raise stop(f"cơ sở dữ liệu cần nâng cấp (schema outdated): {exc}", 2) from None
    except LookupError as exc:
        raise stop(f"không tìm thấy (not found): {exc}", 2) from None
    except (ValueError, OSError) as exc:
        raise stop(f"dữ liệu không hợp lệ (invalid input): {exc}", 2) from None


# --- output -------------------------------------------------------------------------------------


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(value: Any) -> None:
    """``value`` as indented JSON, Vietnamese kept readable, decimals as strings."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_default))


def say(message: str) -> None:
    """A line for the user, markup allowed (callers escape what they interpolate)."""
    console.print(message, highlight=False)


def warn(message: str) -> None:
    """A warning on stderr (no markup)."""
    errors.print(f"[yellow]Lưu ý:[/] {escape(message)}", highlight=False)


def table(title: str, headers: Collection[str], rows: Collection[Collection[object]]) -> Table:
    """A table whose cells are shown as written (no markup)."""
    result = Table(title=escape(title))
    for header in headers:
        result.add_column(header)
    for row in rows:
        result.add_row(*(escape("" if cell is None else str(cell)) for cell in row))
    return result


def plain(value: Decimal) -> str:
    """A decimal for JSON without stored trailing zeros: ``3.0000`` → ``3``, ``1.50`` → ``1.5``."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def state_labels(ws: Workspace, kind: str) -> dict[str, str]:
    """State name → Vietnamese label of ``kind``."""
    return {s.name: s.label for s in ws.engine.current(kind).definition.states}


def instances(ws: Workspace, kind: str, ref_prefix: str | None = None) -> list[Instance]:
    """Instances of ``kind`` in the ward, in id order (under ``ref_prefix/`` when given)."""
    query = select(Instance).where(Instance.tenant == ws.tenant, Instance.kind == kind)
    if ref_prefix is not None:
        query = query.where(Instance.ref.startswith(f"{ref_prefix}/", autoescape=True))
    with ws.sessions() as session:
        return list(session.scalars(query.order_by(Instance.id)))


def plan_codes(ws: Workspace) -> list[str]:
    """The codes of the plans issued (or drafted) in the ward."""
    query = select(Instance.ref).where(Instance.tenant == ws.tenant, Instance.kind == "plan")
    with ws.sessions() as session:  # the refs only: a plan's data holds all its tasks
        return list(session.scalars(query.order_by(Instance.id)))


def require_plan(ws: Workspace, plan_code: str) -> dict[str, Any]:
    """The issued plan's record; exit 2 naming the known plans when it is not there."""
    from cchc.cycle import plan_record

    try:
        return plan_record(ws, plan_code)
    except LookupError:
        raise stop(
            f"plan {plan_code!r} has not been issued in {ws.tenant}; "
            f"{did_you_mean(plan_code, plan_codes(ws))}",
            2,
        ) from None


# --- stored scores ------------------------------------------------------------------------------


def stored_card(ws: Workspace, plan_code: str) -> ScoreCard:
    """The latest stored scoring run of the plan as a card; exit 2 before any run."""
    card = latest_card(ws, plan_code)
    if card is None:
        raise stop(f"plan {plan_code!r} has not been scored yet: run `cchc score run` first", 2)
    return card


def latest_card(ws: Workspace, plan_code: str) -> ScoreCard | None:
    """The latest stored scoring run of the plan as a card; None before any run (the web
    pages and ``stored_card`` read it)."""
    from cchc.evidence.service import coverage

    with ws.sessions() as session:
        rows = latest_run(session, ws.tenant, plan_code)
        covered = {line.code: line.covered for line in coverage(session, ws.tenant, plan_code)}
    if not rows:
        return None
    titles = {s.code: s.title for s in ws.index_set.sub_criteria()}
    subs = tuple(
        stored_sub(r, titles.get(r.code, r.code), covered.get(r.code, False)) for r in rows
    )
    return ScoreCard(ws.tenant, plan_code, ws.index_set, rows[0].run_id, subs, rows[0].computed_at)


def stored_sub(row: Score, title: str, evidence_complete: bool) -> SubScore:
    """A stored score row as a ``SubScore``, with whether accepted evidence backs it now."""
    return SubScore(
        code=row.code,
        title=title,
        owner_unit=row.owner_unit,
        max_points=Decimal(row.max_points),
        points=Decimal(row.points),
        explanation=row.explanation,
        rule=json.loads(row.rule),
        inputs=json.loads(row.inputs),
        outside_base=row.outside_base,
        missing_input=row.explanation.startswith("Chưa có dữ liệu"),
        evidence_complete=evidence_complete,
    )


def sub_json(sub: SubScore, unit_names: Mapping[str, str]) -> dict[str, Any]:
    """A sub-criterion's score for ``--json`` listings."""
    return {
        "code": sub.code,
        "title": sub.title,
        "owner_unit": sub.owner_unit,
        "owner_unit_name": unit_names.get(sub.owner_unit, sub.owner_unit),
        "points": str(report(sub.points)),
        "max_points": plain(sub.max_points),
        "lost": str(report(sub.lost)),
        "evidence_complete": sub.evidence_complete,
        "evidence_gap": str(report(sub.evidence_gap)),
        "points_at_risk": str(report(sub.points_at_risk)),
        "explanation": sub.explanation,
    }
