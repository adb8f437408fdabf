"""Quarterly activity claim forms of a service scheme: which a practice gets, what each shows.

A practice signed up to per-activity services claimed quarterly gets one claim form per
quarter of the financial year (kind ``claim_q1`` … ``claim_q4``): its services with their
unit, tariff and cap as issued terms, a fillable count field per service
(``count_<service id>``), and who claims and when. A returned form is ingested like any
return; the counts are checked (whole numbers, not negative, within the cap, only the
services on the form) and an accepted claim is that quarter's activity for the practice —
a newer accepted claim for the same quarter supersedes it.
"""

from __future__ import annotations

from .context import (
    DOC_ID_FIELD,
    Context,
    commissioner_context,
    document_context,
    document_id,
    long_date,
    practice_identity,
    scheme_identity,
)
from .payments import tariff
from .practices import Practice
from .services import Service, ServiceScheme
from .signups import SignUps

CLAIM_PREFIX = "claim_q"
COUNT_PREFIX = "count_"
CLAIM_FIELDS = (
    {"tag": "practice_signatory_name", "label": "Name", "party": "practice", "group": "signature"},
    {
        "tag": "practice_signatory_designation",
        "label": "Designation",
        "party": "practice",
        "group": "signature",
    },
    {"tag": "practice_signature_date", "label": "Date", "party": "practice", "group": "signature"},
)


def build_claim_contexts(spec: ServiceScheme, practice: Practice, signups: SignUps) -> list[Context]:
    """Four contexts (one per quarter) if the practice has quarterly activity services, else none."""
    chosen = signups.for_practice(practice.code)
    services = [
        s
        for s in spec.offered
        if s.id in chosen and s.payment.model == "per_activity" and s.payment.claim == "quarterly"
    ]
    if not services:
        return []
    return [_context(spec, practice, services, quarter) for quarter in (1, 2, 3, 4)]


def _context(spec: ServiceScheme, practice: Practice, services: list[Service], quarter: int) -> Context:
    start, end = spec.quarter(quarter)
    kind = f"{CLAIM_PREFIX}{quarter}"
    label = f"Quarter {quarter} {spec.financial_year} ({long_date(start)} to {long_date(end)})"
    terms = {
        DOC_ID_FIELD: document_id(spec, practice.code, kind),
        "term_scheme": f"{spec.id} v{spec.version}",
        "term_practice_code": practice.code,
        "term_quarter": label,
    }
    rows = []
    for service in services:
        pay = service.payment
        unit_tariff = tariff(pay, spec.funding.default_uplift)
        tag = f"term_service_{service.id}"
        terms[f"{tag}_tariff"] = f"£{unit_tariff:,.2f}"
        if pay.cap_per_practice is not None:
            terms[f"{tag}_cap"] = f"{pay.cap_per_practice:,}"
        rows.append(
            {
                "id": service.id,
                "title": service.title,
                "unit": pay.unit or "",
                "tariff": terms[f"{tag}_tariff"],
                "cap": terms.get(f"{tag}_cap", ""),
                "term_tag": tag,
                "count_tag": f"{COUNT_PREFIX}{service.id}",
            }
        )
    count_fields = [
        {"tag": r["count_tag"], "label": f"Count: {r['title']}", "party": "practice", "group": "counts"}
        for r in rows
    ]
    return {
        "document": document_context(spec, practice.code, kind, "Quarterly activity claim", terms),
        "scheme": scheme_identity(spec),
        "commissioner": commissioner_context(spec),
        "practice": practice_identity(practice),
        "quarter": {"number": quarter, "start": long_date(start), "end": long_date(end), "label": label},
        "services": rows,
        "form": {"fields": [*count_fields, *CLAIM_FIELDS]},
        "terms": terms,
    }
