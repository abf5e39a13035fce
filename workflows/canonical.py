"""Canonical JSON and time formats: the exact bytes that hashes are computed over."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, tzinfo
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces; non-ASCII kept as is (Vietnamese stays readable)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    """sha256 of the UTF-8 bytes of ``text``, as hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values, as SQLite returns them, are UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_iso(value: datetime) -> str:
    """A fixed-width ISO 8601 UTC timestamp with microseconds."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_text(value: datetime, zone: tzinfo) -> str:
    """A timestamp as people read it in ``zone``: ``dd/mm/yyyy HH:MM:SS``."""
    return utc(value).astimezone(zone).strftime("%d/%m/%Y %H:%M:%S")


def utcnow() -> datetime:
    """Now, in UTC, truncated to microseconds as both databases store it."""
    return datetime.now(UTC)
