"""Shared fixtures: the shipped QEF scheme, the bundled real C&P data, and small file writers."""

from __future__ import annotations

import datetime
import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMES = ROOT / "schemes"
QEF = SCHEMES / "cpccg-qef-2017-18.yaml"
SAMPLES = ROOT / "samples" / "cpccg"
EPRACCUR_2023_06H = SAMPLES / "epraccur_2023-02_06H.csv"
LIST_SIZES_2021_06H = SAMPLES / "gp-reg-pat-prac-all_2021-01_06H.csv"
DATA = Path(__file__).resolve().parent / "data"
EPRACCUR_2026_06H = DATA / "epraccur_2026-02_06H.csv"
QUIN_AGE_2026_06H = DATA / "gp-reg-pat-prac-quin-age_2026-07_06H.csv"
MAP_2026_06H = DATA / "gp-reg-pat-prac-map_2026-07_06H.csv"
SHARED_DATA = ROOT.parent / "shared" / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def qef_text() -> str:
    return QEF.read_text(encoding="utf-8")


@pytest.fixture
def write_scheme(tmp_path: Path, qef_text: str):
    """Write the QEF spec with text replacements, returning its path."""

    def write(*replacements: tuple[str, str], name: str = "scheme.yaml", provenance: bool = True) -> Path:
        """``provenance=False`` drops the spec's provenance block (the last in the file): for a test
        that reshapes the scheme (one instalment fewer), not one about where its figures come from."""
        text = qef_text
        if not provenance:
            text, block = text.split("\nprovenance:\n")
            assert all(line[:1] in ("", " ", "#") for line in block.splitlines()), "provenance is not last"
            text += "\n"
        for old, new in replacements:
            assert old in text, f"fixture replacement target not found: {old!r}"
            text = text.replace(old, new, 1)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        if not (tmp_path / "sources").exists():  # the source documents its provenance quotes
            shutil.copytree(SCHEMES / "sources", tmp_path / "sources")
        return path

    return write


@pytest.fixture
def write_bytes(tmp_path: Path):
    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def empty_lists_aside(provided: set[str], documented: set[str]) -> tuple[set[str], set[str]]:
    """Both sets without what an empty list (``x[]``, say no illustrative items) hides: its marker, and
    the documented fields of its items."""
    empty = {p for p in provided if p.endswith("[]") and any(d.startswith(p + ".") for d in documented)}
    hidden = {d for d in documented if any(d.startswith(e + ".") for e in empty)}
    return provided - empty, documented - hidden


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if in_ci():
            pytest.fail(f"{tool} is not installed; CI must have it")
        pytest.skip(f"{tool} is not installed: cannot run this check")
    return path


def xfdf(values: dict[str, str]) -> bytes:
    """Form entries as XFDF, the file pdftk fills a form from."""
    fields = "".join(
        f'<field name="{escape(k)}"><value>{escape(v)}</value></field>' for k, v in values.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<xfdf xmlns="http://ns.adobe.com/xfdf/" xml:space="preserve"><fields>{fields}</fields></xfdf>'
    ).encode()


def pdftk_fill(source: Path, values: dict[str, str], target: Path) -> Path:
    """Fill the form ``source`` with ``values`` using pdftk, an independent filler, into ``target``."""
    pdftk = require("pdftk")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = target.with_name(target.name + ".xfdf")
    data.write_bytes(xfdf(values))
    subprocess.run([pdftk, str(source), "fill_form", str(data), "output", str(target)], check=True,
                   capture_output=True)  # fmt: skip
    data.unlink()
    return target


def self_signed_certificate():
    from asn1crypto import keys, x509
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "Dr Siân Ôwen (test practice signatory)")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            cx509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
        keys.PrivateKeyInfo.load(der_key),
    )


@dataclass(frozen=True)
class Identity:
    """A certificate and its private key: a practice's signing identity, or a certificate authority."""

    certificate: Any  # cryptography's x509.Certificate
    key: Any

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.certificate.public_bytes(Encoding.PEM)

    def der(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.certificate.public_bytes(Encoding.DER)


def make_identity(common_name: str, *, issuer: Identity | None = None, ca: bool = False) -> Identity:
    """A certificate for ``common_name``, self-signed or issued by ``issuer``; a CA's if ``ca``."""
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, common_name),
                       cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "agreementgen tests")])  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    unused = ("key_encipherment", "data_encipherment", "key_agreement", "encipher_only", "decipher_only")
    # A signer's certificate is for signing documents (non-repudiation); a CA's, for certificates.
    usage = cx509.KeyUsage(digital_signature=True, content_commitment=not ca, key_cert_sign=ca, crl_sign=ca,
                           **dict.fromkeys(unused, False))  # fmt: skip
    certificate = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.certificate.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(cx509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(issuer.key if issuer else key, hashes.SHA256())
    )
    return Identity(certificate, key)


def digitally_sign(pdf: bytes, who: Identity, *, at: datetime.datetime | None = None) -> bytes:
    """``pdf`` signed in its ``practice_digital_signature`` field by ``who``, with pyHanko; ``at`` is
    the signing time the signer reports (its computer's clock: now, unless given)."""
    from pyhanko.keys.internal import (
        translate_pyca_cryptography_cert_to_asn1,
        translate_pyca_cryptography_key_to_asn1,
    )
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    class ClockedSigner(signers.PdfSigner):
        def init_signing_session(self, pdf_out, existing_fields_only=False):  # type: ignore[no-untyped-def]
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = at or session.system_time
            return session

    signer = signers.SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(who.certificate),
        signing_key=translate_pyca_cryptography_key_to_asn1(who.key),
        cert_registry=None,
    )
    meta = signers.PdfSignatureMetadata(field_name="practice_digital_signature")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return ClockedSigner(meta, signer=signer).sign_pdf(writer).getvalue()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the session (see ``pgserver``): skipped where none is installed,
    but never in CI."""
    from pgserver import Server

    try:
        import psycopg  # noqa: F401
    except ImportError:
        if in_ci():
            pytest.fail("psycopg is not installed; CI installs the postgres extra")
        pytest.skip("psycopg is not installed (pip install -e '.[postgres]')")
    try:
        server = Server()
    except FileNotFoundError as exc:
        if in_ci():
            pytest.fail(f"{exc}; CI must have it")
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """A fresh, empty records database: a SQLite file, and a database on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.db'}"
    return request.getfixturevalue("postgres_server").url()


@pytest.fixture
def mail_server(tmp_path: Path):
    """A real SMTP server (aiosmtpd in a thread, see ``mailserver``) for one test."""
    from mailserver import start

    server = start(tmp_path)
    yield server
    server.stop()


def issue_packs(folder: Path, codes: list[str]) -> tuple[Path, list[Any]]:
    """The QEF Section 7 packs of ``codes`` rendered by the real bulk run into ``folder/packs``; and
    the issued documents, with their files, to register in each test's own records database."""
    from agreementgen import bulk
    from agreementgen.records import Records
    from agreementgen.validation import load_inputs

    inputs = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
    by_code = inputs.data.by_code()
    options = bulk.RunOptions(out_dir=folder / "packs", templates_dir=ROOT / "templates", jobs=1,
                              db_url=f"sqlite:///{folder / 'issued.db'}", resume=False)  # fmt: skip
    report = bulk.run(inputs.scheme, [by_code[c] for c in codes], options)
    assert not report.failures
    store = Records.open(options.db_url)
    documents = [store.issued_document(d.doc_id) for d in store.issued_documents()]
    return folder / "packs", documents
