"""Tokens and password hashes, from well-kept libraries: ``secrets``, ``hashlib``, ``hmac`` and
Argon2id through ``argon2-cffi`` (its defaults, RFC 9106's low-memory profile)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def new_token() -> str:
    """A fresh URL-safe token of 32 random bytes."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The sha256 (hex) a token is stored as."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of a fixed label keyed by the session token,
    so it is bound to the session and never stored."""
    return hmac.new(session_token.encode("utf-8"), b"cchc-csrf", hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # Argon2id


def hash_password(password: str) -> str:
    """The Argon2id hash (PHC string) of ``password``."""
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with no hash stored, a dummy one is checked so
    that the answer takes as long as for a real account."""
    try:
        return _hasher().verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than the current ones."""
    return _hasher().check_needs_rehash(stored)


@cache
def _dummy() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))
