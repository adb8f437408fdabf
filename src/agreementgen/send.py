"""Sending the packs by email: composing each practice's message, the outbox, SMTP, and the record.

``send`` gives each practice ONE message carrying its own issued documents (the current revision
of each, in the formats asked), with the subject and body from the email templates
(:mod:`agreementgen.render.email`). Guarantees:

* **The files attached are the files issued.** Each is read from the packs folder (``generate
  --out``: the register keeps paths relative to it) and its sha256 compared with the register's;
  a file missing or changed since issue is refused, and nothing is sent to that practice.
* **A revision goes once.** A document revision that a message already took to the practice
  (outcome ``sent``, or ``outbox``: written for Outlook to send) is not sent again unless
  ``resend``. A ``temporary`` failure is tried again next run; a ``refused`` message is tried again
  once the practice's addresses in the contacts file change (or with ``resend``), and listed
  as ``refused before`` until then.
* **Every message is an event** in the ``messages`` table (:meth:`Records.record_message`):
  Message-ID, practice, recipients, documents and revisions, subject, time, outcome, the server's
  reply, the ``.eml`` written. A dry run composes everything, then writes and records nothing.
* **Headers are built by the standard library** (``email.message.EmailMessage``, default policy),
  from validated addresses; the subject is one line whatever the practice's name holds
  (:func:`agreementgen.render.email.one_line`), so no value can add a header.

Delivery goes to an :class:`Outbox` (standard RFC 5322 ``.eml`` files, MIME multipart, marked
``X-Unsent: 1`` so Outlook opens each as a draft ready to send; no server needed) or through an
:class:`SmtpRelay` (``smtp://`` STARTTLS, ``smtps://`` implicit TLS; the password only from
``$AGREEMENTGEN_SMTP_PASSWORD``). A 4xx reply is ``temporary``; a 5xx reply, or every recipient
refused, is ``refused`` with the server's words; recipients refused while others accepted are
listed with the ``sent`` message. ``remind`` (:mod:`agreementgen.remind`) composes and delivers
its messages with the same pieces.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from .contacts import Contact, Contacts, check_address
from .context import Context, commissioner_context, long_date, scheme_identity
from .errors import AgreementgenError, MailError, OutputError
from .kinds import KINDS, get_kind
from .records import DELIVERED, IssuedDocument, MessageRecord, Records
from .render.email import EmailTemplate, RenderedEmail, one_line
from .resources import bundled
from .scheme import Scheme
from .services import ServiceScheme

AnyScheme = Scheme | ServiceScheme
PASSWORD_ENV = "AGREEMENTGEN_SMTP_PASSWORD"
ATTACH_FORMATS = ("pdf", "docx")
MIME_TYPES = {
    "pdf": ("application", "pdf"),
    "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
}
SMTP_PORTS = {"smtp": 587, "smtps": 465, "smtp+insecure": 25}
# What a practice's line in the report says when no message went, besides a delivery's outcome.
NOT_SENT = ("already sent", "refused before", "no address", "contacts problem", "file problem", "not issued",
            "not sent")  # fmt: skip
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def email_templates() -> Path:
    """The bundled email templates: ``templates/email/``."""
    return bundled("templates") / "email"


def family(kind: str, documents: Iterable[IssuedDocument]) -> list[IssuedDocument]:
    """The documents of a kind or family (``sla`` is every ``sla_*``; ``claim`` every quarter)."""
    return [d for d in documents if d.kind.split("_q")[0].startswith(kind)]


# --- composing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    name: str  # the file name the practice sees: D81001-section7.pdf
    format: str
    data: bytes
    doc_id: str


@dataclass
class Outgoing:
    """One practice's message, composed, not yet delivered."""

    purpose: str  # send / remind
    practice_code: str
    practice_name: str
    message: EmailMessage
    sender: str
    recipients: list[str]
    documents: list[tuple[str, int]]  # (document id, revision)
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


def document_title(kind: str) -> str:
    """A document kind's title: ``sla_universal_offer`` is a service level agreement."""
    base = kind.split("_")[0]
    return KINDS[base].title if base in KINDS else kind


def email_context(
    spec: AnyScheme,
    documents: Sequence[IssuedDocument],
    recipients: Sequence[Contact],
    sender: str,
    attachments: Sequence[Attachment] = (),
) -> Context:
    """What an email template receives: the documents' own ``scheme``, ``commissioner`` and
    ``practice`` blocks (the practice as it was issued), the ``documents`` the message is about,
    its ``attachments``, ``recipients`` and ``sender``."""
    first = documents[0]
    deadline = spec.sign_up_deadline
    return {
        "scheme": {
            **scheme_identity(spec, first.kind.split("_")[0]),
            "sign_up_deadline": long_date(deadline) if deadline else "",
            "sign_up_deadline_iso": deadline.isoformat() if deadline else "",
        },
        "commissioner": commissioner_context(spec),
        "practice": dict(first.practice),
        "documents": [
            {
                "id": d.doc_id,
                "kind": d.kind,
                "title": document_title(d.kind),
                "revision": d.revision,
                "reference": f"{spec.id} v{spec.version} · {d.practice_code} · {d.kind}",
                "terms": dict(d.terms),
            }
            for d in documents
        ],
        "attachments": [
            {"name": a.name, "format": a.format, "size": _size(len(a.data))} for a in attachments
        ],
        "recipients": [{"name": c.name, "address": c.address, "role": c.role} for c in recipients],
        "sender": sender,
    }


def _size(n: int) -> str:
    return f"{n / 1024:,.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.1f} MB"


def example_context(spec: AnyScheme, kind: str, purpose: str) -> Context:
    """An email context for checking templates (``check-template``): the kind's example practice."""
    example = get_kind(kind).example(spec)
    code = str(example["practice"]["code"])
    document = IssuedDocument(
        doc_id=example["document"]["id"], scheme_id=spec.id, scheme_version=spec.version,
        practice_code=code, practice_name=str(example["practice"]["name"]), kind=example["document"]["kind"],
        terms=dict(example.get("terms", {})), terms_digest=example["document"].get("terms_digest", ""),
        practice=example["practice"],
    )  # fmt: skip
    contact = Contact(
        code, f"{code.lower()}@practices.example.nhs.uk", "Practice Manager", "practice manager"
    )
    files = [Attachment(f"{code}-{document.kind}.{fmt}", fmt, b"", document.doc_id) for fmt in ATTACH_FORMATS]
    sender = spec.commissioner.return_email or "contracts@commissioner.example.nhs.uk"
    context = email_context(spec, [document], [contact], sender, files if purpose == "send" else [])
    if purpose == "remind":
        context = reminder_context(
            context, [("flagged", ["the list size was changed"], "D81001.pdf")], 1, 3, ""
        )
    return context


def reminder_context(
    context: Context, chased: Sequence[tuple[str, list[str], str]], number: int, maximum: int, until: str
) -> Context:
    """A send context made a reminder's: each document's ``state``, ``reasons`` and ``last_return``
    (the file it came back as), and ``reminder`` (which one this is, of how many at most, and the
    cut-off date, if any)."""
    for document, (state, reasons, last_return) in zip(context["documents"], chased, strict=True):
        document.update({"state": state, "reasons": list(reasons), "last_return": last_return})
    context["reminder"] = {
        "number": number,
        "max": maximum,
        "until": until,
        "flagged": any(state != "not returned" for state, _, _ in chased),
    }
    return context


def compose(
    purpose: str,
    code: str,
    name: str,
    rendered: RenderedEmail,
    sender: str,
    recipients: Sequence[Contact],
    documents: Sequence[tuple[str, int]],
    attachments: Sequence[Attachment] = (),
    reply_to: str | None = None,
    now: datetime | None = None,
) -> Outgoing:
    """A message built by the standard library from checked parts (see the module docstring)."""
    message = EmailMessage()  # the default policy: a header value with a line break is refused
    message["From"] = Address(addr_spec=sender)
    message["To"] = [Address(display_name=one_line(c.name), addr_spec=c.address) for c in recipients]
    if reply_to and reply_to.lower() != sender.lower():
        message["Reply-To"] = Address(addr_spec=reply_to)
    message["Subject"] = one_line(rendered.subject)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = make_msgid(idstring=f"{purpose}.{_UNSAFE_NAME.sub('', code)}",
                                       domain=sender.rsplit("@", 1)[1])  # fmt: skip
    # Quoted-printable keeps the message 7-bit: any relay takes it, and accents survive.
    message.set_content(rendered.text, cte="quoted-printable")
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    for item in attachments:
        maintype, subtype = MIME_TYPES[item.format]
        message.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.name)
    addresses = list(dict.fromkeys(c.address for c in recipients))
    return Outgoing(purpose, code, name, message, sender, addresses, list(documents), list(attachments))


def read_attachments(
    documents: Sequence[IssuedDocument], packs: Path, formats: Sequence[str]
) -> tuple[list[Attachment], list[str]]:
    """The issued files of ``documents`` in ``formats``, each checked against its sha256 on record;
    and every reason one cannot be attached (missing, changed since issue, none issued)."""
    found: list[Attachment] = []
    problems: list[str] = []
    for doc in documents:
        files = {f.format: f for f in doc.files}
        wanted = [files[fmt] for fmt in formats if fmt in files]
        if not wanted:
            problems.append(f"{doc.doc_id}: no {' or '.join(formats)} file was issued")
        for issued in wanted:
            relative = Path(issued.path)
            if relative.is_absolute() or ".." in relative.parts:  # the register names files under --out
                problems.append(f"{doc.doc_id}: '{issued.path}' is not a path inside the packs folder")
                continue
            try:
                data = (packs / relative).read_bytes()
            except FileNotFoundError:
                problems.append(f"{issued.path}: not in {packs} (give the folder `generate --out` wrote)")
                continue
            except OSError as exc:
                problems.append(f"{issued.path}: cannot read it ({exc.strerror})")
                continue
            if hashlib.sha256(data).hexdigest() != issued.sha256:
                problems.append(
                    f"{issued.path} changed since it was issued (its sha256 is not the register's): "
                    "refused; restore the issued file, or issue it again with generate --reissue"
                )
                continue
            name = _UNSAFE_NAME.sub("_", f"{doc.practice_code}-{doc.kind}.{issued.format}")
            found.append(Attachment(name, issued.format, data, doc.doc_id))
    return found, problems


# --- delivering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    outcome: str  # outbox / sent / temporary / refused
    reply: str = ""  # the server's words
    path: str = ""  # the .eml written
    refused: tuple[str, ...] = ()  # recipients the server refused while it took the message for others


class Transport(Protocol):
    def open(self) -> None: ...
    def deliver(self, outgoing: Outgoing) -> Delivery: ...
    def close(self) -> None: ...


class Outbox:
    """A folder of ``.eml`` files, one per message, for Outlook (or any mail program) to send."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot make the outbox folder: {exc.strerror}", path=self.folder) from exc

    def deliver(self, outgoing: Outgoing) -> Delivery:
        # Outlook opens a message marked unsent as a draft, with a Send button, rather than as mail received.
        outgoing.message["X-Unsent"] = "1"
        data = outgoing.message.as_bytes(policy=policy.SMTP)
        stem = f"{_UNSAFE_NAME.sub('', outgoing.practice_code)}-{outgoing.purpose}"
        for n in range(1, 10_000):
            path = self.folder / (f"{stem}.eml" if n == 1 else f"{stem}-{n}.eml")
            try:
                with open(path, "xb") as fh:  # never overwrites: a resend is a file of its own
                    fh.write(data)
            except FileExistsError:
                continue
            except OSError as exc:
                raise OutputError(f"cannot write: {exc.strerror}", path=path) from exc
            return Delivery("outbox", path=str(path))
        raise OutputError(f"too many messages for {stem} in the outbox", path=self.folder)

    def close(self) -> None:
        pass


class SmtpRelay:
    """An SMTP server: ``smtp://[user@]host[:587]`` (STARTTLS, required), ``smtps://[user@]host[:465]``
    (implicit TLS) or ``smtp+insecure://host[:25]`` (no encryption and no login: a relay on this machine).

    The password comes from ``$AGREEMENTGEN_SMTP_PASSWORD`` (``password``), never the URL or the command
    line. Certificates are checked against the system's trusted authorities (``SSL_CERT_FILE`` names
    another bundle, e.g. a trust's own certificate authority).
    """

    def __init__(
        self,
        url: str,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 60.0,
    ) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower()
        self.url = url
        if self.scheme not in SMTP_PORTS:
            raise MailError(
                f"'{url}' is not an SMTP URL: give smtp://user@host:587 (STARTTLS) or smtps://user@host:465",
                field="--smtp",
            )
        if parts.password is not None:
            raise MailError(f"put the password in ${PASSWORD_ENV}, not in the URL", field="--smtp")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if not parts.hostname or port == -1:
            raise MailError(
                f"'{url}' names no server (or a bad port): e.g. smtp://user@host:587", field="--smtp"
            )
        self.host, self.port = parts.hostname, port or SMTP_PORTS[self.scheme]
        self.user = unquote(parts.username) if parts.username else None
        if self.user and self.scheme == "smtp+insecure":
            raise MailError(
                "a login is never sent unencrypted: use smtp:// (STARTTLS) or smtps://", field="--smtp"
            )
        if self.user and not password:
            raise MailError(f"the login {self.user} needs its password in ${PASSWORD_ENV}", field="--smtp")
        self.password = password
        self.context = ssl_context or ssl.create_default_context()
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.scheme}://{self.user + '@' if self.user else ''}{self.host}:{self.port}"

    def open(self) -> None:
        try:
            if self.scheme == "smtps":
                self.smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.context)
            else:
                self.smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            self.smtp.ehlo()
            if self.scheme == "smtp":
                if not self.smtp.has_extn("starttls"):
                    raise MailError(
                        f"{self.where} does not offer STARTTLS, so the packs would cross the network "
                        "unencrypted: ask for the relay's TLS port, or use smtps://",
                        field="--smtp",
                    )
                self.smtp.starttls(context=self.context)
                self.smtp.ehlo()
            if self.user and self.password:
                self.smtp.login(self.user, self.password)
        except MailError:
            self.close()
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise MailError(f"{self.where} refused the login ({_reply(exc.smtp_code, exc.smtp_error)}): "
                            f"check the user name and ${PASSWORD_ENV}", field="--smtp") from exc  # fmt: skip
        except ssl.SSLCertVerificationError as exc:
            self.close()
            why = f"{self.where}'s certificate is not trusted ({exc.verify_message})"
            raise MailError(
                f"{why}; name a trust's own authority with SSL_CERT_FILE", field="--smtp"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(f"cannot send through {self.where}: {_brief(exc)}", field="--smtp") from exc

    def deliver(self, outgoing: Outgoing) -> Delivery:
        if self.smtp is None:  # after a lost connection: connect again (MailError if that fails)
            self.open()
        smtp = self.smtp
        assert smtp is not None
        data = outgoing.message.as_bytes(policy=policy.SMTP)
        try:
            code, text = smtp.mail(outgoing.sender)
            if code != 250:
                return self._failed(code, text)
            refused: dict[str, str] = {}
            codes = []
            for recipient in outgoing.recipients:
                code, text = smtp.rcpt(recipient)
                if code not in (250, 251):
                    refused[recipient] = _reply(code, text)
                    codes.append(code)
            if len(refused) == len(outgoing.recipients):
                smtp.rset()
                outcome = "temporary" if all(400 <= c < 500 for c in codes) else "refused"
                return Delivery(outcome, "; ".join(f"{r}: {why}" for r, why in refused.items()))
            code, text = smtp.data(data)
            if code != 250:
                return self._failed(code, text)
            return Delivery(
                "sent", _reply(code, text), refused=tuple(f"{r}: {w}" for r, w in refused.items())
            )
        except smtplib.SMTPResponseException as exc:  # SMTPDataError and its kin: the server said no
            return self._failed(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:  # the connection dropped: try again next run
            self.close()
            return Delivery("temporary", f"the connection to {self.where} was lost: {_brief(exc)}")

    def _failed(self, code: int, text: bytes | str) -> Delivery:
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()
        return Delivery("temporary" if 400 <= code < 500 else "refused", _reply(code, text))

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return one_line(f"{code} {words}")


def _brief(exc: BaseException) -> str:
    text = one_line(str(exc)) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


class Throttle:
    """At most ``per_minute`` messages a minute (None: as fast as the server takes them)."""

    def __init__(
        self,
        per_minute: int | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.clock, self.sleep = clock, sleep
        self.last: float | None = None

    def wait(self) -> None:
        if self.interval and self.last is not None:
            delay = self.last + self.interval - self.clock()
            if delay > 0:
                self.sleep(delay)
        self.last = self.clock()


# --- a run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PracticeOutcome:
    """What became of one practice in a run: a delivery's outcome, ``dry-run``, or why none went."""

    practice_code: str
    practice_name: str
    outcome: str  # outbox / sent / temporary / refused / dry-run, or one of NOT_SENT
    recipients: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    subject: str = ""
    detail: str = ""  # the server's reply, the .eml written, or why nothing went
    refused: tuple[str, ...] = ()  # recipients refused while the others got it
    attachments: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


@dataclass
class MailReport:
    """A ``send`` or ``remind`` run: one line per practice in scope."""

    outcomes: list[PracticeOutcome] = field(default_factory=list)
    contact_problems: list[AgreementgenError] = field(default_factory=list)
    stopped: str = ""  # why nothing went at all (a reminder cut-off passed)

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.outcome for o in self.outcomes)

    @property
    def messages(self) -> list[PracticeOutcome]:
        """The practices a message was made for (delivered or not)."""
        return [o for o in self.outcomes if o.outcome not in NOT_SENT and o.subject]

    @property
    def all_done(self) -> bool:
        """Every practice in scope got its message (or had it already); no contacts problem."""
        good = {"outbox", "sent", "dry-run", "already sent", *DONE_WITHOUT_MESSAGE}
        return not self.contact_problems and all(o.outcome in good and not o.refused for o in self.outcomes)


# Reasons ``remind`` sends nothing to a practice that are the rules working, not problems.
DONE_WITHOUT_MESSAGE = ("too soon", "maximum reached", "cut-off passed")


@dataclass(frozen=True)
class SendOptions:
    kind: str  # a document kind or family: section7, sla, sla_<contract>, claim
    packs: Path  # the folder `generate --out` wrote: the register's paths are relative to it
    sender: str
    practices: tuple[str, ...] = ()  # only these (none: every practice issued the kind)
    attach: tuple[str, ...] = ATTACH_FORMATS
    resend: bool = False
    dry_run: bool = False
    per_minute: int | None = None
    templates: Path | None = None  # the folder of send.txt (default: templates/email/)
    by: str = ""


def checked_sender(address: str, option: str = "--from") -> str:
    try:
        return check_address(address)
    except ValueError as exc:
        raise MailError(f"the sender: {exc}", field=option) from None


def no_message(
    code: str, name: str, outcome: str, detail: str, documents: Iterable[str] = ()
) -> PracticeOutcome:
    return PracticeOutcome(code, name, outcome, documents=tuple(documents), detail=detail)


def who_to(contacts: Contacts, code: str, name: str, documents: list[str]) -> PracticeOutcome | list[Contact]:
    """The practice's recipients, or the outcome saying why it has none."""
    if code in contacts.held:
        rows = ", ".join(str(r) for r in contacts.held[code])
        detail = f"its contacts have a problem ({contacts.path}, row {rows}): fix the file and run again"
        return no_message(code, name, "contacts problem", detail, documents)
    found = contacts.recipients(code)
    if not found:
        listed = "listed without an address in" if code in contacts.blank else "not in"
        return no_message(code, name, "no address", f"{listed} {contacts.path}", documents)
    return found


def send(
    spec: AnyScheme,
    records: Records,
    contacts: Contacts,
    transport: Transport | None,
    options: SendOptions,
    on_message: Callable[[PracticeOutcome], None] | None = None,
    now: datetime | None = None,
) -> MailReport:
    """Each practice's one message with its issued documents (see the module docstring).
    ``transport`` None is a dry run's: nothing written, nothing recorded."""
    sender = checked_sender(options.sender)
    template = EmailTemplate(options.templates or email_templates(), "send")
    report = MailReport(contact_problems=list(contacts.problems))
    issued = family(options.kind, records.issued_documents(spec.id))
    wanted = {c.upper() for c in options.practices}
    by_practice: dict[str, list[IssuedDocument]] = {}
    for doc in issued:
        if not wanted or doc.practice_code in wanted:
            by_practice.setdefault(doc.practice_code, []).append(doc)
    for code in sorted(wanted - set(by_practice)):
        report.outcomes.append(
            no_message(code, "", "not issued", f"no {options.kind} document was issued to {code}")
        )
    done: set[tuple[str, int]] = set()
    last: dict[tuple[str, int], dict[str, Any]] = {}  # each revision's latest message, oldest first
    for m in records.messages_for(spec.id, kind="send"):
        for d in m["documents"]:
            last[(d["doc_id"], d["revision"])] = m
            if m["outcome"] in DELIVERED:
                done.add((d["doc_id"], d["revision"]))
    planned: list[Outgoing] = []
    for code in sorted(by_practice):
        found = [records.issued_document(d.doc_id) for d in by_practice[code]]
        current = [doc for doc in found if doc is not None]
        name = current[0].practice_name if current else ""
        todo = [d for d in current if options.resend or (d.doc_id, d.revision) not in done]
        ids = [d.doc_id for d in todo]
        if not todo:
            revisions = ", ".join(f"{d.doc_id} r{d.revision}" for d in current)
            report.outcomes.append(
                no_message(code, name, "already sent", f"{revisions} (--resend sends again)")
            )
            continue
        recipients = who_to(contacts, code, name, ids)
        if isinstance(recipients, PracticeOutcome):
            report.outcomes.append(recipients)
            continue
        tried = [last.get((d.doc_id, d.revision)) for d in todo]
        addresses = sorted(c.address for c in recipients)
        if not options.resend and all(m and m["outcome"] == "refused" and sorted(m["recipients"]) == addresses
                                      for m in tried):  # fmt: skip
            # The server refused these very addresses for good: asking again would only be refused again.
            detail = f"{tried[-1]['reply'] if tried[-1] else ''}; fix its address in the contacts file"
            report.outcomes.append(no_message(code, name, "refused before", detail, ids))
            continue
        attachments, problems = read_attachments(todo, options.packs, options.attach)
        if problems:
            report.outcomes.append(no_message(code, name, "file problem", "; ".join(problems), ids))
            continue
        rendered = template.render(email_context(spec, todo, recipients, sender, attachments))
        planned.append(compose("send", code, name, rendered, sender, recipients,
                               [(d.doc_id, d.revision) for d in todo], attachments,
                               spec.commissioner.return_email, now))  # fmt: skip
    report.outcomes += deliver_all(spec.id, planned, records, transport, options.per_minute, options.by, now,
                                   on_message)  # fmt: skip
    report.outcomes.sort(key=lambda o: o.practice_code)
    return report


def deliver_all(
    scheme_id: str,
    planned: Sequence[Outgoing],
    records: Records,
    transport: Transport | None,
    per_minute: int | None,
    by: str,
    now: datetime | None,
    on_message: Callable[[PracticeOutcome], None] | None,
) -> list[PracticeOutcome]:
    """Deliver each message and record it as it goes (so an interrupted run loses none); a
    transport that fails outright stops the run, the rest left to be tried next time."""
    outcomes: list[PracticeOutcome] = []

    def line(out: Outgoing, outcome: str, detail: str, refused: tuple[str, ...] = ()) -> PracticeOutcome:
        return PracticeOutcome(out.practice_code, out.practice_name, outcome, tuple(out.recipients),
                               tuple(d for d, _ in out.documents), out.subject, detail, refused,
                               tuple(a.name for a in out.attachments))  # fmt: skip

    if transport is None:
        for out in planned:
            outcomes.append(line(out, "dry-run", ""))
            if on_message:
                on_message(outcomes[-1])
        return outcomes
    if not planned:
        return outcomes
    throttle = Throttle(None if isinstance(transport, Outbox) else per_minute)  # files need no pacing
    transport.open()
    try:
        for n, out in enumerate(planned):
            throttle.wait()
            try:
                delivery = transport.deliver(out)
            except MailError as exc:  # the server went away for good: none of the rest is tried
                outcomes += [line(o, "not sent", f"{exc} (tried again next run)") for o in planned[n:]]
                break
            reply = "; ".join([delivery.reply, *(f"refused {r}" for r in delivery.refused)]).strip("; ")
            record = MessageRecord(out.message_id, out.purpose, scheme_id, out.practice_code,
                                   tuple(out.recipients), tuple(out.documents), out.subject, delivery.outcome,
                                   reply, delivery.path, by)  # fmt: skip
            records.record_message(record, at=now.isoformat() if now else None)
            outcomes.append(line(out, delivery.outcome, delivery.path or delivery.reply, delivery.refused))
            if on_message:
                on_message(outcomes[-1])
    finally:
        transport.close()
    return outcomes


def transport_for(
    outbox: Path | None, smtp: str | None, dry_run: bool, ssl_context: ssl.SSLContext | None = None
) -> Transport | None:
    """The transport the options ask for: none for a dry run, an SMTP relay, or the outbox folder."""
    if smtp is not None:
        relay = SmtpRelay(smtp, os.environ.get(PASSWORD_ENV) or None, ssl_context)
        return None if dry_run else relay
    if dry_run:
        return None
    assert outbox is not None
    return Outbox(outbox)


__all__ = [
    "ATTACH_FORMATS",
    "PASSWORD_ENV",
    "Attachment",
    "Delivery",
    "MailReport",
    "Outbox",
    "Outgoing",
    "PracticeOutcome",
    "SendOptions",
    "SmtpRelay",
    "Throttle",
    "compose",
    "email_context",
    "example_context",
    "read_attachments",
    "send",
]
