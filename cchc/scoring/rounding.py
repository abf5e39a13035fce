"""Half-up rounding: the one function every shown number goes through.

``half_up`` rounds exactly, half away from zero (``19.695`` → ``19.70``, ``-0.125`` →
``-0.13``), whatever the caller's decimal context, for ``Decimal``, ``Fraction``, ``int`` and
``float`` (a float goes through its shortest repr, so ``2.675`` → ``2.68``).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from fractions import Fraction

__all__ = ["half_up"]

_EXACT = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation])


def half_up(value: Decimal | Fraction | int | float, places: int = 2) -> Decimal:
    """``value`` rounded half up (away from zero) to ``places`` decimals."""
    if isinstance(value, Fraction):
        sign = -1 if value < 0 else 1
        units = math.floor(abs(value) * 10**places + Fraction(1, 2))
        return Decimal(sign * units).scaleb(-places)
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_EXACT)
