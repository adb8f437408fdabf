"""Fetching returns from an IMAP mailbox: each new message taken in by ingest, remembered, left or moved.

``fetch`` logs in to the team's mailbox (``imaps://user@host:993``: TLS from the start; or
``imap://user@host:143``: STARTTLS when the server offers it — a server that does not is refused
unless it is this machine, ``localhost``, where nothing crosses the network), selects the folder
and takes in every message it has not taken before, one at a time, through the same run as
``ingest`` (:func:`agreementgen.ingest.ingest_sources`): each attachment a return, each message in
``mail_in``. The password comes from the environment (:data:`PASSWORD_ENV`), never the command line.

What it has taken is remembered in ``imap_seen`` by mailbox, folder, UIDVALIDITY and UID, once the
message's returns are on record — so a run stopped halfway (the server gone) takes the rest next
time, and a message is never taken twice (a folder whose UIDVALIDITY changed is taken again, and
the records, unique by Message-ID and sha256, change nothing). The messages are left where they are
(read-only: not even marked read) or, with a folder to move them to, moved there once on record:
``MOVE`` where the server has it, else ``COPY``, ``STORE \\Deleted`` and ``EXPUNGE`` (``UID
EXPUNGE`` of just those messages where the server has UIDPLUS). A message taken before and still
in the folder is moved too.

Every failure of the server or the network is a :class:`~agreementgen.errors.MailboxError` before
anything is taken (a bad URL, no answer, a certificate not trusted, the login refused, no such
folder), or, once messages are being taken, the run's ``problem``: what was taken stays on record.
"""

from __future__ import annotations

import base64
import hashlib
import imaplib
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .errors import MailboxError
from .ingest import (
    Contacts,
    FileContents,
    FileOutcome,
    IngestReport,
    Source,
    ingest_sources,
    oversize_contents,
)
from .mailin import MAX_MAIL_BYTES, printable
from .records import Records
from .returns import TrustRoots

PASSWORD_ENV = "AGREEMENTGEN_IMAP_PASSWORD"
TIMEOUT = 60  # seconds the server has to answer each command
HEADER_BYTES = 65536  # of a message too large to take in: its headers, to say what it was
_FETCHED = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE \"([^\"]+)\"")


@dataclass(frozen=True)
class MailboxAddress:
    """Where the mailbox is: ``imaps://user@host:993`` or ``imap://user@host:143``."""

    scheme: str  # imaps (TLS) / imap (STARTTLS, or plain on this machine only)
    user: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{quote(self.user, safe='')}@{self.host}:{self.port}"

    def message_url(self, folder: str, uidvalidity: str, uid: int) -> str:
        """One message, as an IMAP URL names it (RFC 5092): what ingest records as its source."""
        return f"{self}/{quote(folder, safe='')};UIDVALIDITY={uidvalidity}/;UID={uid}"

    def mailbox_key(self, folder: str) -> str:
        """What ``imap_seen`` remembers a folder by: the same over imap:// and imaps://."""
        key = f"{self.user}@{self.host}/{folder}"
        return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def parse_imap_url(url: str) -> MailboxAddress:
    """``imaps://user@host[:port]`` or ``imap://user@host[:port]`` (a ``@`` in the login as ``%40``)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise MailboxError(f"'{printable(url, 80)}' is not an IMAP URL: {exc}", field="--imap") from None
    if parts.scheme not in ("imap", "imaps"):
        raise MailboxError(
            "the mailbox URL must start imaps:// (TLS, port 993) or imap:// (STARTTLS, port 143), "
            f"not '{printable(url, 80)}'",
            field="--imap",
        )
    if parts.password is not None:
        raise MailboxError(
            f"put the password in the environment variable {PASSWORD_ENV}, not in the URL "
            "(a command line is seen by every user of the machine and kept in shell history)",
            field="--imap",
        )
    if not parts.username or not parts.hostname:
        raise MailboxError(
            "give the login and the server: imaps://USER@HOST (a @ in USER as %40)", field="--imap"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MailboxError("give the folder with --folder, not in the URL", field="--imap")
    default = 993 if parts.scheme == "imaps" else 143
    return MailboxAddress(parts.scheme, unquote(parts.username), parts.hostname, port or default)


def plain_allowed(host: str) -> bool:
    """Whether a login without TLS may be sent to ``host``: only to this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class FetchReport:
    """One fetch: the folder, what was in it, what was taken in (``ingest``), moved, and any failure
    after messages began to be taken (``problem``: what was taken is on record)."""

    mailbox: str
    folder: str
    uidvalidity: str = ""
    in_folder: int = 0
    seen_before: int = 0  # messages in the folder taken by an earlier fetch
    taken: int = 0  # messages taken in by this one (their returns on record)
    too_large: int = 0  # of those, messages over the size limit (recorded as rejected, unread)
    vanished: int = 0  # messages gone from the folder before they could be fetched
    moved: int = 0
    move_to: str | None = None
    ingest: IngestReport = field(default_factory=IngestReport)
    problem: str | None = None
    seconds: float = 0.0

    @property
    def all_accepted(self) -> bool:
        return self.problem is None and self.ingest.all_accepted


def fetch(
    address: MailboxAddress,
    folder: str,
    password: str,
    records: Records,
    *,
    move_to: str | None = None,
    scheme_id: str | None = None,
    today: date | None = None,
    trust_roots: TrustRoots | None = None,
    jobs: int = 1,
    contacts: Contacts | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
    on_fetched: Callable[[int, int], None] | None = None,
    timeout: float = TIMEOUT,
) -> FetchReport:
    """Take in every message of ``folder`` not taken before; leave them, or move them to ``move_to``.

    ``on_fetched(done, total)`` is called as each new message is fetched. Raises ``MailboxError``
    if the mailbox cannot be used at all; a failure later is the report's ``problem``.
    """
    start = time.perf_counter()
    report = FetchReport(str(address), folder, move_to=move_to)
    imap = _connect(address, timeout)
    try:
        capabilities = _login(imap, address, password)
        if move_to is not None:
            if move_to == folder:
                raise MailboxError(f"--move-to names the folder fetched from ('{folder}')")
            if not _folder_exists(imap, move_to):
                raise MailboxError(
                    f"no folder '{printable(move_to, 100)}' to move the messages to in {address}: "
                    "create it in the mailbox, or choose another (the folders: " + _folder_list(imap) + ")"
                )  # fmt: skip
        report.uidvalidity = _select(imap, address, folder, readonly=move_to is None)
        key = address.mailbox_key(folder)
        seen = records.imap_seen(key, report.uidvalidity)
        uids = _all_uids(imap)
        new = [uid for uid in uids if uid not in seen]
        report.in_folder, report.seen_before = len(uids), len(uids) - len(new)
        mover = _Mover(imap, move_to, capabilities, report) if move_to is not None else None
        if mover is not None:
            mover.move([uid for uid in uids if uid in seen])  # taken before, not moved then
        messages = _Messages(imap, address, folder, new, report, on_fetched)

        def taken(source: Source) -> None:
            records.mark_imap_seen(key, report.uidvalidity, [source.tag])
            report.taken += 1
            if mover is not None:
                mover.move([source.tag])

        report.ingest = ingest_sources(
            messages, records, scheme_id=scheme_id, today=today, on_file=on_file, on_source=taken,
            trust_roots=trust_roots, jobs=jobs, contacts=contacts,
        )  # fmt: skip
        if mover is not None:
            mover.finish()
    finally:
        _logout(imap)
    report.seconds = time.perf_counter() - start
    return report


def _server_words(exc: BaseException) -> str:
    said = exc.args[0] if exc.args else ""
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    return printable(" ".join(text.split()), 200) or type(exc).__name__


def _connect(address: MailboxAddress, timeout: float) -> imaplib.IMAP4:
    where = f"{address.host}:{address.port}"
    try:
        context = ssl.create_default_context()
        if address.scheme == "imaps":
            return imaplib.IMAP4_SSL(address.host, address.port, ssl_context=context, timeout=timeout)
        imap = imaplib.IMAP4(address.host, address.port, timeout=timeout)
        if "STARTTLS" in imap.capabilities:
            imap.starttls(context)
        elif not plain_allowed(address.host):
            _logout(imap)
            raise MailboxError(
                f"the mail server at {where} does not offer STARTTLS: the password would cross the "
                f"network unencrypted. Use imaps://{address.host} (port 993), or ask for STARTTLS"
            )
        return imap
    except ssl.SSLCertVerificationError as exc:
        raise MailboxError(
            f"the mail server at {where} is not who it should be, or its certificate is not trusted "
            f"here ({printable(str(exc.verify_message), 120)}): check the host name in the URL"
        ) from None
    except ssl.SSLError as exc:
        why = f"TLS with the mail server at {where} failed ({_server_words(exc)})"
        raise MailboxError(why) from None
    except socket.gaierror:
        raise MailboxError(f"cannot find the mail server '{address.host}': check the URL") from None
    except ConnectionRefusedError:
        raise MailboxError(
            f"the mail server at {where} refused the connection: check the URL's port and that the "
            "server is running"
        ) from None
    except TimeoutError:
        why = f"no answer from the mail server at {where} within {timeout:g} s"
        raise MailboxError(why) from None
    except (OSError, imaplib.IMAP4.error) as exc:
        why = f"cannot talk to the mail server at {where}: {_server_words(exc)}"
        raise MailboxError(why) from None


def _login(imap: imaplib.IMAP4, address: MailboxAddress, password: str) -> set[str]:
    """Log in; the capabilities the server has once logged in (MOVE, UIDPLUS…)."""
    try:
        if address.user.isascii() and password.isascii():
            imap.login(address.user, password)
        else:  # LOGIN takes ASCII only; AUTHENTICATE PLAIN takes UTF-8
            imap.authenticate("PLAIN", lambda _: f"\0{address.user}\0{password}".encode())
        typ, data = imap.capability()
    except imaplib.IMAP4.abort as exc:
        raise MailboxError(f"the mail server at {address.host} closed the connection while logging in "
                           f"({_server_words(exc)})") from None  # fmt: skip
    except imaplib.IMAP4.error as exc:
        raise MailboxError(
            f"the mail server refused the login for {printable(address.user, 100)}: "
            f"{_server_words(exc).rstrip('.')}. "
            f"Check the login in the URL and the password in {PASSWORD_ENV}"
        ) from None
    except OSError as exc:
        why = f"the connection to {address.host} failed while logging in ({_server_words(exc)})"
        raise MailboxError(why) from None
    said = (
        b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace") if typ == "OK" else ""
    )
    return {word.upper() for word in said.split()} | set(imap.capabilities)


def _mailbox_name(folder: str) -> str:
    """A folder name as IMAP wants it: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in folder:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    encoded = "".join(out)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _folder_exists(imap: imaplib.IMAP4, folder: str) -> bool:
    try:
        typ, data = imap.list('""', _mailbox_name(folder))
    except imaplib.IMAP4.error:
        return False
    return typ == "OK" and any(d for d in data if d)


def _folder_list(imap: imaplib.IMAP4) -> str:
    try:
        typ, data = imap.list()
    except (imaplib.IMAP4.error, OSError):
        return "cannot be listed"
    names = []
    for line in data if typ == "OK" else []:
        if isinstance(line, bytes):
            found = re.search(rb'\) (?:"[^"]*"|NIL) (.*)$', line)
            if found:
                names.append(printable(found.group(1).decode("utf-8", "replace").strip('"'), 60))
    shown = sorted(names)[:12]
    return ", ".join(shown) + (", …" if len(names) > len(shown) else "") if shown else "none listed"


def _select(imap: imaplib.IMAP4, address: MailboxAddress, folder: str, *, readonly: bool) -> str:
    """Select the folder (read-only when the messages are left); its UIDVALIDITY."""
    try:
        typ, data = imap.select(_mailbox_name(folder), readonly=readonly)
        if typ != "OK":
            raise MailboxError(
                f"no folder '{printable(folder, 100)}' in the mailbox of {printable(address.user, 100)} "
                f"({_server_words(imaplib.IMAP4.error(data[-1] if data else b''))}); the folders: "
                + _folder_list(imap)
            )
        _, values = imap.response("UIDVALIDITY")
    except (imaplib.IMAP4.abort, OSError) as exc:
        why = f"the mail server at {address.host} stopped answering ({_server_words(exc)})"
        raise MailboxError(why) from None
    except imaplib.IMAP4.error as exc:
        why = f"cannot open the folder '{printable(folder, 100)}': {_server_words(exc)}"
        raise MailboxError(why) from None
    value = values[-1] if values and isinstance(values[-1], bytes) else b""
    return value.decode("ascii", "replace").strip() or "0"


def _all_uids(imap: imaplib.IMAP4) -> list[int]:
    try:
        typ, data = imap.uid("SEARCH", "ALL")
    except (imaplib.IMAP4.error, OSError) as exc:
        raise MailboxError(f"cannot list the messages in the folder: {_server_words(exc)}") from None
    words = b" ".join(d for d in data if isinstance(d, bytes)).split() if typ == "OK" else []
    return sorted(int(w) for w in words if w.isdigit())


class _Messages:
    """The new messages of the folder, fetched one at a time (their size and arrival first), as
    sources for ingest. A failure of the server ends them; the report says why."""

    def __init__(
        self,
        imap: imaplib.IMAP4,
        address: MailboxAddress,
        folder: str,
        uids: list[int],
        report: FetchReport,
        on_fetched: Callable[[int, int], None] | None,
    ) -> None:
        self.imap, self.address, self.folder, self.uids = imap, address, folder, uids
        self.report, self.on_fetched = report, on_fetched
        self.fetched = 0

    def __iter__(self) -> Iterator[Source]:
        try:
            sizes = self._sizes()
            for done, uid in enumerate(self.uids, start=1):
                if uid not in sizes:  # expunged by someone else since the search
                    self.report.vanished += 1
                    continue
                size, arrived = sizes[uid]
                source = self._message(uid, size, arrived)
                if self.on_fetched:
                    self.on_fetched(done, len(self.uids))
                if source is None:
                    self.report.vanished += 1
                    continue
                self.fetched += 1
                yield source
        except (imaplib.IMAP4.error, OSError) as exc:
            self.report.problem = self.report.problem or (
                f"the mail server failed after {self.fetched:,} message(s) were fetched "
                f"({_server_words(exc)}): those are on record; run fetch again to take the rest"
            )

    def _sizes(self) -> dict[int, tuple[int, datetime | None]]:
        if not self.uids:
            return {}
        found: dict[int, tuple[int, datetime | None]] = {}
        for chunk in (self.uids[i : i + 500] for i in range(0, len(self.uids), 500)):
            typ, data = self.imap.uid("FETCH", ",".join(map(str, chunk)), "(RFC822.SIZE INTERNALDATE)")
            if typ != "OK":
                raise imaplib.IMAP4.error(data[-1] if data else b"FETCH refused")
            for line in data:
                if isinstance(line, tuple):
                    line = line[0]
                if not isinstance(line, bytes):
                    continue
                uid = size = None
                arrived: datetime | None = None
                for match in _FETCHED.finditer(line):
                    if match.group(1):
                        uid = int(match.group(1))
                    elif match.group(2):
                        size = int(match.group(2))
                    elif match.group(3):
                        arrived = _internal_date(match.group(3))
                if uid is not None and size is not None:
                    found[uid] = (size, arrived)
        return found

    def _message(self, uid: int, size: int, arrived: datetime | None) -> Source | None:
        name = self.address.message_url(self.folder, self.report.uidvalidity, uid)
        if size > MAX_MAIL_BYTES:  # not taken in: described by its headers, recorded as rejected
            self.report.too_large += 1
            head = self._fetch(uid, f"(BODY.PEEK[HEADER]<0.{HEADER_BYTES}>)")
            if head is None:
                return None
            contents = oversize_contents(size, head, MAX_MAIL_BYTES, "a mail message", thing="message",
                                         keep_head=True)  # fmt: skip
            return Source(name, contents, mail=True, internal_date=arrived, tag=uid)
        data = self._fetch(uid, "(BODY.PEEK[])")
        if data is None:
            return None
        contents = FileContents(data, len(data), hashlib.sha256(data).hexdigest())
        return Source(name, contents, mail=True, internal_date=arrived, tag=uid)

    def _fetch(self, uid: int, what: str) -> bytes | None:
        typ, data = self.imap.uid("FETCH", str(uid), what)
        if typ != "OK":
            raise imaplib.IMAP4.error(data[-1] if data else b"FETCH refused")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1][:MAX_MAIL_BYTES]
        return None


def _internal_date(text: bytes) -> datetime | None:
    try:
        return datetime.strptime(text.decode("ascii").strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


class _Mover:
    """Moves messages on record to the folder asked for: MOVE, else COPY + \\Deleted (+ EXPUNGE). A
    failure stops the moving (the report says why); the messages stay on record, and the next fetch
    with --move-to moves them."""

    def __init__(self, imap: imaplib.IMAP4, folder: str, capabilities: set[str], report: FetchReport) -> None:
        self.imap, self.folder, self.report = imap, _mailbox_name(folder), report
        self.has_move = "MOVE" in capabilities
        self.has_uidplus = "UIDPLUS" in capabilities
        self.deleted: list[int] = []
        self.failed = False

    def move(self, uids: list[int]) -> None:
        if not uids or self.failed:
            return
        uid_set = ",".join(map(str, uids))
        try:
            if self.has_move:
                self._ok(self.imap.uid("MOVE", uid_set, self.folder))
            else:
                self._ok(self.imap.uid("COPY", uid_set, self.folder))
                self._ok(self.imap.uid("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)"))
                self.deleted += uids
        except (imaplib.IMAP4.error, OSError) as exc:
            self._failed(f"could not move message(s) to the folder ({_server_words(exc)})")
            return
        self.report.moved += len(uids)

    def finish(self) -> None:
        """Expunge what was copied and marked deleted: just those messages where the server can."""
        if not self.deleted or self.failed:
            return
        try:
            if self.has_uidplus:
                self._ok(self.imap.uid("EXPUNGE", ",".join(map(str, self.deleted))))
            else:  # every message marked deleted in the folder goes, as any mail program's expunge would
                self._ok(self.imap.expunge())
        except (imaplib.IMAP4.error, OSError) as exc:
            self._failed(f"the messages were copied but not removed from the folder ({_server_words(exc)})")

    def _failed(self, why: str) -> None:
        self.failed = True
        if self.report.problem is None:
            self.report.problem = (
                f"{why}: the messages taken are on record; the next fetch with --move-to moves them"
            )

    @staticmethod
    def _ok(result: tuple[str, list[Any]]) -> None:
        typ, data = result
        if typ != "OK":
            raise imaplib.IMAP4.error(data[-1] if data else b"refused")


def _logout(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except Exception:  # already gone: nothing to tidy
        try:
            imap.shutdown()
        except Exception:
            return
