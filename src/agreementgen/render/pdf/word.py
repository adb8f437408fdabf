"""What a rendered Word document says about its own look: its package, styles, numbering and pages.

The PDF writer reads a DOCX the way Word does, from its parts:

* :class:`WordPackage` — the zip's parts by name, the main document part and the
  targets of its relationships (headers, footers, pictures, hyperlinks). Built from
  the bytes of a DOCX, or directly from the parts :class:`~agreementgen.render.docx.CompiledDocx`
  rendered (no zip written or read).
* :class:`Styles` — ``styles.xml`` with inheritance resolved the way Word resolves it:
  document defaults, then the table style (inside a table), then the paragraph style
  and everything it is ``basedOn``, then the character style, then direct formatting.
  What a paragraph or run ends up with is a :class:`ParaProps` / :class:`RunProps`,
  cached by the XML it came from.
* :class:`Numbering` — ``numbering.xml``: each list level's format (``decimal``,
  ``lowerLetter``, ``upperRoman``, ``bullet`` …), text (``%1.%2``), indents and font; the
  label of each numbered paragraph, counted as Word counts.
* :class:`Section` — a section's page size, orientation and margins, its header and
  footer parts (default, first page, even pages), columns and page numbering.

Everything here is keyed by the bytes of the parts it reads, so the analysis of a
template's styles is done once per process, whatever the number of practices.

Units: Word measures in twentieths of a point (*twips*), font sizes in half points,
borders in eighths of a point, pictures in EMUs (12,700 to a point); everything leaves
this module in points.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from ...errors import RenderError
from . import fonts

__all__ = [
    "Border",
    "Numbering",
    "ParaProps",
    "RunProps",
    "Section",
    "Styles",
    "TabStop",
    "W",
    "WordPackage",
    "w",
]

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"


def w(name: str) -> str:
    """``w("p")`` → ``{…wordprocessingml/2006/main}p``."""
    return f"{{{W}}}{name}"


_VAL = w("val")
MAX_PART_BYTES = 64 * 1024 * 1024
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_xml(data: bytes, name: str) -> etree._Element:
    """One part's XML: no DTDs or entities (OOXML never has them), no network."""
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise RenderError(f"{name} declares a DTD or entities, which Word documents never do")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise RenderError(f"{name} is not well-formed XML ({exc})") from exc


def twips(value: str | None, default: float = 0.0) -> float:
    """Twentieths of a point → points (``"240"`` → 12.0)."""
    if value is None:
        return default
    try:
        return float(value) / 20.0
    except ValueError:
        return default


def on(element: etree._Element | None) -> bool | None:
    """A Word on/off property: absent → None; ``<w:b/>`` or ``w:val="1|true|on"`` → True."""
    if element is None:
        return None
    value = element.get(_VAL)
    return value is None or value.lower() not in ("0", "false", "off", "none")


# --------------------------------------------------------------------------- the package


_STORY_KINDS = ("header", "footer", "footnotes", "endnotes", "comments")
TRACKED_CHANGE = "a tracked change (accept or reject all changes in Word)"  # what check-template says


class WordPackage:
    """A DOCX's parts (name → bytes) and the relationships the writer follows."""

    def __init__(self, parts: Mapping[str, bytes], label: str = "the document", static_key: str = "") -> None:
        self.parts = parts
        self.label = label
        self._xml: dict[str, etree._Element] = {}
        self.main = self._package_main()
        self.rels = self.relationships(self.main)
        self._static_key = static_key  # given by whoever knows the shared parts did not change

    @classmethod
    def from_docx(cls, data: bytes, label: str = "the document") -> WordPackage:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                parts: dict[str, bytes] = {}
                for info in package.infolist():
                    if info.is_dir():
                        continue
                    if info.file_size > MAX_PART_BYTES:
                        raise RenderError(
                            f"{info.filename} is too large ({info.file_size:,} bytes)", path=label
                        )
                    parts[info.filename] = package.read(info)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, ValueError, EOFError) as exc:
            raise RenderError(f"not a Word .docx file ({exc})", path=label) from exc
        return cls(parts, label)

    def _package_main(self) -> str:
        data = self.parts.get("_rels/.rels")
        if data is not None:
            for rel in parse_xml(data, "_rels/.rels").iter(f"{{{REL_NS}}}Relationship"):
                if rel.get("Type") == REL_OFFICE_DOCUMENT:
                    return (rel.get("Target") or "word/document.xml").lstrip("/")
        if "word/document.xml" in self.parts:
            return "word/document.xml"
        raise RenderError("not a Word document: it has no main document part", path=self.label)

    def xml(self, name: str) -> etree._Element:
        """The parsed XML of a part (parsed once per package)."""
        root = self._xml.get(name)
        if root is None:
            data = self.parts.get(name)
            if data is None:
                raise RenderError(f"the document refers to a part it does not have: {name}", path=self.label)
            root = self._xml[name] = parse_xml(data, name)
            # Word declares thirty-odd namespaces it never uses; without them an element's XML (the
            # key of every layout cache) is a quarter as long and four times as quick to make.
            etree.cleanup_namespaces(root)
        return root

    def relationships(self, part: str) -> dict[str, tuple[str, str, bool]]:
        """A part's relationships: id → (type, target part name or URL, external)."""
        folder, base = posixpath.split(part)
        data = self.parts.get(posixpath.join(folder, "_rels", f"{base}.rels"))
        out: dict[str, tuple[str, str, bool]] = {}
        if data is None:
            return out
        for rel in parse_xml(data, f"{part} relationships").iter(f"{{{REL_NS}}}Relationship"):
            target = rel.get("Target") or ""
            external = rel.get("TargetMode") == "External"
            if not external:
                target = (
                    target.lstrip("/")
                    if target.startswith("/")
                    else posixpath.normpath(posixpath.join(folder, target))
                )
            out[rel.get("Id") or ""] = ((rel.get("Type") or "").removeprefix(_REL), target, external)
        return out

    def related(self, kind: str) -> str | None:
        """The main part's first related part of ``kind`` (``styles``, ``numbering`` …)."""
        return next((t for k, t, ext in self.rels.values() if k == kind and not ext), None)

    def static_key(self) -> str:
        """A digest of the parts every document rendered from one template shares — styles,
        numbering, theme, settings, and the relationships and media a story part refers to (a
        picture's bytes, a link's address) — that is, everything but the story parts themselves
        (body, headers, footers, notes) and the document properties. Layout caches are keyed by
        it and a block's XML: the same XML with another picture behind it is another block."""
        if self._static_key:
            return self._static_key
        digest = hashlib.sha256()
        stories = {self.main} | {
            target for kind, target, external in self.rels.values() if kind in _STORY_KINDS and not external
        }
        for name in sorted(self.parts):
            if name in stories or name.startswith("docProps/"):
                continue
            data = self.parts[name]
            digest.update(f"{name}\0{len(data)}\0".encode() + data)
        self._static_key = digest.hexdigest()
        return self._static_key


# --------------------------------------------------------------------------- properties


@dataclass(frozen=True)
class Border:
    """One edge of a border: width in points, colour (``RRGGBB``), style, spacing from the text."""

    width: float
    colour: str
    style: str = "single"
    space: float = 0.0


@dataclass(frozen=True)
class TabStop:
    position: float  # points from the paragraph's left indent's origin (the text area's left edge)
    align: str = "left"  # left, center, right, decimal
    leader: str = ""  # "", "dot", "hyphen", "underscore"


@dataclass(frozen=True)
class RunProps:
    """A run's resolved character formatting."""

    word_font: str = ""
    family: str = fonts.DEFAULT_FAMILY
    bold: bool = False
    italic: bool = False
    underline: str = ""  # "", "single", "double", "dotted" … (drawn as single or double)
    strike: bool = False
    double_strike: bool = False
    colour: str = "000000"
    size: float = 10.0
    highlight: str = ""  # RRGGBB
    shading: str = ""  # RRGGBB
    vert: str = ""  # "", "superscript", "subscript"
    caps: bool = False
    small_caps: bool = False
    hidden: bool = False
    style_id: str = ""
    char_spacing: float = 0.0  # expanded (+) or condensed (-) text, points: not drawn (a note says so)

    @property
    def face(self) -> str:
        return fonts.face(self.family, self.bold, self.italic)


@dataclass(frozen=True)
class ParaProps:
    """A paragraph's resolved formatting (points)."""

    style_id: str = ""
    style_name: str = ""
    align: str = "left"  # left, center, right, both
    left: float = 0.0
    right: float = 0.0
    first_line: float = 0.0  # negative: hanging
    before: float = 0.0
    after: float = 0.0
    line: float = 1.0  # a multiple of single spacing (rule auto) or points (exact, at_least)
    line_rule: str = "auto"  # auto, exact, at_least
    keep_next: bool = False
    keep_lines: bool = False
    page_break_before: bool = False
    widow_control: bool = True
    contextual: bool = False
    borders: tuple[tuple[str, Border], ...] = ()  # (side, border): top, left, bottom, right, between
    shading: str = ""
    num_id: str = ""
    ilvl: int = 0
    tabs: tuple[TabStop, ...] = ()
    outline: int | None = None  # heading level 0–8 (Heading 1 is 0)
    mark: RunProps = field(default_factory=RunProps)  # the paragraph mark's run properties

    def border(self, side: str) -> Border | None:
        return next((b for s, b in self.borders if s == side), None)


# Raw property maps: Word's properties merge key by key down the style chain.
Props = dict[str, Any]


def _border(element: etree._Element | None) -> Border | None:
    if element is None:
        return None
    style = element.get(_VAL) or "single"
    if style in ("nil", "none"):
        return Border(0.0, "000000", "none")
    size = element.get(w("sz"))
    colour = element.get(w("color")) or "auto"
    return Border(
        width=(float(size) / 8.0) if size and size.isdigit() else 0.5,
        colour="000000" if colour == "auto" else colour.upper(),
        style=style,
        space=float(element.get(w("space")) or 0),
    )


def _colour(value: str | None) -> str | None:
    if not value or value == "auto":
        return None
    return value.upper() if re.fullmatch(r"[0-9A-Fa-f]{6}", value) else None


_HIGHLIGHT = {
    "yellow": "FFFF00",
    "green": "00FF00",
    "cyan": "00FFFF",
    "magenta": "FF00FF",
    "blue": "0000FF",
    "red": "FF0000",
    "darkBlue": "000080",
    "darkCyan": "008080",
    "darkGreen": "008000",
    "darkMagenta": "800080",
    "darkRed": "800000",
    "darkYellow": "808000",
    "darkGray": "808080",
    "lightGray": "C0C0C0",
    "black": "000000",
    "white": "FFFFFF",
}


def run_props_of(rpr: etree._Element | None, theme: Mapping[str, str]) -> Props:
    """The properties a ``w:rPr`` sets (only those it sets)."""
    out: Props = {}
    if rpr is None:
        return out
    for child in rpr:
        tag = etree.QName(child).localname
        if tag == "rFonts":
            name = child.get(w("ascii")) or child.get(w("hAnsi"))
            themed = child.get(w("asciiTheme")) or child.get(w("hAnsiTheme"))
            if themed and not name:
                name = theme.get("major" if themed.startswith("major") else "minor", "")
            if name:
                out["font"] = name
        elif tag in ("b", "i", "strike", "dstrike", "caps", "smallCaps", "vanish"):
            out[tag] = on(child)
        elif tag == "u":
            value = child.get(_VAL) or "single"
            out["u"] = "" if value == "none" else value
        elif tag == "color":
            colour = _colour(child.get(_VAL))
            out["color"] = colour or "000000"
        elif tag == "sz":
            with contextlib.suppress(ValueError):
                out["sz"] = float(child.get(_VAL) or "20") / 2.0
        elif tag == "highlight":
            out["highlight"] = _HIGHLIGHT.get(child.get(_VAL) or "", "")
        elif tag == "shd":
            out["shd"] = _colour(child.get(w("fill"))) or ""
        elif tag == "vertAlign":
            value = child.get(_VAL) or ""
            out["vert"] = value if value in ("superscript", "subscript") else ""
        elif tag == "rStyle":
            out["rStyle"] = child.get(_VAL) or ""
        elif tag == "spacing":
            with contextlib.suppress(ValueError):
                out["spacing"] = float(child.get(_VAL) or "0") / 20.0
    return out


def para_props_of(ppr: etree._Element | None) -> Props:
    """The properties a ``w:pPr`` sets (only those it sets)."""
    out: Props = {}
    if ppr is None:
        return out
    for child in ppr:
        tag = etree.QName(child).localname
        if tag == "jc":
            value = child.get(_VAL) or "left"
            out["jc"] = {"start": "left", "end": "right", "justify": "both", "distribute": "both"}.get(
                value, value
            )
        elif tag == "ind":
            for key, names in (
                ("left", ("left", "start")),
                ("right", ("right", "end")),
            ):
                for name in names:
                    if child.get(w(name)) is not None:
                        out[key] = twips(child.get(w(name)))
                        break
            if child.get(w("hanging")) is not None:
                out["first_line"] = -twips(child.get(w("hanging")))
            elif child.get(w("firstLine")) is not None:
                out["first_line"] = twips(child.get(w("firstLine")))
        elif tag == "spacing":
            for key, name in (("before", "before"), ("after", "after")):
                if child.get(w(name)) is not None:
                    out[key] = twips(child.get(w(name)))
                auto = child.get(w(f"{name}Autospacing"))
                if auto is not None and auto.lower() in ("1", "true", "on"):
                    out[key] = 14.0
            if child.get(w("line")) is not None:
                rule = child.get(w("lineRule")) or "auto"
                value = float(child.get(w("line")) or 240)
                if rule == "auto":
                    out["line"], out["line_rule"] = value / 240.0, "auto"
                else:
                    out["line"], out["line_rule"] = value / 20.0, ("exact" if rule == "exact" else "at_least")
        elif tag in ("keepNext", "keepLines", "pageBreakBefore", "widowControl", "contextualSpacing"):
            out[tag] = on(child)
        elif tag == "pBdr":
            borders = dict(out.get("pBdr", {}))
            for edge in child:
                side = etree.QName(edge).localname
                side = {"start": "left", "end": "right"}.get(side, side)
                found = _border(edge)
                if found is not None:
                    borders[side] = found
            out["pBdr"] = borders
        elif tag == "shd":
            out["shd"] = _colour(child.get(w("fill"))) or ""
        elif tag == "numPr":
            num = child.find(w("numId"))
            lvl = child.find(w("ilvl"))
            if num is not None:
                out["numId"] = num.get(_VAL) or ""
            if lvl is not None:
                try:
                    out["ilvl"] = int(lvl.get(_VAL) or 0)
                except ValueError:
                    out["ilvl"] = 0
        elif tag == "tabs":
            out["tabs"] = [
                (
                    twips(tab.get(w("pos"))),
                    tab.get(_VAL) or "left",
                    tab.get(w("leader")) or "",
                )
                for tab in child.iter(w("tab"))
            ]
        elif tag == "outlineLvl":
            with contextlib.suppress(ValueError):
                out["outline"] = int(child.get(_VAL) or 9)
        elif tag == "pStyle":
            out["pStyle"] = child.get(_VAL) or ""
    return out


def _merge_tabs(base: list[Any], more: list[Any]) -> list[Any]:
    stops = {round(pos, 2): (pos, align, leader) for pos, align, leader in base}
    for pos, align, leader in more:
        if align == "clear":
            stops.pop(round(pos, 2), None)
        else:
            stops[round(pos, 2)] = (pos, align, leader)
    return sorted(stops.values())


def _merge(base: Props, more: Props) -> Props:
    out = {**base, **more}
    if "pBdr" in base and "pBdr" in more:
        out["pBdr"] = {**base["pBdr"], **more["pBdr"]}
    if "tabs" in base and "tabs" in more:
        out["tabs"] = _merge_tabs(base["tabs"], more["tabs"])
    return out


def _to_run(props: Props) -> RunProps:
    font = props.get("font", "")
    return RunProps(
        word_font=font,
        family=fonts.family_of(font),
        bold=bool(props.get("b")),
        italic=bool(props.get("i")),
        underline=props.get("u", ""),
        strike=bool(props.get("strike")),
        double_strike=bool(props.get("dstrike")),
        colour=props.get("color", "000000"),
        size=float(props.get("sz", 10.0)),
        highlight=props.get("highlight", ""),
        shading=props.get("shd", ""),
        vert=props.get("vert", ""),
        caps=bool(props.get("caps")),
        small_caps=bool(props.get("smallCaps")),
        hidden=bool(props.get("vanish")),
        style_id=props.get("rStyle", ""),
        char_spacing=float(props.get("spacing", 0.0)),
    )


# --------------------------------------------------------------------------- styles


@dataclass
class _Style:
    id: str
    type: str
    name: str
    based_on: str
    ppr: Props
    rpr: Props
    tblpr: etree._Element | None = None
    tcpr: etree._Element | None = None
    conditional: dict[str, tuple[Props, Props, etree._Element | None]] = field(default_factory=dict)


class Styles:
    """``styles.xml`` (and the theme's fonts) with Word's inheritance resolved; see the module docstring."""

    def __init__(self, package: WordPackage) -> None:
        self.theme = _theme_fonts(package)
        self.default_tab = _default_tab(package)
        self.even_and_odd = _even_and_odd(package)
        self.styles: dict[str, _Style] = {}
        self.default_paragraph = ""
        self.default_table = ""
        self.doc_rpr: Props = {}
        self.doc_ppr: Props = {}
        self.lang = "en-GB"  # the document's language (docDefaults' w:lang), for the PDF's /Lang
        name = package.related("styles")
        if name is not None and name in package.parts:
            self._read(package.xml(name))
        self._para_chain: dict[str, tuple[Props, Props]] = {}
        self._run_cache: dict[Any, RunProps] = {}
        self._para_cache: dict[Any, ParaProps] = {}

    def _read(self, root: etree._Element) -> None:
        defaults = root.find(w("docDefaults"))
        if defaults is not None:
            self.doc_rpr = run_props_of(defaults.find(f"{w('rPrDefault')}/{w('rPr')}"), self.theme)
            self.doc_ppr = para_props_of(defaults.find(f"{w('pPrDefault')}/{w('pPr')}"))
            lang = defaults.find(f"{w('rPrDefault')}/{w('rPr')}/{w('lang')}")
            if lang is not None and lang.get(_VAL):
                self.lang = lang.get(_VAL) or self.lang
        for style in root.iter(w("style")):
            sid = style.get(w("styleId")) or ""
            kind = style.get(w("type")) or "paragraph"
            name_el = style.find(w("name"))
            based = style.find(w("basedOn"))
            found = _Style(
                id=sid,
                type=kind,
                name=(name_el.get(_VAL) if name_el is not None else sid) or sid,
                based_on=(based.get(_VAL) if based is not None else "") or "",
                ppr=para_props_of(style.find(w("pPr"))),
                rpr=run_props_of(style.find(w("rPr")), self.theme),
                tblpr=style.find(w("tblPr")),
                tcpr=style.find(w("tcPr")),
            )
            for conditional in style.iter(w("tblStylePr")):
                found.conditional[conditional.get(w("type")) or ""] = (
                    para_props_of(conditional.find(w("pPr"))),
                    run_props_of(conditional.find(w("rPr")), self.theme),
                    conditional.find(w("tcPr")),
                )
            self.styles[sid] = found
            if style.get(w("default")) in ("1", "true", "on"):
                if kind == "paragraph":
                    self.default_paragraph = sid
                elif kind == "table":
                    self.default_table = sid

    def name(self, style_id: str) -> str:
        style = self.styles.get(style_id)
        return style.name if style else style_id

    def chain(self, style_id: str) -> list[_Style]:
        """A style and the styles it is based on, base first."""
        out: list[_Style] = []
        seen: set[str] = set()
        current = self.styles.get(style_id)
        while current is not None and current.id not in seen:
            seen.add(current.id)
            out.append(current)
            current = self.styles.get(current.based_on) if current.based_on else None
        return out[::-1]

    def _paragraph_style(self, style_id: str) -> tuple[Props, Props]:
        """(pPr, rPr) a paragraph style gives, its bases merged in."""
        known = self._para_chain.get(style_id)
        if known is None:
            ppr: Props = {}
            rpr: Props = {}
            for style in self.chain(style_id):
                ppr = _merge(ppr, style.ppr)
                rpr = _merge(rpr, style.rpr)
            known = self._para_chain[style_id] = (ppr, rpr)
        return known

    def table_style(self, style_id: str) -> tuple[Props, Props]:
        return self._paragraph_style(style_id) if style_id in self.styles else ({}, {})

    def paragraph(
        self,
        ppr_element: etree._Element | None,
        key: bytes,
        table: tuple[Props, Props] | None = None,
        table_key: Any = None,
    ) -> ParaProps:
        """A paragraph's resolved properties (``key``: the XML of its ``w:pPr``; ``table_key`` names
        ``table``, the properties a table cell's style gives its paragraphs; both for the cache)."""
        cache_key = (key, table_key)
        known = self._para_cache.get(cache_key)
        if known is not None:
            return known
        direct = para_props_of(ppr_element)
        style_id = direct.get("pStyle") or self.default_paragraph
        ppr = dict(self.doc_ppr)
        rpr = dict(self.doc_rpr)
        if table is not None:
            ppr, rpr = _merge(ppr, table[0]), _merge(rpr, table[1])
        style_ppr, style_rpr = self._paragraph_style(style_id)
        ppr = _merge(_merge(ppr, style_ppr), direct)
        rpr = _merge(rpr, style_rpr)
        mark = rpr
        if ppr_element is not None:
            mark = _merge(rpr, run_props_of(ppr_element.find(w("rPr")), self.theme))
        outline = ppr.get("outline")
        name = self.name(style_id)
        heading = re.fullmatch(r"(?i)heading (\d)", name)
        if outline is None and heading:
            outline = int(heading.group(1)) - 1
        props = ParaProps(
            style_id=style_id,
            style_name=name,
            align=ppr.get("jc", "left"),
            left=ppr.get("left", 0.0),
            right=ppr.get("right", 0.0),
            first_line=ppr.get("first_line", 0.0),
            before=ppr.get("before", 0.0),
            after=ppr.get("after", 0.0),
            line=ppr.get("line", 1.0),
            line_rule=ppr.get("line_rule", "auto"),
            keep_next=bool(ppr.get("keepNext")),
            keep_lines=bool(ppr.get("keepLines")),
            page_break_before=bool(ppr.get("pageBreakBefore")),
            widow_control=ppr.get("widowControl") is not False,
            contextual=bool(ppr.get("contextualSpacing")),
            borders=tuple(sorted(ppr.get("pBdr", {}).items())),
            shading=ppr.get("shd", ""),
            num_id=ppr.get("numId", ""),
            ilvl=int(ppr.get("ilvl", 0)),
            tabs=tuple(TabStop(p, a, ld) for p, a, ld in ppr.get("tabs", []) if a not in ("clear", "bar")),
            outline=outline if outline is not None and outline < 9 else None,
            mark=_to_run(mark),
        )
        self._para_cache[cache_key] = props
        return props

    def paragraph_run_base(self, props: ParaProps, table: tuple[Props, Props] | None) -> Props:
        """The run properties a paragraph gives its runs (defaults, table style, paragraph style)."""
        rpr = dict(self.doc_rpr)
        if table is not None:
            rpr = _merge(rpr, table[1])
        return _merge(rpr, self._paragraph_style(props.style_id)[1])

    def run(self, base: Props, rpr_element: etree._Element | None, key: bytes, base_key: Any) -> RunProps:
        """A run's resolved properties on top of its paragraph's ``base`` (keys for the cache)."""
        cache_key = (base_key, key)
        known = self._run_cache.get(cache_key)
        if known is not None:
            return known
        direct = run_props_of(rpr_element, self.theme)
        merged = dict(base)
        char_style = direct.get("rStyle")
        if char_style:
            for style in self.chain(char_style):
                merged = _merge(merged, style.rpr)
        merged = _merge(merged, direct)
        props = _to_run(merged)
        self._run_cache[cache_key] = props
        return props

    def run_from(self, base: Props, extra: Props) -> RunProps:
        return _to_run(_merge(base, extra))


def _theme_fonts(package: WordPackage) -> dict[str, str]:
    name = package.related("theme")
    if name is None or name not in package.parts:
        return {"major": "Calibri Light", "minor": "Calibri"}
    root = package.xml(name)
    out: dict[str, str] = {}
    for kind in ("major", "minor"):
        latin = root.find(f".//{{{A}}}{kind}Font/{{{A}}}latin")
        if latin is not None and latin.get("typeface"):
            out[kind] = latin.get("typeface") or ""
    return out


def _settings(package: WordPackage) -> etree._Element | None:
    name = package.related("settings")
    return package.xml(name) if name is not None and name in package.parts else None


def _default_tab(package: WordPackage) -> float:
    settings = _settings(package)
    found = settings.find(w("defaultTabStop")) if settings is not None else None
    return twips(found.get(_VAL), 36.0) if found is not None else 36.0


def _even_and_odd(package: WordPackage) -> bool:
    settings = _settings(package)
    return bool(on(settings.find(w("evenAndOddHeaders")))) if settings is not None else False


# --------------------------------------------------------------------------- numbering

_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip

# Bullets Word draws from symbol fonts' private-use codes, as the Unicode characters they show.
_SYMBOL_BULLETS = {
    "\uf0b7": "•",
    "\uf0a7": "▪",
    "\uf06f": "◦",
    "\uf076": "❖",
    "\uf0d8": "➢",
    "\uf0fc": "✓",
    "\uf02d": "–",
    "\uf0a8": "◦",
    "\uf0e0": "→",
}


def number_text(value: int, fmt: str) -> str:
    """A counter in a list format: ``decimal``, ``lowerLetter``, ``upperRoman`` …"""
    if fmt in ("lowerLetter", "upperLetter"):
        letters = ""
        n = value
        while n > 0:
            n, rem = divmod(n - 1, 26)
            letters = chr(ord("a") + rem) + letters
        return letters.upper() if fmt == "upperLetter" else letters
    if fmt in ("lowerRoman", "upperRoman"):
        out, n = "", value
        for amount, numeral in _ROMAN:
            while n >= amount:
                out, n = out + numeral, n - amount
        return out.upper() if fmt == "upperRoman" else out
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt == "none":
        return ""
    return str(value)


@dataclass(frozen=True)
class Level:
    start: int
    fmt: str
    text: str
    suffix: str  # tab, space, nothing
    align: str
    ppr: Props
    rpr: Props
    restart: int | None  # restart after a higher level (lvlRestart); None: the level above


class Numbering:
    """``numbering.xml``: list levels by (numId, ilvl), and the labels of a document's paragraphs."""

    def __init__(self, package: WordPackage, theme: Mapping[str, str]) -> None:
        self.abstract: dict[str, dict[int, Level]] = {}
        self.nums: dict[str, tuple[str, dict[int, int], dict[int, Level]]] = {}
        name = package.related("numbering")
        if name is None or name not in package.parts:
            return
        root = package.xml(name)
        for abstract in root.iter(w("abstractNum")):
            levels: dict[int, Level] = {}
            for lvl in abstract.iter(w("lvl")):
                level = _level(lvl, theme)
                if level is not None:
                    levels[int(lvl.get(w("ilvl")) or 0)] = level
            self.abstract[abstract.get(w("abstractNumId")) or ""] = levels
        for num in root.iter(w("num")):
            ref = num.find(w("abstractNumId"))
            starts: dict[int, int] = {}
            overrides: dict[int, Level] = {}
            for override in num.iter(w("lvlOverride")):
                ilvl = int(override.get(w("ilvl")) or 0)
                start = override.find(w("startOverride"))
                if start is not None:
                    starts[ilvl] = int(start.get(_VAL) or 1)
                lvl = override.find(w("lvl"))
                if lvl is not None:
                    level = _level(lvl, theme)
                    if level is not None:
                        overrides[ilvl] = level
            self.nums[num.get(w("numId")) or ""] = (
                (ref.get(_VAL) if ref is not None else "") or "",
                starts,
                overrides,
            )

    def level(self, num_id: str, ilvl: int) -> Level | None:
        found = self.nums.get(num_id)
        if found is None:
            return None
        abstract, _, overrides = found
        return overrides.get(ilvl) or self.abstract.get(abstract, {}).get(ilvl)

    def counter(self) -> Counter:
        return Counter(self)


def _level(lvl: etree._Element, theme: Mapping[str, str]) -> Level | None:
    def value(tag: str, default: str) -> str:
        found = lvl.find(w(tag))
        return (found.get(_VAL) if found is not None else None) or default

    try:
        start = int(value("start", "1"))
    except ValueError:
        start = 1
    restart_el = lvl.find(w("lvlRestart"))
    restart = None
    if restart_el is not None:
        try:
            restart = int(restart_el.get(_VAL) or 0)
        except ValueError:
            restart = None
    return Level(
        start=start,
        fmt=value("numFmt", "decimal"),
        text=value("lvlText", ""),
        suffix=value("suff", "tab"),
        align=value("lvlJc", "left"),
        ppr=para_props_of(lvl.find(w("pPr"))),
        rpr=run_props_of(lvl.find(w("rPr")), theme),
        restart=restart,
    )


class Counter:
    """The counting state of one document's lists: the label of each numbered paragraph in turn."""

    def __init__(self, numbering: Numbering) -> None:
        self.numbering = numbering
        self.counts: dict[str, list[int | None]] = {}
        self.used = 0  # how many labels it has given (a cache can tell whether something was numbered)

    def next(self, num_id: str, ilvl: int) -> tuple[str, Level] | None:
        """The label of the next paragraph at ``ilvl`` of list ``num_id`` (None: not a list)."""
        level = self.numbering.level(num_id, ilvl)
        found = self.numbering.nums.get(num_id)
        if level is None or found is None:
            return None
        abstract, starts, _ = found
        self.used += 1
        # Lists that share an abstract definition and have no restart of their own count together.
        key = num_id if starts else f"abstract:{abstract}"
        counts = self.counts.setdefault(key, [None] * 9)
        ilvl = max(0, min(ilvl, 8))
        current = counts[ilvl]
        start = starts.get(ilvl, level.start)
        counts[ilvl] = start if current is None else current + 1
        for deeper in range(ilvl + 1, 9):
            deeper_level = self.numbering.level(num_id, deeper)
            if deeper_level is None or deeper_level.restart is None or deeper_level.restart > ilvl:
                counts[deeper] = None
        if level.fmt == "bullet":
            text = "".join(_SYMBOL_BULLETS.get(c, c) for c in level.text) or "•"
            if any("\ue000" <= c <= "\uf8ff" for c in text):
                text = "•"
            return text, level

        def replace_level(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            other = self.numbering.level(num_id, index)
            count = counts[index] if 0 <= index < 9 else None
            if other is None:
                return ""
            if count is None:
                count = starts.get(index, other.start)
            return number_text(count, other.fmt if index != ilvl else level.fmt)

        return re.sub(r"%([1-9])", replace_level, level.text), level


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class Section:
    """A section's page: size and margins in points, and its header and footer parts."""

    width: float = 595.3
    height: float = 841.9
    top: float = 72.0
    right: float = 72.0
    bottom: float = 72.0
    left: float = 72.0
    header: float = 36.0
    footer: float = 36.0
    headers: tuple[tuple[str, str], ...] = ()  # (default|first|even, part name)
    footers: tuple[tuple[str, str], ...] = ()
    title_page: bool = False
    columns: int = 1
    start: str = "nextPage"  # how the section begins: nextPage, continuous, evenPage, oddPage
    page_start: int | None = None

    @property
    def frame_width(self) -> float:
        return self.width - self.left - self.right

    def part(self, which: str, page: int, first_of_section: bool, even_and_odd: bool) -> str | None:
        """The header or footer part on a page (``which``: headers/footers)."""
        parts = dict(self.headers if which == "headers" else self.footers)
        if first_of_section and self.title_page:
            return parts.get("first")
        if even_and_odd and page % 2 == 0:
            return parts.get("even")
        return parts.get("default")


def read_section(sect_pr: etree._Element | None, package: WordPackage, previous: Section | None) -> Section:
    """A ``w:sectPr``; headers and footers it does not name are the previous section's (Word's rule)."""
    base = previous or Section()
    if sect_pr is None:
        return base
    size = sect_pr.find(w("pgSz"))
    margins = sect_pr.find(w("pgMar"))
    values: dict[str, Any] = {}
    if size is not None:
        width, height = twips(size.get(w("w")), base.width), twips(size.get(w("h")), base.height)
        if size.get(w("orient")) == "landscape" and width < height:
            width, height = height, width
        values.update(width=width, height=height)
    if margins is not None:
        for name in ("top", "right", "bottom", "left", "header", "footer"):
            if margins.get(w(name)) is not None:
                values[name] = abs(twips(margins.get(w(name))))
        values["left"] = values.get("left", base.left) + twips(margins.get(w("gutter")))
    refs: dict[str, dict[str, str]] = {"headers": dict(base.headers), "footers": dict(base.footers)}
    for tag, which in (("headerReference", "headers"), ("footerReference", "footers")):
        for ref in sect_pr.iter(w(tag)):
            target = package.rels.get(ref.get(f"{{{R}}}id") or "")
            if target is not None:
                refs[which][ref.get(w("type")) or "default"] = target[1]
    values["headers"] = tuple(sorted(refs["headers"].items()))
    values["footers"] = tuple(sorted(refs["footers"].items()))
    values["title_page"] = bool(on(sect_pr.find(w("titlePg"))))
    cols = sect_pr.find(w("cols"))
    try:
        values["columns"] = int(cols.get(w("num")) or 1) if cols is not None else 1
    except ValueError:
        values["columns"] = 1
    kind = sect_pr.find(w("type"))
    values["start"] = (kind.get(_VAL) if kind is not None else None) or "nextPage"
    numbering = sect_pr.find(w("pgNumType"))
    start = numbering.get(w("start")) if numbering is not None else None
    values["page_start"] = int(start) if start and start.isdigit() else None
    return replace(base, **values)


def iter_children(element: etree._Element) -> Iterator[etree._Element]:
    """Children that are elements (lxml also yields comments and processing instructions)."""
    for child in element:
        if isinstance(child.tag, str):
            yield child
