"""Identity: the document id in the metadata, in a hidden read-only field on page 1, and in a QR code
on every page."""

from __future__ import annotations

import re
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import pytest
import wordmaker as wm
from pdfprobe import fields, reader, widget, widgets
from pypdf.generic import ContentStream
from wordmaker import A4_TWIPS, PAGE_HEIGHT, PAGE_WIDTH, WordDoc, p

from agreementgen.render.pdf import DOC_ID_FIELD, DocumentInfo
from conftest import require

DOC_ID = "s:v1:A00001:section7"
INFO = DocumentInfo(doc_id=DOC_ID, title="T", subject="Section 7", author="ICB", keywords=("a", "b"))
MM = 72 / 25.4
HIDDEN = 2


@cache
def three_pages() -> bytes:
    doc = WordDoc().add(*wm.filler(50)).section_break()
    doc.page(width=A4_TWIPS[1], height=A4_TWIPS[0], orient="landscape").add(
        p("Landscape page", wm.page_break(), "Last")
    )
    return doc.pdf(info=INFO)


def qr_placements(pdf: bytes, page: int) -> list[tuple[float, float, float]]:
    """Where a page draws a form whose box is QR-sized: (x, y, size) from the page's own content."""
    read = reader(pdf)
    resources = read.pages[page]["/Resources"]
    out = []
    matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    stack = []
    for operands, operator in ContentStream(read.pages[page].get_contents(), read).operations:
        if operator == b"q":
            stack.append(matrix)
        elif operator == b"Q":
            matrix = stack.pop()
        elif operator == b"cm":
            a, b, c, d, e, f = (float(v) for v in operands)
            ma, mb, mc, md, me, mf = matrix
            matrix = (a * ma + b * mc, a * mb + b * md, c * ma + d * mc, c * mb + d * md,
                      e * ma + f * mc + me, e * mb + f * md + mf)  # fmt: skip
        elif operator == b"Do":
            xobject = resources["/XObject"][operands[0]].get_object()
            box = [float(v) for v in xobject["/BBox"]]
            if xobject.get("/Subtype") == "/Form" and box[2] - box[0] < 60:
                out.append((matrix[4], matrix[5], box[2] - box[0]))
    return out


def test_the_metadata_carries_the_title_and_the_document_id():
    metadata = reader(three_pages()).metadata
    assert metadata["/Title"] == "T"
    assert metadata["/Subject"] == "Section 7"
    assert metadata["/Author"] == "ICB"
    assert metadata["/AgreementgenDocumentId"] == DOC_ID


def test_custom_metadata_keys_are_written():
    info = DocumentInfo(doc_id=DOC_ID, title="T", custom=(("AgreementgenDigest", "0123abcd"),))
    metadata = reader(WordDoc().add(p("Body")).pdf(info=info)).metadata
    assert metadata["/AgreementgenDigest"] == "0123abcd"


def test_a_hidden_read_only_doc_id_field_is_on_page_1_only():
    pdf = three_pages()
    assert DOC_ID_FIELD == "doc_id"
    field = fields(pdf)["doc_id"]
    assert field["/V"] == DOC_ID
    assert field["/FT"] == "/Tx"
    assert int(field["/Ff"]) & 1  # read-only
    page, annotation = widget(pdf, "doc_id")
    assert page == 0
    assert int(annotation["/F"]) & HIDDEN
    assert [name for name, _, _ in widgets(pdf)].count("doc_id") == 1


def test_a_qr_code_is_drawn_on_every_page_15_mm_square_3_mm_from_the_bottom_right_corner():
    pdf = three_pages()
    read = reader(pdf)
    assert len(read.pages) == 3
    for number, page in enumerate(read.pages):
        width = float(page.mediabox.width)
        (placement,) = qr_placements(pdf, number)
        x, y, size = placement
        assert size == pytest.approx(15 * MM, abs=0.01)
        assert x + size == pytest.approx(width - 3 * MM, abs=0.01)
        assert y == pytest.approx(3 * MM, abs=0.01)
    # The one code, drawn once and used on every page.
    assert len(re.findall(rb"/BBox \[ *0 0 42\.5", pdf)) == 1


def test_a_scanner_reads_the_document_id_from_every_printed_page():
    zbarimg, pdftoppm = require("zbarimg"), require("pdftoppm")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(three_pages())
        subprocess.run(
            [pdftoppm, "-png", "-gray", "-r", "150", str(path), str(Path(folder) / "p")], check=True
        )
        images = sorted(Path(folder).glob("p*.png"))
        assert len(images) == 3
        for image in images:
            read = subprocess.run([zbarimg, "-q", "--raw", str(image)], capture_output=True, text=True)
            assert read.stdout.strip() == DOC_ID, image.name


def test_the_qr_code_sits_in_the_corner_of_the_rendered_page():
    from pdfprobe import pixels

    pdf = WordDoc().add(p("Body")).pdf(info=INFO)
    image = pixels(pdf, 0).convert("L").point(lambda v: 255 if v < 128 else 0)
    # Everything dark in the bottom 60 pt is the QR code (there is no footer).
    corner = image.crop((0, round(PAGE_HEIGHT) - 60, round(PAGE_WIDTH), round(PAGE_HEIGHT)))
    left, top, right, bottom = corner.getbbox()
    top, bottom = top + round(PAGE_HEIGHT) - 60, bottom + round(PAGE_HEIGHT) - 60
    # Inside the 15 mm square (less its 2-module quiet zone), 3 mm in from the edges.
    assert left >= PAGE_WIDTH - 18 * MM - 1 and right <= PAGE_WIDTH - 3 * MM + 1
    assert top >= PAGE_HEIGHT - 18 * MM - 1 and bottom <= PAGE_HEIGHT - 3 * MM + 1
    assert right - left > 12 * MM


def test_without_document_info_there_is_no_id_field_and_no_qr_code():
    pdf = WordDoc().add(p("Body")).pdf()
    assert "doc_id" not in fields(pdf)
    assert qr_placements(pdf, 0) == []
