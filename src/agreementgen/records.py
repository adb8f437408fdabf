"""The records store: SQLAlchemy Core over SQLite by default, any SQLAlchemy URL for a team.

It owns the database schema and every read/write of it:

* the **issued register** — each issued document (its id, scheme and version,
  practice, kind, the issued terms and their digest, the practice data it was made
  from, its current revision) and the files rendered for it (format, path, sha256,
  template sha256); and, append-only, every **revision** of it: its terms, its wording
  (:mod:`agreementgen.wording`), its files, why it was reissued and when it was superseded;
* **returns** — one row per returned file ever ingested (sha256-unique, so ingesting
  the same bytes twice changes nothing), with its status, every reason, the entries
  read from it, the signature kind, the digital signature's check and whether it was late;
* **scheme rules** — per scheme, its sign-up deadline and its rules for returns
  (:class:`agreementgen.scheme.ReturnRules`), put there by ``generate`` so that ``ingest``
  applies them without being given the spec;
* **sign-ups** — the current accepted return per scheme, practice and document kind. A newer
  accepted return supersedes the older (``returns.superseded_by``); both stay.
* **messages** — every message ``send`` and ``remind`` made, append-only: its Message-ID,
  practice, recipients, the documents (ids and revisions) it carried or chased, subject, when,
  the outcome (``outbox``, ``sent``, ``temporary``, ``refused``) and the server's reply.
* **mail taken in** — each message ``ingest`` or ``fetch`` took in (``mail_in``, once per
  Message-ID) with its sender, date, source and outcome; the returns that came in it carry its
  ``message_id`` and ``sender``; ``imap_seen`` holds the IMAP messages ``fetch`` has taken.
* **year-end runs** — each ``statements`` run, append-only: its folder, the statement files written
  per practice and finance's schedule with its net total (amounts as exact text), so the year end
  can be fetched again later.

Writers on SQLite take the write lock when their transaction begins
(``BEGIN IMMEDIATE``), so two ``ingest`` processes on one file serialise instead of
deadlocking, and the sha256 unique key means neither duplicates the other's rows.

The schema is created on first use and migrated by Alembic (``agreementgen.migrations``):
opening a database brings it to the newest step, and a database made before Alembic is
stamped by the ``schema_version`` in its ``meta`` table first. Registering is
idempotent: issuing the same revision again changes nothing but the file rows; the
next revision (``generate --reissue``) is added beside the old one, which is marked
superseded and keeps everything it said (``bulk`` refuses different bytes under the
same revision).

URLs: ``sqlite:///agreementgen.db`` (the default, a file in the current folder),
``sqlite:////abs/path.db``, or ``postgresql+psycopg://user:pass@host/db`` for a
shared team database (the driver comes with the ``postgres`` extra).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    create_engine,
    event,
    false,
    func,
    insert,
    inspect,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from .errors import RecordsError

SCHEMA_VERSION = 6  # 1: issued register; 2: + returns, signups, year_end, issued.form_json; 3: + reviews;
# 4: + revisions (replacing issue_events), issued.revision, returns.revision/signature_json/late;
# 5: + messages, mail_in, imap_seen, returns.message_id/sender; 6: + users, web_sessions, login_failures,
# actions, claim_approvals, year_end_runs, scheme_rules.title/model/default_kind
DEFAULT_URL = "sqlite:///agreementgen.db"
URL_ENV = "AGREEMENTGEN_DB"

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

issued = Table(
    "issued",
    metadata,
    Column("doc_id", String(200), primary_key=True),
    Column("scheme_id", String(64), nullable=False, index=True),
    Column("scheme_version", String(32), nullable=False),
    Column("practice_code", String(16), nullable=False, index=True),
    Column("practice_name", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("terms_json", Text, nullable=False),
    Column("terms_digest", String(80), nullable=False),
    Column("practice_json", Text, nullable=False),
    Column("form_json", Text, nullable=False, server_default="[]"),  # the tags the practice fills in
    Column("first_issued_at", String(32), nullable=False),
    Column("last_issued_at", String(32), nullable=False),
    Column("revision", Integer, nullable=False, server_default="1"),  # the current one
)

issued_files = Table(
    "issued_files",
    metadata,
    Column("doc_id", String(200), primary_key=True),
    Column("format", String(8), primary_key=True),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("template_sha256", String(64), nullable=False),
)

revisions = Table(
    "revisions",
    metadata,
    Column("doc_id", String(200), primary_key=True),
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("terms_json", Text, nullable=False),
    Column("terms_digest", String(80), nullable=False),
    Column("wording", Text, nullable=False, server_default=""),  # what must be signed word for word
    Column("files_json", Text, nullable=False, server_default="[]"),
    Column("reason", Text, nullable=False, server_default=""),  # why it was reissued
    Column("issued_at", String(32), nullable=False),
    Column("superseded_at", String(32)),
)


scheme_rules = Table(
    "scheme_rules",
    metadata,
    Column("scheme_id", String(64), primary_key=True),
    Column("scheme_version", String(32), nullable=False),
    Column("sign_up_deadline", String(10)),  # ISO date, or none
    Column("rules_json", Text, nullable=False, server_default="{}"),  # what late / untrusted returns get
    Column("updated_at", String(32), nullable=False),
    Column("title", Text, nullable=False, server_default=""),
    Column("model", String(16), nullable=False, server_default=""),  # capita / services
    Column("default_kind", String(32), nullable=False, server_default=""),  # section7 / sla
    Column("packs_dir", Text, nullable=False, server_default=""),  # where generate last wrote the packs
)

returns = Table(
    "returns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("filename", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("format", String(8), nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("doc_id", String(200), index=True),
    Column("id_source", String(32), nullable=False),
    Column("scheme_id", String(64), index=True),
    Column("practice_code", String(16), index=True),
    Column("status", String(16), nullable=False),
    Column("reasons_json", Text, nullable=False),
    Column("fields_json", Text, nullable=False),
    Column("signature_kind", String(16), nullable=False),
    Column("signer", Text, nullable=False),
    Column("signed_date", String(10)),
    Column("superseded_by", Integer),
    Column("revision", Integer),  # the revision of the document it was judged against
    Column("signature_json", Text, nullable=False, server_default="{}"),  # the digital signature's check
    Column("late", Boolean, nullable=False, server_default=false()),  # after the sign-up deadline
    Column("message_id", String(255)),  # the mail message it came in, if it came by mail
    Column("sender", Text, nullable=False, server_default=""),  # who sent that message
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # send / remind
    Column("scheme_id", String(64), nullable=False, index=True),
    Column("practice_code", String(16), nullable=False, index=True),
    Column("recipients_json", Text, nullable=False),
    Column("documents_json", Text, nullable=False),  # [{"doc_id": …, "revision": …}]
    Column("subject", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),  # outbox / sent / temporary / refused / dry-run
    Column("reply", Text, nullable=False, server_default=""),  # the server's words, if any
    Column("path", Text, nullable=False, server_default=""),  # the .eml written, for the outbox
    Column("by", Text, nullable=False, server_default=""),
)

mail_in = Table(
    "mail_in",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("sender", Text, nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("source", Text, nullable=False),  # the file or mailbox it came from
    Column("subject", Text, nullable=False, server_default=""),
    Column("attachments", Integer, nullable=False, server_default="0"),
    Column("outcome", Text, nullable=False, server_default=""),
    Column("taken_at", String(32), nullable=False),
)

imap_seen = Table(
    "imap_seen",
    metadata,
    Column("mailbox", String(255), primary_key=True),
    Column("uidvalidity", String(32), primary_key=True),
    Column("uid", Integer, primary_key=True, autoincrement=False),
    Column("seen_at", String(32), nullable=False),
)

signups = Table(
    "signups",
    metadata,
    Column("scheme_id", String(64), primary_key=True),
    Column("practice_code", String(16), primary_key=True),
    Column("kind", String(64), primary_key=True),  # a practice signs a Section 7 and an SLA per contract
    Column("doc_id", String(200), nullable=False),
    Column("return_id", Integer, nullable=False),
    Column("signed_date", String(10)),
    Column("signatory", Text, nullable=False),
    Column("signature_kind", String(16), nullable=False),
    Column("accepted_at", String(32), nullable=False),
)

year_end = Table(
    "year_end",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scheme_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # evidence / paid / decision
    Column("practice_code", String(16), nullable=False),
    Column("key", String(64), nullable=False),  # milestone, instalment or component
    Column("value", String(64), nullable=False),  # ISO date, amount or percentage, exact text
    Column("reason", Text, nullable=False),
    Column("source", Text, nullable=False),  # the file, as given
    Column("row", Integer, nullable=False),
    Column("loaded_at", String(32), nullable=False),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("return_id", Integer, nullable=False, index=True),
    Column("decision", String(8), nullable=False),  # accept / reject
    Column("reason", Text, nullable=False),
    Column("by", Text, nullable=False),
    Column("at", String(32), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),  # viewer / officer / approver
    Column("password_hash", Text, nullable=False),  # argon2
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie's token
    Column("user", String(64), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("last_seen_at", String(32), nullable=False),
    Column("ended_at", String(32)),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
    Column("at", String(32), nullable=False),
)

actions = Table(
    "actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("by", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", Text, nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default=""),
)

claim_approvals = Table(
    "claim_approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("return_id", Integer, nullable=False, index=True),
    Column("level", Integer, nullable=False),  # 1: verified by an officer; 2: approved by an approver
    Column("decision", String(8), nullable=False),  # yes / refuse
    Column("reason", Text, nullable=False, server_default=""),
    Column("by", Text, nullable=False),
    Column("at", String(32), nullable=False),
)

year_end_runs = Table(
    "year_end_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scheme_id", String(64), nullable=False, index=True),
    Column("at", String(32), nullable=False),
    Column("by", Text, nullable=False, server_default=""),
    Column("out_dir", Text, nullable=False),
    Column("files_json", Text, nullable=False),  # {practice code: {format: path}}
    Column("schedule_json", Text, nullable=False),  # {"header": [...], "rows": [[...], ...]}
    Column("net", String(32), nullable=False),
)

TABLES = {
    "issued": issued,
    "revisions": revisions,
    "scheme_rules": scheme_rules,
    "returns": returns,
    "signups": signups,
    "year_end": year_end,
    "reviews": reviews,
    "messages": messages,
    "mail_in": mail_in,
    "claim_approvals": claim_approvals,
    "year_end_runs": year_end_runs,
    "actions": actions,
}


def default_url() -> str:
    return os.environ.get(URL_ENV) or DEFAULT_URL


@dataclass(frozen=True)
class IssuedFile:
    format: str
    path: str
    sha256: str
    template_sha256: str


@dataclass(frozen=True)
class IssuedDocument:
    doc_id: str
    scheme_id: str
    scheme_version: str
    practice_code: str
    practice_name: str
    kind: str
    terms: dict[str, str]
    terms_digest: str
    practice: dict[str, Any]
    files: tuple[IssuedFile, ...] = ()
    first_issued_at: str = ""
    form_tags: tuple[str, ...] = ()  # what the practice must fill in
    revision: int = 1
    wording: str = ""  # what the practice signs word for word (agreementgen.wording), "" if unknown
    reason: str = ""  # why this revision was issued, for a reissue
    issued_at: str = ""  # when this revision was issued
    superseded_at: str | None = None
    superseded_files: tuple[IssuedFile, ...] = ()  # where a reissue moved the previous revision's files


@dataclass
class ReturnRecord:
    """One returned file as ingest judged it, ready to record."""

    sha256: str
    filename: str
    size: int
    format: str
    doc_id: str | None
    id_source: str
    scheme_id: str | None
    practice_code: str | None
    kind: str | None  # the document kind the id names (section7, sla_<contract>)
    status: str  # accepted / flagged / rejected
    reasons: list[str]
    fields: dict[str, str]
    signature_kind: str  # typed / digital / none
    signer: str = ""
    signed_date: str | None = None
    revision: int | None = None  # the revision of the document it was judged against
    signature: dict[str, Any] = field(default_factory=dict)  # the digital signature's check, if any
    late: bool = False  # signed or received after the sign-up deadline
    message_id: str | None = None  # the mail message it came in (ingest of mail, fetch), if it did
    sender: str = ""  # that message's From address(es)


@dataclass(frozen=True)
class MailIn:
    """One mail message ``ingest`` or ``fetch`` took in, and what became of it."""

    message_id: str  # its Message-ID, or "sha256:" and its bytes' digest
    sender: str  # the From address(es)
    received_at: str  # ISO 8601: its Date header, else its mbox or IMAP internal date; "" if unknown
    source: str  # the file, the mbox and message number, or the IMAP URL it came from
    subject: str
    attachments: int  # the returns judged from it
    outcome: str  # in words: what its attachments became, or why nothing could be judged


DELIVERED = ("sent", "outbox")  # a message's outcomes that count as having gone to the practice


@dataclass(frozen=True)
class MessageRecord:
    """One message ``send`` or ``remind`` made, as it is recorded."""

    message_id: str
    kind: str  # send / remind
    scheme_id: str
    practice_code: str
    recipients: tuple[str, ...]
    documents: tuple[tuple[str, int], ...]  # (document id, revision) carried or chased
    subject: str
    outcome: str  # outbox / sent / temporary / refused
    reply: str = ""  # the server's words, if any
    path: str = ""  # the .eml written, for the outbox
    by: str = ""


@dataclass(frozen=True)
class SchemeInfo:
    """What the records know of a scheme without its spec: enough to say where its round stands."""

    id: str
    version: str
    title: str  # the scheme's id where a release before schema 6 issued it (no title kept)
    model: str  # per_capita / services ("" if nothing on record says)
    default_kind: str  # section7 / sla: the documents its sign-up round is about ("" likewise)
    deadline: date | None  # the sign-up deadline, if there is one
    packs_dir: str = ""  # where generate last wrote the packs, their paths relative to it ("" if unknown)


class BoardDocument(NamedTuple):
    """An issued document as the board reads it, with its practice's contact as issued for the chase
    list when it has no sign-up ("" when it has). A tuple, not a dataclass: the national board
    makes 6,000 of them, and a tuple is made in a fraction of the time."""

    doc_id: str
    practice_code: str
    practice_name: str
    kind: str
    revision: int
    signed_up: bool  # it has a current sign-up (an accepted return)
    email: str
    address: str
    postcode: str


_CONTACT = ("email", "address", "postcode")  # what the chase list reads of an issued practice's JSON


class BoardReturn(NamedTuple):
    """A return as the board reads it; its reasons kept as stored text until shown."""

    id: int
    doc_id: str | None
    status: str
    filename: str
    received_at: str
    reasons_json: str
    signed_date: str | None

    def reasons(self) -> tuple[str, ...]:
        return () if self.reasons_json == "[]" else tuple(json.loads(self.reasons_json))


@dataclass(frozen=True)
class BoardSource:
    """What :func:`agreementgen.status.scheme_status` reads of one scheme, read in one transaction
    with only the columns it shows (the whole register's terms and entries are not decoded)."""

    documents: list[BoardDocument]  # by practice code, then kind
    returns: list[BoardReturn]  # every return naming the scheme, oldest first
    reminded: dict[str, list[str]]  # document id -> when each delivered reminder chasing it went


FIELD_CHARS = 10_000  # an entry a practice types is a line or two; a longer one is cut, marked
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str, limit: int | None = None) -> str:
    """``text`` as every supported database stores it, at most ``limit`` characters.

    PostgreSQL refuses NUL in text and neither driver sends a lone surrogate (what a damaged
    file's text can decode to), so both are written as visible escapes (``\\x00``,
    ``\\udc80``). Longer text is cut with a marker saying how much was dropped
    (``…[+2,812 chars]``): PostgreSQL refuses a value longer than its ``String(n)`` column.
    """
    text = _UNSTORABLE.sub(lambda m: "\\x00" if m.group() == "\x00" else f"\\u{ord(m.group()):04x}", text)
    if limit is None or len(text) <= limit:
        return text
    keep = limit - len(f"…[+{len(text):,} chars]")
    return text[:keep] + f"…[+{len(text) - keep:,} chars]" if keep > 0 else text[:limit]


def column_chars(column: Column[Any]) -> int | None:
    """The most characters a ``String(n)`` column holds; None for unbounded text."""
    length = getattr(column.type, "length", None)
    return int(length) if length is not None else None


DOC_ID_CHARS = column_chars(returns.c.doc_id) or 200  # a longer id was never issued


def storable_return(record: ReturnRecord) -> ReturnRecord:
    """The record with every text storable (:func:`storable_text`) in its column.

    What a return says comes from outside: a 3,000-character document id or a NUL byte in an
    entry must be recorded, not stop the run with a database error.
    """

    def fit(value: str | None, column: Column[Any]) -> str | None:
        return None if value is None else storable_text(value, column_chars(column))

    return ReturnRecord(
        sha256=record.sha256,
        filename=storable_text(record.filename),
        size=record.size,
        format=storable_text(record.format, column_chars(returns.c.format)),
        doc_id=fit(record.doc_id, returns.c.doc_id),
        id_source=storable_text(record.id_source, column_chars(returns.c.id_source)),
        scheme_id=fit(record.scheme_id, returns.c.scheme_id),
        practice_code=fit(record.practice_code, returns.c.practice_code),
        kind=fit(record.kind, signups.c.kind),
        status=record.status,
        reasons=[storable_text(r, FIELD_CHARS) for r in record.reasons],
        fields={
            storable_text(k, FIELD_CHARS): storable_text(v, FIELD_CHARS) for k, v in record.fields.items()
        },
        signature_kind=record.signature_kind,
        signer=storable_text(record.signer, FIELD_CHARS),
        signed_date=fit(record.signed_date, returns.c.signed_date),
        revision=record.revision,
        signature={
            storable_text(k, FIELD_CHARS): storable_text(v, FIELD_CHARS) if isinstance(v, str) else v
            for k, v in record.signature.items()
        },
        late=record.late,
        message_id=fit(record.message_id, returns.c.message_id),
        sender=storable_text(record.sender, FIELD_CHARS),
    )


@dataclass(frozen=True)
class Recorded:
    return_id: int
    new: bool  # False: these bytes were already on record (nothing changed)
    status: str
    reasons: tuple[str, ...]
    doc_id: str | None
    practice_code: str | None
    signature_kind: str
    superseded: int | None = None  # the accepted return this one replaced
    signature: dict[str, Any] = field(default_factory=dict)  # the digital signature's check, if any
    late: bool = False  # signed or received after the sign-up deadline


_RECORDED_COLUMNS = (
    returns.c.id,
    returns.c.sha256,
    returns.c.status,
    returns.c.reasons_json,
    returns.c.doc_id,
    returns.c.practice_code,
    returns.c.signature_kind,
    returns.c.signature_json,
    returns.c.late,
)


@dataclass(frozen=True)
class Reviewed:
    """What a review decided: the return, its document, its new status and what it was flagged for."""

    return_id: int
    doc_id: str
    status: str
    flagged_for: tuple[str, ...]
    superseded: int | None = None  # the accepted return this one replaced as the sign-up


CLAIM_LEVELS = {1: "verified", 2: "approved"}  # claim_approvals.level → what a "yes" there means
CLAIM_DECISIONS = ("yes", "refuse")


@dataclass(frozen=True)
class ClaimDecision:
    """One step of a claim's two-level approval, as it was recorded, and where it leaves the claim."""

    return_id: int
    doc_id: str
    practice_code: str
    quarter: int
    level: int  # 1: verified by an officer; 2: approved by an approver
    decision: str  # yes / refuse
    reason: str
    by: str
    at: str
    state: str  # the claim's state now: verified / approved / refused


CLAIM_STATES = ("awaiting verification", "verified", "approved", "refused")


def _claim_steps(decisions: Iterable[Any]) -> dict[str, Any]:
    """A claim's approval state from its decisions (``claim_approvals`` rows, oldest first), with who
    decided each step, when and why: ``state`` and ``verified_*``, ``approved_*``, ``refused_*``
    (``by``, ``at``, ``reason``; ``refused_level`` too)."""
    steps: dict[str, Any] = {"state": "awaiting verification"}
    for name in ("verified", "approved", "refused"):
        steps.update({f"{name}_by": "", f"{name}_at": "", f"{name}_reason": ""})
    steps["refused_level"] = None
    for d in decisions:
        name = "refused" if d.decision == "refuse" else CLAIM_LEVELS[int(d.level)]
        steps.update({f"{name}_by": d.by, f"{name}_at": d.at, f"{name}_reason": d.reason})
        if name == "refused":
            steps["refused_level"] = int(d.level)
        # A refusal ends the claim whatever follows (decide_claim refuses to add anything after one).
        if steps["state"] != "refused":
            steps["state"] = name
    return steps


def _same_person(a: str, b: str) -> bool:
    """Whether two names given for deciders are one person's (case and spacing aside)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _kind_of(doc_id: str) -> str | None:
    """The document kind a document id names (``scheme:vN:PRACTICE:kind``)."""
    parts = doc_id.split(":")
    return parts[3] if len(parts) == 4 else None


def _recorded(row: Any) -> Recorded:
    """A return already on record, as a re-ingest reports it."""
    return Recorded(row.id, False, row.status, tuple(json.loads(row.reasons_json)), row.doc_id,
                    row.practice_code, row.signature_kind, signature=json.loads(row.signature_json),
                    late=bool(row.late))  # fmt: skip


def _decoded_return(row: dict[str, Any]) -> dict[str, Any]:
    """A returns row with its reasons, entries and signature check decoded from JSON."""
    row["reasons"] = json.loads(row.pop("reasons_json"))
    row["fields"] = json.loads(row.pop("fields_json"))
    row["signature"] = json.loads(row.pop("signature_json"))
    return row


def _model_of(kinds: set[str]) -> tuple[str, str]:
    """A scheme's model and default kind from the kinds of document issued under it, for a scheme
    issued before its rules kept them: SLAs or claims make a service scheme, a Section 7 the other."""
    if any(k.startswith(("sla", "claim")) for k in kinds):
        return "services", "sla"
    return ("per_capita", "section7") if "section7" in kinds else ("", "")


def _exact_text(value: object) -> str:
    """A schedule cell or amount as exact text (a Decimal as it prints; text as it is); never a float."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    raise RecordsError(f"an amount is kept exactly, as a Decimal or text, not {type(value).__name__} {value}")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Records:
    """A handle on the records database; create with ``Records.open(url)``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None) -> Records:
        url = url or default_url()
        try:
            engine = create_engine(url, future=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
                event.listen(engine, "begin", _sqlite_begin_immediate)
            elif engine.dialect.name == "postgresql":
                event.listen(engine, "begin", _postgresql_writers_queue)
            _upgrade(engine, url)
        except SQLAlchemyError as exc:
            # The driver's own text can carry SQL, a password or a stack of library detail: the
            # kind of failure and what to check is what a user can act on.
            raise RecordsError(f"cannot open the records database ({exc.__class__.__name__}): check the URL, "
                               "that the server is running and that this login may use it",
                               path=safe_url(url)) from exc  # fmt: skip
        return cls(engine)

    @contextmanager
    def _begin(self, reads_only: bool = False) -> Iterator[Connection]:
        """A transaction; ``reads_only``: one that only reads, so takes no write lock (see READS_ONLY)."""
        engine = self.engine.execution_options(**{READS_ONLY: True}) if reads_only else self.engine
        try:
            with engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            kind = type(getattr(exc, "orig", None) or exc).__name__  # UniqueViolation, OperationalError…
            raise RecordsError(
                f"the records database refused the change ({kind}); nothing of it was recorded",
                path=safe_url(str(self.engine.url)),
            ) from exc

    def schema_version(self) -> int:
        """The database's schema step (the Alembic revision, as a number)."""
        with self._begin() as conn:
            return int(MigrationContext.configure(conn).get_current_revision() or 0)

    def register_issued(self, documents: Iterable[IssuedDocument]) -> int:
        """Record issued documents and their files in one transaction; returns how many were reissued.

        The register is append-only. A document issued again as the same revision (the same
        bytes: ``bulk`` refuses different bytes unless told to reissue) changes only its file
        rows and ``last_issued_at``. A document at the next revision (``--reissue``) adds a
        revision with its reason and supersedes the current one, which stays with its terms,
        wording and files. Any other revision number means two runs raced: it is refused.

        Statements are batched (one lookup, then executemany per table): the national run
        registers 6,000+ documents and the parent must not become the bottleneck.
        """
        docs = list({d.doc_id: d for d in documents}.values())  # the last of a repeated id wins
        if not docs:
            return 0
        now = _now()
        ids = [d.doc_id for d in docs]
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        added: list[dict[str, Any]] = []
        superseded: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        reissued = 0
        with self._begin() as conn:
            current: dict[str, int] = {}
            for chunk in _chunks(ids, 500):  # SQLite limits bound parameters per statement
                query = select(issued.c.doc_id, issued.c.revision).where(issued.c.doc_id.in_(chunk))
                current.update({r.doc_id: r.revision for r in conn.execute(query)})
            for doc in docs:
                terms_json = json.dumps(doc.terms, sort_keys=True, ensure_ascii=False)
                values = {
                    "doc_id": doc.doc_id,
                    "scheme_id": doc.scheme_id,
                    "scheme_version": doc.scheme_version,
                    "practice_code": doc.practice_code,
                    "practice_name": doc.practice_name,
                    "kind": doc.kind,
                    "terms_json": terms_json,
                    "terms_digest": doc.terms_digest,
                    "practice_json": json.dumps(doc.practice, sort_keys=True, ensure_ascii=False),
                    "form_json": json.dumps(list(doc.form_tags)),
                    "last_issued_at": now,
                    "revision": doc.revision,
                }
                doc_files = [
                    {
                        "format": f.format,
                        "path": f.path,
                        "sha256": f.sha256,
                        "template_sha256": f.template_sha256,
                    }
                    for f in doc.files
                ]
                previous = current.get(doc.doc_id)
                expected = (1,) if previous is None else (previous, previous + 1)
                if doc.revision not in expected:
                    raise RecordsError(
                        f"{doc.doc_id}: revision {doc.revision} cannot follow revision {previous or 0} "
                        "(another run issued it meanwhile?): run generate again"
                    )
                if previous is None:
                    inserts.append({**values, "first_issued_at": now})
                else:
                    updates.append({f"v_{k}": v for k, v in values.items()})
                if previous != doc.revision:
                    if previous is not None:
                        reissued += 1
                        kept = [
                            {"format": f.format, "path": f.path, "sha256": f.sha256,
                             "template_sha256": f.template_sha256}
                            for f in doc.superseded_files
                        ]  # fmt: skip
                        superseded.append({"d": doc.doc_id, "r": previous, "at": now, "kept": kept})
                    added.append(
                        {
                            "doc_id": doc.doc_id,
                            "revision": doc.revision,
                            "terms_digest": doc.terms_digest,
                            "terms_json": terms_json,
                            "wording": doc.wording,
                            "files_json": json.dumps(doc_files),
                            "reason": doc.reason,
                            "issued_at": now,
                        }
                    )
                elif doc_files:  # the same revision again: its files (a format added) are its own
                    added_files = {"d": doc.doc_id, "r": doc.revision, "files": doc_files}
                    updates[-1]["_files"] = added_files
                files += [{"doc_id": doc.doc_id, **f} for f in doc_files]
            if inserts:
                conn.execute(insert(issued), inserts)
            same_revision = [u.pop("_files") for u in updates if "_files" in u]
            if updates:
                conn.execute(
                    update(issued)
                    .where(issued.c.doc_id == bindparam("v_doc_id"))
                    .values({k[2:]: bindparam(k) for k in updates[0] if k != "v_doc_id"}),
                    updates,
                )
            for old in superseded:
                where = (revisions.c.doc_id == old["d"]) & (revisions.c.revision == old["r"])
                change: dict[str, Any] = {"superseded_at": old["at"]}
                if old["kept"]:
                    change["files_json"] = json.dumps(old["kept"])
                conn.execute(update(revisions).where(where).values(**change))
            if added:
                conn.execute(insert(revisions), added)
            if same_revision:
                _merge_revision_files(conn, same_revision)
            if files:
                conn.execute(
                    issued_files.delete().where(
                        (issued_files.c.doc_id == bindparam("d")) & (issued_files.c.format == bindparam("f"))
                    ),
                    [{"d": f["doc_id"], "f": f["format"]} for f in files],
                )
                conn.execute(insert(issued_files), files)
        return reissued

    def issued_document(self, doc_id: str, revision: int | None = None) -> IssuedDocument | None:
        """An issued document as of ``revision`` (the current one by default): that revision's
        terms, wording and files. None if the document, or that revision of it, was never issued."""
        with self._begin() as conn:
            row = conn.execute(select(issued).where(issued.c.doc_id == doc_id)).mappings().first()
            if row is None:
                return None
            number = row["revision"] if revision is None else revision
            rev = (
                conn.execute(
                    select(revisions).where((revisions.c.doc_id == doc_id) & (revisions.c.revision == number))
                )
                .mappings()
                .first()
            )
            if rev is None:
                return None
            files = [IssuedFile(**f) for f in json.loads(rev["files_json"])]
            return _document(row, files, rev)

    def history(self, doc_id: str) -> list[dict[str, Any]]:
        """Every event of a document, oldest first: issued, reissued and superseded (its revisions),
        sent and reminded (each message that carried or chased it: outcome, recipients, reply),
        returned (each file, with its status and reasons), reviewed (the decision, reason and who),
        a sign-up superseded by a later return, and a claim verified, approved or refused (its level,
        the reason and who). Each event: ``at``, ``event``, ``revision``,
        ``return_id``, ``detail``, ``by``. Empty if the document was never issued or returned."""
        events: list[dict[str, Any]] = []

        def add(at: str, event: str, detail: str, revision: int | None = None,
                return_id: int | None = None, by: str = "") -> None:  # fmt: skip
            events.append({"at": at, "event": event, "revision": revision, "return_id": return_id,
                           "detail": detail, "by": by})  # fmt: skip

        with self._begin() as conn:
            query = select(revisions).where(revisions.c.doc_id == doc_id).order_by(revisions.c.revision)
            for rev in conn.execute(query).mappings():
                files = ", ".join(f["path"] for f in json.loads(rev["files_json"]))
                if rev["revision"] == 1:
                    add(rev["issued_at"], "issued", files, 1)
                else:
                    add(
                        rev["issued_at"], "reissued", f"{rev['reason']}; {files}".strip("; "), rev["revision"]
                    )
                if rev["superseded_at"]:
                    add(
                        rev["superseded_at"],
                        "superseded",
                        f"by revision {rev['revision'] + 1}",
                        rev["revision"],
                    )
            rows = list(
                conn.execute(
                    select(returns).where(returns.c.doc_id == doc_id).order_by(returns.c.id)
                ).mappings()
            )
            ids = [r["id"] for r in rows]
            for row in rows:
                reasons = "; ".join(json.loads(row["reasons_json"]))
                detail = f"{row['filename']}: {row['status']}" + (f" ({reasons})" if reasons else "")
                add(row["received_at"], "returned", detail, row["revision"], row["id"], row["signer"])
            received = {r["id"]: r["received_at"] for r in rows}
            for row in rows:
                if row["superseded_by"] is not None:
                    at = received.get(row["superseded_by"], "")
                    add(
                        at,
                        "sign-up superseded",
                        f"by return #{row['superseded_by']}",
                        row["revision"],
                        row["id"],
                    )
            if ids:
                query = select(reviews).where(reviews.c.return_id.in_(ids)).order_by(reviews.c.id)
                for review in conn.execute(query).mappings():
                    decision = "accepted" if review["decision"] == "accept" else "rejected"
                    detail = f"{decision}: {review['reason']}"
                    add(review["at"], "reviewed", detail, None, review["return_id"], review["by"])
                query = select(claim_approvals).where(claim_approvals.c.return_id.in_(ids))
                for step in conn.execute(query.order_by(claim_approvals.c.id)).mappings():
                    if step["decision"] == "refuse":
                        event = "claim refused"
                        stage = "verification" if step["level"] == 1 else "approval"
                        detail = f"at level {step['level']} ({stage}): {step['reason']}"
                    else:
                        event = f"claim {CLAIM_LEVELS[step['level']]}"
                        detail = f"level {step['level']}" + (f": {step['reason']}" if step["reason"] else "")
                    add(step["at"], event, detail, None, step["return_id"], step["by"])
            parsed = doc_id.split(":")
            if (
                len(parsed) == 4
            ):  # a message names its documents in JSON: read the practice's, keep this one's
                query = select(messages).where(
                    (messages.c.scheme_id == parsed[0]) & (messages.c.practice_code == parsed[2])
                )
                for message in conn.execute(query.order_by(messages.c.id)).mappings():
                    carried = [d for d in json.loads(message["documents_json"]) if d["doc_id"] == doc_id]
                    if carried:
                        event = "sent" if message["kind"] == "send" else "reminded"
                        detail = _message_detail(message)
                        add(message["at"], event, detail, carried[0]["revision"], None, message["by"])
        order = {
            "issued": 0,
            "reissued": 0,
            "superseded": 1,
            "sent": 2,
            "reminded": 2,
            "returned": 3,
            "reviewed": 4,
            "sign-up superseded": 5,
            "claim verified": 6,
            "claim refused": 6,  # after a verification in the same second, in the order decided
            "claim approved": 7,
        }
        return sorted(events, key=lambda e: (e["at"], order[e["event"]]))

    def record_message(self, message: MessageRecord, at: str | None = None) -> int:
        """Keep one message ``send`` or ``remind`` made (``at``: when, ISO; now by default); its id."""
        values = {
            "message_id": storable_text(message.message_id, column_chars(messages.c.message_id)),
            "kind": message.kind,
            "scheme_id": message.scheme_id,
            "practice_code": message.practice_code,
            "recipients_json": json.dumps(list(message.recipients), ensure_ascii=False),
            "documents_json": json.dumps(
                [{"doc_id": d, "revision": r} for d, r in message.documents], ensure_ascii=False
            ),
            "subject": storable_text(message.subject, FIELD_CHARS),
            "at": at or _now(),
            "outcome": message.outcome,
            "reply": storable_text(message.reply, FIELD_CHARS),
            "path": storable_text(message.path),
            "by": storable_text(message.by, FIELD_CHARS),
        }
        with self._begin() as conn:
            inserted = conn.execute(insert(messages).values(**values)).inserted_primary_key
        assert inserted is not None
        return int(inserted[0])

    def messages_for(
        self, scheme_id: str, practice_code: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """The messages of a scheme (of one practice, of one kind), oldest first, with ``recipients``
        and ``documents`` (``[{"doc_id", "revision"}]``) decoded."""
        query = select(messages).where(messages.c.scheme_id == scheme_id).order_by(messages.c.id)
        if practice_code:
            query = query.where(messages.c.practice_code == practice_code)
        if kind:
            query = query.where(messages.c.kind == kind)
        with self._begin() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        for row in rows:
            row["recipients"] = json.loads(row.pop("recipients_json"))
            row["documents"] = json.loads(row.pop("documents_json"))
        return rows

    def current_files(self, scheme_id: str) -> dict[str, tuple[int, dict[str, str]]]:
        """document id → (current revision, {format: sha256}) for a scheme, in one query each."""
        with self._begin() as conn:
            found: dict[str, tuple[int, dict[str, str]]] = {
                r.doc_id: (int(r.revision), {})
                for r in conn.execute(
                    select(issued.c.doc_id, issued.c.revision).where(issued.c.scheme_id == scheme_id)
                )
            }
            query = select(issued_files.c.doc_id, issued_files.c.format, issued_files.c.sha256).join(
                issued, issued.c.doc_id == issued_files.c.doc_id
            )
            for r in conn.execute(query.where(issued.c.scheme_id == scheme_id)):
                found[r.doc_id][1][r.format] = r.sha256
        return found

    def revisions_of(self, doc_id: str) -> list[IssuedDocument]:
        """Every revision of a document, oldest first (empty if it was never issued)."""
        with self._begin() as conn:
            row = conn.execute(select(issued).where(issued.c.doc_id == doc_id)).mappings().first()
            if row is None:
                return []
            query = select(revisions).where(revisions.c.doc_id == doc_id).order_by(revisions.c.revision)
            return [
                _document(row, [IssuedFile(**f) for f in json.loads(rev["files_json"])], rev)
                for rev in conn.execute(query).mappings()
            ]

    def issued_documents(self, scheme_id: str | None = None) -> list[IssuedDocument]:
        query = select(issued).order_by(issued.c.practice_code, issued.c.kind)
        if scheme_id:
            query = query.where(issued.c.scheme_id == scheme_id)
        with self._begin() as conn:
            return [_document(row, []) for row in conn.execute(query).mappings()]

    def practice_was_issued(self, scheme_id: str, practice_code: str) -> bool:
        with self._begin() as conn:
            query = select(issued.c.doc_id).where(
                (issued.c.scheme_id == scheme_id) & (issued.c.practice_code == practice_code)
            )
            return conn.execute(query.limit(1)).first() is not None

    def documents_of_practice(self, scheme_id: str, practice_code: str) -> list[IssuedDocument]:
        """A practice's documents under a scheme, every revision of each (oldest first), by kind."""
        query = select(issued).where(issued.c.scheme_id == scheme_id, issued.c.practice_code == practice_code)
        with self._begin() as conn:
            rows = list(conn.execute(query.order_by(issued.c.kind)).mappings())
            ids = [r["doc_id"] for r in rows]
            revs: dict[str, list[Any]] = {}
            every = select(revisions).where(revisions.c.doc_id.in_(ids))
            for rev in conn.execute(every.order_by(revisions.c.doc_id, revisions.c.revision)).mappings():
                revs.setdefault(rev["doc_id"], []).append(rev)
        return [
            _document(row, [IssuedFile(**f) for f in json.loads(rev["files_json"])], rev)
            for row in rows
            for rev in revs.get(row["doc_id"], [])
        ]

    def returns_of(self, doc_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The returns of these documents (oldest first), decoded as ``returns_for`` decodes them."""
        ids = list(doc_ids)
        rows: list[dict[str, Any]] = []
        with self._begin() as conn:
            for chunk in _chunks(ids, 500):
                query = select(returns).where(returns.c.doc_id.in_(chunk)).order_by(returns.c.id)
                rows.extend(dict(r) for r in conn.execute(query).mappings())
        rows.sort(key=lambda r: r["id"])
        return [_decoded_return(r) for r in rows]

    def scheme_was_issued(self, scheme_id: str) -> bool:
        with self._begin() as conn:
            query = select(issued.c.doc_id).where(issued.c.scheme_id == scheme_id).limit(1)
            return conn.execute(query).first() is not None

    def known_returns(self) -> dict[str, Recorded]:
        """sha256 → every file on record, in one query (a re-ingest skips these unread)."""
        with self._begin() as conn:
            return {r.sha256: _recorded(r) for r in conn.execute(select(*_RECORDED_COLUMNS))}

    def record_return(self, record: ReturnRecord) -> Recorded:
        """Record one return, once; make an accepted one the practice's current sign-up.

        The same bytes again change nothing. An accepted return whose entries equal the
        current sign-up's is a duplicate (recorded, rejected). Otherwise the newer accepted
        return supersedes the older, which stays on record.
        """
        return self.record_returns([record])[0]

    def record_returns(self, records: list[ReturnRecord]) -> list[Recorded]:
        """Record many returns in one transaction, each exactly as :meth:`record_return` would one
        after the other in this order (a second file with the same bytes, in the batch or on
        record, changes nothing; a later accepted return supersedes an earlier one, or is a
        duplicate of it). If the database refuses any of them, none is recorded.

        A few statements whatever the batch's size (not a few per return): an ingest of
        thousands of files must not wait on its own writes.
        """
        if not records:
            return []
        now = _now()
        stored = [storable_return(r) for r in records]
        with self._begin() as conn:
            batch = _ReturnsBatch(conn, now)
            for chunk in _chunks(sorted({r.sha256 for r in stored}), 500):  # bound parameters
                query = select(*_RECORDED_COLUMNS).where(returns.c.sha256.in_(chunk))
                batch.on_record.update({row.sha256: _recorded(row) for row in conn.execute(query)})
            batch.current = _current_signups(conn, {k for r in stored if (k := _signup_key(r))})
            for record in stored:
                batch.add(record)
            return batch.finish()

    def review(self, target: str, decision: str, reason: str, by: str) -> Reviewed:
        """A person's decision on a flagged return: ``target`` is a return id (``12`` or ``#12``) or a
        document id (its latest flagged return). Accepting makes it the practice's sign-up, as an
        accepted return would be; rejecting leaves the sign-up as it was. The decision is kept as
        a review event, and the return's reasons keep what it was flagged for."""
        if decision not in ("accept", "reject"):
            raise RecordsError(f"a review accepts or rejects, not '{decision}'")
        if not reason.strip() or not by.strip():
            raise RecordsError("a review needs a reason and the name of the person deciding")
        with self._begin() as conn:
            query = select(returns)
            if target.lstrip("#").isdigit():
                query = query.where(returns.c.id == int(target.lstrip("#")))
            else:
                query = query.where(returns.c.doc_id == target).order_by(returns.c.id.desc())
                flagged = conn.execute(query.where(returns.c.status == "flagged")).mappings().first()
                query = query if flagged is None else select(returns).where(returns.c.id == flagged["id"])
            row = conn.execute(query).mappings().first()
            if row is None:
                raise RecordsError(f"no return on record for '{target}'")
            if row["status"] != "flagged":
                raise RecordsError(
                    f"return #{row['id']} ({row['filename']}) is {row['status']}, not flagged: "
                    "only a flagged return waits for a person's decision"
                )
            now = _now()
            conn.execute(insert(reviews).values(return_id=row["id"], decision=decision, reason=reason,
                                                by=by, at=now))  # fmt: skip
            status = "accepted" if decision == "accept" else "rejected"
            conn.execute(update(returns).where(returns.c.id == row["id"]).values(status=status))
            superseded = None
            kind = _kind_of(row["doc_id"]) if row["doc_id"] else None
            if status == "accepted" and row["scheme_id"] and row["practice_code"] and kind:
                key = (row["scheme_id"], row["practice_code"], kind)
                signer = (row["signed_date"], row["signer"], row["signature_kind"])
                superseded = _make_signup(conn, key, row["doc_id"], row["id"], signer, now)
        flagged_for = tuple(json.loads(row["reasons_json"]))
        return Reviewed(int(row["id"]), str(row["doc_id"] or ""), status, flagged_for, superseded)

    def reviews_of(self, return_id: int) -> list[dict[str, Any]]:
        """The review events of a return, oldest first."""
        query = select(reviews).where(reviews.c.return_id == return_id).order_by(reviews.c.id)
        with self._begin() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def flagged_returns(self) -> list[dict[str, Any]]:
        """Every return waiting for a person's decision (flagged), oldest first, decoded as ``returns_of``,
        with ``practice_name`` as issued ("" for a return of no issued document)."""
        query = (
            select(returns, func.coalesce(issued.c.practice_name, "").label("practice_name"))
            .outerjoin(issued, issued.c.doc_id == returns.c.doc_id)
            .where(returns.c.status == "flagged")
            .order_by(returns.c.id)
        )
        with self._begin() as conn:
            return [_decoded_return(dict(r)) for r in conn.execute(query).mappings()]

    def returns_for(self, scheme_id: str | None = None) -> list[dict[str, Any]]:
        """Every return on record (oldest first), with reasons, entries and signature decoded."""
        query = select(returns).order_by(returns.c.id)
        if scheme_id:
            query = query.where(returns.c.scheme_id == scheme_id)
        with self._begin() as conn:
            return [_decoded_return(dict(r)) for r in conn.execute(query).mappings()]

    def record_mail_in(self, messages: list[MailIn]) -> list[bool]:
        """Keep the mail messages taken in, each once (by Message-ID): for each, whether it is new.

        A message already on record (taken in before, or earlier in ``messages``) changes nothing.
        """
        if not messages:
            return []
        now = _now()
        with self._begin() as conn:
            ids = sorted({m.message_id for m in messages})
            seen: set[str] = set()
            for chunk in _chunks(ids, 500):
                query = select(mail_in.c.message_id).where(mail_in.c.message_id.in_(chunk))
                seen.update(row.message_id for row in conn.execute(query))
            new: list[bool] = []
            rows = []
            for m in messages:
                new.append(m.message_id not in seen)
                if m.message_id in seen:
                    continue
                seen.add(m.message_id)
                rows.append({
                    "message_id": storable_text(m.message_id, column_chars(mail_in.c.message_id)),
                    "sender": storable_text(m.sender, FIELD_CHARS),
                    "received_at": storable_text(m.received_at, column_chars(mail_in.c.received_at)),
                    "source": storable_text(m.source), "subject": storable_text(m.subject, FIELD_CHARS),
                    "attachments": m.attachments, "outcome": storable_text(m.outcome, FIELD_CHARS),
                    "taken_at": now,
                })  # fmt: skip
            if rows:
                conn.execute(insert(mail_in), rows)
        return new

    def mail_in_for(self) -> list[dict[str, Any]]:
        """Every mail message taken in, oldest first."""
        with self._begin() as conn:
            return [dict(r) for r in conn.execute(select(mail_in).order_by(mail_in.c.id)).mappings()]

    def imap_seen(self, mailbox: str, uidvalidity: str) -> set[int]:
        """The UIDs of a mailbox folder (at its UIDVALIDITY) that ``fetch`` has taken in."""
        where = (imap_seen.c.mailbox == mailbox) & (imap_seen.c.uidvalidity == uidvalidity)
        with self._begin() as conn:
            return {int(r.uid) for r in conn.execute(select(imap_seen.c.uid).where(where))}

    def mark_imap_seen(self, mailbox: str, uidvalidity: str, uids: Iterable[int]) -> None:
        """Remember that ``fetch`` took these messages in (marking one again changes nothing)."""
        wanted = set(uids)
        if not wanted:
            return
        now = _now()
        where = (imap_seen.c.mailbox == mailbox) & (imap_seen.c.uidvalidity == uidvalidity)
        with self._begin() as conn:
            known = {int(r.uid) for r in conn.execute(select(imap_seen.c.uid).where(where))}
            rows = [{"mailbox": mailbox, "uidvalidity": uidvalidity, "uid": uid, "seen_at": now}
                    for uid in sorted(wanted - known)]  # fmt: skip
            if rows:
                conn.execute(insert(imap_seen), rows)

    def set_scheme_rules(
        self, scheme_id: str, version: str, deadline: date | None, rules: dict[str, Any],
        title: str = "", model: str = "", default_kind: str = "", packs_dir: str = "",
    ) -> None:  # fmt: skip
        """Keep a scheme's sign-up deadline and rules for returns, and what the web app shows of it
        (its title, model and default kind of document), replacing what was kept."""
        values = {
            "scheme_version": version,
            "sign_up_deadline": deadline.isoformat() if deadline else None,
            "rules_json": json.dumps(rules, sort_keys=True, ensure_ascii=False),
            "updated_at": _now(),
            "title": title,
            "model": model,
            "default_kind": default_kind,
            "packs_dir": packs_dir,
        }
        where = scheme_rules.c.scheme_id == scheme_id
        with self._begin() as conn:
            if conn.execute(select(scheme_rules.c.scheme_id).where(where)).first() is None:
                conn.execute(insert(scheme_rules).values(scheme_id=scheme_id, **values))
            else:
                conn.execute(update(scheme_rules).where(where).values(**values))

    def scheme_rules(self, scheme_id: str) -> tuple[date | None, dict[str, Any]]:
        """A scheme's sign-up deadline (None: none) and rules for returns ({}: the defaults)."""
        query = select(scheme_rules.c.sign_up_deadline, scheme_rules.c.rules_json)
        with self._begin() as conn:
            row = conn.execute(query.where(scheme_rules.c.scheme_id == scheme_id)).first()
        if row is None:
            return None, {}
        deadline = date.fromisoformat(row.sign_up_deadline) if row.sign_up_deadline else None
        return deadline, json.loads(row.rules_json)

    def schemes(self, scheme_id: str | None = None) -> list[SchemeInfo]:
        """Every scheme with rules on record (``generate`` keeps them), any document issued or a
        ``statements`` run, by id; with ``scheme_id``, only that one (if it is any of those).

        A scheme issued by a release that kept no title is shown by its id; its model and default
        kind are read from the kinds of document issued under it, and its version is that of the
        document issued last.
        """
        rules = select(scheme_rules.c.scheme_id, scheme_rules.c.scheme_version, scheme_rules.c.title,
                       scheme_rules.c.model, scheme_rules.c.default_kind,
                       scheme_rules.c.sign_up_deadline, scheme_rules.c.packs_dir)  # fmt: skip
        kinds = select(
            issued.c.scheme_id, issued.c.scheme_version, issued.c.kind, func.max(issued.c.last_issued_at)
        ).group_by(issued.c.scheme_id, issued.c.scheme_version, issued.c.kind)
        ended_ids = select(year_end_runs.c.scheme_id).distinct()
        if scheme_id is not None:  # one scheme's page: not a scan of every scheme's documents
            rules = rules.where(scheme_rules.c.scheme_id == scheme_id)
            kinds = kinds.where(issued.c.scheme_id == scheme_id)
            ended_ids = ended_ids.where(year_end_runs.c.scheme_id == scheme_id)
        with self._begin(reads_only=True) as conn:
            kept = {r.scheme_id: r for r in conn.execute(rules)}
            issued_kinds: dict[str, list[Any]] = {}
            for r in conn.execute(kinds):
                issued_kinds.setdefault(r.scheme_id, []).append(r)
            # statements run for a scheme this register never issued (its sign-ups kept elsewhere)
            ended = set(conn.execute(ended_ids).scalars())
        found = []
        for scheme_id in sorted(kept.keys() | issued_kinds.keys() | ended):
            rows = issued_kinds.get(scheme_id, [])
            model, default_kind = _model_of({r.kind for r in rows})
            version = max(rows, key=lambda r: r[3]).scheme_version if rows else ""
            title, deadline, packs = scheme_id, None, ""
            if (rule := kept.get(scheme_id)) is not None:
                version, title, packs = rule.scheme_version, rule.title or scheme_id, rule.packs_dir
                if rule.model:
                    model, default_kind = rule.model, rule.default_kind
                deadline = date.fromisoformat(rule.sign_up_deadline) if rule.sign_up_deadline else None
            found.append(SchemeInfo(scheme_id, version, title, model, default_kind, deadline, packs))
        return found

    def board_source(self, scheme_id: str) -> BoardSource:
        """What a scheme's status and board show, in one transaction that only reads (so a board is
        not kept waiting by an ingest writing): see :class:`BoardSource`."""
        signed_up = issued.c.doc_id.in_(select(signups.c.doc_id).where(signups.c.scheme_id == scheme_id))
        # The contact is read from the practice's JSON by the database, and only for the documents
        # not signed up (the chase list): decoding every practice's JSON took a third of the time.
        contact = (case((signed_up, ""), else_=self._json_text(issued.c.practice_json, k)) for k in _CONTACT)
        documents = select(issued.c.doc_id, issued.c.practice_code, issued.c.practice_name, issued.c.kind,
                           issued.c.revision, signed_up, *contact)  # fmt: skip
        documents = documents.where(issued.c.scheme_id == scheme_id).order_by(
            issued.c.practice_code, issued.c.kind
        )
        returned = select(returns.c.id, returns.c.doc_id, returns.c.status, returns.c.filename,
                          returns.c.received_at, returns.c.reasons_json, returns.c.signed_date)  # fmt: skip
        returned = returned.where(returns.c.scheme_id == scheme_id).order_by(returns.c.id)
        reminders = select(messages.c.documents_json, messages.c.at).where(
            (messages.c.scheme_id == scheme_id)
            & (messages.c.kind == "remind")
            & messages.c.outcome.in_(DELIVERED)
        )
        reminded: dict[str, list[str]] = {}
        with self._begin(reads_only=True) as conn:
            # .all() fetches in one call to the driver, not one a row (measurably faster at 6,000 rows)
            docs = [BoardDocument(d, c, n, k, v, bool(signed), *contact)  # SQLite's IN gives 0 or 1
                    for d, c, n, k, v, signed, *contact in conn.execute(documents).all()]  # fmt: skip
            rets = [BoardReturn(*r) for r in conn.execute(returned).all()]
            for documents_json, at in conn.execute(reminders.order_by(messages.c.id)).all():
                for chased in json.loads(documents_json):
                    reminded.setdefault(chased["doc_id"], []).append(at)
        return BoardSource(docs, rets, reminded)

    def _json_text(self, column: Column[Any], key: str) -> ColumnElement[str]:
        """The text under ``key`` in a column holding a JSON object ("" if none), read by the
        database: SQLite's ``json_extract`` reads the text as it is; PostgreSQL's ``->>`` needs it
        cast to ``json`` first."""
        document = type_coerce(column, JSON) if self.engine.dialect.name == "sqlite" else cast(column, JSON)
        return func.coalesce(document[key].as_string(), "")

    def signups_for(self, scheme_id: str) -> dict[str, dict[str, Any]]:
        """document id → the current sign-up (accepted return) for that document."""
        with self._begin() as conn:
            rows = conn.execute(select(signups).where(signups.c.scheme_id == scheme_id)).mappings()
            return {r["doc_id"]: dict(r) for r in rows}

    def activity_for(self, scheme_id: str | None = None, approved_only: bool = False) -> list[dict[str, Any]]:
        """Activity claimed: one row per practice, quarter and service, from each quarter's current
        accepted claim (a newer accepted claim for a quarter replaces the older one). With
        ``approved_only`` (a scheme whose claims need two-level approval), only claims approved at
        level 2 count."""
        query = (
            select(
                signups.c.scheme_id,
                signups.c.practice_code,
                signups.c.kind,
                signups.c.return_id,
                returns.c.fields_json,
            )
            .join(returns, returns.c.id == signups.c.return_id)
            .where(signups.c.kind.like("claim_q%"))
            .order_by(signups.c.scheme_id, signups.c.practice_code, signups.c.kind)
        )
        if scheme_id:
            query = query.where(signups.c.scheme_id == scheme_id)
        if approved_only:
            # A refusal can never follow an approval (decide_claim), so an approval alone decides.
            approved = select(claim_approvals.c.return_id).where(
                (claim_approvals.c.level == 2) & (claim_approvals.c.decision == "yes")
            )
            query = query.where(signups.c.return_id.in_(approved))
        rows = []
        with self._begin() as conn:
            for r in conn.execute(query):
                fields = json.loads(r.fields_json)
                for tag in sorted(t for t in fields if t.startswith("count_")):
                    rows.append(
                        {
                            "scheme_id": r.scheme_id,
                            "practice_code": r.practice_code,
                            "quarter": int(r.kind.removeprefix("claim_q")),
                            "service": tag.removeprefix("count_"),
                            "count": int(fields[tag].replace(",", "")),
                            "return_id": r.return_id,
                        }
                    )
        return rows

    def decide_claim(self, target: str, level: int, decision: str, reason: str, by: str) -> ClaimDecision:
        """One step of a quarterly claim's two-level approval: an officer verifies it (level 1), then a
        different person, an approver, approves it (level 2); either may refuse it, with a reason.

        ``target`` is a return id (``12`` or ``#12``) or a claim form's document id (its current
        accepted claim). Only the current accepted claim of its quarter can be decided: a claim
        replaced by a newer one, or not accepted, is not what the year end would count. A refused
        claim stays refused (the practice sends a new claim, which starts again); an approved one
        is final. Decisions are appended, never changed, in one transaction."""
        if level not in CLAIM_LEVELS:
            raise RecordsError(f"a claim is decided at level 1 (verify) or 2 (approve), not {level}")
        if decision not in CLAIM_DECISIONS:
            raise RecordsError(f"a claim decision is yes or refuse, not '{decision}'")
        by, reason = " ".join(by.split()), reason.strip()
        if not by:
            raise RecordsError("a claim decision needs the name of the person deciding")
        if decision == "refuse" and not reason:
            raise RecordsError("refusing a claim needs a reason: it is kept with the decision")
        with self._begin() as conn:
            if target.strip().lstrip("#").isdigit():
                return_id = int(target.strip().lstrip("#"))
            else:
                query = select(signups.c.return_id).where(
                    (signups.c.doc_id == target.strip()) & signups.c.kind.like("claim_q%")
                )
                found = conn.execute(query).scalar()
                if found is None:
                    raise RecordsError(f"no accepted claim on record for '{target}'")
                return_id = int(found)
            row = conn.execute(select(returns).where(returns.c.id == return_id)).mappings().first()
            if row is None:
                raise RecordsError(f"no return on record for '{target}'")
            what = f"return #{return_id} ({row['filename']})"
            kind = _kind_of(row["doc_id"] or "") or ""
            if not kind.startswith("claim_q"):
                raise RecordsError(f"{what} is not a quarterly claim: only claims are verified and approved")
            current = conn.execute(
                select(signups.c.return_id).where(
                    (signups.c.scheme_id == row["scheme_id"])
                    & (signups.c.practice_code == row["practice_code"])
                    & (signups.c.kind == kind)
                )
            ).scalar()
            if current != return_id:
                if current is None or row["status"] != "accepted":
                    raise RecordsError(f"{what} is {row['status']}, not accepted: only an accepted claim "
                                       "is verified and approved")  # fmt: skip
                raise RecordsError(f"{what} is no longer the practice's Q{kind[-1]} claim: return "
                                   f"#{current} replaced it; decide that one")  # fmt: skip
            query = select(claim_approvals).where(claim_approvals.c.return_id == return_id)
            steps = _claim_steps(conn.execute(query.order_by(claim_approvals.c.id)))
            state = steps["state"]
            if state == "refused":
                raise RecordsError(
                    f"{what} was refused by {steps['refused_by']} ({steps['refused_reason']}): the "
                    "practice must send a new claim for the quarter"
                )
            if state == "approved":
                raise RecordsError(f"{what} was approved by {steps['approved_by']} on "
                                   f"{steps['approved_at'][:10]}: an approved claim is final")  # fmt: skip
            if level == 1 and state == "verified":
                raise RecordsError(f"{what} was verified by {steps['verified_by']}: it now waits for an "
                                   "approver (level 2)")  # fmt: skip
            if level == 2 and state != "verified":
                raise RecordsError(f"{what} is not verified yet: an officer verifies it (level 1) before an "
                                   "approver decides it (level 2)")  # fmt: skip
            if level == 2 and _same_person(by, steps["verified_by"]):
                raise RecordsError(f"{what} was verified by {steps['verified_by']}, who cannot also decide "
                                   "it at level 2: the approver must be another person")  # fmt: skip
            now = _now()
            conn.execute(
                insert(claim_approvals).values(
                    return_id=return_id, level=level, decision=decision,
                    reason=storable_text(reason, FIELD_CHARS), by=storable_text(by, FIELD_CHARS), at=now,
                )
            )  # fmt: skip
        new_state = "refused" if decision == "refuse" else CLAIM_LEVELS[level]
        return ClaimDecision(return_id, str(row["doc_id"]), str(row["practice_code"]), int(kind[-1]), level,
                             decision, reason, by, now, new_state)  # fmt: skip

    def claims_for(self, scheme_id: str | None = None) -> list[dict[str, Any]]:
        """Every current accepted claim (one per practice and quarter), by scheme, practice and quarter:
        ``scheme_id``, ``practice_code``, ``practice_name``, ``quarter``, ``doc_id``, ``return_id``,
        ``counts`` ({service: units}), ``signatory``, ``signed_date``, ``accepted_at``, and its
        approval: ``state`` (one of :data:`CLAIM_STATES`) with ``verified_by``/``_at``/``_reason``,
        ``approved_…`` and ``refused_…`` (and ``refused_level``), "" where a step has not happened.
        Two queries, whatever the number of claims."""
        is_claim = signups.c.kind.like("claim_q%")
        query = (
            select(signups.c.scheme_id, signups.c.practice_code, signups.c.kind, signups.c.doc_id,
                   signups.c.return_id, signups.c.signatory, signups.c.signed_date, signups.c.accepted_at,
                   returns.c.fields_json, issued.c.practice_name)
            .join(returns, returns.c.id == signups.c.return_id)
            .outerjoin(issued, issued.c.doc_id == signups.c.doc_id)
            .where(is_claim)
            .order_by(signups.c.scheme_id, signups.c.practice_code, signups.c.kind)
        )  # fmt: skip
        decided = (
            select(claim_approvals)
            .join(signups, signups.c.return_id == claim_approvals.c.return_id)
            .where(is_claim)
            .order_by(claim_approvals.c.id)
        )
        if scheme_id:
            query = query.where(signups.c.scheme_id == scheme_id)
            decided = decided.where(signups.c.scheme_id == scheme_id)
        with self._begin() as conn:
            rows = list(conn.execute(query))
            decisions: dict[int, list[Any]] = {}
            for d in conn.execute(decided):
                decisions.setdefault(int(d.return_id), []).append(d)
        claims = []
        for r in rows:
            fields = json.loads(r.fields_json)
            counts = {
                tag.removeprefix("count_"): int(fields[tag].replace(",", ""))
                for tag in sorted(fields)
                if tag.startswith("count_")
            }
            claims.append({
                "scheme_id": r.scheme_id, "practice_code": r.practice_code,
                "practice_name": r.practice_name or "", "quarter": int(r.kind.removeprefix("claim_q")),
                "doc_id": r.doc_id, "return_id": int(r.return_id), "counts": counts,
                "signatory": r.signatory, "signed_date": r.signed_date, "accepted_at": r.accepted_at,
                **_claim_steps(decisions.get(int(r.return_id), [])),
            })  # fmt: skip
        return claims

    def replace_year_end_rows(
        self, scheme_id: str, kind: str, source: str, rows: list[dict[str, str]]
    ) -> None:
        """What one evidence / payments / decisions file says, replacing what it said before."""
        now = _now()
        with self._begin() as conn:
            conn.execute(
                year_end.delete().where(
                    (year_end.c.scheme_id == scheme_id)
                    & (year_end.c.kind == kind)
                    & (year_end.c.source == source)
                )
            )
            if rows:
                conn.execute(
                    insert(year_end),
                    [
                        {
                            **r,
                            "row": int(r["row"]),
                            "scheme_id": scheme_id,
                            "kind": kind,
                            "source": source,
                            "loaded_at": now,
                        }
                        for r in rows
                    ],
                )

    def year_end_rows(self, scheme_id: str) -> list[dict[str, str]]:
        """Every year-end input row on record for the scheme, in the order loaded."""
        query = select(year_end).where(year_end.c.scheme_id == scheme_id).order_by(year_end.c.id)
        with self._begin() as conn:
            return [{k: str(v) for k, v in r.items()} for r in conn.execute(query).mappings()]

    def record_year_end_run(
        self, scheme_id: str, out_dir: str | Path, files: Mapping[str, Mapping[str, str | Path]],
        header: Sequence[str], rows: Sequence[Sequence[object]], net: Decimal, by: str = "",
        at: str | None = None,
    ) -> int:  # fmt: skip
        """Keep one ``statements`` run: its folder and the statement files written per practice
        ({code: {format: path}}, kept absolute so they can be found whatever folder asks), finance's
        schedule (``header`` and ``rows``, the TOTAL line too) and the net total; its id.

        Amounts are kept as exact text, as the CSV schedule writes them: a float, which cannot hold
        every amount in pence exactly, is refused.
        """
        kept = {
            code: {fmt: os.path.abspath(path) for fmt, path in sorted(made.items())}
            for code, made in sorted(files.items())
        }
        values = {
            "scheme_id": scheme_id,
            "at": at or _now(),
            "by": storable_text(by, FIELD_CHARS),
            "out_dir": os.path.abspath(out_dir),
            "files_json": json.dumps(kept, ensure_ascii=False),
            "schedule_json": json.dumps(
                {"header": list(header), "rows": [[_exact_text(cell) for cell in row] for row in rows]},
                ensure_ascii=False,
            ),
            "net": _exact_text(net),
        }
        with self._begin() as conn:
            inserted = conn.execute(insert(year_end_runs).values(**values)).inserted_primary_key
        assert inserted is not None
        return int(inserted[0])

    def year_end_runs(self, scheme_id: str) -> list[dict[str, Any]]:
        """The scheme's ``statements`` runs, newest first, each with ``files`` and ``schedule`` decoded
        (``net`` and the schedule's amounts are exact text: ``Decimal(text)`` gives the amount)."""
        query = select(year_end_runs).where(year_end_runs.c.scheme_id == scheme_id)
        with self._begin() as conn:
            rows = [dict(r) for r in conn.execute(query.order_by(year_end_runs.c.id.desc())).mappings()]
        for row in rows:
            row["files"] = json.loads(row.pop("files_json"))
            row["schedule"] = json.loads(row.pop("schedule_json"))
        return rows

    def table_rows(self, name: str) -> tuple[list[str], list[list[Any]]]:
        """Header and rows of a whole table (or of the derived ``activity``), for export."""
        if name == "activity":
            activity = self.activity_for()
            header = ["scheme_id", "practice_code", "quarter", "service", "count", "return_id"]
            return header, [[row[h] for h in header] for row in activity]
        table = TABLES[name]
        with self._begin() as conn:
            result = conn.execute(select(table).order_by(*table.primary_key.columns))
            return list(result.keys()), [list(r) for r in result]


SignUpKey = tuple[Any, Any, Any]  # (scheme id, practice code, document kind)


def _signup_key(record: ReturnRecord) -> SignUpKey | None:
    """The sign-up an accepted return would make: None for a return that cannot be one."""
    if record.status == "accepted" and record.scheme_id and record.practice_code and record.kind:
        return (record.scheme_id, record.practice_code, record.kind)
    return None


@dataclass
class _Held:
    """A sign-up's current return as a batch goes: on record, or inserted by the batch (its id once
    the rows before it are written)."""

    doc_id: str | None
    fields_json: str
    return_id: int | None = None
    row: dict[str, Any] | None = None


class _ReturnsBatch:
    """The returns of one :meth:`Records.record_returns`, judged against the records and each other
    in order, written with one insert (more only when a duplicate must quote an id just made)."""

    def __init__(self, conn: Connection, now: str) -> None:
        self.conn, self.now = conn, now
        self.on_record: dict[str, Recorded] = {}  # sha256 → on record before, or earlier in this batch
        self.current: dict[SignUpKey, _Held] = {}
        self.results: list[Recorded | dict[str, Any] | str] = []  # on record / a new row / same bytes as
        self.added: set[str] = set()
        self.unwritten: list[dict[str, Any]] = []
        self.made: list[tuple[SignUpKey, str, dict[str, Any], tuple[Any, Any, Any]]] = []

    def add(self, record: ReturnRecord) -> None:
        if record.sha256 in self.on_record:
            self.results.append(self.on_record[record.sha256])
            return
        if record.sha256 in self.added:
            self.results.append(record.sha256)  # the same bytes twice in one batch: recorded once
            return
        self.added.add(record.sha256)
        status, reasons = record.status, list(record.reasons)
        fields_json = json.dumps(record.fields, sort_keys=True, ensure_ascii=False)
        key = _signup_key(record)
        held = self.current.get(key) if key else None
        if held is not None and held.doc_id == record.doc_id and held.fields_json == fields_json:
            if held.return_id is None:
                self._write()
            status = "rejected"
            reasons.append(f"duplicate: the same entries as return #{held.return_id}, already accepted")
        row = {"sha256": record.sha256, "filename": record.filename, "size": record.size,
               "format": record.format, "received_at": self.now, "doc_id": record.doc_id,
               "id_source": record.id_source, "scheme_id": record.scheme_id,
               "practice_code": record.practice_code, "status": status,
               "reasons_json": json.dumps(reasons, ensure_ascii=False), "fields_json": fields_json,
               "signature_kind": record.signature_kind, "signer": record.signer,
               "signed_date": record.signed_date, "revision": record.revision,
               "signature_json": json.dumps(record.signature, sort_keys=True, ensure_ascii=False),
               "late": record.late, "message_id": record.message_id, "sender": record.sender}  # fmt: skip
        self.unwritten.append(row)
        self.results.append(row)
        if key and status == "accepted":
            self.current[key] = _Held(record.doc_id, fields_json, row=row)
            self.made.append(
                (key, str(record.doc_id), row, (record.signed_date, record.signer, record.signature_kind))
            )

    def _write(self) -> None:
        """Insert the rows not yet written, learning their ids."""
        if not self.unwritten:
            return
        statement = insert(returns)
        if self.conn.dialect.insert_executemany_returning_sort_by_parameter_order:
            found = self.conn.execute(
                statement.returning(returns.c.id, sort_by_parameter_order=True), self.unwritten
            )
            ids = [int(r.id) for r in found]
        else:
            ids = [
                int((self.conn.execute(statement, row).inserted_primary_key or [0])[0])
                for row in self.unwritten
            ]
        for row, new_id in zip(self.unwritten, ids, strict=True):
            row["id"] = new_id
        for held in self.current.values():
            if held.return_id is None and held.row is not None:
                held.return_id = held.row["id"]
        self.unwritten = []

    def finish(self) -> list[Recorded]:
        self._write()
        made = [(key, doc_id, row["id"], signer) for key, doc_id, row, signer in self.made]
        superseded = dict(zip((m[2] for m in made), _make_signups(self.conn, made, self.now), strict=True))
        done: list[Recorded] = []
        first: dict[str, Recorded] = {}
        for result in self.results:
            if isinstance(result, Recorded):
                done.append(result)
            elif isinstance(result, str):
                done.append(dataclasses.replace(first[result], new=False, superseded=None))
            else:
                reasons = tuple(json.loads(result["reasons_json"]))
                recorded = Recorded(result["id"], True, result["status"], reasons, result["doc_id"],
                                    result["practice_code"], result["signature_kind"],
                                    superseded.get(result["id"]), json.loads(result["signature_json"]),
                                    bool(result["late"]))  # fmt: skip
                first[result["sha256"]] = recorded
                done.append(recorded)
        return done


def _current_signups(conn: Connection, keys: set[SignUpKey]) -> dict[SignUpKey, _Held]:
    """The current sign-up's return (its id, document and entries) for each of ``keys`` that has one."""
    found: dict[SignUpKey, _Held] = {}
    for chunk in _chunks(sorted({k[1] for k in keys}), 500):
        query = (
            select(signups.c.scheme_id, signups.c.practice_code, signups.c.kind, signups.c.return_id,
                   returns.c.doc_id, returns.c.fields_json)
            .join(returns, returns.c.id == signups.c.return_id)
            .where(signups.c.practice_code.in_(chunk))
        )  # fmt: skip
        for r in conn.execute(query):
            key = (r.scheme_id, r.practice_code, r.kind)
            if key in keys:
                found[key] = _Held(r.doc_id, r.fields_json, int(r.return_id))
    return found


def _message_detail(message: Any) -> str:
    """What a history line says of a message: its outcome, to whom, where or the server's reply."""
    to = ", ".join(json.loads(message["recipients_json"]))
    what = {
        "outbox": f"written to the outbox for {to}",
        "sent": f"sent to {to}",
        "temporary": f"not sent to {to} (temporary failure, tried again next run)",
        "refused": f"refused for {to}",
    }.get(message["outcome"], f"{message['outcome']}: {to}")
    extra = message["path"] if message["outcome"] == "outbox" else message["reply"]
    return f"{what}: {extra}" if extra else what


def _merge_revision_files(conn: Connection, items: list[dict[str, Any]]) -> None:
    """Add the files of a revision issued again (a format not made the first time) to its record."""
    for item in items:
        where = (revisions.c.doc_id == item["d"]) & (revisions.c.revision == item["r"])
        known = json.loads(conn.execute(select(revisions.c.files_json).where(where)).scalar() or "[]")
        formats = {f["format"] for f in known}
        new = [f for f in item["files"] if f["format"] not in formats]
        if new:
            merged = sorted(known + new, key=lambda f: f["format"])
            conn.execute(update(revisions).where(where).values(files_json=json.dumps(merged)))


def _make_signup(
    conn: Connection,
    key: SignUpKey,
    doc_id: str,
    return_id: int,
    signer: tuple[Any, Any, Any],
    now: str,
) -> int | None:
    """Make an accepted return the current sign-up of its (scheme, practice, kind); the return it
    supersedes (which stays on record, pointing at its successor), if there was one."""
    return _make_signups(conn, [(key, doc_id, return_id, signer)], now)[0]


def _make_signups(
    conn: Connection, made: list[tuple[SignUpKey, str, int, tuple[Any, Any, Any]]], now: str
) -> list[int | None]:
    """:func:`_make_signup` for each of ``made`` (key, document id, return id, signer) in turn, in a
    few statements: the return each one supersedes, if there was one."""
    if not made:
        return []
    holders: dict[SignUpKey, int] = {}
    keys = {key for key, *_ in made}
    for chunk in _chunks(sorted({k[1] for k in keys}), 500):
        query = select(signups.c.scheme_id, signups.c.practice_code, signups.c.kind, signups.c.return_id)
        for r in conn.execute(query.where(signups.c.practice_code.in_(chunk))):
            if (r.scheme_id, r.practice_code, r.kind) in keys:
                holders[(r.scheme_id, r.practice_code, r.kind)] = int(r.return_id)
    existed = set(holders)
    final: dict[SignUpKey, dict[str, Any]] = {}
    successors: list[dict[str, int]] = []
    superseded: list[int | None] = []
    for key, doc_id, return_id, (signed_date, signatory, signature_kind) in made:
        current = holders.get(key)
        superseded.append(current)
        if current is not None:
            successors.append({"old": current, "new": return_id})
        holders[key] = return_id
        final[key] = {"doc_id": doc_id, "return_id": return_id, "signed_date": signed_date,
                      "signatory": signatory, "signature_kind": signature_kind,
                      "accepted_at": now}  # fmt: skip
    inserts = [
        {"scheme_id": k[0], "practice_code": k[1], "kind": k[2], **v}
        for k, v in final.items()
        if k not in existed
    ]
    updates = [
        {"k_scheme": k[0], "k_practice": k[1], "k_kind": k[2], **v} for k, v in final.items() if k in existed
    ]
    if inserts:
        conn.execute(insert(signups), inserts)
    if updates:
        where = (
            (signups.c.scheme_id == bindparam("k_scheme"))
            & (signups.c.practice_code == bindparam("k_practice"))
            & (signups.c.kind == bindparam("k_kind"))
        )
        conn.execute(update(signups).where(where), updates)
    if successors:
        conn.execute(
            update(returns).where(returns.c.id == bindparam("old")).values(superseded_by=bindparam("new")),
            successors,
        )
    return superseded


def _document(row: Any, files: list[IssuedFile], rev: Any = None) -> IssuedDocument:
    """The register's row as a document; with ``rev``, as of that revision (terms, wording)."""
    if rev is not None:
        row = {**row, "terms_json": rev["terms_json"], "terms_digest": rev["terms_digest"]}
    return IssuedDocument(
        doc_id=row["doc_id"],
        scheme_id=row["scheme_id"],
        scheme_version=row["scheme_version"],
        practice_code=row["practice_code"],
        practice_name=row["practice_name"],
        kind=row["kind"],
        terms=json.loads(row["terms_json"]),
        terms_digest=row["terms_digest"],
        practice=json.loads(row["practice_json"]),
        files=tuple(files),
        first_issued_at=row["first_issued_at"],
        form_tags=tuple(json.loads(row["form_json"])),
        revision=rev["revision"] if rev is not None else row["revision"],
        wording=rev["wording"] if rev is not None else "",
        reason=rev["reason"] if rev is not None else "",
        issued_at=rev["issued_at"] if rev is not None else row["last_issued_at"],
        superseded_at=rev["superseded_at"] if rev is not None else None,
    )


def _upgrade(engine: Engine, url: str) -> None:
    """Bring the database to the newest schema with Alembic, in one transaction.

    A database made before Alembic carries its version in ``meta.schema_version``: it is stamped
    with the matching revision first, so that only the later steps run. A database newer than
    this release is refused rather than touched. Concurrent first opens (four ``ingest``
    processes on a new database) take turns: every transaction begins by taking the database's
    write lock (see ``_sqlite_begin_immediate`` and ``_postgresql_writers_queue``).
    """
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from . import migrations

    config = Config()
    config.set_main_option("script_location", str(migrations.SCRIPTS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.begin() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        names = set(inspect(conn).get_table_names())
        if current is None and "meta" in names:  # made before Alembic: stamp it with its version
            found = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
            current = f"{int(found or 1):04d}"
            if int(current) <= int(head or 0):
                config.attributes["connection"] = conn
                command.stamp(config, current)
        if current is not None and int(current) > int(head or 0):
            raise RecordsError(
                f"the database has schema version {int(current)}, newer than this agreementgen "
                f"understands ({int(head or 0)}); upgrade agreementgen",
                path=safe_url(url),
            )
        if current != head:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (status) run while a bulk run or an ingest writes; the busy
    # timeout makes concurrent writers wait instead of failing at once.
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


READS_ONLY = "agreementgen_reads_only"  # an engine option: its transactions only read, so take no lock


def _sqlite_begin_immediate(conn: Connection) -> None:
    # A deferred transaction that reads then writes can deadlock against another writer
    # (SQLITE_BUSY that no timeout cures); taking the write lock up front makes writers queue.
    # One that only reads (an ingest worker looking up the register) reads a snapshot (WAL) and
    # neither waits for a writer nor holds one up.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READS_ONLY) else "BEGIN IMMEDIATE")


_LOCK_KEY = 7170652  # agreementgen's advisory lock on a shared PostgreSQL database


def _postgresql_writers_queue(conn: Connection) -> None:
    # The same discipline as SQLite's BEGIN IMMEDIATE: one transaction at a time takes its turn.
    # Without it, two ingesters both find a file's sha256 unrecorded, both insert it, and the
    # second dies on the unique key (or both make themselves the current sign-up). Reading alone
    # needs no turn.
    if not conn.get_execution_options().get(READS_ONLY):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
