"""The Word-to-PDF writer: a rendered DOCX in, its PDF out, natively with reportlab (no LibreOffice).

A document is written once, as a Word template; the DOCX and the PDF are two renderings of
the same rendered Word document, so they always say the same thing. This package reads
the rendered document's own XML and writes the PDF from it. It knows nothing of schemes.

    word.py       the package, styles (with inheritance), numbering and sections
    story.py      the body, headers and footers → flowables; what it cannot render
    flowables.py  the flowables: paragraphs, tab lines, boxes, cells, inline fields
    form.py       the AcroForm: text, date, checkbox, choice, signature and overlay fields
    fonts.py      Word fonts → the shipped metric-compatible fonts; cached subsets
    page.py       pages, headers and footers, identity (metadata, doc_id field, QR code)
    tags.py       the tagged PDF's structure: elements, marked content, artifacts, the parent tree

The supported subset of Word is listed in the README ("What the PDF writer renders"), and
what is tagged for assistive technology ("Accessible PDFs: what is tagged").
"""

from .page import DOC_ID_FIELD, DocumentInfo, clear_caches, write_pdf
from .story import Note, Unsupported
from .word import WordPackage

__all__ = ["DOC_ID_FIELD", "DocumentInfo", "Note", "Unsupported", "WordPackage", "clear_caches", "write_pdf"]
