"""Vietnamese alphabetical order for names (the order of a Vietnamese dictionary).

Letters follow the Vietnamese alphabet (a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v
x y; other characters after them by code point, a space before every letter, so names compare
word by word); tones decide only between names equal without them, in the order không dấu,
huyền, hỏi, ngã, sắc, nặng. Case is ignored.
"""

from __future__ import annotations

import unicodedata

ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_RANK = {letter: i for i, letter in enumerate(ALPHABET)}
_MODIFIERS = {"\u0306", "\u0302", "\u031b"}
"""Breve, circumflex, horn: they make another letter (a → ă, o → ô, u → ư …)."""
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
"""Huyền, hỏi, ngã, sắc, nặng (không dấu is 0)."""


def vn_sort_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A key sorting ``text`` in Vietnamese alphabetical order: (letters, tones)."""
    letters: list[str] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFD", text.casefold()):
        if char in _MODIFIERS and letters:
            letters[-1] = unicodedata.normalize("NFC", letters[-1] + char)
        elif char in _TONES and tones:
            tones[-1] = _TONES[char]
        elif not unicodedata.combining(char):
            letters.append(char)
            tones.append(0)
    primary = tuple(
        -1 if letter.isspace() else _RANK.get(letter, len(ALPHABET) + ord(letter))
        for letter in letters
    )
    return primary, tuple(tones)
