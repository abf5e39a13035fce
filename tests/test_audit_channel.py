"""Every audit event records its channel (web session, CLI with OS account and host); chains
written before the channel existed still verify; ``CCHC_CLI_IDENTITY=os`` stops ``--as``
impersonation."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cchc.cli import app
from cchc.organization.model import load_organization
from tests.conftest import DEFINITIONS, TENANT, Db
from tests.helpers import REASON, instance_in
from tests.test_audit_tamper import unprotected
from workflows import channel
from workflows.audit import event_hash, verify
from workflows.database import unit_of_work
from workflows.engine import Engine
from workflows.errors import NotPermittedError
from workflows.registry import Actor
from workflows.schema import AuditEvent

runner = CliRunner()


def _chain(db: Db, engine: Engine) -> None:
    """Events without a channel (as before), then inside a web session's channel."""
    author = Actor.of("author", "author", tenant=TENANT)
    reviewer = Actor.of("reviewer", "reviewer", tenant=TENANT)
    walker = Actor.of("walker", "author", "reviewer", tenant=TENANT)
    instance_id = instance_in(db, engine, "changes_requested", author, walker, "T-1")
    with channel.using("web:0123456789ab"), unit_of_work(db.sessions) as session:
        engine.fire(session, instance_id, "resubmit", actor=author)
        engine.fire(session, instance_id, "accept", actor=reviewer, payload=REASON)


def test_old_and_new_events_verify_in_one_chain(db: Db, engine: Engine) -> None:
    """Events with no channel keep their hash; events with one hash it; the chain verifies and
    the fast verification agrees with ``event_hash``."""
    _chain(db, engine)
    with db.sessions() as session:
        events = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    rows = [{c.name: getattr(e, c.name) for c in AuditEvent.__table__.columns} for e in events]
    assert {r["channel"] for r in rows[:-2]} == {None}
    assert [r["channel"] for r in rows[-2:]] == ["web:0123456789ab"] * 2
    for row in rows:
        assert event_hash(row["prev_hash"], row) == row["hash"]
    for row in rows[-2:]:
        assert event_hash(row["prev_hash"], {**row, "channel": None}) != row["hash"]
    with db.sessions() as session:
        assert verify(session).ok


def test_a_refusal_appended_after_the_rollback_records_the_channel_of_its_request(
    db: Db, engine: Engine
) -> None:
    """A refusal held in a web session's unit of work keeps that channel when unit_of_work
    appends it after rolling back, and the chain verifies."""
    author = Actor.of("author", "author", tenant=TENANT)
    instance_id = instance_in(db, engine, "submitted", author, author, "T-1")
    with (
        channel.using("web:0123456789ab"),
        pytest.raises(NotPermittedError),
        unit_of_work(db.sessions) as session,
    ):
        engine.fire(session, instance_id, "accept", actor=author)
    with db.sessions() as session:
        last = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert last is not None
        assert (last.outcome, last.channel) == ("refused", "web:0123456789ab")
        assert verify(session).ok


def test_editing_the_channel_breaks_the_chain(db: Db, engine: Engine) -> None:
    """Changing the recorded channel of an event is found at that event."""
    _chain(db, engine)
    with db.engine.connect() as conn:
        last = conn.execute(sa.text("select max(id) from audit_events")).scalar_one()
    with unprotected(db) as conn:
        conn.execute(
            sa.text("update audit_events set channel = 'cli:root@x' where id = :id"), {"id": last}
        )
    with db.sessions() as session:
        report = verify(session)
    assert [b.event_id for b in report.breaks] == [last]


def test_the_cli_records_the_os_account_and_host(tmp_path: Path) -> None:
    """Events written by a command carry ``cli:<os account>@<host>``, shown by ``cchc audit
    query``."""
    data = tmp_path / "var"
    env = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}
    assert runner.invoke(app, ["--data-dir", str(data), "db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(
        app,
        ["--data-dir", str(data), "users", "invite", "ngo.thi.ha", "--as", "tran.van.minh"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(f"sqlite:///{data / 'cchc.sqlite3'}")
    with engine.connect() as conn:
        channels = set(conn.execute(sa.text("select channel from audit_events")).scalars())
    engine.dispose()
    expected = f"cli:{channel.os_account()}@{socket.gethostname()}"
    assert channels == {expected}
    assert channel.current() is None  # the command's channel ended with it
    query = runner.invoke(
        app,
        [
            "--data-dir",
            str(data),
            "audit",
            "query",
            "--kind",
            "account",
            "--as",
            "cu.van.son",
            "--json",
        ],
        env=env,
    )
    assert query.exit_code == 0, query.output
    (invited,) = json.loads(query.stdout)
    assert (invited["trigger"], invited["channel"]) == ("invite", expected)


def _org_with_accounts(tmp_path: Path) -> Path:
    text = (DEFINITIONS / "organizations" / "phu-lien.yaml").read_text("utf-8")
    text = text.replace(
        "    email: tran.van.minh@phulien.example",
        f"    email: tran.van.minh@phulien.example\n    os_account: {channel.os_account()}",
    )
    path = tmp_path / "phu-lien.yaml"
    path.write_text(text, "utf-8")
    roles = {
        "admin",
        "chairman",
        "vice_chairman",
        "unit_head",
        "unit_official",
        "focal_official",
        "office_official",
        "inspector",
    }
    org = load_organization(path, known_roles=roles)
    assert org.person("tran.van.minh").os_account == channel.os_account()
    return path


def test_identity_mode_acts_only_as_the_mapped_person(tmp_path: Path) -> None:
    """With CCHC_CLI_IDENTITY=os the CLI acts as the person mapped to the OS account running
    it; naming anyone else is refused (exit 1) and audited."""
    data = tmp_path / "var"
    org = _org_with_accounts(tmp_path)
    env = {
        "CCHC_DATABASE_URL": "",
        "CCHC_ORGANIZATION": "",
        "CCHC_INDEX_SET": "",
        "CCHC_CLI_IDENTITY": "os",
    }
    base = ["--data-dir", str(data), "--org", str(org)]
    assert runner.invoke(app, [*base, "db", "upgrade"], env=env).exit_code == 0
    mine = runner.invoke(
        app, [*base, "users", "invite", "ngo.thi.ha", "--as", "tran.van.minh"], env=env
    )
    assert mine.exit_code == 0, mine.output
    other = runner.invoke(app, [*base, "tasks", "list", "--as", "dang.van.thang"], env=env)
    assert other.exit_code == 1, other.output
    assert "không được hành động thay người khác" in other.output
    assert "dang.van.thang" in other.output
    assert "Mã lý do: identity_refused/cli_identity" in " ".join(other.output.split())
    engine = sa.create_engine(f"sqlite:///{data / 'cchc.sqlite3'}")
    with engine.connect() as conn:
        refused = conn.execute(
            sa.text("select actor, kind, ref, outcome from audit_events where kind = 'identity'")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in refused] == [
        ("tran.van.minh", "identity", "dang.van.thang", "refused")
    ]


def test_open_mode_is_the_default_and_a_wrong_mode_is_refused(tmp_path: Path) -> None:
    """Without the setting anyone may be named; an unknown mode exits 2 naming the setting."""
    data = tmp_path / "var"
    env = {"CCHC_DATABASE_URL": "", "CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": ""}
    assert runner.invoke(app, ["--data-dir", str(data), "db", "upgrade"], env=env).exit_code == 0
    listing = ["--data-dir", str(data), "tasks", "list", "--as", "dang.van.thang"]
    assert runner.invoke(app, listing, env=env).exit_code == 0
    wrong = runner.invoke(app, listing, env={**env, "CCHC_CLI_IDENTITY": "strict"})
    assert wrong.exit_code == 2
    assert "CCHC_CLI_IDENTITY" in wrong.output


@pytest.mark.parametrize("value", [None, "web:abc"])
def test_using_restores_the_channel(value: str | None) -> None:
    """``channel.using`` sets the channel for its block only."""
    before = channel.current()
    with channel.using(value):
        assert channel.current() == value
    assert channel.current() == before


def _city_with_accounts(tmp_path: Path) -> Path:
    text = (DEFINITIONS / "cities" / "hai-phong.yaml").read_text("utf-8")
    text = text.replace("../organizations/*.yaml", str(DEFINITIONS / "organizations" / "*.yaml"))
    text = text.replace(
        "    email: giang.van.hieu@sonoivu.haiphong.example",
        "    email: giang.van.hieu@sonoivu.haiphong.example\n"
        f"    os_account: {channel.os_account()}",
    )
    path = tmp_path / "hai-phong.yaml"
    path.write_text(text, "utf-8")
    return path


def test_identity_mode_holds_for_city_commands(tmp_path: Path) -> None:
    """With CCHC_CLI_IDENTITY=os, `city rank` and `city apply` act only as the city official
    mapped to the OS account; naming another official is refused (exit 1) and audited in the
    city's tenant."""
    data = tmp_path / "var"
    city = _city_with_accounts(tmp_path)
    env = {
        "CCHC_DATABASE_URL": "",
        "CCHC_ORGANIZATION": "",
        "CCHC_INDEX_SET": "",
        "CCHC_TENANT": "",
        "CCHC_CITY": "",
        "CCHC_CLI_IDENTITY": "os",
    }
    base = ["--data-dir", str(data), "--city", str(city)]
    assert runner.invoke(app, [*base, "db", "upgrade"], env=env).exit_code == 0
    mine = runner.invoke(
        app, [*base, "city", "rank", "--period", "2025-H2", "--as", "giang.van.hieu"], env=env
    )
    assert mine.exit_code == 0, mine.output
    for command in (
        ["city", "rank", "--period", "2025-H2", "--as", "trieu.thi.kim.oanh"],
        ["city", "apply", "--yes", "--as", "mac.van.tuan"],
    ):
        other = runner.invoke(app, [*base, *command], env=env)
        assert other.exit_code == 1, other.output
        assert "Mã lý do: identity_refused/cli_identity" in " ".join(other.output.split())
    engine = sa.create_engine(f"sqlite:///{data / 'cchc.sqlite3'}")
    with engine.connect() as conn:
        refused = conn.execute(
            sa.text("select tenant, actor, ref, outcome from audit_events where kind = 'identity'")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in refused] == [
        ("hai-phong", "giang.van.hieu", "trieu.thi.kim.oanh", "refused"),
        ("hai-phong", "giang.van.hieu", "mac.van.tuan", "refused"),
    ]
