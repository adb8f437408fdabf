"""Returned forms to fuzz with, and the mutations that damage them: for the fuzz tests and bench/fuzz.py.

The corpus is real: QEF Section 7 packs issued by the bulk run and registered, then returned
the ways practices return them — a PDF filled with pypdf, one filled with PyPDFForm, a Word
return with its content controls filled, a PDF signed with pyHanko (a self-signed
certificate). Each mutation takes a file, a seeded ``random.Random`` and the other files of
the corpus, and returns damaged bytes: flipped bits, a truncation, a splice from another
return, a duplicated PDF object, a changed number, bytes inserted or deleted, a damaged XML
part inside an intact zip, a damaged zip header. Everything is deterministic from the seed.
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.records import IssuedDocument, Records
from agreementgen.simulate import fill_docx, fill_pdf, practice_entries
from agreementgen.validation import load_inputs
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT, self_signed_certificate

CODES = ("D81001", "D81002")
ENTRIES = practice_entries(0, date.today())
Mutation = Callable[[bytes, random.Random, list[bytes]], bytes]


@dataclass(frozen=True)
class Corpus:
    issued: list[IssuedDocument]  # what the register holds: register these before ingesting
    returns: dict[str, bytes]  # name → a good return (every one is accepted as it is)
    blank_pdf: bytes  # the issued D81001 PDF, unfilled, to fill with other entries
    blank_docx: bytes


def build_corpus(base: Path) -> Corpus:
    """Issue QEF Section 7s for two practices into ``base`` and return each the ways practices do."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from PyPDFForm import PdfWrapper

    inputs = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
    by_code = inputs.data.by_code()
    options = RunOptions(out_dir=base / "packs", templates_dir=ROOT / "templates", jobs=1,
                         db_url=f"sqlite:///{base / 'issued.db'}", resume=False)  # fmt: skip
    report = bulk.run(inputs.scheme, [by_code[c] for c in CODES], options)
    assert not report.failures, report.failures
    pdf = (base / "packs" / CODES[0] / "section7.pdf").read_bytes()
    docx = (base / "packs" / CODES[0] / "section7.docx").read_bytes()
    other_pdf = (base / "packs" / CODES[1] / "section7.pdf").read_bytes()

    certificate, key = self_signed_certificate()
    signer = signers.SimpleSigner(signing_cert=certificate, signing_key=key, cert_registry=None)
    unsigned = fill_pdf(pdf, {k: v for k, v in ENTRIES.items() if k != "practice_signature"})
    signed = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name="practice_digital_signature"), signer=signer
    ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(unsigned)))
    returns = {
        "pypdf.pdf": fill_pdf(pdf, ENTRIES),
        "pypdfform.pdf": PdfWrapper(other_pdf).fill(dict(ENTRIES)).read(),
        "word.docx": fill_docx(docx, ENTRIES),
        "signed.pdf": signed.getvalue(),
    }
    return Corpus(Records.open(options.db_url).issued_documents(), returns, pdf, docx)


# --- mutations -----------------------------------------------------------------------------------

_PDF_OBJECT = re.compile(rb"\n(\d+) 0 obj\b.*?\bendobj", re.S)
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?")
_EXTREMES = (b"0", b"-1", b"2147483648", b"99999999999999999999999999", b"1e400", b"-0.0", b"4294967295")
_XML_NASTIES = (b"<", b">", b"&", b"\x00", b"\xff\xfe", b"]]>", b"<w:sdt>", b"&#0;", b'"', b"</w:t>",
                "é".encode(), b"<!ENTITY a 'b'>", b"&amp;" * 3)  # fmt: skip


def flip_bits(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    return data[: rng.randrange(len(data))]


def splice(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """A run of another return's bytes over a run of this one's (a mis-merged attachment)."""
    donor = rng.choice(others)
    at, start = rng.randrange(len(data)), rng.randrange(len(donor))
    return data[:at] + donor[start : start + rng.randint(1, 4096)] + data[at + rng.randint(0, 4096) :]


def duplicate_object(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """A PDF object repeated elsewhere in the file: two definitions of one object number."""
    objects = list(_PDF_OBJECT.finditer(data))
    if not objects:
        return flip_bits(data, rng, others)
    copied = rng.choice(objects).group(0)
    at = rng.choice((len(data), rng.randrange(len(data)), data.rfind(b"xref") if b"xref" in data else 0))
    return data[:at] + copied + data[at:]


def change_number(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """A number (an object number, offset, length, count) made extreme."""
    numbers = list(_NUMBER.finditer(data, 0, 400_000))
    if not numbers:
        return flip_bits(data, rng, others)
    out = data
    for found in sorted(rng.sample(numbers, min(len(numbers), rng.randint(1, 4))), key=lambda m: -m.start()):
        out = out[: found.start()] + rng.choice(_EXTREMES) + out[found.end() :]
    return out


def insert_bytes(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at:]


def delete_bytes(data: bytes, rng: random.Random, _others: list[bytes]) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.randint(1, 512) :]


def damage_zip_part(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """One XML part of a DOCX damaged inside a well-formed zip (the zip itself still opens)."""
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        infos = source.infolist()
    except (zipfile.BadZipFile, ValueError, NotImplementedError):
        return flip_bits(data, rng, others)
    victim = rng.choice(infos).filename
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in infos:
            part = bytearray(source.read(info))
            if info.filename == victim and part:
                for _ in range(rng.randint(1, 8)):
                    at = rng.randrange(len(part))
                    choice = rng.random()
                    if choice < 0.4:
                        part[at] = rng.randrange(256)
                    elif choice < 0.7:
                        part[at:at] = rng.choice(_XML_NASTIES)
                    else:
                        del part[at : at + rng.randint(1, 64)]
            target.writestr(info, bytes(part))
    return out.getvalue()


def damage_zip_header(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """A field of a zip header changed: version needed, flags, method, sizes, name length."""
    headers = [m.start() for m in re.finditer(rb"PK\x01\x02|PK\x03\x04|PK\x05\x06", data)]
    if not headers:
        return flip_bits(data, rng, others)
    out = bytearray(data)
    at = rng.choice(headers) + rng.randrange(4, 30)
    if at + 2 <= len(out):
        out[at : at + 2] = struct.pack("<H", rng.choice((0, 0xFFFF, rng.randrange(0x10000), 99, 63, 14)))
    return bytes(out)


def unsupported_zip(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """A zip entry that asks for a version (6.4 and up) or a method (Deflate64, AES) zipfile lacks."""
    central = [m.start() for m in re.finditer(rb"PK\x01\x02", data)]
    if not central:
        return flip_bits(data, rng, others)
    at = rng.choice(central)
    offset, values = rng.choice(((6, (64, 99, 255)), (10, (9, 99))))  # version needed; method
    out = bytearray(data)
    out[at + offset : at + offset + 2] = struct.pack("<H", rng.choice(values))
    return bytes(out)


MUTATIONS: dict[str, Mutation] = {
    "flip bits": flip_bits,
    "truncate": truncate,
    "splice": splice,
    "duplicate object": duplicate_object,
    "change number": change_number,
    "insert bytes": insert_bytes,
    "delete bytes": delete_bytes,
    "damage zip part": damage_zip_part,
    "damage zip header": damage_zip_header,
    "unsupported zip": unsupported_zip,
}
PDF_MUTATIONS = ("flip bits", "truncate", "splice", "duplicate object", "change number", "insert bytes",
                 "delete bytes")  # fmt: skip
DOCX_MUTATIONS = ("flip bits", "truncate", "splice", "insert bytes", "delete bytes", "damage zip part",
                  "damage zip header", "unsupported zip")  # fmt: skip


def mutations_for(name: str) -> tuple[str, ...]:
    return DOCX_MUTATIONS if name.endswith(".docx") else PDF_MUTATIONS


Mutant = tuple[int, str, str, bytes]  # index, the return it was made from, the mutation, its bytes


def mutants(returns: dict[str, bytes], count: int, seed: int, start: int = 0) -> Iterator[Mutant]:
    """``count`` mutants (index, source return, mutation, bytes), each from its own seeded generator.

    Mutant ``i`` of a seed is the same bytes however the run is split (``start``), so a crash
    found by one worker of bench/fuzz.py is reproduced from its seed and index alone.
    """
    names = sorted(returns)
    others = [returns[n] for n in names]
    for index in range(start, start + count):
        rng = random.Random(f"{seed}:{index}")
        name = rng.choice(names)
        mutation = rng.choice(mutations_for(name))
        yield index, name, mutation, MUTATIONS[mutation](returns[name], rng, others)
