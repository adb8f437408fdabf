"""Pure payment calculation: what a practice is entitled to under a scheme.

No I/O here. Rounding happens at one documented point: the practice total is
``rate_per_patient × list size`` rounded to the penny (half up) by ``Money.of``;
components and instalments are that total split by their per-patient rates with
``money.split`` (largest remainder), so they always sum exactly to it. With rates
in whole pence — every real scheme so far — each part is exact and no remainder
arises at all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .money import Money, round_pence, split, total
from .scheme import Scheme
from .services import Payment, Service, ServiceScheme
from .yamlfile import YamlPath


@dataclass(frozen=True)
class Entitlement:
    """A practice's full-year entitlement, by component and by instalment."""

    list_size: int
    total: Money
    by_component: dict[str, Money]
    by_instalment: dict[str, Money]


def entitlement(scheme: Scheme, list_size: int) -> Entitlement:
    if list_size < 0:
        raise ValueError(f"list size {list_size} is negative")
    whole = Money.of(scheme.rate_per_patient * list_size)
    components = split(whole, [c.rate_per_patient for c in scheme.components])
    instalments = split(whole, [scheme.instalment_rate(i) for i in scheme.instalments])
    return Entitlement(
        list_size=list_size,
        total=whole,
        by_component={c.id: m for c, m in zip(scheme.components, components, strict=True)},
        by_instalment={i.id: m for i, m in zip(scheme.instalments, instalments, strict=True)},
    )


def sessions_funded(amount: Money, session_rate: Decimal) -> int:
    """Whole sessions an amount funds, to the nearest session (the seed: £11,600 / £285 = 41)."""
    if session_rate <= 0:
        raise ValueError("a session rate must be positive")
    return int((amount.amount / session_rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class BudgetCheck:
    envelope: Money
    committed: Money

    @property
    def headroom(self) -> Money:
        return self.envelope - self.committed

    @property
    def within(self) -> bool:
        return self.committed <= self.envelope


def budget_check(scheme: Scheme, entitlements: list[Entitlement]) -> BudgetCheck | None:
    envelope = scheme.budget_envelope
    if envelope is None:
        return None
    return BudgetCheck(envelope=envelope, committed=total(e.total for e in entitlements))


def worked_example_problems(scheme: Scheme) -> list[tuple[YamlPath, str]]:
    """Compare the spec's worked example (the source's own figures) with our calculation."""
    ex = scheme.worked_example
    if ex is None:
        return []
    got = entitlement(scheme, ex.list_size)
    problems: list[tuple[YamlPath, str]] = []

    def compare(loc: YamlPath, stated: Decimal, computed: Money) -> None:
        if Money.of(stated) != computed:
            problems.append(
                (loc, f"the worked example states {Money.of(stated)} but {ex.list_size:,} "
                      f"patients give {computed}")
            )  # fmt: skip

    compare(("worked_example", "total"), ex.total, got.total)
    for key, stated in ex.by_component.items():
        if key in got.by_component:
            compare(("worked_example", "by_component", key), stated, got.by_component[key])
    for key, stated in ex.by_instalment.items():
        if key in got.by_instalment:
            compare(("worked_example", "by_instalment", key), stated, got.by_instalment[key])
    rates = {r.role: r.rate for r in scheme.sessional_rates}
    for role, stated_sessions in ex.sessions.items():
        if role in rates:
            funded = sessions_funded(got.total, rates[role])
            if funded != stated_sessions:
                problems.append(
                    (("worked_example", "sessions", role),
                     f"the worked example states {stated_sessions} {role} sessions but "
                     f"{got.total} funds {funded} at £{rates[role]}")
                )  # fmt: skip
    return problems


# --- service schemes (LES / LCS) ------------------------------------------------------------
# Rounding: a per-activity tariff is rounded to the penny (half up) once, where it is set
# (``tariff``); every value after that is a whole-penny tariff × a whole count, so exact.
# An outcome payment is rounded to the penny once, after the proportion is applied.


def tariff(payment: Payment, default_uplift: Decimal) -> Decimal:
    """The unit tariff of a per-activity payment: the new tariff, else prior × (1 + uplift)."""
    if payment.new_tariff is not None:
        return round_pence(payment.new_tariff)
    if payment.prior_tariff is None:
        raise ValueError("a per-activity payment needs new_tariff or prior_tariff")
    uplift = payment.uplift if payment.uplift is not None else default_uplift
    return round_pence(payment.prior_tariff * (1 + uplift))


def activity_value(unit_tariff: Decimal, count: int, cap: int | None = None) -> Money:
    """Tariff × count, the count limited to the practice cap where there is one."""
    if count < 0:
        raise ValueError(f"activity count {count} is negative")
    counted = min(count, cap) if cap is not None else count
    return Money.of(unit_tariff * counted)


def outcome_payment(maximum: Money, achieved: Decimal, lower: Decimal, upper: Decimal) -> Money:
    """QOF style: nothing below ``lower``, all of ``maximum`` at or above ``upper``, in proportion between."""
    if not lower < upper:
        raise ValueError("the upper threshold must be above the lower")
    if achieved <= lower:
        return Money.of(0)
    if achieved >= upper:
        return maximum
    return Money.of(maximum.amount * (achieved - lower) / (upper - lower))


@dataclass(frozen=True)
class ServiceValue:
    """What one practice's sign-up to one service is worth (indicative, on planned figures)."""

    service: str
    contract: str
    planned: int | None  # activity count, eligible patients or achievement basis used
    unit_tariff: Decimal | None
    value: Money


def service_value(
    spec: ServiceScheme,
    service: Service,
    *,
    list_size: int = 0,
    planned: int = 0,
    achievement: Decimal | None = None,
) -> ServiceValue:
    """The value of one service for one practice: planned activity, eligible patients, or the
    outcome maximum at ``achievement`` (full achievement when not given — the indicative value)."""
    pay = service.payment
    unit: Decimal | None = None
    if pay.model == "per_capita":
        value = Money.of((pay.rate_per_patient or Decimal(0)) * list_size)
    elif pay.model == "per_activity":
        unit = tariff(pay, spec.funding.default_uplift)
        value = activity_value(unit, planned, pay.cap_per_practice)
    elif pay.model == "outcome":
        maximum = Money.of(pay.max_payment if pay.max_payment is not None
                           else (pay.max_per_patient or Decimal(0)) * list_size)  # fmt: skip
        reached = achievement if achievement is not None else Decimal(1)
        value = outcome_payment(
            maximum, reached, pay.lower_threshold or Decimal(0), pay.upper_threshold or Decimal(1)
        )
    else:
        amount = pay.amount or Decimal(0)
        value = Money.of(amount if pay.per == "practice" else amount * planned)
    return ServiceValue(service.id, service.contract, planned, unit, value)


@dataclass(frozen=True)
class ServicesBudget:
    envelope: Money | None
    planned: Money  # the indicative values as signed up
    growth: Money  # the growth allowance on per-activity services
    by_service: dict[str, Money]

    @property
    def committed(self) -> Money:
        return self.planned + self.growth

    @property
    def headroom(self) -> Money | None:
        return None if self.envelope is None else self.envelope - self.committed


def services_budget(spec: ServiceScheme, values: list[ServiceValue]) -> ServicesBudget:
    """Sum every practice's indicative values; add the growth allowance on activity services."""
    by_service: dict[str, Money] = {s.id: Money.of(0) for s in spec.offered}
    for v in values:
        by_service[v.service] = by_service.get(v.service, Money.of(0)) + v.value
    activity = total(by_service[s.id] for s in spec.offered if s.payment.model == "per_activity")
    growth = Money.of(activity.amount * spec.funding.growth_allowance)
    return ServicesBudget(
        envelope=Money(spec.budget.envelope) if spec.budget else None,
        planned=total(by_service.values()),
        growth=growth,
        by_service=by_service,
    )


# --- year-end reconciliation (per-capita schemes) ---------------------------------------------
# Rules, from the spec's ``reconciliation`` (seed 001 section 3.3):
# * an instalment is earned when every milestone in its ``evidence`` has a date; evidence dated
#   after the instalment is due earns it all the same (``late_evidence: earn``) and is noted;
# * no sign-up, no payment (``no_sign_up``); a practice that closed or merged earns only the
#   instalments due on or before that date (``closed_or_merged``);
# * an instalment paid but not earned is clawed back (``non_delivery: clawback``) — it shows as a
#   negative balance; one earned but not yet paid is due;
# * a proportional decision (a percentage per component, at the commissioner's discretion)
#   adjusts that component's earned amount: adjustment = −earned × (100% − percentage), rounded
#   half up to the penny once. Earned by component is the earned total split by the component
#   rates (largest remainder), so components always sum to the instalments.
# Balance = earned + adjustments − paid, exactly; positive is due to the practice, negative owed back.


@dataclass(frozen=True)
class Decision:
    percentage: Decimal  # 0–100: the share of the component's earned amount the practice keeps
    reason: str


@dataclass(frozen=True)
class InstalmentLine:
    id: str
    entitled: Money
    earned: Money
    paid: Money
    evidence: tuple[tuple[str, date | None], ...]  # milestone → date relied on (None: missing)
    late: tuple[str, ...]  # milestones evidenced after the instalment was due
    reason: str  # why it is not earned ("" when earned)

    @property
    def balance(self) -> Money:
        return self.earned - self.paid


@dataclass(frozen=True)
class ComponentLine:
    id: str
    entitled: Money
    earned: Money
    adjustment: Money
    reason: str

    @property
    def net(self) -> Money:
        return self.earned + self.adjustment


@dataclass(frozen=True)
class Reconciliation:
    list_size: int
    instalments: tuple[InstalmentLine, ...]
    components: tuple[ComponentLine, ...]

    @property
    def entitled(self) -> Money:
        return total(i.entitled for i in self.instalments)

    @property
    def earned(self) -> Money:
        return total(i.earned for i in self.instalments)

    @property
    def paid(self) -> Money:
        return total(i.paid for i in self.instalments)

    @property
    def adjustment(self) -> Money:
        return total(c.adjustment for c in self.components)

    @property
    def balance(self) -> Money:
        """Due to the practice (positive) or owed back by it (negative)."""
        return self.earned + self.adjustment - self.paid


def reconcile(
    scheme: Scheme,
    list_size: int,
    evidence: dict[str, date],
    paid: dict[str, Money],
    decisions: dict[str, Decision],
    closed_on: date | None = None,
) -> Reconciliation:
    """One practice's year: entitled, earned, paid, adjusted, balance (pure, exact)."""
    ent = entitlement(scheme, list_size)
    milestones = {m.id: m for m in scheme.milestones}
    rules = scheme.reconciliation
    signed_up = "sign_up" not in milestones or "sign_up" in evidence
    lines = []
    for inst in scheme.instalments:
        relied = tuple((ev, evidence.get(ev)) for ev in inst.evidence)
        missing = [ev for ev, when in relied if when is None]
        late = tuple(ev for ev, when in relied if when is not None and when > inst.due)
        reason = ""
        if not signed_up:
            reason = "no sign-up: the practice did not sign the agreement"
        elif closed_on is not None and inst.due > closed_on:
            reason = (
                f"the practice closed or merged on {closed_on.isoformat()}, before this instalment was due"
            )
        elif missing:
            titles = ", ".join(milestones[m].title if m in milestones else m for m in missing)
            reason = f"evidence missing: {titles}"
        elif late and rules.late_evidence == "withhold":
            reason = "evidence received after the due date"
        earned = Money.of(0) if reason else ent.by_instalment[inst.id]
        lines.append(InstalmentLine(inst.id, ent.by_instalment[inst.id], earned,
                                    paid.get(inst.id, Money.of(0)), relied, late, reason))  # fmt: skip
    earned_total = total(line.earned for line in lines)
    earned_parts = split(earned_total, [c.rate_per_patient for c in scheme.components])
    components = []
    for comp, earned in zip(scheme.components, earned_parts, strict=True):
        decision = decisions.get(comp.id)
        adjustment, reason = Money.of(0), ""
        if decision is not None and rules.proportional_payment == "discretionary":
            keep = decision.percentage / 100
            adjustment = -Money.of(earned.amount * (1 - keep))
            reason = f"proportional payment of {decision.percentage.normalize():f}%: {decision.reason}"
        components.append(ComponentLine(comp.id, ent.by_component[comp.id], earned, adjustment, reason))
    return Reconciliation(list_size, tuple(lines), tuple(components))


# --- year-end reconciliation (service schemes) ------------------------------------------------
# Rules, from the spec's ``reconciliation`` (``services.ServiceReconciliation``), per service:
# * nothing is earned without a signed SLA for the service's contract (``no_sign_up``);
# * per activity: tariff × the units claimed over the year, limited to the practice cap;
# * outcome: the QOF-style proportion of the maximum at the achievement reported; none reported,
#   nothing earned (``missing_achievement``);
# * per capita and block: the annual value;
# * closed or merged (``closed_or_merged: pro_rata_quarters``): activity counts for the quarters
#   begun on or before the date; an annual value is paid × quarters begun ÷ 4, rounded half up once;
# * a proportional decision keeps a percentage of the service's earned value, as for components;
# * balance = earned + adjustment − paid; paid but not earned is recovered (``non_delivery``).
# A service the practice was paid for but never signed up to still gets a line, so the money is
# accounted for (entitled and earned £0.00, the payment recovered).

ANNUAL = 0  # the "quarter" of activity reported for the whole year rather than by quarter


@dataclass(frozen=True)
class ServiceLine:
    id: str
    entitled: Money  # the indicative value as signed up: planned activity, full achievement
    earned: Money
    paid: Money
    adjustment: Money
    signed: date | None  # the SLA relied on (None: not signed)
    counts: tuple[tuple[int, int], ...] = ()  # (quarter, units) claimed; quarter ANNUAL for the year
    counted: int | None = None  # the units paid for: within the closure quarters and the cap
    unit_tariff: Decimal | None = None
    achievement: Decimal | None = None  # a fraction 0–1
    quarters: int = 4  # quarters of the year paid for (fewer after a closure)
    planned: int = 0  # as signed up: planned activity, or eligible patients for a block payment
    reason: str = ""  # why less than the full value was earned ("" when nothing to explain)
    adjustment_reason: str = ""

    @property
    def balance(self) -> Money:
        return self.earned - self.paid

    @property
    def net(self) -> Money:
        return self.earned + self.adjustment


@dataclass(frozen=True)
class ServiceReconciliation:
    list_size: int
    lines: tuple[ServiceLine, ...]

    @property
    def entitled(self) -> Money:
        return total(line.entitled for line in self.lines)

    @property
    def earned(self) -> Money:
        return total(line.earned for line in self.lines)

    @property
    def paid(self) -> Money:
        return total(line.paid for line in self.lines)

    @property
    def adjustment(self) -> Money:
        return total(line.adjustment for line in self.lines)

    @property
    def balance(self) -> Money:
        """Due to the practice (positive) or owed back by it (negative)."""
        return self.earned + self.adjustment - self.paid


@dataclass(frozen=True)
class ServiceYear:
    """What is known of one practice's year under a service scheme (the pure function's input)."""

    list_size: int
    signed_up: dict[str, int]  # service → planned figure (activity or eligible patients)
    sla_signed: dict[str, date]  # contract → date the SLA was signed
    activity: dict[str, dict[int, int]]  # service → quarter (1–4, or ANNUAL) → units claimed
    achievement: dict[str, Decimal]  # outcome service → achievement, a fraction 0–1
    paid: dict[str, Money]  # service → paid so far
    decisions: dict[str, Decision]
    closed_on: date | None = None


def quarters_begun(spec: ServiceScheme, closed_on: date | None) -> int:
    """Quarters of the year begun on or before a closure date (all four without one)."""
    if closed_on is None:
        return 4
    return sum(1 for q in (1, 2, 3, 4) if spec.quarter(q)[0] <= closed_on)


def reconcile_services(spec: ServiceScheme, year: ServiceYear) -> ServiceReconciliation:
    """One practice's year under a service scheme, service by service (pure, exact)."""
    rules = spec.reconciliation
    open_quarters = quarters_begun(spec, year.closed_on)
    included = set(year.signed_up) | set(year.paid) | set(year.activity) | set(year.achievement)
    lines = []
    for service in spec.services:
        if service.id not in included:
            continue
        signed_up = service.id in year.signed_up and service.commissioned
        signed = year.sla_signed.get(service.contract)
        planned = year.signed_up.get(service.id, 0)
        entitled = (
            service_value(spec, service, list_size=year.list_size, planned=planned).value
            if signed_up
            else Money.of(0)
        )
        line = _earned_line(spec, service, year, planned, open_quarters)
        if not signed_up:
            refused = "the practice did not sign up to this service"
        else:
            refused = (
                f"no signed {spec.contract(service.contract).title}: no payment" if signed is None else ""
            )
        if refused:
            line = dataclasses.replace(line, earned=Money.of(0), reason=refused)
        adjustment, why = Money.of(0), ""
        decision = year.decisions.get(service.id)
        if decision is not None and rules.proportional_payment == "discretionary":
            adjustment = -Money.of(line.earned.amount * (1 - decision.percentage / 100))
            why = f"proportional payment of {decision.percentage.normalize():f}%: {decision.reason}"
        lines.append(
            dataclasses.replace(
                line,
                entitled=entitled,
                paid=year.paid.get(service.id, Money.of(0)),
                adjustment=adjustment,
                signed=signed,
                adjustment_reason=why,
            )
        )
    return ServiceReconciliation(year.list_size, tuple(lines))


def _earned_line(
    spec: ServiceScheme, service: Service, year: ServiceYear, planned: int, open_quarters: int
) -> ServiceLine:
    """The service's earned value by its payment model, before sign-up and decisions are applied."""
    pay = service.payment
    zero = Money.of(0)
    base = ServiceLine(service.id, zero, zero, zero, zero, None, quarters=open_quarters, planned=planned)
    closed_note = (
        f"the practice closed or merged on {year.closed_on.isoformat()}: {open_quarters} of 4 quarters"
        if year.closed_on is not None and open_quarters < 4
        else ""
    )
    if pay.model == "per_activity":
        counts = tuple(sorted(year.activity.get(service.id, {}).items()))
        within = sum(n for q, n in counts if q == ANNUAL or q <= open_quarters)
        unit = tariff(pay, spec.funding.default_uplift)
        counted = min(within, pay.cap_per_practice) if pay.cap_per_practice is not None else within
        notes = [closed_note] if within < sum(n for _, n in counts) else []
        if counted < within:
            notes.append(f"{within - counted:,} units over the cap of {pay.cap_per_practice:,} are not paid")
        if not counts:
            notes.append("no activity claimed")
        return dataclasses.replace(base, earned=activity_value(unit, counted), counts=counts, counted=counted,
                                   unit_tariff=unit, reason="; ".join(notes))  # fmt: skip
    achievement: Decimal | None = None
    if pay.model == "outcome":
        achievement = year.achievement.get(service.id)
        if achievement is None:
            return dataclasses.replace(base, reason="no achievement reported: no payment")
        value = service_value(spec, service, list_size=year.list_size, achievement=achievement).value
    else:
        value = service_value(spec, service, list_size=year.list_size, planned=planned).value
    earned = value if open_quarters == 4 else Money.of(value.amount * open_quarters / 4)
    return dataclasses.replace(base, earned=earned, achievement=achievement, reason=closed_note)
