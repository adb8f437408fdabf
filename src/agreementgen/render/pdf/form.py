"""The AcroForm of a PDF: its fields, their widgets, fonts and appearances, written by hand.

Written here rather than with reportlab's ``acroform``, which makes a font object per
field, writes duplicate ``/Font`` keys, has no signature, date or read-only overlay
fields and is slow. Every field a document has goes through :class:`Form`:

* **text** — single or multi-line; fillable (a box to type into) or read-only and
  prefilled. A *date* is a text field with Acrobat's date format actions
  (``AFDate_FormatEx``), so viewers that support them offer a date picker;
* **checkbox** — ``/Btn`` with ``/Yes`` and ``/Off`` appearances;
* **choice** — a drop-down (``/Ch`` combo) with its options;
* **signature** — ``/Sig``, empty, ready for a digital signature (pyHanko, Acrobat);
* **overlay** — a read-only text field over text the page already shows (an issued
  term printed in the flow of a sentence): its value is the text, its appearance is
  empty, so the page text is what every viewer, printer and text extractor sees.

Several widgets may share one name (a Word template may print the same control twice):
they become one field with kids, one value. Field text is Helvetica — the standard font
every viewer and filler (pdftk, PyPDFForm, Acrobat) draws with — in WinAnsiEncoding plus
the Welsh ŵ ŷ Ŵ Ŷ (:func:`form_font_can_show`); it is not embedded, so it can show
whatever is typed. Appearances are never shared between widgets: fillers rewrite a
widget's appearance stream in place.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib import colors
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from .fonts import Raw, memo

__all__ = [
    "FORM_FONT",
    "FORM_FONT_BOLD",
    "Form",
    "Look",
    "form_font_can_show",
    "form_font_dict",
    "form_of",
    "num",
    "show_text",
]

FORM_FONT = "Helvetica"
FORM_FONT_BOLD = "Helvetica-Bold"
_FORM_FONTS = {FORM_FONT: "Helv", FORM_FONT_BOLD: "HeBo", "ZapfDingbats": "ZaDb"}

# Field flags (PDF 32000-1, 12.7.3.1, 12.7.4.3, 12.7.4.4) and annotation flags (12.5.3).
FF_READ_ONLY = 1
FF_MULTILINE = 1 << 12
FF_COMBO = 1 << 17
F_HIDDEN = 2
F_PRINT = 4
F_NO_VIEW = 32

Rect = tuple[float, float, float, float]


def num(value: float) -> str:
    """A number for PDF: at most 3 decimals, no trailing zeros (deterministic, compact)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@functools.lru_cache(maxsize=64)
def _rgb_text(red: float, green: float, blue: float) -> str:
    return f"{num(red)} {num(green)} {num(blue)}"


def _rgb(colour: colors.Color) -> str:
    return _rgb_text(colour.red, colour.green, colour.blue)


def pdf_text(text: str) -> bytes:
    """``text`` as a PDF text string: PDFDocEncoding where it can be, UTF-16BE otherwise."""
    try:
        raw = text.encode("pdfdoc")
    except UnicodeEncodeError:
        raw = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return (
        b"("
        + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r")
        + b")"
    )


def _name(text: str) -> bytes:
    """A PDF name for an export value (``Yes``), with anything unusual #-escaped."""
    out = bytearray(b"/")
    for byte in text.encode("utf-8"):
        out += (
            bytes([byte]) if 0x21 <= byte <= 0x7E and byte not in b"#/()<>[]{}%" else f"#{byte:02X}".encode()
        )
    return bytes(out)


# The form fonts' encoding: WinAnsi (Windows-1252: ASCII, £, €, accented Latin letters, curly
# quotes) plus, in four of its unused codes, the Welsh letters ŵ ŷ Ŵ Ŷ, so that names like
# "Siân Ŵyn" typed by a practice show in the field (pdftk and PyPDFForm encode through it).
_FORM_EXTRA = {
    "Ŵ": (0x81, "Wcircumflex", "W"),
    "ŵ": (0x8D, "wcircumflex", "w"),
    "Ŷ": (0x8F, "Ycircumflex", "Y"),
    "ŷ": (0x90, "ycircumflex", "y"),
}


def _form_encode(text: str) -> bytes | None:
    """``text`` in the form fonts' encoding, or None if it has a character they cannot show."""
    out = bytearray()
    for character in text:
        extra = _FORM_EXTRA.get(character)
        if extra is not None:
            out.append(extra[0])
            continue
        try:
            out += character.encode("cp1252")
        except UnicodeEncodeError:
            return None
    return bytes(out)


def form_font_can_show(text: str) -> bool:
    """Whether a form field (Helvetica, WinAnsi + Welsh letters) can display ``text``."""
    return _form_encode(text) is not None


def show_text(text: str) -> bytes:
    """``text`` as a string for ``Tj`` in the form fonts (a character they lack shows as ``?``)."""
    raw = _form_encode(text)
    if raw is None:
        raw = b"".join(_form_encode(c) or b"?" for c in text)
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


@functools.lru_cache(maxsize=4)
def form_font_dict(font: str) -> bytes:
    """A standard font with the form encoding, and its widths (for the four added letters too)."""
    if font == "ZapfDingbats":
        return b"<< /Type /Font /Subtype /Type1 /BaseFont /ZapfDingbats >>"
    widths = list(pdfmetrics.getFont(font).widths)  # WinAnsi widths, from the font's AFM
    for code, _, like in _FORM_EXTRA.values():
        widths[code] = widths[ord(like)]
    differences = " ".join(f"{code} /{glyph}" for code, glyph, _ in sorted(_FORM_EXTRA.values()))
    return (
        f"<< /Type /Font /Subtype /Type1 /BaseFont /{font} /Encoding << /Type /Encoding "
        f"/BaseEncoding /WinAnsiEncoding /Differences [{differences}] >> /FirstChar 32 /LastChar 255 "
        f"/Widths [{' '.join(str(w) for w in widths[32:256])}] >>"
    ).encode()


def _wrap_lines(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (at spaces; a long word stays whole)."""
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and pdfmetrics.stringWidth(candidate, font, size) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


# Text fields seen before in this process: (head, appearance content, fonts, /MK) by what they show.
_TEXT_FIELDS = memo(4096)


@dataclass(frozen=True)
class Look:
    """How a widget looks: its text, and the box (if any) drawn around it."""

    font: str = FORM_FONT
    size: float = 9.0
    colour: colors.Color = colors.black
    border: colors.Color | None = None
    fill: colors.Color | None = None
    inset: float = 2.0  # text's distance from the box's left edge
    face: str = ""  # an embedded face for values the form font cannot show (the text's own)


@dataclass
class _Field:
    """One named field and the widgets (places on pages) it has."""

    name: str
    head: bytes  # /FT, /V, /Ff, /DA, /TU … shared by every widget
    widgets: list[Any] = field(default_factory=list)
    reference: Any = None  # the field's own object, when it has several widgets


class _Widget(pdfdoc.PDFObject):  # type: ignore[misc]
    """A widget annotation; merged with its field's dictionary when the field has only this one."""

    __RefOnly__ = 1

    def __init__(self, owner: _Field, body: Raw) -> None:
        self.owner = owner
        self.body = body

    def format(self, document: Any) -> bytes:
        owner = self.owner
        body: bytes = self.body.format(document)
        if owner.reference is None:
            return b"<< /Type /Annot /Subtype /Widget " + owner.head + body + b" >>"
        parent: bytes = owner.reference.format(document)
        return b"<< /Type /Annot /Subtype /Widget /Parent " + parent + body + b" >>"


class _Parent(pdfdoc.PDFObject):  # type: ignore[misc]
    __RefOnly__ = 1

    def __init__(self, owner: _Field, kids: list[Any]) -> None:
        self.owner = owner
        self.kids = kids

    def format(self, document: Any) -> bytes:
        kids = b" ".join(k.format(document) for k in self.kids)
        return b"<< " + self.owner.head + b" /Kids [" + kids + b"] >>"


class Form(pdfdoc.PDFObject):  # type: ignore[misc]
    """The document's AcroForm: add fields with the methods below as their places are known."""

    def __init__(self, canv: Canvas) -> None:
        self.canv = canv
        self.fields: dict[str, _Field] = {}
        self.fonts: dict[str, Any] = {}

    # -- shared pieces -------------------------------------------------------------------

    def font_ref(self, font: str) -> tuple[str, Any]:
        name = _FORM_FONTS[font]
        if name not in self.fonts:
            self.fonts[name] = self.canv._doc.Reference(Raw(form_font_dict(font)))
        return name, self.fonts[name]

    def _stream(
        self,
        width: float,
        height: float,
        content: bytes,
        fonts: Sequence[str] = (),
        embedded: Sequence[str] = (),
    ) -> Any:
        """An appearance stream (a form XObject) of its own; ``embedded``: document font subsets it uses."""
        parts: list[Any] = [
            f"<< /Type /XObject /Subtype /Form /BBox [0 0 {num(width)} {num(height)}]".encode()
        ]
        if fonts or embedded:
            parts.append(b" /Resources << /Font <<")
            for font in fonts:
                name, ref = self.font_ref(font)
                parts += [f" /{name} ".encode(), ref]
            for internal in embedded:  # e.g. F3+0, registered under that name when the fonts are written
                parts += [f" /{internal} ".encode(), pdfdoc.PDFObjectReference(internal)]
            parts.append(b" >> >>")
        parts.append(f" /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream")
        return self.canv._doc.Reference(Raw(*parts))

    def _field(self, name: str, head: bytes) -> _Field:
        known = self.fields.get(name)
        if known is None:
            known = self.fields[name] = _Field(name, b"/T " + pdf_text(name) + b" " + head)
        return known

    def _place(
        self, owner: _Field, rect: Rect, appearance: Raw, extra: bytes = b"", flags: int = F_PRINT
    ) -> None:
        """Put a widget of ``owner`` on the current page (``appearance``: its ``/AP`` dictionary)."""
        doc = self.canv._doc
        x0, y0, x1, y1 = rect
        tagger = getattr(self.canv, "tagger", None)  # a tagged document: the widget is a Form element
        key = tagger.widget_key() if tagger is not None else None
        body = Raw(
            f" /Rect [{num(x0)} {num(y0)} {num(x1)} {num(y1)}] /F {flags} /P ".encode(),
            doc.thisPageRef(),
            b" /AP ",
            appearance,
            extra,
            b"" if key is None else b" /StructParent %d" % key,
        )
        widget = _Widget(owner, body)
        self.canv._addAnnotation(widget)  # registers it (as an annotation of this page) first
        reference = doc.Reference(widget)
        owner.widgets.append(reference)
        if tagger is not None and key is not None:
            tagger.widget(key, reference)
        if len(owner.widgets) == 2:  # from now on a field with kids: decided before anything is written
            owner.reference = doc.Reference(_Parent(owner, owner.widgets))

    @staticmethod
    def _normal(stream: Any) -> Raw:
        return Raw(b"<< /N ", stream, b" >>")

    @staticmethod
    def _box(width: float, height: float, look: Look) -> list[bytes]:
        ops: list[bytes] = []
        if look.fill is not None:
            ops.append(f"{_rgb(look.fill)} rg 0 0 {num(width)} {num(height)} re f".encode())
        if look.border is not None:
            box = f"0.375 0.375 {num(width - 0.75)} {num(height - 0.75)} re"
            ops.append(f"{_rgb(look.border)} RG 0.75 w {box} S".encode())
        return ops

    @staticmethod
    def _mk(look: Look, caption: bytes = b"") -> bytes:
        if look.fill is None and look.border is None and not caption:
            return b" /BS << /W 0 >>"
        mk = b" /MK <<" + (f" /BG [{_rgb(look.fill)}]".encode() if look.fill is not None else b"")
        mk += (f" /BC [{_rgb(look.border)}]".encode() if look.border is not None else b"") + caption + b" >>"
        return mk + (b" /BS << /W 0.75 /S /S >>" if look.border is not None else b" /BS << /W 0 >>")

    def _da(self, look: Look) -> str:
        return f"/{self.font_ref(look.font)[0]} {num(look.size)} Tf {_rgb(look.colour)} rg"

    def _embedded_text(self, face: str, size: float, text: str) -> tuple[bytes, list[str]]:
        """``text`` shown in one of the document's embedded faces (for what Helvetica cannot show)."""
        font = pdfmetrics.getFont(face)
        doc = self.canv._doc
        ops: list[bytes] = []
        names: list[str] = []
        for subset, raw in font.splitString(text, doc):
            internal = font.getSubsetInternalName(subset, doc)[1:]
            names.append(internal)
            escaped = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
            ops.append(f"/{internal} {num(size)} Tf (".encode() + escaped + b") Tj")
        return b" ".join(ops), names

    def _text_appearance(self, rect: Rect, value: str, look: Look, multiline: bool) -> Any:
        x0, y0, x1, y1 = rect
        width, height = x1 - x0, y1 - y0
        ops = self._box(width, height, look)
        ops.append(b"/Tx BMC")
        if value and look.face and not multiline and not form_font_can_show(value):
            # A value Helvetica cannot show (Łukasz) is drawn in the document's own embedded font; a
            # filler that changes it redraws it in the field's font as usual.
            boxed = look.border is not None
            left = look.inset if boxed else 0.0
            baseline = (height - look.size) / 2 + 0.22 * look.size if boxed else height - look.size
            shown, names = self._embedded_text(look.face, look.size, value)
            ops.append(
                f"q {num(left)} 0.75 {num(max(width - 2 * left, 0))} {num(max(height - 1.5, 0))} re W n "
                f"BT {_rgb(look.colour)} rg {num(left + (1 if boxed else 0))} {num(baseline)} Td ".encode()
                + shown
                + b" ET Q"
            )
            ops.append(b"EMC")
            return self._stream(width, height, b"\n".join(ops), embedded=names)
        content, fonts = self._text_content(width, height, value, look, multiline)
        return self._stream(width, height, content, fonts)

    def _text_content(
        self, width: float, height: float, value: str, look: Look, multiline: bool
    ) -> tuple[bytes, list[str]]:
        """A text field's appearance in the form fonts: its content stream, and the fonts it uses."""
        ops = self._box(width, height, look)
        ops.append(b"/Tx BMC")
        if value:
            size = look.size
            boxed = look.border is not None
            left = look.inset if boxed else 0.0
            clip = f"q {num(left)} 0.75 {num(max(width - 2 * left, 0))} {num(max(height - 1.5, 0))} re W n"
            if multiline:
                leading = size * 1.15
                lines = _wrap_lines(value, look.font, size, width - 2 * left - 2)
                top = height - (2 if boxed else 0) - size
                ops.append(
                    f"{clip} BT {self._da(look)} {num(leading)} TL {num(left + 1)} {num(top)} Td".encode()
                )
                for number, line in enumerate(lines):
                    ops.append((b"T* " if number else b"") + show_text(line) + b" Tj")
                ops.append(b"ET Q")
            else:
                baseline = (height - size) / 2 + 0.22 * size if boxed else height - size
                start = f"{num(left + (1 if boxed else 0))} {num(baseline)} Td "
                ops.append(f"{clip} BT {self._da(look)} {start}".encode() + show_text(value) + b" Tj ET Q")
        ops.append(b"EMC")
        return b"\n".join(ops), [look.font] if value else []

    # -- the fields ----------------------------------------------------------------------

    def text(
        self,
        name: str,
        value: str,
        rect: Rect,
        *,
        look: Look = Look(),
        multiline: bool = False,
        read_only: bool = False,
        hidden: bool = False,
        tooltip: str = "",
        date_format: str | None = None,
    ) -> None:
        """A text field (a date when ``date_format``, Acrobat's ``dd/mm/yyyy`` form, is given)."""
        x0, y0, x1, y1 = rect
        size = (round(x1 - x0, 3), round(y1 - y0, 3))
        key = (value, size, look, multiline, read_only, tooltip, date_format)
        made = _TEXT_FIELDS.items.get(key)
        if made is None and not (value and look.face and not form_font_can_show(value)):
            head = self._text_head(value, look, multiline, read_only, tooltip, date_format)
            content, fonts = self._text_content(size[0], size[1], value, look, multiline)
            made = (head, content, fonts, self._mk(look))
            _TEXT_FIELDS.admit(key, made)
        if made is not None:  # the same field as in an earlier document: its bytes are known
            head, content, fonts, mk = made
            owner = self._field(name, head)
            appearance = self._stream(size[0], size[1], content, fonts)
            self._place(owner, rect, self._normal(appearance), mk, F_HIDDEN if hidden else F_PRINT)
            return
        # Drawn in the document's own embedded font: made for this document (sizes rounded as above,
        # so that nothing depends on what was rendered before).
        head = self._text_head(value, look, multiline, read_only, tooltip, date_format)
        owner = self._field(name, head)
        appearance = self._text_appearance((0.0, 0.0, *size), value, look, multiline)
        self._place(owner, rect, self._normal(appearance), self._mk(look), F_HIDDEN if hidden else F_PRINT)

    def _text_head(
        self, value: str, look: Look, multiline: bool, read_only: bool, tooltip: str, date_format: str | None
    ) -> bytes:
        flags = (FF_READ_ONLY if read_only else 0) | (FF_MULTILINE if multiline else 0)
        actions = b""
        if date_format:
            fmt = pdf_text(f'AFDate_FormatEx("{date_format}");')
            keys = pdf_text(f'AFDate_KeystrokeEx("{date_format}");')
            actions = (
                b" /AA << /F << /S /JavaScript /JS "
                + fmt
                + b" >> /K << /S /JavaScript /JS "
                + keys
                + b" >> >>"
            )
        head = (
            b"/FT /Tx /V "
            + pdf_text(value)
            + b" /DV "
            + pdf_text(value)
            + f" /Ff {flags} /Q 0 /DA ".encode()
            + pdf_text(self._da(look))
            + (b" /TU " + pdf_text(tooltip) if tooltip else b"")
            + actions
        )
        return head

    def overlay(self, name: str, value: str, rect: Rect, *, tooltip: str = "") -> None:
        """A read-only field over page text that already shows ``value`` (its appearance is empty)."""
        head = (
            b"/FT /Tx /V "
            + pdf_text(value)
            + b" /DV "
            + pdf_text(value)
            + f" /Ff {FF_READ_ONLY} /Q 0 /DA ".encode()
            + pdf_text(self._da(Look()))
            + (b" /TU " + pdf_text(tooltip) if tooltip else b"")
        )
        owner = self._field(name, head)
        x0, y0, x1, y1 = rect
        appearance = self._stream(x1 - x0, y1 - y0, b"")
        self._place(owner, rect, self._normal(appearance), b" /BS << /W 0 >>")

    def checkbox(
        self,
        name: str,
        checked: bool,
        rect: Rect,
        *,
        look: Look = Look(),
        read_only: bool = False,
        tooltip: str = "",
    ) -> None:
        x0, y0, x1, y1 = rect
        width, height = x1 - x0, y1 - y0
        state = b"/Yes" if checked else b"/Off"
        head = (
            b"/FT /Btn /V "
            + state
            + b" /DV "
            + state
            + f" /Ff {FF_READ_ONLY if read_only else 0} /DA ".encode()
            + pdf_text(f"/{self.font_ref('ZapfDingbats')[0]} 0 Tf {_rgb(look.colour)} rg")
            + (b" /TU " + pdf_text(tooltip) if tooltip else b"")
        )
        owner = self._field(name, head)
        box = b"\n".join(self._box(width, height, look))
        size = min(width, height) * 0.8
        tick = (
            f"q BT /ZaDb {num(size)} Tf {_rgb(look.colour)} rg "
            f"{num((width - size * 0.846) / 2)} {num((height - size * 0.7) / 2)} Td (4) Tj ET Q"
        ).encode()
        on = self._stream(width, height, box + b"\n" + tick, ["ZapfDingbats"])
        off = self._stream(width, height, box)
        appearance = Raw(b"<< /N << /Yes ", on, b" /Off ", off, b" >> >>")
        self._place(owner, rect, appearance, b" /AS " + state + self._mk(look, b" /CA (4)"))

    def choice(
        self,
        name: str,
        value: str,
        options: Sequence[tuple[str, str]],
        rect: Rect,
        *,
        look: Look = Look(),
        read_only: bool = False,
        tooltip: str = "",
    ) -> None:
        """A drop-down: ``options`` are (export value, text shown) pairs."""
        opt = b" ".join(
            (b"[" + pdf_text(export) + b" " + pdf_text(shown) + b"]") if export != shown else pdf_text(shown)
            for export, shown in options
        )
        head = (
            b"/FT /Ch /V "
            + pdf_text(value)
            + b" /DV "
            + pdf_text(value)
            + f" /Ff {FF_COMBO | (FF_READ_ONLY if read_only else 0)} /DA ".encode()
            + pdf_text(self._da(look))
            + b" /Opt ["
            + opt
            + b"]"
            + (b" /TU " + pdf_text(tooltip) if tooltip else b"")
        )
        owner = self._field(name, head)
        shown = next((s for e, s in options if e == value), value)
        appearance = self._text_appearance(rect, shown, look, False)
        self._place(owner, rect, self._normal(appearance), self._mk(look))

    def signature(self, name: str, rect: Rect, *, look: Look = Look(), tooltip: str = "") -> None:
        head = b"/FT /Sig" + (b" /TU " + pdf_text(tooltip) if tooltip else b"")
        owner = self._field(name, head)
        x0, y0, x1, y1 = rect
        appearance = self._stream(x1 - x0, y1 - y0, b"\n".join(self._box(x1 - x0, y1 - y0, look)))
        self._place(owner, rect, self._normal(appearance), self._mk(look))

    # -- writing -------------------------------------------------------------------------

    def format(self, document: Any) -> bytes:
        refs = [owner.reference or owner.widgets[0] for owner in self.fields.values() if owner.widgets]
        fields = b" ".join(ref.format(document) for ref in refs)
        fonts = b" ".join(
            f"/{name} ".encode() + ref.format(document) for name, ref in sorted(self.fonts.items())
        )
        return b"<< /Fields [" + fields + b"] /DA (/Helv 0 Tf 0 g) /DR << /Font << " + fonts + b" >> >> >>"


def form_of(canv: Canvas) -> Form:
    """The canvas's form (made, and put in the catalog, on first use)."""
    form: Form | None = getattr(canv, "_agreementgen_form", None)
    if form is None:
        form = canv._agreementgen_form = Form(canv)
        form.font_ref(FORM_FONT)
        canv._doc._catalog.AcroForm = canv._doc.Reference(form)
    return form
