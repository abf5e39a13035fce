"""``cchc plan``: a workbook template, checking a plan file, issuing it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.markup import escape

from cchc import vi_text
from cchc.commands.cycle_common import (
    AS_HELP,
    JSON_HELP,
    acting,
    load_reference,
    open_workspace,
    print_json,
    reporting,
    say,
    stop,
)
from cchc.commands.problems import print_problems
from cchc.indexset.models import IndexSet
from cchc.organization.model import Organization
from cchc.plan.loader import TASK_SHEET, check_plan, write_plan_xlsx
from cchc.plan.models import Decision, Period, Plan, PlanTask

app = typer.Typer(
    help="Write a plan template, check a plan file, issue a plan.", no_args_is_help=True
)


def sample_plan(org: Organization, index_set: IndexSet) -> Plan:
    """A plan for the second half of the index set's year, one example task per owner unit."""
    year = index_set.year
    period = Period(
        code=f"{year}-H2",
        start=date(year, 7, 1),
        end=date(year, 12, 31),
        label=f"6 tháng cuối năm {year}",
    )
    tasks: list[PlanTask] = []
    owners: set[str] = set()
    for sub in index_set.base_sub_criteria():
        if sub.owner_unit in owners or len(tasks) >= 3:
            continue
        owners.add(sub.owner_unit)
        n = len(tasks) + 1
        tasks.append(
            PlanTask(
                code=f"NV-{n:02d}",
                title=f"Thực hiện tiêu chí {sub.code}: {sub.title}",
                expected_product="Báo cáo kết quả thực hiện (kèm tài liệu kiểm chứng)",
                owner_unit=sub.owner_unit,
                deadline=date(year, 9 + n, 30 if n != 3 else 15),
                criteria=(sub.code,),
            )
        )
    return Plan(
        code=f"KH-CCHC-{year}-H2",
        title=f"Kế hoạch cải cách hành chính {period.label}",
        tenant=org.tenant,
        decision=Decision(number="…/QĐ-UBND", date=date(year, 7, 1)),
        period=period,
        index_set=index_set.code,
        tasks=tuple(tasks),
    )


def _clear_tasks(path: Path) -> None:
    from openpyxl import load_workbook

    from cchc.reports.xlsx import save

    book = load_workbook(path)
    sheet = book[TASK_SHEET]
    if sheet.max_row > 1:
        sheet.delete_rows(2, sheet.max_row - 1)
    save(book, path)


@app.command("template")
def template(
    ctx: typer.Context,
    out: Path = typer.Argument(..., help="Workbook to write (.xlsx)."),
    empty: bool = typer.Option(False, "--empty", help="Leave the task sheet without examples."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write a plan workbook (sheets "Kế hoạch" and "Nhiệm vụ") for officials to fill in."""
    if out.suffix.lower() != ".xlsx":
        raise stop(f"{out}: the template is an .xlsx workbook", 2)
    if out.exists() and not force:
        raise stop(f"{out} exists; use --force to replace it", 2)
    with reporting():
        org, index_set = load_reference(ctx)
        write_plan_xlsx(sample_plan(org, index_set), out, {u.code: u.name for u in org.units})
        if empty:
            _clear_tasks(out)
    what = "không có nhiệm vụ mẫu" if empty else "có nhiệm vụ mẫu"
    say(f"[green]✓[/] Đã tạo mẫu kế hoạch ({what}): {escape(str(out))}")
    say(
        "Điền sheet 'Kế hoạch' và 'Nhiệm vụ' (mã đơn vị hoặc tên đơn vị, thời hạn dd/mm/yyyy, "
        "mã tiêu chí), rồi chạy `cchc plan check` (fill in, then check)."
    )


def _read(ctx: typer.Context, file: Path, *, issuing: bool = False, as_json: bool = False) -> Plan:
    if not file.is_file():
        raise stop(f"no such file: {file}", 2)
    with reporting(as_json):
        org, index_set = load_reference(ctx)
    aliases: dict[str, str] = {}
    for unit in org.units:
        for name in (unit.code, unit.name, unit.short_name):
            aliases[" ".join(name.lower().split())] = unit.code
    plan, problems = check_plan(
        file,
        known_units={u.code for u in org.units},
        known_criteria={s.code for s in index_set.sub_criteria()},
        unit_aliases=aliases,
    )
    if plan is None:
        print_problems(problems, refused=issuing, as_json=as_json)
        raise typer.Exit(1)
    if plan.tenant != org.tenant:
        raise stop(
            f"{file}: the plan is for {plan.tenant!r}, not for {org.tenant!r} "
            "(choose the organization with --org)",
            1,
        )
    return plan


@app.command("check")
def check(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Plan file (.yaml or .xlsx)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check a plan file; print every problem as `file:line: CODE message` and exit 1."""
    plan = _read(ctx, file, as_json=as_json)
    if as_json:
        print_json(plan.model_dump(mode="json"))
        return
    say(
        f"[green]✓[/] {escape(plan.code)}: {escape(plan.title)} — {escape(plan.period.label)} "
        f"({vi_text.date_text(plan.period.start)} – {vi_text.date_text(plan.period.end)}), "
        f"{len(plan.tasks)} nhiệm vụ (tasks)"
    )


@app.command("issue")
def issue(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Plan file (.yaml or .xlsx)."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Issue the plan: tasks assigned to their units, an assessment opened per sub-criterion."""
    from cchc import cycle
    from cchc.commands.progress import progress_bar

    plan = _read(ctx, file, issuing=True, as_json=as_json)
    with reporting(as_json), open_workspace(ctx) as ws:
        acting(ws, person)  # an unknown person exits 2 with a hint
        with progress_bar(f"Ban hành kế hoạch {plan.code}", as_json=as_json) as progress:
            result = cycle.issue(ws, file, person, progress)
    if as_json:
        print_json(
            {
                "plan": plan.code,
                "plan_id": result.plan_id,
                "tasks": result.tasks,
                "assessments": result.assessments,
                "notifications": result.notifications,
                "replayed": result.replayed,
            }
        )
        return
    if result.replayed:
        say(
            f"Kế hoạch {escape(plan.code)} đã được ban hành trước đó; không có gì thay đổi "
            "(already issued: nothing changed)."
        )
        return
    say(
        f"[green]✓[/] Đã ban hành kế hoạch {escape(plan.code)} (#{result.plan_id}): "
        f"{result.tasks} nhiệm vụ đã giao (tasks created), {result.assessments} tiêu chí đã mở "
        f"đánh giá (assessments opened), {result.notifications} thông báo chờ gửi "
        "(notifications queued)."
    )
