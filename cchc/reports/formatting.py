"""Numbering for generated documents: Roman numerals of areas and report sections.

Vietnamese numbers and dates are written by ``cchc.vi_text``.
"""

from __future__ import annotations

__all__ = ["roman"]

_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)


def roman(n: int) -> str:
    """``1`` → ``"I"``, ``7`` → ``"VII"``: how areas and report sections are numbered."""
    if n < 1:
        raise ValueError(f"roman numerals start at 1, got {n}")
    out: list[str] = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)
