"""Fuzzing mail: mutants of a real message carrying real returns, each given to ingest and recorded.

The message is what a practice sends back: a PDF return filled with pypdf and a Word return
(``mutants.build_corpus``), attached by the standard library's email writer, with a signature logo
inline. Each mutation damages it — bytes flipped, cut, spliced, inserted or deleted (as in
``mutants.py``), and the damage mail meets: a header dropped or doubled, a boundary broken, base64
damaged, line endings changed, a raw header of any bytes, a wrong encoding or content type, the
message forwarded inside itself. Whatever the mutant, ingest never raises; the file has at least
one outcome (itself, or each attachment), each on record with a status and (unless accepted) a
reason; every message is once in ``mail_in``; a return is only accepted if it still says exactly
what was filled in; no name, subject or sender on record has a line break; re-ingesting changes
nothing. Sized for CI: fixed seeds, a few seconds.
"""

from __future__ import annotations

import base64
import random
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreementgen.ingest import IngestReport, ingest
from agreementgen.records import Records
from agreementgen.simulate import JPEG
from messages import outlook_message, require_extract_msg
from mutants import ENTRIES, MUTATIONS, Corpus, build_corpus

MUTANTS_PER_MUTATION = 25
STATUSES = {"accepted", "flagged", "rejected"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("issued"))


def reply(corpus: Corpus, message_id: str = "<reply@practices.example.nhs.uk>") -> bytes:
    """The practice's reply: its returns attached, a logo inline, as a mail program writes it."""
    message = EmailMessage()
    message["From"] = "Practice Manager <d81001@practices.example.nhs.uk>"
    message["To"] = "contracts@icb.example"
    message["Subject"] = "Signed Section 7 – D81001"
    message["Date"] = "Tue, 12 May 2026 09:30:00 +0100"
    message["Message-ID"] = message_id
    message.set_content("Please find our signed agreement attached.")
    message.add_alternative("<p>Please find it attached.<img src='cid:logo'></p>", subtype="html")
    message.get_payload()[1].add_related(JPEG, "image", "jpeg", cid="<logo>")
    message.add_attachment(corpus.returns["pypdf.pdf"], maintype="application", subtype="pdf",
                           filename="Section 7 signed.pdf")  # fmt: skip
    message.add_attachment(corpus.returns["word.docx"], maintype="application",
                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                           filename="Section 7 signed.docx")  # fmt: skip
    return message.as_bytes()


# --- the damage mail meets ---------------------------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def drop_or_double_header(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    headers = [i for i, line in enumerate(_lines(data)) if re.match(rb"[A-Za-z-]+:", line)]
    lines = _lines(data)
    at = rng.choice(headers)
    if rng.random() < 0.5:
        del lines[at]
    else:
        lines.insert(rng.randrange(len(lines)), lines[at])
    return b"\n".join(lines)


def break_boundary(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    lines = _lines(data)
    delimiters = [i for i, line in enumerate(lines) if line.startswith(b"--")]
    at = rng.choice(delimiters)
    line = bytearray(lines[at])
    choice = rng.randrange(3)
    if choice == 0:
        del lines[at]
    elif choice == 1 and len(line) > 3:
        line[rng.randrange(2, len(line))] = rng.choice(b"-_=x\r")
        lines[at] = bytes(line)
    else:
        lines[at] = bytes(line) + b"--"  # a closing delimiter too soon
    return b"\n".join(lines)


def damage_base64(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    lines = _lines(data)
    body = [i for i, line in enumerate(lines) if re.fullmatch(rb"[A-Za-z0-9+/=]{40,}\r?", line)]
    for _ in range(rng.randint(1, 5)):
        at = rng.choice(body)
        if rng.random() < 0.3:
            lines[at] = b""
        else:
            line = bytearray(lines[at])
            line[rng.randrange(len(line))] = rng.choice(b"!@#$%^&*()=-. \t")
            lines[at] = bytes(line)
    return b"\n".join(lines)


def change_line_endings(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    at = rng.randrange(len(data))
    old, new = rng.choice(((b"\r\n", b"\n"), (b"\n", b"\r\n"), (b"\r\n", b"\r"), (b"\n", b"\n\n")))
    return data[:at] + data[at:].replace(old, new, rng.randint(1, 2000))


def raw_header(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    name = rng.choice((b"From", b"Subject", b"Message-ID", b"Content-Type", b"Content-Disposition", b"Date"))
    value = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
    lines = _lines(data)
    lines.insert(rng.randrange(min(len(lines), 40)), name + b": " + value)
    return b"\n".join(lines)


def wrong_encoding_or_type(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    if rng.random() < 0.5:
        new = rng.choice((b"quoted-printable", b"8bit", b"x-uuencode", b"binary", b"base65", b""))
        return re.sub(
            rb"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: " + new, data, count=1
        )
    new = rng.choice((b"multipart/mixed", b"message/rfc822", b"text/plain", b"application/pkcs7-signature",
                      b"multipart/alternative; boundary=\"\"", b"image/jpeg"))  # fmt: skip
    targets = list(re.finditer(rb"Content-Type: [^\r\n;]+", data))
    found = rng.choice(targets)
    return data[: found.start()] + b"Content-Type: " + new + data[found.end() :]


def forward_inside_itself(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    for n in range(rng.randint(1, 6)):
        outer = EmailMessage()
        outer["From"], outer["Subject"], outer["Message-ID"] = "pm@x.example", f"Fwd {n}", f"<fwd{n}@x>"
        outer.set_content("forwarded")
        outer.add_attachment(message_from_bytes(data, policy=policy.default))
        data = outer.as_bytes()
    return data


MAIL_MUTATIONS = {
    **{name: MUTATIONS[name] for name in ("flip bits", "truncate", "splice", "insert bytes", "delete bytes")},
    "drop or double a header": drop_or_double_header,
    "break a boundary": break_boundary,
    "damage base64": damage_base64,
    "change line endings": change_line_endings,
    "a raw header of any bytes": raw_header,
    "a wrong encoding or type": wrong_encoding_or_type,
    "forward inside itself": forward_inside_itself,
}


def assert_every_file_recorded(records: Records, report: IngestReport, files: list[Path]) -> None:
    rows = {r["id"]: r for r in records.returns_for()}
    names = [str(f) for f in files]
    for name in names:
        mine = [o for o in report.files if o.path == name or o.path.startswith(name + " › ")]
        assert mine, f"{name} has no outcome"
    assert len(report.files) == sum(
        1 for o in report.files for n in names if o.path == n or o.path.startswith(n + " › ")
    )
    for outcome in report.files:
        row = rows[outcome.return_id]
        assert row["status"] == outcome.status in STATUSES
        assert bool(row["reasons"]) == (outcome.status != "accepted"), row["reasons"]
        if outcome.status == "accepted":  # only a return that still says what was filled in
            assert {k: row["fields"].get(k) for k in ENTRIES} == dict(ENTRIES)
        for text in (outcome.path, outcome.sender, row["filename"], row["sender"]):
            assert "\r" not in text and "\n" not in text
    kept = records.mail_in_for()
    assert len(kept) == len({m.message_id for m in report.messages} | {k["message_id"] for k in kept})
    for message in kept:
        for key in ("sender", "subject", "source", "outcome"):
            assert "\r" not in message[key] and "\n" not in message[key], (key, message[key])


@pytest.mark.parametrize("mutation", sorted(MAIL_MUTATIONS))
def test_every_mutant_of_a_reply_is_recorded_and_reingesting_changes_nothing(mutation, corpus, tmp_path):
    original = reply(corpus)
    others = [reply(corpus, "<other@x>"), *corpus.returns.values()]
    folder = tmp_path / "in"
    folder.mkdir()
    files = []
    for i in range(MUTANTS_PER_MUTATION):
        rng = random.Random(f"{mutation}:{i}")
        data = MAIL_MUTATIONS[mutation](original, rng, others)
        path = folder / f"{i:03} reply.eml"
        path.write_bytes(data)
        files.append(path)
    records = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    records.register_issued(corpus.issued)

    report = ingest([folder], records)
    assert report.skipped == [] and report.ignored == []
    assert_every_file_recorded(records, report, files)

    again = ingest([folder], records)
    assert [(f.path, f.return_id, f.status, f.new) for f in again.files] == [
        (f.path, f.return_id, f.status, False) for f in report.files
    ]
    assert len(records.mail_in_for()) == len({m.message_id for m in report.messages})


header_text = st.binary(max_size=200).filter(lambda b: b"\n" not in b and b"\r" not in b)


@given(sender=header_text, subject=header_text, filename=header_text)
@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
def test_any_header_bytes_are_recorded_on_one_line(corpus, tmp_path_factory, sender, subject, filename):
    folder = tmp_path_factory.mktemp("header")
    data = (
        b"From: " + sender + b"\r\nSubject: " + subject + b"\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="' + filename + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(corpus.returns["pypdf.pdf"]).replace(b"\n", b"\r\n")
        + b"--b--\r\n"
    )
    (folder / "reply.eml").write_bytes(data)
    records = Records.open(f"sqlite:///{folder / 'records.db'}")
    records.register_issued(corpus.issued)
    report = ingest([folder], records)
    assert_every_file_recorded(records, report, [folder / "reply.eml"])
    assert len(report.files) == 1 and len(records.mail_in_for()) == 1


@pytest.mark.parametrize("mutation", ["flip bits", "truncate", "insert bytes", "delete bytes", "splice"])
def test_every_mutant_of_an_outlook_message_is_recorded(mutation, corpus, tmp_path):
    require_extract_msg()
    original = outlook_message([("signed.pdf", corpus.returns["pypdf.pdf"])])
    folder = tmp_path / "in"
    folder.mkdir()
    files = []
    for i in range(MUTANTS_PER_MUTATION):
        path = folder / f"{i:03} reply.msg"
        path.write_bytes(MUTATIONS[mutation](original, random.Random(f"msg {mutation}:{i}"), [original]))
        files.append(path)
    records = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    records.register_issued(corpus.issued)
    report = ingest([folder], records)
    assert report.skipped == []
    assert_every_file_recorded(records, report, files)
