"""Where a sign-up round stands: counts and the practices to chase, from a real records file."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from agreementgen.records import IssuedDocument, Records, ReturnRecord
from agreementgen.status import scheme_status
from agreementgen.validation import load_checked_scheme
from conftest import QEF

SCHEME = load_checked_scheme(QEF)


def issued(code: str) -> IssuedDocument:
    return IssuedDocument(
        doc_id=f"cpccg-qef-2017-18:v1:{code}:section7",
        scheme_id="cpccg-qef-2017-18",
        scheme_version="1",
        practice_code=code,
        practice_name=f"Practice {code}",
        kind="section7",
        terms={},
        terms_digest="sha256:x",
        practice={"email": f"{code.lower()}@nhs.net", "address": "1 High St", "postcode": "CB1 1AA"},
    )


def returned(code: str | None, status: str, sha: str, reasons: tuple[str, ...] = ()) -> ReturnRecord:
    return ReturnRecord(
        sha256=sha, filename=f"{sha}.pdf", size=1, format="pdf",
        doc_id=f"cpccg-qef-2017-18:v1:{code}:section7" if code else None, id_source="form field",
        scheme_id="cpccg-qef-2017-18", practice_code=code, kind="section7", status=status,
        reasons=list(reasons),
        fields={"n": sha}, signature_kind="typed", signer="Dr A", signed_date="2017-05-15",
    )  # fmt: skip


def test_counts_and_chase_list_follow_each_practices_latest_return(tmp_path: Path):
    records = Records.open(f"sqlite:///{tmp_path / 'r.db'}")
    records.register_issued([issued(c) for c in ("D81001", "D81002", "D81003", "D81004", "D81005")])
    records.record_return(returned("D81001", "accepted", "a"))
    records.record_return(returned("D81002", "flagged", "b", ("issued terms changed: term_total",)))
    records.record_return(returned("D81003", "rejected", "c", ("duplicate",)))
    records.record_return(returned("D81004", "flagged", "d1"))
    records.record_return(returned("D81004", "accepted", "d2"))  # fixed and sent again
    records.record_return(dataclasses.replace(returned("D89999", "rejected", "e"), practice_code="D89999"))
    status = scheme_status(SCHEME, records, today=date(2017, 5, 21))
    assert status.days_to_deadline == 10
    assert (status.issued, status.returned, status.accepted) == (5, 4, 2)
    assert (status.flagged, status.rejected, status.outstanding) == (1, 1, 3)
    assert status.unmatched_returns == 1
    chase = {row["practice_code"]: row for row in status.chase}
    assert sorted(chase) == ["D81002", "D81003", "D81005"]
    assert (
        chase["D81002"]["state"] == "flagged"
        and chase["D81002"]["reasons"] == "issued terms changed: term_total"
    )
    assert chase["D81005"]["state"] == "not returned" and chase["D81005"]["email"] == "d81005@nhs.net"
