"""The Section 7 sign-up agreement of a per-capita scheme: its context.

One document per practice (kind ``section7``, template ``templates/section7.docx``): the
scheme's terms, the practice's figures (list size, each component and instalment, the
total), the practice leads and the signature blocks. ``VARIABLES`` documents every
variable a template can use.
"""

from __future__ import annotations

from typing import Any

from ..context import (
    Context,
    commissioner_context,
    document_context,
    example_practice,
    form_fields,
    issued_terms,
    long_date,
    practice_identity,
    rate_text,
    scheme_identity,
    signatory_context,
)
from ..money import Money
from ..payments import entitlement, sessions_funded
from ..practices import Practice
from ..scheme import Obligation, Scheme
from ..signups import SignUps

KIND = "section7"
TITLE = "Section 7 sign-up agreement"


def contexts(scheme: Any, practice: Practice, signups: SignUps | None) -> list[Context]:
    """The Section 7 a practice gets: one."""
    return [section7_context(scheme, practice)]


def example(scheme: Scheme, practice: Practice | None = None) -> Context:
    """The Section 7 of ``practice``, or of an example practice of the scheme's worked-example size."""
    return section7_context(scheme, practice or example_practice(scheme))


def section7_context(scheme: Scheme, practice: Practice) -> Context:
    """Everything a Section 7 template needs about this scheme and practice."""
    kind, kind_title = KIND, TITLE
    if practice.list_size is None:
        raise ValueError(f"practice {practice.code} has no list size")
    ent = entitlement(scheme, practice.list_size)
    terms = issued_terms(scheme, practice, ent, kind)
    leads = dict(practice.leads)
    fields = form_fields(scheme)
    return {
        "document": document_context(scheme, practice.code, kind, kind_title, terms),
        "scheme": {
            **scheme_identity(scheme, "section7"),
            "list_size_date": long_date(scheme.list_size_date),
            "list_size_date_iso": scheme.list_size_date.isoformat(),
            "sign_up_deadline": long_date(scheme.sign_up_deadline),
            "sign_up_deadline_iso": scheme.sign_up_deadline.isoformat(),
            "rate_per_patient": terms["term_rate_per_patient"],
            "background": list(scheme.background),
            "introduction": list(scheme.introduction),
            "parties": list(scheme.parties),
            "accountability": scheme.accountability or "",
            "reconciliation": list(scheme.reconciliation.text),
            "terms": [{"id": t.id, "title": t.title, "paragraphs": list(t.paragraphs)} for t in scheme.terms],
            "sessional_rates": [
                {"role": r.role, "rate": str(Money.of(r.rate)), "hours": f"{r.hours.normalize():f}"}
                for r in scheme.sessional_rates
            ],
        },
        "commissioner": commissioner_context(scheme),
        "practice": {
            **practice_identity(practice),
            "commissioner": practice.effective_commissioner or "",
            "pcn_code": practice.pcn_code or "",
            "pcn_name": practice.pcn_name or "",
            "list_size": practice.list_size,
            "list_size_text": terms["term_list_size"],
            "list_size_date": terms["term_list_size_date"],
            "list_size_date_iso": practice.list_size_date.isoformat() if practice.list_size_date else "",
            "list_size_stand_in": practice.list_size_date not in (None, scheme.list_size_date),
            # Per practice, not in ``scheme``: everything under ``scheme`` is the same for every practice.
            "sessions_funded": [
                {
                    "role": r.role,
                    "rate": str(Money.of(r.rate)),
                    "sessions": sessions_funded(ent.total, r.rate),
                }
                for r in scheme.sessional_rates
            ],
        },
        "components": [
            {
                "id": c.id,
                "title": c.title,
                "rate": rate_text(c.rate_per_patient),
                "amount": str(ent.by_component[c.id]),
                "amount_plain": ent.by_component[c.id].plain(),
                "term_tag": f"term_component_{c.id}",
                "overview": list(c.overview),
                "summary": list(c.summary),
                "obligations_intro": c.obligations_intro or "",
                "obligations": [_obligation(o) for o in c.obligations],
                "commitments": [_obligation(o) for o in c.commitments],
            }
            for c in scheme.components
        ],
        "instalments": [
            {
                "id": i.id,
                "title": i.title,
                "rate": rate_text(scheme.instalment_rate(i)),
                "amount": str(ent.by_instalment[i.id]),
                "amount_plain": ent.by_instalment[i.id].plain(),
                "term_tag": f"term_instalment_{i.id}",
                "trigger": i.trigger,
                "evidence": [m.title for ev in i.evidence for m in scheme.milestones if m.id == ev],
                "due": long_date(i.due),
                "due_iso": i.due.isoformat(),
            }
            for i in scheme.instalments
        ],
        "milestones": [
            {
                "id": m.id,
                "title": m.title,
                "due": long_date(m.due),
                "due_iso": m.due.isoformat(),
                "window_start": long_date(m.window_start) if m.window_start else "",
                "description": m.description,
            }
            for m in scheme.milestones
        ],
        "total": str(ent.total),
        "total_plain": ent.total.plain(),
        "leads": [
            {
                "id": f["tag"].removeprefix("lead_"),
                "title": f["label"],
                "tag": f["tag"],
                "value": leads.get(f["tag"].removeprefix("lead_"), ""),
            }
            for f in fields
            if f["group"] == "leads"
        ],
        "signatories": signatory_context(scheme, fields),
        "form": {"fields": fields},
        "terms": terms,
    }


def _obligation(o: Obligation) -> dict[str, Any]:
    return {"lead": o.lead or "", "text": o.text or "", "items": list(o.items)}


# What a Section 7 template can use (dotted paths; ``[]`` marks a list of items): `check-template`,
# the README and a completeness test read this table.
VARIABLES: dict[str, str] = {
    "document.kind": "document kind, e.g. section7",
    "document.title": "the kind's title, e.g. 'Section 7 sign-up agreement'",
    "document.id": "stable document id scheme:vVERSION:PRACTICE:KIND (printed in the footer)",
    "document.terms_digest": "sha256 of the issued terms",
    "document.reference": "human-readable reference for the footer",
    "document.revision": "the revision: 1, then 2, 3 … for each `generate --reissue`",
    "scheme.id / .title / .short_title / .version / .financial_year": "scheme identity",
    "scheme.year_start / .year_end": "first and last day of the financial year, '1 April 2017'",
    "scheme.list_size_date / .list_size_date_iso / .sign_up_deadline / .sign_up_deadline_iso": "key dates",
    "scheme.rate_per_patient": "'£2.00'",
    "scheme.background[] / .introduction[] / .reconciliation[]": "paragraphs of text",
    "scheme.parties[] / .accountability": "the parties and the accountability statement",
    "scheme.terms[].id / .title / .paragraphs[]": "variations, disputes, termination",
    "scheme.sessional_rates[].role / .rate / .hours": "sessional rates, e.g. GP £285.00 per 3.5 hours",
    "scheme.illustrative[].label / .reason / .item": "what is illustrative (empty when nothing is)",
    "scheme.sources[]": "the titles of the scheme's source documents",
    "commissioner.name / .short_name / .code / .return_email / .return_address": "the commissioner",
    "practice.code / .name / .address / .address_lines[] / .postcode / .commissioner": "the practice",
    "practice.display_name": "its name as a person writes it (ODS names are in capitals)",
    "practice.pcn_code / .pcn_name / .email": "where known",
    "practice.list_size / .list_size_text / .list_size_date / .list_size_date_iso": "the list size paid on",
    "practice.list_size_stand_in": "true when the list size is of another date than the scheme's",
    "practice.sessions_funded[].role / .rate / .sessions": "whole sessions the total buys at each rate",
    "components[].id / .title / .rate / .amount / .amount_plain / .term_tag": "each component",
    "components[].overview[] / .summary[] / .obligations_intro": "its texts (paragraphs)",
    "components[].obligations[].lead / .text / .items[]": (
        "what the practice must do: bold lead-in, text, sub-points"
    ),
    "components[].commitments[].lead / .text / .items[]": "what the commissioner commits to, same shape",
    "instalments[].id / .title / .rate / .amount / .amount_plain / .term_tag / .trigger": "each instalment",
    "instalments[].evidence[] / .due / .due_iso": "what releases it and when",
    "milestones[].id / .title / .due / .due_iso / .window_start / .description": "reporting timetable",
    "total / total_plain": "the practice's total, '£11,600.00' / '11600.00'",
    "leads[].id / .title / .tag / .value": "practice lead roles; tag names the fillable field",
    "signatories[].party / .heading / .prints_practice": "signature blocks",
    "signatories[].fields[].tag / .label / .party / .group": "the fields of a signature block",
    "form.fields[].tag / .label / .party / .group": "every fillable field",
    "terms": "issued terms as {tag: text}",
}
