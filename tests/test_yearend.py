"""Year-end inputs, statements and the payment schedule, from files a contracts team keeps."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import docx
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.kinds.statement import statement_context
from agreementgen.money import Money
from agreementgen.render.template import WordTemplate
from agreementgen.statements import schedule_rows, statements
from agreementgen.validation import load_inputs
from agreementgen.yearend import load_year_end
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT

INPUTS = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
SAMPLE = ["-p", str(EPRACCUR_2023_06H), "-p", str(LIST_SIZES_2021_06H)]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def files(tmp_path: Path) -> dict[str, Path]:
    evidence = "practice_code,milestone,date\n" + "".join(
        f"D81001,{m},{d}\n"
        for m, d in (
            ("sign_up", "2017-05-15"),
            ("visit_booked", "22/05/2017"),
            ("practice_visit", "20/06/2017"),
            ("action_plan", "2017-07-10"),
            ("mid_year_report", "2017-11-14"),
            ("year_end_report", "2018-03-30"),
        )
    )
    return {
        "evidence": write(
            tmp_path / "evidence.csv", evidence + "D81002,sign_up,2017-05-20\nD81002,closed,2017-12-31\n"
        ),
        "paid": write(
            tmp_path / "paid.csv",
            "practice_code,instalment,amount,date\nD81001,first,£12731.00,2017-10-31\n"
            'D81001,second,3000.00,2017-10-31\nD81001,second,"3,365.50",2017-11-30\n',
        ),
        "decisions": write(
            tmp_path / "decisions.csv",
            "practice_code,component,percentage,reason\nD81001,engagement,75%,missed one locality meeting\n",
        ),
    }


def test_statements_follow_the_evidence_payments_and_decisions(tmp_path):
    year = load_year_end(INPUTS.scheme, INPUTS.data.practices, **{k: [v] for k, v in files(tmp_path).items()})
    assert year.problems == []
    items = {s.practice.code: s for s in statements(INPUTS.scheme, INPUTS.data.practices, year)}
    lensfield = items["D81001"].reconciliation  # 12,731 patients: £25,462.00
    assert lensfield.earned == Money("25462.00")
    assert lensfield.paid == Money("19096.50")  # two payments for the second instalment add up
    assert lensfield.adjustment == Money("-1591.38")  # 25% of engagement's £6,365.50 = 1,591.375
    assert lensfield.balance == Money("4774.12")
    assert lensfield.instalments[1].late == ("mid_year_report",)
    assert items["D81002"].closed == ("closed", date(2017, 12, 31))
    assert items["D81003"].reconciliation.earned == Money("0.00")  # never signed up
    rows, net = schedule_rows(list(items.values()))
    assert net == sum((s.reconciliation.balance for s in items.values()), Money("0.00"))
    total_row = rows[-1]
    assert total_row[0] == "TOTAL" and total_row[6] - total_row[7] == net.amount


def test_every_bad_input_row_is_reported_with_its_file_row_and_column(tmp_path):
    evidence = write(
        tmp_path / "e.csv",
        "practice_code,milestone,date\nD8100,sign_up,2017-05-15\nD81001,tea,2017-05-15\n"
        "D81001,sign_up,31/02/2017\nD81999,sign_up,2017-05-15\n",
    )
    paid = write(
        tmp_path / "p.csv", "practice_code,instalment,amount,date\nD81001,fourth,1.00,\nD81001,first,lots,\n"
    )
    decisions = write(
        tmp_path / "d.csv",
        "practice_code,component,percentage,reason\nD81001,engagement,150,x\n"
        "D81001,engagement,50,\nD81001,golf,50,x\n",
    )
    year = load_year_end(
        INPUTS.scheme, INPUTS.data.practices, evidence=[evidence], paid=[paid], decisions=[decisions]
    )
    problems = [str(p) for p in year.problems]
    assert len(problems) == 9, problems
    assert f"{evidence}, row 2, column 'practice_code': 'D8100' is not a GP practice ODS code" in problems
    assert any(
        p.startswith(f"{evidence}, row 3, column 'milestone': 'tea' is not a milestone") for p in problems
    )
    assert any(
        p.startswith(f"{evidence}, row 4, column 'date': '31/02/2017' is not a date") for p in problems
    )
    assert (
        f"{evidence}, row 5, column 'practice_code': practice D81999 is not in the practice data" in problems
    )
    assert any(
        p.startswith(f"{paid}, row 2, column 'instalment': 'fourth' is not an instalment") for p in problems
    )
    assert f"{paid}, row 3, column 'amount': 'lots' is not an amount in pounds and pence" in problems
    assert f"{decisions}, row 2, column 'percentage': '150' is not a percentage from 0 to 100" in problems
    assert any(
        p.startswith(f"{decisions}, row 3, column 'reason': a proportional payment needs its reason")
        for p in problems
    )
    assert any(
        p.startswith(f"{decisions}, row 4, column 'component': 'golf' is not a component") for p in problems
    )


def test_a_statement_pdf_shows_the_tables_the_balance_the_disputes_and_the_audit_line(tmp_path):
    year = load_year_end(INPUTS.scheme, INPUTS.data.practices, **{k: [v] for k, v in files(tmp_path).items()})
    item = next(
        s for s in statements(INPUTS.scheme, INPUTS.data.practices, year) if s.practice.code == "D81001"
    )
    context = statement_context(INPUTS.scheme, item, year.sources)
    pdf = WordTemplate(ROOT / "templates" / "statement.docx").render(context, ["pdf"])["pdf"]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for words in (
        "Year-end statement",
        "LENSFIELD MEDICAL PRACTICE",
        "£25,462.00",
        "Mid-year report 14/11/2017 (late)",
        "proportional payment of 75%: missed one locality meeting",
        "£4,774.12 is due to the practice",
        "local mediation",
        "cpccg-qef-2017-18 version 1",
        "sha256:",
    ):
        assert words in text.replace("\n", " "), words


def test_the_statements_command_writes_pdfs_and_a_schedule_whose_total_matches(tmp_path):
    paths = files(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "statements",
            "-s",
            str(QEF),
            *SAMPLE,
            "--out",
            str(tmp_path / "st"),
            "--db",
            f"sqlite:///{tmp_path / 'r.db'}",
            "--evidence",
            str(paths["evidence"]),
            "--paid",
            str(paths["paid"]),
            "--decisions",
            str(paths["decisions"]),
            "--schedule",
            str(tmp_path / "schedule.csv"),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert (
        "85 statements" in result.output
        and "check: the schedule's net total equals the sum of the 85" in result.output
    )
    assert (tmp_path / "st" / "D81001" / "statement.pdf").is_file()
    word = docx.Document(tmp_path / "st" / "D81001" / "statement.docx")
    cells = [c.text for t in word.tables for r in t.rows for c in r.cells]
    assert "£25,462.00" in cells and "-£1,591.38" in cells  # entitled; the 25% engagement adjustment
    assert any("£4,774.12 is due to the practice" in p.text for p in word.paragraphs)
    rows = list(csv.reader((tmp_path / "schedule.csv").open(encoding="utf-8-sig")))
    assert rows[0][:2] == ["practice_code", "practice_name"] and rows[-1][0] == "TOTAL" and len(rows) == 87


def test_inputs_are_kept_in_the_records_database_and_reloading_a_file_replaces_it(tmp_path):
    from agreementgen.records import Records

    records = Records.open(f"sqlite:///{tmp_path / 'r.db'}")
    paths = files(tmp_path)
    load = lambda **kw: load_year_end(INPUTS.scheme, INPUTS.data.practices, records=records, **kw)  # noqa: E731
    load(evidence=[paths["evidence"]], paid=[paths["paid"]], decisions=[paths["decisions"]])
    # later runs need not give the files again: what they said is on record
    year = load()
    assert year.paid["D81001"] == {"first": Money("12731.00"), "second": Money("6365.50")}
    assert year.decisions["D81001"]["engagement"].percentage == 75
    # finance sends an updated payments file under the same name: it replaces, never adds twice
    write(paths["paid"], "practice_code,instalment,amount,date\nD81001,first,12731.00,2017-10-31\n")
    year = load(paid=[paths["paid"]])
    assert year.paid["D81001"] == {"first": Money("12731.00")}
    # a file with a bad row changes nothing on record
    write(paths["paid"], "practice_code,instalment,amount,date\nD81001,first,oops,2017-10-31\n")
    year = load(paid=[paths["paid"]])
    assert len(year.problems) == 1 and year.paid["D81001"] == {"first": Money("12731.00")}
    assert (
        len(records.year_end_rows("cpccg-qef-2017-18")) == 6 + 2 + 1 + 1
    )  # evidence, closed, payment, decision


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=40_000),
            st.sets(
                st.sampled_from(
                    [
                        "sign_up",
                        "visit_booked",
                        "practice_visit",
                        "action_plan",
                        "mid_year_report",
                        "year_end_report",
                    ]
                )
            ),
            st.lists(st.integers(min_value=0, max_value=3_000_000), min_size=3, max_size=3),
            st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_for_any_evidence_and_payments_the_schedule_equals_the_sum_of_the_statements(practices):
    from agreementgen.payments import Decision, reconcile
    from agreementgen.statements import Statement

    items = []
    for n, (size, present, pence, pct) in enumerate(practices):
        evidence = {m: date(2017, 7, 1) for m in present}
        paid = {i: Money(Decimal(p) / 100) for i, p in zip(("first", "second", "third"), pence, strict=True)}
        decisions = {} if pct is None else {"engagement": Decision(Decimal(pct), "x")}
        r = reconcile(INPUTS.scheme, size, evidence, paid, decisions)
        items.append(Statement(dataclasses.replace(INPUTS.data.practices[0], code=f"D8{n:04}"), r, None))
    rows, net = schedule_rows(items)
    assert net == sum((s.reconciliation.balance for s in items), Money("0.00"))
    *lines, total_row = rows
    assert sum((Decimal(line[6]) - Decimal(line[7]) for line in lines), Decimal(0)) == net.amount
    assert Decimal(total_row[6]) - Decimal(total_row[7]) == net.amount
