"""The limits of accounts and sessions, read from the environment (defaults in parentheses).

- ``CCHC_SESSION_IDLE_MINUTES`` (30): a session unused this long ends;
- ``CCHC_SESSION_MAX_HOURS`` (12): a session ends this long after sign-in, used or not;
- ``CCHC_SIGNIN_MAX_FAILURES`` (5): failed sign-ins in a row that lock an account …
- ``CCHC_SIGNIN_LOCK_MINUTES`` (15): … for this long;
- ``CCHC_SIGNIN_MAX_FAILURES_PER_ADDRESS`` (20): failed sign-ins from one address (any
  account) within the lock time after which that address is refused for the lock time;
- ``CCHC_INVITE_HOURS`` (72): an invite or reset link expires this long after it was made;
- ``CCHC_PASSWORD_MIN_LENGTH`` (10);
- ``CCHC_BASE_URL`` (``http://127.0.0.1:8000``): the web application's address, for links.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {text!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {value}")
    return value


@dataclass(frozen=True)
class Policy:
    """Timeouts and limits of accounts and sessions."""

    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=12)
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    max_failures_per_address: int = 20
    invite_valid: timedelta = timedelta(hours=72)
    password_min_length: int = 10
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Policy:
        """The policy the environment asks for (``ValueError`` naming a wrong setting)."""
        env = os.environ if env is None else env
        return cls(
            session_idle=timedelta(minutes=_positive(env, "CCHC_SESSION_IDLE_MINUTES", 30)),
            session_max=timedelta(hours=_positive(env, "CCHC_SESSION_MAX_HOURS", 12)),
            max_failures=_positive(env, "CCHC_SIGNIN_MAX_FAILURES", 5),
            lock_for=timedelta(minutes=_positive(env, "CCHC_SIGNIN_LOCK_MINUTES", 15)),
            max_failures_per_address=_positive(env, "CCHC_SIGNIN_MAX_FAILURES_PER_ADDRESS", 20),
            invite_valid=timedelta(hours=_positive(env, "CCHC_INVITE_HOURS", 72)),
            password_min_length=_positive(env, "CCHC_PASSWORD_MIN_LENGTH", 10),
            base_url=(env.get("CCHC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
        )
