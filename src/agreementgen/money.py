"""Money: an exact pence value type over ``Decimal``, rounding and exact splitting.

Rules that every amount in agreementgen follows:

* An amount is a ``Decimal``; a float is refused wherever it could enter, and so is a
  figure no exact calculation can hold (infinite, NaN, 1e999999999): a ``ValueError``
  that the loaders report with their file and line, never an ``InvalidOperation``.
* Money is less than ``MAX_MONEY`` (£10^20) either way, so that sums stay exact.
* Rounding to the penny is ROUND_HALF_UP (0.005 -> 0.01), as finance teams expect,
  and happens once, in :meth:`Money.of` — callers multiply exact Decimals first and
  round the finished figure.
* A total split into parts (components, instalments) uses the largest-remainder
  rule in :func:`split`: every part is floored to the penny, then the pennies left
  over go one each to the parts with the largest remainders (ties to the later
  part, so with equal shares the last instalment carries the rounding). Parts are
  never negative, each is within 1p of its exact share, and they sum exactly to
  the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import total_ordering

PENNY = Decimal("0.01")
MAX_DIGITS = 28  # Decimal's default precision: every figure and sum must fit it exactly
# The largest amount Money holds: far above any scheme's total, far inside MAX_DIGITS, so sums of
# a million such amounts are still exact; above it is an error, not a rounded or overflowing sum.
MAX_MONEY = Decimal(10) ** 20

DecimalLike = Decimal | int | str


def to_decimal(value: object) -> Decimal:
    """An exact Decimal from a Decimal, int or numeric string; floats are refused."""
    if isinstance(value, bool):
        raise TypeError("a money amount cannot be a boolean")
    if isinstance(value, float):
        raise TypeError(f"money must not be a float ({value!r}); write it as a string such as '0.50'")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").removeprefix("£")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"not an amount: {value!r}") from exc
    else:
        raise TypeError(f"not an amount: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {_short(value)}")
    if result and abs(result.adjusted()) > MAX_DIGITS:
        # 1e999999999 is a finite Decimal, but abs(), + and quantize() on it overflow.
        raise ValueError(f"not an amount a calculation can keep exactly: {_short(value)}")
    return result


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def round_pence(value: Decimal) -> Decimal:
    """Round an exact Decimal to the penny, half up."""
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


@total_ordering
class Money:
    """An amount in pounds, always a whole number of pence."""

    __slots__ = ("amount",)
    amount: Decimal

    def __init__(self, amount: DecimalLike) -> None:
        value = _bounded(to_decimal(amount))
        if value != value.quantize(PENNY, rounding=ROUND_DOWN):
            raise ValueError(f"{value} is not a whole number of pence; use Money.of() to round")
        object.__setattr__(self, "amount", value.quantize(PENNY))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Money is immutable")

    @classmethod
    def of(cls, value: DecimalLike) -> Money:
        """Round an exact figure to the penny (half up) — the one place rounding happens."""
        return cls(round_pence(_bounded(to_decimal(value))))

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount + other.amount)

    def __radd__(self, other: object) -> Money:
        if other == 0:  # lets built-in sum() start from 0
            return self
        if not isinstance(other, Money):
            return NotImplemented
        return other + self

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount - other.amount)

    def __neg__(self) -> Money:
        return Money(-self.amount)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Money):
            return self.amount == other.amount
        return NotImplemented

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.amount < other.amount

    def __hash__(self) -> int:
        return hash(self.amount)

    def __repr__(self) -> str:
        return f"Money('{self.amount}')"

    def __str__(self) -> str:
        return format_gbp(self.amount)

    def plain(self) -> str:
        """``1234.50`` — the exact figure for JSON, CSV and databases."""
        return f"{self.amount:.2f}"


def _bounded(value: Decimal) -> Decimal:
    if value.copy_abs() >= MAX_MONEY:
        raise ValueError(f"£{_short(value)} is too large an amount (the limit is £{MAX_MONEY:,})")
    return value


def format_gbp(amount: Decimal) -> str:
    """``£1,234.50``; negatives as ``-£1,234.50``."""
    value = round_pence(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"


def total(amounts: Iterable[Money]) -> Money:
    return sum(amounts, Money.zero())


def split(whole: Money, weights: Sequence[DecimalLike]) -> list[Money]:
    """Split ``whole`` in proportion to ``weights`` into parts that sum exactly to it.

    Largest-remainder rule (see the module docstring). Weights are non-negative
    and not all zero; a zero weight always gets £0.00.
    """
    ws = [to_decimal(w) for w in weights]
    if not ws:
        raise ValueError("cannot split into no parts")
    if any(w < 0 for w in ws):
        raise ValueError("split weights must not be negative")
    weight_sum = sum(ws, Decimal(0))
    if weight_sum == 0:
        raise ValueError("split weights must not all be zero")
    sign = -1 if whole.amount < 0 else 1
    pennies = abs(whole.amount) / PENNY  # an integer-valued Decimal
    exact = [pennies * w / weight_sum for w in ws]
    floors = [e.to_integral_value(rounding=ROUND_DOWN) for e in exact]
    left = int(pennies - sum(floors, Decimal(0)))
    # Largest remainder first; among equal remainders the later part first.
    order = sorted(range(len(ws)), key=lambda i: (exact[i] - floors[i], i), reverse=True)
    for i in order[:left]:
        floors[i] += 1
    return [Money(sign * f * PENNY) for f in floors]
