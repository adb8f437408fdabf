"""The year end in the web app: the statements run on record, finance's schedule and each practice's
statement to download — the files the run wrote, and nothing outside its folder."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from agreementgen.records import Records
from test_year_end_runs import SCHEME, run_statements
from webapp import Register, make_app, signed_in

PAGE = f"/schemes/{SCHEME}/year-end"


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> Register:
    folder = tmp_path_factory.mktemp("year")
    register = Register(folder, folder / "records.db")
    run_statements(folder, register.url, "statements")
    return register


@pytest.fixture
def viewer(year: Register, tmp_path: Path):
    return signed_in(make_app(year, tmp_path / "uploads"), "vic")


def test_the_year_end_page_shows_the_run_and_each_practices_amounts(viewer, year: Register) -> None:
    [run] = Records.open(year.url).year_end_runs(SCHEME)
    page = viewer.get(PAGE)
    assert page.status_code == 200
    assert f"(run #{run['id']})" in page.text and "net <strong>£11,996.40</strong>" in page.text
    assert "Lensfield" in page.text and "D81002" in page.text
    assert f"/year-end/{run['id']}/D81001.pdf" in page.text


def test_the_schedule_downloads_as_a_workbook_with_exact_amounts(viewer, year: Register) -> None:
    [run] = Records.open(year.url).year_end_runs(SCHEME)
    xlsx = viewer.get(f"{PAGE}/{run['id']}/schedule.xlsx")
    assert xlsx.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "practice_code" and rows[-1][0] == "TOTAL"
    total = dict(zip(rows[0], rows[-1], strict=True))
    assert Decimal(str(total["to_pay"])) - Decimal(str(total["to_recover"])) == Decimal("11996.40")
    csv = viewer.get(f"{PAGE}/{run['id']}/schedule.csv")
    assert csv.status_code == 200 and "D81001" in csv.text


def test_a_statement_downloads_as_the_file_the_run_wrote(viewer, year: Register) -> None:
    [run] = Records.open(year.url).year_end_runs(SCHEME)
    pdf = viewer.get(f"{PAGE}/{run['id']}/D81001.pdf")
    assert pdf.status_code == 200 and pdf.content == Path(run["files"]["D81001"]["pdf"]).read_bytes()
    assert viewer.get(f"{PAGE}/{run['id']}/D99999.pdf").status_code == 404
    assert viewer.get(f"{PAGE}/{run['id'] + 1}/D81001.pdf").status_code == 404
    assert viewer.get(f"{PAGE}/{run['id']}/D81001.exe").status_code == 404


def test_a_statement_recorded_outside_the_runs_folder_is_not_served(viewer, year: Register) -> None:
    records = Records.open(year.url)
    [run] = records.year_end_runs(SCHEME)
    with records._begin() as conn:
        conn.exec_driver_sql(
            "update year_end_runs set files_json = replace(files_json, ?, ?)",
            (run["files"]["D81002"]["pdf"], "/etc/passwd"),
        )
    try:
        response = viewer.get(f"{PAGE}/{run['id']}/D81002.pdf")
        assert response.status_code == 403 and b"root:" not in response.content
    finally:
        with records._begin() as conn:
            conn.exec_driver_sql(
                "update year_end_runs set files_json = replace(files_json, ?, ?)",
                ("/etc/passwd", run["files"]["D81002"]["pdf"]),
            )


def test_a_scheme_with_no_statements_yet_says_how_to_make_them(tmp_path: Path, year: Register) -> None:
    register = Register(tmp_path, tmp_path / "empty.db")
    records = Records.open(register.url)
    records.set_scheme_rules(SCHEME, "1", None, {}, title="QEF")
    page = signed_in(make_app(register, tmp_path / "uploads"), "vic").get(PAGE)
    assert page.status_code == 200 and "No statements have been written" in page.text
