"""How the admin writes money, amounts and runways: one formatter for charts, tables
and account pages, so the same value reads the same everywhere.

Money is always a plain decimal, never scientific notation: cents from a cent up,
and below a cent as many decimals as its first significant digits need.
"""

import math
from collections.abc import Sequence
from decimal import Decimal

# Significant digits kept for an amount below a cent.
_SMALL_DIGITS = 3
# Fewest and most decimals a tick label is written with.
_TICK_MIN_DECIMALS = 2
_TICK_MAX_DECIMALS = 12
# Days left beyond which the exact count says nothing more.
_YEAR_DAYS = 365


def _plain(amount: float, decimals: int) -> str:
    return f"{amount:,.{decimals}f}"


def usd(value: Decimal | float | None) -> str:
    """Dollars to the cent; below a cent, three significant digits in plain
    decimals ($0.00008, $0.0000048, $0.0000123); "—" for no value."""
    if value is None:
        return "—"
    amount = float(value)
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    if amount == 0 or amount >= 0.01:
        return f"{sign}${_plain(amount, 2)}"
    decimals = _SMALL_DIGITS - 1 - math.floor(math.log10(amount))
    text = _plain(amount, decimals).rstrip("0").rstrip(".")
    return f"{sign}${text}"


def usd_ticks(ticks: Sequence[float]) -> list[str]:
    """Labels for money ticks: one number of decimals for the whole axis, the fewest
    (at least cents) that write every tick exactly, so no two labels read alike."""
    decimals = _TICK_MIN_DECIMALS
    while decimals < _TICK_MAX_DECIMALS and any(
        not math.isclose(round(tick, decimals), tick, rel_tol=1e-9, abs_tol=1e-15)
        for tick in ticks
    ):
        decimals += 1
    labels = []
    for tick in ticks:
        sign = "-" if tick < 0 else ""
        labels.append(f"{sign}${_plain(abs(tick), decimals)}")
    return labels


def plain_decimal(value: Decimal) -> str:
    """A Decimal without exponent and without trailing zeros: 1E-10 reads
    0.0000000001, 5.0000000000 reads 5."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def days_left(value: float | None, window_days: int = 7) -> str:
    """How long credits last at the current burn, in words at the ends."""
    if value is None:
        return f"no spend in {window_days} days"
    if value > _YEAR_DAYS:
        return "over a year"
    return f"{value:,.1f} days"


def usd_fixed(value: Decimal | float, decimals: int = 6) -> str:
    """Dollars with a fixed number of decimals, the sign before the dollar, for
    tables whose amounts line up ("-$0.000128", "$1,234.500000")."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{decimals}f}"
