"""The fonts a PDF is printed in: Word's font names mapped to fonts shipped with agreementgen.

A Word template names fonts (``Arial``, ``Calibri``, ``Times New Roman``, or a theme's
``minorHAnsi``); a PDF must embed the font it draws with. agreementgen ships four
families under the SIL Open Font License (``agreementgen/fonts``, with their licences),
each metric-compatible with the Word font it stands for, so lines break where Word
breaks them:

==========  ====================================  =========================================
family      files                                 prints text set in
==========  ====================================  =========================================
sans        Liberation Sans (4 styles)            Arial, Helvetica, Liberation Sans, Arimo,
                                                  Frutiger (the NHS typeface), Verdana,
                                                  Tahoma, Segoe UI; any font not listed
carlito     Carlito (4 styles)                    Calibri, Carlito, Aptos
serif       Liberation Serif (4 styles)           Times New Roman, Times, Cambria, Georgia,
                                                  Garamond, Book Antiqua, Tinos
mono        Liberation Mono (regular, bold)       Courier New, Courier, Consolas, Cousine
==========  ====================================  =========================================

A font not in the table prints as Liberation Sans; ``check-template`` names it
(:func:`is_known`). Faces are registered with reportlab on first use, once per process.

Embedding is subset per document. Building a subset (the font program, its zlib
compression, the widths and the ToUnicode map) is the same work for every document of a
run that uses the same characters in the same order, so the finished PDF objects are kept
for the last few hundred subsets (:class:`_EmbeddedFont`).
"""

from __future__ import annotations

import functools
import io
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import SUBSETN, TTFont, makeToUnicodeCMap

from ...errors import RenderError

__all__ = [
    "BASE_SEED",
    "DEFAULT_FAMILY",
    "Memo",
    "Raw",
    "clear",
    "codes",
    "face",
    "family_of",
    "is_known",
    "line_factor",
    "memo",
    "next_document",
    "seed",
]

DEFAULT_FAMILY = "sans"

# family -> (regular, bold, italic, bold italic) font files
_FILES: dict[str, tuple[str, str, str, str]] = {
    "sans": (
        "LiberationSans-Regular.ttf",
        "LiberationSans-Bold.ttf",
        "LiberationSans-Italic.ttf",
        "LiberationSans-BoldItalic.ttf",
    ),
    "carlito": ("Carlito-Regular.ttf", "Carlito-Bold.ttf", "Carlito-Italic.ttf", "Carlito-BoldItalic.ttf"),
    "serif": (
        "LiberationSerif-Regular.ttf",
        "LiberationSerif-Bold.ttf",
        "LiberationSerif-Italic.ttf",
        "LiberationSerif-BoldItalic.ttf",
    ),
    # No italic Liberation Mono is shipped: italic monospaced text prints upright.
    "mono": (
        "LiberationMono-Regular.ttf",
        "LiberationMono-Bold.ttf",
        "LiberationMono-Regular.ttf",
        "LiberationMono-Bold.ttf",
    ),
}

# Word font names (lower case) -> family. Anything else prints in DEFAULT_FAMILY.
_WORD_FONTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "arial",
            "helvetica",
            "liberation sans",
            "arimo",
            "frutiger",
            "frutiger lt std",
            "verdana",
            "tahoma",
            "segoe ui",
            "arial nova",
            "helvetica neue",
        ),
        "sans",
    ),
    **dict.fromkeys(("calibri", "calibri light", "carlito", "aptos"), "carlito"),
    **dict.fromkeys(
        (
            "times new roman",
            "times",
            "liberation serif",
            "tinos",
            "cambria",
            "georgia",
            "garamond",
            "book antiqua",
        ),
        "serif",
    ),
    **dict.fromkeys(("courier new", "courier", "liberation mono", "cousine", "consolas"), "mono"),
}


def family_of(word_font: str | None) -> str:
    """The shipped family that prints ``word_font`` (unknown or none: Liberation Sans)."""
    if not word_font:
        return DEFAULT_FAMILY
    return _WORD_FONTS.get(word_font.strip().lower(), DEFAULT_FAMILY)


def is_known(word_font: str) -> bool:
    """Whether ``word_font`` has a metric-compatible font of its own (else it prints as Liberation Sans)."""
    return word_font.strip().lower() in _WORD_FONTS


_STYLE_SUFFIX = ("", "-Bold", "-Italic", "-BoldItalic")
_lock = threading.Lock()
_registered: set[str] = set()


def face(family: str, bold: bool = False, italic: bool = False) -> str:
    """The reportlab name of a family's face, registered on first use (``AgSans-Bold``)."""
    index = (2 if italic else 0) + (1 if bold else 0)
    name = f"Ag{family.capitalize()}{_STYLE_SUFFIX[index]}"
    if name not in _registered:
        _register(name, _FILES[family][index])
    return name


def missing(name: str, text: str) -> str:
    """The characters of ``text`` the face ``name`` has no glyph for (none for plain ASCII)."""
    if text.isascii():
        return ""
    covered = _COVERED.get(name)
    if covered is None:
        covered = _COVERED[name] = frozenset(pdfmetrics.getFont(name).face.charToGlyph)
    return "".join(dict.fromkeys(c for c in text if ord(c) not in covered and not c.isspace()))


_COVERED: dict[str, frozenset[int]] = {}


def _register(name: str, filename: str) -> None:
    with _lock:
        if name in _registered:
            return
        folder = resources.files("agreementgen").joinpath("fonts")
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
        font = _EmbeddedFont(name, source)
        font.line_factor = _hhea_line_factor(data)
        pdfmetrics.registerFont(font)
        _registered.add(name)


def line_factor(font_name: str) -> float:
    """Word's 'single' line height of a face as a multiple of the font size (ascent + descent + gap)."""
    factor: float = getattr(pdfmetrics.getFont(font_name), "line_factor", 1.15)
    return factor


def _hhea_line_factor(data: bytes) -> float:
    """(ascender + |descender| + lineGap) / unitsPerEm from the font's hhea and head tables."""
    tables: dict[bytes, int] = {}
    count = struct.unpack(">H", data[4:6])[0]
    for i in range(count):
        tag, _, offset, _ = struct.unpack(">4sIII", data[12 + 16 * i : 28 + 16 * i])
        tables[tag] = offset
    units = struct.unpack(">H", data[tables[b"head"] + 18 : tables[b"head"] + 20])[0]
    ascender, descender, gap = struct.unpack(">hhh", data[tables[b"hhea"] + 4 : tables[b"hhea"] + 10])
    return float(ascender - descender + gap) / float(units)


# --------------------------------------------------------------------------- caches


class Memo:
    """A small bounded memo (least recently used out first) for per-process caches.

    A value is kept only when its key is asked for by a second document: what one document alone
    has (a practice's name, its figures, its footer on every page) is made, used and forgotten, so
    the caches hold what documents share and a process's memory stays flat however many documents
    it writes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.seen: dict[int, int] = {}  # hash of a key asked for -> the document that first asked

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = make()
        self.admit(key, value)
        return value

    def admit(self, key: Any, value: Any) -> None:
        """Keep ``value`` if ``key`` was asked for before; else remember that it was."""
        mark = hash(key)
        first = self.seen.get(mark)
        if first is None:
            if len(self.seen) >= _SEEN:
                self.seen.clear()  # a key every document asks for is asked again by the next
            self.seen[mark] = _document
            return
        if first == _document:
            return
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)


_document = 0  # the document being written, counted per process
_SEEN = 4096  # keys remembered per cache: several documents' worth, yet a fixed few hundred KB


def next_document() -> None:
    """A new document begins: what it asks the caches for counts as another document's asking."""
    global _document
    _document += 1


def memo(size: int) -> Memo:
    """A per-process cache; every one made here is emptied by :func:`clear`."""
    made = Memo(size)
    _MEMOS.append(made)
    return made


_MEMOS: list[Memo] = []


def clear() -> None:
    """Forget every per-process cache (output does not change, only speed)."""
    for made in _MEMOS:
        made.items.clear()
        made.seen.clear()


_SUBSETS = memo(256)


class Raw(pdfdoc.PDFObject):  # type: ignore[misc]
    """An indirect PDF object written as is: bytes, and objects (references) formatted at save.

    Parts are kept apart, never spliced into text, so no value (a practice's typed name,
    say) can be mistaken for a reference.
    """

    __RefOnly__ = 1

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def format(self, document: Any) -> bytes:
        return b"".join(p if isinstance(p, bytes) else p.format(document) for p in self.parts)


class _EmbeddedFont(TTFont):  # type: ignore[misc]
    """A TrueType font whose per-document subset objects are built once per process.

    reportlab builds, for every subset of every document, the font program, its zlib
    compression, the widths array and the ToUnicode map. The documents of a run use
    nearly the same characters in the same order (see :func:`seed`), so these repeat;
    they are kept (as finished PDF bytes) for the last few hundred subsets. The objects
    written are those of ``TTFont.addObjects``.
    """

    line_factor = 1.15

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
            program_ref = doc.Reference(Raw(program), f"fontFile:{self.fontName}({base})")
            head, tail = descriptor
            descriptor_ref = doc.Reference(Raw(head, program_ref, tail), "fontDescriptor:" + base)
            cmap_ref = doc.Reference(Raw(cmap), "toUnicodeCMap:" + base)
            start, middle, end = font
            font_object = Raw(start, descriptor_ref, f" /Name /{internal}".encode(), middle, cmap_ref, end)
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

# Common non-ASCII characters given fixed codes in every document, so that text drawn in
# one document can be replayed in another (see ``seed``).
BASE_SEED = "£—–•·‘’“”éèêáàâôöüç▪◦‑"


def seed(doc: Any, faces: Iterable[str]) -> None:
    """Fix, before anything is drawn, the internal names and codes of a document's embedded faces.

    A subset font's name (``/F2+0``) and the codes of its non-ASCII characters depend on
    the order in which text is first drawn. Naming the faces a document uses in a fixed
    (sorted) order and then assigning :data:`BASE_SEED` makes them the same in every
    document that uses the same faces — what lets drawn text be replayed.
    """
    ordered = sorted(set(faces))
    for name in ordered:
        pdfmetrics.getFont(name).getSubsetInternalName(0, doc)
    for name in ordered:
        pdfmetrics.getFont(name).splitString(BASE_SEED, doc)


def codes(doc: Any, faces: Iterable[str], characters: str) -> tuple[Any, ...] | None:
    """The internal names of ``faces`` and the codes of ``characters`` in them (None if any is unset)."""
    result: list[Any] = []
    for name in faces:
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
