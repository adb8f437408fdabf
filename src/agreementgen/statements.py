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

from .context import commissioner_context, document_id, scheme_identity
from .errors import AgreementgenError
from .money import Money, total
from .payments import (
    ANNUAL,
    Reconciliation,
    ServiceLine,
    ServiceReconciliation,
    ServiceYear,
    reconcile,
    reconcile_services,
)
from .practices import Practice
from .scheme import Scheme
from .services import Payment, ServiceScheme
from .signups import SignUps
from .sla import annual_basis, percent
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


def statement_context(
    scheme: Scheme | ServiceScheme, statement: Statement, sources: list[tuple[str, str]]
) -> dict[str, object]:
    """What a statement shows, as finished text (the renderer never computes).

    Two tables whatever the scheme: ``lines`` (per instalment, or per service: entitled, earned,
    paid, balance, with the basis and any reason) and ``adjustments`` (per component, or per
    service: entitled, earned, adjustment, net); ``labels`` names them.
    """
    r, practice = statement.reconciliation, statement.practice
    balance = r.balance
    if balance.amount > 0:
        outcome = f"{balance} is due to the practice"
    elif balance.amount < 0:
        outcome = f"{-balance} is to be repaid by the practice (clawback)"
    else:
        outcome = "nothing is due either way"
    disputes = [
        p for t in scheme.terms if "dispute" in t.id or "dispute" in t.title.lower() for p in t.paragraphs
    ]
    closed = statement.closed
    if isinstance(r, Reconciliation) and isinstance(scheme, Scheme):
        tables = _instalment_tables(scheme, r)
    elif isinstance(r, ServiceReconciliation) and isinstance(scheme, ServiceScheme):
        tables = _service_tables(scheme, r)
    else:
        raise TypeError("the reconciliation is not of this kind of scheme")
    return {
        "document": {
            "id": document_id(scheme, practice.code, "statement"),
            "title": "Year-end statement",
            "kind": "statement",
            "reference": f"{scheme.id} v{scheme.version} · {practice.code} · statement",
            "terms_digest": "",
        },
        "scheme": scheme_identity(scheme),
        # the year once: most titles carry it already ("… 2017/18")
        "subtitle": scheme.title
        if scheme.financial_year in scheme.title
        else f"{scheme.title} — financial year {scheme.financial_year}",
        "commissioner": commissioner_context(scheme),
        "practice": {"code": practice.code, "name": practice.name, "list_size_text": f"{r.list_size:,}"},
        **tables,
        "totals": {
            "entitled": str(r.entitled),
            "earned": str(r.earned),
            "paid": str(r.paid),
            "adjustment": str(r.adjustment),
            "balance": str(balance),
            "line_balance": str(r.earned - r.paid),
        },
        "outcome": outcome,
        "closed": f"The practice {closed[0]} on {closed[1].strftime('%d/%m/%Y')}." if closed else "",
        "rules": list(scheme.reconciliation.text)
        + (service_rules(scheme) if isinstance(scheme, ServiceScheme) else []),
        "disputes": disputes,
        "audit": f"{scheme.id} version {scheme.version}; "
        + "; ".join(f"{what}: {src}" for what, src in sources),
    }


def _instalment_tables(scheme: Scheme, r: Reconciliation) -> dict[str, object]:
    milestones = {m.id: m.title for m in scheme.milestones}
    titles = {i.id: i.title for i in scheme.instalments}
    components = {c.id: c.title for c in scheme.components}
    return {
        "labels": {
            "lines": "Instalments",
            "line_column": "Instalment and evidence",
            "adjustments": "Components and adjustments",
            "adjustment_column": "Component",
        },
        "lines": [
            {
                "title": titles[i.id],
                "detail": "; ".join(
                    f"{milestones.get(m, m)} {_day(when) if when else 'missing'}"
                    + (" (late)" if m in i.late else "")
                    for m, when in i.evidence
                ),
                "entitled": str(i.entitled),
                "earned": str(i.earned),
                "paid": str(i.paid),
                "balance": str(i.balance),
                "reason": f"Not earned: {i.reason}" if i.reason else "",
            }
            for i in r.instalments
        ],
        "adjustments": [
            {
                "title": components[c.id],
                "entitled": str(c.entitled),
                "earned": str(c.earned),
                "adjustment": str(c.adjustment),
                "net": str(c.net),
                "reason": c.reason,
            }
            for c in r.components
        ],
    }


def _service_tables(spec: ServiceScheme, r: ServiceReconciliation) -> dict[str, object]:
    services = {s.id: s for s in spec.services}
    return {
        "labels": {
            "lines": "Services",
            "line_column": "Service and basis",
            "adjustments": "Services and adjustments",
            "adjustment_column": "Service",
        },
        "lines": [
            {
                "title": services[line.id].title,
                "detail": _basis(services[line.id].payment, line, r.list_size),
                "entitled": str(line.entitled),
                "earned": str(line.earned),
                "paid": str(line.paid),
                "balance": str(line.balance),
                "reason": line.reason[:1].upper() + line.reason[1:],
            }
            for line in r.lines
        ],
        "adjustments": [
            {
                "title": services[line.id].title,
                "entitled": str(line.entitled),
                "earned": str(line.earned),
                "adjustment": str(line.adjustment),
                "net": str(line.net),
                "reason": line.adjustment_reason,
            }
            for line in r.lines
        ],
    }


def _basis(pay: Payment, line: ServiceLine, list_size: int) -> str:
    """How a service's earned value was worked out, in words a practice manager can check."""
    sla = f"SLA signed {_day(line.signed)}" if line.signed else "SLA not signed"
    if pay.model == "per_activity":
        claimed = sum(n for _, n in line.counts)
        by_quarter = ", ".join(("year" if q == ANNUAL else f"Q{q}") + f" {n:,}" for q, n in line.counts)
        unit = pay.unit or "unit"
        text = f"{_units(claimed, unit) if claimed else 'no ' + unit + 's'} claimed"
        text += f" ({by_quarter})" if by_quarter else ""
        if line.counted is not None and line.counted != claimed:
            text += f", {line.counted:,} paid"
        price = f"£{line.unit_tariff:,.2f} per {unit}"
        text += f" × {price}" if claimed else f" ({price})"
    elif pay.model == "outcome":
        low, high = pay.lower_threshold or Decimal(0), pay.upper_threshold or Decimal(1)
        reached = "not reported" if line.achievement is None else percent(line.achievement)
        maximum = (
            f"£{pay.max_payment:,.2f}"
            if pay.max_payment is not None
            else f"£{pay.max_per_patient:,.2f} per patient × {list_size:,}"
        )
        between = f"between {percent(low)} and {percent(high)}"
        text = f"achievement {reached}; paid in proportion {between} of {maximum}"
    else:
        text = annual_basis(pay, list_size, line.planned)
    if line.quarters < 4 and pay.model != "per_activity":
        text += f"; {line.quarters} of 4 quarters"
    return f"{text}; {sla}"


def service_rules(spec: ServiceScheme) -> list[str]:
    """The year-end rules in force, in plain words, for the statement (generated from the spec's
    ``reconciliation`` and its payment models, so they always say what was calculated)."""
    rules = spec.reconciliation
    models = {s.payment.model for s in spec.offered}
    text = ["Nothing is paid for a service without a signed Service Level Agreement for its contract."]
    if "per_activity" in models:
        text.append(
            "Activity is paid at the tariff for the units claimed in the year, up to any cap per practice."
        )
    if "outcome" in models:
        text.append(
            "An outcome service is paid in proportion to the achievement reported between its thresholds; "
            "with no achievement reported, nothing is paid."
        )
    text.append(
        "If a practice closes or merges, activity is paid for the quarters begun on or before that date, "
        "and an annual payment for those quarters (quarters begun ÷ 4)."
    )
    if rules.proportional_payment == "discretionary":
        text.append("The commissioner may pay a proportion of a service's value; the reason is stated above.")
    text.append("Anything paid but not earned is to be repaid.")
    return text


def _units(count: int, unit: str) -> str:
    return f"{count:,} {unit}{'' if count == 1 else 's'}"


def _day(when: date) -> str:
    return when.strftime("%d/%m/%Y")
