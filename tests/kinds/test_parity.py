"""Parity: the PDF and the Word document of every kind say the same thing, word for word.

For every kind, every shipped scheme it applies to and a sample of practices, both formats
are rendered from the one shipped template and read back by independent readers: the Word
document by python-docx's XML, the PDF by pypdf. The body text must be the same once
whitespace is normalised; the only thing the PDF may add is a table's header row repeated at
the top of a page. The fillable fields and their values must be the same too.
"""

from __future__ import annotations

import difflib
import io
import re
import subprocess
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from pypdf import PdfReader

from agreementgen.kinds import KINDS
from agreementgen.render.docx import read_content_controls
from agreementgen.render.template import WordTemplate
from agreementgen.scheme import Scheme
from agreementgen.validation import load_any_scheme, load_inputs
from agreementgen.wording import only_headers, pdf_words, tokens
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT, SCHEMES, require
from pdfstructure import problems, reading_text, tree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

SAMPLE = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H").data.by_code()
HOSTILE = replace(SAMPLE["D81002"], name='Smith & Jones <Partners> "{{ 7*7 }}" Surgery')
PRACTICES = [None, SAMPLE["D81001"], HOSTILE]  # None: the kind's example practice


@dataclass(frozen=True)
class Case:
    kind: str
    scheme: Path
    practice: int

    def __str__(self) -> str:
        return f"{self.kind}-{self.scheme.stem}-{self.practice}"


def cases() -> list[Case]:
    found = []
    for scheme in sorted(SCHEMES.glob("*.yaml")):
        model = "per_capita" if isinstance(load_any_scheme(scheme), Scheme) else "services"
        for name, kind in KINDS.items():
            if kind.for_scheme(model):
                found += [Case(name, scheme, n) for n in range(len(PRACTICES))]
    return found


@cache
def template(kind: str) -> WordTemplate:
    return WordTemplate(ROOT / "templates" / f"{kind}.docx")


@cache
def rendered(case: Case) -> tuple[bytes, bytes, dict]:
    kind = KINDS[case.kind]
    context = kind.example(load_any_scheme(case.scheme), PRACTICES[case.practice])
    out = template(case.kind).render(context, ["docx", "pdf"])
    return out["docx"], out["pdf"], context


# --- the Word side -------------------------------------------------------------------------------


def _is_field(sdt) -> bool:
    """A control the PDF turns into a fillable field: tagged, not locked (locked ones print as text)."""
    pr = sdt.find(qn("w:sdtPr"))
    if pr is None or pr.find(qn("w:tag")) is None:
        return False
    lock = pr.find(qn("w:lock"))
    return lock is None or lock.get(qn("w:val")) not in ("sdtContentLocked", "contentLocked")


def word_text(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The body's words in document order (fillable controls left out, they are fields), and the
    words of every table header row (which the PDF repeats on each page a table runs onto)."""
    body = docx.Document(io.BytesIO(data)).element.body
    words: list[str] = []

    def walk(element) -> None:
        for child in element:
            tag = child.tag
            if tag == qn("w:sdt") and _is_field(child):
                continue
            if tag == qn("w:t"):
                words.append(child.text or "")
            elif tag in (qn("w:tab"), qn("w:br"), qn("w:cr")):
                words.append(" ")
            elif tag in (qn("w:p"), qn("w:tc")):
                walk(child)
                words.append(" ")
            elif tag not in (qn("w:instrText"), qn("w:delText"), qn("w:sectPr")):
                walk(child)

    walk(body)
    headers = []
    for tr in body.iter(qn("w:tr")):
        pr = tr.find(qn("w:trPr"))
        if pr is not None and pr.find(qn("w:tblHeader")) is not None:
            headers.append(tokens(" ".join("".join(t.text or "" for t in tc.iter(qn("w:t"))) for tc in tr)))
    return tokens("".join(words)), headers


# --- the PDF side ---------------------------------------------------------------------------------


def pdf_text(data: bytes, docx_data: bytes) -> list[str]:
    """The words drawn in each page's body (between the top and bottom margins, so the running
    header and footer are left out), read as ingest reads a returned PDF (``wording.pdf_words``)."""
    section = docx.Document(io.BytesIO(docx_data)).sections[0]
    return pdf_words(PdfReader(io.BytesIO(data)), (section.top_margin.pt, section.bottom_margin.pt))


def pdf_fields(data: bytes) -> dict[str, str]:
    return {
        name: str(f.get("/V", "")) for name, f in (PdfReader(io.BytesIO(data)).get_fields() or {}).items()
    }


def differences(word: list[str], pdf: list[str], headers: list[list[str]]) -> list[str]:
    """What differs, as readable lines; repeated table header rows in the PDF are not differences."""
    problems = []
    matcher = difflib.SequenceMatcher(a=word, b=pdf, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "insert" and only_headers(pdf[b0:b1], headers):
            continue
        problems.append(f"{op}: Word {' '.join(word[a0:a1])!r} / PDF {' '.join(pdf[b0:b1])!r}")
    return problems


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases(), ids=str)
def test_the_pdf_says_what_the_word_document_says(case: Case):
    docx_data, pdf_data, _ = rendered(case)
    word, headers = word_text(docx_data)
    pdf = pdf_text(pdf_data, docx_data)
    assert len(word) > 100  # a real document, not an empty page
    problems = differences(word, pdf, headers)
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("case", cases(), ids=str)
def test_the_fillable_fields_and_their_values_are_the_same_in_both_formats(case: Case):
    docx_data, pdf_data, context = rendered(case)
    controls = read_content_controls(docx_data)
    fields = pdf_fields(pdf_data)
    # The PDF adds one field of its own: the document id, hidden and read-only, on every document.
    assert fields.pop("doc_id") == context["document"]["id"]
    controls.pop("doc_id", None)
    assert fields == controls


def test_every_kind_and_every_shipped_scheme_is_covered():
    covered = {(c.kind, c.scheme.stem) for c in cases()}
    assert {kind for kind, _ in covered} == set(KINDS)
    assert {scheme for _, scheme in covered} == {p.stem for p in SCHEMES.glob("*.yaml")}


def test_a_changed_word_in_the_pdf_would_be_found():
    """The comparison is not blind: a word dropped or changed is a difference, a repeated header is not."""
    word = ["Total", "for", "the", "year", "£2.00", "£25,462.00"]
    headers = [["Component", "Rate"]]
    assert differences(word, ["Component", "Rate", *word], headers) == []
    assert differences(word, [*word[:-1], "£25,462.01"], headers) != []
    assert differences(word, word[1:], headers) != []


# --- the tagged PDF: what a screen reader reads ----------------------------------------------------


@pytest.mark.parametrize("case", cases(), ids=str)
def test_the_pdf_is_tagged_with_nothing_untagged_unreachable_or_unlabelled(case: Case):
    _, pdf_data, _ = rendered(case)
    assert problems(pdf_data) == []
    roles = {node.role for node in tree(pdf_data)}
    assert {"Document", "H1", "P", "Form"} <= roles


@pytest.mark.parametrize("case", cases(), ids=str)
def test_the_pdf_read_in_structure_order_says_what_the_word_document_says(case: Case):
    """A screen reader follows the structure tree, not the page: in that order the text is the Word
    document's, word for word (list labels, which Word numbers itself, left out of both)."""
    docx_data, pdf_data, _ = rendered(case)
    word, _ = word_text(docx_data)
    spoken = tokens(reading_text(pdf_data, leave_out=frozenset({"Lbl"})))
    # pypdf gives each shown string apart ("2019" and the "." after an issued term, one word in Word)
    problems = differences(_stuck(word), _stuck(spoken), [])
    assert not problems, "\n".join(problems[:20])


def _stuck(words: list[str]) -> list[str]:
    """Words with punctuation that follows a space joined to the word before it (as ``tokens`` reads them)."""
    return tokens(re.sub(r" (?=[.,;:)])", "", " ".join(words)))


def test_pdfinfo_says_the_pdf_is_tagged_and_its_title_names_the_practice():
    _, pdf_data, _ = rendered(Case("section7", QEF, 1))
    info = subprocess.run(
        [require("pdfinfo"), "-"], input=pdf_data, capture_output=True, check=True
    ).stdout.decode()
    assert re.search(r"^Tagged:\s+yes$", info, re.M)
    assert re.search(r"^Title:\s+Section 7 sign-up agreement — Lensfield Medical Practice$", info, re.M)
