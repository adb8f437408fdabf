"""Entitlements for a per-capita scheme — the QEF 2017/18 figures from seed 001 are the golden values."""

from decimal import ROUND_DOWN, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from agreementgen.money import Money
from agreementgen.payments import budget_check, entitlement, sessions_funded, worked_example_problems
from agreementgen.scheme import Scheme
from agreementgen.validation import load_checked_scheme
from conftest import QEF

SCHEME = load_checked_scheme(QEF)


def test_a_5800_patient_practice_gets_11600_pounds():
    e = entitlement(SCHEME, 5800)
    assert e.total == Money("11600.00")
    assert str(e.total) == "£11,600.00"


def test_by_component_2900_5800_2900():
    e = entitlement(SCHEME, 5800)
    assert e.by_component == {
        "engagement": Money("2900.00"),
        "demand_management": Money("5800.00"),
        "medicines_optimisation": Money("2900.00"),
    }


def test_by_instalment_5800_2900_2900():
    e = entitlement(SCHEME, 5800)
    assert e.by_instalment == {
        "first": Money("5800.00"),
        "second": Money("2900.00"),
        "third": Money("2900.00"),
    }


def test_11600_pounds_funds_41_gp_sessions_at_285():
    assert sessions_funded(Money("11600.00"), Decimal("285")) == 41
    assert sessions_funded(Money("11600.00"), Decimal("87.50")) == 133


def test_the_shipped_worked_example_agrees_with_the_calculation():
    assert worked_example_problems(SCHEME) == []


def test_an_odd_list_size_gives_half_pennies_exactly():
    e = entitlement(SCHEME, 12731)
    assert e.total == Money("25462.00")
    assert e.by_component["engagement"] == Money("6365.50")


def test_a_wrong_worked_example_is_caught():
    changed = SCHEME.model_copy(
        update={"worked_example": SCHEME.worked_example.model_copy(update={"total": Decimal("11500.00")})}
    )
    problems = worked_example_problems(changed)
    assert problems == [
        (
            ("worked_example", "total"),
            "the worked example states £11,500.00 but 5,800 patients give £11,600.00",
        )
    ]


def _scheme_with_rates(component_rates: list[Decimal], instalment_rates: list[Decimal]) -> Scheme:
    data = SCHEME.model_dump()
    rate = sum(component_rates, Decimal(0))
    data["funding"]["rate_per_patient"] = rate
    data["funding"]["components"] = [
        {**data["funding"]["components"][0], "id": f"c{i}", "rate_per_patient": r}
        for i, r in enumerate(component_rates)
    ]
    scale = rate / sum(instalment_rates, Decimal(0)) if sum(instalment_rates) else Decimal(0)
    # Rates are given to 4 places (scheme.RATE_PLACES): the others rounded down, the last takes the rest.
    inst = [(r * scale).quantize(Decimal("0.0001"), rounding=ROUND_DOWN) for r in instalment_rates]
    inst[-1] = rate - sum(inst[:-1], Decimal(0))
    data["funding"]["instalments"] = [
        {**data["funding"]["instalments"][0], "id": f"i{i}", "rate_per_patient": r}
        for i, r in enumerate(inst)
    ]
    data["worked_example"] = None
    return Scheme.model_validate(data)


rates = st.lists(st.decimals(min_value="0.001", max_value="20", places=3), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=150_000), rates, rates)
def test_parts_always_sum_exactly_to_the_practice_total(list_size, component_rates, instalment_rates):
    scheme = _scheme_with_rates(component_rates, instalment_rates)
    e = entitlement(scheme, list_size)
    assert e.total == Money.of(scheme.rate_per_patient * list_size)
    assert sum(e.by_component.values(), Money.zero()) == e.total
    assert sum(e.by_instalment.values(), Money.zero()) == e.total
    assert all(m.amount >= 0 for m in [*e.by_component.values(), *e.by_instalment.values()])


def test_budget_check_reports_headroom():
    scheme = Scheme.model_validate({**SCHEME.model_dump(), "budget": {"envelope": Decimal("20000.00")}})
    check = budget_check(scheme, [entitlement(scheme, 5800), entitlement(scheme, 4200)])
    assert check is not None
    assert check.committed == Money("20000.00")
    assert check.headroom == Money("0.00")
    assert check.within
    over = budget_check(scheme, [entitlement(scheme, 5800), entitlement(scheme, 4201)])
    assert over is not None and not over.within and over.headroom == Money("-2.00")
    assert budget_check(SCHEME, []) is None
