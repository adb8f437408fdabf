"""Where a sign-up round stands: counts and the practices to chase, from a real records file."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from agreementgen.records import IssuedDocument, MessageRecord, Records, ReturnRecord
from agreementgen.status import scheme_info, scheme_status
from agreementgen.validation import load_checked_scheme
from conftest import QEF

SCHEME = scheme_info(load_checked_scheme(QEF))


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


def test_the_board_has_a_row_for_every_document_accepted_ones_too(db_url: str):
    records = Records.open(db_url)
    records.register_issued([issued(c) for c in ("D81001", "D81002", "D81003")])
    records.record_return(returned("D81001", "accepted", "a"))
    records.record_return(returned("D81002", "flagged", "b", ("the list size was changed",)))
    chased = (("cpccg-qef-2017-18:v1:D81002:section7", 1),)
    for at, outcome in (("2017-05-16T09:00:00+00:00", "sent"), ("2017-05-23T09:00:00+00:00", "outbox"),
                        ("2017-05-24T09:00:00+00:00", "refused")):  # fmt: skip
        message = MessageRecord(f"<{at}@x>", "remind", "cpccg-qef-2017-18", "D81002", ("a@nhs.net",), chased,
                                "Reminder", outcome)  # fmt: skip
        records.record_message(message, at=at)
    status = scheme_status(SCHEME, records, today=date(2017, 5, 21))
    rows = {row.practice_code: row for row in status.rows}
    assert [row.practice_code for row in status.rows] == ["D81001", "D81002", "D81003"]
    accepted, flagged, silent = rows["D81001"], rows["D81002"], rows["D81003"]
    assert (accepted.state, accepted.filename, accepted.signed_date) == ("accepted", "a.pdf", "2017-05-15")
    assert accepted.return_id == records.returns_for()[0]["id"] and accepted.reasons == ()
    assert (flagged.state, flagged.reasons, flagged.kind) == (
        "flagged",
        ("the list size was changed",),
        "section7",
    )
    # the refused reminder never reached the practice: two count
    assert (flagged.reminders, flagged.last_reminded) == (2, "2017-05-23T09:00:00+00:00")
    assert (silent.state, silent.return_id, silent.filename) == ("not returned", None, "")
    # the chase list is the board's rows not accepted, as before
    assert [row["doc_id"] for row in status.chase] == [flagged.doc_id, silent.doc_id]
    assert status.chase[0]["reminders"] == 2 and status.chase[0]["last_reminded"] == "2017-05-23"
    # the contact is read from the practice's details as issued (by the database, on both)
    assert status.chase[1] | {"reminders": 0} == {
        "practice_code": "D81003", "practice_name": "Practice D81003", "email": "d81003@nhs.net",
        "address": "1 High St", "postcode": "CB1 1AA", "doc_id": silent.doc_id, "state": "not returned",
        "last_return": "", "reasons": "", "deadline": "2017-05-31", "reminders": 0, "last_reminded": "",
    }  # fmt: skip
    assert "rows" not in status.as_dict()  # status --json prints what it always printed


def test_a_scheme_named_from_the_records_gives_the_same_status_as_its_spec(tmp_path: Path):
    records = Records.open(f"sqlite:///{tmp_path / 'r.db'}")
    spec = load_checked_scheme(QEF)
    records.set_scheme_rules(spec.id, spec.version, spec.sign_up_deadline, {}, title=spec.title,
                             model="per_capita", default_kind="section7")  # fmt: skip
    records.register_issued([issued(c) for c in ("D81001", "D81002")])
    records.record_return(returned("D81002", "flagged", "b", ("late",)))
    [on_record] = records.schemes()
    assert on_record == SCHEME
    today = date(2017, 5, 21)
    from_records, from_spec = scheme_status(on_record, records, today), scheme_status(SCHEME, records, today)
    assert from_records.as_dict() == from_spec.as_dict() and from_records.rows == from_spec.rows
