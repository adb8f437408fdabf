"""What every document's context shares: ids, issued terms, and the blocks that name the scheme,
the commissioner and the practice.

Each kind of document builds its own context (``agreementgen.kinds``) from these pieces.
Templates never compute: every figure arrives finished — amounts as ``£1,234.50`` text
(plus a ``*_plain`` twin ``1234.50`` for machines), dates as ``31 May 2017`` (plus an
``*_iso`` twin). A context is plain JSON-serialisable data (str, int, bool, list, dict);
``agreementgen context`` prints it.

Two things here are contracts with the returns machinery:

* ``form.fields`` — the fields a practice fills in (four leads, signatory name,
  designation, typed signature, date), each with a stable ``tag``. DOCX content
  controls and PDF AcroForm fields carry exactly these tags/names.
* ``terms`` — the issued terms as ``{tag: text}`` (list size, amounts, dates, ids).
  They are printed in every document in controls (fields) named by their key and
  always locked, and their sha256 digest (``document.terms_digest``) is recorded in the
  issued register, so a return whose terms were changed is detected field by field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from .money import PENNY, Money
from .payments import Entitlement
from .practices import Practice
from .provenance import illustrative_notices
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
        "term_rate_per_patient": rate_text(scheme.rate_per_patient),
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


def example_practice(scheme: Scheme | ServiceScheme) -> Practice:
    """A stand-in practice for checking templates without real data (the spec's worked example size)."""
    worked = getattr(scheme, "worked_example", None)
    size = worked.list_size if worked else 5800
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


def scheme_identity(scheme: SchemeIdentity, kind: str) -> dict[str, Any]:
    """Which scheme and year, and what a document of ``kind`` must say is illustrative."""
    return {
        "id": scheme.id,
        "title": scheme.title,
        "short_title": scheme.short_title,
        "version": scheme.version,
        "financial_year": scheme.financial_year,
        "year_start": long_date(scheme.year_start),
        "year_end": long_date(scheme.year_end),
        # Each illustrative item's label and reason: a document prints its notice when this is not empty.
        "illustrative": illustrative_notices(scheme, kind),
        "sources": [s.title for s in scheme.provenance.sources],
    }


def document_context(
    scheme: SchemeIdentity, practice_code: str, kind: str, title: str, terms: dict[str, str]
) -> dict[str, Any]:
    """A document's identity: kind, title, id, the digest of its issued terms, footer reference, revision."""
    return {
        "kind": kind,
        "title": title,
        "id": terms[DOC_ID_FIELD],
        "terms_digest": terms_digest(terms),
        "reference": f"{scheme.id} v{scheme.version} · {practice_code} · {kind}",
        "revision": 1,  # a reissue (generate --reissue) makes it the next
    }


# Kept in capitals when a name in capitals is put in ordinary case: initialisms, and words of three
# letters or more with no vowel (abbreviations such as DR and ST are not initialisms).
_INITIALISMS = frozenset({"NHS", "GP", "GPS", "PCN", "CCG", "ICB", "UK", "LLP", "HC", "MC", "HQ", "ICS"})
_MINOR_WORDS = frozenset({"and", "of", "the", "at", "in", "on", "for", "upon", "by"})
_WORD = re.compile(r"[A-Z]+(?:'[A-Z]+)?")


def display_name(name: str) -> str:
    """A name as a person writes it: ODS writes practice names in capitals ("LENSFIELD MEDICAL
    PRACTICE"), which a screen reader may spell out and a window title shouts; a name not
    all in capitals is kept as it is."""
    if not name.isupper():
        return name

    def word(match: re.Match[str]) -> str:
        text = match.group(0)
        if text in _INITIALISMS or (len(text) > 2 and text != "LTD" and not any(c in "AEIOUY" for c in text)):
            return text
        if match.start() and text.lower() in _MINOR_WORDS:
            return text.lower()
        head, _, tail = text.partition("'")
        if not tail:
            return head.capitalize()
        # O'BRIEN → O'Brien, KING'S → King's
        return head.capitalize() + "'" + (tail.lower() if len(tail) == 1 else tail.capitalize())

    return _WORD.sub(word, name)


def practice_identity(practice: Practice) -> dict[str, Any]:
    """Who the practice is and where: the same in every kind of document."""
    return {
        "code": practice.code,
        "name": practice.name,
        "display_name": display_name(practice.name),
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


def rate_text(rate: Decimal) -> str:
    """A per-patient rate: '£0.50', or '£0.125' where it has fractions of a penny."""
    return str(Money(rate)) if rate == rate.quantize(PENNY) else f"£{rate.normalize():f}"


def documented_paths(variables: Mapping[str, str]) -> set[str]:
    """Every variable path a kind's ``VARIABLES`` documents, expanded (``a.b / .c`` is a.b and a.c)."""
    paths: set[str] = set()
    for spec in variables:
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
