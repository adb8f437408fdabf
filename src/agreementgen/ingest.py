"""Ingesting returned forms: judge each file against the issued register and record it.

Owns the rules that turn what a file says (:mod:`agreementgen.returns`) into a status:

* ``rejected`` — it cannot be a return we can use: unreadable, not a PDF/DOCX, no or an
  unknown document id, another scheme's form, a practice never issued one, a duplicate;
* ``flagged`` — it is a return for a known document but a person must look: issued terms
  changed (the fields that differ are named), required entries missing, a signing date
  that is not a real date / in the future / before the form was issued, a digital
  signature that is broken or does not cover the whole file, a flattened or scanned form;
* ``accepted`` — everything checks; it becomes the practice's current sign-up.

Every file gets one row in the records database with every reason, whatever its status
(idempotent by sha256). Files are found recursively in folders; names are never trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from .context import DOC_ID_FIELD, parse_document_id
from .kinds.claim import COUNT_PREFIX
from .records import Recorded, Records, ReturnRecord
from .returns import MAX_RETURN_BYTES, ReadReturn, read_return

SIGNATORY_NAME = "practice_signatory_name"
SIGNATORY_DESIGNATION = "practice_signatory_designation"
TYPED_SIGNATURE = "practice_signature"
SIGNATURE_DATE = "practice_signature_date"
REQUIRED_PRACTICE_FIELDS = (SIGNATORY_NAME, SIGNATORY_DESIGNATION, SIGNATURE_DATE)
_SKIP_NAMES = re.compile(r"^(\.|~\$)|\.(tmp|db|db-wal|db-shm|json|jsonl)$", re.IGNORECASE)

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
    """What happened to one file: its path and the return as recorded."""

    path: str = ""


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def counts(self) -> Counter[str]:
        return Counter(f.status for f in self.files if f.new)

    @property
    def unchanged(self) -> int:
        return sum(not f.new for f in self.files)


def find_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every file under ``paths`` (folders recursively, sorted), skipping our own and hidden files."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if not _SKIP_NAMES.search(name):
                        yield Path(root, name)
        else:
            yield path


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
    issued = records.issued_document(read.doc_id)
    if issued is None:
        if not records.scheme_was_issued(doc_scheme):
            why = f"document id {read.doc_id} is not in the issued register (no {doc_scheme} form was issued)"
        elif not records.practice_was_issued(doc_scheme, practice_code):
            why = f"practice {practice_code} was never issued a {doc_scheme} document (id {read.doc_id})"
        else:
            why = f"document id {read.doc_id} is not in the issued register (another version or kind?)"
        return "rejected", [why, *flags], doc_scheme, practice_code, None

    problems = list(flags)
    fields = read.fields
    if not read.has_form and read.format == "docx":
        problems.append("the DOCX has no fillable fields left: its entries cannot be read; check it by hand")
    if read.has_form:
        if fields.get(DOC_ID_FIELD, read.doc_id) != read.doc_id:
            problems.append(f"the doc_id field ({fields[DOC_ID_FIELD]}) differs from the document id")
        changed = [
            f"{tag} (issued '{value}', returned '{fields[tag]}')"
            for tag, value in issued.terms.items()
            if tag != DOC_ID_FIELD and tag in fields and fields[tag] != value
        ]
        missing_terms = [t for t in issued.terms if t != DOC_ID_FIELD and t not in fields]
        if changed:
            problems.append("issued terms changed: " + "; ".join(changed))
        if missing_terms:
            problems.append("issued terms removed from the form: " + ", ".join(missing_terms))
        # Every field the practice was asked to fill; the signature may be typed or digital.
        wanted = issued.form_tags or (
            *sorted(t for t in fields if t.startswith("lead_")),
            *REQUIRED_PRACTICE_FIELDS,
        )
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
            problems.append(f"date signed '{text}' is not a real date (day/month/year)")
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
    return ("flagged" if problems else "accepted"), problems, doc_scheme, practice_code, signed


def _count_problems(fields: dict[str, str], terms: dict[str, str], wanted: Iterable[str]) -> list[str]:
    """Activity counts on a claim form: whole numbers, not negative, within the issued cap."""
    problems = []
    asked = set(wanted)
    for tag, text in sorted(fields.items()):
        if not tag.startswith(COUNT_PREFIX):
            continue
        service = tag.removeprefix(COUNT_PREFIX)
        if tag not in asked:
            problems.append(f"{tag}: {service} is not a service on this practice's claim form")
            continue
        if not text:
            continue  # reported with the other missing entries
        cleaned = text.replace(",", "").strip()
        if not cleaned.isdigit():
            problems.append(f"{tag} '{text}' is not a whole number of units (0 or more)")
            continue
        cap = terms.get(f"term_service_{service}_cap")
        if cap is not None and int(cleaned) > int(cap.replace(",", "")):
            problems.append(f"{tag} {int(cleaned):,} is over the cap of {cap} per practice")
    return problems


def signature_kind(read: ReadReturn) -> str:
    if read.signature is not None and read.signature.valid and read.signature.whole_file:
        return "digital"
    if read.fields.get(TYPED_SIGNATURE):
        return "typed"
    return "none"


def ingest_file(
    path: Path, records: Records, *, scheme_id: str | None = None, today: date | None = None
) -> Recorded:
    """Read, judge and record one file (never raises for a bad file; it is recorded as rejected)."""
    try:
        size = path.stat().st_size
        data = b"" if size > MAX_RETURN_BYTES else path.read_bytes()
    except OSError as exc:
        read = ReadReturn("unknown").reject(f"cannot read the file: {exc.strerror}")
        size, data = 0, f"unreadable:{path}".encode()
    else:
        read = (
            ReadReturn("unknown").reject(
                f"file is {size:,} bytes, over the {MAX_RETURN_BYTES:,}-byte limit for a return"
            )
            if size > MAX_RETURN_BYTES
            else read_return(data)
        )
    sha = _sha256_of(path, data, size)
    status, reasons, doc_scheme, practice, signed = judge(read, records, scheme_id=scheme_id, today=today)
    signer = (
        read.signature.signer
        if read.signature and read.signature.signer
        else read.fields.get(SIGNATORY_NAME, "")
    )
    return records.record_return(
        ReturnRecord(
            sha256=sha,
            filename=str(path),
            size=size,
            format=read.format,
            doc_id=read.doc_id,
            id_source=read.id_source,
            scheme_id=doc_scheme,
            practice_code=practice,
            kind=parsed[3] if (parsed := parse_document_id(read.doc_id or "")) else None,
            status=status,
            reasons=reasons,
            fields=read.fields,
            signature_kind=signature_kind(read),
            signer=signer,
            signed_date=signed,
        )
    )


def _sha256_of(path: Path, data: bytes, size: int) -> str:
    if data or size == 0:
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest(
    paths: Iterable[str | Path],
    records: Records,
    *,
    scheme_id: str | None = None,
    today: date | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> IngestReport:
    """Ingest every file under ``paths``; files already on record (same sha256) are skipped unread."""
    start = time.perf_counter()
    report = IngestReport()
    known = records.known_returns()
    for path in find_files(paths):
        recorded = _known(path, known) if known else None
        if recorded is None:
            recorded = ingest_file(path, records, scheme_id=scheme_id, today=today)
        outcome = FileOutcome(**dataclasses.asdict(recorded), path=str(path))
        report.files.append(outcome)
        if on_file:
            on_file(outcome)
    report.seconds = time.perf_counter() - start
    return report


def _known(path: Path, known: dict[str, Recorded]) -> Recorded | None:
    try:
        return known.get(_sha256_of(path, b"", -1))
    except OSError:
        return None
