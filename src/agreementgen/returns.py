"""Reading one returned form: what the file is, which issued document it claims to be, what it says.

Owns the read side of a return and nothing else — no database, no judgement about the
issued register (that is :mod:`agreementgen.ingest`). Given a file's bytes it finds:

* the **format** by content, never by name (a JPEG renamed ``.pdf`` is a JPEG);
* the **document id**: the PDF's hidden ``doc_id`` field, else its metadata key
  ``/AgreementgenDocumentId``, else (a flattened form) the id printed in its footer
  text, else (a scan) the QR code if ``zbarimg`` and ``pdftoppm`` are installed; the
  DOCX's custom property ``doc_id``;
* the **entries**: every form field (PDF) or tagged content control (DOCX) as text —
  the practice's entries and the issued terms alike;
* a **digital signature**, validated with pyHanko: intact and valid, covering the whole
  file or not, the signer's certificate (subject, common name, issuer), the signing time
  its signer reports and, given trusted roots (:func:`load_trust_roots`), whether the
  certificate chains to one of them. What the scheme makes of these is ingest's.

Anything that stops the file being read is a :class:`Finding` of severity
``rejected``; anything that lets it be read but needs a person is ``flagged``.
Nothing here raises for bad input: :func:`read_return` is the boundary where whatever the
PDF, zip and signature libraries raise for a hostile or broken file (``NotImplementedError``
for an unknown encryption handler, filter or zip version included) becomes a rejection.

The libraries log what they repair and, for a signature they cannot trust, full
tracebacks. Their loggers are kept out of the terminal here, where they are used
(:data:`QUIET_LOGGERS`); a caller that wants them attaches its own handler to these loggers.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from .context import DOC_ID_FIELD, parse_document_id
from .errors import AgreementgenError, CertificateError
from .render.docx import read_content_controls, read_custom_properties, read_main_part

Severity = Literal["rejected", "flagged"]

# A signed Section 7 is ~100 KB as PDF, ~30 KB as DOCX, a few MB as a scan; anything over
# this is refused unread (documented in the README).
MAX_RETURN_BYTES = 25 * 1024 * 1024
MESSAGE_CHARS = 160  # how much of a library's message a reason quotes
SIGNATURE_FIELD = "practice_digital_signature"
METADATA_KEY = "/AgreementgenDocumentId"
REVISION_KEY = "/AgreementgenRevision"
_ID_IN_TEXT = re.compile(r"Document id:\s*(\S+:v[^:\s]+:[A-Z0-9]+:[a-z0-9_]+)")
_MAGIC = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\xd0\xcf\x11\xe0", "an old Word/Excel (OLE) file"),
    (b"{\\rtf", "an RTF file"),
)


QUIET_LOGGERS = ("pypdf", "pyhanko", "pyhanko_certvalidator")


def _quiet_library_loggers() -> None:
    # Without a handler of their own, a library's warnings go to Python's last-resort handler,
    # i.e. the terminal; a return the library had to repair is already reported as a finding.
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.propagate = False


_quiet_library_loggers()


@dataclass(frozen=True)
class Finding:
    severity: Severity
    reason: str


Trust = Literal["trusted", "untrusted", "not checked"]
TrustRoots = tuple[Any, ...]  # asn1crypto certificates, as pyHanko takes them


@dataclass
class Signature:
    """A digital signature found in the file, as pyHanko judged it."""

    field: str
    intact: bool  # the signed bytes are as signed
    valid: bool  # intact, and the signature over them is cryptographically sound
    whole_file: bool  # it covers the whole file: nothing added after signing
    signer: str  # the certificate's subject, as text ("Common Name: …, Organization: …")
    signed_at: str | None  # ISO; the time the signer's computer reported, not proof of it
    problem: str | None = None  # why it could not be checked at all
    common_name: str = ""  # the certificate's common name: the person it names
    issuer: str = ""  # who issued the certificate, as text
    certificate_sha256: str = ""
    trust: Trust = "not checked"  # against the trusted roots, if ingest was given any
    trust_problem: str | None = None  # why it is untrusted

    def as_dict(self) -> dict[str, Any]:
        """What is recorded of it (``returns.signature_json``) and printed by ``ingest --json``."""
        return asdict(self)


@dataclass
class ReadReturn:
    format: str  # "pdf", "docx" or "unknown"
    doc_id: str | None = None
    id_source: str = ""  # "form field", "metadata", "footer text", "qr code", "custom properties"
    fields: dict[str, str] = field(default_factory=dict)
    signature: Signature | None = None
    findings: list[Finding] = field(default_factory=list)
    has_form: bool = False
    revision: int | None = None  # the revision of the document it says it is (None: not said)
    # What the wording check needs, kept from the one parse: the DOCX body, the PDF reader.
    body_xml: bytes | None = field(default=None, compare=False, repr=False)
    pdf: Any = field(default=None, compare=False, repr=False)

    def reject(self, reason: str) -> ReadReturn:
        self.findings.append(Finding("rejected", reason))
        return self

    def flag(self, reason: str) -> None:
        self.findings.append(Finding("flagged", reason))


def read_return(data: bytes, trust_roots: TrustRoots | None = None) -> ReadReturn:
    """Everything a returned file says about itself (never raises for a bad file).

    A digital signature is checked against ``trust_roots`` (:func:`load_trust_roots`); with
    none, its trust is "not checked".
    """
    if not data:
        return ReadReturn("unknown").reject("empty file")
    if len(data) > MAX_RETURN_BYTES:
        return ReadReturn("unknown").reject(
            f"file is {len(data):,} bytes, over the {MAX_RETURN_BYTES:,}-byte limit for a return"
        )
    head = data[:1024]
    if b"%PDF-" in head:
        return _guarded(
            functools.partial(_read_pdf, trust_roots=trust_roots), data, "pdf", "not a readable PDF"
        )
    if data.startswith(b"PK\x03\x04"):
        return _guarded(_read_docx, data, "docx", "not a readable DOCX")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return ReadReturn("unknown").reject(f"not a PDF or DOCX: the content is {what}")
    return ReadReturn("unknown").reject("not a PDF or DOCX (unrecognised content)")


def _guarded(reader: Callable[[bytes], ReadReturn], data: bytes, fmt: str, what: str) -> ReadReturn:
    """``reader(data)``, or a rejection naming what the library underneath raised.

    pypdf, pyHanko and zipfile raise many types for a damaged or hostile file, some of them
    (``NotImplementedError``, ``RecursionError``, ``MemoryError``) nowhere in their documented
    errors; whatever they raise here is about this file, so it rejects the file.
    """
    try:
        return reader(data)
    except Exception as exc:
        return ReadReturn(fmt).reject(f"{what}: {library_message(exc)}")


def library_message(exc: BaseException) -> str:
    """A library's exception as one short line for a reason: its type and the start of its message."""
    if isinstance(exc, NotImplementedError):
        what = "it uses a feature the reader does not support"
        return f"{what} ({_clip(str(exc))})" if str(exc) else what
    text = _clip(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _clip(text: str, limit: int = MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- DOCX -------------------------------------------------------------------------------------


def _read_docx(data: bytes) -> ReadReturn:
    result = ReadReturn("docx")
    try:
        props = read_custom_properties(data)
        controls = read_content_controls(data)
        result.body_xml = read_main_part(data)
    except AgreementgenError as exc:
        return result.reject(f"not a readable DOCX: {exc.message}")
    except Exception as exc:  # zipfile: NotImplementedError for a zip version or method it lacks, …
        return result.reject(f"not a readable DOCX: {library_message(exc)}")
    result.has_form = bool(controls)
    result.fields = {k: v.strip() for k, v in controls.items()}
    result.revision = _revision(props.get("doc_revision"))
    doc_id = props.get("doc_id", "").strip()
    if doc_id:
        result.doc_id, result.id_source = doc_id, "custom properties"
    elif result.fields.get(DOC_ID_FIELD):
        result.doc_id, result.id_source = result.fields[DOC_ID_FIELD], "content control"
    else:
        result.reject("no document id: the DOCX has no agreementgen custom properties")
    return result


def _revision(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


# --- PDF --------------------------------------------------------------------------------------


TERMS_PREFIX = "terms."


def _read_pdf(data: bytes, trust_roots: TrustRoots | None = None) -> ReadReturn:
    from pypdf.errors import PyPdfError

    from .pdfobjects import FormReader

    result = ReadReturn("pdf")
    try:
        reader = FormReader(data)  # pypdf's PdfReader(strict=False), parsing plain objects faster
        if reader.is_encrypted:
            # An owner password alone still lets anyone read it; a user password does not.
            try:
                opened = bool(reader.decrypt(""))
            except Exception:  # pypdf raises several types for unsupported encryption
                opened = False
            if not opened:
                return result.reject("encrypted PDF: ask the practice to send it without a password")
        raw = {_pdf_text(name): f for name, f in (reader.get_fields() or {}).items()}
        fields = {name: _field_text(f.get("/V")) for name, f in raw.items()}
        metadata: Any = reader.metadata or {}
        meta_id = _pdf_text(metadata.get(METADATA_KEY) or "").strip()
        result.revision = _revision(_pdf_text(metadata.get(REVISION_KEY) or ""))
        result.pdf = reader
        # A form without its id (pages taken out of it: the hidden field is on page 1 and a page
        # tool drops the metadata) is identified by the id its footer prints, as a flattened one.
        named = bool(meta_id) or bool(raw.get(DOC_ID_FIELD) and _field_text(raw[DOC_ID_FIELD].get("/V")))
        text = "" if raw and named else _page_text(reader)
    except NotImplementedError as exc:
        if b"/Encrypt" in data:  # an encryption handler or method pypdf does not implement
            return result.reject(
                f"encrypted PDF ({_clip(str(exc))}): ask the practice to send it without a password"
            )
        return result.reject(f"not a readable PDF: {library_message(exc)}")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        return result.reject(f"not a readable PDF (truncated or damaged): {library_message(exc)}")
    result.has_form = bool(raw)
    result.fields = {k: v for k, v in fields.items() if k != SIGNATURE_FIELD}
    # A PDF template may name an issued term's field after its context variable (terms.term_total).
    for name, value in list(result.fields.items()):
        if name.startswith(TERMS_PREFIX) and name[len(TERMS_PREFIX) :] not in result.fields:
            result.fields[name[len(TERMS_PREFIX) :]] = value
    if fields.get(DOC_ID_FIELD):
        result.doc_id, result.id_source = fields[DOC_ID_FIELD], "form field"
    elif meta_id:
        result.doc_id, result.id_source = meta_id, "metadata"
    elif raw and (printed := _ID_IN_TEXT.search(text)):
        result.doc_id, result.id_source = printed.group(1), "footer text"
    if not raw:
        found = _ID_IN_TEXT.search(text)
        if found:
            result.doc_id = result.doc_id or found.group(1)
            result.id_source = result.id_source or "footer text"
            result.flag("the form has been flattened: its entries cannot be read; check them by hand")
        else:
            _identify_scan(data, result)
    if SIGNATURE_FIELD in raw and raw[SIGNATURE_FIELD].get("/V") is not None:
        result.signature = _validate_signature(data, trust_roots)
    return result


def _field_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_pdf_text(v) for v in value).strip()
    return _pdf_text(value).strip()


def _pdf_text(value: Any) -> str:
    """A PDF string, name or number as plain text.

    A field name or value that is not valid PDF text arrives as bytes (pypdf's
    ``ByteStringObject``), a damaged one as a number or a dictionary; every one becomes
    ``str`` here so that nothing downstream meets bytes where it expects text.
    """
    if isinstance(value, bytes):
        if value[:2] in (b"\xfe\xff", b"\xff\xfe"):
            return value.decode("utf-16", "replace")
        return value.decode("latin-1")  # every byte a character: nothing lost, nothing raised
    return value if type(value) is str else str(value)


def _page_text(reader: Any) -> str:
    return "\n".join((page.extract_text() or "") for page in reader.pages[:8])


def _identify_scan(data: bytes, result: ReadReturn) -> None:
    """A PDF with no form and no text: a scan. Find the id in its QR code if a decoder is here."""
    doc_id = decode_qr(data)
    if doc_id and parse_document_id(doc_id):
        result.doc_id, result.id_source = doc_id, "qr code"
        result.flag("a scanned return (no form layer): matched by its QR code; enter its entries by hand")
    elif shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None:
        result.flag(
            "a scanned return (no form layer) and no QR decoder installed (zbar-tools, poppler-utils): "
            "match it to its practice by hand"
        )
    else:
        result.flag("a scanned return (no form layer) whose QR code could not be read: match it by hand")


def decode_qr(pdf: bytes, pages: int = 8) -> str | None:
    """The first agreementgen id in a QR code on the PDF's pages (zbarimg + pdftoppm), or None."""
    zbarimg, pdftoppm = shutil.which("zbarimg"), shutil.which("pdftoppm")
    if zbarimg is None or pdftoppm is None:
        return None
    with tempfile.TemporaryDirectory(prefix="agreementgen-qr-") as tmp:
        source = Path(tmp, "in.pdf")
        source.write_bytes(pdf)
        try:
            subprocess.run(
                [pdftoppm, "-png", "-gray", "-r", "150", "-l", str(pages), str(source), str(Path(tmp, "p"))],
                capture_output=True,
                timeout=120,
                check=False,
            )
            images = sorted(str(p) for p in Path(tmp).glob("p*.png"))
            if not images:
                return None
            read = subprocess.run(
                [zbarimg, "-q", "--raw", *images], capture_output=True, text=True, timeout=120, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    for line in read.stdout.splitlines():
        if parse_document_id(line.strip()):
            return line.strip()
    return None


def _validate_signature(data: bytes, trust_roots: TrustRoots | None) -> Signature:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = [s for s in reader.embedded_signatures if s.field_name == SIGNATURE_FIELD]
        if not signatures:
            return Signature(
                SIGNATURE_FIELD, False, False, False, "", None, "the signature could not be found"
            )
        embedded = signatures[0]
        # Without roots pyHanko finds no chain for any certificate: its verdict means nothing,
        # so the trust is "not checked" rather than "untrusted". Nothing is fetched (no network).
        context = ValidationContext(trust_roots=list(trust_roots or ()), allow_fetching=False)
        status = validate_pdf_signature(embedded, context)
        certificate = embedded.signer_cert
        signed_at = embedded.self_reported_timestamp
        trust: Trust = "not checked"
        if trust_roots is not None:
            trust = "trusted" if status.trusted else "untrusted"
        return Signature(
            field=SIGNATURE_FIELD,
            intact=bool(status.intact),
            valid=bool(status.intact and status.valid),
            whole_file=status.coverage is not None and status.coverage.name == "ENTIRE_FILE",
            signer=certificate.subject.human_friendly,
            signed_at=signed_at.isoformat() if signed_at else None,
            common_name=_common_name(certificate.subject),
            issuer=certificate.issuer.human_friendly,
            certificate_sha256=certificate.sha256.hex(),
            trust=trust,
            trust_problem=_trust_problem(status, certificate) if trust == "untrusted" else None,
        )
    except Exception as exc:  # pyHanko raises many types for a damaged signature
        return Signature(SIGNATURE_FIELD, False, False, False, "", None, library_message(exc))


def _common_name(name: Any) -> str:
    value = name.native.get("common_name", "") if isinstance(name.native, dict) else ""
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


_TRUST_PROBLEMS = {
    "NO_CERTIFICATE_CHAIN_FOUND": "its certificate does not chain to any of the trusted roots",
    "EXPIRED": "its certificate has expired",
    "OUT_OF_BOUNDS_NO_POE": "its certificate has expired",
    "OUT_OF_BOUNDS_NOT_REVOKED": "its certificate has expired",
    "NOT_YET_VALID": "its certificate is not valid yet",
    "REVOKED": "its certificate was revoked",
    "REVOKED_NO_POE": "its certificate was revoked",
    "REVOKED_CA_NO_POE": "a certificate in its chain was revoked",
    "SIG_CONSTRAINTS_FAILURE": "its certificate is not one for signing documents (key usage)",
    "CHAIN_CONSTRAINTS_FAILURE": "its certificate chain breaks a limit a CA in it sets",
}


def _trust_problem(status: Any, certificate: Any) -> str:
    """Why pyHanko did not trust the certificate, in words (its AdES sub-indication)."""
    if certificate.self_signed != "no":  # asn1crypto: "yes", "maybe" (same names, unverified) or "no"
        return "its certificate is self-signed (nobody vouches for it) and is not one of the trusted roots"
    indication = getattr(status, "trust_problem_indic", None)
    name = getattr(indication, "name", "")
    if name in _TRUST_PROBLEMS:
        return _TRUST_PROBLEMS[name]
    return f"its certificate could not be trusted ({name.lower().replace('_', ' ') or 'no reason given'})"


# --- trusted roots ------------------------------------------------------------------------------

MAX_CERTIFICATE_BYTES = 1024 * 1024  # a certificate is a few KB; a bundle of roots, a few hundred


def load_trust_roots(folder: str | os.PathLike[str]) -> TrustRoots:
    """Every certificate in ``folder``: the roots a digital signature's certificate must chain to.

    Each file directly in the folder (any name; ``.pem``, ``.der``, ``.crt``, ``.cer`` are usual)
    holds one DER certificate or one or more PEM ones. Hidden files and sub-folders are passed
    over. Any other file is refused with its name (:class:`CertificateError`): a private key or a
    stray document among the roots is a mistake to fix, not something to skip quietly.
    """
    path = Path(folder)
    if not path.is_dir():
        why = "not a folder" if path.exists() else "no such folder"
        raise CertificateError(f"{why}: --trust-roots takes a folder of certificates", path=path)
    roots: list[Any] = []
    for item in sorted(path.iterdir()):
        if item.name.startswith(".") or item.is_dir():
            continue
        roots += _certificates_in(item)
    if not roots:
        raise CertificateError("no certificates in the folder given as --trust-roots", path=path)
    return tuple(roots)


def _certificates_in(path: Path) -> list[Any]:
    from cryptography import x509
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1

    def refuse(why: str) -> CertificateError:
        return CertificateError(f"not a trusted root certificate: {why}", path=path)

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would never end
            raise refuse("not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_CERTIFICATE_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot read it ({exc.strerror or library_message(exc)})") from exc
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise refuse(f"over {MAX_CERTIFICATE_BYTES:,} bytes, too large for certificates")
    try:
        if _PEM_BLOCK.search(data):
            found = sorted({m.decode("ascii") for m in _PEM_BLOCK.findall(data)})
            if "CERTIFICATE" not in found:
                raise refuse(f"a PEM file with no CERTIFICATE in it (it holds {', '.join(found)})")
            certificates = x509.load_pem_x509_certificates(data)
        else:
            certificates = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:  # cryptography's one error for what does not parse
        raise refuse(f"expected an X.509 certificate, PEM or DER ({library_message(exc)})") from exc
    return [translate_pyca_cryptography_cert_to_asn1(c) for c in certificates]


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
