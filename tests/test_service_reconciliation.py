"""Year-end reconciliation of a service scheme (payments.reconcile_services), service by service.

Figures use the C&P LES (illustrative tariffs: ring pessary £25.50 + 1% = £25.76, wound care
£22.00 capped at 1,500 episodes) and Camden's LCS (outcome, block and per-activity services).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreementgen.errors import ProblemsFound
from agreementgen.money import Money
from agreementgen.payments import ANNUAL, Decision, ServiceYear, quarters_begun, reconcile_services
from agreementgen.services import load_service_scheme
from conftest import SCHEMES, line_of

LES = load_service_scheme(SCHEMES / "cpccg-les-2017-18.yaml")
CAMDEN = load_service_scheme(SCHEMES / "camden-lcs-2019-20.yaml")
SIGNED = {c.id: date(2017, 5, 20) for c in LES.funding.contracts}  # an SLA for each service
CLAIMED = {
    "ring_pessary": {1: 10, 2: 12, 3: 9, 4: 11},  # 42 procedures
    "wound_care": {1: 400, 2: 420, 3: 380, 4: 410},  # 1,610 episodes, over the 1,500 cap
}
PAID_Q1_TO_Q3 = {"ring_pessary": Money("798.56"), "wound_care": Money("26840.00")}  # 31 × £25.76, 1,220 × £22


def year(**changes) -> ServiceYear:
    base = {
        "list_size": 5800,
        "signed_up": {"ring_pessary": 40, "wound_care": 1800},
        "sla_signed": SIGNED,
        "activity": CLAIMED,
        "achievement": {},
        "paid": PAID_Q1_TO_Q3,
        "decisions": {},
    }
    return ServiceYear(**{**base, **changes})


def lines(r):
    return {line.id: line for line in r.lines}


def test_claimed_activity_is_paid_at_the_uplifted_tariff_and_the_cap_limits_wound_care():
    r = reconcile_services(LES, year())
    ring, wound = lines(r)["ring_pessary"], lines(r)["wound_care"]
    assert (ring.counted, ring.unit_tariff, ring.earned) == (42, Decimal("25.76"), Money("1081.92"))
    assert (wound.counted, wound.earned) == (1500, Money("33000.00"))
    assert wound.reason == "110 units over the cap of 1,500 are not paid"
    assert r.entitled == Money("34030.40")  # planned: 40 × £25.76 + 1,500 (capped from 1,800) × £22
    assert r.earned == Money("34081.92")
    assert r.balance == Money("6443.36")  # earned £34,081.92 − paid £27,638.56


def test_no_signed_sla_means_no_payment_and_anything_paid_is_recovered():
    r = reconcile_services(LES, year(sla_signed={}))
    assert r.earned == Money("0.00")
    assert r.balance == Money("-27638.56")
    assert {line.reason for line in r.lines} == {
        "no signed Post-operative wound care Service Level Agreement 2017/18: no payment",
        "no signed Ring pessary fitting and change Service Level Agreement 2017/18: no payment",
    }


def test_a_payment_for_a_service_the_practice_never_signed_up_to_is_recovered():
    r = reconcile_services(LES, year(paid={**PAID_Q1_TO_Q3, "phlebotomy": Money("350.00")}))
    phlebotomy = lines(r)["phlebotomy"]
    assert (phlebotomy.entitled, phlebotomy.earned, phlebotomy.balance) == (
        Money("0.00"), Money("0.00"), Money("-350.00"),
    )  # fmt: skip
    assert phlebotomy.reason == "the practice did not sign up to this service"
    assert r.balance == Money("6093.36")


def test_a_proportional_decision_keeps_half_of_wound_care():
    decisions = {"wound_care": Decision(Decimal("50"), "audit of dressings not returned")}
    wound = lines(reconcile_services(LES, year(decisions=decisions)))["wound_care"]
    assert (wound.earned, wound.adjustment, wound.net) == (
        Money("33000.00"), Money("-16500.00"), Money("16500.00"),
    )  # fmt: skip
    assert wound.adjustment_reason == "proportional payment of 50%: audit of dressings not returned"


def test_a_practice_that_closed_in_october_is_paid_activity_for_three_quarters_only():
    r = reconcile_services(LES, year(closed_on=date(2017, 10, 15)))
    ring = lines(r)["ring_pessary"]
    assert (ring.counted, ring.earned) == (31, Money("798.56"))  # Q1–Q3: 10 + 12 + 9
    assert ring.reason == "the practice closed or merged on 2017-10-15: 3 of 4 quarters"
    assert lines(r)["wound_care"].counted == 1200


def test_quarters_begun_count_a_quarter_from_its_first_day():
    assert quarters_begun(LES, None) == 4
    assert quarters_begun(LES, date(2017, 6, 30)) == 1
    assert quarters_begun(LES, date(2017, 7, 1)) == 2
    assert quarters_begun(LES, date(2018, 3, 31)) == 4


def test_activity_reported_for_the_whole_year_counts_with_the_quarters():
    activity = {"ring_pessary": {ANNUAL: 30, 4: 2}}
    ring = lines(reconcile_services(LES, year(activity=activity, paid={})))["ring_pessary"]
    assert (ring.counted, ring.earned) == (32, Money("824.32"))


def camden_year(**changes) -> ServiceYear:
    universal = {s.id: 0 for s in CAMDEN.offered if s.contract == "universal_offer"}
    base = {
        "list_size": 5800,
        "signed_up": {**universal, "enhanced_care_planning": 30},
        "sla_signed": {"universal_offer": date(2019, 4, 30)},
        "activity": {"asthma_cyp": {1: 5, 2: 6, 3: 4, 4: 5}},
        "achievement": {"neighbourhood_outcomes": Decimal("0.70"), "seasonal_influenza": Decimal("0.50")},
        "paid": {},
        "decisions": {},
    }
    return ServiceYear(**{**base, **changes})


def test_outcome_payments_follow_achievement_between_the_thresholds():
    r = lines(reconcile_services(CAMDEN, camden_year()))
    # £2.00 × 5,800 = £11,600 maximum; 70% is three quarters of the way from 40% to 80%
    assert r["neighbourhood_outcomes"].earned == Money("8700.00")
    assert r["neighbourhood_outcomes"].entitled == Money("11600.00")
    assert r["seasonal_influenza"].earned == Money("0.00")  # 50% is below the 55% threshold
    assert r["end_of_life_care"].earned == Money("0.00")
    assert r["end_of_life_care"].reason == "no achievement reported: no payment"


def test_a_block_payment_per_eligible_patient_and_activity_under_the_universal_offer():
    r = lines(reconcile_services(CAMDEN, camden_year()))
    assert r["enhanced_care_planning"].earned == Money("1350.00")  # 30 × £45.00
    assert r["asthma_cyp"].earned == Money("800.00")  # 20 reviews × £40.00
    assert r["abpm"].reason == "no activity claimed"
    assert "warfarin" not in " ".join(r)  # a separate contract the practice did not sign up to


def test_a_closure_pays_annual_values_for_the_quarters_begun():
    r = lines(reconcile_services(CAMDEN, camden_year(closed_on=date(2019, 9, 30))))
    assert r["neighbourhood_outcomes"].earned == Money("4350.00")  # 2 of 4 quarters of £8,700
    assert r["enhanced_care_planning"].earned == Money("675.00")
    assert r["neighbourhood_outcomes"].quarters == 2


def test_a_service_not_commissioned_is_never_earned():
    r = reconcile_services(CAMDEN, camden_year(activity={"iucd_ius": {1: 3}}))
    iucd = lines(r)["iucd_ius"]
    assert (iucd.earned, iucd.reason) == (Money("0.00"), "the practice did not sign up to this service")


@given(
    counts=st.dictionaries(
        st.sampled_from(["ring_pessary", "wound_care", "phlebotomy"]),
        st.dictionaries(st.integers(min_value=0, max_value=4), st.integers(min_value=0, max_value=900)),
    ),
    paid_pence=st.dictionaries(
        st.sampled_from(["ring_pessary", "wound_care", "phlebotomy"]), st.integers(0, 5_000_000)
    ),
    pct=st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=1)),
    signed=st.booleans(),
    closed=st.one_of(st.none(), st.dates(date(2017, 4, 1), date(2018, 3, 31))),
)
def test_a_service_balance_is_always_earned_plus_adjustments_minus_paid(
    counts, paid_pence, pct, signed, closed
):
    paid = {s: Money(Decimal(p) / 100) for s, p in paid_pence.items()}
    decisions = {} if pct is None else {"wound_care": Decision(pct, "audit")}
    r = reconcile_services(
        LES,
        year(activity=counts, paid=paid, decisions=decisions, sla_signed=SIGNED if signed else {},
             closed_on=closed),
    )  # fmt: skip
    assert r.balance == r.earned + r.adjustment - r.paid
    assert r.paid == Money.of(sum((m.amount for m in paid.values()), Decimal(0)))
    for line in r.lines:
        assert Money.of(0) - line.earned <= line.adjustment <= Money.of(0)
        if line.earned.amount:  # activity is paid at the tariff for the units counted, never over the cap
            assert line.earned == Money.of(line.unit_tariff * line.counted)
            assert line.id != "wound_care" or line.counted <= 1500
    if not signed:
        assert r.earned == Money.of(0)


def test_with_proportional_payment_none_a_decision_changes_nothing():
    spec = LES.model_copy(
        update={"reconciliation": LES.reconciliation.model_copy(update={"proportional_payment": "none"})}
    )
    decisions = {"wound_care": Decision(Decimal("50"), "audit of dressings not returned")}
    wound = lines(reconcile_services(spec, year(decisions=decisions)))["wound_care"]
    assert (wound.adjustment, wound.adjustment_reason) == (Money("0.00"), "")


def test_a_rule_the_spec_cannot_calculate_is_refused_with_its_line(tmp_path):
    text = (SCHEMES / "cpccg-les-2017-18.yaml").read_text(encoding="utf-8")
    path = tmp_path / "les.yaml"
    path.write_text(text.replace("closed_or_merged: pro_rata_quarters", "closed_or_merged: pay_in_full"))
    with pytest.raises(ProblemsFound) as caught:
        load_service_scheme(path)
    where = f"{path}:{line_of(path, 'pay_in_full')}, at 'reconciliation.closed_or_merged'"
    assert f"{where}: Input should be 'pro_rata_quarters'" in str(caught.value)
