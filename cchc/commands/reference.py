"""``cchc org`` and ``cchc index-set``: check, show and apply the ward's reference data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cchc.commands.apply_common import YES_HELP, apply
from cchc.commands.common import console
from cchc.commands.cycle_common import (
    JSON_HELP,
    in_force,
    index_set_path,
    known_roles,
    load_reference,
    organization_path,
    print_json,
    reporting,
    role_labels,
    say,
    stop,
    table,
    warn,
)
from cchc.commands.problems import print_problems
from cchc.indexset.loader import check_index_set, load_index_set
from cchc.indexset.models import SubCriterion
from cchc.organization.model import check_organization, load_organization
from cchc.reference_data import Snapshot, index_set_snapshot, organization_snapshot
from cchc.vi_text import number
from cchc.workspace import Workspace

org_app = typer.Typer(
    help="Check and show the organization (units and people).", no_args_is_help=True
)
index_app = typer.Typer(
    help="Check and show the index set (areas, criteria, sub-criteria).", no_args_is_help=True
)

RULE_LABELS = {
    "binary": "Đạt/không đạt",
    "tiers": "Theo mức",
    "ratio_threshold": "Theo tỷ lệ",
    "deduction": "Trừ điểm",
    "qualitative": "Đánh giá mức độ",
    "survey": "Khảo sát",
    "bonus": "Điểm thưởng",
    "penalty": "Điểm trừ",
}


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise stop(f"no such file: {path}", 2)
    return path


@org_app.command("check")
def org_check(
    ctx: typer.Context,
    file: Path = typer.Argument(None, help="Organization file (default: --org or the sample)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check an organization file; print every problem as `file:line: CODE message`, exit 1.
    Roles are those of the ward's registered definitions once there is a database."""
    path = _existing(file or organization_path(ctx))
    with reporting(as_json), in_force(ctx) as ws:
        org, problems = check_organization(path, known_roles(ws))
    if org is None:
        print_problems(problems, refused=False, as_json=as_json)
        raise typer.Exit(1)
    if as_json:
        print_json(
            {
                "ok": True,
                "file": str(path),
                "tenant": org.tenant,
                "name": org.name,
                "units": len(org.units),
                "people": len(org.people),
            }
        )
        return
    say(
        f"[green]✓[/] {path}: {org.name} ({org.tenant}), {len(org.units)} đơn vị (units), "
        f"{len(org.people)} người (people)"
    )


@org_app.command("show")
def org_show(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Show the units and the people with their roles: the ward's registered organization and
    role labels once there is a database, else the files."""
    with reporting(), in_force(ctx) as ws:
        if ws is None:
            org = load_organization(organization_path(ctx), known_roles=known_roles())
        else:
            org = ws.organization
        labels = role_labels(ws)
    if as_json:
        print_json(org.model_dump(mode="json"))
        return
    names = {p.id: p.full_name for p in org.people}
    units = {u.code: u.name for u in org.units}
    focal = {org.focal_unit: "đầu mối CCHC", org.office_unit: "Văn phòng"}
    console.print(
        table(
            f"{org.name} ({org.tenant}) – Đơn vị",
            (
                "Mã",
                "Tên đơn vị",
                "Tên viết tắt",
                "Trưởng đơn vị",
                "Phó Chủ tịch phụ trách",
                "Ghi chú",
            ),
            [
                (
                    u.code,
                    u.name,
                    u.short_name,
                    names.get(u.head, u.head),
                    names.get(
                        u.vice_chairman_in_charge or "", u.vice_chairman_in_charge or "Chủ tịch"
                    ),
                    focal.get(u.code, ""),
                )
                for u in org.units
            ],
        )
    )
    console.print(
        table(
            f"{org.name} – Cán bộ, công chức",
            ("Mã người dùng", "Họ và tên", "Chức danh", "Đơn vị", "Vai trò"),
            [
                (
                    p.id,
                    p.full_name,
                    p.title,
                    units.get(p.unit or "", "—"),
                    ", ".join(labels.get(r, r) for r in p.roles),
                )
                for p in org.people
            ],
        )
    )


@index_app.command("check")
def index_set_check(
    ctx: typer.Context,
    file: Path = typer.Argument(None, help="Index set file (default: --index-set or the sample)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check an index set; print every problem as `file:line: CODE message`, exit 1."""
    path = _existing(file or index_set_path(ctx))
    units: set[str] | None = None
    with reporting(as_json), in_force(ctx) as ws:
        if ws is None:
            org, _ = check_organization(organization_path(ctx), known_roles())
        else:
            org = ws.organization  # the ward's registered organization
        if org is None:
            warn(
                "the organization file has problems (see `cchc org check`); "
                "owner units are not checked"
            )
        else:
            units = {u.code for u in org.units}
        index_set, problems = check_index_set(path, known_units=units)
    if index_set is None:
        print_problems(problems, refused=False, as_json=as_json)
        raise typer.Exit(1)
    subs = list(index_set.sub_criteria())
    if as_json:
        print_json(
            {
                "ok": True,
                "file": str(path),
                "code": index_set.code,
                "year": index_set.year,
                "areas": len(index_set.areas),
                "sub_criteria": len(subs),
                "total_max": index_set.total_max,
                "content_hash": index_set.content_hash,
                "sample": index_set.sample,
            }
        )
        return
    say(
        f"[green]✓[/] {path}: {index_set.code} ({index_set.year}), "
        f"{len(index_set.areas)} lĩnh vực (areas), {len(subs)} tiêu chí thành phần "
        f"(sub-criteria), {number(index_set.total_max)} điểm, "
        f"phiên bản (version) {index_set.content_hash[:12]}"
    )
    if index_set.sample:
        warn("this index set is a SAMPLE, not an official text; do not use it for real scoring")


@index_app.command("show")
def index_set_show(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Show areas, criteria and sub-criteria with their max points and owner unit: the ward's
    registered index set once there is a database, else the files."""
    with reporting(), in_force(ctx) as ws:
        org, index_set = load_reference(ctx) if ws is None else (ws.organization, ws.index_set)
    if as_json:
        data: dict[str, Any] = index_set.as_data()
        data["content_hash"] = index_set.content_hash
        print_json(data)
        return
    units = {u.code: u.name for u in org.units}
    rows: list[tuple[str, ...]] = []

    def scored(sub: SubCriterion, indent: str) -> tuple[str, ...]:
        max_points = number(sub.max_points)
        if sub.rule.type == "penalty":
            max_points = f"-{max_points}"
        elif sub.rule.type == "bonus":
            max_points = f"+{max_points}"
        return (
            f"{indent}{sub.code}",
            f"{indent}{sub.title}",
            max_points,
            units.get(sub.owner_unit, sub.owner_unit),
            RULE_LABELS.get(sub.rule.type, sub.rule.type),
        )

    for area in index_set.areas:
        rows.append((area.code, area.title.upper(), number(area.max_points), "", ""))
        for criterion in area.criteria:
            if criterion.scored_directly:  # scored as one line, without sub-criteria
                rows.extend(scored(item, "") for item in criterion.scored_items)
                continue
            rows.append((criterion.code, criterion.title, number(criterion.max_points), "", ""))
            rows.extend(scored(sub, "  ") for sub in criterion.sub_criteria)
    if index_set.bonus_penalty:
        rows.append(("", "ĐIỂM THƯỞNG, ĐIỂM TRỪ (ngoài thang điểm)", "", "", ""))
        rows.extend(scored(item, "  ") for item in index_set.bonus_penalty)
    title = (
        f"{index_set.title} – tổng {number(index_set.total_max)} điểm, "
        f"phiên bản {index_set.content_hash[:12]}"
    )
    console.print(
        table(title, ("Mã", "Nội dung", "Điểm tối đa", "Đơn vị phụ trách", "Cách chấm"), rows)
    )
    if index_set.sample:
        warn("this index set is a SAMPLE, not an official text")


@org_app.command("apply")
def org_apply(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The organization file to register."),
    person: str = typer.Option(..., "--as", help="The administrator registering it."),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
) -> None:
    """Register a new version of the ward's organization (admin): shows the difference first."""
    path = _existing(file)

    def read(ws: Workspace) -> list[Snapshot]:
        org = load_organization(path, known_roles=set(ws.engine.definitions.roles.roles))
        _same_tenant(ws, org.tenant, path)
        return [organization_snapshot(org, path)]

    apply(ctx, ("organization",), read, person, yes)


@index_app.command("apply")
def index_set_apply(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The index set file to register."),
    person: str = typer.Option(..., "--as", help="The administrator registering it."),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
) -> None:
    """Register a new version of the ward's index set (admin): shows the difference first."""
    path = _existing(file)

    def read(ws: Workspace) -> list[Snapshot]:
        index_set = load_index_set(path, known_units={u.code for u in ws.organization.units})
        return [index_set_snapshot(index_set, path)]

    apply(ctx, ("index_set",), read, person, yes)


def _same_tenant(ws: Workspace, tenant: str, path: Path) -> None:
    if tenant != ws.tenant:
        raise stop(
            f"{path} is the organization of {tenant}, not of {ws.tenant}; choose the ward with "
            "--tenant (or --org)",
            2,
        )
