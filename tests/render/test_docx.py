"""The Section 7 agreement as Word: rendered from the shipped template, reopened, read back.

Every test renders real documents with ``CompiledDocx`` and reopens them with python-docx
(or LibreOffice); nothing is mocked.
"""

import dataclasses
import hashlib
import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from pypdf import PdfReader

from agreementgen.context import example_practice
from agreementgen.errors import AgreementgenError, RenderError, TemplateError
from agreementgen.kinds.section7 import section7_context as build_section7
from agreementgen.render.docx import (
    CompiledDocx,
    check_template,
    read_content_controls,
    read_custom_properties,
    template_variables,
)
from agreementgen.validation import load_inputs
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT, in_ci

SECTION7 = ROOT / "templates" / "section7.docx"
INPUTS = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
SCHEME = INPUTS.scheme
LENSFIELD = INPUTS.data.by_code()["D81001"]


def section7_context(practice=LENSFIELD, scheme=SCHEME):
    return build_section7(scheme, practice)


@pytest.fixture(scope="module")
def section7() -> CompiledDocx:
    return CompiledDocx(SECTION7)


@pytest.fixture(scope="module")
def lensfield(section7) -> bytes:
    return section7.render(section7_context())


# --- reading a rendered document the way a person would ---------------------------------------


def text_of(element) -> str:
    """The visible text of an element, content controls included (python-docx skips those)."""
    return "".join(t.text or "" for t in element.iter(qn("w:t")))


def paragraphs(data: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(data))
    return [text_of(p) for p in document.element.body.iter(qn("w:p"))]


def table_starting(data: bytes, *header: str) -> list[list[str]]:
    """The rows (cell texts) of the table whose first row is ``header``, header row left out."""
    document = docx.Document(io.BytesIO(data))
    for table in document.tables:
        rows = [
            [text_of(tc) for tc in tr.iterchildren(qn("w:tc"))] for tr in table._tbl.iterchildren(qn("w:tr"))
        ]
        if rows and rows[0][: len(header)] == list(header):
            return rows[1:]
    raise AssertionError(f"no table starts with {header}")


def write_template(tmp_path: Path, *lines: str, name: str = "template.docx") -> Path:
    """A one-paragraph-per-line Word template made with python-docx."""
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    path = tmp_path / name
    document.save(path)
    return path


# --- the practice's own agreement ------------------------------------------------------------------


def test_lensfield_agreement_names_the_practice_and_its_list_size(lensfield):
    text = paragraphs(lensfield)
    assert "Primary Care Quality & Engagement Framework 2017/18" in text
    assert "Agreement for LENSFIELD MEDICAL PRACTICE (ODS code D81001)" in text
    assert "LENSFIELD MEDICAL PRAC., 48 LENSFIELD ROAD, CAMBRIDGE, CAMBRIDGESHIRE, CB2 1EH" in text
    assert (
        "For 2017/18, C&P CCG have allocated £2.00 per patient based on 1 April 2017 registered list sizes "
        "for each GP practice who signs up to this scheme. This practice's list size is 12,731 patients as "
        "at 1 January 2021."
    ) in text


def test_a_stand_in_list_size_is_stated_as_such_with_its_one_date(lensfield):
    text = " ".join(paragraphs(lensfield))
    assert (
        "Stand-in list size: no list size as at 1 April 2017 was available for this practice when this "
        "agreement was issued, so its list size as at 1 January 2021 stands in for it."
    ) in text
    assert "12,731 patients as at 1 January 2021 (stand-in list size)" in text
    # The practice's list size is never said to be of another date.
    assert "12,731 patients as at 1 April 2017" not in text


def test_a_list_size_of_the_schemes_date_is_not_called_a_stand_in():
    practice = dataclasses.replace(LENSFIELD, list_size_date=SCHEME.list_size_date)
    data = CompiledDocx(SECTION7).render(section7_context(practice))
    assert "stand-in" not in " ".join(paragraphs(data)).lower()


def test_section7_follows_the_seeds_sections_and_starts_the_sign_up_page_on_a_new_page(lensfield):
    document = docx.Document(io.BytesIO(lensfield))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "1. Background & Context",
        "2. Introduction to the Quality & Engagement Framework",
        "3. Funding",
        "4. Requirements and Reporting",
        "5. Quality & Engagement Framework Objectives 2017/18 = £2.00 per patient",
        "6. Variations, Dispute Resolution & Termination",
        "Primary Care Quality & Engagement Framework 2017/18",
        "7. Parties to the agreement",
    ]
    sign_up_page = next(p for p in document.paragraphs if p.paragraph_format.page_break_before)
    assert sign_up_page.text == "Primary Care Quality & Engagement Framework 2017/18"


def test_the_instructions_say_one_thing_about_what_to_return(lensfield):
    text = paragraphs(lensfield)
    instruction = (
        "Practices wishing to sign up to the Quality & Engagement Framework are required to sign Section 7 "
        "of this agreement and submit to capccg.enhancedservices@nhs.net by 31 May 2017."
    )
    assert text.count(instruction) == 2  # on the first page and at the head of Section 7
    # Everything else that tells the practice what to return says the same: Section 7.
    returning = [t for t in text if re.search(r"\b(return (it|the|this)|submit to)\b", t, re.IGNORECASE)]
    assert returning and all("Section 7" in t for t in returning), returning
    assert not any("whole agreement" in t for t in text)


def test_the_introduction_gives_the_sessional_rates_and_the_practices_sessions(lensfield):
    text = paragraphs(lensfield)
    assert any("41 clinical sessions a year based on the current GP standard sessional rate of £285" in t
               for t in text)  # fmt: skip
    assert any("practice managers is £87.50 (3.5hrs)" in t for t in text)
    assert "89 sessions at the GP rate of £285.00" in text  # £25,462.00 / £285.00 = 89.3


def test_lensfield_components_are_a_quarter_a_half_and_a_quarter_of_25462_pounds(lensfield):
    assert table_starting(lensfield, "Component", "Rate per patient", "Amount") == [
        ["Engagement", "£0.50", "£6,365.50"],
        ["Demand Management and Improved Quality of Referrals", "£1.00", "£12,731.00"],
        ["Medicines Optimisation", "£0.50", "£6,365.50"],
        ["Total for the year", "£2.00", "£25,462.00"],
    ]


def test_lensfield_instalments_fall_due_in_july_september_and_march(lensfield):
    rows = table_starting(lensfield, "Instalment", "Released when", "Evidence due by", "Amount")
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("First instalment£1.00 per patient", "31 July 2017", "£12,731.00"),
        ("Second instalment£0.50 per patient", "30 September 2017", "£6,365.50"),
        ("Third instalment£0.50 per patient", "31 March 2018", "£6,365.50"),
        ("Total", "", "£25,462.00"),
    ]
    assert rows[1][1] == (
        "Released at the mid-year point on submission of a mid-year report that shows progress against "
        "the action plan."
    )


def test_the_obligations_timetable_and_terms_are_printed(lensfield):
    text = paragraphs(lensfield)
    assert "Component 1: Engagement (£0.50 per patient)" in text
    assert "Practice Nurse Forums" in text  # an obligation's sub-item
    # Obligations are the seed's words, with their bold lead-ins
    assert (
        "Review Meetings: Practice Prescribing Leads to attend Locality Prescribing Meetings three times a "
        "year and meet with members of the MO Team when required to review progress against the action plan."
    ) in text
    # The CCG's commitment is its own paragraph, not one of the practice's obligations
    commitment = next(t for t in text if t.startswith("In addition the CCG will continue"))
    assert "(either via local out of hours provider or directly with practices)" in commitment
    document = docx.Document(io.BytesIO(lensfield))
    assert next(p for p in document.paragraphs if p.text == commitment).style.name == "Normal"
    assert "Termination" in text
    assert [r[:2] for r in table_starting(lensfield, "Milestone", "When", "What happens")] == [
        ["Sign-up (Section 7 returned)", "By 31 May 2017"],
        ["Practice visit booked", "By 31 July 2017"],
        ["Practice visit", "1 May 2017 to 31 July 2017"],
        ["Quality & Engagement action plan", "By 31 July 2017"],
        ["Mid-year report", "1 September 2017 to 30 September 2017"],
        ["Year-end report", "1 March 2018 to 31 March 2018"],
    ]
    assert any("capccg.enhancedservices@nhs.net by 31 May 2017" in t for t in text)


def test_the_practice_leads_table_lists_the_four_roles_with_empty_fields(lensfield):
    assert table_starting(lensfield, "Role", "Name") == [
        ["GP Clinical Representative", "Click or tap to enter text."],
        ["Management Representative", "Click or tap to enter text."],
        ["Practice GP Referral Lead", "Click or tap to enter text."],
        ["Practice GP Prescribing Lead", "Click or tap to enter text."],
    ]


def test_the_footer_carries_the_reference_the_document_id_and_page_x_of_y(lensfield):
    footer = docx.Document(io.BytesIO(lensfield)).sections[0].footer._element
    assert text_of(footer).startswith("Reference: cpccg-qef-2017-18 v1 · D81001 · section7")
    assert "Document id: cpccg-qef-2017-18:v1:D81001:section7" in text_of(footer)
    assert [i.text.strip() for i in footer.iter(qn("w:instrText"))] == ["PAGE", "NUMPAGES"]


def test_the_page_is_a4_in_arial(lensfield):
    document = docx.Document(io.BytesIO(lensfield))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert document.styles["Normal"].font.name == "Arial"


# --- content controls: the fillable fields and the locked issued terms ---------------------------------


def test_every_fillable_field_is_a_plain_text_control_tagged_as_the_context_says(lensfield):
    context = section7_context()
    controls = read_content_controls(lensfield)
    fields = [f["tag"] for f in context["form"]["fields"]]
    assert [tag for tag in controls if tag in fields] == fields
    assert all(controls[tag] == "" for tag in fields)  # showing the placeholder: not yet filled in
    for sdt in sdts(lensfield, fields):
        props = sdt.find(qn("w:sdtPr"))
        assert props.find(qn("w:text")) is not None
        assert props.find(qn("w:showingPlcHdr")) is not None
        assert props.find(qn("w:lock")) is None
        assert props.find(qn("w:alias")).get(qn("w:val"))


def test_the_issued_terms_are_printed_in_locked_controls_that_read_back_exactly(lensfield):
    terms = section7_context()["terms"]
    controls = read_content_controls(lensfield)
    assert {tag: controls[tag] for tag in terms} == terms
    assert controls["term_component_demand_management"] == "£12,731.00"
    assert controls["term_total"] == "£25,462.00"
    assert controls["doc_id"] == "cpccg-qef-2017-18:v1:D81001:section7"
    locked = sdts(lensfield, terms)
    assert sorted({s.find(qn("w:sdtPr")).find(qn("w:tag")).get(qn("w:val")) for s in locked}) == sorted(terms)
    assert {s.find(qn("w:sdtPr")).find(qn("w:lock")).get(qn("w:val")) for s in locked} == {"sdtContentLocked"}


def test_named_leads_from_the_practice_data_arrive_prefilled(section7):
    practice = dataclasses.replace(LENSFIELD, leads=(("gp_prescribing_lead", "Dr Siân O'Connor"),))
    data = section7.render(section7_context(practice))
    controls = read_content_controls(data)
    assert controls["lead_gp_prescribing_lead"] == "Dr Siân O'Connor"
    assert controls["lead_gp_clinical_representative"] == ""
    (prefilled,) = sdts(data, ["lead_gp_prescribing_lead"])
    assert prefilled.find(qn("w:sdtPr")).find(qn("w:showingPlcHdr")) is None


def sdts(data: bytes, tags):
    body = docx.Document(io.BytesIO(data)).element.body
    return [
        s for s in body.iter(qn("w:sdt")) if s.find(qn("w:sdtPr")).find(qn("w:tag")).get(qn("w:val")) in tags
    ]


# --- document identity -----------------------------------------------------------------------------------


def test_custom_properties_identify_the_document_and_its_terms(lensfield, tmp_path):
    context = section7_context()
    expected = {
        "doc_id": "cpccg-qef-2017-18:v1:D81001:section7",
        "terms_digest": context["document"]["terms_digest"],
        "scheme_id": "cpccg-qef-2017-18",
        "scheme_version": "1",
        "practice_code": "D81001",
        "kind": "section7",
        "doc_revision": "1",
    }
    assert read_custom_properties(lensfield) == expected
    saved = tmp_path / "D81001.docx"
    saved.write_bytes(lensfield)
    assert read_custom_properties(saved) == expected
    # Word sees them too: the part is registered in the package
    with zipfile.ZipFile(saved) as package:
        assert b"docProps/custom.xml" in package.read("_rels/.rels")
        assert b"/docProps/custom.xml" in package.read("[Content_Types].xml")


def test_core_properties_name_the_scheme_and_practice(lensfield):
    core = docx.Document(io.BytesIO(lensfield)).core_properties
    assert core.title == "Primary Care Quality & Engagement Framework 2017/18: Section 7 sign-up agreement"
    assert core.subject == "LENSFIELD MEDICAL PRACTICE (D81001)"
    assert core.identifier == "cpccg-qef-2017-18:v1:D81001:section7"


def test_the_same_context_gives_the_same_bytes(section7, lensfield):
    assert section7.render(section7_context()) == lensfield
    assert CompiledDocx(SECTION7).render(section7_context()) == lensfield
    with zipfile.ZipFile(io.BytesIO(lensfield)) as package:
        assert package.testzip() is None
        assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert package.namelist()[0] == "[Content_Types].xml"


def test_another_practice_gets_another_document(section7, lensfield):
    other = INPUTS.data.practices[1]
    data = section7.render(section7_context(other))
    assert data != lensfield
    assert read_custom_properties(data)["practice_code"] == other.code


def test_the_template_is_read_once_rendering_touches_no_file(tmp_path):
    copy = tmp_path / "section7.docx"
    shutil.copy(SECTION7, copy)
    compiled = CompiledDocx(copy)
    assert compiled.sha256 == hashlib.sha256(SECTION7.read_bytes()).hexdigest()
    copy.unlink()
    assert read_custom_properties(compiled.render(section7_context()))["practice_code"] == "D81001"


# --- practice data is data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "{{ 7*7 }} Surgery",
        "{% for x in y %}Health Centre",
        'Smith & Jones <Partners> "The" Doctors\' Surgery',
        "Meddygfa Ŵy a Ŷ 😀",
        "Long Name Medical Practice " * 7 + "X" * (200 - len("Long Name Medical Practice " * 7)),
    ],
    ids=["jinja-expression", "jinja-statement", "xml-specials", "welsh-emoji", "200-chars"],
)
def test_a_hostile_or_unusual_practice_name_is_printed_literally(section7, name):
    data = section7.render(section7_context(dataclasses.replace(LENSFIELD, name=name)))
    text = paragraphs(data)
    assert f"Agreement for {name} (ODS code D81001)" in text
    assert f"{name} (D81001)" in text  # the practice signature block
    assert docx.Document(io.BytesIO(data)).core_properties.subject == f"{name} (D81001)"
    assert "49 Surgery" not in text


def test_characters_xml_cannot_carry_are_dropped_not_fatal(section7):
    data = section7.render(section7_context(dataclasses.replace(LENSFIELD, name="Bell\x07 Surgery\x00")))
    assert "Agreement for Bell Surgery (ODS code D81001)" in paragraphs(data)


def test_docxtpl_literal_brace_escapes_print_braces_and_never_touch_data(tmp_path):
    path = write_template(tmp_path, "Write {_{ name }_} or {_% tag %_}: {{ practice.name }}")
    data = CompiledDocx(path).render(section7_context(dataclasses.replace(LENSFIELD, name="A {_{ B")))
    assert "Write {{ name }} or {% tag %}: A {_{ B" in paragraphs(data)


# --- template errors ------------------------------------------------------------------------------------


def test_a_template_syntax_error_is_reported_with_its_line_before_rendering(tmp_path):
    path = write_template(tmp_path, "Dear colleague,", "Practice: {{ practice.name }", "Yours sincerely")
    with pytest.raises(TemplateError) as caught:
        CompiledDocx(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line == 3  # line 1 opens the document; one paragraph per line after it
    assert str(error).startswith(f"{path}:3: template syntax error in word/document.xml, line 3")
    assert "Practice: {{ practice.name }" in str(error)


def test_a_misspelt_variable_is_a_template_error_naming_it_and_the_template(tmp_path):
    path = write_template(tmp_path, "Dear colleague,", "Practice: {{ practice.nmae }}")
    compiled = CompiledDocx(path)  # it compiles: spelling is only known against a context
    with pytest.raises(TemplateError) as caught:
        compiled.render(section7_context())
    error = caught.value
    assert error.field == "practice.nmae"
    assert error.path == str(path)
    assert error.line == 3
    assert "the template uses 'practice.nmae', which the context does not provide" in str(error)


def test_the_sandbox_refuses_python_internals(tmp_path):
    path = write_template(tmp_path, "{{ practice.__class__.__mro__ }}")
    with pytest.raises(TemplateError, match="sandbox forbids"):
        CompiledDocx(path).render(section7_context())


def test_a_document_that_cannot_be_built_is_a_render_error_naming_the_practice(tmp_path):
    path = write_template(tmp_path, "{{ practice.name }}")
    context = section7_context()
    context["document"] = {**context["document"], "id": "bad\x01id"}  # cannot go into the custom properties
    with pytest.raises(RenderError, match="could not render the DOCX for practice D81001"):
        CompiledDocx(path).render(context)


def test_a_missing_or_non_docx_template_is_a_template_error(tmp_path):
    with pytest.raises(TemplateError, match="cannot read the template: not found"):
        CompiledDocx(tmp_path / "nope.docx")
    (tmp_path / "notes.docx").write_text("not a zip")
    with pytest.raises(TemplateError, match=r"not a Word \.docx template"):
        CompiledDocx(tmp_path / "notes.docx")


# --- check-template ----------------------------------------------------------------------------------


def test_template_variables_resolve_loop_variables_to_their_lists():
    used = template_variables(SECTION7)
    assert {
        "practice.name",
        "components[].title",
        "components[].obligations[].items[]",
        "leads[].tag",
    } <= used
    assert {"instalments[].term_tag", "signatories[].fields[].label", "terms.term_total"} <= used
    assert not any(path.startswith(("c.", "lead.", "i.")) for path in used)


def test_the_shipped_template_uses_only_what_the_context_provides():
    context = build_section7(SCHEME, example_practice(SCHEME))
    assert check_template(SECTION7, context).missing == []


def test_check_template_reports_a_missing_variable_and_the_unused_ones(tmp_path):
    path = write_template(
        tmp_path,
        "{{ practice.nmae }} {{ practice.name }}",
        "{%p for c in components %}",
        "{{ c.title }}: {{ c.amount }}",
        "{%p endfor %}",
    )
    check = check_template(path, section7_context())
    assert check.missing == ["practice.nmae"]
    assert {"total", "components[].rate", "practice.code", "scheme.title", "terms"} <= set(check.unused)
    assert not {"practice.name", "components[].title", "components[].amount"} & set(check.unused)


# --- any scheme's shape ----------------------------------------------------------------------------------


NURSE_LEAD = "  - id: nurse_lead\n    title: Practice Nurse Lead\n"
THIRD_INSTALMENT = """\
    - id: third
      title: Third instalment
      rate_per_patient: 0.50
      trigger: Released on completion of the scheme and submission of a final year-end report.
      evidence: [year_end_report]
      due: 2018-03-31
      due_basis: "Section 4: the final year-end report is in March 2018."
"""


def test_the_template_follows_the_schemes_number_of_leads_and_instalments(section7, write_scheme):
    prescribing = "  - id: gp_prescribing_lead\n    title: Practice GP Prescribing Lead\n"
    second = "    - id: second\n      title: Second instalment\n      rate_per_patient: 0.50"
    path = write_scheme(
        (prescribing, prescribing + NURSE_LEAD),
        (second, second.replace("Second", "Final").replace("0.50", "1.00")),
        (THIRD_INSTALMENT, ""),
        ("    second: 2900.00\n    third: 2900.00\n", "    second: 5800.00\n"),
        provenance=False,  # a different scheme: the QEF's quotes no longer describe it
    )
    scheme = load_inputs(path, []).scheme
    data = section7.render(section7_context(scheme=scheme))
    assert [r[0] for r in table_starting(data, "Role", "Name")][-1] == "Practice Nurse Lead"
    assert read_content_controls(data)["lead_nurse_lead"] == ""
    rows = table_starting(data, "Instalment", "Released when", "Evidence due by", "Amount")
    assert [(r[0], r[3]) for r in rows] == [
        ("First instalment£1.00 per patient", "£12,731.00"),
        ("Final instalment£1.00 per patient", "£12,731.00"),
        ("Total", "£25,462.00"),
    ]


# --- reading returned files defensively --------------------------------------------------------------


def test_reading_something_that_is_not_a_docx_is_an_agreementgen_error(tmp_path):
    with pytest.raises(AgreementgenError, match="not a DOCX file"):
        read_content_controls(b"%PDF-1.7 not a docx")
    with pytest.raises(AgreementgenError, match="cannot read the file"):
        read_custom_properties(tmp_path / "missing.docx")


def test_an_entity_expansion_attack_is_refused_unexpanded(lensfield):
    lol = (
        '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        '<w:sdt><w:sdtPr><w:tag w:val="term_total"/></w:sdtPr><w:sdtContent><w:r><w:t>&i;</w:t></w:r>'
        "</w:sdtContent></w:sdt></w:body></w:document>"
    )
    attacked = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(lensfield)) as source, zipfile.ZipFile(attacked, "w") as target:
        for info in source.infolist():
            data = lol.encode() if info.filename == "word/document.xml" else source.read(info)
            target.writestr(info, data)
    with pytest.raises(AgreementgenError, match="declares a DTD or entities"):
        read_content_controls(attacked.getvalue())


def test_a_part_that_would_unpack_too_large_is_refused(lensfield):
    bomb = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(lensfield)) as source,
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename == "word/document.xml":
                target.writestr("word/document.xml", b" " * (33 * 1024 * 1024))
            else:
                target.writestr(info, source.read(info))
    with pytest.raises(AgreementgenError, match="would unpack to"):
        read_content_controls(bomb.getvalue())


# --- LibreOffice ---------------------------------------------------------------------------------------


def test_libreoffice_converts_the_agreement_to_a_pdf(lensfield, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if in_ci():
            pytest.fail("LibreOffice (soffice) is not installed; CI must have it")
        pytest.skip("LibreOffice (soffice) is not installed: cannot check the DOCX converts")
    source = tmp_path / "D81001.docx"
    source.write_bytes(lensfield)
    profile = tmp_path / "lo-profile"  # a private profile: other soffice runs cannot lock ours
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    pdf = tmp_path / "D81001.pdf"
    assert result.returncode == 0 and pdf.is_file(), result.stderr
    reader = PdfReader(pdf)
    first = reader.pages[0].extract_text()
    assert "LENSFIELD MEDICAL PRACTICE" in first
    assert f"Page 1 of {len(reader.pages)}" in first
    assert "£25,462.00" in first
    assert 3 <= len(reader.pages) <= 7
