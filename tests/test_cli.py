"""The agreementgen command: exit codes, exact messages, and real files written."""

import csv
import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from agreementgen.cli import app
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, line_of

runner = CliRunner()
SAMPLE = ["-p", str(EPRACCUR_2023_06H), "-p", str(LIST_SIZES_2021_06H)]


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_validate_a_good_scheme_and_sample_exits_0():
    result = invoke("validate", "--scheme", str(QEF), *SAMPLE, "--commissioner", "06H")
    assert result.exit_code == 0, result.output
    assert "scheme cpccg-qef-2017-18 v1: OK" in result.output
    assert "85 practices ready, 1,003,935 registered patients" in result.output
    assert "stand in for the scheme's list-size date 2017-04-01" in result.output


def test_validate_reports_every_scheme_problem_with_its_line_and_exits_1(write_scheme):
    path = write_scheme(
        ("      rate_per_patient: 1.00\n      overview", "      rate_per_patient: 1.10\n      overview"),
        ("list_size_date: 2017-04-01", "list_size_date: 2017-04-01\nlist_sise_date: 2017-04-01"),
    )
    result = invoke("validate", "--scheme", str(path))
    assert result.exit_code == 1
    assert f"error: {path}: 1 problem(s) in the scheme spec" in result.output
    line = line_of(path, "list_sise_date")
    assert f"{path}:{line}, at 'list_sise_date': unknown key (not part of the scheme spec" in result.output
    # the components error is found once the unknown key is fixed: structural errors come first
    fixed = write_scheme(
        ("      rate_per_patient: 1.00\n      overview", "      rate_per_patient: 1.10\n      overview"),
        ("sign_up_deadline: 2017-05-31", "sign_up_deadline: 2019-05-31"),
        name="fixed.yaml",
    )
    result = invoke("validate", "--scheme", str(fixed))
    assert result.exit_code == 1
    assert "2 problem(s) in the scheme spec" in result.output
    assert "components rates sum to £2.10 per patient" in result.output
    assert "sign-up deadline 2019-05-31 is outside the financial year 2017/18" in result.output


def test_validate_reports_every_bad_practice_row_and_exits_1(tmp_path: Path):
    bad = tmp_path / "practices.csv"
    bad.write_text("code,name,list_size\nD81001,Good,5800\nD8100X,Bad,5\nD81003,,7\nD81004,Neg,-1\n")
    result = invoke("validate", "--scheme", str(QEF), "-p", str(bad))
    assert result.exit_code == 1
    assert "3 problem(s) in the practice data:" in result.output
    assert f"{bad}, row 3, column 'code': 'D8100X' is not a GP practice ODS code" in result.output
    assert f"{bad}, row 4, column 'name': practice name is missing" in result.output
    assert f"{bad}, row 5, column 'list_size': list size -1 is negative" in result.output
    assert "1 practices ready, 5,800 registered patients" in result.output


def test_validate_json_lists_problems_for_scripts(tmp_path: Path):
    bad = tmp_path / "practices.csv"
    bad.write_text("code,name,list_size\nD81001,Good,abc\n")
    result = invoke("validate", "--scheme", str(QEF), "-p", str(bad), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["practices"] == 0
    assert report["problems"][0]["row"] == 2
    assert report["problems"][0]["field"] == "list_size"


def test_entitlements_json_for_the_cp_sample_sums_to_the_scheme_total():
    result = invoke("entitlements", "--scheme", str(QEF), *SAMPLE, "--commissioner", "06H", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = report["practices"]
    assert len(rows) == 85
    assert report["totals"]["list_size"] == 1_003_935
    assert report["totals"]["total"] == "2007870.00"  # £2.00 × 1,003,935
    assert sum(Decimal(r["total"]) for r in rows) == Decimal("2007870.00")
    for r in rows:
        assert sum(Decimal(v) for v in r["by_component"].values()) == Decimal(r["total"])
        assert sum(Decimal(v) for v in r["by_instalment"].values()) == Decimal(r["total"])
        assert Decimal(r["total"]) == Decimal(2) * r["list_size"]
    assert report["totals"]["by_instalment"] == {
        "first": "1003935.00",
        "second": "501967.50",
        "third": "501967.50",
    }


def test_entitlements_writes_csv_and_xlsx_with_a_totals_row(tmp_path: Path):
    csv_path, xlsx_path = tmp_path / "e.csv", tmp_path / "e.xlsx"
    result = invoke("entitlements", "-s", str(QEF), *SAMPLE, "--csv", str(csv_path), "--xlsx", str(xlsx_path))
    assert result.exit_code == 0, result.output
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("code,name,list_size,list_size_date,component:engagement,")
    assert len(lines) == 1 + 85 + 1
    assert lines[-1].startswith("TOTAL,85 practices,1003935,")
    assert lines[-1].endswith(",2007870.00")
    ws = openpyxl.load_workbook(xlsx_path).active
    last = list(ws.iter_rows(values_only=True))[-1]
    assert last[0] == "TOTAL" and last[-1] == 2007870


def test_entitlements_reports_the_budget_envelope(write_scheme):
    path = write_scheme(
        ("worked_example:", "budget:\n  envelope: 2000000.00\n  note: test\n\nworked_example:")
    )
    result = invoke("entitlements", "-s", str(path), *SAMPLE)
    assert result.exit_code == 0, result.output
    assert (
        "budget envelope £2,000,000.00; these practices £2,007,870.00; headroom -£7,870.00 — OVER"
        in result.output
    )


def test_a_missing_scheme_file_is_a_clear_error(tmp_path: Path):
    result = invoke("validate", "--scheme", str(tmp_path / "none.yaml"))
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'none.yaml'}: file not found" in result.output


def test_demo_writes_the_cp_entitlements(tmp_path: Path):
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = invoke("demo")
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert "85 practices, 1,003,935 patients × £2.00 = £2,007,870.00" in result.output
    report = json.loads((tmp_path / "output/demo/entitlements.json").read_text())
    assert report["totals"]["total"] == "2007870.00"
    assert (tmp_path / "output/demo/entitlements.xlsx").stat().st_size > 0
    # ... and the whole loop: a simulated round of returns ingested, the status and the chase list.
    assert "ingested 68 file(s): 65 accepted, 2 flagged, 1 rejected, 0 already on record" in result.output
    assert "flagged returned-000.pdf: issued terms changed: term_list_size (issued '12,731'" in result.output
    assert (
        "status: 85 issued, 67 returned, 65 accepted, 2 flagged, 0 rejected, 20 outstanding" in result.output
    )
    chase = (tmp_path / "output/demo/chase.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(chase) == 21 and chase[0].startswith("practice_code,practice_name,email")
    # ... and the year end: a statement for every practice, the schedule checked against them
    assert "85 statements in output/demo/statements" in result.output
    assert "check: the schedule's net total equals the sum of the 85 statement balances" in result.output
    schedule = (tmp_path / "output/demo/payment-schedule.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(schedule) == 87 and schedule[-1].startswith("TOTAL,85 practices,2007870.00")
    # ... and the LES: SLAs and claim forms signed and ingested, statements from the claims
    assert "ingested 475 signed SLAs and claim forms: 475 accepted, 0 flagged, 0 rejected" in result.output
    assert "76 statements in output/demo/les/statements" in result.output
    les = (tmp_path / "output/demo/les/payment-schedule.csv").read_text(encoding="utf-8-sig").splitlines()
    lensfield = next(line for line in les if line.startswith("D81001,"))
    assert lensfield.endswith(",0.00,0.00,21239.94,0,21239.94")  # never signed its SLA: all recovered
    assert les[-1].startswith("TOTAL,76 practices,") and les[-1].endswith(",190050.91,21239.94")
    # ... with two-level approval of claims: one Q3 claim awaits approval, so it is left out, and said so
    assert "D81002's Q3 claim awaits approval, so the statements leave it out" in result.output
    assert "note: 1 claim(s) not yet approved are left out: D81002 Q3 (return #" in result.output
    d81002 = next(line for line in les if line.startswith("D81002,"))
    assert d81002.endswith(",3129.00,126.00,0")  # £1,155.00 due less its Q3 claim's £1,029.00, not approved


def test_generate_renders_the_packs_and_says_where_the_register_is(tmp_path: Path):
    out, db = tmp_path / "packs", f"sqlite:///{tmp_path / 'r.db'}"
    result = invoke("generate", "-s", str(QEF), *SAMPLE, "--out", str(out), "--jobs", "2", "--db", db)
    assert result.exit_code == 0, result.output
    assert "85 practices: 170 files rendered, 0 already up to date, 0 failed" in result.output
    assert f"issued register: {db}" in result.output
    assert (out / "D81001" / "section7.docx").is_file() and (out / "D81001" / "section7.pdf").is_file()
    again = invoke("generate", "-s", str(QEF), *SAMPLE, "--out", str(out), "--db", db, "--format", "pdf")
    assert "85 practices: 0 files rendered, 85 already up to date, 0 failed" in again.output


def test_generate_renders_the_good_rows_and_exits_1_for_the_bad(tmp_path: Path):
    practices = tmp_path / "practices.csv"
    practices.write_text(
        "code,name,postcode,list_size\nD81001,Café & Co <Ŵyn> {{ 7*7 }},CB2 1EH,5800\nD8100,Bad,CB2 1EH,10\n",
        encoding="utf-8",
    )
    result = invoke("generate", "-s", str(QEF), "-p", str(practices), "--out", str(tmp_path / "o"),
                    "--format", "pdf", "--db", f"sqlite:///{tmp_path / 'r.db'}")  # fmt: skip
    assert result.exit_code == 1
    assert "1 practices: 1 files rendered" in result.output
    assert "row 3, column 'code': 'D8100' is not a GP practice ODS code" in result.output
    assert "1 row(s) skipped because of the problems above" in result.output
    assert (tmp_path / "o" / "D81001" / "section7.pdf").is_file()


def test_generate_refuses_an_unknown_kind_or_format(tmp_path: Path):
    result = invoke("generate", "-s", str(QEF), *SAMPLE, "--out", str(tmp_path), "--docs", "section8")
    assert result.exit_code == 1
    assert "unknown 'section8' in --docs; choose from section7" in result.output
    result = invoke("generate", "-s", str(QEF), *SAMPLE, "--out", str(tmp_path), "--format", "odt")
    assert result.exit_code == 1
    assert "unknown 'odt' in --format; choose from docx, pdf" in result.output


def test_context_prints_the_exact_template_context_as_json():
    result = invoke("context", "-s", str(QEF), *SAMPLE, "--practice", "D81001")
    assert result.exit_code == 0, result.output
    ctx = json.loads(result.stdout)
    assert ctx["practice"]["name"] == "LENSFIELD MEDICAL PRACTICE"
    assert ctx["total"] == "£25,462.00"
    assert ctx["document"]["id"] == "cpccg-qef-2017-18:v1:D81001:section7"
    example = json.loads(invoke("context", "-s", str(QEF)).stdout)
    assert example["practice"]["list_size"] == 5800 and example["total"] == "£11,600.00"
    missing = invoke("context", "-s", str(QEF), *SAMPLE, "--practice", "Z99999")
    assert missing.exit_code == 1
    assert "practice Z99999 is not among the loaded practices" in missing.output


def test_check_template_passes_the_shipped_template_and_names_unknown_variables(tmp_path: Path):
    from conftest import ROOT
    from test_bulk import broken_template

    good = invoke("check-template", str(ROOT / "templates" / "section7.docx"), "-s", str(QEF))
    assert good.exit_code == 0, good.output
    assert "every variable it uses is provided" in good.output
    folder = broken_template(tmp_path, "practice.name", "practice.nmae")
    bad = invoke("check-template", str(folder / "section7.docx"), "-s", str(QEF))
    assert bad.exit_code == 1
    assert "variable(s) the context does not provide:" in bad.output
    assert "practice.nmae" in bad.output


def _issued_and_returned(tmp_path: Path) -> tuple[str, Path]:
    from agreementgen.simulate import fill_pdf, practice_entries

    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = invoke("generate", "-s", str(QEF), *SAMPLE, "--out", str(tmp_path / "packs"), "--jobs", "1",
                    "--db", db, "--format", "pdf")  # fmt: skip
    assert result.exit_code == 0, result.output
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pdf = (tmp_path / "packs" / "D81001" / "section7.pdf").read_bytes()
    (inbox / "good.pdf").write_bytes(fill_pdf(pdf, practice_entries(0, date.today())))
    (inbox / "=cmd.pdf").write_bytes(b"\xff\xd8\xff\xe0 a photo")
    return db, inbox


def test_ingest_status_and_export_close_the_loop(tmp_path: Path):
    db, inbox = _issued_and_returned(tmp_path)
    result = invoke("ingest", str(inbox), "--db", db, "-s", str(QEF))
    assert result.exit_code == 1, result.output  # something was rejected: a person should look
    assert "2 file(s)" in result.output and "1 accepted, 0 flagged, 1 rejected" in result.output
    assert "not a PDF or DOCX: the content is a JPEG image" in result.output
    again = invoke("ingest", str(inbox), "--db", db, "--json")
    lines = [json.loads(line) for line in again.stdout.splitlines()]
    assert [(x["status"], x["new"]) for x in lines] == [("rejected", False), ("accepted", False)]

    status = invoke("status", "-s", str(QEF), "--db", db, "--json", "--chase", str(tmp_path / "chase.xlsx"))
    figures = json.loads(status.stdout)
    assert (figures["issued"], figures["accepted"], figures["outstanding"]) == (85, 1, 84)
    sheet = openpyxl.load_workbook(tmp_path / "chase.xlsx").active
    assert sheet.max_row == 85 and sheet["A1"].value == "practice_code"
    shown = invoke("status", "-s", str(QEF), "--db", db)
    assert "84 practice(s) to chase" in shown.output and "use --chase FILE" in shown.output

    for name in ("signups", "returns", "issued"):
        assert (
            invoke("export", "--db", db, "--table", name, "--to", str(tmp_path / f"{name}.csv")).exit_code
            == 0
        )
    assert invoke("export", "--db", db, "--table", "returns", "--to", str(tmp_path / "r.xlsx")).exit_code == 0
    rows = list(csv.reader((tmp_path / "returns.csv").open(encoding="utf-8-sig")))
    filenames = [r[rows[0].index("filename")] for r in rows[1:]]
    assert any(f.endswith("=cmd.pdf") for f in filenames)
    cells = [c.value for c in openpyxl.load_workbook(tmp_path / "r.xlsx").active["C"]]
    assert all(not str(v).startswith("=") for v in cells)  # a formula-looking name stays text
    signups = list(csv.reader((tmp_path / "signups.csv").open(encoding="utf-8-sig")))
    assert len(signups) == 2 and signups[1][1] == "D81001"


def test_ingest_names_a_missing_path_and_export_a_bad_table(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = invoke("ingest", str(tmp_path / "nope"), "--db", db)
    assert result.exit_code == 2 and "no such file or folder" in result.output
    result = invoke("export", "--db", db, "--table", "people", "--to", str(tmp_path / "x.csv"))
    assert result.exit_code == 1
    tables = (
        "issued, revisions, scheme_rules, returns, signups, year_end, reviews, messages, mail_in, "
        "claim_approvals, year_end_runs, actions, activity"
    )
    choose = f"unknown table 'people'; choose from {tables}"
    assert choose in result.output
    result = invoke("export", "--db", db, "--table", "issued", "--to", str(tmp_path / "x.txt"))
    assert result.exit_code == 1 and "give a .csv or .xlsx file name" in result.output
