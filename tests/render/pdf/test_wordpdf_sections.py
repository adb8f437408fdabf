"""Sections: page size, orientation and margins; section breaks; headers and footers with page numbers."""

from __future__ import annotations

import re

import pytest
import wordmaker as wm
from pdfprobe import all_words, page_texts, reader, word, words
from wordmaker import (
    A4_TWIPS,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    TEXT_WIDTH,
    WordDoc,
    field,
    p,
    r,
    simple_field,
)

LINES_ON_A_PAGE = 55


def sizes(pdf: bytes) -> list[tuple[float, float]]:
    return [
        (round(float(page.mediabox.width), 1), round(float(page.mediabox.height), 1))
        for page in reader(pdf).pages
    ]


def page_x_of_y(simple: bool = False) -> str:
    if simple:
        return p("Page ", simple_field("PAGE"), " of ", simple_field("NUMPAGES"))
    return p("Page ", field("PAGE"), " of ", field("NUMPAGES"))


def test_the_page_is_the_sections_size():
    pdf = WordDoc().page(width=12240, height=15840).add(p("Letter")).pdf()
    assert sizes(pdf) == [(612.0, 792.0)]
    pdf = WordDoc().add(p("A4")).pdf()
    assert sizes(pdf) == [(595.3, 841.9)]


def test_a_landscape_page_is_wider_than_it_is_tall_and_its_lines_are_longer():
    doc = WordDoc().page(width=A4_TWIPS[1], height=A4_TWIPS[0], orient="landscape")
    pdf = doc.add(p("Wide " + " ".join(["word"] * 150), ppr='<w:jc w:val="both"/>')).pdf()
    assert sizes(pdf) == [(841.9, 595.3)]
    assert max(w.x1 for w in words(pdf)) == pytest.approx(841.9 - MARGIN, abs=0.8)


def test_margins_place_the_text_area():
    doc = WordDoc()
    doc.sect_pr.find(wm.qn("w:pgMar")).set(wm.qn("w:left"), "2880")
    doc.sect_pr.find(wm.qn("w:pgMar")).set(wm.qn("w:top"), "2160")
    doc.sect_pr.find(wm.qn("w:pgMar")).set(wm.qn("w:right"), "720")
    pdf = doc.add(p("Margins " + " ".join(["word"] * 150), ppr='<w:jc w:val="both"/>')).pdf()
    assert word(pdf, "Margins").x0 == pytest.approx(144, abs=0.5)
    assert word(pdf, "Margins").top == pytest.approx(108, abs=1.0)
    assert max(w.x1 for w in words(pdf)) == pytest.approx(PAGE_WIDTH - 36, abs=0.8)


def test_a_bottom_margin_ends_the_page_sooner():
    doc = WordDoc()
    doc.sect_pr.find(wm.qn("w:pgMar")).set(wm.qn("w:bottom"), "4320")  # 216 pt instead of 72
    pdf = doc.add(*wm.filler(60)).pdf()
    last = max((w for w in words(pdf) if w.page == 0), key=lambda w: w.bottom)
    assert last.bottom <= PAGE_HEIGHT - 216
    assert last.bottom > PAGE_HEIGHT - 216 - 13


def test_a_portrait_section_then_a_landscape_section():
    doc = WordDoc().add(p("Portrait part")).section_break("nextPage")
    doc.page(width=A4_TWIPS[1], height=A4_TWIPS[0], orient="landscape").add(p("Landscape part"))
    pdf = doc.pdf()
    assert sizes(pdf) == [(595.3, 841.9), (841.9, 595.3)]
    assert page_texts(pdf) == ["Portrait part", "Landscape part"]
    assert word(pdf, "Landscape").top == pytest.approx(MARGIN, abs=1.0)


def test_a_landscape_section_in_the_middle_returns_to_portrait_after():
    doc = WordDoc().add(p("One")).section_break()
    doc.page(width=A4_TWIPS[1], height=A4_TWIPS[0], orient="landscape").add(p("Two")).section_break()
    doc.page(width=A4_TWIPS[0], height=A4_TWIPS[1], orient="portrait").add(p("Three"))
    pdf = doc.pdf()
    assert sizes(pdf) == [(595.3, 841.9), (841.9, 595.3), (595.3, 841.9)]
    assert page_texts(pdf) == ["One", "Two", "Three"]


def test_a_continuous_section_break_with_the_same_page_continues_on_the_page():
    doc = WordDoc().add(p("Before the break")).section_break("continuous").add(p("After the break"))
    pdf = doc.pdf()
    assert page_texts(pdf) == ["Before the break After the break"]
    assert word(pdf, "After").top > word(pdf, "Before").top


def test_a_continuous_section_break_to_another_orientation_starts_a_new_page():
    doc = WordDoc().add(p("Portrait")).section_break("continuous")
    doc.page(width=A4_TWIPS[1], height=A4_TWIPS[0], orient="landscape")
    pdf = doc.add(p("Landscape " + " ".join(["word"] * 200))).pdf()
    assert sizes(pdf) == [(595.3, 841.9), (841.9, 595.3)]
    assert page_texts(pdf)[0] == "Portrait"
    assert word(pdf, "Landscape").page == 1
    assert max(w.x1 for w in words(pdf)) <= 841.9 - MARGIN + 0.5  # (it ran off the portrait page: x 599)


def test_a_next_page_section_break_starts_a_new_page_even_with_the_same_page_size():
    doc = WordDoc().add(p("First")).section_break("nextPage").add(p("Second"))
    assert page_texts(doc.pdf()) == ["First", "Second"]


# --- headers and footers -------------------------------------------------------------------------


@pytest.mark.parametrize("simple", [False, True], ids=["complex-fields", "fldSimple"])
def test_footer_prints_page_x_of_y_on_every_page(simple):
    doc = WordDoc().footer(page_x_of_y(simple)).add(*wm.filler(LINES_ON_A_PAGE * 2 + 10))
    pdf = doc.pdf()
    assert len(reader(pdf).pages) == 3
    texts = page_texts(pdf)
    for number in (1, 2, 3):
        assert f"Page {number} of 3" in texts[number - 1]
    assert "Page 2 of 3" not in texts[0] + texts[2]


def test_the_footer_sits_at_the_footer_distance_from_the_bottom_and_the_header_at_its_distance_from_the_top():
    doc = WordDoc().header(p("Headed")).footer(p("Footed")).add(p("Body"))
    pdf = doc.pdf()
    assert word(pdf, "Headed").top == pytest.approx(36, abs=1.0)  # w:header="720"
    footed = word(pdf, "Footed")  # its line ends 36 pt above the bottom edge (w:footer="720")
    assert PAGE_HEIGHT - 36 - 4 < footed.bottom < PAGE_HEIGHT - 36
    assert word(pdf, "Body").top == pytest.approx(MARGIN, abs=1.0)


def test_a_footer_with_a_right_tab_puts_the_page_number_at_the_right_margin():
    tabs = f'<w:tabs><w:tab w:val="right" w:pos="{round(TEXT_WIDTH * 20)}"/></w:tabs>'
    footer = p(r("Ref ABC"), r(raw="<w:tab/>"), r("Page "), field("PAGE"), ppr=tabs)
    pdf = WordDoc().footer(footer).add(*wm.filler(LINES_ON_A_PAGE + 5)).pdf()
    ones = [w for w in words(pdf) if w.text in ("1", "2") and w.top > PAGE_HEIGHT - 72]
    assert [w.text for w in ones] == ["1", "2"]
    for number in ones:
        assert number.x1 == pytest.approx(PAGE_WIDTH - MARGIN, abs=0.6)
    assert word(pdf, "Ref").x0 == pytest.approx(MARGIN, abs=0.5)


def test_a_header_table_with_page_x_of_y_numbers_each_page():
    cell = p("Page ", field("PAGE"), " of ", field("NUMPAGES"), ppr='<w:jc w:val="right"/>')
    header = wm.table([["Scheme agreement", cell]], [4513, 4513])
    pdf = WordDoc().header(header).add(*wm.filler(LINES_ON_A_PAGE + 5)).pdf()
    assert "Scheme agreement Page 1 of 2" in page_texts(pdf)[0]
    assert "Scheme agreement Page 2 of 2" in page_texts(pdf)[1]


def test_a_different_first_page_header():
    doc = WordDoc().section_xml("<w:titlePg/>")
    doc.header(p("Cover header"), kind="first").header(p("Running header"))
    pdf = doc.add(*wm.filler(LINES_ON_A_PAGE * 2)).pdf()
    texts = page_texts(pdf)
    assert "Cover header" in texts[0] and "Running header" not in texts[0]
    assert "Running header" in texts[1] and "Cover header" not in texts[1]


def test_even_and_odd_page_headers():
    doc = WordDoc().even_and_odd_headers().header(p("Odd header")).header(p("Even header"), kind="even")
    pdf = doc.add(*wm.filler(LINES_ON_A_PAGE * 3)).pdf()
    texts = page_texts(pdf)
    assert len(texts) >= 3
    assert "Odd header" in texts[0] and "Even header" in texts[1] and "Odd header" in texts[2]
    assert "Even header" not in texts[0] + texts[2]


def test_page_numbering_can_start_at_a_given_number():
    doc = WordDoc().section_xml('<w:pgNumType w:start="5"/>').footer(page_x_of_y())
    pdf = doc.add(*wm.filler(LINES_ON_A_PAGE + 5)).pdf()
    texts = page_texts(pdf)
    assert "Page 5 of 2" in texts[0] or "Page 5 of" in texts[0]
    assert "Page 6 of" in texts[1]


def test_a_new_section_keeps_the_previous_sections_footer_unless_it_has_its_own():
    doc = WordDoc().footer(p("Main footer")).add(p("One")).section_break()
    doc.add(p("Two")).section_break()
    doc.footer(p("Annex footer")).add(p("Three"))
    texts = page_texts(doc.pdf())
    assert "Main footer" in texts[0] and "Main footer" in texts[1]
    assert "Annex footer" in texts[2] and "Main footer" not in texts[2]


def test_page_numbers_count_on_across_sections():
    doc = WordDoc().footer(page_x_of_y()).add(p("One")).section_break()
    doc.page(width=A4_TWIPS[1], height=A4_TWIPS[0], orient="landscape").add(p("Two")).section_break()
    doc.page(width=A4_TWIPS[0], height=A4_TWIPS[1], orient="portrait").add(p("Three"))
    texts = page_texts(doc.pdf())
    assert [re.search(r"Page \d of \d", t).group() for t in texts] == [
        "Page 1 of 3",
        "Page 2 of 3",
        "Page 3 of 3",
    ]


def test_a_footer_on_a_landscape_page_is_laid_out_on_the_landscape_width():
    tabs = '<w:tabs><w:tab w:val="right" w:pos="13958"/></w:tabs>'  # 697.9 pt: landscape text width
    doc = WordDoc().page(width=A4_TWIPS[1], height=A4_TWIPS[0], orient="landscape")
    pdf = doc.footer(p(r("Left"), r(raw="<w:tab/>"), r("Right"), ppr=tabs)).add(p("Body")).pdf()
    assert word(pdf, "Right").x1 == pytest.approx(841.9 - MARGIN, abs=0.6)
    assert 595.3 - 36 - 4 < word(pdf, "Right").bottom < 595.3 - 36


def test_header_and_footer_text_is_printed_once_per_page():
    pdf = WordDoc().header(p("Letterhead")).add(*wm.filler(LINES_ON_A_PAGE * 2)).pdf()
    assert [w.page for w in all_words(pdf, "Letterhead")] == [0, 1, 2][: len(reader(pdf).pages)]


def test_a_header_taller_than_the_top_margin_pushes_the_body_down():
    doc = WordDoc().header(*[p(f"Letterhead line {n}") for n in range(1, 7)]).add(p("Body starts"))
    pdf = doc.pdf()
    header_bottom = max(w.bottom for w in all_words(pdf, "Letterhead"))
    assert header_bottom > MARGIN  # (36 pt + six lines)
    assert word(pdf, "Body").top >= header_bottom


def test_a_footer_taller_than_the_bottom_margin_ends_the_body_above_it():
    doc = WordDoc().footer(*[p(f"Footnote line {n}") for n in range(1, 7)]).add(*wm.filler(60))
    pdf = doc.pdf()
    footer_top = min(w.top for w in all_words(pdf, "Footnote") if w.page == 0)
    body_bottom = max(w.bottom for w in all_words(pdf, "Filler") if w.page == 0)
    assert body_bottom <= footer_top
