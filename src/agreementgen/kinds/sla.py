"""Service level agreements of a service scheme: which a practice gets, and what each template sees.

A practice gets one SLA per contract it has signed up to at least one service of (a
universal offer signs up every practice). Its document kind is ``sla_<contract id>`` and
its id ``scheme:vVERSION:PRACTICE:sla_<contract>`` — the same identity, issued terms,
digest and form fields as the Section 7 agreement, so returns are checked the same way.
The context is finished text: the renderers never compute.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..context import (
    DOC_ID_FIELD,
    Context,
    commissioner_context,
    document_context,
    document_id,
    example_practice,
    form_fields,
    long_date,
    practice_identity,
    rate_text,
    scheme_identity,
    signatory_context,
)
from ..money import Money, total
from ..payments import ServiceValue, service_value
from ..practices import Practice
from ..provenance import illustrative_under
from ..services import Payment, Service, ServiceScheme
from ..signups import SignUp, SignUps

TITLE = "Service level agreement"

# What an SLA template can use (dotted paths; ``[]`` marks a list of items).
VARIABLES: dict[str, str] = {
    "document.kind / .title / .id / .terms_digest / .reference / .revision": (
        "the document's kind (sla_<contract>), title, id, terms digest, footer reference and revision"
    ),
    "scheme.id / .title / .short_title / .version / .financial_year / .year_start / .year_end": (
        "scheme identity"
    ),
    "scheme.illustrative[].label / .reason / .item": "what is illustrative (empty when nothing is)",
    "scheme.sources[]": "the titles of the scheme's source documents",
    "scheme.sign_up_deadline / .default_uplift / .growth_allowance / .prior_year": (
        "the deadline ('' if none), the uplift and growth allowance ('1%'), the prior tariff year"
    ),
    "scheme.introduction[]": "paragraphs of introduction",
    "scheme.terms[].id / .title / .paragraphs[]": "the scheme's terms (variations, disputes, termination)",
    "commissioner.name / .short_name / .code / .return_email / .return_address": "the commissioner",
    "practice.code / .name / .address / .address_lines[] / .postcode / .email": "the practice",
    "practice.display_name": "its name as a person writes it (ODS names are in capitals)",
    "practice.list_size / .list_size_text / .list_size_date": "its list size, 5800 / '5,800', and its date",
    "practice.list_size_stand_in / .paid_on_list_size": (
        "true when the list size is of another date than the year's start; true when any service's "
        "value is worked out on it"
    ),
    "contract.id / .title / .with_party / .universal_offer / .description": "the contract this SLA is for",
    "services[].id / .title / .description / .model / .model_text / .unit / .claim / .note / .illustrative": (
        "each service signed up to"
    ),
    "services[].prior_tariff / .uplift / .tariff / .tariff_note / .new_tariff / .planned / .cap / .basis": (
        "how its value is worked out (finished text; '' where it does not apply): tariff per unit, "
        "where the tariff comes from ('2016/17 tariff £25.50 + 1% uplift'), planned units"
    ),
    "services[].priced": "true when the agreement prices it (a plan, a fixed or an outcome value)",
    "services[].value / .value_plain / .term_tag": (
        "its indicative value ('£4,284.00' / '4284.00') and the issued term that carries it"
    ),
    "services[].maximum / .lower_threshold / .upper_threshold": "an outcome service's maximum and thresholds",
    "services[].kpis[].id / .title / .measure / .minimum": "an outcome service's KPIs",
    "services[].has_minimums": "whether any of its KPIs has a minimum output",
    "activity_services[] / outcome_services[]": (
        "the services paid per unit of activity, and the outcome services (the same fields as services[])"
    ),
    "priced_services[] / claimed_services[]": (
        "services other than outcome targets: priced by the agreement, or paid only on activity claimed"
    ),
    "total / total_plain": "the indicative total of the SLA",
    "signatories[].party / .heading / .prints_practice": "signature blocks",
    "signatories[].fields[].tag / .label / .party / .group": "the fields of a signature block",
    "form.fields[].tag / .label / .party / .group": "every fillable field",
    "terms": "issued terms as {tag: text}",
}
SLA_PREFIX = "sla_"
MODEL_TEXT = {
    "per_capita": "per registered patient",
    "per_activity": "per unit of activity",
    "outcome": "outcome target",
    "block": "block payment",
}


def sla_kind(contract_id: str) -> str:
    return f"{SLA_PREFIX}{contract_id}"


def annual_basis(pay: Payment, list_size: int, planned: int) -> str:
    """What a per-capita or block payment is worked out on, in the words of the SLA and the statement."""
    if pay.model == "per_capita":
        return f"{list_size:,} patients × {Money(pay.rate_per_patient or Decimal(0))}"
    if pay.per == "eligible_patient":
        return f"{planned:,} eligible patient(s) × {Money.of(pay.amount or 0)}"
    return f"{Money.of(pay.amount or 0)} for the practice"


def percent(value: Decimal | None) -> str:
    """A fraction as a percentage, ``0.01`` → ``1%`` (blank for none)."""
    if value is None:
        return ""
    return f"{(value * 100).normalize():f}%"


def _service_row(
    spec: ServiceScheme, service: Service, value: ServiceValue, list_size: int
) -> dict[str, Any]:
    pay = service.payment
    uplift = pay.uplift if pay.uplift is not None else spec.funding.default_uplift
    maximum = (
        Money.of(
            pay.max_payment
            if pay.max_payment is not None
            else (pay.max_per_patient or Decimal(0)) * list_size
        )
        if pay.model == "outcome"
        else None
    )
    if pay.model == "per_activity":
        basis = f"{value.planned:,} {pay.unit}(s) planned"
    elif pay.model == "outcome":
        basis = f"up to {maximum}, at full achievement"
    else:
        basis = annual_basis(pay, list_size, value.planned or 0)
    if pay.model == "per_activity":
        unit, rate = pay.unit or "unit", value.unit_tariff
    elif pay.model == "per_capita":
        unit, rate = "registered patient", pay.rate_per_patient
    elif pay.model == "block":
        unit, rate = ("eligible patient" if pay.per == "eligible_patient" else "practice"), pay.amount
    else:
        unit, rate = "", None
    return {
        "id": service.id,
        "title": service.title,
        "description": service.description,
        "model": pay.model,
        "model_text": MODEL_TEXT[pay.model],
        "unit": unit,
        "prior_tariff": str(Money.of(pay.prior_tariff)) if pay.prior_tariff is not None else "",
        "uplift": percent(uplift) if pay.model == "per_activity" and pay.new_tariff is None else "",
        "tariff": rate_text(rate) if rate is not None else "",
        "tariff_note": _tariff_note(spec, pay, uplift),
        "new_tariff": pay.new_tariff is not None,
        "planned": f"{value.planned:,}"
        if pay.model in ("per_activity", "block") and pay.per != "practice" and value.planned
        else "",
        "cap": f"{pay.cap_per_practice:,}" if pay.cap_per_practice is not None else "",
        "basis": basis,
        "value": str(value.value),
        "value_plain": value.value.plain(),
        "term_tag": f"term_service_{service.id}",
        "maximum": str(maximum) if maximum is not None else "",
        "lower_threshold": percent(pay.lower_threshold),
        "upper_threshold": percent(pay.upper_threshold),
        "kpis": [
            {"id": k.id, "title": k.title, "measure": k.measure, "minimum": k.minimum or ""}
            for k in service.kpis
        ],
        "has_minimums": any(k.minimum for k in service.kpis),
        # Priced into the agreement (planned activity, eligible patients, an annual or outcome value),
        # rather than paid only on what is claimed: a row with no plan shows no "0 / £0.00".
        "priced": pay.model == "outcome" or value.value.amount != 0,
        "claim": pay.claim,
        "note": service.note or "",
        "illustrative": illustrative_under(spec, f"funding.services.{service.id}"),
    }


def _tariff_note(spec: ServiceScheme, pay: Payment, uplift: Decimal | None) -> str:
    """Where an activity tariff comes from: the prior year's tariff plus the uplift, or a new tariff."""
    if pay.model != "per_activity":
        return ""
    if pay.new_tariff is not None:
        return f"new tariff for {spec.financial_year}"
    prior = f"{spec.funding.prior_year} tariff" if spec.funding.prior_year else "prior tariff"
    return f"{prior} {Money.of(pay.prior_tariff or 0)} + {percent(uplift or Decimal(0))} uplift"


def _on_list_size(pay: Payment) -> bool:
    """Whether a service's value is worked out on the practice's list size."""
    return pay.model == "per_capita" or (pay.model == "outcome" and pay.max_payment is None)


def contexts(spec: Any, practice: Practice, signups: SignUps | None) -> list[Context]:
    """The SLAs a practice gets: one per contract it has services under."""
    return build_sla_contexts(spec, practice, signups or SignUps([], []))


def example_signups(spec: ServiceScheme, practice: Practice, planned: int = 100) -> SignUps:
    """An example practice signed up to every service offered, ``planned`` units (or patients) each."""
    return SignUps([SignUp(practice.code, s.id, planned) for s in spec.offered], [])


def example(spec: ServiceScheme, practice: Practice | None = None) -> Context:
    """The first SLA of ``practice`` (or an example practice) signed up to every service offered."""
    practice = practice or example_practice(spec)
    return build_sla_contexts(spec, practice, example_signups(spec, practice))[0]


def build_sla_contexts(spec: ServiceScheme, practice: Practice, signups: SignUps) -> list[Context]:
    """One context per contract the practice has services under (none if it signed up to nothing)."""
    chosen = signups.for_practice(practice.code)
    list_size = practice.list_size or 0
    contexts = []
    for contract in spec.funding.contracts:
        services = [s for s in spec.offered if s.contract == contract.id and s.id in chosen]
        if services:
            contexts.append(_context(spec, practice, contract.id, services, chosen, list_size))
    return contexts


def _context(
    spec: ServiceScheme,
    practice: Practice,
    contract_id: str,
    services: list[Service],
    chosen: dict[str, int],
    list_size: int,
) -> Context:
    contract = spec.contract(contract_id)
    kind = sla_kind(contract.id)
    values = [service_value(spec, s, list_size=list_size, planned=chosen[s.id]) for s in services]
    rows = [_service_row(spec, s, v, list_size) for s, v in zip(services, values, strict=True)]
    whole = total(v.value for v in values)
    terms = {
        DOC_ID_FIELD: document_id(spec, practice.code, kind),
        "term_scheme": f"{spec.id} v{spec.version}",
        "term_practice_code": practice.code,
        "term_contract": contract.title,
    }
    terms["term_list_size"] = f"{list_size:,}"
    terms["term_list_size_date"] = long_date(practice.list_size_date) if practice.list_size_date else ""
    for row in rows:
        if row["tariff"]:
            terms[f"{row['term_tag']}_tariff"] = row["tariff"]
        if row["planned"]:
            terms[f"{row['term_tag']}_planned"] = row["planned"]
        if row["priced"]:
            terms[row["term_tag"]] = row["value"]
    terms["term_total"] = str(whole)
    if spec.sign_up_deadline:
        terms["term_sign_up_deadline"] = long_date(spec.sign_up_deadline)
    fields = form_fields(spec)
    return {
        "document": document_context(spec, practice.code, kind, TITLE, terms),
        "scheme": {
            **scheme_identity(spec, "sla"),
            "sign_up_deadline": long_date(spec.sign_up_deadline) if spec.sign_up_deadline else "",
            "introduction": list(spec.introduction),
            "default_uplift": percent(spec.funding.default_uplift),
            "growth_allowance": percent(spec.funding.growth_allowance),
            "prior_year": spec.funding.prior_year or "",
            "terms": [{"id": t.id, "title": t.title, "paragraphs": list(t.paragraphs)} for t in spec.terms],
        },
        "commissioner": commissioner_context(spec),
        "practice": {
            **practice_identity(practice),
            "list_size": list_size,
            "list_size_text": f"{list_size:,}",
            "list_size_date": long_date(practice.list_size_date) if practice.list_size_date else "",
            "list_size_stand_in": practice.list_size_date not in (None, spec.list_size_date),
            "paid_on_list_size": any(_on_list_size(s.payment) for s in services),
        },
        "contract": {
            "id": contract.id,
            "title": contract.title,
            "with_party": contract.with_party,
            "universal_offer": contract.universal_offer,
            "description": contract.description or "",
        },
        "services": rows,
        "activity_services": [r for r in rows if r["model"] == "per_activity"],
        "priced_services": [r for r in rows if r["priced"] and r["model"] != "outcome"],
        "claimed_services": [r for r in rows if not r["priced"]],
        "outcome_services": [r for r in rows if r["model"] == "outcome"],
        "total": str(whole),
        "total_plain": whole.plain(),
        "signatories": signatory_context(spec, fields),
        "form": {"fields": fields},
        "terms": terms,
    }
