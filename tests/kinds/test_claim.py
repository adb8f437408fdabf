"""Quarterly activity claim forms: generated per practice per quarter, filled, ingested as activity."""

from __future__ import annotations

from datetime import date

import pytest
from pypdf import PdfReader

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.ingest import ingest
from agreementgen.kinds.claim import build_claim_contexts
from agreementgen.records import Records
from agreementgen.render.docx import read_content_controls
from agreementgen.simulate import fill_pdf
from agreementgen.validation import load_service_inputs
from conftest import ROOT, SCHEMES, pdftk_fill

CLAIMANT = {
    "practice_signatory_name": "Jo Bloggs",
    "practice_signatory_designation": "Practice Manager",
    "practice_signature": "J. Bloggs",
    "practice_signature_date": date.today().strftime("%d %B %Y"),
}


@pytest.fixture(scope="module")
def les(tmp_path_factory):
    base = tmp_path_factory.mktemp("les")
    practices = (
        "code,name,postcode,list_size\nD81001,Lensfield,CB2 1EH,12731\nD81002,Huntingdon Road,CB3 0DB,9000\n"
    )
    signups = (
        "practice_code,service,planned\n"
        "D81001,wound_care,1800\nD81001,ring_pessary,40\nD81002,phlebotomy,900\n"
    )
    (base / "p.csv").write_text(practices, encoding="utf-8")
    (base / "s.csv").write_text(signups, encoding="utf-8")
    return load_service_inputs(SCHEMES / "cpccg-les-2017-18.yaml", [base / "p.csv"], [base / "s.csv"])


@pytest.fixture
def issued(les, tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    options = RunOptions(out_dir=tmp_path / "out", templates_dir=ROOT / "templates", kinds=("claim",),
                         formats=("pdf",), jobs=1, db_url=url, signups=les.signups)  # fmt: skip
    report = bulk.run(les.scheme, les.data.practices, options)
    assert len(report.files) == 8 and not report.failures  # 2 practices × 4 quarters
    return tmp_path / "out", Records.open(url)


def test_quarters_follow_the_financial_year(les):
    assert [les.scheme.quarter(q) for q in (1, 4)] == [
        (date(2017, 4, 1), date(2017, 6, 30)), (date(2018, 1, 1), date(2018, 3, 31)),
    ]  # fmt: skip


def test_a_claim_form_lists_only_the_practices_activity_services_with_count_fields(les):
    contexts = build_claim_contexts(les.scheme, les.data.by_code()["D81001"], les.signups)
    assert [c["document"]["kind"] for c in contexts] == ["claim_q1", "claim_q2", "claim_q3", "claim_q4"]
    q1 = contexts[0]
    assert [s["id"] for s in q1["services"]] == ["ring_pessary", "wound_care"]
    assert q1["terms"]["term_service_ring_pessary_tariff"] == "£25.76"  # £25.50 + 1%
    assert q1["terms"]["term_service_wound_care_cap"] == "1,500"
    assert q1["terms"]["term_quarter"] == "Quarter 1 2017/18 (1 April 2017 to 30 June 2017)"
    assert [f["tag"] for f in q1["form"]["fields"]][:2] == ["count_ring_pessary", "count_wound_care"]


def test_a_claim_filled_by_pdftk_is_ingested_with_its_counts(issued, tmp_path):
    out, records = issued
    values = {**CLAIMANT, "count_ring_pessary": "12", "count_wound_care": "1,204"}
    inbox = tmp_path / "inbox"
    pdftk_fill(out / "D81001" / "claim_q2.pdf", values, inbox / "q2.pdf")
    (outcome,) = ingest([inbox], records).files
    assert (outcome.status, outcome.reasons) == ("accepted", ())
    assert [(a["quarter"], a["service"], a["count"]) for a in records.activity_for("cpccg-les-2017-18")] == [
        (2, "ring_pessary", 12), (2, "wound_care", 1204),
    ]  # fmt: skip
    fields_now = {k: str(v.get("/V", "")) for k, v in PdfReader(inbox / "q2.pdf").get_fields().items()}
    assert fields_now["count_wound_care"] == "1,204"


@pytest.mark.parametrize(
    ("counts", "reason"),
    [
        (
            {"count_ring_pessary": "-3", "count_wound_care": "0"},
            "count_ring_pessary '-3' is not a whole number",
        ),
        (
            {"count_ring_pessary": "twelve", "count_wound_care": "0"},
            "count_ring_pessary 'twelve' is not a whole",
        ),
        (
            {"count_ring_pessary": "2.5", "count_wound_care": "0"},
            "count_ring_pessary '2.5' is not a whole number",
        ),
        (
            {"count_ring_pessary": "1", "count_wound_care": "1501"},
            "count_wound_care 1,501 is over the cap of 1,500",
        ),
        ({"count_ring_pessary": "1"}, "required entries missing: count_wound_care"),
    ],
)
def test_a_bad_count_is_flagged_and_records_no_activity(issued, tmp_path, counts, reason):
    out, records = issued
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "claim.pdf").write_bytes(
        fill_pdf((out / "D81001" / "claim_q1.pdf").read_bytes(), {**CLAIMANT, **counts})
    )
    (outcome,) = ingest([inbox], records).files
    assert outcome.status == "flagged"
    assert any(reason in r for r in outcome.reasons), outcome.reasons
    assert records.activity_for() == []


def test_a_newer_claim_for_the_same_quarter_supersedes_the_older(issued, tmp_path):
    out, records = issued
    form = (out / "D81002" / "claim_q3.pdf").read_bytes()
    for name, count in (("first", "100"), ("corrected", "120")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "q3.pdf").write_bytes(fill_pdf(form, {**CLAIMANT, "count_phlebotomy": count}))
        (outcome,) = ingest([folder], records).files
        assert outcome.status == "accepted"
    assert [(a["quarter"], a["count"]) for a in records.activity_for()] == [(3, 120)]
    rows = records.returns_for()
    assert rows[0]["superseded_by"] == rows[1]["id"]


def test_a_per_capita_scheme_has_no_claim_forms(tmp_path):
    from agreementgen.errors import AgreementgenError
    from agreementgen.validation import load_inputs
    from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF

    inputs = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H])
    with pytest.raises(AgreementgenError, match="a claim document is not made from a per-capita scheme"):
        options = RunOptions(out_dir=tmp_path, templates_dir=ROOT / "templates", kinds=("claim",))
        bulk.run(inputs.scheme, inputs.data.practices[:1], options)


def test_a_claim_form_comes_in_word_too_with_its_counts_and_declaration_as_controls(les, tmp_path):
    options = RunOptions(out_dir=tmp_path / "out", templates_dir=ROOT / "templates", kinds=("claim",),
                         jobs=1, db_url=f"sqlite:///{tmp_path / 'r.db'}", signups=les.signups)  # fmt: skip
    report = bulk.run(les.scheme, les.data.practices, options)
    assert sorted({f.format for f in report.files}) == ["docx", "pdf"] and len(report.files) == 16
    controls = read_content_controls(tmp_path / "out" / "D81001" / "claim_q3.docx")
    assert controls["count_ring_pessary"] == controls["count_wound_care"] == ""
    assert controls["term_service_wound_care_cap"] == "1,500"
    assert {"practice_signatory_name", "practice_signature", "practice_signature_date"} <= set(controls)


def test_a_count_for_a_service_not_on_the_practices_form_is_flagged():
    from agreementgen.ingest import _count_problems

    problems = _count_problems(
        {"count_ring_pessary": "3", "count_phlebotomy": "40"},
        {"term_service_ring_pessary_tariff": "£25.76"},
        ["count_ring_pessary", "practice_signatory_name"],
    )
    assert problems == ["count_phlebotomy: phlebotomy is not a service on this practice's claim form"]
