"""The pages: the home page's counts come from ``cchc.waiting`` and link to their items; the
unit's task page shows state, working days left and the overdue marked, dd/mm/yyyy dates."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from fastapi.testclient import TestClient

from cchc.waiting import task_lines, waiting_for
from cchc.workspace import Workspace
from tests.conftest import Clock
from tests.web.conftest import CHAIRMAN, FOCAL, KT_OFFICIAL, PASSWORD, csrf_of, sign_in


def _counts(html: str) -> dict[str, int]:
    """Label → number of the home page's counts."""
    found = re.findall(
        r'<span class="number">(\d+)</span>\s*<span class="label">([^<]+)</span>', html
    )
    return {label: int(number) for number, label in found}


def test_home_shows_what_waits_for_the_official_and_their_unit(
    client: TestClient, ward: Workspace
) -> None:
    """The official's home page shows exactly the counts ``waiting_for`` gives them, the late
    tasks linked to the late tasks of their unit."""
    sign_in(client, KT_OFFICIAL)
    home = client.get("/")
    assert home.status_code == 200
    expected = waiting_for(ward, ward.actor(KT_OFFICIAL), ward.engine.clock())
    assert _counts(home.text) == {w.label: w.count for w in expected}
    assert {w.key for w in expected} == {"tasks_due", "tasks_overdue", "sent_back", "follow_ups"}
    assert '<a class="box" href="/tasks?show=late">' in home.text


def test_the_counts_follow_the_roles(ward: Workspace) -> None:
    """The focal official sees reviews, the Chairman approvals; a unit's official neither;
    the unit's counts cover the unit's tasks only."""
    now = ward.engine.clock()
    keys = {
        p: {w.key for w in waiting_for(ward, ward.actor(p), now)}
        for p in (KT_OFFICIAL, FOCAL, CHAIRMAN)
    }
    assert "reviews" in keys[FOCAL]
    assert "reviews" not in keys[KT_OFFICIAL]
    assert "approvals" in keys[CHAIRMAN]
    assert "approvals" not in keys[KT_OFFICIAL]
    official = {w.key: w.count for w in waiting_for(ward, ward.actor(KT_OFFICIAL), now)}
    kt_open = [t for t in task_lines(ward, "kt", now) if t.working_days_left is not None]
    assert official["tasks_due"] + official["tasks_overdue"] == len(kt_open) > 0
    ward_wide = {w.key: w.count for w in waiting_for(ward, ward.actor(CHAIRMAN), now)}
    assert ward_wide["tasks_due"] + ward_wide["tasks_overdue"] > len(kt_open)


def test_the_task_page_marks_the_overdue_with_working_days(
    client: TestClient, ward: Workspace
) -> None:
    """Each task of the unit shows its deadline as dd/mm/yyyy, its state and the working days
    left; a late one is marked and says by how many working days."""
    sign_in(client, KT_OFFICIAL)
    page = client.get("/tasks?show=all")
    lines = task_lines(ward, "kt", ward.engine.clock())
    assert lines
    assert page.text.count('<li class="task') == len(lines)
    for line in lines:
        assert line.ref in page.text
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", line.deadline_text)
        assert f"<dd>{line.deadline_text}</dd>" in page.text
    late = [t for t in lines if t.late]
    assert late, "the plan has a Phòng Kinh tế task due before 3/11/2025"
    assert page.text.count('<li class="task late">') == len(late)
    for line in late:
        assert line.working_days_left is not None
        assert f"<strong>Quá hạn {-line.working_days_left} ngày làm việc</strong>" in page.text
    on_time = [t for t in lines if not t.late and t.working_days_left is not None]
    for line in on_time:
        assert f"Còn {line.working_days_left} ngày làm việc" in page.text


def test_working_days_left_count_the_ward_calendar(ward: Workspace) -> None:
    """A task due in two weeks has the working days between today and its due day left (no
    weekend day counted)."""
    now = ward.engine.clock()
    for line in task_lines(ward, None, now):
        if line.working_days_left is not None and not line.late:
            assert line.working_days_left >= 0
    calendar = ward.calendar
    nv07 = next(t for t in task_lines(ward, "kt", now) if t.ref.endswith("NV-07"))
    assert nv07.working_days_left == calendar.working_days_between(
        date(2025, 11, 3), date(2025, 11, 14)
    )


def test_the_ward_readers_choose_a_unit_or_the_whole_ward(
    client: TestClient, ward: Workspace
) -> None:
    """The focal official sees every unit's tasks ("Toàn phường") or one unit's."""
    sign_in(client, FOCAL)
    now = ward.engine.clock()
    whole = client.get("/tasks?show=all&unit=")
    assert whole.status_code == 200
    assert whole.text.count('<li class="task') == len(task_lines(ward, None, now))
    kt = client.get("/tasks?show=all&unit=kt")
    assert kt.text.count('<li class="task') == len(task_lines(ward, "kt", now))


def test_an_idle_session_goes_back_to_sign_in(
    client: TestClient, ward: Workspace, clock: Clock
) -> None:
    """After 30 minutes without a request the next page asks to sign in again."""
    sign_in(client, KT_OFFICIAL)
    clock.advance(minutes=29)
    assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(minutes=30)
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in?next=%2F"


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    client: TestClient, ward: Workspace
) -> None:
    """The current password is checked; the new one works, this browser stays signed in and
    another browser's session ends; the change is audited."""
    other = TestClient(client.app)
    sign_in(other, KT_OFFICIAL)
    sign_in(client, KT_OFFICIAL)
    form = client.get("/password")
    wrong = client.post(
        "/password",
        data={
            "csrf": csrf_of(form),
            "current": "không phải",
            "password": "mật khẩu mới dài",
            "confirm": "mật khẩu mới dài",
        },
    )
    assert wrong.status_code == 400
    assert "Mật khẩu hiện tại không đúng" in wrong.text
    done = client.post(
        "/password",
        data={
            "csrf": csrf_of(form),
            "current": PASSWORD,
            "password": "mật khẩu mới dài",
            "confirm": "mật khẩu mới dài",
        },
    )
    assert done.status_code == 200
    assert client.get("/", follow_redirects=False).status_code == 200
    assert other.get("/", follow_redirects=False).status_code == 303
    assert sign_in(other, KT_OFFICIAL, "mật khẩu mới dài").status_code == 303
    with ward.sessions() as session:
        outcomes = session.scalars(
            sa.text(
                "select outcome from audit_events where trigger = 'change_password' order by seq"
            )
        ).all()
    assert outcomes == ["refused", "applied"]


def test_every_count_of_the_home_page_links_to_a_page_that_answers(
    client: TestClient, ward: Workspace
) -> None:
    """Each count the home page can show (cchc.waiting.LABELS) has its page, and the focal
    official reaches every one of them."""
    from cchc.waiting import LABELS
    from cchc.web.routes.home import LINKS

    assert set(LINKS) == set(LABELS)
    sign_in(client, FOCAL)
    for key, link in LINKS.items():
        assert client.get(link).status_code == 200, (key, link)
