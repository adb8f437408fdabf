"""A fillable PDF as a template: fields named after context variables are prefilled and locked.

Many teams already have their forms as fillable PDFs made in Acrobat or LibreOffice. Such a
PDF is a template (``templates/<kind>.pdf``) when its fields are named for what they hold:

* a field named after a context variable — ``practice.name``, ``practice.code``,
  ``scheme.title``, ``terms.term_total`` (or the issued term's own name, ``term_total``) —
  is prefilled with the practice's value and made read-only;
* every other field stays as it is, for the practice to fill (``practice_signatory_name``,
  ``count_phlebotomy`` …); signature fields are kept, unsigned;
* every issued term the form has no field for is added as a hidden read-only field, so a
  return can still be checked against what was issued (``check-template`` lists them);
* the document id goes into the metadata and a hidden read-only ``doc_id`` field, and each
  page gets a footer line ("Document id: …") and the QR code of the id in its bottom-right
  corner, as in every PDF agreementgen writes.

Values are set, and their appearances drawn, by pypdf. The same template and context give
the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from ...errors import RenderError, TemplateError
from . import fonts
from .form import FORM_FONT, form_font_dict, num, show_text
from .page import DOC_ID_FIELD, QR_EDGE, QR_SIZE, DocumentInfo, _draw_qr, _render_lock

__all__ = ["FillablePdf"]

_FOOTER_SIZE = 7.0


def _lookup(context: Mapping[str, Any], name: str) -> str | None:
    """The text of a context variable a field is named after (``practice.name``), else None."""
    terms = context.get("terms") or {}
    if name in terms:
        return str(terms[name])
    value: Any = context
    for segment in name.split("."):
        if isinstance(value, Mapping) and segment in value:
            value = value[segment]
        else:
            return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return None


_DA_SIZE = re.compile(r"([\d.]+)\s+Tf")


def _redraw_prefilled(writer: Any, page: Any, values: Mapping[str, str]) -> None:
    """Draw each prefilled widget's appearance in the form font agreementgen's own fields use
    (Helvetica in WinAnsi plus the Welsh ŵ ŷ Ŵ Ŷ): pypdf draws in the template's font and encoding,
    which turns letters outside it into '?'."""
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, RectangleObject

    font = _form_font_object(writer)
    for ref in page.get("/Annots") or []:
        widget = ref.get_object()
        field = widget
        if "/T" not in widget and "/Parent" in widget:
            field = widget["/Parent"].get_object()
        name = str(field.get("/T", ""))
        if name not in values or widget.get("/FT", field.get("/FT")) != "/Tx":
            continue
        rect = RectangleObject(widget["/Rect"])
        width, height = float(rect.width), float(rect.height)
        found = _DA_SIZE.search(str(widget.get("/DA", field.get("/DA", ""))))
        size = float(found.group(1)) if found else 0.0
        if size <= 0:  # auto size: what fits the box, at most 10 pt
            size = min(10.0, max(height - 4, 4.0))
        baseline = (height - size) / 2 + 0.22 * size
        content = (
            f"/Tx BMC q 1 1 {num(max(width - 2, 0))} {num(max(height - 2, 0))} re W n "
            f"BT /AgHelv {num(size)} Tf 0 g 2 {num(baseline)} Td ".encode()
            + show_text(values[name])
            + b" Tj ET Q EMC"
        )
        stream = DecodedStreamObject()
        stream.set_data(content)
        stream.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): RectangleObject([0, 0, width, height]),
                NameObject("/Resources"): DictionaryObject(
                    {NameObject("/Font"): DictionaryObject({NameObject("/AgHelv"): font})}
                ),
            }
        )
        widget[NameObject("/AP")] = DictionaryObject({NameObject("/N"): writer._add_object(stream)})


def _form_font_object(writer: Any) -> Any:
    """The form font as an indirect object of ``writer`` (one per document)."""
    from pypdf.generic import DictionaryObject

    known = getattr(writer, "_agreementgen_form_font", None)
    if known is None:
        from pypdf.generic import read_object

        parsed = read_object(io.BytesIO(form_font_dict(FORM_FONT)), None)
        assert isinstance(parsed, DictionaryObject)
        known = writer._add_object(parsed)
        writer._agreementgen_form_font = known
    return known


class FillablePdf:
    """A fillable PDF read once; :meth:`fill` gives one practice's document."""

    def __init__(self, path: str | Path) -> None:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        self.path = Path(path)
        try:
            self.data = self.path.read_bytes()
        except OSError as exc:
            raise TemplateError(f"cannot read the template: {exc.strerror}", path=self.path) from exc
        self.sha256 = hashlib.sha256(self.data).hexdigest()
        try:
            reader = PdfReader(io.BytesIO(self.data), strict=False)
            if reader.is_encrypted:
                raise TemplateError(
                    "the PDF template is encrypted: save it without a password", path=self.path
                )
            fields = reader.get_fields() or {}
        except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
            raise TemplateError(f"not a readable PDF ({type(exc).__name__}: {exc})", path=self.path) from exc
        if not fields:
            raise TemplateError(
                "the PDF has no form fields: a PDF template must be fillable (make its fields in Acrobat, "
                "or in LibreOffice with Form Controls, and export as PDF with 'Create PDF form')",
                path=self.path,
            )
        self.fields = {name: str(f.get("/FT", "")) for name, f in fields.items()}

    def prefilled(self, context: Mapping[str, Any]) -> dict[str, str]:
        """The fields this template prefills and locks for ``context``."""
        out: dict[str, str] = {}
        for name, kind in self.fields.items():
            if kind in ("/Tx", "/Ch"):
                value = _lookup(context, name)
                if value is not None:
                    out[name] = value
        return out

    def fill(self, context: Mapping[str, Any], info: DocumentInfo, *, locked: frozenset[str]) -> bytes:
        """One practice's PDF: see the module docstring."""
        try:
            with _render_lock:
                return self._fill(context, info, locked)
        except (RenderError, TemplateError):
            raise
        except Exception as exc:
            raise RenderError(
                f"could not fill the PDF template for {info.doc_id}: {type(exc).__name__}: {exc}",
                path=self.path,
            ) from exc

    def _fill(self, context: Mapping[str, Any], info: DocumentInfo, locked: frozenset[str]) -> bytes:
        from pypdf import PdfReader, PdfWriter
        from pypdf.constants import FieldDictionaryAttributes
        from pypdf.generic import ArrayObject, ByteStringObject

        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(self.data), strict=False))
        values = self.prefilled(context)
        terms = {k: str(v) for k, v in (context.get("terms") or {}).items()}
        read_only = FieldDictionaryAttributes.FfBits.ReadOnly
        for page in writer.pages:
            if "/Annots" in page and values:
                writer.update_page_form_field_values(page, values, flags=read_only, auto_regenerate=False)
                _redraw_prefilled(writer, page, values)
        covered = {name for name in self.fields if _lookup({"terms": terms}, name) is not None}
        covered |= {name.removeprefix("terms.") for name in self.fields}
        hidden = {DOC_ID_FIELD: info.doc_id} if DOC_ID_FIELD not in self.fields else {}
        hidden.update({k: v for k, v in terms.items() if k not in covered and k != DOC_ID_FIELD})
        self._add_hidden_fields(writer, hidden)
        for page in writer.pages:
            box = page.mediabox
            overlay = self._overlay(float(box.width), float(box.height), info)
            page.merge_page(overlay)
        writer.add_metadata(
            {
                "/Title": info.title,
                "/Author": info.author,
                "/Subject": info.subject,
                "/Keywords": ", ".join(info.keywords),
                "/Creator": "agreementgen",
                "/AgreementgenDocumentId": info.doc_id,
                **{f"/{key}": value for key, value in info.custom},
            }
        )
        seed = hashlib.md5(f"{self.sha256}{info.doc_id}".encode(), usedforsecurity=False).digest()
        writer._ID = ArrayObject([ByteStringObject(seed), ByteStringObject(seed)])  # no random id: same bytes
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    def check(self, context: Mapping[str, Any]) -> Any:
        """``check-template`` for a fillable PDF: what it prefills, what it lacks, what stays to fill."""
        from ...context import leaf_paths
        from ..template import TemplateReport
        from .story import Note

        prefilled = self.prefilled(context)
        where = str(self.path)
        # A field named like a variable (it has a dot) that the context does not have.
        missing = sorted(name for name in self.fields if "." in name and name not in prefilled)
        terms = context.get("terms") or {}
        notes = [
            Note(where, "", f"{len(prefilled)} field(s) prefilled and locked: {', '.join(sorted(prefilled))}")
        ]
        absent_terms = [
            k for k in terms if k != DOC_ID_FIELD and k not in self.fields and f"terms.{k}" not in self.fields
        ]
        if absent_terms:
            notes.append(
                Note(
                    where,
                    "",
                    "issued terms the form does not show, kept as hidden fields so a return can be checked: "
                    + ", ".join(absent_terms),
                )
            )
        asked = [
            f["tag"] for f in (context.get("form") or {}).get("fields", []) if f.get("party") == "practice"
        ]
        absent = [tag for tag in asked if tag not in self.fields]
        if absent:
            notes.append(
                Note(
                    where,
                    "",
                    "fields the practice is asked to fill that the form does not have (a return will be "
                    "flagged for each): " + ", ".join(absent),
                )
            )
        used = set(prefilled) | {f"terms.{k}" for k in prefilled if k in terms}
        unused = sorted(
            leaf
            for leaf in leaf_paths(dict(context))
            if leaf and leaf not in used and not leaf.startswith("terms")
        )
        return TemplateReport(missing=missing, unused=unused, notes=notes, fields=sorted(self.fields))

    @staticmethod
    def _add_hidden_fields(writer: Any, values: Mapping[str, str]) -> None:
        from pypdf.generic import (
            ArrayObject,
            DictionaryObject,
            FloatObject,
            NameObject,
            NumberObject,
            TextStringObject,
        )

        if not values:
            return
        page = writer.pages[0]
        acro = writer._root_object["/AcroForm"]
        fields = acro.setdefault(NameObject("/Fields"), ArrayObject())
        annots = page.setdefault(NameObject("/Annots"), ArrayObject())
        for name, value in values.items():
            widget = DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Annot"),
                    NameObject("/Subtype"): NameObject("/Widget"),
                    NameObject("/FT"): NameObject("/Tx"),
                    NameObject("/T"): TextStringObject(name),
                    NameObject("/V"): TextStringObject(value),
                    NameObject("/Ff"): NumberObject(1),
                    NameObject("/F"): NumberObject(2),
                    NameObject("/Rect"): ArrayObject([FloatObject(0)] * 4),
                    NameObject("/DA"): TextStringObject("/Helv 0 Tf 0 g"),
                }
            )
            reference = writer._add_object(widget)
            widget[NameObject("/P")] = page.indirect_reference
            annots.append(reference)
            fields.append(reference)

    @staticmethod
    def _overlay(width: float, height: float, info: DocumentInfo) -> Any:
        from pypdf import PdfReader

        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=(width, height), invariant=1)
        font = fonts.face("sans")
        canvas.setFont(font, _FOOTER_SIZE)
        canvas.setFillGray(0.3)
        canvas.drawString(QR_EDGE + 4, QR_EDGE + 2, f"Document id: {info.doc_id}")
        canvas.saveState()
        canvas.translate(width - QR_SIZE - QR_EDGE, QR_EDGE)
        _draw_qr(canvas, info.doc_id, QR_SIZE)
        canvas.restoreState()
        canvas.showPage()
        canvas.save()
        return PdfReader(io.BytesIO(buffer.getvalue())).pages[0]
