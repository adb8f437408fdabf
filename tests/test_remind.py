"""Reminders: only the practices still to sign (not returned, flagged, rejected) are chased, through a
real SMTP server, as often and as long as the rules allow; status and history show each one."""

from __future__ import annotations

import dataclasses
import email
import json
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.contacts import load_contacts
from agreementgen.records import Records, ReturnRecord
from agreementgen.remind import RemindOptions, remind
from agreementgen.send import Outbox, SendOptions, SmtpRelay, send
from agreementgen.status import scheme_info, scheme_status
from agreementgen.validation import load_any_scheme
from conftest import QEF, issue_packs

SCHEME = load_any_scheme(QEF)
CODES = ["D81001", "D81002", "D81003", "D81004"]
ID = "cpccg-qef-2017-18:v1:{}:section7"
SENDER = "contracts@commissioner.example.nhs.uk"
SENT = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)  # when the packs went
FLAGGED_FOR = ["issued terms changed: term_list_size (issued '12,731', returned '99,999')", "no date"]


@pytest.fixture(scope="module")
def issued(tmp_path_factory) -> tuple[Path, list[Any]]:
    return issue_packs(tmp_path_factory.mktemp("issued"), CODES)


def returned(code: str, status: str, reasons: list[str], n: int) -> ReturnRecord:
    return ReturnRecord(sha256=f"{n:064x}", filename=f"return-{code}.pdf", size=100, format="pdf",
                        doc_id=ID.format(code), id_source="pdf metadata", scheme_id=SCHEME.id,
                        practice_code=code, kind="section7", status=status, reasons=reasons, fields={},
                        signature_kind="typed", revision=1)  # fmt: skip


@pytest.fixture
def records(tmp_path: Path, issued) -> Records:
    """The packs sent on 1 April; D81001 signed, D81002 flagged, D81003 rejected, D81004 silent."""
    store = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    store.register_issued(issued[1])
    send(SCHEME, store, contacts(tmp_path), Outbox(tmp_path / "outbox"),
         SendOptions(kind="section7", packs=issued[0], sender=SENDER), now=SENT)  # fmt: skip
    store.record_return(returned("D81001", "accepted", [], 1))
    store.record_return(returned("D81002", "flagged", FLAGGED_FOR, 2))
    store.record_return(returned("D81003", "rejected", ["not a PDF or DOCX: the content is a JPEG image"], 3))
    return store


def contacts(tmp_path: Path):
    path = tmp_path / "contacts.csv"
    lines = ["code,email"] + [f"{c},{c.lower()}@practices.example.nhs.uk" for c in CODES]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_contacts(path)


def run(records: Records, tmp_path: Path, server, days: int, **rules: Any):
    options = dataclasses.replace(RemindOptions(kind="section7", sender=SENDER), **rules)
    return remind(SCHEME, records, contacts(tmp_path), SmtpRelay(server.url), options,
                  now=SENT + timedelta(days=days))  # fmt: skip


def outcomes(report) -> dict[str, str]:
    return {o.practice_code: o.outcome for o in report.outcomes}


def body_to(server, code: str) -> str:
    (got,) = server.to(f"{code.lower()}@practices.example.nhs.uk")[-1:]
    message = email.message_from_bytes(got.data, policy=policy.default)
    return " ".join(message.get_body(("plain",)).get_content().split()), str(message["Subject"])


def test_a_reminder_reaches_only_the_practices_still_to_sign_and_tells_a_flagged_one_why(
    records, tmp_path, mail_server
):
    report = run(records, tmp_path, mail_server, days=8)
    assert outcomes(report) == {"D81002": "sent", "D81003": "sent", "D81004": "sent"}
    assert sorted(r for got in mail_server.received for r in got.recipients) == [
        "d81002@practices.example.nhs.uk",
        "d81003@practices.example.nhs.uk",
        "d81004@practices.example.nhs.uk",
    ]
    text, subject = body_to(mail_server, "D81002")
    assert (
        subject == "Reminder: Quality & Engagement Framework, action needed (HUNTINGDON ROAD SURGERY, D81002)"
    )
    assert "could not accept it as it stands (flagged): - issued terms changed: term_list_size" in text
    assert "- no date" in text
    text, _ = body_to(mail_server, "D81003")
    assert "(rejected): - not a PDF or DOCX: the content is a JPEG image" in text
    text, subject = body_to(mail_server, "D81004")
    assert "We have not yet received your signed Section 7 sign-up agreement" in text
    assert "action needed" not in subject
    rows = [r for r in records.messages_for(SCHEME.id, kind="remind")]
    assert [(r["practice_code"], r["outcome"], r["at"][:10]) for r in rows] == [
        (c, "sent", "2026-04-09") for c in ("D81002", "D81003", "D81004")
    ]
    assert rows[0]["documents"] == [{"doc_id": ID.format("D81002"), "revision": 1}]


def test_no_reminder_within_the_interval_of_the_last_message(records, tmp_path, mail_server):
    assert set(outcomes(run(records, tmp_path, mail_server, days=6)).values()) == {"too soon"}
    assert mail_server.received == []
    run(records, tmp_path, mail_server, days=8)
    later = run(records, tmp_path, mail_server, days=12)
    assert outcomes(later)["D81004"] == "too soon"
    assert later.outcomes[-1].detail == "last emailed 2026-04-09; next reminder from 2026-04-16"
    assert outcomes(run(records, tmp_path, mail_server, days=12, every_days=3))["D81004"] == "sent"


def test_at_most_max_reminders_a_practice(records, tmp_path, mail_server):
    for days in (8, 15, 22):
        assert outcomes(run(records, tmp_path, mail_server, days=days))["D81004"] == "sent"
    fourth = run(records, tmp_path, mail_server, days=29)
    assert outcomes(fourth)["D81004"] == "maximum reached"
    assert fourth.all_done  # the rule working is not a problem
    assert len(mail_server.to("d81004@practices.example.nhs.uk")) == 3
    assert outcomes(run(records, tmp_path, mail_server, days=29, max=4))["D81004"] == "sent"


def test_no_reminder_after_the_cut_off(records, tmp_path, mail_server):
    report = run(records, tmp_path, mail_server, days=30, until=date(2026, 4, 30))
    assert set(outcomes(report).values()) == {"cut-off passed"}
    assert report.stopped == "reminders stopped on 2026-04-30 (the cut-off date)"
    assert mail_server.received == []
    assert records.messages_for(SCHEME.id, kind="remind") == []


def test_the_spec_sets_the_rules_and_the_run_overrides_them(records, tmp_path, mail_server, write_scheme):
    ruled = load_any_scheme(
        write_scheme(("  max: 3 ", "  max: 1 "), ("  # until: 2017-06-30", "  until: 2026-05-31"))
    )
    assert (ruled.reminders.max, ruled.reminders.until) == (1, date(2026, 5, 31))

    def go(days: int, **rules: Any):
        options = dataclasses.replace(RemindOptions(kind="section7", sender=SENDER), **rules)
        return outcomes(remind(ruled, records, contacts(tmp_path), SmtpRelay(mail_server.url), options,
                               now=SENT + timedelta(days=days)))["D81004"]  # fmt: skip

    assert go(8) == "sent"
    assert go(15) == "maximum reached"
    assert go(15, max=2) == "sent"
    assert go(70, max=5) == "cut-off passed"
    assert go(70, max=5, until=date(2026, 12, 31)) == "sent"


def test_status_and_history_show_who_was_reminded_when_and_how_often(records, tmp_path, mail_server):
    run(records, tmp_path, mail_server, days=8)
    run(records, tmp_path, mail_server, days=15)
    chase = {row["practice_code"]: row for row in scheme_status(scheme_info(SCHEME), records).chase}
    assert (chase["D81004"]["reminders"], chase["D81004"]["last_reminded"]) == (2, "2026-04-16")
    assert (chase["D81002"]["state"], chase["D81002"]["reminders"]) == ("flagged", 2)
    # (the clock was set back for the messages: the issue, today, sorts after them)
    events = [e for e in records.history(ID.format("D81004")) if e["event"] != "issued"]
    assert [(e["event"], e["at"][:10], e["revision"]) for e in events] == [
        ("sent", "2026-04-01", 1),
        ("reminded", "2026-04-09", 1),
        ("reminded", "2026-04-16", 1),
    ]
    assert events[0]["detail"].startswith(
        f"written to the outbox for d81004@practices.example.nhs.uk: {tmp_path}"
    )
    assert events[1]["detail"].startswith("sent to d81004@practices.example.nhs.uk: 250 2.0.0 Ok")
    db = str(records.engine.url)
    result = CliRunner().invoke(app, ["status", "-s", str(QEF), "--db", db], env={"COLUMNS": "200"})
    assert (
        "D81004 ALCONBURY SURGERY — section7: not returned  (reminded 2×, last 2026-04-16)" in result.output
    )


def test_remind_command_writes_reminders_to_the_outbox(records, tmp_path):
    db = str(records.engine.url)
    path = tmp_path / "contacts.csv"  # written by the fixture
    result = CliRunner().invoke(app, ["remind", "-s", str(QEF), "--db", db, "--contacts", str(path),
                                      "--outbox", str(tmp_path / "reminders"), "--every", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "reminders").iterdir()) == [
        "D81002-remind.eml", "D81003-remind.eml", "D81004-remind.eml",
    ]  # fmt: skip
    assert "3 reminder(s) written to" in " ".join(result.output.split())
    history = json.loads(
        CliRunner().invoke(app, ["history", ID.format("D81002"), "--db", db, "--json"]).output
    )
    (reminded,) = [e for e in history if e["event"] == "reminded"]
    assert reminded["detail"].startswith("written to the outbox for d81002@practices.example.nhs.uk")


def test_remind_command_refuses_a_bad_until(tmp_path):
    result = CliRunner().invoke(app, ["remind", "-s", str(QEF), "--contacts", str(tmp_path / "c.csv"),
                                      "--until", "30/06/2026"])  # fmt: skip
    assert result.exit_code == 2
    assert "'30/06/2026' is not a date like 2026-06-30" in result.output
