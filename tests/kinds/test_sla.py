"""Service level agreements: one per practice per contract, signable and returnable like Section 7."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.context import long_date
from agreementgen.errors import AgreementgenError
from agreementgen.ingest import ingest
from agreementgen.kinds.sla import build_sla_contexts
from agreementgen.records import Records
from agreementgen.render.docx import CompiledDocx, read_content_controls, read_custom_properties
from agreementgen.render.template import WordTemplate
from agreementgen.simulate import fill_pdf
from agreementgen.validation import load_service_inputs
from conftest import DATA, ROOT, SCHEMES, require

SLA_TEMPLATE = WordTemplate(ROOT / "templates" / "sla.docx")


def render_sla(context):
    return SLA_TEMPLATE.render(context, ["pdf"])["pdf"]


CAMDEN = load_service_inputs(
    SCHEMES / "camden-lcs-2019-20.yaml",
    [DATA / "camden_practices_illustrative.csv"],
    [DATA / "camden_signups_illustrative.csv"],
)
A, B = CAMDEN.data.practices
SIGNED = {
    "practice_signatory_name": "Dr Siân Ôwen",
    "practice_signatory_designation": "Senior Partner",
    "practice_signature": "S. Ôwen",
    "practice_signature_date": date.today().strftime("%d/%m/%Y"),
}


def contexts(practice):
    return {c["document"]["kind"]: c for c in build_sla_contexts(CAMDEN.scheme, practice, CAMDEN.signups)}


def test_a_practice_gets_one_sla_per_contract_it_signed_up_to():
    assert sorted(contexts(A)) == ["sla_anticoagulation_warfarin", "sla_universal_offer"]
    assert sorted(contexts(B)) == ["sla_universal_offer"]  # B did not sign up to warfarin
    warfarin = contexts(A)["sla_anticoagulation_warfarin"]
    assert warfarin["document"]["id"] == "camden-lcs-2019-20:v1:F83001:sla_anticoagulation_warfarin"
    assert warfarin["terms"]["term_service_anticoagulation_warfarin_tariff"] == "£110.00"
    assert warfarin["terms"]["term_service_anticoagulation_warfarin_planned"] == "120"
    assert warfarin["terms"]["term_total"] == "£13,200.00"
    universal = contexts(A)["sla_universal_offer"]
    assert len(universal["services"]) == 13 and universal["terms"]["term_total"] == "£43,000.00"
    assert "iucd_ius" not in [s["id"] for s in universal["services"]]  # public health's now


def test_the_les_sla_shows_the_prior_tariff_its_uplift_and_the_new_tariff(tmp_path: Path):
    practices = tmp_path / "p.csv"
    practices.write_text("code,name,postcode,list_size\nD81001,Lensfield,CB2 1EH,12731\n", encoding="utf-8")
    signups = tmp_path / "s.csv"
    signups.write_text("practice_code,service,planned\nD81001,ring_pessary,40\nD81001,phlebotomy,900\n",
                       encoding="utf-8")  # fmt: skip
    les = load_service_inputs(SCHEMES / "cpccg-les-2017-18.yaml", [practices], [signups])
    # the page provides "Service Level Agreements for each service": one SLA each
    pessary, phlebotomy = build_sla_contexts(les.scheme, les.data.practices[0], les.signups)
    assert (pessary["document"]["kind"], phlebotomy["document"]["kind"]) == (
        "sla_ring_pessary",
        "sla_phlebotomy",
    )
    rows = {s["id"]: s for context in (pessary, phlebotomy) for s in context["services"]}
    assert (rows["ring_pessary"]["prior_tariff"], rows["ring_pessary"]["uplift"]) == ("£25.50", "1%")
    assert (rows["ring_pessary"]["tariff"], rows["ring_pessary"]["value"]) == ("£25.76", "£1,030.40")
    assert (rows["phlebotomy"]["prior_tariff"], rows["phlebotomy"]["uplift"]) == ("", "")  # a new tariff
    assert pessary["terms"]["term_total"] == "£1,030.40"  # 40 × £25.76
    assert phlebotomy["terms"]["term_total"] == "£3,150.00"  # 900 × £3.50
    assert rows["ring_pessary"]["tariff_note"] == "2016/17 tariff £25.50 + 1% uplift"
    assert rows["phlebotomy"]["tariff_note"] == "new tariff for 2017/18"


def test_a_universal_offer_sla_has_no_zero_rows_and_no_empty_columns():
    """Camden's universal offer signs every practice up with nothing planned: those services are
    listed with their tariff as paid on activity claimed, never as "0 / £0.00"."""
    context = contexts(A)["sla_universal_offer"]
    document = docx.Document(io.BytesIO(CompiledDocx(ROOT / "templates" / "sla.docx").render(context)))
    for table in document.tables:
        rows = [["".join(cell._tc.itertext()).strip() for cell in row.cells] for row in table.rows]
        columns = list(zip(*rows[1:], strict=True))
        for header, column in zip(rows[0], columns, strict=True):
            assert any(column), f"the column {header!r} is empty"
        for row in rows:
            assert not ("0" in row and "£0.00" in row), row
    claimed = [s["title"] for s in context["claimed_services"]]
    assert "Homelessness" in claimed and "Post operative wound care" in claimed
    assert "term_service_homelessness" not in context["terms"]  # nothing priced: no £0.00 term
    assert context["terms"]["term_service_homelessness_tariff"] == "£60.00"


def test_the_pdf_prefills_every_term_as_a_locked_field_and_passes_qpdf(tmp_path: Path):
    context = contexts(A)["sla_universal_offer"]
    data = render_sla(context)
    reader = PdfReader(io.BytesIO(data))
    fields = {name: str(f.get("/V", "")) for name, f in reader.get_fields().items()}
    assert {k: fields[k] for k in context["terms"]} == context["terms"]
    assert all(fields[k] == "" for k in SIGNED)
    assert "practice_digital_signature" in fields
    text = "\n".join(page.extract_text() for page in reader.pages)
    for words in ("Schedule of services", "Outcome targets", "Neighbourhood outcome targets", "Signatures",
                  "nothing at or below the lower threshold"):  # fmt: skip
        assert words in text
    assert render_sla(context) == data  # deterministic
    (tmp_path / "sla.pdf").write_bytes(data)
    assert (
        subprocess.run(
            [require("qpdf"), "--check", str(tmp_path / "sla.pdf")], capture_output=True
        ).returncode
        == 0
    )


def test_the_docx_carries_the_terms_in_locked_controls_and_the_id_in_its_properties(tmp_path: Path):
    context = contexts(A)["sla_anticoagulation_warfarin"]
    data = CompiledDocx(ROOT / "templates" / "sla.docx").render(context)
    controls = read_content_controls(data)
    assert {k: controls[k] for k in context["terms"] if k != "doc_id"} == {
        k: v for k, v in context["terms"].items() if k != "doc_id"
    }
    assert read_custom_properties(data)["doc_id"] == context["document"]["id"]
    soffice = require("soffice")
    (tmp_path / "sla.docx").write_bytes(data)
    profile = f"-env:UserInstallation=file://{tmp_path / 'lo'}"
    command = [
        soffice,
        profile,
        "--headless",
        "--convert-to",
        "pdf",
        "--outdir",
        str(tmp_path),
        str(tmp_path / "sla.docx"),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=180)
    assert "Anticoagulation (warfarin)" in PdfReader(tmp_path / "sla.pdf").pages[0].extract_text()


def test_generated_slas_are_registered_and_a_signed_one_is_accepted_a_changed_one_flagged(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    options = RunOptions(out_dir=tmp_path / "out", templates_dir=ROOT / "templates", kinds=("sla",), jobs=1,
                         db_url=url, signups=CAMDEN.signups)  # fmt: skip
    report = bulk.run(CAMDEN.scheme, CAMDEN.data.practices, options)
    assert sorted(f.path for f in report.files) == [
        "F83001/sla_anticoagulation_warfarin.docx", "F83001/sla_anticoagulation_warfarin.pdf",
        "F83001/sla_universal_offer.docx", "F83001/sla_universal_offer.pdf",
        "F83002/sla_universal_offer.docx", "F83002/sla_universal_offer.pdf",
    ]  # fmt: skip
    records = Records.open(url)
    issued = records.issued_document("camden-lcs-2019-20:v1:F83001:sla_anticoagulation_warfarin")
    assert issued is not None and issued.form_tags == tuple(SIGNED)
    pdf = (tmp_path / "out" / "F83001" / "sla_anticoagulation_warfarin.pdf").read_bytes()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "signed.pdf").write_bytes(fill_pdf(pdf, SIGNED))
    (inbox / "changed.pdf").write_bytes(
        fill_pdf(pdf, {**SIGNED, "term_service_anticoagulation_warfarin_tariff": "£150.00"})
    )
    universal = (tmp_path / "out" / "F83001" / "sla_universal_offer.pdf").read_bytes()
    (inbox / "universal.pdf").write_bytes(fill_pdf(universal, SIGNED))
    outcomes = {Path(f.path).name: f for f in ingest([inbox], records).files}
    # each contract's SLA is its own sign-up: accepting one does not supersede the other
    assert sorted(records.signups_for("camden-lcs-2019-20")) == [
        "camden-lcs-2019-20:v1:F83001:sla_anticoagulation_warfarin",
        "camden-lcs-2019-20:v1:F83001:sla_universal_offer",
    ]
    # Camden 2019/20 is a past scheme replayed: its spec accepts a late return, noting it
    late = f"signed {long_date(date.today())}, after the sign-up deadline of 31 March 2019"
    assert (outcomes["signed.pdf"].status, outcomes["signed.pdf"].reasons) == ("accepted", (late,))
    assert outcomes["changed.pdf"].status == "flagged"
    assert (
        "term_service_anticoagulation_warfarin_tariff (issued '£110.00', returned '£150.00')"
        in (outcomes["changed.pdf"].reasons[0])
    )


def test_a_section7_cannot_be_made_from_a_service_scheme(tmp_path: Path):
    options = RunOptions(out_dir=tmp_path, templates_dir=ROOT / "templates", kinds=("section7",))
    with pytest.raises(AgreementgenError, match="a section7 document is not made from a services scheme"):
        bulk.run(CAMDEN.scheme, CAMDEN.data.practices, options)


@pytest.mark.parametrize("name", ["cpccg-les-2017-18", "camden-lcs-2019-20", "sw-outcomes-2015-16"])
def test_each_shipped_service_scheme_renders_an_sla_for_a_practice_signed_up_to_everything(name, tmp_path):
    (tmp_path / "p.csv").write_text(
        "code,name,postcode,list_size\nD81001,Lensfield,CB2 1EH,5800\n", encoding="utf-8"
    )
    spec_path = SCHEMES / f"{name}.yaml"
    from agreementgen.services import load_service_scheme

    offered = load_service_scheme(spec_path).offered
    rows = "".join(f"ALL,{s.id},10\n" for s in offered)
    (tmp_path / "s.csv").write_text("practice_code,service,planned\n" + rows, encoding="utf-8")
    inputs = load_service_inputs(spec_path, [tmp_path / "p.csv"], [tmp_path / "s.csv"])
    assert inputs.problems == []
    contexts = build_sla_contexts(inputs.scheme, inputs.data.practices[0], inputs.signups)
    assert sum(len(c["services"]) for c in contexts) == len(offered)
    template = CompiledDocx(ROOT / "templates" / "sla.docx")
    for context in contexts:
        assert PdfReader(io.BytesIO(render_sla(context))).get_fields()["term_total"]["/V"] == context["total"]
        assert read_content_controls(template.render(context))["term_total"] == context["total"]


def test_status_counts_a_service_schemes_slas_and_claims_separately(tmp_path: Path):
    from typer.testing import CliRunner

    from agreementgen.cli import app

    url = f"sqlite:///{tmp_path / 'r.db'}"
    options = RunOptions(out_dir=tmp_path / "out", templates_dir=ROOT / "templates", kinds=("sla", "claim"),
                         formats=("pdf",), jobs=1, db_url=url, signups=CAMDEN.signups)  # fmt: skip
    bulk.run(CAMDEN.scheme, CAMDEN.data.practices, options)
    scheme = str(SCHEMES / "camden-lcs-2019-20.yaml")
    slas = CliRunner().invoke(app, ["status", "-s", scheme, "--db", url, "--json"])
    claims = CliRunner().invoke(app, ["status", "-s", scheme, "--db", url, "--json", "--docs", "claim"])
    assert slas.exit_code == 0 and claims.exit_code == 0, slas.output + claims.output
    import json

    assert json.loads(slas.stdout)["issued"] == 3  # A: universal + warfarin; B: universal
    assert json.loads(claims.stdout)["issued"] == 8  # 2 practices with activity services × 4 quarters
