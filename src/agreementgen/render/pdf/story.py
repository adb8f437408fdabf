"""A rendered Word document read into flowables, block by block: the body of the Word-to-PDF writer.

:class:`Builder` walks a story part (the document body, a header, a footer) in document
order and makes reportlab flowables of what it finds, in one direction — XML in,
flowables out. What it reads, it renders:

* paragraphs: runs (fonts, bold, italic, underline, strike, colour, size, highlight,
  shading, super/subscript, caps, hidden text left out), line and page breaks, tabs,
  hyperlinks, inline pictures, ``PAGE``/``NUMPAGES`` fields (headers and footers),
  list labels from ``numbering.xml``, borders and shading (call-out boxes), spacing,
  indents, alignment, keep-with-next, keep-lines-together, page-break-before;
* tables: the grid's column widths, cell margins, borders, shading, merged cells
  (``gridSpan``, ``vMerge``), header rows repeated on every page, rows kept together,
  the table style with its conditional formatting (header row, banded rows …);
* content controls, which become form fields named by their tag (or the ``[tag]`` at
  the end of their title, which LibreOffice keeps when it drops tags): plain and rich
  text → text field, a date picker → date field, a checkbox → checkbox, a drop-down or
  combo box → choice field, a control whose tag ends in ``_digital_signature`` → a
  signature field; a control locked against editing, or one printing an issued term
  (``locked``), → its text printed in the flow with a read-only field over it.

What it cannot render it never drops in silence: each such thing (a text box, a
floating shape, a footnote, a comment, a tracked change, columns, a field other than
``PAGE``/``NUMPAGES``/``HYPERLINK`` …) is an :class:`Unsupported` with its part and the
text near it. ``Builder(strict=True)`` — the writer — refuses the document;
``strict=False`` — ``check-template`` — lists them all.

Paragraphs the same in every practice's document are built once per process, keyed by
their XML (see :class:`~agreementgen.render.pdf.flowables.Prototype`).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from lxml import etree  # type: ignore[import-untyped,unused-ignore]
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, PageBreakIfNotEmpty
from reportlab.platypus.paraparser import ParaFrag

from ...errors import RenderError
from . import fonts
from .flowables import (
    BorderBox,
    EmptyLine,
    FieldBox,
    FieldSpec,
    Frozen,
    Picture,
    Prototype,
    Segment,
    TabLine,
    WordParagraph,
    box_frag,
    colour,
    frag,
    line_break,
)
from .tables import GridTable, build_table
from .word import (
    PIC,
    TRACKED_CHANGE,
    W14,
    WP,
    A,
    Numbering,
    ParaProps,
    Props,
    R,
    RunProps,
    Section,
    Styles,
    WordPackage,
    iter_children,
    para_props_of,
    parse_xml,
    read_section,
    run_props_of,
    w,
)

__all__ = ["Analysis", "Builder", "Note", "Story", "Unsupported", "analyse", "analysis_of"]

WORD_PLACEHOLDER = "Click or tap to enter text."
SIGNATURE_SUFFIX = "_digital_signature"
_TAG_IN_TITLE = re.compile(r"\[([A-Za-z0-9_]+)\]\s*$")
_VAL = w("val")
_EMU = 12700.0  # EMUs to a point
_SUPPORTED_FIELDS = ("PAGE", "NUMPAGES", "SECTIONPAGES", "HYPERLINK")


@dataclass(frozen=True)
class _Finding:
    """What the writer found in a Word document, and where: the part and the nearest text."""

    part: str
    near: str
    what: str

    def __str__(self) -> str:
        near = f", near '{self.near}'" if self.near else ""
        return f"{self.what} ({self.part}{near})"


class Unsupported(_Finding):
    """Something in a Word document the PDF writer cannot render, and where it is."""


class Note(_Finding):
    """Something the writer renders differently from Word (a font substituted, a control printed as text)."""


@dataclass(frozen=True)
class Analysis:
    """What every document rendered from one template shares: its styles and list definitions."""

    key: str
    styles: Styles
    numbering: Numbering


_ANALYSES = fonts.memo(16)
_RECIPES = fonts.memo(8192)
_PROPS = fonts.memo(8192)
_LEVELS = fonts.memo(2048)
_TABLES = fonts.memo(1024)
_IMAGES = fonts.memo(64)


def analysis_of(package: WordPackage) -> Analysis:
    """The styles and numbering of ``package``, read once per process for every package sharing them."""
    key = package.static_key()

    def make() -> Analysis:
        styles = Styles(package)
        return Analysis(key, styles, Numbering(package, styles.theme))

    found: Analysis = _ANALYSES.get(key, make)
    return found


@dataclass
class Story:
    """A document as flowables: its sections (page set-up and content) and the faces it uses."""

    sections: list[tuple[Section, list[Flowable]]]
    faces: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Where:
    """Where the builder is: which part, inside which table cell (its style's properties)."""

    part: str
    table: tuple[Props, Props] | None = None
    table_key: Any = None
    header: bool = False  # a header or footer: PAGE and NUMPAGES allowed, no form fields
    overlay: str = ""  # inside a locked block-level control: the overlay link its text carries


class _Label(NamedTuple):
    """A list paragraph's label: its text, look, what follows it (tab, space, nothing), alignment."""

    text: str
    props: RunProps
    suffix: str
    align: str


@dataclass
class _Item:
    """One thing in a paragraph's flow."""

    kind: str  # text, tab, br, page, field, image, dynamic
    text: str = ""
    props: RunProps | None = None
    link: str = ""
    spec: FieldSpec | None = None
    image: Any = None
    width: float = 0.0
    height: float = 0.0
    stretch: bool = False
    dynamic: str = ""  # PAGE or NUMPAGES: the text is a page number, filled in on each page


@dataclass
class _Recipe:
    """A built paragraph or table: makes its flowables for one more document (new objects, shared layout)."""

    make: Callable[[], list[Flowable]]
    faces: frozenset[str]
    special: frozenset[str] = frozenset()


class _Node:
    """A block of a story: its XML (the key of every layout cache) and its element, made when needed.

    Its XML is serialised once, when a cache first needs it; a node made from bytes is parsed only
    when something not cached needs its element.
    """

    __slots__ = ("_element", "_wrapper", "_xml", "tag")

    def __init__(
        self,
        tag: str,
        xml: bytes | None = None,
        element: etree._Element | None = None,
        wrapper: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.tag = tag
        self._xml = xml
        self._element = element
        self._wrapper = wrapper

    @classmethod
    def of(cls, element: etree._Element) -> _Node:
        return cls(element.tag, element=element)

    @property
    def xml(self) -> bytes:
        if self._xml is None:
            self._xml = etree.tostring(self._element)
        return self._xml

    @property
    def element(self) -> etree._Element:
        if self._element is None:
            assert self._wrapper is not None and self._xml is not None
            head, tail = self._wrapper
            self._element = parse_xml(head + self._xml + tail, "word/document.xml")[0]
        return self._element


def _table_recipe(built: list[Flowable], key: Any, faces: tuple[str, ...], special: str) -> _Recipe:
    """The table in ``built`` frozen (its Indenters, if any, around it)."""
    sizes: dict[float, Any] = {}

    def make() -> list[Flowable]:
        return [Frozen(f, key, faces, special, sizes) if isinstance(f, GridTable) else f for f in built]

    return _Recipe(make, frozenset(faces), frozenset(special))


class Builder:
    """Walks one story part; see the module docstring."""

    def __init__(
        self,
        package: WordPackage,
        analysis: Analysis,
        *,
        locked: frozenset[str] = frozenset(),
        strict: bool = True,
        cache: bool = True,
        dynamic: Mapping[str, str] | None = None,
    ) -> None:
        self.package = package
        self.analysis = analysis
        self.styles = analysis.styles
        self.counter = analysis.numbering.counter()
        self.locked = locked
        # What a cached block depends on besides its XML: the styles, pictures and links behind it
        # (the analysis key), and which controls are locked whatever the template says.
        self.cache_key = (analysis.key, locked)
        self.strict = strict
        self.cache = cache
        self.dynamic = dict(dynamic or {})
        self.unsupported: list[Unsupported] = []
        self.notes: list[Note] = []
        self.faces: set[str] = set()
        self.special: set[str] = set()  # the non-ASCII characters drawn (for replaying drawings)
        self.field_names: set[str] = set()
        self.untagged = 0  # controls named by the [tag] in their title (LibreOffice dropped the tag)
        self._fonts_noted: set[str] = set()
        self._part_rels: dict[str, dict[str, tuple[str, str, bool]]] = {}

    # -- reporting ------------------------------------------------------------------------

    def _unsupported(self, where: _Where, element: etree._Element, what: str) -> None:
        self.unsupported.append(Unsupported(where.part, _near(element), what))

    def _note(self, where: _Where, element: etree._Element, what: str) -> None:
        self.notes.append(Note(where.part, _near(element), what))

    def check(self) -> None:
        """In strict mode, refuse a document with anything the writer cannot render."""
        if self.strict and self.unsupported:
            shown = "; ".join(str(u) for u in self.unsupported[:5])
            more = f" (and {len(self.unsupported) - 5} more)" if len(self.unsupported) > 5 else ""
            raise RenderError(
                f"the document has what the PDF writer cannot render, so no PDF was written: {shown}{more}. "
                "`agreementgen check-template` lists everything to change in the template"
            )

    # -- the body ----------------------------------------------------------------------------

    def document(self) -> Story:
        where = _Where(self.package.main)
        children = self._body()
        sections: list[tuple[Section, list[Flowable]]] = []
        previous: Section | None = None
        current: list[Flowable] = []
        for start, end, sect_pr in _section_runs(children):
            section = read_section(sect_pr, self.package, previous)
            if section.columns > 1:
                self._unsupported(where, sect_pr, f"a section in {section.columns} columns")
            current = self.blocks(children[start:end], where)
            sections.append((section, current))
            previous = section
        self.check()
        return Story(sections, self.faces)

    def _body(self) -> list[_Node]:
        """The body's blocks."""
        body = self.package.xml(self.package.main).find(w("body"))
        if body is None:
            raise RenderError("the document has no body", path=self.package.label)
        return [_Node.of(child) for child in iter_children(body)]

    def part(self, name: str) -> list[Flowable]:
        """A header or footer part's flowables."""
        root = self.package.xml(name)
        flowables = self.blocks(list(iter_children(root)), _Where(name, header=True))
        self.check()
        return flowables

    def blocks(self, children: Sequence[etree._Element | _Node], where: _Where) -> list[Flowable]:
        """Paragraphs, tables and block-level controls, in order, as flowables."""
        out: list[Flowable] = []
        nodes = [c if isinstance(c, _Node) else _Node.of(c) for c in children if isinstance(c.tag, str)]
        props = {i: self._props(n, where) for i, n in enumerate(nodes) if n.tag == _P}
        siblings = _contextual_neighbours(nodes, props)
        for i, node in enumerate(nodes):
            tag = node.tag
            if tag == _P:
                out += self.paragraph(node, where, props[i], siblings.get(i, (False, False)))
            elif tag == _TBL:
                out += self.table(node, where)
            elif tag == w("sdt"):
                out += self.block_control(node.element, where)
            elif tag in (w("customXml"), w("smartTag")):
                out += self.blocks(list(iter_children(node.element)), where)
            elif tag in _IGNORED_BLOCKS:
                continue
            elif tag == w("altChunk"):
                self._unsupported(where, node.element, "an embedded document (altChunk)")
            else:
                self._unsupported(where, node.element, f"a {etree.QName(tag).localname} element")
        return _group_borders(out)

    # -- paragraphs -----------------------------------------------------------------------

    def _props(self, node: _Node | etree._Element, where: _Where) -> ParaProps:
        """A paragraph's properties, cached by the paragraph's own XML."""
        if isinstance(node, _Node) and self.cache:
            memo_key = (self.analysis.key, node.xml, where.table_key)
            known = _PROPS.items.get(memo_key)
            if known is not None:
                return known  # type: ignore[no-any-return]
        p = node.element if isinstance(node, _Node) else node
        ppr = p.find(w("pPr"))
        key = etree.tostring(ppr) if ppr is not None else b""
        props = self.styles.paragraph(ppr, key, where.table, where.table_key)
        if isinstance(node, _Node) and self.cache:
            _PROPS.get(memo_key, lambda: props)
        return props

    def paragraph(
        self, node: _Node, where: _Where, props: ParaProps, contextual: tuple[bool, bool]
    ) -> list[Flowable]:
        label: _Label | None = None
        if props.num_id and props.num_id != "0":
            found = self.counter.next(props.num_id, props.ilvl)
            if found is not None:
                text, level = found
                props = self._level_props(node, props, level.ppr)
                run = self.styles.run_from(self._run_base(props, where), level.rpr)
                label = _Label(text, run, level.suffix, level.align)
        if not self.cache:
            recipe = self._recipe(node.element, where, props, label, contextual)
        else:
            key = (
                self.cache_key,
                node.xml,
                where.table_key,
                where.overlay,
                label and label[0],
                contextual,
            )
            known: _Recipe | None = _RECIPES.items.get(key)
            if known is None:
                before = len(self.unsupported)
                known = self._recipe(node.element, where, props, label, contextual, key)
                if len(self.unsupported) == before:  # what cannot be rendered is found in every document
                    _RECIPES.get(key, lambda: known)
            recipe = known
        self.faces |= recipe.faces
        self.special |= recipe.special
        return recipe.make()

    def _level_props(self, node: _Node, props: ParaProps, level_ppr: Props) -> ParaProps:
        """A list paragraph's properties with its level's indents (cached by its XML)."""
        key = (self.analysis.key, node.xml, props)  # the level is the paragraph's (num_id, ilvl)
        if not self.cache:
            return _with_level_indents(props, level_ppr, node.element.find(w("pPr")))
        known: ParaProps = _LEVELS.get(
            key, lambda: _with_level_indents(props, level_ppr, node.element.find(w("pPr")))
        )
        return known

    def _rels(self, part: str) -> dict[str, tuple[str, str, bool]]:
        """A story part's own relationships (a header's links and pictures are in its own)."""
        if part == self.package.main:
            return self.package.rels
        known = self._part_rels.get(part)
        if known is None:
            known = self._part_rels[part] = self.package.relationships(part)
        return known

    def _run_base(self, props: ParaProps, where: _Where) -> Props:
        return self.styles.paragraph_run_base(props, where.table)

    def _recipe(
        self,
        p: etree._Element,
        where: _Where,
        props: ParaProps,
        label: _Label | None,
        contextual: tuple[bool, bool],
        key: Any = None,
    ) -> _Recipe:
        if contextual[0] or contextual[1]:
            props = replace(
                props,
                before=0.0 if contextual[0] else props.before,
                after=0.0 if contextual[1] else props.after,
            )
        items = self._items(p, where, props)
        _mark_stretch(items)
        pieces = _split_pages(items)
        makers: list[Callable[[], list[Flowable]]] = []
        faces: set[str] = set()
        special: set[str] = set()
        if props.page_break_before:
            makers.append(lambda: [PageBreakIfNotEmpty()])
        for number, piece in enumerate(pieces):
            if number:
                makers.append(lambda: [PageBreakIfNotEmpty()])
            piece_props = props if number == 0 else replace(props, before=0.0, page_break_before=False)
            maker, used, chars = self._piece(piece, piece_props, label if number == 0 else None, key, number)
            makers.append(maker)
            faces |= used
            special |= set(chars)
        if label is not None:
            special |= {c for c in label[0] if ord(c) > 127}
        return _Recipe(lambda: [f for make in makers for f in make()], frozenset(faces), frozenset(special))

    def _piece(
        self,
        items: list[_Item],
        props: ParaProps,
        label: _Label | None,
        key: Any,
        number: int,
    ) -> tuple[Callable[[], list[Flowable]], set[str], str]:
        """One paragraph (or the part of one between page breaks) as a flowable maker, its faces
        and its non-ASCII characters."""
        visible = [i for i in items if i.kind != "text" or i.text]
        mark = props.mark
        if not visible and label is None:
            face = mark.face
            height = _leading(props, mark.size, face)
            return (lambda: [EmptyLine(height, props)]), {face}, ""
        frags: list[ParaFrag] = []
        faces: set[str] = set()
        sizes = [mark.size] if not visible else []
        replayable = True
        index = 0
        if label is not None and label[2] != "tab":
            text, lprops, suffix, _ = label
            frags.append(self._frag(text + (" " if suffix == "space" else ""), lprops, "", index, faces))
            label = None
        for item in items:
            index += 1
            run = item.props or mark
            if item.kind == "text":
                if not item.text:
                    continue
                made = self._frag(item.text, run, item.link, index, faces)
                if item.dynamic:
                    made.dynamic = item.dynamic  # a page number: its text is each page's
                frags.append(made)
                sizes.append(run.size)
            elif item.kind == "br":
                frags.append(line_break(run.face, run.size, colour(run.colour)))
                faces.add(run.face)
            elif item.kind in ("field", "image"):
                replayable = replayable and item.kind == "field"  # a picture is a resource of its page
                faces.add(run.face)
                frags.append(
                    box_frag(
                        item.image,
                        item.width,
                        item.height,
                        run.face,
                        run.size,
                        colour(run.colour),
                        "baseline" if item.kind == "image" else "middle",
                    )
                )
                sizes.append(run.size)
            elif item.kind == "tab":
                frags.append(self._frag("\t", run, "", index, faces))
        size = max(sizes) if sizes else mark.size
        # The paragraph's own face (its mark's) sets the line height, unless none of its text uses it.
        base_face = mark.face if mark.face in faces or not faces else sorted(faces)[0]
        style = self._style(props, size, base_face, label)
        if any(getattr(f, "cbDefn", None) is not None for f in frags):
            style.autoLeading = "max"  # a field box or picture taller than the line makes the line taller
        faces.add(base_face)
        special = "".join(sorted({c for f in frags for c in f.text if ord(c) > 127}))
        tabbed = any(f.text == "\t" for f in frags)
        plain_frags = [_untab(f) for f in frags] if tabbed else frags
        paragraph = WordParagraph("", style, frags=plain_frags)
        paragraph.word = props
        paragraph.role = _role(props, label is not None)
        if label is not None:
            paragraph.bulletText = label[0]
        proto = Prototype(
            key=(key, number) if key is not None else None,
            paragraph=paragraph,
            faces=tuple(sorted(faces)),
            special=special,
            replayable=replayable and key is not None,
            dynamic=any(getattr(f, "dynamic", "") for f in frags),
            stretch=any(
                isinstance(getattr(f, "cbDefn", None) and f.cbDefn.image, FieldBox) and f.cbDefn.image.stretch
                for f in frags
            ),
        )
        if key is None:
            proto.replayable = False
        if tabbed:
            segments = _segments(frags)
            stops = props.tabs
            default_tab = self.styles.default_tab
            leader = (base_face, size, colour(mark.colour))

            def make_tabbed() -> list[Flowable]:
                line = TabLine(segments, stops, default_tab, style, props, proto.use(), leader)
                line.role = paragraph.role
                return [line]

            return make_tabbed, faces, special
        return (lambda: [proto.use()]), faces, special

    def _frag(self, text: str, run: RunProps, link: str, index: int, faces: set[str]) -> ParaFrag:
        face = run.face
        faces.add(face)
        size = run.size
        rise = 0.0
        if run.vert == "superscript":
            rise, size = size * 0.33, size * 0.65
        elif run.vert == "subscript":
            rise, size = -size * 0.14, size * 0.65
        if run.caps or run.small_caps:
            text = text.upper()
        back = run.highlight or run.shading
        return frag(
            text,
            face,
            size,
            colour(run.colour),
            rise=rise,
            underline=(2 if run.underline.startswith("double") else 1) if run.underline else 0,
            strike=2 if run.double_strike else (1 if run.strike else 0),
            link=link,
            back=colour(back) if back else None,
            index=index,
        )

    def _style(self, props: ParaProps, size: float, face: str, label: _Label | None) -> ParagraphStyle:
        leading = _leading(props, size, face)
        values: dict[str, Any] = {
            "fontName": face,
            "fontSize": size,
            "leading": leading,
            "leftIndent": props.left,
            "rightIndent": props.right,
            "firstLineIndent": props.first_line,
            "alignment": _ALIGN.get(props.align, TA_LEFT),
            "spaceBefore": props.before,
            "spaceAfter": props.after,
            "keepWithNext": int(props.keep_next),
            "allowWidows": 0 if props.widow_control else 1,
            "allowOrphans": 0 if props.widow_control else 1,
            "textColor": colour(props.mark.colour),
            "splitLongWords": 1,
        }
        if label is not None:
            lprops = label.props
            # The number position is where a left-aligned label starts, a right-aligned one ends.
            width = stringWidth(label.text, lprops.face, lprops.size)
            shift = {"right": width, "end": width, "center": width / 2}.get(label.align, 0.0)
            values.update(
                bulletFontName=lprops.face,
                bulletFontSize=lprops.size,
                bulletColor=colour(lprops.colour),
                bulletIndent=max(props.left + props.first_line - shift, 0.0),
                firstLineIndent=0.0,
            )
            self.faces.add(lprops.face)
        return ParagraphStyle("word", **values)

    # -- what a paragraph holds -------------------------------------------------------------

    def _items(self, p: etree._Element, where: _Where, props: ParaProps) -> list[_Item]:
        base = self._run_base(props, where)
        base_key = (id(self.styles), props.style_id, where.table_key)
        out: list[_Item] = []
        state = _FieldState()
        ppr = p.find(w("pPr"))
        mark = ppr.find(w("rPr")) if ppr is not None else None
        if mark is not None and (mark.find(w("ins")) is not None or mark.find(w("del")) is not None):
            self._unsupported(where, p, TRACKED_CHANGE)  # a paragraph mark inserted or deleted
        self._inline(list(iter_children(p)), where, base, base_key, "", out, state, p)
        return out

    def _inline(
        self,
        children: Iterable[etree._Element],
        where: _Where,
        base: Props,
        base_key: Any,
        link: str,
        out: list[_Item],
        state: _FieldState,
        paragraph: etree._Element,
    ) -> None:
        for child in children:
            tag = child.tag
            if tag == w("r"):
                self._run(child, where, base, base_key, link, out, state, paragraph)
            elif tag == w("hyperlink"):
                target = ""
                rid = child.get(f"{{{R}}}id")
                found = self._rels(where.part).get(rid) if rid else None
                if found is not None and found[2]:  # an external address
                    target = found[1]
                if target and where.header:
                    self._note(
                        where, child, "a hyperlink in a header or footer is printed as text, not a link"
                    )
                    target = ""
                self._inline(
                    iter_children(child), where, base, base_key, link or target, out, state, paragraph
                )
            elif tag == w("sdt"):
                self._inline_control(child, where, base, base_key, link, out, state, paragraph)
            elif tag == w("fldSimple"):
                instruction = (child.get(w("instr")) or "").strip()
                kind = _field_kind(instruction)
                if kind in ("PAGE", "NUMPAGES", "SECTIONPAGES"):
                    self._dynamic(kind, child, where, base, base_key, out, paragraph)
                else:
                    target = _hyperlink_target(instruction) if kind == "HYPERLINK" else ""
                    if kind != "HYPERLINK":
                        self._unsupported(
                            where, paragraph, f"a {kind or 'Word'} field ({_field_advice(instruction)})"
                        )
                    self._inline(
                        iter_children(child), where, base, base_key, link or target, out, state, paragraph
                    )
            elif tag in (w("smartTag"), w("customXml"), w("dir"), w("bdo")):
                self._inline(iter_children(child), where, base, base_key, link, out, state, paragraph)
            elif tag in (w("ins"), w("del"), w("moveFrom"), w("moveTo")):
                self._unsupported(where, paragraph, TRACKED_CHANGE)
                if tag in (w("ins"), w("moveTo")):
                    self._inline(iter_children(child), where, base, base_key, link, out, state, paragraph)
            elif tag in _IGNORED_INLINE or not isinstance(tag, str):
                continue
            elif tag == f"{{{_MATH}}}oMath" or tag == f"{{{_MATH}}}oMathPara":
                self._unsupported(where, paragraph, "an equation")
            else:
                self._unsupported(where, paragraph, f"a {etree.QName(tag).localname} element in a paragraph")

    def _run(
        self,
        r: etree._Element,
        where: _Where,
        base: Props,
        base_key: Any,
        link: str,
        out: list[_Item],
        state: _FieldState,
        paragraph: etree._Element,
    ) -> None:
        rpr = r.find(w("rPr"))
        props = self.styles.run(base, rpr, etree.tostring(rpr) if rpr is not None else b"", base_key)
        self._note_font(props, where, paragraph)
        for child in r:
            tag = child.tag
            if tag == w("fldChar"):
                self._field_char(child, state, where, props, out, paragraph)
                continue
            if tag == w("instrText"):
                if state.stack:
                    state.stack[-1][0].append(child.text or "")
                continue
            if state.suppressed():
                continue
            target = link or state.link() or where.overlay
            if props.hidden:
                continue
            if tag == w("t"):
                if child.text:
                    lost = fonts.missing(props.face, child.text)
                    if lost:
                        shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in lost)
                        self._unsupported(where, paragraph, f"characters no shipped font can print: {shown}")
                    out.append(_Item("text", child.text, props, target))
            elif tag == w("tab"):
                out.append(_Item("tab", props=props))
            elif tag in (w("br"), w("cr")):
                kind = child.get(w("type")) or "textWrapping"
                if kind == "page":
                    out.append(_Item("page", props=props))
                elif kind == "column":
                    self._unsupported(where, paragraph, "a column break")
                else:
                    out.append(_Item("br", props=props))
            elif tag == w("noBreakHyphen"):
                out.append(_Item("text", "\u2011", props, target))
            elif tag == w("sym"):
                char = _symbol(child)
                if char is None:
                    self._unsupported(where, paragraph, f"a symbol from the {child.get(w('font'))} font")
                else:
                    out.append(_Item("text", char, props, target))
            elif tag == w("drawing"):
                self._drawing(child, where, props, out, paragraph)
            elif tag in (w("pict"), w("object")):
                self._unsupported(where, paragraph, "a text box, shape or embedded object (VML)")
            elif tag == f"{{{_MC}}}AlternateContent":
                self._unsupported(where, paragraph, "a text box or shape")
            elif tag in (w("footnoteReference"), w("endnoteReference")):
                self._unsupported(where, paragraph, "a footnote or endnote")
            elif tag == w("commentReference"):
                self._unsupported(where, paragraph, "a comment (delete comments before issuing)")
            elif tag in (w("delText"), w("delInstrText")):
                continue
            elif tag == w("ptab"):
                out.append(_Item("tab", props=props))
            elif tag in _IGNORED_IN_RUN or not isinstance(tag, str):
                continue
            else:
                self._unsupported(where, paragraph, f"a {etree.QName(tag).localname} element in a run")

    def _note_font(self, props: RunProps, where: _Where, paragraph: etree._Element) -> None:
        name = props.word_font
        if name and name not in self._fonts_noted and not fonts.is_known(name):
            self._fonts_noted.add(name)
            self._note(where, paragraph, f"the font '{name}' is printed as Liberation Sans")
        if props.char_spacing and "spacing" not in self._fonts_noted:
            self._fonts_noted.add("spacing")
            self._note(
                where,
                paragraph,
                "expanded or condensed character spacing (Font ▸ Advanced ▸ Spacing) is printed at normal "
                "spacing, so lines may break differently from Word",
            )

    # -- fields (PAGE, NUMPAGES, HYPERLINK) ---------------------------------------------------

    def _field_char(
        self,
        element: etree._Element,
        state: _FieldState,
        where: _Where,
        props: RunProps,
        out: list[_Item],
        paragraph: etree._Element,
    ) -> None:
        kind = element.get(w("fldCharType"))
        if kind == "begin":
            state.stack.append(([], "instruction", ""))
        elif kind == "separate" and state.stack:
            parts, _, _ = state.stack[-1]
            self._begin_result(state, "".join(parts).strip(), where, props, out, paragraph)
        elif kind == "end" and state.stack:
            parts, phase, _ = state.stack[-1]
            if phase == "instruction":  # no result was stored: show the field's value
                self._begin_result(state, "".join(parts).strip(), where, props, out, paragraph)
            state.stack.pop()

    def _begin_result(
        self,
        state: _FieldState,
        instruction: str,
        where: _Where,
        props: RunProps,
        out: list[_Item],
        paragraph: etree._Element,
    ) -> None:
        parts = state.stack[-1][0]
        kind = _field_kind(instruction)
        if kind in ("PAGE", "NUMPAGES", "SECTIONPAGES"):
            if not where.header:
                self._unsupported(where, paragraph, f"a {kind} field outside a header or footer")
            name = "NUMPAGES" if kind == "SECTIONPAGES" else kind
            out.append(_Item("text", self.dynamic.get(name, "1"), props, "", dynamic=name))
            state.stack[-1] = (parts, "hidden", "")
        elif kind == "HYPERLINK":
            state.stack[-1] = (parts, "result", _hyperlink_target(instruction))
        else:
            self._unsupported(where, paragraph, f"a {kind or 'Word'} field ({_field_advice(instruction)})")
            state.stack[-1] = (parts, "result", "")

    def _dynamic(
        self,
        kind: str,
        element: etree._Element,
        where: _Where,
        base: Props,
        base_key: Any,
        out: list[_Item],
        paragraph: etree._Element,
    ) -> None:
        if not where.header:
            self._unsupported(where, paragraph, f"a {kind} field outside a header or footer")
        first_run = element.find(w("r"))
        rpr = first_run.find(w("rPr")) if first_run is not None else None
        props = self.styles.run(base, rpr, etree.tostring(rpr) if rpr is not None else b"", base_key)
        name = "NUMPAGES" if kind == "SECTIONPAGES" else kind
        out.append(_Item("text", self.dynamic.get(name, "1"), props, dynamic=name))

    # -- pictures ------------------------------------------------------------------------------

    def _drawing(
        self,
        drawing: etree._Element,
        where: _Where,
        props: RunProps,
        out: list[_Item],
        paragraph: etree._Element,
    ) -> None:
        inline = drawing.find(f"{{{WP}}}inline")
        if inline is None:
            self._unsupported(
                where, paragraph, "a floating picture or shape (set its wrapping to 'In line with text')"
            )
            return
        blip = inline.find(f".//{{{A}}}blip")
        extent = inline.find(f"{{{WP}}}extent")
        if blip is None or extent is None or inline.find(f".//{{{PIC}}}pic") is None:
            self._unsupported(where, paragraph, "a chart, diagram or shape")
            return
        rid = blip.get(f"{{{R}}}embed") or ""
        target = self._rels(where.part).get(rid)
        if target is None or target[2] or target[1] not in self.package.parts:
            self._unsupported(where, paragraph, "a linked (not embedded) picture")
            return
        name = target[1]
        data = self.package.parts[name]
        if not (data.startswith(b"\x89PNG") or data.startswith(b"\xff\xd8") or data.startswith(b"GIF8")):
            self._unsupported(where, paragraph, f"a picture in a format other than PNG, JPEG or GIF ({name})")
            return
        digest = hashlib.sha256(data).hexdigest()
        image = _IMAGES.get(digest, lambda: ImageReader(io.BytesIO(data)))
        width = float(extent.get("cx") or 0) / _EMU
        height = float(extent.get("cy") or 0) / _EMU
        described = inline.find(f"{{{WP}}}docPr")
        alt = (described.get("descr") or described.get("title") or "") if described is not None else ""
        alt = " ".join(alt.split())
        if not alt:
            self._note(where, paragraph, "a picture without alt text (in Word: right-click it, Alt Text)")
        out.append(_Item("image", props=props, image=Picture(image, alt), width=width, height=height))

    # -- content controls ---------------------------------------------------------------------

    def _control_name(self, pr: etree._Element | None) -> str:
        if pr is None:
            return ""
        tag = pr.find(w("tag"))
        name = (tag.get(_VAL) if tag is not None else "") or ""
        if not name:
            alias = pr.find(w("alias"))
            found = _TAG_IN_TITLE.search(alias.get(_VAL, "")) if alias is not None else None
            name = found.group(1) if found else ""
            self.untagged += bool(name)
        if name:
            self.field_names.add(name)
        return name

    def _control_kind(self, pr: etree._Element | None, name: str) -> str:
        if pr is None:
            return "container"
        if name.endswith(SIGNATURE_SUFFIX):
            return "signature"
        for child in iter_children(pr):
            local = etree.QName(child).localname
            if child.tag == f"{{{W14}}}checkbox":
                return "checkbox"
            if local in ("dropDownList", "comboBox"):
                return "choice"
            if local == "date":
                return "date"
            if local == "text":
                return "text"
            if local == "richText":
                return "rich"
            if local in ("docPartObj", "docPartList", "group", "bibliography", "citation", "equation"):
                return "container"
            if local == "picture":
                return "picture"
        return "rich"

    def _locked(self, pr: etree._Element | None, name: str) -> bool:
        if name in self.locked:
            return True
        lock = pr.find(w("lock")) if pr is not None else None
        return lock is not None and (lock.get(_VAL) or "") in ("sdtContentLocked", "contentLocked")

    def _inline_control(
        self,
        sdt: etree._Element,
        where: _Where,
        base: Props,
        base_key: Any,
        link: str,
        out: list[_Item],
        state: _FieldState,
        paragraph: etree._Element,
    ) -> None:
        pr = sdt.find(w("sdtPr"))
        content = sdt.find(w("sdtContent"))
        children = list(iter_children(content)) if content is not None else []
        name = self._control_name(pr)
        kind = self._control_kind(pr, name)
        if kind in ("container", "picture") or not name or where.header:
            if name and where.header and kind != "container":
                self._note(
                    where, sdt, f"the content control '{name}' in a header or footer is printed as text"
                )
            elif not name and kind not in ("container", "picture"):
                self._note(where, sdt, "a content control without a tag is printed as text, not a form field")
            self._inline(children, where, base, base_key, link, out, state, paragraph)
            return
        text = control_text(sdt)
        run_props = self._first_run_props(content, base, base_key)
        size = min(max(run_props.size, 8.0), 12.0)
        if kind == "checkbox":
            checked = pr is not None and any(
                (c.get(f"{{{W14}}}val") or "0") in ("1", "true") for c in pr.iter(f"{{{W14}}}checked")
            )
            spec = FieldSpec(name, "checkbox", "Yes" if checked else "Off", read_only=self._locked(pr, name))
            box = FieldBox(spec)
            out.append(_Item("field", props=run_props, spec=spec, image=box, width=size + 2, height=size + 2))
            return
        if self._locked(pr, name) and kind != "signature":
            if not text:
                spec = FieldSpec(
                    name, "overlay", "", read_only=True, tooltip=_tooltip(pr, "Issued term (locked)")
                )
                out.append(
                    _Item("field", props=run_props, spec=spec, image=FieldBox(spec), width=0.01, height=size)
                )
                return
            spec = FieldSpec(
                name, "overlay", text, read_only=True, tooltip=_tooltip(pr, "Issued term (locked)")
            )
            self._inline(children, where, base, base_key, spec.overlay_link(), out, state, paragraph)
            return
        tooltip = _tooltip(pr, "")
        if kind == "signature":
            spec = FieldSpec(name, "signature", tooltip=tooltip or "Digital signature")
            box = FieldBox(spec, stretch=True)
            out.append(
                _Item("field", props=run_props, spec=spec, image=box, width=200, height=max(40.0, size * 4))
            )
            return
        shown = text or WORD_PLACEHOLDER
        width = max(stringWidth(shown, run_props.face, size) + 8, 60.0)
        if kind == "choice":
            options = _options(pr)
            spec = FieldSpec(name, "choice", text, options=options, tooltip=tooltip, size=size)
            width = max([width, *(stringWidth(o[1], run_props.face, size) + 20 for o in options)])
        elif kind == "date":
            spec = FieldSpec(
                name, "date", text, date_format=_date_format(pr), tooltip=tooltip or "Date", size=size
            )
            width = max(width, 90.0)
        else:
            multiline = pr is not None and any(
                (t.get(w("multiLine")) or "0") in ("1", "true") for t in pr.iter(w("text"))
            )
            spec = FieldSpec(
                name,
                "text",
                text,
                multiline=multiline,
                tooltip=tooltip,
                size=size,
                lines=3 if multiline else 1,
                face=run_props.face,
            )
        height = size * 1.9 if spec.lines == 1 else spec.lines * size * 1.2 + 4
        out.append(
            _Item("field", props=run_props, spec=spec, image=FieldBox(spec), width=width, height=height)
        )

    def _first_run_props(self, content: etree._Element | None, base: Props, base_key: Any) -> RunProps:
        run = content.find(f".//{w('r')}") if content is not None else None
        rpr = run.find(w("rPr")) if run is not None else None
        props = self.styles.run(base, rpr, etree.tostring(rpr) if rpr is not None else b"", base_key)
        if props.style_id.lower().startswith("placeholder"):  # the placeholder's grey is not the field's
            props = replace(props, colour="000000")
        return props

    def block_control(self, sdt: etree._Element, where: _Where) -> list[Flowable]:
        pr = sdt.find(w("sdtPr"))
        content = sdt.find(w("sdtContent"))
        children = list(iter_children(content)) if content is not None else []
        name = self._control_name(pr)
        kind = self._control_kind(pr, name)
        if kind in ("container", "picture") or not name or where.header:
            if not name and kind not in ("container", "picture"):
                self._note(where, sdt, "a content control without a tag is printed as text, not a form field")
            return self.blocks(children, where)
        if kind in ("checkbox", "choice", "date"):
            self._unsupported(
                where, sdt, f"a {kind} content control around whole paragraphs (put it inside one)"
            )
            return self.blocks(children, where)
        if self._locked(pr, name):  # printed as its paragraphs, the read-only field over their text
            spec = FieldSpec(
                name, "overlay", control_text(sdt), read_only=True, tooltip=_tooltip(pr, "Locked")
            )
            return self.blocks(children, replace(where, overlay=spec.overlay_link()))
        paragraphs = [c for c in children if c.tag == w("p")]
        text = control_text(sdt)
        first = paragraphs[0] if paragraphs else None
        props = (
            self._props(first, where)
            if first is not None
            else self.styles.paragraph(None, b"", where.table, where.table_key)
        )
        base = self._run_base(props, where)
        run_props = self._first_run_props(content, base, (id(self.styles), props.style_id, where.table_key))
        size = min(max(run_props.size, 8.0), 12.0)
        tooltip = _tooltip(pr, "")
        if kind == "signature":
            spec = FieldSpec(name, "signature", tooltip=tooltip or "Digital signature")
            height = max(40.0, size * 4)
        else:
            lines = max(3, len(paragraphs))
            spec = FieldSpec(name, "text", text, multiline=True, tooltip=tooltip, size=size, lines=lines)
            height = lines * size * 1.2 + 4
        box = FieldBox(spec, stretch=True)
        item = _Item("field", props=run_props, spec=spec, image=box, width=200, height=height)
        style = self._style(props, size, run_props.face, None)
        style.autoLeading = "max"
        self.faces.add(run_props.face)
        paragraph = WordParagraph(
            "", style, frags=[box_frag(box, item.width, item.height, run_props.face, size, colour("000000"))]
        )
        paragraph.word = props
        proto = Prototype(
            key=None, paragraph=paragraph, faces=(run_props.face,), special="", replayable=False, stretch=True
        )
        return [proto.use()]

    # -- tables -------------------------------------------------------------------------------

    def table(self, node: _Node, where: _Where) -> list[Flowable]:
        if not self.cache:
            return build_table(self, node.element, where)
        key = (self.cache_key, node.xml, where.table_key, where.overlay, where.header)
        recipe = _TABLES.items.get(key)
        if recipe is None:
            used, unsupported = self.counter.used, len(self.unsupported)
            outer_faces, outer_special = self.faces, self.special
            self.faces, self.special = set(), set()
            try:
                built = build_table(self, node.element, where)
                faces, special = tuple(sorted(self.faces)), "".join(sorted(self.special))
            finally:
                self.faces, self.special = outer_faces | self.faces, outer_special | self.special
            recipe = _table_recipe(built, key, faces, special)
            # A table that numbers list items is built for each document; so is one holding what
            # cannot be rendered, so that it is found in every document.
            if self.counter.used == used and len(self.unsupported) == unsupported:
                _TABLES.get(key, lambda: recipe)
        self.faces |= recipe.faces
        self.special |= recipe.special
        return recipe.make()


class _FieldState:
    """Complex fields (``fldChar`` begin … separate … end) open in the paragraph being read."""

    def __init__(self) -> None:
        self.stack: list[tuple[list[str], str, str]] = []  # (instruction parts, phase, hyperlink)

    def suppressed(self) -> bool:
        return bool(self.stack) and any(phase in ("instruction", "hidden") for _, phase, _ in self.stack)

    def link(self) -> str:
        return next((target for _, phase, target in reversed(self.stack) if target), "")


# --------------------------------------------------------------------------- helpers

_MATH = "http://schemas.openxmlformats.org/officeDocument/2006/math"
_P, _TBL, _SECT_PR = w("p"), w("tbl"), w("sectPr")
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_IGNORED_BLOCKS = {
    w("bookmarkStart"),
    w("bookmarkEnd"),
    w("proofErr"),
    w("permStart"),
    w("permEnd"),
    w("commentRangeStart"),
    w("commentRangeEnd"),
    w("sectPr"),
    w("moveFromRangeStart"),
    w("moveFromRangeEnd"),
    w("moveToRangeStart"),
    w("moveToRangeEnd"),
}
_IGNORED_INLINE = {
    w("pPr"),
    w("bookmarkStart"),
    w("bookmarkEnd"),
    w("proofErr"),
    w("permStart"),
    w("permEnd"),
    w("commentRangeStart"),
    w("commentRangeEnd"),
    w("lastRenderedPageBreak"),
    w("moveFromRangeStart"),
    w("moveFromRangeEnd"),
    w("moveToRangeStart"),
    w("moveToRangeEnd"),
}
_IGNORED_IN_RUN = {w("rPr"), w("lastRenderedPageBreak"), w("softHyphen"), w("annotationRef"), w("separator")}
_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT, "both": TA_JUSTIFY}


def _near(element: etree._Element) -> str:
    """Some text of ``element`` or its paragraph, to say where it is."""
    node = element
    while node is not None and node.tag != w("p"):
        node = node.getparent()
    source = node if node is not None else element
    if source.tag == w("p"):  # its own text, not a text box's inside it
        own = [t for t in source.iter(w("t")) if _paragraph_of(t) in (source, None)]
    else:  # a block (a control around paragraphs): all its text
        own = list(source.iter(w("t")))
    text = " ".join("".join(t.text or "" for t in own).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _paragraph_of(element: etree._Element) -> etree._Element | None:
    node = element.getparent()
    while node is not None and node.tag != w("p"):
        node = node.getparent()
    return node


def _section_runs(children: Sequence[_Node]) -> Iterable[tuple[int, int, etree._Element | None]]:
    """(start, end, sectPr) of each section of the body: a paragraph's sectPr ends one after it."""
    start = 0
    final: etree._Element | None = None
    for index, child in enumerate(children):
        if child.tag == _P:
            if b"sectPr" not in child.xml:
                continue
            sect = child.element.find(f"{w('pPr')}/{w('sectPr')}")
            if sect is not None:
                yield start, index + 1, sect
                start = index + 1
        elif child.tag == _SECT_PR:
            final = child.element
    if start < len(children) or final is not None:
        yield start, len(children), final


def _contextual_neighbours(
    children: Sequence[_Node], props: Mapping[int, ParaProps]
) -> dict[int, tuple[bool, bool]]:
    """For each paragraph (by its index), whether its space (before, after) is dropped: Word's "don't
    add space between paragraphs of the same style", which each paragraph sets for its own spacing."""
    drop_before: set[int] = set()
    drop_after: set[int] = set()
    for index in range(1, len(children)):
        a, b = props.get(index - 1), props.get(index)
        if a is None or b is None or a.style_id != b.style_id:
            continue
        if a.contextual:
            drop_after.add(index - 1)
        if b.contextual:
            drop_before.add(index)
    return {key: (key in drop_before, key in drop_after) for key in drop_before | drop_after}


def _with_level_indents(props: ParaProps, level_ppr: Props, ppr: etree._Element | None) -> ParaProps:
    """A list paragraph takes its level's indents unless it sets its own."""
    direct = para_props_of(ppr)
    values: dict[str, Any] = {}
    for key in ("left", "right", "first_line"):
        if key in level_ppr and key not in direct:
            values[key] = level_ppr[key]
    if "tabs" in level_ppr and not props.tabs:
        pass
    return replace(props, **values) if values else props


def _leading(props: ParaProps, size: float, face: str) -> float:
    single = size * fonts.line_factor(face)
    if props.line_rule == "exact":
        return props.line
    if props.line_rule == "at_least":
        return max(props.line, single)
    return single * props.line


def _role(props: ParaProps, listed: bool) -> str:
    if props.outline is not None:
        return f"H{min(props.outline + 1, 6)}"
    if props.style_name.lower() == "title":
        return "H1"
    return "LI" if listed else "P"


def _untab(f: ParaFrag) -> ParaFrag:
    if f.text != "\t":
        return f
    copy = ParaFrag()
    copy.__dict__.update(f.__dict__)
    copy.text = " "
    return copy


def _segments(frags: list[ParaFrag]) -> list[Segment]:
    segments: list[Segment] = []
    current: list[ParaFrag] = []
    for f in [*frags, None]:
        if f is None or f.text == "\t":
            width = sum(_frag_width(x) for x in current)
            decimal = width
            for index, x in enumerate(current):
                if "." in x.text:
                    decimal = sum(_frag_width(y) for y in current[:index]) + stringWidth(
                        x.text[: x.text.index(".")], x.fontName, x.fontSize
                    )
                    break
            dynamic = any(getattr(x, "dynamic", "") for x in current)
            segments.append(Segment(tuple(current), width, decimal, dynamic))
            current = []
        else:
            current.append(f)
    return segments


def _frag_width(f: ParaFrag) -> float:
    definition = getattr(f, "cbDefn", None)
    if definition is not None:
        return float(definition.width)
    return float(stringWidth(f.text, f.fontName, f.fontSize))


def _mark_stretch(items: list[_Item]) -> None:
    """A fillable field with nothing after it in its paragraph takes the rest of the line."""
    for item in reversed(items):
        if item.kind == "text" and not item.text.strip():
            continue
        if (
            item.kind == "field"
            and item.spec is not None
            and item.spec.kind in ("text", "date", "choice", "signature")
        ):
            item.image.stretch = True
        break


def _split_pages(items: list[_Item]) -> list[list[_Item]]:
    pieces: list[list[_Item]] = [[]]
    for item in items:
        if item.kind == "page":
            pieces.append([])
        else:
            pieces[-1].append(item)
    return pieces


def _group_borders(flowables: list[Flowable]) -> list[Flowable]:
    """Runs of paragraphs with the same borders and shading become one :class:`BorderBox`."""
    out: list[Flowable] = []
    group: list[Flowable] = []
    key: Any = None

    def flush() -> None:
        nonlocal group
        if group:
            word = group[0].word
            out.append(BorderBox(group, word))
        group = []

    for flowable in flowables:
        word: ParaProps | None = getattr(flowable, "word", None)
        this = (
            (word.borders, word.shading, word.left, word.right)
            if word is not None and (word.borders or word.shading)
            else None
        )
        if this is not None and this == key:
            group.append(flowable)
            continue
        flush()
        key = this
        if this is not None:
            group = [flowable]
        else:
            out.append(flowable)
    flush()
    return out


def _symbol(element: etree._Element) -> str | None:
    char = element.get(w("char")) or ""
    try:
        code = int(char, 16)
    except ValueError:
        return None
    if code >= 0xF000:
        code -= 0xF000
    mapped = {0xB7: "•", 0xA7: "▪", 0xFC: "✓", 0xFB: "✗", 0xD8: "➢", 0x2D: "–"}.get(code)
    return mapped


def _field_kind(instruction: str) -> str:
    words = instruction.split()
    return words[0].upper() if words else ""


def _hyperlink_target(instruction: str) -> str:
    """The URL of a ``HYPERLINK "…"`` field ("" for a link within the document, ``\\l``)."""
    if re.search(r"\\l\b", instruction):
        return ""
    found = re.search(r'"([^"]+)"', instruction)
    return found.group(1) if found else ""


def _field_advice(instruction: str) -> str:
    kind = _field_kind(instruction)
    if kind == "MERGEFIELD":
        name = instruction.split()[1] if len(instruction.split()) > 1 else "?"
        return f"the mail-merge field «{name.strip(chr(34))}»: replace it with a {{{{ … }}}} variable"
    return f"'{instruction[:40]}': delete it, or select it and press Ctrl+Shift+F9 to make it plain text"


def control_text(sdt: etree._Element) -> str:
    """What a content control holds, as ``read_content_controls`` reads it (a placeholder reads ``""``)."""
    pr = sdt.find(w("sdtPr"))
    placeholder = pr.find(w("showingPlcHdr")) if pr is not None else None
    if placeholder is not None and (placeholder.get(_VAL) or "true").lower() not in ("0", "false", "off"):
        return ""
    content = sdt.find(w("sdtContent"))
    if content is None:
        return ""
    paragraphs = list(content.iter(w("p")))
    text = "\n".join(_run_text(p) for p in paragraphs) if paragraphs else _run_text(content)
    return "" if text.strip() == WORD_PLACEHOLDER else text


def _run_text(element: etree._Element) -> str:
    pieces: list[str] = []
    for node in element.iter(w("t"), w("tab"), w("br"), w("cr")):
        local = etree.QName(node).localname
        pieces.append(node.text or "" if local == "t" else ("\t" if local == "tab" else "\n"))
    return "".join(pieces)


def _tooltip(pr: etree._Element | None, default: str) -> str:
    alias = pr.find(w("alias")) if pr is not None else None
    title = (alias.get(_VAL) if alias is not None else "") or ""
    title = _TAG_IN_TITLE.sub("", title).strip()
    return title or default


def _options(pr: etree._Element | None) -> tuple[tuple[str, str], ...]:
    if pr is None:
        return ()
    out: list[tuple[str, str]] = []
    for item in pr.iter(w("listItem")):
        shown = item.get(w("displayText")) or item.get(w("value")) or ""
        value = item.get(w("value")) or shown
        if shown:
            out.append((value, shown))
    return tuple(out)


_DATE_PARTS = (("yyyy", "yyyy"), ("yy", "yy"), ("MMMM", "mmmm"), ("MMM", "mmm"), ("MM", "mm"), ("M", "m"),
               ("dddd", "dddd"), ("dd", "dd"), ("d", "d"))  # fmt: skip


def _date_format(pr: etree._Element | None) -> str:
    """Word's date format (``dd/MM/yyyy``) as Acrobat's (``dd/mm/yyyy``)."""
    found = pr.find(f"{w('date')}/{w('dateFormat')}") if pr is not None else None
    word = (found.get(_VAL) if found is not None else None) or "dd/MM/yyyy"
    out = ""
    i = 0
    while i < len(word):
        for source, target in _DATE_PARTS:
            if word.startswith(source, i):
                out += target
                i += len(source)
                break
        else:
            out += word[i]
            i += 1
    return out


__all__ += ["SIGNATURE_SUFFIX", "WORD_PLACEHOLDER", "control_text", "run_props_of"]


def analyse(package: WordPackage, locked: frozenset[str] = frozenset()) -> Builder:
    """Read everything the writer would — the body, every header and footer — refusing nothing.

    The builder returned lists what cannot be rendered (``unsupported``), what is rendered
    differently (``notes``), the form fields made (``field_names``) and the controls that
    lost their tags (``untagged``).
    """
    builder = Builder(package, analysis_of(package), locked=locked, strict=False, cache=False)
    builder.document()
    names: list[str] = []
    previous: Section | None = None
    for _, _, sect_pr in _section_runs(builder._body()):
        previous = read_section(sect_pr, package, previous)
        for _, name in (*previous.headers, *previous.footers):
            if name not in names:
                names.append(name)
    for name in names:
        builder.part(name)
    return builder
