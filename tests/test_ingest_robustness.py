"""Nothing lost: every regular file an ingest is given gets exactly one record, whatever it is.

Each cause named in issue 12, and each crash the fuzz tests found, is a named case here: a file
name that is not UTF-8, a form field whose name is bytes or a number, an encryption or a zip
version the readers do not implement, a stream filter nobody knows, a FIFO or a link to a device
in the returns folder, a 3,000-character document id, a NUL byte in an entry (the last two on
SQLite and on a real PostgreSQL server). The command itself runs as a user runs it, in a child
process: exit code 0 / 1 / 2, and nothing on the terminal but agreementgen's own lines.
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ByteStringObject, NameObject, NumberObject

from agreementgen import ingest as ingest_module
from agreementgen import records as records_module
from agreementgen.ingest import FileOutcome, IngestReport, filename_bytes, filename_text, ingest, read_file
from agreementgen.records import DOC_ID_CHARS, FIELD_CHARS, Records, storable_text
from agreementgen.returns import QUIET_LOGGERS, read_return
from agreementgen.simulate import fill_pdf
from mutants import ENTRIES, Corpus, build_corpus

DOC_ID = "cpccg-qef-2017-18:v1:D81001:section7"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("issued"))


@pytest.fixture
def records(tmp_path: Path, corpus: Corpus) -> Records:
    store = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    store.register_issued(corpus.issued)
    return store


def good_pdf(corpus: Corpus, **entries: str) -> bytes:
    return fill_pdf(corpus.blank_pdf, {**ENTRIES, **entries})


def ingest_folder(records: Records, folder: Path, files: dict[str | bytes, bytes]) -> IngestReport:
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name)))).write_bytes(data)
    return ingest([folder], records)


def only(report: IngestReport) -> FileOutcome:
    assert len(report.files) == 1, report
    return report.files[0]


def row_of(records: Records, outcome: FileOutcome) -> dict:
    return next(r for r in records.returns_for() if r["id"] == outcome.return_id)


def with_field_renamed(pdf: bytes, tag: str, name: object) -> bytes:
    """The PDF with one form field's name (``/T``) replaced by ``name``, any PDF object."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        for annotation in page.get("/Annots") or []:
            widget = annotation.get_object()
            if widget.get("/T") == tag:
                widget[NameObject("/T")] = name
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def encrypted_with(pdf: bytes, old: bytes, new: bytes) -> bytes:
    """An owner-password-only PDF (anyone may open it) whose encryption dictionary says ``new``."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert len(old) == len(new) and old in buffer.getvalue()  # same length: the xref offsets hold
    return buffer.getvalue().replace(old, new, 1)


def zip_entry_patched(docx: bytes, offset: int, value: int, member: bytes = b"_rels/.rels") -> bytes:
    """The DOCX with a 16-bit field of ``member``'s central-directory entry set to ``value``."""
    at = docx.index(b"PK\x01\x02")
    while docx[at + 46 : at + 46 + struct.unpack_from("<H", docx, at + 28)[0]] != member:
        at = docx.index(b"PK\x01\x02", at + 4)
    return docx[: at + offset] + struct.pack("<H", value) + docx[at + offset + 2 :]


# --- the causes named in issue 12 ------------------------------------------------------------------


def test_a_return_whose_name_is_not_utf8_is_recorded_under_its_exact_name(records, corpus, tmp_path):
    name = b"return \x96 signed.pdf"  # a Windows-1252 dash, as an unzipped attachment has it
    outcome = only(ingest_folder(records, tmp_path / "in", {name: good_pdf(corpus)}))
    assert outcome.status == "accepted"
    stored = row_of(records, outcome)["filename"]
    assert stored == filename_text(tmp_path / "in") + "/return \\x96 signed.pdf" == outcome.path
    assert filename_bytes(stored) == os.fsencode(tmp_path / "in") + b"/" + name


def test_a_pdf_whose_field_name_is_bytes_is_read_and_judged(records, corpus, tmp_path):
    pdf = with_field_renamed(good_pdf(corpus), "lead_gp_referral_lead", ByteStringObject(b"lead_\x9f\xad"))
    outcome = only(ingest_folder(records, tmp_path / "in", {"bytes-name.pdf": pdf}))
    assert (outcome.status, outcome.doc_id) == ("flagged", DOC_ID)
    assert outcome.reasons == ("required entries missing: lead_gp_referral_lead",)
    assert row_of(records, outcome)["fields"]["lead_\x9f\xad"] == "Dr B Okafor"  # each byte a character


def test_a_pdf_whose_field_name_is_a_number_is_read_and_judged(records, corpus, tmp_path):
    """Found by fuzzing: a flipped bit made a field's name the number 8 (AttributeError)."""
    pdf = with_field_renamed(good_pdf(corpus), "lead_gp_referral_lead", NumberObject(8))
    outcome = only(ingest_folder(records, tmp_path / "in", {"number-name.pdf": pdf}))
    assert outcome.status == "flagged"
    assert row_of(records, outcome)["fields"]["8"] == "Dr B Okafor"


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (b"/V 4", b"/V 9", "Encryption V=9 NOT supported"),
        (b"/Filter /Standard", b"/Filter /Unknown0", "only Standard PDF encryption handler is available"),
        (b"/CFM /AESV2", b"/CFM /AESV9", "StmF Method /AESV9 NOT supported!"),
    ],
    ids=["version 9", "another handler", "an unknown cipher"],
)
def test_a_pdf_encrypted_in_a_way_pypdf_does_not_implement_is_rejected_as_encrypted(
    records, corpus, tmp_path, old, new, why
):
    outcome = only(
        ingest_folder(records, tmp_path / "in", {"locked.pdf": encrypted_with(good_pdf(corpus), old, new)})
    )
    assert outcome.status == "rejected"
    assert outcome.reasons == (f"encrypted PDF ({why}): ask the practice to send it without a password",)


@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        (6, 99, "not a readable DOCX: it uses a feature the reader does not support (zip file version 9.9)"),
        (10, 9, "not a readable DOCX: _rels/.rels cannot be unpacked (That compression method is not "
                "supported)"),
    ],
    ids=["zip version 9.9", "Deflate64"],
)  # fmt: skip
def test_a_docx_whose_zip_asks_for_what_python_lacks_is_rejected(
    records, corpus, tmp_path, offset, value, reason
):
    docx = corpus.returns["word.docx"]
    outcome = only(
        ingest_folder(records, tmp_path / "in", {"return.docx": zip_entry_patched(docx, offset, value)})
    )
    assert (outcome.status, outcome.reasons) == ("rejected", (reason,))


def _ingest_in_a_thread(paths: list[Path], records: Records) -> IngestReport:
    """Ingest, failing the test (not hanging it) if the run blocks on something it opened."""
    done: list[IngestReport] = []
    worker = threading.Thread(target=lambda: done.append(ingest(paths, records)), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "ingest blocked: it opened something that is not a regular file"
    return done[0]


def test_a_fifo_in_the_returns_folder_is_skipped_unopened_and_the_rest_recorded(records, corpus, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "a-pipe.pdf")
    (folder / "b.pdf").write_bytes(good_pdf(corpus))
    report = _ingest_in_a_thread([folder, folder / "a-pipe.pdf"], records)
    assert [(Path(f.path).name, f.status) for f in report.files] == [("b.pdf", "accepted")]
    fifo = filename_text(folder / "a-pipe.pdf")
    reason = "a FIFO (named pipe), not a regular file: never opened"
    assert [(s.path, s.reason) for s in report.skipped] == [(fifo, reason), (fifo, reason)]
    assert not report.all_accepted
    assert len(records.returns_for()) == 1


def test_a_link_to_a_device_is_skipped_unread(records, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "zero.pdf").symlink_to("/dev/zero")
    (folder / "nowhere.pdf").symlink_to(tmp_path / "gone.pdf")
    report = _ingest_in_a_thread([folder], records)
    assert report.files == []
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("nowhere.pdf", "a link to something that does not exist"),
        ("zero.pdf", "a link to a character device, not a regular file: never opened"),
    ]
    assert records.returns_for() == []


def test_a_3000_character_document_id_is_recorded_rejected(db_url, corpus, tmp_path):
    """On SQLite and on PostgreSQL, which refuses a value longer than its column."""
    records = Records.open(db_url)
    records.register_issued(corpus.issued)
    long_id = f"cpccg-qef-2017-18:v1:{'D' * 2970}:section7"
    outcome = only(ingest_folder(records, tmp_path / "in", {"long-id.pdf": good_pdf(corpus, doc_id=long_id)}))
    assert outcome.status == "rejected"
    assert outcome.reasons == (
        f"'{long_id[:119]}…' is not an agreementgen document id (3,000 characters; ours are printable text "
        "of at most 200)",
    )
    stored = row_of(records, outcome)["doc_id"]
    assert len(stored) == DOC_ID_CHARS and stored == long_id[:185] + "…[+2,815 chars]"


def test_a_nul_byte_in_an_entry_is_stored_escaped(db_url, corpus, tmp_path):
    """On SQLite and on PostgreSQL, which refuses NUL in text."""
    records = Records.open(db_url)
    records.register_issued(corpus.issued)
    pdf = good_pdf(corpus, lead_gp_prescribing_lead="Dr C\x00Nowak")
    outcome = only(ingest_folder(records, tmp_path / "in", {"nul.pdf": pdf}))
    assert outcome.status == "accepted"
    assert row_of(records, outcome)["fields"]["lead_gp_prescribing_lead"] == "Dr C\\x00Nowak"


def test_a_nul_byte_in_a_document_id_is_rejected_not_looked_up(db_url, corpus, tmp_path):
    records = Records.open(db_url)
    records.register_issued(corpus.issued)
    outcome = only(
        ingest_folder(records, tmp_path / "in", {"nul-id.pdf": good_pdf(corpus, doc_id=DOC_ID + "\x00")})
    )
    assert outcome.status == "rejected"
    assert outcome.reasons[0].startswith(f"'{DOC_ID}\\u0000' is not an agreementgen document id")
    assert row_of(records, outcome)["doc_id"] == DOC_ID + "\\x00"


# --- crashes found by fuzzing ----------------------------------------------------------------------


def _text_only_pdf() -> bytes:
    """A PDF with no form (a printed-and-scanned look), whose page content is compressed."""
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pageCompression=1)
    canvas.drawString(72, 720, "Section 7 agreement, returned without its form")
    canvas.save()
    return buffer.getvalue()


def test_a_page_stream_with_an_unknown_filter_is_rejected(records, tmp_path):
    """Found by fuzzing: one flipped bit in '/FlateDecode' (NotImplementedError from text extraction)."""
    pdf = _text_only_pdf().replace(b"/FlateDecode", b"/FlateDeco$e", 1)
    outcome = only(ingest_folder(records, tmp_path / "in", {"scan.pdf": pdf}))
    assert outcome.status == "rejected"
    assert outcome.reasons == (
        "not a readable PDF: it uses a feature the reader does not support (Unsupported filter /FlateDeco$e)",
    )


@pytest.mark.parametrize(
    "count", ["²", "١٢", "9" * 5000], ids=["superscript two", "Arabic-Indic digits", "5,000 digits"]
)
def test_a_claimed_count_that_is_not_a_plain_number_is_flagged_not_a_crash(count):
    """Found in review: str.isdigit() takes '²' (int() then raises) and a 5,000-digit count (int()
    refuses over 4,300 digits; the activity report would later sum it)."""
    from agreementgen.ingest import _count_problems

    problems = _count_problems(
        {"count_ring_pessary": count},
        {"term_service_ring_pessary_cap": "1,500"},
        ["count_ring_pessary"],
    )
    shown = count if len(count) <= 120 else count[:119] + "…"
    assert problems == [f"count_ring_pessary '{shown}' is not a whole number of units (0 or more)"]


# --- nothing lost, whatever fails ----------------------------------------------------------------


def test_a_failure_while_judging_one_file_is_recorded_and_the_run_goes_on(
    records, corpus, tmp_path, monkeypatch
):
    real_judge = ingest_module.judge

    def judge_failing_on_a_date(read, *args, **kwargs):
        if read.fields.get("practice_signature_date") == "1 January 2099":
            raise RuntimeError("a bug met on this file")
        return real_judge(read, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "judge", judge_failing_on_a_date)
    files = {"a.pdf": good_pdf(corpus, practice_signature_date="1 January 2099"), "b.pdf": good_pdf(corpus)}
    report = ingest_folder(records, tmp_path / "in", files)
    assert [(Path(f.path).name, f.status) for f in report.files] == [
        ("a.pdf", "rejected"),
        ("b.pdf", "accepted"),
    ]
    assert report.files[0].reasons == (
        "could not be judged: RuntimeError: a bug met on this file "
        "(an agreementgen bug: keep the file, report it)",
    )
    assert len(records.returns_for()) == 2


def test_a_return_the_database_refuses_is_recorded_without_what_was_read(
    postgres_server, corpus, tmp_path, monkeypatch
):
    """PostgreSQL refuses a NUL (here in the signer's name); with the value checks switched off, the file
    is still recorded, and the next one too."""
    records = Records.open(postgres_server.url())
    records.register_issued(corpus.issued)
    monkeypatch.setattr(records_module, "storable_return", lambda record: record)
    files = {"a.pdf": good_pdf(corpus, practice_signatory_name="Dr A\x00Patel"), "b.pdf": good_pdf(corpus)}
    report = ingest_folder(records, tmp_path / "in", files)
    assert [f.status for f in report.files] == ["rejected", "accepted"]
    assert report.files[0].reasons == (
        "the records database refused what was read from the file (DataError); "
        "recorded without it: check the file by hand",
    )
    assert row_of(records, report.files[0])["fields"] == {}


def test_a_database_that_goes_away_stops_the_run_without_recording_the_file_as_refused(
    records, corpus, tmp_path, monkeypatch
):
    """A lock or a lost server is not the file's fault: nothing is recorded against it, and a re-run
    (with the database back) records it as it is."""
    from sqlalchemy.exc import OperationalError

    from agreementgen.errors import RecordsError

    real_record = Records.record_returns

    def database_gone(self, batch):
        locked = sqlite3.OperationalError("database is locked")
        raise RecordsError("records database error: …") from OperationalError("INSERT …", {}, locked)

    monkeypatch.setattr(Records, "record_returns", database_gone)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.pdf").write_bytes(good_pdf(corpus))
    with pytest.raises(RecordsError, match=r"the records database is unavailable \(OperationalError\)"):
        ingest([tmp_path / "in"], records)
    assert records.returns_for() == []
    monkeypatch.setattr(Records, "record_returns", real_record)
    assert only(ingest([tmp_path / "in"], records)).status == "accepted"


def test_hidden_and_temporary_files_are_listed_as_ignored(records, corpus, tmp_path):
    files = {".DS_Store": b"x", "~$return.docx": b"x", "records.db": b"x", "a.pdf": good_pdf(corpus)}
    report = ingest_folder(records, tmp_path / "in", files)
    assert [Path(f.path).name for f in report.files] == ["a.pdf"]
    assert sorted((Path(s.path).name, s.reason) for s in report.ignored) == [
        (".DS_Store", "a hidden file"),
        ("records.db", "a temporary or agreementgen file (.tmp, .db, .json), not a return"),
        ("~$return.docx", "a Word lock file (~$…), not a return"),
    ]
    assert report.all_accepted  # ignoring them is not a problem with the run


def test_a_file_is_read_no_further_than_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "MAX_RETURN_BYTES", 1000)
    (tmp_path / "big.pdf").write_bytes(b"%PDF-1.4 " + b"x" * 5000)
    contents = read_file(tmp_path / "big.pdf")
    assert not isinstance(contents, ingest_module.Skipped)
    assert (contents.data, contents.size) == (b"", 5009)
    assert contents.problem == "file is 5,009 bytes, over the 1,000-byte limit for a return"


# --- names and values, kept exactly or stored safely -------------------------------------------------


@given(st.binary(min_size=1, max_size=64))
@settings(max_examples=400, derandomize=True)
def test_every_file_name_is_kept_reversibly(name: bytes):
    text = filename_text(name)
    assert filename_bytes(text) == name
    assert text.encode("utf-8")  # storable and printable: no surrogates left


@given(st.text(alphabet=st.characters(blacklist_characters="\\", blacklist_categories=("Cs",))))
@settings(max_examples=200, derandomize=True)
def test_a_name_in_utf8_without_backslashes_is_kept_as_it_is(name: str):
    assert filename_text(name) == name


@given(st.text(), st.integers(min_value=20, max_value=300))
@settings(max_examples=300, derandomize=True)
def test_stored_text_fits_its_column_and_has_no_nul(text: str, limit: int):
    stored = storable_text(text, limit)
    assert len(stored) <= limit and "\x00" not in stored
    stored.encode("utf-8")  # no lone surrogate left: a driver can send it
    if "\x00" not in text and len(text) <= limit:
        assert stored == text


def test_a_long_entry_is_cut_with_a_marker():
    assert storable_text("x" * (FIELD_CHARS + 5), FIELD_CHARS) == "x" * 9984 + "…[+21 chars]"
    assert storable_text("a\x00b\udc96") == "a\\x00b\\udc96"


# --- the command, as a user runs it --------------------------------------------------------------


def run_ingest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agreementgen.cli", "ingest", *args],
        capture_output=True, text=True, errors="backslashreplace", timeout=300, cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def _issued_db(tmp_path: Path, corpus: Corpus) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    Records.open(url).register_issued(corpus.issued)
    return url


def test_ingest_exits_0_when_every_file_is_accepted(corpus, tmp_path):
    db = _issued_db(tmp_path, corpus)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.pdf").write_bytes(good_pdf(corpus))
    done = run_ingest("in", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 file(s) in" in done.stdout and "1 accepted, 0 flagged, 0 rejected" in done.stdout
    assert done.stderr == ""


# What agreementgen itself writes to stderr for a run's bad files; anything else is a leak.
OUR_STDERR_LINE = re.compile(r"^(?:(?:rejected|flagged) .+:|    .+|skipped .+: .+)$")


def test_ingest_of_every_kind_of_bad_file_exits_1_with_no_traceback_or_library_log(corpus, tmp_path):
    db = _issued_db(tmp_path, corpus)
    folder = tmp_path / "in"
    broken = corpus.returns["pypdf.pdf"]
    files: dict[str | bytes, bytes] = {
        b"return \x96 signed.pdf": good_pdf(corpus),
        "bytes-name.pdf": with_field_renamed(
            good_pdf(corpus), "lead_gp_referral_lead", ByteStringObject(b"\x9f")
        ),
        "locked.pdf": encrypted_with(good_pdf(corpus), b"/V 4", b"/V 9"),
        "zip-version.docx": zip_entry_patched(corpus.returns["word.docx"], 6, 99),
        "long-id.pdf": good_pdf(corpus, doc_id="x:v1:" + "D" * 3000 + ":section7"),
        "nul.pdf": good_pdf(corpus, practice_signatory_name="Dr A\x00Patel"),
        "signed.pdf": corpus.returns["signed.pdf"],  # a self-signed certificate: pyHanko logs tracebacks
        "damaged.pdf": broken[:40_000] + b"garbage" + broken[40_007:],  # pypdf logs its repairs
        "filter.pdf": _text_only_pdf().replace(b"/FlateDecode", b"/FlateDeco$e", 1),
    }
    folder.mkdir()
    for name, data in files.items():
        (Path(os.fsdecode(os.fsencode(folder) + b"/" + os.fsencode(name)))).write_bytes(data)
    os.mkfifo(folder / "pipe.pdf")
    (folder / "zero.pdf").symlink_to("/dev/zero")

    done = run_ingest("in", "--db", db, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    leaks = [line for line in done.stderr.splitlines() if not OUR_STDERR_LINE.match(line)]
    assert leaks == []
    assert f"{len(files)} file(s) in" in done.stdout and ", 2 skipped (not regular files)" in done.stdout
    assert "skipped in/pipe.pdf: a FIFO (named pipe), not a regular file: never opened" in done.stderr
    recorded = Records.open(db).returns_for()
    assert sorted(r["filename"] for r in recorded) == sorted(f"in/{filename_text(n)}" for n in files)

    again = run_ingest("in", "--db", db, "--json", cwd=tmp_path)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert (
        again.stdout.count('"new": false') == len(files) + 2
    )  # every file already on record, and the two skipped


def test_ingest_exits_2_for_a_missing_path_or_an_unusable_database(corpus, tmp_path):
    db = _issued_db(tmp_path, corpus)
    missing = run_ingest("nope", "--db", db, cwd=tmp_path)
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr.splitlines() == ["error: nothing ingested", "  nope: no such file or folder"]
    bad_db = run_ingest(".", "--db", "nosuchdriver://x", cwd=tmp_path)
    assert bad_db.returncode == 2 and bad_db.stdout == ""
    assert bad_db.stderr.startswith("error: nosuchdriver://x: cannot open the records database")
    assert "Traceback" not in bad_db.stderr


def test_library_loggers_never_reach_the_terminal(corpus, capfd):
    broken = corpus.returns["pypdf.pdf"]
    read_return(broken[:40_000] + b"garbage" + broken[40_007:])
    read_return(corpus.returns["signed.pdf"])
    assert capfd.readouterr().err == ""
    import logging

    assert all(logging.getLogger(name).propagate is False for name in QUIET_LOGGERS)
