"""Year-end reconciliation on seed 001's figures: earned, paid, clawed back, proportional, balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from agreementgen.money import Money
from agreementgen.payments import Decision, reconcile
from agreementgen.validation import load_checked_scheme
from conftest import QEF

SCHEME = load_checked_scheme(QEF)
ALL_EVIDENCE = {
    "sign_up": date(2017, 5, 15),
    "visit_booked": date(2017, 5, 22),
    "practice_visit": date(2017, 6, 20),
    "action_plan": date(2017, 7, 10),
    "mid_year_report": date(2017, 9, 29),
    "year_end_report": date(2018, 3, 30),
}
PAID_ALL = {"first": Money("5800.00"), "second": Money("2900.00"), "third": Money("2900.00")}


def earned(r):
    return {i.id: i.earned for i in r.instalments}


def test_a_5800_patient_practice_with_all_evidence_earns_11600_pounds():
    r = reconcile(SCHEME, 5800, ALL_EVIDENCE, {}, {})
    assert r.earned == Money("11600.00") and r.balance == Money("11600.00")
    assert earned(r) == {"first": Money("5800.00"), "second": Money("2900.00"), "third": Money("2900.00")}
    assert [c.earned for c in r.components] == [Money("2900.00"), Money("5800.00"), Money("2900.00")]


def test_paid_in_full_with_all_evidence_leaves_nothing_due():
    assert reconcile(SCHEME, 5800, ALL_EVIDENCE, PAID_ALL, {}).balance == Money("0.00")


def test_a_missing_year_end_report_leaves_the_third_instalment_unearned_and_claws_it_back_if_paid():
    evidence = {k: v for k, v in ALL_EVIDENCE.items() if k != "year_end_report"}
    unpaid = reconcile(SCHEME, 5800, evidence, {"first": Money("5800.00"), "second": Money("2900.00")}, {})
    assert earned(unpaid)["third"] == Money("0.00") and unpaid.balance == Money("0.00")
    assert unpaid.instalments[2].reason == "evidence missing: Year-end report"
    paid = reconcile(SCHEME, 5800, evidence, PAID_ALL, {})
    assert paid.earned == Money("8700.00")
    assert paid.balance == Money("-2900.00")  # clawback (non_delivery: clawback)
    assert paid.instalments[2].balance == Money("-2900.00")


def test_a_50_percent_proportional_payment_on_medicines_optimisation():
    decisions = {"medicines_optimisation": Decision(Decimal("50"), "one of two audits completed")}
    r = reconcile(SCHEME, 5800, ALL_EVIDENCE, PAID_ALL, decisions)
    medicines = r.components[2]
    assert (medicines.earned, medicines.adjustment, medicines.net) == (
        Money("2900.00"), Money("-1450.00"), Money("1450.00"),
    )  # fmt: skip
    assert r.balance == Money("-1450.00")  # paid £11,600, earned £10,150 after the adjustment
    assert medicines.reason == "proportional payment of 50%: one of two audits completed"


def test_a_proportional_payment_is_rounded_once_to_the_penny():
    decisions = {"engagement": Decision(Decimal("33.3"), "attended one meeting in three")}
    r = reconcile(SCHEME, 5801, ALL_EVIDENCE, {}, decisions)  # engagement earned £2,900.50
    assert r.components[0].adjustment == Money("-1934.63")  # 2,900.50 × 66.7% = 1,934.6335


def test_a_late_mid_year_report_still_earns_the_second_instalment_and_is_noted():
    evidence = {**ALL_EVIDENCE, "mid_year_report": date(2017, 11, 14)}
    r = reconcile(SCHEME, 5800, evidence, {}, {})
    assert earned(r)["second"] == Money("2900.00")
    assert r.instalments[1].late == ("mid_year_report",)


def test_no_sign_up_no_payment():
    evidence = {k: v for k, v in ALL_EVIDENCE.items() if k != "sign_up"}
    r = reconcile(SCHEME, 5800, evidence, {}, {})
    assert r.earned == Money("0.00")
    assert all(i.reason == "no sign-up: the practice did not sign the agreement" for i in r.instalments)


def test_a_practice_that_closed_mid_year_earns_only_instalments_due_before_it_closed():
    r = reconcile(SCHEME, 5800, ALL_EVIDENCE, PAID_ALL, {}, closed_on=date(2017, 12, 31))
    assert earned(r) == {"first": Money("5800.00"), "second": Money("2900.00"), "third": Money("0.00")}
    assert r.balance == Money("-2900.00")


@given(
    list_size=st.integers(min_value=0, max_value=60_000),
    present=st.sets(st.sampled_from(sorted(ALL_EVIDENCE))),
    paid_pence=st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=3, max_size=3),
    pct=st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=1)),
)
def test_the_balance_is_always_earned_plus_adjustments_minus_paid_to_the_penny(
    list_size, present, paid_pence, pct
):
    evidence = {k: ALL_EVIDENCE[k] for k in present}
    paid = {i: Money(Decimal(p) / 100) for i, p in zip(("first", "second", "third"), paid_pence, strict=True)}
    decisions = {} if pct is None else {"demand_management": Decision(pct, "audit")}
    r = reconcile(SCHEME, list_size, evidence, paid, decisions)
    assert r.balance == r.earned + r.adjustment - r.paid
    assert sum((c.earned.amount for c in r.components), Decimal(0)) == r.earned.amount
    assert (
        sum((i.balance.amount for i in r.instalments), Decimal(0)) + r.adjustment.amount == r.balance.amount
    )
    assert r.earned <= r.entitled and Money.of(0) - r.earned <= r.adjustment <= Money.of(0)
