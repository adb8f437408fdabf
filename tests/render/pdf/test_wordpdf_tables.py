"""Tables: the grid's widths, cell margins, borders, shading, merged cells, and how tables meet page ends."""

from __future__ import annotations

import pytest
import wordmaker as wm
from pdfprobe import all_words, colour_at, dominant, near, page_texts, text, word, words
from wordmaker import MARGIN, PAGE_WIDTH, WordDoc, p, r, table, tc

LEFT = MARGIN
PAD = 5.4  # Word's default left and right cell margin (108 twips)
WIDTHS = [1440, 2880, 4320]  # 72, 144, 216 pt
BLACK = (0, 0, 0)
WHITE = (255, 255, 255)
LINES_ON_A_PAGE = 55


def pdf_of(*body: str) -> bytes:
    return WordDoc().add(*body).pdf()


def test_columns_take_their_widths_from_the_grid():
    pdf = pdf_of(table([["Code", "Practice", "Address"], ["A1", "Lensfield", "Cambridge"]], WIDTHS))
    for name, column in (("Code", 0), ("A1", 0), ("Practice", 1), ("Lensfield", 1), ("Address", 2)):
        assert word(pdf, name).x0 == pytest.approx(LEFT + sum(WIDTHS[:column]) / 20 + PAD, abs=0.5), name


def test_table_borders_are_drawn_on_the_grid_lines_and_a_borderless_table_has_none():
    bordered = pdf_of(table([["Code", "Practice", "Address"], ["A1", "Lensfield", "Cambridge"]], WIDTHS))
    plain = pdf_of(
        table([["Code", "Practice", "Address"], ["A1", "Lensfield", "Cambridge"]], WIDTHS, borders=False)
    )
    middle = round((word(bordered, "Code").top + word(bordered, "Code").bottom) / 2)
    for edge in (LEFT, LEFT + 72, LEFT + 216, LEFT + 432):  # every column line, the outer ones too
        assert near(colour_at(bordered, edge, middle), BLACK, 90), edge
        assert near(colour_at(plain, edge, middle), WHITE, 10), edge
    # The line between the rows runs the table's width, and not beyond it.
    between = round((word(bordered, "Code").bottom + word(bordered, "A1").top) / 2)
    line = [
        x
        for x in range(60, 520)
        if any(near(colour_at(bordered, x, y), BLACK, 90) for y in (between - 1, between, between + 1))
    ]
    assert min(line) == pytest.approx(LEFT, abs=1.5) and max(line) == pytest.approx(LEFT + 432, abs=1.5)


def test_table_cell_margins_and_a_cells_own_margin():
    body = table(
        [["Wide", tc("Own", 2880, '<w:tcMar><w:left w:w="720" w:type="dxa"/></w:tcMar>'), "Third"]],
        WIDTHS,
        tblpr='<w:tblCellMar><w:left w:w="288" w:type="dxa"/><w:right w:w="288" w:type="dxa"/>'
        "</w:tblCellMar>",
    )
    pdf = pdf_of(body)
    assert word(pdf, "Wide").x0 == pytest.approx(LEFT + 14.4, abs=0.5)  # the table's margin
    assert word(pdf, "Own").x0 == pytest.approx(LEFT + 72 + 36, abs=0.5)  # the cell's own
    assert word(pdf, "Third").x0 == pytest.approx(LEFT + 216 + 14.4, abs=0.5)


def test_cell_shading_and_a_cells_own_coloured_border():
    red = '<w:tcBorders><w:bottom w:val="single" w:sz="24" w:space="0" w:color="FF0000"/></w:tcBorders>'
    body = table(
        [
            [
                tc("Shaded", 1440, '<w:shd w:val="clear" w:color="auto" w:fill="005EB8"/>'),
                "Plain",
                tc("Red", 4320, red),
            ],
            ["Next", "row", "Under"],
        ],
        WIDTHS,
    )
    pdf = pdf_of(body)
    assert near(dominant(pdf, word(pdf, "Shaded")), (0x00, 0x5E, 0xB8), 6)
    assert near(dominant(pdf, word(pdf, "Plain")), WHITE, 6)
    # The shading fills the whole cell, out to its borders.
    shaded = word(pdf, "Shaded")
    assert near(colour_at(pdf, LEFT + 70, (shaded.top + shaded.bottom) / 2), (0x00, 0x5E, 0xB8), 10)
    # The red cell's bottom edge is red and 3 pt thick; the edge under its neighbour is the table's black.
    edge = round((word(pdf, "Red").bottom + word(pdf, "Under").top) / 2)
    reds = [y for y in range(edge - 6, edge + 6) if near(colour_at(pdf, LEFT + 300, y), (255, 0, 0), 60)]
    assert len(reds) >= 2
    assert not any(near(colour_at(pdf, LEFT + 100, y), (255, 0, 0), 60) for y in range(edge - 6, edge + 6))


def test_a_cell_spanning_two_columns_is_as_wide_as_both():
    spanning = tc(p("Spans two", ppr='<w:jc w:val="right"/>'), 4320, '<w:gridSpan w:val="2"/>')
    pdf = pdf_of(table([[spanning, "Last"], ["One", "Two", "Three"]], WIDTHS))
    assert word(pdf, "two").x1 == pytest.approx(LEFT + 216 - PAD, abs=0.6)  # right edge of column 2
    assert word(pdf, "Last").x0 == pytest.approx(LEFT + 216 + PAD, abs=0.5)  # then the third column
    # No column line through the spanning cell.
    middle = round((word(pdf, "Spans").top + word(pdf, "Spans").bottom) / 2)
    assert near(colour_at(pdf, LEFT + 72, middle), WHITE, 10)
    assert near(
        colour_at(pdf, LEFT + 72, round((word(pdf, "One").top + word(pdf, "One").bottom) / 2)), BLACK, 90
    )


def test_a_vertically_merged_cell_prints_its_text_once_across_its_rows():
    rows = [
        [tc("Merged", 1440, '<w:vMerge w:val="restart"/>'), "Row one", "A"],
        [tc("", 1440, "<w:vMerge/>"), "Row two", "B"],
        [tc("", 1440, "<w:vMerge/>"), "Row three", "C"],
        ["Own", "Row four", "D"],
    ]
    pdf = pdf_of(table(rows, WIDTHS))
    assert len(all_words(pdf, "Merged")) == 1
    assert text(pdf) == "Merged Row one A Row two B Row three C Own Row four D"
    # No row line crosses the merged cell; the row lines do cross the next column.
    between = round((word(pdf, "one").bottom + word(pdf, "two").top) / 2)
    assert not any(near(colour_at(pdf, LEFT + 36, y), BLACK, 90) for y in range(between - 2, between + 3))
    assert any(near(colour_at(pdf, LEFT + 150, y), BLACK, 90) for y in range(between - 2, between + 3))
    # …until the merge ends.
    after = round((word(pdf, "three").bottom + word(pdf, "four").top) / 2)
    assert any(near(colour_at(pdf, LEFT + 36, y), BLACK, 90) for y in range(after - 2, after + 3))


def test_a_merged_cell_taller_than_its_rows_makes_the_last_row_taller():
    tall = "".join(p(f"Line {n}") for n in range(1, 7))
    rows = [
        [tc(tall, 1440, '<w:vMerge w:val="restart"/>'), "Top"],
        [tc("", 1440, "<w:vMerge/>"), "Bottom"],
        ["After", "row"],
    ]
    pdf = pdf_of(table(rows, [1440, 2880]))
    assert word(pdf, "After").top > word(pdf, "6").bottom


def test_row_height_at_least_and_exact_and_vertical_alignment():
    rows = [
        [
            tc("Top", 1440),
            tc("Centred", 2880, '<w:vAlign w:val="center"/>'),
            tc("Bottom", 4320, '<w:vAlign w:val="bottom"/>'),
        ],
        ["Next", "x", "y"],
    ]
    pdf = pdf_of(table(rows, WIDTHS, trpr=['<w:trHeight w:val="1440" w:hRule="atLeast"/>', ""]))
    top, centred, bottom, after = (word(pdf, w) for w in ("Top", "Centred", "Bottom", "Next"))
    assert after.top - top.top == pytest.approx(72, abs=1.0)  # the first row is 72 pt tall
    assert (centred.top + centred.bottom) / 2 == pytest.approx(top.top + 36, abs=1.5)
    assert bottom.bottom == pytest.approx(top.top + 72, abs=2.5)


def test_a_centred_table_sits_in_the_middle_of_the_text_area():
    pdf = pdf_of(table([["Only"]], [2880], tblpr='<w:jc w:val="center"/>'))
    assert word(pdf, "Only").x0 == pytest.approx(PAGE_WIDTH / 2 - 72 + PAD, abs=0.6)


def test_an_indented_table_starts_at_its_indent():
    pdf = pdf_of(table([["Indented"]], [2880], tblpr='<w:tblInd w:w="720" w:type="dxa"/>'))
    assert word(pdf, "Indented").x0 == pytest.approx(LEFT + 36 + PAD, abs=0.5)


# --- tables and pages -----------------------------------------------------------------------------


def long_table(rows: int, *, header: bool = True, row_props: str = "") -> str:
    head = [["Code", "Heading"]] if header else []
    body = [[f"R{n}", f"Value {n}"] for n in range(1, rows + 1)]
    props = (["<w:tblHeader/>"] if header else []) + [row_props] * rows
    return table(head + body, [1440, 4320], trpr=props)


def test_a_header_row_is_repeated_at_the_top_of_every_page_a_long_table_runs_onto():
    pdf = pdf_of(long_table(120))
    pages = {w.page for w in words(pdf)}
    assert len(pages) >= 3
    headings = all_words(pdf, "Heading")
    assert [h.page for h in headings] == sorted(pages)
    for heading in headings:  # at the top of each page, above every data row on it
        rows_here = [w for w in words(pdf) if w.page == heading.page and w.text.startswith("R")]
        assert heading.top == pytest.approx(MARGIN, abs=1.5)
        assert all(heading.top < w.top for w in rows_here)
    # Every data row is printed exactly once, in order.
    codes = [w.text for w in words(pdf) if w.text.startswith("R") and w.text[1:].isdigit()]
    assert codes == [f"R{n}" for n in range(1, 121)]


def test_a_table_without_a_header_row_does_not_repeat_its_first_row():
    pdf = pdf_of(long_table(120, header=False))
    assert len({w.page for w in words(pdf)}) >= 3
    assert len(all_words(pdf, "R1")) == 1


def test_a_row_that_cannot_split_moves_whole_to_the_next_page():
    tall = "".join(p(f"Part {n}") for n in range(1, 7))
    body = [*wm.filler(LINES_ON_A_PAGE - 3), table([["Tall", tall]], [1440, 4320], trpr="<w:cantSplit/>")]
    pdf = pdf_of(*body)
    assert [w.page for w in all_words(pdf, "Part")] == [1] * 6
    assert word(pdf, "Tall").page == 1


def test_a_table_kept_together_moves_to_the_next_page_when_it_would_fit_there():
    kept = [[p(f"Item {n}", ppr="<w:keepNext/>"), f"Amount {n}"] for n in range(1, 11)]
    pdf = pdf_of(*wm.filler(LINES_ON_A_PAGE - 5), table(kept, [1440, 4320]))
    assert {w.page for w in words(pdf) if w.text == "Item"} == {1}
    # The same table not kept together starts on page 1 and runs over.
    loose = [[f"Item {n}", f"Amount {n}"] for n in range(1, 11)]
    pdf = pdf_of(*wm.filler(LINES_ON_A_PAGE - 5), table(loose, [1440, 4320]))
    assert {w.page for w in words(pdf) if w.text == "Item"} == {0, 1}


def test_a_heading_before_a_long_table_stays_on_its_page_with_the_tables_first_rows():
    heading = p(r("Payments", "<w:b/>"), ppr="<w:keepNext/>")
    pdf = pdf_of(*wm.filler(20), heading, long_table(120))
    payments = word(pdf, "Payments")
    assert payments.page == 0  # not pushed to a new page by the length of the table
    first_row = word(pdf, "R1")
    assert first_row.page == 0
    assert first_row.top > payments.top


def test_a_heading_at_the_foot_of_a_page_moves_with_the_tables_first_rows():
    heading = p(r("Payments", "<w:b/>"), ppr="<w:keepNext/>")
    pdf = pdf_of(*wm.filler(LINES_ON_A_PAGE - 2), heading, long_table(120))
    assert word(pdf, "Payments").page == 1
    assert word(pdf, "R1").page == 1
    assert word(pdf, "Payments").top == pytest.approx(MARGIN, abs=1.0)


def test_a_table_after_a_paragraph_follows_it_on_the_same_page():
    pdf = pdf_of(p("Introduction"), table([["Code", "Name"]], [1440, 4320]), p("Closing"))
    assert page_texts(pdf) == ["Introduction Code Name Closing"]
    assert word(pdf, "Introduction").bottom <= word(pdf, "Code").top
    assert word(pdf, "Name").bottom <= word(pdf, "Closing").top


def test_a_nested_table_is_printed_inside_its_cell():
    inner = table([["Inner", "Cell"]], [1000, 1000])
    outer = table([[tc(p("Outer") + inner, 4320), "Side"]], [4320, 2880])
    pdf = pdf_of(outer)
    assert text(pdf) == "Outer Inner Cell Side"
    assert word(pdf, "Inner").x0 > word(pdf, "Outer").x0
    assert word(pdf, "Inner").top > word(pdf, "Outer").top


# --- table styles ---------------------------------------------------------------------------------

GRID_STYLE = (
    '<w:style w:type="table" w:styleId="SchemeGrid"><w:name w:val="Scheme Grid"/>'
    '<w:tblPr><w:tblBorders><w:top w:val="single" w:sz="4" w:color="005EB8"/>'
    '<w:bottom w:val="single" w:sz="4" w:color="005EB8"/>'
    '<w:insideH w:val="single" w:sz="4" w:color="005EB8"/>'
    "</w:tblBorders></w:tblPr>"
    '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:color w:val="FFFFFF"/></w:rPr>'
    '<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="005EB8"/></w:tcPr></w:tblStylePr>'
    '<w:tblStylePr w:type="band2Horz"><w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="E8EDEE"/></w:tcPr>'
    "</w:tblStylePr></w:style>"
)


def test_a_table_styles_header_row_and_banded_rows():
    from pdfprobe import shown_as

    rows = [["Service", "Rate"], ["Phlebotomy", "£1.00"], ["Dressings", "£2.00"], ["Injections", "£3.00"]]
    body = table(
        rows, [2880, 2880], borders=False, tblpr='<w:tblStyle w:val="SchemeGrid"/><w:tblLook w:val="04A0"/>'
    )
    pdf = WordDoc().style(GRID_STYLE).add(body).pdf()
    assert shown_as(pdf, "Service").font == "LiberationSans-Bold"
    assert shown_as(pdf, "Service").colour == (1.0, 1.0, 1.0)
    assert near(dominant(pdf, word(pdf, "Service")), (0x00, 0x5E, 0xB8), 6)
    assert shown_as(pdf, "Phlebotomy").font == "LiberationSans"
    assert near(dominant(pdf, word(pdf, "Phlebotomy")), WHITE, 6)  # band 1
    assert near(dominant(pdf, word(pdf, "Dressings")), (0xE8, 0xED, 0xEE), 6)  # band 2
    assert near(dominant(pdf, word(pdf, "Injections")), WHITE, 6)
    # The style's borders: blue lines between the rows.
    between = round((word(pdf, "Phlebotomy").bottom + word(pdf, "Dressings").top) / 2)
    assert any(
        near(colour_at(pdf, LEFT + 100, y), (0x00, 0x5E, 0xB8), 60) for y in range(between - 2, between + 3)
    )


def test_tbl_look_can_switch_the_header_row_formatting_off():
    from pdfprobe import shown_as

    rows = [["Service", "Rate"], ["Phlebotomy", "£1.00"]]
    look = '<w:tblStyle w:val="SchemeGrid"/><w:tblLook w:firstRow="0" w:noHBand="1"/>'
    pdf = WordDoc().style(GRID_STYLE).add(table(rows, [2880, 2880], borders=False, tblpr=look)).pdf()
    assert shown_as(pdf, "Service").font == "LiberationSans"
    assert near(dominant(pdf, word(pdf, "Service")), WHITE, 6)
