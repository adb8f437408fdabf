"""The reportlab flowables the Word writer lays out: paragraphs, tab lines, boxes, cells and fields.

Each one carries what it came from in Word (``word`` — the paragraph's properties,
``role`` — ``P``, ``H1``, ``LI``, ``Table`` …) so that the structure of the document
survives into the layout: the start of a tagged PDF.

* :class:`WordParagraph` — a reportlab ``Paragraph`` built straight from run fragments
  (no markup is parsed, so practice data is never markup). Paragraphs that are the same
  in every practice's document are made once per process (:class:`Prototype`): their
  line breaks are kept per width, and their drawing operators are replayed when the
  document's fonts encode the same characters the same way.
* :class:`TabLine` — a one-line paragraph with tabs, laid out on its tab stops (left,
  centre, right, decimal; dot leaders). A paragraph with tabs that does not fit on one
  line is printed as a paragraph with the tabs as spaces.
* :class:`EmptyLine` — an empty paragraph: one line of its mark's font.
* :class:`BorderBox` — consecutive paragraphs with the same borders and shading, drawn
  as one box (a call-out), as Word draws them.
* :class:`CellStack` — a table cell's content, spaced as Word spaces it.
* :class:`FieldBox` — a form field in the flow of a paragraph (an inline picture to
  reportlab); the canvas turns it into an AcroForm widget where it is drawn.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph
from reportlab.platypus.paraparser import ParaFrag

from .fonts import codes, memo
from .tags import LEAVES, tagger_of
from .word import Border, ParaProps, TabStop

__all__ = [
    "OVERLAY_PREFIX",
    "BorderBox",
    "CellStack",
    "EmptyLine",
    "FieldBox",
    "FieldSpec",
    "Prototype",
    "TabLine",
    "WordParagraph",
    "colour",
    "draw_at",
    "draw_block_at",
]

# Locked controls print their text in the flow; a link with this prefix marks where, so the
# canvas can lay a read-only field over it (see page.py).
OVERLAY_PREFIX = "agreementgen-field:"


@functools.lru_cache(maxsize=256)
def colour(hex_colour: str) -> Color:
    """``"005EB8"`` → a reportlab colour (made once per process)."""
    return HexColor("#" + hex_colour)


@dataclass(frozen=True)
class FieldSpec:
    """A form field as the Word control describes it (what the canvas needs to make it)."""

    name: str
    kind: str  # text, date, checkbox, choice, signature, overlay
    value: str = ""
    read_only: bool = False
    multiline: bool = False
    options: tuple[tuple[str, str], ...] = ()
    date_format: str | None = None
    tooltip: str = ""
    size: float = 9.0  # the text size of the field's value
    lines: int = 1
    face: str = ""  # the face of the text around it (for a value the form font cannot show)

    def overlay_link(self) -> str:
        return OVERLAY_PREFIX + json.dumps([self.name, self.value, self.tooltip], ensure_ascii=True)

    @staticmethod
    def from_overlay_link(link: str) -> FieldSpec:
        name, value, tooltip = json.loads(link[len(OVERLAY_PREFIX) :])
        return FieldSpec(name=name, kind="overlay", value=value, read_only=True, tooltip=tooltip)


@dataclass
class FieldBox:
    """An inline field: reportlab lays it out like a picture of ``width`` × ``height``."""

    spec: FieldSpec
    stretch: bool = False  # take the rest of the line


# --------------------------------------------------------------------------- paragraphs


def frag(
    text: str,
    font: str,
    size: float,
    text_colour: Color,
    *,
    rise: float = 0.0,
    underline: int = 0,
    strike: int = 0,
    link: str = "",
    back: Color | None = None,
    index: int = 0,
) -> ParaFrag:
    """A run of text as reportlab's paragraph fragment (what its markup parser would make)."""
    f = ParaFrag()
    f.text = text
    f.fontName = font
    f.fontSize = size
    f.textColor = text_colour
    f.rise = rise
    f.greek = 0
    f.bold = 0
    f.italic = 0
    f.link = [(index, link)] if link else []
    lines: list[tuple[Any, ...]] = []
    if underline:
        lines.append((index, "underline", None, "", "-0.125*F", 0, underline, "1"))
    if strike:
        lines.append((index, "strike", None, "", "0.25*F", 0, strike, "1"))
    f.us_lines = lines
    if back is not None:
        f.backColor = back
    return f


def line_break(font: str, size: float, text_colour: Color) -> ParaFrag:
    f = frag("", font, size, text_colour)
    f.lineBreak = True
    return f


@dataclass(frozen=True)
class Picture:
    """A picture in a line of text, with its alt text (the Word picture's description)."""

    reader: Any  # reportlab's ImageReader
    alt: str


class _Definition:
    """What reportlab's ``<img>`` makes (``cbDefn``): a box of a size, drawn by ``canvas.drawImage``."""

    kind = "img"

    def __init__(self, image: Any, width: float, height: float, valign: str = "middle") -> None:
        self.image = image
        self.width = width
        self.height = height
        self.valign = valign


def box_frag(
    image: Any,
    width: float,
    height: float,
    font: str,
    size: float,
    text_colour: Color,
    valign: str = "middle",
) -> ParaFrag:
    """A box in a line: a form field (centred on the text) or a picture (``valign="baseline"``:
    its bottom on the baseline, as Word sets an inline picture)."""
    f = frag("", font, size, text_colour)
    f.cbDefn = _Definition(image, width, height, valign)
    return f


_WRAP_STATE = ("width", "height", "blPara", "_wrapWidths")  # what Paragraph.wrap sets
_DRAWN = memo(8192)


class WordParagraph(Paragraph):  # type: ignore[misc]
    """A Word paragraph; see the module docstring. Parts made by splitting are plain paragraphs."""

    _proto: Prototype | None = None
    word: ParaProps | None = None
    role = "P"

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        proto = self._proto
        if proto is None:
            result: tuple[float, float] = super().wrap(availWidth, availHeight)
            return result
        known = proto.wraps.get(availWidth)
        if known is None:
            if proto.stretch:
                self.frags = proto.frags_for(availWidth, self.style)
            super().wrap(availWidth, availHeight)
            state = self.__dict__
            known = proto.wraps[availWidth] = (*(state[k] for k in _WRAP_STATE), self.frags)
        else:
            self.__dict__.update(zip(_WRAP_STATE, known[:4], strict=True))
            self.frags = known[4]
        return known[0], known[1]

    def head_height(self, canv: Any = None) -> float:
        """What must go on a page with a paragraph that keeps with this one (after ``wrap``): its
        first two lines, as Word keeps a heading with the start of the next paragraph — or all of
        it when it cannot be split (kept together, or too short to leave two lines each side)."""
        lines = len(getattr(getattr(self, "blPara", None), "lines", ()) or ())
        if lines <= 3 or (self.word is not None and self.word.keep_lines):
            return float(self.height)
        return float(self.height) * 2 / lines

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        if self.word is not None and self.word.keep_lines and _fits_a_fresh_frame(self, self.height):
            return []
        parts: list[Flowable] = super().split(availWidth, availHeight)
        return parts

    def replay_spec(self) -> tuple[Any, Sequence[str], str] | None:
        proto = self._proto
        if proto is None or not proto.replayable or proto.dynamic:
            return None
        return (proto.key, self.width, self.height), proto.faces, proto.special

    def draw(self) -> None:
        spec = self.replay_spec()
        if spec is None:
            super().draw()
            return
        replay(self, *spec, super().draw)


def draw_at(flowable: Flowable, canv: Any, x: float, y: float) -> None:
    """Draw a wrapped flowable with its lower-left corner at (x, y) — by replaying its drawing when
    that is known, writing exactly what ``drawOn`` and the drawing itself would have written — inside
    its structure element (a paragraph's one run of marked content, a table's rows and cells)."""
    tagger = tagger_of(canv)
    role = getattr(flowable, "role", None)
    if role is None or not tagger.on:
        _draw_at(flowable, canv, x, y)
        return
    key = getattr(flowable, "tag_key", None)
    if role == "P" and tagger.in_cell:  # the only paragraph of a table cell: its text is the cell's
        tagger.in_cell = False
        tagger.mark()
        _draw_at(flowable, canv, x, y)
        tagger.end()
    elif role in LEAVES:
        word = getattr(flowable, "word", None)
        level = word.ilvl if role == "LI" and word is not None else 0
        tagger.leaf(role, key, labelled=bool(getattr(flowable, "bulletText", None)), level=level)
        _draw_at(flowable, canv, x, y)
        tagger.end_leaf(role)
    else:
        tagger.open(role, key=key)
        _draw_at(flowable, canv, x, y)
        tagger.close()


def _draw_at(flowable: Flowable, canv: Any, x: float, y: float) -> None:
    spec = flowable.replay_spec() if hasattr(flowable, "replay_spec") else None
    if spec is None or not _replayed(canv, x, y, *spec):
        flowable.drawOn(canv, x, y)


def draw_block_at(
    canv: Any, x: float, y: float, key: Any, faces: Sequence[str], special: str, draw: Any
) -> None:
    """Draw a block (``draw`` draws it relative to its lower-left corner) at (x, y), replaying what
    the same drawing wrote before, else drawing and remembering it."""
    if _replayed(canv, x, y, key, faces, special):
        return
    canv.saveState()
    canv.translate(x, y)
    try:
        replay_on(canv, key, faces, special, draw)
    finally:
        canv.restoreState()


def _state(canv: Any, key: Any, faces: Sequence[str], special: str) -> tuple[Any, ...] | None:
    """What a remembered drawing is known by: ``key``, the text state and the document's fonts
    (None when the document's fonts cannot say)."""
    fonts_now = codes(canv._doc, faces, special)
    if fonts_now is None:
        return None
    return (key, _text_state(canv), fonts_now)


def _known(canv: Any, full: tuple[Any, ...]) -> Any:
    """The remembered drawing known by ``full``: one that wrote no tags (the same tagged or not, most
    of them), else one remembered for the canvas's tagging state (a table's rows and cells)."""
    items = _DRAWN.items
    return items.get(full) or items.get((*full, tagger_of(canv).on))


def _replayed(canv: Any, x: float, y: float, key: Any, faces: Sequence[str], special: str) -> bool:
    """Write the remembered drawing of ``key`` at (x, y), if there is one for the document's fonts."""
    full = _state(canv, key, faces, special)
    known = _known(canv, full) if full is not None else None
    if known is None:
        return False
    out = canv._code
    out.append("q")  # as canvas.saveState(); canvas.translate(x, y) …
    out.append(f"1 0 0 1 {fp_str(x, y)} cm")
    _play(canv, known, canv.absolutePosition(x, y))
    out.append("Q")  # … canvas.restoreState()
    return True


def _play(
    canv: Any, known: tuple[tuple[str, ...], tuple[Any, ...], bool], origin: tuple[float, float]
) -> None:
    """Write a remembered drawing: its code, with its fields and structure made again here."""
    code, events, tagged = known
    out = canv._code
    if tagged:  # its code has tags: whatever remembers it (a row holding it) is for this state too
        tagger_of(canv).emitted += 1
    if not events:
        out.extend(code)
        return
    tagger = tagger_of(canv)
    ox, oy = origin
    at = 0
    for offset, op, args in events:
        if offset > at:
            out.extend(code[at:offset])
            at = offset
        if op == "field":
            spec, (x0, y0, x1, y1) = args
            canv.place_field(spec, (x0 + ox, y0 + oy, x1 + ox, y1 + oy))
        elif op == "mark":
            tagger.mark()  # a fresh marked-content id on this page, in place of the remembered one
            at += 1
        elif op == "open":
            tagger.open(*args)
        elif op == "close":
            tagger.close()
    out.extend(code[at:])


def replay(flowable: Flowable, key: Any, faces: Sequence[str], special: str, draw: Any) -> None:
    """Draw ``flowable`` (its canvas translated to it) by replaying, or draw and remember it."""
    replay_on(flowable.canv, key, faces, special, draw)


def replay_on(canv: Any, key: Any, faces: Sequence[str], special: str, draw: Any) -> None:
    """Replay what the same drawing (at the canvas's current origin) wrote before, or draw and remember it.

    ``key`` must name everything the drawing depends on besides the canvas: the document's
    fonts (their internal names and the codes of ``special``, its non-ASCII characters, in
    ``faces``) and the canvas's text state are added here, and whether it is tagged when the
    drawing wrote tags (most drawings do not: the same is replayed tagged or not). Form
    fields it made and structure elements it opened are remembered with their place in
    its code and made again where it is replayed; anything else that is not page
    content (a link, a picture, a form XObject) makes the drawing one that is not remembered.
    """
    full = _state(canv, key, faces, special)
    if full is None:
        draw()
        return
    origin = canv.absolutePosition(0, 0)
    known = _known(canv, full)
    if known is not None:
        _play(canv, known, origin)
        return
    tagger = tagger_of(canv)
    start, annotations, forms = len(canv._code), len(canv._annotationrefs), len(canv._formsinuse)
    emitted = tagger.emitted
    images = canv.__dict__.get("_agreementgen_images", 0)
    events: list[tuple[int, str, tuple[Any, ...]]] = []
    stack = canv.__dict__.setdefault("_agreementgen_recording", [])
    stack.append((origin, start, events))
    try:
        draw()
    finally:
        stack.pop()
    fields = sum(1 for _, op, _ in events if op == "field")
    only_fields = len(canv._annotationrefs) - annotations == fields
    no_resources = len(canv._formsinuse) == forms and canv.__dict__.get("_agreementgen_images", 0) == images
    if only_fields and no_resources:
        tagged = tagger.emitted != emitted or any(op != "field" for _, op, _ in events)
        # Drawn tagging and writing no tags, it is the same untagged; drawn untagged, it may not be.
        known_by = full if tagger.on and not tagged else (*full, tagger.on)
        _DRAWN.get(known_by, lambda: (tuple(canv._code[start:]), tuple(events), tagged))


def _text_state(canv: Any) -> tuple[Any, ...]:
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


@dataclass
class Prototype:
    """One paragraph built once: its fragments, style and what is known of its layout."""

    key: Any
    paragraph: WordParagraph
    faces: tuple[str, ...]
    special: str  # its non-ASCII characters
    replayable: bool  # no pictures: its drawing can be replayed
    stretch: bool = False  # has a field that takes the rest of its line
    dynamic: bool = False  # prints a page number (a header or footer), filled in on each page
    wraps: dict[float, tuple[Any, ...]] = field(default_factory=dict)
    _stretched: dict[float, list[ParaFrag]] = field(default_factory=dict)

    def use(self) -> WordParagraph:
        paragraph: WordParagraph = copy.copy(self.paragraph)
        paragraph._proto = self
        return paragraph

    def frags_for(self, width: float, style: Any) -> list[ParaFrag]:
        """The fragments with each stretching field as wide as what is left of its line."""
        known = self._stretched.get(width)
        if known is not None:
            return known
        inner = width - style.leftIndent - style.rightIndent - max(style.firstLineIndent, 0)
        out: list[ParaFrag] = []
        before = 0.0
        for f in self.paragraph.frags:
            definition = getattr(f, "cbDefn", None)
            if definition is not None and isinstance(definition.image, FieldBox) and definition.image.stretch:
                room = inner - before - 1.0
                made = copy.copy(f)
                made.cbDefn = _Definition(
                    definition.image, room if room >= 72.0 else inner - 1.0, definition.height
                )
                out.append(made)
                before = 0.0
                continue
            if getattr(f, "lineBreak", False):
                before = 0.0
            elif definition is not None:
                before += definition.width
            else:
                before += stringWidth(f.text, f.fontName, f.fontSize)
            out.append(f)
        self._stretched[width] = out
        return out


class EmptyLine(Flowable):  # type: ignore[misc]
    """An empty Word paragraph: it still takes one line (of its paragraph mark's font)."""

    role = "P"

    def __init__(self, height: float, word: ParaProps) -> None:
        super().__init__()
        self.height = height
        self.word = word
        self.spaceBefore = word.before
        self.spaceAfter = word.after
        self.keepWithNext = word.keep_next

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, self.height

    def draw(self) -> None:
        pass


@dataclass(frozen=True)
class Segment:
    """The text between two tabs of a :class:`TabLine`."""

    frags: tuple[ParaFrag, ...]
    width: float
    decimal_width: float  # width up to the decimal point (decimal tabs)
    dynamic: bool = False  # has a page number (its width is measured on each page)


def _plain(f: ParaFrag) -> bool:
    """A fragment that is only text: no field, picture, link, underline, highlight or rise."""
    return not (getattr(f, "cbDefn", None) or f.link or f.us_lines or getattr(f, "backColor", None) or f.rise)


class TabLine(Flowable):  # type: ignore[misc]
    """A one-line paragraph with tabs, each segment placed on its tab stop (or a fallback paragraph)."""

    role = "P"

    def __init__(
        self,
        segments: Sequence[Segment],
        stops: Sequence[TabStop],
        default_tab: float,
        style: Any,
        word: ParaProps,
        fallback: WordParagraph,
        leader_font: tuple[str, float, Color],
    ) -> None:
        super().__init__()
        self.segments = list(segments)
        self.stops = sorted(stops, key=lambda s: s.position)
        self.default_tab = default_tab
        self.style = style
        self.word = word
        self.fallback = fallback
        self.leader_font = leader_font
        self.spaceBefore = word.before
        self.spaceAfter = word.after
        self.keepWithNext = word.keep_next
        self.places: list[tuple[float, Segment, float]] = []  # (x, segment, leader start)
        self.use_fallback = False
        self.values: dict[str, str] = {}  # PAGE and NUMPAGES on the page being drawn

    def _filled(self, segment: Segment) -> Segment:
        """A segment with its page numbers, if any, those of the page being drawn."""
        if not segment.dynamic:
            return segment
        frags = []
        for f in segment.frags:
            kind = getattr(f, "dynamic", "")
            if kind:
                f = copy.copy(f)
                f.text = self.values.get(kind, f.text)
            frags.append(f)
        width = sum(stringWidth(f.text, f.fontName, f.fontSize) for f in frags)
        return Segment(tuple(frags), width, width, False)

    def _leader(self, canv: Any, start: float, end: float, baseline: float) -> None:
        """Dots from the end of the text to a tab stop with a dot leader."""
        font, size, text_colour = self.leader_font
        step = stringWidth(". ", font, size)
        dots = int((end - start - 4) / step)
        canv.setFont(font, size)
        canv.setFillColor(text_colour)
        canv.drawString(end - 2 - dots * step, baseline, ". " * dots)

    def _layout(self, width: float) -> bool:
        left = self.style.leftIndent + self.style.firstLineIndent
        right_edge = width - self.style.rightIndent
        x = left
        segments = [self._filled(s) for s in self.segments]
        places: list[tuple[float, Segment, float]] = [(x, segments[0], -1.0)]
        x += segments[0].width
        for segment in segments[1:]:
            stop = next((s for s in self.stops if s.position > x + 0.01), None)
            if stop is None:
                grid = self.default_tab or 36.0
                stop = TabStop((int(x / grid) + 1) * grid)
            if stop.align == "right":
                start = stop.position - segment.width
            elif stop.align == "center":
                start = stop.position - segment.width / 2
            elif stop.align == "decimal":
                start = stop.position - segment.decimal_width
            else:
                start = stop.position
            start = max(start, x)
            places.append(
                (start, segment, x if stop.leader in ("dot", "hyphen", "underscore", "middleDot") else -1.0)
            )
            x = start + segment.width
        self.places = places
        return bool(x <= right_edge + 0.5)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        self.use_fallback = not self._layout(availWidth)
        if self.use_fallback:
            w, h = self.fallback.wrapOn(self.canv, availWidth, availHeight)
            self.height = h
            return w, h
        self.height = self.style.leading
        return availWidth, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        if self.use_fallback:
            parts: list[Flowable] = self.fallback.split(availWidth, availHeight)
            return parts
        return []

    def draw(self) -> None:
        canv = self.canv
        if self.use_fallback:
            self.fallback.drawOn(canv, 0, 0)
            return
        spec = self.replay_spec()
        if spec is not None:
            replay(self, *spec, self._draw_segments)
        else:
            self._draw_segments()

    def replay_spec(self) -> tuple[Any, Sequence[str], str] | None:
        proto = self.fallback._proto
        if self.use_fallback or proto is None or not proto.replayable:
            return None
        numbers = tuple(sorted(self.values.items())) if proto.dynamic else ()
        return (proto.key, "tabs", self.width, self.height, numbers), proto.faces, proto.special

    def _draw_segments(self) -> None:
        canv = self.canv
        baseline = self.height - self.style.fontSize
        if all(_plain(f) for _, segment, _ in self.places for f in segment.frags):
            # Plain runs of text (a header or footer): written straight onto the page.
            sizes = [f.fontSize for _, s, _ in self.places for f in s.frags]
            ascent = max(sizes, default=self.style.fontSize)
            text = canv.beginText()
            for x, segment, leader in self.places:
                if leader >= 0 and x - leader > 4:
                    self._leader(canv, leader, x, baseline)
                text.setTextOrigin(x, self.height - ascent * 0.905)
                for f in segment.frags:
                    text.setFont(f.fontName, f.fontSize)
                    text.setFillColor(f.textColor)
                    text.textOut(f.text)
            canv.drawText(text)
            return
        for x, segment, leader in self.places:
            if leader >= 0 and x - leader > 4:
                self._leader(canv, leader, x, baseline)
            if not segment.frags:
                continue
            part = Paragraph("", self.style, frags=list(segment.frags))
            part_style = copy.copy(self.style)
            part_style.leftIndent = part_style.rightIndent = part_style.firstLineIndent = 0
            part_style.alignment = 0
            part.style = part_style
            part.wrapOn(canv, segment.width + 1.0, self.height)
            part.drawOn(canv, x, self.height - part.height)


# --------------------------------------------------------------------------- boxes


class BorderBox(Flowable):  # type: ignore[misc]
    """Paragraphs sharing borders and shading, drawn as one box the way Word draws them."""

    role = "Div"

    def __init__(self, children: Sequence[Flowable], word: ParaProps) -> None:
        super().__init__()
        self.children = list(children)
        self.word = word
        self.spaceBefore = self.children[0].getSpaceBefore()
        self.spaceAfter = self.children[-1].getSpaceAfter()
        self.keepWithNext = getattr(self.children[-1], "keepWithNext", False)
        top, bottom = word.border("top"), word.border("bottom")
        self.pad_top = _border_room(top)
        self.pad_bottom = _border_room(bottom)
        self.sizes: list[tuple[float, float]] = []

    def _gaps(self) -> list[float]:
        gaps = [0.0]
        for previous, current in zip(self.children, self.children[1:], strict=False):
            gaps.append(max(previous.getSpaceAfter(), current.getSpaceBefore()))
        return gaps

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        self.sizes = [c.wrapOn(self.canv, availWidth, availHeight) for c in self.children]
        self.height = self.pad_top + self.pad_bottom + sum(h for _, h in self.sizes) + sum(self._gaps())
        return availWidth, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        if len(self.children) < 2:
            return []
        used = self.pad_top
        for count, (child, gap) in enumerate(zip(self.children, self._gaps(), strict=True)):
            _, h = child.wrapOn(self.canv, availWidth, availHeight)
            if used + gap + h + self.pad_bottom > availHeight:
                if count == 0:
                    return []
                return [
                    BorderBox(self.children[:count], self.word),
                    BorderBox(self.children[count:], self.word),
                ]
            used += gap + h
        return []

    def draw(self) -> None:
        canv = self.canv
        word = self.word
        left_border, right_border = word.border("left"), word.border("right")
        x0 = word.left - (_border_room(left_border) if left_border else 0.0)
        x1 = self.width - word.right + (_border_room(right_border) if right_border else 0.0)
        tagger = tagger_of(canv)
        tagger.begin_artifact()  # the box's shading and borders are not content
        self._draw_box(x0, x1)
        tagger.end_artifact()
        y = self.height - self.pad_top
        for child, (_, h), gap in zip(self.children, self.sizes, self._gaps(), strict=True):
            y -= gap + h
            draw_at(child, canv, 0, y)

    def _draw_box(self, x0: float, x1: float) -> None:
        canv = self.canv
        word = self.word
        if word.shading:
            canv.saveState()
            canv.setFillColor(colour(word.shading))
            canv.rect(x0, 0, x1 - x0, self.height, stroke=0, fill=1)
            canv.restoreState()
        for side, line in (("top", self.height), ("bottom", 0.0)):
            border = word.border(side)
            if border is not None and border.style != "none":
                _line(
                    canv,
                    border,
                    x0,
                    line + (-border.width / 2 if side == "top" else border.width / 2),
                    x1,
                    None,
                )
        for side, x in (("left", x0), ("right", x1)):
            border = word.border(side)
            if border is not None and border.style != "none":
                offset = border.width / 2 if side == "left" else -border.width / 2
                _line(canv, border, x + offset, 0, None, self.height)


def _border_room(border: Border | None) -> float:
    if border is None or border.style == "none":
        return 0.0
    return border.space + border.width


def _line(canv: Any, border: Border, x: float, y: float, x1: float | None, height: float | None) -> None:
    canv.saveState()
    canv.setStrokeColor(colour(border.colour))
    canv.setLineWidth(border.width)
    if border.style in ("dashed", "dashSmallGap"):
        canv.setDash(3 * border.width + 1, 2 * border.width + 1)
    elif border.style == "dotted":
        canv.setDash(border.width, border.width * 2)
    if x1 is not None:
        canv.line(x, y, x1, y)
    elif height is not None:
        canv.line(x, 0, x, height)
    canv.restoreState()


class CellStack(Flowable):  # type: ignore[misc]
    """A table cell's content: its flowables one under another, spaced as Word spaces them."""

    role = "TD"

    def __init__(self, children: Sequence[Flowable], min_height: float = 0.0, valign: str = "TOP") -> None:
        super().__init__()
        self.children = list(children)
        self.min_height = min_height  # a row's "at least" height, less the cell's margins
        self.valign = valign  # where the content sits when the minimum height leaves room
        self.sizes: list[tuple[float, float]] = []
        self.gaps: list[float] = []

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        self.sizes = [c.wrapOn(self.canv, availWidth, availHeight) for c in self.children]
        gaps = []
        previous_after = 0.0
        for index, child in enumerate(self.children):
            # as Word: the larger of the space after the paragraph above and this one's space before
            gaps.append(max(child.getSpaceBefore(), previous_after) if index else child.getSpaceBefore())
            previous_after = child.getSpaceAfter()
        self.gaps = gaps
        self.content_height = sum(h for _, h in self.sizes) + sum(gaps) + previous_after
        self.height = max(self.content_height, self.min_height)
        return availWidth, self.height

    def getSpaceBefore(self) -> float:
        return 0.0

    def getSpaceAfter(self) -> float:
        return 0.0

    def with_children(self, children: Sequence[Flowable]) -> CellStack:
        return CellStack(children, self.min_height, self.valign)

    def draw(self) -> None:
        self.draw_from(self.canv, 0.0, 0.0)

    def draw_from(self, canv: Any, x: float, y: float) -> None:
        """Draw the content with the cell's lower-left corner at (x, y) (no translation of its own)."""
        room = self.height - self.content_height
        top = (
            y
            + self.height
            - (room / 2 if self.valign == "MIDDLE" else room if self.valign == "BOTTOM" else 0.0)
        )
        for child, (_, h), gap in zip(self.children, self.sizes, self.gaps, strict=True):
            top -= gap + h
            child.wrapOn(canv, self.width, h)  # children may be shared: lay this one out for here
            draw_at(child, canv, x, top)


def _fits_a_fresh_frame(flowable: Flowable, height: float) -> bool:
    """Whether moving ``flowable`` to the next frame (page) would let it stand whole."""
    frame = getattr(flowable, "_frame", None)
    return frame is not None and not frame._atTop and height <= frame._height


class Frozen(Flowable):  # type: ignore[misc]
    """A block built once per process and shared by every document that has it (a table whose XML
    is the same): its size at each width is kept, and its drawing replayed (see :func:`replay`).

    It splits like the block it holds; the parts are drawn as usual.
    """

    def __init__(
        self, inner: Flowable, key: Any, faces: Sequence[str], special: str, sizes: dict[float, Any]
    ):
        super().__init__()
        self.inner = inner
        self.key = key
        self.faces = faces
        self.special = special
        self.sizes = sizes  # shared by every use: availWidth -> (width, height)
        self.keepWithNext = getattr(inner, "keepWithNext", 0)
        self.role = getattr(inner, "role", "Table")
        self.avail = 0.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.avail = availWidth
        size = self.sizes.get(availWidth)
        if size is None:
            size = self.sizes[availWidth] = self.inner.wrapOn(self.canv, availWidth, availHeight)
        self.width, self.height = size
        return size  # type: ignore[no-any-return]

    def head_height(self, canv: Any) -> float:
        """The least of it that goes with what keeps with it (a table's first rows); kept per width."""
        if not hasattr(self.inner, "head_height"):
            return float(self.height)
        key = ("head", self.avail)
        head = self.sizes.get(key)  # type: ignore[call-overload]
        if head is None:
            self.inner.wrapOn(canv, self.avail, 1e9)
            head = self.sizes[key] = self.inner.head_height(canv)  # type: ignore[index]
        return float(head)

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        inner = self.inner
        inner._frame = getattr(self, "_frame", None)  # where it is decides whether it moves whole
        inner.wrapOn(self.canv, availWidth, availHeight)
        parts: list[Flowable] = inner.split(availWidth, availHeight)
        return parts

    def replay_spec(self) -> tuple[Any, Sequence[str], str]:
        return (self.key, self.avail, self.width, self.height), self.faces, self.special

    def draw(self) -> None:
        def draw_inner() -> None:
            self.inner.wrapOn(self.canv, self.avail, 1e9)  # laid out for this width (it may have had another)
            self.inner.drawOn(self.canv, 0, 0)

        replay(self, *self.replay_spec(), draw_inner)
