"""The one context a document template sees for (scheme, practice, document kind).

Templates never compute: every figure arrives finished — amounts as ``£1,234.50``
text (plus a ``*_plain`` twin ``1234.50`` for machines), dates as ``31 May 2017``
(plus an ``*_iso`` twin). The context is plain JSON-serialisable data (str, int,
bool, list, dict); ``agreementgen context`` prints it, and ``TEMPLATE_VARIABLES``
below is the documented list that ``check-template`` compares templates against.

Two things here are contracts with the returns machinery:

* ``form.fields`` — the fields a practice fills in (four leads, signatory name,
  designation, typed signature, date), each with a stable ``tag``. DOCX content
  controls and PDF AcroForm fields carry exactly these tags/names.
* ``terms`` — the issued terms as ``{tag: text}`` (list size, amounts, dates, ids).
  They are printed and prefilled read-only in every document, and their sha256
  digest (``document.terms_digest``) is recorded in the issued register, so a return
  whose terms were changed is detected field by field.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

from .money import PENNY, Money
from .payments import Entitlement, entitlement, sessions_funded
from .practices import Practice
from .scheme import Scheme, SchemeIdentity
from .services import ServiceScheme

Context = dict[str, Any]

DOC_ID_FIELD = "doc_id"


def long_date(value: date) -> str:
    """``1 April 2017`` — how an NHS letter writes a date."""
    return f"{value.day} {value.strftime('%B %Y')}"


def document_id(scheme: SchemeIdentity, practice_code: str, kind: str) -> str:
    """The stable id of one issued document: scheme, version, practice and kind."""
    return f"{scheme.id}:v{scheme.version}:{practice_code}:{kind}"


def parse_document_id(text: str) -> tuple[str, str, str, str] | None:
    """(scheme id, version, practice code, kind) from a document id, or None if it is not one."""
    parts = text.strip().split(":")
    if len(parts) != 4 or not parts[1].startswith("v"):
        return None
    return parts[0], parts[1][1:], parts[2], parts[3]


def form_fields(scheme: Scheme | ServiceScheme) -> list[dict[str, str]]:
    """Fields the practice (or the commissioner, on countersigning) fills in, with stable tags."""
    fields = [
        {"tag": f"lead_{lead.id}", "label": lead.title, "party": "practice", "group": "leads"}
        for lead in getattr(scheme, "practice_leads", [])
    ]
    labels = {"name": "Name", "designation": "Designation", "signature": "Signature", "date": "Date"}
    suffixes = {
        "name": "signatory_name",
        "designation": "signatory_designation",
        "signature": "signature",
        "date": "signature_date",
    }
    for signatory in scheme.signatories:
        for name in signatory.fields:
            if name == "practice":
                continue  # printed from the practice record, not typed by the practice
            fields.append(
                {
                    "tag": f"{signatory.party}_{suffixes[name]}",
                    "label": labels[name],
                    "party": signatory.party,
                    "group": "signature",
                }
            )
    return fields


def issued_terms(scheme: Scheme, practice: Practice, ent: Entitlement, kind: str) -> dict[str, str]:
    """The terms a practice signs up to, as ``{tag: printed text}`` — what tamper checks compare."""
    assert practice.list_size is not None
    terms = {
        DOC_ID_FIELD: document_id(scheme, practice.code, kind),
        "term_scheme": f"{scheme.id} v{scheme.version}",
        "term_practice_code": practice.code,
        "term_list_size": f"{practice.list_size:,}",
        "term_list_size_date": long_date(practice.list_size_date) if practice.list_size_date else "",
        "term_rate_per_patient": _rate_text(scheme.rate_per_patient),
    }
    for component in scheme.components:
        terms[f"term_component_{component.id}"] = str(ent.by_component[component.id])
    for instalment in scheme.instalments:
        terms[f"term_instalment_{instalment.id}"] = str(ent.by_instalment[instalment.id])
        terms[f"term_instalment_{instalment.id}_due"] = long_date(instalment.due)
    terms["term_total"] = str(ent.total)
    terms["term_sign_up_deadline"] = long_date(scheme.sign_up_deadline)
    return terms


def terms_digest(terms: dict[str, str]) -> str:
    """sha256 of the issued terms in canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def example_practice(scheme: Scheme) -> Practice:
    """A stand-in practice for checking templates without real data (the spec's worked example size)."""
    size = scheme.worked_example.list_size if scheme.worked_example else 5800
    return Practice(
        code="A00001",
        name="Example Surgery",
        address=("1 High Street", "Example Town"),
        postcode="AB1 2CD",
        commissioner=scheme.commissioner.code,
        list_size=size,
        list_size_date=scheme.list_size_date,
        list_size_source="example",
        source="example",
    )


def build_context(scheme: Scheme, practice: Practice, kind: str, kind_title: str) -> Context:
    """Everything a template for ``kind`` needs about this scheme and practice."""
    if practice.list_size is None:
        raise ValueError(f"practice {practice.code} has no list size")
    ent = entitlement(scheme, practice.list_size)
    terms = issued_terms(scheme, practice, ent, kind)
    leads = dict(practice.leads)
    fields = form_fields(scheme)
    return {
        "document": document_context(scheme, practice.code, kind, kind_title, terms),
        "scheme": {
            **scheme_identity(scheme),
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
            "source": scheme.source.document,
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
                "rate": _rate_text(c.rate_per_patient),
                "amount": str(ent.by_component[c.id]),
                "amount_plain": ent.by_component[c.id].plain(),
                "term_tag": f"term_component_{c.id}",
                "summary": c.summary,
                "obligations": [{"text": o.text, "items": list(o.items)} for o in c.obligations],
            }
            for c in scheme.components
        ],
        "instalments": [
            {
                "id": i.id,
                "title": i.title,
                "rate": _rate_text(scheme.instalment_rate(i)),
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


def scheme_identity(scheme: SchemeIdentity) -> dict[str, Any]:
    """Which scheme and year: the same in every kind of document."""
    return {
        "id": scheme.id,
        "title": scheme.title,
        "short_title": scheme.short_title,
        "version": scheme.version,
        "financial_year": scheme.financial_year,
        "year_start": long_date(scheme.year_start),
        "year_end": long_date(scheme.year_end),
        "illustrative": scheme.source.illustrative,
    }


def document_context(
    scheme: SchemeIdentity, practice_code: str, kind: str, title: str, terms: dict[str, str]
) -> dict[str, str]:
    """A document's identity: kind, title, id, the digest of its issued terms, footer reference."""
    return {
        "kind": kind,
        "title": title,
        "id": terms[DOC_ID_FIELD],
        "terms_digest": terms_digest(terms),
        "reference": f"{scheme.id} v{scheme.version} · {practice_code} · {kind}",
    }


def practice_identity(practice: Practice) -> dict[str, Any]:
    """Who the practice is and where: the same in every kind of document."""
    return {
        "code": practice.code,
        "name": practice.name,
        "address_lines": list(practice.address),
        "address": ", ".join(
            [*practice.address, practice.postcode] if practice.postcode else practice.address
        ),
        "postcode": practice.postcode,
        "email": practice.email or "",
    }


def commissioner_context(scheme: SchemeIdentity) -> dict[str, str]:
    commissioner = scheme.commissioner
    return {
        "name": commissioner.name,
        "short_name": commissioner.short_name,
        "code": commissioner.code or "",
        "return_email": commissioner.return_email or "",
        "return_address": commissioner.return_address or "",
    }


def signatory_context(scheme: Scheme | ServiceScheme, fields: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The signature blocks: heading, whether the practice's name is printed, the fields to fill."""
    return [
        {
            "party": s.party,
            "heading": s.heading,
            "prints_practice": "practice" in s.fields,
            "fields": [f for f in fields if f["party"] == s.party and f["group"] == "signature"],
        }
        for s in scheme.signatories
    ]


def _rate_text(rate: Decimal) -> str:
    """A per-patient rate: '£0.50', or '£0.125' where it has fractions of a penny."""
    return str(Money(rate)) if rate == rate.quantize(PENNY) else f"£{rate.normalize():f}"


# The documented template variables (dotted paths; ``[]`` marks a list of items).
TEMPLATE_VARIABLES: dict[str, str] = {
    "document.kind": "document kind, e.g. section7",
    "document.title": "the kind's title, e.g. 'Section 7 sign-up agreement'",
    "document.id": "stable document id scheme:vVERSION:PRACTICE:KIND (printed in the footer)",
    "document.terms_digest": "sha256 of the issued terms",
    "document.reference": "human-readable reference for the footer",
    "scheme.id / .title / .short_title / .version / .financial_year": "scheme identity",
    "scheme.year_start / .year_end": "first and last day of the financial year, '1 April 2017'",
    "scheme.list_size_date / .list_size_date_iso / .sign_up_deadline / .sign_up_deadline_iso": "key dates",
    "scheme.rate_per_patient": "'£2.00'",
    "scheme.background[] / .introduction[] / .reconciliation[]": "paragraphs of text",
    "scheme.parties[] / .accountability": "the parties and the accountability statement",
    "scheme.terms[].id / .title / .paragraphs[]": "variations, disputes, termination",
    "scheme.sessional_rates[].role / .rate / .hours": "sessional rates, e.g. GP £285.00 per 3.5 hours",
    "scheme.source / .illustrative": "the source document; whether figures are illustrative",
    "commissioner.name / .short_name / .code / .return_email / .return_address": "the commissioner",
    "practice.code / .name / .address / .address_lines[] / .postcode / .commissioner": "the practice",
    "practice.pcn_code / .pcn_name / .email": "where known",
    "practice.list_size / .list_size_text / .list_size_date / .list_size_date_iso": "the list size paid on",
    "practice.sessions_funded[].role / .rate / .sessions": "whole sessions the total buys at each rate",
    "components[].id / .title / .rate / .amount / .amount_plain / .term_tag / .summary": "each component",
    "components[].obligations[].text / .items[]": "what the practice must do",
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


def documented_paths() -> set[str]:
    """Every variable path ``TEMPLATE_VARIABLES`` documents, expanded (``a.b / .c`` is a.b and a.c)."""
    paths: set[str] = set()
    for spec in TEMPLATE_VARIABLES:
        names = [p.strip() for p in spec.split(" / ")]
        parent = names[0].rsplit(".", 1)[0] if "." in names[0] else ""
        paths.add(names[0])
        paths.update(f"{parent}{name}" if name.startswith(".") else name for name in names[1:])
    return paths


def leaf_paths(value: Any, prefix: str = "") -> set[str]:
    """The variable paths a context provides; lists by their first item, ``terms`` as one leaf."""
    if prefix == "terms" or not isinstance(value, dict | list):
        return {prefix}
    if isinstance(value, list):
        return leaf_paths(value[0], f"{prefix}[]") if value else {f"{prefix}[]"}
    paths: set[str] = set()
    for key, item in value.items():
        paths |= leaf_paths(item, f"{prefix}.{key}" if prefix else key)
    return paths
