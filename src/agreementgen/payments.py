"""Pure payment calculation: what a practice is entitled to under a scheme.

No I/O here. Rounding happens at one documented point: the practice total is
``rate_per_patient × list size`` rounded to the penny (half up) by ``Money.of``;
components and instalments are that total split by their per-patient rates with
``money.split`` (largest remainder), so they always sum exactly to it. With rates
in whole pence — every real scheme so far — each part is exact and no remainder
arises at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .money import Money, split, total
from .scheme import Scheme
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
