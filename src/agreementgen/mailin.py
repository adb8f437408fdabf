"""Mail taken in: returned forms that come as attachments to ``.eml``, ``.mbox`` and Outlook ``.msg`` files.

Owns the read side of a mail message and nothing else — no database, no judgement of a return
(that is :mod:`agreementgen.ingest`). Given a file's bytes it finds:

* **what it is**, by content, never by name (:func:`mail_kind`): an Internet message (RFC 5322
  header lines, then a blank line), an mbox (it starts ``From `` and holds one message or many), an
  Outlook message (an OLE compound file with a message's property streams; read with extract-msg,
  the ``outlook`` extra). An OLE file that is not a message (an old Word or Excel file) is not mail;
* each **message**: its Message-ID (or, without a usable one, ``sha256:`` and the digest of its
  bytes: a stable id), its sender (the From address, never the display name), when it was sent (the
  Date header, else the mbox or IMAP internal date), its subject;
* each **attachment** as bytes to judge, named by where it is in the message
  (``forwarded.eml › signed.pdf``). A message attached to a message (``message/rfc822``, or an
  ``.eml``/``.msg`` file attached) is opened in turn. The body text, inline images (a logo in a
  signature) and an S/MIME or PGP signature are parts of the message, not attachments: they are
  named in the message's outcome, not judged.

Nothing here raises for a bad message: whatever the email parser or extract-msg raises for a
hostile or broken one becomes the message's problem, and every read is bounded — the file
(:data:`MAX_MAIL_BYTES`), the MIME parts parsed (:data:`MAX_PARTS`), the messages nested
(:data:`MAX_DEPTH`), the attachments judged (:data:`MAX_ATTACHMENTS`), the bytes decoded in all
(:data:`MAX_DECODED_BYTES`) and the messages of an mbox (:data:`MAX_MBOX_MESSAGES`). What is over a
limit is reported with the limit, not dropped.

Text that comes from a message (names, subjects, addresses) may carry line breaks and control
characters — a header injection attempt, or an attachment named to look like something else: it is
kept with every non-printable character written as an escape (``\\x0d``, ``\\u202e``), so it can
never start a new line in a report, a log or the terminal.

:func:`contact_addresses` reads the team's contact list for the sender check (with
:mod:`agreementgen.contacts`, as ``send`` does).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import errors as email_errors
from email.feedparser import BytesFeedParser
from email.header import decode_header, make_header
from email.message import Message as MimePart
from email.policy import compat32
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from .errors import ProblemsFound
from .returns import MAX_RETURN_BYTES

# A returned form is a few hundred KB; NHSmail takes messages of up to 35 MB. A message file over
# this is refused unread (its attachments could not all be returns anyway).
MAX_MAIL_BYTES = 128 * 1024 * 1024
MAX_DEPTH = 3  # messages inside messages: a forward of a forward of a forward
MAX_PARTS = 1_000  # MIME parts parsed in one message, containers and nested messages included
MAX_ATTACHMENTS = 100  # attachments judged from one message; the rest are one rejected record
MAX_DECODED_BYTES = MAX_MAIL_BYTES  # bytes decoded from one message's attachments, nested ones included
MAX_MBOX_MESSAGES = 10_000  # messages read from one mbox file; the rest are one rejected record
MAX_HEADER_CHARS = 8_192  # of one header's value, read for an address, a date or a name
NAME_CHARS = 200  # of an attachment's name as shown
MAIL_SUFFIXES = (".eml", ".mbox", ".msg")
SEPARATOR = " › "  # between a message and what is in it: "reply.eml › signed.pdf"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SIGNATURE_TYPES = frozenset({
    "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature",
})  # fmt: skip
QUIET_LOGGERS = ("extract_msg", "olefile", "RTFDE")
# The header names that say a text is a mail message (two or more of them among its first lines).
_MAIL_HEADERS = frozenset({
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"mime-version", b"received",
    b"return-path", b"delivered-to", b"reply-to", b"sender", b"content-type", b"x-mailer",
})  # fmt: skip
_HEADER_LINE = re.compile(rb"([!-9;-~]+)[ \t]*:")  # a field name (printable ASCII but ':'), then ':'
_MBOX_FROM = re.compile(rb"(?:\A|(?<=\n)\r?\n)From [^\r\n]*\r?\n")  # a From_ line after a blank line
_MBOX_QUOTED = re.compile(rb"^>(>*From )", re.MULTILINE)
_MESSAGE_ID = re.compile(r"<[!-=?-~]{1,250}>")  # <local@domain>: printable ASCII but '<' and '>'
_ANGLE_ADDRESS = re.compile(r"<([^<>\s@]+@[^<>\s@]+)>")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_DAMAGE = {
    email_errors.CloseBoundaryNotFoundDefect: "it ends before its last part does (cut short?)",
    email_errors.StartBoundaryNotFoundDefect: "a part's boundary is missing",
    email_errors.NoBoundaryInMultipartDefect: "a multipart without a boundary",
    email_errors.MissingHeaderBodySeparatorDefect: "a line in its headers is not a header: read up to it",
}
_BASE64_DEFECTS = (
    email_errors.InvalidBase64CharactersDefect,
    email_errors.InvalidBase64PaddingDefect,
    email_errors.InvalidBase64LengthDefect,
)


def _quiet_library_loggers() -> None:
    for name in QUIET_LOGGERS:  # as returns.py does for pypdf and pyHanko
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.propagate = False


_quiet_library_loggers()


@dataclass
class Attachment:
    """One attachment of a message, as bytes to judge as a return.

    ``data`` is everything when ``size`` is within the limit for a return; for a larger one, its
    first bytes only. ``problem`` says why it is not judged (the message's limits); ``notes`` are
    what a person should know about it (the message around it is damaged), each flagging it.
    """

    name: str  # its place in the message: "signed.pdf", "forwarded.eml › signed.pdf"
    data: bytes
    size: int
    problem: str | None = None
    notes: tuple[str, ...] = ()
    identity: str | None = None  # sha256 to record it by when its bytes were not read


@dataclass
class MailMessage:
    """One message: who sent it and when, and its attachments (or why none can be judged)."""

    message_id: str  # the Message-ID header (<…>), or "sha256:" and the digest of the message's bytes
    sha256: str  # of its bytes: the record of a message with nothing to judge
    size: int
    kind: str  # eml / mbox / msg
    source: str = ""  # where it is in the file: "" for the file itself, "message 3" in an mbox
    senders: tuple[str, ...] = ()  # the From address(es), as written
    sent_at: str = ""  # ISO 8601: the Date header, else the mbox or IMAP internal date; "" unknown
    subject: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why it cannot be read at all
    damage: list[str] = field(default_factory=list)  # what is wrong with it: flags every attachment
    not_judged: Counter[str] = field(default_factory=Counter)  # "the message text", "an inline image"

    @property
    def sender(self) -> str:
        return ", ".join(self.senders)


def printable(text: str, limit: int | None = None) -> str:
    """``text`` with every character that could break a line or hide text written as an escape
    (CR ``\\x0d``, LF ``\\x0a``, a right-to-left override ``\\u202e``), cut to ``limit``."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text if text.isprintable() else "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


# --- what a file is ----------------------------------------------------------------------------


def might_be_mail(head: bytes) -> bool:
    """Whether a file starting with ``head`` may be a mail message (read it up to the mail limit)."""
    return head.startswith((OLE_MAGIC, b"From ")) or _looks_like_eml(head)


def mail_kind(data: bytes) -> str | None:
    """``eml``, ``mbox`` or ``msg`` if ``data`` is a mail message (or an mbox of them), else None."""
    if data.startswith(OLE_MAGIC):
        return "msg" if is_outlook_message(data) else None
    if data.startswith(b"From ") and b"\n" in data[:4096]:
        return "mbox"
    return "eml" if _looks_like_eml(data) else None


def not_mail_because(data: bytes) -> str:
    """Why ``data`` (named like a mail file) is not read as one."""
    if data.startswith(OLE_MAGIC):
        return "an OLE file without an Outlook message's properties (an old Word or Excel file?)"
    if not data:
        return "it is empty"
    return "it does not start with mail header lines (From:, Date:, Subject: …)"


def _looks_like_eml(data: bytes) -> bool:
    """RFC 5322: it starts with header lines (``Name: value``, continued by lines starting with white
    space), two or more of them ones a mail message has, before a blank line or a line that is not a
    header (a damaged header: the parser reads the headers up to it, and says so)."""
    names: set[bytes] = set()
    lines = data[:65536].split(b"\n")
    for number, line in enumerate(lines[:-1] if len(lines) > 1 else lines):
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t") and number:
            continue
        found = _HEADER_LINE.match(line)
        if found is None:
            if not number:
                return False
            break
        names.add(found.group(1).lower())
    return len(names & _MAIL_HEADERS) >= 2


def is_outlook_message(data: bytes) -> bool:
    """An OLE compound file with an Outlook message's property streams. Without olefile (it comes with
    extract-msg), or for a damaged compound file, one whose directory names such streams."""
    marker = "__substg1.0_".encode("utf-16-le")
    try:
        import olefile
    except ImportError:
        return data.startswith(OLE_MAGIC) and marker in data
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            names = [entry[0] for entry in ole.listdir(streams=True, storages=True) if len(entry) == 1]
            return ole.exists("__properties_version1.0") and any(n.startswith("__substg1.0_") for n in names)
    except Exception:  # a damaged OLE file: taken for what it says it is, and its reading fails
        return data.startswith(OLE_MAGIC) and marker in data


# --- reading messages --------------------------------------------------------------------------


def read_mail(
    data: bytes, kind: str, *, internal_date: datetime | None = None, refused: str | None = None
) -> Iterator[MailMessage]:
    """Every message in ``data`` (one, or an mbox's many), with its attachments; never raises.

    ``refused`` is why the file itself is not read (over the size limit: ``data`` is its start):
    the message is described from its headers, if it has any, and judged by nothing else.
    """
    if kind == "mbox":
        yield from _read_mbox(data, refused)
        return
    digest = hashlib.sha256(data).hexdigest()
    if refused is not None:
        message = _refused(data, kind, digest, refused)
        if kind == "eml":
            _describe_headers(message, data, internal_date)
        yield message
        return
    yield _read_one(data, kind, digest, internal_date)


def _refused(data: bytes, kind: str, digest: str, why: str) -> MailMessage:
    return MailMessage(f"sha256:{digest}", digest, len(data), kind, problems=[why])


def _read_one(
    data: bytes, kind: str, digest: str, internal_date: datetime | None, source: str = ""
) -> MailMessage:
    message = MailMessage(f"sha256:{digest}", digest, len(data), kind, source=source)
    reader = _Reader(message)
    try:
        if kind == "msg":
            reader.outlook(data, prefix="", depth=0, top=True)
        else:
            parsed = reader.parse(data)
            _describe(message, parsed, internal_date)
            reader.walk(parsed, prefix="", depth=0)
    except (_TooMany, _NotInstalled) as exc:
        message.attachments.clear()
        message.problems.append(str(exc))
        if kind == "eml":  # who sent it and when, from its headers alone
            _describe_headers(message, data, internal_date)
    except RecursionError:
        message.attachments.clear()
        message.problems.append("not a readable message: its parts are nested too deeply to read")
    except Exception as exc:  # a bug in the parser or extract-msg met on this message: its own
        message.attachments.clear()
        message.problems.append(f"not a readable {_KIND_NAMES[kind]}: {_library_message(exc)}")
    reader.finish()
    if not message.sent_at and internal_date is not None:
        message.sent_at = _iso(internal_date)
    return message


_KIND_NAMES = {"eml": "mail message", "msg": "Outlook message (.msg)", "mbox": "mbox file"}


def _library_message(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 160 else text[:159] + "…"
    return printable(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _read_mbox(data: bytes, refused: str | None) -> Iterator[MailMessage]:
    """An mbox: messages after ``From `` lines (each after a blank line, or at the start); a body line
    quoted as ``>From `` is read as ``From `` (mboxrd). Its internal date is the From line's."""
    digest = hashlib.sha256(data).hexdigest()
    if refused is not None:
        yield _refused(data, "mbox", digest, refused)
        return
    starts = [m for m in _MBOX_FROM.finditer(data)]
    for number, found in enumerate(starts, start=1):
        if number > MAX_MBOX_MESSAGES:
            rest = len(starts) - MAX_MBOX_MESSAGES
            why = (
                f"{rest:,} more message(s) in the mbox not opened: over the limit of "
                f"{MAX_MBOX_MESSAGES:,} messages a file (split it)"
            )
            over = hashlib.sha256(b"agreementgen mbox rest:" + digest.encode()).hexdigest()
            rest_of = f"messages {number:,}–{len(starts):,}"
            yield MailMessage(f"sha256:{over}", over, 0, "mbox", source=rest_of, problems=[why])
            return
        end = starts[number].start() if number < len(starts) else len(data)
        from_line = found.group().lstrip(b"\r\n")
        body = _MBOX_QUOTED.sub(rb"\1", data[found.end() : end])
        one = hashlib.sha256(body).hexdigest()
        yield _read_one(body, "eml", one, _mbox_date(from_line), source=f"message {number:,}")


def _mbox_date(from_line: bytes) -> datetime | None:
    """The date on an mbox From line (``From someone@example Tue May 12 10:00:00 2026``: asctime)."""
    words = from_line.decode("latin-1").split()
    for count in (5, 6):  # 6: a time zone before the year, as some writers put it
        try:
            return datetime.strptime(" ".join(words[-count:][:4] + words[-1:]), "%a %b %d %H:%M:%S %Y")
        except ValueError:
            continue
    return None


class _TooMany(Exception):
    """Over a limit that stops the whole message being read (its parts)."""


class _NotInstalled(Exception):
    """extract-msg (the ``outlook`` extra) is needed to read an Outlook message."""


HEAD_BYTES = 1024 * 1024  # kept of an attachment over the limit for a return: its identity on record
MIN_OLE_BYTES = 1536  # the smallest OLE compound file: a header and one sector of each kind


class _Reader:
    """One top-level message being read: its limits are counted across the messages inside it."""

    def __init__(self, message: MailMessage) -> None:
        self.message = message
        self.parts = 0
        self.decoded = 0
        self.over = 0  # attachments past MAX_ATTACHMENTS

    # -- Internet messages --

    def parse(self, data: bytes) -> MimePart:
        """``data`` parsed, counting its parts: over :data:`MAX_PARTS`, the parser is stopped."""

        def counted(policy: Any = compat32) -> MimePart:
            self.parts += 1
            if self.parts > MAX_PARTS + 1:  # the parser makes one to try the factory
                raise _TooMany(
                    f"an attachment bomb? over {MAX_PARTS:,} MIME parts in the message: not opened"
                )
            return MimePart(policy)

        parser = BytesFeedParser(_factory=counted, policy=compat32)
        parser.feed(data)
        return parser.close()

    def walk(self, part: MimePart, prefix: str, depth: int) -> None:
        """Every attachment in ``part``: its leaves, and the messages inside it in turn."""
        for defect in part.defects:
            why = _DAMAGE.get(type(defect))
            if why and why not in self.message.damage:
                self.message.damage.append(why)
        content_type = part.get_content_type()
        if part.is_multipart():
            payload = part.get_payload()
            subparts = payload if isinstance(payload, list) else []
            if content_type == "message/rfc822":
                label = prefix + (_part_name(part) or "(attached message)")
                for inner in subparts[:1]:
                    self.nested(label, depth, lambda at, d, inner=inner: self.walk(inner, at, d))
                return
            for sub in subparts:
                if isinstance(sub, MimePart):
                    self.walk(sub, prefix, depth)
            return
        if content_type.startswith("multipart/"):  # no boundary found: its parts cannot be told apart
            self.message.not_judged["a damaged multipart body"] += 1
            return
        if content_type in SIGNATURE_TYPES:
            self.message.not_judged["a digital signature of the message (not checked)"] += 1
            return
        name = _part_name(part)
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if name is None and disposition != "attachment":
            if content_type.startswith("text/"):
                self.message.not_judged["the message text"] += 1
                return
            if content_type.startswith("image/") and (disposition == "inline" or part.get("Content-ID")):
                self.message.not_judged["an inline image"] += 1
                return
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        notes: tuple[str, ...] = ()
        if any(isinstance(d, _BASE64_DEFECTS) for d in part.defects):
            notes = ("its base64 encoding in the message is damaged: it may be incomplete",)
        label = prefix + (name or f"(attachment {self._count() + 1}, {printable(content_type, 80)})")
        self.add(label, data, depth, notes=notes)

    # -- Outlook messages --

    def outlook(self, data: bytes, prefix: str, depth: int, top: bool = False) -> None:
        try:
            import extract_msg
            from extract_msg.enums import AttachmentType, ErrorBehavior
        except ImportError:
            raise _NotInstalled(
                "an Outlook message (.msg): reading it needs extract-msg, the outlook extra "
                "(pip install 'agreementgen[outlook]')"
            ) from None
        if len(data) < MIN_OLE_BYTES:
            raise ValueError(f"{len(data):,} bytes is too short for an OLE compound file")
        self._count_ole_parts(data)
        tolerant = ErrorBehavior.ATTACH_SUPPRESS_ALL | ErrorBehavior.RTFDE | ErrorBehavior.STANDARDS_VIOLATION
        msg = extract_msg.openMsg(data, delayAttachments=False, errorBehavior=tolerant)
        try:
            self._outlook_message(msg, prefix, depth, top, AttachmentType)
        finally:
            msg.close()

    def _outlook_message(self, msg: Any, prefix: str, depth: int, top: bool, kinds: Any) -> None:
        if top:
            _describe_outlook(self.message, msg)
        if getattr(msg, "body", None):
            self.message.not_judged["the message text"] += 1
        for number, att in enumerate(msg.attachments, start=1):
            kind = att.type
            name = printable(str(att.longFilename or att.shortFilename or att.name or ""), NAME_CHARS)
            label = prefix + (name or f"(attachment {number})")
            if kind == kinds.MSG:
                label = prefix + (name or "(attached message)")
                inner = att.data

                def read_inner(at: str, d: int, inner: Any = inner) -> None:
                    self._outlook_message(inner, at, d, False, kinds)

                self.nested(label, depth, read_inner)
            elif kind != kinds.DATA:
                why = f"an Outlook attachment of a kind that cannot be read ({_kind_name(kinds, kind)})"
                self.add(label, b"", depth, problem=why)
            elif not name and (getattr(att, "hidden", False) or getattr(att, "contentId", None)):
                self.message.not_judged["an inline image"] += 1
            else:
                self.add(label, att.data if isinstance(att.data, bytes) else b"", depth)

    def _count_ole_parts(self, data: bytes) -> None:
        """Before extract-msg opens every attachment: how many entries the compound file holds."""
        import olefile

        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            entries = len(ole.direntries)
        self.parts += entries // 4  # an attachment is a storage and at least three streams
        if self.parts > MAX_PARTS:
            raise _TooMany(f"an attachment bomb? over {MAX_PARTS:,} parts in the Outlook message: not opened")

    # -- what both have --

    def nested(self, label: str, depth: int, read: Any) -> None:
        """A message inside this one, read by ``read(prefix, depth)`` unless it is too deep."""
        if depth + 1 > MAX_DEPTH:
            why = f"a message attached {depth + 1} messages deep: not opened (the limit is {MAX_DEPTH})"
            self.add(label, b"", depth, problem=why)
            return
        read(label + SEPARATOR, depth + 1)

    def add(
        self, name: str, data: bytes, depth: int, *, problem: str | None = None, notes: tuple[str, ...] = ()
    ) -> None:
        """One attachment, to judge; an .eml or .msg attached as a file is a message inside this one."""
        kind = mail_kind(data) if problem is None and data else None
        if kind in ("eml", "msg") and self.decoded + len(data) <= MAX_DECODED_BYTES:
            self.decoded += len(data)
            self.nested(name, depth, lambda at, d: self._nested_bytes(data, kind, at, d))
            return
        if self._count() >= MAX_ATTACHMENTS:
            self.over += 1
            return
        size = len(data)
        if problem is None:
            self.decoded += size
            if self.decoded > MAX_DECODED_BYTES:
                problem = (
                    f"not read: the message's attachments come to over {MAX_DECODED_BYTES:,} bytes in all "
                    "(an attachment bomb?)"
                )
        identity = None
        if problem is not None:
            data = b""
            seed = f"agreementgen attachment not read:{self.message.sha256}:{name}"
            identity = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()
        kept = data if size <= MAX_RETURN_BYTES else data[:HEAD_BYTES]
        self.message.attachments.append(Attachment(name, kept, size, problem, notes, identity))

    def _nested_bytes(self, data: bytes, kind: str | None, prefix: str, depth: int) -> None:
        if kind == "msg":
            self.outlook(data, prefix, depth)
        else:
            self.walk(self.parse(data), prefix, depth)

    def _count(self) -> int:
        return len(self.message.attachments) + self.over

    def finish(self) -> None:
        """The attachments past the limit, as one rejected record."""
        if self.over:
            why = (
                f"{self.over:,} more attachment(s) not opened: over the limit of {MAX_ATTACHMENTS:,} "
                "attachments a message"
            )
            seed = f"agreementgen attachments over:{self.message.sha256}"
            label = f"(attachments {MAX_ATTACHMENTS + 1:,}–{MAX_ATTACHMENTS + self.over:,})"
            identity = hashlib.sha256(seed.encode()).hexdigest()
            self.message.attachments.append(Attachment(label, b"", 0, why, (), identity))


def _kind_name(kinds: Any, kind: Any) -> str:
    try:
        return str(kinds(kind).name).lower()
    except ValueError:
        return f"type {kind}"


def _part_name(part: MimePart) -> str | None:
    """An attachment's file name as sent (RFC 2231 or encoded words), printable; None if it has none."""
    try:
        raw = part.get_filename()
    except Exception:
        raw = None
    if raw is None:
        old = part.get_param("name", header="content-type")  # an old client's way
        raw = old if isinstance(old, str) else None
    if raw is None:
        return None
    name = _header_text(raw)
    return printable(name, NAME_CHARS) or None


def _raw(message: MimePart, name: str) -> list[str]:
    """The values of header ``name``, unfolded, 8-bit bytes read as UTF-8."""
    values = []
    for key, value in message.raw_items():
        if key.lower() == name and isinstance(value, str):
            values.append(_FOLD.sub("", _utf8(value)).strip())
    return values


def _utf8(text: str) -> str:
    """Header text as the parser gave it (each 8-bit byte as a surrogate) read as UTF-8."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _header_text(value: str) -> str:
    """A header's text with its encoded words (=?utf-8?q?…?=) decoded."""
    value = _utf8(value[:MAX_HEADER_CHARS])
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # a damaged encoded word: the text as it is
        return value


def _describe(message: MailMessage, parsed: MimePart, internal_date: datetime | None) -> None:
    message.senders = _addresses(_raw(parsed, "from"))
    subjects = _raw(parsed, "subject")
    message.subject = printable(_header_text(subjects[0]), 500) if subjects else ""
    ids = _raw(parsed, "message-id")
    if ids and _MESSAGE_ID.fullmatch(ids[0]):
        message.message_id = ids[0]
    dates = _raw(parsed, "date")
    message.sent_at = _date(dates[0]) if dates else ""
    if not message.sent_at and internal_date is not None:
        message.sent_at = _iso(internal_date)


def _describe_headers(message: MailMessage, head: bytes, internal_date: datetime | None) -> None:
    """What the headers at the start of a message too large to read say of it."""
    try:
        end = head.find(b"\r\n\r\n") if b"\r\n\r\n" in head else head.find(b"\n\n")
        parser = BytesFeedParser(policy=compat32)
        parser.feed(head[: end if end > 0 else len(head)] + b"\r\n\r\n")
        _describe(message, parser.close(), internal_date)
    except Exception:
        return


def _describe_outlook(message: MailMessage, msg: Any) -> None:
    header = getattr(msg, "header", None)  # the Internet headers it arrived with, if it did
    senders = _addresses(header.get_all("From") or []) if header is not None else ()
    if not senders:
        sender = getattr(msg, "sender", None) or ""
        senders = _addresses([str(sender)]) if sender else ()
    message.senders = senders
    message.subject = printable(str(getattr(msg, "subject", "") or ""), 500)
    msg_id = str(getattr(msg, "messageId", "") or "").strip()
    if _MESSAGE_ID.fullmatch(msg_id):
        message.message_id = msg_id
    dates = (header.get_all("Date") or []) if header is not None else []
    message.sent_at = _date(str(dates[0])) if dates else ""
    if not message.sent_at:  # when it was sent, else when it arrived, as Outlook kept them
        try:
            when = msg.date or getattr(msg, "receivedTime", None)
        except Exception:
            when = None
        message.sent_at = _iso(when) if isinstance(when, datetime) else ""


def _addresses(values: list[str]) -> tuple[str, ...]:
    """The addresses (``local@domain``) in From headers; never a display name."""
    found: list[str] = []
    for value in values:
        value = value[:MAX_HEADER_CHARS]
        try:
            header = default_policy.header_factory("from", value)
            addresses = [a.addr_spec for a in header.addresses]
        except Exception:  # a display name the parser refuses (a line break in it): the <address>
            addresses = _ANGLE_ADDRESS.findall(value) or [
                address for _name, address in getaddresses([value]) if "@" in address
            ]
        for address in addresses:
            shown = printable(address.strip(), 254)
            if shown and shown != "<>" and shown not in found:
                found.append(shown)
    return tuple(found)


def _date(value: str) -> str:
    try:
        return _iso(parsedate_to_datetime(value[:MAX_HEADER_CHARS]))
    except Exception:  # not a date: the caller falls back on the internal date
        return ""


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


# --- the sender check ---------------------------------------------------------------------------


def contact_addresses(path: str | Path) -> dict[str, set[str]]:
    """Each practice's email addresses (ODS code → addresses in lower case) from the team's contacts
    file, read and checked by :func:`agreementgen.contacts.load_contacts` (the file ``send`` uses).
    A file with problems raises them all (``PracticeDataError`` for one, ``ProblemsFound`` for more),
    each naming the file, row and column: the sender check must not run on half a list."""
    from .contacts import load_contacts

    contacts = load_contacts(path)
    if len(contacts.problems) == 1:
        raise contacts.problems[0]
    if contacts.problems:
        summary = f"{path}: {len(contacts.problems)} problems in the contacts file"
        raise ProblemsFound(contacts.problems, summary)
    return {code: {c.address.lower() for c in found} for code, found in contacts.by_code.items() if found}
