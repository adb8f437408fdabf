"""Fonts: Word's fonts print in the shipped metric-compatible fonts, embedded as subsets; any character
prints or is reported; the file is well formed."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import wordmaker as wm
from pdfprobe import base_fonts, reader, shown_as, text, word
from wordmaker import WordDoc, p, r

from agreementgen.errors import RenderError
from agreementgen.render.pdf.story import analyse
from conftest import require

SUBSET = re.compile(r"^[A-Z]{6}\+")


def font(name: str) -> str:
    return f'<w:rFonts w:ascii="{name}" w:hAnsi="{name}" w:cs="{name}"/>'


@pytest.mark.parametrize(
    ("word_font", "printed"),
    [
        ("Arial", "LiberationSans"),
        ("Helvetica", "LiberationSans"),
        ("Calibri", "Carlito"),
        ("Times New Roman", "LiberationSerif"),
        ("Cambria", "LiberationSerif"),
        ("Courier New", "LiberationMono"),
        ("Consolas", "LiberationMono"),
    ],
)
def test_word_fonts_print_in_their_metric_compatible_embedded_fonts(word_font, printed):
    pdf = WordDoc().add(p(r("Sample", font(word_font)), r(" bold", font(word_font) + "<w:b/>"))).pdf()
    assert shown_as(pdf, "Sample").font == printed
    assert shown_as(pdf, "bold").font == printed + "-Bold"
    names = base_fonts(pdf)
    for name in (printed, printed + "-Bold"):
        assert any(SUBSET.match(n) and n.split("+")[1] == name for n in names), names


def test_every_text_font_is_an_embedded_truetype_subset():
    body = [
        p(r("Sans", font("Arial"))),
        p(r("Carlito", font("Calibri"))),
        p(r("Serif", font("Times New Roman"))),
    ]
    pdf = WordDoc().add(*body).pdf()
    seen = set()
    for page in reader(pdf).pages:
        for value in page["/Resources"]["/Font"].values():
            definition = value.get_object()
            if definition["/Subtype"] != "/TrueType":
                continue
            assert "/FontFile2" in definition["/FontDescriptor"]
            assert "/ToUnicode" in definition  # text can be copied and searched
            assert SUBSET.match(str(definition["/BaseFont"]).lstrip("/"))
            seen.add(str(definition["/BaseFont"]).split("+")[1])
    assert seen == {"LiberationSans", "Carlito", "LiberationSerif"}


def test_a_calibri_line_is_set_with_calibris_widths():
    # Carlito has Calibri's widths: the same text is narrower than in Arial.
    pdf = (
        WordDoc()
        .add(p(r("Measured words here", font("Calibri"))), p(r("Measured words here", font("Arial"))))
        .pdf()
    )
    from pdfprobe import all_words

    calibri, arial = all_words(pdf, "here")
    assert calibri.x1 < arial.x1 - 5


def test_theme_fonts_resolve_through_the_theme():
    # python-docx's theme: major (headings) Calibri, minor (body) Cambria.
    minor = '<w:rFonts w:asciiTheme="minorHAnsi" w:hAnsiTheme="minorHAnsi"/>'
    major = '<w:rFonts w:asciiTheme="majorHAnsi" w:hAnsiTheme="majorHAnsi"/>'
    pdf = WordDoc().add(p(r("Minor", minor)), p(r("Major", major))).pdf()
    assert shown_as(pdf, "Minor").font == "LiberationSerif"
    assert shown_as(pdf, "Major").font == "Carlito"


def test_italic_monospace_prints_upright_as_documented():
    pdf = WordDoc().add(p(r("Code", font("Courier New") + "<w:i/>"))).pdf()
    assert shown_as(pdf, "Code").font == "LiberationMono"


def test_an_unknown_font_prints_in_liberation_sans_and_is_noted():
    doc = WordDoc().add(p(r("Unusual", font("Comic Sans MS"))))
    assert shown_as(doc.pdf(), "Unusual").font == "LiberationSans"
    assert [n.what for n in analyse(doc.package()).notes] == [
        "the font 'Comic Sans MS' is printed as Liberation Sans"
    ]


@pytest.mark.parametrize(
    "value",
    ["Ŵyn Ŷstrad", "Siân Llŷr", "€1,250.00", "£2,000 – “quoted” — dash", "Œuvre Ā Ł Ż Ω"],
    ids=["welsh-capitals", "welsh", "euro", "punctuation", "latin-extended-and-greek"],
)
def test_characters_beyond_latin_1_that_the_fonts_have_print(value):
    pdf = WordDoc().add(p(f"Name: {value}")).pdf()
    assert text(pdf) == f"Name: {value}"
    for piece in value.split():
        assert word(pdf, piece).text == piece  # poppler reads it back too


def test_a_character_no_shipped_font_has_is_refused_with_a_clear_error_not_dropped():
    doc = WordDoc().add(p("Smile 😀 end"), p("Chinese 中文 end"))
    with pytest.raises(RenderError) as raised:
        doc.pdf()
    message = str(raised.value)
    assert "characters no shipped font can print: 😀 (U+1F600)" in message
    assert "中 (U+4E2D), 文 (U+6587)" in message


def test_a_character_no_shipped_font_has_is_reported_by_check_template_with_where_it_is():
    doc = WordDoc().add(p("Smile 😀 end"))
    found = analyse(doc.package())
    assert [(u.what, u.near) for u in found.unsupported] == [
        ("characters no shipped font can print: 😀 (U+1F600)", "Smile 😀 end")
    ]


def test_the_pdf_passes_qpdf_check():
    qpdf = require("qpdf")
    doc = WordDoc().header(p("Header Ŵ €")).footer(p("Page ", wm.field("PAGE"), " of ", wm.field("NUMPAGES")))
    doc.add(
        p(r("Bold", "<w:b/>"), r(" Calibri", font("Calibri")), r(" Times", font("Times New Roman"))),
        wm.table([["Cell", "Siân Ŵyn"]], [2000, 3000]),
        p("Lead: ", wm.sdt("Name", tag="lead", pr="<w:text/>")),
        *wm.filler(60),
    )
    doc.picture(wm.png(), width_pt=72)
    from agreementgen.render.pdf import DocumentInfo

    pdf = doc.pdf(info=DocumentInfo(doc_id="s:v1:A00001:section7", title="Agreement – Ŵyn"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "check.pdf"
        path.write_bytes(pdf)
        result = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr
