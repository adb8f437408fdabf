"""A document template compiled once and rendered per context, in every format it can give.

* :class:`WordTemplate` — a ``.docx``: docxtpl renders the Word document
  (:class:`~agreementgen.render.docx.CompiledDocx`), which is saved as the DOCX and written
  as the PDF by the Word-to-PDF writer (:mod:`agreementgen.render.pdf`) from the same
  rendered parts — the two formats cannot say different things.
* :class:`PdfFormTemplate` — a fillable ``.pdf`` made in Acrobat or LibreOffice
  (:mod:`agreementgen.render.pdf.fill`): fields named after context variables are
  prefilled and locked, the rest stay fillable; PDF only.

Both read the same documented parts of a context: ``document`` (id, title, kind,
reference, terms digest), ``scheme.title``, ``practice.code``, ``commissioner.name``,
and ``terms`` — the issued terms, whose fields are always locked, whatever the template says.

:func:`check` is ``check-template``: the variables a template uses that a context lacks
(and those it leaves unused), and — for the PDF — everything the writer cannot render,
what it renders differently, and whether LibreOffice last saved the template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TemplateError
from ..wording import Wording, pdf_marks_of, word_wording
from .docx import CompiledDocx, check_template
from .pdf import DOC_ID_FIELD, DocumentInfo, Note, Unsupported, WordPackage, write_pdf
from .pdf.story import analyse

REVISION_KEY = "AgreementgenRevision"  # the PDF's Info key for the document's revision
DOCUMENT_PART = "word/document.xml"
STYLES_PART = "word/styles.xml"

__all__ = ["PdfFormTemplate", "TemplateReport", "WordTemplate", "check", "compile_template", "document_info"]


def document_info(context: Mapping[str, Any]) -> DocumentInfo:
    """The identity a PDF of ``context`` carries (metadata, hidden ``doc_id`` field, QR code)."""
    document = context["document"]
    scheme = context.get("scheme", {})
    practice = context.get("practice", {})
    doc_id = str(document["id"])
    code = str(practice.get("code", ""))
    return DocumentInfo(
        doc_id=doc_id,
        # What a reader's window and a screen reader announce: the document, and whose it is.
        title=f"{document['title']} — {practice.get('display_name') or practice.get('name') or doc_id}",
        subject=f"{scheme.get('title', '')}: {document['title']} for {code} (document id {doc_id})",
        author=str(context.get("commissioner", {}).get("name", "")),
        keywords=(doc_id, str(scheme.get("id", "")), f"v{scheme.get('version', '')}", code, document["kind"]),
        custom=(
            ("AgreementgenTermsDigest", str(document.get("terms_digest", ""))),
            (REVISION_KEY, str(document.get("revision", 1))),
        ),
    )


def locked_fields(context: Mapping[str, Any]) -> frozenset[str]:
    """The fields always read-only: the issued terms."""
    return frozenset(context.get("terms") or {})


class WordTemplate:
    """A Word template: DOCX and PDF from one rendering of it."""

    formats = ("docx", "pdf")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.compiled = CompiledDocx(self.path)
        self.sha256 = self.compiled.sha256
        # Styles, numbering, theme and settings are the template's own in every document rendered from it.
        self.static_key = WordPackage(self.compiled.template_parts(), label=str(self.path)).static_key()

    def render(self, context: Mapping[str, Any], formats: Iterable[str] = formats) -> dict[str, bytes]:
        """``{format: bytes}`` for one context (same context, same bytes)."""
        return self.issue(context, formats)[0]

    def issue(
        self, context: Mapping[str, Any], formats: Iterable[str] = formats
    ) -> tuple[dict[str, bytes], Wording]:
        """:meth:`render`, and the wording the register keeps: the Word document's words and the
        PDF's pages (:mod:`agreementgen.wording`), read from this same rendering."""
        wanted = list(formats)
        trees: dict[str, Any] = {}  # the rendered parts as parsed to check them: not parsed again
        rendered = self.compiled.render_parts(context, trees)
        body = trees.get(DOCUMENT_PART)
        wording = word_wording(body, self.compiled.raw_part(STYLES_PART)) if body is not None else Wording()
        out: dict[str, bytes] = {}
        if "docx" in wanted:
            out["docx"] = self.compiled.zip(rendered)
        if "pdf" in wanted:
            label = f"{self.path.name} ({_who(context)})"
            package = WordPackage(self.compiled.package(rendered), label=label, static_key=self.static_key)
            out["pdf"] = write_pdf(package, document_info(context), locked=locked_fields(context))
            wording.pages = pdf_marks_of(out["pdf"])
        return out, wording


class PdfFormTemplate:
    """A fillable PDF as a template (PDF only)."""

    formats = ("pdf",)

    def __init__(self, path: str | Path) -> None:
        from .pdf.fill import FillablePdf

        self.path = Path(path)
        self.form = FillablePdf(self.path)
        self.sha256 = self.form.sha256

    def render(self, context: Mapping[str, Any], formats: Iterable[str] = formats) -> dict[str, bytes]:
        return self.issue(context, formats)[0]

    def issue(
        self, context: Mapping[str, Any], formats: Iterable[str] = formats
    ) -> tuple[dict[str, bytes], Wording]:
        """:meth:`render`, and the wording the register keeps: a PDF template has no Word
        document, so its pages alone (a changed page is flagged without a word-by-word diff)."""
        if "pdf" not in list(formats):
            return {}, Wording()
        pdf = self.form.fill(context, document_info(context), locked=locked_fields(context))
        return {"pdf": pdf}, Wording(pages=pdf_marks_of(pdf))


Template = WordTemplate | PdfFormTemplate


def compile_template(path: str | Path) -> Template:
    """A template by its file's content: a Word document or a fillable PDF."""
    path = Path(path)
    try:
        head = path.read_bytes()[:8]
    except OSError as exc:
        reason = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror
        raise TemplateError(f"cannot read the template: {reason}", path=path) from exc
    if head.startswith(b"%PDF"):
        return PdfFormTemplate(path)
    if path.suffix.lower() == ".pdf":
        raise TemplateError(
            "not a PDF file (a PDF template must be a fillable PDF saved from Acrobat or LibreOffice)",
            path=path,
        )
    return WordTemplate(path)


def _who(context: Mapping[str, Any]) -> str:
    try:
        return str(context["document"]["id"])
    except (KeyError, TypeError):
        return "a context"


# --------------------------------------------------------------------------- check-template


@dataclass
class TemplateReport:
    """What ``check-template`` says about a template against a context."""

    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)  # a missing variable -> where it is used
    unsupported: list[Unsupported] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)  # the form fields its documents have
    saved_by: str = ""  # the application that last saved it, where it says
    untagged: int = 0  # content controls that lost their tags (LibreOffice) and keep them in titles

    @property
    def libreoffice(self) -> bool:
        return self.saved_by.lower().startswith("libreoffice")


_APPLICATION = re.compile(rb"<(?:\w+:)?Application>([^<]*)</")


def check(path: str | Path, context: Mapping[str, Any]) -> TemplateReport:
    """``check-template``: compare a template with a context, and find what the PDF cannot show."""
    template = compile_template(path)
    if isinstance(template, PdfFormTemplate):
        checked: TemplateReport = template.form.check(context)
        return checked
    result = check_template(template.path, context)
    report = TemplateReport(missing=result.missing, unused=result.unused, where=result.where)
    compiled = template.compiled
    app = compiled.raw_part("docProps/app.xml") or b""
    found = _APPLICATION.search(app)
    report.saved_by = found.group(1).decode("utf-8", "replace").strip() if found else ""
    # A template that cannot be rendered (a variable missing) is read as it stands.
    parts = compiled.template_parts() if report.missing else compiled.package(compiled.render_parts(context))
    found_in = analyse(WordPackage(parts, label=str(template.path)), locked_fields(context))
    report.unsupported = found_in.unsupported
    report.notes = _unique(found_in.notes)
    # Field names come from rendered documents: with a variable missing, the template's own
    # expressions ({{ f.tag }}) would stand in for them, so none are listed until it renders.
    # The writer adds the hidden doc_id field to every PDF it writes.
    report.fields = [] if report.missing else sorted(found_in.field_names | {DOC_ID_FIELD})
    report.untagged = found_in.untagged
    return report


def _unique(notes: list[Note]) -> list[Note]:
    seen: set[str] = set()
    out = []
    for note in notes:
        if note.what not in seen:
            seen.add(note.what)
            out.append(note)
    return out
