"""``FormReader`` reads exactly what pypdf reads, only faster.

Every object of real returns, of returns filled with awkward text, and of hundreds of damaged
returns (``mutants.py``) is read twice: by ``FormReader``'s own parser and by pypdf. Where the
parser takes an object, it must give the very same pypdf objects (types, values, key order, how a
string was decoded); everything it does not take is pypdf's to read. And ``read_return`` finds
the same in every file with the parser switched on and off.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from agreementgen.pdfobjects import FormReader
from agreementgen.returns import read_return
from agreementgen.simulate import fill_pdf
from mutants import ENTRIES, Corpus, build_corpus, mutants

AWKWARD = {
    "lead_gp_referral_lead": "Dr (Jo) O'Brien \\ Smith",  # parentheses and a backslash, escaped
    "lead_gp_prescribing_lead": "Dr Siân Ôwen – Ω",  # not PDFDocEncoding: written as UTF-16
    "practice_signatory_name": "line one\nline two\ttabbed",
    "practice_signatory_designation": "x" * 3000,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("issued"))


@pytest.fixture(scope="module")
def pdfs(corpus: Corpus) -> dict[str, bytes]:
    """Real returns as practices send them, and one filled with awkward text."""
    found = {name: data for name, data in corpus.returns.items() if name.endswith(".pdf")}
    found["blank.pdf"] = corpus.blank_pdf
    found["awkward.pdf"] = fill_pdf(corpus.blank_pdf, {**ENTRIES, **AWKWARD})
    return found


def same(mine: Any, theirs: Any) -> bool:
    """The same pypdf object: type, value, key order, and how a string was decoded."""
    if type(mine) is not type(theirs):
        return False
    if isinstance(mine, IndirectObject):
        return (mine.idnum, mine.generation) == (theirs.idnum, theirs.generation)
    if isinstance(mine, DictionaryObject):
        return list(mine) == list(theirs) and all(
            same(dict.__getitem__(mine, k), dict.__getitem__(theirs, k)) for k in mine
        )
    if isinstance(mine, ArrayObject):
        return len(mine) == len(theirs) and all(same(a, b) for a, b in zip(mine, theirs, strict=True))
    decoded = ("_original_bytes", "autodetect_pdfdocencoding", "autodetect_utf16", "utf16_bom")
    return mine == theirs and all(getattr(mine, a, None) == getattr(theirs, a, None) for a in decoded)


def objects_read_both_ways(data: bytes) -> int:
    """Every object the parser takes, compared with pypdf's reading of it; how many it took."""
    try:
        plain = PdfReader(io.BytesIO(data), strict=False)
    except Exception:
        with pytest.raises(Exception):  # noqa: B017 - pypdf refuses it either way
            FormReader(data)
        return 0
    fast = FormReader(data)
    if not fast._parsing:
        return 0  # encrypted: pypdf reads every object
    taken = 0
    for generation, table in list(plain.xref.items()):
        for idnum in list(table):
            mine = fast._plain_object(idnum, generation)
            if mine is None:
                continue
            taken += 1
            theirs = plain.get_object(IndirectObject(idnum, generation, plain))
            assert same(mine, theirs), (idnum, generation, mine, theirs)
    return taken


def headers_read_both_ways(data: bytes) -> int:
    """Every object header (``12 0 obj``) read as pypdf reads it, to the same place; how many."""
    try:
        plain = PdfReader(io.BytesIO(data), strict=False)
    except Exception:
        return 0
    fast = FormReader(data)
    offsets = {o for table in plain.xref.values() for o in table.values() if isinstance(o, int)}
    offsets |= {m.start() + 1 for m in re.finditer(rb"[\s\x00]\d+\s+\d+\s+obj", data)}
    read = 0
    for offset in sorted(o for o in offsets if 0 <= o < len(data)):
        found = []
        for reader in (fast, plain):
            reader.stream.seek(offset)
            try:
                found.append((reader.read_object_header(reader.stream), reader.stream.tell()))
            except ValueError:
                found.append(("refused", reader.stream.tell()))
        assert found[0] == found[1], (offset, found)
        read += 1
    return read


def test_the_parser_reads_every_object_of_a_real_return_as_pypdf_does(pdfs):
    for name, data in pdfs.items():
        assert objects_read_both_ways(data) > 0, name
        assert headers_read_both_ways(data) > 0, name


def test_the_parser_takes_the_objects_a_form_is_made_of(pdfs):
    reader = FormReader(pdfs["pypdf.pdf"])
    fields = reader.get_fields() or {}
    assert len(fields) >= 25 and reader.parsed_here >= len(fields)


@pytest.mark.parametrize("part", range(4))
def test_the_parser_reads_damaged_returns_as_pypdf_does(pdfs, part):
    """600 mutants in four parts: flipped bits, cuts, splices, duplicated objects, extreme numbers."""
    originals = {n: d for n, d in pdfs.items() if n != "blank.pdf"}
    damaged = [data for _i, _n, _m, data in mutants(originals, 150, 12, part * 150)]
    assert sum(objects_read_both_ways(data) for data in damaged) > 1000  # most objects are still plain
    assert sum(headers_read_both_ways(data) for data in damaged) > 1000


def test_read_return_finds_the_same_with_the_parser_on_and_off(pdfs, monkeypatch):
    originals = {n: d for n, d in pdfs.items() if n != "signed.pdf"}  # pyHanko's check is slow: 4 below
    files = [*pdfs.values(), *(data for _i, _n, _m, data in mutants(originals, 200, 34))]
    files += [data for _i, _n, _m, data in mutants({"signed.pdf": pdfs["signed.pdf"]}, 4, 34)]
    fast = [read_return(data) for data in files]
    monkeypatch.setattr(FormReader, "fast", False)
    assert [read_return(data) for data in files] == fast
    assert sum(r.findings == [] for r in fast) >= len(pdfs) - 1  # and what they found is real
