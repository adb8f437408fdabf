"""The spec of a service-based scheme (LES / LCS / outcomes contract): model, loading, checks.

A per-capita scheme (the QEF, :mod:`agreementgen.scheme`) pays every practice the same rate
per patient. A service scheme is a menu of services, each belonging to a contract, each
paid by its own model (``payment.model``):

* ``per_capita`` — a rate per registered patient;
* ``per_activity`` — tariff × count. The tariff is ``new_tariff`` where the commissioner
  set one, else ``prior_tariff × (1 + uplift)`` (``uplift`` defaults to the scheme's
  ``default_uplift``), rounded half up to the penny *before* it is multiplied by the
  count; an optional ``cap_per_practice`` limits the counted units;
* ``outcome`` — at most ``max_payment`` (or ``max_per_patient`` × list size), paid in
  proportion to achievement between ``lower_threshold`` and ``upper_threshold`` (QOF
  style), nothing below the lower;
* ``block`` — a single amount per practice, or per eligible patient in a cohort.

``commissioned: false`` keeps a service on record (it is in the source document) but out
of this commissioner's offer — Camden's IUCD/IUS, commissioned by public health from
2019/20. A contract with ``universal_offer: true`` signs every practice up to all its
services. ``growth_allowance`` (C&P: 2.6%) is added to planned activity in the budget
check. ``claims: {approval: two-level}`` makes every quarterly claim need an officer's
verification and another person's approval before the year end pays it (the default, ``none``,
counts every accepted claim). Figures the source documents do not give are marked ``illustrative``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from .practices import MAX_COUNT
from .scheme import (
    Amount,
    Budget,
    Fraction,
    Ident,
    Milestone,
    Rate,
    SchemeIdentity,
    Signatory,
    TermsSection,
    Text,
    _Strict,
    _unique_ids,
    load_spec,
)
from .yamlfile import YamlPath

Share = Annotated[Fraction, Field(ge=0, le=1)]
Uplift = Annotated[Fraction, Field(ge=-1, le=1)]


class Contract(_Strict):
    id: Ident
    title: Text
    with_party: Text  # who the practice contracts with for it, e.g. "Camden CCG"
    universal_offer: bool = False
    description: Text | None = None


class Kpi(_Strict):
    id: Ident
    title: Text
    measure: Text
    minimum: Text | None = None  # a minimum output measure, as the source states it


class Payment(_Strict):
    model: Literal["per_capita", "per_activity", "outcome", "block"]
    unit: Text | None = None  # per_activity: what one count is ("review", "INR test")
    rate_per_patient: Rate | None = None
    prior_tariff: Rate | None = None
    uplift: Uplift | None = None
    new_tariff: Rate | None = None
    cap_per_practice: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    max_payment: Rate | None = None
    max_per_patient: Rate | None = None
    lower_threshold: Share | None = None
    upper_threshold: Share | None = None
    amount: Rate | None = None
    per: Literal["practice", "eligible_patient"] | None = None
    claim: Literal["quarterly", "annual", "none"] = "quarterly"


class Service(_Strict):
    id: Ident
    title: Text
    contract: Ident
    description: Text
    payment: Payment
    kpis: list[Kpi] = Field(default_factory=list)
    commissioned: bool = True
    note: Text | None = None


class ServiceReconciliation(_Strict):
    """A service scheme's year-end rules, stated in its spec (the seeds give none for a LES, so the
    commissioner's own rules are written down here and printed on the statement)."""

    # No signed SLA for its contract (an accepted return, or ``sla_<contract>`` evidence): nothing earned.
    no_sign_up: Literal["no_payment"] = "no_payment"
    # An outcome service with no achievement reported earns nothing.
    missing_achievement: Literal["no_payment"] = "no_payment"
    # Closed or merged: activity counts for the quarters begun on or before that date; an annual
    # value (per capita, block, outcome) is paid for those quarters, quarters begun ÷ 4.
    closed_or_merged: Literal["pro_rata_quarters"] = "pro_rata_quarters"
    # Paid but not earned is recovered (a negative balance).
    non_delivery: Literal["clawback"] = "clawback"
    # A decision keeps a percentage of a service's earned value, at the commissioner's discretion.
    proportional_payment: Literal["discretionary", "none"] = "discretionary"
    text: list[Text] = Field(default_factory=list)


class ClaimRules(_Strict):
    """How a service scheme's quarterly claims are approved before the year end pays them."""

    # none: every accepted claim counts (the meaning of a spec that says nothing). two-level: an
    # officer verifies a claim, then another person, an approver, approves it; only approved claims
    # count at the year end, and the statements run lists those left out.
    approval: Literal["none", "two-level"] = "none"

    @property
    def two_level(self) -> bool:
        return self.approval == "two-level"


class ServicesFunding(_Strict):
    model: Literal["services"]
    default_uplift: Uplift = Decimal(0)
    growth_allowance: Share = Decimal(0)
    prior_year: Annotated[str, Field(pattern=r"^[0-9]{4}/[0-9]{2}$")] | None = None
    contracts: list[Contract] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)


class ServiceScheme(SchemeIdentity):
    sign_up_deadline: date | None = None
    introduction: list[Text] = Field(default_factory=list)
    funding: ServicesFunding
    milestones: list[Milestone] = Field(default_factory=list)
    signatories: list[Signatory] = Field(min_length=1)
    terms: list[TermsSection] = Field(default_factory=list)
    budget: Budget | None = None
    reconciliation: ServiceReconciliation = Field(default_factory=ServiceReconciliation)
    claims: ClaimRules = Field(default_factory=ClaimRules)

    @property
    def list_size_date(self) -> date:
        """List sizes are taken as at the start of the financial year (1 April)."""
        return self.year_start

    @property
    def services(self) -> list[Service]:
        return self.funding.services

    @property
    def offered(self) -> list[Service]:
        """The services this commissioner commissions (``commissioned: true``)."""
        return [s for s in self.funding.services if s.commissioned]

    def contract(self, contract_id: str) -> Contract:
        return next(c for c in self.funding.contracts if c.id == contract_id)

    def quarter(self, number: int) -> tuple[date, date]:
        """First and last day of quarter 1–4 of the financial year (quarter 1 begins 1 April)."""
        if number not in (1, 2, 3, 4):
            raise ValueError(f"quarter {number} is not 1 to 4")
        months = 3 * (number - 1)
        start = date(self.year_start.year + (3 + months) // 12, (3 + months) % 12 + 1, 1)
        months += 3
        following = date(self.year_start.year + (3 + months) // 12, (3 + months) % 12 + 1, 1)
        return start, following - timedelta(days=1)


_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    # model → alternatives, each a set of keys that must all be given
    "per_capita": (("rate_per_patient",),),
    "per_activity": (("unit", "new_tariff"), ("unit", "prior_tariff")),
    "outcome": (
        ("max_payment", "lower_threshold", "upper_threshold"),
        ("max_per_patient", "lower_threshold", "upper_threshold"),
    ),
    "block": (("amount", "per"),),
}
_ONLY: dict[str, set[str]] = {
    "per_capita": {"rate_per_patient"},
    "per_activity": {"unit", "prior_tariff", "uplift", "new_tariff", "cap_per_practice"},
    "outcome": {"max_payment", "max_per_patient", "lower_threshold", "upper_threshold"},
    "block": {"amount", "per"},
}
_MODEL_KEYS = set().union(*_ONLY.values())


def cross_check(spec: ServiceScheme) -> list[tuple[YamlPath, str]]:
    """Rules between fields: each payment has what its model needs and nothing another model's."""
    problems: list[tuple[YamlPath, str]] = []
    fy = spec.financial_year
    if int(fy[5:]) != (int(fy[:4]) + 1) % 100:
        problems.append((("financial_year",), f"'{fy}' is not a financial year like 2017/18"))
    problems += _unique_ids(spec.funding.contracts, ("funding", "contracts"))
    problems += _unique_ids(spec.funding.services, ("funding", "services"))
    contracts = {c.id for c in spec.funding.contracts}
    for i, service in enumerate(spec.funding.services):
        where: YamlPath = ("funding", "services", i)
        if service.contract not in contracts:
            problems.append(((*where, "contract"), f"'{service.contract}' is not a contract id; "
                             f"known: {', '.join(sorted(contracts))}"))  # fmt: skip
        pay = service.payment
        given = {k for k in _MODEL_KEYS if getattr(pay, k) is not None}
        if not any(set(need) <= given for need in _NEEDS[pay.model]):
            wanted = " or ".join(" + ".join(n) for n in _NEEDS[pay.model])
            problems.append(((*where, "payment"), f"a {pay.model} payment needs {wanted}"))
        stray = sorted(given - _ONLY[pay.model])
        if stray:
            problems.append(
                ((*where, "payment"), f"{', '.join(stray)} do(es) not apply to a {pay.model} payment")
            )
        if pay.model == "per_activity" and pay.new_tariff is not None and pay.uplift is not None:
            problems.append(
                ((*where, "payment", "uplift"), "an uplift applies to the prior tariff, not a new one")
            )
        if pay.model == "outcome" and pay.max_payment is not None and pay.max_per_patient is not None:
            problems.append(((*where, "payment"), "give max_payment or max_per_patient, not both"))
        low, high = pay.lower_threshold, pay.upper_threshold
        if low is not None and high is not None and low >= high:
            problems.append(((*where, "payment", "upper_threshold"),
                             f"upper threshold {high} must be above the lower {low}"))  # fmt: skip
        problems += _unique_ids(service.kpis, (*where, "kpis"))
    return problems


def load_service_scheme(path: str | Path) -> ServiceScheme:
    """Load and validate a service-scheme spec; ``ProblemsFound`` lists every problem with its line."""
    return load_spec(path, ServiceScheme, cross_check)


__all__ = [
    "Amount",
    "ClaimRules",
    "Contract",
    "Kpi",
    "Payment",
    "Service",
    "ServiceReconciliation",
    "ServiceScheme",
    "ServicesFunding",
    "cross_check",
    "load_service_scheme",
]
