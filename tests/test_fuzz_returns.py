"""Fuzzing returned forms: damaged PDFs and Word files, odd entries and odd names, each recorded once.

Real returns (see ``mutants.py``: issued by the bulk run, filled with pypdf, PyPDFForm and the
Word filler, one signed with pyHanko) are damaged by every mutation in ``mutants.MUTATIONS``,
and hypothesis writes entries, document ids and file names no practice would. Whatever the
file, the run never raises, every file gets exactly one record with a status and (unless
accepted) a reason, a return is only accepted if it still says exactly what was filled in, and
re-ingesting changes nothing. Sized for CI (a few seconds each, fixed seeds); bench/fuzz.py
runs the same mutations by the hundred thousand.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreementgen.ingest import FileContents, FileOutcome, filename_bytes, ingest, ingest_contents
from agreementgen.records import DOC_ID_CHARS, FIELD_CHARS, Recorded, Records, storable_text
from agreementgen.returns import read_return
from agreementgen.simulate import JPEG, fill_docx, fill_pdf
from mutants import ENTRIES, MUTATIONS, Corpus, build_corpus, mutations_for

MUTANTS_PER_MUTATION = 40
STATUSES = {"accepted", "flagged", "rejected"}
FUZZ = settings(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(FUZZ, max_examples=25)  # each example fills a real PDF form: ~0.1 s


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("issued"))


@pytest.fixture(scope="module")
def records(tmp_path_factory, corpus: Corpus) -> Records:
    """One register for the module: every example's file differs, so each makes its own record."""
    store = Records.open(f"sqlite:///{tmp_path_factory.mktemp('records') / 'records.db'}")
    store.register_issued(corpus.issued)
    return store


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("examples")
    return (base / str(n) for n in itertools.count())


def assert_recorded_once(
    records: Records, outcomes: list[FileOutcome] | list[Recorded], files: list[bytes]
) -> None:
    """One outcome per file, one record per distinct file, and a reason for anything not accepted."""
    assert len(outcomes) == len(files)
    rows = {r["sha256"]: r for r in records.returns_for()}
    issued = {d.doc_id for d in records.issued_documents()}
    for outcome, data in zip(outcomes, files, strict=True):
        row = rows[hashlib.sha256(data).hexdigest()]
        assert row["id"] == outcome.return_id and row["status"] == outcome.status in STATUSES
        assert bool(row["reasons"]) == (outcome.status != "accepted"), row["reasons"]
        if outcome.status == "accepted":  # only a return that still says what was filled in
            assert row["doc_id"] in issued
            expected = dict(ENTRIES)
            if row["signature_kind"] == "digital":
                del expected["practice_signature"]  # signed, not typed
            assert {k: row["fields"].get(k) for k in expected} == expected


# --- mutation: every kind of damage to every kind of return ------------------------------------------


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_every_mutant_gets_exactly_one_record_and_reingesting_changes_nothing(mutation, corpus, tmp_path):
    sources = [name for name in sorted(corpus.returns) if mutation in mutations_for(name)]
    others = list(corpus.returns.values())
    folder = tmp_path / "in"
    folder.mkdir()
    files = []
    for i in range(MUTANTS_PER_MUTATION):
        rng = random.Random(f"{mutation}:{i}")
        source = rng.choice(sources)
        data = MUTATIONS[mutation](corpus.returns[source], rng, others)
        (folder / f"{i:03} {source}").write_bytes(data)
        files.append(data)
    records = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    records.register_issued(corpus.issued)

    report = ingest([folder], records)
    assert report.skipped == [] and report.ignored == []
    assert_recorded_once(records, report.files, files)
    assert len(records.returns_for()) == len({hashlib.sha256(f).hexdigest() for f in files})

    again = ingest([folder], records)
    assert [(f.return_id, f.status, f.new) for f in again.files] == [
        (f.return_id, f.status, False) for f in report.files
    ]


# --- hypothesis: damage, entries, ids and names no practice would send -------------------------------


def contents(data: bytes) -> FileContents:
    return FileContents(data, len(data), hashlib.sha256(data).hexdigest())


@given(
    source=st.sampled_from(["pypdf.pdf", "pypdfform.pdf", "signed.pdf", "word.docx"]),
    edits=st.lists(
        st.tuples(st.integers(0, 1 << 20), st.binary(min_size=1, max_size=16)), min_size=1, max_size=6
    ),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
@FUZZ
def test_any_overwritten_or_cut_return_is_recorded_once(corpus, records, source, edits, cut):
    data = bytearray(corpus.returns[source])
    for at, new in edits:
        at %= len(data)
        data[at : at + len(new)] = new
    damaged = bytes(data if cut is None else data[: int(len(data) * cut)])
    outcome = ingest_contents(contents(damaged), f"{source} (damaged)", records)
    assert_recorded_once(records, [outcome], [damaged])


def judged_on_its_entries(outcome: Recorded) -> bool:
    """Accepted or flagged; or rejected only as a duplicate of the sign-up an earlier example made."""
    return outcome.status in {"accepted", "flagged"} or outcome.reasons[-1].startswith("duplicate: ")


entry_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@given(entries=st.dictionaries(st.sampled_from(sorted(ENTRIES)), entry_text, min_size=1))
@SLOW
def test_whatever_is_typed_into_a_pdf_is_recorded_as_read(corpus, records, entries):
    data = fill_pdf(corpus.blank_pdf, {**ENTRIES, **entries})
    read = read_return(data)
    outcome = ingest_contents(contents(data), "typed.pdf", records)
    assert judged_on_its_entries(outcome) and outcome.doc_id == read.doc_id
    recorded = next(r for r in records.returns_for() if r["id"] == outcome.return_id)
    assert recorded["fields"] == {
        storable_text(k, FIELD_CHARS): storable_text(v, FIELD_CHARS) for k, v in read.fields.items()
    }


xml_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=300
)


@given(entries=st.dictionaries(st.sampled_from(sorted(ENTRIES)), xml_text, min_size=1))
@FUZZ
def test_whatever_is_typed_into_a_word_return_is_recorded_as_read(corpus, records, entries):
    data = fill_docx(corpus.blank_docx, {**ENTRIES, **entries})
    outcome = ingest_contents(contents(data), "typed.docx", records)
    assert judged_on_its_entries(outcome)
    recorded = next(r for r in records.returns_for() if r["id"] == outcome.return_id)
    assert {k: recorded["fields"][k] for k in entries} == {k: v.strip() for k, v in entries.items()}


@given(doc_id=st.text(max_size=3000))
@SLOW
def test_any_document_id_is_recorded_once_and_fits(corpus, records, doc_id):
    data = fill_pdf(corpus.blank_pdf, {**ENTRIES, "doc_id": doc_id})
    outcome = ingest_contents(contents(data), "any-id.pdf", records)
    assert_recorded_once(records, [outcome], [data])
    stored = next(r for r in records.returns_for() if r["id"] == outcome.return_id)["doc_id"]
    assert stored is None or (len(stored) <= DOC_ID_CHARS and "\x00" not in stored)


names = st.binary(min_size=1, max_size=200).filter(
    lambda n: b"/" not in n and b"\0" not in n and n not in (b".", b"..")
)


@given(name=names)
@FUZZ
def test_a_file_of_any_name_is_recorded_under_that_exact_name_or_listed_as_ignored(records, folders, name):
    folder = next(folders)
    folder.mkdir()
    path = os.fsencode(folder) + b"/" + name
    with open(path, "wb") as fh:
        fh.write(JPEG + path)  # content differs per example: each its own record
    report = ingest([folder], records)
    listed = [(filename_bytes(f.path), f.status) for f in report.files] + [
        (filename_bytes(i.path), "ignored") for i in report.ignored
    ]
    assert len(listed) == 1 and listed[0][0] == path and listed[0][1] in {"rejected", "ignored"}
    if report.files:
        row = next(r for r in records.returns_for() if r["id"] == report.files[0].return_id)
        assert filename_bytes(row["filename"]) == path
