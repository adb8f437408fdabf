"""Scheme specs: the shipped QEF encodes seed 001, and a bad spec gets every error with its line."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from agreementgen.errors import ProblemsFound, SchemeError
from agreementgen.scheme import Scheme, load_scheme
from agreementgen.validation import load_any_scheme, load_checked_scheme
from conftest import QEF, SCHEMES, line_of


@pytest.mark.parametrize("path", sorted(SCHEMES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scheme_validates(path: Path):
    scheme = load_any_scheme(path)
    assert scheme.id == path.stem


def test_the_qef_encodes_the_seed():
    s = load_checked_scheme(QEF)
    assert s.commissioner.name == "Cambridgeshire & Peterborough CCG"
    assert s.commissioner.return_email == "capccg.enhancedservices@nhs.net"
    assert (s.year_start, s.year_end) == (date(2017, 4, 1), date(2018, 3, 31))
    assert s.list_size_date == date(2017, 4, 1)
    assert s.sign_up_deadline == date(2017, 5, 31)
    assert s.rate_per_patient == Decimal("2.00")
    assert [(c.title, c.rate_per_patient) for c in s.components] == [
        ("Engagement", Decimal("0.50")),
        ("Demand Management and Improved Quality of Referrals", Decimal("1.00")),
        ("Medicines Optimisation", Decimal("0.50")),
    ]
    assert [(i.id, i.rate_per_patient, i.evidence) for i in s.instalments] == [
        ("first", Decimal("1.00"), ["sign_up", "visit_booked", "action_plan"]),
        ("second", Decimal("0.50"), ["mid_year_report"]),
        ("third", Decimal("0.50"), ["year_end_report"]),
    ]
    assert [r.title for r in s.practice_leads] == [
        "GP Clinical Representative",
        "Management Representative",
        "Practice GP Referral Lead",
        "Practice GP Prescribing Lead",
    ]
    assert [(r.role, r.rate, r.hours) for r in s.sessional_rates] == [
        ("GP", Decimal("285.00"), Decimal("3.5")),
        ("Practice nurse / practice manager", Decimal("87.50"), Decimal("3.5")),
    ]
    assert [sig.party for sig in s.signatories] == ["practice", "commissioner"]
    assert s.signatories[0].fields == ["name", "designation", "practice", "signature", "date"]
    assert s.reconciliation.non_delivery == "clawback"
    assert s.reconciliation.proportional_payment == "discretionary"
    assert [t.id for t in s.terms] == ["variations_and_disputes", "termination"]
    assert [(e.item, e.printed_in) for e in s.provenance.items if e.illustrative] == [
        ("reconciliation.late_evidence", ["statement"]),
        ("reconciliation.no_sign_up", ["statement"]),
        ("reconciliation.closed_or_merged", ["statement"]),
    ]


def test_yaml_decimals_are_exact_not_floats():
    s = load_scheme(QEF)
    assert isinstance(s.components[0].rate_per_patient, Decimal)
    assert str(s.components[0].rate_per_patient) == "0.50"


def problems_of(path: Path) -> list[SchemeError]:
    with pytest.raises(ProblemsFound) as info:
        load_checked_scheme(path)
    return info.value.problems  # type: ignore[return-value]


def test_components_not_summing_to_the_rate_name_the_line(write_scheme):
    path = write_scheme(
        ("      rate_per_patient: 1.00\n      overview", "      rate_per_patient: 1.10\n      overview")
    )
    [problem] = problems_of(path)
    assert problem.path == str(path)
    assert problem.field == "funding.components"
    assert problem.line == line_of(path, "  components:")
    assert "components rates sum to £2.10 per patient (0.50 + 1.10 + 0.50)" in problem.message
    assert "scheme rate is £2.00" in problem.message


def test_an_unknown_key_is_rejected_with_its_line(write_scheme):
    path = write_scheme(
        ("sign_up_deadline: 2017-05-31", "sign_up_deadline: 2017-05-31\nsignup_deadlin: 2017-05-30")
    )
    [problem] = problems_of(path)
    assert problem.field == "signup_deadlin"
    assert problem.line == line_of(path, "signup_deadlin")
    assert "unknown key" in problem.message


def test_a_date_outside_the_financial_year_is_rejected(write_scheme):
    path = write_scheme(("sign_up_deadline: 2017-05-31", "sign_up_deadline: 2018-05-31"))
    [problem] = problems_of(path)
    assert problem.field == "sign_up_deadline"
    assert problem.line == line_of(path, "sign_up_deadline: 2018-05-31")
    assert "outside the financial year 2017/18 (2017-04-01 to 2018-03-31)" in problem.message


def test_a_date_that_is_not_a_date_is_rejected(write_scheme):
    path = write_scheme(("list_size_date: 2017-04-01", "list_size_date: 2017-02-31"))
    [problem] = problems_of(path)
    assert problem.field == "list_size_date"
    assert problem.line == line_of(path, "list_size_date: 2017-02-31")


def test_every_field_error_is_reported_not_just_the_first(write_scheme):
    path = write_scheme(
        ("short_title: Quality & Engagement Framework", "short_titel: Q&E"),
        ("      title: Engagement\n", "      title: Engagement\n      colour: blue\n"),
        ("  return_email: capccg.enhancedservices@nhs.net", "  return_email: not-an-email"),
    )
    problems = problems_of(path)
    fields = {p.field for p in problems}
    assert {
        "short_title",
        "short_titel",
        "funding.components.0.colour",
        "commissioner.return_email",
    } <= fields
    assert all(p.line for p in problems)


def test_instalment_evidence_must_name_a_milestone(write_scheme):
    path = write_scheme(("evidence: [mid_year_report]", "evidence: [midyear_report]"))
    [problem] = problems_of(path)
    assert problem.field == "funding.instalments.1.evidence.0"
    assert "'midyear_report' is not a milestone id" in problem.message


def test_duplicate_ids_and_duplicate_keys_are_errors(write_scheme):
    path = write_scheme(("    - id: second\n", "    - id: first\n"))
    problems = problems_of(path)
    assert any(
        p.field == "funding.instalments.1.id" and "id 'first' is used twice (first at item 0)" in p.message
        for p in problems
    )
    path = write_scheme(
        ("list_size_date: 2017-04-01", "list_size_date: 2017-04-01\nlist_size_date: 2017-04-02")
    )
    [problem] = problems_of(path)
    assert "duplicate key 'list_size_date'" in problem.message
    assert problem.line == line_of(path, "list_size_date: 2017-04-02")


def test_a_worked_example_that_disagrees_with_the_rates_is_an_error(write_scheme):
    path = write_scheme(("    GP: 41", "    GP: 40"))
    example, quoted = problems_of(path)
    assert example.field == "worked_example.sessions.GP"
    assert "states 40 GP sessions but £11,600.00 funds 41 at £285.00" in example.message
    # and the source's words no longer show the figure the spec claims they show
    assert quoted.message.startswith("provenance of worked_example.sessions.GP: the quote does not show 40")


def test_a_verbatim_text_altered_in_the_spec_is_an_error_at_its_provenance_line(write_scheme):
    path = write_scheme(("PDMA's were historically established", "PDMA's were originally established"))
    [problem] = problems_of(path)
    assert problem.field == "provenance.items.8.verbatim"
    assert problem.line == line_of(path, "- item: background") + 3
    assert "provenance of background: claimed verbatim, but this text is not in the source" in problem.message
    assert "originally established" in problem.message


def test_a_quote_altered_in_the_provenance_is_an_error(write_scheme):
    path = write_scheme(('have allocated £2.00 per patient"', 'have allocated £2.50 per patient"'))
    problems = problems_of(path)
    assert [p.field for p in problems] == ["provenance.items.10.quote"]
    assert (
        "the quote is not in the source: 'For 2017/18, C&P CCG have allocated £2.50 per patient'"
        in problems[0].message
    )


def test_yaml_syntax_errors_and_missing_files_say_where(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(SchemeError) as info:
        load_scheme(bad)
    assert info.value.line is not None and "YAML syntax" in info.value.message
    with pytest.raises(SchemeError, match="file not found"):
        load_scheme(tmp_path / "missing.yaml")


def test_a_float_rate_built_in_python_is_refused():
    data = load_scheme(QEF).model_dump()
    data["funding"]["rate_per_patient"] = 2.0
    with pytest.raises(Exception, match="float"):
        Scheme.model_validate(data)


def test_instalments_can_be_shares_of_the_rate(write_scheme):
    path = write_scheme(
        ("      rate_per_patient: 1.00\n      trigger", "      share: 0.5\n      trigger"),
        ("      rate_per_patient: 0.50\n      trigger: >-\n        Released at the mid",
         "      share: 0.25\n      trigger: >-\n        Released at the mid"),
    )  # fmt: skip
    scheme = load_checked_scheme(path)
    assert [scheme.instalment_rate(i) for i in scheme.instalments] == [
        Decimal("1.000"),
        Decimal("0.500"),
        Decimal("0.50"),
    ]


def test_an_instalment_needs_exactly_one_of_rate_or_share(write_scheme):
    path = write_scheme(
        (
            "      rate_per_patient: 1.00\n      trigger",
            "      share: 0.5\n      rate_per_patient: 1.00\n      trigger",
        )
    )
    [problem] = problems_of(path)
    assert problem.field == "funding.instalments.0"
    assert problem.message == "give exactly one of rate_per_patient or share"
    path = write_scheme(
        ("      rate_per_patient: 1.00\n      trigger", "      share: 0.4\n      trigger"), name="b.yaml"
    )
    [problem] = problems_of(path)
    assert "instalments rates sum to £1.800 per patient" in problem.message
