"""Paragraphs and runs: what Word's formatting looks like on the PDF page.

Each test makes a small Word document (A4, 72 pt margins, Arial 11 pt, single spacing),
writes its PDF and reads the page back: words' boxes from poppler, fonts, sizes and colours
from the content streams, painted colours from a 72 dpi rendering (one pixel a point).
"""

from __future__ import annotations

import itertools

import pytest
import wordmaker as wm
from pdfprobe import colour_at, content, dominant, near, page_texts, pixels, shown_as, text, word, words
from wordmaker import MARGIN, PAGE_WIDTH, TEXT_WIDTH, WordDoc, p, r

LEFT, RIGHT = MARGIN, PAGE_WIDTH - MARGIN
NHS_BLUE = (0x00, 0x5E, 0xB8)
PALE_GREY = (0xE8, 0xED, 0xEE)


def pdf_of(*body: str, setup=None) -> bytes:
    doc = WordDoc()
    if setup is not None:
        setup(doc)
    return doc.add(*body).pdf()


# --- runs -----------------------------------------------------------------------------------------


def test_bold_italic_and_bold_italic_runs_print_in_the_matching_embedded_faces():
    pdf = pdf_of(
        p(
            r("Plain "),
            r("Strong ", "<w:b/>"),
            r("Slanted ", "<w:i/>"),
            r("Both", "<w:b/><w:i/>"),
        )
    )
    assert shown_as(pdf, "Plain").font == "LiberationSans"
    assert shown_as(pdf, "Strong").font == "LiberationSans-Bold"
    assert shown_as(pdf, "Slanted").font == "LiberationSans-Italic"
    assert shown_as(pdf, "Both").font == "LiberationSans-BoldItalic"


def test_a_run_switched_off_with_val_0_is_not_bold():
    pdf = pdf_of(p(r("NotBold", '<w:b w:val="0"/>')))
    assert shown_as(pdf, "NotBold").font == "LiberationSans"


def test_colour_and_size_of_runs_are_kept():
    pdf = pdf_of(
        p(
            r("Black "),
            r("Red ", '<w:color w:val="FF0000"/>'),
            r("Blue ", '<w:color w:val="005EB8"/>'),
            r("Large", '<w:sz w:val="40"/>'),
        )
    )
    assert shown_as(pdf, "Black").colour == (0.0, 0.0, 0.0)
    assert shown_as(pdf, "Red").colour == (1.0, 0.0, 0.0)
    assert shown_as(pdf, "Blue").colour == pytest.approx((0.0, 0x5E / 255, 0xB8 / 255), abs=0.002)
    assert shown_as(pdf, "Black").size == 11
    assert shown_as(pdf, "Large").size == 20
    # The large run is taller on the page, and shares the line's baseline with the small ones.
    large, black = word(pdf, "Large"), word(pdf, "Black")
    assert large.bottom - large.top > 1.6 * (black.bottom - black.top)


def test_underlined_text_has_a_line_under_it_and_plain_text_does_not():
    pdf = pdf_of(p(r("Plain "), r("Underlined", '<w:u w:val="single"/>'), r(" more")))

    def ink_under(w) -> float:
        """The share of the word's width painted dark in the rows just above its box's bottom edge
        (between the baseline and the descent: no letter of these words goes there)."""
        image = pixels(pdf)
        baseline = w.bottom - 0.212 * 11  # Liberation Sans' descent
        rows = range(round(baseline) + 1, round(w.bottom))
        dark = 0
        columns = range(round(w.x0) + 1, round(w.x1) - 1)
        for x in columns:
            if any(sum(image.getpixel((x, y))) < 3 * 140 for y in rows):
                dark += 1
        return dark / len(columns)

    assert ink_under(word(pdf, "Underlined")) > 0.9
    assert ink_under(word(pdf, "Plain")) < 0.1
    assert ink_under(word(pdf, "more")) < 0.1


def test_highlighted_text_is_painted_on_its_highlight_colour():
    pdf = pdf_of(p(r("Ordinary "), r("Marked", '<w:highlight w:val="yellow"/>'), r(" ordinary")))
    assert near(dominant(pdf, word(pdf, "Marked")), (255, 255, 0))
    assert near(dominant(pdf, word(pdf, "Ordinary")), (255, 255, 255))


def test_run_shading_paints_behind_the_run():
    pdf = pdf_of(p(r("Ordinary "), r("Shaded", '<w:shd w:val="clear" w:color="auto" w:fill="E8EDEE"/>')))
    assert near(dominant(pdf, word(pdf, "Shaded")), PALE_GREY, 6)


def test_hidden_text_is_not_printed():
    pdf = pdf_of(
        p(r("Visible "), r("Secret", "<w:vanish/>"), r(" words")), p(r("Whole hidden", "<w:vanish/>"))
    )
    assert "Visible words" in text(pdf)
    assert "Secret" not in text(pdf)
    assert "Whole hidden" not in text(pdf)


def test_superscript_and_caps_runs():
    pdf = pdf_of(p(r("Base"), r("sup", '<w:vertAlign w:val="superscript"/>'), r(" shout", "<w:caps/>")))
    assert shown_as(pdf, "sup").size == pytest.approx(11 * 0.65, abs=0.01)
    assert "SHOUT" in text(pdf)
    base, sup = word(pdf, "Base"), word(pdf, "sup")
    assert sup.x0 == pytest.approx(base.x1, abs=0.5)  # straight after its base, no space
    assert sup.bottom < base.bottom - 2  # raised


# --- lines and tabs -----------------------------------------------------------------------------


def test_a_line_break_starts_a_new_line_at_the_left_margin():
    pdf = pdf_of(p(r("First"), r(raw="<w:br/>"), r("Second")), p("Third"))
    first, second, third = word(pdf, "First"), word(pdf, "Second"), word(pdf, "Third")
    assert second.x0 == pytest.approx(LEFT, abs=0.5)
    assert second.top - first.top == pytest.approx(third.top - second.top, abs=0.5)
    assert second.top - first.top == pytest.approx(11 * 1.149, abs=0.3)  # one single-spaced line


def test_left_centre_and_right_tab_stops_place_the_text_after_each_tab():
    tabs = (
        '<w:tabs><w:tab w:val="left" w:pos="2880"/><w:tab w:val="center" w:pos="5760"/>'
        f'<w:tab w:val="right" w:pos="{round(TEXT_WIDTH * 20)}"/></w:tabs>'
    )
    tab = r(raw="<w:tab/>")
    pdf = pdf_of(p(r("Start"), tab, r("Left"), tab, r("Centred"), tab, r("Right"), ppr=tabs))
    assert word(pdf, "Start").x0 == pytest.approx(LEFT, abs=0.5)
    assert word(pdf, "Left").x0 == pytest.approx(LEFT + 144, abs=0.5)
    assert word(pdf, "Centred").middle == pytest.approx(LEFT + 288, abs=0.5)
    assert word(pdf, "Right").x1 == pytest.approx(RIGHT, abs=0.5)  # a right tab at the margin
    tops = {round(word(pdf, w).top, 1) for w in ("Start", "Left", "Centred", "Right")}
    assert len(tops) == 1  # one line


def test_a_tab_with_no_stops_goes_to_the_next_default_stop():
    # python-docx's settings say a default stop every 720 twips (36 pt).
    pdf = pdf_of(p(r("Ab"), r(raw="<w:tab/>"), r("Next"), r(raw="<w:tab/>"), r("Then")))
    assert word(pdf, "Next").x0 == pytest.approx(LEFT + 36, abs=0.5)
    assert word(pdf, "Then").x0 == pytest.approx(LEFT + 72, abs=0.5)  # "Next" ends past 36 pt


def test_a_right_tab_with_a_dot_leader_fills_the_gap_with_dots():
    tabs = f'<w:tabs><w:tab w:val="right" w:leader="dot" w:pos="{round(TEXT_WIDTH * 20)}"/></w:tabs>'
    pdf = pdf_of(p(r("Contents"), r(raw="<w:tab/>"), r("7"), ppr=tabs))
    assert word(pdf, "7").x1 == pytest.approx(RIGHT, abs=0.5)
    dots = [w for w in words(pdf) if set(w.text) <= {"."} and len(w.text) >= 1]
    assert dots, "no leader dots"
    assert min(d.x0 for d in dots) < word(pdf, "Contents").x1 + 12
    assert max(d.x1 for d in dots) > RIGHT - 20


# --- alignment, indents and spacing --------------------------------------------------------------

LONG = (
    "The practice will deliver the enhanced service to all registered patients who meet the "
    "criteria set out in this agreement, and will record each intervention in the clinical system "
    "using the codes the commissioner specifies for the purpose of payment and audit."
)


def test_centred_paragraph_is_centred_between_the_margins():
    pdf = pdf_of(p("Centred heading text", ppr='<w:jc w:val="center"/>'))
    line = (word(pdf, "Centred").x0 + word(pdf, "text").x1) / 2
    assert line == pytest.approx(PAGE_WIDTH / 2, abs=0.6)


def test_right_aligned_paragraph_ends_at_the_right_margin():
    pdf = pdf_of(p("Signed and dated", ppr='<w:jc w:val="right"/>'))
    assert word(pdf, "dated").x1 == pytest.approx(RIGHT, abs=0.6)
    assert word(pdf, "Signed").x0 > LEFT + 200


def test_justified_paragraph_fills_every_line_but_the_last():
    pdf = pdf_of(p(LONG, ppr='<w:jc w:val="both"/>'))
    lines: dict[float, list] = {}
    for w in words(pdf):
        lines.setdefault(round(w.top), []).append(w)
    ordered = [sorted(ws, key=lambda w: w.x0) for _, ws in sorted(lines.items())]
    assert len(ordered) >= 3
    for line in ordered[:-1]:
        assert line[0].x0 == pytest.approx(LEFT, abs=0.5)
        assert line[-1].x1 == pytest.approx(RIGHT, abs=0.8)
    assert ordered[-1][-1].x1 < RIGHT - 20  # the last line is not stretched


def test_left_right_first_line_and_hanging_indents():
    pdf = pdf_of(
        p("Indented " + LONG, ppr='<w:ind w:left="720" w:right="1440"/>'),
        p("Firstline " + LONG, ppr='<w:ind w:firstLine="720"/>'),
        p("Hanging " + LONG, ppr='<w:ind w:left="1440" w:hanging="720"/>'),
    )
    by_line: dict[tuple[int, str], list] = {}
    for w in words(pdf):
        by_line.setdefault(round(w.top), []).append(w)
    starts = {top: min(ws, key=lambda w: w.x0) for top, ws in by_line.items()}
    ends = {top: max(ws, key=lambda w: w.x1) for top, ws in by_line.items()}
    indented_top = round(word(pdf, "Indented").top)
    first_top = round(word(pdf, "Firstline").top)
    hanging_top = round(word(pdf, "Hanging").top)
    tops = sorted(starts)
    assert starts[indented_top].x0 == pytest.approx(LEFT + 36, abs=0.5)
    indented_lines = [t for t in tops if indented_top <= t < first_top]
    assert len(indented_lines) >= 2
    for top in indented_lines:
        assert starts[top].x0 == pytest.approx(LEFT + 36, abs=0.5)
        assert ends[top].x1 <= RIGHT - 72 + 0.5
    assert max(ends[t].x1 for t in indented_lines) > RIGHT - 72 - 40  # it does fill to its right indent
    first_lines = [t for t in tops if first_top <= t < hanging_top]
    assert starts[first_lines[0]].x0 == pytest.approx(LEFT + 36, abs=0.5)
    assert starts[first_lines[1]].x0 == pytest.approx(LEFT, abs=0.5)
    hanging_lines = [t for t in tops if t >= hanging_top]
    assert starts[hanging_lines[0]].x0 == pytest.approx(LEFT + 36, abs=0.5)
    assert starts[hanging_lines[1]].x0 == pytest.approx(LEFT + 72, abs=0.5)


def test_space_before_and_after_a_paragraph_is_added_between_lines():
    pdf = pdf_of(
        p("Alpha"),
        p("Bravo"),
        p("Charlie", ppr='<w:spacing w:before="480"/>'),  # 24 pt
        p("Delta", ppr='<w:spacing w:after="360"/>'),  # 18 pt
        p("Echo"),
    )
    tops = [word(pdf, w).top for w in ("Alpha", "Bravo", "Charlie", "Delta", "Echo")]
    line = tops[1] - tops[0]
    assert tops[2] - tops[1] == pytest.approx(line + 24, abs=0.3)
    assert tops[3] - tops[2] == pytest.approx(line, abs=0.3)
    assert tops[4] - tops[3] == pytest.approx(line + 18, abs=0.3)


def test_space_after_and_the_next_space_before_give_the_larger_of_the_two_not_their_sum():
    # As Word lays them out (LibreOffice's Word layout agrees: 12 pt after, then 24 pt before → 24 pt).
    pdf = pdf_of(
        p("Alpha"),
        p("Bravo", ppr='<w:spacing w:after="240"/>'),
        p("Charlie", ppr='<w:spacing w:before="480"/>'),
        p("Delta", ppr='<w:spacing w:after="480"/>'),
        p("Echo", ppr='<w:spacing w:before="240"/>'),
    )
    tops = [word(pdf, w).top for w in ("Alpha", "Bravo", "Charlie", "Delta", "Echo")]
    line = tops[1] - tops[0]
    assert tops[2] - tops[1] == pytest.approx(line + 24, abs=0.3)
    assert tops[4] - tops[3] == pytest.approx(line + 24, abs=0.3)


def test_space_before_is_dropped_at_the_top_of_the_page():
    pdf = pdf_of(p("Opening", ppr='<w:spacing w:before="720"/>'))
    # The first line's box starts at the top margin, whatever space it asks for above it.
    assert word(pdf, "Opening").top == pytest.approx(MARGIN, abs=1.0)


def test_exact_and_double_line_spacing():
    pdf = pdf_of(
        p("One " + LONG, ppr='<w:spacing w:line="480" w:lineRule="auto"/>'),
        p("Two " + LONG, ppr='<w:spacing w:line="400" w:lineRule="exact"/>'),
    )
    lines = sorted({round(w.top, 2) for w in words(pdf)})
    gaps = [b - a for a, b in itertools.pairwise(lines)]
    double, exact = 2 * 11 * 1.149, 20.0
    assert any(g == pytest.approx(double, abs=0.3) for g in gaps)
    assert any(g == pytest.approx(exact, abs=0.3) for g in gaps)


def test_contextual_spacing_drops_the_space_between_paragraphs_of_one_style():
    def setup(doc: WordDoc) -> None:
        doc.style('<w:style w:type="paragraph" w:styleId="Other"><w:name w:val="Other"/></w:style>')

    spaced = '<w:spacing w:after="240"/><w:contextualSpacing/>'
    pdf = pdf_of(p("One", ppr=spaced), p("Two", ppr=spaced), p("Three", style="Other"), setup=setup)
    one, two, three = word(pdf, "One"), word(pdf, "Two"), word(pdf, "Three")
    assert two.top - one.top == pytest.approx(11 * 1.149, abs=0.3)  # same style: no space
    assert three.top - two.top == pytest.approx(11 * 1.149 + 12, abs=0.3)  # other style: spaced


# --- styles ---------------------------------------------------------------------------------------


def custom_heading(doc: WordDoc) -> None:
    doc.style(
        '<w:style w:type="paragraph" w:customStyle="1" w:styleId="SchemeHeading">'
        '<w:name w:val="Scheme Heading"/><w:basedOn w:val="Heading1"/>'
        '<w:rPr><w:sz w:val="36"/></w:rPr></w:style>'
    )


def test_a_style_based_on_heading_1_keeps_its_colour_and_boldness_and_overrides_the_size():
    pdf = pdf_of(
        p("Standard", style="Heading1"),
        p("Custom", style="SchemeHeading"),
        p("Body"),
        setup=custom_heading,
    )
    standard, custom, body = shown_as(pdf, "Standard"), shown_as(pdf, "Custom"), shown_as(pdf, "Body")
    heading_blue = pytest.approx((0x36 / 255, 0x5F / 255, 0x91 / 255), abs=0.002)  # python-docx's Heading 1
    assert standard.colour == heading_blue
    assert custom.colour == heading_blue
    assert standard.size == 14  # Heading 1: 28 half points
    assert custom.size == 18  # the one property the custom style overrides
    # Bold, and in the theme's heading font (Calibri, printed as Carlito), from Heading 1.
    assert standard.font == custom.font == "Carlito-Bold"
    assert body.font == "LiberationSans" and body.size == 11 and body.colour == (0.0, 0.0, 0.0)


def test_direct_formatting_wins_over_the_paragraph_style():
    pdf = pdf_of(p(r("Override", '<w:color w:val="00A499"/><w:b w:val="0"/>'), style="Heading1"))
    shown = shown_as(pdf, "Override")
    assert shown.colour == pytest.approx((0.0, 0xA4 / 255, 0x99 / 255), abs=0.002)
    assert shown.font == "Carlito"
    assert shown.size == 14


def test_a_character_style_applies_over_the_paragraph_style():
    def setup(doc: WordDoc) -> None:
        doc.style(
            '<w:style w:type="character" w:customStyle="1" w:styleId="Emphatic"><w:name w:val="Emphatic"/>'
            '<w:rPr><w:i/><w:color w:val="DA291C"/></w:rPr></w:style>'
        )

    pdf = pdf_of(p(r("Normal "), r("Styled", '<w:rStyle w:val="Emphatic"/>')), setup=setup)
    assert shown_as(pdf, "Styled").font == "LiberationSans-Italic"
    assert shown_as(pdf, "Styled").colour == pytest.approx((0xDA / 255, 0x29 / 255, 0x1C / 255), abs=0.002)


# --- pagination -------------------------------------------------------------------------------------

LINES_ON_A_PAGE = 55  # 697.9 pt of text area / 12.64 pt lines


def test_a_page_holds_the_lines_that_fit_and_the_next_line_starts_page_2():
    pdf = pdf_of(*wm.filler(LINES_ON_A_PAGE + 1))
    assert word(pdf, str(LINES_ON_A_PAGE)).page == 0
    last = [w for w in words(pdf) if w.page == 1]
    assert [w.text for w in last] == ["Filler", "line", str(LINES_ON_A_PAGE + 1)]
    assert last[0].top == pytest.approx(MARGIN, abs=1.0)


@pytest.mark.parametrize("keep", [False, True])
def test_a_heading_that_keeps_with_next_moves_to_the_next_page_with_its_paragraph(keep):
    body = [
        *wm.filler(LINES_ON_A_PAGE - 1),
        p(r("Heading", "<w:b/>"), ppr="<w:keepNext/>" if keep else ""),
        p("Paragraph under the heading"),
    ]
    pdf = pdf_of(*body)
    assert word(pdf, "Paragraph").page == 1
    if keep:
        assert word(pdf, "Heading").page == 1
        assert word(pdf, "Heading").top == pytest.approx(MARGIN, abs=1.0)
    else:
        assert word(pdf, "Heading").page == 0  # without the keep it stays at the foot of page 1


def test_keep_with_next_from_the_heading_style():
    pdf = pdf_of(*wm.filler(LINES_ON_A_PAGE - 2), p("Titled", style="Heading1"), p("Paragraph follows"))
    assert word(pdf, "Titled").page == word(pdf, "Paragraph").page == 1


def test_page_break_before_starts_the_paragraph_on_a_new_page():
    pdf = pdf_of(p("Cover"), p("Schedule", ppr="<w:pageBreakBefore/>"), p("After"))
    assert page_texts(pdf) == ["Cover", "Schedule After"]
    assert word(pdf, "Schedule").top == pytest.approx(MARGIN, abs=1.0)


def test_page_break_before_on_the_first_paragraph_makes_no_empty_page():
    pdf = pdf_of(p("Opening", ppr="<w:pageBreakBefore/>"), p("Next"))
    assert page_texts(pdf) == ["Opening Next"]


def test_an_explicit_page_break_in_a_paragraph_moves_the_rest_to_the_next_page():
    pdf = pdf_of(p(r("Before the break"), wm.page_break(), r("After the break")), p("Following"))
    assert page_texts(pdf) == ["Before the break", "After the break Following"]
    assert word(pdf, "After").top == pytest.approx(MARGIN, abs=1.0)
    assert word(pdf, "After").x0 == pytest.approx(LEFT, abs=0.5)


def test_a_paragraph_kept_together_moves_whole_rather_than_split():
    long_paragraph = p(" ".join([LONG] * 3), ppr="<w:keepLines/>")
    pdf = pdf_of(*wm.filler(LINES_ON_A_PAGE - 4), long_paragraph)
    assert {w.page for w in words(pdf) if w.text == "practice"} == {1}
    plain = pdf_of(*wm.filler(LINES_ON_A_PAGE - 4), p(" ".join([LONG] * 3)))
    assert {w.page for w in words(plain) if w.text == "practice"} == {0, 1}


# --- borders and shading --------------------------------------------------------------------------

CALLOUT = (
    '<w:pBdr><w:top w:val="single" w:sz="24" w:space="4" w:color="005EB8"/>'
    '<w:left w:val="single" w:sz="24" w:space="4" w:color="005EB8"/>'
    '<w:bottom w:val="single" w:sz="24" w:space="4" w:color="005EB8"/>'
    '<w:right w:val="single" w:sz="24" w:space="4" w:color="005EB8"/></w:pBdr>'
    '<w:shd w:val="clear" w:color="auto" w:fill="E8EDEE"/>'
)


def test_a_call_out_box_is_shaded_and_bordered_around_its_paragraphs():
    pdf = pdf_of(
        p("Before"),
        p("Important first", ppr=CALLOUT),
        p("Important second", ppr=CALLOUT),
        p("After", ppr='<w:spacing w:before="240"/>'),
    )
    first, second = word(pdf, "first"), word(pdf, "second")
    # The shading fills behind both paragraphs and the gap between them: one box.
    assert near(dominant(pdf, first), PALE_GREY, 6)
    assert near(dominant(pdf, second), PALE_GREY, 6)
    between = (first.bottom + second.top) / 2
    assert near(colour_at(pdf, first.x1 + 20, between), PALE_GREY, 6)
    # Outside it, the page is white.
    assert near(dominant(pdf, word(pdf, "Before")), (255, 255, 255))
    assert near(dominant(pdf, word(pdf, "After")), (255, 255, 255))
    # A 3 pt blue border left of the text (in the 4 pt space) and above the first paragraph.
    y = round((first.top + first.bottom) / 2)
    left_edge = [x for x in range(40, round(LEFT)) if near(colour_at(pdf, x, y), NHS_BLUE, 40)]
    assert left_edge and min(left_edge) > LEFT - 10 and max(left_edge) < LEFT
    above = [
        t
        for t in range(round(first.top) - 12, round(first.top))
        if near(colour_at(pdf, 200, t), NHS_BLUE, 40)
    ]
    assert above
    below = [
        t
        for t in range(round(second.bottom), round(second.bottom) + 12)
        if near(colour_at(pdf, 200, t), NHS_BLUE, 40)
    ]
    assert below
    # …and no border between the two paragraphs.
    assert not near(colour_at(pdf, 200, between), NHS_BLUE, 40)


def test_a_shaded_paragraph_draws_a_filled_rectangle_in_its_colour():
    pdf = pdf_of(p("Shaded", ppr='<w:shd w:val="clear" w:color="auto" w:fill="FFB81C"/>'))
    operations = content(pdf)
    assert b" re f" in operations or b" re\nf" in operations  # a filled rectangle
    assert near(dominant(pdf, word(pdf, "Shaded")), (0xFF, 0xB8, 0x1C), 6)
    # The shading spans the text width, not just the word.
    y = round((word(pdf, "Shaded").top + word(pdf, "Shaded").bottom) / 2)
    assert near(colour_at(pdf, RIGHT - 5, y), (0xFF, 0xB8, 0x1C), 6)
    assert near(colour_at(pdf, RIGHT + 10, y), (255, 255, 255))


def test_an_empty_paragraph_still_takes_a_line():
    pdf = pdf_of(p("Above"), p(), p("Below"))
    gap = word(pdf, "Below").top - word(pdf, "Above").top
    assert gap == pytest.approx(2 * 11 * 1.149, abs=0.3)


FIVE_LINES = " ".join(["lorem"] * 64)  # five lines of the text width


def lines_per_page(pdf: bytes, value: str = "lorem") -> dict[int, int]:
    lines = {(w.page, round(w.top)) for w in words(pdf) if w.text == value}
    out: dict[int, int] = {}
    for page, _ in lines:
        out[page] = out.get(page, 0) + 1
    return out


@pytest.mark.parametrize(
    ("room", "split"),
    [(1, {1: 5}), (2, {0: 2, 1: 3}), (4, {0: 3, 1: 2}), (5, {0: 5})],
    ids=["orphan-moves", "two-and-three", "widow-pulls-a-line", "fits"],
)
def test_widow_and_orphan_control_never_leaves_one_line_of_a_paragraph_alone(room, split):
    pdf = pdf_of(*wm.filler(LINES_ON_A_PAGE - room), p(FIVE_LINES))
    assert lines_per_page(pdf) == split


def test_without_widow_control_a_single_line_may_stay_at_the_foot_of_the_page():
    pdf = pdf_of(*wm.filler(LINES_ON_A_PAGE - 1), p(FIVE_LINES, ppr='<w:widowControl w:val="0"/>'))
    assert lines_per_page(pdf) == {0: 1, 1: 4}


def test_a_chain_of_paragraphs_that_keep_with_the_next_moves_together():
    keep = "<w:keepNext/>"
    body = [*wm.filler(LINES_ON_A_PAGE - 2), p("Part", ppr=keep), p("Section", ppr=keep), p("Clause text")]
    pdf = pdf_of(*body)
    assert {word(pdf, w).page for w in ("Part", "Section", "Clause")} == {1}
    assert word(pdf, "Part").top == pytest.approx(MARGIN, abs=1.0)
