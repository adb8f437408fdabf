"""Year-end inputs and statements: evidence, payments and decisions in; a statement per practice out.

Owns reading what the team keeps (CSV/XLSX, a header row; every bad row reported with its
file, row and column, all of them) and joining it with the records database, then running
:func:`agreementgen.payments.reconcile` for every practice:

* **evidence** — ``practice_code, milestone, date``: a milestone id of the scheme (``sign_up``,
  ``practice_visit``, ``action_plan``, ``mid_year_report``, ``year_end_report``) or ``closed`` /
  ``merged``. An accepted Section 7 in the records database is the ``sign_up`` evidence (dated
  as signed) without a row;
* **payments** — ``practice_code, instalment, amount, date``: what finance has paid (several
  rows for one instalment add up);
* **decisions** — ``practice_code, component, percentage, reason``: a proportional payment.

The payment schedule is one line per practice (amount to pay, or to recover) built from the
same statements, with a check that its total equals the sum of their balances.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .context import commissioner_context, document_id, scheme_identity
from .errors import AgreementgenError, PracticeDataError
from .money import Money, total
from .payments import Decision, Reconciliation, reconcile
from .practices import ODS_PRACTICE_CODE, Practice, normalise_header, parse_date
from .records import Records
from .scheme import Scheme
from .tables import Row, read_table

CLOSURE_EVENTS = ("closed", "merged")


@dataclass
class YearEndInputs:
    evidence: dict[str, dict[str, date]] = field(default_factory=lambda: defaultdict(dict))
    closed: dict[str, tuple[str, date]] = field(default_factory=dict)
    paid: dict[str, dict[str, Money]] = field(default_factory=lambda: defaultdict(dict))
    decisions: dict[str, dict[str, Decision]] = field(default_factory=lambda: defaultdict(dict))
    problems: list[PracticeDataError] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)  # (what, "file sha256:…")


@dataclass(frozen=True)
class Statement:
    practice: Practice
    reconciliation: Reconciliation
    closed: tuple[str, date] | None


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


def load_year_end(
    scheme: Scheme,
    practices: list[Practice],
    *,
    evidence: Iterable[Path] = (),
    paid: Iterable[Path] = (),
    decisions: Iterable[Path] = (),
    records: Records | None = None,
) -> YearEndInputs:
    """Read every input file (collecting every bad row) and the accepted sign-ups on record."""
    inputs = YearEndInputs()
    known = {p.code for p in practices}
    milestones = {m.id for m in scheme.milestones}
    instalments = {i.id for i in scheme.instalments}
    components = {c.id for c in scheme.components}

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
        path: Path, row: Row, cells: dict[str, str], column: str, choices: set[str], what: str
    ) -> str | None:
        """The cell's id, lower-cased, if it is one of ``choices``; else a problem and None."""
        value = cells[column].lower()
        if value in choices:
            return value
        bad(path, row, column, f"'{cells[column]}' is not {what}; known: {', '.join(sorted(choices))}")
        return None

    loaded: dict[tuple[str, Path], list[dict[str, str]]] = defaultdict(list)
    spoilt: set[Path] = set()

    def keep(path: Path, kind: str, code: str, key: str, value: str, reason: str, row: Row) -> None:
        loaded[(kind, path)].append({"practice_code": code, "key": key, "value": value, "reason": reason,
                                     "row": str(row.number)})  # fmt: skip

    for path in map(Path, evidence):
        for row, cells in _rows(path, ("practice_code", "milestone", "date"), inputs, "evidence"):
            code = practice(path, row, cells)
            if code is None:
                continue
            event = one_of(
                path, row, cells, "milestone", milestones | set(CLOSURE_EVENTS), f"a milestone of {scheme.id}"
            )
            if event is None:
                continue
            try:
                when = parse_date(cells["date"])
            except ValueError as exc:
                bad(path, row, "date", str(exc))
                continue
            keep(path, "evidence", code, event, when.isoformat(), "", row)
    for path in map(Path, paid):
        for row, cells in _rows(path, ("practice_code", "instalment", "amount"), inputs, "payments"):
            code = practice(path, row, cells)
            if code is None:
                continue
            inst = one_of(path, row, cells, "instalment", instalments, "an instalment")
            if inst is None:
                continue
            try:
                amount = Money(Decimal(cells["amount"].replace("£", "").replace(",", "")))
            except (InvalidOperation, ValueError):
                bad(path, row, "amount", f"'{cells['amount']}' is not an amount in pounds and pence")
                continue
            keep(path, "paid", code, inst, str(amount.amount), "", row)
    for path in map(Path, decisions):
        for row, cells in _rows(
            path, ("practice_code", "component", "percentage", "reason"), inputs, "decisions"
        ):
            code = practice(path, row, cells)
            if code is None:
                continue
            comp = one_of(path, row, cells, "component", components, "a component")
            if comp is None:
                continue
            try:
                pct = Decimal(cells["percentage"].rstrip("%").strip())
            except InvalidOperation:
                pct = Decimal(-1)
            if not Decimal(0) <= pct <= Decimal(100):
                bad(path, row, "percentage", f"'{cells['percentage']}' is not a percentage from 0 to 100")
                continue
            if not cells["reason"]:
                bad(
                    path,
                    row,
                    "reason",
                    "a proportional payment needs its reason (it is printed on the statement)",
                )
                continue
            keep(path, "decision", code, comp, str(pct), cells["reason"], row)
    rows: list[dict[str, str]] = []
    if records is not None:
        # A file is the team's record of its kind: loading it again replaces what it said before.
        # A file with any bad row changes nothing on record (its problems are listed instead).
        for (kind, path), kept in loaded.items():
            if path not in spoilt:
                records.replace_year_end_rows(scheme.id, kind, str(path), kept)
        rows = records.year_end_rows(scheme.id)
    else:
        rows = [{**r, "kind": kind} for (kind, _), kept in loaded.items() for r in kept]
    for r in rows:
        _apply(inputs, r)
    if records is not None:
        for signup in records.signups_for(scheme.id).values():
            if signup["kind"] == "section7" and signup["practice_code"] in known and signup["signed_date"]:
                inputs.evidence[signup["practice_code"]].setdefault(
                    "sign_up", date.fromisoformat(signup["signed_date"])
                )
        inputs.sources.append(("records database", f"{len(rows):,} year-end rows and the accepted sign-ups"))
    return inputs


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
    else:
        inputs.decisions[code][key] = Decision(Decimal(value), row["reason"])


def statements(scheme: Scheme, practices: list[Practice], inputs: YearEndInputs) -> list[Statement]:
    """A reconciled statement for every practice with a list size."""
    out = []
    for p in practices:
        if p.list_size is None:
            continue
        closed = inputs.closed.get(p.code)
        r = reconcile(
            scheme,
            p.list_size,
            dict(inputs.evidence.get(p.code, {})),
            dict(inputs.paid.get(p.code, {})),
            dict(inputs.decisions.get(p.code, {})),
            closed_on=closed[1] if closed else None,
        )
        out.append(Statement(p, r, closed))
    return out


SCHEDULE_HEADER = (
    "practice_code",
    "practice_name",
    "entitled",
    "earned",
    "adjustment",
    "paid",
    "to_pay",
    "to_recover",
)


def schedule_rows(items: list[Statement]) -> tuple[list[list[object]], Money]:
    """Finance's schedule: a line per practice and a TOTAL line; checked against the statements."""
    rows: list[list[object]] = []
    for s in items:
        r = s.reconciliation
        due = r.balance.amount
        amounts = (r.entitled, r.earned, r.adjustment, r.paid)
        rows.append(
            [s.practice.code, s.practice.name, *(m.amount for m in amounts), max(due, 0), max(-due, 0)]
        )
    net = total(s.reconciliation.balance for s in items)
    to_pay = sum((Decimal(str(row[6])) for row in rows), Decimal(0))
    to_recover = sum((Decimal(str(row[7])) for row in rows), Decimal(0))
    if to_pay - to_recover != net.amount:  # the schedule must equal the statements, to the penny
        raise AgreementgenError(
            f"the schedule ({to_pay - to_recover}) differs from the statements ({net.amount})"
        )
    totals = [
        total(getattr(s.reconciliation, k) for s in items).amount
        for k in ("entitled", "earned", "adjustment", "paid")
    ]
    rows.append(["TOTAL", f"{len(items)} practices", *totals, to_pay, to_recover])
    return rows, net


def statement_context(
    scheme: Scheme, statement: Statement, sources: list[tuple[str, str]]
) -> dict[str, object]:
    """What a statement shows, as finished text (the renderer never computes)."""
    r, practice = statement.reconciliation, statement.practice
    milestones = {m.id: m.title for m in scheme.milestones}
    titles = {i.id: i.title for i in scheme.instalments}
    components = {c.id: c.title for c in scheme.components}
    balance = r.balance
    if balance.amount > 0:
        outcome = f"{balance} is due to the practice"
    elif balance.amount < 0:
        outcome = f"{-balance} is to be repaid by the practice (clawback)"
    else:
        outcome = "nothing is due either way"
    disputes = [
        p for t in scheme.terms if "dispute" in t.id or "dispute" in t.title.lower() for p in t.paragraphs
    ]
    closed = statement.closed
    return {
        "document": {
            "id": document_id(scheme, practice.code, "statement"),
            "title": "Year-end statement",
            "kind": "statement",
            "reference": f"{scheme.id} v{scheme.version} · {practice.code} · statement",
            "terms_digest": "",
        },
        "scheme": scheme_identity(scheme),
        "commissioner": commissioner_context(scheme),
        "practice": {"code": practice.code, "name": practice.name, "list_size_text": f"{r.list_size:,}"},
        "instalments": [
            {
                "title": titles[i.id],
                "evidence": "; ".join(
                    f"{milestones.get(m, m)} {when.strftime('%d/%m/%Y') if when else 'missing'}"
                    + (" (late)" if m in i.late else "")
                    for m, when in i.evidence
                ),
                "entitled": str(i.entitled),
                "earned": str(i.earned),
                "paid": str(i.paid),
                "balance": str(i.balance),
                "reason": i.reason,
            }
            for i in r.instalments
        ],
        "components": [
            {
                "title": components[c.id],
                "entitled": str(c.entitled),
                "earned": str(c.earned),
                "adjustment": str(c.adjustment),
                "net": str(c.net),
                "reason": c.reason,
            }
            for c in r.components
        ],
        "totals": {
            "entitled": str(r.entitled),
            "earned": str(r.earned),
            "paid": str(r.paid),
            "adjustment": str(r.adjustment),
            "balance": str(balance),
            "instalment_balance": str(r.earned - r.paid),
        },
        "outcome": outcome,
        "closed": f"The practice {closed[0]} on {closed[1].strftime('%d/%m/%Y')}." if closed else "",
        "disputes": disputes,
        "audit": f"{scheme.id} version {scheme.version}; "
        + "; ".join(f"{what}: {src}" for what, src in sources),
    }
