"""Mail for the tests, made by writers other than the reader under test.

* ``email_message``: an Internet message (RFC 5322, MIME) written by the standard library's
  ``email`` package (its generator, not our parser);
* ``mbox``: messages written into an mbox by the standard library's ``mailbox`` module (``From ``
  lines, ``>From`` quoting);
* ``outlook_message``: an Outlook ``.msg`` — an OLE compound file (written by extract-msg's
  ``OleWriter``) holding the property streams of [MS-OXMSG]: message class, subject, sender,
  Internet Message-ID, the transport headers, the body, and per attachment its file name, MIME type,
  attach method and bytes. No public-domain ``.msg`` from Outlook ships with extract-msg to test
  against; this one is written to Microsoft's published format, and read back by extract-msg.
* ``issue_packs`` / ``signed_returns``: QEF Section 7s issued by the real bulk run and signed with
  pdftk, as practices return them.
"""

from __future__ import annotations

import importlib.util
import io
import mailbox
import struct
from collections.abc import Sequence
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.records import IssuedDocument, Records
from agreementgen.simulate import practice_entries
from agreementgen.validation import load_inputs
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT, in_ci, pdftk_fill

CODES = ("D81001", "D81002", "D81003", "D81004")
ENTRIES = practice_entries(0, date.today())
ID = "cpccg-qef-2017-18:v1:{}:section7"
SENT = datetime(2026, 5, 12, 9, 30, tzinfo=UTC)


def issue_packs(base: Path) -> tuple[Path, list[IssuedDocument]]:
    """QEF Section 7s for ``CODES``, issued by the bulk run: the packs folder and the register's documents."""
    inputs = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
    by_code = inputs.data.by_code()
    options = RunOptions(out_dir=base / "packs", templates_dir=ROOT / "templates", jobs=1,
                         db_url=f"sqlite:///{base / 'issued.db'}", resume=False)  # fmt: skip
    report = bulk.run(inputs.scheme, [by_code[c] for c in CODES], options)
    assert not report.failures
    return base / "packs", Records.open(options.db_url).issued_documents()


def signed_returns(packs: Path, work: Path) -> dict[str, bytes]:
    """Each practice's Section 7, filled and signed (typed) with pdftk."""
    signed = {}
    for code in CODES:
        target = pdftk_fill(packs / code / "section7.pdf", ENTRIES, work / f"{code}-signed.pdf")
        signed[code] = target.read_bytes()
    return signed


def email_message(
    attachments: Sequence[tuple[str | None, bytes, str]] = (),
    *,
    sender: str = "Practice Manager <d81001@practices.example.nhs.uk>",
    subject: str = "Signed Section 7",
    message_id: str | None = "<reply-1@practices.example.nhs.uk>",
    sent: datetime | None = SENT,
    text: str = "Please find our signed agreement attached.\n",
) -> bytes:
    """A message with ``attachments`` (file name or None, bytes, MIME type), as a mail program sends it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "contracts@icb.example"
    message["Subject"] = subject
    if sent is not None:
        message["Date"] = format_datetime(sent)
    if message_id is not None:
        message["Message-ID"] = message_id
    message.set_content(text)
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def mbox(messages: list[bytes], tmp: Path) -> bytes:
    """The messages written to an mbox by the standard library, as a mail program exports a folder."""
    path = tmp / f"export-{len(list(tmp.glob('export-*')))}.mbox"
    box = mailbox.mbox(path)
    for data in messages:
        box.add(mailbox.mboxMessage(data))
    box.flush()
    box.close()
    return path.read_bytes()


def require_extract_msg() -> None:
    """extract-msg (the outlook extra) is needed: skip saying so, but fail in CI, which installs it."""
    if importlib.util.find_spec("extract_msg") is None:
        if in_ci():
            pytest.fail("extract-msg is not installed; CI installs the outlook extra")
        pytest.skip("extract-msg is not installed (pip install -e '.[outlook]')")


# --- Outlook .msg ([MS-OXMSG]) ------------------------------------------------------------------

PT_LONG, PT_UNICODE, PT_BINARY = 0x0003, 0x001F, 0x0102


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _properties(fixed: list[tuple[int, int]], header: bytes) -> bytes:
    """A ``__properties_version1.0`` stream: its header, then 16 bytes per fixed-size property."""
    entries = b"".join(struct.pack("<IIQ", tag, 0x6, value) for tag, value in fixed)  # readable, writable
    return header + entries


def outlook_message(
    attachments: list[tuple[str, bytes]],
    *,
    sender: str = "d81001@practices.example.nhs.uk",
    subject: str = "Signed Section 7",
    message_id: str = "<outlook-1@practices.example.nhs.uk>",
    headers: str | None = None,
) -> bytes:
    """An Outlook message with ``attachments`` (file name, bytes), as Outlook's "Save as" writes one."""
    from extract_msg.ole_writer import OleWriter

    writer = OleWriter()
    writer.addEntry("__nameid_version1.0", storage=True)
    for stream in ("__substg1.0_00020102", "__substg1.0_00030102", "__substg1.0_00040102"):
        writer.addEntry(f"__nameid_version1.0/{stream}", b"")
    strings = {
        0x001A: "IPM.Note",  # message class
        0x0037: subject,
        0x0C1A: "Practice Manager",  # sender name
        0x0C1F: sender,  # sender email address
        0x0C1E: "SMTP",
        0x5D01: sender,  # sender SMTP address
        0x1035: message_id,  # Internet Message-ID
        0x1000: "Please find our signed agreement attached.",
    }
    if headers is None:
        headers = (
            f"From: Practice Manager <{sender}>\r\nTo: contracts@icb.example\r\nSubject: {subject}\r\n"
            f"Date: {format_datetime(SENT)}\r\nMessage-ID: {message_id}\r\n\r\n"
        )
    strings[0x007D] = headers  # transport message headers
    for tag, value in strings.items():
        writer.addEntry(f"__substg1.0_{tag:04X}{PT_UNICODE:04X}", _utf16(value))
    count = len(attachments)
    top = bytes(8) + struct.pack("<IIII", 0, count, 0, count) + bytes(8)
    writer.addEntry("__properties_version1.0", _properties([(0x340D0000 | PT_LONG, 0x00040000)], top))
    for number, (name, data) in enumerate(attachments):
        storage = f"__attach_version1.0_#{number:08X}"
        writer.addEntry(storage, storage=True)
        writer.addEntry(f"{storage}/__substg1.0_3707{PT_UNICODE:04X}", _utf16(name))  # long file name
        writer.addEntry(f"{storage}/__substg1.0_3704{PT_UNICODE:04X}", _utf16(name[:12]))
        writer.addEntry(f"{storage}/__substg1.0_370E{PT_UNICODE:04X}", _utf16("application/pdf"))
        writer.addEntry(f"{storage}/__substg1.0_3701{PT_BINARY:04X}", data)
        fixed = [(0x37050000 | PT_LONG, 1), (0x0E200000 | PT_LONG, len(data))]  # attach by value; size
        writer.addEntry(f"{storage}/__properties_version1.0", _properties(fixed, bytes(8)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def ole_document() -> bytes:
    """An OLE compound file that is not a message: an old Word document's container."""
    from extract_msg.ole_writer import OleWriter

    writer = OleWriter()
    writer.addEntry("WordDocument", b"\xec\xa5" + bytes(4094))
    writer.addEntry("\x01CompObj", bytes(128))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
