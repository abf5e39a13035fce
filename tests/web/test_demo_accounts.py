"""The demo's accounts: made through the invite path, with the demo password, and the demo
password is printed only for the demo's data folder."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from cchc import demo
from cchc.accounts import demo as demo_accounts
from cchc.accounts.service import list_accounts
from cchc.workspace import Workspace
from tests.conftest import Clock, Db
from workflows.database import Settings, unit_of_work


def test_every_demo_person_signs_in_with_the_demo_password(
    db: Db, clock: Clock, tmp_path: Path
) -> None:
    """After ``create_demo_accounts`` each person has an active account whose password is the
    demo password, set through an invite (audited)."""
    from cchc.accounts.policy import Policy
    from cchc.accounts.service import sign_in

    ws = Workspace.open(Settings(data_dir=tmp_path, database_url=db.url), clock=clock)
    try:
        made = demo_accounts.create_demo_accounts(ws)
        assert made == len(ws.organization.people)
        with ws.sessions() as session:
            statuses = {a.status for a in list_accounts(session, ws.organization, clock())}
            triggers = session.scalars(
                sa.text("select distinct trigger from audit_events where kind = 'account'")
            ).all()
        assert statuses == {"active"}
        assert set(triggers) == {"invite", "set_password"}
        with unit_of_work(ws.sessions) as session:
            signed = sign_in(
                session,
                ws.engine,
                ws.organization,
                ws.organization.chairman.id,
                demo_accounts.DEMO_PASSWORD,
                address="127.0.0.1",
                user_agent="t",
                policy=Policy(),
            )
        assert signed.person_id == ws.organization.chairman.id
    finally:
        ws.close()


def test_only_the_demo_folder_is_a_demo_folder(tmp_path: Path) -> None:
    """The folder ``cchc demo`` marks is recognised; any other is not (no password shown)."""
    assert demo_accounts.MARKER == demo.MARKER
    assert not demo_accounts.is_demo_folder(tmp_path)
    (tmp_path / demo.MARKER).write_text("x", encoding="utf-8")
    assert demo_accounts.is_demo_folder(tmp_path)
