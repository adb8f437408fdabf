"""A contracts team edits the shipped Section 7 template, as it would in Word, and both formats follow.

The edits are made with python-docx on a copy of ``templates/section7.docx``: a heading
reworded, a paragraph with bold words added, a row added to a table and a new plain-text
content control. ``generate --templates`` renders from the edited copy; the PDF is written
from the edited Word document, so it changes with it, and the new control is a PDF field
whose value ``ingest`` reads back from a form filled in by pdftk.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from pypdf import PdfReader

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.context import long_date
from agreementgen.ingest import ingest
from agreementgen.records import Records
from agreementgen.simulate import practice_entries
from agreementgen.validation import load_inputs
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT, pdftk_fill

INPUTS = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
LENSFIELD = INPUTS.data.by_code()["D81001"]
OLD_HEADING = "4. Requirements and Reporting"
NEW_HEADING = "4. Reporting to the ICB"
NEW_ROW = ["Records audit", "At any time", "The ICB may audit the practice's records."]


def plain_text_control(tag: str, title: str) -> OxmlElement:
    """A plain-text content control as Word inserts one (Developer ▸ Plain Text Content Control)."""
    sdt = OxmlElement("w:sdt")
    pr = OxmlElement("w:sdtPr")
    for name, value in (("w:alias", title), ("w:tag", tag)):
        element = OxmlElement(name)
        element.set(qn("w:val"), value)
        pr.append(element)
    pr.append(OxmlElement("w:showingPlcHdr"))
    pr.append(OxmlElement("w:text"))
    content = OxmlElement("w:sdtContent")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "Click or tap to enter text."
    run.append(text)
    content.append(run)
    sdt.append(pr)
    sdt.append(content)
    return sdt


def edit_like_a_team(source: Path, target: Path) -> None:
    document = docx.Document(str(source))
    heading = next(p for p in document.paragraphs if p.text == OLD_HEADING)
    heading.runs[0].text = NEW_HEADING
    for run in heading.runs[1:]:
        run.text = ""

    added = document.add_paragraph("Practices keep ")
    added.add_run("all evidence for six years").bold = True
    added.add_run(" after the scheme ends.")
    heading._p.addnext(added._p)

    milestones = next(t for t in document.tables if t.rows[0].cells[0].text == "Milestone")
    for cell, text in zip(milestones.add_row().cells, NEW_ROW, strict=True):
        cell.text = text

    signatures = next(p for p in document.paragraphs if p.text == "{%p for s in signatories %}")
    website = signatures.insert_paragraph_before("Practice website: ")
    website._p.append(plain_text_control("practice_website", "Practice website"))
    document.save(str(target))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("edits")
    edited = base / "templates"
    edited.mkdir()
    edit_like_a_team(ROOT / "templates" / "section7.docx", edited / "section7.docx")
    out = {}
    for name, templates in (("shipped", ROOT / "templates"), ("edited", edited)):
        options = RunOptions(out_dir=base / name, templates_dir=templates, jobs=1,
                             db_url=f"sqlite:///{base / name}.db", resume=False)  # fmt: skip
        report = bulk.run(INPUTS.scheme, [LENSFIELD], options)
        assert not report.failures
        out[name] = base / name / "D81001"
    out["db"] = base / "edited.db"
    return out


def docx_text(path: Path) -> str:
    body = docx.Document(str(path)).element.body
    return " ".join("".join(t.text or "" for t in p.iter(qn("w:t"))) for p in body.iter(qn("w:p")))


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(str(path)).pages)


def test_both_outputs_change_with_the_edited_template(runs):
    for suffix in ("docx", "pdf"):
        assert (runs["edited"] / f"section7.{suffix}").read_bytes() != (
            runs["shipped"] / f"section7.{suffix}"
        ).read_bytes()
    for read, suffix in ((docx_text, "docx"), (pdf_text, "pdf")):
        before, after = (
            read(runs["shipped"] / f"section7.{suffix}"),
            read(runs["edited"] / f"section7.{suffix}"),
        )
        assert OLD_HEADING in before and NEW_HEADING not in before
        assert NEW_HEADING in after and OLD_HEADING not in after, suffix
        assert "Practices keep all evidence for six years after the scheme ends." in after, suffix
        assert " ".join(NEW_ROW[:2]) in after or all(cell in after for cell in NEW_ROW), suffix
        assert "Practice website:" in after, suffix


def test_the_bold_words_are_bold_in_the_pdf(runs):
    fonts: list[tuple[str, str]] = []
    for page in PdfReader(str(runs["edited"] / "section7.pdf")).pages:
        page.extract_text(
            visitor_text=lambda text, cm, tm, font, size: fonts.append(
                (text, str((font or {}).get("/BaseFont")))
            )
        )
    bold = [font for text, font in fonts if "all evidence for six years" in text]
    plain = [font for text, font in fonts if "Practices keep" in text]
    assert bold and plain and "Bold" in bold[0] and "Bold" not in plain[0]


def test_the_new_content_control_is_a_fillable_pdf_field(runs):
    fields = PdfReader(str(runs["edited"] / "section7.pdf")).get_fields()
    website = fields["practice_website"]
    assert website["/FT"] == "/Tx"
    assert not website.get("/Ff", 0) & 1  # not read-only: the practice fills it in
    assert "practice_website" not in PdfReader(str(runs["shipped"] / "section7.pdf")).get_fields()


def test_ingest_reads_the_new_fields_value_from_a_return_filled_by_pdftk(runs, tmp_path):
    entries = {**practice_entries(0, date.today()), "practice_website": "https://lensfield.example.nhs.uk"}
    shutil.copy(runs["edited"] / "section7.pdf", tmp_path / "issued.pdf")
    pdftk_fill(tmp_path / "issued.pdf", entries, tmp_path / "inbox" / "return.pdf")
    records = Records.open(f"sqlite:///{runs['db']}")
    (outcome,) = ingest([tmp_path / "inbox"], records).files
    late = f"signed {long_date(date.today())}, after the sign-up deadline of 31 May 2017"  # a past scheme
    assert (outcome.status, outcome.reasons) == ("accepted", (late,))
    recorded = next(r for r in records.returns_for() if r["id"] == outcome.return_id)["fields"]
    assert recorded["practice_website"] == "https://lensfield.example.nhs.uk"
