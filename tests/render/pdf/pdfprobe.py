"""Reading the PDF writer's output back, as independent readers see it.

* :func:`words` — each word's box on its page, from poppler's ``pdftotext -bbox`` (points,
  measured from the page's top-left corner, as a person reads a page);
* :func:`shown` — each string the page shows with the font (its ``/BaseFont``), size and fill
  colour it is shown in, from pypdf's parse of the content streams (headers and footers,
  which are form XObjects, included);
* :func:`fields` / :func:`widgets` — the AcroForm as pypdf reads it;
* :func:`pixels` — a page rendered by ``pdftoppm`` at 72 dpi (one pixel a point), for what is
  painted (shading, highlight, pictures).
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream

from conftest import require


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def text(pdf: bytes, page: int | None = None) -> str:
    """The text (of one page, from 0), whitespace normalised, as pypdf extracts it."""
    pages = reader(pdf).pages
    chosen = pages if page is None else [pages[page]]
    return " ".join(" ".join(p.extract_text() for p in chosen).split())


def page_texts(pdf: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in reader(pdf).pages]


# --------------------------------------------------------------------------- words and their boxes


@dataclass(frozen=True)
class Word:
    text: str
    page: int  # from 0
    x0: float  # from the page's left edge
    top: float  # from the page's top edge
    x1: float
    bottom: float

    @property
    def middle(self) -> float:
        return (self.x0 + self.x1) / 2


_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>|<page width'
)


@cache
def words(pdf: bytes) -> tuple[Word, ...]:
    """Every word on every page with its box (poppler's reading, independent of pypdf)."""
    pdftotext = require("pdftotext")
    out = subprocess.run(
        [pdftotext, "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    found: list[Word] = []
    page = -1
    for match in _WORD.finditer(out):
        if match.group(5) is None:
            page += 1
            continue
        x0, top, x1, bottom = (float(match.group(i)) for i in range(1, 5))
        value = match.group(5).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        found.append(Word(value.replace("&quot;", '"'), page, x0, top, x1, bottom))
    return tuple(found)


def word(pdf: bytes, value: str, nth: int = 0) -> Word:
    """The ``nth`` word that reads ``value``."""
    matches = [w for w in words(pdf) if w.text == value]
    assert len(matches) > nth, f"{value!r} is not in the PDF (words: {[w.text for w in words(pdf)][:80]})"
    return matches[nth]


def all_words(pdf: bytes, value: str) -> list[Word]:
    return [w for w in words(pdf) if w.text == value]


# --------------------------------------------------------------------------- shown strings


@dataclass(frozen=True)
class Shown:
    page: int
    text: str
    font: str  # the /BaseFont without its subset prefix ("LiberationSans-Bold")
    size: float
    colour: tuple[float, ...]  # the fill colour (rg, g) when it was shown


def _base_font(resources: Any, name: str) -> str:
    try:
        font = resources["/Font"][name].get_object()
    except (KeyError, TypeError):
        return name
    return str(font.get("/BaseFont", name)).lstrip("/").split("+")[-1]


def _walk(reader_: PdfReader, stream: Any, resources: Any, page: int, out: list[Shown]) -> None:
    operations = ContentStream(stream, reader_).operations
    font, size, fill = "", 0.0, (0.0,)
    saved: list[tuple[str, float, tuple[float, ...]]] = []
    for operands, operator in operations:
        if operator == b"q":
            saved.append((font, size, fill))
        elif operator == b"Q" and saved:
            font, size, fill = saved.pop()
        elif operator == b"Tf":
            font, size = _base_font(resources, operands[0]), float(operands[1])
        elif operator in (b"rg", b"g"):
            fill = tuple(round(float(v), 3) for v in operands)
        elif operator in (b"Tj", b"'", b'"'):
            value = operands[-1]
            out.append(Shown(page, _decoded(value), font, size, fill))
        elif operator == b"TJ":
            value = "".join(_decoded(v) for v in operands[0] if not isinstance(v, (int, float)))
            out.append(Shown(page, value, font, size, fill))
        elif operator == b"Do":
            xobject = resources["/XObject"][operands[0]].get_object()
            if xobject.get("/Subtype") == "/Form":
                inner = xobject.get("/Resources")
                _walk(reader_, xobject, inner.get_object() if inner is not None else resources, page, out)


def _decoded(value: Any) -> str:
    """ASCII shows as itself in the writer's subsets (codes 0–127 are the characters' own)."""
    raw = value.original_bytes if hasattr(value, "original_bytes") else bytes(str(value), "latin-1")
    return raw.decode("latin-1")


@cache
def shown(pdf: bytes) -> tuple[Shown, ...]:
    """Every string shown, with its font, size and colour (ASCII text reads as itself)."""
    reader_ = reader(pdf)
    out: list[Shown] = []
    for number, page in enumerate(reader_.pages):
        resources = page["/Resources"].get_object()
        _walk(reader_, page.get_contents(), resources, number, out)
    return tuple(out)


def shown_as(pdf: bytes, value: str, *, exact: bool = False) -> Shown:
    """The first shown string that contains ``value`` (``exact``: that is ``value``, spaces aside)."""
    for item in shown(pdf):
        if (item.text.strip() == value) if exact else (value in item.text):
            return item
    raise AssertionError(f"{value!r} is never shown (shown: {[s.text for s in shown(pdf)][:60]})")


def base_fonts(pdf: bytes) -> set[str]:
    """The /BaseFont of every font the pages use (subset prefix kept)."""
    names: set[str] = set()

    def visit(resources: Any) -> None:
        for font in (resources.get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]).lstrip("/"))
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Resources") is not None:
                visit(xobject["/Resources"].get_object())

    for page in reader(pdf).pages:
        visit(page["/Resources"].get_object())
    return names


# --------------------------------------------------------------------------- the form


def fields(pdf: bytes) -> dict[str, Any]:
    return dict(reader(pdf).get_fields() or {})


def widgets(pdf: bytes) -> list[tuple[str, int, Any]]:
    """Every widget: (its field's name, page from 0, the annotation dictionary)."""
    found = []
    for number, page in enumerate(reader(pdf).pages):
        for annotation in page.get("/Annots") or []:
            widget = annotation.get_object()
            if widget.get("/Subtype") != "/Widget":
                continue
            name = widget["/T"] if "/T" in widget else widget["/Parent"].get_object()["/T"]
            found.append((str(name), number, widget))
    return found


def widget(pdf: bytes, name: str) -> tuple[int, Any]:
    for found, number, annotation in widgets(pdf):
        if found == name:
            return number, annotation
    raise AssertionError(f"no widget named {name!r} (have {[n for n, _, _ in widgets(pdf)]})")


def field_head(annotation: Any) -> Any:
    """The dictionary holding a widget's field keys (/FT, /Ff, /V …): itself, or its parent."""
    return annotation["/Parent"].get_object() if "/Parent" in annotation else annotation


def flags(annotation: Any) -> int:
    return int(field_head(annotation).get("/Ff", 0))


def links(pdf: bytes) -> list[tuple[int, str, tuple[float, ...]]]:
    """Every URI link annotation: (page from 0, its URI, its /Rect)."""
    found = []
    for number, page in enumerate(reader(pdf).pages):
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            action = annotation.get("/A")
            if annotation.get("/Subtype") == "/Link" and action is not None and "/URI" in action:
                rect = tuple(float(v) for v in annotation["/Rect"])
                found.append((number, str(action["/URI"]), rect))
    return found


# --------------------------------------------------------------------------- pixels


@cache
def pixels(pdf: bytes, page: int = 0, dpi: int = 72) -> Image.Image:
    """Page ``page`` (from 0) as an RGB image, one pixel a point at 72 dpi."""
    pdftoppm = require("pdftoppm")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [pdftoppm, "-png", "-r", str(dpi), "-f", str(page + 1), "-l", str(page + 1), str(source),
             str(Path(folder) / "out")],
            check=True,
        )  # fmt: skip
        (made,) = Path(folder).glob("out*.png")
        image = Image.open(made).convert("RGB")
        image.load()
    return image


def colour_at(pdf: bytes, x: float, top: float, page: int = 0) -> tuple[int, int, int]:
    """The colour painted at (x, top) points from the page's top-left corner."""
    found: tuple[int, int, int] = pixels(pdf, page).getpixel((round(x), round(top)))
    return found


def dominant(pdf: bytes, w: Word) -> tuple[int, int, int]:
    """The colour most of a word's box is painted: its background (glyphs are thin)."""
    box = pixels(pdf, w.page).crop((round(w.x0), round(w.top), round(w.x1), round(w.bottom)))
    colours = box.getcolors(maxcolors=box.width * box.height) or []
    found: tuple[int, int, int] = max(colours)[1]
    return found


def near(colour: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def content(pdf: bytes, page: int = 0) -> bytes:
    """A page's own content stream, decoded."""
    data: bytes = reader(pdf).pages[page].get_contents().get_data()
    return data
