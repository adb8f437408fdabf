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

from typing import Any

from ..context import (
    DOC_ID_FIELD,
    Context,
    commissioner_context,
    document_context,
    document_id,
    example_practice,
    long_date,
    practice_identity,
    scheme_identity,
)
from ..errors import AgreementgenError
from ..payments import tariff
from ..practices import Practice
from ..services import Service, ServiceScheme
from ..signups import SignUps

TITLE = "Quarterly activity claim"

# What a claim-form template can use (dotted paths; ``[]`` marks a list of items).
VARIABLES: dict[str, str] = {
    "document.kind / .title / .id / .terms_digest / .reference / .revision": (
        "the document's kind (claim_q1 … claim_q4), title, id, terms digest, footer reference and revision"
    ),
    "scheme.id / .title / .short_title / .version / .financial_year": "scheme identity",
    "scheme.year_start / .year_end": "the first and last days of the financial year",
    "scheme.illustrative[].label / .reason / .item": "what is illustrative (empty when nothing is)",
    "scheme.sources[]": "the titles of the scheme's source documents",
    "commissioner.name / .short_name / .code / .return_email / .return_address": "the commissioner",
    "practice.code / .name / .address / .address_lines[] / .postcode / .email": "the practice",
    "practice.display_name": "its name as a person writes it (ODS names are in capitals)",
    "quarter.number / .start / .end / .label": (
        "the quarter claimed: 1–4, its first and last days, 'Quarter 1 2017/18 (…)'"
    ),
    "services[].id / .title / .unit / .tariff / .cap / .term_tag / .count_tag": (
        "each service claimed: its tariff and cap (issued terms), and the tag of its count field"
    ),
    "form.fields[].tag / .label / .party / .group": (
        "every fillable field: a count per service, the claimant's name, designation and date"
    ),
    "terms": "issued terms as {tag: text}",
}
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
    {"tag": "practice_signature", "label": "Signature", "party": "practice", "group": "signature"},
    {"tag": "practice_signature_date", "label": "Date", "party": "practice", "group": "signature"},
)


def contexts(spec: Any, practice: Practice, signups: SignUps | None) -> list[Context]:
    """The claim forms a practice gets: one per quarter, if it claims activity quarterly."""
    return build_claim_contexts(spec, practice, signups or SignUps([], []))


def example(spec: ServiceScheme, practice: Practice | None = None) -> Context:
    """The first quarter's claim form of ``practice`` (or an example practice) signed up to every service."""
    from .sla import example_signups

    practice = practice or example_practice(spec)
    found = build_claim_contexts(spec, practice, example_signups(spec, practice))
    if not found:
        raise AgreementgenError(
            f"{spec.id} has no per-activity service claimed quarterly, so it issues no claim forms",
            path=spec.id,
        )
    return found[0]


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
        "document": document_context(spec, practice.code, kind, TITLE, terms),
        "scheme": scheme_identity(spec, "claim"),
        "commissioner": commissioner_context(spec),
        "practice": practice_identity(practice),
        "quarter": {"number": quarter, "start": long_date(start), "end": long_date(end), "label": label},
        "services": rows,
        "form": {"fields": [*count_fields, *CLAIM_FIELDS]},
        "terms": terms,
    }
