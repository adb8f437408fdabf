"""Tagged PDF: the structure tree maps the Word document, in Word's order, for assistive technology.

Each test makes a small Word document, writes its PDF and reads the structure back with pikepdf
(``pdfstructure``): headings from heading styles, lists with their labels, tables with header
cells from the header rows, pictures with their alt text, a Form element for every field, and
everything else on the page (headers, footers, the QR code, rules, shading) an artifact.
"""

from __future__ import annotations

import io

import pikepdf
import pytest
from pdfprobe import pixels
from wordmaker import WordDoc, filler, p, png, sdt, table, tc

from agreementgen.render.pdf import DocumentInfo
from pdfstructure import page_content, problems, reading_text, tree

INFO = DocumentInfo(
    doc_id="demo:v1:A00001:section7", title="Section 7 sign-up agreement — Lensfield Medical Practice"
)
HEADER_ROW = "<w:tblHeader/>"


def roles(pdf: bytes) -> list[tuple[int, str]]:
    return [(node.depth, node.role) for node in tree(pdf)]


_OPENED: list[pikepdf.Pdf] = []  # kept open while a test reads the catalog


def catalog(pdf: bytes) -> pikepdf.Dictionary:
    _OPENED.append(pikepdf.open(io.BytesIO(pdf)))
    return _OPENED[-1].Root


def numbered(text: str, ilvl: int = 0) -> str:
    return p(text, ppr=f'<w:numPr><w:ilvl w:val="{ilvl}"/><w:numId w:val="1"/></w:numPr>')


NUMBERING = (
    '<w:abstractNum w:abstractNumId="1"><w:multiLevelType w:val="multilevel"/>'
    '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/>'
    '<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr></w:lvl>'
    '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="%2)"/>'
    '<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="1440" w:hanging="360"/></w:pPr></w:lvl>'
    '</w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="1"/></w:num>'
)


# --- headings, paragraphs, reading order ---------------------------------------------------------


def test_headings_and_paragraphs_are_tagged_in_word_order():
    pdf = (
        WordDoc()
        .add(p("Funding", style="Heading1"), p("The CCG pays £2.00 per patient."))
        .add(p("Instalments", style="Heading2"), p("Paid in three instalments."))
        .pdf(INFO)
    )
    assert [role for depth, role in roles(pdf) if role != "Form"] == ["Document", "H1", "P", "H2", "P"]
    assert (
        reading_text(pdf) == "Funding The CCG pays £2.00 per patient. Instalments Paid in three instalments."
    )
    assert problems(pdf) == []


def test_a_paragraph_split_across_pages_is_one_element_read_in_order():
    long = " ".join(f"word{n}" for n in range(900))
    pdf = WordDoc().add(*filler(40), p(long)).pdf()
    last = [node for node in tree(pdf) if node.role == "P"][-1]
    assert len({page for page, _ in last.mcids}) > 1  # one P, with marked content on every page it is on
    assert reading_text(pdf).endswith(long)
    assert problems(pdf) == []


def test_a_heading_that_skips_a_level_is_reported_by_the_check():
    """The check can fail: an H3 straight after an H1 is a problem."""
    doc = WordDoc().add(p("Top", style="Heading1"), p("Too deep", style="Heading3"), p("Text"))
    assert "a heading H3 follows H1" in problems(doc.pdf())


# --- lists -------------------------------------------------------------------------------------


def test_a_numbered_list_is_a_list_of_items_with_labels_and_bodies_and_a_nested_list_in_its_item():
    pdf = (
        WordDoc()
        .numbering(NUMBERING)
        .add(p("Obligations:"), numbered("Attend the events."), numbered("Review referrals."))
        .add(numbered("Audit a sample.", ilvl=1), numbered("Report quarterly."))
        .pdf()
    )
    assert roles(pdf) == [
        (0, "Document"), (1, "P"), (1, "L"),
        (2, "LI"), (3, "Lbl"), (3, "LBody"),
        (2, "LI"), (3, "Lbl"), (3, "LBody"), (4, "L"), (5, "LI"), (6, "Lbl"), (6, "LBody"),
        (2, "LI"), (3, "Lbl"), (3, "LBody"),
    ]  # fmt: skip
    assert reading_text(pdf) == (
        "Obligations: 1. Attend the events. 2. Review referrals. a) Audit a sample. 3. Report quarterly."
    )
    labels = [node for node in tree(pdf) if node.role == "Lbl"]
    assert len(labels) == 4 and all(node.mcids for node in labels)
    assert problems(pdf) == []


# --- tables ------------------------------------------------------------------------------------


def test_a_table_with_a_header_row_has_header_cells_scoped_to_their_columns():
    pdf = (
        WordDoc()
        .add(
            table(
                [["Component", "Rate"], ["Engagement", "£0.70"], ["Medicines optimisation", "£0.60"]],
                [3000, 2000],
                trpr=[HEADER_ROW, "", ""],
            )
        )
        .pdf()
    )
    nodes = tree(pdf)
    assert [n.role for n in nodes if n.role in ("Table", "TR", "TH", "TD")] == [
        "Table", "TR", "TH", "TH", "TR", "TD", "TD", "TR", "TD", "TD",
    ]  # fmt: skip
    assert {n.scope for n in nodes if n.role == "TH"} == {"Column"}
    assert reading_text(pdf) == "Component Rate Engagement £0.70 Medicines optimisation £0.60"
    assert problems(pdf) == []


def test_a_table_without_header_rows_is_read_as_a_layout_of_its_cells_not_as_a_data_table():
    pdf = WordDoc().add(table([["Signed", "Date"]], [3000, 2000])).pdf()
    assert "Table" not in {n.role for n in tree(pdf)}
    assert reading_text(pdf) == "Signed Date"
    assert problems(pdf) == []


def test_header_rows_repeated_on_the_next_page_are_artifacts_and_the_table_is_one_element():
    rows = [["Practice", "Amount"]] + [[f"Practice {n}", f"£{n}.00"] for n in range(80)]
    pdf = WordDoc().add(table(rows, [3000, 2000], trpr=[HEADER_ROW] + [""] * 80)).pdf()
    nodes = tree(pdf)
    tables = [n for n in nodes if n.role == "Table"]
    assert len(tables) == 1
    assert sum(1 for n in nodes if n.role == "TH") == 2  # the header is read once
    assert len(pikepdf.open(io.BytesIO(pdf)).pages) == 2
    text = reading_text(pdf)
    assert text.count("Practice Amount") == 1 and text.endswith("Practice 79 £79.00")
    assert problems(pdf) == []


def test_table_rules_and_shading_are_artifacts():
    shaded = tc("Total", props='<w:shd w:val="clear" w:color="auto" w:fill="E8EDEE"/>')
    pdf = (
        WordDoc()
        .add(table([["Item", "Amount"], [shaded, "£1.00"]], [3000, 2000], trpr=[HEADER_ROW, ""]))
        .pdf()
    )
    assert all(content.untagged == [] for content in page_content(pdf))
    assert problems(pdf) == []


# --- pictures ----------------------------------------------------------------------------------


def test_a_picture_is_a_figure_with_the_word_pictures_description_as_alt_text():
    pdf = (
        WordDoc()
        .picture(png(), width_pt=72, before="Logo: ", after=" (NHS)", alt="NHS Cambridgeshire logo")
        .pdf()
    )
    (figure,) = [n for n in tree(pdf) if n.role == "Figure"]
    assert figure.alt == "NHS Cambridgeshire logo"
    paragraph = next(n for n in tree(pdf) if n.role == "P")
    assert [type(item).__name__ for item in paragraph.items] == [
        "tuple",
        "Node",
        "tuple",
    ]  # text, picture, text
    assert problems(pdf) == []


def test_a_picture_without_a_description_still_gets_alt_text():
    pdf = WordDoc().picture(png(), width_pt=72).pdf()
    (figure,) = [n for n in tree(pdf) if n.role == "Figure"]
    assert figure.alt == "Picture"


# --- headers, footers and the identity ---------------------------------------------------------


def test_running_headers_footers_and_the_qr_code_are_artifacts_not_content():
    pdf = (
        WordDoc()
        .header(p("Primary Care Quality & Engagement Framework"))
        .footer(p("Page 1"))
        .add(p("Body text."))
        .pdf(INFO)
    )
    assert reading_text(pdf) == "Body text."
    (content,) = page_content(pdf)
    assert content.untagged == []
    assert problems(pdf) == []


def test_every_field_is_a_form_element_with_a_tooltip_in_reading_order():
    pdf = (
        WordDoc()
        .add(p("Name: ", sdt("Click to enter", tag="practice_signatory_name", alias="Signatory name")))
        .add(p("Date: ", sdt("Click to enter", tag="practice_signature_date", alias="Date signed")))
        .pdf(INFO)
    )
    forms = [n for n in tree(pdf) if n.role == "Form"]
    assert len(forms) == 3  # the two fields and the hidden document id
    paragraphs = [n for n in tree(pdf) if n.role == "P"]
    assert [[k.role for k in n.kids] for n in paragraphs] == [["Form"], ["Form"]]
    assert problems(pdf) == []


def test_a_widget_without_its_form_element_or_tooltip_is_reported_by_the_check():
    pdf = WordDoc().add(p("Name: ", sdt("x", tag="practice_signatory_name", alias="Signatory name"))).pdf()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        widget = document.pages[0].Annots[0]
        del widget["/StructParent"]
        del widget["/TU"]
        out = io.BytesIO()
        document.save(out)
    found = problems(out.getvalue())
    assert "field 'practice_signatory_name' has no tooltip (/TU)" in found
    assert any("no /StructParent" in problem for problem in found)


def test_painting_outside_marked_content_is_reported_by_the_check():
    pdf = WordDoc().add(p("Body text.")).pdf()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.pages[0].contents_add(document.make_stream(b"0 0 10 10 re f"), prepend=False)
        out = io.BytesIO()
        document.save(out)
    assert "page 1 paints outside marked content: ['f']" in problems(out.getvalue())


# --- the catalog ---------------------------------------------------------------------------------


def test_the_catalog_says_tagged_in_the_templates_language_with_its_title_shown():
    doc = WordDoc()
    defaults = doc.document.styles.element.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}docDefaults"
    )
    rpr = defaults.find(".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rPr")
    from wordmaker import element

    rpr.append(element('<w:lang w:val="cy-GB"/>'))
    root = catalog(doc.add(p("Cytundeb")).pdf(INFO))
    assert bool(root.MarkInfo.Marked) is True
    assert str(root.Lang) == "cy-GB"
    assert bool(root.ViewerPreferences.DisplayDocTitle) is True
    xmp = root.Metadata.read_bytes().decode()
    assert "<pdfuaid:part>1</pdfuaid:part>" in xmp
    assert "Section 7 sign-up agreement — Lensfield Medical Practice" in xmp


def test_a_template_without_a_language_is_english_as_written_in_the_uk():
    assert str(catalog(WordDoc().add(p("Text")).pdf()).Lang) == "en-GB"


def test_tab_order_follows_the_structure_on_every_page():
    pdf = WordDoc().add(*filler(60)).pdf(INFO)
    pages = pikepdf.open(io.BytesIO(pdf)).pages
    assert len(pages) == 2
    assert [str(page.Tabs) for page in pages] == ["/S", "/S"]
    assert [int(page.StructParents) for page in pages] == [0, 2]  # 1: the document id field on page 1


def test_an_untagged_pdf_is_what_the_check_rejects_and_what_the_benchmark_compares_with():
    pdf = WordDoc().add(p("Text")).pdf(tagged=False)
    assert problems(pdf) == ["the catalog has no StructTreeRoot"]
    assert [content.mcids for content in page_content(pdf)] == [[]]


# --- replayed drawings -------------------------------------------------------------------------


def test_a_document_drawn_again_from_what_the_process_remembers_is_tagged_the_same():
    """Paragraphs and table rows the same in every document are replayed; their structure is too."""
    doc = (
        WordDoc()
        .numbering(NUMBERING)
        .add(p("Funding", style="Heading1"), numbered("First."), numbered("Second."))
        .add(table([["Component", "Rate"], ["Engagement", "£0.70"]], [3000, 2000], trpr=[HEADER_ROW, ""]))
    )
    first, second = doc.pdf(INFO), doc.pdf(INFO)
    assert first == second
    assert roles(first) == roles(second)
    assert problems(second) == []


@pytest.mark.parametrize("tagged", [True, False])
def test_tagged_and_untagged_documents_in_one_process_do_not_share_drawings_that_differ(tagged):
    """A table's rows and a list item's label are drawn with tags in a tagged document only; a plain
    paragraph is drawn the same either way (and replayed in both)."""
    doc = (
        WordDoc()
        .numbering(NUMBERING)
        .add(p("Plain paragraph."), numbered("First."), numbered("Second."))
        .add(table([["Component", "Rate"], ["Engagement", "£0.70"]], [3000, 2000], trpr=[HEADER_ROW, ""]))
    )
    doc.pdf(tagged=not tagged)
    pdf = doc.pdf(tagged=tagged)
    assert bool(page_content(pdf)[0].mcids) is tagged
    assert (problems(pdf) == []) is tagged
    if tagged:
        assert [n.role for n in tree(pdf)].count("Lbl") == 2
        assert reading_text(pdf) == "Plain paragraph. 1. First. 2. Second. Component Rate Engagement £0.70"


def test_a_list_item_in_a_running_header_is_an_artifact_and_the_same_item_in_the_body_is_tagged():
    doc = WordDoc().numbering(NUMBERING).header(numbered("Draft")).add(numbered("Draft"))
    first, second = doc.pdf(INFO), doc.pdf(INFO)  # the second replays both drawings
    for pdf in (first, second):
        assert [n.role for n in tree(pdf) if n.role in ("L", "LI", "Lbl", "LBody")] == [
            "L",
            "LI",
            "Lbl",
            "LBody",
        ]
        assert problems(pdf) == []


def test_check_template_notes_a_picture_without_alt_text_and_not_one_with_it():
    from agreementgen.render.pdf.story import analyse

    bare = analyse(WordDoc().picture(png(), width_pt=72).package())
    assert [n.what for n in bare.notes] == ["a picture without alt text (in Word: right-click it, Alt Text)"]
    described = analyse(WordDoc().picture(png(), width_pt=72, alt="The CCG's logo").package())
    assert described.notes == []


def test_a_field_whose_control_has_no_title_gets_its_tag_in_words_as_its_tooltip():
    pdf = WordDoc().add(p("Lead GP: ", sdt("Click to enter", tag="lead_gp_name"))).pdf()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        (widget,) = document.pages[0].Annots
        assert str(widget.TU) == "Lead gp name"


def test_tagging_changes_nothing_a_reader_sees_on_the_page():
    doc = (
        WordDoc()
        .numbering(NUMBERING)
        .header(p("Primary Care Quality & Engagement Framework"))
        .add(p("Funding", style="Heading1"), numbered("First."), numbered("Second."))
        .add(table([["Component", "Rate"], ["Engagement", "£0.70"]], [3000, 2000], trpr=[HEADER_ROW, ""]))
        .picture(png(), width_pt=72, alt="Logo")
    )
    tagged, untagged = doc.pdf(INFO), doc.pdf(INFO, tagged=False)
    assert tagged != untagged
    assert pixels(tagged).tobytes() == pixels(untagged).tobytes()


def test_a_hostile_title_is_escaped_in_the_xmp_metadata_which_stays_well_formed_xml():
    from lxml import etree

    hostile = DocumentInfo(doc_id="s:v1:A00001:section7", title='O\'Brien & <Partners> "{{ 7*7 }}"\x07 Ŵyn')
    xmp = catalog(WordDoc().add(p("Text")).pdf(hostile)).Metadata.read_bytes()
    root = etree.fromstring(xmp)
    (title,) = root.iterfind(".//{http://purl.org/dc/elements/1.1/}title//{*}li")
    assert title.text == 'O\'Brien & <Partners> "{{ 7*7 }}" Ŵyn'
