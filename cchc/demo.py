"""``cchc demo``: the approval cycle end to end on a fresh SQLite database.

Several requests go submit → request changes → resubmit → accept (one is rejected), two
attempts are refused and audited, the remaining drafts are submitted by the ``fire-selected``
Prefect flow in batches, and the audit chain is verified.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cchc.commands.common import console
from cchc.runtime import make_workflow_engine
from workflows.audit import verify
from workflows.database import SQLITE_FILE, make_engine, session_factory, sqlite_url, unit_of_work
from workflows.engine import Engine
from workflows.errors import TransitionRefusedError
from workflows.migrations import upgrade
from workflows.registry import Actor
from workflows.schema import AuditEvent, Instance, OutboxMessage

TENANT = "phuong-phu-lien"
KIND = "approval_request"
MARKER = ".cchc-demo"
AUTHOR = Actor.of("nguyen.thi.lan", "author", tenant=TENANT)
REVIEWER = Actor.of("tran.van.minh", "reviewer", tenant=TENANT)
ADMIN = Actor.of("le.hoang.nam", "admin", "author", tenant=TENANT)

REVIEWED = [
    ("BC-CCHC-10", "Báo cáo CCHC tháng 10/2025", "Thiếu số liệu hồ sơ trực tuyến toàn trình"),
    ("KH-KT-2025", "Kế hoạch kiểm tra CCHC năm 2025", "Chưa nêu thời gian kiểm tra từng đơn vị"),
    ("TB-GB-11", "Dự thảo thông báo kết luận giao ban tháng 11", "Bổ sung thời hạn hoàn thành"),
]
REJECTED = ("DX-KT-01", "Đề xuất khen thưởng đột xuất", "Không đủ căn cứ theo quy chế thi đua")
DRAFTS = 36


class DemoError(Exception):
    """The demo cannot run in this data folder."""


def fresh_database(data_dir: Path, force: bool) -> str:
    """A new SQLite file in ``data_dir``, replacing only a database an earlier demo made."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SQLITE_FILE
    if path.exists() and not (data_dir / MARKER).exists() and not force:
        raise DemoError(
            f"{path} holds data the demo did not create; use --data-dir for another folder "
            "or --force to replace it"
        )
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    (data_dir / MARKER).write_text("created by `cchc demo`; safe to delete\n", encoding="utf-8")
    return sqlite_url(data_dir)


def _fire(
    engine: Engine,
    sessions: sessionmaker[Session],
    instance_id: int,
    trigger: str,
    actor: Actor,
    step: str,
    **payload: str,
) -> None:
    with unit_of_work(sessions) as session:
        engine.fire(
            session,
            instance_id,
            trigger,
            actor=actor,
            payload=payload,
            idempotency_key=f"demo:{instance_id}:{step}",
        )


def scripted_cycle(engine: Engine, sessions: sessionmaker[Session]) -> list[str]:
    """Run the reviewed requests through their cycle; return the refusals it provoked."""
    refusals: list[str] = []
    ids: dict[str, int] = {}
    with unit_of_work(sessions) as session:
        for ref, title, _ in [*REVIEWED, REJECTED]:
            ids[ref] = engine.create(
                session, KIND, actor=AUTHOR, ref=ref, data={"title": title}
            ).instance_id
    for ref, _, reason in REVIEWED:
        _fire(engine, sessions, ids[ref], "submit", AUTHOR, "submit-1")
        _fire(engine, sessions, ids[ref], "request_changes", REVIEWER, "changes", reason=reason)
        _fire(engine, sessions, ids[ref], "resubmit", AUTHOR, "submit-2")
    first = ids[REVIEWED[0][0]]
    attempts: list[tuple[Actor, str, dict[str, str]]] = [
        (AUTHOR, "accept", {}),  # an author may not accept: refused, and audited
        (REVIEWER, "reject", {}),  # a rejection needs a reason: refused, and audited
    ]
    for actor, trigger, payload in attempts:
        try:
            with unit_of_work(sessions) as session:
                engine.fire(session, first, trigger, actor=actor, payload=payload)
        except TransitionRefusedError as exc:
            refusals.append(f"{actor.id} → {trigger}: {exc}")
    for ref, _, _ in REVIEWED:
        _fire(engine, sessions, ids[ref], "accept", REVIEWER, "accept")
    _fire(engine, sessions, ids[REJECTED[0]], "submit", AUTHOR, "submit-1")
    _fire(engine, sessions, ids[REJECTED[0]], "reject", REVIEWER, "reject", reason=REJECTED[2])
    with unit_of_work(sessions) as session:
        for n in range(1, DRAFTS + 1):
            engine.create(
                session,
                KIND,
                actor=AUTHOR,
                ref=f"TTHC-{n:03d}",
                data={"title": f"Hồ sơ rà soát thủ tục hành chính số {n}"},
            )
    return refusals


def run_flow(database_url: str, batch_size: int) -> dict[str, int]:
    """Submit every remaining draft through the ``fire-selected`` Prefect flow."""
    from flows.batch_fire import fire_selected  # imports prefect: only when the flow runs

    return fire_selected(
        database_url=database_url, kind=KIND, state="draft", trigger="submit",
        actor_id=ADMIN.id, roles=sorted(ADMIN.roles), tenant=TENANT, batch_size=batch_size,
    )  # fmt: skip


def summary(engine: Engine, sessions: sessionmaker[Session]) -> Table:
    """Instances per state, with the labels officials read."""
    definition = engine.current(KIND).definition
    with sessions() as session:
        counts = dict(
            session.execute(
                select(Instance.state, func.count())
                .where(Instance.tenant == TENANT)
                .group_by(Instance.state)
            )
            .tuples()
            .all()
        )
        outcomes = Counter(
            dict(
                session.execute(
                    select(AuditEvent.outcome, func.count()).group_by(AuditEvent.outcome)
                )
                .tuples()
                .all()
            )
        )
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    table = Table(title=f"Tổng hợp: {definition.title} — {TENANT}")
    table.add_column("Trạng thái")
    table.add_column("Mã", style="dim")
    table.add_column("Số lượng", justify="right")
    for state in definition.states:
        table.add_row(state.label, state.name, str(counts.get(state.name, 0)))
    table.add_section()
    table.add_row("Sự kiện nhật ký: đã thực hiện", "applied", str(outcomes["applied"]))
    table.add_row("Sự kiện nhật ký: bị từ chối", "refused", str(outcomes["refused"]))
    table.add_row("Thông báo chờ gửi (outbox)", "outbox", str(outbox))
    return table


def run_demo(data_dir: Path, *, force: bool = False, batch_size: int = 10) -> int:
    """Run the whole demo; return the process exit code (0 when the audit chain verifies)."""
    try:
        url = fresh_database(data_dir, force)
    except DemoError as exc:
        console.print(f"[bold red]Lỗi:[/] {exc}", highlight=False)
        return 2
    started = time.perf_counter()
    console.print(f"[bold]1.[/] Tạo cơ sở dữ liệu mới: {data_dir / SQLITE_FILE}", highlight=False)
    db = make_engine(url)
    try:
        upgrade(db)
        sessions = session_factory(db)
        engine = make_workflow_engine()
        console.print(
            f"[bold]2.[/] Chạy quy trình {KIND}: trình → yêu cầu chỉnh sửa → trình lại "
            "→ chấp thuận (và một đề nghị bị từ chối)",
            highlight=False,
        )
        for refusal in scripted_cycle(engine, sessions):
            console.print(f"   [yellow]từ chối (đã ghi nhật ký):[/] {refusal}", highlight=False)
        console.print(
            f"[bold]3.[/] Luồng Prefect 'fire-selected': trình {DRAFTS} bản nháp theo "
            f"lô {batch_size} (khởi động máy chủ Prefect tạm thời, ~10–20 giây)…",
            highlight=False,
        )
        outcome = run_flow(url, batch_size)
        console.print(f"   kết quả: {outcome}", highlight=False)
        console.print(summary(engine, sessions))
        with sessions() as session:
            report = verify(session)
    finally:
        db.dispose()
    if report.ok:
        console.print(
            f"[green]✓ Kiểm tra chuỗi nhật ký: toàn vẹn[/] ({report.events} sự kiện). "
            f"Xong sau {time.perf_counter() - started:.1f} giây.",
            highlight=False,
        )
        console.print(
            "Tiếp theo: `cchc audit verify`, `cchc audit query --instance 1`, "
            "`cchc audit query --outcome refused --json`.",
            highlight=False,
        )
        return 0
    for broken in report.breaks:
        console.print(f"[red]✗ {broken.describe()}[/]", highlight=False)
    return 1
