"""Small Word documents for the PDF writer's tests, made with python-docx and raw WordprocessingML.

A :class:`WordDoc` starts from python-docx's blank document set up the way the tests measure
it — A4, 1-inch (72 pt) margins, Arial 11 pt, single spacing, no space after paragraphs — and
takes body XML as written in ``document.xml`` (the ``w:``, ``r:``, ``wp:`` … prefixes are
declared for the snippet). Pictures, hyperlinks' relationships, headers and footers go
through python-docx so that the package's parts and relationships are as Word writes them.

:func:`p` and :func:`r` write the common paragraphs and runs; anything else is written out.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

import docx
from docx.enum.section import WD_SECTION
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.shared import Emu
from lxml import etree
from PIL import Image

from agreementgen.render.pdf import DocumentInfo, WordPackage, write_pdf

NAMESPACES = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "w14": "http://schemas.microsoft.com/office/word/2010/wordml",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "v": "urn:schemas-microsoft-com:vml",
    "o": "urn:schemas-microsoft-com:office:office",
}
_DECLARATIONS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())

# Page geometry of every WordDoc unless a test changes it (points).
A4_TWIPS = (11906, 16838)
PAGE_WIDTH = A4_TWIPS[0] / 20  # 595.3
PAGE_HEIGHT = A4_TWIPS[1] / 20  # 841.9
MARGIN = 72.0
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN


def fragment(xml: str) -> list[etree._Element]:
    """Elements written as in ``document.xml`` (several siblings allowed)."""
    root = etree.fromstring(f"<root {_DECLARATIONS}>{xml}</root>".encode())
    return list(root)


def element(xml: str) -> etree._Element:
    (only,) = fragment(xml)
    return only


def t(text: str) -> str:
    """A ``w:t`` keeping its spaces."""
    return f'<w:t xml:space="preserve">{escape(text)}</w:t>'


def r(text: str = "", rpr: str = "", *, raw: str = "") -> str:
    """A run of ``text`` (``rpr``: what goes inside its ``w:rPr``; ``raw``: more run content after it)."""
    props = f"<w:rPr>{rpr}</w:rPr>" if rpr else ""
    return f"<w:r>{props}{t(text) if text else ''}{raw}</w:r>"


def p(*content: str, ppr: str = "", style: str = "") -> str:
    """A paragraph: each of ``content`` is run XML, or plain text made into a run."""
    inner = "".join(c if c.lstrip().startswith("<") else r(c) for c in content)
    props = (f'<w:pStyle w:val="{style}"/>' if style else "") + ppr
    return f"<w:p>{f'<w:pPr>{props}</w:pPr>' if props else ''}{inner}</w:p>"


def table(
    rows: Iterable[Iterable[str]],
    widths: Iterable[int],
    *,
    tblpr: str = "",
    trpr: str | Iterable[str] = "",
    borders: bool = True,
) -> str:
    """A ``w:tbl``: ``rows`` of cell XML (plain text becomes a paragraph; ``<w:tc…`` is taken as is),
    ``widths`` in twips for the grid, ``trpr`` the inside of every row's (or each row's) ``w:trPr``."""
    widths = list(widths)
    rows = [list(row) for row in rows]
    row_props = [trpr] * len(rows) if isinstance(trpr, str) else list(trpr)
    edge = '<w:{0} w:val="single" w:sz="8" w:space="0" w:color="000000"/>'
    table_borders = (
        "<w:tblBorders>"
        + "".join(edge.format(side) for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
        + "</w:tblBorders>"
        if borders
        else ""
    )
    grid = "".join(f'<w:gridCol w:w="{width}"/>' for width in widths)
    out = [f'<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/>{table_borders}{tblpr}</w:tblPr>']
    out.append(f"<w:tblGrid>{grid}</w:tblGrid>")
    for row, props in zip(rows, row_props, strict=True):
        out.append("<w:tr>" + (f"<w:trPr>{props}</w:trPr>" if props else ""))
        for index, cell in enumerate(row):
            if cell.lstrip().startswith("<w:tc"):
                out.append(cell)
            else:
                width = widths[index] if index < len(widths) else widths[-1]
                body = cell if cell.lstrip().startswith("<w:p") else p(cell)
                out.append(f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>{body}</w:tc>')
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def field(instruction: str, result: str = "1", rpr: str = "") -> str:
    """A complex field as Word writes it: begin, instruction, separate, its last result, end."""
    return (
        r(rpr=rpr, raw='<w:fldChar w:fldCharType="begin"/>')
        + r(rpr=rpr, raw=f'<w:instrText xml:space="preserve"> {escape(instruction)} </w:instrText>')
        + r(rpr=rpr, raw='<w:fldChar w:fldCharType="separate"/>')
        + r(result, rpr)
        + r(rpr=rpr, raw='<w:fldChar w:fldCharType="end"/>')
    )


def simple_field(instruction: str, result: str = "1") -> str:
    """A ``w:fldSimple`` with its last result."""
    return f'<w:fldSimple w:instr=" {escape(instruction)} ">{r(result)}</w:fldSimple>'


def tc(content: str = "", width: int = 2000, props: str = "") -> str:
    """A table cell (``content``: paragraph XML, or text made a paragraph; ``props``: more ``w:tcPr``)."""
    body = content if content.lstrip().startswith("<") else p(content)
    return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{props}</w:tcPr>{body}</w:tc>'


def sdt(content: str, *, tag: str = "", alias: str = "", pr: str = "", inline: bool = True) -> str:
    """A content control around run XML (``inline``) or paragraphs; ``pr``: more of its ``w:sdtPr``."""
    props = (f'<w:alias w:val="{escape(alias)}"/>' if alias else "") + (
        f'<w:tag w:val="{escape(tag)}"/>' if tag else ""
    )
    if inline and not content.lstrip().startswith("<"):
        content = r(content)
    return f"<w:sdt><w:sdtPr>{props}{pr}</w:sdtPr><w:sdtContent>{content}</w:sdtContent></w:sdt>"


def png(width: int = 120, height: int = 60, colour: tuple[int, int, int] = (0, 94, 184)) -> bytes:
    """A plain PNG picture (a stand-in for a logo)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


class WordDoc:
    """A Word document being made for a test; see the module docstring."""

    def __init__(self, *, font: str = "Arial", size: float = 11.0) -> None:
        self.document = docx.Document()
        self._defaults(font, size)
        self.page(width=A4_TWIPS[0], height=A4_TWIPS[1])

    # -- set-up ---------------------------------------------------------------------------

    def _defaults(self, font: str, size: float) -> None:
        styles = self.document.styles.element
        defaults = styles.find(qn("w:docDefaults"))
        defaults.getparent().remove(defaults)
        styles.insert(
            0,
            element(
                "<w:docDefaults><w:rPrDefault><w:rPr>"
                f'<w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:cs="{font}"/>'
                f'<w:sz w:val="{round(size * 2)}"/><w:szCs w:val="{round(size * 2)}"/>'
                '</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="240" '
                'w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>'
            ),
        )

    @property
    def sect_pr(self) -> etree._Element:
        return self.document.element.body.find(qn("w:sectPr"))

    def page(
        self,
        *,
        width: int | None = None,
        height: int | None = None,
        orient: str | None = None,
        margins: int = 1440,
        header: int = 720,
        footer: int = 720,
    ) -> WordDoc:
        """The last section's page (twips)."""
        sect = self.sect_pr
        size = sect.find(qn("w:pgSz"))
        if width is not None:
            size.set(qn("w:w"), str(width))
        if height is not None:
            size.set(qn("w:h"), str(height))
        if orient is not None:
            size.set(qn("w:orient"), orient)
        mar = sect.find(qn("w:pgMar"))
        for side in ("top", "right", "bottom", "left"):
            mar.set(qn(f"w:{side}"), str(margins))
        mar.set(qn("w:header"), str(header))
        mar.set(qn("w:footer"), str(footer))
        return self

    def section_xml(self, xml: str) -> WordDoc:
        """Add elements (``w:cols``, ``w:titlePg``, ``w:pgNumType`` …) to the last section's ``w:sectPr``."""
        for made in fragment(xml):
            existing = self.sect_pr.find(made.tag)
            if existing is not None:
                self.sect_pr.replace(existing, made)
            else:
                self.sect_pr.append(made)
        return self

    def section_break(self, start: str = "nextPage") -> WordDoc:
        """End the section here (its properties go into a last paragraph, as Word writes them) and
        start a new one like it (``start``: nextPage, continuous, evenPage, oddPage)."""
        self.document.add_section(
            {"nextPage": WD_SECTION.NEW_PAGE, "continuous": WD_SECTION.CONTINUOUS,
             "evenPage": WD_SECTION.EVEN_PAGE, "oddPage": WD_SECTION.ODD_PAGE}[start]
        )  # fmt: skip
        return self

    def even_and_odd_headers(self) -> WordDoc:
        self.document.settings.odd_and_even_pages_header_footer = True
        return self

    def style(self, xml: str) -> WordDoc:
        """Add a ``w:style`` (or replace the one with its id)."""
        made = element(xml)
        styles = self.document.styles.element
        for old in styles.findall(qn("w:style")):
            if old.get(qn("w:styleId")) == made.get(qn("w:styleId")):
                styles.remove(old)
        styles.append(made)
        return self

    def numbering(self, xml: str) -> WordDoc:
        """Replace ``numbering.xml``'s definitions with ``w:abstractNum`` and ``w:num`` elements."""
        root = self.document.part.numbering_part.element
        for child in list(root):
            root.remove(child)
        made = fragment(xml)
        for abstract in [m for m in made if m.tag == qn("w:abstractNum")]:
            root.append(abstract)
        for num in [m for m in made if m.tag == qn("w:num")]:
            root.append(num)
        return self

    # -- content --------------------------------------------------------------------------

    def add(self, *xml: str) -> WordDoc:
        """Body content (paragraphs, tables, controls), before the final section properties."""
        body = self.document.element.body
        for piece in xml:
            for made in fragment(piece):
                body.insert(len(body) - 1, made)
        return self

    def link(self, url: str) -> str:
        """The id of a new external hyperlink relationship to ``url``."""
        rid: str = self.document.part.relate_to(url, RT.HYPERLINK, is_external=True)
        return rid

    def picture(
        self, data: bytes, *, width_pt: float, before: str = "", after: str = "", alt: str = ""
    ) -> WordDoc:
        """A paragraph with an inline picture ``width_pt`` wide (python-docx's ``add_run().add_picture``),
        with ``alt`` as its alt text (Word's picture description, ``wp:docPr/@descr``)."""
        paragraph = self.document.add_paragraph()
        if before:
            paragraph.add_run(before)
        shape = paragraph.add_run().add_picture(io.BytesIO(data), width=Emu(round(width_pt * 12700)))
        if alt:
            shape._inline.docPr.set("descr", alt)
        if after:
            paragraph.add_run(after)
        return self

    def header_picture(self, data: bytes, *, width_pt: float) -> WordDoc:
        """A picture in a paragraph of its own at the end of the last section's default header."""
        header = self.document.sections[-1].header
        header.is_linked_to_previous = False
        paragraphs = header.paragraphs
        paragraph = paragraphs[-1] if paragraphs and not paragraphs[-1].text else header.add_paragraph()
        paragraph.add_run().add_picture(io.BytesIO(data), width=Emu(round(width_pt * 12700)))
        return self

    def hdrftr_link(self, url: str, which: str = "footer") -> str:
        """The id of a new external hyperlink relationship of the last section's default footer (header)."""
        section = self.document.sections[-1]
        story = section.footer if which == "footer" else section.header
        story.is_linked_to_previous = False
        rid: str = story.part.relate_to(url, RT.HYPERLINK, is_external=True)
        return rid

    def header(self, *xml: str, kind: str = "default") -> WordDoc:
        """The last section's header (``kind``: default, first, even), as block XML."""
        section = self.document.sections[-1]
        part = {
            "default": section.header,
            "first": section.first_page_header,
            "even": section.even_page_header,
        }
        self._story(part[kind], xml)
        return self

    def footer(self, *xml: str, kind: str = "default") -> WordDoc:
        section = self.document.sections[-1]
        part = {
            "default": section.footer,
            "first": section.first_page_footer,
            "even": section.even_page_footer,
        }
        self._story(part[kind], xml)
        return self

    @staticmethod
    def _story(story: object, xml: Iterable[str]) -> None:
        story.is_linked_to_previous = False  # type: ignore[attr-defined]  # this section's own part
        root = story._element  # type: ignore[attr-defined]
        for child in list(root):
            root.remove(child)
        for piece in xml:
            for made in fragment(piece):
                root.append(made)

    # -- out ------------------------------------------------------------------------------

    def docx(self) -> bytes:
        out = io.BytesIO()
        self.document.save(out)
        return out.getvalue()

    def package(self) -> WordPackage:
        return WordPackage.from_docx(self.docx())

    def pdf(
        self, info: DocumentInfo | None = None, locked: frozenset[str] = frozenset(), *, tagged: bool = True
    ) -> bytes:
        return write_pdf(self.package(), info, locked=locked, tagged=tagged)


def page_break() -> str:
    return r(raw='<w:br w:type="page"/>')


def filler(count: int, text: str = "Filler line") -> list[str]:
    """``count`` one-line paragraphs numbered from 1 (``Filler line 1`` …)."""
    return [p(f"{text} {n}") for n in range(1, count + 1)]
