"""Which practice signed up to which service of a service scheme, and the activity it plans.

The file a contracts team keeps of which services each practice signs an SLA for (CSV or XLSX,
a header row): ``practice_code``, ``service`` and ``planned`` — the planned activity count for a
per-activity service, the eligible patients for a per-eligible-patient payment, blank
otherwise. ``practice_code`` may be ``ALL`` for every practice. Services of a contract
with ``universal_offer: true`` need no row: every practice is signed up to them (a row
still gives the planned activity). Every bad row is reported with file, row and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import PracticeDataError
from .practices import ODS_PRACTICE_CODE, normalise_header, parse_count, shorten
from .services import ServiceScheme
from .tables import read_table

ALL = "ALL"
COLUMNS = {"practice_code": ("practice_code", "code", "ods_code"), "service": ("service", "service_id"),
           "planned": ("planned", "planned_activity", "activity", "eligible_patients")}  # fmt: skip


@dataclass(frozen=True)
class SignUp:
    practice_code: str
    service: str
    planned: int = 0


@dataclass
class SignUps:
    rows: list[SignUp]
    problems: list[PracticeDataError]

    def for_practice(self, code: str) -> dict[str, int]:
        """service id → planned figure for one practice."""
        return {s.service: s.planned for s in self.rows if s.practice_code == code}


def load_signups(paths: Iterable[str | Path], spec: ServiceScheme, practice_codes: Sequence[str]) -> SignUps:
    """Read sign-up files and add the universal offer; every practice gets each universal service."""
    known = set(practice_codes)
    offered = {s.id: s for s in spec.offered}
    every = {s.id for s in spec.services}
    chosen: dict[tuple[str, str], SignUp] = {}
    where: dict[tuple[str, str], str] = {}
    problems: list[PracticeDataError] = []
    for path in paths:
        try:
            table = read_table(path)
        except PracticeDataError as exc:
            problems.append(exc)
            continue
        if not table.rows:
            problems.append(PracticeDataError("the file has no rows", path=path))
            continue
        header = [normalise_header(c) for c in table.rows[0].cells]
        col: dict[str, int] = {}
        for name, aliases in COLUMNS.items():
            found = next((header.index(a) for a in aliases if a in header), None)
            if found is not None:
                col[name] = found
        missing = [n for n in ("practice_code", "service") if n not in col]
        if missing:
            problems.append(
                PracticeDataError(f"no {' or '.join(missing)} column in the header", path=path, row=1)
            )
            continue
        for row in table.rows[1:]:

            def cell(name: str, cells: list[str] = row.cells, col: dict[str, int] = col) -> str:
                i = col.get(name)
                return cells[i].strip() if i is not None and i < len(cells) else ""

            def bad(column: str, reason: str, number: int = row.number, path: str | Path = path) -> None:
                problems.append(PracticeDataError(reason, path=path, row=number, field=column))

            code, service = cell("practice_code").upper(), cell("service").lower()
            if code != ALL and not ODS_PRACTICE_CODE.match(code):
                bad("practice_code", f"'{shorten(code)}' is not a GP practice ODS code (or ALL)")
                continue
            if code != ALL and code not in known:
                bad("practice_code", f"practice {code} is not in the practice data")
                continue
            if service not in every:
                bad(
                    "service",
                    f"'{shorten(service)}' is not a service of {spec.id}; known: {', '.join(sorted(every))}",
                )
                continue
            if service not in offered:
                bad("service", f"'{service}' is not commissioned under {spec.id} (commissioned: false)")
                continue
            try:
                planned = parse_count(cell("planned")) if cell("planned") else 0
            except ValueError as exc:
                bad("planned", f"planned {exc}")
                continue
            for practice in sorted(known) if code == ALL else [code]:
                key = (practice, service)
                if key in where:
                    bad("service", f"{practice} is signed up to {service} twice (first at {where[key]})")
                    continue
                where[key] = f"{path}, row {row.number}"
                chosen[key] = SignUp(practice, service, planned)
    universal = [s.id for s in spec.offered if spec.contract(s.contract).universal_offer]
    for practice in known:
        for service in universal:
            chosen.setdefault((practice, service), SignUp(practice, service, 0))
    return SignUps(sorted(chosen.values(), key=lambda s: (s.practice_code, s.service)), problems)
