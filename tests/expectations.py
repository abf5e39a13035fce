"""Reading the ``# expect: CODE at line L, …`` first line of invalid-file fixtures."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from workflows.errors import Problem

EXPECT = re.compile(r"^# expect: (?P<items>.+)$")


def expected(fixture: Path, family: str) -> set[tuple[str, int]]:
    """The (code, line) pairs a fixture declares; ``family`` is the code letter (D, I, O …)."""
    item_re = re.compile(rf"^(?P<code>CCHC-{family}\d{{3}}) at line (?P<line>\d+)$")
    first = fixture.read_bytes().decode("utf-8", errors="replace").splitlines()[0]
    header = EXPECT.match(first)
    assert header, f"{fixture.name}: first line must be '# expect: CCHC-{family}0NN at line L'"
    pairs = set()
    for item in header["items"].split(", "):
        match = item_re.match(item.strip())
        assert match, f"{fixture.name}: cannot read {item!r}"
        pairs.add((match["code"], int(match["line"])))
    return pairs


def found(problems: Iterable[Problem]) -> set[tuple[str, int]]:
    """The (code, line) pairs of the problems reported."""
    return {(p.code, p.line) for p in problems}


def line_of(text: str, needle: str) -> int:
    """The one line of ``text`` that contains ``needle``."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with its single ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)
