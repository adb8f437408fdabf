"""Ingesting returned forms: judge each file against the issued register and record it.

Owns the rules that turn what a file says (:mod:`agreementgen.returns`) into a status:

* ``rejected`` — it cannot be a return we can use: unreadable, not a PDF/DOCX, no or an
  unknown document id, another scheme's form, a practice never issued one, a duplicate;
* ``flagged`` — it is a return for a known document but a person must look: issued terms
  changed (the fields that differ are named), required entries missing, a signing date
  that is not a real date / in the future / before the form was issued, a digital
  signature that is broken or does not cover the whole file, a flattened or scanned form;
* ``accepted`` — everything checks; it becomes the practice's current sign-up.

Then the scheme's rules for returns (:class:`~agreementgen.scheme.ReturnRules`, kept in the
records database by ``generate``: :meth:`~agreementgen.records.Records.scheme_rules`) decide
what a return gets that is **late** — signed (the typed date, or the digital signature's
time) or received (the ingest's day) after the scheme's sign-up deadline — or whose digital
signature's certificate is **untrusted** (given ``--trust-roots``) or **in another name** than
the typed signatory's (:func:`same_person`): accepted with the reason kept as a note, flagged,
or (a late one) rejected. Every return records its signature's check and whether it was late.

Nothing is lost. Every regular file given to a run, or found in a folder it is given, gets
exactly one row in the records database with every reason, whatever it contains and whatever
it is called (idempotent by sha256): a failure anywhere in reading, judging or recording one
file becomes a ``rejected`` row naming the failure, and the run goes on. Every read is bounded
(:data:`~agreementgen.returns.MAX_RETURN_BYTES`). What is not a regular file — a FIFO, a device,
a socket, a link to nothing — is never opened: it is listed in the report as *skipped*, with the
reason. Hidden and temporary files in folders (``.DS_Store``, Word's ``~$`` lock files, our own
``.db``/``.json``) are listed as *ignored*. Names are never trusted, and kept exactly
(:func:`filename_text`).

Mail. A file that is a mail message — an ``.eml``, an ``.mbox`` of many, an Outlook ``.msg``, by
content (:mod:`agreementgen.mailin`) — is read up to :data:`~agreementgen.mailin.MAX_MAIL_BYTES`,
and **each attachment is a return**: judged and recorded like a file, named by the file and its
place in the message (``reply.eml › signed.pdf``; in an mbox ``box.mbox › message 3 ›
signed.pdf``), with the message's Message-ID and sender. A message with nothing to judge (no
attachment, not readable, over a limit) is recorded as one rejected return named by the message,
saying why. Every message is kept in ``mail_in`` once (by Message-ID) with its outcome. Given the
practices' contact list, a return sent from an address not on its practice's list is flagged with
the reason. ``fetch`` feeds messages from an IMAP mailbox through the same run
(:func:`ingest_sources`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import multiprocessing
import os
import re
import stat
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine

from .context import DOC_ID_FIELD, long_date, parse_document_id
from .errors import RecordsError
from .kinds.claim import COUNT_PREFIX
from .mailin import (
    MAIL_SUFFIXES,
    MAX_MAIL_BYTES,
    SEPARATOR,
    Attachment,
    MailMessage,
    mail_kind,
    might_be_mail,
    not_mail_because,
    read_mail,
)
from .records import DOC_ID_CHARS, READS_ONLY, IssuedDocument, MailIn, Recorded, Records, ReturnRecord
from .returns import MAX_RETURN_BYTES, ReadReturn, TrustRoots, library_message, read_return
from .scheme import ReturnRules
from .wording import Wording, check_docx, check_pdf

SIGNATORY_NAME = "practice_signatory_name"
SIGNATORY_DESIGNATION = "practice_signatory_designation"
TYPED_SIGNATURE = "practice_signature"
SIGNATURE_DATE = "practice_signature_date"
REQUIRED_PRACTICE_FIELDS = (SIGNATORY_NAME, SIGNATORY_DESIGNATION, SIGNATURE_DATE)
_SKIP_NAMES = re.compile(r"^(\.|~\$)|\.(tmp|db|db-wal|db-shm|json|jsonl)$", re.IGNORECASE)
SHOWN_CHARS = 120  # how much of a returned value a reason quotes
_COUNT = re.compile(r"[0-9]{1,12}")
# A file over the size limit is identified, unread past this, by its size and first bytes.
OVERSIZE_HEAD_BYTES = 1024 * 1024
# Open without blocking (a FIFO put in place after the check) or becoming our terminal.
_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
)

_DATE_FORMATS = (
    "%d %B %Y",  # 15 May 2017
    "%d %b %Y",  # 15 May 2017 / 15 Sep 2017
    "%d/%m/%Y",  # 15/05/2017, the UK way
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y-%m-%d",  # ISO
    "%d/%m/%y",
    "%d %B, %Y",
    "%B %d, %Y",
)


def parse_signed_date(text: str) -> date | None:
    """A signing date as people write it in the UK (``15/05/2017``, ``15 May 2017``, ISO)."""
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text.strip(), flags=re.IGNORECASE)
    cleaned = re.sub(r"\s+", " ", cleaned)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class FileOutcome(Recorded):
    """What happened to one file or attachment: its name (as :func:`filename_text` shows it; an
    attachment's after its message's, ``reply.eml › signed.pdf``), the return as recorded, and the
    mail message it came in, if it did."""

    path: str = ""
    message_id: str | None = None
    sender: str = ""


@dataclass(frozen=True)
class MessageOutcome:
    """What became of one mail message (as kept in ``mail_in``), and the returns made of it."""

    message_id: str
    sender: str
    received_at: str
    subject: str
    source: str
    attachments: int  # attachments judged (0: the message itself is on record, rejected)
    outcome: str
    new: bool  # False: a message with this Message-ID was already on record
    return_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A path a run did not record, and why: not a regular file (never opened), or ignored by name."""

    path: str  # as filename_text shows it
    reason: str


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # FIFOs, devices, sockets, broken links, …
    ignored: list[Skipped] = field(default_factory=list)  # hidden and temporary files in folders
    messages: list[MessageOutcome] = field(default_factory=list)  # the mail messages taken in
    seconds: float = 0.0

    @property
    def counts(self) -> Counter[str]:
        return Counter(f.status for f in self.files if f.new)

    @property
    def unchanged(self) -> int:
        return sum(not f.new for f in self.files)

    @property
    def all_accepted(self) -> bool:
        """Every file is on record as accepted and nothing given was skipped (``ingest`` exits 0)."""
        return not self.skipped and all(f.status == "accepted" for f in self.files)


# --- file names --------------------------------------------------------------------------------

# surrogateescape decodes each byte that is not UTF-8 to one of U+DC80..U+DCFF
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_AMBIGUOUS_BACKSLASH = re.compile(r"\\(?=[x\\" "\udc80-\udcff])")
_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def filename_text(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """A file name as text for the register and the terminal, reversibly (see :func:`filename_bytes`).

    A name in valid UTF-8 is kept as it is. Each byte that is not UTF-8 (an attachment saved
    under Windows-1252, say, with its dash as byte 0x96) is written ``\\x96``; a backslash that
    would otherwise read as the start of an escape (one before ``x``, another backslash or such
    a byte) is doubled. So ``filename_bytes(filename_text(p)) == os.fsencode(p)`` for every name.
    """
    text = os.fsencode(path).decode("utf-8", "surrogateescape")
    text = _AMBIGUOUS_BACKSLASH.sub(r"\\\\", text)
    return _UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


def filename_bytes(text: str) -> bytes:
    """The exact name (as the file system holds it) that :func:`filename_text` wrote as ``text``."""
    out, at = bytearray(), 0
    for escape in _ESCAPE.finditer(text):
        out += text[at : escape.start()].encode("utf-8", "surrogatepass")
        code = escape.group(1)
        out += b"\\" if code == "\\" else bytes([int(code[1:], 16)])
        at = escape.end()
    out += text[at:].encode("utf-8", "surrogatepass")
    return bytes(out)


# --- finding and reading files -----------------------------------------------------------------


def find_files(paths: Iterable[str | Path], report: IngestReport | None = None) -> Iterator[Path]:
    """Every file under ``paths`` (folders recursively, sorted); the rest goes to ``report``.

    Hidden and temporary files in folders are ``report.ignored``; folders that cannot be
    listed and links to folders (never followed: no loops) are ``report.skipped``. A path
    given by name is always yielded: :func:`ingest_file` decides what it is.
    """
    report = report if report is not None else IngestReport()

    def unlistable(exc: OSError) -> None:
        where = filename_text(exc.filename) if exc.filename is not None else "a folder"
        report.skipped.append(Skipped(where, f"cannot list the folder: {exc.strerror or exc}"))

    for given in paths:
        path = Path(given)
        if not path.is_dir():
            yield path
            continue
        for root, dirs, names in os.walk(path, onerror=unlistable):
            for name in sorted(dirs):
                if name.startswith("."):
                    report.ignored.append(Skipped(filename_text(Path(root, name)), "a hidden folder"))
                elif os.path.islink(Path(root, name)):
                    report.skipped.append(
                        Skipped(filename_text(Path(root, name)), "a link to a folder: not followed")
                    )
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(Path(root, d)))
            for name in sorted(names):
                if _SKIP_NAMES.search(name):
                    report.ignored.append(Skipped(filename_text(Path(root, name)), _ignored_because(name)))
                else:
                    yield Path(root, name)


def _ignored_because(name: str) -> str:
    if name.startswith("~$"):
        return "a Word lock file (~$…), not a return"
    if name.startswith("."):
        return "a hidden file"
    return "a temporary or agreementgen file (.tmp, .db, .json), not a return"


@dataclass(frozen=True)
class FileContents:
    """What was read of one regular file: at most ``MAX_RETURN_BYTES``, or why nothing was.

    ``sha256`` is the file's identity on record: the digest of its bytes; for a file too
    large to read, of its size and first ``OVERSIZE_HEAD_BYTES``; for one that cannot be
    opened, of its name.
    """

    data: bytes
    size: int
    sha256: str
    problem: str | None = None  # why it was not read: the rejection's reason


def read_file(path: Path) -> FileContents | Skipped:
    """One path's bytes, bounded; a FIFO, device or socket (or a link to one) is never opened."""
    name = filename_text(path)
    try:
        found = os.stat(path)  # follows a link: a link to a device is a device
    except FileNotFoundError:
        why = "a link to something that does not exist" if os.path.lexists(path) else "no such file"
        return Skipped(name, why)
    except OSError as exc:
        return _unreadable(path, exc)
    if not stat.S_ISREG(found.st_mode):
        link = "a link to " if os.path.islink(path) else ""
        return Skipped(name, f"{link}{_file_type(found.st_mode)}, not a regular file: never opened")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        return _unreadable(path, exc)
    try:
        with os.fdopen(fd, "rb", closefd=True) as fh:
            opened = os.fstat(fh.fileno())
            if not stat.S_ISREG(opened.st_mode):  # replaced since the check above
                return Skipped(name, f"{_file_type(opened.st_mode)}, not a regular file: never read")
            limit = MAX_RETURN_BYTES
            if opened.st_size > MAX_RETURN_BYTES:  # too large for a return: a mail message may carry several
                head = fh.read(OVERSIZE_HEAD_BYTES)
                if not might_be_mail(head):
                    return oversize_contents(opened.st_size, head)
                if opened.st_size > MAX_MAIL_BYTES:
                    return oversize_contents(
                        opened.st_size, head, MAX_MAIL_BYTES, "a mail message", keep_head=True
                    )
                limit = MAX_MAIL_BYTES
                data = head + fh.read(MAX_MAIL_BYTES + 1 - len(head))
            else:
                data = fh.read(MAX_RETURN_BYTES + 1)
                if len(data) > MAX_RETURN_BYTES and might_be_mail(data[:OVERSIZE_HEAD_BYTES]):
                    limit = MAX_MAIL_BYTES  # it grew while we read: as large as a message may be
                    data += fh.read(MAX_MAIL_BYTES + 1 - len(data))
            if len(data) > limit:  # it grew while we read
                size = max(len(data), os.fstat(fh.fileno()).st_size)
                mail = limit == MAX_MAIL_BYTES
                what = "a mail message" if mail else "a return"
                return oversize_contents(size, data[:OVERSIZE_HEAD_BYTES], limit, what, keep_head=mail)
    except OSError as exc:
        return _unreadable(path, exc)
    return FileContents(data, len(data), hashlib.sha256(data).hexdigest())


def oversize_contents(
    size: int,
    head: bytes,
    limit: int | None = None,
    what: str = "a return",
    *,
    thing: str = "file",
    keep_head: bool = False,
) -> FileContents:
    """What is on record of a file (or attachment) over the limit: its size and first bytes, as its
    identity; ``keep_head``: its first bytes too (a mail message is described by its headers)."""
    digest = hashlib.sha256(b"agreementgen oversize %d:" % size + head).hexdigest()
    limit = MAX_RETURN_BYTES if limit is None else limit
    why = f"{thing} is {size:,} bytes, over the {limit:,}-byte limit for {what}"
    return FileContents(head if keep_head else b"", size, digest, why)


def _unreadable(path: Path, exc: OSError) -> FileContents:
    digest = hashlib.sha256(b"agreementgen unreadable:" + os.fsencode(path)).hexdigest()
    return FileContents(b"", 0, digest, f"cannot read the file: {exc.strerror or library_message(exc)}")


def _file_type(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    )
    return next((what for test, what in kinds if test(mode)), "an unknown kind of file")


def judge(
    read: ReadReturn,
    records: Records,
    *,
    scheme_id: str | None = None,
    today: date | None = None,
) -> tuple[str, list[str], str | None, str | None, str | None]:
    """(status, reasons, scheme id, practice code, signed date ISO) for what a file says."""
    today = today or date.today()
    reasons = [f.reason for f in read.findings if f.severity == "rejected"]
    flags = [f.reason for f in read.findings if f.severity == "flagged"]
    if reasons:
        return "rejected", reasons + flags, None, None, None
    if read.doc_id is None:
        return "flagged", flags or ["no document id: match it to its practice by hand"], None, None, None
    if not _plausible_id(read.doc_id):
        why = (
            f"'{_shown(read.doc_id)}' is not an agreementgen document id "
            f"({len(read.doc_id):,} characters; ours are printable text of at most {DOC_ID_CHARS})"
        )
        return "rejected", [why, *flags], None, None, None
    parsed = parse_document_id(read.doc_id)
    if parsed is None:
        return "rejected", [f"'{read.doc_id}' is not an agreementgen document id", *flags], None, None, None
    doc_scheme, _version, practice_code, _kind = parsed
    if scheme_id and doc_scheme != scheme_id:
        return (
            "rejected",
            [f"a form of scheme {doc_scheme}, not {scheme_id}"],
            doc_scheme,
            practice_code,
            None,
        )
    issued = records.issued_document(read.doc_id, read.revision)
    if issued is None and read.revision is not None and records.issued_document(read.doc_id):
        why = f"{read.doc_id} names revision {read.revision}, which was never issued"
        return "rejected", [why, *flags], doc_scheme, practice_code, None
    if issued is None:
        if not records.scheme_was_issued(doc_scheme):
            why = f"document id {read.doc_id} is not in the issued register (no {doc_scheme} form was issued)"
        elif not records.practice_was_issued(doc_scheme, practice_code):
            why = f"practice {practice_code} was never issued a {doc_scheme} document (id {read.doc_id})"
        else:
            why = f"document id {read.doc_id} is not in the issued register (another version or kind?)"
        return "rejected", [why, *flags], doc_scheme, practice_code, None

    read.revision = issued.revision  # what it is judged against, and recorded as signed
    problems = list(flags)
    notes: list[str] = []  # kept with the return whatever its status
    fields = read.fields
    if issued.superseded_at:
        later = records.issued_document(issued.doc_id, issued.revision + 1)
        why = f" ({_shown(later.reason)})" if later and later.reason else ""
        problems.append(
            f"this is revision {issued.revision}, superseded on {issued.superseded_at[:10]} by a later "
            f"revision{why}: the practice must sign the current one"
        )
    if not read.has_form and read.format == "docx":
        problems.append("the DOCX has no fillable fields left: its entries cannot be read; check it by hand")
    on_pages: set[str] | None = None  # a return in part carries the fields of its pages only
    if read.has_form:
        wording = _wording(issued.wording)
        if wording is not None:
            check = (
                check_pdf(read.pdf, wording) if read.format == "pdf" else check_docx(read.body_xml, wording)
            )
            problems += check.problems
            if check.pages is not None:
                on_pages = {f for n in check.pages for f in wording.pages[n - 1].fields}
                notes.append(
                    f"returned in part: page {', '.join(map(str, check.pages))} of {len(wording.pages)}, "
                    "as issued; judged by what those pages carry"
                )
    if read.has_form:
        if fields.get(DOC_ID_FIELD, read.doc_id) != read.doc_id:
            problems.append(f"the doc_id field ({_shown(fields[DOC_ID_FIELD])}) differs from the document id")
        changed = [
            f"{tag} (issued '{value}', returned '{_shown(fields[tag])}')"
            for tag, value in issued.terms.items()
            if tag != DOC_ID_FIELD and tag in fields and fields[tag] != value
        ]
        missing_terms = [
            t
            for t in issued.terms
            if t != DOC_ID_FIELD and t not in fields and (on_pages is None or t in on_pages)
        ]
        if changed:
            problems.append("issued terms changed: " + "; ".join(changed))
        if missing_terms:
            problems.append("issued terms removed from the form: " + ", ".join(missing_terms))
        # Every field the practice was asked to fill; the signature may be typed or digital.
        wanted = issued.form_tags or (
            *sorted(t for t in fields if t.startswith("lead_")),
            *REQUIRED_PRACTICE_FIELDS,
        )
        # A return in part must still carry every entry the practice makes: the pages it may leave
        # out are those with issued terms only.
        missing = [t for t in wanted if t != TYPED_SIGNATURE and not fields.get(t)]
        signable = TYPED_SIGNATURE in wanted or not issued.form_tags
        if signable and not fields.get(TYPED_SIGNATURE) and not (read.signature and read.signature.valid):
            missing.append(TYPED_SIGNATURE)
        problems += _count_problems(fields, issued.terms, wanted)
        if missing:
            problems.append("required entries missing: " + ", ".join(missing))
    signed: str | None = None
    text = fields.get(SIGNATURE_DATE, "")
    if text:
        when = parse_signed_date(text)
        issued_on = date.fromisoformat(issued.first_issued_at[:10]) if issued.first_issued_at else None
        if when is None:
            problems.append(f"date signed '{_shown(text)}' is not a real date (day/month/year)")
        elif when > today:
            problems.append(f"date signed {when.isoformat()} is in the future")
        elif issued_on and when < issued_on:
            problems.append(
                f"date signed {when.isoformat()} is before the form was issued ({issued_on.isoformat()})"
            )
        else:
            signed = when.isoformat()
    signature = read.signature
    if signature is not None:
        if signature.problem or not signature.intact or not signature.valid:
            problems.append(
                f"digital signature is not valid: {signature.problem or 'the signed bytes were altered'}"
            )
        elif not signature.whole_file:
            problems.append("the document was changed after it was digitally signed")
    return ("flagged" if problems else "accepted"), problems + notes, doc_scheme, practice_code, signed


# Titles are not part of a person's name: ignored when a typed name meets a certificate's.
TITLES = frozenset({"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame", "rev"})


@dataclass(frozen=True)
class Ruled:
    """A return's status and reasons once the scheme's rules for returns are applied, what is
    recorded of its digital signature, and whether it was late."""

    status: str
    reasons: list[str]
    signature: dict[str, Any]
    late: bool


def apply_return_rules(
    read: ReadReturn,
    judged: tuple[str, list[str], str | None, str | None, str | None],
    records: Records,
    today: date,
) -> Ruled:
    """:func:`judge`'s verdict with the scheme's rules for returns applied (see the module docstring).

    A rejected return stays as it is. A broken or altered signature is already flagged by
    :func:`judge`; a signature that is not valid names nobody, so only a valid one is held to the
    trust and signer rules. A rule's ``accept`` keeps its reason on the accepted return as a note.
    """
    status, reasons, scheme_id, _practice, signed = judged
    signature = read.signature.as_dict() if read.signature else {}
    if read.signature is not None:
        typed = read.fields.get(SIGNATORY_NAME, "")
        common_name = read.signature.common_name
        signature["typed_signatory"] = typed
        signature["matches_signatory"] = same_person(typed, common_name) if typed and common_name else None
    if status == "rejected":
        return Ruled(status, reasons, signature, False)
    deadline, kept = records.scheme_rules(scheme_id) if scheme_id else (None, {})
    # A rule this release does not know (kept by a newer one) is passed over, not a failure per file.
    rules = ReturnRules.model_validate({k: v for k, v in kept.items() if k in ReturnRules.model_fields})
    outcomes: list[tuple[str, str]] = []  # (accept / flag / reject, why)
    if read.signature is not None and read.signature.valid and not read.signature.problem:
        who = _shown(read.signature.common_name or read.signature.signer or "no one")
        if read.signature.trust == "untrusted":
            why = read.signature.trust_problem or "it does not chain to a trusted root"
            outcomes.append(
                (rules.untrusted_signature, f"the digital signature ({who}) is not trusted: {why}")
            )
        if signature["matches_signatory"] is False:
            typed = _shown(signature["typed_signatory"])
            outcomes.append((rules.signer_mismatch, f"the digital signature is in the name of '{who}', "
                             f"not of the typed signatory '{typed}'"))  # fmt: skip
    late = _lateness(deadline, signed, read, today)
    if late:
        outcomes.append((rules.late, late))
    for rule, why in outcomes:
        reasons = [*reasons, why]
        if rule == "flag" and status == "accepted":
            status = "flagged"
        elif rule == "reject":
            status = "rejected"
    return Ruled(status, reasons, signature, late is not None)


def _lateness(deadline: date | None, signed: str | None, read: ReadReturn, today: date) -> str | None:
    """Why the return is late (signed, else received, after the deadline), or None if it is not."""
    if deadline is None:
        return None
    dates = [("signed", date.fromisoformat(signed))] if signed else []
    digital = read.signature
    if digital is not None and digital.valid and digital.signed_at:
        dates.append(("digitally signed", _uk_day(datetime.fromisoformat(digital.signed_at))))
    after = [(when, how) for how, when in dates if when > deadline]
    if after:
        when, how = max(after)
        return f"{how} {long_date(when)}, after the sign-up deadline of {long_date(deadline)}"
    if today > deadline:
        return f"received {long_date(today)}, after the sign-up deadline of {long_date(deadline)}"
    return None


def _uk_day(moment: datetime) -> date:
    """The day in the UK at ``moment`` (a signature at 00:30 BST on 1 June was made on 1 June)."""
    try:
        return moment.astimezone(ZoneInfo("Europe/London")).date()
    except ZoneInfoNotFoundError:  # no time-zone database here: the day where it was signed
        return moment.date()


def same_person(typed: str, certificate_name: str) -> bool:
    """Whether a typed signatory and a certificate's common name name the same person.

    Both are compared as words: letter case, accents (Siân = Sian), punctuation, hyphens and
    spacing do not count, nor does the order of the words (a smartcard's ``OWEN Sian``), nor
    titles (Dr, Mr, Mrs, Ms, Miss, Mx, Prof, Sir, Dame, Rev), nor anything in brackets. Every
    other word must be in both: ``Dr S Owen`` is not ``Sian Owen`` (an initial is not a name).
    """
    words = _name_words(typed)
    return bool(words) and words == _name_words(certificate_name)


def _name_words(name: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", re.sub(r"\([^)]*\)", " ", name))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    words = re.findall(r"[^\W_]+", plain.replace("'", "").replace("’", ""))
    return sorted(w for w in words if w not in TITLES)


@functools.lru_cache(maxsize=256)  # the documents of a run are judged against a few wordings each
def _wording(stored: str) -> Wording | None:
    return Wording.loads(stored)


def _count_problems(fields: dict[str, str], terms: dict[str, str], wanted: Iterable[str]) -> list[str]:
    """Activity counts on a claim form: whole numbers, not negative, within the issued cap."""
    problems = []
    asked = set(wanted)
    for tag, text in sorted(fields.items()):
        if not tag.startswith(COUNT_PREFIX):
            continue
        service = tag.removeprefix(COUNT_PREFIX)
        if tag not in asked:
            where = "this practice's claim form"
            problems.append(f"{_shown(tag)}: {_shown(service)} is not a service on {where}")
            continue
        if not text:
            continue  # reported with the other missing entries
        cleaned = text.replace(",", "").strip()
        # ASCII digits only: str.isdigit() also takes '²', which int() refuses, and int() refuses
        # numbers of over 4,300 digits; a count is recorded and summed, so it must be a plain number.
        if not _COUNT.fullmatch(cleaned):
            problems.append(f"{tag} '{_shown(text)}' is not a whole number of units (0 or more)")
            continue
        cap = terms.get(f"term_service_{service}_cap")
        if cap is not None and int(cleaned) > int(cap.replace(",", "")):
            problems.append(f"{tag} {int(cleaned):,} is over the cap of {cap} per practice")
    return problems


def _plausible_id(doc_id: str) -> bool:
    """Could this be an id we issued? Ours are short printable text (no NUL, no control character)."""
    return len(doc_id) <= DOC_ID_CHARS and doc_id.isprintable()


def _shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """A returned value as a reason quotes it: at most ``limit`` characters, and printable."""
    printable = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text[: limit + 1])
    return printable if len(text) <= limit and len(printable) <= limit else printable[: limit - 1] + "…"


def signature_kind(read: ReadReturn) -> str:
    if read.signature is not None and read.signature.valid and read.signature.whole_file:
        return "digital"
    if read.fields.get(TYPED_SIGNATURE):
        return "typed"
    return "none"


def ingest_file(
    path: Path,
    records: Records,
    *,
    scheme_id: str | None = None,
    today: date | None = None,
    trust_roots: TrustRoots | None = None,
) -> Recorded | Skipped:
    """Read, judge and record one file as one return; a path that is not a regular file is skipped
    unopened. A mail file is judged as it is, not opened: :func:`ingest` takes its attachments.

    Never raises for anything about the file (see :func:`ingest_contents`).
    """
    contents = read_file(path)
    if isinstance(contents, Skipped):
        return contents
    return ingest_contents(
        contents, filename_text(path), records, scheme_id=scheme_id, today=today, trust_roots=trust_roots
    )


def ingest_contents(
    contents: FileContents,
    name: str,
    records: Records,
    *,
    scheme_id: str | None = None,
    today: date | None = None,
    trust_roots: TrustRoots | None = None,
) -> Recorded:
    """Judge and record what was read of one file, as exactly one return on record.

    A digital signature is checked against ``trust_roots`` (none: its trust is not checked).

    A failure while judging (a bug of ours or of a library, met on this file) becomes a
    rejection naming it. If the database refuses the return as read (a value it cannot hold),
    the file is recorded again as rejected without what was read from it. Only a database that
    is unavailable, or cannot record even that, raises ``RecordsError``: then no later file
    could be recorded either, and a re-run carries on where this one stopped.
    """
    record = judge_contents(
        contents, name, records, scheme_id=scheme_id, today=today, trust_roots=trust_roots
    )
    return _record_each(records, [record])[0]


def judge_contents(
    contents: FileContents,
    name: str,
    records: Records,
    *,
    scheme_id: str | None = None,
    today: date | None = None,
    trust_roots: TrustRoots | None = None,
) -> ReturnRecord:
    """What to record for one file: read and judged, or rejected naming whatever failed (never raises)."""
    try:
        read = read_return(contents.data, trust_roots) if contents.problem is None else None
        return _judged(read, contents, name, records, scheme_id=scheme_id, today=today)
    except Exception as exc:  # whatever it is, it is this file's: recorded, never fatal to the run
        why = f"could not be judged: {library_message(exc)} (an agreementgen bug: keep the file, report it)"
        return _rejected(contents, name, why)


def _record_batch(records: Records, batch: list[ReturnRecord]) -> list[Recorded]:
    """``batch`` recorded in one transaction; if the database refuses it, file by file, so that one
    value it cannot hold costs only its own file what was read from it (:func:`_record_each`)."""
    try:
        return records.record_returns(batch)
    except Exception as exc:
        if _database_unavailable(exc):
            raise _unavailable(batch[0].filename, exc) from exc
        return _record_each(records, batch)


def _record_each(records: Records, batch: list[ReturnRecord]) -> list[Recorded]:
    done = []
    for record in batch:
        try:
            done.append(records.record_return(record))
            continue
        except Exception as exc:  # RecordsError, or a value its driver cannot even send
            if _database_unavailable(exc):
                raise _unavailable(record.filename, exc) from exc
            why = (
                f"the records database refused what was read from the file ({_database_cause(exc)}); "
                "recorded without it: check the file by hand"
            )
        try:
            done.append(records.record_return(_refused(record, why)))
        except Exception as again:
            raise RecordsError(
                f"cannot record the return {record.filename}: the records database refused it "
                f"({_database_cause(again)})"
            ) from again
    return done


def _unavailable(name: str, exc: BaseException) -> RecordsError:
    return RecordsError(
        f"cannot record the return {name}: the records database is unavailable "
        f"({_database_cause(exc)}); run ingest again when it is back: what is on record stays"
    )


def _judged(
    read: ReadReturn | None,
    contents: FileContents,
    name: str,
    records: Records,
    *,
    scheme_id: str | None,
    today: date | None,
) -> ReturnRecord:
    if read is None:
        return _rejected(contents, name, contents.problem or "not read")
    judged = judge(read, records, scheme_id=scheme_id, today=today)
    _, _, doc_scheme, practice, signed = judged
    ruled = apply_return_rules(read, judged, records, today or date.today())
    signer = (
        read.signature.signer
        if read.signature and read.signature.signer
        else read.fields.get(SIGNATORY_NAME, "")
    )
    parsed = parse_document_id(read.doc_id) if read.doc_id and _plausible_id(read.doc_id) else None
    return ReturnRecord(
        sha256=contents.sha256,
        filename=name,
        size=contents.size,
        format=read.format,
        doc_id=read.doc_id,
        id_source=read.id_source,
        scheme_id=doc_scheme,
        practice_code=practice,
        kind=parsed[3] if parsed else None,
        status=ruled.status,
        reasons=ruled.reasons,
        fields=read.fields,
        signature_kind=signature_kind(read),
        signer=signer,
        signed_date=signed,
        revision=read.revision if doc_scheme else None,
        signature=ruled.signature,
        late=ruled.late,
    )


def _rejected(contents: FileContents, name: str, reason: str) -> ReturnRecord:
    """The file itself on record, rejected, with nothing read from it."""
    return _refused_file(contents.sha256, name, contents.size, reason)


def _refused(record: ReturnRecord, reason: str) -> ReturnRecord:
    """The file of ``record`` on record, rejected, without what was read from it."""
    return _refused_file(record.sha256, record.filename, record.size, reason)


def _refused_file(sha256: str, name: str, size: int, reason: str) -> ReturnRecord:
    return ReturnRecord(sha256=sha256, filename=name, size=size, format="unknown",
                        doc_id=None, id_source="", scheme_id=None, practice_code=None, kind=None,
                        status="rejected", reasons=[reason], fields={}, signature_kind="none")  # fmt: skip


def _database_unavailable(exc: BaseException) -> bool:
    """A lock not given up, a lost connection, a server gone: no fault of the file's, so a file is
    never recorded as refused for it (the run stops instead, and a re-run carries on)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OperationalError | InterfaceError):
            return True
        cause = cause.__cause__
    return False


def _database_cause(exc: BaseException) -> str:
    """What kind of refusal it was, without the driver's raw message (which quotes SQL and values)."""
    cause: BaseException = exc
    while isinstance(cause, RecordsError) and cause.__cause__ is not None:
        cause = cause.__cause__
    original = getattr(cause, "orig", None)  # SQLAlchemy's wrapper around the driver's error
    return type(original or cause).__name__


BATCH = 64  # returns recorded per transaction: one lock, one commit for many files
CHUNK_FILES = 4  # files a worker is sent at a time
CHUNK_BYTES = 8 * 1024 * 1024
IN_FLIGHT = 4  # chunks waiting per worker: enough to keep it busy, few enough to bound memory
CRASHED = (
    "could not be judged: the process reading it stopped (a crash in a library it uses, or out of "
    "memory; an agreementgen bug: keep the file, report it)"
)


def ingest(
    paths: Iterable[str | Path],
    records: Records,
    *,
    scheme_id: str | None = None,
    today: date | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
    trust_roots: TrustRoots | None = None,
    jobs: int = 1,
    contacts: Contacts | None = None,
) -> IngestReport:
    """Ingest every file under ``paths``; files already on record (same sha256) are not judged again.

    ``today`` is the day the returns are received (for lateness); ``trust_roots`` the certificates
    a digital signature must chain to (:func:`agreementgen.returns.load_trust_roots`); ``contacts``
    each practice's email addresses (:func:`agreementgen.mailin.contact_addresses`): a return that
    came by mail from any other address is flagged. A mail file's attachments are each a return.

    With ``jobs`` > 1, that many worker processes read and judge files (each with its own
    connection to the register), while this process finds and reads the files, skips those on
    record and records the rest, in batches and in the order found: what is recorded does not
    depend on ``jobs`` or on which worker finished first. ``on_file`` is called once per file, in
    that order.
    """
    report = IngestReport()

    def sources() -> Iterator[Source]:
        for path in find_files(paths, report):
            contents = read_file(path)
            if isinstance(contents, Skipped):
                report.skipped.append(contents)
            else:
                yield Source(filename_text(path), contents)

    return ingest_sources(sources(), records, report=report, scheme_id=scheme_id, today=today,
                          on_file=on_file, trust_roots=trust_roots, jobs=jobs, contacts=contacts)  # fmt: skip


Contacts = dict[str, set[str]]  # ODS code → the practice's addresses, in lower case


@dataclass(frozen=True)
class Source:
    """One thing a run takes in: a file's contents, or a message from a mailbox (``mail``: read as a
    message whatever it looks like). ``tag`` is the caller's, handed back to ``on_source`` once
    everything in it is on record."""

    name: str
    contents: FileContents
    mail: bool = False
    internal_date: datetime | None = None  # when the mailbox received it
    tag: Any = None


def ingest_sources(
    sources: Iterable[Source],
    records: Records,
    *,
    report: IngestReport | None = None,
    scheme_id: str | None = None,
    today: date | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
    on_source: Callable[[Source], None] | None = None,
    trust_roots: TrustRoots | None = None,
    jobs: int = 1,
    contacts: Contacts | None = None,
) -> IngestReport:
    """:func:`ingest` of ``sources`` (files read, or messages fetched); ``on_source`` is called with
    each source once everything in it is on record: its returns, and its messages in ``mail_in``."""
    start = time.perf_counter()
    report = report if report is not None else IngestReport()
    today = today or date.today()  # one day for the whole run, in every worker
    known = records.known_returns()
    run = _Run(records, report, on_file, contacts, on_source)
    database = records.engine.url.database  # an in-memory SQLite database is this process's alone
    in_memory = records.engine.dialect.name == "sqlite" and database in (None, "", ":memory:")
    judges: _Judges = (
        _InProcess(records, scheme_id, today, trust_roots)
        if jobs <= 1 or in_memory
        else _Workers(jobs, records, scheme_id, today, trust_roots)
    )
    try:
        for source in sources:
            for name, contents, origin in run.items(source):
                recorded = known.get(contents.sha256)
                index = run.add(name, recorded, origin)
                if recorded is None:
                    judges.submit(index, contents, name)
            run.end_source(source)
            run.judged(judges.ready())
        run.judged(judges.finish())
        run.write(finished=True)
    finally:
        judges.close()
    report.seconds = time.perf_counter() - start
    return report


@dataclass(frozen=True)
class Origin:
    """The mail message a return came in (its index in the run), and what it adds to the return."""

    message: int
    message_id: str
    senders: tuple[str, ...]
    notes: tuple[str, ...] = ()  # what flags it: the message is damaged around it
    format: str | None = None  # a message with nothing to judge is recorded as itself: eml/mbox/msg


@dataclass
class _Message:
    """A message of the run, as it is being recorded: what mail_in keeps of it (never its bytes)."""

    mail: MailMessage  # its attachments dropped
    name: str
    first: int
    last: int = -1  # its last file's index, once all are found
    nothing_judged: bool = False  # recorded as itself, rejected: no attachment could be judged
    outcomes: list[FileOutcome] = field(default_factory=list)


_Item = tuple[str, FileContents, Origin | None]


class _Run:
    """The files of one run in the order found: each judged, then recorded in batches, then reported."""

    def __init__(
        self,
        records: Records,
        report: IngestReport,
        on_file: Callable[[FileOutcome], None] | None,
        contacts: Contacts | None = None,
        on_source: Callable[[Source], None] | None = None,
    ) -> None:
        self.records, self.report, self.on_file = records, report, on_file
        self.contacts, self.on_source = contacts, on_source
        self.names: list[str] = []
        self.judged_as: dict[int, ReturnRecord] = {}  # judged, not yet recorded
        self.recorded: dict[int, Recorded] = {}  # recorded, not yet reported
        self.reported = 0  # files reported so far (a prefix of self.names)
        self.ready = 0  # files judged or recorded so far, without a gap (a prefix of self.names)
        self.origins: dict[int, Origin] = {}
        self.messages: list[_Message] = []
        self.finished: list[_Message] = []  # reported, not yet in mail_in
        self.sources: list[tuple[int, Source]] = []  # (its last file's index, the source), not yet done

    def items(self, source: Source) -> Iterator[_Item]:
        """What is judged of a source: the file itself, or each attachment of each message in it."""
        contents = source.contents
        data = contents.data
        kind = mail_kind(data) if contents.problem is None else None
        if kind is None and contents.problem is not None and data and might_be_mail(data):
            kind = "msg" if data.startswith(b"\xd0\xcf") else "mbox" if data.startswith(b"From ") else "eml"
        if kind is None and source.mail:
            kind = "eml"
        if kind is None:
            suffix = PurePath(source.name).suffix.lower()
            if suffix in MAIL_SUFFIXES and contents.problem is None and data and not _pdf_or_docx(data):
                why = f"named {suffix}, but not a mail message: {not_mail_because(data)}"
                contents = dataclasses.replace(contents, problem=why)
            elif contents.problem is not None and contents.data:
                contents = dataclasses.replace(contents, data=b"")
            yield source.name, contents, None
            return
        found = False
        for mail in read_mail(data, kind, internal_date=source.internal_date, refused=contents.problem):
            found = True
            if contents.problem is not None:  # the file not read: known by its size and start
                mail.sha256, mail.size = contents.sha256, contents.size
            name = source.name + (SEPARATOR + mail.source if mail.source else "")
            index = self.begin_message(mail, name)
            origin = Origin(index, mail.message_id, mail.senders, tuple(_damaged(mail)))
            if mail.problems or not mail.attachments:
                self.messages[index].nothing_judged = True
                why, *more = mail.problems or [_nothing_to_judge(mail)]
                notes = (*more, *origin.notes) if mail.problems else ()
                itself = FileContents(b"", mail.size, mail.sha256, why)
                yield name, itself, dataclasses.replace(origin, notes=notes, format=kind)
            else:
                for attachment in mail.attachments:
                    notes = (*origin.notes, *attachment.notes)
                    item = dataclasses.replace(origin, notes=notes)
                    yield name + SEPARATOR + attachment.name, _attachment_contents(attachment), item
            self.messages[index].last = len(self.names) - 1
            mail.attachments = []  # what mail_in keeps needs none of their bytes
        if not found:  # an mbox with no message in it
            yield (
                source.name,
                dataclasses.replace(contents, data=b"", problem="an mbox with no message in it"),
                None,
            )

    def begin_message(self, mail: MailMessage, name: str) -> int:
        self.messages.append(_Message(mail, name, len(self.names)))
        return len(self.messages) - 1

    def end_source(self, source: Source) -> None:
        self.sources.append((len(self.names) - 1, source))

    def add(self, name: str, recorded: Recorded | None, origin: Origin | None = None) -> int:
        """A file found: already on record (``recorded``), or its index, to be judged."""
        self.names.append(name)
        index = len(self.names) - 1
        if recorded is not None:
            self.recorded[index] = recorded
        if origin is not None:
            self.origins[index] = origin
        return index

    def judged(self, records: Iterable[tuple[int, ReturnRecord]]) -> None:
        for index, record in records:
            origin = self.origins.get(index)
            self.judged_as[index] = record if origin is None else self._by_mail(record, origin)
        self.write(finished=False)

    def _by_mail(self, record: ReturnRecord, origin: Origin) -> ReturnRecord:
        """A return as it came by mail: the message it came in, what the message says of it, and the
        sender check."""
        status, reasons = record.status, list(record.reasons)
        flags = list(origin.notes)
        if self.contacts is not None and record.practice_code and origin.format is None:
            why = sender_problem(origin.senders, record.practice_code, self.contacts)
            if why:
                flags.append(why)
        if flags and status == "accepted":
            status = "flagged"
        return dataclasses.replace(
            record, status=status, reasons=reasons + flags, message_id=origin.message_id,
            sender=", ".join(origin.senders), format=origin.format or record.format,
        )  # fmt: skip

    def write(self, *, finished: bool) -> None:
        """Record the judged files at the front, in order, in batches of ``BATCH``; report the files
        at the front that are on record, then the messages all of whose files are."""
        while self.ready < len(self.names) and (self.ready in self.judged_as or self.ready in self.recorded):
            self.ready += 1
        batch = [i for i in range(self.reported, self.ready) if i in self.judged_as]
        while batch and (finished or len(batch) >= BATCH):
            now, batch = batch[:BATCH], batch[BATCH:]
            for index, recorded in zip(
                now, _record_batch(self.records, [self.judged_as[i] for i in now]), strict=True
            ):
                del self.judged_as[index]
                self.recorded[index] = recorded
            self._report()
        self._report()
        self._record_messages()
        while self.sources and self.sources[0][0] < self.reported:
            _, source = self.sources.pop(0)
            if self.on_source:
                self.on_source(source)

    def _report(self) -> None:
        while self.reported < len(self.names) and self.reported in self.recorded:
            recorded = self.recorded.pop(self.reported)
            origin = self.origins.pop(self.reported, None)
            outcome = FileOutcome(**dataclasses.asdict(recorded), path=self.names[self.reported],
                                  message_id=origin.message_id if origin else None,
                                  sender=", ".join(origin.senders) if origin else "")  # fmt: skip
            self.report.files.append(outcome)
            if origin is not None:
                message = self.messages[origin.message]
                message.outcomes.append(outcome)
                if self.reported == message.last:
                    self.finished.append(message)
            self.reported += 1
            if self.on_file:
                self.on_file(outcome)

    def _record_messages(self) -> None:
        """The messages all of whose files are on record, kept in ``mail_in`` and reported."""
        if not self.finished:
            return
        done, self.finished = self.finished, []
        kept = [_mail_in(m) for m in done]
        for message, row, new in zip(done, kept, self.records.record_mail_in(kept), strict=True):
            ids = tuple(o.return_id for o in message.outcomes)
            self.report.messages.append(MessageOutcome(**dataclasses.asdict(row), new=new, return_ids=ids))


def _pdf_or_docx(data: bytes) -> bool:
    return b"%PDF-" in data[:1024] or data.startswith(b"PK\x03\x04")


def _attachment_contents(attachment: Attachment) -> FileContents:
    if attachment.problem is not None:
        seed = attachment.name.encode("utf-8", "replace")
        identity = attachment.identity or hashlib.sha256(seed).hexdigest()
        return FileContents(b"", attachment.size, identity, attachment.problem)
    if attachment.size > MAX_RETURN_BYTES:
        return oversize_contents(attachment.size, attachment.data, thing="attachment")
    data = attachment.data
    return FileContents(data, len(data), hashlib.sha256(data).hexdigest())


def _damaged(mail: MailMessage) -> list[str]:
    if not mail.damage:
        return []
    return [f"the message is damaged ({'; '.join(mail.damage)}): check the attachment is whole"]


def _nothing_to_judge(mail: MailMessage) -> str:
    why = "a mail message with no attachment: nothing to judge"
    if mail.damage:
        why += f" (the message is damaged: {'; '.join(mail.damage)})"
    return why


def _mail_in(message: _Message) -> MailIn:
    """What ``mail_in`` keeps of a message: who, when, where from, and in words what became of it."""
    mail = message.mail
    outcomes = message.outcomes
    if message.nothing_judged:
        what = "rejected: " + "; ".join(outcomes[0].reasons[:3])
        attachments = 0
    else:
        counts = Counter(o.status for o in outcomes)
        what = f"{len(outcomes)} attachment(s): " + ", ".join(
            f"{counts[s]} {s}" for s in ("accepted", "flagged", "rejected") if counts[s]
        )
        again = sum(not o.new for o in outcomes)
        if again:
            what += f" ({again} already on record)"
        attachments = len(outcomes)
    if mail.not_judged:
        parts = [k if n == 1 or k == "the message text" else f"{n} × {k}" for k, n in mail.not_judged.items()]
        what += "; not judged: " + ", ".join(parts)
    return MailIn(mail.message_id, mail.sender, mail.sent_at, message.name, mail.subject, attachments, what)


def sender_problem(senders: tuple[str, ...], practice_code: str, contacts: Contacts) -> str | None:
    """Why a return from ``senders`` needs a look, given the practice's contact list; None if every
    sender is on it."""
    check = f"check with {practice_code} that it sent this"
    if not senders:
        return f"the message has no sender address (From): {check}"
    listed = contacts.get(practice_code.upper(), set())
    strangers = [s for s in senders if s.casefold() not in listed]
    if not strangers:
        return None
    who = ", ".join(strangers)
    if not listed:
        return f"sent from {who}; the contact list has no address for {practice_code}: {check}"
    return f"sent from {who}, not an address on the contact list for {practice_code}: {check}"


class _Judges:
    """Where files are judged: here (:class:`_InProcess`) or in worker processes (:class:`_Workers`)."""

    def submit(self, index: int, contents: FileContents, name: str) -> None:
        raise NotImplementedError

    def ready(self) -> list[tuple[int, ReturnRecord]]:
        """The files judged since the last call (their indexes), without waiting."""
        raise NotImplementedError

    def finish(self) -> list[tuple[int, ReturnRecord]]:
        """Every file submitted and not yet returned, waiting for them."""
        return self.ready()

    def close(self) -> None:
        return None


class RunRegister(Records):
    """The issued register as one run (or one worker) judges against it: each document, scheme and
    practice looked up once, then kept for the run. It only reads, without waiting for the run's
    writes (or another run's); it records nothing."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine.execution_options(**{READS_ONLY: True}))
        self._documents: dict[tuple[str, int | None], IssuedDocument | None] = {}
        self._schemes: dict[str, bool] = {}
        self._practices: dict[tuple[str, str], bool] = {}
        self._rules: dict[str, tuple[date | None, dict[str, Any]]] = {}

    def scheme_rules(self, scheme_id: str) -> tuple[date | None, dict[str, Any]]:
        if scheme_id not in self._rules:
            self._rules[scheme_id] = super().scheme_rules(scheme_id)
        return self._rules[scheme_id]

    def issued_document(self, doc_id: str, revision: int | None = None) -> IssuedDocument | None:
        key = (doc_id, revision)
        if key not in self._documents:
            self._documents[key] = super().issued_document(doc_id, revision)
        return self._documents[key]

    def scheme_was_issued(self, scheme_id: str) -> bool:
        if scheme_id not in self._schemes:
            self._schemes[scheme_id] = super().scheme_was_issued(scheme_id)
        return self._schemes[scheme_id]

    def practice_was_issued(self, scheme_id: str, practice_code: str) -> bool:
        key = (scheme_id, practice_code)
        if key not in self._practices:
            self._practices[key] = super().practice_was_issued(scheme_id, practice_code)
        return self._practices[key]

    def record_returns(self, records: list[ReturnRecord]) -> list[Recorded]:
        raise RecordsError("the register as a run judges against it only reads: record with Records")


class _InProcess(_Judges):
    def __init__(
        self, records: Records, scheme_id: str | None, today: date, roots: TrustRoots | None
    ) -> None:
        self.register = RunRegister(records.engine)
        self.scheme_id, self.today, self.roots = scheme_id, today, roots
        self.done: list[tuple[int, ReturnRecord]] = []

    def submit(self, index: int, contents: FileContents, name: str) -> None:
        record = judge_contents(contents, name, self.register, scheme_id=self.scheme_id, today=self.today,
                                trust_roots=self.roots)  # fmt: skip
        self.done.append((index, record))

    def ready(self) -> list[tuple[int, ReturnRecord]]:
        done, self.done = self.done, []
        return done


_Chunk = tuple[int, FileContents, str]


class _Workers(_Judges):
    """Worker processes (forked where the system can, else spawned), each with its own connection to
    the register, judging chunks of files. A worker that dies (a crash in a library, out of memory)
    breaks the pool: the files it had are judged again one at a time in a fresh worker, and the one
    that kills it too is recorded as rejected (:data:`CRASHED`); the others are judged as usual."""

    def __init__(
        self, jobs: int, records: Records, scheme_id: str | None, today: date, roots: TrustRoots | None
    ) -> None:
        self.jobs, self.records = jobs, records
        self.start = (records.engine.url.render_as_string(hide_password=False), scheme_id, today, roots)
        self.executor: ProcessPoolExecutor | None = None
        self.chunk: list[_Chunk] = []
        self.chunk_bytes = 0
        self.in_flight: dict[Future[list[tuple[int, ReturnRecord]]], list[_Chunk]] = {}
        self.done: list[tuple[int, ReturnRecord]] = []

    def submit(self, index: int, contents: FileContents, name: str) -> None:
        self.chunk.append((index, contents, name))
        self.chunk_bytes += len(contents.data)
        if len(self.chunk) >= CHUNK_FILES or self.chunk_bytes >= CHUNK_BYTES:
            self._send()

    def ready(self) -> list[tuple[int, ReturnRecord]]:
        self._collect(block=False)
        done, self.done = self.done, []
        return done

    def finish(self) -> list[tuple[int, ReturnRecord]]:
        if self.chunk:
            self._send()
        while self.in_flight:
            self._collect(block=True)
        done, self.done = self.done, []
        return done

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def _pool(self, workers: int) -> ProcessPoolExecutor:
        # A forked worker must not inherit this process's open connections (a PostgreSQL session
        # shared by two processes is corrupted when either uses or closes it).
        self.records.engine.dispose()
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                                   initializer=_start_worker, initargs=self.start)  # fmt: skip

    def _send(self) -> None:
        while len(self.in_flight) >= self.jobs * IN_FLIGHT:
            self._collect(block=True)
        if self.executor is None:
            self.executor = self._pool(self.jobs)
        chunk, self.chunk, self.chunk_bytes = self.chunk, [], 0
        try:
            self.in_flight[self.executor.submit(_judge_in_worker, chunk)] = chunk
        except BrokenProcessPool:  # a worker died since the last look
            self._recover(chunk)

    def _collect(self, *, block: bool) -> None:
        if not self.in_flight:
            return
        finished, _ = wait(self.in_flight, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        stranded: list[_Chunk] = []
        for future in finished:
            items = self.in_flight.pop(future)
            try:
                self.done += future.result()
            except _WorkerCannotStart as exc:
                raise RecordsError(str(exc)) from None
            except Exception:  # BrokenProcessPool: a worker died, and every chunk in flight with it
                stranded += items
        if stranded:
            self._recover(stranded)

    def _recover(self, stranded: list[_Chunk]) -> None:
        """After a worker died: every file not judged yet, judged again one at a time."""
        for future, items in self.in_flight.items():
            future.cancel()
            stranded = stranded + items
        self.in_flight.clear()
        self.close()
        self._one_at_a_time(sorted(stranded, key=lambda item: item[0]))

    def _one_at_a_time(self, items: list[_Chunk]) -> None:
        executor = self._pool(1)
        try:
            for item in items:
                try:
                    self.done += executor.submit(_judge_in_worker, [item]).result()
                except _WorkerCannotStart as exc:
                    raise RecordsError(str(exc)) from None
                except Exception:
                    index, contents, name = item
                    self.done.append((index, _rejected(contents, name, CRASHED)))
                    executor.shutdown(wait=True, cancel_futures=True)
                    executor = self._pool(1)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)


class _WorkerCannotStart(Exception):
    """A worker could not open the records database: no file can be judged (the run stops)."""


_worker: tuple[Records, str | None, date, TrustRoots | None] | str | None = None  # its register, or why not


def _start_worker(url: str, scheme_id: str | None, today: date, roots: TrustRoots | None) -> None:
    global _worker
    try:
        _worker = (RunRegister.open(url), scheme_id, today, roots)
    except Exception as exc:  # reported by the first file it is sent, so that the run stops
        _worker = f"a worker cannot open the records database: {library_message(exc)}"


def _judge_in_worker(items: list[_Chunk]) -> list[tuple[int, ReturnRecord]]:
    if not isinstance(_worker, tuple):
        raise _WorkerCannotStart(_worker or "a worker was not started")
    register, scheme_id, today, roots = _worker
    return [
        (index, judge_contents(c, name, register, scheme_id=scheme_id, today=today, trust_roots=roots))
        for index, c, name in items
    ]
