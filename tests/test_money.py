from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreementgen.money import Money, format_gbp, split, to_decimal, total


def test_formats_pounds_with_thousands_and_pence():
    assert str(Money("11600")) == "£11,600.00"
    assert str(Money("1234.5")) == "£1,234.50"
    assert str(Money("-12")) == "-£12.00"
    assert format_gbp(Decimal("0.005")) == "£0.01"


def test_rounds_half_up_to_the_penny_only_through_of():
    assert Money.of(Decimal("0.005")) == Money("0.01")
    assert Money.of(Decimal("0.0049")) == Money("0.00")
    assert Money.of(Decimal("2.675")) == Money("2.68")  # a float would give 2.67
    with pytest.raises(ValueError, match="whole number of pence"):
        Money(Decimal("0.005"))


def test_a_float_never_becomes_money():
    with pytest.raises(TypeError, match="float"):
        Money(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        to_decimal(2.0)


def test_accepts_pound_signs_and_commas_in_text():
    assert Money("£1,234.50").amount == Decimal("1234.50")


def test_money_adds_and_sums_exactly():
    assert Money("0.10") + Money("0.20") == Money("0.30")
    assert total([Money("0.10")] * 10) == Money("1.00")
    assert sum([Money("1.00"), Money("2.00")]) == Money("3.00")


def test_split_with_whole_pence_shares_is_exact():
    assert split(Money("11600.00"), ["0.50", "1.00", "0.50"]) == [
        Money("2900.00"),
        Money("5800.00"),
        Money("2900.00"),
    ]


def test_split_gives_leftover_pennies_to_the_largest_remainders_ties_to_the_last():
    assert split(Money("0.10"), [1, 1, 1]) == [Money("0.03"), Money("0.03"), Money("0.04")]
    assert split(Money("1.00"), [1, 1, 1]) == [Money("0.33"), Money("0.33"), Money("0.34")]
    assert split(Money("0.05"), [1, 1, 0]) == [Money("0.02"), Money("0.03"), Money("0.00")]


def test_split_refuses_nonsense_weights():
    with pytest.raises(ValueError):
        split(Money("1"), [])
    with pytest.raises(ValueError):
        split(Money("1"), [0, 0])
    with pytest.raises(ValueError):
        split(Money("1"), [1, -1])


pence = st.integers(min_value=-(10**9), max_value=10**9).map(lambda p: Money(Decimal(p) / 100))
weights = st.lists(
    st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=8,
).filter(lambda ws: sum(ws) > 0)


@given(pence, weights)
def test_split_parts_always_sum_exactly_and_stay_within_a_penny(whole, ws):
    parts = split(whole, ws)
    assert total(parts) == whole
    weight_sum = sum(ws)
    for part, w in zip(parts, ws, strict=True):
        exact = whole.amount * w / weight_sum
        assert abs(part.amount - exact) < Decimal("0.01")
        assert part.amount == part.amount.quantize(Decimal("0.01"))
        if whole.amount >= 0:
            assert part.amount >= 0
        if w == 0:
            assert part == Money.zero()
