"""The registry of document kinds: one row per kind, the only place a kind is wired up.

A kind (``section7``, ``sla``; later ``statement``) has the same name everywhere:
its DOCX template ``templates/<kind>.docx``, its PDF layout
``render/pdf_<kind>.py``, its contexts and its tests. ``contexts`` gives the documents
one practice gets of this kind — one Section 7 agreement; one SLA per contract it signed
up to — each context naming its own document kind (``sla_universal_offer``), which is
also its file name. Adding a kind means adding one ``DocumentKind`` here — no if/elif
chains elsewhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .claims import build_claim_contexts
from .context import build_context
from .errors import AgreementgenError
from .practices import Practice
from .render import pdf_layout as pdf_machinery
from .render import pdf_claim, pdf_section7, pdf_sla
from .signups import SignUps
from .sla import build_sla_contexts

FORMATS = ("docx", "pdf")


@dataclass(frozen=True)
class DocumentKind:
    name: str
    title: str
    docx_template: str | None  # file name inside the templates folder; None: PDF only
    render_pdf: Callable[[dict[str, Any]], bytes]
    pdf_sources: tuple[str, ...]  # source files that define the PDF layout
    scheme_model: str  # the spec's funding.model this kind is for: per_capita or services
    contexts: Callable[[Any, Practice, SignUps | None], list[dict[str, Any]]]

    def pdf_layout_sha256(self) -> str:
        """The PDF's 'template' hash: the layout code's bytes (recorded like a DOCX template's)."""
        digest = hashlib.sha256()
        for source in self.pdf_sources:
            digest.update(Path(source).read_bytes())
        return digest.hexdigest()


KINDS: dict[str, DocumentKind] = {
    "section7": DocumentKind(
        name="section7",
        title="Section 7 sign-up agreement",
        docx_template="section7.docx",
        render_pdf=pdf_section7.render_section7,
        pdf_sources=(pdf_section7.__file__, pdf_machinery.__file__),
        scheme_model="per_capita",
        contexts=lambda scheme, practice, _: [
            build_context(scheme, practice, "section7", "Section 7 sign-up agreement")
        ],
    ),
    "sla": DocumentKind(
        name="sla",
        title="Service level agreement",
        docx_template="sla.docx",
        render_pdf=pdf_sla.render_sla,
        pdf_sources=(pdf_sla.__file__, pdf_section7.__file__, pdf_machinery.__file__),
        scheme_model="services",
        contexts=lambda spec, practice, signups: build_sla_contexts(
            spec, practice, signups or SignUps([], [])
        ),
    ),
    "claim": DocumentKind(
        name="claim",
        title="Quarterly activity claim",
        docx_template=None,
        render_pdf=pdf_claim.render_claim,
        pdf_sources=(pdf_claim.__file__, pdf_machinery.__file__),
        scheme_model="services",
        contexts=lambda spec, practice, signups: build_claim_contexts(
            spec, practice, signups or SignUps([], [])
        ),
    ),
}

DEFAULT_KIND = {"per_capita": "section7", "services": "sla"}


def get_kind(name: str) -> DocumentKind:
    try:
        return KINDS[name]
    except KeyError:
        raise AgreementgenError(
            f"unknown document kind '{name}'; known kinds: {', '.join(sorted(KINDS))}", field="--docs"
        ) from None


def parse_list(text: str, known: tuple[str, ...] | list[str], option: str) -> list[str]:
    """``docx,pdf`` → ['docx', 'pdf'], refusing anything not in ``known``."""
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [t for t in items if t not in known]
    if not items:
        raise AgreementgenError(f"{option} is empty; choose from {', '.join(known)}", field=option)
    if unknown:
        raise AgreementgenError(
            f"unknown {' and '.join(repr(u) for u in unknown)} in {option}; choose from {', '.join(known)}",
            field=option,
        )
    return list(dict.fromkeys(items))
