"""Service schemes (LES / LCS / outcomes): the three specs, tariffs, outcome payments, budgets."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreementgen.entitlements import service_table
from agreementgen.errors import ProblemsFound
from agreementgen.money import Money
from agreementgen.payments import activity_value, outcome_payment, service_value, tariff
from agreementgen.provenance import illustrative_under
from agreementgen.services import Payment, load_service_scheme
from agreementgen.validation import load_service_inputs
from conftest import DATA, SCHEMES

LES = load_service_scheme(SCHEMES / "cpccg-les-2017-18.yaml")
CAMDEN = load_service_scheme(SCHEMES / "camden-lcs-2019-20.yaml")
SW = load_service_scheme(SCHEMES / "sw-outcomes-2015-16.yaml")


def service(spec, sid):
    return next(s for s in spec.services if s.id == sid)


def test_the_three_schemes_load_with_their_services_and_contracts():
    assert [len(s.services) for s in (LES, CAMDEN, SW)] == [5, 15, 9]
    assert (LES.funding.default_uplift, LES.funding.growth_allowance) == (Decimal("0.01"), Decimal("0.026"))
    assert {c.id: c.universal_offer for c in CAMDEN.funding.contracts} == {
        "universal_offer": True, "anticoagulation_warfarin": False, "public_health": False,
    }  # fmt: skip
    assert service(CAMDEN, "anticoagulation_warfarin").contract == "anticoagulation_warfarin"
    assert not service(CAMDEN, "iucd_ius").commissioned and len(CAMDEN.offered) == 14
    assert CAMDEN.budget is not None and CAMDEN.budget.envelope == Decimal("2305000.00")
    assert all(s.payment.model == "outcome" and s.kpis for s in SW.services[:8])
    for spec in (LES, CAMDEN, SW):  # the sources price none of them
        assert all(illustrative_under(spec, f"funding.services.{s.id}") for s in spec.services)


# --- tariffs: prior × (1 + uplift), rounded half up to the penny, before counting -------------


@pytest.mark.parametrize(
    ("prior", "expected"),
    [("95.00", "95.95"), ("88.40", "89.28"), ("25.50", "25.76"), ("0.50", "0.51"), ("10.05", "10.15")],
)
def test_a_prior_tariff_gets_the_default_1_percent_uplift_rounded_half_up(prior, expected):
    assert tariff(
        Payment(model="per_activity", unit="x", prior_tariff=Decimal(prior)), Decimal("0.01")
    ) == Decimal(expected)


def test_a_new_tariff_replaces_the_uplift():
    assert tariff(service(LES, "phlebotomy").payment, LES.funding.default_uplift) == Decimal("3.50")


def test_the_uplift_is_rounded_before_it_is_multiplied_by_the_count():
    # 25.50 × 1.01 = 25.755 → £25.76 a procedure; × 1,000 = £25,760.00 (not 25,755.00)
    value = service_value(LES, service(LES, "ring_pessary"), planned=1000)
    assert (value.unit_tariff, value.value) == (Decimal("25.76"), Money("25760.00"))


def test_activity_over_the_practice_cap_is_not_paid():
    assert service_value(LES, service(LES, "wound_care"), planned=2000).value == Money(
        "33000.00"
    )  # 1,500 × £22
    assert activity_value(Decimal("22.00"), 1499, 1500) == Money("32978.00")
    with pytest.raises(ValueError, match="negative"):
        activity_value(Decimal("1"), -1)


# --- outcome targets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("achieved", "paid"),
    [("0.30", "0.00"), ("0.40", "0.00"), ("0.55", "375.00"), ("0.60", "500.00"), ("0.80", "1000.00"),
     ("0.95", "1000.00"), ("0.4001", "0.25")],
)  # fmt: skip
def test_an_outcome_pays_in_proportion_between_the_thresholds(achieved, paid):
    assert outcome_payment(Money("1000.00"), Decimal(achieved), Decimal("0.40"), Decimal("0.80")) == Money(
        paid
    )


def test_an_outcome_payment_is_rounded_once_to_the_penny():
    # £100 × (0.5 − 0.4) / (0.7 − 0.4) = £33.333… → £33.33
    assert outcome_payment(Money("100.00"), Decimal("0.5"), Decimal("0.4"), Decimal("0.7")) == Money("33.33")


@given(
    st.integers(min_value=0, max_value=10_000_000),
    st.decimals(min_value=0, max_value=1, places=4),
)
def test_an_outcome_payment_never_exceeds_its_maximum_and_grows_with_achievement(pence, achieved):
    maximum = Money(Decimal(pence) / 100)
    low, high = Decimal("0.25"), Decimal("0.75")
    paid = outcome_payment(maximum, achieved, low, high)
    assert Money.of(0) <= paid <= maximum
    assert paid <= outcome_payment(maximum, min(achieved + Decimal("0.01"), Decimal(1)), low, high)


def test_a_per_patient_outcome_maximum_follows_the_list_size():
    value = service_value(SW, service(SW, "best_care_ltc"), list_size=5800, achievement=Decimal("0.75"))
    assert value.value == Money("5800.00")  # £2.00 × 5,800 × (0.75 − 0.60) / (0.90 − 0.60)


# --- sign-ups and the budget check --------------------------------------------------------------


def camden_inputs(*signups: Path):
    practices = [DATA / "camden_practices_illustrative.csv"]
    chosen = list(signups) or [DATA / "camden_signups_illustrative.csv"]
    return load_service_inputs(SCHEMES / "camden-lcs-2019-20.yaml", practices, chosen)


def test_the_camden_plan_is_checked_against_the_2305000_pound_envelope():
    inputs = camden_inputs()
    assert inputs.problems == []
    table = service_table(inputs.scheme, inputs.data.practices, inputs.signups)
    values = {r.practice.code: {k: v.value for k, v in r.values.items()} for r in table.rows}
    # the universal offer signs both practices up to its 13 services; warfarin is its own contract
    assert len(values["F83001"]) == 13 + 1 and len(values["F83002"]) == 13
    assert values["F83001"]["neighbourhood_outcomes"] == Money(
        "20000.00"
    )  # £2.00 × 10,000 at full achievement
    assert values["F83002"]["enhanced_care_planning"] == Money("13500.00")  # 300 eligible × £45
    assert values["F83001"]["abpm"] == values["F83002"]["abpm"] == Money("5500.00")  # ALL, 100 × £55
    budget = table.budget
    assert budget.planned == Money("92350.00") and budget.growth == Money("0.00")
    assert budget.envelope == Money("2305000.00") and budget.headroom == Money("2212650.00")


def test_the_les_budget_adds_the_2_6_percent_growth_allowance_to_activity(tmp_path):
    practices = tmp_path / "p.csv"
    practices.write_text("code,name,postcode,list_size\nD81001,Lensfield,CB2 1EH,12731\n", encoding="utf-8")
    signups = tmp_path / "s.csv"
    signups.write_text("practice_code,service,planned\nD81001,anticoagulation,100\nD81001,wound_care,2000\n",
                       encoding="utf-8")  # fmt: skip
    inputs = load_service_inputs(SCHEMES / "cpccg-les-2017-18.yaml", [practices], [signups])
    budget = service_table(inputs.scheme, inputs.data.practices, inputs.signups).budget
    assert budget.planned == Money("42595.00")  # 100 × £95.95 + 1,500 (capped) × £22.00
    assert budget.growth == Money("1107.47")  # 2.6% of 42,595.00
    assert budget.committed == Money("43702.47")


def test_every_bad_signup_row_is_reported_with_its_row_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "practice_code,service,planned\n"
        "F8300,abpm,1\n"            # row 2: not an ODS code
        "F83009,abpm,1\n"           # row 3: not in the practice data
        "F83001,massage,1\n"        # row 4: unknown service
        "F83001,iucd_ius,5\n"       # row 5: public health's, not the CCG's
        "F83001,abpm,-3\n"          # row 6: negative
        "F83001,asthma_cyp,10\n"
        "F83001,asthma_cyp,12\n",   # row 8: twice
        encoding="utf-8",
    )  # fmt: skip
    problems = [str(p) for p in camden_inputs(bad).problems]
    assert len(problems) == 6
    assert f"{bad}, row 2, column 'practice_code': 'F8300' is not a GP practice ODS code (or ALL)" in problems
    assert f"{bad}, row 3, column 'practice_code': practice F83009 is not in the practice data" in problems
    assert any(p.startswith(f"{bad}, row 4, column 'service': 'massage' is not a service") for p in problems)
    assert f"{bad}, row 5, column 'service': 'iucd_ius' is not commissioned under camden-lcs-2019-20 " \
           "(commissioned: false)" in problems  # fmt: skip
    assert any(p.startswith(f"{bad}, row 6, column 'planned'") for p in problems)
    assert any(
        p.startswith(f"{bad}, row 8, column 'service': F83001 is signed up to asthma_cyp twice")
        for p in problems
    )


def test_a_spec_with_payment_mistakes_names_each_with_its_line(tmp_path):
    text = (SCHEMES / "camden-lcs-2019-20.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "payment: {model: per_activity, unit: review, new_tariff: 40.00}",
        "payment: {model: per_activity, unit: review, new_tariff: 40.00, uplift: 0.01}",
    )
    text = text.replace(
        "payment: {model: block, per: eligible_patient, amount: 60.00}",
        "payment: {model: block, per: eligible_patient}",
    )
    text = text.replace(
        "contract: anticoagulation_warfarin\n      description: Expand",
        "contract: warfarin\n      description: Expand",
    )
    text = text.replace(
        "lower_threshold: 0.55, upper_threshold: 0.75", "lower_threshold: 0.75, upper_threshold: 0.55"
    )
    path = tmp_path / "camden.yaml"
    path.write_text(text, encoding="utf-8")
    shutil.copytree(SCHEMES / "sources", tmp_path / "sources")  # what its provenance quotes
    with pytest.raises(ProblemsFound) as caught:
        load_service_scheme(path)
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 4, messages
    assert any("an uplift applies to the prior tariff, not a new one" in m for m in messages)
    assert any("a block payment needs amount + per" in m for m in messages)
    assert any("'warfarin' is not a contract id" in m for m in messages)
    assert any("upper threshold 0.55 must be above the lower 0.75" in m for m in messages)
    assert all(m.startswith(f"{path}:") for m in messages)  # each with its line
