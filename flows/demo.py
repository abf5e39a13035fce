"""``cchc demo``: the CCHC half-year of Phường Phù Liễn end to end, running its flows.

The story and its steps are ``cchc.demo``'s; this module runs them, with the Prefect flows
(``issue-plan``, ``score-period``, ``rank-units``), so it lives with the flows.
"""

from __future__ import annotations

import time
from pathlib import Path

from cchc import cycle
from cchc.accounts.demo import create_demo_accounts
from cchc.anchor import check_ward, checkpoint_ward, init_key, signing_key_path
from cchc.commands.common import console
from cchc.demo import (
    CHAIRMAN,
    EVIDENCE_STORY,
    FOCAL,
    INPUTS_FILE,
    MISSING_EVIDENCE,
    PLAN,
    PLAN_FILE,
    SIGNER,
    DemoClock,
    DemoError,
    _seconds,
    city_tables,
    deliver_notifications,
    fresh_database,
    import_metrics,
    play_city,
    play_criterion_evidence,
    play_evidence,
    play_reviews,
    play_tasks,
    ranking_table,
    risk_table,
    score_table,
    step,
)
from cchc.migrations import upgrade
from cchc.plan.loader import write_plan_xlsx
from cchc.reports.outputs import write_outputs
from cchc.workspace import Workspace
from flows.cycle import issue_plan_flow, rank_flow, score_flow
from flows.prefect_env import log_to_file
from workflows.audit import VerifyReport, verify
from workflows.database import Settings, make_engine


def run_demo(
    data_dir: Path, *, out: Path | None = None, force: bool = False, verbose: bool = False
) -> int:
    """Run the whole cycle; return the exit code (0 when the audit chain verifies).

    Prefect's own (English) log lines go to ``data_dir/logs/prefect.log``; with ``verbose``
    they are also shown.
    """
    try:
        url = fresh_database(data_dir, force)
    except DemoError as exc:
        console.print(f"[bold red]Lỗi:[/] {exc}", highlight=False)
        return 2
    out = out or data_dir / "demo-output"
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log_to_file(data_dir / "logs" / "prefect.log", verbose=verbose)

    clock = DemoClock("2025-07-29")
    db = make_engine(url)
    upgrade(db)
    settings = Settings(data_dir=data_dir, database_url=url)
    if not signing_key_path(settings).exists():  # flows then sign checkpoints (cchc keys init)
        init_key(settings)
    ws = Workspace.open(settings, clock=clock)
    manual = cycle.read_manual(INPUTS_FILE)
    try:
        with step(
            f"1. Ban hành kế hoạch {PLAN} từ bảng Excel (luồng Prefect 'issue-plan'; "
            "lần đầu khởi động máy chủ Prefect tạm thời ~10–20 giây)"
        ):
            xlsx = write_plan_xlsx(
                cycle.read_plan(ws, PLAN_FILE),
                out / f"ke-hoach-{PLAN}.xlsx",
                unit_names=ws.unit_names(),
            )
            issued = issue_plan_flow(url, str(data_dir), str(xlsx), FOCAL, now=clock().isoformat())
            console.print(
                f"   {issued['tasks']} nhiệm vụ đã giao, {issued['assessments']} tiêu "
                f"chí thành phần đã mở, {issued['notifications']} thông báo chờ gửi",
                highlight=False,
            )
        with step(
            "2. Các đơn vị thực hiện nhiệm vụ; rà soát hạn hằng ngày nhắc hạn, chuyển quá "
            "hạn, báo cáo lên cấp trên"
        ):
            swept = play_tasks(ws, clock)
            console.print(
                f"   {swept['reminders']} lần nhắc hạn, {swept['overdue']} nhiệm vụ "
                f"chuyển quá hạn, {swept['escalations']} lần báo cáo lên cấp trên",
                highlight=False,
            )
        with step("3. Nộp và thẩm định tài liệu kiểm chứng (có tài liệu phải bổ sung, bị từ chối)"):
            play_evidence(ws, clock)
            extra = play_criterion_evidence(ws, clock)
            console.print(
                f"   {len(EVIDENCE_STORY) + extra} tệp đã nộp; thiếu tài liệu: "
                f"{', '.join(sorted(MISSING_EVIDENCE))}",
                highlight=False,
            )
        with step("4. Nhập số liệu từ Cổng dịch vụ công (một số chỉ tiêu chưa đạt)"):
            csv_path = import_metrics(ws, clock, out)
            console.print(f"   {csv_path}", highlight=False)
        clock.set("2025-12-10")
        with step("5. Chấm điểm kỳ đánh giá (luồng 'score-period')"):
            scored = score_flow(url, str(data_dir), PLAN, FOCAL, manual, now=clock().isoformat())
            card = cycle.score(ws, PLAN, FOCAL, manual).card
            console.print(score_table(card))
            console.print(risk_table(ws, card))
            if scored["waiting_explanation"]:
                waiting = ", ".join(scored["waiting_explanation"])
                label = "Chờ giải trình (thiếu tài liệu kiểm chứng)"
                console.print(f"   [yellow]{label}:[/] {waiting}", highlight=False)
        with step("6. Xếp hạng thi đua và công bố (luồng 'rank-units')"):
            rank_flow(
                url,
                str(data_dir),
                PLAN,
                FOCAL,
                manual,
                publisher_id=CHAIRMAN,
                now=clock().isoformat(),
            )
            ranking = cycle.rank(
                ws,
                PLAN,
                FOCAL,
                card,
                today=cycle.local_today(ws),
                publish=True,
                publisher_id=CHAIRMAN,
            )
            console.print(ranking_table(ranking.rows))
        with step(f"7. Xuất tệp cho cán bộ: {out}"):
            files = write_outputs(ws, PLAN, out, signer_id=SIGNER, ranking=ranking.rows, card=card)
            for path in [xlsx, csv_path, *files]:
                console.print(f"   {path}", highlight=False)
        with step("8. Giao ban tháng 10 và tháng 11: báo cáo, thông báo kết luận, theo dõi"):
            for line in play_reviews(ws, clock, out / "giao-ban"):
                console.print(f"   {line}", highlight=False)
        with step(f"9. Gửi thông báo (hộp thư Maildir): {out / 'thu'}"):
            sent = deliver_notifications(ws, out / "thu")
            console.print(f"   {sent} thư đã gửi tới cán bộ các đơn vị", highlight=False)
        create_demo_accounts(ws)  # silent: `cchc serve` prints how to sign in (docs/web.md)
        city_title = (
            "10. Toàn thành phố: Phường Lê Chân, Xã Tiên Lãng ban hành kế hoạch, tự chấm "
            "(chưa làm nhiệm vụ nào); Sở Nội vụ xếp hạng theo khối, công bố"
        )
        with step(city_title):
            city_ranking, city_xlsx = play_city(settings, clock, manual, out)
            for table in city_tables(city_ranking):
                console.print(table)
            console.print(f"   {city_xlsx}", highlight=False)
        checkpoint_ward(settings, ws.sessions, ws.tenant, clock())
        with ws.sessions() as session:
            report = verify(session)
            anchored = check_ward(settings, session, ws.tenant)
        report = VerifyReport(report.events, report.tenants, report.breaks + anchored.breaks)
    finally:
        ws.close()
        db.dispose()
    if not report.ok:
        for broken in report.breaks:
            console.print(f"[red]✗ {broken.describe()}[/]", highlight=False)
        return 1
    console.print(
        f"[green]✓ Kiểm tra chuỗi nhật ký: toàn vẹn[/] ({report.events} sự kiện, "
        f"khớp {anchored.checked} điểm neo đã ký). "
        f"Xong sau {_seconds(started)} giây. Tệp kết quả: {out}",
        highlight=False,
    )
    console.print(
        "Tiếp theo: `cchc audit verify --as cu.van.son`, "
        "`cchc audit history --criterion 1.1.3 --plan KH-CCHC-2025-H2 --as cu.van.son`, "
        "`cchc score explain 1.1.3 --plan KH-CCHC-2025-H2 --as nguyen.thi.lan`.",
        highlight=False,
    )
    return 0
