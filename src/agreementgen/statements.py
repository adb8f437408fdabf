"""Year-end statements: a reconciled statement per practice, its text, and finance's schedule.

Owns turning :class:`agreementgen.yearend.YearEndInputs` into one reconciliation per practice
(:func:`agreementgen.payments.reconcile` for a per-capita scheme,
:func:`agreementgen.payments.reconcile_services` for a service scheme), the finished text a
statement shows (one context for both kinds of scheme, so one Word template and one PDF
renderer serve both), and the payment schedule: one line per practice (amount to pay, or to
recover) built from the same statements, checked against the sum of their balances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .errors import AgreementgenError
from .money import Money, total
from .payments import (
    Reconciliation,
    ServiceReconciliation,
    ServiceYear,
    reconcile,
    reconcile_services,
)
from .practices import Practice
from .scheme import Scheme
from .services import ServiceScheme
from .signups import SignUps
from .yearend import YearEndInputs


@dataclass(frozen=True)
class Statement:
    practice: Practice
    reconciliation: Reconciliation | ServiceReconciliation
    closed: tuple[str, date] | None


def statements(
    scheme: Scheme | ServiceScheme,
    practices: list[Practice],
    inputs: YearEndInputs,
    signups: SignUps | None = None,
) -> list[Statement]:
    """A reconciled statement for every practice with a list size (under a service scheme, for
    every such practice with a service to account for: signed up, paid, or with activity)."""
    out = []
    for p in practices:
        if p.list_size is None:
            continue
        closed = inputs.closed.get(p.code)
        closed_on = closed[1] if closed else None
        r: Reconciliation | ServiceReconciliation
        if isinstance(scheme, Scheme):
            r = reconcile(
                scheme,
                p.list_size,
                dict(inputs.evidence.get(p.code, {})),
                dict(inputs.paid.get(p.code, {})),
                dict(inputs.decisions.get(p.code, {})),
                closed_on=closed_on,
            )
        else:
            evidence = inputs.evidence.get(p.code, {})
            contracts = [c.id for c in scheme.funding.contracts]
            year = ServiceYear(
                list_size=p.list_size,
                signed_up=signups.for_practice(p.code) if signups else {},
                sla_signed={c: evidence[f"sla_{c}"] for c in contracts if f"sla_{c}" in evidence},
                activity={s: dict(q) for s, q in inputs.activity.get(p.code, {}).items()},
                achievement=dict(inputs.achievement.get(p.code, {})),
                paid=dict(inputs.paid.get(p.code, {})),
                decisions=dict(inputs.decisions.get(p.code, {})),
                closed_on=closed_on,
            )
            r = reconcile_services(scheme, year)
            if not r.lines:
                continue
        out.append(Statement(p, r, closed))
    return out


SCHEDULE_HEADER = (
    "practice_code",
    "practice_name",
    "entitled",
    "earned",
    "adjustment",
    "paid",
    "to_pay",
    "to_recover",
)


def schedule_rows(items: list[Statement]) -> tuple[list[list[object]], Money]:
    """Finance's schedule: a line per practice and a TOTAL line; checked against the statements."""
    rows: list[list[object]] = []
    for s in items:
        r = s.reconciliation
        due = r.balance.amount
        amounts = (r.entitled, r.earned, r.adjustment, r.paid)
        rows.append(
            [s.practice.code, s.practice.name, *(m.amount for m in amounts), max(due, 0), max(-due, 0)]
        )
    net = total(s.reconciliation.balance for s in items)
    to_pay = sum((Decimal(str(row[6])) for row in rows), Decimal(0))
    to_recover = sum((Decimal(str(row[7])) for row in rows), Decimal(0))
    if to_pay - to_recover != net.amount:  # the schedule must equal the statements, to the penny
        raise AgreementgenError(
            f"the schedule ({to_pay - to_recover}) differs from the statements ({net.amount})"
        )
    totals = [
        total(getattr(s.reconciliation, k) for s in items).amount
        for k in ("entitled", "earned", "adjustment", "paid")
    ]
    rows.append(["TOTAL", f"{len(items)} practices", *totals, to_pay, to_recover])
    return rows, net
