"""Inline pictures (a practice or ICB logo) and hyperlinks."""

from __future__ import annotations

import io

import pytest
import wordmaker as wm
from pdfprobe import links, page_texts, pixels, reader, shown_as, text, word
from PIL import Image, ImageChops
from wordmaker import MARGIN, WordDoc, field, p, r

from agreementgen.render.pdf.story import analyse

NHS_BLUE = (0, 94, 184)
GREEN = (0, 150, 57)


def image_xobjects(pdf: bytes, page: int = 0) -> list:
    """The image XObjects a page draws (directly, or in its header and footer forms)."""
    found = []

    def visit(resources) -> None:
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Image":
                found.append(xobject)
            elif xobject.get("/Resources") is not None:
                visit(xobject["/Resources"].get_object())

    visit(reader(pdf).pages[page]["/Resources"].get_object())
    return found


def painted_box(pdf: bytes, colour: tuple[int, int, int], page: int = 0) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels painted ``colour`` (72 dpi: points from the top-left)."""
    image = pixels(pdf, page)
    difference = ImageChops.difference(image, Image.new("RGB", image.size, colour))
    bands = difference.split()
    mask = ImageChops.lighter(ImageChops.lighter(bands[0], bands[1]), bands[2]).point(
        lambda v: 255 if v <= 12 else 0
    )
    box = mask.getbbox()
    assert box is not None, f"nothing painted {colour}"
    return box


def test_an_inline_picture_is_an_image_on_the_page_at_the_size_word_gives_it():
    doc = WordDoc().add(p("Above the logo"))
    doc.picture(wm.png(120, 60, NHS_BLUE), width_pt=144)  # 2 inches wide, so 1 inch tall
    pdf = doc.pdf()
    (image,) = image_xobjects(pdf)
    assert (image["/Width"], image["/Height"]) == (120, 60)  # the picture itself, not resampled
    left, top, right, bottom = painted_box(pdf, NHS_BLUE)
    assert right - left == pytest.approx(144, abs=1.5)
    assert bottom - top == pytest.approx(72, abs=1.5)
    assert left == pytest.approx(MARGIN, abs=1.0)
    assert top >= word(pdf, "logo").bottom  # below the paragraph above it


def test_a_jpeg_picture_is_drawn_too():
    out = io.BytesIO()
    Image.new("RGB", (80, 80), GREEN).save(out, format="JPEG", quality=95)
    pdf = WordDoc().picture(out.getvalue(), width_pt=72).pdf()
    assert len(image_xobjects(pdf)) == 1
    left, top, right, bottom = painted_box(pdf, GREEN)
    assert (right - left, bottom - top) == (pytest.approx(72, abs=1.5), pytest.approx(72, abs=1.5))


def test_text_after_an_inline_picture_follows_it_on_the_line():
    doc = WordDoc().picture(wm.png(120, 60, NHS_BLUE), width_pt=144, before="Logo: ", after=" after")
    pdf = doc.pdf()
    left, _, right, _ = painted_box(pdf, NHS_BLUE)
    assert left == pytest.approx(word(pdf, "Logo:").x1 + 3.06, abs=1.0)  # after "Logo: " (its space)
    assert word(pdf, "after").x0 == pytest.approx(right + 3.06, abs=1.0)
    assert text(pdf) == "Logo: after"


def test_text_beside_an_inline_picture_sits_on_the_pictures_bottom_as_in_word():
    doc = WordDoc().picture(wm.png(120, 60, NHS_BLUE), width_pt=144, before="Logo: ", after=" after")
    pdf = doc.pdf()
    _, _, _, bottom = painted_box(pdf, NHS_BLUE)
    baseline = word(pdf, "after").bottom - 0.4  # poppler's box ends just below the baseline
    assert baseline == pytest.approx(bottom, abs=3.0)


def test_a_picture_in_the_header_is_drawn_on_every_page():
    doc = WordDoc().header_picture(wm.png(60, 30, NHS_BLUE), width_pt=72)
    pdf = doc.add(*wm.filler(70)).pdf()
    assert len(reader(pdf).pages) == 2
    for page in (0, 1):
        assert len(image_xobjects(pdf, page)) == 1
        left, top, right, bottom = painted_box(pdf, NHS_BLUE, page)
        assert (right - left, bottom - top) == (pytest.approx(72, abs=1.5), pytest.approx(36, abs=1.5))
        assert top == pytest.approx(36, abs=2.0)  # at the header distance from the top edge


def test_the_same_picture_twice_is_embedded_once():
    doc = WordDoc()
    logo = wm.png(120, 60, NHS_BLUE)
    doc.picture(logo, width_pt=72).picture(logo, width_pt=144)
    pdf = doc.pdf()
    assert pdf.count(b"/Subtype /Image") == 1


# --- hyperlinks ---------------------------------------------------------------------------------


def test_a_hyperlink_becomes_a_link_annotation_over_its_text():
    doc = WordDoc()
    rid = doc.link("https://www.england.nhs.uk/gp/")
    linked = r("NHS England", '<w:u w:val="single"/>')
    doc.add(p(r("See "), f'<w:hyperlink r:id="{rid}">{linked}</w:hyperlink>'))
    pdf = doc.pdf()
    assert text(pdf) == "See NHS England"
    ((page, uri, rect),) = links(pdf)
    assert (page, uri) == (0, "https://www.england.nhs.uk/gp/")
    height = float(reader(pdf).pages[0].mediabox.height)
    x0, y0, x1, y1 = rect
    nhs, england = word(pdf, "NHS"), word(pdf, "England")
    assert x0 == pytest.approx(nhs.x0, abs=1.0)
    assert x1 == pytest.approx(england.x1, abs=1.0)
    assert height - y1 <= nhs.top + 1 and height - y0 >= nhs.bottom - 1  # it covers the line
    assert word(pdf, "See").x1 < x0  # and not the text before it


def test_a_hyperlink_styled_text_keeps_its_colour():
    doc = WordDoc().style(
        '<w:style w:type="character" w:styleId="Hyperlink"><w:name w:val="Hyperlink"/>'
        '<w:rPr><w:color w:val="0563C1"/><w:u w:val="single"/></w:rPr></w:style>'
    )
    rid = doc.link("https://example.org/claims")
    linked = r("claims portal", '<w:rStyle w:val="Hyperlink"/>')
    doc.add(p(f'<w:hyperlink r:id="{rid}">{linked}</w:hyperlink>'))
    pdf = doc.pdf()
    assert shown_as(pdf, "claims portal").colour == pytest.approx(
        (0x05 / 255, 0x63 / 255, 0xC1 / 255), abs=0.002
    )
    assert links(pdf)[0][1] == "https://example.org/claims"


def test_a_hyperlink_field_becomes_a_link():
    pdf = (
        WordDoc()
        .add(p(r("Write to "), field('HYPERLINK "mailto:icb.primarycare@nhs.net"', "the team")))
        .pdf()
    )
    assert text(pdf) == "Write to the team"
    assert [uri for _, uri, _ in links(pdf)] == ["mailto:icb.primarycare@nhs.net"]


def test_a_link_to_a_bookmark_in_the_document_prints_its_text_and_makes_no_web_link():
    pdf = WordDoc().add(p('<w:hyperlink w:anchor="schedule1">' + r("Schedule 1") + "</w:hyperlink>")).pdf()
    assert text(pdf) == "Schedule 1"
    assert links(pdf) == []


def footer_link_doc() -> WordDoc:
    doc = WordDoc()
    rid = doc.hdrftr_link("https://example.org")  # the footer part's own relationship, as Word writes it
    return doc.footer(p(f'<w:hyperlink r:id="{rid}">{r("example.org")}</w:hyperlink>')).add(p("Body"))


def test_a_hyperlink_in_a_footer_is_printed_as_text():
    pdf = footer_link_doc().pdf()
    assert "example.org" in page_texts(pdf)[0]
    assert links(pdf) == []


def test_a_hyperlink_in_a_footer_is_noted_as_printed_as_text():
    notes = [str(n) for n in analyse(footer_link_doc().package()).notes]
    assert any("hyperlink in a header or footer is printed as text" in n for n in notes), notes


def test_a_link_on_text_that_wraps_covers_each_of_its_lines():
    doc = WordDoc()
    rid = doc.link("https://example.org/long")
    long_text = " ".join(["linked"] * 40)
    doc.add(p(f'<w:hyperlink r:id="{rid}">{r(long_text)}</w:hyperlink>'))
    pdf = doc.pdf()
    found = links(pdf)
    assert len(found) >= 2
    assert {uri for _, uri, _ in found} == {"https://example.org/long"}
    tops = sorted(round(rect[3]) for _, _, rect in found)
    assert len(set(tops)) == len(tops)  # one rectangle per line
