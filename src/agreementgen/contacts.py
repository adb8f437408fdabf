"""Who to email at each practice: the team's contacts file (CSV or XLSX, a header row).

One row per contact: the practice's ODS code, one or more email addresses (several in one cell are
separated by ``;`` or ``,``), and optionally the contact's name and role. A practice may have
several rows; every address of every row is a recipient of its one message. A row whose address
cell is blank says the practice has no known address: it is kept, so that ``send`` lists the
practice instead of passing over it in silence.

Addresses are checked for syntax only, with ``email-validator`` (no DNS look-up: the check must work
on a machine without internet access, and NHSmail addresses do not always resolve from outside).
Every bad row is reported with file, row and column, all of them; a practice with a bad row is held
back (``Contacts.held``) rather than emailed at some of its addresses. The file is read by
:func:`agreementgen.tables.read_table`, like every other table the team keeps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from .errors import PracticeDataError
from .practices import ODS_PRACTICE_CODE, normalise_header, shorten
from .tables import read_table

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "ods_code", "practice_code", "practice"),
    "email": ("email", "emails", "email_address", "email_addresses", "address", "addresses"),
    "name": ("name", "contact_name", "contact"),
    "role": ("role", "job_title", "title"),
}
SEPARATORS = re.compile(r"[;,]")
# A name goes into the To header: a line break in it must never reach one (nor any other control).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Contact:
    """One address of one practice, with who reads it."""

    practice_code: str
    address: str  # normalised by email-validator (the domain in lower case)
    name: str = ""
    role: str = ""
    source: str = ""  # "file, row N"


@dataclass
class Contacts:
    """A contacts file read: the addresses by practice, and every problem found."""

    path: Path
    by_code: dict[str, list[Contact]] = field(default_factory=dict)
    problems: list[PracticeDataError] = field(default_factory=list)
    blank: set[str] = field(default_factory=set)  # practices listed without an address
    held: dict[str, list[int]] = field(default_factory=dict)  # practice -> its rows with problems

    def recipients(self, code: str) -> list[Contact]:
        """The practice's contacts (each address once); none for a practice held back or not listed."""
        return [] if code in self.held else self.by_code.get(code, [])


def check_address(text: str) -> str:
    """An email address, normalised; ``ValueError`` saying what is wrong with it."""
    try:
        # ASCII only: an address needing SMTPUTF8 is refused by many relays, NHSmail's among them.
        return validate_email(text, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"'{shorten(text)}' is not an email address: {exc}") from None


def load_contacts(path: str | Path) -> Contacts:
    """Read a contacts file; a file that cannot be read at all raises ``PracticeDataError``."""
    table = read_table(path)
    contacts = Contacts(path=Path(path))
    if not table.rows:
        raise PracticeDataError("the file has no rows", path=path)
    header = [normalise_header(c) for c in table.rows[0].cells]
    col: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        found = next((header.index(a) for a in aliases if a in header), None)
        if found is not None:
            col[name] = found
    missing = [n for n in ("code", "email") if n not in col]
    if missing:
        raise PracticeDataError(
            f"no {' or '.join(missing)} column; the header row needs 'code' and 'email' "
            f"(found: {', '.join(c for c in table.rows[0].cells if c) or 'nothing'})",
            path=path,
            row=table.rows[0].number,
        )
    written = {name: table.rows[0].cells[i].strip().lstrip("\ufeff") for name, i in col.items()}
    seen: dict[tuple[str, str], int] = {}
    for row in table.rows[1:]:

        def cell(name: str, cells: list[str] = row.cells) -> str:
            i = col.get(name)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        problems: list[PracticeDataError] = []

        def bad(
            name: str, reason: str, number: int = row.number, found: list[PracticeDataError] = problems
        ) -> None:
            found.append(PracticeDataError(reason, path=path, row=number, field=written[name]))

        code = cell("code").upper()
        if not ODS_PRACTICE_CODE.match(code):
            bad("code", f"'{shorten(cell('code'))}' is not a GP practice ODS code (a letter and 5 digits)")
        for name in ("name", "role"):
            control = CONTROL.search(cell(name)) if name in col else None
            if control:
                bad(name, f"'{shorten(cell(name))}' has a control character (U+{ord(control.group()):04X}); "
                          "remove it from the file")  # fmt: skip
        addresses: list[str] = []
        for text in (a.strip() for a in SEPARATORS.split(cell("email"))):
            if not text:
                continue
            try:
                addresses.append(check_address(text))
            except ValueError as exc:
                bad("email", str(exc))
        if problems:
            contacts.problems += problems
            if ODS_PRACTICE_CODE.match(code):
                contacts.held.setdefault(code, []).append(row.number)
            continue
        if not addresses:
            contacts.blank.add(code)
            contacts.by_code.setdefault(code, [])
            continue
        for address in addresses:
            key = (code, address.lower())
            if key in seen:
                continue  # the same address twice gets one copy; not worth a problem
            seen[key] = row.number
            contact = Contact(code, address, cell("name"), cell("role"), f"{path}, row {row.number}")
            contacts.by_code.setdefault(code, []).append(contact)
    contacts.blank -= {c for c, found in contacts.by_code.items() if found}
    return contacts
