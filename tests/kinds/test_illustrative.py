"""Every document of a scheme with illustrative items says so: a notice naming each, in both formats."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from agreementgen.kinds import KINDS
from agreementgen.provenance import illustrative_notices
from agreementgen.render.template import WordTemplate
from agreementgen.scheme import Scheme
from agreementgen.validation import load_any_scheme
from conftest import ROOT, SCHEMES

NOTICE = "Illustrative: not taken from the scheme's source documents"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip()


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    return _flat(" ".join(t.text or "" for t in document.element.body.iter(docx.oxml.ns.qn("w:t"))))


def pdf_text(data: bytes) -> str:
    return _flat(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages))


def missing_notice(text: str, scheme, kind: str) -> list[str]:
    """What a document's text fails to say of the scheme's illustrative items (the notice, each label)."""
    notices = illustrative_notices(scheme, kind)
    if not notices:
        return []
    missing = [] if NOTICE in text else ["the notice"]
    return missing + [n["label"] for n in notices if _flat(n["label"]) not in text]


def cases() -> list[tuple[str, Path]]:
    found = []
    for scheme in sorted(SCHEMES.glob("*.yaml")):
        model = "per_capita" if isinstance(load_any_scheme(scheme), Scheme) else "services"
        found += [(name, scheme) for name, kind in KINDS.items() if kind.for_scheme(model)]
    return found


@cache
def rendered(kind: str, scheme: Path, template: Path | None = None) -> dict[str, bytes]:
    spec = load_any_scheme(scheme)
    context = KINDS[kind].example(spec, None)
    return WordTemplate(template or ROOT / "templates" / f"{kind}.docx").render(context, ["docx", "pdf"])


@pytest.mark.parametrize(("kind", "scheme"), cases(), ids=lambda v: getattr(v, "stem", v))
def test_a_document_printing_illustrative_items_names_them_in_word_and_pdf(kind: str, scheme: Path) -> None:
    spec = load_any_scheme(scheme)
    out = rendered(kind, scheme)
    assert missing_notice(docx_text(out["docx"]), spec, kind) == []
    assert missing_notice(pdf_text(out["pdf"]), spec, kind) == []


def test_the_shipped_service_schemes_have_illustrative_items_and_their_documents_say_so() -> None:
    with_items = {s.stem for s in SCHEMES.glob("*.yaml") if illustrative_notices(load_any_scheme(s), "sla")}
    assert {"cpccg-les-2017-18", "camden-lcs-2019-20", "sw-outcomes-2015-16"} <= with_items
    text = docx_text(rendered("sla", SCHEMES / "cpccg-les-2017-18.yaml")["docx"])
    assert NOTICE in text


def test_a_template_without_the_notice_is_caught(tmp_path: Path) -> None:
    document = docx.Document(ROOT / "templates" / "sla.docx")
    for paragraph in document.paragraphs:
        if paragraph.text.startswith("Illustrative:"):
            paragraph._p.getparent().remove(paragraph._p)
    edited = tmp_path / "sla.docx"
    document.save(edited)
    scheme = SCHEMES / "cpccg-les-2017-18.yaml"
    out = rendered("sla", scheme, edited)
    spec = load_any_scheme(scheme)
    assert missing_notice(docx_text(out["docx"]), spec, "sla")[0] == "the notice"
    assert missing_notice(pdf_text(out["pdf"]), spec, "sla")[0] == "the notice"
