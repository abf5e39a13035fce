"""What the pages' service functions save per request (issue 12, point 7) and still answer the
same: task lines of one state, lateness worked out once, evidence lines of one state, the
viewer built once per request."""

from __future__ import annotations

import json

import sqlalchemy as sa
from fastapi.testclient import TestClient
from starlette.requests import Request

from cchc.accounts.service import Current
from cchc.commands.cycle_common import instances
from cchc.evidence.review_queue import evidence_lines
from cchc.evidence.service import review_evidence
from cchc.waiting import COUNTED_FIELDS, _rows, task_lines, working_days_left
from cchc.web.deps import _viewer
from cchc.workspace import Workspace
from tests.web.conftest import FOCAL, KT_OFFICIAL
from tests.web.test_review_pages import pdf, submit
from workflows.database import unit_of_work
from workflows.schema import Instance


def test_task_lines_of_one_state_are_the_ward_lines_in_that_state(ward: Workspace) -> None:
    """``task_lines(..., state)`` lists exactly the lines of that state, for the ward and a unit."""
    now = ward.engine.clock()
    for unit in (None, "kt"):
        every = task_lines(ward, unit, now)
        for state in {line.state for line in every}:
            assert task_lines(ward, unit, now, state) == [t for t in every if t.state == state]
    assert task_lines(ward, None, now, "no_such_state") == []


def test_working_days_left_with_the_lateness_given_is_the_same(ward: Workspace) -> None:
    """Each line's working days left (lateness worked out once, in ``task_json``) equals what
    ``working_days_left`` works out on its own, late tasks included."""
    now = ward.engine.clock()
    calendar = ward.calendar
    rows = {row.id: row for row in instances(ward, "task")}
    lines = task_lines(ward, None, now)
    assert any(line.late for line in lines)
    assert any(line.working_days_left is not None and not line.late for line in lines)
    for line in lines:
        row = rows[line.id]
        expected = working_days_left(row.state, json.loads(row.data), now, calendar)
        assert line.working_days_left == expected, line.ref


def test_evidence_lines_of_one_state_are_the_ward_lines_in_that_state(ward: Workspace) -> None:
    """``evidence_lines(..., state=...)`` lists exactly the evidence of that state."""
    first = submit(ward, KT_OFFICIAL, "criterion:6.1.3", "a.pdf", pdf("a"))
    submit(ward, KT_OFFICIAL, "criterion:6.2.1", "b.pdf", pdf("b"))
    with unit_of_work(ward.sessions) as session:
        review_evidence(
            session,
            ward.engine,
            ward.actor(FOCAL),
            first.instance_id,
            "accept",
            sha256=first.sha256,
        )
    every = evidence_lines(ward)
    assert {line["state"] for line in every} == {"accepted", "submitted"}
    for state in ("accepted", "submitted"):
        assert evidence_lines(ward, None, state) == [e for e in every if e["state"] == state]


def _request(client: TestClient, current: Current) -> Request:
    return Request(
        {"type": "http", "app": client.app, "state": {"current": current}, "headers": []}
    )


def test_the_viewer_is_built_once_per_request(client: TestClient) -> None:
    """Asking a request for its viewer again returns the one already built; another request
    (another session) gets its own."""
    current = Current(FOCAL, "phu-lien", "a" * 64, "csrf")
    request = _request(client, current)
    viewer = _viewer(request)
    assert viewer is not None
    assert viewer.id == FOCAL
    assert _viewer(request) is viewer
    other = _viewer(_request(client, Current(KT_OFFICIAL, "phu-lien", "b" * 64, "csrf")))
    assert other is not None
    assert other.id == KT_OFFICIAL
    assert other is not viewer


def test_the_counts_read_the_same_fields_the_whole_data_holds(ward: Workspace) -> None:
    """The home page's counts read the fields they need from the database (JSON functions of
    SQLite and PostgreSQL): each instance's fields are those of its data parsed whole."""
    submit(ward, KT_OFFICIAL, "criterion:6.1.3", "a.pdf", pdf("a"))
    kinds = ("task", "evidence", "assessment")
    read = _rows(ward, kinds)
    with ward.sessions() as session:
        whole = session.execute(
            sa.select(Instance.kind, Instance.state, Instance.data).where(
                Instance.tenant == ward.tenant, Instance.kind.in_(kinds)
            )
        ).all()
    expected = sorted(
        (
            (kind, state),
            sorted((k, str(v)) for k, v in json.loads(data).items() if k in COUNTED_FIELDS),
        )
        for kind, state, data in whole
    )
    assert sorted(((r.kind, r.state), sorted(d.items())) for r, d in read) == expected
    assert {r.kind for r, _ in read} == set(kinds)
    assert any("deadline" in d and "owner_unit" in d for _, d in read)
