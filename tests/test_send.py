"""Sending the packs: to the outbox as .eml files, and through a real SMTP server the suite starts.

Packs are rendered once by the real bulk run; each test registers them in its own records
database, writes its own contacts file, and reads what arrived back with the stdlib ``email``
parser: the attachments must be byte for byte the issued files.
"""

from __future__ import annotations

import dataclasses
import email
import hashlib
import shutil
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.contacts import load_contacts
from agreementgen.errors import MailError
from agreementgen.records import Records
from agreementgen.send import Outbox, SendOptions, SmtpRelay, Throttle, send
from agreementgen.validation import load_any_scheme
from conftest import QEF, issue_packs

SCHEME = load_any_scheme(QEF)
CODES = ["D81001", "D81002", "D81003", "D81004"]
ID = "cpccg-qef-2017-18:v1:{}:section7"
SENDER = "contracts@commissioner.example.nhs.uk"
REFUSED = "d81002@practices.example.nhs.uk"
DEFERRED = "d81003@practices.example.nhs.uk"


@pytest.fixture(scope="module")
def issued(tmp_path_factory) -> tuple[Path, list[Any]]:
    return issue_packs(tmp_path_factory.mktemp("issued"), CODES)


@pytest.fixture
def records(tmp_path: Path, issued) -> Records:
    store = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    store.register_issued(issued[1])
    return store


def contacts_file(tmp_path: Path, *extra: str, name: str = "contacts.csv") -> Path:
    lines = ["code,email,contact_name,role"]
    lines += [f"{c},{c.lower()}@practices.example.nhs.uk,Practice Manager,practice manager" for c in CODES]
    lines += [
        "D81004,d81004.partners@practices.example.nhs.uk,GP Partners,partners",
        *extra,
    ]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def options(packs: Path, **changes: Any) -> SendOptions:
    return dataclasses.replace(SendOptions(kind="section7", packs=packs, sender=SENDER), **changes)


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def attachments(message: EmailMessage) -> dict[str, bytes]:
    return {str(part.get_filename()): part.get_content() for part in message.iter_attachments()}


def issued_bytes(packs: Path, code: str) -> dict[str, bytes]:
    return {
        f"{code}-section7.{fmt}": (packs / code / f"section7.{fmt}").read_bytes() for fmt in ("pdf", "docx")
    }


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the outbox ------------------------------------------------------------------------------------


def test_the_outbox_gets_one_eml_per_practice_that_parses_back_with_its_issued_files(
    records, issued, tmp_path
):
    packs = issued[0]
    report = send(
        SCHEME, records, load_contacts(contacts_file(tmp_path)), Outbox(tmp_path / "outbox"), options(packs)
    )
    assert [o.outcome for o in report.outcomes] == ["outbox"] * 4
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [f"{c}-send.eml" for c in CODES]
    for code in CODES:
        message = parse((tmp_path / "outbox" / f"{code}-send.eml").read_bytes())
        assert message["X-Unsent"] == "1"  # Outlook opens it as a draft to send
        assert message["From"] == SENDER
        assert message["Reply-To"] == "capccg.enhancedservices@nhs.net"  # the spec's return address
        assert message["Subject"].startswith(
            "Quality & Engagement Framework: your Section 7 sign-up agreement"
        )
        assert message["Message-ID"].endswith("@commissioner.example.nhs.uk>")
        got = attachments(message)
        assert {name: sha(data) for name, data in got.items()} == {
            name: sha(data) for name, data in issued_bytes(packs, code).items()
        }
        body = message.get_body(("plain",))
        assert body is not None and ID.format(code) in body.get_content()
    d81004 = parse((tmp_path / "outbox" / "D81004-send.eml").read_bytes())
    assert [a.addr_spec for a in d81004["To"].addresses] == [
        "d81004@practices.example.nhs.uk",
        "d81004.partners@practices.example.nhs.uk",
    ]
    assert d81004["To"].addresses[1].display_name == "GP Partners"


def test_every_message_is_recorded_with_its_documents_revisions_and_eml(records, issued, tmp_path):
    send(
        SCHEME,
        records,
        load_contacts(contacts_file(tmp_path)),
        Outbox(tmp_path / "outbox"),
        options(issued[0]),
    )
    rows = records.messages_for(SCHEME.id)
    assert [(r["practice_code"], r["kind"], r["outcome"]) for r in rows] == [
        (c, "send", "outbox") for c in CODES
    ]
    first = rows[0]
    assert first["documents"] == [{"doc_id": ID.format("D81001"), "revision": 1}]
    assert first["recipients"] == ["d81001@practices.example.nhs.uk"]
    assert first["path"] == str(tmp_path / "outbox" / "D81001-send.eml")
    message = parse(Path(first["path"]).read_bytes())
    assert first["message_id"] == message["Message-ID"] and first["subject"] == message["Subject"]


def test_a_second_send_sends_nothing_and_resend_sends_again(records, issued, tmp_path):
    contacts, outbox = load_contacts(contacts_file(tmp_path)), Outbox(tmp_path / "outbox")
    send(SCHEME, records, contacts, outbox, options(issued[0]))
    again = send(SCHEME, records, contacts, outbox, options(issued[0]))
    assert [o.outcome for o in again.outcomes] == ["already sent"] * 4
    assert again.all_done
    assert len(list((tmp_path / "outbox").iterdir())) == 4
    resent = send(SCHEME, records, contacts, outbox, options(issued[0], resend=True, practices=("d81001",)))
    assert [(o.practice_code, o.outcome) for o in resent.outcomes] == [("D81001", "outbox")]
    assert (tmp_path / "outbox" / "D81001-send-2.eml").is_file()  # never over the first


def test_a_file_changed_since_issue_is_refused_and_its_practice_gets_nothing(records, issued, tmp_path):
    packs = tmp_path / "packs"
    shutil.copytree(issued[0], packs)
    (packs / "D81002" / "section7.pdf").write_bytes(b"%PDF-1.7 something else")
    (packs / "D81003" / "section7.docx").unlink()
    report = send(
        SCHEME, records, load_contacts(contacts_file(tmp_path)), Outbox(tmp_path / "outbox"), options(packs)
    )
    outcomes = {o.practice_code: o for o in report.outcomes}
    assert outcomes["D81002"].outcome == "file problem"
    assert "D81002/section7.pdf changed since it was issued" in outcomes["D81002"].detail
    assert outcomes["D81003"].outcome == "file problem"
    assert f"D81003/section7.docx: not in {packs}" in outcomes["D81003"].detail
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == ["D81001-send.eml", "D81004-send.eml"]
    assert not report.all_done


def test_attach_pdf_only_attaches_the_pdf(records, issued, tmp_path):
    send(SCHEME, records, load_contacts(contacts_file(tmp_path)), Outbox(tmp_path / "outbox"),
         options(issued[0], attach=("pdf",), practices=("D81001",)))  # fmt: skip
    message = parse((tmp_path / "outbox" / "D81001-send.eml").read_bytes())
    assert list(attachments(message)) == ["D81001-section7.pdf"]


def test_a_practice_without_an_address_is_listed_not_skipped(records, issued, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(
        "code,email\nD81001,d81001@practices.example.nhs.uk\nD81002,\nD81003,not an address\n",
        encoding="utf-8",
    )
    report = send(SCHEME, records, load_contacts(path), Outbox(tmp_path / "outbox"), options(issued[0]))
    outcomes = {o.practice_code: (o.outcome, o.detail) for o in report.outcomes}
    assert outcomes["D81001"][0] == "outbox"
    assert outcomes["D81002"] == ("no address", f"listed without an address in {path}")
    assert outcomes["D81003"] == (
        "contacts problem",
        f"its contacts have a problem ({path}, row 4): fix the file and run again",
    )
    assert outcomes["D81004"] == ("no address", f"not in {path}")
    assert [str(p) for p in report.contact_problems] == [
        f"{path}, row 4, column 'email': 'not an address' is not an email address: "
        "An email address must have an @-sign."
    ]
    assert not report.all_done


def test_a_practice_name_with_a_line_break_adds_no_header(records, issued, tmp_path):
    evil = "Evil Surgery\r\nBcc: someone@attacker.example\r\nX-Injected: yes"
    document = next(d for d in issued[1] if d.practice_code == "D81001")
    records.register_issued([dataclasses.replace(document, practice={**document.practice, "name": evil})])
    send(SCHEME, records, load_contacts(contacts_file(tmp_path)), Outbox(tmp_path / "outbox"),
         options(issued[0], practices=("D81001",)))  # fmt: skip
    message = parse((tmp_path / "outbox" / "D81001-send.eml").read_bytes())
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert sorted(message.keys()) == sorted(
        [
            "From",
            "To",
            "Reply-To",
            "Subject",
            "Date",
            "Message-ID",
            "MIME-Version",
            "Content-Type",
            "X-Unsent",
        ]
    )
    assert "Evil Surgery Bcc: someone@attacker.example X-Injected: yes" in message["Subject"]


def test_the_standard_library_refuses_a_header_with_a_line_break():
    # What stands behind one_line(): EmailMessage itself never writes a header value with CR or LF.
    message = EmailMessage()
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        message["Subject"] = "Pack\r\nBcc: someone@attacker.example"


def test_a_dry_run_writes_and_records_nothing(records, issued, tmp_path):
    report = send(
        SCHEME, records, load_contacts(contacts_file(tmp_path)), None, options(issued[0], dry_run=True)
    )
    assert [o.outcome for o in report.outcomes] == ["dry-run"] * 4
    assert report.outcomes[0].attachments == ("D81001-section7.pdf", "D81001-section7.docx")
    assert records.messages_for(SCHEME.id) == []
    assert not (tmp_path / "outbox").exists()


def test_the_throttle_spaces_messages_per_minute():
    throttle = Throttle(600)  # one every 0.1 s
    start = time.monotonic()
    for _ in range(4):
        throttle.wait()
    assert time.monotonic() - start >= 0.3


# --- a real SMTP server ----------------------------------------------------------------------------


def test_smtp_refused_and_deferred_recipients_are_recorded_with_the_reply_and_retried_as_they_should_be(
    records, issued, tmp_path, mail_server
):
    mail_server.replies[REFUSED] = "550 5.1.1 <d81002@practices.example.nhs.uk>: mailbox unavailable"
    mail_server.replies[DEFERRED] = "451 4.3.0 mailbox busy, try again later"
    contacts, packs = load_contacts(contacts_file(tmp_path)), issued[0]

    first = send(SCHEME, records, contacts, SmtpRelay(mail_server.url), options(packs))
    outcomes = {o.practice_code: o for o in first.outcomes}
    assert {c: o.outcome for c, o in outcomes.items()} == {
        "D81001": "sent", "D81002": "refused", "D81003": "temporary", "D81004": "sent",
    }  # fmt: skip
    assert outcomes["D81002"].detail == f"{REFUSED}: 550 5.1.1 <{REFUSED}>: mailbox unavailable"
    assert outcomes["D81001"].detail.startswith("250 2.0.0 Ok: queued as TEST")
    # what arrived is what was issued, byte for byte
    assert len(mail_server.received) == 2
    for code in ("D81001", "D81004"):
        (got,) = mail_server.to(f"{code.lower()}@practices.example.nhs.uk")
        assert attachments(parse(got.data)) == issued_bytes(packs, code)
        assert got.sender == SENDER
    assert mail_server.received[1].recipients == [
        "d81004@practices.example.nhs.uk",
        "d81004.partners@practices.example.nhs.uk",
    ]
    rows = {r["practice_code"]: r for r in records.messages_for(SCHEME.id)}
    assert rows["D81002"]["outcome"] == "refused" and "550 5.1.1" in rows["D81002"]["reply"]
    assert rows["D81003"]["outcome"] == "temporary" and "451 4.3.0" in rows["D81003"]["reply"]

    del mail_server.replies[DEFERRED]  # the mailbox is free again
    second = send(SCHEME, records, contacts, SmtpRelay(mail_server.url), options(packs))
    assert {o.practice_code: o.outcome for o in second.outcomes} == {
        "D81001": "already sent", "D81002": "refused before", "D81003": "sent", "D81004": "already sent",
    }  # fmt: skip
    assert len(mail_server.received) == 3 and mail_server.received[2].recipients == [DEFERRED]
    assert attachments(parse(mail_server.received[2].data)) == issued_bytes(packs, "D81003")

    fixed = (
        contacts_file(tmp_path, name="fixed.csv")
        .read_text()
        .replace(REFUSED, "manager.d81002@practices.example.nhs.uk")
    )
    (tmp_path / "fixed.csv").write_text(fixed)
    third = send(
        SCHEME, records, load_contacts(tmp_path / "fixed.csv"), SmtpRelay(mail_server.url), options(packs)
    )
    assert [(o.practice_code, o.outcome) for o in third.outcomes if o.outcome != "already sent"] == [
        ("D81002", "sent")
    ]


def test_a_recipient_refused_beside_one_accepted_is_listed_with_the_sent_message(
    records, issued, tmp_path, mail_server
):
    partners = "d81004.partners@practices.example.nhs.uk"
    mail_server.replies[partners] = "550 5.1.1 no such user"
    report = send(SCHEME, records, load_contacts(contacts_file(tmp_path)), SmtpRelay(mail_server.url),
                  options(issued[0], practices=("D81004",)))  # fmt: skip
    (outcome,) = report.outcomes
    assert outcome.outcome == "sent" and outcome.refused == (f"{partners}: 550 5.1.1 no such user",)
    assert (
        "refused d81004.partners@practices.example.nhs.uk: 550 5.1.1 no such user"
        in (records.messages_for(SCHEME.id)[0]["reply"])
    )
    assert not report.all_done


def test_starttls_with_a_login(records, issued, tmp_path):
    from mailserver import start

    server = start(tmp_path, tls=True, login=("contracts", "s3cret"))
    try:
        relay = SmtpRelay(f"smtp://contracts@localhost:{server.port}", "s3cret", server.client_context())
        report = send(SCHEME, records, load_contacts(contacts_file(tmp_path)), relay,
                      options(issued[0], practices=("D81001",)))  # fmt: skip
        assert [o.outcome for o in report.outcomes] == ["sent"]
        assert attachments(parse(server.received[0].data)) == issued_bytes(issued[0], "D81001")
        wrong = SmtpRelay(f"smtp://contracts@localhost:{server.port}", "wrong", server.client_context())
        with pytest.raises(MailError, match="refused the login"):
            wrong.open()
        untrusted = SmtpRelay(
            f"smtp://contracts@localhost:{server.port}", "s3cret"
        )  # the system's authorities
        with pytest.raises(MailError, match="certificate is not trusted"):
            untrusted.open()
    finally:
        server.stop()


# aiosmtpd warns that it does not require STARTTLS before AUTH: this connection is TLS from its first byte.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtps_is_tls_from_the_first_byte(records, issued, tmp_path):
    from mailserver import start

    server = start(tmp_path, implicit_tls=True, login=("contracts", "s3cret"))
    try:
        relay = SmtpRelay(f"smtps://contracts@localhost:{server.port}", "s3cret", server.client_context())
        report = send(SCHEME, records, load_contacts(contacts_file(tmp_path)), relay,
                      options(issued[0], practices=("D81002",)))  # fmt: skip
        assert [o.outcome for o in report.outcomes] == ["sent"]
        assert attachments(parse(server.received[0].data)) == issued_bytes(issued[0], "D81002")
    finally:
        server.stop()


def test_smtp_without_starttls_is_refused_before_anything_is_sent(mail_server):
    relay = SmtpRelay(f"smtp://127.0.0.1:{mail_server.port}")
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        relay.open()


@pytest.mark.parametrize(
    ("url", "password", "message"),
    [
        ("http://host", None, "is not an SMTP URL"),
        ("smtp://user:pw@host:587", None, "put the password in $AGREEMENTGEN_SMTP_PASSWORD, not in the URL"),
        ("smtp://user@host:587", None, "the login user needs its password in $AGREEMENTGEN_SMTP_PASSWORD"),
        ("smtp+insecure://user@host:25", "pw", "a login is never sent unencrypted"),
        ("smtp://", None, "names no server"),
    ],
)
def test_a_bad_smtp_url_is_refused_saying_why(url: str, password: str | None, message: str):
    with pytest.raises(MailError) as caught:
        SmtpRelay(url, password)
    assert message in str(caught.value)


def test_no_server_listening_is_one_clear_error(tmp_path, records, issued):
    from ports import free_port

    port = free_port()  # nothing listens there
    relay = SmtpRelay(f"smtp+insecure://127.0.0.1:{port}", timeout=5)
    with pytest.raises(MailError, match=f"cannot send through smtp\\+insecure://127.0.0.1:{port}"):
        send(SCHEME, records, load_contacts(contacts_file(tmp_path)), relay, options(issued[0]))
    assert records.messages_for(SCHEME.id) == []


# --- the command --------------------------------------------------------------------------------------


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def test_send_command_writes_the_outbox_and_history_shows_it(records, issued, tmp_path):
    db = f"sqlite:///{tmp_path / 'records.db'}"
    args = ["send", "-s", str(QEF), "--db", db, "--packs", str(issued[0]),
            "--contacts", str(contacts_file(tmp_path)), "--outbox", str(tmp_path / "outbox")]  # fmt: skip
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert f"4 message(s) written to {tmp_path / 'outbox'}, ready to send" in first.output
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert "already sent D81001 LENSFIELD MEDICAL PRACTICE" in " ".join(again.output.split())
    history = invoke("history", ID.format("D81001"), "--db", db, "--json")
    events = [e["event"] for e in __import__("json").loads(history.output)]
    assert events == ["issued", "sent"]


def test_send_command_through_smtp_exits_1_and_lists_the_refused(records, issued, tmp_path, mail_server):
    mail_server.replies[REFUSED] = "550 5.1.1 mailbox unavailable"
    result = invoke("send", "-s", str(QEF), "--db", f"sqlite:///{tmp_path / 'records.db'}", "--packs",
                    str(issued[0]), "--contacts", str(contacts_file(tmp_path)), "--smtp", mail_server.url,
                    "--from", SENDER, "--per-minute", "6000")  # fmt: skip
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert (
        f"refused D81002 HUNTINGDON ROAD SURGERY to {REFUSED}: {REFUSED}: 550 5.1.1 mailbox unavailable"
        in text
    )
    assert "3 message(s) sent — 1 refused, 3 sent" in text
    assert "Traceback" not in result.output


def test_send_dry_run_command_shows_what_would_go(records, issued, tmp_path):
    result = invoke("send", "-s", str(QEF), "--db", f"sqlite:///{tmp_path / 'records.db'}", "--packs",
                    str(issued[0]), "--contacts", str(contacts_file(tmp_path)), "--dry-run",
                    "--outbox", str(tmp_path / "outbox"))  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "attached: D81001-section7.pdf, D81001-section7.docx" in text
    assert "dry run: 4 message(s) would go; nothing written, sent or recorded" in text
    assert not (tmp_path / "outbox").exists()


def test_send_with_both_outbox_and_smtp_is_a_usage_error(tmp_path):
    result = invoke("send", "-s", str(QEF), "--packs", str(tmp_path), "--contacts", str(tmp_path / "c.csv"),
                    "--outbox", str(tmp_path), "--smtp", "smtp://host")  # fmt: skip
    assert result.exit_code == 2
    assert "give --outbox or --smtp, not both" in result.output


def test_messages_are_kept_and_shown_in_history_on_sqlite_and_postgresql(db_url, issued):
    from agreementgen.records import MessageRecord

    store = Records.open(db_url)
    store.register_issued(issued[1])
    doc = ID.format("D81001")
    to, subject = ("d81001@practices.example.nhs.uk",), "Pack\x00 for Lensfield"
    reply = "550 5.1.1 mailbox unavailable"
    sent = MessageRecord("<1.send.D81001@commissioner.example.nhs.uk>", "send", SCHEME.id, "D81001", to,
                         ((doc, 1),), subject, "refused", reply, "", "Asha Patel")  # fmt: skip
    store.record_message(sent, at="2026-04-01T09:00:00+00:00")
    (row,) = store.messages_for(SCHEME.id, "D81001")
    assert (
        row["documents"] == [{"doc_id": doc, "revision": 1}] and row["subject"] == "Pack\\x00 for Lensfield"
    )
    (event,) = [e for e in store.history(doc) if e["event"] == "sent"]
    assert event == {"at": "2026-04-01T09:00:00+00:00", "event": "sent", "revision": 1, "return_id": None,
                     "detail": "refused for d81001@practices.example.nhs.uk: 550 5.1.1 mailbox unavailable",
                     "by": "Asha Patel"}  # fmt: skip
    assert store.messages_for(SCHEME.id, "D81002") == []
    header, rows = store.table_rows("messages")
    assert "message_id" in header and len(rows) == 1
