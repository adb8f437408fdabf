"""The pages of a PDF written from a Word document: page set-up, headers and footers, identity.

:func:`write_pdf` lays a :class:`~agreementgen.render.pdf.story.Story` out on pages and
owns everything that is not the flow of the text:

* **Pages** — one page template per Word section: its size, orientation and margins.
* **Headers and footers** — the section's own header and footer parts (default, first
  page, even pages), with ``PAGE`` and ``NUMPAGES`` filled in. Each page's header and
  footer are drawn when the document is saved, once the number of pages is known, into
  a form XObject the page already refers to.
* **Identity** — the document id in the Info dictionary (Title, Subject, Keywords and the
  key ``/AgreementgenDocumentId``), in a hidden read-only field ``doc_id`` on page 1,
  and in a QR code in every page's bottom-right corner (3 mm from the edges, in the
  margin beside the footer), so a printed and scanned return can be matched.
* **Form fields** — the canvas turns each :class:`~agreementgen.render.pdf.flowables.FieldBox`
  the layout draws, and each overlay link, into a widget of the document's AcroForm.
* **Tags** — the canvas's :class:`~agreementgen.render.pdf.tags.Tagger` is told what the
  layout draws (headers, footers and the QR code as artifacts), and at save writes the
  structure tree, ``/Lang``, the window title and the XMP metadata; each page gets its
  ``/StructParents`` and a tab order that follows the structure.
* **Release** — once written, a document's objects are unlinked (they refer to one another
  in cycles), so they go at once rather than to the garbage collector.
* **Determinism** — reportlab's invariant mode and fonts seeded in a fixed order: the
  same document gives the same bytes, whatever was rendered before in the process.

Rendering is serialised per process (reportlab keeps global state); run documents in
parallel with processes, as the bulk runner does.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import itertools
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from reportlab import rl_config
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable
from reportlab.platypus import paragraph as reportlab_paragraph
from reportlab.platypus.flowables import PageBreakIfNotEmpty

from ...errors import AgreementgenError, RenderError
from . import fonts
from .flowables import (
    OVERLAY_PREFIX,
    BorderBox,
    FieldBox,
    FieldSpec,
    Frozen,
    Picture,
    TabLine,
    WordParagraph,
    colour,
    draw_at,
)
from .form import Look, form_of, num
from .story import Analysis, Builder, Story, analysis_of
from .tables import GridTable
from .tags import Indirect, Tagger, tagger_of
from .word import Section, WordPackage

__all__ = ["DOC_ID_FIELD", "DocumentInfo", "write_pdf"]

DOC_ID_FIELD = "doc_id"
QR_MASK = 2  # a fixed mask: choosing the 'best' of 8 costs ~6 ms a code; any mask decodes
QR_SIZE = 15 * mm
QR_EDGE = 3 * mm  # from the page's right and bottom edges: in A4's 20 mm margins, 2 mm clear of the text
FIELD_BORDER = "768692"
FIELD_FILL = "FBFCFD"
_render_lock = threading.RLock()


@dataclass(frozen=True)
class DocumentInfo:
    """Who and what a PDF is: written into its metadata, a hidden field and a QR code."""

    doc_id: str
    title: str
    subject: str = ""
    author: str = ""
    keywords: tuple[str, ...] = ()
    custom: tuple[tuple[str, str], ...] = field(default=())  # extra Info keys, e.g. a digest


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


# --------------------------------------------------------------------------- the QR code

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


def _draw_qr(canv: Canvas, text: str, size: float) -> None:
    """The QR code of ``text`` in a ``size`` square: one filled path, a rectangle per run of modules."""
    modules = qr_modules(text)
    count = len(modules)
    quiet = 2  # modules of white margin inside ``size`` (the page margin adds more)
    unit = size / (count + 2 * quiet)
    xs = [num((quiet + i) * unit) for i in range(count)]
    ys = [num(size - (quiet + i + 1) * unit) for i in range(count)]
    runs = [num(n * unit) for n in range(count + 1)]
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


# --------------------------------------------------------------------------- the canvas

_QR_FORM = "agQR"


@dataclass(frozen=True)
class _PageRecord:
    number: int  # the page's number as PAGE prints it
    section: int
    first_of_section: bool


class _DocumentCanvas(Canvas):  # type: ignore[misc]
    """One document's canvas: seeded fonts, identity, fields, and the headers and footers drawn at save."""

    info: DocumentInfo | None = None
    writer: _Writer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # PDF 1.4 from the start: drawing a colour with alpha raises the version, and a replayed
        # drawing would not, so the version would depend on what the process drew before.
        self._doc.ensureMinPdfVersion("transparency")
        fonts.seed(self._doc, self.writer.story.faces)
        if self.info is not None:
            info = _Info()  # the doc template fills in title, author, subject and keywords
            info.extra = (("AgreementgenDocumentId", self.info.doc_id), *self.info.custom)
            self._doc.info = info
        self.pages: list[_PageRecord] = []
        self.tagger = Tagger(self, enabled=self.writer.tagged)

    # Fields: reportlab draws an inline box as a picture, and a link as a link.
    def drawImage(
        self, image: Any, x: float, y: float, width: float | None = None, height: float | None = None,
        *args: Any, **kwargs: Any,
    ) -> Any:  # fmt: skip
        if isinstance(image, FieldBox):
            assert width is not None and height is not None
            self.place_field(image.spec, self._rect(x, y, x + width, y + height))
            return None
        self._agreementgen_images = getattr(self, "_agreementgen_images", 0) + 1  # not replayable
        if isinstance(image, Picture):
            with self.tagger.figure(image.alt):
                return super().drawImage(image.reader, x, y, width, height, *args, **kwargs)
        return super().drawImage(image, x, y, width, height, *args, **kwargs)

    def showPage(self) -> None:
        super().showPage()
        tagger = self.tagger
        if tagger.enabled:  # the page's marked content in the parent tree; tab order = structure order
            page = self._doc.Pages.pages[-1]
            page.__NoDefault__ = [*page.__NoDefault__, "StructParents", "Tabs"]
            page.StructParents = tagger.page_keys[len(self._doc.Pages.pages) - 1]
            page.Tabs = pdfdoc.PDFName("S")

    def linkURL(self, url: str, rect: Any, relative: int = 0, *args: Any, **kwargs: Any) -> None:
        if url.startswith(OVERLAY_PREFIX):
            x0, y0, x1, y1 = self._absRect(rect, relative)
            self.place_field(FieldSpec.from_overlay_link(url), (x0, y0, x1, y1))
            return
        super().linkURL(url, rect, relative, *args, **kwargs)

    def place_field(self, spec: FieldSpec, rect: tuple[float, float, float, float]) -> None:
        """Make a field's widget at ``rect`` (page space), and tell every drawing being remembered."""
        x0, y0, x1, y1 = rect
        for (ox, oy), start, events in getattr(self, "_agreementgen_recording", ()):
            events.append((len(self._code) - start, "field", (spec, (x0 - ox, y0 - oy, x1 - ox, y1 - oy))))
        self._field(spec, rect)

    def _rect(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        ax0, ay0 = self.absolutePosition(x0, y0)
        ax1, ay1 = self.absolutePosition(x1, y1)
        return (min(ax0, ax1), min(ay0, ay1), max(ax0, ax1), max(ay0, ay1))

    def _field(self, spec: FieldSpec, rect: tuple[float, float, float, float]) -> None:
        form = form_of(self)
        box = Look(size=spec.size, colour=colors.HexColor("#212B32"), border=colour(FIELD_BORDER),
                   fill=colour(FIELD_FILL), face=spec.face)  # fmt: skip
        # Every field says what to enter: the control's title, else its tag in words.
        tooltip = spec.tooltip or spec.name.replace("_", " ").strip().capitalize()
        if spec.kind == "overlay":
            form.overlay(spec.name, spec.value, rect, tooltip=tooltip)
        elif spec.kind == "checkbox":
            form.checkbox(
                spec.name, spec.value == "Yes", rect, look=box, read_only=spec.read_only, tooltip=tooltip
            )
        elif spec.kind == "choice":
            form.choice(spec.name, spec.value, spec.options, rect, look=box, tooltip=tooltip)
        elif spec.kind == "signature":
            form.signature(spec.name, rect, look=box, tooltip=tooltip)
        else:
            form.text(
                spec.name,
                spec.value,
                rect,
                look=box,
                multiline=spec.multiline,
                tooltip=tooltip,
                date_format=spec.date_format if spec.kind == "date" else None,
            )

    def save(self) -> None:
        with _fast_encoding():
            total = len(self.pages)
            self.tagger.hush(1)  # headers, footers and the QR code are artifacts where they are used
            for index, record in enumerate(self.pages, start=1):
                self.beginForm(f"agPage{index}")
                self.writer.draw_page_furniture(self, record, total)
                self.endForm()
            if self.info is not None:
                self.beginForm(_QR_FORM, upperx=QR_SIZE, uppery=QR_SIZE)
                _draw_qr(self, self.info.doc_id, QR_SIZE)
                self.endForm()
            self.tagger.hush(-1)
            title = self.info.title if self.info is not None else ""
            self.tagger.finish(self._doc, title, self.writer.analysis.styles.lang)
            _save_without_a85(super().save)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _pdfdoc_bytes(text: Any) -> Any:
    """reportlab's ``pdfdocEnc``, with plain ASCII text (page and form streams: operators, numbers,
    escaped strings) encoded as ASCII — the same bytes, a thousand times quicker than its codec."""
    if isinstance(text, str) and text.isascii() and not _CONTROL.search(text):
        return text.encode("ascii")
    return _REPORTLAB_PDFDOC_ENC(text)


_REPORTLAB_PDFDOC_ENC = pdfdoc.pdfdocEnc


@contextlib.contextmanager
def _fast_encoding() -> Iterator[None]:
    """``pdfdoc.pdfdocEnc`` is :func:`_pdfdoc_bytes` while a document is saved (under the render lock)."""
    pdfdoc.pdfdocEnc = _pdfdoc_bytes
    try:
        yield
    finally:
        pdfdoc.pdfdocEnc = _REPORTLAB_PDFDOC_ENC


class _FastFlate:
    """``zlib`` as reportlab's pdfdoc sees it during our saves: level 1 instead of 6."""

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    @staticmethod
    def compress(data: bytes, level: int = 1) -> bytes:
        return zlib.compress(data, 1)


def _save_without_a85(save: Callable[[], None]) -> None:
    """Save with page streams Flate-compressed only (no ASCII85), at zlib level 1, and structure
    elements written as they are.

    reportlab reads the global ``rl_config.useA85``, its module's ``zlib`` and its
    ``PDFIndirectObject`` while it writes; they are switched for our own save (under the
    render lock) and put back.
    """
    previous, previous_zlib, previous_indirect = rl_config.useA85, pdfdoc.zlib, pdfdoc.PDFIndirectObject
    rl_config.useA85 = 0
    pdfdoc.zlib = _FastFlate()
    pdfdoc.PDFIndirectObject = Indirect  # structure elements written as the bytes they already are
    try:
        save()
    finally:
        rl_config.useA85, pdfdoc.zlib, pdfdoc.PDFIndirectObject = previous, previous_zlib, previous_indirect


# --------------------------------------------------------------------------- the document


class _Layout:
    """Lays a story out on pages: the flow of flowables down each page's text area, Word's way.

    Between two flowables the space is the larger of the first's space after and the second's
    space before, as Word spaces paragraphs (it does not add them). Space before a flowable is
    dropped at the top of a page; space after the last one on a page is dropped too. A run of
    flowables that keep with the next moves to a new page together when it would fit there and
    does not fit here (the last of the run counting only its first lines or rows, which is what
    Word keeps with it). A flowable too tall for what is left of a page is split (a paragraph
    between lines, a table between rows), else moved to the next page. Splitting code asks
    ``flowable._frame`` whether it is at the top of a page (``_atTop``) and how tall a page is
    (``_height``), as platypus's frames tell it.
    """

    def __init__(self, canv: _DocumentCanvas, writer: _Writer) -> None:
        self.canv = canv
        self.writer = writer
        self.section_index = 0
        self.section = writer.story.sections[0][0]
        self.page_open = False
        self._atTop = True
        self._height = 0.0
        self.y = 0.0
        self.bottom = 0.0  # where the body ends on this page (the bottom margin, or above a tall footer)
        self.after = 0.0  # the space after the last flowable placed, not yet given

    # -- pages ------------------------------------------------------------------------------

    def new_page(self) -> None:
        if self.page_open:
            self.canv.showPage()
        section = self.section
        self.canv.setPageSize((section.width, section.height))
        self.writer.on_page(self.section_index, self.canv)
        self.page_open = True
        self._atTop = True
        # As Word: a header or footer taller than its margin pushes the body in.
        header, footer = self.writer.furniture_heights(self.canv, self.canv.pages[-1])
        top = max(section.top, section.header + header)
        self.bottom = max(section.bottom, section.footer + footer)
        self._height = section.height - top - self.bottom
        self.y = section.height - top
        self.after = 0.0

    # -- the flow ---------------------------------------------------------------------------

    def run(self) -> None:
        for index, (section, content) in enumerate(self.writer.story.sections):
            # Whether a continuous section can share the page is judged against the page's section.
            fits = self.page_open and section.start == "continuous" and self._fits_section(section)
            self.section_index, self.section = index, section
            if not fits:
                self.new_page()
            queue = list(content)
            queue.reverse()  # a stack: the next flowable at the end
            while queue:
                self.add(queue.pop(), queue)
        if not self.page_open:
            self.new_page()
        self.canv.showPage()

    def _fits_section(self, section: Section) -> bool:
        """A continuous section shares the page only if the page has its size and margins."""
        current = self.section
        return (current.width, current.height, current.left, current.right) == (
            section.width,
            section.height,
            section.left,
            section.right,
        )

    def add(self, flowable: Flowable, queue: list[Flowable]) -> None:
        if isinstance(flowable, PageBreakIfNotEmpty):
            if not self._atTop:
                self.new_page()
            return
        if _keeps_with_next(flowable) and queue and not self._atTop:
            group = [flowable]
            index = len(queue) - 1
            while index >= 0 and _keeps_with_next(group[-1]):
                group.append(queue[index])
                index -= 1
            height = self._group_height(group)
            room = self.y - self.bottom - self._gap(flowable)
            if height > room and height <= self._height:
                self.new_page()
        self.place(flowable, queue)

    def _group_height(self, group: list[Flowable]) -> float:
        width = self.section.frame_width
        total = 0.0
        last = len(group) - 1
        after = 0.0
        for number, flowable in enumerate(group):
            _, h = flowable.wrapOn(self.canv, width, self._height)
            if number == last and hasattr(flowable, "head_height"):
                h = flowable.head_height(self.canv)  # only its first lines or rows go with what keeps with it
            total += h + (max(after, flowable.getSpaceBefore()) if number else 0.0)
            after = flowable.getSpaceAfter()
        return total

    def _gap(self, flowable: Flowable) -> float:
        """The space above ``flowable`` here: none at the top of a page, else the larger of the
        space after what is above it and its own space before."""
        return 0.0 if self._atTop else max(self.after, flowable.getSpaceBefore())

    def place(self, flowable: Flowable, queue: list[Flowable]) -> None:
        width = self.section.frame_width
        canv = self.canv
        for _attempt in range(3):
            before = self._gap(flowable)
            room = self.y - before - self.bottom
            _, h = flowable.wrapOn(canv, width, room)
            if h <= room + 1e-6:
                self.y -= before + h
                draw_at(flowable, canv, self.section.left, self.y)
                self.after = flowable.getSpaceAfter()
                self._atTop = False
                return
            flowable._frame = self
            flowable.canv = canv
            parts = flowable.split(width, room) if room > 0 else []
            if len(parts) > 1:
                # The parts are one element of the structure: a paragraph or table across pages.
                key = getattr(flowable, "tag_key", None) or object()
                role = getattr(flowable, "role", None)
                for part in parts:
                    part.tag_key = key
                    if role is not None and getattr(part, "role", None) != role:
                        part.role = role  # a paragraph's parts are plain paragraphs
                first, *rest = parts
                queue.extend(reversed(rest))
                self.place(first, queue)
                self.new_page()
                return
            if self._atTop:
                raise RenderError(
                    "something in the document is taller than a page and cannot be split "
                    f"({type(flowable).__name__}, {h:.0f} pt on a {self._height:.0f} pt page); in the "
                    "template, let its table rows break across pages or shorten it"
                )
            self.new_page()


def _keeps_with_next(flowable: Flowable) -> bool:
    return bool(flowable.getKeepWithNext())


class _Writer:
    """One document being written: its story, and what each page needs when it is drawn."""

    def __init__(self, package: WordPackage, analysis: Analysis, story: Story, info: DocumentInfo | None,
                 locked: frozenset[str], tagged: bool = True) -> None:  # fmt: skip
        self.package = package
        self.analysis = analysis
        self.story = story
        self.info = info
        self.locked = locked
        self.tagged = tagged
        self.section_pages: dict[int, int] = {}
        self.parts: dict[Any, list[Flowable]] = {}
        self.heights: dict[str, float] = {}  # a header's or footer's height, laid out once a document

    def on_page(self, section_index: int, canv: _DocumentCanvas) -> None:
        section = self.story.sections[section_index][0]
        page = canv.getPageNumber()
        count = self.section_pages.get(section_index, 0)
        self.section_pages[section_index] = count + 1
        previous = canv.pages[-1].number if canv.pages else 0
        number = section.page_start if count == 0 and section.page_start is not None else previous + 1
        canv.pages.append(_PageRecord(number, section_index, count == 0))
        canv.tagger.new_page()
        canv.saveState()
        with canv.tagger.artifact("Pagination"):
            canv.doForm(f"agPage{page}")
        if self.info is not None:
            if page == 1:  # the hidden, read-only identity field (returns are matched by it)
                form_of(canv).text(
                    DOC_ID_FIELD,
                    self.info.doc_id,
                    (section.left, section.height - 14, section.width - section.right, section.height - 4),
                    look=Look(size=6),
                    read_only=True,
                    hidden=True,
                    tooltip="Document id",
                )
            canv.translate(section.width - QR_SIZE - QR_EDGE, QR_EDGE)
            with canv.tagger.artifact():
                canv.doForm(_QR_FORM)
        canv.restoreState()

    def _part(self, name: str, page: int, total: int) -> list[Flowable]:
        """A header's or footer's flowables, with the page numbers of this page."""
        known = self.parts.get(name)
        if known is None:  # built once a document: page numbers are filled in on each page
            builder = Builder(self.package, self.analysis, locked=self.locked)
            known = self.parts[name] = builder.part(name)
            self.story.faces |= builder.faces
        values = {"PAGE": str(page), "NUMPAGES": str(total)}
        return [_numbered(flowable, values) for flowable in known]

    def furniture_heights(self, canv: Canvas, record: _PageRecord) -> tuple[float, float]:
        """How tall this page's header and footer are (each as laid out, spacing between included)."""
        section = self.story.sections[record.section][0]
        even_odd = self.analysis.styles.even_and_odd
        heights = []
        for kind in ("headers", "footers"):
            name = section.part(kind, record.number, record.first_of_section, even_odd)
            height = self.heights.get(name) if name else 0.0
            if height is None and name:
                flowables = self._part(name, record.number, record.number)
                height = sum(f.wrapOn(canv, section.frame_width, section.height)[1] for f in flowables)
                height += sum(_gaps(flowables)) + (
                    flowables[0].getSpaceBefore() if flowables and kind == "headers" else 0.0
                )
                self.heights[name] = height
            heights.append(height or 0.0)
        return heights[0], heights[1]

    def draw_page_furniture(self, canv: Canvas, record: _PageRecord, total: int) -> None:
        section = self.story.sections[record.section][0]
        even_odd = self.analysis.styles.even_and_odd
        width = section.frame_width
        header = section.part("headers", record.number, record.first_of_section, even_odd)
        if header:
            flowables = self._part(header, record.number, total)
            gaps = _gaps(flowables)
            gaps[0] = flowables[0].getSpaceBefore() if flowables else 0.0
            _stack(
                canv, flowables, gaps, section.left, section.height - section.header, width, section.height
            )
        footer = section.part("footers", record.number, record.first_of_section, even_odd)
        if footer:
            flowables = self._part(footer, record.number, total)
            gaps = _gaps(flowables)
            height = sum(f.wrapOn(canv, width, section.height)[1] for f in flowables) + sum(gaps)
            _stack(canv, flowables, gaps, section.left, section.footer + height, width, section.height)


def _gaps(flowables: list[Flowable]) -> list[float]:
    """The space above each flowable of a stack (none above the first): the larger of the space
    after the one above and its own space before, as Word spaces paragraphs."""
    return [0.0] + [
        max(above.getSpaceAfter(), below.getSpaceBefore()) for above, below in itertools.pairwise(flowables)
    ]


def _stack(
    canv: Canvas,
    flowables: list[Flowable],
    gaps: list[float],
    x: float,
    top: float,
    width: float,
    height: float,
) -> None:
    """Draw flowables one under another from ``top``, ``gaps[i]`` above the i-th."""
    y = top
    for flowable, gap in zip(flowables, gaps, strict=True):
        _, h = flowable.wrapOn(canv, width, height)
        y -= gap + h
        draw_at(flowable, canv, x, y)


def _numbered(flowable: Flowable, values: dict[str, str]) -> Flowable:
    """A header or footer flowable showing this page's numbers (``PAGE``, ``NUMPAGES``)."""
    if isinstance(flowable, TabLine):
        flowable.values = values
        return flowable
    if isinstance(flowable, WordParagraph) and flowable._proto is not None and flowable._proto.dynamic:
        return _with_numbers(flowable, values)
    if isinstance(flowable, BorderBox):
        children = [_numbered(child, values) for child in flowable.children]
        if any(new is not old for new, old in zip(children, flowable.children, strict=True)):
            return BorderBox(children, flowable.word)
    if isinstance(flowable, Frozen) and _shows_numbers(flowable.inner):
        return _numbered(flowable.inner, values)  # not replayed: its numbers are this page's
    if isinstance(flowable, GridTable) and _shows_numbers(flowable):
        cells = [
            replace(
                cell,
                content=cell.content.with_children([_numbered(c, values) for c in cell.content.children]),
            )
            for cell in flowable.cells
        ]
        return flowable.with_cells(cells)
    return flowable


def _shows_numbers(flowable: Flowable) -> bool:
    """Whether a header or footer flowable prints ``PAGE`` or ``NUMPAGES`` anywhere in it."""
    if isinstance(flowable, TabLine):
        return any(segment.dynamic for segment in flowable.segments)
    if isinstance(flowable, WordParagraph):
        return flowable._proto is not None and flowable._proto.dynamic
    if isinstance(flowable, BorderBox):
        return any(_shows_numbers(child) for child in flowable.children)
    if isinstance(flowable, Frozen):
        return _shows_numbers(flowable.inner)
    if isinstance(flowable, GridTable):
        return any(_shows_numbers(c) for cell in flowable.cells for c in cell.content.children)
    return False


def _with_numbers(paragraph: WordParagraph, values: dict[str, str]) -> WordParagraph:
    """A header or footer paragraph (not a tab line) with this page's numbers in it, laid out anew."""
    frags = []
    for f in paragraph.frags:
        kind = getattr(f, "dynamic", "")
        if kind:
            f = copy.copy(f)
            f.text = values.get(kind, f.text)
        frags.append(f)
    made = WordParagraph("", paragraph.style, frags=frags)
    made.word = paragraph.word
    made.bulletText = paragraph.bulletText
    return made


def write_pdf(
    package: WordPackage,
    info: DocumentInfo | None = None,
    *,
    locked: frozenset[str] = frozenset(),
    tagged: bool = True,
) -> bytes:
    """The PDF of a rendered Word document: its text, tables and fields, laid out as Word lays them out.

    ``info`` gives the document its identity (metadata, the hidden ``doc_id`` field, the QR
    code); ``locked`` names fields that are read-only whatever the template says (the
    issued terms). The PDF is tagged (its structure, reading order and fields labelled for
    assistive technology) unless ``tagged`` is false, which only the benchmark asks for.
    The same arguments give the same bytes. Raises :class:`RenderError`
    for a document the writer cannot render, naming what and where.
    """
    try:
        with _render_lock, _reportlab_settings():
            fonts.next_document()
            analysis = analysis_of(package)
            story = Builder(package, analysis, locked=locked).document()
            writer = _Writer(package, analysis, story, info, locked, tagged)
            buffer = io.BytesIO()
            canvas_class = type("_Canvas", (_DocumentCanvas,), {"info": info, "writer": writer})
            first = story.sections[0][0]
            canv = canvas_class(buffer, pagesize=(first.width, first.height), invariant=1)
            if info is not None:
                canv.setTitle(info.title)
                canv.setAuthor(info.author)
                canv.setSubject(info.subject)
                canv.setKeywords(", ".join(info.keywords))
            canv.setCreator("agreementgen")
            _Layout(canv, writer).run()
            canv.save()
            _release(canv, writer)
    except AgreementgenError:
        raise
    except Exception as exc:
        raise RenderError(f"could not write the PDF of {_who(info)}: {type(exc).__name__}: {exc}") from exc
    return buffer.getvalue()


def _release(canv: _DocumentCanvas, writer: _Writer) -> None:
    """Let a written document's objects go as soon as it is written. They refer to one another in
    cycles (the canvas and its form, tagger, document and flowables; elements and their kids),
    which only the garbage collector would free: in a bulk run that was milliseconds a document."""
    canv.tagger.release()
    canv._doc.__dict__.clear()
    canv.__dict__.clear()
    writer.__dict__.clear()


@contextlib.contextmanager
def _reportlab_settings() -> Iterator[None]:
    """Lines sit on their ascent, as in Word: a paragraph's first baseline is its first line's ascent
    below its top (reportlab's default, the font size, would push a field box taller than the text
    above the paragraph). And a list item's label is tagged apart from its body. reportlab reads
    both as module globals; they are put back after."""
    previous = reportlab_paragraph.paraFontSizeHeightOffset
    reportlab_paragraph.paraFontSizeHeightOffset = 0
    draw_bullet = reportlab_paragraph._drawBullet

    def draw_label(canvas: Any, *args: Any, **kwargs: Any) -> Any:
        # A list item's number or bullet is its Lbl; what reportlab draws next is its LBody.
        offset = draw_bullet(canvas, *args, **kwargs)
        tagger_of(canvas).label_drawn()
        return offset

    reportlab_paragraph._drawBullet = draw_label
    try:
        yield
    finally:
        reportlab_paragraph.paraFontSizeHeightOffset = previous
        reportlab_paragraph._drawBullet = draw_bullet


def _who(info: DocumentInfo | None) -> str:
    return info.doc_id if info is not None else "the document"


def clear_caches() -> None:
    """Forget every per-process cache (output does not change, only speed)."""
    with _render_lock:
        fonts.clear()


__all__ += ["Section", "clear_caches"]
