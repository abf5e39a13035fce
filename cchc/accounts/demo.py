"""The demo's accounts: every person of the demo ward gets one, through the same invite path
as ``cchc users invite``, with one password printed by ``cchc serve`` on the demo's data folder
(never elsewhere: ``is_demo_folder``)."""

from __future__ import annotations

from pathlib import Path

from cchc.accounts.policy import Policy
from cchc.accounts.service import invite, set_password
from cchc.workspace import Workspace
from workflows.database import unit_of_work

DEMO_PASSWORD = "demo-cchc-2025"  # noqa: S105 - published in docs/web.md; demo data folder only
"""The password of every demo account (a demo data folder only)."""
ADMIN = "tran.van.minh"
MARKER = ".cchc-demo"
"""The file ``cchc demo`` leaves in its data folder (``cchc.demo.MARKER``)."""


def is_demo_folder(data_dir: Path) -> bool:
    """Whether ``cchc demo`` made this data folder."""
    return (data_dir / MARKER).is_file()


def create_demo_accounts(ws: Workspace) -> int:
    """Invite every person of the ward (as the administrator) and set the demo password
    through each link; how many accounts were made."""
    policy = Policy()
    admin = ws.actor(ADMIN)
    for person in ws.organization.people:
        with unit_of_work(ws.sessions) as session:
            link = invite(session, ws.engine, ws.organization, admin, person.id, policy=policy)
            set_password(
                session, ws.engine, ws.organization, link.token, DEMO_PASSWORD, policy=policy
            )
    return len(ws.organization.people)
