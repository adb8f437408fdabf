"""Determinism: the same document gives the same bytes, whatever the process rendered before.

The writer keeps process-wide caches (styles, paragraphs, tables, drawings, font subsets) so that a
bulk run is fast; nothing a cache holds may leak from one document into another.
"""

from __future__ import annotations

from functools import cache

import wordmaker as wm
from pdfprobe import colour_at, fields, flags, links, text, widget
from wordmaker import WordDoc, field, p, r, sdt, table

from agreementgen.render.pdf import DocumentInfo, WordPackage, clear_caches, write_pdf

LINES_ON_A_PAGE = 55
NUMBERING = (
    '<w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
    '<w:lvlText w:val="%1."/><w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr></w:lvl></w:abstractNum>'
    '<w:num w:numId="1"><w:abstractNumId w:val="1"/></w:num>'
)


def agreement(practice: str, total: str, *, items: int = 3) -> bytes:
    """A small agreement as a practice's rendered DOCX: lists, a table, fields, header and footer."""
    doc = WordDoc().numbering(NUMBERING)
    doc.header(p(r("Local enhanced service", "<w:b/>")))
    doc.footer(p("Page ", field("PAGE"), " of ", field("NUMPAGES")))
    numbered = '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
    doc.add(
        p(r(f"Agreement with {practice}", '<w:sz w:val="32"/><w:color w:val="005EB8"/>')),
        *[p(f"Obligation {n} of the practice.", ppr=numbered) for n in range(1, items + 1)],
        table(
            [["Term", "Value"], ["Total", total], ["Practice", practice]],
            [3000, 4000],
            trpr=["<w:tblHeader/>", "", ""],
        ),
        p("Total: ", sdt(total, tag="term_total", pr='<w:lock w:val="sdtContentLocked"/><w:text/>')),
        p(
            "Lead: ",
            sdt(r("Click or tap to enter text."), tag="practice_lead", pr="<w:showingPlcHdr/><w:text/>"),
        ),
        *wm.filler(LINES_ON_A_PAGE),
        p("Signature: ", sdt("", tag="practice_digital_signature")),
    )
    return doc.docx()


@cache
def documents() -> dict[str, bytes]:
    return {
        "A": agreement("Lensfield Medical Practice", "£12,345.67"),
        "B": agreement("Meddygfa Ŵyn Ŷstrad – “Siân’s”", "€9,876.54", items=5),
    }


def render(name: str) -> bytes:
    info = DocumentInfo(doc_id=f"s:v1:{name}:section7", title=f"Agreement {name}")
    return write_pdf(WordPackage.from_docx(documents()[name]), info, locked=frozenset({"term_total"}))


def test_the_same_document_gives_the_same_bytes_twice():
    first = render("A")
    assert render("A") == first
    assert "Lensfield Medical Practice" in text(first)


def test_rendering_another_document_in_between_changes_nothing():
    first = render("A")
    other = render("B")
    assert other != first
    assert render("A") == first
    assert render("B") == other


def test_clearing_the_caches_changes_nothing():
    first, other = render("A"), render("B")
    clear_caches()
    assert render("B") == other
    clear_caches()
    assert render("A") == first


def test_no_timestamp_or_random_id_in_the_file():
    pdf = render("A")
    assert b"D:20000101000000" in pdf  # reportlab's invariant date
    clear_caches()
    assert render("A") == pdf


# --- what the caches must tell apart ---------------------------------------------------------------


def locked_total(value: str) -> str:
    return p("Total due: ", sdt(value, tag="term_total", pr="<w:text/>"))


def test_the_locked_names_are_honoured_whatever_was_rendered_before():
    package = WordDoc().add(locked_total("£7,777.77")).package()
    clear_caches()
    fresh_locked = write_pdf(package, locked=frozenset({"term_total"}))
    clear_caches()
    write_pdf(package)  # the same paragraph, not locked
    locked = write_pdf(package, locked=frozenset({"term_total"}))
    assert flags(widget(locked, "term_total")[1]) & 1
    assert locked == fresh_locked


def link_doc(url: str) -> WordDoc:
    doc = WordDoc()
    rid = doc.link(url)
    return doc.add(p(f'<w:hyperlink r:id="{rid}">' + r("Practice website") + "</w:hyperlink>"))


def test_a_hyperlink_goes_to_its_own_documents_url_whatever_was_rendered_before():
    first = link_doc("https://first.example/").pdf()
    second = link_doc("https://second.example/").pdf()
    assert [uri for _, uri, _ in links(first)] == ["https://first.example/"]
    assert [uri for _, uri, _ in links(second)] == ["https://second.example/"]


def picture_doc(colour: tuple[int, int, int]) -> WordDoc:
    return WordDoc().picture(wm.png(40, 40, colour), width_pt=72)


def test_a_picture_is_its_own_documents_picture_whatever_was_rendered_before():
    red = picture_doc((255, 0, 0)).pdf()
    blue = picture_doc((0, 0, 255)).pdf()
    assert colour_at(red, 100, 100) == (255, 0, 0)
    assert colour_at(blue, 100, 100) == (0, 0, 255)


def test_a_picture_in_a_table_cell_is_its_own_documents_picture_whatever_was_rendered_before():
    def doc(colour: tuple[int, int, int]) -> bytes:
        made = picture_doc(colour)
        body = made.document.element.body
        picture_paragraph = body[0]
        body.remove(picture_paragraph)
        made.add(table([["Logo", "x"]], [2000, 2000]))
        cell = body[0].findall(wm.qn("w:tr"))[0].findall(wm.qn("w:tc"))[1]
        cell.remove(cell.find(wm.qn("w:p")))
        cell.append(picture_paragraph)
        return made.pdf()

    red, blue = doc((255, 0, 0)), doc((0, 0, 255))
    assert colour_at(red, 72 + 100 + 30, 100) == (255, 0, 0)
    assert colour_at(blue, 72 + 100 + 30, 100) == (0, 0, 255)


def test_the_same_control_xml_with_another_value_in_another_document_keeps_its_own_value():
    first = WordDoc().add(p("Lead: ", sdt("Dr A", tag="practice_lead", pr="<w:text/>"))).pdf()
    second = WordDoc().add(p("Lead: ", sdt("Dr B", tag="practice_lead", pr="<w:text/>"))).pdf()
    assert fields(first)["practice_lead"]["/V"] == "Dr A"
    assert fields(second)["practice_lead"]["/V"] == "Dr B"


def list_doc() -> WordDoc:
    numbered = '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
    return WordDoc().numbering(NUMBERING).add(*[p(f"Item {n}", ppr=numbered) for n in range(1, 4)])


def test_list_labels_are_counted_per_document():
    doc = list_doc()
    assert text(doc.pdf()) == "1. Item 1 2. Item 2 3. Item 3"
    assert text(doc.pdf()) == "1. Item 1 2. Item 2 3. Item 3"  # the counter starts again for each document


def test_a_document_with_a_list_gives_the_same_bytes_the_first_time_and_the_second():
    doc = list_doc()
    clear_caches()
    first = doc.pdf()
    second = doc.pdf()
    assert first[:9] == second[:9]
    assert first == second
