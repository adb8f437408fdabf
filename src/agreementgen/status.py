"""Where a scheme's sign-up round stands: counts, days to the deadline, who to chase, and a row for
every document (the web app's board).

Pure over what :meth:`~agreementgen.records.Records.board_source` reads: for each document issued
under the scheme, its latest return decides whether it is accepted (the practice's current
sign-up), flagged or rejected (someone must act), or still outstanding. The chase list says how
many reminders (``remind``) went to each, and when the last did.

A scheme is named by its :class:`~agreementgen.records.SchemeInfo`: the CLI makes it from the spec
(:func:`scheme_info`), the web app reads it from the records (:meth:`Records.schemes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from .kinds import DEFAULT_KIND
from .records import BoardReturn, Records, SchemeInfo
from .scheme import Scheme
from .services import ServiceScheme

CHASE_COLUMNS = (
    "practice_code",
    "practice_name",
    "email",
    "address",
    "postcode",
    "doc_id",
    "state",
    "last_return",
    "reasons",
    "deadline",
    "reminders",
    "last_reminded",
)


NOT_RETURNED = "not returned"


class BoardRow(NamedTuple):
    """One issued document on the board: where it stands and what came back for it.

    ``state`` is ``accepted`` (the practice's current sign-up), else its latest return's status
    (``flagged`` / ``rejected``), else ``not returned``. The return fields are the latest return's
    (for an accepted document that can be a later file, e.g. a duplicate rejected): ``return_id``
    is None and the text fields empty when nothing came back. A tuple, not a dataclass: the national
    board makes 6,000 of them, and a frozen dataclass is several times slower to make.
    """

    practice_code: str
    practice_name: str
    doc_id: str
    kind: str
    revision: int
    state: str
    return_id: int | None
    filename: str
    received_at: str
    reasons: tuple[str, ...]
    signed_date: str
    reminders: int  # delivered reminders that chased it
    last_reminded: str  # when the last of them went (ISO), "" if none


@dataclass
class SchemeStatus:
    scheme_id: str
    title: str
    deadline: str
    days_to_deadline: int | None
    issued: int = 0
    returned: int = 0
    accepted: int = 0
    flagged: int = 0
    rejected: int = 0
    outstanding: int = 0
    unmatched_returns: int = 0  # returns naming this scheme but no document issued under it
    chase: list[dict[str, Any]] = field(default_factory=list)
    rows: list[BoardRow] = field(default_factory=list, repr=False)  # every document, accepted too

    def as_dict(self) -> dict[str, Any]:
        """The counts and the chase list (``status --json``); the board's rows are for the web app."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "rows"}


def scheme_info(spec: Scheme | ServiceScheme) -> SchemeInfo:
    """A loaded spec's identity, as :meth:`Records.schemes` gives it for one on record."""
    model = "services" if isinstance(spec, ServiceScheme) else "per_capita"
    return SchemeInfo(spec.id, spec.version, spec.title, model, DEFAULT_KIND[model], spec.sign_up_deadline)


def scheme_status(
    scheme: SchemeInfo, records: Records, today: date | None = None, kind: str | None = None
) -> SchemeStatus:
    """``kind`` limits it to documents of one kind or family (``sla`` matches every ``sla_*``)."""
    today = today or date.today()
    deadline = scheme.deadline
    result = SchemeStatus(
        scheme_id=scheme.id,
        title=scheme.title,
        deadline=deadline.isoformat() if deadline else "",
        days_to_deadline=(deadline - today).days if deadline else None,
    )
    source = records.board_source(scheme.id)
    documents = [d for d in source.documents if kind is None or d.kind.split("_q")[0].startswith(kind)]
    issued_ids = {d.doc_id for d in documents}
    latest: dict[str, BoardReturn] = {}
    for returned in source.returns:  # oldest first: the last one wins
        if returned.doc_id in issued_ids:
            latest[returned.doc_id] = returned
        else:
            result.unmatched_returns += 1
    result.issued = len(documents)
    for doc in documents:
        last = latest.get(doc.doc_id)
        reminded = source.reminded.get(doc.doc_id, [])
        if last is not None:
            result.returned += 1
        if doc.signed_up:
            result.accepted += 1
            state = "accepted"
        else:
            state = last.status if last is not None else NOT_RETURNED
            if state == "flagged":
                result.flagged += 1
            elif state == "rejected":
                result.rejected += 1
            result.outstanding += 1
        row = BoardRow(
            practice_code=doc.practice_code,
            practice_name=doc.practice_name,
            doc_id=doc.doc_id,
            kind=doc.kind,
            revision=doc.revision,
            state=state,
            return_id=last.id if last else None,
            filename=last.filename if last else "",
            received_at=last.received_at if last else "",
            reasons=last.reasons() if last else (),
            signed_date=(last.signed_date or "") if last else "",
            reminders=len(reminded),
            last_reminded=max(reminded, default=""),
        )
        result.rows.append(row)
        if doc.signed_up:
            continue
        result.chase.append(
            {
                "practice_code": row.practice_code,
                "practice_name": row.practice_name,
                "email": doc.email,
                "address": doc.address,
                "postcode": doc.postcode,
                "doc_id": row.doc_id,
                "state": state,
                "last_return": row.filename,
                "reasons": "; ".join(row.reasons),
                "deadline": result.deadline,
                "reminders": row.reminders,
                "last_reminded": row.last_reminded[:10],
            }
        )
    return result
