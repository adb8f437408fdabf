"""Lists: labels counted from ``numbering.xml`` as Word counts them, and placed on the level's indents."""

from __future__ import annotations

import pytest
from pdfprobe import shown_as, text, word, words
from wordmaker import MARGIN, WordDoc, p

LEFT = MARGIN


def level(ilvl: int, fmt: str, label: str, *, left: int, start: int = 1, font: str = "") -> str:
    run = f'<w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:hint="default"/></w:rPr>' if font else ""
    return (
        f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{start}"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{label}"/><w:lvlJc w:val="left"/>'
        f'<w:pPr><w:ind w:left="{left}" w:hanging="360"/></w:pPr>{run}</w:lvl>'
    )


CLAUSES = (  # abstract 1: 1. / a. / i.
    '<w:abstractNum w:abstractNumId="1"><w:multiLevelType w:val="multilevel"/>'
    + level(0, "decimal", "%1.", left=720)
    + level(1, "lowerLetter", "%2.", left=1440)
    + level(2, "lowerRoman", "%3.", left=2160)
    + "</w:abstractNum>"
)
BULLETS = (  # abstract 2: Word's Symbol-font bullet, then an open circle
    '<w:abstractNum w:abstractNumId="2"><w:multiLevelType w:val="hybridMultilevel"/>'
    + level(0, "bullet", "\uf0b7", left=720, font="Symbol")
    + level(1, "bullet", "o", left=1440, font="Courier New")
    + "</w:abstractNum>"
)
LEGAL = (  # abstract 3: 1. / 1.1. / 1.1.1.
    '<w:abstractNum w:abstractNumId="3"><w:multiLevelType w:val="multilevel"/>'
    + level(0, "decimal", "%1.", left=360)
    + level(1, "decimal", "%1.%2.", left=1080)
    + level(2, "decimal", "%1.%2.%3.", left=1800)
    + "</w:abstractNum>"
)
OTHERS = (  # abstract 4: A. / IV. (starting at 4)
    '<w:abstractNum w:abstractNumId="4"><w:multiLevelType w:val="multilevel"/>'
    + level(0, "upperLetter", "%1.", left=720)
    + level(1, "upperRoman", "%2)", left=1440, start=4)
    + "</w:abstractNum>"
)
NUMS = (
    '<w:num w:numId="1"><w:abstractNumId w:val="1"/></w:num>'
    '<w:num w:numId="2"><w:abstractNumId w:val="2"/></w:num>'
    '<w:num w:numId="3"><w:abstractNumId w:val="3"/></w:num>'
    '<w:num w:numId="4"><w:abstractNumId w:val="4"/></w:num>'
    # Word's "Restart at 1": a new instance of list 1 with a start override
    '<w:num w:numId="5"><w:abstractNumId w:val="1"/>'
    '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
)


def item(words_: str, num: int, ilvl: int = 0, ppr: str = "") -> str:
    return p(words_, ppr=f'<w:numPr><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num}"/></w:numPr>{ppr}')


def pdf_of(*body: str, setup=None) -> bytes:
    doc = WordDoc().numbering(CLAUSES + BULLETS + LEGAL + OTHERS + NUMS)
    if setup is not None:
        setup(doc)
    return doc.add(*body).pdf()


def labels(pdf: bytes, names: list[str]) -> list[str]:
    """The word printed just left of each of ``names`` (on its line): its label."""
    out = []
    for name in names:
        target = word(pdf, name)
        before = [
            w
            for w in words(pdf)
            if w.page == target.page and abs(w.top - target.top) < 2 and w.x1 <= target.x0
        ]
        out.append(max(before, key=lambda w: w.x1).text if before else "")
    return out


def test_a_numbered_list_prints_1_2_3_before_its_items_in_order():
    pdf = pdf_of(item("Apples", 1), item("Bananas", 1), item("Cherries", 1))
    assert labels(pdf, ["Apples", "Bananas", "Cherries"]) == ["1.", "2.", "3."]
    assert text(pdf) == "1. Apples 2. Bananas 3. Cherries"


def test_the_label_hangs_at_the_level_indent_and_the_text_starts_at_the_left_indent():
    pdf = pdf_of(item("Apples", 1), item("Nested", 1, 1))
    assert word(pdf, "1.").x0 == pytest.approx(LEFT + 18, abs=0.5)  # left 36 pt, hanging 18 pt
    assert word(pdf, "Apples").x0 == pytest.approx(LEFT + 36, abs=0.5)
    assert word(pdf, "a.").x0 == pytest.approx(LEFT + 54, abs=0.5)
    assert word(pdf, "Nested").x0 == pytest.approx(LEFT + 72, abs=0.5)


def test_a_wrapped_list_item_continues_under_its_text_not_under_its_label():
    long_text = "Wrapping " + " ".join(["word"] * 120)
    pdf = pdf_of(item(long_text, 1))
    lines = sorted({round(w.top) for w in words(pdf)})
    assert len(lines) >= 3
    for top in lines[1:]:
        first = min((w for w in words(pdf) if round(w.top) == top), key=lambda w: w.x0)
        assert first.x0 == pytest.approx(LEFT + 36, abs=0.5)


def test_multi_level_labels_count_per_level_and_restart_under_a_new_parent():
    pdf = pdf_of(
        item("Alpha", 1),
        item("Bravo", 1, 1),
        item("Charlie", 1, 1),
        item("Delta", 1, 2),
        item("Echo", 1, 2),
        item("Foxtrot", 1),
        item("Golf", 1, 1),
        item("Hotel", 1, 2),
    )
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"]
    assert labels(pdf, names) == ["1.", "a.", "b.", "i.", "ii.", "2.", "a.", "i."]


def test_numbering_continues_across_other_paragraphs_and_restarts_with_a_new_list():
    pdf = pdf_of(
        item("Alpha", 1),
        item("Bravo", 1),
        p("An ordinary paragraph between the items."),
        item("Charlie", 1),
        p("Another list:"),
        item("Delta", 5),
        item("Echo", 5),
    )
    assert labels(pdf, ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]) == ["1.", "2.", "3.", "1.", "2."]


def test_legal_numbering_joins_the_levels_labels():
    pdf = pdf_of(
        item("Definitions", 3),
        item("Agreement", 3, 1),
        item("Services", 3, 1),
        item("Hours", 3, 2),
        item("Payment", 3),
        item("Claims", 3, 1),
    )
    names = ["Definitions", "Agreement", "Services", "Hours", "Payment", "Claims"]
    assert labels(pdf, names) == ["1.", "1.1.", "1.2.", "1.2.1.", "2.", "2.1."]


def test_upper_letter_and_upper_roman_formats_and_a_level_start_value():
    pdf = pdf_of(item("First", 4), item("Fourth", 4, 1), item("Fifth", 4, 1), item("Second", 4))
    assert labels(pdf, ["First", "Fourth", "Fifth", "Second"]) == ["A.", "IV)", "V)", "B."]


def test_bullets_print_as_bullets_whatever_symbol_font_word_used():
    pdf = pdf_of(item("Tea", 2), item("Coffee", 2), item("Decaf", 2, 1))
    assert labels(pdf, ["Tea", "Coffee"]) == ["•", "•"]
    assert "\uf0b7" not in text(pdf)  # the Symbol font's private code is not printed
    assert labels(pdf, ["Decaf"]) == ["o"]
    assert shown_as(pdf, "o", exact=True).font == "LiberationMono"  # the level's own font (Courier New)


def test_a_list_paragraph_style_with_numbering_numbers_its_paragraphs():
    def setup(doc: WordDoc) -> None:
        doc.style(
            '<w:style w:type="paragraph" w:customStyle="1" w:styleId="Clause"><w:name w:val="Clause"/>'
            '<w:pPr><w:numPr><w:numId w:val="3"/></w:numPr></w:pPr></w:style>'
        )

    pdf = pdf_of(p("Parties", style="Clause"), p("Term", style="Clause"), setup=setup)
    assert labels(pdf, ["Parties", "Term"]) == ["1.", "2."]


def test_num_id_0_switches_numbering_off():
    def setup(doc: WordDoc) -> None:
        doc.style(
            '<w:style w:type="paragraph" w:customStyle="1" w:styleId="Clause"><w:name w:val="Clause"/>'
            '<w:pPr><w:numPr><w:numId w:val="3"/></w:numPr></w:pPr></w:style>'
        )

    pdf = pdf_of(
        p("Parties", style="Clause"),
        p("Unnumbered", style="Clause", ppr='<w:numPr><w:numId w:val="0"/></w:numPr>'),
        p("Term", style="Clause"),
        setup=setup,
    )
    assert text(pdf) == "1. Parties Unnumbered 2. Term"


def test_labels_continue_in_table_cells_in_document_order():
    from wordmaker import table

    pdf = pdf_of(
        item("Before", 1),
        table([[item("Inside", 1), "Cell"]], [3000, 3000]),
        item("After", 1),
    )
    assert labels(pdf, ["Before", "Inside", "After"]) == ["1.", "2.", "3."]


def test_a_right_aligned_label_ends_at_the_number_position():
    abstract = (
        '<w:abstractNum w:abstractNumId="9"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="lowerRoman"/><w:lvlText w:val="(%1)"/><w:lvlJc w:val="right"/>'
        '<w:pPr><w:ind w:left="1440" w:hanging="720"/></w:pPr></w:lvl></w:abstractNum>'
        '<w:num w:numId="9"><w:abstractNumId w:val="9"/></w:num>'
    )

    def setup(doc: WordDoc) -> None:
        doc.numbering(CLAUSES + abstract + NUMS.replace("</w:num>", "</w:num>", 1))

    doc = WordDoc()
    setup(doc)
    pdf = doc.add(*[item(f"Item{n}", 9) for n in range(1, 5)]).pdf()
    for label in ("(i)", "(ii)", "(iii)", "(iv)"):
        assert word(pdf, label).x1 == pytest.approx(LEFT + 36, abs=0.6), label  # left 72 − hanging 36
    for n in range(1, 5):
        assert word(pdf, f"Item{n}").x0 == pytest.approx(LEFT + 72, abs=0.5)


def test_a_label_followed_by_a_space_runs_into_its_text():
    abstract = (
        '<w:abstractNum w:abstractNumId="9"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="decimal"/><w:suff w:val="space"/><w:lvlText w:val="Article %1"/>'
        '<w:pPr><w:ind w:left="0" w:firstLine="0"/></w:pPr></w:lvl></w:abstractNum>'
        '<w:num w:numId="9"><w:abstractNumId w:val="9"/></w:num>'
    )
    doc = WordDoc().numbering(abstract)
    pdf = doc.add(item("Definitions", 9), item("Term", 9)).pdf()
    assert text(pdf) == "Article 1 Definitions Article 2 Term"
    assert word(pdf, "Definitions").x0 == pytest.approx(word(pdf, "1").x1 + 3.06, abs=0.6)  # one space
