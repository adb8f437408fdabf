"""Stand-ins until the library's scheme identity and board rows land (removed at that merge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from ..records import Records, issued, scheme_rules
from ..status import scheme_status as _status


@dataclass(frozen=True)
class SchemeInfo:
    id: str
    version: str
    title: str
    model: str
    default_kind: str
    deadline: date | None
    packs_dir: str = ""

    @property
    def sign_up_deadline(self) -> date | None:
        return self.deadline


def schemes(records: Records) -> list[SchemeInfo]:
    with records._begin() as conn:
        rules = {r.scheme_id: r for r in conn.execute(select(scheme_rules))}
        ids = {r.scheme_id for r in conn.execute(select(issued.c.scheme_id).distinct())}
    out = []
    for sid in sorted(ids | set(rules)):
        r = rules.get(sid)
        out.append(
            SchemeInfo(
                sid,
                r.scheme_version if r else "",
                (r.title if r else "") or sid,
                r.model if r else "",
                r.default_kind if r else "",
                date.fromisoformat(r.sign_up_deadline) if r and r.sign_up_deadline else None,
                r.packs_dir if r else "",
            )
        )
    return out


def scheme_status(info: SchemeInfo, records: Records, kind: str | None = None) -> Any:
    return _status(info, records, kind=kind)  # type: ignore[arg-type]


def board_rows(info: SchemeInfo, records: Records, kind: str | None = None) -> list[dict[str, Any]]:
    st = _status(info, records, kind=kind)  # type: ignore[arg-type]
    rows = [dict(r, last_received="") for r in st.chase]
    chased = {r["doc_id"] for r in rows}
    for d in records.issued_documents(info.id):
        if d.doc_id not in chased and (kind is None or d.kind.split("_q")[0].startswith(kind)):
            rows.append(
                {
                    "practice_code": d.practice_code,
                    "practice_name": d.practice_name,
                    "doc_id": d.doc_id,
                    "state": "accepted",
                    "last_return": "",
                    "reasons": "",
                    "reminders": 0,
                    "last_reminded": "",
                    "last_received": "",
                }
            )
    return rows
