"""The Section 7 agreement's PDF, written from its Word template: rendered, reopened, checked, filled, signed.

Every test renders real documents from ``templates/section7.docx`` with the bundled C&P data
and reads them back with pypdf; qpdf checks the files; pdftk and PyPDFForm (independent
fillers) fill the form; pyHanko signs the signature field and validates the signature;
zbarimg reads the QR code off a rendered page. Nothing is mocked.
"""

import dataclasses
import io
import re
import subprocess
from pathlib import Path

import pytest
import qrcode
from pypdf import PdfReader
from pypdf.generic import ContentStream

from agreementgen.errors import AgreementgenError
from agreementgen.kinds.section7 import section7_context as build_section7
from agreementgen.render import pdf
from agreementgen.render.pdf.page import QR_MASK
from agreementgen.render.template import WordTemplate
from agreementgen.validation import load_inputs
from conftest import (
    EPRACCUR_2023_06H,
    LIST_SIZES_2021_06H,
    QEF,
    ROOT,
    require,
    self_signed_certificate,
    xfdf,
)
from pdfstructure import problems

INPUTS = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
SCHEME = INPUTS.scheme
LENSFIELD = INPUTS.data.by_code()["D81001"]
HOSTILE_NAME = 'O\'Brien & Partners <Ŵyn> "Café" {{ 7*7 }} {% for %}'
LONG_NAME = (
    "The Ŵyn Ŷstrad & Llanfair Pwllgwyngyll Family Health Centre, incorporating the Old Rectory Surgery, "
    "the Market Square Branch Surgery and the Riverside Community Practice (O'Neill, Café & Partners) Ltd"
)
TERMS_READ_ONLY = 1  # field flag bit 1
HIDDEN = 2  # annotation flag bit 2
FILLED = {
    "lead_gp_clinical_representative": "Dr Siân Ŵyn-Ôwen",
    "lead_management_representative": "Jo Bloggs",
    "lead_gp_referral_lead": "Dr A Patel",
    "lead_gp_prescribing_lead": "Dr B Okafor",
    "practice_signatory_name": "Dr Siân Ôwen",
    "practice_signatory_designation": "Senior Partner",
    "practice_signature": "S. Ôwen",
    "practice_signature_date": "15 May 2017",
}


TEMPLATE = WordTemplate(ROOT / "templates" / "section7.docx")
MM = 72 / 25.4
PAGE_WIDTH, PAGE_HEIGHT = 210 * MM, 297 * MM
MARGIN_SIDE, MARGIN_BOTTOM = 20 * MM, 20 * MM


def section7_context(practice=LENSFIELD):
    return build_section7(SCHEME, practice)


def render_section7(context) -> bytes:
    return TEMPLATE.render(context, ["pdf"])["pdf"]


@pytest.fixture(scope="module")
def lensfield() -> bytes:
    return render_section7(section7_context())


# --- reading a rendered PDF the way a returns clerk's tools would --------------------------------


def field_values(data: bytes) -> dict[str, str | None]:
    return {name: f.get("/V") for name, f in (PdfReader(io.BytesIO(data)).get_fields() or {}).items()}


def all_widgets(data: bytes) -> list[tuple[str, int, dict]]:
    """Every field widget: (its field's name, page number from 1, the annotation dictionary)."""
    found = []
    for number, page in enumerate(PdfReader(io.BytesIO(data)).pages, start=1):
        for annotation in page.get("/Annots") or []:
            widget = annotation.get_object()
            if widget.get("/Subtype") != "/Widget":
                continue
            name = widget["/T"] if "/T" in widget else widget["/Parent"].get_object()["/T"]
            found.append((name, number, widget))
    return found


def widgets(data: bytes) -> dict[str, tuple[int, dict]]:
    """The (first) widget of each field by name: (page number from 1, the annotation dictionary)."""
    found: dict[str, tuple[int, dict]] = {}
    for name, number, widget in all_widgets(data):
        found.setdefault(name, (number, widget))
    return found


def text_of(data: bytes) -> str:
    """All the text, whitespace normalised (long names wrap over lines)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


# --- the issued terms ----------------------------------------------------------------------------


def test_it_prefills_the_practice_figures_as_form_fields(lensfield):
    values = field_values(lensfield)
    assert values["term_total"] == "£25,462.00"
    assert values["term_list_size"] == "12,731"
    assert values["term_list_size_date"] == "1 January 2021"
    assert values["term_rate_per_patient"] == "£2.00"
    assert values["term_component_engagement"] == "£6,365.50"
    assert values["term_component_demand_management"] == "£12,731.00"
    assert values["term_component_medicines_optimisation"] == "£6,365.50"
    assert values["term_instalment_first"] == "£12,731.00"
    assert values["term_instalment_first_due"] == "31 July 2017"
    assert values["term_instalment_second"] == "£6,365.50"
    assert values["term_instalment_second_due"] == "30 September 2017"
    assert values["term_instalment_third"] == "£6,365.50"
    assert values["term_instalment_third_due"] == "31 March 2018"
    assert values["term_sign_up_deadline"] == "31 May 2017"
    assert values["term_scheme"] == "cpccg-qef-2017-18 v1"
    assert values["term_practice_code"] == "D81001"


def test_every_issued_term_is_a_field_named_by_its_key(lensfield):
    terms = section7_context()["terms"]
    values = field_values(lensfield)
    assert {tag: values.get(tag) for tag in terms} == terms


def test_issued_terms_are_read_only_and_the_fillable_fields_are_not(lensfield):
    fields = PdfReader(io.BytesIO(lensfield)).get_fields()
    context = section7_context()
    for tag in context["terms"]:
        assert fields[tag]["/Ff"] & TERMS_READ_ONLY, tag
    for spec in context["form"]["fields"]:
        assert not fields[spec["tag"]].get("/Ff", 0) & TERMS_READ_ONLY, spec["tag"]


def test_the_document_id_is_a_read_only_field_with_a_hidden_widget_on_page_1(lensfield):
    field = PdfReader(io.BytesIO(lensfield)).get_fields()["doc_id"]
    assert field["/V"] == section7_context()["document"]["id"] == "cpccg-qef-2017-18:v1:D81001:section7"
    assert field["/Ff"] & TERMS_READ_ONLY
    placed = [(page, widget) for name, page, widget in all_widgets(lensfield) if name == "doc_id"]
    hidden = [page for page, widget in placed if widget["/F"] & HIDDEN]
    assert hidden == [1]
    # ... and one over the id printed on the page the practice signs, so that page alone is matched
    signing = {page for name, page, _ in all_widgets(lensfield) if name == "practice_signature"}
    assert [page for page, widget in placed if not widget["/F"] & HIDDEN] == sorted(signing)


def test_the_document_id_is_in_the_metadata(lensfield):
    context = section7_context()
    doc_id = context["document"]["id"]
    info = PdfReader(io.BytesIO(lensfield)).metadata
    # The title is for people (a reader's window title, a screen reader): the document and the practice.
    assert info["/Title"] == "Section 7 sign-up agreement — Lensfield Medical Practice"
    assert doc_id in info["/Subject"]
    assert doc_id in info["/Keywords"]
    assert info["/AgreementgenDocumentId"] == doc_id
    assert info["/AgreementgenTermsDigest"] == context["document"]["terms_digest"]
    assert info["/Author"] == "Cambridgeshire & Peterborough CCG"


# --- the fields a practice fills in --------------------------------------------------------------


def test_every_fillable_field_is_in_the_form_and_empty(lensfield):
    values = field_values(lensfield)
    tags = [spec["tag"] for spec in section7_context()["form"]["fields"]]
    assert tags == [
        "lead_gp_clinical_representative",
        "lead_management_representative",
        "lead_gp_referral_lead",
        "lead_gp_prescribing_lead",
        "practice_signatory_name",
        "practice_signatory_designation",
        "practice_signature",
        "practice_signature_date",
        "commissioner_signatory_name",
        "commissioner_signatory_designation",
        "commissioner_signature",
        "commissioner_signature_date",
    ]
    assert {tag: values[tag] for tag in tags} == dict.fromkeys(tags, "")


def test_named_leads_are_prefilled_when_the_form_font_can_show_them(tmp_path):
    tricky = r"Dr (Jo) \ Smith ] >> /V (x) {page}"
    practice = dataclasses.replace(
        LENSFIELD,
        leads=(
            ("gp_clinical_representative", "Dr Siân Ŵyn"),
            ("management_representative", "Łukasz Żak"),
            ("gp_prescribing_lead", tricky),
        ),
    )
    data = render_section7(section7_context(practice))
    values = field_values(data)
    assert values["lead_gp_clinical_representative"] == "Dr Siân Ŵyn"
    assert values["lead_management_representative"] == "Łukasz Żak"  # shown in the embedded font
    assert values["lead_gp_referral_lead"] == ""
    assert values["lead_gp_prescribing_lead"] == tricky  # PDF string syntax in a value stays text
    (tmp_path / "leads.pdf").write_bytes(data)
    assert (
        subprocess.run(
            [require("qpdf"), "--check", str(tmp_path / "leads.pdf")], capture_output=True
        ).returncode
        == 0
    )


def test_it_has_a_digital_signature_field_in_the_practice_signature_block(lensfield):
    placed = widgets(lensfield)
    page, signature = placed["practice_digital_signature"]
    assert signature["/FT"] == "/Sig"
    assert "/V" not in signature  # not signed yet
    shown_id = [n for name, n, w in all_widgets(lensfield) if name == "doc_id" and not w["/F"] & HIDDEN]
    assert page == placed["practice_signature"][0] == shown_id[0]  # the page the practice signs
    top = float(signature["/Rect"][3])
    assert float(placed["practice_signature_date"][1]["/Rect"][1]) > top  # below the date
    commissioner_page, commissioner = placed["commissioner_signatory_name"]
    after = commissioner_page > page or float(commissioner["/Rect"][3]) < float(signature["/Rect"][1])
    assert after  # the commissioner's block comes after the practice's


def test_no_two_fields_overlap_and_all_sit_inside_the_page_margins(lensfield):
    by_page: dict[int, list[tuple[str, list[float]]]] = {}
    for name, page, widget in all_widgets(lensfield):
        by_page.setdefault(page, []).append((name, [float(v) for v in widget["/Rect"]]))
    for page, placed in by_page.items():
        for name, (x0, y0, x1, y1) in placed:
            assert MARGIN_SIDE - 0.1 <= x0 < x1 <= PAGE_WIDTH - MARGIN_SIDE + 0.1, name
            assert MARGIN_BOTTOM - 0.01 <= y0 < y1 <= PAGE_HEIGHT, name
        for i, (a, ra) in enumerate(placed):
            for b, rb in placed[i + 1 :]:
                apart = ra[2] <= rb[0] or rb[2] <= ra[0] or ra[3] <= rb[1] or rb[3] <= ra[1]
                assert apart, f"{a} overlaps {b} on page {page}"


# --- the printed text --------------------------------------------------------------------------


def test_text_extraction_finds_the_practice_and_its_figures(lensfield):
    text = text_of(lensfield)
    for expected in [
        "Primary Care Quality & Engagement Framework 2017/18",
        "Agreement for LENSFIELD MEDICAL PRACTICE (ODS code D81001)",
        "48 LENSFIELD ROAD, CAMBRIDGE",
        "1. Background & Context",
        "41 clinical sessions",
        "12,731",
        "1 January 2021",
        "£6,365.50",
        "£12,731.00",
        "£25,462.00",
        "30 September 2017",
        "capccg.enhancedservices@nhs.net",
        "3.2 Payment Arrangements",
        "Evidence due by",
        "Prescribing Leads Meetings",
        "4. Requirements and Reporting",
        "3.3 Payment Reconciliation",
        "7. Parties to the agreement",
        "one month's written notice",
        "Practice GP Prescribing Lead",
        "Signed on behalf of Member Practice",
        "Signed on behalf of Cambridgeshire & Peterborough CCG",
    ]:
        assert expected in text, expected


def test_every_page_has_page_x_of_y_the_reference_and_the_document_id(lensfield):
    reader = PdfReader(io.BytesIO(lensfield))
    total = len(reader.pages)
    assert total == 7
    for number, page in enumerate(reader.pages, start=1):
        text = " ".join(page.extract_text().split())
        assert f"Page {number} of {total}" in text
        assert "Reference: cpccg-qef-2017-18 v1 · D81001 · section7" in text
        assert "Document id: cpccg-qef-2017-18:v1:D81001:section7" in text


@pytest.mark.parametrize(
    "name", [HOSTILE_NAME, LONG_NAME], ids=["markup-and-template-syntax", "200-characters"]
)
def test_practice_names_print_literally(name):
    assert len(LONG_NAME) == 200
    practice = dataclasses.replace(LENSFIELD, name=name)
    data = render_section7(section7_context(practice))
    text = text_of(data)
    assert text.count(name) == 3  # the subtitle, the parties table, the signature block
    assert len(PdfReader(io.BytesIO(data)).pages) == 7  # a long name pushes nothing off its page


def test_text_is_in_the_embedded_fonts_which_ship_with_their_licence(lensfield):
    fonts = set()
    for page in PdfReader(io.BytesIO(lensfield)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if font["/Subtype"] == "/TrueType":
                assert "/FontFile2" in font["/FontDescriptor"]
                fonts.add(font["/BaseFont"].split("+")[1])
    assert fonts == {"LiberationSans", "LiberationSans-Bold"}
    folder = ROOT / "src" / "agreementgen" / "fonts"
    assert (folder / "LiberationSans-Regular.ttf").stat().st_size > 100_000
    assert (folder / "LiberationSans-Bold.ttf").stat().st_size > 100_000
    assert "SIL OPEN FONT LICENSE Version 1.1" in (folder / "LICENSE-Liberation.txt").read_text()


# --- the QR code ---------------------------------------------------------------------------------


def qr_matrix_drawn(data: bytes) -> list[list[bool]]:
    """The QR code as drawn in the footer of page 1, read back from its rectangles."""
    reader = PdfReader(io.BytesIO(data))
    for xobject in reader.pages[0]["/Resources"]["/XObject"].values():
        operations = ContentStream(xobject.get_object(), reader).operations
        rects = [tuple(float(v) for v in operands) for operands, op in operations if op == b"re"]
        if len(rects) > 50:  # the footer's QR code: one rectangle per run of dark modules
            break
    else:
        raise AssertionError("no QR code in the footer")
    unit = rects[0][3]
    left = min(r[0] for r in rects)
    top = max(r[1] for r in rects) + unit
    size = round((top - min(r[1] for r in rects)) / unit)
    matrix = [[False] * size for _ in range(size)]
    for x, y, width, _ in rects:
        row = round((top - y) / unit) - 1
        first = round((x - left) / unit)
        for column in range(first, first + round(width / unit)):
            matrix[row][column] = True
    return matrix


def test_the_qr_code_encodes_the_document_id(lensfield, tmp_path):
    doc_id = section7_context()["document"]["id"]
    # python-qrcode, an encoder independent of reportlab's, gives the same modules.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=QR_MASK, border=0)
    code.add_data(doc_id.encode("utf-8"), optimize=0)
    code.make(fit=True)
    assert qr_matrix_drawn(lensfield) == code.get_matrix()


def test_a_scanner_reads_the_qr_code_from_a_150_dpi_image_of_the_printed_page(lensfield, tmp_path):
    zbarimg, pdftoppm = require("zbarimg"), require("pdftoppm")
    (tmp_path / "a.pdf").write_bytes(lensfield)
    subprocess.run(
        [pdftoppm, "-png", "-gray", "-r", "150", "-f", "5", "-l", "5", "a.pdf", "p"], cwd=tmp_path, check=True
    )
    read = subprocess.run([zbarimg, "-q", "--raw", "p-5.png"], cwd=tmp_path, capture_output=True, text=True)
    assert read.stdout.strip() == section7_context()["document"]["id"]


# --- the file itself -----------------------------------------------------------------------------


def test_qpdf_finds_no_problem(lensfield, tmp_path):
    qpdf = require("qpdf")
    path = tmp_path / "D81001.pdf"
    path.write_bytes(lensfield)
    result = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_the_same_context_gives_the_same_bytes_whatever_was_rendered_before(lensfield):
    assert render_section7(section7_context()) == lensfield
    render_section7(section7_context(dataclasses.replace(LENSFIELD, name="Ŵyn Ŷstrad ‘Œuvre’ — Ā")))
    render_section7(section7_context(INPUTS.data.by_code()["Y00486"]))
    assert render_section7(section7_context()) == lensfield
    pdf.clear_caches()  # a fresh process: nothing laid out, drawn or embedded yet
    assert render_section7(section7_context()) == lensfield


def test_a_broken_context_is_an_error_naming_what_is_missing():
    context = section7_context()
    del context["terms"]["term_total"]
    with pytest.raises(AgreementgenError, match="term_total"):
        render_section7(context)
    with pytest.raises(AgreementgenError, match="which the context does not provide"):
        render_section7({})


# --- independent fillers and a digital signature -------------------------------------------------


def test_pdftk_fills_the_form_and_pypdf_reads_it_back(lensfield, tmp_path):
    pdftk = require("pdftk")
    (tmp_path / "in.pdf").write_bytes(lensfield)
    (tmp_path / "data.xfdf").write_bytes(xfdf(FILLED))
    result = subprocess.run(
        [pdftk, "in.pdf", "fill_form", "data.xfdf", "output", "out.pdf"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    values = field_values((tmp_path / "out.pdf").read_bytes())
    assert {tag: values[tag] for tag in FILLED} == FILLED
    assert values["term_total"] == "£25,462.00"
    assert values["doc_id"] == "cpccg-qef-2017-18:v1:D81001:section7"
    assert problems((tmp_path / "out.pdf").read_bytes()) == []  # filled, still tagged


def test_pypdfform_fills_the_form_and_pypdf_reads_it_back(lensfield):
    from PyPDFForm import PdfWrapper

    filled = PdfWrapper(lensfield).fill(FILLED).read()
    values = field_values(filled)
    assert {tag: values[tag] for tag in FILLED} == FILLED
    assert values["term_list_size"] == "12,731"
    assert values["doc_id"] == "cpccg-qef-2017-18:v1:D81001:section7"
    assert problems(filled) == []  # filled, still tagged


def test_pyhanko_signs_the_signature_field_and_the_signature_validates(lensfield):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from PyPDFForm import PdfWrapper

    filled = PdfWrapper(lensfield).fill(FILLED).read()
    certificate, key = self_signed_certificate()
    signer = signers.SimpleSigner(signing_cert=certificate, signing_key=key, cert_registry=None)
    meta = signers.PdfSignatureMetadata(field_name="practice_digital_signature", reason="Section 7 sign-up")
    signed = signers.PdfSigner(meta, signer=signer).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(filled)))
    data = signed.getvalue()

    reader = PdfFileReader(io.BytesIO(data))
    assert [s.field_name for s in reader.embedded_signatures] == ["practice_digital_signature"]
    status = validate_pdf_signature(
        reader.embedded_signatures[0], ValidationContext(trust_roots=[certificate], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    values = field_values(data)
    assert values["practice_signatory_name"] == "Dr Siân Ôwen"
    assert values["term_total"] == "£25,462.00"
    # Signing keeps the structure, and the signature field stays a Form element with its tooltip.
    assert problems(data) == []
    (signature,) = [w for w in all_widgets(data) if w[0] == "practice_digital_signature"]
    assert signature[2].get("/StructParent") is not None


# --- what a bulk run can afford ------------------------------------------------------------------


def test_the_qr_code_is_drawn_once_per_document_and_streams_are_flate_only(lensfield):
    """The QR code is one form used on every page; each page's header and footer is a form of its own."""
    reader = PdfReader(io.BytesIO(lensfield))
    names = [sorted(page["/Resources"]["/XObject"]) for page in reader.pages]
    assert all(len(n) == 2 for n in names)
    assert len(set.intersection(*(set(n) for n in names))) == 1  # the QR code
    assert re.search(rb"/Filter \[ */ASCII85Decode", lensfield) is None  # Flate only


def test_output_is_a_reasonable_size(lensfield):
    assert 40_000 < len(lensfield) < 150_000


def test_fonts_are_found_inside_the_installed_package():
    assert Path(pdf.__file__).parent.parent.parent.joinpath("fonts", "LiberationSans-Regular.ttf").is_file()
