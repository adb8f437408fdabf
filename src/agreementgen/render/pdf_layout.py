"""PDF machinery shared by every agreementgen PDF, whatever its layout (reportlab, no LibreOffice).

A layout module (``pdf_<kind>.py``, e.g. ``pdf_section7.py``) turns a context into a
*story* — a list of reportlab flowables made with the helpers below — and calls
:func:`build_pdf`. This module owns everything that is the same in every document:

* **Fonts** — Liberation Sans regular and bold (SIL OFL 1.1, shipped in
  ``agreementgen/fonts`` with its licence), embedded as subsets so that any practice
  name (accents, apostrophes, Welsh ŵ ŷ, ``&``, ``<``) prints as written. They are
  registered once per process (:func:`register_fonts`); the font programs of the
  subsets are cached, so embedding costs little per document.
* **Styles** — :data:`STYLES`, built once; :func:`para`, :func:`bullet` and
  :func:`grid_table` (bordered tables) for the text. Text is always escaped here:
  practice data is data, never markup.
* **Form fields** — :class:`TextField`, a flowable that places an AcroForm text field
  inside the layout (in a table cell, say): fillable, or prefilled read-only for issued
  terms; :class:`SignatureField`, a ``/FT /Sig`` field for a digital signature. The
  form is written here (``_Form``), not with reportlab's acroform, which has no
  signature fields, writes a font object per field and duplicate ``/Font`` keys.
  Field text uses Helvetica — the standard font every viewer and filler (pdftk,
  PyPDFForm, Acrobat) draws with — in WinAnsiEncoding plus the Welsh ŵ ŷ Ŵ Ŷ: ASCII,
  ``£`` and the accented letters of names typed in (``â``, ``Ô``, ``é``, ``ŵ``) show
  (:func:`form_font_can_show`). It is not embedded, so it can show whatever is typed.
* **The page frame** — A4, a header on later pages, and on every page a footer with
  "Page X of Y", the document reference, the document id and a QR code carrying the id
  (so a printed and scanned return can be matched).
* **Identity** — the document id in the Info dictionary (Title, Subject, Keywords and
  the custom key ``/AgreementgenDocumentId``) and in a hidden read-only field ``doc_id``.
* **Determinism** — reportlab's invariant mode: the same story gives the same bytes,
  whatever was rendered before in the process (every cache below is keyed so).
* **Speed** (a bulk run renders thousands of documents) — :func:`static_pages` lays
  out once per process the pages that are the same in every practice's document (the
  scheme's obligations, say) and replays their operators; :class:`Frozen` blocks
  (tables) are laid out and drawn once per scheme with the practice's own cells in
  slots; static paragraphs (``para(..., static=True)``) are parsed, broken and drawn
  once; the embedded font subsets are built and compressed once; the footer and
  header are drawn once per document as forms. Rendering is serialised per process
  (reportlab keeps global state); run documents in parallel with processes, as the
  bulk runner does. :func:`clear_caches` forgets it all (output does not change).

Every failure underneath (reportlab, fonts) reaches callers as :class:`RenderError`.
"""

from __future__ import annotations

import codecs
import copy
import functools
import hashlib
import io
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import SUBSETN, TTFont, makeToUnicodeCMap
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

from ..errors import RenderError

__all__ = [
    "CELL_PADDING",
    "COLOURS",
    "CONTENT_WIDTH",
    "FONT",
    "FONT_BOLD",
    "FORM_FONT",
    "STYLES",
    "DocumentInfo",
    "Frozen",
    "SignatureField",
    "Slot",
    "Stack",
    "StaticPages",
    "Styles",
    "TextField",
    "build_pdf",
    "bullet",
    "clear_caches",
    "form_font_can_show",
    "grid_table",
    "para",
    "register_fonts",
    "static_pages",
]

# --------------------------------------------------------------------------- fonts

FONT = "AgreementgenSans"
FONT_BOLD = "AgreementgenSans-Bold"
FORM_FONT = "Helvetica"  # form fields: a standard font every viewer and filler can draw with
FORM_FONT_BOLD = "Helvetica-Bold"
_FONT_FILES = {FONT: "LiberationSans-Regular.ttf", FONT_BOLD: "LiberationSans-Bold.ttf"}
_fonts_lock = threading.Lock()
_fonts_registered = False
_render_lock = threading.RLock()  # one document at a time per process: reportlab has global state


def register_fonts() -> None:
    """Register the embedded fonts with reportlab (idempotent; once per process)."""
    global _fonts_registered
    if _fonts_registered:
        return
    with _fonts_lock:
        if _fonts_registered:
            return
        folder = resources.files("agreementgen").joinpath("fonts")
        for name, filename in _FONT_FILES.items():
            try:
                data = folder.joinpath(filename).read_bytes()
            except OSError as exc:
                raise RenderError(
                    f"the PDF font {filename} is missing from the installed package ({exc}); "
                    "reinstall agreementgen",
                    path=str(folder),
                ) from exc
            source = io.BytesIO(data)
            source.name = filename
            pdfmetrics.registerFont(_EmbeddedFont(name, source))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
        _fonts_registered = True


class _Memo:
    """A small bounded memo (oldest out first) for per-process caches."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = self.items[key] = make()
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


_SUBSETS = _Memo(256)


class _EmbeddedFont(TTFont):  # type: ignore[misc]
    """A TrueType font whose per-document subset objects are built once per process.

    reportlab builds, for every subset of every document, the font program, its zlib
    compression, the widths array and the ToUnicode map. The documents of a run use
    nearly the same characters in the same order (see :func:`_seed_fonts`), so these
    repeat; they are kept (as finished PDF bytes) for the last few hundred subsets.
    The objects written are those of ``TTFont.addObjects``.
    """

    def addObjects(self, doc: Any) -> None:
        state = self.state.get(doc)
        if state is None:
            return
        state.frozen = 1
        fonts = doc.idToObject["BasicFonts"].dict
        for number, subset in enumerate(state.subsets):
            internal = self.getSubsetInternalName(number, doc)[1:]
            base = (SUBSETN(number) + b"+" + self.face.name + self.face.subfontNameX).decode("pdfdoc")
            key = (self.fontName, number, tuple(subset))
            program, descriptor, cmap, font = _SUBSETS.get(
                key, functools.partial(self._subset_parts, base, subset)
            )
            program_ref = doc.Reference(_Raw(program), f"fontFile:{self.fontName}({base})")
            head, tail = descriptor
            descriptor_ref = doc.Reference(_Raw(head, program_ref, tail), "fontDescriptor:" + base)
            cmap_ref = doc.Reference(_Raw(cmap), "toUnicodeCMap:" + base)
            start, middle, end = font
            font_object = _Raw(start, descriptor_ref, f" /Name /{internal}".encode(), middle, cmap_ref, end)
            doc.Reference(font_object, internal)
            fonts[internal] = font_object
        del self.state[doc]

    def _subset_parts(
        self, base: str, subset: list[int]
    ) -> tuple[bytes, tuple[bytes, bytes], bytes, tuple[bytes, bytes, bytes]]:
        face = self.face
        program = face.makeSubset(subset)
        compressed = zlib.compress(program)
        program_stream = (
            f"<< /Filter /FlateDecode /Length {len(compressed)} /Length1 {len(program)} >>\nstream\n".encode()
            + compressed
            + b"\nendstream"
        )
        flags = (face.flags & ~_FF_NONSYMBOLIC) | _FF_SYMBOLIC
        bbox = " ".join(str(v) for v in face.bbox)
        descriptor = (
            f"<< /Ascent {face.ascent} /CapHeight {face.capHeight} /Descent {face.descent} /Flags {flags}"
            f" /FontBBox [{bbox}] /FontFile2 ".encode(),
            f" /FontName /{base} /ItalicAngle {face.italicAngle}"
            f" /MissingWidth {face.defaultWidth} /StemV {face.stemV} /Type /FontDescriptor >>".encode(),
        )
        cmap = zlib.compress(makeToUnicodeCMap(base, subset).encode("latin-1"))
        cmap_stream = (
            f"<< /Filter /FlateDecode /Length {len(cmap)} >>\nstream\n".encode() + cmap + b"\nendstream"
        )
        widths = " ".join(str(face.getCharWidth(code)) for code in subset)
        font = (
            f"<< /BaseFont /{base} /FirstChar 0 /FontDescriptor ".encode(),
            f" /LastChar {len(subset) - 1} /Subtype /TrueType /ToUnicode ".encode(),
            f" /Type /Font /Widths [{widths}] >>".encode(),
        )
        return program_stream, descriptor, cmap_stream, font


_FF_SYMBOLIC = 1 << 2
_FF_NONSYMBOLIC = 1 << 5


BASE_SEED = "£—–•·‘’“”éèêáàâôöüç"  # common non-ASCII: fixed codes in every document


def _seed_fonts(canv: Canvas, seeds: Sequence[tuple[str, str]] = ()) -> None:
    """Fix, before anything is drawn, the internal names and codes of the embedded fonts.

    A subset font's name (``/F2+0``) and the codes of its non-ASCII characters depend on
    the order in which text is first drawn. Naming the fonts in a fixed order and then
    assigning ``seeds`` (font name, characters in code order; by default
    :data:`BASE_SEED`) makes them the same in every document — what lets
    :class:`StaticPages` and static paragraphs replay content drawn elsewhere.
    """
    doc = canv._doc
    fonts = [pdfmetrics.getFont(name) for name in (FONT, FONT_BOLD)]
    for font in fonts:
        font.getSubsetInternalName(0, doc)
    for name, characters in seeds or ((FONT, BASE_SEED), (FONT_BOLD, BASE_SEED)):
        pdfmetrics.getFont(name).splitString(characters, doc)


def _assigned_characters(canv: Canvas) -> tuple[tuple[str, str], ...]:
    """The non-ASCII characters each embedded font has been given so far, in code order."""
    doc = canv._doc
    seeds = []
    for name in (FONT, FONT_BOLD):
        state = pdfmetrics.getFont(name).state[doc]
        codes = sorted((n, c) for c, n in state.assignments.items() if c > 127)
        seeds.append((name, "".join(chr(c) for _, c in codes)))
    return tuple(seeds)


# --------------------------------------------------------------------------- styles

COLOURS = {
    "blue": colors.HexColor("#005EB8"),  # NHS blue
    "dark_blue": colors.HexColor("#003087"),
    "text": colors.HexColor("#212B32"),
    "secondary": colors.HexColor("#4C6272"),
    "rule": colors.HexColor("#AEB7BD"),
    "pale": colors.HexColor("#E8EDEE"),
    "paler": colors.HexColor("#F4F6F7"),
    "callout": colors.HexColor("#E8F1FA"),
    "field_border": colors.HexColor("#768692"),
    "field_fill": colors.HexColor("#FBFCFD"),
    "white": colors.white,
}

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_LEFT = MARGIN_RIGHT = 20 * mm
MARGIN_TOP = 16 * mm
MARGIN_BOTTOM = 29 * mm  # the footer (with its QR code) lives below the frame
CONTENT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT


@dataclass(frozen=True)
class Styles:
    """The paragraph styles of every agreementgen PDF (build once, share)."""

    title: ParagraphStyle
    subtitle: ParagraphStyle
    kicker: ParagraphStyle
    h2: ParagraphStyle
    h3: ParagraphStyle
    body: ParagraphStyle
    note: ParagraphStyle
    callout: ParagraphStyle
    bullet: ParagraphStyle
    sub_bullet: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    cell_right: ParagraphStyle
    cell_bold_right: ParagraphStyle
    cell_small: ParagraphStyle
    cell_head: ParagraphStyle
    cell_head_right: ParagraphStyle
    label: ParagraphStyle


def _make_styles() -> Styles:
    text = COLOURS["text"]
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13.2, textColor=text, spaceAfter=5)
    cell = ParagraphStyle("cell", parent=base, fontSize=9, leading=11.6, spaceAfter=0)
    cell_bold = ParagraphStyle("cell_bold", parent=cell, fontName=FONT_BOLD)
    head = ParagraphStyle("cell_head", parent=cell_bold, textColor=COLOURS["dark_blue"])
    return Styles(
        title=ParagraphStyle(
            "title", parent=base, fontName=FONT_BOLD, fontSize=17, leading=21, spaceAfter=2, textColor=text
        ),
        subtitle=ParagraphStyle(
            "subtitle", parent=base, fontSize=13.5, leading=17, spaceAfter=10, textColor=COLOURS["blue"]
        ),
        kicker=ParagraphStyle(
            "kicker", parent=base, fontName=FONT_BOLD, fontSize=10.5, leading=13, textColor=COLOURS["blue"]
        ),
        h2=ParagraphStyle(
            "h2",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=12.5,
            leading=16,
            spaceBefore=11,
            spaceAfter=5,
            textColor=COLOURS["dark_blue"],
            keepWithNext=1,
        ),
        h3=ParagraphStyle(
            "h3",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=10,
            leading=13.5,
            spaceBefore=6,
            spaceAfter=3,
            keepWithNext=1,
        ),
        body=base,
        note=ParagraphStyle("note", parent=base, fontSize=8.5, leading=11, textColor=COLOURS["secondary"]),
        callout=ParagraphStyle("callout", parent=base, spaceAfter=0),
        bullet=ParagraphStyle("bullet", parent=base, leftIndent=14, bulletIndent=3, spaceAfter=3),
        sub_bullet=ParagraphStyle(
            "sub_bullet", parent=base, leftIndent=28, bulletIndent=17, spaceAfter=2, fontSize=9, leading=12.4
        ),
        cell=cell,
        cell_bold=cell_bold,
        cell_right=ParagraphStyle("cell_right", parent=cell, alignment=TA_RIGHT),
        cell_bold_right=ParagraphStyle("cell_bold_right", parent=cell_bold, alignment=TA_RIGHT),
        cell_small=ParagraphStyle(
            "cell_small", parent=cell, fontSize=8, leading=10.2, textColor=COLOURS["secondary"]
        ),
        cell_head=head,
        cell_head_right=ParagraphStyle("cell_head_right", parent=head, alignment=TA_RIGHT),
        label=ParagraphStyle("label", parent=cell_bold, alignment=TA_LEFT),
    )


STYLES = _make_styles()


class _StaticParagraph(Paragraph):  # type: ignore[misc]
    """A paragraph of fixed text, parsed, broken into lines and drawn once per process.

    Scheme text and labels are the same in every practice's document. Each use is a
    shallow copy of one parsed paragraph (its :class:`_Prototype`), which keeps the line
    breaks for every width asked and the drawing operators for each (width, canvas text
    state, codes of the text's non-ASCII characters in this document's fonts): when all
    of those match, the operators are replayed rather than rebuilt. Text whose
    characters have no fixed code yet is drawn as usual. Parts made by splitting are
    plain paragraphs.
    """

    _proto: _Prototype | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        proto = self._proto
        if proto is None:
            result: tuple[float, float] = super().wrap(availWidth, availHeight)
            return result
        known = proto.wraps.get(availWidth)
        if known is None:
            super().wrap(availWidth, availHeight)
            state = self.__dict__
            known = proto.wraps[availWidth] = tuple(state[k] for k in _WRAP_STATE)
        else:
            self.__dict__.update(zip(_WRAP_STATE, known, strict=True))
        return known[0], known[1]

    def draw(self) -> None:
        proto = self._proto
        canv = self.canv
        codes = None if proto is None else _font_codes(canv, proto.special)
        if proto is None or codes is None:
            super().draw()
            return
        key = (proto.key, self.width, self.height, _text_state(canv), codes)
        code = _DRAWN.items.get(key)
        if code is not None:
            canv._code.extend(code)
            return
        start, annotations, forms = len(canv._code), len(canv._annotationrefs), len(canv._formsinuse)
        super().draw()
        if len(canv._annotationrefs) == annotations and len(canv._formsinuse) == forms:
            _DRAWN.get(key, lambda: tuple(canv._code[start:]))


_WRAP_STATE = ("width", "height", "blPara", "_wrapWidths")  # what Paragraph.wrap sets


@dataclass
class _Prototype:
    """One parsed static paragraph and what is known about it: line breaks by width."""

    key: tuple[str, str]
    paragraph: _StaticParagraph
    special: str  # its non-ASCII characters
    wraps: dict[float, tuple[Any, ...]] = field(default_factory=dict)

    @classmethod
    def make(cls, source: str, style: ParagraphStyle) -> _Prototype:
        special = "".join(sorted({c for c in source if ord(c) > 127}))
        return cls((source, style.name), _StaticParagraph(source, style), special)

    def use(self) -> _StaticParagraph:
        paragraph: _StaticParagraph = copy.copy(self.paragraph)
        paragraph._proto = self
        return paragraph


_PARAGRAPHS = _Memo(4096)
_DRAWN = _Memo(8192)


def _font_codes(canv: Canvas, characters: str) -> tuple[Any, ...] | None:
    """The internal names and codes of ``characters`` in this document's fonts (None if unset)."""
    doc = canv._doc
    result: list[Any] = []
    for name in (FONT, FONT_BOLD):
        state = pdfmetrics.getFont(name).state.get(doc)
        if state is None or state.internalName is None:
            return None
        result.append(state.internalName)
        for character in characters:
            code = state.assignments.get(ord(character))
            if code is None:
                return None
            result.append(code)
    return tuple(result)


def _text_state(canv: Canvas) -> tuple[Any, ...]:
    """The canvas state a paragraph's operators depend on."""
    return (
        canv._fontname,
        canv._fontsize,
        canv._leading,
        repr(canv._fillColorObj),
        repr(canv._strokeColorObj),
        getattr(canv, "_charSpace", 0),
        getattr(canv, "_wordSpace", 0),
        getattr(canv, "_horizScale", 100),
        getattr(canv, "_textRenderMode", 0),
        getattr(canv, "_rise", 0),
    )


def para(
    text: str, style: ParagraphStyle | None = None, *, markup: bool = False, static: bool = False
) -> Paragraph:
    """A paragraph of ``text`` (escaped unless ``markup``: practice data is never markup).

    ``static=True`` is for text that is the same in every document (scheme text,
    labels): the paragraph is made, broken and drawn once per process, then reused.
    """
    style = style or STYLES.body
    source = text if markup else escape(text)
    if not static:
        return Paragraph(source, style)
    proto: _Prototype = _PARAGRAPHS.get(
        (source, style.name), functools.partial(_Prototype.make, source, style)
    )
    return proto.use()


def bullet(text: str, *, level: int = 0, static: bool = False) -> Paragraph:
    """A bulleted paragraph (``level`` 1 is a sub-item)."""
    style = STYLES.sub_bullet if level else STYLES.bullet
    mark = "–" if level else "•"
    return para(f"<bullet>{mark}</bullet>{escape(text)}", style, markup=True, static=static)


CELL_PADDING = 5.0  # left and right, in every grid_table cell
TABLE_SPACE_BEFORE, TABLE_SPACE_AFTER = 2.0, 8.0


def grid_table(
    rows: Sequence[Sequence[Any]],
    col_widths: Sequence[float],
    *,
    header: bool = True,
    total: bool = False,
    label_column: bool = False,
    extra: Iterable[tuple[Any, ...]] = (),
) -> Table:
    """A bordered table: grid lines, a shaded header row, an optional bold total row.

    ``label_column`` shades the first column (label | value tables). Column widths are
    fixed (they must add up to at most :data:`CONTENT_WIDTH`), so nothing is measured twice.
    """
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, COLOURS["rule"]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), COLOURS["pale"]))
    if label_column:
        commands.append(("BACKGROUND", (0, 1 if header else 0), (0, -1), COLOURS["paler"]))
    if total:
        commands += [
            ("BACKGROUND", (0, -1), (-1, -1), COLOURS["paler"]),
            ("LINEABOVE", (0, -1), (-1, -1), 1, COLOURS["secondary"]),
        ]
    commands += list(extra)
    table = Table(
        [list(row) for row in rows],
        colWidths=list(col_widths),
        repeatRows=1 if header else 0,
        hAlign="LEFT",
        spaceBefore=TABLE_SPACE_BEFORE,
        spaceAfter=TABLE_SPACE_AFTER,
    )
    table.setStyle(TableStyle(commands))
    return table


# --------------------------------------------------------------------------- form fields

FIELD_HEIGHT = 17.0
TERM_HEIGHT = 12.0  # a read-only term sits on a line of table text (9 pt type)

# Field flags (PDF 32000-1, 12.7.3.1 and 12.5.3).
FF_READ_ONLY = 1
F_HIDDEN = 2
F_PRINT = 4

_FORM_FONTS = {FORM_FONT: "Helv", FORM_FONT_BOLD: "HeBo"}


def _pdf_text(text: str) -> bytes:
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


def _show_text(text: str) -> bytes:
    """``text`` as a string for ``Tj`` in the form fonts (a character they lack shows as ``?``)."""
    raw = _form_encode(text)
    if raw is None:
        raw = b"".join(_form_encode(c) or b"?" for c in text)
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


@functools.lru_cache(maxsize=4)
def _form_font_dict(font: str) -> bytes:
    """A standard font with the form encoding, and its widths (for the four added letters too)."""
    widths = list(pdfmetrics.getFont(font).widths)  # WinAnsi widths, from the font's AFM
    for code, _, like in _FORM_EXTRA.values():
        widths[code] = widths[ord(like)]
    differences = " ".join(f"{code} /{glyph}" for code, glyph, _ in sorted(_FORM_EXTRA.values()))
    return (
        f"<< /Type /Font /Subtype /Type1 /BaseFont /{font} /Encoding << /Type /Encoding "
        f"/BaseEncoding /WinAnsiEncoding /Differences [{differences}] >> /FirstChar 32 /LastChar 255 "
        f"/Widths [{' '.join(str(w) for w in widths[32:256])}] >>"
    ).encode()


def _num(value: float) -> str:
    """A number for PDF: at most 3 decimals, no trailing zeros (deterministic, compact)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _rgb(colour: colors.Color) -> str:
    return _rgb_text(colour.red, colour.green, colour.blue)


@functools.lru_cache(maxsize=64)
def _rgb_text(red: float, green: float, blue: float) -> str:
    return f"{_num(red)} {_num(green)} {_num(blue)}"


class _Raw(pdfdoc.PDFObject):  # type: ignore[misc]
    """An indirect PDF object written as is: bytes, and references (``n 0 R``) resolved at save.

    Parts are kept apart, never spliced into text, so no value (a practice's typed name,
    say) can be mistaken for a reference.
    """

    __RefOnly__ = 1

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def format(self, document: Any) -> bytes:
        return b"".join(p if isinstance(p, bytes) else p.format(document) for p in self.parts)


class _Form(pdfdoc.PDFObject):  # type: ignore[misc]
    """The document's AcroForm: its fields, their fonts and their (shared) appearances.

    Written here rather than with reportlab's acroform, which makes a font object per
    field, writes duplicate ``/Font`` keys, has no signature fields and is slow.
    """

    def __init__(self, canv: Canvas) -> None:
        self.canv = canv
        self.fields: list[Any] = []
        self.fonts: dict[str, Any] = {}
        self.recording: list[tuple[str, tuple[Any, ...], dict[str, Any]]] | None = None

    def font_ref(self, font: str) -> tuple[str, Any]:
        name = _FORM_FONTS[font]
        if name not in self.fonts:
            self.fonts[name] = self.canv._doc.Reference(_Raw(_form_font_dict(font)))
        return name, self.fonts[name]

    def appearance(self, width: float, height: float, content: bytes, font: str | None) -> Any:
        """A field's own appearance stream.

        Never shared between fields, though many are identical: fillers (pypdf among them)
        rewrite a field's appearance stream in place, which would show one field's new
        value in every field sharing the stream.
        """
        parts: list[Any] = [
            f"<< /Type /XObject /Subtype /Form /BBox [0 0 {_num(width)} {_num(height)}]".encode()
        ]
        if font:
            name, font_ref = self.font_ref(font)
            parts += [f" /Resources << /Font << /{name} ".encode(), font_ref, b" >> >>"]
        parts.append(f" /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream")
        return self.canv._doc.Reference(_Raw(*parts))

    def add(
        self, head: bytes, rect: tuple[float, float, float, float], appearance: Any, tail: bytes = b""
    ) -> None:
        """Add a field (a merged field/widget dictionary: ``head``, place, ``tail``) on this page."""
        doc = self.canv._doc
        x0, y0, x1, y1 = rect
        field_object = _Raw(
            head,
            f" /Rect [{_num(x0)} {_num(y0)} {_num(x1)} {_num(y1)}] /P ".encode(),
            doc.thisPageRef(),
            b" /AP << /N ",
            appearance,
            b" >>",
            tail,
            b" >>",
        )
        self.canv._addAnnotation(field_object)
        self.fields.append(doc.Reference(field_object))

    def text_field(
        self,
        name: str,
        value: str,
        rect: tuple[float, float, float, float],
        *,
        font: str = FORM_FONT,
        size: float = 9,
        colour: colors.Color = colors.black,
        border: colors.Color | None = None,
        fill: colors.Color | None = None,
        read_only: bool = False,
        hidden: bool = False,
        tooltip: str = "",
        inset: float = 0.0,
    ) -> None:
        if self.recording is not None:
            self.recording.append(
                (
                    "text_field",
                    (name, value, rect),
                    {
                        "font": font,
                        "size": size,
                        "colour": colour,
                        "border": border,
                        "fill": fill,
                        "read_only": read_only,
                        "hidden": hidden,
                        "tooltip": tooltip,
                        "inset": inset,
                    },
                )
            )
        x0, y0, x1, y1 = rect
        width, height = x1 - x0, y1 - y0
        font_name, _ = self.font_ref(font)
        da = f"/{font_name} {_num(size)} Tf {_rgb(colour)} rg"
        ops: list[bytes] = []
        if fill is not None:
            ops.append(f"{_rgb(fill)} rg 0 0 {_num(width)} {_num(height)} re f".encode())
        if border is not None:
            box = f"0.375 0.375 {_num(width - 0.75)} {_num(height - 0.75)} re"
            ops.append(f"{_rgb(border)} RG 0.75 w {box} S".encode())
        ops.append(b"/Tx BMC")
        if value:
            baseline = _baseline(height, size, boxed=border is not None)
            ops.append(
                f"q {_num(inset)} 0.75 {_num(width - 2 * inset)} {_num(height - 1.5)} re W n BT {da} "
                f"{_num(inset + (2 if border else 0))} {_num(baseline)} Td ".encode()
                + _show_text(value)
                + b" Tj ET Q"
            )
        ops.append(b"EMC")
        appearance = self.appearance(width, height, b"\n".join(ops), font if value else None)
        mk = b""
        if fill is not None or border is not None:
            mk = b" /MK <<" + (f" /BG [{_rgb(fill)}]".encode() if fill is not None else b"")
            mk += (f" /BC [{_rgb(border)}]".encode() if border is not None else b"") + b" >>"
        bs = b" /BS << /W 0.75 /S /S >>" if border is not None else b" /BS << /W 0 >>"
        flags = F_HIDDEN if hidden else F_PRINT
        head = (
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T "
            + _pdf_text(name)
            + (b" /TU " + _pdf_text(tooltip) if tooltip else b"")
            + b" /V "
            + _pdf_text(value)
            + b" /DV "
            + _pdf_text(value)
            + f" /Ff {FF_READ_ONLY if read_only else 0} /F {flags} /Q 0 /DA ".encode()
            + _pdf_text(da)
            + mk
            + bs
        )
        self.add(head, rect, appearance)

    def signature_field(self, name: str, rect: tuple[float, float, float, float], tooltip: str = "") -> None:
        if self.recording is not None:
            self.recording.append(("signature_field", (name, rect), {"tooltip": tooltip}))
        x0, y0, x1, y1 = rect
        appearance = self.appearance(x1 - x0, y1 - y0, b"", None)
        head = (
            b"<< /Type /Annot /Subtype /Widget /FT /Sig /T "
            + _pdf_text(name)
            + (b" /TU " + _pdf_text(tooltip) if tooltip else b"")
            + f" /F {F_PRINT}".encode()
        )
        self.add(head, rect, appearance)

    def format(self, document: Any) -> bytes:
        fields = b" ".join(ref.format(document) for ref in self.fields)
        fonts = b" ".join(
            f"/{name} ".encode() + ref.format(document) for name, ref in sorted(self.fonts.items())
        )
        return b"<< /Fields [" + fields + b"] /DA (/Helv 0 Tf 0 g) /DR << /Font << " + fonts + b" >> >> >>"


def _form(canv: Canvas) -> _Form:
    """The canvas's form (made, and put in the catalog, on first use)."""
    form = getattr(canv, "_agreementgen_form", None)
    if form is None:
        form = canv._agreementgen_form = _Form(canv)
        form.font_ref(FORM_FONT)
        canv._doc._catalog.AcroForm = canv._doc.Reference(form)
    return form


def _baseline(height: float, size: float, *, boxed: bool) -> float:
    """Where a field's text sits: centred in a box, or as a paragraph's first line would."""
    return (height - size) / 2 + 0.22 * size if boxed else height - size


def _absolute_rect(canv: Canvas, width: float, height: float) -> tuple[float, float, float, float]:
    x0, y0 = canv.absolutePosition(0, 0)
    x1, y1 = canv.absolutePosition(width, height)
    return (x0, y0, x1, y1)


class _FieldFlowable(Flowable):  # type: ignore[misc]
    """A form field placed where it falls in the layout: as wide as given, or as its cell."""

    def __init__(self, name: str, width: float | None, height: float, tooltip: str) -> None:
        super().__init__()
        self.name = name
        self.field_width = width
        self.height = height
        self.tooltip = tooltip
        self.width = width or 0.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = self.field_width or availWidth
        return self.width, self.height


class TextField(_FieldFlowable):
    """An AcroForm text field placed where the flowable falls in the layout.

    ``read_only`` fields are issued terms: prefilled, locked (``Ff`` bit 1), drawn without
    a box so they read like the text around them, and with the same value also written
    as invisible page text underneath, so that text search, copy and text extraction see
    it. Fillable fields are boxes a practice types into. ``width=None`` takes the width
    available (a table cell's). Values are shown in Helvetica (WinAnsi: ASCII, ``£``,
    accented Latin letters); a value it cannot show should not be prefilled.
    """

    def __init__(
        self,
        name: str,
        value: str = "",
        *,
        width: float | None = None,
        height: float | None = None,
        read_only: bool = False,
        bold: bool = False,
        font_size: float = 9,
        tooltip: str = "",
    ) -> None:
        super().__init__(name, width, height or (TERM_HEIGHT if read_only else FIELD_HEIGHT), tooltip)
        self.value = value
        self.read_only = read_only
        self.bold = bold
        self.font_size = font_size

    def draw(self) -> None:
        canv = self.canv
        size = self.font_size
        form = _form(canv)
        rect = _absolute_rect(canv, self.width, self.height)
        font = FORM_FONT_BOLD if self.bold else FORM_FONT
        if self.read_only:
            if self.value:  # the same text, invisible, where the appearance shows it
                text = canv.beginText(0, _baseline(self.height, size, boxed=False))
                text.setTextRenderMode(3)
                text.setFont(FONT_BOLD if self.bold else FONT, size)
                text.textOut(self.value)
                canv.drawText(text)
            look: dict[str, Any] = {"read_only": True}
        else:  # a box to type into
            look = {"border": COLOURS["field_border"], "fill": COLOURS["field_fill"], "inset": 1.5}
        form.text_field(
            self.name,
            self.value,
            rect,
            font=font,
            size=size,
            colour=COLOURS["text"],
            tooltip=self.tooltip,
            **look,
        )


class SignatureField(_FieldFlowable):
    """A digital-signature field (``/FT /Sig``) in a dashed box, ready to sign with pyHanko."""

    def __init__(
        self, name: str, *, width: float | None = None, height: float = 44, tooltip: str = ""
    ) -> None:
        super().__init__(name, width, height, tooltip)

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.setStrokeColor(COLOURS["field_border"])
        canv.setFillColor(COLOURS["field_fill"])
        canv.setDash(3, 2)
        canv.setLineWidth(0.75)
        canv.rect(0, 0, self.width, self.height, stroke=1, fill=1)
        canv.restoreState()
        _form(canv).signature_field(self.name, _absolute_rect(canv, self.width, self.height), self.tooltip)


# --------------------------------------------------------------------------- frozen blocks


class Slot(Flowable):  # type: ignore[misc]
    """Where a :class:`Frozen` block's per-document content goes (it draws nothing itself)."""

    def __init__(self, index: int, width: float, height: float) -> None:
        super().__init__()
        self.index = index
        self.slot_width = width
        self.width = width
        self.height = height

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if abs(availWidth - self.slot_width) > 0.01:
            raise RenderError(
                f"a frozen block's slot {self.index} was given {availWidth:.2f} pt but its content "
                f"was laid out for {self.slot_width:.2f} pt (the layout's cell widths are wrong)"
            )
        return self.width, self.height

    def draw(self) -> None:
        places = getattr(self.canv, "_agreementgen_slots", None)
        if places is not None:
            places[self.index] = self.canv.absolutePosition(0, 0)


class Stack(Flowable):  # type: ignore[misc]
    """Flowables one under another, as one (for a slot that holds a few paragraphs)."""

    def __init__(self, parts: Sequence[Flowable]) -> None:
        super().__init__()
        self.parts = list(parts)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        self.height = sum(part.wrapOn(self.canv, availWidth, availHeight)[1] for part in self.parts)
        return self.width, self.height

    def draw(self) -> None:
        y = self.height
        for part in self.parts:
            y -= part.height
            part.drawOn(self.canv, 0, y)


@dataclass
class _FrozenLayout:
    block: Flowable
    size: tuple[float, float]
    drawings: dict[Any, tuple[tuple[str, ...], tuple[Any, ...], tuple[tuple[float, float], ...]]] = field(
        default_factory=dict
    )


_FROZEN = _Memo(512)
_DRAWINGS_PER_LAYOUT = 16  # font states remembered per layout (unusual names each make one)


class Frozen(Flowable):  # type: ignore[misc]
    """A block (a table, usually) laid out and drawn once per process; per-document parts in slots.

    ``build(slots)`` makes the block with a :class:`Slot` where each per-document
    flowable (``fills``, each with the width its cell gives it) goes. ``key`` must name
    everything else the block shows. The block is laid out once for each (key, width,
    heights of the fills) and drawn once for each document font state; every document
    then gets the recorded operators and form fields, and only its fills are drawn, at
    the places their slots took. The result is the same as laying the block out anew.
    """

    def __init__(
        self,
        key: Any,
        build: Callable[[list[Slot]], Flowable],
        fills: Sequence[tuple[Flowable, float]] = (),
        *,
        space_before: float = TABLE_SPACE_BEFORE,
        space_after: float = TABLE_SPACE_AFTER,
    ) -> None:
        super().__init__()
        self.spaceBefore = space_before
        self.spaceAfter = space_after
        self.key = key
        self.build = build
        self.fills = list(fills)
        self.layout: _FrozenLayout | None = None
        self.layout_key: Any = None
        self.width: float = 0.0
        self.height: float = 0.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        heights = tuple(fill.wrapOn(self.canv, width, availHeight)[1] for fill, width in self.fills)
        self.layout_key = (self.key, availWidth, heights)

        def make() -> _FrozenLayout:
            slots = [
                Slot(i, width, h) for i, ((_, width), h) in enumerate(zip(self.fills, heights, strict=True))
            ]
            block = self.build(slots)
            return _FrozenLayout(block, block.wrapOn(self.canv, availWidth, availHeight))

        self.layout = _FROZEN.get(self.layout_key, make)
        self.width, self.height = self.layout.size
        return self.layout.size

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        return []  # a frozen block moves to the next page whole

    def draw(self) -> None:
        canv = self.canv
        layout = self.layout
        assert layout is not None, "wrap before draw"
        state = (_text_state(canv), _font_signature(canv))
        drawing = layout.drawings.get(state)
        if drawing is None:
            places = self._draw_and_record(layout, state)
        else:
            code, fields, places = drawing
            canv._code.extend(code)
            form = _form(canv) if fields else None
            x, y = canv.absolutePosition(0, 0)
            for method, args, kwargs in fields:
                getattr(form, method)(*args[:-1], _shift(args[-1], x, y), **kwargs)
        for (fill, _), (px, py) in zip(self.fills, places, strict=True):
            fill.drawOn(canv, px, py)

    def _draw_and_record(self, layout: _FrozenLayout, state: Any) -> tuple[tuple[float, float], ...]:
        """Draw the block (slots empty); keep its operators, fields and slot places if replayable."""
        canv = self.canv
        form = _form(canv)
        x, y = canv.absolutePosition(0, 0)
        start, annotations, forms = len(canv._code), len(canv._annotationrefs), len(canv._formsinuse)
        form.recording, canv._agreementgen_slots = [], {}
        try:
            layout.block.drawOn(canv, 0, 0)
            recorded, places = form.recording, canv._agreementgen_slots
        finally:
            form.recording, canv._agreementgen_slots = None, None
        slot_places = tuple((places[i][0] - x, places[i][1] - y) for i in range(len(self.fills)))
        fields_only = len(canv._annotationrefs) - annotations == len(recorded)
        unchanged = (_text_state(canv), _font_signature(canv)) == state  # no character got a new code
        room = len(layout.drawings) < _DRAWINGS_PER_LAYOUT
        if fields_only and unchanged and room and len(canv._formsinuse) == forms:
            fields = tuple((m, (*args[:-1], _shift(args[-1], -x, -y)), kw) for m, args, kw in recorded)
            layout.drawings[state] = (tuple(canv._code[start:]), fields, slot_places)
        return slot_places


def _shift(
    rect: tuple[float, float, float, float], dx: float, dy: float
) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = rect
    return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)


def _font_signature(canv: Canvas) -> tuple[Any, ...]:
    """The embedded fonts' names and non-ASCII codes so far in this document (what text encodes to)."""
    doc = canv._doc
    signature: list[Any] = []
    for name in (FONT, FONT_BOLD):
        state = pdfmetrics.getFont(name).state.get(doc)
        if state is not None:
            signature += [state.internalName, state.nextCode, len(state.assignments)]
            signature += sorted((n, c) for c, n in state.assignments.items() if c > 127)
    return tuple(signature)


# --------------------------------------------------------------------------- static pages


class _CachedPage(Flowable):  # type: ignore[misc]
    """One page of content laid out earlier, replayed as is (it fills the frame)."""

    def __init__(self, code: tuple[str, ...]) -> None:
        super().__init__()
        self.code = code

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return availWidth, availHeight

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:
        canvas._code.extend(self.code)


@dataclass(frozen=True)
class StaticPages:
    """Pages laid out once and replayed into documents (see :func:`static_pages`)."""

    key: str
    seeds: tuple[tuple[str, str], ...]  # (font, non-ASCII characters in code order) to seed
    pages: tuple[tuple[str, ...], ...]

    def flowables(self) -> list[Flowable]:
        """The pages as flowables for a story, each on a page of its own."""
        story: list[Flowable] = []
        for number, code in enumerate(self.pages):
            if number:
                story.append(PageBreak())
            story.append(_CachedPage(code))
        return story


_STATIC = _Memo(32)


class _CaptureCanvas(Canvas):  # type: ignore[misc]
    """A canvas that keeps each page's content instead of caring about the document."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _seed_fonts(self)
        self.captured: list[tuple[str, ...]] = []
        self.seeds: tuple[tuple[str, str], ...] = ()

    def showPage(self) -> None:
        if self._annotationrefs or self._formsinuse:
            raise RenderError("static pages cannot hold form fields, links or forms")
        self.captured.append(tuple(self._code))
        super().showPage()

    def save(self) -> None:
        self.seeds = _assigned_characters(self)  # the document itself is not needed


def static_pages(key_data: Any, make_story: Callable[[], list[Flowable]]) -> StaticPages:
    """Lay out ``make_story()`` on whole pages once per process, keyed by ``key_data``.

    ``key_data`` must capture everything the story depends on (it is hashed as its
    ``repr``). The pages must not contain form fields. The result goes into a story
    through :meth:`StaticPages.flowables` and :func:`build_pdf`'s ``static`` argument,
    which seeds the fonts so that the replayed text encodes exactly as it was laid out.
    """
    key = hashlib.sha256(repr(key_data).encode("utf-8")).hexdigest()

    def make() -> StaticPages:
        doc = _DocTemplate(io.BytesIO(), None)
        try:
            doc.build(make_story(), canvasmaker=_CaptureCanvas)
        except RenderError:
            raise
        except Exception as exc:
            raise RenderError(f"could not lay out the static pages: {type(exc).__name__}: {exc}") from exc
        return StaticPages(key=key, seeds=doc.canv.seeds, pages=tuple(doc.canv.captured))

    register_fonts()
    with _render_lock:
        pages: StaticPages = _STATIC.get(key, make)
    return pages


# --------------------------------------------------------------------------- the document


@dataclass(frozen=True)
class DocumentInfo:
    """Who and what a PDF is: printed in the footer and written into its metadata."""

    doc_id: str
    reference: str
    title: str
    subject: str
    author: str
    keywords: tuple[str, ...] = ()
    header_left: str = ""
    header_right: str = ""
    custom: tuple[tuple[str, str], ...] = field(default=())  # extra Info keys, e.g. a digest


def document_info(
    context: dict[str, Any], *, subject: str, header_left: str, title: str = ""
) -> DocumentInfo:
    """The :class:`DocumentInfo` of a document built from an agreementgen context."""
    document, scheme, practice = context["document"], context["scheme"], context["practice"]
    return DocumentInfo(
        doc_id=document["id"],
        reference=document["reference"],
        title=f"{title or document['title']} — {document['id']}",
        subject=subject,
        author=context["commissioner"]["name"],
        keywords=(document["id"], scheme["id"], f"v{scheme['version']}", practice["code"], document["kind"]),
        header_left=header_left,
        header_right=f"{document['title']} · {practice['code']}",
        custom=(("AgreementgenTermsDigest", document["terms_digest"]),),
    )


class _Info(pdfdoc.PDFInfo):  # type: ignore[misc]
    """reportlab's Info dictionary plus our own keys (``/AgreementgenDocumentId`` ...)."""

    extra: tuple[tuple[str, str], ...] = ()

    def format(self, document: Any) -> bytes:
        entries = {
            "Title": pdfdoc.PDFString(self.title),
            "Author": pdfdoc.PDFString(self.author),
            "Subject": pdfdoc.PDFString(self.subject),
            "Keywords": pdfdoc.PDFString(self.keywords),
            "Creator": pdfdoc.PDFString(self.creator),
            "Producer": pdfdoc.PDFString(self.producer),
            "CreationDate": pdfdoc.PDFDate(ts=document._timeStamp, dateFormatter=self._dateFormatter),
            "ModDate": pdfdoc.PDFDate(ts=document._timeStamp, dateFormatter=self._dateFormatter),
            "Trapped": pdfdoc.PDFName(self.trapped),
        }
        for key, value in self.extra:
            entries[key] = pdfdoc.PDFString(value)
        formatted: bytes = pdfdoc.PDFDictionary(entries).format(document)
        return formatted


QR_MASK = 2  # a fixed mask: choosing the 'best' of 8 costs ~6 ms a code; any mask decodes
QR_SIZE = 17 * mm
_PAGE_COUNT_FORM = "agPageCount"
_FOOTER_FORM = "agFooter"
_HEADER_FORM = "agHeader"


_qr_lock = threading.Lock()
_qr_ready = False


def _speed_up_qr_encoder() -> None:
    """Memoise reportlab's Reed-Solomon generator polynomials (once per process).

    ``QRUtil.getErrorCorrectPolynomial(n)`` is a pure function of ``n`` that reportlab
    recomputes for every block of every code — half the time a code takes. The
    polynomial returned is only read by its callers, so sharing it is safe.
    """
    global _qr_ready
    with _qr_lock:
        if not _qr_ready:
            util = qrencoder.QRUtil
            util.getErrorCorrectPolynomial = staticmethod(
                functools.lru_cache(maxsize=64)(util.getErrorCorrectPolynomial)
            )
            _qr_ready = True


def qr_modules(text: str) -> list[list[bool]]:
    """The QR code (level M, fixed mask) of ``text`` as rows of dark (True) / light modules."""
    if not _qr_ready:
        _speed_up_qr_encoder()
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.version = code.calculate_version()
    code.makeImpl(False, QR_MASK)
    modules: list[list[bool]] = code.modules
    return modules


class _DocumentCanvas(Canvas):  # type: ignore[misc]
    """The canvas of one document: seeded fonts, identity, and the forms drawn at save."""

    info: DocumentInfo
    seeds: tuple[tuple[str, str], ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _seed_fonts(self, self.seeds)
        info = _Info()  # the doc template fills in title, author, subject and keywords
        info.extra = (("AgreementgenDocumentId", self.info.doc_id), *self.info.custom)
        self._doc.info = info

    def save(self) -> None:
        pages = self.getPageNumber() - 1
        self.beginForm(_PAGE_COUNT_FORM, lowery=-4, upperx=40, uppery=12)
        self.setFont(FONT, 8)
        self.setFillColor(COLOURS["text"])
        self.drawString(0, 0, str(pages))
        self.endForm()
        self.beginForm(_FOOTER_FORM)
        _draw_footer(self, self.info)
        self.endForm()
        if pages > 1 and (self.info.header_left or self.info.header_right):
            self.beginForm(_HEADER_FORM)
            _draw_header(self, self.info)
            self.endForm()
        _save_without_a85(super().save)


class _FastFlate:
    """``zlib`` as reportlab's pdfdoc sees it during our saves: level 1 instead of 6.

    Measured on the Section 7 PDF: 0.8 ms (6%) less per document for 1.7% bigger files.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    @staticmethod
    def compress(data: bytes, level: int = 1) -> bytes:
        return zlib.compress(data, 1)


def _save_without_a85(save: Callable[[], None]) -> None:
    """Save with page streams Flate-compressed only, at zlib level 1.

    reportlab reads the global ``rl_config.useA85`` (ASCII85 on top of Flate: a quarter
    bigger, and a third of the time spent saving) and its module's ``zlib`` while it writes
    pages; both are switched for the duration of our own save (under ``_render_lock``) and
    put back as they were.
    """
    previous, previous_zlib = rl_config.useA85, pdfdoc.zlib
    rl_config.useA85 = 0
    pdfdoc.zlib = _FastFlate()
    try:
        save()
    finally:
        rl_config.useA85, pdfdoc.zlib = previous, previous_zlib


def _draw_qr(canv: Canvas, text: str, size: float) -> None:
    """Draw the QR code of ``text`` in a ``size`` square: one filled path, a rectangle per run."""
    modules = qr_modules(text)
    count = len(modules)
    quiet = 2  # modules of white margin inside ``size`` (the page margin adds more)
    unit = size / (count + 2 * quiet)
    xs = [_num((quiet + i) * unit) for i in range(count)]
    ys = [_num(size - (quiet + i + 1) * unit) for i in range(count)]
    runs = [_num(n * unit) for n in range(count + 1)]
    height = runs[1]
    ops = ["0 g"]
    for row_number, row in enumerate(modules):
        y = ys[row_number]
        start = -1
        for col, dark in enumerate([*row, False]):
            if dark and start < 0:
                start = col
            elif not dark and start >= 0:
                ops.append(f"{xs[start]} {y} {runs[col - start]} {height} re")
                start = -1
    ops.append("f")
    canv._code.append(" ".join(ops))


class _DocTemplate(BaseDocTemplate):  # type: ignore[misc]
    """A4 pages: one frame; the footer (and a running header after page 1) drawn per page."""

    def __init__(self, target: io.BytesIO, info: DocumentInfo | None) -> None:
        super().__init__(
            target,
            pagesize=A4,
            leftMargin=MARGIN_LEFT,
            rightMargin=MARGIN_RIGHT,
            topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM,
            invariant=1,
            title=info.title if info else "",
            author=info.author if info else "",
            subject=info.subject if info else "",
            keywords=list(info.keywords) if info else [],
            creator="agreementgen",
        )
        self.document_info = info
        frame = Frame(
            MARGIN_LEFT,
            MARGIN_BOTTOM,
            CONTENT_WIDTH,
            PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            id="body",
        )
        if info:
            self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._decorate)])
        else:  # laying out static pages: no page furniture
            self.addPageTemplates([PageTemplate(id="page", frames=[frame])])

    def _decorate(self, canv: Canvas, doc: Any) -> None:
        info = self.document_info
        assert info is not None
        page = canv.getPageNumber()
        canv.saveState()
        left = MARGIN_LEFT
        if page == 1:
            # The hidden, read-only identity field (returns are matched by it).
            _form(canv).text_field(
                "doc_id",
                info.doc_id,
                (left, PAGE_HEIGHT - 14, left + CONTENT_WIDTH, PAGE_HEIGHT - 4),
                size=6,
                read_only=True,
                hidden=True,
                tooltip="Document id",
            )
        elif info.header_left or info.header_right:
            canv.doForm(_HEADER_FORM)
        canv.doForm(_FOOTER_FORM)
        # "Page X of " here; Y is a form drawn once the page count is known (at save).
        canv.setFont(FONT, 8)
        canv.setFillColor(COLOURS["text"])
        x, y = _PAGE_NUMBER_AT
        canv.drawRightString(x, y, f"Page {page} of ")
        canv.translate(x, y)
        canv.doForm(_PAGE_COUNT_FORM)
        canv.restoreState()


_FOOTER_TOP = MARGIN_BOTTOM - 10
_PAGE_NUMBER_AT = (
    PAGE_WIDTH - MARGIN_RIGHT - QR_SIZE - 8 - 9.0,  # room for two digits of the count
    _FOOTER_TOP - 12,
)


def _draw_header(canv: Canvas, info: DocumentInfo) -> None:
    """The running header of pages after the first (drawn once, as a form, used on each)."""
    left, right = MARGIN_LEFT, PAGE_WIDTH - MARGIN_RIGHT
    y = PAGE_HEIGHT - MARGIN_TOP + 16
    canv.setFont(FONT, 8)
    canv.setFillColor(COLOURS["secondary"])
    canv.drawString(left, y, info.header_left)
    canv.drawRightString(right, y, info.header_right)
    canv.setStrokeColor(COLOURS["rule"])
    canv.setLineWidth(0.5)
    canv.line(left, y - 4, right, y - 4)


def _draw_footer(canv: Canvas, info: DocumentInfo) -> None:
    """The footer of every page (drawn once, as a form): reference, id, QR code."""
    left, right = MARGIN_LEFT, PAGE_WIDTH - MARGIN_RIGHT
    top = _FOOTER_TOP
    canv.setStrokeColor(COLOURS["rule"])
    canv.setLineWidth(0.5)
    canv.line(left, top, right, top)
    canv.setFillColor(COLOURS["secondary"])
    canv.setFont(FONT, 8)
    canv.drawString(left, top - 12, f"Document reference: {info.reference}")
    canv.drawString(left, top - 23, f"Document id: {info.doc_id}")
    canv.setFont(FONT, 7)
    canv.drawString(left, top - 34, "Returns are matched by the document id; it is also in the QR code.")
    canv.saveState()
    canv.translate(right - QR_SIZE, top - QR_SIZE - 3)
    _draw_qr(canv, info.doc_id, QR_SIZE)
    canv.restoreState()


def clear_caches() -> None:
    """Forget every per-process cache (static pages, paragraphs, drawings, font subsets).

    Output does not depend on them — the next documents come out byte for byte the same,
    only slower; use it to free memory between runs of different schemes.
    """
    with _render_lock:
        for memo in (_STATIC, _PARAGRAPHS, _DRAWN, _SUBSETS, _FROZEN):
            memo.items.clear()


def build_pdf(story: list[Flowable], info: DocumentInfo, *, static: StaticPages | None = None) -> bytes:
    """Lay out ``story`` on A4 pages with the footer and identity of ``info``; the PDF's bytes.

    ``static`` is the :class:`StaticPages` whose flowables are in the story, if any (its
    characters are seeded into the fonts first). The same arguments give the same bytes.
    """
    register_fonts()
    buffer = io.BytesIO()
    seeds = static.seeds if static else ()
    canvas_class = type("_Canvas", (_DocumentCanvas,), {"info": info, "seeds": seeds})
    doc = _DocTemplate(buffer, info)
    try:
        with _render_lock:
            doc.build(story, canvasmaker=canvas_class)
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError(
            f"could not lay out the PDF for {info.doc_id}: {type(exc).__name__}: {exc}"
        ) from exc
    return buffer.getvalue()
