"""Content controls become AcroForm fields named by their tag: text, date, checkbox, drop-down, signature,
and read-only fields over the issued terms a document prints."""

from __future__ import annotations

import pytest
import wordmaker as wm
from pdfprobe import field_head, fields, flags, page_texts, reader, text, widget, widgets, word
from wordmaker import MARGIN, PAGE_WIDTH, WordDoc, p, r, sdt

from agreementgen.render.pdf.story import analyse

READ_ONLY = 1
MULTILINE = 1 << 12
COMBO = 1 << 17
PLACEHOLDER = "<w:showingPlcHdr/>"

CHECKBOX = (
    "<w14:checkbox>{checked}"
    '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
    '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox>'
)
DATE = (
    '<w:date w:fullDate="2025-04-01T00:00:00Z"><w:dateFormat w:val="dd/MM/yyyy"/><w:lid w:val="en-GB"/>'
    '<w:storeMappedDataAs w:val="dateTime"/><w:calendar w:val="gregorian"/></w:date>'
)
DROPDOWN = (
    "<w:dropDownList>"
    '<w:listItem w:displayText="Yes, in full" w:value="yes"/>'
    '<w:listItem w:displayText="In part" w:value="part"/>'
    '<w:listItem w:displayText="No" w:value="no"/>'
    "</w:dropDownList>"
)


def placeholder_text() -> str:
    return r("Click or tap to enter text.", '<w:rStyle w:val="PlaceholderText"/>')


def pdf_of(*body: str, locked: frozenset[str] = frozenset()) -> bytes:
    return WordDoc().add(*body).pdf(locked=locked)


def test_a_plain_text_control_is_an_empty_fillable_text_field_named_by_its_tag():
    pdf = pdf_of(
        p("Practice lead: ", sdt(placeholder_text(), tag="practice_lead", pr=PLACEHOLDER + "<w:text/>"))
    )
    found = fields(pdf)
    assert set(found) == {"practice_lead"}
    lead = found["practice_lead"]
    assert lead["/FT"] == "/Tx"
    assert lead.get("/V", "") == ""
    page, annotation = widget(pdf, "practice_lead")
    assert page == 0
    assert flags(annotation) & (READ_ONLY | MULTILINE) == 0
    # Word's placeholder is not printed on the page: the field is there to type into.
    assert "Click or tap" not in text(pdf)


def test_the_field_sits_after_the_label_on_its_line_and_inside_the_margins():
    pdf = pdf_of(
        p("Practice lead: ", sdt(placeholder_text(), tag="practice_lead", pr=PLACEHOLDER + "<w:text/>"))
    )
    _, annotation = widget(pdf, "practice_lead")
    x0, y0, x1, y1 = (float(v) for v in annotation["/Rect"])
    height = float(reader(pdf).pages[0].mediabox.height)
    label = word(pdf, "lead:")
    assert x0 >= label.x1 - 0.5
    assert x1 <= PAGE_WIDTH - MARGIN + 0.5
    assert height - y1 <= label.bottom and height - y0 >= label.top  # on the label's line
    assert x1 - x0 > 100  # it takes the rest of the line, as there is nothing after it


def test_a_text_control_with_a_value_is_prefilled():
    pdf = pdf_of(p("Lead: ", sdt("Dr Siân Owen", tag="practice_lead", pr="<w:text/>")))
    assert fields(pdf)["practice_lead"]["/V"] == "Dr Siân Owen"


def test_a_multi_line_text_control_is_a_multiline_field():
    pdf = pdf_of(
        p("Notes: ", sdt(placeholder_text(), tag="notes", pr=PLACEHOLDER + '<w:text w:multiLine="1"/>'))
    )
    _, annotation = widget(pdf, "notes")
    assert field_head(annotation)["/FT"] == "/Tx"
    assert flags(annotation) & MULTILINE
    assert not flags(annotation) & READ_ONLY
    _, y0, _, y1 = (float(v) for v in annotation["/Rect"])
    assert y1 - y0 > 2.5 * 11  # room for several lines


def test_a_rich_text_control_around_paragraphs_is_a_multiline_field():
    control = sdt(p(placeholder_text()), tag="evidence", pr=PLACEHOLDER, inline=False)
    pdf = pdf_of(p("Evidence:"), control)
    _, annotation = widget(pdf, "evidence")
    assert field_head(annotation)["/FT"] == "/Tx"
    assert flags(annotation) & MULTILINE


def test_a_date_picker_is_a_text_field_with_the_date_format_actions():
    pdf = pdf_of(
        p("Signed on: ", sdt(r("Click or tap to enter a date."), tag="signed_on", pr=PLACEHOLDER + DATE))
    )
    _, annotation = widget(pdf, "signed_on")
    head = field_head(annotation)
    assert head["/FT"] == "/Tx"
    actions = head["/AA"]
    assert 'AFDate_FormatEx("dd/mm/yyyy")' in actions["/F"]["/JS"]
    assert 'AFDate_KeystrokeEx("dd/mm/yyyy")' in actions["/K"]["/JS"]
    assert head.get("/V", "") == ""


def test_a_date_format_with_month_names_is_carried_over():
    date = DATE.replace("dd/MM/yyyy", "d MMMM yyyy")
    pdf = pdf_of(p("Date: ", sdt(r("1 April 2025"), tag="start", pr=date)))
    head = field_head(widget(pdf, "start")[1])
    assert 'AFDate_FormatEx("d mmmm yyyy")' in head["/AA"]["/F"]["/JS"]
    assert head["/V"] == "1 April 2025"


@pytest.mark.parametrize("checked", [True, False])
def test_a_checkbox_control_is_a_checkbox_field_in_its_state(checked):
    state = '<w14:checked w14:val="1"/>' if checked else '<w14:checked w14:val="0"/>'
    mark = "☒" if checked else "☐"
    pdf = pdf_of(p(sdt(r(mark), tag="agree_terms", pr=CHECKBOX.format(checked=state)), " I agree"))
    _, annotation = widget(pdf, "agree_terms")
    head = field_head(annotation)
    assert head["/FT"] == "/Btn"
    expected = "/Yes" if checked else "/Off"
    assert head["/V"] == expected
    assert annotation["/AS"] == expected
    assert set(annotation["/AP"]["/N"]) == {"/Yes", "/Off"}
    assert not flags(annotation) & READ_ONLY
    assert mark not in text(pdf)  # the box is the field, not the character Word shows


def test_a_drop_down_control_is_a_choice_field_with_its_options():
    control = sdt(r("In part"), tag="achieved", pr=DROPDOWN)
    pdf = pdf_of(p("Achieved: ", control))
    head = field_head(widget(pdf, "achieved")[1])
    assert head["/FT"] == "/Ch"
    assert int(head["/Ff"]) & COMBO
    options = [list(o) if not isinstance(o, str) else o for o in head["/Opt"]]
    assert options == [["yes", "Yes, in full"], ["part", "In part"], ["no", "No"]]
    assert head["/V"] == "In part"


def test_a_locked_control_prints_its_text_under_a_read_only_prefilled_field():
    lock = '<w:lock w:val="sdtContentLocked"/><w:text/>'
    pdf = pdf_of(p("Sessions per week: ", sdt("12", tag="sessions", pr=lock), " sessions."))
    assert text(pdf) == "Sessions per week: 12 sessions."
    head = field_head(widget(pdf, "sessions")[1])
    assert head["/FT"] == "/Tx"
    assert head["/V"] == "12"
    assert int(head["/Ff"]) & READ_ONLY
    # The widget lies over the printed value.
    x0, _, x1, _ = (float(v) for v in widget(pdf, "sessions")[1]["/Rect"])
    value = word(pdf, "12")
    assert x0 <= value.x0 + 0.5 and x1 >= value.x1 - 0.5


def test_a_control_named_in_locked_is_read_only_without_a_lock_in_the_template():
    # (Each document's XML is its own here: see test_wordpdf_determinism for the same XML rendered both ways.)
    locked_pdf = pdf_of(
        p("Total: ", sdt("£1,234.00", tag="term_total", pr="<w:text/>")), locked=frozenset({"term_total"})
    )
    open_pdf = pdf_of(p("Total due: ", sdt("£1,234.00", tag="term_total", pr="<w:text/>")))
    assert flags(widget(locked_pdf, "term_total")[1]) & READ_ONLY
    assert fields(locked_pdf)["term_total"]["/V"] == "£1,234.00"
    assert text(locked_pdf) == "Total: £1,234.00"  # printed on the page, the field over it
    assert not flags(widget(open_pdf, "term_total")[1]) & READ_ONLY


def test_a_locked_block_control_prints_its_paragraphs_under_a_read_only_field():
    lock = '<w:lock w:val="sdtContentLocked"/>'
    control = sdt(p("First clause of the terms.") + p("Second clause."), tag="terms", pr=lock, inline=False)
    pdf = pdf_of(control)
    assert text(pdf) == "First clause of the terms. Second clause."
    head = field_head(widget(pdf, "terms")[1])
    assert int(head["/Ff"]) & READ_ONLY
    assert head["/V"] == "First clause of the terms.\nSecond clause."


def test_a_control_tagged_as_a_digital_signature_is_a_signature_field():
    control = sdt(placeholder_text(), tag="practice_digital_signature", pr=PLACEHOLDER)
    pdf = pdf_of(p("Signature: ", control))
    _, annotation = widget(pdf, "practice_digital_signature")
    assert field_head(annotation)["/FT"] == "/Sig"
    assert "/V" not in field_head(annotation)  # unsigned
    x0, y0, x1, y1 = (float(v) for v in annotation["/Rect"])
    assert y1 - y0 >= 40 and x1 - x0 >= 150  # room to sign


def test_an_untagged_control_is_printed_as_text_with_no_field_and_a_note():
    doc = WordDoc().add(p("Name: ", sdt("Lensfield Medical Practice", pr="<w:text/>")))
    pdf = doc.pdf()
    assert text(pdf) == "Name: Lensfield Medical Practice"
    assert fields(pdf) == {}
    found = analyse(doc.package())
    assert found.field_names == set()
    assert any("without a tag is printed as text" in str(n) for n in found.notes), found.notes


def test_a_control_whose_tag_libreoffice_dropped_is_named_by_the_tag_in_its_title():
    doc = WordDoc().add(
        p("Lead: ", sdt(placeholder_text(), alias="Practice lead [practice_lead]", pr=PLACEHOLDER))
    )
    pdf = doc.pdf()
    assert set(fields(pdf)) == {"practice_lead"}
    assert fields(pdf)["practice_lead"].get("/TU") == "Practice lead"  # the title, as its tooltip
    found = analyse(doc.package())
    assert found.field_names == {"practice_lead"}
    assert found.untagged == 1


def test_analyse_lists_the_fields_a_document_makes():
    body = [
        p("Lead: ", sdt(placeholder_text(), tag="practice_lead", pr=PLACEHOLDER + "<w:text/>")),
        p(sdt(r("☐"), tag="agree_terms", pr=CHECKBOX.format(checked="")), " I agree"),
        p("Signature: ", sdt(placeholder_text(), tag="practice_digital_signature", pr=PLACEHOLDER)),
    ]
    found = analyse(WordDoc().add(*body).package())
    assert found.field_names == {"practice_lead", "agree_terms", "practice_digital_signature"}
    assert found.unsupported == []


def test_a_control_printed_twice_is_one_field_with_two_widgets():
    control = sdt("Lensfield", tag="practice_name", pr='<w:lock w:val="sdtContentLocked"/><w:text/>')
    pdf = pdf_of(p("From: ", control), p("Signed for: ", control))
    assert [name for name, _, _ in widgets(pdf)] == ["practice_name", "practice_name"]
    assert list(fields(pdf)) == ["practice_name"]
    assert fields(pdf)["practice_name"]["/V"] == "Lensfield"


def test_a_control_in_a_footer_is_printed_as_text_and_noted():
    doc = WordDoc().footer(p("Practice: ", sdt("Lensfield", tag="practice_name", pr="<w:text/>")))
    pdf = doc.add(p("Body")).pdf()
    assert "Practice: Lensfield" in page_texts(pdf)[0]
    assert fields(pdf) == {}
    notes = [str(n) for n in analyse(doc.package()).notes]
    assert any("'practice_name' in a header or footer is printed as text" in n for n in notes), notes


def test_a_control_in_a_table_cell_is_a_field_inside_the_cell():
    cell = p(sdt(placeholder_text(), tag="cell_value", pr=PLACEHOLDER + "<w:text/>"))
    pdf = pdf_of(wm.table([["Activity", cell]], [2880, 4320]))
    x0, _, x1, _ = (float(v) for v in widget(pdf, "cell_value")[1]["/Rect"])
    assert x0 >= MARGIN + 144 and x1 <= MARGIN + 144 + 216


def test_every_widget_is_on_the_page_it_is_drawn_on():
    body = [
        *wm.filler(60),
        p("Lead: ", sdt(placeholder_text(), tag="practice_lead", pr=PLACEHOLDER + "<w:text/>")),
    ]
    pdf = pdf_of(*body)
    page, annotation = widget(pdf, "practice_lead")
    assert page == 1
    assert annotation.raw_get("/P").idnum == reader(pdf).pages[1].indirect_reference.idnum


def test_a_locked_checkbox_is_read_only_in_its_state():
    lock = '<w:lock w:val="sdtContentLocked"/>' + CHECKBOX.format(checked='<w14:checked w14:val="1"/>')
    pdf = pdf_of(p(sdt(r("☒"), tag="eligible", pr=lock), " Eligible"))
    _, annotation = widget(pdf, "eligible")
    assert flags(annotation) & READ_ONLY
    assert field_head(annotation)["/V"] == "/Yes"


def test_a_value_the_form_font_cannot_show_is_drawn_in_the_documents_own_font():
    pdf = pdf_of(p("Lead: ", sdt("Łukasz Żółć", tag="lead", pr="<w:text/>")))
    _, annotation = widget(pdf, "lead")
    assert field_head(annotation)["/V"] == "Łukasz Żółć"
    appearance = annotation["/AP"]["/N"].get_object()
    (face,) = appearance["/Resources"]["/Font"].values()
    assert str(face.get_object()["/BaseFont"]).endswith("+LiberationSans")
    assert b"Tj" in appearance.get_data()
