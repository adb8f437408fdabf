"""Legible, accessible defaults in the shipped Word templates (issue 15, "Accessible PDFs").

Every shipped template, and one Word document rendered from each kind's template, must have:

* text of at least 10 pt everywhere — body, tables, headers and footers — read through Word's
  inheritance: document defaults, then the table style, the paragraph style and its ``basedOn``
  chain, the character style and its chain, then the run's own properties;
* text colours with a contrast ratio of at least 4.5:1 (WCAG 2) against what the text sits on: the
  run's shading or highlight, else the paragraph's shading, else the table cell's, else the white page;
* British English as the document's language, and no style or run in another language;
* headings made with heading styles (an outline level, or the Title style), starting at H1 and never
  skipping a level (the PDF writer tags outline level n as H(n+1) and the Title style as H1);
* the column-heading row of every data table marked as a header row (``w:tblHeader``), so Word and
  the PDF repeat it on every page and screen readers announce it;
* alternative text on every picture.

The checks read the XML with lxml and report every problem they find, so the last tests here spoil
a template on purpose and make sure each problem is reported.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from agreementgen.kinds import KINDS
from agreementgen.render.template import WordTemplate
from agreementgen.validation import load_any_scheme, scheme_model
from conftest import ROOT, SCHEMES

TEMPLATES = ROOT / "templates"
SHIPPED = sorted(TEMPLATES.glob("*.docx"))

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
NS = {"w": W, "a": A, "wp": WP}

MINIMUM_HALF_POINTS = 20  # 10 pt
MINIMUM_CONTRAST = 4.5
LANGUAGE = "en-GB"
WHITE = "FFFFFF"
BLACK = "000000"
# Word's theme colour names in w:color/@w:themeColor, and the theme's colour scheme entry they use.
THEME_NAMES = {"text1": "dk1", "background1": "lt1", "text2": "dk2", "background2": "lt2", "dark1": "dk1",
               "light1": "lt1", "dark2": "dk2", "light2": "lt2"}  # fmt: skip
STORY_PARTS = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml")


def w(name: str) -> str:
    return f"{{{W}}}{name}"


# ---------------------------------------------------------------------------------------------
# Colours


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of ``RRGGBB``."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# Word's highlight colours (w:highlight/@w:val).
HIGHLIGHTS = {
    "black": "000000", "blue": "0000FF", "cyan": "00FFFF", "green": "00FF00", "magenta": "FF00FF",
    "red": "FF0000", "yellow": "FFFF00", "white": "FFFFFF", "darkBlue": "000080", "darkCyan": "008080",
    "darkGreen": "008000", "darkMagenta": "800080", "darkRed": "800000", "darkYellow": "808000",
    "darkGray": "808080", "lightGray": "C0C0C0",
}  # fmt: skip


def _adjusted(hex_colour: str, tint: str | None, shade: str | None) -> str:
    """A theme colour with Word's ``themeTint``/``themeShade`` applied (close enough for a contrast check)."""
    channels = [int(hex_colour[i : i + 2], 16) for i in (0, 2, 4)]
    if shade:
        channels = [round(c * int(shade, 16) / 255) for c in channels]
    if tint:
        channels = [round(c + (255 - c) * (1 - int(tint, 16) / 255)) for c in channels]
    return "".join(f"{c:02X}" for c in channels)


# ---------------------------------------------------------------------------------------------
# A Word package with its styles resolved


@dataclass
class Run:
    """The properties of a run (or a style) that legibility depends on."""

    size: int | None = None  # half-points
    colour: str | None = None  # RRGGBB, or "auto"
    shading: str | None = None  # the run's own shading or highlight fill, RRGGBB
    bold: bool | None = None

    def over(self, base: Run) -> Run:
        """These properties over ``base``'s."""
        return Run(
            size=self.size if self.size is not None else base.size,
            colour=self.colour if self.colour is not None else base.colour,
            shading=self.shading if self.shading is not None else base.shading,
            bold=self.bold if self.bold is not None else base.bold,
        )


def _fill(element: etree._Element | None) -> str | None:
    """The fill of a ``w:shd`` (None when it has none: the text shows what is beneath)."""
    if element is None:
        return None
    fill = (element.get(w("fill")) or "auto").upper()
    return None if fill == "AUTO" else fill


def _on(element: etree._Element | None) -> bool | None:
    if element is None:
        return None
    return element.get(w("val"), "true") not in ("0", "false", "off")


class Package:
    """A DOCX's styles, theme colours and story parts (the body, headers and footers)."""

    def __init__(self, data: bytes, label: str) -> None:
        self.label = label
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            self.parts = {
                name: etree.fromstring(archive.read(name))
                for name in archive.namelist()
                if name.endswith(".xml") and name.startswith("word/")
            }
        self.styles_root = self.parts["word/styles.xml"]
        self.styles = {s.get(w("styleId")): s for s in self.styles_root.iter(w("style"))}
        self.theme = self._theme_colours()
        self.default_run = self.run_props(self.styles_root.find("w:docDefaults/w:rPrDefault/w:rPr", NS))
        self.default_paragraph = next(
            (
                sid
                for sid, style in self.styles.items()
                if style.get(w("type")) == "paragraph" and style.get(w("default")) in ("1", "true")
            ),
            "Normal",
        )

    def _theme_colours(self) -> dict[str, str]:
        colours: dict[str, str] = {}
        theme = next((root for name, root in self.parts.items() if name.startswith("word/theme/")), None)
        if theme is None:
            return colours
        scheme = theme.find(".//a:clrScheme", NS)
        for entry in scheme if scheme is not None else []:
            value = entry.find("a:srgbClr", NS)
            system = entry.find("a:sysClr", NS)
            name = etree.QName(entry).localname
            if value is not None:
                colours[name] = value.get("val", "").upper()
            elif system is not None:
                colours[name] = system.get("lastClr", "000000").upper()
        return colours

    def colour_of(self, element: etree._Element) -> str:
        """A ``w:color``'s colour as Word shows it: a theme colour wins over the literal value."""
        themed = element.get(w("themeColor"))
        if themed:
            base = self.theme.get(THEME_NAMES.get(themed, themed))
            if base:
                return _adjusted(base, element.get(w("themeTint")), element.get(w("themeShade")))
        return (element.get(w("val")) or "auto").upper()

    def run_props(self, rpr: etree._Element | None) -> Run:
        if rpr is None:
            return Run()
        size = rpr.find("w:sz", NS)
        colour = rpr.find("w:color", NS)
        highlight = rpr.find("w:highlight", NS)
        shading = _fill(rpr.find("w:shd", NS))
        if highlight is not None and highlight.get(w("val")) not in (None, "none"):
            shading = HIGHLIGHTS.get(highlight.get(w("val")), shading)
        return Run(
            size=int(size.get(w("val"))) if size is not None else None,
            colour=self.colour_of(colour) if colour is not None else None,
            shading=shading,
            bold=_on(rpr.find("w:b", NS)),
        )

    def chain(self, style_id: str | None) -> list[etree._Element]:
        """``style_id`` and the styles it is based on, the most basic first."""
        chain: list[etree._Element] = []
        while style_id and style_id in self.styles and len(chain) < 20:
            style = self.styles[style_id]
            chain.insert(0, style)
            based = style.find("w:basedOn", NS)
            style_id = based.get(w("val")) if based is not None else None
        return chain

    def style_run(self, style_id: str | None) -> Run:
        run = Run()
        for style in self.chain(style_id):
            run = self.run_props(style.find("w:rPr", NS)).over(run)
        return run

    def style_shading(self, style_id: str | None) -> str | None:
        fill = None
        for style in self.chain(style_id):
            found = _fill(style.find("w:pPr/w:shd", NS))
            fill = found or fill
        return fill

    def outline_level(self, paragraph: etree._Element) -> int | None:
        """The heading level the PDF writer tags the paragraph with (1 for H1), or None."""
        direct = paragraph.find("w:pPr/w:outlineLvl", NS)
        style_id = self.paragraph_style(paragraph)
        level = int(direct.get(w("val"))) if direct is not None else None
        if level is None:
            for style in self.chain(style_id):
                found = style.find("w:pPr/w:outlineLvl", NS)
                if found is not None:
                    level = int(found.get(w("val")))
        name = self.style_name(style_id)
        if level is None:
            match = re.fullmatch(r"heading (\d)", name)
            level = int(match.group(1)) - 1 if match else None
        if level is not None and level < 9:
            return level + 1
        return 1 if name == "title" else None

    def style_name(self, style_id: str | None) -> str:
        style = self.styles.get(style_id or "")
        name = style.find("w:name", NS) if style is not None else None
        return (name.get(w("val")) if name is not None else style_id or "").lower()

    def paragraph_style(self, paragraph: etree._Element) -> str:
        found = paragraph.find("w:pPr/w:pStyle", NS)
        return found.get(w("val")) if found is not None else self.default_paragraph

    def numbered(self, paragraph: etree._Element) -> bool:
        """Whether the paragraph is a list item (numbering of its own or from its style)."""
        styles = self.chain(self.paragraph_style(paragraph))
        return any(p.find("w:pPr/w:numPr", NS) is not None for p in [paragraph, *styles])

    def story_parts(self) -> Iterator[tuple[str, etree._Element]]:
        for name, root in sorted(self.parts.items()):
            if STORY_PARTS.fullmatch(name):
                yield name, root


# ---------------------------------------------------------------------------------------------
# The checks: each returns its problems, one line each


def _text(element: etree._Element) -> str:
    return "".join(t.text or "" for t in element.iter(w("t")))


def _where(part: str, paragraph: etree._Element) -> str:
    return f"{part.removeprefix('word/')}: {_text(paragraph)[:50]!r}"


def _table_of(cell: etree._Element | None) -> etree._Element | None:
    return cell.getparent().getparent() if cell is not None else None


def _table_style_run(package: Package, table: etree._Element | None) -> Run:
    if table is None:
        return Run()
    style = table.find("w:tblPr/w:tblStyle", NS)
    return package.style_run(style.get(w("val"))) if style is not None else Run()


def _cell_of(paragraph: etree._Element) -> etree._Element | None:
    parent = paragraph.getparent()
    while parent is not None and parent.tag != w("tc"):
        parent = parent.getparent()
    return parent


def _cell_fill(cell: etree._Element | None) -> str | None:
    while cell is not None:
        fill = _fill(cell.find("w:tcPr/w:shd", NS))
        if fill:
            return fill
        table = _table_of(cell)
        fill = _fill(table.find("w:tblPr/w:shd", NS)) if table is not None else None
        if fill:
            return fill
        cell = _cell_of(table) if table is not None else None  # a nested table sits on its cell
    return None


def effective_runs(package: Package) -> Iterator[tuple[str, etree._Element, Run, str]]:
    """Every run with text in the body, headers and footers: (part, paragraph, properties, background).

    A table style counts with its whole-table run properties; its conditional formats (first row,
    banding) are not read: the shipped templates shade and style their header rows directly."""
    for part, root in package.story_parts():
        for paragraph in root.iter(w("p")):
            cell = _cell_of(paragraph)
            style_id = package.paragraph_style(paragraph)
            base = (
                package.style_run(style_id)
                .over(_table_style_run(package, _table_of(cell)))
                .over(package.default_run)
            )
            # (over() keeps the first's values: paragraph style over table style over defaults.)
            background = (
                _fill(paragraph.find("w:pPr/w:shd", NS))
                or package.style_shading(style_id)
                or _cell_fill(cell)
                or WHITE
            )
            for run in paragraph.iter(w("r")):
                if not _text(run).strip():
                    continue
                rpr = run.find("w:rPr", NS)
                character = rpr.find("w:rStyle", NS) if rpr is not None else None
                props = package.run_props(rpr)
                if character is not None:
                    props = props.over(package.style_run(character.get(w("val"))))
                props = props.over(base)
                yield part, paragraph, props, props.shading or background


def size_problems(package: Package) -> list[str]:
    problems = []
    # Every size a style, a list level or a run sets, used or not.
    for part, root in package.parts.items():
        for size in root.iterfind(".//w:rPr/w:sz", NS):
            if int(size.get(w("val"))) < MINIMUM_HALF_POINTS:
                owner = next(size.iterancestors(w("style"), w("lvl"), w("p")), None)
                name = owner.get(w("styleId")) if owner is not None and owner.tag == w("style") else None
                where = f"style {name}" if name else _where(part, owner) if owner is not None else part
                problems.append(f"{where}: {int(size.get(w('val'))) / 2:g} pt text (under 10 pt)")
    # And every run's size as Word resolves it.
    for part, paragraph, props, _ in effective_runs(package):
        size = props.size if props.size is not None else MINIMUM_HALF_POINTS  # Word's default is 10 pt
        if size < MINIMUM_HALF_POINTS:
            problems.append(f"{_where(part, paragraph)}: {size / 2:g} pt text (under 10 pt)")
    return sorted(set(problems))


def contrast_problems(package: Package) -> list[str]:
    problems = []
    for part, paragraph, props, background in effective_runs(package):
        colour = props.colour or "AUTO"
        if colour == "AUTO":  # Word shows automatic text black, or white on a dark fill
            continue
        ratio = contrast(colour, background)
        if ratio < MINIMUM_CONTRAST:
            problems.append(f"{_where(part, paragraph)}: #{colour} on #{background} is {ratio:.2f}:1")
    # A paragraph or character style the document does not use yet (Heading 3, Caption…) is checked
    # on the white page, or on its own shading; a used one was checked where it is used.
    used = {
        element.get(w("val"))
        for _, root in package.story_parts()
        for element in root.iter(w("pStyle"), w("rStyle"))
    }
    for style_id, style in package.styles.items():
        if style.get(w("type")) not in ("paragraph", "character") or style_id in used:
            continue
        colour = package.style_run(style_id).colour
        background = package.style_shading(style_id) or WHITE
        if colour and colour != "AUTO" and contrast(colour, background) < MINIMUM_CONTRAST:
            problems.append(
                f"style {style_id}: #{colour} on #{background} is {contrast(colour, background):.2f}:1"
            )
    return sorted(set(problems))


def language_problems(package: Package) -> list[str]:
    problems = []
    default = package.styles_root.find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS)
    if default is None or default.get(w("val")) != LANGUAGE:
        found = default.get(w("val")) if default is not None else "none"
        problems.append(f"the document's default language is {found}, not {LANGUAGE}")
    for part, root in package.parts.items():
        for lang in root.iterfind(".//w:lang", NS):
            value = lang.get(w("val"))
            if value and value != LANGUAGE:
                owner = next(lang.iterancestors(w("style"), w("p")), None)
                name = owner.get(w("styleId")) if owner is not None and owner.tag == w("style") else None
                where = f"style {name}" if name else _where(part, owner) if owner is not None else part
                problems.append(f"{where}: language {value}, not {LANGUAGE}")
    return problems


def heading_problems(package: Package) -> list[str]:
    """Headings start at H1 and go down one level at a time; no fully bold body paragraph stands in
    for a heading."""
    problems = []
    body = package.parts["word/document.xml"]
    previous = 0
    for paragraph in body.iter(w("p")):
        level = package.outline_level(paragraph)
        if level is None:
            if _cell_of(paragraph) is None and _pseudo_heading(package, paragraph):
                problems.append(f"{_where('word/document.xml', paragraph)}: a bold paragraph, not a heading")
            continue
        if level > previous + 1:
            where = _where("word/document.xml", paragraph)
            if previous == 0:
                problems.append(f"{where}: the first heading is H{level}, not H1")
            else:
                problems.append(f"{where}: H{level} follows H{previous}, skipping a level")
        previous = level
    return problems


def _pseudo_heading(package: Package, paragraph: etree._Element) -> bool:
    """A short body paragraph (the default paragraph style, not in a list) whose every word is
    bold: a heading made by hand."""
    if package.paragraph_style(paragraph) != package.default_paragraph or package.numbered(paragraph):
        return False
    runs = [r for r in paragraph.iter(w("r")) if _text(r).strip()]
    if not runs or len(_text(paragraph)) > 120:
        return False
    style = package.style_run(package.paragraph_style(paragraph)).over(package.default_run)
    return all(package.run_props(r.find("w:rPr", NS)).over(style).bold for r in runs)


def table_problems(package: Package) -> list[str]:
    """A data table — more than one row and column, its first row all shaded or bold — marks its
    first row as a header row."""
    problems = []
    for part, root in package.story_parts():
        for table in root.iter(w("tbl")):
            rows = table.findall("w:tr", NS)
            if len(rows) < 2:
                continue
            cells = rows[0].findall("w:tc", NS)
            if len(cells) < 2 or not all(_heading_cell(package, cell) for cell in cells):
                continue
            if rows[0].find("w:trPr/w:tblHeader", NS) is None:
                heading = " | ".join(_text(cell) for cell in cells)
                problems.append(
                    f"{part.removeprefix('word/')}: table headed {heading[:60]!r} has no header row"
                )
    return problems


def _heading_cell(package: Package, cell: etree._Element) -> bool:
    if _fill(cell.find("w:tcPr/w:shd", NS)) not in (None, WHITE):
        return True
    paragraphs = set(cell.iter(w("p")))
    runs = [props for _, paragraph, props, _ in effective_runs(package) if paragraph in paragraphs]
    return bool(runs) and all(props.bold for props in runs)


def picture_problems(package: Package) -> list[str]:
    problems = []
    for part, root in package.story_parts():
        for picture in root.iterfind(".//wp:docPr", NS):
            if not (picture.get("descr") or "").strip():
                problems.append(
                    f"{part.removeprefix('word/')}: picture {picture.get('name')!r} has no alt text"
                )
    return problems


CHECKS = {
    "size": size_problems,
    "contrast": contrast_problems,
    "language": language_problems,
    "headings": heading_problems,
    "tables": table_problems,
    "pictures": picture_problems,
}


# ---------------------------------------------------------------------------------------------
# The shipped templates, and one document rendered from each kind's template


@cache
def shipped(name: str) -> Package:
    return Package((TEMPLATES / name).read_bytes(), name)


def _example_scheme(kind: str) -> Path:
    for scheme in sorted(SCHEMES.glob("*.yaml")):
        if KINDS[kind].for_scheme(scheme_model(scheme)):
            return scheme
    raise AssertionError(f"no shipped scheme has {kind} documents")


@cache
def rendered(kind: str) -> Package:
    spec = load_any_scheme(_example_scheme(kind))
    template = WordTemplate(KINDS[kind].template_path(TEMPLATES))
    return Package(template.render(KINDS[kind].example(spec), formats=["docx"])["docx"], f"{kind} (rendered)")


TEMPLATE_NAMES = [path.name for path in SHIPPED]
WORD_KINDS = sorted(name for name in KINDS if (TEMPLATES / f"{name}.docx").is_file())


def test_every_kind_ships_a_word_template_checked_here():
    assert TEMPLATE_NAMES and {f"{kind}.docx" for kind in WORD_KINDS} == set(TEMPLATE_NAMES)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_text_is_at_least_10_pt(name):
    assert size_problems(shipped(name)) == []


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_text_colours_contrast_at_least_4_5_to_1(name):
    assert contrast_problems(shipped(name)) == []


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_is_in_british_english(name):
    assert language_problems(shipped(name)) == []


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_headings_start_at_h1_and_never_skip_a_level(name):
    assert heading_problems(shipped(name)) == []


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_data_tables_mark_their_column_headings_as_header_rows(name):
    assert table_problems(shipped(name)) == []


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_pictures_have_alt_text(name):
    assert picture_problems(shipped(name)) == []


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_has_headings_and_header_rows_to_check(name):
    """The checks above see something: each template has an H1 and at least one data table."""
    package = shipped(name)
    body = package.parts["word/document.xml"]
    assert 1 in {package.outline_level(p) for p in body.iter(w("p"))}
    assert body.find(".//w:tblHeader", NS) is not None


@pytest.mark.parametrize("kind", WORD_KINDS)
def test_rendered_document_is_legible_and_accessible(kind):
    package = rendered(kind)
    assert {check: problems(package) for check, problems in CHECKS.items()} == {check: [] for check in CHECKS}


# ---------------------------------------------------------------------------------------------
# The checks catch a spoiled template


def _spoil(name: str, change) -> Package:
    """``name`` with its document part passed through ``change``."""
    source = (TEMPLATES / name).read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as archive, zipfile.ZipFile(out, "w") as target:
        for item in archive.infolist():
            data = archive.read(item.filename)
            if item.filename == "word/document.xml":
                root = etree.fromstring(data)
                change(root)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            target.writestr(item, data)
    return Package(out.getvalue(), f"spoiled {name}")


def _first_body_run(root: etree._Element) -> etree._Element:
    return next(
        r
        for p in root.iter(w("p"))
        if p.find("w:pPr/w:pStyle", NS) is None
        for r in p.iter(w("r"))
        if _text(r)
    )


def _small_grey(root: etree._Element) -> None:
    run = _first_body_run(root)
    rpr = run.find("w:rPr", NS)
    if rpr is None:
        rpr = etree.SubElement(run, w("rPr"))
        run.insert(0, rpr)
    etree.SubElement(rpr, w("color")).set(w("val"), "999999")
    etree.SubElement(rpr, w("sz")).set(w("val"), "16")


def test_small_grey_text_is_reported():
    package = _spoil("claim.docx", _small_grey)
    assert any("8 pt text" in problem for problem in size_problems(package))
    assert any("#999999 on #FFFFFF is 2.85:1" in problem for problem in contrast_problems(package))


def _white_header_on_pale_fill(root: etree._Element) -> None:
    for fill in root.iterfind(".//w:tcPr/w:shd", NS):
        if fill.get(w("fill")) == "005EB8":
            fill.set(w("fill"), "41B6E6")  # NHS light blue: white text on it is 2.3:1


def test_white_text_on_a_pale_header_cell_is_reported():
    problems = contrast_problems(_spoil("claim.docx", _white_header_on_pale_fill))
    assert any("#FFFFFF on #41B6E6" in problem for problem in problems)


def _no_header_rows(root: etree._Element) -> None:
    for marker in root.iterfind(".//w:tblHeader", NS):
        marker.getparent().remove(marker)


def test_a_data_table_without_a_header_row_is_reported():
    problems = table_problems(_spoil("claim.docx", _no_header_rows))
    assert problems == [
        "document.xml: table headed 'Service | Unit | Tariff | Cap | Count' has no header row"
    ]


def _skip_a_level(root: etree._Element) -> None:
    for style in root.iterfind(".//w:pStyle", NS):
        if style.get(w("val")) == "Heading1":
            style.set(w("val"), "Heading3")


def test_a_heading_that_skips_a_level_is_reported():
    problems = heading_problems(_spoil("claim.docx", _skip_a_level))
    assert any("H3 follows H1, skipping a level" in problem for problem in problems)


def _bold_heading_by_hand(root: etree._Element) -> None:
    for style in root.iterfind(".//w:pStyle", NS):
        if style.get(w("val")) == "Heading1":
            paragraph = style.getparent().getparent()
            style.getparent().remove(style)
            for run in paragraph.iter(w("r")):
                rpr = run.find("w:rPr", NS)
                if rpr is None:
                    rpr = etree.Element(w("rPr"))
                    run.insert(0, rpr)
                etree.SubElement(rpr, w("b"))


def test_a_bold_paragraph_standing_in_for_a_heading_is_reported():
    problems = heading_problems(_spoil("claim.docx", _bold_heading_by_hand))
    assert any("'Activity delivered in the quarter': a bold paragraph" in problem for problem in problems)


def _american(root: etree._Element) -> None:
    rpr = _first_body_run(root).find("w:rPr", NS)
    if rpr is None:
        rpr = etree.Element(w("rPr"))
        _first_body_run(root).insert(0, rpr)
    etree.SubElement(rpr, w("lang")).set(w("val"), "en-US")


def test_a_run_in_another_language_is_reported():
    assert any("language en-US" in p for p in language_problems(_spoil("claim.docx", _american)))


def _picture_without_alt_text(root: etree._Element) -> None:
    run = _first_body_run(root)
    drawing = etree.SubElement(run, w("drawing"))
    inline = etree.SubElement(drawing, f"{{{WP}}}inline")
    etree.SubElement(inline, f"{{{WP}}}docPr", id="99", name="Logo")


def test_a_picture_without_alt_text_is_reported():
    assert picture_problems(_spoil("claim.docx", _picture_without_alt_text)) == [
        "document.xml: picture 'Logo' has no alt text"
    ]


def test_contrast_ratio_matches_wcag():
    assert contrast(BLACK, WHITE) == pytest.approx(21.0)
    assert contrast("767676", WHITE) == pytest.approx(4.54, abs=0.01)
    assert contrast(WHITE, "005EB8") == pytest.approx(contrast("005EB8", WHITE))
