"""Index-set codes for people: natural order and a did-you-mean hint that knows the hierarchy.

``7.1`` is scored through ``7.1.1``, ``7.1.2`` …, so a reader who names the criterion is pointed
at its first sub-criterion, not at ``7.3.1`` that merely spells alike.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from difflib import SequenceMatcher

SHOWN = 8
"""How many codes a hint lists at most."""


def natural_key(code: str) -> tuple[tuple[int, str], ...]:
    """Sort key: ``1.2.10`` after ``1.2.9``; letter codes (``T.1``) after numeric ones."""
    return tuple(
        (int(part), "") if part.isdigit() else (1_000, part) for part in re.split(r"\.", code)
    )


def item_label(code: str) -> str:
    """What an official calls a scored item: «Tiêu chí thành phần 1.2.3», «Tiêu chí 1.2» (scored
    directly), «Điểm thưởng, điểm trừ T.1» (outside the areas)."""
    parts = code.split(".")
    if not parts[0].isdigit():
        return f"Điểm thưởng, điểm trừ {code}"
    return f"Tiêu chí {code}" if len(parts) == 2 else f"Tiêu chí thành phần {code}"


def _shared_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _distance(a: str, b: str) -> int:
    """How far apart the first differing numbers are (``7.1.4`` → ``7.1.3``: 1)."""
    for (x, _), (y, _) in zip(natural_key(a), natural_key(b), strict=False):
        if x != y:
            return abs(x - y)
    return 0


def closest_code(code: str, known: Collection[str], cutoff: float = 0.6) -> str | None:
    """The known code under ``code`` (the first in order) when ``code`` names an area or a
    criterion; else the most alike, ties going to the longest shared beginning, then to the
    nearest number (``7.1.4`` → ``7.1.3``), then to code order."""
    under = sorted((k for k in known if k.startswith(f"{code}.")), key=natural_key)
    if under:
        return under[0]
    best: tuple[float, int, int] | None = None
    found: str | None = None
    for candidate in sorted(known, key=natural_key):
        ratio = SequenceMatcher(None, code, candidate).ratio()
        if ratio < cutoff:
            continue
        score = (ratio, _shared_prefix(code, candidate), -_distance(code, candidate))
        if best is None or score > best:
            best, found = score, candidate
    return found


def code_hint(code: str, known: Collection[str]) -> str:
    """``did you mean '7.1.1'? (7.1 is scored through 7.1.1, 7.1.2, 7.1.3)`` or a listing."""
    under = sorted((k for k in known if k.startswith(f"{code}.")), key=natural_key)
    if under:
        listed = ", ".join(under[:SHOWN]) + (" …" if len(under) > SHOWN else "")
        return f"did you mean {under[0]!r}? ({code} is scored through {listed})"
    close = closest_code(code, known)
    if close is not None:
        return f"did you mean {close!r}?"
    ordered = sorted(known, key=natural_key)
    return "known: " + (
        ", ".join(ordered[:SHOWN]) + (" …" if len(ordered) > SHOWN else "") if ordered else "none"
    )
