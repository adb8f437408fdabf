"""Fuzzing practice files: whatever a CSV, XLSX or zip holds, its problems are reported, never a traceback.

Issue 12 found that a 25-digit list size and a control character in a practice name gave
tracebacks (the latter in every XLSX export). The named tests pin those, and each crash the
mutation tests found (their names say what the file held). The hypothesis tests mutate real NHS
and team files in every format the loaders read (CSV bytes and cells, XLSX cells, the XML inside
an XLSX, XLSX and zip bytes) and assert that loading never raises, that every problem names the
file, and that an absurd list size is refused with its row and column, all of them. Fixed seeds
and a few hundred examples keep it to a few seconds.
"""

from __future__ import annotations

import csv
import io
import os
import re
import struct
import zipfile
from datetime import date
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreementgen.entitlements import entitlement_table
from agreementgen.errors import AgreementgenError, PracticeDataError
from agreementgen.money import MAX_DIGITS, MAX_MONEY
from agreementgen.practices import MAX_COUNT, Practice, PracticeData, load_practice_data
from agreementgen.scheme import MAX_RATE, load_scheme
from agreementgen.services import ServiceScheme, load_service_scheme
from agreementgen.signups import load_signups
from agreementgen.tables import UNPRINTABLE, XLSX_CELL_LIMIT, read_table, write_xlsx, xlsx_cell
from agreementgen.yearend import load_year_end
from conftest import DATA, EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, QUIN_AGE_2026_06H, SCHEMES

FUZZ = settings(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CAMDEN = SCHEMES / "camden-lcs-2019-20.yaml"
HEADER = ["code", "name", "postcode", "list_size"]


@cache
def camden() -> ServiceScheme:
    return load_service_scheme(CAMDEN)


def head(path: Path, lines: int) -> str:
    return "".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:lines])


def csv_bytes(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def zip_bytes(data: bytes, name: str = "practices.csv", method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        zf.writestr(name, data)
    return out.getvalue()


def rewritten(xlsx: bytes, member: str, change) -> bytes:
    """The workbook with one of its parts changed (``change`` maps its bytes to new bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            zout.writestr(name, change(data) if name == member else data)
    return out.getvalue()


def loaded(path: Path) -> PracticeData:
    """Load one file; every problem names it (the loader never raises)."""
    data = load_practice_data([path])
    assert all(isinstance(p, AgreementgenError) and p.path == str(path) for p in data.problems)
    return data


def problems_by_row(data: PracticeData) -> dict[int | None, list[tuple[str | None, str]]]:
    rows: dict[int | None, list[tuple[str | None, str]]] = {}
    for p in data.problems:
        rows.setdefault(p.row, []).append((p.field, p.message))
    return rows


# --- absurd counts --------------------------------------------------------------------------------

ABSURD = [
    (
        "1234567890123456789012345",
        "list size 1234567890123456789012345 is more than 10,000,000; check the column",
    ),
    ("-5", "list size -5 is negative"),
    ("10000001", "list size 10,000,001 is more than 10,000,000; check the column"),
    ("9" * 5000, f"list size {'9' * 39}… is more than 10,000,000; check the column"),  # int() refuses 4,300
    ("NaN", "list size 'NaN' is not a whole number"),
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "zip"])
def test_every_absurd_list_size_is_refused_with_its_row_and_column(tmp_path: Path, fmt: str):
    rows: list[list[object]] = [HEADER, ["D81001", "Good Surgery", "CB2 1EL", "5800"]]
    rows += [[f"D8100{i}", "Surgery", "CB2 1EL", size] for i, (size, _) in enumerate(ABSURD, start=2)]
    path = tmp_path / f"practices.{fmt}"
    path.write_bytes(
        {"csv": csv_bytes, "xlsx": xlsx_bytes, "zip": lambda r: zip_bytes(csv_bytes(r))}[fmt](rows)
    )
    data = loaded(path)
    assert problems_by_row(data) == {
        row: [("list_size", message)] for row, (_, message) in enumerate(ABSURD, start=3)
    }
    assert [(p.code, p.list_size) for p in data.practices] == [("D81001", 5800)]


def test_a_25_digit_list_size_stored_as_an_excel_number_is_refused(tmp_path: Path):
    path = tmp_path / "practices.xlsx"
    path.write_bytes(xlsx_bytes([HEADER, ["D81001", "Big", "CB2 1EL", 1.2345678901234567e24]]))
    [problem] = loaded(path).problems
    assert (problem.row, problem.field) == (2, "list_size")
    assert problem.message.endswith("is more than 10,000,000; check the column")


def test_an_absurd_count_in_an_nhs_list_size_file_is_refused_with_its_row(tmp_path: Path):
    path = tmp_path / "gp-reg-pat-prac-all.csv"
    text = head(LIST_SIZES_2021_06H, 3)
    path.write_text(text.replace(",12731\n", ",1234567890123456789012345\n"))
    [problem] = loaded(path).problems
    assert (problem.row, problem.field) == (2, "NUMBER_OF_PATIENTS")
    assert problem.message == (
        "D81001: number of patients 1234567890123456789012345 is more than 10,000,000; check the column"
    )


def test_an_absurd_planned_figure_in_a_sign_up_file_is_refused_with_its_row(tmp_path: Path):
    path = tmp_path / "signups.csv"
    path.write_text("practice_code,service,planned\nF83001,asthma_cyp,99999999999999999999999999\n")
    signups = load_signups([path], camden(), ["F83001"])
    [problem] = signups.problems
    assert (problem.path, problem.row, problem.field) == (str(path), 2, "planned")
    assert problem.message == "planned 99999999999999999999999999 is more than 10,000,000; check the column"


@settings(FUZZ, max_examples=40)
@given(
    sizes=st.lists(
        st.one_of(
            st.integers(-(10**30), 10**30).map(str),
            st.integers(0, MAX_COUNT).map(str),
            st.sampled_from(["", " ", "1e5", "5.5", "١٢٣", "0x10", "+5", "5,800", "--1", "9" * 4400]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_each_list_size_is_kept_or_refused_on_its_own_row(tmp_path_factory, sizes: list[str]):
    path = tmp_path_factory.getbasetemp() / "sizes.csv"
    path.write_bytes(csv_bytes([HEADER, *([f"D8{i:04d}", "Surgery", "", s] for i, s in enumerate(sizes))]))
    data = loaded(path)
    counts = {p.code: p.list_size for p in data.practices}
    refused = {p.row for p in data.problems}
    assert all(p.field == "list_size" for p in data.problems)
    for row, size in enumerate(sizes, start=2):
        text = size.strip().replace(",", "")
        digits = re.fullmatch(r"[0-9]+", text) is not None
        good = digits and len(text.lstrip("0")) <= 9 and int(text) <= MAX_COUNT  # blank: no list size
        assert (row not in refused) == good, (row, size)
        assert counts.get(f"D8{row - 2:04d}") == (int(text) if good else None)


# --- control characters ---------------------------------------------------------------------------


def test_a_control_character_in_a_practice_name_is_reported_with_its_row_and_column(tmp_path: Path):
    path = tmp_path / "practices.csv"
    path.write_bytes(
        csv_bytes(
            [
                ["Code", "Practice Name", "Address 1", "Postcode", "List Size", "Lead GP"],
                ["D81001", "Good Surgery", "1 Road", "CB2 1EL", "5800", "Dr A"],
                ["D81002", "Bad\x07Name", "1 Road", "CB2 1EL", "100", "Dr B"],
                ["D81003", "Also Good", "2\x0bRoad", "CB2 1EL", "100", "Dr\x00C"],
            ]
        )
    )
    data = loaded(path)
    assert [(p.row, p.field, p.message) for p in data.problems] == [
        (3, "Practice Name", "'Bad\\x07Name' has a control character (U+0007) at character 4, "
                             "which no document can print; remove it from the file"),
        (4, "Address 1", "'2\\x0bRoad' has a control character (U+000B) at character 2, "
                         "which no document can print; remove it from the file"),
        (4, "Lead GP", "'Dr\\x00C' has a control character (U+0000) at character 3, "
                       "which no document can print; remove it from the file"),
    ]  # fmt: skip
    assert [p.code for p in data.practices] == ["D81001"]


def test_a_control_character_in_an_epraccur_name_is_reported_with_its_row(tmp_path: Path):
    lines = head(EPRACCUR_2023_06H, 3).splitlines(keepends=True)
    name = lines[1].split(",")[1]
    path = tmp_path / "epraccur.csv"
    path.write_text(lines[0] + lines[1].replace(name, name[:-1] + '\x1b"', 1) + lines[2])
    data = load_practice_data([path, LIST_SIZES_2021_06H])
    [problem] = data.problems
    assert (problem.row, problem.field) == (2, "name (col 2)")
    assert "(U+001B)" in problem.message
    assert len(data.practices) == 2


def test_an_xlsx_export_of_a_practice_named_with_a_control_character_reads_back(tmp_path: Path):
    # Crash of issue 12: openpyxl's IllegalCharacterError, in every XLSX export.
    path = tmp_path / "practices.xlsx"
    write_xlsx(path, ["code", "name"], [["D81001", "Bad\x07Name"]])
    assert [r.cells for r in read_table(path).rows] == [["code", "name"], ["D81001", "Bad\ufffdName"]]


def test_the_entitlements_export_of_such_a_practice_opens_in_excel(tmp_path: Path):
    practice = Practice(code="D81001", name="Bad\x07Name", list_size=5800, list_size_date=date(2017, 4, 1))
    table = entitlement_table(load_scheme(QEF), [practice])
    table.write(tmp_path / "entitlements.xlsx")
    rows = [r.cells for r in read_table(tmp_path / "entitlements.xlsx").rows]
    assert rows[1][:3] == ["D81001", "Bad\ufffdName", "5800"]


def test_characters_only_lxml_refuses_are_replaced_too(tmp_path: Path):
    # Crash found by mutation: openpyxl's ILLEGAL_CHARACTERS_RE lets U+FFFE and lone surrogates
    # (a file name read with surrogateescape) through, and lxml refuses them when saving.
    path = tmp_path / "odd.xlsx"
    write_xlsx(path, ["text"], [["a\ufffeb"], ["c\udc80d"], ["tab\tand\nnewline"]])
    assert [r.cells[0] for r in read_table(path).rows[1:]] == ["a\ufffdb", "c\ufffdd", "tab\tand\nnewline"]


def test_a_cell_longer_than_excel_holds_is_cut(tmp_path: Path):
    path = tmp_path / "long.xlsx"
    write_xlsx(path, ["text"], [["x" * 40_000]])
    [cell] = read_table(path).rows[1].cells
    assert len(cell) == XLSX_CELL_LIMIT and cell.endswith("x…")


@settings(FUZZ, max_examples=40)
@given(texts=st.lists(st.text(max_size=30), min_size=1, max_size=5))
def test_any_text_survives_an_xlsx_export_as_far_as_xml_allows(tmp_path_factory, texts: list[str]):
    path = tmp_path_factory.getbasetemp() / "any.xlsx"
    write_xlsx(path, ["n", "text"], [[i, t] for i, t in enumerate(texts)])
    back = [r.cells[1] if len(r.cells) > 1 else "" for r in read_table(path).rows[1:]]
    assert back == [xlsx_cell(t) for t in texts]
    assert not any(UNPRINTABLE.search(t) for t in back)


# --- damaged files --------------------------------------------------------------------------------


def test_a_utf8_mark_on_text_that_is_not_utf8_is_a_clear_error(tmp_path: Path):
    # Crash found by reading: the BOM branch decoded strictly outside any guard (UnicodeDecodeError).
    path = tmp_path / "practices.csv"
    path.write_bytes(b"\xef\xbb\xbfcode,name\nD81001,Caf\xe9\n")
    [problem] = loaded(path).problems
    assert problem.row == 2
    assert problem.message.startswith("starts as UTF-8 but byte 0xe9 at offset")


def test_an_epraccur_file_with_a_short_row_reports_the_row(tmp_path: Path):
    # Crash found by mutation: the coding check read column 13 of every row (IndexError).
    lines = head(EPRACCUR_2023_06H, 3).splitlines(keepends=True)
    path = tmp_path / "epraccur.csv"
    path.write_text(lines[0] + "D81002,SHORT,ROW\n" + lines[2])
    data = load_practice_data([path, LIST_SIZES_2021_06H])
    [problem] = data.problems
    assert (problem.row, problem.message) == (2, "has 3 columns; epraccur rows have 27")
    assert len(data.practices) == 2


def workbook() -> bytes:
    return xlsx_bytes(
        [HEADER, ["D81001", "Good Surgery", "CB2 1EL", 5800], ["D81002", "Next", "CB1 3EB", 10]]
    )


@pytest.mark.parametrize(
    ("member", "change", "message"),
    [
        # Crashes found by mutation; each was raised while reading rows, outside the guard on opening.
        # ParseError:
        ("xl/worksheets/sheet1.xml", lambda b: b[: len(b) // 2], "the first worksheet cannot be read"),
        ("xl/worksheets/sheet1.xml", lambda b: b.replace(b'r="A2"', b'r="E-"'), "cannot be read after row 1"),
        ("xl/worksheets/sheet1.xml", lambda b: b.replace(b"<sheetFormatPr ", b"<sheetFormatPr bogus=\"1\" "),
         "the first worksheet cannot be read from its start"),  # TypeError in openpyxl's parser
        ("xl/workbook.xml", lambda b: re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", b), "has no worksheet"),
    ],
    ids=["cut short", "bad cell reference", "unknown attribute", "no sheets"],
)  # fmt: skip
def test_a_damaged_xlsx_is_a_problem_not_a_crash(tmp_path: Path, member: str, change, message: str):
    path = tmp_path / "practices.xlsx"
    path.write_bytes(rewritten(workbook(), member, change))
    [problem] = loaded(path).problems
    assert message in problem.message


def patched_zip(flags: int = 0, method: int | None = None, damage: bool = False) -> bytes:
    """A one-CSV zip with its header flags or compression method changed, or its data spoilt."""
    data = bytearray(zip_bytes(head(DATA / "camden_practices_illustrative.csv", 4).encode()))
    central = data.index(b"PK\x01\x02")
    for at, flag_at, method_at in ((0, 6, 8), (central, 8, 10)):  # local header, central directory
        struct.pack_into("<H", data, at + flag_at, struct.unpack_from("<H", data, at + flag_at)[0] | flags)
        if method is not None:
            struct.pack_into("<H", data, at + method_at, method)
    if damage:  # the deflated bytes, after the 30-byte local header and the name
        start = 30 + struct.unpack_from("<H", data, 26)[0]
        data[start : start + 8] = b"\xff" * 8
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (patched_zip(damage=True), "Error -3 while decompressing data"),  # was zlib.error
        (patched_zip(method=99), "compression method"),  # was NotImplementedError
        (patched_zip(flags=1), "encrypted"),  # was RuntimeError
        (zip_bytes(b"code,name\n" * 100)[:60], "not a valid zip or XLSX file"),
    ],
    ids=["spoilt data", "unknown compression", "encrypted", "cut short"],
)
def test_a_damaged_zip_is_a_problem_not_a_crash(tmp_path: Path, data: bytes, message: str):
    path = tmp_path / "practices.zip"
    path.write_bytes(data)
    [problem] = loaded(path).problems
    assert problem.message.startswith("not a valid zip or XLSX file (damaged or cut short?)")
    assert message in problem.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_place_of_a_practice_file_is_refused_not_waited_on(tmp_path: Path):
    path = tmp_path / "practices.csv"
    os.mkfifo(path)
    [problem] = loaded(path).problems
    assert problem.message == "not a regular file (a pipe, device or folder)"


def test_a_nan_percentage_or_an_absurd_amount_in_a_year_end_file_is_reported(tmp_path: Path):
    # Crash found by reading: ordering Decimal('NaN') raised InvalidOperation.
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("practice_code,component,percentage,reason\nD81001,engagement,NaN,late\n")
    paid = tmp_path / "paid.csv"
    paid.write_text("practice_code,instalment,amount,date\nD81001,first,1e15,2017-07-31\n")
    practice = Practice(code="D81001", name="Surgery", list_size=5800)
    inputs = load_year_end(load_scheme(QEF), [practice], decisions=[decisions], paid=[paid])
    assert sorted((p.path, p.row, p.field, p.message) for p in inputs.problems) == [
        (str(decisions), 2, "percentage", "'NaN' is not a percentage from 0 to 100"),
        (str(paid), 2, "amount", "£1,000,000,000,000,000.00 is more than £1,000,000,000; check the column"),
    ]


# --- mutation -------------------------------------------------------------------------------------

SEEDS = {
    "team list": (
        "code,name,address_1,postcode,commissioner,list_size,list_size_date,email,lead_gp_clinical\n"
        'D81001,Lensfield Medical Practice,48 Lensfield Road,CB2 1EH,06H,"12,731",2017-04-01,a@nhs.net,Dr A\n'
        "D81002,Meddygfa'r Llan & Café,1 Heol,CB1 3EB,06H,5800,01/04/2017,,Dr B\n"
    ),
    "epraccur 2023": head(EPRACCUR_2023_06H, 6),
    "epraccur 2026": head(DATA / "epraccur_2026-02_06H.csv", 6),
    "list sizes 2021": head(LIST_SIZES_2021_06H, 6),
    "quin-age 2026": head(QUIN_AGE_2026_06H, 10),
    "sign-ups": head(DATA / "camden_signups_illustrative.csv", 6),
}
CELLS = ["\x07", "Bad\x07Name", "9" * 25, "-5", "1e9", "NaN", "", '"', "\x00", "\r", "=1+1", "10000001",
         "١٢٣", "５８００", "5,800.5", "ALL", "F83001", "D81001", "2017-02-31", "01JAN2021", "\ufeffcode",
         "\ufffe", "a" * 5000, "lead_", "NUMBER_OF_PATIENTS", "ORG_TYPE", "GP", "RO76", "ACTIVE"]  # fmt: skip
BYTES = [b"\xff", b"\xef\xbb\xbf", b"\x00", b'"', b",", b"\n", b"\r", b",," * 13, b"9" * 25, b"\x07",
         b"\x81", b"\xc3", b"-1", b"PK\x03\x04"]  # fmt: skip

byte_edit = st.tuples(
    st.sampled_from(["flip", "cut", "insert", "delete"]), st.floats(0, 1), st.integers(0, 255)
)
cell_edit = st.tuples(
    st.sampled_from(["set", "shorten", "append", "repeat", "drop"]),
    st.integers(0, 50),
    st.integers(0, 50),
    st.sampled_from(CELLS),
)


def edit_bytes(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for kind, where, n in edits:
        at = int(where * len(out))
        if kind == "flip" and out:
            out[min(at, len(out) - 1)] = n
        elif kind == "cut":
            del out[at:]
        elif kind == "insert":
            out[at:at] = BYTES[n % len(BYTES)]
        elif kind == "delete":
            del out[at : at + n]
    return bytes(out)


def edit_rows(rows: list[list[str]], edits) -> list[list[str]]:
    rows = [list(r) for r in rows] or [[""]]
    for kind, i, j, cell in edits:
        row = rows[i % len(rows)]
        if kind == "set" and row:
            row[j % len(row)] = cell
        elif kind == "shorten":
            del row[j % (len(row) + 1) :]
        elif kind == "append":
            row.append(cell)
        elif kind == "repeat":
            rows.insert(j % len(rows), list(row))
        elif kind == "drop" and len(rows) > 1:
            rows.remove(row)
    return rows


def excel(rows: list[list[str]]) -> bytes:
    """The rows as a workbook, numbers as Excel numbers (what openpyxl cannot hold, left out)."""
    values: list[list[object]] = []
    for row in rows:
        cells: list[object] = []
        for cell in row:
            number = re.fullmatch(r"-?[0-9]{1,30}(\.[0-9]+)?", cell)
            cells.append(float(cell) if number else UNPRINTABLE.sub("", cell))
        values.append(cells)
    return xlsx_bytes(values)


@settings(FUZZ, max_examples=150)
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    form=st.sampled_from(
        ["csv bytes", "csv cells", "xlsx cells", "xlsx xml", "xlsx bytes", "zip cells", "zip bytes"]
    ),
    byte_edits=st.lists(byte_edit, min_size=1, max_size=4),
    cell_edits=st.lists(cell_edit, min_size=1, max_size=4),
)
def test_a_mutated_practice_file_loads_or_reports_problems_naming_it(
    tmp_path_factory, seed: str, form: str, byte_edits, cell_edits
):
    text = SEEDS[seed]
    rows = list(csv.reader(io.StringIO(text)))
    data = {
        "csv bytes": lambda: edit_bytes(text.encode(), byte_edits),
        "csv cells": lambda: csv_bytes(edit_rows(rows, cell_edits)),
        "xlsx cells": lambda: excel(edit_rows(rows, cell_edits)),
        "xlsx xml": lambda: rewritten(
            excel(rows), "xl/worksheets/sheet1.xml", lambda b: edit_bytes(b, byte_edits)
        ),
        "xlsx bytes": lambda: edit_bytes(excel(rows), byte_edits),
        "zip cells": lambda: zip_bytes(csv_bytes(edit_rows(rows, cell_edits))),
        "zip bytes": lambda: edit_bytes(zip_bytes(text.encode()), byte_edits),
    }[form]()
    path = tmp_path_factory.getbasetemp() / f"mutant.{form.split()[0]}"
    path.write_bytes(data)
    practices = loaded(path)  # never raises; every problem names the file
    signups = load_signups([path], camden(), [p.code for p in practices.practices])
    assert all(p.path == str(path) for p in signups.problems)
    try:
        read_table(path)
    except PracticeDataError as exc:
        assert exc.path == str(path)
    for practice in practices.practices:  # what is kept is fit to print and to pay
        assert practice.list_size is not None and 0 <= practice.list_size <= MAX_COUNT
        assert not UNPRINTABLE.search(practice.name)


def test_the_largest_rate_times_the_largest_list_stays_exact_in_any_total():
    # The bounds that keep every rate × list size, and a national total of them, exact in Decimal.
    assert MAX_RATE * MAX_COUNT * 100_000 < MAX_MONEY  # 100,000 practices at the worst still add up
    assert MAX_MONEY.adjusted() + 1 + 2 <= MAX_DIGITS  # its pounds and pence fit Decimal's precision
