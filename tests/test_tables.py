"""CSV/XLSX exports: atomic, Excel-friendly, and safe from formula injection."""

import csv
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from agreementgen.errors import OutputError
from agreementgen.practices import practice_rows_only
from agreementgen.tables import neutralise, read_table, write_csv, write_xlsx

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "plain & safe"]


def test_cells_that_start_a_formula_become_text():
    assert [neutralise(v) for v in HOSTILE] == [
        "'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTAB", "plain & safe",
    ]  # fmt: skip
    assert neutralise(Decimal("-12.00")) == Decimal("-12.00")  # amounts stay numbers


def test_csv_export_neutralises_and_reads_back(tmp_path: Path):
    path = tmp_path / "out.csv"
    write_csv(path, ["name", "amount"], [[v, Decimal("-1.50")] for v in HOSTILE])
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["name", "amount"]
    assert [r[0] for r in rows[1:]] == [neutralise(v) for v in HOSTILE]
    assert {r[1] for r in rows[1:]} == {"-1.50"}
    assert not list(tmp_path.glob(".*.tmp"))


def test_xlsx_export_has_no_formulas(tmp_path: Path):
    path = tmp_path / "out.xlsx"
    write_xlsx(path, ["name", "amount"], [[v, Decimal("11600.00")] for v in HOSTILE])
    ws = openpyxl.load_workbook(path).active
    values = [row for row in ws.iter_rows(min_row=2, values_only=True)]
    assert [v[0] for v in values] == [neutralise(v) for v in HOSTILE]
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
    assert values[0][1] == 11600


def test_an_unwritable_destination_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as info:
        write_csv(blocker / "out.csv", ["a"], [])
    assert info.value.path == str(blocker / "out.csv")
    assert "cannot write" in info.value.message


QUIN_AGE = (
    "PUBLICATION,EXTRACT_DATE,ORG_TYPE,ORG_CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS\n"
    "GP_PRAC_PAT_LIST,01JUL2026,GP,D81001,CB2 1EH,ALL,ALL,12731\n"
    "GP_PRAC_PAT_LIST,01JUL2026,GP,D81001,CB2 1EH,MALE,0_4,300\n"
    "GP_PRAC_PAT_LIST,01JUL2026,PCN,U12345,,ALL,ALL,40000\n"
    "GP_PRAC_PAT_LIST,01JUL2026,GP,D81002,CB1 3EB,ALL,ALL,5800\n"
)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_list_size_file_keeps_only_practice_totals_and_counts_the_rest(tmp_path: Path, fmt: str):
    path = tmp_path / f"quin.{fmt}"
    if fmt == "csv":
        path.write_text(QUIN_AGE, encoding="utf-8")
    else:
        wb = openpyxl.Workbook()
        for line in QUIN_AGE.splitlines():
            wb.active.append(line.split(","))
        wb.save(path)
    table = read_table(path, practice_rows_only)
    assert [r.cells[3] for r in table.rows] == ["ORG_CODE", "D81001", "D81002"]
    assert [r.number for r in table.rows] == [1, 2, 5]  # numbers stay those of the file
    assert table.skipped == 2 and table.data_rows == 4


def test_a_file_without_a_patient_count_column_is_read_whole(tmp_path: Path):
    path = tmp_path / "practices.csv"
    path.write_text("code,name,sex\nD81001,A,ALL\nD81002,B,MALE\n", encoding="utf-8")
    table = read_table(path, practice_rows_only)
    assert len(table.rows) == 3 and table.skipped == 0
