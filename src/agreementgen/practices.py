"""Practice records and the loaders that make them from real NHS and team files.

Formats, told apart by their content (never by file name):

* **epraccur** — the headerless 27-column ODS GP practice file, in its legacy coding
  (status ``A``/``C``/``D``/``P``, column 26 a numeric prescribing setting, 4 = GP
  practice) and its 2026 coding (status ``ACTIVE``/``INACTIVE``/``DORMANT``, column 26
  ODS role codes such as ``RO76`` = GP practice, several joined by ``|``).
* **list sizes** — NHS Digital "Patients Registered at a GP Practice":
  ``gp-reg-pat-prac-all`` (``CCG_CODE`` in 2021, ``SUB_ICB_LOCATION_CODE`` later) and
  ``gp-reg-pat-prac-quin-age`` (rows ``ORG_TYPE=GP, SEX=ALL, AGE_GROUP_5=ALL``), plain or
  zipped, with dates as ``01JAN2021``, ``2026-07-01`` or ``01Jul2026``.
* **practice list** — a CSV/XLSX with a header row, as a contracts team keeps it
  (column names matched through ``ALIASES``; ``lead_<role>`` columns give named leads).
  NHS Digital's ``gp-reg-pat-prac-map`` file reads as one too (it adds PCNs).

Rules:

* Closed, dormant and proposed practices and non-GP organisations in epraccur are
  excluded by default and counted by reason.
* A practice's list size is its own ``list_size`` cell if the practice list has one,
  else the list-size file whose date is the latest on or before the scheme's
  list-size date (else the earliest after it, with a note that it stands in).
* The commissioner a practice is filtered by is the one the list-size file gives
  (as at the list-size date), else the practice file's.
* Every bad row is reported with file, row, column and reason; a practice with a
  problem is left out of ``PracticeData.practices`` — never silently.
* A count (list size, planned activity) is a whole number from 0 to ``MAX_COUNT``;
  a 25-digit or negative one is a problem of its row and column, like any other.
* A text a document prints (name, address, PCN, leads, email) may not hold a control
  character: no DOCX, PDF or XLSX can carry one, so the row is reported, its cell shown
  with the character escaped (``'Bad\\x07Name'``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from .errors import AgreementgenError, PracticeDataError
from .tables import UNPRINTABLE, Row, Table, read_table

ODS_PRACTICE_CODE = re.compile(r"^[A-Z][0-9]{5}$")
ODS_ORG_LIKE = re.compile(r"^[A-Z0-9]{3,10}$")
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

EPRACCUR_COLUMNS = 27
# The most patients (or units of activity) one practice can have: England's largest practice has
# about 100,000, so a bigger figure is a typo or a broken export, refused with its row and column.
MAX_COUNT = 10_000_000
LEGACY_STATUS = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}
CURRENT_STATUS = {"ACTIVE": "active", "INACTIVE": "closed", "DORMANT": "dormant"}
GP_PRESCRIBING_SETTING = "4"
GP_ROLE = "RO76"
PRESCRIBING_SETTINGS = {  # ODS epraccur spec, column 26 (legacy coding)
    "0": "other", "1": "walk-in centre", "2": "out of hours", "3": "walk-in centre + out of hours",
    "8": "public health service", "9": "community health service", "10": "hospital service",
    "11": "optometry", "12": "urgent & emergency care", "13": "hospice",
    "14": "care home / nursing home", "15": "border force", "16": "young offender institution",
    "17": "secure training centre", "18": "secure children's home",
    "19": "immigration removal centre", "20": "court", "21": "police custody",
    "22": "sexual assault referral centre", "24": "other justice estate", "25": "prison",
}  # fmt: skip

# Header names (normalised: lower case, runs of other characters as "_") per field.
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "ods_code", "practice_code", "org_code", "organisation_code", "practice_ods_code"),
    "name": ("name", "practice_name", "organisation_name", "practice"),
    "address_1": ("address_1", "address_line_1", "address1", "address"),
    "address_2": ("address_2", "address_line_2", "address2"),
    "address_3": ("address_3", "address_line_3", "address3"),
    "address_4": ("address_4", "address_line_4", "address4", "town"),
    "address_5": ("address_5", "address_line_5", "address5", "county"),
    "postcode": ("postcode", "post_code", "practice_postcode"),
    "commissioner": ("commissioner", "commissioner_code", "ccg", "ccg_code", "sub_icb",
                     "sub_icb_code", "sub_icb_location_code"),
    "pcn_code": ("pcn_code", "pcn"),
    "pcn_name": ("pcn_name",),
    "list_size": ("list_size", "registered_patients", "number_of_patients", "patients"),
    "list_size_date": ("list_size_date", "list_size_as_at", "as_at"),
    "email": ("email", "contact_email", "practice_email", "email_address"),
}  # fmt: skip
LEAD_PREFIX = "lead_"


@dataclass(frozen=True)
class Practice:
    """One GP practice as the schemes see it."""

    code: str
    name: str
    address: tuple[str, ...] = ()
    postcode: str = ""
    commissioner: str | None = None
    pcn_code: str | None = None
    pcn_name: str | None = None
    status: str = "active"
    list_size: int | None = None
    list_size_date: date | None = None
    list_size_source: str | None = None
    list_size_commissioner: str | None = None
    email: str | None = None
    leads: tuple[tuple[str, str], ...] = ()
    source: str = ""  # "file, row N" the record came from

    @property
    def effective_commissioner(self) -> str | None:
        """The commissioner as at the list-size date where known, else the practice file's."""
        return self.list_size_commissioner or self.commissioner


@dataclass(frozen=True)
class ListSize:
    code: str
    patients: int
    as_at: date
    commissioner: str | None
    source: str


@dataclass
class SourceFile:
    path: str
    format: str
    encoding: str
    rows: int


@dataclass
class PracticeData:
    """The outcome of loading: usable practices, every problem, and what was left out."""

    practices: list[Practice] = field(default_factory=list)
    problems: list[AgreementgenError] = field(default_factory=list)
    excluded: Counter[str] = field(default_factory=Counter)
    files: list[SourceFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def by_code(self) -> dict[str, Practice]:
        return {p.code: p for p in self.practices}


@dataclass(frozen=True)
class _Where:
    """A row of a file, to make that row's problems."""

    path: Path
    row: int

    def error(self, message: str, field: str | None = None) -> PracticeDataError:
        return PracticeDataError(message, path=self.path, row=self.row, field=field)


@dataclass
class _Candidate:
    """A parsed practice row, kept with its problems until filtering decides if they count."""

    practice: Practice | None
    problems: list[PracticeDataError]
    commissioner: str | None
    code: str
    where: _Where


def normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lstrip("\ufeff").lower()).strip("_")


def parse_date(text: str) -> date:
    """``2026-07-01``, ``01JAN2021``, ``01Jul2026``, ``20170401`` or ``01/04/2017``."""
    value = text.strip()
    for fmt in ("%Y-%m-%d", "%d%b%Y", "%Y%m%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date (expected e.g. 2026-07-01, 01JAN2021 or 01/04/2017)")


def parse_count(text: str, maximum: int = MAX_COUNT) -> int:
    """A whole number from 0 to ``maximum`` (patients, or units of activity); ``5,800`` is accepted."""
    value = text.strip().replace(",", "")
    if not value:
        raise ValueError("is empty")
    if not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError(f"'{shorten(text)}' is not a whole number")
    if len(value.lstrip("-0")) > len(str(maximum)):  # before int(): 5,000 digits would raise there
        raise ValueError(f"{shorten(value)} is more than {maximum:,}; check the column")
    number = int(value)
    if number < 0:
        raise ValueError(f"{number:,} is negative")
    if number > maximum:
        raise ValueError(f"{number:,} is more than {maximum:,}; check the column")
    return number


def shorten(text: str, limit: int = 40) -> str:
    """A cell's text for a message: a 1 MB cell shown by its start, a control character as ``\\x07``
    (printed raw, it would ring the terminal's bell or garble the line)."""
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), cut)


def normalise_postcode(text: str) -> str:
    compact = re.sub(r"\s+", "", text.upper())
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


# --- format detection -------------------------------------------------------------


def detect_format(table: Table) -> str:
    """``epraccur``, ``list_sizes`` or ``practice_list``, from the first row's content."""
    if not table.rows:
        raise PracticeDataError("the file has no rows", path=table.path)
    first = table.rows[0].cells
    header = {normalise_header(c) for c in first}
    if "number_of_patients" in header and ({"code", "org_code"} & header):
        return "list_sizes"
    if len(first) == EPRACCUR_COLUMNS and ODS_ORG_LIKE.match(first[0].strip()):
        return "epraccur"
    return "practice_list"


# --- epraccur ---------------------------------------------------------------------


def _epraccur_rows(table: Table, include_inactive: bool, excluded: Counter[str]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for row in table.rows:
        cells = [c.strip() for c in row.cells]
        where = _Where(table.path, row.number)
        if len(cells) != EPRACCUR_COLUMNS:
            out.append(
                _Candidate(
                    None,
                    [where.error(f"has {len(cells)} columns; epraccur rows have 27")],
                    None,
                    cells[0] if cells else "",
                    where,
                )
            )
            continue
        code, name = cells[0], cells[1]
        raw_status, setting, commissioner = cells[12], cells[25], cells[14] or None
        roles = setting.split("|")
        if setting.startswith("RO") or raw_status in CURRENT_STATUS:
            if GP_ROLE not in roles:
                excluded[f"not a GP practice (ODS role {setting or 'none'})"] += 1
                continue
            status = CURRENT_STATUS.get(raw_status)
        else:
            if setting != GP_PRESCRIBING_SETTING:
                label = PRESCRIBING_SETTINGS.get(setting, f"code {setting or 'none'}")
                excluded[f"not a GP practice (prescribing setting {setting}: {label})"] += 1
                continue
            status = LEGACY_STATUS.get(raw_status)
        if status is None:
            out.append(
                _Candidate(
                    None,
                    [where.error(f"unknown status code '{raw_status}'", "status (col 13)")],
                    commissioner,
                    code,
                    where,
                )
            )
            continue
        if status != "active" and not include_inactive:
            excluded[status] += 1
            continue
        address = tuple(c for c in cells[4:9] if c)
        problems = _check_identity(
            code, name, cells[9], where, ("code (col 1)", "name (col 2)", "postcode (col 10)")
        )
        problems += _check_text(
            where,
            [("name (col 2)", name), *((f"address (col {i + 1})", cells[i]) for i in range(4, 9)),
             ("commissioner (col 15)", cells[14])],
        )  # fmt: skip
        practice = None
        if not problems:
            practice = Practice(
                code=code,
                name=name,
                address=address,
                postcode=normalise_postcode(cells[9]),
                commissioner=commissioner,
                status=status,
                source=f"{table.path}, row {row.number}",
            )
        out.append(_Candidate(practice, problems, commissioner, code, where))
    return out


def _check_text(where: _Where, cells: Iterable[tuple[str, str]]) -> list[PracticeDataError]:
    """A problem for each (column, text) holding a control character: no document can print one."""
    problems = []
    for column, text in cells:
        found = UNPRINTABLE.search(text)
        if found:
            problems.append(
                where.error(
                    f"'{shorten(text)}' has a control character (U+{ord(found.group()):04X}) at character "
                    f"{found.start() + 1}, which no document can print; remove it from the file",
                    column,
                )
            )
    return problems


def _check_identity(
    code: str, name: str, postcode: str, where: _Where, columns: Sequence[str]
) -> list[PracticeDataError]:
    problems = []
    if not ODS_PRACTICE_CODE.match(code):
        problems.append(
            where.error(
                f"'{shorten(code)}' is not a GP practice ODS code (a letter then 5 digits, e.g. D81001)",
                columns[0],
            )
        )
    if not name:
        problems.append(where.error("practice name is missing", columns[1]))
    if postcode and not POSTCODE.match(normalise_postcode(postcode)):
        problems.append(where.error(f"'{shorten(postcode)}' is not a UK postcode", columns[2]))
    return problems


# --- practice list with a header ----------------------------------------------------


def _columns(table: Table) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
    """Map field -> column index, lead role -> index, and field -> the header as written."""
    header = table.rows[0].cells
    fields: dict[str, int] = {}
    leads: dict[str, int] = {}
    written: dict[str, str] = {}
    lookup = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
    for index, raw in enumerate(header):
        key = normalise_header(raw)
        if key.startswith(LEAD_PREFIX) and len(key) > len(LEAD_PREFIX):
            leads[key[len(LEAD_PREFIX) :]] = index
            continue
        name = lookup.get(key)
        if name and name not in fields:
            fields[name] = index
            written[name] = raw.strip().lstrip("\ufeff")
    missing = [f for f in ("code", "name") if f not in fields]
    if missing:
        raise PracticeDataError(
            f"no {' or '.join(missing)} column; the header row needs e.g. 'code' and 'name' "
            f"(found: {', '.join(h for h in header if h) or 'nothing'})",
            path=table.path,
            row=table.rows[0].number,
        )
    return fields, leads, written


# The practice-list fields a document prints (code and postcode have formats of their own).
_PRINTED = ("name", "address_1", "address_2", "address_3", "address_4", "address_5", "commissioner",
            "pcn_code", "pcn_name", "email")  # fmt: skip


def _practice_list_rows(table: Table) -> list[_Candidate]:
    fields, lead_columns, written = _columns(table)
    header = [c.strip() for c in table.rows[0].cells]
    out: list[_Candidate] = []
    for row in table.rows[1:]:

        def cell(name: str, row: Row = row) -> str:
            i = fields.get(name)
            return row.cells[i].strip() if i is not None and i < len(row.cells) else ""

        where = _Where(table.path, row.number)
        code, name = cell("code").upper(), cell("name")
        problems = _check_identity(
            code, name, cell("postcode"), where,
            (written["code"], written["name"], written.get("postcode", "postcode")),
        )  # fmt: skip
        list_size: int | None = None
        list_size_date: date | None = None
        if cell("list_size"):
            try:
                list_size = parse_count(cell("list_size"))
            except ValueError as exc:
                problems.append(where.error(f"list size {exc}", written["list_size"]))
        if cell("list_size_date"):
            try:
                list_size_date = parse_date(cell("list_size_date"))
            except ValueError as exc:
                problems.append(where.error(str(exc), written["list_size_date"]))
        email = cell("email") or None
        if email and not EMAIL.match(email):
            problems.append(where.error(f"'{shorten(email)}' is not an email address", written["email"]))
        problems += _check_text(
            where,
            [*((written[f], cell(f)) for f in _PRINTED if f in written),
             *((header[i], row.cells[i]) for i in lead_columns.values() if i < len(row.cells))],
        )  # fmt: skip
        commissioner = cell("commissioner").upper() or None
        practice = None
        if not problems:
            address = tuple(a for a in (cell(f"address_{i}") for i in range(1, 6)) if a)
            leads = tuple(
                (role, row.cells[i].strip())
                for role, i in lead_columns.items()
                if i < len(row.cells) and row.cells[i].strip()
            )
            practice = Practice(
                code=code,
                name=name,
                address=address,
                postcode=normalise_postcode(cell("postcode")) if cell("postcode") else "",
                commissioner=commissioner,
                pcn_code=cell("pcn_code") or None,
                pcn_name=cell("pcn_name") or None,
                list_size=list_size,
                list_size_date=list_size_date,
                list_size_source=f"{table.path}, row {row.number}" if list_size is not None else None,
                email=email,
                leads=leads,
                source=f"{table.path}, row {row.number}",
            )
        out.append(_Candidate(practice, problems, commissioner, code, where))
    return out


# --- list-size files ----------------------------------------------------------------


def _header_columns(first: list[str]) -> dict[str, int]:
    header = [normalise_header(c) for c in first]
    return {name: i for i, name in reversed(list(enumerate(header)))}


def _list_size_selectors(col: dict[str, int]) -> list[tuple[int, str]]:
    """(column, value) pairs a practice-total row has: ORG_TYPE=GP, SEX=ALL, AGE=ALL where present."""
    wanted = (("type", "org_type", "GP"), ("sex", "sex", "ALL"), ("age", "age_group_5", "ALL"))
    return [(col.get(a, col.get(b, -1)), value) for a, b, value in wanted if a in col or b in col]


def _is_practice_total(selectors: list[tuple[int, str]], cells: list[str]) -> bool:
    return all(i < len(cells) and cells[i].strip().upper() == value for i, value in selectors)


def practice_rows_only(first: list[str]) -> Callable[[list[str]], bool] | None:
    """A :data:`~agreementgen.tables.RowFilter`: in a list-size file keep only practice totals.

    The 2026 quin-age file has a row per practice, sex and age band (and rows for PCNs,
    ICBs and regions); only the GP / ALL / ALL rows are read, so loading it takes the
    memory of its 6,000 practices, not of its 300,000 rows.
    """
    col = _header_columns(first)
    if "number_of_patients" not in col:
        return None
    selectors = _list_size_selectors(col)
    return (lambda cells: _is_practice_total(selectors, cells)) if selectors else None


def read_list_sizes(table: Table) -> tuple[list[ListSize], list[PracticeDataError]]:
    """Practice totals from an NHS Digital registered-patients file (any of its layouts)."""
    col = _header_columns(table.rows[0].cells)
    code_col = col.get("code", col.get("org_code"))
    comm_col = col.get("ccg_code", col.get("sub_icb_location_code"))
    date_col, n_col = col.get("extract_date"), col["number_of_patients"]
    selectors = _list_size_selectors(col)
    sizes: list[ListSize] = []
    problems: list[PracticeDataError] = []
    seen: dict[str, int] = {}
    for row in table.rows[1:]:
        cells = row.cells

        def get(i: int | None, cells: list[str] = cells) -> str:
            return cells[i].strip() if i is not None and i < len(cells) else ""

        if not _is_practice_total(selectors, cells):
            continue
        where = _Where(table.path, row.number)
        code = get(code_col).upper()
        try:
            patients = parse_count(get(n_col))
        except ValueError as exc:
            problems.append(where.error(f"{shorten(code)}: number of patients {exc}", "NUMBER_OF_PATIENTS"))
            continue
        try:
            as_at = parse_date(get(date_col))
        except ValueError as exc:
            problems.append(where.error(str(exc), "EXTRACT_DATE"))
            continue
        if code in seen:
            problems.append(where.error(f"practice {code} appears twice (first at row {seen[code]})", "CODE"))
            continue
        seen[code] = row.number
        sizes.append(
            ListSize(code, patients, as_at, get(comm_col).upper() or None, f"{table.path}, row {row.number}")
        )
    return sizes, problems


def choose_list_size(candidates: Sequence[ListSize], wanted: date | None) -> ListSize:
    """The latest on or before ``wanted``; else the earliest after it; no date: the latest."""
    if wanted is None:
        return max(candidates, key=lambda s: s.as_at)
    before = [s for s in candidates if s.as_at <= wanted]
    if before:
        return max(before, key=lambda s: s.as_at)
    return min(candidates, key=lambda s: s.as_at)


# --- the whole load -----------------------------------------------------------------


def load_practice_data(
    paths: Iterable[str | Path],
    *,
    list_size_date: date | None = None,
    commissioner: str | None = None,
    include_inactive: bool = False,
) -> PracticeData:
    """Read every file, join list sizes, filter, and report every problem found."""
    result = PracticeData()
    candidates: list[_Candidate] = []
    sizes: dict[str, list[ListSize]] = defaultdict(list)
    for path in paths:
        try:
            table = read_table(path, practice_rows_only)
            kind = detect_format(table)
        except PracticeDataError as exc:
            result.problems.append(exc)
            continue
        data_rows = table.data_rows + (1 if kind == "epraccur" else 0)
        label = kind
        if kind == "epraccur":
            found = _epraccur_rows(table, include_inactive, result.excluded)
            coding = (
                "2026 coding"
                if any(len(r.cells) > 12 and r.cells[12].strip() in CURRENT_STATUS for r in table.rows[:50])
                else "legacy coding"
            )
            label = f"epraccur ({coding})"
            candidates += found
        elif kind == "list_sizes":
            found_sizes, problems = read_list_sizes(table)
            result.problems += problems
            for s in found_sizes:
                sizes[s.code].append(s)
            dates = sorted({s.as_at.isoformat() for s in found_sizes})
            label = f"list sizes ({len(found_sizes):,} practices, as at {', '.join(dates) or 'no date'})"
        else:
            try:
                candidates += _practice_list_rows(table)
            except PracticeDataError as exc:
                result.problems.append(exc)
                continue
        result.files.append(SourceFile(str(table.path), label, table.encoding, data_rows))

    wanted = commissioner.upper() if commissioner else None
    stand_ins: Counter[tuple[str, str]] = Counter()
    by_code: dict[str, list[_Candidate]] = defaultdict(list)
    for cand in candidates:
        by_code[cand.code].append(cand)
    for code, group in by_code.items():
        known = sizes.get(code)
        chosen = choose_list_size(known, list_size_date) if known else None
        area = (chosen.commissioner if chosen and chosen.commissioner else None) or group[0].commissioner
        if wanted and area != wanted:
            result.excluded[f"outside commissioner {wanted}"] += len(group)
            continue
        if len(group) > 1:
            first = group[0].where
            for dup in group[1:]:
                result.problems.append(
                    dup.where.error(
                        f"practice {code} is listed more than once (also {first.path}, row {first.row}); "
                        "neither is used until one is removed",
                        "code",
                    )
                )
            continue
        cand = group[0]
        result.problems += cand.problems
        practice = cand.practice
        if practice is None:
            continue
        if practice.list_size is None:
            if chosen is None:
                result.problems.append(
                    cand.where.error(
                        f"no list size for {code}: the practice file has none and no list-size file lists it",
                        "list_size",
                    )
                )
                continue
            if list_size_date and chosen.as_at != list_size_date:
                stand_ins[(chosen.as_at.isoformat(), list_size_date.isoformat())] += 1
            practice = replace(
                practice,
                list_size=chosen.patients,
                list_size_date=chosen.as_at,
                list_size_source=chosen.source,
                list_size_commissioner=chosen.commissioner,
            )
        elif chosen is not None:
            practice = replace(practice, list_size_commissioner=chosen.commissioner)
        result.practices.append(practice)
    for (as_at, wanted_date), count in sorted(stand_ins.items()):
        result.notes.append(
            f"{count} list size(s) as at {as_at} stand in for the scheme's list-size date {wanted_date}"
        )
    return result
