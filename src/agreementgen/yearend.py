"""Year-end inputs: what the team keeps and what the records hold, checked and joined per practice.

Owns reading the year-end files (CSV/XLSX, a header row; every bad cell reported with its
file, row and column, all of them), keeping them in the records database, and adding what is
on record (accepted returns as sign-up evidence, accepted quarterly claims as activity — only
the approved ones where the scheme's claims need two-level approval, the rest listed in ``notes``):

* **evidence** — ``practice_code, milestone, date``: a milestone id of the scheme (``sign_up``,
  ``visit_booked``, ``practice_visit``, ``action_plan``, ``mid_year_report``,
  ``year_end_report``; for a service scheme ``sla_<contract>``) or ``closed`` / ``merged``. An
  accepted Section 7 (an accepted SLA) in the records database is the ``sign_up``
  (``sla_<contract>``) evidence, dated as signed;
* **payments** — ``practice_code, instalment, amount, date`` (a service scheme: ``service``
  in place of ``instalment``): what finance has paid; several rows for one key add up;
* **decisions** — ``practice_code, component, percentage, reason`` (``service`` for a service
  scheme): a proportional payment;
* **activity** (service schemes) — ``practice_code, service, quarter, count``: units delivered,
  for activity not claimed on our forms (or correcting a claim: a row replaces that quarter's
  claim on record); ``quarter`` 1–4, Q1–Q4, or ``year``;
* **achievement** (service schemes) — ``practice_code, service, achievement``: the percentage
  reached on an outcome service.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from .errors import PracticeDataError
from .money import Money
from .payments import ANNUAL, Decision
from .practices import ODS_PRACTICE_CODE, Practice, normalise_header, parse_count, parse_date, shorten
from .records import Records
from .scheme import MAX_AMOUNT, Scheme
from .services import ServiceScheme
from .signups import SignUps
from .tables import Row, read_table

CLOSURE_EVENTS = ("closed", "merged")
T = TypeVar("T")


@dataclass
class YearEndInputs:
    evidence: dict[str, dict[str, date]] = field(default_factory=lambda: defaultdict(dict))
    closed: dict[str, tuple[str, date]] = field(default_factory=dict)
    paid: dict[str, dict[str, Money]] = field(default_factory=lambda: defaultdict(dict))
    decisions: dict[str, dict[str, Decision]] = field(default_factory=lambda: defaultdict(dict))
    # service schemes: practice → service → quarter (1–4, or ANNUAL) → units; achievement as a fraction
    activity: dict[str, dict[str, dict[int, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )
    achievement: dict[str, dict[str, Decimal]] = field(default_factory=lambda: defaultdict(dict))
    problems: list[PracticeDataError] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)  # (what, "file sha256:…")
    # What the run must say but is no error: claims left out as not yet approved (two-level approval).
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Vocabulary:
    """The ids each year-end file may name under one scheme, and the column that names them."""

    milestones: frozenset[str]
    paid_column: str  # instalment (per capita) or service
    paid_keys: frozenset[str]
    decision_column: str  # component (per capita) or service
    decision_keys: frozenset[str]
    activity_services: frozenset[str] = frozenset()
    outcome_services: frozenset[str] = frozenset()
    # kind of an accepted return on record → the milestone it evidences
    signed_kinds: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, scheme: Scheme | ServiceScheme) -> Vocabulary:
        milestones = {m.id for m in scheme.milestones}
        if isinstance(scheme, Scheme):
            return cls(frozenset(milestones), "instalment", frozenset(i.id for i in scheme.instalments),
                       "component", frozenset(c.id for c in scheme.components),
                       signed_kinds=(("section7", "sign_up"),))  # fmt: skip
        slas = [f"sla_{c.id}" for c in scheme.funding.contracts]
        services = frozenset(s.id for s in scheme.offered)
        return cls(
            frozenset(milestones | set(slas)), "service", services, "service", services,
            activity_services=frozenset(s.id for s in scheme.offered if s.payment.model == "per_activity"),
            outcome_services=frozenset(s.id for s in scheme.offered if s.payment.model == "outcome"),
            signed_kinds=tuple((k, k) for k in slas),
        )  # fmt: skip


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _rows(
    path: Path, wanted: tuple[str, ...], inputs: YearEndInputs, what: str
) -> Iterable[tuple[Row, dict[str, str]]]:
    """Each data row as {column: text}, after checking the header names every wanted column."""
    try:
        table = read_table(path)
    except PracticeDataError as exc:
        inputs.problems.append(exc)
        return
    if not table.rows:
        inputs.problems.append(PracticeDataError("the file has no rows", path=path))
        return
    header = [normalise_header(c) for c in table.rows[0].cells]
    missing = [w for w in wanted if w not in header]
    if missing:
        inputs.problems.append(
            PracticeDataError(f"no {', '.join(missing)} column(s) in the header", path=path, row=1)
        )
        return
    inputs.sources.append((what, f"{path} {_sha(path)}"))
    for row in table.rows[1:]:
        cells = {name: (row.cells[i].strip() if i < len(row.cells) else "") for i, name in enumerate(header)}
        yield row, cells


def _quarter(text: str) -> int:
    """``1``–``4`` or ``Q1``–``Q4``; ``year`` (or blank) for activity reported for the whole year."""
    value = text.strip().lower().removeprefix("q")
    if value in ("", "year", "annual"):
        return ANNUAL
    if value in ("1", "2", "3", "4"):
        return int(value)
    raise ValueError(f"'{text}' is not a quarter (1 to 4, Q1 to Q4, or year)")


def _percentage(text: str) -> Decimal:
    try:
        value = Decimal(text.rstrip("%").strip())
    except InvalidOperation:
        value = Decimal(-1)
    # NaN is checked first: ordering a NaN raises InvalidOperation instead of answering.
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise ValueError(f"'{shorten(text)}' is not a percentage from 0 to 100")
    return value


def load_year_end(
    scheme: Scheme | ServiceScheme,
    practices: list[Practice],
    *,
    evidence: Iterable[Path] = (),
    paid: Iterable[Path] = (),
    decisions: Iterable[Path] = (),
    activity: Iterable[Path] = (),
    achievement: Iterable[Path] = (),
    signups: SignUps | None = None,
    records: Records | None = None,
) -> YearEndInputs:
    """Read every input file (collecting every bad row) and the accepted returns on record.

    ``activity`` and ``achievement`` apply to service schemes; ``signups`` (a service scheme's)
    lets activity and achievement rows be checked against what each practice signed up to.
    """
    inputs = YearEndInputs()
    known = {p.code for p in practices}
    words = Vocabulary.of(scheme)
    chosen = {(s.practice_code, s.service) for s in signups.rows} if signups is not None else None

    def practice(path: Path, row: Row, cells: dict[str, str]) -> str | None:
        code = cells["practice_code"].upper()
        reason = None
        if not ODS_PRACTICE_CODE.match(code):
            reason = f"'{code}' is not a GP practice ODS code"
        elif code not in known:
            reason = f"practice {code} is not in the practice data"
        if reason:
            bad(path, row, "practice_code", reason)
            return None
        return code

    def bad(path: Path, row: Row, column: str, reason: str) -> None:
        inputs.problems.append(PracticeDataError(reason, path=path, row=row.number, field=column))
        spoilt.add(path)

    def one_of(
        path: Path, row: Row, cells: dict[str, str], column: str, choices: Collection[str], what: str
    ) -> str | None:
        """The cell's id, lower-cased, if it is one of ``choices``; else a problem and None."""
        value = cells[column].lower()
        if value in choices:
            return value
        known = ", ".join(sorted(choices)) or f"none in {scheme.id}"
        bad(path, row, column, f"'{cells[column]}' is not {what}; known: {known}")
        return None

    def signed_up(path: Path, row: Row, code: str, service: str) -> bool:
        if chosen is None or (code, service) in chosen:
            return True
        bad(path, row, "service", f"practice {code} is not signed up to {service}")
        return False

    def value(path: Path, row: Row, column: str, parse: Callable[[str], T], text: str) -> T | None:
        try:
            return parse(text)
        except ValueError as exc:
            bad(path, row, column, str(exc))
            return None

    loaded: dict[tuple[str, Path], list[dict[str, str]]] = defaultdict(list)
    spoilt: set[Path] = set()

    def keep(path: Path, kind: str, code: str, key: str, text: str, reason: str, row: Row) -> None:
        loaded[(kind, path)].append({"practice_code": code, "key": key, "value": text, "reason": reason,
                                     "row": str(row.number)})  # fmt: skip

    # Every cell of a row is checked, so a row with two mistakes shows both.
    for path in map(Path, evidence):
        for row, cells in _rows(path, ("practice_code", "milestone", "date"), inputs, "evidence"):
            code = practice(path, row, cells)
            choices = words.milestones | set(CLOSURE_EVENTS)
            event = one_of(path, row, cells, "milestone", choices, f"a milestone of {scheme.id}")
            when = value(path, row, "date", parse_date, cells["date"])
            if code and event and when:
                keep(path, "evidence", code, event, when.isoformat(), "", row)
    column = words.paid_column
    for path in map(Path, paid):
        for row, cells in _rows(path, ("practice_code", column, "amount"), inputs, "payments"):
            code = practice(path, row, cells)
            key = one_of(path, row, cells, column, words.paid_keys, _a(column))
            amount = value(path, row, "amount", _amount, cells["amount"])
            if code and key and amount is not None:
                keep(path, "paid", code, key, str(amount.amount), "", row)
    column = words.decision_column
    for path in map(Path, decisions):
        for row, cells in _rows(path, ("practice_code", column, "percentage", "reason"), inputs, "decisions"):
            code = practice(path, row, cells)
            key = one_of(path, row, cells, column, words.decision_keys, _a(column))
            pct = value(path, row, "percentage", _percentage, cells["percentage"])
            if not cells["reason"]:
                bad(
                    path,
                    row,
                    "reason",
                    "a proportional payment needs its reason (it is printed on the statement)",
                )
            elif code and key and pct is not None:
                keep(path, "decision", code, key, str(pct), cells["reason"], row)
    for path in map(Path, activity):
        for row, cells in _rows(path, ("practice_code", "service", "quarter", "count"), inputs, "activity"):
            code = practice(path, row, cells)
            service = one_of(path, row, cells, "service", words.activity_services, "a per-activity service")
            quarter = value(path, row, "quarter", _quarter, cells["quarter"])
            count = value(path, row, "count", _count, cells["count"])
            if (
                code
                and service
                and signed_up(path, row, code, service)
                and quarter is not None
                and count is not None
            ):
                keep(path, "activity", code, f"{service}/{quarter}", str(count), "", row)
    for path in map(Path, achievement):
        for row, cells in _rows(path, ("practice_code", "service", "achievement"), inputs, "achievement"):
            code = practice(path, row, cells)
            service = one_of(path, row, cells, "service", words.outcome_services, "an outcome service")
            pct = value(path, row, "achievement", _percentage, cells["achievement"])
            if code and service and signed_up(path, row, code, service) and pct is not None:
                keep(path, "achievement", code, service, str(pct), "", row)
    rows: list[dict[str, str]] = []
    claims = 0
    two_level = isinstance(scheme, ServiceScheme) and scheme.claims.two_level
    left_out: list[dict[str, Any]] = []
    if records is not None:
        if two_level:
            left_out = [
                c
                for c in records.claims_for(scheme.id)
                if c["state"] != "approved" and c["practice_code"] in known
            ]
            inputs.notes += _left_out_notes(left_out)
        for claim in records.activity_for(scheme.id, approved_only=two_level):
            claims += 1
            if claim["practice_code"] in known:
                inputs.activity[claim["practice_code"]][claim["service"]][claim["quarter"]] = claim["count"]
        # A file is the team's record of its kind: loading it again replaces what it said before.
        # A file with any bad row changes nothing on record (its problems are listed instead).
        for (kind, path), kept in loaded.items():
            if path not in spoilt:
                records.replace_year_end_rows(scheme.id, kind, str(path), kept)
        rows = records.year_end_rows(scheme.id)
    else:
        rows = [
            {**r, "kind": kind} for (kind, path), kept in loaded.items() if path not in spoilt for r in kept
        ]
    for r in rows:
        _apply(inputs, r)
    if records is not None:
        signed_kinds = dict(words.signed_kinds)
        for signup in records.signups_for(scheme.id).values():
            milestone = signed_kinds.get(signup["kind"])
            if milestone and signup["practice_code"] in known and signup["signed_date"]:
                inputs.evidence[signup["practice_code"]].setdefault(
                    milestone, date.fromisoformat(signup["signed_date"])
                )
        if two_level:
            claimed = f", {claims:,} counts from approved claim forms" if claims else ""
            if left_out:
                claimed += f" ({len(left_out):,} claim(s) not yet approved left out)"
        else:
            claimed = f", {claims:,} counts from accepted claim forms" if claims else ""
        inputs.sources.append(
            ("records database", f"{len(rows):,} year-end rows{claimed} and the accepted returns")
        )
    return inputs


SHOWN_LEFT_OUT = 20  # claims named in the note; the rest are counted (`claims list` shows them all)


def _left_out_notes(left_out: list[dict[str, Any]]) -> list[str]:
    """What the statements run says of claims a two-level scheme leaves out: how many, and which
    (practice, quarter and why), so that none is dropped without a word."""
    if not left_out:
        return []

    def why(claim: dict[str, Any]) -> str:
        if claim["state"] == "refused":
            return f"refused by {claim['refused_by']}: {claim['refused_reason']}"
        if claim["state"] == "verified":
            return f"verified by {claim['verified_by']}, awaiting approval"
        return "awaiting verification"

    named = "; ".join(f"{c['practice_code']} Q{c['quarter']} (return #{c['return_id']}, {why(c)})"
                      for c in left_out[:SHOWN_LEFT_OUT])  # fmt: skip
    more = f"; and {len(left_out) - SHOWN_LEFT_OUT:,} more" if len(left_out) > SHOWN_LEFT_OUT else ""
    return [f"{len(left_out):,} claim(s) not yet approved are left out: {named}{more}"]


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _amount(text: str) -> Money:
    try:
        amount = Money(Decimal(text.replace("£", "").replace(",", "")))
    except (InvalidOperation, ValueError):
        raise ValueError(f"'{shorten(text)}' is not an amount in pounds and pence") from None
    if amount.amount.copy_abs() > MAX_AMOUNT:  # rows for one key add up: each stays far below Money's limit
        raise ValueError(f"{amount} is more than £{MAX_AMOUNT:,}; check the column")
    return amount


def _count(text: str) -> int:
    try:
        return parse_count(text)
    except ValueError as exc:
        raise ValueError(f"count {exc}") from None


def _apply(inputs: YearEndInputs, row: dict[str, str]) -> None:
    """One stored row into the inputs: later rows win for evidence and decisions; payments add up."""
    code, key, value = row["practice_code"], row["key"], row["value"]
    if row["kind"] == "evidence":
        when = date.fromisoformat(value)
        if key in CLOSURE_EVENTS:
            inputs.closed[code] = (key, when)
        else:
            inputs.evidence[code][key] = when
    elif row["kind"] == "paid":
        inputs.paid[code][key] = inputs.paid[code].get(key, Money.of(0)) + Money(Decimal(value))
    elif row["kind"] == "decision":
        inputs.decisions[code][key] = Decision(Decimal(value), row["reason"])
    elif row["kind"] == "activity":  # the team's figure replaces a claim on record for that quarter
        service, quarter = key.split("/")
        inputs.activity[code][service][int(quarter)] = int(value)
    else:
        inputs.achievement[code][key] = Decimal(value) / 100
