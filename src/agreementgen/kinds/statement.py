"""The year-end statement of a practice: its context (one for both kinds of scheme).

A statement (kind ``statement``, template ``templates/statement.docx``) is not issued or
returned: ``agreementgen statements`` writes one per practice from the records and the
year-end inputs. Its context is finished text, two tables whatever the scheme — by
instalment or by service (``lines``), and by component or service (``adjustments``) —
the balance, the rules applied, how to dispute it and an audit line.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ..context import (
    Context,
    commissioner_context,
    display_name,
    document_id,
    example_practice,
    scheme_identity,
)
from ..payments import ANNUAL, Reconciliation, ServiceLine, ServiceReconciliation
from ..practices import Practice
from ..scheme import Scheme
from ..services import Payment, ServiceScheme
from ..signups import SignUp, SignUps
from ..statements import Statement, statements
from ..yearend import YearEndInputs
from .sla import annual_basis, percent

KIND = "statement"
TITLE = "Year-end statement"

# What a statement template can use (dotted paths; ``[]`` marks a list of items).
VARIABLES: dict[str, str] = {
    "document.kind / .title / .id / .terms_digest / .reference / .revision": (
        "the document's kind (statement), title, id and footer reference (no terms; revision 1)"
    ),
    "scheme.id / .title / .short_title / .version / .financial_year": "scheme identity",
    "scheme.year_start / .year_end": "the first and last days of the financial year",
    "scheme.illustrative[].label / .reason / .item": "what is illustrative (empty when nothing is)",
    "scheme.sources[]": "the titles of the scheme's source documents",
    "subtitle": "the scheme's title, with the financial year if the title lacks it",
    "commissioner.name / .short_name / .code / .return_email / .return_address": "the commissioner",
    "practice.code / .name / .list_size_text": "the practice",
    "practice.display_name": "its name as a person writes it (ODS names are in capitals)",
    "labels.lines / .line_column / .adjustments / .adjustment_column / .plan_column": (
        "the tables' headings: 'Instalments' or 'Services' …; "
        "'Entitled' (instalments) or 'Planned' (services)"
    ),
    "lines[].title / .detail / .entitled / .earned / .paid / .balance / .reason / .note": (
        "by instalment (with the evidence relied on) or by service (with its basis); .entitled is the "
        "plan for a service; .note says where activity above plan was paid"
    ),
    "adjustments[].title / .entitled / .earned / .adjustment / .net / .reason": (
        "by component or service, with any proportional payment"
    ),
    "totals.entitled / .earned / .paid / .adjustment / .balance / .line_balance": "the totals",
    "outcome / closed": "the balance in words; the closure or merger, if any",
    "rules[] / disputes[] / audit": (
        "the rules applied, how to dispute it, and the scheme version and input files with their sha256"
    ),
}


def example(scheme: Scheme | ServiceScheme, practice: Practice | None = None) -> Context:
    """The statement of ``practice`` (or an example practice) had it done everything: every milestone
    met, or signed up to every service with its SLA signed, 25 units a quarter and 70% achievement;
    nothing paid yet."""
    practice = practice or example_practice(scheme)
    inputs = YearEndInputs()
    signups: SignUps | None = None
    evidence = inputs.evidence[practice.code]
    if isinstance(scheme, Scheme):
        for milestone in scheme.milestones:
            evidence[milestone.id] = milestone.due
    else:
        signups = SignUps([SignUp(practice.code, s.id, 100) for s in scheme.offered], [])
        for contract in scheme.funding.contracts:
            evidence[f"sla_{contract.id}"] = scheme.year_start
        for service in scheme.offered:
            if service.payment.model == "per_activity":
                inputs.activity[practice.code][service.id] = {1: 25, 2: 25, 3: 25, 4: 25}
            elif service.payment.model == "outcome":
                inputs.achievement[practice.code][service.id] = Decimal("0.7")
    found = statements(scheme, [practice], inputs, signups)
    return statement_context(scheme, found[0], [("year-end inputs", "none (an example)")])


def statement_context(
    scheme: Scheme | ServiceScheme, statement: Statement, sources: list[tuple[str, str]]
) -> Context:
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
            "id": document_id(scheme, practice.code, KIND),
            "title": TITLE,
            "kind": KIND,
            "reference": f"{scheme.id} v{scheme.version} · {practice.code} · statement",
            "terms_digest": "",
            "revision": 1,
        },
        "scheme": scheme_identity(scheme, "statement"),
        # the year once: most titles carry it already ("… 2017/18")
        "subtitle": scheme.title
        if scheme.financial_year in scheme.title
        else f"{scheme.title} — financial year {scheme.financial_year}",
        "commissioner": commissioner_context(scheme),
        "practice": {
            "code": practice.code,
            "name": practice.name,
            "display_name": display_name(practice.name),
            "list_size_text": f"{r.list_size:,}",
        },
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
            "plan_column": "Entitled",
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
                "note": "",
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
            "plan_column": "Planned",
        },
        "lines": [
            {
                "title": services[line.id].title,
                "detail": _basis(services[line.id].payment, line, r.list_size),
                "note": _above_plan(services[line.id].payment, line),
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


def _above_plan(pay: Payment, line: ServiceLine) -> str:
    """Activity paid above the plan, said in so many words: earned above planned is not an error."""
    if pay.model != "per_activity" or line.counted is None or line.counted <= line.planned:
        return ""
    if line.earned.amount <= line.entitled.amount:
        return ""
    unit = pay.unit or "unit"
    return (
        f"Activity above plan: {_units(line.counted - line.planned, unit)} over the "
        f"{line.planned:,} planned, paid at the tariff."
    )


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
            "Activity is paid at the tariff for the units claimed in the year, including any above the plan, "
            "up to any cap per practice."
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
