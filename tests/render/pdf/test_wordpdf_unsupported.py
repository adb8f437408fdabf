"""What the writer cannot render is found and named, never dropped in silence.

For each such thing in a Word document, ``analyse`` (what ``check-template`` runs) lists it as
an :class:`Unsupported` with the part it is in and text near it, and ``write_pdf`` refuses the
document with a :class:`RenderError` that names it.
"""

from __future__ import annotations

import pytest
import wordmaker as wm
from wordmaker import WordDoc, field, p, r, simple_field

from agreementgen.errors import RenderError
from agreementgen.render.pdf import Unsupported, write_pdf
from agreementgen.render.pdf.story import analyse
from agreementgen.render.template import check

MAIN = "word/document.xml"

VML_TEXT_BOX = r(
    raw='<w:pict><v:shape id="box1" style="width:200pt;height:50pt"><v:textbox><w:txbxContent>'
    + p("Text in a box")
    + "</w:txbxContent></v:textbox></v:shape></w:pict>"
)


def anchor(graphic: str, *, inline: bool = False) -> str:
    """A DrawingML object floating (``wp:anchor``) or in line (``wp:inline``)."""
    size = '<wp:extent cx="2540000" cy="635000"/><wp:docPr id="7" name="Shape 7"/>'
    if inline:
        return r(raw=f"<w:drawing><wp:inline>{size}<a:graphic>{graphic}</a:graphic></wp:inline></w:drawing>")
    place = (
        '<wp:simplePos x="0" y="0"/><wp:positionH relativeFrom="column"><wp:posOffset>0</wp:posOffset>'
        '</wp:positionH><wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>'
    )
    return r(
        raw='<w:drawing><wp:anchor distT="0" distB="0" distL="114300" distR="114300" simplePos="0" '
        'relativeHeight="1" behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1">'
        f'{place}{size}<wp:wrapSquare wrapText="bothSides"/>'
        f"<a:graphic>{graphic}</a:graphic></wp:anchor></w:drawing>"
    )


WPS_TEXT_BOX = anchor(
    '<a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp>'
    "<wps:spPr/><wps:txbx><w:txbxContent>" + p("Text in a shape") + "</w:txbxContent></wps:txbx>"
    "<wps:bodyPr/></wps:wsp></a:graphicData>"
)
FLOATING_PICTURE = anchor(
    '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>'
    '<pic:nvPicPr><pic:cNvPr id="0" name="logo.png"/><pic:cNvPicPr/></pic:nvPicPr>'
    '<pic:blipFill><a:blip r:embed="rId999"/></pic:blipFill><pic:spPr/></pic:pic></a:graphicData>'
)
INLINE_CHART = anchor(
    '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart"/>', inline=True
)
ALTERNATE_CONTENT = r(
    raw='<mc:AlternateContent><mc:Choice Requires="wps">'
    + WPS_TEXT_BOX[len("<w:r>") : -len("</w:r>")]
    + "</mc:Choice><mc:Fallback>"
    + VML_TEXT_BOX[len("<w:r>") : -len("</w:r>")]
    + "</mc:Fallback></mc:AlternateContent>"
)

CASES = {
    "VML text box": (
        p("Before the box ", VML_TEXT_BOX),
        "a text box, shape or embedded object (VML)",
        "Before the box",
    ),
    "DrawingML text box": (p("Shape here ", WPS_TEXT_BOX), "a floating picture or shape", "Shape here"),
    "text box in AlternateContent": (
        p("Alternate here ", ALTERNATE_CONTENT),
        "a text box or shape",
        "Alternate here",
    ),
    "floating picture": (
        p("Floating here ", FLOATING_PICTURE),
        "a floating picture or shape",
        "Floating here",
    ),
    "inline chart": (p("Chart here ", INLINE_CHART), "a chart, diagram or shape", "Chart here"),
    "footnote": (
        p(
            "Funding is recurrent",
            r(raw='<w:footnoteReference w:id="1"/>', rpr='<w:vertAlign w:val="superscript"/>'),
        ),
        "a footnote or endnote",
        "Funding is recurrent",
    ),
    "endnote": (
        p("See the note", r(raw='<w:endnoteReference w:id="2"/>')),
        "a footnote or endnote",
        "See the note",
    ),
    "comment": (
        p(
            '<w:commentRangeStart w:id="0"/>',
            r("Check this figure"),
            '<w:commentRangeEnd w:id="0"/>',
            r(raw='<w:commentReference w:id="0"/>'),
        ),
        "a comment",
        "Check this figure",
    ),
    "tracked insertion": (
        p(
            r("Payment is "),
            '<w:ins w:id="1" w:author="A" w:date="2025-01-01T00:00:00Z">' + r("not ") + "</w:ins>",
            r("due"),
        ),
        "a tracked change",
        "Payment is not due",
    ),
    "tracked deletion": (
        p(
            r("Payment is "),
            '<w:del w:id="2" w:author="A" w:date="2025-01-01T00:00:00Z">'
            "<w:r><w:delText>not </w:delText></w:r></w:del>",
            r("due"),
        ),
        "a tracked change",
        "Payment is due",
    ),
    "DATE field (simple)": (
        p("Printed on ", simple_field("DATE", "01/04/2025")),
        "a DATE field",
        "Printed on",
    ),
    "DATE field (complex)": (
        p("Printed on ", field(r"DATE \@ dd/MM/yyyy", "01/04/2025")),
        "a DATE field",
        "Printed on",
    ),
    "mail merge field": (
        p("Dear ", field("MERGEFIELD PracticeName", "«PracticeName»")),
        "the mail-merge field «PracticeName»",
        "Dear",
    ),
    "cross-reference": (p("See clause ", field("REF _Ref123 \\h", "4.2")), "a REF field", "See clause"),
    "PAGE field in the body": (
        p("This is page ", field("PAGE")),
        "a PAGE field outside a header or footer",
        "This is page",
    ),
    "equation": (
        p(
            "Where ",
            '<m:oMath xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"><m:r><m:t>x</m:t></m:r></m:oMath>',
        ),
        "an equation",
        "Where",
    ),
    "column break": (
        p("Left column", r(raw='<w:br w:type="column"/>'), "Right"),
        "a column break",
        "Left column",
    ),
    "Wingdings symbol": (
        p("Tick ", r(raw='<w:sym w:font="Wingdings" w:char="F0FE"/>')),
        "a symbol from the Wingdings font",
        "Tick",
    ),
    "embedded document": ('<w:altChunk r:id="rId998"/>', "an embedded document (altChunk)", ""),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_it_is_listed_with_where_it_is_and_the_writer_refuses_it(case):
    xml, what, near = CASES[case]
    doc = WordDoc().add(p("An ordinary paragraph."), xml, p("Another ordinary paragraph."))
    found = analyse(doc.package()).unsupported
    assert len(found) == 1, found
    (item,) = found
    assert isinstance(item, Unsupported)
    assert item.part == MAIN
    assert what in item.what
    assert near in item.near
    with pytest.raises(RenderError) as raised:
        doc.pdf()
    assert what in str(raised.value)
    assert near in str(raised.value)
    assert "check-template" in str(raised.value)


BLOCK_CHECKBOX = wm.sdt(p("I agree to the terms"), tag="agree", pr="<w14:checkbox/>", inline=False)


def test_a_checkbox_control_around_whole_paragraphs_is_refused():
    doc = WordDoc().add(p("An ordinary paragraph."), BLOCK_CHECKBOX)
    (item,) = analyse(doc.package()).unsupported
    assert item.part == MAIN
    assert "a checkbox content control around whole paragraphs" in item.what
    with pytest.raises(RenderError, match="a checkbox content control around whole paragraphs"):
        doc.pdf()


def test_a_checkbox_control_around_whole_paragraphs_is_reported_with_its_text():
    (item,) = analyse(WordDoc().add(BLOCK_CHECKBOX).package()).unsupported
    assert "I agree to the terms" in item.near


def test_a_document_in_two_columns_is_refused():
    doc = WordDoc().section_xml('<w:cols w:num="2" w:space="720"/>').add(p("Two columns of text"))
    (item,) = analyse(doc.package()).unsupported
    assert item.what == "a section in 2 columns"
    assert item.part == MAIN
    with pytest.raises(RenderError, match="a section in 2 columns"):
        doc.pdf()


def test_one_column_sections_are_fine():
    doc = WordDoc().section_xml('<w:cols w:num="1" w:space="720"/>').add(p("One column"))
    assert analyse(doc.package()).unsupported == []
    assert doc.pdf().startswith(b"%PDF")


def test_something_unsupported_in_a_header_is_listed_with_the_header_part():
    doc = WordDoc().header(p("Header ", VML_TEXT_BOX)).add(p("Body"))
    (item,) = analyse(doc.package()).unsupported
    assert item.part.startswith("word/header") and item.part.endswith(".xml")
    assert item.near.startswith("Header")
    with pytest.raises(RenderError, match="text box"):
        doc.pdf()


def test_something_unsupported_in_a_table_cell_is_found():
    doc = WordDoc().add(
        wm.table([["Cell", p("Noted", r(raw='<w:footnoteReference w:id="1"/>'))]], [2000, 2000])
    )
    (item,) = analyse(doc.package()).unsupported
    assert item.what == "a footnote or endnote" and item.near == "Noted"
    with pytest.raises(RenderError, match="footnote"):
        doc.pdf()


def test_a_picture_in_a_format_other_than_png_jpeg_or_gif_is_refused():
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (20, 20), (255, 0, 0)).save(out, format="BMP")
    doc = WordDoc().picture(out.getvalue(), width_pt=20, before="Logo ")
    (item,) = analyse(doc.package()).unsupported
    assert "a picture in a format other than PNG, JPEG or GIF" in item.what
    with pytest.raises(RenderError, match="other than PNG"):
        doc.pdf()


def test_every_problem_is_listed_and_the_error_names_the_first_five():
    body = [p(f"Footnoted {n}", r(raw=f'<w:footnoteReference w:id="{n}"/>')) for n in range(1, 8)]
    doc = WordDoc().add(*body)
    assert len(analyse(doc.package()).unsupported) == 7
    with pytest.raises(RenderError) as raised:
        doc.pdf()
    message = str(raised.value)
    assert "Footnoted 5" in message and "Footnoted 6" not in message
    assert "(and 2 more)" in message


def test_a_table_row_taller_than_a_page_is_refused_with_advice():
    tall = "".join(p(f"Line {n}") for n in range(1, 80))
    doc = WordDoc().add(wm.table([["Tall", tall]], [2000, 4000]))
    with pytest.raises(RenderError, match="taller than a page"):
        doc.pdf()


def test_a_damaged_package_is_a_render_error_not_a_crash():
    from agreementgen.render.pdf import WordPackage

    with pytest.raises(RenderError, match=r"not a Word \.docx file"):
        WordPackage.from_docx(b"PK\x03\x04 this is not a zip")
    with pytest.raises(RenderError):
        WordPackage.from_docx(b"%PDF-1.4 a PDF, not a Word document")


def test_a_part_declaring_entities_is_refused():
    import io
    import zipfile

    data = WordDoc().add(p("Body")).docx()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "word/document.xml":
                content = content.replace(
                    b"<w:document", b'<!DOCTYPE w:document [<!ENTITY x "boom">]><w:document', 1
                )
            target.writestr(info, content)
    from agreementgen.render.pdf import WordPackage

    with pytest.raises(RenderError, match="DTD or entities"):
        write_pdf(WordPackage.from_docx(out.getvalue()))


def test_a_table_row_deleted_with_track_changes_is_reported():
    deleted = '<w:del w:id="5" w:author="A" w:date="2025-01-01T00:00:00Z"/>'
    body = wm.table([["Kept", "row"], ["Deleted", "row"]], [2000, 2000], trpr=["", deleted])
    found = analyse(WordDoc().add(body).package()).unsupported
    assert any("tracked change" in u.what for u in found), found


def test_check_template_lists_what_the_pdf_cannot_show(tmp_path):
    path = tmp_path / "template.docx"
    body = [
        p("Practice agreement"),
        p("Before the box ", VML_TEXT_BOX),
        p("Lead: ", wm.sdt("Name", tag="practice_lead", pr="<w:text/>")),
        p("Name: ", wm.sdt("Untagged", pr="<w:text/>")),
    ]
    path.write_bytes(WordDoc().add(*body).docx())
    context = {
        "document": {"id": "s:v1:A00001:section7", "terms_digest": "0", "kind": "section7"},
        "scheme": {"id": "s", "version": "v1"},
        "practice": {"code": "A00001"},
    }
    report = check(path, context)
    assert [u.what for u in report.unsupported] == ["a text box, shape or embedded object (VML)"]
    assert report.unsupported[0].near.startswith("Before the box")
    assert "practice_lead" in report.fields
    assert any("without a tag" in n.what for n in report.notes)


def test_an_unknown_font_is_noted_not_refused():
    doc = WordDoc().add(p(r("Branded", '<w:rFonts w:ascii="Frobnitz Sans" w:hAnsi="Frobnitz Sans"/>')))
    found = analyse(doc.package())
    assert found.unsupported == []
    assert [n.what for n in found.notes] == ["the font 'Frobnitz Sans' is printed as Liberation Sans"]
    assert doc.pdf().startswith(b"%PDF")


def test_a_tracked_paragraph_mark_deletion_is_reported():
    mark = '<w:rPr><w:del w:id="6" w:author="A" w:date="2025-01-01T00:00:00Z"/></w:rPr>'
    doc = WordDoc().add(p("First half", ppr=mark), p("second half"))
    found = analyse(doc.package()).unsupported
    assert any("tracked change" in u.what for u in found), found


def test_what_cannot_be_rendered_is_refused_every_time_not_only_the_first():
    """A block holding what the writer cannot render is never cached: the second document with it
    is refused too, rather than printed from the cache without it."""
    package = WordDoc().add(p("Funding is recurrent", r(raw='<w:footnoteReference w:id="1"/>'))).package()
    for _ in range(2):
        with pytest.raises(RenderError, match="a footnote or endnote"):
            write_pdf(package)
    in_a_table = WordDoc().add(
        wm.table([["Cell", p("Noted", r(raw='<w:footnoteReference w:id="1"/>'))]], [2000, 2000])
    )
    for _ in range(2):
        with pytest.raises(RenderError, match="a footnote or endnote"):
            write_pdf(in_a_table.package())
