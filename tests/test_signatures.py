"""Digital signatures judged, not just detected: who signed and when, who vouches for the certificate,
whether the signed bytes are intact and cover the whole file, whether the certificate chains to a
root the team trusts (``ingest --trust-roots``), and whether it names the typed signatory.

Every return is a real issued Section 7, filled and signed with pyHanko with certificates made here
(a test root CA, a practice signatory it certified, self-signed ones); every outcome is recorded on
SQLite and on PostgreSQL and read back.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfWriter

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.errors import CertificateError
from agreementgen.ingest import FileOutcome, ingest, same_person
from agreementgen.records import Records
from agreementgen.returns import load_trust_roots
from agreementgen.simulate import fill_pdf, practice_entries
from agreementgen.validation import load_inputs
from conftest import (
    EPRACCUR_2023_06H,
    LIST_SIZES_2021_06H,
    QEF,
    ROOT,
    digitally_sign,
    make_identity,
)

SCHEME = "cpccg-qef-2017-18"
DOC_ID = f"{SCHEME}:v1:D81001:section7"
TODAY = date.today()
# Signed digitally, so no typed signature; the typed signatory is "Dr Siân Ôwen".
ENTRIES = {k: v for k, v in practice_entries(0, TODAY).items() if k != "practice_signature"}
TEST_ROOT = make_identity("agreementgen test root CA", ca=True)
SIAN_CERTIFIED = make_identity("Dr Siân Ôwen", issuer=TEST_ROOT)  # the practice's signatory, certified
SIAN_SELF_SIGNED = make_identity("Siân Ôwen")  # her own certificate: nobody vouches for it
MALLORY = make_identity("Mallory Smith")  # someone else's
SELF_SIGNED = "its certificate is self-signed (nobody vouches for it) and is not one of the trusted roots"


@pytest.fixture(scope="module")
def issued(tmp_path_factory) -> tuple[bytes, list]:
    """D81001's Section 7 as issued (PDF) and the register's documents."""
    base = tmp_path_factory.mktemp("issued")
    inputs = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
    practice = inputs.data.by_code()["D81001"]
    options = RunOptions(out_dir=base / "packs", templates_dir=ROOT / "templates", formats=("pdf",), jobs=1,
                         db_url=f"sqlite:///{base / 'issued.db'}", resume=False)  # fmt: skip
    assert not bulk.run(inputs.scheme, [practice], options).failures
    return (base / "packs" / "D81001" / "section7.pdf").read_bytes(), Records.open(
        options.db_url
    ).issued_documents()


@pytest.fixture
def records(db_url: str, issued) -> Records:
    """The register on a fresh database, with the scheme's rules for returns as the defaults and no
    sign-up deadline: these tests are about signatures, not dates (tests/test_deadlines.py)."""
    store = Records.open(db_url)
    store.register_issued(issued[1])
    store.set_scheme_rules(SCHEME, "1", None, {})
    return store


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    """A --trust-roots folder holding the test root CA."""
    folder = tmp_path / "roots"
    folder.mkdir()
    (folder / "test-root.pem").write_bytes(TEST_ROOT.pem())
    return folder


def signed_return(issued, who, entries: dict[str, str] = ENTRIES) -> bytes:
    return digitally_sign(fill_pdf(issued[0], entries), who)


def ingest_one(records: Records, tmp_path: Path, data: bytes, **kwargs) -> FileOutcome:
    folder = tmp_path / f"in-{len(list(tmp_path.glob('in-*')))}"
    folder.mkdir()
    (folder / "return.pdf").write_bytes(data)
    [outcome] = ingest([folder], records, **kwargs).files
    return outcome


def recorded(records: Records, outcome: FileOutcome) -> dict:
    return next(r for r in records.returns_for() if r["id"] == outcome.return_id)


# --- what is recorded of a signature ----------------------------------------------------------------


def test_a_signature_is_recorded_with_its_signer_issuer_time_integrity_and_coverage(
    records, issued, tmp_path
):
    before = datetime.now(UTC).replace(microsecond=0)
    outcome = ingest_one(records, tmp_path, signed_return(issued, SIAN_CERTIFIED))
    assert (outcome.status, outcome.reasons, outcome.signature_kind) == ("accepted", (), "digital")
    signature = outcome.signature
    assert signature["common_name"] == "Dr Siân Ôwen"
    assert "Common Name: Dr Siân Ôwen" in signature["signer"]
    assert "Common Name: agreementgen test root CA" in signature["issuer"]
    assert before <= datetime.fromisoformat(signature["signed_at"]) <= datetime.now(UTC)
    assert (signature["intact"], signature["valid"], signature["whole_file"]) == (True, True, True)
    assert (signature["trust"], signature["trust_problem"]) == ("not checked", None)  # no --trust-roots
    assert (signature["typed_signatory"], signature["matches_signatory"]) == ("Dr Siân Ôwen", True)
    assert len(signature["certificate_sha256"]) == 64
    row = recorded(records, outcome)
    assert row["signature"] == signature and row["late"] is False
    assert records.signups_for(SCHEME)[DOC_ID]["signature_kind"] == "digital"


def test_the_same_file_again_reports_the_signature_on_record(records, issued, tmp_path):
    data = signed_return(issued, SIAN_CERTIFIED)
    first = ingest_one(records, tmp_path, data)
    again = ingest_one(records, tmp_path, data)
    assert (again.new, again.return_id, again.signature) == (False, first.return_id, first.signature)


def test_a_return_without_a_digital_signature_records_none(records, issued, tmp_path):
    typed = fill_pdf(issued[0], practice_entries(0, TODAY))
    outcome = ingest_one(records, tmp_path, typed)
    assert (outcome.status, outcome.signature_kind, outcome.signature) == ("accepted", "typed", {})
    assert recorded(records, outcome)["signature"] == {}


# --- trust against the team's roots -------------------------------------------------------------------


def test_a_certificate_chained_to_a_given_root_is_trusted(records, issued, roots, tmp_path):
    outcome = ingest_one(
        records, tmp_path, signed_return(issued, SIAN_CERTIFIED), trust_roots=load_trust_roots(roots)
    )
    assert (outcome.status, outcome.reasons) == ("accepted", ())
    assert (outcome.signature["trust"], outcome.signature["trust_problem"]) == ("trusted", None)
    assert recorded(records, outcome)["signature"]["trust"] == "trusted"


def test_a_self_signed_certificate_is_untrusted_and_by_default_accepted_with_a_note(
    records, issued, roots, tmp_path
):
    outcome = ingest_one(
        records, tmp_path, signed_return(issued, SIAN_SELF_SIGNED), trust_roots=load_trust_roots(roots)
    )
    assert outcome.status == "accepted"
    assert outcome.reasons == (f"the digital signature (Siân Ôwen) is not trusted: {SELF_SIGNED}",)
    assert (outcome.signature["trust"], outcome.signature["trust_problem"]) == ("untrusted", SELF_SIGNED)
    assert outcome.signature["matches_signatory"] is True  # her name, without the title
    assert recorded(records, outcome)["reasons"] == list(outcome.reasons)  # the note is kept
    assert records.signups_for(SCHEME)[DOC_ID]["return_id"] == outcome.return_id


def test_a_scheme_whose_rule_is_to_flag_untrusted_signatures_flags_one(records, issued, roots, tmp_path):
    records.set_scheme_rules(SCHEME, "1", None, {"untrusted_signature": "flag"})
    outcome = ingest_one(
        records, tmp_path, signed_return(issued, SIAN_SELF_SIGNED), trust_roots=load_trust_roots(roots)
    )
    assert outcome.status == "flagged"
    assert outcome.reasons == (f"the digital signature (Siân Ôwen) is not trusted: {SELF_SIGNED}",)
    assert DOC_ID not in records.signups_for(SCHEME)


def test_without_trust_roots_no_signature_is_called_untrusted(records, issued, tmp_path):
    records.set_scheme_rules(SCHEME, "1", None, {"untrusted_signature": "flag"})
    outcome = ingest_one(records, tmp_path, signed_return(issued, SIAN_SELF_SIGNED))
    assert (outcome.status, outcome.reasons, outcome.signature["trust"]) == ("accepted", (), "not checked")


# --- the signer and the typed signatory --------------------------------------------------------------


MISMATCH = (
    "the digital signature is in the name of 'Mallory Smith', not of the typed signatory 'Dr Siân Ôwen'"
)


def test_a_certificate_in_another_persons_name_is_recorded_and_flagged_by_default(records, issued, tmp_path):
    outcome = ingest_one(records, tmp_path, signed_return(issued, MALLORY))
    assert (outcome.status, outcome.reasons) == ("flagged", (MISMATCH,))
    assert (outcome.signature["common_name"], outcome.signature["matches_signatory"]) == (
        "Mallory Smith",
        False,
    )
    row = recorded(records, outcome)
    assert "Common Name: Mallory Smith" in row["signer"] and row["signature"]["matches_signatory"] is False
    assert DOC_ID not in records.signups_for(SCHEME)


def test_a_mismatched_and_untrusted_signature_gives_both_reasons(records, issued, roots, tmp_path):
    outcome = ingest_one(
        records, tmp_path, signed_return(issued, MALLORY), trust_roots=load_trust_roots(roots)
    )
    assert outcome.status == "flagged"
    assert outcome.reasons == (
        f"the digital signature (Mallory Smith) is not trusted: {SELF_SIGNED}",
        MISMATCH,
    )


def test_a_scheme_whose_rule_is_to_accept_a_mismatched_signer_keeps_the_reason(records, issued, tmp_path):
    records.set_scheme_rules(SCHEME, "1", None, {"signer_mismatch": "accept"})
    outcome = ingest_one(records, tmp_path, signed_return(issued, MALLORY))
    assert (outcome.status, outcome.reasons) == ("accepted", (MISMATCH,))


@pytest.mark.parametrize(
    ("typed", "certificate", "same"),
    [
        ("Dr Siân Ôwen", "Siân Ôwen", True),  # the title is not the name
        ("dr  siân   ôwen ", "SIÂN ÔWEN", True),  # case and spacing
        ("Dr Sian Owen", "Dr Siân Ôwen", True),  # accents typed or not
        ("Prof. Kwame Mensah", "MENSAH Kwame", True),  # a smartcard's surname first
        ("Dr Aoife O'Brien", "Aoife O\u2019Brien", True),  # either apostrophe
        ("Jo Bloggs", "Jo Bloggs (Practice Manager)", True),  # a remark in brackets
        ("Mrs Mary-Jane Smith", "Mary Jane Smith", True),  # a hyphen
        ("Dr S Owen", "Siân Ôwen", False),  # an initial is not a name
        ("Dr Siân Ôwen", "Siân Ôwen-Jones", False),  # another surname
        ("Dr Siân Ôwen", "Mallory Smith", False),
        ("Dr", "Dr", False),  # a title alone names nobody
    ],
)
def test_a_typed_name_and_a_certificate_name_match_as_words(typed, certificate, same):
    assert same_person(typed, certificate) is same


# --- broken and altered signatures ------------------------------------------------------------------


def test_a_file_changed_after_signing_stays_flagged_and_its_signature_is_recorded_as_partial(
    records, issued, tmp_path
):
    writer = PdfWriter(io.BytesIO(signed_return(issued, SIAN_CERTIFIED)), incremental=True)
    writer.update_page_form_field_values(writer.pages[3], {"practice_signatory_designation": "Cleaner"},
                                         auto_regenerate=False)  # fmt: skip
    buffer = io.BytesIO()
    writer.write(buffer)
    outcome = ingest_one(records, tmp_path, buffer.getvalue())
    assert (outcome.status, outcome.reasons) == (
        "flagged",
        ("the document was changed after it was digitally signed",),
    )
    signature = outcome.signature
    assert (signature["intact"], signature["valid"], signature["whole_file"]) == (True, True, False)
    assert recorded(records, outcome)["signature"]["whole_file"] is False


def test_a_signature_whose_signed_bytes_were_altered_is_flagged_and_judged_no_further(
    records, issued, roots, tmp_path
):
    signed = signed_return(issued, MALLORY)
    assert b"Senior Partner" in signed
    altered = signed.replace(b"Senior Partner", b"Senior Pertner")  # inside the signed bytes
    outcome = ingest_one(records, tmp_path, altered, trust_roots=load_trust_roots(roots))
    assert outcome.status == "flagged"
    assert outcome.reasons == (
        "required entries missing: practice_signature",  # a broken signature does not stand in for it
        "digital signature is not valid: the signed bytes were altered",
    )  # and not "in the name of Mallory Smith" or untrusted: a broken signature vouches for nobody
    assert (outcome.signature["intact"], outcome.signature["valid"]) == (False, False)
    assert recorded(records, outcome)["signature"]["intact"] is False


# --- the trusted roots ---------------------------------------------------------------------------------


def test_trust_roots_are_read_as_pem_bundles_and_der_files_whatever_their_names(tmp_path):
    folder = tmp_path / "roots"
    folder.mkdir()
    (folder / "bundle.pem").write_bytes(TEST_ROOT.pem() + b"\n" + SIAN_SELF_SIGNED.pem())
    (folder / "other.cer").write_bytes(MALLORY.der())
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # hidden: passed over
    (folder / "old").mkdir()  # a sub-folder: passed over
    names = sorted(c.subject.native["common_name"] for c in load_trust_roots(folder))
    assert names == ["Mallory Smith", "Siân Ôwen", "agreementgen test root CA"]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("notes.txt", b"the roots are in the shared drive", "expected an X.509 certificate, PEM or DER"),
        ("key.pem", b"-----BEGIN PRIVATE KEY-----\nMC4CAQA=\n-----END PRIVATE KEY-----\n",
         "a PEM file with no CERTIFICATE in it (it holds PRIVATE KEY)"),
        ("cut.crt", TEST_ROOT.der()[:200], "expected an X.509 certificate, PEM or DER"),
    ],
)  # fmt: skip
def test_a_file_among_the_trust_roots_that_is_not_a_certificate_is_refused_by_name(
    tmp_path, name, content, why
):
    folder = tmp_path / "roots"
    folder.mkdir()
    (folder / "test-root.pem").write_bytes(TEST_ROOT.pem())
    (folder / name).write_bytes(content)
    with pytest.raises(CertificateError) as caught:
        load_trust_roots(folder)
    assert caught.value.path == str(folder / name)
    assert caught.value.message.startswith(f"not a trusted root certificate: {why}")


# --- the command, as a user runs it -------------------------------------------------------------------


def run_ingest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agreementgen.cli", "ingest", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def test_ingest_json_carries_each_files_signature_checked_against_the_trust_roots(
    records, db_url, issued, roots, tmp_path
):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a-certified.pdf").write_bytes(signed_return(issued, SIAN_CERTIFIED))
    (tmp_path / "in" / "b-mallory.pdf").write_bytes(signed_return(issued, MALLORY))
    done = run_ingest("in", "--db", db_url, "--json", "--trust-roots", str(roots), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (1, "")  # one flagged; not a traceback or a log line
    certified, mallory = (json.loads(line) for line in done.stdout.splitlines())
    assert (certified["path"], certified["status"], certified["reasons"]) == (
        "in/a-certified.pdf",
        "accepted",
        [],
    )
    assert certified["signature"]["trust"] == "trusted"
    assert certified["signature"]["common_name"] == "Dr Siân Ôwen"
    assert certified["signature"]["matches_signatory"] is True
    assert certified["late"] is False
    assert mallory["status"] == "flagged"
    assert mallory["signature"]["trust"] == "untrusted" and mallory["signature"]["matches_signatory"] is False
    assert mallory["reasons"] == [
        f"the digital signature (Mallory Smith) is not trusted: {SELF_SIGNED}",
        MISMATCH,
    ]
    assert {r["filename"]: r["signature"]["trust"] for r in Records.open(db_url).returns_for()} == {
        "in/a-certified.pdf": "trusted",
        "in/b-mallory.pdf": "untrusted",
    }


def test_ingest_refuses_trust_roots_that_are_not_certificates_naming_the_file(records, db_url, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "README.txt").write_text("put the NHS roots here", encoding="utf-8")
    done = run_ingest("in", "--db", db_url, "--trust-roots", "roots", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(
        "error: roots/README.txt: not a trusted root certificate: expected an X.509 certificate, PEM or DER"
    )
    assert "Traceback" not in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nowhere = tmp_path / "nowhere"
    for folder, message in ((empty, "no certificates in the folder given as --trust-roots"),
                            (nowhere, "no such folder: --trust-roots takes a folder")):  # fmt: skip
        done = run_ingest("in", "--db", db_url, "--trust-roots", str(folder), cwd=tmp_path)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.startswith(f"error: {folder}: {message}"), done.stderr
    assert Records.open(db_url).returns_for() == []  # nothing ingested
