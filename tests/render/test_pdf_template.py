"""A fillable PDF as a template, made by an independent tool and used through the real entry points.

The form is drawn by reportlab's ``canvas.acroForm`` (text fields and a checkbox) and given a
signature field by pyHanko, as a team's own fillable PDF would be. Its fields are named after
context variables (``practice.name``, ``practice.code``, ``terms.term_total``, ``term_list_size``)
or are for the practice to fill (``practice_signatory_name``, ``practice_signature_date`` …).
It is compiled with ``compile_template``, rendered per practice, generated in bulk by
``agreementgen generate --templates`` for the QEF and the bundled C&P practices, filled by pdftk
and ingested; every output is read back by pypdf, pdftotext, zbarimg and qpdf.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from typer.testing import CliRunner

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.cli import app
from agreementgen.errors import TemplateError
from agreementgen.ingest import ingest
from agreementgen.kinds import KINDS
from agreementgen.records import Records
from agreementgen.render.template import PdfFormTemplate, check, compile_template
from agreementgen.validation import load_inputs
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, pdftk_fill, require

runner = CliRunner()
INPUTS = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
SCHEME = INPUTS.scheme
SAMPLE = INPUTS.data.by_code()
LENSFIELD, HUNTINGDON = SAMPLE["D81001"], SAMPLE["D81002"]
ID = "cpccg-qef-2017-18:v1:{}:section7"

PREFILLED = ["practice.name", "practice.code", "terms.term_total", "term_list_size"]
TO_FILL = ["practice_signatory_name", "practice_signature_date"]
# the rest of what a Section 7 asks the practice for: without them a return is flagged for each
OTHER_ASKED = [
    "lead_gp_clinical_representative",
    "lead_management_representative",
    "lead_gp_referral_lead",
    "lead_gp_prescribing_lead",
    "practice_signatory_designation",
    "practice_signature",
]
CHECKBOX = "agree_terms"
SIGNATURE = "practice_digital_signature"
READ_ONLY = 1  # Ff bit 1
HIDDEN = 2  # annotation flag bit 2


def make_form(path: Path, texts: list[str], *, signature: bool = True, pages: int = 2) -> Path:
    """A fillable PDF drawn by reportlab: a labelled text field per name, a checkbox, a signature field."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    y = 780
    for name in texts:
        canvas.drawString(50, y + 5, name.replace("_", " ").replace(".", " "))
        canvas.acroForm.textfield(name=name, x=260, y=y, width=260, height=18, fontSize=10)
        y -= 30
    canvas.drawString(50, y + 5, "I agree to the terms")
    canvas.acroForm.checkbox(name=CHECKBOX, x=260, y=y, size=16)
    for page in range(1, pages):
        canvas.showPage()
        canvas.drawString(50, 780, f"Schedule, page {page + 1}")
    canvas.showPage()
    canvas.save()
    data = buffer.getvalue()
    if signature:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign.fields import SigFieldSpec, append_signature_field

        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        append_signature_field(writer, SigFieldSpec(SIGNATURE, on_page=0, box=(260, 200, 520, 260)))
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def context(practice=LENSFIELD) -> dict:
    return KINDS["section7"].contexts(SCHEME, practice, None)[0]


def form_fields(pdf: bytes) -> dict[str, dict]:
    return dict(PdfReader(io.BytesIO(pdf)).get_fields() or {})


def value(field: dict) -> str | None:
    return None if field.get("/V") is None else str(field["/V"])


def read_only(field: dict) -> bool:
    return bool(int(field.get("/Ff", 0)) & READ_ONLY)


def widgets(pdf: bytes) -> dict[str, dict]:
    """Each field's widget annotation (by field name), from the pages' /Annots."""
    found = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if annot.get("/Subtype") == "/Widget" and "/T" in annot:
                found[str(annot["/T"])] = annot
    return found


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    return make_form(folder / "section7.pdf", PREFILLED + OTHER_ASKED[:4] + TO_FILL + OTHER_ASKED[4:])


@pytest.fixture(scope="module")
def lensfield(template: Path) -> bytes:
    compiled = compile_template(template)
    return compiled.render(context(), ["pdf"])["pdf"]


# --- compile and render ------------------------------------------------------------------------


def test_a_fillable_pdf_compiles_to_a_pdf_only_template(template: Path):
    compiled = compile_template(template)
    assert isinstance(compiled, PdfFormTemplate)
    assert compiled.formats == ("pdf",)
    assert compiled.sha256 == hashlib.sha256(template.read_bytes()).hexdigest()
    assert compiled.render(context(), ["docx"]) == {}
    assert set(compiled.render(context(), ["pdf"])) == {"pdf"}


def test_fields_named_after_context_variables_are_prefilled_and_read_only(lensfield: bytes):
    fields, ctx = form_fields(lensfield), context()
    expected = {
        "practice.name": "LENSFIELD MEDICAL PRACTICE",
        "practice.code": "D81001",
        "terms.term_total": "£25,462.00",
        "term_list_size": "12,731",
    }
    assert {name: value(fields[name]) for name in PREFILLED} == expected
    assert expected["terms.term_total"] == ctx["terms"]["term_total"] == ctx["total"]
    assert expected["term_list_size"] == ctx["terms"]["term_list_size"]
    assert all(read_only(fields[name]) for name in PREFILLED)


def test_the_other_fields_stay_fillable_and_empty(lensfield: bytes):
    fields = form_fields(lensfield)
    for name in TO_FILL + OTHER_ASKED:
        assert fields[name]["/FT"] == "/Tx" and not read_only(fields[name]), name
        assert value(fields[name]) in (None, ""), name
    box = fields[CHECKBOX]
    assert box["/FT"] == "/Btn" and not read_only(box) and value(box) in (None, "/Off")


def test_the_signature_field_is_kept_unsigned(lensfield: bytes):
    signature = form_fields(lensfield)[SIGNATURE]
    assert signature["/FT"] == "/Sig"
    assert signature.get("/V") is None
    assert widgets(lensfield)[SIGNATURE]["/Rect"] == [260, 200, 520, 260]


def test_every_issued_term_without_a_field_is_a_hidden_read_only_field(lensfield: bytes):
    fields, shown, terms = form_fields(lensfield), widgets(lensfield), context()["terms"]
    absent = [k for k in terms if k not in ("doc_id", "term_total", "term_list_size")]
    assert len(absent) == 14
    for tag in absent:
        assert value(fields[tag]) == terms[tag] and read_only(fields[tag]), tag
        assert int(shown[tag].get("/F", 0)) & HIDDEN, tag
    # nothing twice: the total has its field under terms.term_total, the list size its own
    assert "term_total" not in fields
    assert set(fields) == {
        *PREFILLED, *TO_FILL, *OTHER_ASKED, CHECKBOX, SIGNATURE, "doc_id", *absent,
    }  # fmt: skip


def test_the_document_id_is_a_hidden_field_and_in_the_metadata(lensfield: bytes):
    reader = PdfReader(io.BytesIO(lensfield))
    doc_id = ID.format("D81001")
    doc_field = reader.get_fields()["doc_id"]
    assert value(doc_field) == doc_id and read_only(doc_field)
    assert int(widgets(lensfield)["doc_id"]["/F"]) & HIDDEN
    meta = reader.metadata
    assert meta["/AgreementgenDocumentId"] == doc_id
    assert meta["/AgreementgenTermsDigest"] == context()["document"]["terms_digest"]
    assert doc_id in meta["/Keywords"] and meta["/Title"].endswith("— Lensfield Medical Practice")
    assert meta["/Author"] == "Cambridgeshire & Peterborough CCG"


def test_each_page_has_the_footer_line_and_a_qr_code_of_the_document_id(lensfield: bytes, tmp_path: Path):
    pdftotext, pdftoppm, zbarimg = require("pdftotext"), require("pdftoppm"), require("zbarimg")
    (tmp_path / "doc.pdf").write_bytes(lensfield)
    pages = len(PdfReader(io.BytesIO(lensfield)).pages)
    assert pages == 2
    for page in range(1, pages + 1):
        text = subprocess.run(
            [pdftotext, "-f", str(page), "-l", str(page), "doc.pdf", "-"],
            cwd=tmp_path, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert f"Document id: {ID.format('D81001')}" in text, page
    subprocess.run([pdftoppm, "-r", "150", "-png", "doc.pdf", "page"], cwd=tmp_path, check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    for image in images:
        decoded = subprocess.run([zbarimg, "-q", "--raw", str(image)], capture_output=True, text=True)
        assert decoded.returncode == 0, image.name
        assert decoded.stdout.split() == [ID.format("D81001")], image.name


def test_the_same_context_gives_the_same_bytes(template: Path, lensfield: bytes):
    again = compile_template(template).render(context(), ["pdf"])["pdf"]
    assert again == lensfield
    assert PdfFormTemplate(template).render(context())["pdf"] == lensfield


def test_another_practice_gets_its_own_values(template: Path, lensfield: bytes):
    other = compile_template(template).render(context(HUNTINGDON))["pdf"]
    assert other != lensfield
    fields = form_fields(other)
    assert value(fields["practice.name"]) == "HUNTINGDON ROAD SURGERY"
    assert value(fields["practice.code"]) == "D81002"
    assert value(fields["term_list_size"]) == "20,401"
    assert value(fields["terms.term_total"]) == "£40,802.00"
    assert value(fields["doc_id"]) == ID.format("D81002")
    assert value(fields["term_practice_code"]) == "D81002"


def test_practice_data_is_prefilled_literally(template: Path):
    hostile = dataclasses.replace(LENSFIELD, name='Smith & Jones <Partners> "{{ 7*7 }}" Surgery')
    fields = form_fields(compile_template(template).render(context(hostile))["pdf"])
    assert value(fields["practice.name"]) == 'Smith & Jones <Partners> "{{ 7*7 }}" Surgery'


def test_a_welsh_practice_name_prints_in_its_prefilled_field(template: Path, tmp_path: Path):
    pdftotext = require("pdftotext")
    name = "Meddygfa Tŷ Newydd, Ŵyrcwm"
    pdf = compile_template(template).render(context(dataclasses.replace(LENSFIELD, name=name)))["pdf"]
    assert value(form_fields(pdf)["practice.name"]) == name
    (tmp_path / "welsh.pdf").write_bytes(pdf)
    text = subprocess.run(
        [pdftotext, "-l", "1", "welsh.pdf", "-"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert name in text


def test_qpdf_finds_no_problem(lensfield: bytes, tmp_path: Path):
    qpdf = require("qpdf")
    (tmp_path / "doc.pdf").write_bytes(lensfield)
    result = subprocess.run([qpdf, "--check", "doc.pdf"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_a_template_with_its_own_doc_id_field_gets_it_prefilled_once(tmp_path: Path):
    path = make_form(tmp_path / "section7.pdf", ["doc_id", "practice.name"], signature=False, pages=1)
    pdf = compile_template(path).render(context())["pdf"]
    names = [str(w["/T"]) for w in widgets(pdf).values()]
    assert names.count("doc_id") == 1
    doc_id = form_fields(pdf)["doc_id"]
    assert value(doc_id) == ID.format("D81001") and read_only(doc_id)


# --- generate in bulk, fill with pdftk, ingest ----------------------------------------------------


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def generated(template: Path, tmp_path_factory) -> tuple[Path, str]:
    """``agreementgen generate --templates DIR`` for the QEF and the bundled C&P practices."""
    base = tmp_path_factory.mktemp("generated")
    db = f"sqlite:///{base / 'issued.db'}"
    result = invoke(
        "generate", "--scheme", str(QEF), "-p", str(EPRACCUR_2023_06H), "-p", str(LIST_SIZES_2021_06H),
        "--out", str(base / "packs"), "--templates", str(template.parent), "--db", db,
    )  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    assert "85 practices: 85 files rendered, 0 already up to date, 0 failed" in result.output
    return base / "packs", db


def test_generate_with_a_pdf_template_writes_each_practices_pdf_and_registers_it(generated, lensfield: bytes):
    packs, db = generated
    manifest = json.loads((packs / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["files"]) == 85
    assert {f["format"] for f in manifest["files"]} == {"pdf"}
    assert not list(packs.glob("*/*.docx"))
    lensfield_file = packs / "D81001" / "section7.pdf"
    # another process, the same context: the same bytes
    assert lensfield_file.read_bytes() == lensfield
    entry = next(f for f in manifest["files"] if f["practice"] == "D81001")
    assert entry["sha256"] == hashlib.sha256(lensfield).hexdigest()
    assert entry["doc_id"] == ID.format("D81001")
    issued = Records.open(db).issued_documents()
    assert len(issued) == 85
    assert {d.doc_id for d in issued} == {ID.format(code) for code in SAMPLE}
    for code, practice in SAMPLE.items():  # every practice its own values
        fields = form_fields((packs / code / "section7.pdf").read_bytes())
        assert value(fields["practice.code"]) == code and value(fields["doc_id"]) == ID.format(code)
        assert value(fields["practice.name"]) == practice.name
        assert value(fields["term_list_size"]) == f"{practice.list_size:,}"


def entries() -> dict[str, str]:
    return {
        "lead_gp_clinical_representative": "Dr A Patel",
        "lead_management_representative": "B Jones",
        "lead_gp_referral_lead": "Dr C Smith",
        "lead_gp_prescribing_lead": "Dr D Brown",
        "practice_signatory_name": "Dr Siân Ôwen",
        "practice_signatory_designation": "Senior Partner",
        "practice_signature": "S. Ôwen",
        "practice_signature_date": date.today().strftime("%d/%m/%Y"),
    }


def ingest_return(issued_db: str, tmp_path: Path, source: Path, values: dict[str, str]):
    records = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    records.register_issued(Records.open(issued_db).issued_documents())
    filled = pdftk_fill(source, values, tmp_path / "inbox" / "return.pdf")
    assert value(form_fields(filled.read_bytes())["practice_signatory_name"]) == "Dr Siân Ôwen"
    report = ingest([tmp_path / "inbox"], records)
    [outcome] = report.files
    return outcome, records


def test_a_return_filled_by_pdftk_is_accepted(generated, tmp_path: Path):
    packs, db = generated
    outcome, records = ingest_return(db, tmp_path, packs / "D81001" / "section7.pdf", entries())
    assert (outcome.status, outcome.reasons) == ("accepted", ())
    assert outcome.doc_id == ID.format("D81001") and outcome.practice_code == "D81001"
    assert outcome.signature_kind == "typed"
    assert records.signups_for("cpccg-qef-2017-18")[ID.format("D81001")]["return_id"] == outcome.return_id


@pytest.fixture(scope="module")
def plain_names(tmp_path_factory) -> tuple[Path, str]:
    """The same form with the total named by its term (``term_total``), generated for two practices."""
    base = tmp_path_factory.mktemp("plain")
    names = [n.removeprefix("terms.") for n in PREFILLED] + OTHER_ASKED[:4] + TO_FILL + OTHER_ASKED[4:]
    make_form(base / "templates" / "section7.pdf", names)
    options = RunOptions(out_dir=base / "packs", templates_dir=base / "templates", jobs=1,
                         db_url=f"sqlite:///{base / 'issued.db'}", resume=False)  # fmt: skip
    report = bulk.run(SCHEME, [LENSFIELD, HUNTINGDON], options)
    assert not report.failures and report.rendered == 2
    return base / "packs", options.db_url or ""


def test_a_return_of_a_form_naming_its_terms_plainly_is_accepted(plain_names, tmp_path: Path):
    packs, db = plain_names
    outcome, records = ingest_return(db, tmp_path, packs / "D81002" / "section7.pdf", entries())
    assert (outcome.status, outcome.reasons) == ("accepted", ())
    assert outcome.doc_id == ID.format("D81002") and outcome.signature_kind == "typed"
    signup = records.signups_for("cpccg-qef-2017-18")[ID.format("D81002")]
    assert signup["return_id"] == outcome.return_id
    assert signup["signed_date"] == date.today().isoformat()


@pytest.mark.parametrize("fixture", ["generated", "plain_names"])
def test_a_return_whose_prefilled_term_was_changed_is_flagged_naming_it(fixture, request, tmp_path: Path):
    packs, db = request.getfixturevalue(fixture)
    changed = {**entries(), "term_list_size": "99,999"}
    outcome, _ = ingest_return(db, tmp_path, packs / "D81001" / "section7.pdf", changed)
    assert outcome.status == "flagged"
    assert "issued terms changed: term_list_size (issued '12,731', returned '99,999')" in outcome.reasons


def test_a_changed_total_in_a_terms_prefixed_field_is_named(generated, tmp_path: Path):
    packs, db = generated
    changed = {**entries(), "terms.term_total": "£99,999.00"}
    outcome, _ = ingest_return(db, tmp_path, packs / "D81001" / "section7.pdf", changed)
    assert outcome.status == "flagged"
    assert outcome.reasons == (
        "issued terms changed: term_total (issued '£25,462.00', returned '£99,999.00')",
    )


# --- bad templates ------------------------------------------------------------------------------------


def encrypted(path: Path, source: Path) -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt("secret", algorithm="AES-256")
    with path.open("wb") as out:
        writer.write(out)
    return path


def without_fields(path: Path) -> Path:
    canvas = Canvas(str(path), pagesize=A4)
    canvas.drawString(50, 780, "Section 7 sign-up agreement: print, sign and post it back")
    canvas.save()
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p, t: encrypted(p, t), "the PDF template is encrypted: save it without a password"),
        (lambda p, t: without_fields(p), "the PDF has no form fields: a PDF template must be fillable"),
        (lambda p, t: p.write_bytes(t.read_bytes()[:400]) and p, "not a readable PDF"),
        (lambda p, t: p.write_text("Section 7 agreement\n", encoding="utf-8") and p, ""),
    ],
    ids=["encrypted", "no-fields", "truncated", "not-a-pdf"],
)
def test_a_bad_pdf_template_is_a_template_error_naming_the_file(
    make, message, template: Path, tmp_path: Path
):
    path = tmp_path / "section7.pdf"
    make(path, template)
    with pytest.raises(TemplateError) as info:
        compile_template(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
    # generate refuses it before any practice, saying why, without a traceback
    result = invoke(
        "generate", "--scheme", str(QEF), "-p", str(EPRACCUR_2023_06H), "-p", str(LIST_SIZES_2021_06H),
        "--out", str(tmp_path / "packs"), "--templates", str(tmp_path),
        "--db", f"sqlite:///{tmp_path / 'r.db'}",
    )  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert f"error: {path}: {message}" in " ".join(result.output.split())
    assert not list((tmp_path / "packs").glob("*/section7.*"))


def test_a_pdf_template_that_is_not_a_pdf_is_called_so(tmp_path: Path):
    path = tmp_path / "section7.pdf"
    path.write_text("Section 7 agreement\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        compile_template(path)
    assert "not a PDF" in str(info.value)
    assert "docx" not in str(info.value).lower()


# --- check-template -------------------------------------------------------------------------------------


def test_check_template_lists_the_prefilled_fields_and_the_hidden_terms(template: Path):
    result = invoke("check-template", str(template), "--scheme", str(QEF))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    terms = context()["terms"]
    hidden = [k for k in terms if k not in ("doc_id", "term_total", "term_list_size")]
    assert (
        "note: 4 field(s) prefilled and locked: practice.code, practice.name, term_list_size, "
        "terms.term_total" in output
    )
    assert (
        "note: issued terms the form does not show, kept as hidden fields so a return can be checked: "
        + ", ".join(hidden)
        in output
    )
    assert "fields the practice is asked to fill that the form does not have" not in output
    everything = sorted([*PREFILLED, *TO_FILL, *OTHER_ASKED, CHECKBOX, SIGNATURE])
    assert f"{len(everything)} form field(s): {', '.join(everything)}" in output
    assert f"{template}: every variable it uses is provided" in output
    report = check(template, KINDS["section7"].example(SCHEME))
    assert report.missing == [] and report.fields == everything
    assert "practice.name" not in report.unused and "practice.address" in report.unused


def test_check_template_names_the_asked_fields_a_pdf_form_lacks(tmp_path: Path):
    path = make_form(tmp_path / "section7.pdf", PREFILLED + TO_FILL)
    result = invoke("check-template", str(path), "--scheme", str(QEF))
    assert result.exit_code == 0, result.output
    assert (
        "note: fields the practice is asked to fill that the form does not have (a return will be flagged "
        "for each): " + ", ".join(OTHER_ASKED)
    ) in " ".join(result.output.split())


def test_check_template_refuses_a_pdf_field_named_after_an_unknown_variable(tmp_path: Path):
    path = make_form(tmp_path / "section7.pdf", ["practice.name", "practice.nmae"], pages=1)
    result = invoke("check-template", str(path), "--scheme", str(QEF))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert "1 variable(s) the context does not provide:\n  practice.nmae\n" in result.output
    assert "1 field(s) prefilled and locked: practice.name" in result.output
