"""Practice data from real NHS files and from a contracts team's own spreadsheet."""

from collections import Counter
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from agreementgen.practices import load_practice_data, parse_date
from conftest import (
    EPRACCUR_2023_06H,
    EPRACCUR_2026_06H,
    LIST_SIZES_2021_06H,
    MAP_2026_06H,
    QUIN_AGE_2026_06H,
)

QEF_LIST_DATE = date(2017, 4, 1)


def test_the_bundled_cp_sample_gives_85_practices_and_their_2021_list_sizes():
    data = load_practice_data(
        [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], list_size_date=QEF_LIST_DATE, commissioner="06H"
    )
    assert data.problems == []
    assert len(data.practices) == 85
    assert sum(p.list_size for p in data.practices) == 1_003_935
    lensfield = data.by_code()["D81001"]
    assert lensfield.name == "LENSFIELD MEDICAL PRACTICE"
    assert lensfield.list_size == 12_731
    assert lensfield.list_size_date == date(2021, 1, 1)
    assert lensfield.postcode == "CB2 1EH"
    assert data.notes == [
        "85 list size(s) as at 2021-01-01 stand in for the scheme's list-size date 2017-04-01"
    ]
    assert [f.format for f in data.files] == [
        "epraccur (legacy coding)",
        "list sizes (85 practices, as at 2021-01-01)",
    ]


def test_the_commissioner_is_taken_as_at_the_list_size_date():
    # K83023 moved to 78H by 2023 but was in 06H in the January 2021 list-size file.
    data = load_practice_data([EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
    k = data.by_code()["K83023"]
    assert (k.commissioner, k.list_size_commissioner, k.effective_commissioner) == ("78H", "06H", "06H")
    only_78h = load_practice_data([EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="78H")
    assert only_78h.practices == []
    assert only_78h.excluded["outside commissioner 78H"] == 85


def test_the_2026_epraccur_coding_excludes_closed_dormant_and_non_gp_by_reason():
    data = load_practice_data([EPRACCUR_2026_06H, QUIN_AGE_2026_06H])
    assert data.files[0].format == "epraccur (2026 coding)"
    # 86 active GP practices (one coded "RO76|RO268"); Y07024 has no July 2026 list size
    assert len(data.practices) == 85
    assert "D81085" in data.by_code()  # the RO76|RO268 practice
    assert data.excluded["closed"] == 23
    assert data.excluded["dormant"] == 1
    assert data.excluded["not a GP practice (ODS role RO247)"] == 34
    assert sum(data.excluded.values()) == 183 - 86
    assert all(p.list_size_date == date(2026, 7, 1) for p in data.practices)
    [problem] = data.problems
    assert (problem.row, problem.field) == (173, "list_size")
    assert "no list size for Y07024" in problem.message


def test_inactive_practices_can_be_kept_on_request():
    data = load_practice_data([EPRACCUR_2026_06H, QUIN_AGE_2026_06H], include_inactive=True)
    statuses = Counter(p.status for p in data.practices)
    assert statuses["active"] == 85
    # closed/dormant practices have no July 2026 list size: reported, never silently dropped
    assert len(data.problems) == 1 + 24
    assert all(p.field == "list_size" for p in data.problems)


def test_quin_age_uses_only_the_gp_all_ages_all_sexes_rows():
    data = load_practice_data([EPRACCUR_2026_06H, QUIN_AGE_2026_06H])
    rows = QUIN_AGE_2026_06H.read_text().splitlines()
    all_row = next(
        r for r in rows if ",GP,D81001," in r and r.endswith(tuple("0123456789")) and ",ALL,ALL," in r
    )
    assert data.by_code()["D81001"].list_size == int(all_row.rsplit(",", 1)[1])


def test_the_nhs_practice_map_reads_as_a_practice_list_with_pcns():
    data = load_practice_data([MAP_2026_06H, QUIN_AGE_2026_06H])
    p = data.by_code()["D81001"]
    assert p.pcn_code and p.pcn_name and p.commissioner == "06H"
    assert data.files[0].format == "practice_list"


@pytest.mark.parametrize("text", ["01JAN2021", "2021-01-01", "01Jan2021", "20210101", "01/01/2021"])
def test_the_three_nhs_date_styles_and_the_teams_own(text):
    assert parse_date(text) == date(2021, 1, 1)


def test_the_newer_sub_icb_list_size_layout(write_bytes):
    path = write_bytes(
        "gp-reg-pat-prac-all.csv",
        b"PUBLICATION,EXTRACT_DATE,TYPE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,CODE,POSTCODE,SEX,AGE,"
        b"NUMBER_OF_PATIENTS\r\n"
        b"GP_PRAC_PAT_LIST,2026-04-01,GP,06H,E38000026,D81001,CB2 1EL,ALL,ALL,13000\r\n",
    )
    data = load_practice_data([EPRACCUR_2023_06H, path], commissioner="06H")
    assert [(p.code, p.list_size, p.list_size_date) for p in data.practices] == [
        ("D81001", 13000, date(2026, 4, 1))
    ]


def test_the_list_size_nearest_before_the_scheme_date_wins(write_bytes):
    header = b"PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\n"
    old = write_bytes("a.csv", header + b"X,01MAR2017,GP,06H,E,D81001,CB2 1EL,ALL,ALL,5800\n")
    new = write_bytes("b.csv", header + b"X,01JUL2017,GP,06H,E,D81001,CB2 1EL,ALL,ALL,6000\n")
    data = load_practice_data([EPRACCUR_2023_06H, new, old], list_size_date=QEF_LIST_DATE, commissioner="06H")
    assert data.practices[0].list_size == 5800
    assert data.notes == [
        "1 list size(s) as at 2017-03-01 stand in for the scheme's list-size date 2017-04-01"
    ]


TEAM_HEADER = (
    "ODS Code,Practice Name,Address 1,Town,Postcode,CCG,List Size,Email,Lead GP Clinical Representative\n"
)


def test_a_team_csv_with_aliased_headers_accents_welsh_and_apostrophes(write_bytes):
    text = TEAM_HEADER + (
        "D81001,Meddygfa'r Llan & Café Ŵyn,1 Stryd Fawr,Caerdydd,cb2 1el,06H,"
        '"5,800",llan@nhs.net,Dr Siân Ôwen\n'
    )
    for name, data in [
        ("utf8.csv", text.encode("utf-8")),
        ("bom.csv", b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("lf.csv", text.replace("\n", "\r\n").encode("utf-8")),
    ]:
        result = load_practice_data([write_bytes(name, data)])
        assert result.problems == [], name
        [p] = result.practices
        assert p.name == "Meddygfa'r Llan & Café Ŵyn"
        assert p.postcode == "CB2 1EL"
        assert p.list_size == 5800
        assert p.address == ("1 Stryd Fawr", "Caerdydd")
        assert dict(p.leads) == {"gp_clinical_representative": "Dr Siân Ôwen"}


def test_windows_1252_from_excel_is_read(write_bytes):
    text = TEAM_HEADER + "D81001,Café Surgery – St Mary’s,1 Road,Town,CB2 1EL,06H,5800,,\r\n"
    result = load_practice_data([write_bytes("excel.csv", text.encode("cp1252"))])
    assert result.files[0].encoding == "cp1252"
    assert result.practices[0].name == "Café Surgery – St Mary’s"


def test_an_xlsx_practice_list_with_numeric_cells(tmp_path: Path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Code", "Name", "Postcode", "List size", "List size date"])
    ws.append(["D81001", "Lensfield", "CB2 1EL", 5800.0, date(2017, 4, 1)])
    ws.append(["D81002", "Huntingdon Road", "CB3 0LA", 4200, "01/04/2017"])
    path = tmp_path / "practices.xlsx"
    wb.save(path)
    data = load_practice_data([path])
    assert data.problems == []
    assert [(p.code, p.list_size, p.list_size_date) for p in data.practices] == [
        ("D81001", 5800, date(2017, 4, 1)),
        ("D81002", 4200, date(2017, 4, 1)),
    ]
    assert data.files[0].encoding == "xlsx"


def test_every_bad_row_is_reported_with_file_row_column_and_reason(write_bytes):
    path = write_bytes(
        "bad.csv",
        (
            b"code,name,postcode,list_size\n"
            b"D81001,Good Surgery,CB2 1EL,5800\n"   # row 2: fine
            b"D8100,Short Code,CB2 1EL,100\n"       # row 3: bad ODS code
            b"D81003,,CB2 1EL,100\n"                # row 4: missing name
            b"D81004,Negative,CB2 1EL,-5\n"         # row 5: negative list size
            b"D81005,Words,CB2 1EL,lots\n"          # row 6: non-numeric
            b"D81006,Missing,CB2 1EL,\n"            # row 7: missing list size, no list-size file
            b"D81001,Dup of row 2,CB2 1EL,5800\n"   # row 8: duplicate code
            b"D81008,Bad Postcode,NOT A PC,100\n"   # row 9: bad postcode
        ),
    )  # fmt: skip
    data = load_practice_data([path])
    found = sorted((p.row, p.field, p.message) for p in data.problems)
    assert [(row, field) for row, field, _ in found] == [
        (3, "code"), (4, "name"), (5, "list_size"), (6, "list_size"),
        (7, "list_size"), (8, "code"), (9, "postcode"),
    ]  # fmt: skip
    messages = dict(((row, field), msg) for row, field, msg in found)
    assert "'D8100' is not a GP practice ODS code" in messages[(3, "code")]
    assert messages[(4, "name")] == "practice name is missing"
    assert messages[(5, "list_size")] == "list size -5 is negative"
    assert messages[(6, "list_size")] == "list size 'lots' is not a whole number"
    assert "no list size for D81006" in messages[(7, "list_size")]
    assert "practice D81001 is listed more than once" in messages[(8, "code")]
    assert "'NOT A PC' is not a UK postcode" in messages[(9, "postcode")]
    assert all(p.path == str(path) for p in data.problems)
    # the duplicated code is used by neither row; the other bad rows are left out too
    assert data.practices == []


def test_a_file_without_code_or_name_columns_says_what_it_found(write_bytes):
    path = write_bytes("odd.csv", b"practice id,title\nD81001,x\n")
    data = load_practice_data([path])
    [problem] = data.problems
    assert problem.row == 1
    assert "no code or name column" in problem.message
    assert "found: practice id, title" in problem.message


def test_a_bad_list_size_file_row_is_reported(write_bytes):
    path = write_bytes(
        "sizes.csv",
        b"PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\n"
        b"X,01JAN2021,GP,06H,E,D81001,CB2 1EL,ALL,ALL,n/a\n"
        b"X,31FEB2021,GP,06H,E,D81002,CB2 1EL,ALL,ALL,10\n",
    )
    data = load_practice_data([path])
    assert [(p.row, p.field) for p in data.problems] == [(2, "NUMBER_OF_PATIENTS"), (3, "EXTRACT_DATE")]


def test_missing_and_unreadable_files_are_problems_not_crashes(tmp_path: Path, write_bytes):
    data = load_practice_data([tmp_path / "nope.csv", write_bytes("empty.csv", b"")])
    assert [p.message for p in data.problems] == ["file not found", "the file has no rows"]
