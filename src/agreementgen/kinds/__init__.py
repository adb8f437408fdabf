"""The registry of document kinds: one row per kind, the only place a kind is wired up.

A kind has the same name everywhere: its template ``templates/<kind>.docx`` (or a
fillable ``templates/<kind>.pdf``), its context module ``kinds/<kind>.py`` and its tests
``tests/kinds/test_<kind>.py``. Both formats of a document are rendered from its one
template (the PDF by the Word-to-PDF writer), so a kind has no layout code of its own.
Adding a kind means adding a module and a template, and one :class:`DocumentKind` here.

=========  ===================  ================  ==========================================
kind       scheme               issued, returned  one practice gets
=========  ===================  ================  ==========================================
section7   per-capita           yes               one Section 7 sign-up agreement
sla        services (LES/LCS)   yes               one SLA per contract it signed up to
claim      services             yes               one claim form per quarter, if it claims
statement  either               no                one year-end statement (``statements``)
=========  ===================  ================  ==========================================

``contexts`` gives the documents of an issued kind one practice gets — each context
names its own document kind (``sla_universal_offer``, ``claim_q1``), which is also its
file name. ``example`` gives a context for checking a template without practice data
(``check-template``, ``context``). ``variables`` documents what a template can use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..context import Context
from ..errors import AgreementgenError, TemplateError
from ..practices import Practice
from ..signups import SignUps
from . import claim, section7, sla, statement

FORMATS = ("docx", "pdf")
TEMPLATE_SUFFIXES = (".docx", ".pdf")


@dataclass(frozen=True)
class DocumentKind:
    name: str
    title: str
    scheme_model: str  # the spec's funding.model this kind is for: per_capita, services, or any
    issued: bool  # registered as issued, returned and ingested (a statement is not)
    example: Callable[..., Context]  # (scheme, practice=None): a context for checking templates
    variables: Mapping[str, str]  # what a template can use, documented
    contexts: Callable[[Any, Practice, SignUps | None], list[Context]] | None = None

    def template_path(self, folder: Path) -> Path:
        """The kind's template in ``folder``: ``<kind>.docx``, else a fillable ``<kind>.pdf``."""
        for suffix in TEMPLATE_SUFFIXES:
            path = folder / f"{self.name}{suffix}"
            if path.is_file():
                return path
        raise TemplateError(
            f"no template for {self.name} documents: put {self.name}.docx (or a fillable {self.name}.pdf) "
            "in this folder (start from a copy of the shipped templates/ folder)",
            path=folder,
        )

    def for_scheme(self, model: str) -> bool:
        return self.scheme_model in ("any", model)


KINDS: dict[str, DocumentKind] = {
    "section7": DocumentKind(
        name="section7",
        title=section7.TITLE,
        scheme_model="per_capita",
        issued=True,
        contexts=section7.contexts,
        example=section7.example,
        variables=section7.VARIABLES,
    ),
    "sla": DocumentKind(
        name="sla",
        title=sla.TITLE,
        scheme_model="services",
        issued=True,
        contexts=sla.contexts,
        example=sla.example,
        variables=sla.VARIABLES,
    ),
    "claim": DocumentKind(
        name="claim",
        title=claim.TITLE,
        scheme_model="services",
        issued=True,
        contexts=claim.contexts,
        example=claim.example,
        variables=claim.VARIABLES,
    ),
    "statement": DocumentKind(
        name="statement",
        title=statement.TITLE,
        scheme_model="any",
        issued=False,
        example=statement.example,
        variables=statement.VARIABLES,
    ),
}

DEFAULT_KIND = {"per_capita": "section7", "services": "sla"}
ISSUED = tuple(name for name, kind in KINDS.items() if kind.issued)


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
