"""Where a scheme's sign-up round stands: counts, days to the deadline, who to chase.

Pure over what :class:`~agreementgen.records.Records` returns: for each document issued
under the scheme, its latest return decides whether it is accepted (the practice's
current sign-up), flagged or rejected (someone must act), or still outstanding. The chase
list says how many reminders (``remind``) went to each, and when the last did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .records import DELIVERED, Records
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

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def scheme_status(
    scheme: Scheme | ServiceScheme, records: Records, today: date | None = None, kind: str | None = None
) -> SchemeStatus:
    """``kind`` limits it to documents of one kind or family (``sla`` matches every ``sla_*``)."""
    today = today or date.today()
    deadline = scheme.sign_up_deadline
    result = SchemeStatus(
        scheme_id=scheme.id,
        title=scheme.title,
        deadline=deadline.isoformat() if deadline else "",
        days_to_deadline=(deadline - today).days if deadline else None,
    )
    documents = [
        d
        for d in records.issued_documents(scheme.id)
        if kind is None or d.kind.split("_q")[0].startswith(kind)
    ]
    issued_ids = {d.doc_id for d in documents}
    latest: dict[str, dict[str, Any]] = {}
    for row in records.returns_for(scheme.id):  # oldest first: the last one wins
        if row["doc_id"] in issued_ids:
            latest[row["doc_id"]] = row
        else:
            result.unmatched_returns += 1
    signups = records.signups_for(scheme.id)
    reminded: dict[str, list[str]] = {}  # document id -> when each reminder chasing it was delivered
    for message in records.messages_for(scheme.id, kind="remind"):
        if message["outcome"] in DELIVERED:
            for document in message["documents"]:
                reminded.setdefault(document["doc_id"], []).append(message["at"])
    result.issued = len(documents)
    for doc in documents:
        last = latest.get(doc.doc_id)
        if last is not None:
            result.returned += 1
        if doc.doc_id in signups:
            result.accepted += 1
            continue
        state = "not returned"
        if last is not None:
            state = last["status"]
            if state == "flagged":
                result.flagged += 1
            elif state == "rejected":
                result.rejected += 1
        result.outstanding += 1
        practice = doc.practice
        result.chase.append(
            {
                "practice_code": doc.practice_code,
                "practice_name": doc.practice_name,
                "email": practice.get("email", ""),
                "address": practice.get("address", ""),
                "postcode": practice.get("postcode", ""),
                "doc_id": doc.doc_id,
                "state": state,
                "last_return": last["filename"] if last else "",
                "reasons": "; ".join(last["reasons"]) if last else "",
                "deadline": result.deadline,
                "reminders": len(reminded.get(doc.doc_id, [])),
                "last_reminded": max(reminded.get(doc.doc_id, [""]))[:10],
            }
        )
    return result
