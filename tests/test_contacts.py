"""The contacts file: practices' addresses read from CSV and XLSX, every bad row reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from agreementgen.contacts import load_contacts
from agreementgen.errors import PracticeDataError
from agreementgen.resources import sample_contacts
from agreementgen.tables import write_xlsx
from agreementgen.validation import load_inputs
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF

HEADER = ["code", "email", "contact_name", "role"]
ROWS = [
    ["D81001", "d81001@practices.example.nhs.uk", "Asha Patel", "practice manager"],
    ["D81001", "d81001.partners@practices.example.nhs.uk", "GP Partners", "partners"],
    ["D81002", "reception@practices.example.nhs.uk; manager@practices.example.nhs.uk", "", ""],
    ["D81003", "", "", ""],
]
BAD_ROWS = [
    ["81004", "d81004@practices.example.nhs.uk", "", ""],  # row 6: not an ODS code
    ["D81005", "not an address", "", ""],  # row 7
    ["D81006", "ok@practices.example.nhs.uk", "Bad\rBcc: evil@attacker.example", ""],  # row 8
    ["D81007", "a@@practices.example.nhs.uk, b@localhost", "", ""],  # row 10 (row 8 has a line break)
    ["D81008", "Manager <m@practices.example.nhs.uk>", "", ""],  # row 11
]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def test_every_address_of_every_row_is_a_recipient_of_its_practice(tmp_path: Path) -> None:
    contacts = load_contacts(write_csv(tmp_path / "contacts.csv", ROWS))
    assert contacts.problems == []
    assert [(c.address, c.name, c.role) for c in contacts.recipients("D81001")] == [
        ("d81001@practices.example.nhs.uk", "Asha Patel", "practice manager"),
        ("d81001.partners@practices.example.nhs.uk", "GP Partners", "partners"),
    ]
    assert [c.address for c in contacts.recipients("D81002")] == [
        "reception@practices.example.nhs.uk",
        "manager@practices.example.nhs.uk",
    ]
    assert contacts.recipients("D81001")[0].source.endswith("contacts.csv, row 2")


def test_a_practice_listed_without_an_address_is_kept_as_such(tmp_path: Path) -> None:
    contacts = load_contacts(write_csv(tmp_path / "contacts.csv", ROWS))
    assert contacts.blank == {"D81003"}
    assert contacts.recipients("D81003") == []


def test_every_bad_row_is_reported_with_its_row_and_column_and_its_practice_held_back(tmp_path: Path) -> None:
    contacts = load_contacts(write_csv(tmp_path / "contacts.csv", ROWS + BAD_ROWS))
    found = [(p.row, p.field) for p in contacts.problems]
    assert found == [
        (6, "code"),
        (7, "email"),
        (8, "contact_name"),
        (10, "email"),
        (10, "email"),
        (11, "email"),
    ]
    messages = [p.message for p in contacts.problems]
    assert "'81004' is not a GP practice ODS code" in messages[0]
    assert "'not an address' is not an email address" in messages[1]
    assert "control character (U+000D)" in messages[2]
    assert "A display name and angle brackets" in messages[5]
    assert str(contacts.problems[1]).startswith(f"{tmp_path / 'contacts.csv'}, row 7, column 'email': ")
    # a practice with a bad row gets no message at its other addresses: it is held back
    assert contacts.held == {"D81005": [7], "D81006": [8], "D81007": [10], "D81008": [11]}
    assert contacts.recipients("D81006") == []
    assert [c.address for c in contacts.recipients("D81001")] == [
        "d81001@practices.example.nhs.uk",
        "d81001.partners@practices.example.nhs.uk",
    ]


def test_an_xlsx_contacts_file_reads_as_the_csv_does(tmp_path: Path) -> None:
    path = tmp_path / "contacts.xlsx"
    write_xlsx(path, HEADER, ROWS + BAD_ROWS)
    contacts = load_contacts(path)
    assert [c.address for c in contacts.recipients("D81002")] == [
        "reception@practices.example.nhs.uk",
        "manager@practices.example.nhs.uk",
    ]
    assert [(p.row, p.field) for p in contacts.problems][:2] == [(6, "code"), (7, "email")]


def test_a_file_without_an_email_column_is_refused_naming_what_it_has(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("practice_code,phone\nD81001,01223 000000\n", encoding="utf-8")
    with pytest.raises(PracticeDataError) as caught:
        load_contacts(path)
    assert caught.value.row == 1
    assert "no email column; the header row needs 'code' and 'email' (found: practice_code, phone)" in str(
        caught.value
    )


def test_the_sample_contacts_cover_every_demo_practice_with_invented_addresses() -> None:
    contacts = load_contacts(sample_contacts())
    practices = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H").data.practices
    assert contacts.problems == []
    assert set(contacts.by_code) == {p.code for p in practices}
    addresses = [c.address for found in contacts.by_code.values() for c in found]
    assert all(a.endswith("@practices.example.nhs.uk") for a in addresses)
    assert len(contacts.blank) == 1  # one practice is listed without an address, for the demo to show
