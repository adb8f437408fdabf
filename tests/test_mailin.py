"""Returns that come by mail: .eml, .mbox and Outlook .msg files given to ingest, each attachment a return.

The returns are real (QEF Section 7s issued by the bulk run and signed with pdftk); the messages are
written by the standard library's email and mailbox modules, and the .msg by extract-msg's OLE writer
to Microsoft's format (see ``messages.py``). Every file and every attachment must end with an
outcome in the report and on record, and every message once in ``mail_in``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agreementgen import mailin
from agreementgen.cli import app
from agreementgen.errors import PracticeDataError
from agreementgen.ingest import ingest
from agreementgen.mailin import contact_addresses
from agreementgen.records import Records
from agreementgen.returns import MAX_RETURN_BYTES
from agreementgen.simulate import JPEG
from messages import (
    ID,
    email_message,
    issue_packs,
    mbox,
    ole_document,
    outlook_message,
    require_extract_msg,
    signed_returns,
)

PDF = "application/pdf"
PRACTICE = "d81001@practices.example.nhs.uk"


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    return issue_packs(tmp_path_factory.mktemp("issued"))


@pytest.fixture(scope="module")
def signed(packs, tmp_path_factory) -> dict[str, bytes]:
    return signed_returns(packs[0], tmp_path_factory.mktemp("signed"))


@pytest.fixture
def records(tmp_path: Path, packs) -> Records:
    store = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    store.register_issued(packs[1])
    return store


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def row(records: Records, return_id: int) -> dict:
    return next(r for r in records.returns_for() if r["id"] == return_id)


# --- .eml ---------------------------------------------------------------------------------------------


def test_a_signed_return_emailed_back_is_accepted_with_its_sender_date_and_message_id(
    records, signed, tmp_path
):
    path = write(tmp_path, "reply.eml", email_message([("signed.pdf", signed["D81001"], PDF)]))
    report = ingest([path], records)
    [outcome] = report.files
    assert outcome.path == f"{path} › signed.pdf" and outcome.status == "accepted"
    assert (outcome.message_id, outcome.sender) == ("<reply-1@practices.example.nhs.uk>", PRACTICE)
    assert outcome.doc_id == ID.format("D81001")
    recorded = row(records, outcome.return_id)
    assert (recorded["message_id"], recorded["sender"]) == ("<reply-1@practices.example.nhs.uk>", PRACTICE)
    assert recorded["sha256"] == hashlib.sha256(signed["D81001"]).hexdigest()  # the attachment's own bytes
    assert records.signups_for("cpccg-qef-2017-18")[ID.format("D81001")]["return_id"] == outcome.return_id
    [kept] = records.mail_in_for()
    assert kept["message_id"] == "<reply-1@practices.example.nhs.uk>" and kept["sender"] == PRACTICE
    assert kept["received_at"] == "2026-05-12T09:30:00+00:00" and kept["subject"] == "Signed Section 7"
    assert kept["source"] == str(path) and kept["attachments"] == 1
    assert kept["outcome"] == "1 attachment(s): 1 accepted; not judged: the message text"
    assert report.all_accepted


def test_each_attachment_is_a_return_of_its_own(records, signed, tmp_path):
    data = email_message(
        [
            ("D81001.pdf", signed["D81001"], PDF),
            ("D81002.pdf", signed["D81002"], PDF),
            ("photo.jpg", JPEG, "image/jpeg"),
        ]
    )
    path = write(tmp_path, "two practices.eml", data)
    report = ingest([path], records)
    assert [(f.path.rsplit(" › ", 1)[1], f.status) for f in report.files] == [
        ("D81001.pdf", "accepted"),
        ("D81002.pdf", "accepted"),
        ("photo.jpg", "rejected"),
    ]
    assert report.files[2].reasons == ("not a PDF or DOCX: the content is a JPEG image",)
    assert {f.message_id for f in report.files} == {"<reply-1@practices.example.nhs.uk>"}
    [kept] = records.mail_in_for()
    assert kept["attachments"] == 3 and kept["outcome"].startswith("3 attachment(s): 2 accepted, 1 rejected")


def test_an_inline_image_and_a_digital_signature_of_the_message_are_not_judged(records, signed, tmp_path):
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = PRACTICE, "Signed", "<inline@x>"
    message.set_content("Signed form attached.")
    message.add_alternative("<p>Signed form attached. <img src='cid:logo'></p>", subtype="html")
    message.get_payload()[1].add_related(JPEG, "image", "jpeg", cid="<logo>")
    message.add_attachment(signed["D81003"], maintype="application", subtype="pdf", filename="signed.pdf")
    message.add_attachment(
        b"0\x82\x01", maintype="application", subtype="pkcs7-signature", filename="smime.p7s"
    )
    report = ingest([write(tmp_path, "inline.eml", message.as_bytes())], records)
    assert [f.status for f in report.files] == ["accepted"]
    [kept] = records.mail_in_for()
    assert kept["outcome"] == (
        "1 attachment(s): 1 accepted; not judged: the message text, an inline image, "
        "a digital signature of the message (not checked)"
    )


def test_a_message_taken_in_twice_changes_nothing(records, signed, tmp_path):
    path = write(tmp_path, "reply.eml", email_message([("signed.pdf", signed["D81001"], PDF)]))
    first = ingest([path], records)
    again = ingest([path], records)
    assert [(f.return_id, f.new) for f in again.files] == [(first.files[0].return_id, False)]
    assert [m.new for m in first.messages] == [True] and [m.new for m in again.messages] == [False]
    assert len(records.returns_for()) == 1 and len(records.mail_in_for()) == 1
    # the same message saved again under another name, and its attachment saved as a file: nothing new
    copy = write(tmp_path, "copy of reply.eml", path.read_bytes())
    saved = write(tmp_path, "signed.pdf", signed["D81001"])
    third = ingest([copy, saved], records)
    assert [f.new for f in third.files] == [False, False]
    assert len(records.returns_for()) == 1 and len(records.mail_in_for()) == 1


def test_a_message_without_a_message_id_is_known_by_the_digest_of_its_bytes(records, signed, tmp_path):
    data = email_message([("signed.pdf", signed["D81002"], PDF)], message_id=None, sent=None)
    path = write(tmp_path, "no id.eml", data)
    first = ingest([path], records)
    ingest([path], records)
    [kept] = records.mail_in_for()
    assert kept["message_id"] == "sha256:" + hashlib.sha256(data).hexdigest() == first.files[0].message_id
    assert kept["received_at"] == ""  # no Date header and no internal date: unknown, not invented


def test_a_message_with_no_attachment_is_recorded_as_a_rejected_return_and_in_mail_in(records, tmp_path):
    data = email_message([], subject="Will send it on Monday")
    path = write(tmp_path, "no attachment.eml", data)
    report = ingest([path], records)
    [outcome] = report.files
    assert (outcome.path, outcome.status) == (str(path), "rejected")
    assert outcome.reasons == ("a mail message with no attachment: nothing to judge",)
    recorded = row(records, outcome.return_id)
    assert recorded["format"] == "eml" and recorded["sha256"] == hashlib.sha256(data).hexdigest()
    assert recorded["message_id"] == "<reply-1@practices.example.nhs.uk>"
    [kept] = records.mail_in_for()
    assert kept["attachments"] == 0 and kept["subject"] == "Will send it on Monday"
    assert kept["outcome"] == (
        "rejected: a mail message with no attachment: nothing to judge; not judged: the message text"
    )
    assert not report.all_accepted


# --- .mbox and .msg ------------------------------------------------------------------------------------


def test_an_mbox_of_several_messages_gives_each_attachment_and_each_message_an_outcome(
    records, signed, tmp_path
):
    messages = [
        email_message([("signed.pdf", signed["D81001"], PDF)], message_id="<m1@x>"),
        email_message([], message_id="<m2@x>", text="From the practice: no form yet.\n"),
        email_message([("signed.pdf", signed["D81002"], PDF)], message_id="<m3@x>", sent=None),
        email_message([], message_id="<m4@x>", text="Nor yet.\n"),
    ]
    path = write(tmp_path, "exported.mbox", mbox(messages, tmp_path))
    report = ingest([path], records)
    assert [(f.path.removeprefix(str(path)), f.status, f.message_id) for f in report.files] == [
        (" › message 1 › signed.pdf", "accepted", "<m1@x>"),
        (" › message 2", "rejected", "<m2@x>"),
        (" › message 3 › signed.pdf", "accepted", "<m3@x>"),
        (" › message 4", "rejected", "<m4@x>"),
    ]
    assert len({f.return_id for f in report.files}) == 4 and all(f.new for f in report.files)
    kept = records.mail_in_for()
    assert [(k["message_id"], k["source"], k["attachments"]) for k in kept] == [
        ("<m1@x>", f"{path} › message 1", 1),
        ("<m2@x>", f"{path} › message 2", 0),
        ("<m3@x>", f"{path} › message 3", 1),
        ("<m4@x>", f"{path} › message 4", 0),
    ]
    assert kept[0]["received_at"] == "2026-05-12T09:30:00+00:00"
    assert kept[2]["received_at"] != ""  # no Date header: the mbox From line's date
    assert ingest([path], records).messages[0].new is False


def test_an_outlook_message_is_read_by_its_properties(records, signed, tmp_path):
    require_extract_msg()
    data = outlook_message(
        [("Signed Section 7.pdf", signed["D81004"])], sender="d81004@practices.example.nhs.uk"
    )
    assert data.startswith(b"\xd0\xcf\x11\xe0")  # an OLE compound file, like an old Word document
    path = write(tmp_path, "reply.msg", data)
    report = ingest([path], records)
    [outcome] = report.files
    assert (outcome.path, outcome.status) == (f"{path} › Signed Section 7.pdf", "accepted")
    assert (outcome.message_id, outcome.sender) == (
        "<outlook-1@practices.example.nhs.uk>",
        "d81004@practices.example.nhs.uk",
    )
    [kept] = records.mail_in_for()
    assert kept["received_at"] == "2026-05-12T09:30:00+00:00" and kept["subject"] == "Signed Section 7"


def test_an_outlook_message_inside_a_message_is_opened(records, signed, tmp_path):
    require_extract_msg()
    inner = outlook_message([("signed.pdf", signed["D81003"])])
    path = write(
        tmp_path, "forwarded.eml", email_message([("original.msg", inner, "application/vnd.ms-outlook")])
    )
    [outcome] = ingest([path], records).files
    assert (outcome.path, outcome.status) == (f"{path} › original.msg › signed.pdf", "accepted")


def test_an_old_word_file_named_msg_is_not_taken_for_mail(records, tmp_path):
    require_extract_msg()
    [outcome] = ingest([write(tmp_path, "letter.msg", ole_document())], records).files
    assert outcome.status == "rejected"
    assert outcome.reasons == (
        "named .msg, but not a mail message: an OLE file without an Outlook message's properties "
        "(an old Word or Excel file?)",
    )


# --- bad mail: a clear outcome each, and nothing lost ----------------------------------------------------


def test_a_message_cut_short_flags_or_rejects_what_it_carried(records, signed, tmp_path):
    data = email_message([("first.pdf", signed["D81001"], PDF), ("second.pdf", signed["D81002"], PDF)])
    cut = data[: len(data) - len(signed["D81002"]) // 2]  # in the middle of the second attachment
    report = ingest([write(tmp_path, "cut.eml", cut)], records)
    damaged = (
        "the message is damaged (it ends before its last part does (cut short?)): check the attachment is"
    )
    damaged += " whole"
    assert [f.status for f in report.files] == ["flagged", "rejected"]
    assert report.files[0].reasons == (damaged,)  # whole, but a person must look
    assert damaged in report.files[1].reasons and len(report.files[1].reasons) >= 2


def test_a_multipart_message_without_its_boundary_is_rejected_saying_so(records, signed, tmp_path):
    data = email_message([("signed.pdf", signed["D81001"], PDF)])
    broken = data.replace(b'boundary="', b'boundery="', 1)
    [outcome] = ingest([write(tmp_path, "broken.eml", broken)], records).files
    assert outcome.status == "rejected"
    assert outcome.reasons == (
        "a mail message with no attachment: nothing to judge "
        "(the message is damaged: a multipart without a boundary)",
    )
    assert "a damaged multipart body" in records.mail_in_for()[0]["outcome"]


def test_a_line_in_the_headers_that_is_not_a_header_ends_them_and_is_named(records, signed, tmp_path):
    data = email_message([("signed.pdf", signed["D81001"], PDF)])
    headers, body = data.split(b"\n\n", 1)
    after_content_type = headers + b"\n\x01\xff garbage\n\n" + body
    before_it = data.replace(b"\nMessage-ID:", b"\n\x01\xff garbage\nMessage-ID:", 1)
    report = ingest(
        [write(tmp_path, "a.eml", after_content_type), write(tmp_path, "b.eml", before_it)], records
    )
    flagged = "the message is damaged (a line in its headers is not a header: read up to it): check the "
    rejected = "a mail message with no attachment: nothing to judge (the message is damaged: a line in its "
    assert [(f.status, f.reasons) for f in report.files] == [
        ("flagged", (flagged + "attachment is whole",)),  # its parts were still found
        ("rejected", (rejected + "headers is not a header: read up to it)",)),
    ]


def test_files_named_as_mail_that_are_not_are_rejected_saying_what_they_are(records, tmp_path):
    report = ingest(
        [write(tmp_path, "noise.eml", b"\x00\x01garbage" * 50), write(tmp_path, "empty.mbox", b"")], records
    )
    assert [(f.status, f.reasons) for f in report.files] == [
        (
            "rejected",
            (
                "named .eml, but not a mail message: "
                "it does not start with mail header lines (From:, Date:, Subject: …)",
            ),
        ),
        ("rejected", ("empty file",)),
    ]


def test_a_damaged_outlook_message_is_rejected_with_the_reason(records, signed, tmp_path):
    require_extract_msg()
    data = outlook_message([("signed.pdf", signed["D81001"])])
    report = ingest([write(tmp_path, "cut.msg", data[:4096])], records)
    [outcome] = report.files
    assert outcome.status == "rejected" and outcome.reasons[0].startswith(
        "not a readable Outlook message (.msg): "
    )
    assert len(records.mail_in_for()) == 1


def test_a_50_mb_attachment_is_rejected_and_the_others_are_still_judged(records, signed, tmp_path):
    huge = b"%PDF-1.7\n" + bytes(50 * 1024 * 1024)
    data = email_message([("signed.pdf", signed["D81001"], PDF), ("scan.pdf", huge, PDF)])
    assert len(data) > MAX_RETURN_BYTES  # the message itself is over the limit for a return, not for mail
    report = ingest([write(tmp_path, "big.eml", data)], records)
    assert [(f.path.rsplit(" › ", 1)[1], f.status) for f in report.files] == [
        ("signed.pdf", "accepted"),
        ("scan.pdf", "rejected"),
    ]
    assert report.files[1].reasons == (
        f"attachment is {len(huge):,} bytes, over the {MAX_RETURN_BYTES:,}-byte limit for a return",
    )
    assert "2 attachment(s): 1 accepted, 1 rejected" in records.mail_in_for()[0]["outcome"]


def nested(data: bytes, times: int) -> bytes:
    """``data`` forwarded ``times`` times, each forward a message/rfc822 attachment of the next."""
    for n in range(times):
        outer = EmailMessage()
        outer["From"], outer["Subject"], outer["Message-ID"] = PRACTICE, f"Fwd {n}", f"<fwd-{n}@x>"
        outer.set_content("forwarded")
        outer.add_attachment(message_from_bytes(data, policy=policy.default))
        data = outer.as_bytes()
    return data


def test_a_return_forwarded_within_the_limit_is_judged(records, signed, tmp_path):
    data = nested(email_message([("signed.pdf", signed["D81001"], PDF)]), 2)
    [outcome] = ingest([write(tmp_path, "fwd.eml", data)], records).files
    assert outcome.status == "accepted"
    assert outcome.path.endswith(" › (attached message) › (attached message) › signed.pdf")
    assert outcome.message_id == "<fwd-1@x>"  # the message that came in, not the one forwarded


def test_messages_nested_past_the_limit_are_not_opened(records, signed, tmp_path):
    data = nested(email_message([("signed.pdf", signed["D81001"], PDF)]), 10)
    [outcome] = ingest([write(tmp_path, "deep.eml", data)], records).files
    assert outcome.status == "rejected"
    assert outcome.path.count("(attached message)") == mailin.MAX_DEPTH + 1
    assert outcome.reasons == ("a message attached 4 messages deep: not opened (the limit is 3)",)


def test_a_message_of_thousands_of_parts_is_refused_whole(records, tmp_path):
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(5000))
    data = (
        b"From: " + PRACTICE.encode() + b"\r\nSubject: bomb\r\nMessage-ID: <bomb@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + b"--b--\r\n"
    )
    [outcome] = ingest([write(tmp_path, "bomb.eml", data)], records).files
    assert outcome.status == "rejected"
    assert outcome.reasons == ("an attachment bomb? over 1,000 MIME parts in the message: not opened",)
    [kept] = records.mail_in_for()
    assert kept["message_id"] == "<bomb@x>" and kept["sender"] == PRACTICE


def test_attachments_past_the_limit_are_one_rejected_record(records, tmp_path):
    many = [(f"note {n}.txt", f"note {n}".encode(), "text/plain") for n in range(mailin.MAX_ATTACHMENTS + 20)]
    report = ingest([write(tmp_path, "many.eml", email_message(many))], records)
    assert len(report.files) == mailin.MAX_ATTACHMENTS + 1
    last = report.files[-1]
    assert last.path.endswith(" › (attachments 101–120)") and last.status == "rejected"
    assert last.reasons == ("20 more attachment(s) not opened: over the limit of 100 attachments a message",)


def test_attachments_past_the_total_decoded_are_not_read(records, signed, tmp_path, monkeypatch):
    monkeypatch.setattr(mailin, "MAX_DECODED_BYTES", len(signed["D81001"]) + 1000)
    data = email_message([("D81001.pdf", signed["D81001"], PDF), ("D81002.pdf", signed["D81002"], PDF)])
    report = ingest([write(tmp_path, "two.eml", data)], records)
    assert [f.status for f in report.files] == ["accepted", "rejected"]
    assert report.files[1].reasons == (
        f"not read: the message's attachments come to over {len(signed['D81001']) + 1000:,} bytes in all "
        "(an attachment bomb?)",
    )


def test_a_header_injection_attempt_stays_on_one_line_and_names_the_real_sender(records, signed, tmp_path):
    data = (
        b"From: =?utf-8?q?d81001@practices.example.nhs.uk=0D=0ABcc:_all@icb.example?="
        b" <attacker@evil.example>\r\n"
        b"To: contracts@icb.example\r\n"
        b"Subject: =?utf-8?q?Signed=0D=0AX-Approved:_yes?=\r\n"
        b"Message-ID: <inject@evil.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment;"
        b" filename*=utf-8''signed%0D%0Aaccepted%20D81002%E2%80%AEfdp.pdf\r\n\r\n"
    )
    data += base64.encodebytes(signed["D81001"]).replace(b"\n", b"\r\n") + b"--b--\r\n"
    contacts = {"D81001": {PRACTICE}}
    [outcome] = ingest([write(tmp_path, "inject.eml", data)], records, contacts=contacts).files
    assert outcome.sender == "attacker@evil.example"  # the address, never the display name
    assert outcome.path.endswith(" › signed\\x0d\\x0aaccepted D81002\\u202efdp.pdf")
    assert outcome.status == "flagged"
    assert outcome.reasons == (
        "sent from attacker@evil.example, not an address on the contact list for D81001: "
        "check with D81001 that it sent this",
    )
    [kept] = records.mail_in_for()
    assert kept["subject"] == "Signed\\x0d\\x0aX-Approved: yes"
    assert not any(
        c in kept["subject"] + kept["source"] + row(records, outcome.return_id)["filename"] for c in "\r\n"
    )


# --- the sender check ------------------------------------------------------------------------------------


@pytest.fixture
def contacts_csv(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "ods_code,email,contact_name\n"
        f"D81001,{PRACTICE}; partners.d81001@practices.example.nhs.uk,Practice Manager\n"
        "D81002,d81002@practices.example.nhs.uk,Practice Manager\n",
        encoding="utf-8",
    )
    return path


def test_the_contact_list_is_read_by_practice(contacts_csv):
    assert contact_addresses(contacts_csv) == {
        "D81001": {PRACTICE, "partners.d81001@practices.example.nhs.uk"},
        "D81002": {"d81002@practices.example.nhs.uk"},
    }


def test_a_contact_list_that_cannot_be_used_names_the_file_row_and_column(tmp_path):
    bad = tmp_path / "contacts.csv"
    bad.write_text("ods_code,email\nD81001,not an address\n", encoding="utf-8")
    with pytest.raises(PracticeDataError) as raised:
        contact_addresses(bad)
    assert str(raised.value) == (
        f"{bad}, row 2, column 'email': 'not an address' is not an email address: "
        "An email address must have an @-sign."
    )
    bad.write_text("practice name,email\nX,a@b\n", encoding="utf-8")
    with pytest.raises(PracticeDataError, match="no code column"):
        contact_addresses(bad)


def test_a_return_from_an_address_not_on_the_practices_list_is_flagged_for_review(
    records, signed, tmp_path, contacts_csv
):
    contacts = contact_addresses(contacts_csv)
    listed = email_message(
        [("a.pdf", signed["D81001"], PDF)], sender="PM <D81001@Practices.Example.NHS.uk>", message_id="<a@x>"
    )
    stranger = email_message(
        [("b.pdf", signed["D81002"], PDF)], sender="someone@gmail.example", message_id="<b@x>"
    )
    unlisted = email_message(
        [("c.pdf", signed["D81003"], PDF)], sender="d81003@practices.example.nhs.uk", message_id="<c@x>"
    )
    paths = [write(tmp_path, n, d) for n, d in (("a.eml", listed), ("b.eml", stranger), ("c.eml", unlisted))]
    report = ingest(paths, records, contacts=contacts)
    assert [(f.status, f.reasons) for f in report.files] == [
        ("accepted", ()),  # addresses compared without regard to letter case
        ("flagged", ("sent from someone@gmail.example, not an address on the contact list for D81002: "
                     "check with D81002 that it sent this",)),
        ("flagged", ("sent from d81003@practices.example.nhs.uk; the contact list has no address for D81003: "
                     "check with D81003 that it sent this",)),
    ]  # fmt: skip
    assert ID.format("D81002") not in records.signups_for("cpccg-qef-2017-18")  # a person decides


def test_without_a_contact_list_the_sender_is_recorded_but_not_checked(records, signed, tmp_path):
    data = email_message([("b.pdf", signed["D81002"], PDF)], sender="someone@gmail.example")
    [outcome] = ingest([write(tmp_path, "b.eml", data)], records).files
    assert (outcome.status, outcome.sender) == ("accepted", "someone@gmail.example")


# --- the command line ---------------------------------------------------------------------------------------


def test_ingest_shows_each_attachment_with_its_sender_and_json_carries_message_id_and_sender(
    packs, signed, tmp_path, contacts_csv
):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    Records.open(db).register_issued(packs[1])
    path = write(
        tmp_path,
        "reply.eml",
        email_message([("signed.pdf", signed["D81002"], PDF)], sender="someone@gmail.example"),
    )
    runner = CliRunner()
    result = runner.invoke(
        app, ["ingest", str(path), "--db", db, "--contacts", str(contacts_csv)], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 1, result.output
    assert f"  flagged {path} › signed.pdf from someone@gmail.example" in result.output
    assert "1 mail message(s)" in result.output
    result = runner.invoke(app, ["ingest", str(path), "--db", db, "--json"])
    [line] = [json.loads(x) for x in result.stdout.splitlines()]
    assert (line["message_id"], line["sender"], line["new"]) == (
        "<reply-1@practices.example.nhs.uk>",
        "someone@gmail.example",
        False,
    )
    exported = runner.invoke(
        app, ["export", "--db", db, "--table", "mail_in", "--to", str(tmp_path / "mail.csv")]
    )
    assert exported.exit_code == 0 and "wrote 1 mail_in row(s)" in exported.output
    header, kept = (tmp_path / "mail.csv").read_text(encoding="utf-8-sig").splitlines()
    assert header.startswith("id,message_id,sender,received_at,source,subject,attachments,outcome")
    assert "<reply-1@practices.example.nhs.uk>,someone@gmail.example," in kept
    missing = runner.invoke(app, ["ingest", str(path), "--db", db, "--contacts", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "nope.csv: file not found" in missing.output


def test_an_mbox_in_which_no_message_can_be_found_is_rejected_saying_so(records, tmp_path):
    [outcome] = ingest([write(tmp_path, "odd.mbox", b"From x\ry\nSubject: hi\n\nbody\n")], records).files
    assert (outcome.status, outcome.reasons) == ("rejected", ("an mbox with no message in it",))


# --- the same on PostgreSQL, and with worker processes ------------------------------------------------------


def test_mail_is_recorded_alike_on_sqlite_and_postgresql_and_with_workers(db_url, packs, signed, tmp_path):
    store = Records.open(db_url)
    store.register_issued(packs[1])
    messages = [
        email_message(
            [("signed.pdf", signed[code], PDF)], message_id=f"<{code}@x>", sender=f"{code}@x.example"
        )
        for code in ("D81001", "D81002", "D81003")
    ]
    path = write(tmp_path, "box.mbox", mbox([*messages, email_message([], message_id="<none@x>")], tmp_path))
    report = ingest([path], store, jobs=2)
    assert [(f.status, f.message_id, f.sender) for f in report.files] == [
        ("accepted", "<D81001@x>", "D81001@x.example"),
        ("accepted", "<D81002@x>", "D81002@x.example"),
        ("accepted", "<D81003@x>", "D81003@x.example"),
        ("rejected", "<none@x>", "d81001@practices.example.nhs.uk"),
    ]
    assert [(r["message_id"], r["sender"]) for r in store.returns_for()] == [
        (f.message_id, f.sender) for f in report.files
    ]
    again = ingest([path], store, jobs=2)
    assert [f.new for f in again.files] == [False] * 4 and [m.new for m in again.messages] == [False] * 4
    assert [k["message_id"] for k in store.mail_in_for()] == [
        "<D81001@x>",
        "<D81002@x>",
        "<D81003@x>",
        "<none@x>",
    ]
