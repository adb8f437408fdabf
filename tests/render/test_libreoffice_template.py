"""A template a team saved in LibreOffice: the shipped Section 7 converted by ``soffice``.

LibreOffice drops content controls' tags (and locks) when it saves a DOCX; the shipped templates
end each control's title with its tag ("Total [term_total]"), so the fields keep their names.
``check-template`` must say so, and what it will do; ``generate`` from the saved copy must give
PDFs with the same fields (names, values, read-only flags) as the shipped template's. One
conversion, shared by the module.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.ingest import ingest
from agreementgen.kinds import KINDS
from agreementgen.records import Records
from agreementgen.render.template import WordTemplate, check
from agreementgen.validation import load_any_scheme
from conftest import QEF, ROOT, pdftk_fill, require

runner = CliRunner()
SHIPPED = ROOT / "templates" / "section7.docx"
CODES = ("D81001", "D81002", "D81003")
PRACTICES_CSV = (
    "code,name,address 1,town,postcode,list size,list size date\n"
    "D81001,Lensfield Medical Practice,48 Lensfield Road,Cambridge,CB2 1EH,12731,2017-04-01\n"
    "D81002,Huntingdon Road Surgery,1 Huntingdon Road,Cambridge,CB3 0DB,20401,2017-04-01\n"
    "D81003,Ôwen & Jones Surgery,2 High Street,Ely,CB7 4HF,5800,2017-04-01\n"
)
TAG_IN_TITLE = re.compile(r'<w:alias w:val="[^"]*\[([A-Za-z0-9_{}. ~\'&;]+)\]"')


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def saved_by_libreoffice(tmp_path_factory) -> Path:
    """``templates/section7.docx`` opened and saved as DOCX by LibreOffice, in a folder of its own."""
    soffice = require("soffice")
    base = tmp_path_factory.mktemp("libreoffice")
    (base / "src").mkdir()
    copy = base / "src" / "section7.docx"
    shutil.copyfile(SHIPPED, copy)
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{base / 'profile'}", "--headless",
         "--convert-to", "docx", "--outdir", str(base / "lo"), str(copy)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    saved = base / "lo" / "section7.docx"
    assert saved.is_file() and saved.read_bytes() != SHIPPED.read_bytes()
    return saved


def xml(path: Path, part: str = "word/document.xml") -> str:
    return zipfile.ZipFile(path).read(part).decode("utf-8")


def example():
    return KINDS["section7"].example(load_any_scheme(QEF))


def test_libreoffice_really_dropped_the_tags_and_kept_them_in_the_titles(saved_by_libreoffice: Path):
    """The premise: no w:tag left, every control's title still ends with its [tag]."""
    shipped, saved = xml(SHIPPED), xml(saved_by_libreoffice)
    assert shipped.count("<w:tag ") > 0 and "<w:tag " not in saved
    assert "<w:lock " in shipped and "<w:lock " not in saved
    assert sorted(TAG_IN_TITLE.findall(saved)) == sorted(re.findall(r'<w:tag w:val="([^"]+)"', shipped))
    assert "<Application>LibreOffice/" in xml(saved_by_libreoffice, "docProps/app.xml")


def test_check_says_the_template_was_saved_by_libreoffice_and_counts_the_untagged_controls(
    saved_by_libreoffice: Path,
):
    context = example()
    report = check(saved_by_libreoffice, context)
    assert report.saved_by.startswith("LibreOffice/") and report.libreoffice
    assert (report.missing, report.unsupported) == ([], [])
    rendered = WordTemplate(saved_by_libreoffice).render(context, ["docx"])["docx"]
    with zipfile.ZipFile(io.BytesIO(rendered)) as docx:
        titled = sum(
            len(TAG_IN_TITLE.findall(docx.read(n).decode("utf-8")))
            for n in docx.namelist()
            if n.startswith("word/") and n.endswith(".xml")
        )
    assert report.untagged == titled > 15  # every control of the rendered document, loops expanded
    shipped = check(SHIPPED, context)
    assert (shipped.libreoffice, shipped.untagged) == (False, 0)
    assert shipped.saved_by and "LibreOffice" not in shipped.saved_by  # Word wrote the shipped one
    assert report.fields == shipped.fields  # the same fields, named from the titles


def test_check_template_explains_what_libreoffice_did_and_what_will_happen(saved_by_libreoffice: Path):
    result = invoke("check-template", str(saved_by_libreoffice), "--scheme", str(QEF))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    untagged = check(saved_by_libreoffice, example()).untagged
    note = " ".join(result.output.split())
    name = str(saved_by_libreoffice)
    assert f"note: {name} was last saved by LibreOffice/" in note
    assert "which drops content-control tags and locks." in note
    assert (
        f"{untagged} control(s) are named by the [tag] at the end of their title, so their fields keep their "
        "names; controls printing issued terms are locked whatever the template says." in note
    )
    assert "Open and save it in Word to put the tags back for Word users." in note
    assert f"{name}: every variable it uses is provided" in result.output
    assert f"{name}: the PDF shows everything in it" in result.output
    shipped = invoke("check-template", str(SHIPPED), "--scheme", str(QEF))
    assert shipped.exit_code == 0 and "LibreOffice" not in shipped.output


def fields(pdf: bytes) -> dict[str, tuple[str, int, str | None]]:
    """name → (type, read-only bit, value) of every form field."""
    found = PdfReader(io.BytesIO(pdf)).get_fields() or {}
    return {
        name: (str(f.get("/FT")), int(f.get("/Ff", 0)) & 1, None if f.get("/V") is None else str(f["/V"]))
        for name, f in found.items()
    }


@pytest.fixture(scope="module")
def generated(saved_by_libreoffice: Path, tmp_path_factory) -> dict[str, Path]:
    """``generate --templates`` on three practices, once with the shipped and once with the saved template."""
    base = tmp_path_factory.mktemp("generated")
    (base / "practices.csv").write_text(PRACTICES_CSV, encoding="utf-8")
    runs = {}
    for label, folder in (("shipped", SHIPPED.parent), ("libreoffice", saved_by_libreoffice.parent)):
        result = invoke(
            "generate", "--scheme", str(QEF), "-p", str(base / "practices.csv"), "--out", str(base / label),
            "--templates", str(folder), "--jobs", "1", "--format", "docx,pdf", "--db",
            f"sqlite:///{base / f'{label}.db'}",
        )  # fmt: skip
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code == 0, result.output
        assert "3 practices: 6 files rendered" in result.output
        runs[label] = base / label
    return runs


@pytest.mark.parametrize("code", CODES)
def test_pdfs_from_the_libreoffice_template_have_the_shipped_templates_fields(generated, code: str):
    shipped = fields((generated["shipped"] / code / "section7.pdf").read_bytes())
    saved = fields((generated["libreoffice"] / code / "section7.pdf").read_bytes())
    assert sorted(saved) == sorted(shipped)
    assert saved == shipped  # types, read-only flags and prefilled values too
    assert saved["term_total"][1] == 1 and saved["practice_signatory_name"][1] == 0
    assert saved["term_practice_code"][2] == code
    assert saved["practice_digital_signature"][0] == "/Sig"


def test_a_return_of_a_pdf_from_the_libreoffice_template_is_accepted(generated, tmp_path: Path):
    entries = {
        "lead_gp_clinical_representative": "Dr A Patel",
        "lead_management_representative": "B Jones",
        "lead_gp_referral_lead": "Dr C Smith",
        "lead_gp_prescribing_lead": "Dr D Brown",
        "practice_signatory_name": "Dr Siân Ôwen",
        "practice_signatory_designation": "Senior Partner",
        "practice_signature": "S. Ôwen",
        "practice_signature_date": date.today().strftime("%d/%m/%Y"),
    }
    inbox = tmp_path / "inbox"
    pdftk_fill(generated["libreoffice"] / "D81003" / "section7.pdf", entries, inbox / "return.pdf")
    issued = Records.open(
        f"sqlite:///{generated['libreoffice'].parent / 'libreoffice.db'}"
    ).issued_documents()
    records = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    records.register_issued(issued)
    report = ingest([inbox], records)
    [outcome] = report.files
    assert (outcome.status, outcome.reasons) == ("accepted", ())
    assert outcome.doc_id == "cpccg-qef-2017-18:v1:D81003:section7"
