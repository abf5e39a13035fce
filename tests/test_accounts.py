"""Accounts: invites and resets, passwords, sessions and their timeouts, sign-in throttling and
locks, disabling; every step in the tenant's audit trail (``cchc.accounts``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from cchc.accounts.models import Account, AccountInvite, WebSession
from cchc.accounts.policy import Policy
from cchc.accounts.secrets_ import token_hash
from cchc.accounts.service import (
    InviteInvalidError,
    PasswordRejectedError,
    SignInRefusedError,
    change_password,
    current,
    disable,
    invite,
    list_accounts,
    set_password,
    sign_in,
    sign_out,
)
from cchc.workspace import Workspace
from tests.conftest import Clock, Db
from workflows.audit import verify
from workflows.canonical import utc
from workflows.database import Settings, unit_of_work
from workflows.errors import NotPermittedError

ADMIN = "tran.van.minh"
OFFICIAL = "ngo.thi.ha"
HEAD = "pham.quoc.khanh"
PASSWORD = "Phù Liễn 2025 an toàn"
POLICY = Policy()


@pytest.fixture
def ws(db: Db, clock: Clock, tmp_path: Path) -> Iterator[Workspace]:
    """The Phù Liễn workspace on ``db``, on the test clock."""
    clock.now = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)
    workspace = Workspace.open(Settings(data_dir=tmp_path, database_url=db.url), clock=clock)
    yield workspace
    workspace.close()


def _invite(ws: Workspace, person: str = OFFICIAL, purpose: str = "invite") -> str:
    with unit_of_work(ws.sessions) as session:
        made = invite(
            session,
            ws.engine,
            ws.organization,
            ws.actor(ADMIN),
            person,
            purpose=purpose,
            policy=POLICY,
        )
    return made.token


def _set(ws: Workspace, token: str, password: str = PASSWORD) -> str:
    with unit_of_work(ws.sessions) as session:
        return set_password(session, ws.engine, ws.organization, token, password, policy=POLICY)


def _sign_in(
    ws: Workspace,
    person: str = OFFICIAL,
    password: str = PASSWORD,
    *,
    address: str = "10.0.0.1",
    policy: Policy = POLICY,
    previous: str | None = None,
) -> str:
    with unit_of_work(ws.sessions) as session:
        return sign_in(
            session,
            ws.engine,
            ws.organization,
            person,
            password,
            address=address,
            user_agent="pytest",
            policy=policy,
            previous=previous,
        ).token


def _current(ws: Workspace, token: str, policy: Policy = POLICY) -> str | None:
    with unit_of_work(ws.sessions) as session:
        found = current(session, ws.organization, token, ws.engine.clock(), policy)
    return None if found is None else found.person_id


def _events(ws: Workspace) -> list[tuple[str, str, str, str]]:
    with ws.sessions() as session:
        rows = session.execute(
            sa.text(
                "select actor, ref, trigger, outcome from audit_events where kind = 'account' "
                "order by seq"
            )
        )
        return [(str(r.actor), str(r.ref), str(r.trigger), str(r.outcome)) for r in rows]


def _active(ws: Workspace) -> str:
    """An official with a password, signed in; returns the session token."""
    _set(ws, _invite(ws))
    return _sign_in(ws)


def test_an_invite_link_sets_the_first_password_once(ws: Workspace) -> None:
    """The invite link sets the password; the same link used again is refused and audited."""
    token = _invite(ws)
    assert _set(ws, token) == OFFICIAL
    with pytest.raises(InviteInvalidError):
        _set(ws, token, "another long password")
    assert _sign_in(ws)
    assert _events(ws)[-3:-1] == [
        (OFFICIAL, OFFICIAL, "set_password", "applied"),
        ("anonymous", f"invite:{_hash(token)[:12]}", "set_password", "refused"),
    ]


def _hash(token: str) -> str:
    from cchc.accounts.secrets_ import token_hash

    return token_hash(token)


def test_an_invite_expires_after_72_hours(ws: Workspace, clock: Clock) -> None:
    """A link used 72 hours after it was made is refused."""
    token = _invite(ws)
    clock.advance(hours=72)
    with pytest.raises(InviteInvalidError):
        _set(ws, token)


def test_a_new_invite_replaces_the_earlier_link(ws: Workspace) -> None:
    """Only the latest link of a person works: inviting again makes the earlier one unusable."""
    first = _invite(ws)
    second = _invite(ws)
    with pytest.raises(InviteInvalidError):
        _set(ws, first)
    assert _set(ws, second) == OFFICIAL


def test_only_an_administrator_invites_and_the_refusal_is_audited(ws: Workspace) -> None:
    """A unit head cannot invite; the refusal is an audit event and no invite is stored."""
    with pytest.raises(NotPermittedError), unit_of_work(ws.sessions) as session:
        invite(session, ws.engine, ws.organization, ws.actor(HEAD), OFFICIAL, policy=POLICY)
    with ws.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AccountInvite)) == 0
        refused = session.execute(
            sa.text("select actor, outcome from audit_events where kind = 'account'")
        ).all()
    assert [tuple(r) for r in refused] == [(HEAD, "refused")]


def test_tokens_and_passwords_are_stored_only_hashed(ws: Workspace) -> None:
    """Neither an invite token, a session token nor a password is stored in clear; the password
    hash is Argon2id."""
    invite_token = _invite(ws)
    _set(ws, invite_token)
    session_token = _sign_in(ws)
    with ws.sessions() as session:
        account = session.scalars(sa.select(Account)).one()
        stored = [
            str(value)
            for table in ("accounts", "account_invites", "web_sessions", "audit_events")
            for row in session.execute(sa.text(f"select * from {table}"))
            for value in row
        ]
    assert account.password_hash is not None
    assert account.password_hash.startswith("$argon2id$")
    for secret in (invite_token, session_token, PASSWORD):
        assert not any(secret in value for value in stored)


def test_a_weak_password_is_refused_and_the_link_stays_usable(ws: Workspace) -> None:
    """A short password is refused with a Vietnamese message; the link can be used after."""
    token = _invite(ws)
    with pytest.raises(PasswordRejectedError, match="ít nhất 10 ký tự"):
        _set(ws, token, "ngắn")
    assert _set(ws, token) == OFFICIAL


def test_the_session_changes_at_sign_in(ws: Workspace) -> None:
    """Signing in again from a browser that had a session ends that one and opens a new one."""
    first = _active(ws)
    second = _sign_in(ws, previous=first)
    assert second != first
    assert _current(ws, first) is None
    assert _current(ws, second) == OFFICIAL


def test_sessions_end_when_idle_and_at_their_maximum_age(ws: Workspace, clock: Clock) -> None:
    """A session unused for 30 minutes ends; one used all along still ends after 12 hours."""
    idle = _active(ws)
    clock.advance(minutes=29)
    assert _current(ws, idle) == OFFICIAL
    clock.advance(minutes=30)
    assert _current(ws, idle) is None
    busy = _sign_in(ws)
    for _ in range(12 * 3 - 1):
        clock.advance(minutes=20)
        assert _current(ws, busy) == OFFICIAL
    clock.advance(minutes=20)
    assert _current(ws, busy) is None


def test_timeouts_come_from_the_environment() -> None:
    """CCHC_SESSION_IDLE_MINUTES and CCHC_SESSION_MAX_HOURS set the timeouts; a bad value is
    refused naming the setting."""
    policy = Policy.from_env({"CCHC_SESSION_IDLE_MINUTES": "5", "CCHC_SESSION_MAX_HOURS": "2"})
    assert (policy.session_idle, policy.session_max) == (timedelta(minutes=5), timedelta(hours=2))
    with pytest.raises(ValueError, match="CCHC_SIGNIN_MAX_FAILURES"):
        Policy.from_env({"CCHC_SIGNIN_MAX_FAILURES": "0"})


def test_repeated_failures_lock_the_account_for_a_while(ws: Workspace, clock: Clock) -> None:
    """Five wrong passwords in a row lock the account (audited); the right password is refused
    until the lock ends, then works."""
    _set(ws, _invite(ws))
    for _ in range(4):
        with pytest.raises(SignInRefusedError, match="không đúng"):
            _sign_in(ws, password="wrong password")
    with pytest.raises(SignInRefusedError, match="tạm khóa 15 phút"):
        _sign_in(ws, password="wrong password")
    with pytest.raises(SignInRefusedError, match="đang tạm khóa"):
        _sign_in(ws)
    assert [e[2:] for e in _events(ws)[-3:]] == [
        ("sign_in", "refused"),
        ("lock", "applied"),
        ("sign_in", "refused"),
    ]
    clock.advance(minutes=15)
    assert _sign_in(ws)


def test_an_address_with_many_failures_is_throttled(ws: Workspace) -> None:
    """An address that failed often (on any names) is refused even with a right password,
    while another address signs in."""
    policy = Policy(max_failures_per_address=3)
    _set(ws, _invite(ws))
    for name in ("a.b", "c.d", HEAD):
        with pytest.raises(SignInRefusedError):
            _sign_in(ws, name, "guess guess", address="203.0.113.9", policy=policy)
    with pytest.raises(SignInRefusedError, match="Địa chỉ này"):
        _sign_in(ws, address="203.0.113.9", policy=policy)
    assert _sign_in(ws, address="10.0.0.2", policy=policy)


def test_disabling_an_account_ends_its_sessions(ws: Workspace) -> None:
    """A disabled account's open sessions end and it can no longer sign in."""
    token = _active(ws)
    with unit_of_work(ws.sessions) as session:
        assert disable(session, ws.engine, ws.organization, ws.actor(ADMIN), OFFICIAL) == 1
    assert _current(ws, token) is None
    with pytest.raises(SignInRefusedError):
        _sign_in(ws)
    with ws.sessions() as session:
        lines = {
            a.person_id: a.status
            for a in list_accounts(session, ws.organization, ws.engine.clock())
        }
    assert lines[OFFICIAL] == "disabled"
    assert lines[HEAD] == "none"


def test_a_reset_ends_the_old_password_and_sessions(ws: Workspace) -> None:
    """A reset link ends the sessions and the old password until a new one is set."""
    token = _active(ws)
    reset = _invite(ws, purpose="reset")
    assert _current(ws, token) is None
    with pytest.raises(SignInRefusedError):
        _sign_in(ws)
    _set(ws, reset, "một mật khẩu mới dài")
    assert _sign_in(ws, password="một mật khẩu mới dài")


def test_every_account_step_is_in_the_audit_trail(ws: Workspace) -> None:
    """Invite, password set and change, sign-in, failed sign-in, sign-out, reset and disable are
    events of the tenant's chain, which still verifies."""
    token = _active(ws)
    with pytest.raises(SignInRefusedError):
        _sign_in(ws, password="wrong password")
    with unit_of_work(ws.sessions) as session:
        change_password(
            session,
            ws.engine,
            ws.organization,
            OFFICIAL,
            PASSWORD,
            "mật khẩu thứ hai dài",
            policy=POLICY,
            keep_session=token,
        )
    assert _current(ws, token) == OFFICIAL
    with unit_of_work(ws.sessions) as session:
        sign_out(session, ws.engine, ws.organization, token)
    _invite(ws, purpose="reset")
    with unit_of_work(ws.sessions) as session:
        disable(session, ws.engine, ws.organization, ws.actor(ADMIN), OFFICIAL)
    assert [e[2:] for e in _events(ws)] == [
        ("invite", "applied"),
        ("set_password", "applied"),
        ("sign_in", "applied"),
        ("sign_in", "refused"),
        ("change_password", "applied"),
        ("sign_out", "applied"),
        ("reset", "applied"),
        ("disable", "applied"),
    ]
    with ws.sessions() as session:
        assert verify(session, ws.tenant).ok
        ended = session.scalars(sa.select(WebSession.end_reason)).all()
    assert ended == ["sign_out"]


def _last_seen(ws: Workspace, token: str) -> datetime:
    with ws.sessions() as session:
        row = session.scalars(
            sa.select(WebSession).where(WebSession.token_hash == token_hash(token))
        ).one()
        return utc(row.last_seen)


def test_a_session_used_within_a_minute_is_not_written_again(ws: Workspace, clock: Clock) -> None:
    """``last_seen`` moves only when it is a minute old or more: a request 30 s after the
    previous one writes nothing, one a minute after it moves ``last_seen`` on."""
    token = _active(ws)
    signed_in_at = clock.now
    clock.advance(seconds=30)
    assert _current(ws, token) == OFFICIAL
    assert _last_seen(ws, token) == signed_in_at
    clock.advance(seconds=30)
    assert _current(ws, token) == OFFICIAL
    assert _last_seen(ws, token) == clock.now


def test_the_idle_timeout_counts_from_the_last_written_use(ws: Workspace, clock: Clock) -> None:
    """Uses that were not written (within a minute of the last write) do not keep a session
    alive: it ends 30 minutes after the last written use, at most a minute early."""
    token = _active(ws)
    clock.advance(seconds=50)
    assert _current(ws, token) == OFFICIAL  # not written
    clock.advance(minutes=29, seconds=10)  # 29:10 after that use, 30:00 after the sign-in
    assert _current(ws, token) is None


def test_looking_a_live_session_up_is_one_query(ws: Workspace, clock: Clock) -> None:
    """The session and its account are read in one SELECT when nothing has to be written."""
    token = _active(ws)
    clock.advance(seconds=10)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    sa.event.listen(ws.db, "before_cursor_execute", count)
    try:
        with ws.sessions() as session:
            found = current(session, ws.organization, token, ws.engine.clock(), POLICY)
            assert not session.dirty
    finally:
        sa.event.remove(ws.db, "before_cursor_execute", count)
    assert found is not None
    assert found.person_id == OFFICIAL
    assert len(statements) == 1, statements


def test_passwords_are_hashed_with_argon2_cffis_own_parameters() -> None:
    """Outside the tests' cheap profile, a password hash is Argon2id with argon2-cffi's
    defaults (RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes)."""
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cchc.accounts.secrets_ import hash_password; print(hash_password('x' * 12))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
