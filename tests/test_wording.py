"""What was signed is what was issued, word for word; revisions; a document's history.

Packs come from the real bulk run; returns are filled in pdftk (an independent filler) or edited
as a practice would edit them (python-docx's XML, pypdf, pdftk ``cat``), then ingested and
recorded in real databases (SQLite and PostgreSQL where the database matters).
"""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText
from pypdf.generic import DecodedStreamObject, NameObject
from typer.testing import CliRunner

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.cli import app
from agreementgen.ingest import ingest
from agreementgen.records import Records
from agreementgen.render.pdf import WordPackage, write_pdf
from agreementgen.render.pdf.page import DocumentInfo
from agreementgen.simulate import fill_docx, practice_entries
from agreementgen.validation import load_inputs
from agreementgen.wording import Wording, differences, docx_words, pdf_marks_of, pdf_page_marks
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT, pdftk_fill, require

INPUTS = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
BY_CODE = INPUTS.data.by_code()
CODE = "D81001"
DOC_ID = f"cpccg-qef-2017-18:v1:{CODE}:section7"
ENTRIES = practice_entries(0, date.today())
# The shipped QEF spec is a past year replayed today: a return signed today is late, and accepted
# with this note (its rules say `late: accept`).
LATE = f"signed {date.today().day} {date.today():%B %Y}, after the sign-up deadline of 31 May 2017"
TERMINATION = "6. Variations, Dispute Resolution & Termination › Termination"


def issue(base: Path, practices: list, reissue: str | None = None, db: str | None = None) -> Records:
    url = db or f"sqlite:///{base / 'records.db'}"
    options = RunOptions(out_dir=base / "packs", templates_dir=ROOT / "templates", jobs=1, db_url=url,
                         reissue=reissue)  # fmt: skip
    report = bulk.run(INPUTS.scheme, practices, options)
    assert not report.failures, report.failures
    return Records.open(url)


@pytest.fixture
def issued(tmp_path: Path) -> Records:
    return issue(tmp_path, [BY_CODE[CODE]])


def ingest_one(records: Records, tmp_path: Path, name: str, data: bytes):
    folder = tmp_path / f"in-{name}"
    folder.mkdir()
    (folder / name).write_bytes(data)
    report = ingest([folder], records)
    assert len(report.files) == 1
    return report.files[0]


def filled_pdf(tmp_path: Path, source: Path | None = None) -> Path:
    source = source or tmp_path / "packs" / CODE / "section7.pdf"
    return pdftk_fill(source, ENTRIES, tmp_path / "filled" / f"{source.stem}-{source.parent.name}.pdf")


def replace_in_docx(docx: bytes, old: str, new: str) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                assert old.encode() in data, f"{old!r} is not in one run of the document"
                data = data.replace(old.encode(), new.encode(), 1)
            target.writestr(item, data)
    return out.getvalue()


# --- the wording kept with each issued revision ---------------------------------------------------


def test_the_register_keeps_the_words_clauses_and_pages_of_what_was_issued(issued: Records):
    doc = issued.issued_document(DOC_ID)
    assert doc is not None
    wording = Wording.loads(doc.wording)
    assert wording is not None and len(wording.words) > 1000
    assert "month's" in wording.words and "Parties" in wording.words
    start = wording.words.index("month's")
    assert wording.clause_at(start) == TERMINATION
    assert wording.clauses[0][1] == "1. Background & Context"
    assert len(wording.pages) == len(PdfReader(io.BytesIO(_issued_pdf(issued))).pages)
    assert any("practice_signature" in page.fields for page in wording.pages)


def _issued_pdf(records: Records) -> bytes:
    doc = records.issued_document(DOC_ID)
    assert doc is not None
    pdf = next(f for f in doc.files if f.format == "pdf")
    base = Path(str(records.engine.url.database)).parent
    return (base / "packs" / pdf.path).read_bytes()


def test_the_fast_page_reading_of_an_issued_pdf_agrees_with_pypdf(issued: Records):
    data = _issued_pdf(issued)
    assert pdf_marks_of(data) == pdf_page_marks(PdfReader(io.BytesIO(data)))


def words(sentence: str) -> list[str]:
    return sentence.split()


def test_a_changed_clause_reads_as_a_short_diff_of_that_clause():
    issued = "6. Termination Either party may end it on one month's notice"
    wording = Wording(words=words(issued), clauses=[(0, "6. Termination")])
    returned = words("6. Termination Either party may end it on twelve months' notice")
    assert differences(wording, returned) == ["6. Termination: 'one month's' → 'twelve months''"]
    assert differences(wording, wording.words) == []
    added = [*wording.words[:4], "not", *wording.words[4:]]
    assert differences(wording, added) == ["6. Termination: 'not' added after 'Termination Either party'"]


# --- Word returns -----------------------------------------------------------------------------------


def test_a_word_return_as_issued_is_accepted(issued: Records, tmp_path: Path):
    docx = fill_docx((tmp_path / "packs" / CODE / "section7.docx").read_bytes(), ENTRIES)
    outcome = ingest_one(issued, tmp_path, "signed.docx", docx)
    assert (outcome.status, outcome.reasons) == ("accepted", (LATE,))


def test_a_word_return_whose_termination_clause_was_changed_is_flagged_with_the_clause(
    issued: Records, tmp_path: Path
):
    docx = fill_docx((tmp_path / "packs" / CODE / "section7.docx").read_bytes(), ENTRIES)
    changed = replace_in_docx(docx, "one month's", "twelve months'")
    outcome = ingest_one(issued, tmp_path, "signed.docx", changed)
    assert outcome.status == "flagged"
    assert f"wording changed: {TERMINATION}: 'one month's' → 'twelve months''" in outcome.reasons


def test_the_practices_own_entries_are_not_wording(issued: Records):
    doc = issued.issued_document(DOC_ID)
    assert doc is not None
    wording = Wording.loads(doc.wording)
    assert wording is not None
    pack = Path(str(issued.engine.url.database)).parent / "packs" / CODE / "section7.docx"
    body = zipfile.ZipFile(io.BytesIO(fill_docx(pack.read_bytes(), ENTRIES))).read("word/document.xml")
    assert docx_words(body) == wording.words  # typed names and dates are left out, as fields


# --- PDF returns ------------------------------------------------------------------------------------


def test_a_pdf_filled_in_pdftk_keeps_its_pages_and_is_accepted(issued: Records, tmp_path: Path):
    filled = filled_pdf(tmp_path).read_bytes()
    doc = issued.issued_document(DOC_ID)
    assert doc is not None and Wording.loads(doc.wording) is not None
    assert [m.digest for m in pdf_page_marks(PdfReader(io.BytesIO(filled)))] == [
        p.digest
        for p in Wording.loads(doc.wording).pages  # type: ignore[union-attr]
    ]
    outcome = ingest_one(issued, tmp_path, "signed.pdf", filled)
    assert (outcome.status, outcome.reasons) == ("accepted", (LATE,))


def test_a_pdf_made_from_an_edited_word_document_is_compared_word_by_word(issued: Records, tmp_path: Path):
    issued_docx = fill_docx((tmp_path / "packs" / CODE / "section7.docx").read_bytes(), {})  # re-serialised
    docx = replace_in_docx(issued_docx, "one month's", "twelve months'")
    parts = {
        i.filename: zipfile.ZipFile(io.BytesIO(docx)).read(i)
        for i in zipfile.ZipFile(io.BytesIO(docx)).infolist()
    }
    info = DocumentInfo(doc_id=DOC_ID, title="edited", custom=(("AgreementgenRevision", "1"),))
    edited = write_pdf(WordPackage(parts, label="edited.docx"), info)
    source = tmp_path / "edited.pdf"
    source.write_bytes(edited)
    outcome = ingest_one(issued, tmp_path, "signed.pdf", filled_pdf(tmp_path, source).read_bytes())
    assert outcome.status == "flagged"
    assert f"wording changed: {TERMINATION}: 'one month's' → 'twelve months''" in outcome.reasons


def test_a_locked_amount_that_shows_another_figure_is_flagged(issued: Records, tmp_path: Path):
    writer = PdfWriter(clone_from=filled_pdf(tmp_path))
    for page in writer.pages:
        for ref in page.get("/Annots") or []:
            widget = ref.get_object()
            owner = widget.get("/Parent").get_object() if "/Parent" in widget else widget
            if owner.get("/T") == "term_total":
                shows = DecodedStreamObject()
                shows.set_data(b"BT /Helv 9 Tf 0 2 Td (\xa399,999.00) Tj ET")
                shows.update({NameObject("/Type"): NameObject("/XObject"),
                              NameObject("/Subtype"): NameObject("/Form")})  # fmt: skip
                widget["/AP"][NameObject("/N")] = writer._add_object(shows)
    tampered = io.BytesIO()
    writer.write(tampered)
    outcome = ingest_one(issued, tmp_path, "signed.pdf", tampered.getvalue())
    assert outcome.status == "flagged"
    assert any(
        re.search(r"the locked field term_total shows '£99,999.00', but its issued value is '£[0-9,.]+'", r)
        for r in outcome.reasons
    ), outcome.reasons


def test_a_text_box_laid_over_the_page_is_flagged(issued: Records, tmp_path: Path):
    writer = PdfWriter(clone_from=filled_pdf(tmp_path))
    writer.add_annotation(0, FreeText(text="£99,999.00", rect=(300, 600, 400, 620)))
    out = io.BytesIO()
    writer.write(out)
    outcome = ingest_one(issued, tmp_path, "signed.pdf", out.getvalue())
    assert outcome.status == "flagged"
    assert "page 1: FreeText annotation added over the page; check what it shows" in outcome.reasons


def test_the_signature_page_alone_is_matched_and_judged_by_what_that_page_carries(
    issued: Records, tmp_path: Path
):
    filled = filled_pdf(tmp_path)
    pages = PdfReader(filled).pages
    number = next(n for n, p in enumerate(pages, start=1) if any(
        a.get_object().get("/T") == "practice_signatory_name" for a in p.get("/Annots") or []))  # fmt: skip
    alone = tmp_path / "signature-page.pdf"
    subprocess.run([require("pdftk"), str(filled), "cat", str(number), "output", str(alone)], check=True)
    outcome = ingest_one(issued, tmp_path, "signature-page.pdf", alone.read_bytes())
    assert outcome.doc_id == DOC_ID
    assert outcome.status == "accepted", outcome.reasons
    assert outcome.reasons == (
        f"returned in part: page {number} of {len(pages)}, as issued; judged by what those pages carry",
        LATE,
    )
    unsigned = tmp_path / "unsigned-page.pdf"
    source = tmp_path / "packs" / CODE / "section7.pdf"
    subprocess.run([require("pdftk"), str(source), "cat", str(number), "output", str(unsigned)], check=True)
    blank = ingest_one(issued, tmp_path, "unsigned-page.pdf", unsigned.read_bytes())
    assert blank.status == "flagged" and any(r.startswith("required entries missing") for r in blank.reasons)
    first = tmp_path / "first-page.pdf"
    subprocess.run([require("pdftk"), str(filled), "cat", "1", "output", str(first)], check=True)
    terms_only = ingest_one(issued, tmp_path, "first-page.pdf", first.read_bytes())
    assert terms_only.status == "flagged"
    assert any(r.startswith("required entries missing: lead_") for r in terms_only.reasons), (
        terms_only.reasons
    )


# --- revisions ---------------------------------------------------------------------------------------


def test_a_return_of_a_superseded_revision_is_judged_against_it_and_flagged(db_url: str, tmp_path: Path):
    issue(tmp_path, [BY_CODE[CODE]], db=db_url)
    first = filled_pdf(tmp_path).read_bytes()
    bigger = dataclasses.replace(BY_CODE[CODE], list_size=BY_CODE[CODE].list_size + 100)
    records = issue(tmp_path, [bigger], reissue="list size corrected", db=db_url)
    second = filled_pdf(tmp_path).read_bytes()
    old = ingest_one(records, tmp_path, "revision-1.pdf", first)
    assert old.status == "flagged"
    assert old.reasons[1:] == (LATE,) and old.reasons[0].startswith("this is revision 1, superseded on ")
    assert "(list size corrected): the practice must sign the current one" in old.reasons[0]
    new = ingest_one(records, tmp_path, "revision-2.pdf", second)
    assert (new.status, new.reasons) == ("accepted", (LATE,))
    signed = {r["id"]: r["revision"] for r in records.returns_for()}
    assert signed == {old.return_id: 1, new.return_id: 2}


def test_history_shows_every_event_of_a_document_and_exports_it(tmp_path: Path):
    issue(tmp_path, [BY_CODE[CODE]])
    flagged_docx = replace_in_docx(
        fill_docx((tmp_path / "packs" / CODE / "section7.docx").read_bytes(), ENTRIES),
        "one month's",
        "two months'",
    )
    bigger = dataclasses.replace(BY_CODE[CODE], list_size=BY_CODE[CODE].list_size + 100)
    records = issue(tmp_path, [bigger], reissue="list size corrected")
    flagged = ingest_one(records, tmp_path, "altered.docx", flagged_docx)
    db = f"sqlite:///{tmp_path / 'records.db'}"
    runner = CliRunner()
    done = runner.invoke(app, ["review", f"#{flagged.return_id}", "--reject", "--reason", "wording altered",
                               "--by", "A. Officer", "--db", db])  # fmt: skip
    assert done.exit_code == 0, done.output
    result = runner.invoke(app, ["history", DOC_ID, "--db", db, "--to", str(tmp_path / "history.xlsx")])
    assert result.exit_code == 0, result.output
    events = [e["event"] for e in records.history(DOC_ID)]
    assert events == ["issued", "reissued", "superseded", "returned", "reviewed"]
    rows = list(load_workbook(tmp_path / "history.xlsx").active.iter_rows(values_only=True))
    assert rows[0] == ("at", "event", "revision", "return_id", "detail", "by")
    assert [r[1] for r in rows[1:]] == events
    assert rows[-1][4] == "rejected: wording altered" and rows[-1][5] == "A. Officer"
    assert "list size corrected" in rows[2][4]
    missing = runner.invoke(app, ["history", "nope:v1:X:section7", "--db", db])
    assert (
        missing.exit_code == 1 and "no document 'nope:v1:X:section7' was issued or returned" in missing.output
    )


def test_streams_read_straight_from_the_file_are_the_bytes_pypdf_reads(issued: Records, tmp_path: Path):
    from pypdf.generic import IndirectObject

    from agreementgen.wording import _stored

    for data in (_issued_pdf(issued), filled_pdf(tmp_path).read_bytes()):
        reader = PdfReader(io.BytesIO(data))
        checked = 0
        for number in range(1, len(reader.xref[0]) + 1):
            ref = IndirectObject(number, 0, reader)
            try:
                obj = ref.get_object()
            except Exception:
                continue
            stored = _stored(ref)
            if hasattr(obj, "get_data"):
                assert stored == obj._data, number  # the bytes as stored, still encoded
                checked += 1
            else:
                assert stored is None, number
        assert checked > 20


def test_a_register_started_afresh_keeps_the_wording_of_files_reused_from_an_earlier_run(tmp_path: Path):
    first = issue(tmp_path, [BY_CODE[CODE]])
    kept = Wording.loads(first.issued_document(DOC_ID).wording)  # type: ignore[union-attr]
    again = issue(tmp_path, [BY_CODE[CODE]], db=f"sqlite:///{tmp_path / 'afresh.db'}")
    reused = Wording.loads(again.issued_document(DOC_ID).wording)  # type: ignore[union-attr]
    assert kept is not None and reused == kept and len(reused.pages) > 1
