"""Each ``statements`` run is kept in the records (``year_end_runs``): its statement files and finance's
schedule, so the year end can be fetched again later, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.errors import RecordsError
from agreementgen.records import Records
from agreementgen.statements import SCHEDULE_HEADER
from conftest import QEF

SCHEME = "cpccg-qef-2017-18"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_statements(tmp_path: Path, db_url: str, out: str, *extra: str) -> str:
    """Two practices: D81001 earned two instalments and was paid one; D81002 earned nothing but was paid."""
    practices = write(tmp_path / "practices.csv",
                      "code,name,postcode,list_size\nD81001,Lensfield,CB2 1EH,12731\n"
                      "D81002,Huntingdon Road,CB3 0DB,9000\n")  # fmt: skip
    evidence = write(tmp_path / "evidence.csv",
                     "practice_code,milestone,date\nD81001,sign_up,2017-05-15\nD81001,visit_booked,2017-05-22\n"
                     "D81001,practice_visit,2017-06-20\nD81001,action_plan,2017-07-10\n"
                     "D81001,mid_year_report,2017-11-14\n")  # fmt: skip
    paid = write(tmp_path / "paid.csv", "practice_code,instalment,amount,date\n"
                 "D81001,first,7000.00,2017-10-31\nD81002,first,100.10,2017-10-31\n")  # fmt: skip
    args = ["statements", "-s", str(QEF), "-p", str(practices), "--db", db_url, "--out", str(tmp_path / out),
            "--evidence", str(evidence), "--paid", str(paid), "--jobs", "1", *extra]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_statements_run_is_recorded_with_its_files_and_schedule(db_url: str, tmp_path: Path):
    output = run_statements(tmp_path, db_url, "st", "--schedule", str(tmp_path / "schedule.csv"))
    [run] = Records.open(db_url).year_end_runs(SCHEME)
    assert f"recorded as year-end run #{run['id']}" in output
    assert run["out_dir"] == str((tmp_path / "st").absolute())
    # the files recorded are the files written, each absolute and there
    written = {str(p) for p in (tmp_path / "st").rglob("statement.*")}
    assert sorted(run["files"]) == ["D81001", "D81002"]
    assert {path for made in run["files"].values() for path in made.values()} == written
    assert run["files"]["D81001"] == {
        "docx": str(tmp_path / "st" / "D81001" / "statement.docx"),
        "pdf": str(tmp_path / "st" / "D81001" / "statement.pdf"),
    }
    # the schedule kept is the schedule written, cell for cell, and its net is the one printed
    schedule = run["schedule"]
    assert schedule["header"] == list(SCHEDULE_HEADER)
    with (tmp_path / "schedule.csv").open(encoding="utf-8-sig") as fh:
        assert [schedule["header"], *schedule["rows"]] == list(csv.reader(fh))
    printed = re.search(r"net (-?)£([\d,]+\.\d\d)", output)
    assert printed is not None
    assert Decimal(run["net"]) == Decimal(printed.group(1) + printed.group(2).replace(",", ""))
    assert run["net"] == "11996.40"  # £12,096.50 to pay D81001 less £100.10 to recover from D81002
    total = schedule["rows"][-1]
    assert total[0] == "TOTAL" and Decimal(total[6]) - Decimal(total[7]) == Decimal(run["net"])
    assert all(isinstance(cell, str) for row in schedule["rows"] for cell in row)  # never a float


def test_the_schedule_is_kept_without_schedule_and_the_newest_run_comes_first(db_url: str, tmp_path: Path):
    run_statements(tmp_path, db_url, "first", "--schedule", str(tmp_path / "schedule.csv"))
    run_statements(tmp_path, db_url, "second", "--format", "pdf")
    second, first = Records.open(db_url).year_end_runs(SCHEME)
    assert second["id"] > first["id"] and second["out_dir"].endswith("second")
    assert second["schedule"] == first["schedule"] and second["net"] == first["net"]
    assert second["files"]["D81002"] == {"pdf": str(tmp_path / "second" / "D81002" / "statement.pdf")}
    assert Records.open(db_url).year_end_runs("another-scheme") == []


def test_an_amount_as_a_float_is_refused(tmp_path: Path):
    records = Records.open(f"sqlite:///{tmp_path / 'r.db'}")
    rows = [["D81001", "Lensfield", Decimal("0.10"), 0.2]]
    with pytest.raises(RecordsError, match=r"not float 0\.2"):
        records.record_year_end_run(SCHEME, tmp_path, {}, ["code", "name", "a", "b"], rows, Decimal("0.30"))
    assert records.year_end_runs(SCHEME) == []
