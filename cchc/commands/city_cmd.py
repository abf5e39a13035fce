"""``cchc city``: the city's wards by block, and the city ranking of their index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from cchc.commands.common import AppState, console, open_database, state_of
from cchc.commands.cycle_common import (
    JSON_HELP,
    print_json,
    reporting,
    say,
    stop,
    table,
    warn,
)
from cchc.commands.problems import print_problems
from cchc.organization.model import KIND_NAMES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from cchc.city import City
    from workflows.engine import Engine
    from workflows.progress import Progress
    from workflows.registry import Actor

app = typer.Typer(help="The city: its wards by block and their ranking.", no_args_is_help=True)

KIND_LABELS = {kind: name.capitalize() for kind, name in KIND_NAMES.items()}
CITY_AS_HELP = "City official acting (id from the city file's officials)."
YES_HELP = "Register without asking (the difference is still printed)."


def load_chosen_city(state: AppState, progress: Progress | None = None) -> City:
    """The city file of ``--city`` (``CCHC_CITY``, or the sample), checked; exit 1 on problems."""
    from cchc.city import default_city, load_city
    from workflows.errors import DefinitionError
    from workflows.progress import no_progress

    path = state.city or default_city()
    if not path.is_file():
        raise stop(f"--city: no such file: {path}", 2)
    try:
        return load_city(path, progress=progress or no_progress)
    except DefinitionError as exc:
        print_problems(exc.problems)
        raise typer.Exit(1) from None


def tenant_organization(state: AppState) -> Path:
    """The organization file of the ward ``--tenant`` in the city file (it wins over ``--org``)."""
    city = load_chosen_city(state)
    tenant = state.tenant or ""
    try:
        path = city.organization_path(tenant)
    except LookupError as exc:
        raise stop(f"--tenant: {exc}", 2) from None
    if state.organization and state.organization.resolve() != path:
        warn(f"--tenant {tenant} chọn tệp {path}; --org {state.organization} bị bỏ qua")
    return path


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Check the city file and every organization file it names (file:line problems, exit 1)."""
    city = load_chosen_city(state_of(ctx))
    say(
        f"[green]✓[/] {escape(city.name)} ({escape(city.code)}): {len(city.wards)} đơn vị cấp xã "
        f"(wards), {len(city.officials)} công chức cấp thành phố (officials)"
    )


@app.command("show")
def show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """The city's wards by block (Khối phường; Khối xã, đặc khu) and its officials."""
    from cchc.city import BLOCKS, block_of

    city = load_chosen_city(state_of(ctx))
    if as_json:
        print_json(
            {
                "city": city.code,
                "name": city.name,
                "blocks": {
                    block: [
                        {
                            "tenant": o.tenant,
                            "name": o.name,
                            "kind": o.kind,
                            "organization_file": str(city.paths.get(o.tenant, "")),
                        }
                        for o in city.block(block)
                    ]
                    for block in BLOCKS
                },
                "officials": [
                    {
                        "id": p.id,
                        "full_name": p.full_name,
                        "title": p.title,
                        "roles": list(p.roles),
                        "email": p.email,
                    }
                    for p in city.officials
                ],
            }
        )
        return
    say(f"[bold]{escape(city.name)}[/] ({escape(city.code)}): {len(city.wards)} đơn vị cấp xã")
    for block, label in BLOCKS.items():
        wards = [o for o in city.wards if block_of(o) == block]
        console.print(
            table(
                f"{label} ({len(wards)})",
                ("Mã (tenant)", "Tên", "Loại", "Tệp tổ chức"),
                [
                    (o.tenant, o.name, KIND_LABELS[o.kind], _shown(city.paths.get(o.tenant)))
                    for o in wards
                ],
            )
        )
    console.print(
        table(
            "Công chức cấp thành phố",
            ("Mã", "Họ và tên", "Chức vụ", "Vai trò"),
            [(p.id, p.full_name, p.title, ", ".join(p.roles)) for p in city.officials],
        )
    )


def _shown(path: Path | None) -> str:
    from workflows.definition.yamlpos import display_path

    return "" if path is None else display_path(path)


def _require_identity(
    sessions: sessionmaker[Session], engine: Engine, city: City, actor: Actor
) -> None:
    """With ``CCHC_CLI_IDENTITY=os``, exit 1 unless ``actor`` is the person (of the city file
    or of a ward) mapped to the operating-system account running the command; the refusal is
    audited in the actor's tenant (``cchc.identity``)."""
    from cchc import identity
    from cchc.commands.cycle_common import refusal_line
    from workflows.database import unit_of_work

    try:
        if identity.mode() == "open":
            return
    except ValueError as exc:
        raise stop(str(exc), 2) from None
    people = [*city.officials, *(p for org in city.wards for p in org.people)]
    try:
        with unit_of_work(sessions) as session:
            identity.require_cli_identity(session, engine, people, actor)
    except identity.IdentityRefusedError as exc:
        raise stop(refusal_line(exc), 1) from None


def _acting(city: City, person_id: str) -> Actor:
    """A city official; a ward's person acts in their own ward (and will be refused)."""
    from cchc.organization.model import UnknownPersonError

    try:
        return city.actor(person_id)
    except UnknownPersonError as exc:
        for org in city.wards:
            if any(p.id == person_id for p in org.people):
                return org.actor(person_id)
        raise stop(f"--as: {exc}", 2) from None


@app.command("rank")
def rank(
    ctx: typer.Context,
    period: str = typer.Option(..., help="Period code of the wards' plans, e.g. 2025-H2."),
    person: str = typer.Option(..., "--as", help=CITY_AS_HELP),
    publish: bool = typer.Option(False, "--publish", help="Publish the ranking."),
    out: Path = typer.Option(None, "--out", help="Folder for the XLSX of the ranking."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Rank the wards of each block by their latest index for PERIOD (stored, reproducible),
    on the city's registered city file and definitions."""
    from cchc import vi_text
    from cchc.city import BLOCKS, default_city
    from cchc.city.ranking import rank_city
    from cchc.city.reference import settle_city
    from cchc.city.xlsx import write_city_ranking_xlsx
    from cchc.commands import cycle_common
    from cchc.commands.progress import progress_bar
    from cchc.migrations import require_current
    from cchc.runtime import make_workflow_engine
    from workflows.database import session_factory, unit_of_work

    state = state_of(ctx)
    with progress_bar(f"Xếp hạng các phường, xã kỳ {period}", as_json=as_json) as progress:
        # Reading the wards' organization files, then ranking and writing: one step more.
        city = load_chosen_city(state, lambda done, total: progress(done, total + 2))
        wards = len(city.wards)
        db = open_database(state.settings())
        try:
            with reporting():
                require_current(db)
                sessions = session_factory(db)
                city, engine = settle_city(
                    sessions,
                    city,
                    state.city or default_city(),
                    make_workflow_engine(clock=cycle_common.CLOCK),
                    chosen=state.city,
                )
                actor = _acting(city, person)
                _require_identity(sessions, engine, city, actor)
                with unit_of_work(sessions) as session:
                    ranking = rank_city(
                        session, engine, city, actor, period=period, publish=publish
                    )
                progress(wards + 1, wards + 2)
                written = None
                if out is not None:
                    written = write_city_ranking_xlsx(
                        out / f"xep-hang-chi-so-cchc-{period}.xlsx", ranking, city.name
                    )
                progress(wards + 2, wards + 2)
        finally:
            db.dispose()
    if as_json:
        print_json({**ranking.as_json(), "xlsx": str(written) if written else None})
        return
    for block, label in BLOCKS.items():
        console.print(
            table(
                f"Xếp hạng chỉ số CCHC – {label} – {ranking.period_label}",
                ("Hạng", "Đơn vị", "Chỉ số", "Điểm cơ bản", "Giải thích"),
                [
                    (
                        r.rank or "—",
                        r.entry.name,
                        ""
                        if r.entry.figures is None
                        else f"{vi_text.number(r.entry.figures.index, 2)}%",
                        ""
                        if r.entry.figures is None
                        else vi_text.number(r.entry.figures.base_points, 2),
                        r.explanation_vi,
                    )
                    for r in ranking.block(block)
                ],
            )
        )
    status = "đã công bố – published" if ranking.state == "published" else "dự thảo – draft"
    again = "; cùng dữ liệu như lần trước, không tạo bản mới (same inputs)" * ranking.replayed
    say(
        f"Bảng xếp hạng #{ranking.instance_id} ({status}), lần xếp hạng {ranking.run_id[:12]}"
        f"{again}." + (f" Tệp: {escape(str(written))}" if written else "")
    )


@app.command("apply")
def apply(
    ctx: typer.Context,
    file: Path = typer.Argument(None, help="The city file to register (default: --city)."),
    person: str = typer.Option(..., "--as", help="The city's administrator registering it."),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
) -> None:
    """Register a new version of the city file and of the definitions folder in use
    (CCHC_DEFINITIONS_DIR or the project's) for the city's tenant (admin): shows the difference
    first. The administrator's roles come from the registered city file."""
    from cchc import reference_data
    from cchc.city import default_city, load_city
    from cchc.city.reference import KINDS, settle_city
    from cchc.commands import cycle_common
    from cchc.commands.apply_common import ADMIN_ROLES, folder_definitions, register_shown
    from cchc.migrations import require_current
    from cchc.runtime import definitions_dir, make_workflow_engine
    from workflows.database import session_factory, unit_of_work
    from workflows.errors import DefinitionError, NotPermittedError

    state = state_of(ctx)
    path = file or state.city or default_city()
    if not path.is_file():
        raise stop(f"no such file: {path}", 2)
    in_use = load_chosen_city(state)
    db = open_database(state.settings())
    try:
        with reporting():
            require_current(db)
            sessions = session_factory(db)
            city, engine = settle_city(
                sessions,
                in_use,
                state.city or default_city(),
                make_workflow_engine(clock=cycle_common.CLOCK),
                chosen=state.city,
                follow=KINDS,
            )
            actor = _acting(city, person)
            _require_identity(sessions, engine, city, actor)
            if actor.tenant != city.code or not actor.roles & ADMIN_ROLES:
                error = NotPermittedError(
                    f"{actor.id} may not apply the reference data of {city.code}: only an "
                    f"official of its registered city file with the role admin may (they are "
                    f"of {actor.tenant}, holding {', '.join(sorted(actor.roles)) or 'none'})"
                )
                try:
                    with unit_of_work(sessions) as session:
                        engine.refuse(
                            session,
                            actor=actor,
                            kind=reference_data.AUDIT_KIND,
                            ref=f"{city.code}/{'+'.join(KINDS)}",
                            trigger="apply",
                            error=error,
                        )
                except NotPermittedError as exc:
                    raise stop(
                        f"không có quyền (not permitted; nothing was written, the refusal "
                        f"is recorded in the audit trail): {exc}",
                        1,
                    ) from None
            try:
                new = load_city(path)
            except DefinitionError as exc:
                print_problems(exc.problems)
                raise typer.Exit(1) from None
            if new.code != city.code:
                raise stop(
                    f"{path} is the city file of {new.code}, not of {city.code}; choose "
                    "the city in use with --city",
                    2,
                )
            definitions = folder_definitions(sessions)  # the folder's, not the registered ones
            snapshots = [
                reference_data.city_snapshot(new, path),
                reference_data.definitions_snapshot(definitions, definitions_dir()),
            ]
            role = min(actor.roles & ADMIN_ROLES)  # the role that allowed it, recorded
            register_shown(sessions, city.code, snapshots, actor.id, engine.clock(), yes, role)
    finally:
        db.dispose()
