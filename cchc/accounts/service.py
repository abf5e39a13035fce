"""What ``cchc users`` and the web pages do with accounts; each step audited (``kind='account'``).

Every function runs in the caller's transaction (``workflows.database.unit_of_work``). A refusal
(not an administrator, a used invite …) is held on the session (``workflows.audit.hold_refusal``)
and raised as a ``TransitionRefusedError`` subclass, so ``unit_of_work`` rolls the rest back and
keeps the refusal. A wrong password's refusal is written with the failure counters and the lock
it may cause through ``workflows.database.keep_on_failure``: they are kept as well. Messages are
in Vietnamese: the pages show them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cchc import vi_text
from cchc.accounts.models import Account, AccountInvite, SignInFailure, WebSession
from cchc.accounts.policy import Policy
from cchc.accounts.secrets_ import (
    csrf_token,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from cchc.organization import access
from cchc.organization.capabilities import roles_with
from cchc.organization.model import Organization, UnknownPersonError
from workflows.audit import AuditRecord, append_event, hold_refusal
from workflows.canonical import canonical_json, utc, utc_iso
from workflows.database import keep_on_failure
from workflows.engine import Engine
from workflows.errors import TransitionRefusedError
from workflows.registry import Actor

AUDIT_KIND = "account"
ADMIN_ROLES = roles_with("manage_accounts")
"""The roles that invite, reset and disable accounts."""
ANONYMOUS = "anonymous"
"""The actor of a refused sign-in or invite link that names nobody known."""
PURPOSES = ("invite", "reset")


class AccountRefusedError(TransitionRefusedError, PermissionError):
    """An account step was refused (the refusal is in the audit trail); the message is for the
    person (Vietnamese)."""

    reason_code = "account_refused"


class SignInRefusedError(AccountRefusedError):
    """A sign-in was refused: wrong name or password, locked account, throttled address."""

    reason_code = "sign_in_refused"


class InviteInvalidError(AccountRefusedError):
    """An invite or reset link that is unknown, used, replaced or expired."""

    reason_code = "invite_invalid"


class PasswordRejectedError(ValueError):
    """A new password too weak to set; nothing was written (the link stays usable)."""


# --- audit --------------------------------------------------------------------------------------


def _roles(org: Organization, person_id: str) -> str | None:
    try:
        return "|".join(sorted(org.person(person_id).roles))
    except UnknownPersonError:
        return None


def _audit(
    session: Session,
    tenant: str,
    now: datetime,
    *,
    actor: str,
    role: str | None,
    ref: str,
    trigger: str,
    payload: dict[str, Any] | None = None,
    refused: str | None = None,
) -> None:
    """One event of the tenant's chain, written now: ``refused`` is the reason of a refusal."""
    append_event(
        session,
        _record(
            tenant,
            now,
            actor=actor,
            role=role,
            ref=ref,
            trigger=trigger,
            payload=payload,
            refused=refused,
        ),
    )


def _record(
    tenant: str,
    now: datetime,
    *,
    actor: str,
    role: str | None,
    ref: str,
    trigger: str,
    payload: dict[str, Any] | None = None,
    refused: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        tenant=tenant,
        occurred_at=now,
        actor=actor[:128],
        role=role,
        instance_id=None,
        kind=AUDIT_KIND,
        ref=ref[:200],
        trigger=trigger,
        from_state=None,
        to_state=None,
        payload=canonical_json(payload or {}),
        definition_hash="",
        outcome="applied" if refused is None else "refused",
        reason=refused,
    )


def _refuse(
    session: Session,
    tenant: str,
    now: datetime,
    error: AccountRefusedError,
    *,
    actor: str,
    role: str | None,
    ref: str,
    trigger: str,
    why: str,
) -> AccountRefusedError:
    """Hold the refusal's audit event (``why`` in English for the trail; ``unit_of_work``
    appends it, also when it rolls the rest back) and return ``error`` to raise."""
    hold_refusal(
        session,
        _record(
            tenant,
            now,
            actor=actor,
            role=role,
            ref=ref,
            trigger=trigger,
            refused=f"{error.reason_code}: {why}",
        ),
    )
    return error


# --- accounts and invites -----------------------------------------------------------------------


def account_of(session: Session, tenant: str, person_id: str) -> Account | None:
    """The person's account, if one was ever made."""
    return session.scalars(
        select(Account).where(Account.tenant == tenant, Account.person_id == person_id)
    ).first()


@dataclass(frozen=True)
class Invitation:
    """A one-time link just made; ``token`` exists only here (the database keeps its hash)."""

    person_id: str
    purpose: str
    token: str
    expires_at: datetime

    def link(self, base_url: str) -> str:
        """The link to open in a browser to set a password."""
        return f"{base_url.rstrip('/')}/invite/{self.token}"


def _require_admin(session: Session, engine: Engine, admin: Actor, what: str) -> str:
    """The role that lets ``admin`` manage accounts; else the refusal is held and raised."""
    return access.require_any_role(session, engine, admin, ADMIN_ROLES, what=what, kind=AUDIT_KIND)


def invite(
    session: Session,
    engine: Engine,
    org: Organization,
    admin: Actor,
    person_id: str,
    *,
    purpose: str = "invite",
    policy: Policy,
) -> Invitation:
    """Make a one-time link for ``person_id`` to set their first password (``invite``) or a
    new one (``reset``, which also ends their sessions and their old password).

    Only an administrator may (``NotPermittedError``, audited); earlier unused links of the
    person stop working. ``UnknownPersonError`` for a person not in the organization,
    ``ValueError`` for an invite to an account that already has a password (use ``reset``)
    or is disabled.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, not {purpose!r}")
    role = _require_admin(session, engine, admin, f"{purpose} account {person_id}")
    org.person(person_id)
    now = engine.clock()
    account = account_of(session, org.tenant, person_id)
    if account is None:
        account = Account(
            tenant=org.tenant,
            person_id=person_id,
            password_hash=None,
            disabled=False,
            failed_count=0,
            created_at=now,
        )
        session.add(account)
    elif account.disabled and purpose == "invite":
        raise ValueError(f"the account of {person_id} is disabled; `cchc users reset` enables it")
    elif purpose == "invite" and account.password_hash is not None:
        raise ValueError(
            f"{person_id} already has a password; use `cchc users reset {person_id}` for a new one"
        )
    if purpose == "reset":
        account.password_hash = None
        account.disabled = False
        end_sessions(session, org.tenant, person_id, now, reason="reset")
    session.execute(
        update(AccountInvite)
        .where(
            AccountInvite.tenant == org.tenant,
            AccountInvite.person_id == person_id,
            AccountInvite.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = new_token()
    expires = now + policy.invite_valid
    session.add(
        AccountInvite(
            tenant=org.tenant,
            person_id=person_id,
            purpose=purpose,
            token_hash=token_hash(token),
            created_by=admin.id,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    _audit(
        session,
        org.tenant,
        now,
        actor=admin.id,
        role=role,
        ref=person_id,
        trigger=purpose,
        payload={"expires_at": utc_iso(expires)},
    )
    return Invitation(person_id, purpose, token, expires)


def pending_invite(
    session: Session, tenant: str, token: str, now: datetime
) -> AccountInvite | None:
    """The unused, unexpired invite of ``token`` in ``tenant``, or None."""
    row = session.scalars(
        select(AccountInvite).where(AccountInvite.token_hash == token_hash(token))
    ).first()
    if row is None or row.tenant != tenant or row.used_at is not None:
        return None
    return row if utc(row.expires_at) > now else None


def check_password(org: Organization, person_id: str, password: str, policy: Policy) -> None:
    """``PasswordRejectedError`` (Vietnamese) when ``password`` is too weak to set."""
    if len(password) < policy.password_min_length:
        raise PasswordRejectedError(f"Mật khẩu cần ít nhất {policy.password_min_length} ký tự.")
    lowered = password.lower()
    person = org.person(person_id)
    if person_id.lower() in lowered or lowered in person.email.lower():
        raise PasswordRejectedError("Mật khẩu không được chứa tên đăng nhập hoặc địa chỉ thư.")
    if len(set(password)) < 4:
        raise PasswordRejectedError("Mật khẩu quá đơn giản (quá ít ký tự khác nhau).")


def set_password(
    session: Session,
    engine: Engine,
    org: Organization,
    token: str,
    password: str,
    *,
    policy: Policy,
) -> str:
    """Set the password of the person a pending invite or reset link names; the link is used
    up and the person's sessions end. Returns the person id.

    ``InviteInvalidError`` (audited) for a link that is unknown, used, replaced or expired;
    ``PasswordRejectedError`` (nothing written) for a weak password.
    """
    now = engine.clock()
    row = pending_invite(session, org.tenant, token, now)
    if row is None:
        raise _refuse(
            session,
            org.tenant,
            now,
            InviteInvalidError(
                "Liên kết không hợp lệ hoặc đã hết hạn. Đề nghị quản trị viên gửi liên kết mới."
            ),
            actor=ANONYMOUS,
            role=None,
            ref=f"invite:{token_hash(token)[:12]}",
            trigger="set_password",
            why="the link is unknown, used, replaced or expired",
        )
    check_password(org, row.person_id, password, policy)
    account = account_of(session, org.tenant, row.person_id)
    if account is None or account.disabled:
        raise _refuse(
            session,
            org.tenant,
            now,
            InviteInvalidError("Tài khoản đã bị vô hiệu hóa."),
            actor=row.person_id,
            role=_roles(org, row.person_id),
            ref=row.person_id,
            trigger="set_password",
            why="the account is disabled",
        )
    account.password_hash = hash_password(password)
    account.password_set_at = now
    account.failed_count = 0
    account.locked_until = None
    row.used_at = now
    end_sessions(session, org.tenant, row.person_id, now, reason="password_set")
    _audit(
        session,
        org.tenant,
        now,
        actor=row.person_id,
        role=_roles(org, row.person_id),
        ref=row.person_id,
        trigger="set_password",
        payload={"purpose": row.purpose},
    )
    return row.person_id


def change_password(
    session: Session,
    engine: Engine,
    org: Organization,
    person_id: str,
    current: str,
    new: str,
    *,
    policy: Policy,
    keep_session: str | None = None,
) -> None:
    """Change a signed-in person's password after checking the current one; their other
    sessions end (``keep_session``: the token of the one kept)."""
    now = engine.clock()
    account = account_of(session, org.tenant, person_id)
    if account is None or not verify_password(account.password_hash, current):
        raise _refuse(
            session,
            org.tenant,
            now,
            AccountRefusedError("Mật khẩu hiện tại không đúng."),
            actor=person_id,
            role=_roles(org, person_id),
            ref=person_id,
            trigger="change_password",
            why="the current password is wrong",
        )
    check_password(org, person_id, new, policy)
    account.password_hash = hash_password(new)
    account.password_set_at = now
    kept = None if keep_session is None else token_hash(keep_session)
    end_sessions(session, org.tenant, person_id, now, reason="password_set", keep=kept)
    _audit(
        session,
        org.tenant,
        now,
        actor=person_id,
        role=_roles(org, person_id),
        ref=person_id,
        trigger="change_password",
    )


def disable(
    session: Session, engine: Engine, org: Organization, admin: Actor, person_id: str
) -> int:
    """Disable an account: it cannot sign in and its sessions end (how many are returned).
    Only an administrator may (audited refusal); ``LookupError`` when there is no account."""
    role = _require_admin(session, engine, admin, f"disable account {person_id}")
    now = engine.clock()
    account = account_of(session, org.tenant, person_id)
    if account is None:
        raise LookupError(f"{person_id} has no account in {org.tenant}")
    account.disabled = True
    ended = end_sessions(session, org.tenant, person_id, now, reason="disabled")
    session.execute(
        update(AccountInvite)
        .where(
            AccountInvite.tenant == org.tenant,
            AccountInvite.person_id == person_id,
            AccountInvite.used_at.is_(None),
        )
        .values(used_at=now)
    )
    _audit(
        session,
        org.tenant,
        now,
        actor=admin.id,
        role=role,
        ref=person_id,
        trigger="disable",
        payload={"sessions_ended": ended},
    )
    return ended


@dataclass(frozen=True)
class AccountLine:
    """One line of ``cchc users list`` and the administrator's page."""

    person_id: str
    full_name: str
    unit: str | None
    roles: tuple[str, ...]
    status: str
    """``none`` (no account), ``invited``, ``active``, ``locked``, ``disabled``."""
    last_sign_in: datetime | None
    open_sessions: int


STATUS_LABELS = {
    "none": "chưa có tài khoản",
    "invited": "đã mời, chưa đặt mật khẩu",
    "active": "đang hoạt động",
    "locked": "tạm khóa",
    "disabled": "đã vô hiệu hóa",
}


def list_accounts(session: Session, org: Organization, now: datetime) -> list[AccountLine]:
    """Every person of the organization with the state of their account."""
    accounts = {
        a.person_id: a for a in session.scalars(select(Account).where(Account.tenant == org.tenant))
    }
    last = dict(
        session.execute(
            select(WebSession.person_id, func.max(WebSession.created_at))
            .where(WebSession.tenant == org.tenant)
            .group_by(WebSession.person_id)
        )
        .tuples()
        .all()
    )
    open_count = dict(
        session.execute(
            select(WebSession.person_id, func.count())
            .where(WebSession.tenant == org.tenant, WebSession.ended_at.is_(None))
            .group_by(WebSession.person_id)
        )
        .tuples()
        .all()
    )
    lines = []
    for person in org.people:
        account = accounts.get(person.id)
        if account is None:
            status = "none"
        elif account.disabled:
            status = "disabled"
        elif account.locked_until is not None and utc(account.locked_until) > now:
            status = "locked"
        elif account.password_hash is None:
            status = "invited"
        else:
            status = "active"
        seen = last.get(person.id)
        lines.append(
            AccountLine(
                person.id,
                person.full_name,
                person.unit,
                person.roles,
                status,
                None if seen is None else utc(seen),
                int(open_count.get(person.id, 0)),
            )
        )
    return lines


# --- sessions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token goes into the cookie and nowhere else."""

    person_id: str
    token: str

    @property
    def csrf(self) -> str:
        """The CSRF token of the session's forms."""
        return csrf_token(self.token)


def _failures_from(session: Session, address: str, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(SignInFailure)
            .where(SignInFailure.address == address, SignInFailure.occurred_at >= since)
        )
        or 0
    )


BAD_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."


def _count_failure(
    session: Session,
    tenant: str,
    now: datetime,
    login: str,
    address: str,
    actor: str,
    role: str | None,
    *,
    usable: bool,
    policy: Policy,
) -> bool:
    """Record a wrong password: the failure (address throttling), the account's count and its
    refused event; the failure that reaches ``policy.max_failures`` locks the account
    (audited). Whether it locked."""
    session.add(SignInFailure(tenant=tenant, address=address, login=login, occurred_at=now))
    _audit(
        session,
        tenant,
        now,
        actor=actor,
        role=role,
        ref=login,
        trigger="sign_in",
        payload={"address": address},
        refused="sign_in_refused: wrong name or password"
        if usable
        else "sign_in_refused: no usable account",
    )
    account = account_of(session, tenant, login) if actor == login else None
    if account is None:
        return False
    account.failed_count += 1
    if account.failed_count < policy.max_failures:
        return False
    until = now + policy.lock_for
    account.failed_count = 0
    account.locked_until = until
    _audit(
        session,
        tenant,
        now,
        actor=actor,
        role=role,
        ref=login,
        trigger="lock",
        payload={"until": utc_iso(until), "failures": policy.max_failures},
    )
    return True


def sign_in(
    session: Session,
    engine: Engine,
    org: Organization,
    login: str,
    password: str,
    *,
    address: str,
    user_agent: str,
    policy: Policy,
    previous: str | None = None,
) -> SignedIn:
    """Check a person's password and open a new session (the token of ``previous``, the
    session the browser had, ends: the session id changes at sign-in).

    ``SignInRefusedError`` (audited) when the address made too many failed attempts lately,
    the account is locked, or the name or password is wrong; the failure that reaches
    ``policy.max_failures`` in a row locks the account for ``policy.lock_for`` (audited).
    """
    now = engine.clock()
    login = login.strip().lower()[:64]
    address = address[:64]
    if previous:
        end_session(session, previous, now, reason="rotated")
    known = _roles(org, login) is not None
    actor, role = (login, _roles(org, login)) if known else (ANONYMOUS, None)
    if _failures_from(session, address, now - policy.lock_for) >= policy.max_failures_per_address:
        raise _refuse(
            session,
            org.tenant,
            now,
            SignInRefusedError(
                "Địa chỉ này đã đăng nhập sai quá nhiều lần. Vui lòng thử lại sau "
                f"{int(policy.lock_for.total_seconds() // 60)} phút."
            ),
            actor=actor,
            role=role,
            ref=login,
            trigger="sign_in",
            why=f"throttled: {policy.max_failures_per_address} failures from {address}",
        )
    account = account_of(session, org.tenant, login) if known else None
    if account is not None and account.locked_until is not None:
        locked_until = utc(account.locked_until)
        if locked_until > now:
            raise _refuse(
                session,
                org.tenant,
                now,
                SignInRefusedError(
                    "Tài khoản đang tạm khóa do đăng nhập sai nhiều lần; thử lại sau "
                    f"{vi_text.datetime_text(locked_until).split(' ')[1]} ngày "
                    f"{vi_text.date_text(locked_until)}."
                ),
                actor=actor,
                role=role,
                ref=login,
                trigger="sign_in",
                why=f"locked until {utc_iso(locked_until)}",
            )
    usable = account is not None and not account.disabled
    stored = account.password_hash if account is not None and usable else None
    if not verify_password(stored, password):
        locked: list[bool] = []

        def count_failure(session: Session) -> None:  # kept when the refusal rolls back
            locked[:] = [
                _count_failure(
                    session,
                    org.tenant,
                    now,
                    login,
                    address,
                    actor,
                    role,
                    usable=usable,
                    policy=policy,
                )
            ]

        keep_on_failure(session, count_failure)
        message = BAD_CREDENTIALS
        if locked[0]:
            message = (
                f"{BAD_CREDENTIALS} Tài khoản bị tạm khóa "
                f"{int(policy.lock_for.total_seconds() // 60)} phút do đăng nhập sai "
                f"{policy.max_failures} lần liên tiếp."
            )
        raise SignInRefusedError(message)
    if account is None or account.password_hash is None:  # verified above
        raise AssertionError("a verified sign-in has an account with a password")
    account.failed_count = 0
    account.locked_until = None
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    token = new_token()
    session.add(
        WebSession(
            tenant=org.tenant,
            person_id=login,
            token_hash=token_hash(token),
            created_at=now,
            last_seen=now,
            address=address,
            user_agent=user_agent[:300],
        )
    )
    session.flush()
    _audit(
        session,
        org.tenant,
        now,
        actor=login,
        role=role,
        ref=login,
        trigger="sign_in",
        payload={"address": address, "session": token_hash(token)[:12]},
    )
    return SignedIn(login, token)


@dataclass(frozen=True)
class Current:
    """The signed-in person of a request."""

    person_id: str
    tenant: str
    session_hash: str
    csrf: str

    @property
    def channel(self) -> str:
        """How the audit trail names this session: ``web:`` and the first 12 hex of its hash."""
        return f"web:{self.session_hash[:12]}"


TOUCH_EVERY_SECONDS = 60
"""``last_seen`` is written at most this often: a request within a minute of the last write
reads the session and writes nothing (most requests take no write lock). The idle timeout
counts from the last written use, so an idle session ends up to a minute early (29 of its 30
minutes at the least); the maximum age is exact."""


def current(
    session: Session, org: Organization, token: str, now: datetime, policy: Policy
) -> Current | None:
    """The person signed in with ``token``, or None (unknown, ended, idle too long, past its
    maximum age, disabled account, person no longer in the organization). A session found
    too old ends here; a live one has its ``last_seen`` moved on when it is
    :data:`TOUCH_EVERY_SECONDS` old. The session and its account are read in one query."""
    hashed = token_hash(token)
    found = session.execute(
        select(WebSession, Account.disabled)
        .outerjoin(
            Account,
            (Account.tenant == WebSession.tenant) & (Account.person_id == WebSession.person_id),
        )
        .where(WebSession.token_hash == hashed)
    ).first()
    if found is None:
        return None
    row, disabled = found
    if row.ended_at is not None or row.tenant != org.tenant:
        return None
    reason = None
    if now - utc(row.created_at) >= policy.session_max:
        reason = "expired"
    elif now - utc(row.last_seen) >= policy.session_idle:
        reason = "idle"
    elif disabled is None or disabled or _roles(org, row.person_id) is None:
        reason = "disabled"
    if reason is not None:
        row.ended_at = now
        row.end_reason = reason
        return None
    if (now - utc(row.last_seen)).total_seconds() >= TOUCH_EVERY_SECONDS:
        row.last_seen = now
    return Current(row.person_id, row.tenant, hashed, csrf_token(token))


def end_session(session: Session, token: str, now: datetime, *, reason: str) -> str | None:
    """End the session of ``token`` if it is open; the person it was for, or None."""
    row = session.scalars(
        select(WebSession).where(WebSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = now
    row.end_reason = reason
    return row.person_id


def sign_out(session: Session, engine: Engine, org: Organization, token: str) -> None:
    """End the session of ``token`` (audited when it was open)."""
    now = engine.clock()
    person_id = end_session(session, token, now, reason="sign_out")
    if person_id is not None:
        _audit(
            session,
            org.tenant,
            now,
            actor=person_id,
            role=_roles(org, person_id),
            ref=person_id,
            trigger="sign_out",
            payload={"session": token_hash(token)[:12]},
        )


def end_sessions(
    session: Session,
    tenant: str,
    person_id: str,
    now: datetime,
    *,
    reason: str,
    keep: str | None = None,
) -> int:
    """End every open session of the person (but the one hashed ``keep``); how many ended."""
    query = update(WebSession).where(
        WebSession.tenant == tenant,
        WebSession.person_id == person_id,
        WebSession.ended_at.is_(None),
    )
    if keep is not None:
        query = query.where(WebSession.token_hash != keep)
    result = session.execute(query.values(ended_at=now, end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def open_sessions(session: Session, tenant: str, person_id: str) -> Sequence[WebSession]:
    """The person's sessions not ended (some may be past their timeouts)."""
    return session.scalars(
        select(WebSession)
        .where(
            WebSession.tenant == tenant,
            WebSession.person_id == person_id,
            WebSession.ended_at.is_(None),
        )
        .order_by(WebSession.id)
    ).all()
