"""A service scheme's year end, end to end: SLAs and claims issued, signed and ingested, files from
the team and finance, then a statement per practice and a schedule that adds up."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.cli import app
from agreementgen.ingest import ingest
from agreementgen.money import Money
from agreementgen.records import Records
from agreementgen.simulate import fill_pdf
from agreementgen.statements import statements
from agreementgen.validation import load_service_inputs
from agreementgen.yearend import load_year_end
from conftest import DATA, QEF, ROOT, SCHEMES, pdftk_fill

LES = SCHEMES / "cpccg-les-2017-18.yaml"
SIGNATORY = {
    "practice_signatory_name": "Dr Siân Ôwen",
    "practice_signatory_designation": "Senior Partner",
    "practice_signature": "S. Ôwen",
    "practice_signature_date": date.today().strftime("%d/%m/%Y"),  # forms are issued today
}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def year_end(tmp_path_factory):
    """Lensfield (D81001) signs its SLA and claims Q1 on the form (verified and approved); Huntingdon
    Road (D81002) never signs, but finance paid it £350.00 for phlebotomy all the same."""
    base = tmp_path_factory.mktemp("les-year-end")
    practices = write(
        base / "practices.csv",
        "code,name,postcode,list_size\nD81001,Lensfield,CB2 1EH,12731\nD81002,Huntingdon Road,CB3 0DB,9000\n",
    )
    signups = write(
        base / "signups.csv",
        "practice_code,service,planned\nD81001,wound_care,1800\nD81001,ring_pessary,40\n"
        "D81002,phlebotomy,900\n",
    )
    inputs = load_service_inputs(LES, [practices], [signups])
    url = f"sqlite:///{base / 'records.db'}"
    options = RunOptions(out_dir=base / "out", templates_dir=ROOT / "templates", kinds=("sla", "claim"),
                         formats=("pdf",), jobs=1, db_url=url, signups=inputs.signups)  # fmt: skip
    assert not bulk.run(inputs.scheme, inputs.data.practices, options).failures
    inbox = base / "inbox"
    inbox.mkdir()
    for service in ("ring_pessary", "wound_care"):  # an SLA for each service
        sla = (base / "out" / "D81001" / f"sla_{service}.pdf").read_bytes()
        (inbox / f"sla_{service}.pdf").write_bytes(fill_pdf(sla, SIGNATORY))
    values = {**SIGNATORY, "count_ring_pessary": "10", "count_wound_care": "400"}
    pdftk_fill(base / "out" / "D81001" / "claim_q1.pdf", values, inbox / "q1.pdf")
    records = Records.open(url)
    outcomes = ingest([inbox], records).files
    assert [(o.status, o.reasons) for o in outcomes] == [("accepted", ())] * 3
    # The LES's claims need two-level approval: the Q1 claim is verified, then approved by another person.
    claim = "cpccg-les-2017-18:v1:D81001:claim_q1"
    records.decide_claim(claim, 1, "yes", "", "Olu Officer")
    records.decide_claim(claim, 2, "yes", "", "Ana Approver")
    files = {
        "activity": write(
            base / "activity.csv",
            "practice_code,service,quarter,count\nD81001,ring_pessary,Q2,12\nD81001,ring_pessary,Q3,9\n"
            "D81001,ring_pessary,Q4,11\nD81001,wound_care,2,420\nD81001,wound_care,3,380\n"
            "D81001,wound_care,4,410\n",
        ),
        "paid": write(
            base / "paid.csv",
            "practice_code,service,amount,date\nD81001,ring_pessary,798.56,2018-01-31\n"
            "D81001,wound_care,"
            '"26,840.00",2018-01-31\nD81002,phlebotomy,350.00,2017-10-31\n',
        ),
        "decisions": write(
            base / "decisions.csv",
            "practice_code,service,percentage,reason\nD81001,wound_care,90,two dressing audits late\n",
        ),
    }
    args = ["statements", "-s", str(LES), "-p", str(practices), "--signups", str(signups), "--db", url,
            "--out", str(base / "statements"), "--schedule", str(base / "schedule.csv")]  # fmt: skip
    for option, path in files.items():
        args += [f"--{option}", str(path)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    return base, result


def pdf_text(path: Path) -> str:
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages).replace(
        "\n", " "
    )


def test_the_statements_command_reconciles_a_service_scheme_and_the_schedule_adds_up(year_end):
    base, result = year_end
    assert result.exit_code == 0, result.output
    assert "2 statements" in result.output
    assert "check: the schedule's net total equals the sum of the 2 statement balances" in result.output
    budget = "budget: £30,781.92 earned after adjustments, 1.2% of the £2,500,000.00 envelope (illustrative)"
    assert budget in result.output
    rows = list(csv.reader((base / "schedule.csv").open(encoding="utf-8-sig")))
    by_code = {r[0]: r for r in rows[1:]}
    # Lensfield: ring pessary 42 × £25.76 = £1,081.92; wound care 1,500 (cap) × £22 = £33,000.00,
    # kept at 90% (−£3,300.00); paid £27,638.56 → £3,143.36 due
    assert by_code["D81001"][2:] == ["34030.40", "34081.92", "-3300.00", "27638.56", "3143.36", "0"]
    # Huntingdon Road never signed its SLA: nothing earned, the £350.00 paid is to be recovered
    assert by_code["D81002"][2:] == ["3150.00", "0.00", "0.00", "350.00", "0", "350.00"]
    assert by_code["TOTAL"][6:] == ["3143.36", "350.00"]


def test_a_service_statement_shows_each_service_its_basis_and_the_reasons(year_end):
    base, _ = year_end
    text = pdf_text(base / "statements" / "D81001" / "statement.pdf")
    for words in (
        "Local Enhanced Services 2017/18",
        "Service and basis",
        "42 procedures claimed (Q1 10, Q2 12, Q3 9, Q4 11) × £25.76 per procedure; SLA signed "
        + date.today().strftime("%d/%m/%Y"),
        "1,610 episodes claimed (Q1 400, Q2 420, Q3 380, Q4 410), 1,500 paid × £22.00 per episode",
        "110 units over the cap of 1,500 are not paid",
        "proportional payment of 90%: two dressing audits late",
        "£3,143.36 is due to the practice",
        "activity: ",
    ):
        assert words in text, words
    unsigned = pdf_text(base / "statements" / "D81002" / "statement.pdf")
    assert "no samples claimed (£3.50 per sample); SLA not signed" in unsigned
    assert (
        "No signed Phlebotomy for secondary care requests Service Level Agreement 2017/18: no payment"
        in unsigned
    )
    assert "£350.00 is to be repaid by the practice" in unsigned


def test_the_word_statement_of_a_service_scheme_has_the_same_figures(year_end):
    base, _ = year_end
    word = docx.Document(base / "statements" / "D81001" / "statement.docx")
    cells = [c.text for t in word.tables for r in t.rows for c in r.cells]
    assert "Service and basis" in cells and "£1,081.92" in cells and "-£3,300.00" in cells
    assert any("£3,143.36 is due to the practice" in p.text for p in word.paragraphs)


def test_service_only_inputs_are_refused_for_a_per_capita_scheme(tmp_path):
    activity = write(tmp_path / "a.csv", "practice_code,service,quarter,count\n")
    result = CliRunner().invoke(
        app,
        [
            "statements",
            "-s",
            str(QEF),
            "-p",
            str(tmp_path / "none.csv"),
            "--out",
            str(tmp_path / "o"),
            "--activity",
            str(activity),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert "--activity apply to service schemes" in result.output


def test_a_row_in_the_activity_file_replaces_that_quarters_claim_on_record(year_end):
    base, _ = year_end
    inputs = load_service_inputs(LES, [base / "practices.csv"], [base / "signups.csv"])
    records = Records.open(f"sqlite:///{base / 'records.db'}")
    claimed = load_year_end(inputs.scheme, inputs.data.practices, records=records, signups=inputs.signups)
    assert claimed.activity["D81001"]["ring_pessary"][1] == 10  # from the claim form
    correction = write(
        base / "correction.csv", "practice_code,service,quarter,count\nD81001,ring_pessary,1,8\n"
    )
    corrected = load_year_end(inputs.scheme, inputs.data.practices, records=records, signups=inputs.signups,
                              activity=[correction])  # fmt: skip
    assert corrected.activity["D81001"]["ring_pessary"] == {1: 8, 2: 12, 3: 9, 4: 11}


def test_every_bad_activity_achievement_and_payment_cell_is_reported(tmp_path):
    camden = load_service_inputs(
        SCHEMES / "camden-lcs-2019-20.yaml",
        [DATA / "camden_practices_illustrative.csv"],
        [DATA / "camden_signups_illustrative.csv"],
    )
    activity = write(
        tmp_path / "activity.csv",
        "practice_code,service,quarter,count\n"
        "F83001,asthma_cyp,Q5,-3\n"  # two mistakes in one row: both reported
        "F83001,neighbourhood_outcomes,1,4\n"  # an outcome service has no activity
        "F83002,anticoagulation_warfarin,2,10\n"  # F83002 did not sign up to warfarin
        "F83001,iucd_ius,1,2\n"  # not commissioned by Camden in 2019/20
        "F83001,asthma_cyp,1,5\n",  # a good row, held back until its file is fixed
    )
    achievement = write(
        tmp_path / "achievement.csv",
        "practice_code,service,achievement\nF83001,seasonal_influenza,120%\nF83001,asthma_cyp,50\n",
    )
    paid = write(tmp_path / "paid.csv", "practice_code,instalment,amount\nF83001,first,10.00\n")
    year = load_year_end(camden.scheme, camden.data.practices, activity=[activity], achievement=[achievement],
                         paid=[paid], signups=camden.signups)  # fmt: skip
    problems = [str(p) for p in year.problems]
    expected = [
        f"{activity}, row 2, column 'quarter': 'Q5' is not a quarter (1 to 4, Q1 to Q4, or year)",
        f"{activity}, row 2, column 'count': count -3 is negative",
        f"{activity}, row 3, column 'service': 'neighbourhood_outcomes' is not a per-activity service",
        f"{activity}, row 4, column 'service': practice F83002 is not signed up to anticoagulation_warfarin",
        f"{activity}, row 5, column 'service': 'iucd_ius' is not a per-activity service",
        f"{achievement}, row 2, column 'achievement': '120%' is not a percentage from 0 to 100",
        f"{achievement}, row 3, column 'service': 'asthma_cyp' is not an outcome service",
        f"{paid}, row 1: no service column(s) in the header",
    ]
    for want in expected:
        assert any(p.startswith(want) for p in problems), (want, problems)
    assert len(problems) == len(expected)
    assert not year.activity and not year.achievement  # a file with a bad row gives nothing


def test_activity_and_achievement_can_come_from_a_spreadsheet(tmp_path):
    import openpyxl

    camden = load_service_inputs(
        SCHEMES / "camden-lcs-2019-20.yaml",
        [DATA / "camden_practices_illustrative.csv"],
        [DATA / "camden_signups_illustrative.csv"],
    )
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["practice_code", "service", "quarter", "count"], ["F83001", "asthma_cyp", 1, 12.0],
                ["f83001", "Asthma_CYP", "q2", 9]):  # fmt: skip
        sheet.append(row)
    book.save(tmp_path / "activity.xlsx")
    book = openpyxl.Workbook()
    book.active.append(["practice_code", "service", "achievement"])
    book.active.append(["F83002", "neighbourhood_outcomes", 70])
    book.save(tmp_path / "achievement.xlsx")
    # the SLA signed on paper: its evidence row is what the statement relies on
    evidence = write(
        tmp_path / "evidence.csv", "practice_code,milestone,date\nF83002,sla_universal_offer,30/04/2019\n"
    )
    year = load_year_end(camden.scheme, camden.data.practices, activity=[tmp_path / "activity.xlsx"],
                         achievement=[tmp_path / "achievement.xlsx"], evidence=[evidence],
                         signups=camden.signups)  # fmt: skip
    assert not year.problems
    assert year.activity["F83001"]["asthma_cyp"] == {1: 12, 2: 9}
    assert year.achievement["F83002"]["neighbourhood_outcomes"] == Decimal("0.70")
    (b,) = [s for s in statements(camden.scheme, camden.data.practices, year, camden.signups)
            if s.practice.code == "F83002"]  # fmt: skip
    outcomes = next(line for line in b.reconciliation.lines if line.id == "neighbourhood_outcomes")
    assert outcomes.earned == Money("7500.00")  # £2.00 × 5,000 × (70% − 40%) ÷ (80% − 40%)
    assert outcomes.signed == date(2019, 4, 30)


def test_statements_are_the_same_bytes_whatever_the_number_of_processes(year_end):
    base, _ = year_end
    args = ["statements", "-s", str(LES), "-p", str(base / "practices.csv"), "--signups",
            str(base / "signups.csv"), "--db", f"sqlite:///{base / 'records.db'}"]  # fmt: skip
    for jobs in ("1", "2"):
        result = CliRunner().invoke(app, [*args, "--out", str(base / f"jobs{jobs}"), "--jobs", jobs])
        assert result.exit_code == 0, result.output
    one, two = ({p.relative_to(base / d): p.read_bytes() for p in (base / d).rglob("*") if p.is_file()}
                for d in ("jobs1", "jobs2"))  # fmt: skip
    assert len(one) == 4 and one == two  # 2 practices × PDF and DOCX
