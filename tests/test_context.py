"""The template context: finished figures, stable ids and tags, documented variables."""

import dataclasses
import json

import pytest

from agreementgen.context import (
    display_name,
    document_id,
    documented_paths,
    example_practice,
    leaf_paths,
    parse_document_id,
    terms_digest,
)
from agreementgen.kinds import KINDS
from agreementgen.kinds.section7 import VARIABLES, section7_context
from agreementgen.validation import load_inputs
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT, empty_lists_aside

INPUTS = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
SCHEME = INPUTS.scheme
LENSFIELD = INPUTS.data.by_code()["D81001"]


def ctx(practice=LENSFIELD):
    return section7_context(SCHEME, practice)


def test_the_example_practice_of_5800_patients_gets_the_seed_figures():
    c = section7_context(SCHEME, example_practice(SCHEME))
    assert c["total"] == "£11,600.00" and c["total_plain"] == "11600.00"
    assert [x["amount"] for x in c["components"]] == ["£2,900.00", "£5,800.00", "£2,900.00"]
    assert [x["amount"] for x in c["instalments"]] == ["£5,800.00", "£2,900.00", "£2,900.00"]
    assert [x["rate"] for x in c["components"]] == ["£0.50", "£1.00", "£0.50"]
    assert c["scheme"]["sessional_rates"][0] == {"role": "GP", "rate": "£285.00", "hours": "3.5"}
    assert c["practice"]["sessions_funded"] == [
        {"role": "GP", "rate": "£285.00", "sessions": 41},
        {"role": "Practice nurse / practice manager", "rate": "£87.50", "sessions": 133},
    ]


def test_everything_under_scheme_is_the_same_for_every_practice():
    # The PDF renderer lays out scheme-wide blocks once per scheme, keyed on ``scheme``.
    small, large = (
        section7_context(SCHEME, dataclasses.replace(example_practice(SCHEME), list_size=n))
        for n in (100, 50_000)
    )
    assert small["scheme"] == large["scheme"]
    assert small["commissioner"] == large["commissioner"]


def test_a_real_practice_gets_its_own_figures_and_dates():
    c = ctx()
    assert c["practice"]["name"] == "LENSFIELD MEDICAL PRACTICE"
    assert c["practice"]["list_size_text"] == "12,731"
    assert c["practice"]["list_size_date"] == "1 January 2021"
    assert c["instalments"][1]["due"] == "30 September 2017"
    assert c["instalments"][0]["evidence"] == [
        "Sign-up (Section 7 returned)", "Practice visit booked", "Quality & Engagement action plan",
    ]  # fmt: skip
    assert c["scheme"]["sign_up_deadline"] == "31 May 2017"
    assert c["commissioner"]["return_email"] == "capccg.enhancedservices@nhs.net"


def test_the_context_is_plain_json():
    c = ctx()
    assert json.loads(json.dumps(c)) == c


def test_document_ids_are_stable_and_parse_back():
    doc_id = document_id(SCHEME, "D81001", "section7")
    assert doc_id == "cpccg-qef-2017-18:v1:D81001:section7" == ctx()["document"]["id"]
    assert parse_document_id(doc_id) == ("cpccg-qef-2017-18", "1", "D81001", "section7")
    assert parse_document_id("not an id") is None


def test_fillable_field_tags_are_the_four_leads_and_the_signatures():
    tags = [f["tag"] for f in ctx()["form"]["fields"] if f["party"] == "practice"]
    assert tags == [
        "lead_gp_clinical_representative", "lead_management_representative", "lead_gp_referral_lead",
        "lead_gp_prescribing_lead", "practice_signatory_name", "practice_signatory_designation",
        "practice_signature", "practice_signature_date",
    ]  # fmt: skip


def test_changing_any_issued_term_changes_the_digest():
    base = ctx()
    assert base["document"]["terms_digest"] == terms_digest(base["terms"])
    bigger = ctx(dataclasses.replace(LENSFIELD, list_size=12_732))
    assert bigger["terms"]["term_total"] == "£25,464.00"
    assert bigger["document"]["terms_digest"] != base["document"]["terms_digest"]
    renamed = ctx(dataclasses.replace(LENSFIELD, name="Other name"))
    assert renamed["document"]["terms_digest"] == base["document"]["terms_digest"]  # a name is not a term


def test_named_leads_from_the_practice_file_are_prefilled():
    c = ctx(dataclasses.replace(LENSFIELD, leads=(("gp_referral_lead", "Dr Siân Ôwen"),)))
    assert {lead["tag"]: lead["value"] for lead in c["leads"]}["lead_gp_referral_lead"] == "Dr Siân Ôwen"


def test_every_context_variable_is_documented_and_every_documented_one_exists():
    provided, documented = empty_lists_aside(leaf_paths(ctx()), documented_paths(VARIABLES))
    assert provided == documented
    assert "scheme.illustrative[].label" in documented_paths(VARIABLES)


def test_the_readme_lists_every_documented_variable_of_every_kind():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for kind in KINDS.values():
        for spec, meaning in kind.variables.items():
            assert f"| `{spec}` | {meaning} |" in readme, (kind.name, spec)


@pytest.mark.parametrize(
    ("ods_name", "shown"),
    [
        ("LENSFIELD MEDICAL PRACTICE", "Lensfield Medical Practice"),
        ("ST. JOHN'S SURGERY", "St. John's Surgery"),
        ("O'BRIEN & PARTNERS", "O'Brien & Partners"),
        ("THE NHS GP PRACTICE AT THE MILL", "The NHS GP Practice at the Mill"),
        ("DR SMITH AND PARTNERS LTD", "Dr Smith and Partners Ltd"),
        ("Café Surgery (Ŵyn)", "Café Surgery (Ŵyn)"),  # not all capitals: kept as the data has it
    ],
)
def test_a_practice_name_in_capitals_is_displayed_as_a_person_writes_it(ods_name, shown):
    assert display_name(ods_name) == shown
