"""Roman numerals of areas and report sections."""

from __future__ import annotations

import pytest

from cchc.reports.formatting import roman


def test_roman() -> None:
    """Areas and sections are numbered I, II, … and 0 is refused."""
    assert [roman(n) for n in (1, 4, 7, 9, 14, 40)] == ["I", "IV", "VII", "IX", "XIV", "XL"]
    with pytest.raises(ValueError, match="start at 1"):
        roman(0)
