"""Build ``templates/section7.docx``, the Word template of the Section 7 sign-up agreement.

Run it from the repository root after changing the layout here, and commit the output::

    .venv/bin/python templates/build_section7.py

The output is an ordinary Word document that a contracts team may go on editing in
Word: reword it, restyle it, move things about — keeping the template tags. Every
variable comes from the context (``agreementgen context`` prints one for a practice;
``agreementgen check-template`` checks an edited template against it). The template
never computes: amounts and dates arrive finished.

docxtpl tags used here:

* ``{{ practice.name }}`` prints a value (escaped, so practice data stays data);
* ``{%p for x in xs %}`` … ``{%p endfor %}`` on paragraphs of their own repeat the
  paragraphs between them (``{%p if %}`` likewise includes them or not);
* ``{%tr for x in xs %}`` … ``{%tr endfor %}`` in table rows of their own repeat the rows
  between them;
* ``{%r if %}`` … ``{%r endif %}`` in runs of their own include the runs between them.

Two kinds of Word *content control* (``w:sdt``) carry the agreement's data so that a
returned DOCX can be read back by tag (``agreementgen.render.docx.read_content_controls``):

* **fillable fields** — plain-text controls the practice types into, tagged with the
  context's ``leads[].tag`` and ``signatories[].fields[].tag`` (``form.fields``), showing
  a placeholder until filled in;
* **issued terms** — list size, rates, amounts, due dates, deadline and document id,
  printed from ``terms`` inside controls tagged with the ``terms`` keys and locked
  (``sdtContentLocked``), so that a changed figure in a returned form is detected.

The output is byte-deterministic: fixed core-property dates, fixed zip timestamps and
member order, so rebuilding an unchanged layout changes nothing in git.
"""

from __future__ import annotations

import copy
import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

OUTPUT = Path(__file__).resolve().with_name("section7.docx")

# NHS identity colours (NHS England brand guidelines).
NHS_BLUE = "005EB8"
NHS_DARK_BLUE = "003087"
NHS_DARK_GREY = "425563"
NHS_PALE_GREY = "E8EDEE"
PLACEHOLDER_GREY = "767676"

FONT = "Arial"
PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
MARGIN_MM = 20
TEXT_WIDTH_MM = PAGE_WIDTH_MM - 2 * MARGIN_MM
FIXED_DATE = datetime(2017, 4, 1, 9, 0, 0)  # the scheme year's first day; any fixed value will do
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
PLACEHOLDER = "Click or tap to enter text."


def twips(mm: float) -> int:
    return round(mm * 1440 / 25.4)


# --- raw XML helpers -----------------------------------------------------------------


def el(tag: str, children: list[object] | None = None, **attrs: str) -> OxmlElement:
    """``el("w:tag", val="x")`` → ``<w:tag w:val="x"/>``; children are elements."""
    element = OxmlElement(tag)
    for name, value in attrs.items():
        element.set(qn(f"w:{name}"), value)
    for child in children or []:
        element.append(child)
    return element


def run(text: str, *, bold: bool = False, style: str | None = None) -> OxmlElement:
    r = el("w:r")
    if bold or style:
        rpr = el("w:rPr")
        if style:
            rpr.append(el("w:rStyle", val=style))
        if bold:
            rpr.append(el("w:b"))
        r.append(rpr)
    t = el("w:t")
    t.text = text
    if text != text.strip():
        t.set(qn("xml:space"), "preserve")
    r.append(t)
    return r


def titled(alias: str, tag: str) -> str:
    """The control's title, ending in its tag: LibreOffice 7.4 keeps titles but drops tags on save."""
    return f"{alias} [{tag}]"


def term(tag: str, alias: str, expr: str, *, bold: bool = True) -> OxmlElement:
    """A locked plain-text content control printing an issued term (``expr``)."""
    return el(
        "w:sdt",
        [
            el(
                "w:sdtPr",
                [
                    *([el("w:rPr", [el("w:b")])] if bold else []),  # what a typed replacement would look like
                    el("w:alias", val=titled(alias, tag)),
                    el("w:tag", val=tag),
                    el("w:lock", val="sdtContentLocked"),
                    el("w:text"),
                ],
            ),
            el("w:sdtContent", [run(expr, bold=bold)]),
        ],
    )


def field(tag: str, alias: str, value: str | None = None, placeholder: str = PLACEHOLDER) -> OxmlElement:
    """A fillable plain-text content control; shows the placeholder until filled in.

    With ``value`` (a context expression), the control prints that value instead.
    """
    props: list[object] = [el("w:alias", val=titled(alias, tag)), el("w:tag", val=tag)]
    if value is None:
        props.append(el("w:showingPlcHdr"))
    props.append(el("w:text"))
    content = run(placeholder, style="PlaceholderText") if value is None else run(value)
    return el("w:sdt", [el("w:sdtPr", props), el("w:sdtContent", [content])])


def fld(instruction: str, shown: str) -> list[OxmlElement]:
    """A Word field (``PAGE``, ``NUMPAGES``) as its five runs."""
    begin, sep, end = (el("w:r", [el("w:fldChar", fldCharType=t)]) for t in ("begin", "separate", "end"))
    instr = el("w:instrText")
    instr.text = f" {instruction} "
    instr.set(qn("xml:space"), "preserve")
    return [begin, el("w:r", [instr]), sep, run(shown), end]


def append(paragraph: Paragraph, *parts: object) -> Paragraph:
    """Append text (str), ``(text, 'b')`` bold text, or ready-made elements to a paragraph."""
    for part in parts:
        if isinstance(part, str):
            paragraph._p.append(run(part))
        elif isinstance(part, tuple):
            paragraph._p.append(run(part[0], bold=True))
        elif isinstance(part, list):
            for element in part:
                paragraph._p.append(element)
        else:
            paragraph._p.append(part)
    return paragraph


def shade(element_pr: OxmlElement, fill: str) -> None:
    element_pr.append(el("w:shd", val="clear", color="auto", fill=fill))


def borders(ppr: OxmlElement, side: str, color: str, size: int = 6, space: int = 4) -> None:
    bdr = ppr.find(qn("w:pBdr"))
    if bdr is None:
        bdr = el("w:pBdr")
        ppr.append(bdr)
    bdr.append(el(f"w:{side}", val="single", sz=str(size), space=str(space), color=color))


# --- styles ------------------------------------------------------------------------------


def set_fonts(rpr: OxmlElement, size_pt: float | None = None, color: str | None = None) -> None:
    """Arial everywhere (no theme fonts), with optional size and colour."""
    for old in rpr.findall(qn("w:rFonts")):
        rpr.remove(old)
    fonts = el("w:rFonts", ascii=FONT, hAnsi=FONT, cs=FONT, eastAsia=FONT)
    rpr.insert(0, fonts)
    if color:
        for old in rpr.findall(qn("w:color")):
            rpr.remove(old)
        rpr.append(el("w:color", val=color))
    if size_pt:
        for name in ("w:sz", "w:szCs"):
            for old in rpr.findall(qn(name)):
                rpr.remove(old)
            rpr.append(el(name, val=str(round(size_pt * 2))))


def paragraph_style(
    document: docx.document.Document,
    name: str,
    *,
    base: str | None = "Normal",
    size: float | None = None,
    color: str | None = None,
    bold: bool | None = None,
    italic: bool | None = False,
    before: float | None = None,
    after: float | None = None,
    keep_next: bool | None = None,
) -> None:
    styles = document.styles
    style = styles[name] if name in [s.name for s in styles] else None
    if style is None:
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        if base:
            style.base_style = styles[base]
        style.quick_style = True
    rpr = style.element.get_or_add_rPr()
    set_fonts(rpr, size, color)
    if bold is not None:
        style.font.bold = bold
    style.font.italic = italic
    for theme_attr in ("w:themeColor", "w:themeShade"):
        for color_el in rpr.findall(qn("w:color")):
            color_el.attrib.pop(qn(theme_attr), None)
    pf = style.paragraph_format
    if before is not None:
        pf.space_before = Pt(before)
    if after is not None:
        pf.space_after = Pt(after)
    if keep_next is not None:
        pf.keep_with_next = keep_next


def setup_styles(document: docx.document.Document) -> None:
    styles_el = document.styles.element
    defaults = styles_el.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr, 10)
    for lang in rpr.findall(qn("w:lang")):
        rpr.remove(lang)
    rpr.append(el("w:lang", val="en-GB", eastAsia="en-GB", bidi="ar-SA"))
    ppr = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
    for spacing in ppr.findall(qn("w:spacing")):
        ppr.remove(spacing)
    ppr.append(el("w:spacing", after="120", line="264", lineRule="auto"))

    paragraph_style(document, "Normal")
    paragraph_style(document, "Title", size=20, color=NHS_BLUE, bold=True, after=2)
    title_ppr = document.styles["Title"].element.get_or_add_pPr()
    for old in title_ppr.findall(qn("w:pBdr")):
        title_ppr.remove(old)
    paragraph_style(document, "Subtitle", size=14, color=NHS_DARK_GREY, bold=False, after=4)
    subtitle_ppr = document.styles["Subtitle"].element.get_or_add_pPr()
    for old in subtitle_ppr.findall(qn("w:numPr")):
        subtitle_ppr.remove(old)
    paragraph_style(document, "Heading 1", size=13, color=NHS_BLUE, bold=True, before=16, after=6)
    paragraph_style(document, "Heading 2", size=11, color=NHS_DARK_BLUE, bold=True, before=10, after=4)
    paragraph_style(document, "List Bullet", after=3)
    paragraph_style(document, "List Bullet 2", after=3)
    paragraph_style(document, "List Number", after=3)
    paragraph_style(document, "Header", size=8.5, color=NHS_DARK_GREY, after=0)
    paragraph_style(document, "Footer", size=8, color=NHS_DARK_GREY, after=0)
    # python-docx's tab stops are set for US Letter; these fit A4's text width. The header has
    # only the right stop, so its one tab reaches the right margin however long the title is.
    right = el("w:tab", val="right", pos=str(twips(TEXT_WIDTH_MM)))
    center = el("w:tab", val="center", pos=str(twips(TEXT_WIDTH_MM / 2)))
    for name, stops in (("Header", [right]), ("Footer", [center, copy.deepcopy(right)])):
        ppr = document.styles[name].element.get_or_add_pPr()
        for old in ppr.findall(qn("w:tabs")):
            ppr.remove(old)
        if name == "Header":  # the base style's stops are inherited unless cleared
            stops = [el("w:tab", val="clear", pos=str(twips(TEXT_WIDTH_MM / 2))), *stops]
        ppr.insert(0, el("w:tabs", stops))
    paragraph_style(document, "Table Text", before=2, after=2)
    paragraph_style(document, "Table Heading", base="Table Text", bold=True, color="FFFFFF", keep_next=True)
    paragraph_style(document, "Table Total", base="Table Text", bold=True)
    paragraph_style(document, "Practice Line", size=12, color=NHS_DARK_BLUE, bold=True, after=2)
    paragraph_style(document, "Small", size=8, color=NHS_DARK_GREY, after=2)
    # docxtpl control paragraphs ({%p for %} …) never reach a practice; keep them quiet in Word.
    paragraph_style(document, "Template Tag", size=7, color="9A9A9A", before=0, after=0)
    paragraph_style(document, "Callout", before=6, after=10)
    callout = document.styles["Callout"].element.get_or_add_pPr()
    borders(callout, "left", NHS_BLUE, size=24, space=8)
    shade(callout, NHS_PALE_GREY)
    callout.append(el("w:ind", left=str(twips(3)), right=str(twips(3))))

    placeholder = document.styles.add_style("Placeholder Text", WD_STYLE_TYPE.CHARACTER)
    placeholder.font.color.rgb = RGBColor.from_string(PLACEHOLDER_GREY)
    placeholder.hidden = False
    placeholder.unhide_when_used = True


# --- paragraphs and tables -----------------------------------------------------------------


def para(container: object, *parts: object, style: str | None = None) -> Paragraph:
    paragraph: Paragraph = container.add_paragraph(style=style)  # type: ignore[attr-defined]
    return append(paragraph, *parts)


def tag(container: object, text: str) -> Paragraph:
    """A paragraph holding only a docxtpl ``{%p ... %}`` tag (it disappears when rendered)."""
    return para(container, text, style="Template Tag")


def cell_par(cell: _Cell, *parts: object, style: str = "Table Text", align: str | None = None) -> Paragraph:
    """Fill the cell's first (still blank) paragraph, or add another one after it."""
    first = cell.paragraphs[0]
    blank = len(cell.paragraphs) == 1 and len(first._p) == 0
    paragraph = first if blank else cell.add_paragraph()
    paragraph.style = style
    if align == "right":
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return append(paragraph, *parts)


def table(document: object, widths_mm: list[float], header: list[str] | None = None) -> Table:
    tbl: Table = document.add_table(rows=0, cols=len(widths_mm))  # type: ignore[attr-defined]
    tbl.style = "Table Grid"
    tbl.alignment = WD_TABLE_ALIGNMENT.LEFT
    tbl.autofit = False
    tblpr = tbl._tbl.tblPr
    tblpr.append(el("w:tblW", w=str(twips(sum(widths_mm))), type="dxa"))
    borders_el = el(
        "w:tblBorders",
        [
            el(f"w:{side}", val="single", sz="4", space="0", color="768692")
            for side in ("top", "left", "bottom", "right", "insideH", "insideV")
        ],
    )
    tblpr.append(borders_el)
    tblpr.append(el("w:tblLayout", type="fixed"))
    tblpr.append(
        el(
            "w:tblCellMar",
            [
                el("w:top", w="57", type="dxa"),
                el("w:left", w="100", type="dxa"),
                el("w:bottom", w="57", type="dxa"),
                el("w:right", w="100", type="dxa"),
            ],
        )
    )
    for col, width in zip(tbl.columns, widths_mm, strict=True):
        col.width = Mm(width)
    if header:
        cells = row(tbl)
        tr_pr = tbl.rows[-1]._tr.get_or_add_trPr()
        tr_pr.append(el("w:tblHeader"))
        for cell, text in zip(cells, header, strict=True):
            shade(cell._tc.get_or_add_tcPr(), NHS_BLUE)
            cell_par(cell, text, style="Table Heading")
    return tbl


def row(tbl: Table, *, height_mm: float | None = None, fill: str | None = None) -> list[_Cell]:
    """Add a row whose cells have the table's column widths; returns its cells."""
    new = tbl.add_row()
    tr_pr = new._tr.get_or_add_trPr()
    tr_pr.append(el("w:cantSplit"))
    if height_mm:
        new.height = Mm(height_mm)
        new.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    cells = list(new.cells)
    for cell, column in zip(cells, tbl.columns, strict=True):
        cell.width = column.width
        if height_mm:
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        if fill:
            shade(cell._tc.get_or_add_tcPr(), fill)
    return cells


def tag_row(tbl: Table, text: str) -> None:
    """A table row holding only a docxtpl ``{%tr ... %}`` tag (it disappears when rendered)."""
    cells = row(tbl)
    cell_par(cells[0], text, style="Template Tag")


def keep_together(tbl: Table, *, with_next: bool = False) -> None:
    """Keep a table on one page: each paragraph keeps with the next, up to the table's last row
    (and past it, keeping the table with what follows, if ``with_next``)."""
    rows = tbl._tbl.tr_lst
    if not with_next:
        # Up to the last row a practice sees: docxtpl's tag rows vanish, and a row repeated by a loop
        # would otherwise keep its last copy with whatever follows the table, chaining pages together.
        content = [i for i, tr in enumerate(rows) if not "".join(tr.itertext()).startswith("{%tr")]
        rows = rows[: content[-1]]
    for tr in rows:
        for paragraph in tr.iter(qn("w:p")):
            paragraph.get_or_add_pPr().insert_element_before(el("w:keepNext"), *_AFTER_KEEP_NEXT)


_AFTER_KEEP_NEXT = tuple(
    f"w:{name}"
    for name in (
        "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr", "suppressLineNumbers", "pBdr",
        "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap", "overflowPunct", "topLinePunct",
        "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid", "spacing", "ind",
        "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection", "textAlignment",
        "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange",
    )
)  # fmt: skip


def label_cell(cell: _Cell, text: str) -> None:
    shade(cell._tc.get_or_add_tcPr(), NHS_PALE_GREY)
    cell_par(cell, (text, "b"))


# --- the document ------------------------------------------------------------------------------


def header_and_footer(document: docx.document.Document, title: str = "Section 7 sign-up agreement") -> None:
    section = document.sections[0]
    head = section.header.paragraphs[0]
    head.style = "Header"
    borders(head._p.get_or_add_pPr(), "bottom", NHS_BLUE, size=6, space=4)
    append(head, "{{ scheme.short_title }} {{ scheme.financial_year }} · " + title)
    head._p.append(el("w:r", [el("w:tab")]))
    head._p.append(run("{{ commissioner.short_name }}", bold=True))

    foot = section.footer.paragraphs[0]
    foot.style = "Footer"
    borders(foot._p.get_or_add_pPr(), "top", NHS_BLUE, size=6, space=4)
    append(foot, "Reference: {{ document.reference }}")
    foot._p.append(el("w:r", [el("w:tab")]))
    foot._p.append(el("w:r", [el("w:tab")]))
    append(foot, "Page ", fld("PAGE", "1"), " of ", fld("NUMPAGES", "1"))
    ident = section.footer.add_paragraph(style="Footer")
    append(ident, "Document id: {{ document.id }}")


RETURN_INSTRUCTION = (
    "Practices wishing to sign up to the {{ scheme.short_title }} are required to sign Section 7 of "
    "this agreement and return it to "
)


def return_instruction(document: docx.document.Document, *, deadline: OxmlElement | str) -> Paragraph:
    """The one instruction about what to return (seed 001, before section 7): sign Section 7, send it."""
    return para(
        document,
        RETURN_INSTRUCTION,
        ("{{ commissioner.return_email }}", "b"),
        " by ",
        deadline,
        ".",
        style="Callout",
    )


def title_block(document: docx.document.Document) -> None:
    para(document, "{{ scheme.title }}", style="Title")
    para(document, "Agreement for {{ practice.name }} (ODS code {{ practice.code }})", style="Subtitle")
    para(
        document,
        "{{ commissioner.name }} · Financial year {{ scheme.financial_year }} "
        "({{ scheme.year_start }} to {{ scheme.year_end }})",
        style="Small",
    )
    return_instruction(document, deadline=("{{ scheme.sign_up_deadline }}", "b"))
    tag(document, "{%p if scheme.illustrative %}")
    para(
        document,
        ("Illustrative figures: ", "b"),
        "this scheme's figures are illustrative and not taken from a commissioned scheme.",
        style="Small",
    )
    tag(document, "{%p endif %}")


def background_and_introduction(document: docx.document.Document) -> None:
    para(document, "1. Background & Context", style="Heading 1")
    tag(document, "{%p for text in scheme.background %}")
    para(document, "{{ text }}")
    tag(document, "{%p endfor %}")

    para(document, "2. Introduction to the {{ scheme.short_title }}", style="Heading 1")
    tag(document, "{%p for text in scheme.introduction %}")
    para(document, "{{ text }}")
    tag(document, "{%p endfor %}")
    para(
        document,
        "For this practice, the total of ",
        ("{{ total }}", "b"),
        " for the year would fund, at the sessional rates above:",
    ).paragraph_format.keep_with_next = True
    tag(document, "{%p for s in practice.sessions_funded %}")
    para(document, "{{ s.sessions }} sessions at the {{ s.role }} rate of {{ s.rate }}", style="List Bullet")
    tag(document, "{%p endfor %}")
    tag(document, "{%p if components|selectattr('overview')|list %}")
    para(document, "A high level summary of each of these indicators is set out below:")
    tag(document, "{%p endif %}")
    tag(document, "{%p for c in components if c.overview %}")
    para(document, "{{ c.title }}", style="Heading 2")
    tag(document, "{%p for text in c.overview %}")
    para(document, "{{ text }}")
    tag(document, "{%p endfor %}")
    tag(document, "{%p endfor %}")


def funding(document: docx.document.Document) -> None:
    para(document, "3. Funding", style="Heading 1")
    para(document, "3.1 Funding", style="Heading 2")
    para(
        document,
        "For {{ scheme.financial_year }}, {{ commissioner.short_name }} have allocated ",
        term("term_rate_per_patient", "Rate per registered patient", "{{ terms.term_rate_per_patient }}"),
        " per patient based on {{ scheme.list_size_date }} registered list sizes for each GP practice "
        "who signs up to this scheme. This practice's list size is ",
        term("term_list_size", "Registered list size", "{{ terms.term_list_size }}"),
        " patients as at ",
        term("term_list_size_date", "List size as at", "{{ terms.term_list_size_date }}"),
        ".",
    )
    tag(document, "{%p if practice.list_size_stand_in %}")
    para(
        document,
        ("Stand-in list size: ", "b"),
        "no list size as at {{ scheme.list_size_date }} was available for this practice when this "
        "agreement was issued, so its list size as at {{ practice.list_size_date }} stands in for it. "
        "This agreement pays on that list size.",
        style="Callout",
    )
    tag(document, "{%p endif %}")
    para(
        document,
        "The {{ scheme.rate_per_patient }} per patient is attributed to delivery against the "
        "{{ components|length }} components as follows. For this practice that is:",
    ).paragraph_format.keep_with_next = True

    tbl = table(document, [100, 32, TEXT_WIDTH_MM - 132], ["Component", "Rate per patient", "Amount"])
    tag_row(tbl, "{%tr for c in components %}")
    cells = row(tbl)
    cell_par(cells[0], "{{ c.title }}")
    cell_par(cells[1], "{{ c.rate }}", align="right")
    cell_par(
        cells[2],
        term("{{ c.term_tag }}", "Amount: {{ c.title }}", "{{ terms[c.term_tag] }}", bold=False),
        align="right",
    )
    tag_row(tbl, "{%tr endfor %}")
    cells = row(tbl, fill=NHS_PALE_GREY)
    cell_par(cells[0], "Total for the year", style="Table Total")
    cell_par(cells[1], "{{ scheme.rate_per_patient }}", style="Table Total", align="right")
    cell_par(
        cells[2], term("term_total", "Total", "{{ terms.term_total }}"), style="Table Total", align="right"
    )
    keep_together(tbl)

    para(document, "3.2 Payment Arrangements", style="Heading 2")
    para(
        document,
        "Payment will be made in {{ instalments|length }} instalments, each released when its conditions "
        "are met. The date against each is when its evidence is due (section 4), not a payment date.",
    ).paragraph_format.keep_with_next = True
    tbl = table(
        document, [34, 72, 36, TEXT_WIDTH_MM - 142], ["Instalment", "Released when", "Evidence due by", "Amount"]
    )
    tag_row(tbl, "{%tr for i in instalments %}")
    cells = row(tbl)
    cell_par(cells[0], ("{{ i.title }}", "b"))
    cell_par(cells[0], "{{ i.rate }} per patient", style="Small")
    cell_par(cells[1], "{{ i.trigger }}")
    cell_par(
        cells[2],
        term(
            "{{ i.term_tag }}_due", "Evidence due: {{ i.title }}", "{{ terms[i.term_tag ~ '_due'] }}", bold=False
        ),
    )
    cell_par(
        cells[3],
        term("{{ i.term_tag }}", "Amount: {{ i.title }}", "{{ terms[i.term_tag] }}", bold=False),
        align="right",
    )
    tag_row(tbl, "{%tr endfor %}")
    cells = row(tbl, fill=NHS_PALE_GREY)
    cell_par(cells[0], "Total", style="Table Total")
    cell_par(cells[3], "{{ total }}", style="Table Total", align="right")
    keep_together(tbl)

    para(document, "3.3 Payment Reconciliation", style="Heading 2")
    tag(document, "{%p for text in scheme.reconciliation %}")
    para(document, "{{ text }}")
    tag(document, "{%p endfor %}")


def requirements(document: docx.document.Document) -> None:
    para(document, "4. Requirements and Reporting", style="Heading 1")
    tbl = table(document, [52, 42, TEXT_WIDTH_MM - 94], ["Milestone", "When", "What happens"])
    tag_row(tbl, "{%tr for m in milestones %}")
    cells = row(tbl)
    cell_par(cells[0], ("{{ m.title }}", "b"))
    cell_par(
        cells[1],
        "{% if m.window_start %}{{ m.window_start }} to {{ m.due }}{% else %}By {{ m.due }}{% endif %}",
    )
    cell_par(cells[2], "{{ m.description }}")
    tag_row(tbl, "{%tr endfor %}")


def objectives(document: docx.document.Document) -> None:
    para(
        document,
        "5. {{ scheme.short_title }} Objectives {{ scheme.financial_year }} = {{ scheme.rate_per_patient }} "
        "per patient",
        style="Heading 1",
    )
    tag(document, "{%p for c in components %}")
    para(document, "Component {{ loop.index }}: {{ c.title }} ({{ c.rate }} per patient)", style="Heading 2")
    tag(document, "{%p for text in c.summary %}")
    para(document, "{{ text }}")
    tag(document, "{%p endfor %}")
    tag(document, "{%p if c.obligations_intro %}")
    para(document, "{{ c.obligations_intro }}")
    tag(document, "{%p endif %}")
    obligation_list(document, "c.obligations")
    tag(document, "{%p for o in c.commitments %}")
    para(document, ("{{ o.lead }}", "b"), "{% if o.lead and o.text %} {% endif %}{{ o.text }}")
    items(document, "o")
    tag(document, "{%p endfor %}")
    tag(document, "{%p endfor %}")


def obligation_list(document: docx.document.Document, source: str) -> None:
    """Bulleted obligations: a bold lead-in, the rest of the sentence, then sub-points."""
    tag(document, "{%p for o in " + source + " %}")
    para(
        document,
        ("{{ o.lead }}", "b"),
        "{% if o.lead and o.text %} {% endif %}{{ o.text }}",
        style="List Bullet",
    )
    items(document, "o", style="List Bullet 2")
    tag(document, "{%p endfor %}")


def items(document: docx.document.Document, name: str, style: str = "List Bullet") -> None:
    tag(document, "{%p for item in " + name + "['items'] %}")
    para(document, "{{ item }}", style=style)
    tag(document, "{%p endfor %}")


def variations(document: docx.document.Document) -> None:
    para(document, "6. Variations, Dispute Resolution & Termination", style="Heading 1")
    tag(document, "{%p for t in scheme.terms %}")
    para(document, "{{ t.title }}", style="Heading 2")
    tag(document, "{%p for text in t.paragraphs %}")
    para(document, "{{ text }}")
    tag(document, "{%p endfor %}")
    tag(document, "{%p endfor %}")


def section7(document: docx.document.Document) -> None:
    """Section 7 itself, from a new page: the page a practice signs and returns."""
    start = para(document, "{{ scheme.title }}", style="Heading 1")
    start.paragraph_format.page_break_before = True
    return_instruction(
        document, deadline=term("term_sign_up_deadline", "Sign-up deadline", "{{ terms.term_sign_up_deadline }}")
    )
    para(document, "7. Parties to the agreement", style="Heading 1")
    para(document, "The parties to the agreement are:")
    tag(document, "{%p for party in scheme.parties %}")
    para(document, ("{{ party }}", "b"), style="List Number")
    tag(document, "{%p endfor %}")
    para(document, "The member practice signing this agreement, and the terms issued to it:")

    tbl = table(document, [50, TEXT_WIDTH_MM - 50])
    cells = row(tbl)
    label_cell(cells[0], "Practice")
    cell_par(
        cells[1],
        ("{{ practice.name }}", "b"),
        " (ODS code ",
        term("term_practice_code", "Practice ODS code", "{{ terms.term_practice_code }}", bold=False),
        ")",
    )
    cell_par(cells[1], "{{ practice.address }}", style="Small")
    tag_row(tbl, "{%tr if practice.pcn_name %}")
    cells = row(tbl)
    label_cell(cells[0], "Primary care network")
    cell_par(cells[1], "{{ practice.pcn_name }} ({{ practice.pcn_code }})")
    tag_row(tbl, "{%tr endif %}")
    cells = row(tbl)
    label_cell(cells[0], "Scheme")
    cell_par(
        cells[1],
        "{{ scheme.title }}, version {{ scheme.version }} (",
        term("term_scheme", "Scheme and version", "{{ terms.term_scheme }}", bold=False),
        ")",
    )
    cells = row(tbl)
    label_cell(cells[0], "Issued terms")
    cell_par(
        cells[1],
        "{{ terms.term_list_size }} patients as at {{ terms.term_list_size_date }}"
        "{% if practice.list_size_stand_in %} (stand-in list size){% endif %}; "
        "{{ scheme.rate_per_patient }} per patient; total ",
        ("{{ terms.term_total }}", "b"),
    )
    keep_together(tbl)

    para(document, "Practice Level Accountability", style="Heading 2")
    para(document, "{{ scheme.accountability }}").paragraph_format.keep_with_next = True
    para(
        document, "The practice leads for the delivery of this agreement are:"
    ).paragraph_format.keep_with_next = True
    tbl = table(document, [70, TEXT_WIDTH_MM - 70], ["Role", "Name"])
    tag_row(tbl, "{%tr for lead in leads %}")
    cells = row(tbl, height_mm=8)
    label_cell(cells[0], "{{ lead.title }}")
    cell_par(
        cells[1],
        run("{%r if lead.value %}"),
        field("{{ lead.tag }}", "{{ lead.title }}", "{{ lead.value }}"),
        run("{%r else %}"),
        field("{{ lead.tag }}", "{{ lead.title }}"),
        run("{%r endif %}"),
    )
    tag_row(tbl, "{%tr endfor %}")
    keep_together(tbl)
    signature_blocks(document)


def signature_blocks(document: docx.document.Document) -> None:
    """One table per signatory: the practice's name where it is printed, then a control per field."""
    tag(document, "{%p for s in signatories %}")
    para(document, "{{ s.heading }}", style="Heading 2")
    tbl = table(document, [45, TEXT_WIDTH_MM - 45])
    tag_row(tbl, "{%tr if s.prints_practice %}")
    cells = row(tbl, height_mm=9)
    label_cell(cells[0], "Practice")
    cell_par(cells[1], "{{ practice.name }} ({{ practice.code }})")
    tag_row(tbl, "{%tr endif %}")
    # The page a practice signs carries the document id, so a return of that page alone is matched.
    tag_row(tbl, "{%tr if s.party == 'practice' %}")
    cells = row(tbl)
    label_cell(cells[0], "Document id")
    cell_par(cells[1], term("doc_id", "Document id", "{{ terms.doc_id }}", bold=False))
    tag_row(tbl, "{%tr endif %}")
    tag_row(tbl, "{%tr for f in s.fields %}")
    cells = row(tbl, height_mm=10)
    label_cell(cells[0], "{{ f.label }}")
    cell_par(cells[1], field("{{ f.tag }}", "{{ f.label }}"))
    tag_row(tbl, "{%tr endfor %}")
    tag_row(tbl, "{%tr if s.party == 'practice' %}")
    cells = row(tbl, height_mm=16)
    label_cell(cells[0], "Digital signature (optional)")
    cell_par(
        cells[1],
        field(
            "practice_digital_signature",
            "Digital signature",
            placeholder="In the PDF, sign here with a digital certificate instead of typing a signature.",
        ),
    )
    tag_row(tbl, "{%tr endif %}")
    keep_together(tbl)
    tag(document, "{%p endfor %}")


def document_details(document: docx.document.Document) -> None:
    para(document, "About this document", style="Heading 2")
    para(
        document,
        "The figures in this agreement are the terms issued to the practice. They are checked against "
        "the {{ commissioner.short_name }} record of issued agreements when the signed agreement is "
        "returned, so please do not alter them: if a figure is wrong, contact "
        "{{ commissioner.return_email }}. Document id {{ document.id }}; issued terms digest "
        "{{ document.terms_digest }}.",
        style="Small",
    )


def new_document() -> docx.document.Document:
    """A blank A4 document with our styles and margins."""
    document = docx.Document()
    _drop_unused_parts(document)
    setup_styles(document)
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.left_margin = section.right_margin = Mm(MARGIN_MM)
    section.top_margin, section.bottom_margin = Mm(22), Mm(20)
    section.header_distance = section.footer_distance = Mm(10)
    return document


def finish(document: docx.document.Document, *, title: str, keywords: str, name: str) -> bytes:
    """Fixed core properties and zip timestamps: the same template source gives the same bytes."""
    props = document.core_properties
    props.title = title
    props.subject = "{{ practice.name }} ({{ practice.code }})"
    props.author = "{{ commissioner.name }}"
    props.identifier = "{{ document.id }}"
    props.keywords = keywords
    props.comments = f"Template: templates/{name}.docx"
    props.last_modified_by = "agreementgen"
    props.created = props.modified = FIXED_DATE
    props.revision = 1
    props.language = "en-GB"
    buffer = io.BytesIO()
    document.save(buffer)
    return deterministic_zip(buffer.getvalue())


def build() -> bytes:
    document = new_document()
    header_and_footer(document)
    title_block(document)
    background_and_introduction(document)
    funding(document)
    requirements(document)
    objectives(document)
    variations(document)
    section7(document)
    document_details(document)
    return finish(
        document,
        title="{{ scheme.title }}: Section 7 sign-up agreement",
        keywords="Section 7; sign-up agreement; {{ scheme.short_title }}",
        name="section7",
    )


def _drop_unused_parts(document: docx.document.Document) -> None:
    """python-docx's blank document carries a thumbnail, custom XML and a Word 2010 styles copy."""
    unwanted = ("/stylesWithEffects", "/customXml", "/metadata/thumbnail")
    for rels in (document.part.rels, document.part.package.rels):
        for rid, rel in list(rels.items()):
            if rel.reltype.endswith(unwanted):
                del rels[rid]


def deterministic_zip(data: bytes) -> bytes:
    """The same package with fixed timestamps and attributes (member order as python-docx wrote it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.create_system = 0
            fixed.external_attr = 0
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def save(output: Path, data: bytes) -> int:
    """Write a built template and say so (the ``main`` of every template builder)."""
    output.write_bytes(data)
    print(f"wrote {output} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(save(OUTPUT, build()))
