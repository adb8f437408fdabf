"""Deadlines: a return signed or received after the scheme's sign-up deadline is late, and the spec
says whether a late return is accepted (with the reason as a note), flagged or rejected.

Sections 7 are issued by the real bulk run from a spec (which keeps the spec's deadline and rules for
returns in the records database), filled and, where it matters, digitally signed with pyHanko, then
ingested and read back from SQLite and PostgreSQL. Returns are issued and signed today, so a 2017/18
scheme's deadline (31 May 2017) is long past; where a test needs a deadline still to come, it is put on
record directly, as a spec whose deadline is today would put it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.cli import app
from agreementgen.context import long_date
from agreementgen.errors import ProblemsFound
from agreementgen.ingest import FileOutcome, ingest
from agreementgen.kinds.statement import statement_context
from agreementgen.records import Records
from agreementgen.scheme import load_scheme
from agreementgen.simulate import fill_pdf, practice_entries
from agreementgen.statements import statements
from agreementgen.validation import load_inputs
from agreementgen.yearend import load_year_end
from conftest import (
    EPRACCUR_2023_06H,
    LIST_SIZES_2021_06H,
    QEF,
    ROOT,
    digitally_sign,
    line_of,
    make_identity,
)

SCHEME = "cpccg-qef-2017-18"
DOC_ID = f"{SCHEME}:v1:D81001:section7"
TODAY = date.today()
ENTRIES = practice_entries(0, TODAY)  # signed today by Dr Siân Ôwen
SIGNED_LATE = f"signed {long_date(TODAY)}, after the sign-up deadline of 31 May 2017"
LATE_ACCEPTED = "  late: accept                  # accept | flag | reject\n"  # the shipped QEF's rule


def issue(spec: Path, db_url: str, out: Path) -> bytes:
    """D81001's Section 7 issued under ``spec`` (its deadline and rules kept on record): the PDF."""
    inputs = load_inputs(spec, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
    options = RunOptions(out_dir=out, templates_dir=ROOT / "templates", formats=("pdf",), jobs=1,
                         db_url=db_url, resume=False)  # fmt: skip
    assert not bulk.run(inputs.scheme, [inputs.data.by_code()["D81001"]], options).failures
    return (out / "D81001" / "section7.pdf").read_bytes()


def ingest_one(db_url: str, tmp_path: Path, data: bytes, **kwargs) -> FileOutcome:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "return.pdf").write_bytes(data)
    [outcome] = ingest([tmp_path / "in"], Records.open(db_url), **kwargs).files
    return outcome


def recorded(db_url: str, outcome: FileOutcome) -> dict:
    return next(r for r in Records.open(db_url).returns_for() if r["id"] == outcome.return_id)


# --- the spec's rules, kept where ingest finds them -------------------------------------------------------


def test_generate_keeps_the_specs_deadline_and_rules_for_returns_for_ingest(db_url, write_scheme, tmp_path):
    spec = write_scheme(
        (LATE_ACCEPTED, "  late: reject\n"), ("untrusted_signature: accept", "untrusted_signature: flag")
    )
    issue(spec, db_url, tmp_path / "first")
    rules = {"late": "reject", "untrusted_signature": "flag", "signer_mismatch": "flag"}
    assert Records.open(db_url).scheme_rules(SCHEME) == (date(2017, 5, 31), rules)
    issue(write_scheme(name="again.yaml"), db_url, tmp_path / "again")  # the shipped rules again: replaced
    rules = {"late": "accept", "untrusted_signature": "accept", "signer_mismatch": "flag"}
    assert Records.open(db_url).scheme_rules(SCHEME) == (date(2017, 5, 31), rules)


def test_a_scheme_never_issued_has_no_deadline_and_the_default_rules(db_url):
    assert Records.open(db_url).scheme_rules("never-issued") == (None, {})


def test_the_rules_for_returns_default_to_flagging_late_and_mismatched_returns(write_scheme, qef_text):
    assert load_scheme(QEF).returns.late == "accept"  # the shipped spec: a past scheme replayed
    start = qef_text.index("\nreturns:\n")
    block = qef_text[start : qef_text.index("\n", qef_text.index("  signer_mismatch:", start))]
    default = load_scheme(write_scheme((block, "")))
    assert default.returns.model_dump() == {
        "late": "flag",
        "untrusted_signature": "accept",
        "signer_mismatch": "flag",
    }


@pytest.mark.parametrize(
    ("rule", "value", "allowed"),
    [
        ("late", "sometimes", "'accept', 'flag' or 'reject'"),
        ("untrusted_signature", "reject", "'accept' or 'flag'"),
    ],
)
def test_a_rule_for_returns_that_is_not_one_of_its_choices_is_refused_with_its_line(
    write_scheme, rule, value, allowed
):
    spec = write_scheme((f"  {rule}: accept", f"  {rule}: {value}"))
    with pytest.raises(ProblemsFound) as caught:
        load_scheme(spec)
    [problem] = caught.value.problems
    assert (problem.field, problem.line) == (f"returns.{rule}", line_of(spec, f"  {rule}: {value}"))
    assert allowed in problem.message


# --- late returns, as the spec says -----------------------------------------------------------------------


def test_a_return_signed_after_the_deadline_is_flagged_by_default(db_url, write_scheme, tmp_path):
    pdf = issue(write_scheme((LATE_ACCEPTED, "")), db_url, tmp_path / "packs")
    outcome = ingest_one(db_url, tmp_path, fill_pdf(pdf, ENTRIES))
    assert (outcome.status, outcome.reasons, outcome.late) == ("flagged", (SIGNED_LATE,), True)
    row = recorded(db_url, outcome)
    assert (row["late"], row["reasons"], row["signed_date"]) == (True, [SIGNED_LATE], TODAY.isoformat())
    assert DOC_ID not in Records.open(db_url).signups_for(SCHEME)


def test_a_scheme_that_rejects_late_returns_rejects_one(db_url, write_scheme, tmp_path):
    pdf = issue(write_scheme((LATE_ACCEPTED, "  late: reject\n")), db_url, tmp_path / "packs")
    outcome = ingest_one(db_url, tmp_path, fill_pdf(pdf, ENTRIES))
    assert (outcome.status, outcome.reasons, outcome.late) == ("rejected", (SIGNED_LATE,), True)
    assert recorded(db_url, outcome)["late"] is True
    assert DOC_ID not in Records.open(db_url).signups_for(SCHEME)


def test_the_shipped_specs_accept_a_late_return_with_the_reason_as_a_note(db_url, tmp_path):
    """The shipped specs are past schemes replayed (README: "Rules for returns"), through the command."""
    issue(QEF, db_url, tmp_path / "packs")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "return.pdf").write_bytes(
        fill_pdf((tmp_path / "packs/D81001/section7.pdf").read_bytes(), ENTRIES)
    )
    done = subprocess.run(
        [sys.executable, "-m", "agreementgen.cli", "ingest", "in", "--db", db_url, "--json"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    [line] = done.stdout.splitlines()
    outcome = json.loads(line)
    assert (outcome["status"], outcome["reasons"], outcome["late"]) == ("accepted", [SIGNED_LATE], True)
    assert Records.open(db_url).signups_for(SCHEME)[DOC_ID]["return_id"] == outcome["return_id"]


def test_a_late_note_on_an_accepted_return_is_shown_by_ingest(db_url, tmp_path):
    issue(QEF, db_url, tmp_path / "packs")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "return.pdf").write_bytes(
        fill_pdf((tmp_path / "packs/D81001/section7.pdf").read_bytes(), ENTRIES)
    )
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "in"), "--db", db_url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"accepted {tmp_path / 'in' / 'return.pdf'}:\n    {SIGNED_LATE}\n" in result.output


# --- signed on time, received late; signed digitally; no deadline -------------------------------------------


@pytest.fixture
def deadline_today(db_url: str, tmp_path: Path) -> bytes:
    """D81001's Section 7 issued, with a sign-up deadline of today on record: the PDF."""
    pdf = issue(QEF, db_url, tmp_path / "packs")
    Records.open(db_url).set_scheme_rules(SCHEME, "1", TODAY, {})
    return pdf


def test_a_return_signed_by_the_deadline_but_received_after_it_is_late(db_url, deadline_today, tmp_path):
    tomorrow = TODAY + timedelta(days=1)
    outcome = ingest_one(db_url, tmp_path, fill_pdf(deadline_today, ENTRIES), today=tomorrow)
    received = f"received {long_date(tomorrow)}, after the sign-up deadline of {long_date(TODAY)}"
    assert (outcome.status, outcome.reasons, outcome.late) == ("flagged", (received,), True)
    assert recorded(db_url, outcome)["late"] is True


def test_a_return_signed_and_received_on_the_deadline_is_on_time(db_url, deadline_today, tmp_path):
    outcome = ingest_one(db_url, tmp_path, fill_pdf(deadline_today, ENTRIES), today=TODAY)
    assert (outcome.status, outcome.reasons, outcome.late) == ("accepted", (), False)
    assert recorded(db_url, outcome)["late"] is False


def test_a_digital_signing_time_after_the_deadline_makes_a_return_late(db_url, deadline_today, tmp_path):
    """The typed date says today; the signer's computer signed it three days later."""
    later = TODAY + timedelta(days=3)
    entries = {k: v for k, v in ENTRIES.items() if k != "practice_signature"}  # the digital one stands in
    signed = digitally_sign(
        fill_pdf(deadline_today, entries),
        make_identity("Siân Ôwen"),
        at=datetime.combine(later, time(12), UTC),
    )
    outcome = ingest_one(db_url, tmp_path, signed, today=later + timedelta(days=1))
    late = f"digitally signed {long_date(later)}, after the sign-up deadline of {long_date(TODAY)}"
    assert (outcome.status, outcome.reasons, outcome.late) == ("flagged", (late,), True)
    assert outcome.signature["signed_at"].startswith(later.isoformat())


def test_a_scheme_without_a_sign_up_deadline_never_marks_a_return_late(db_url, tmp_path):
    pdf = issue(QEF, db_url, tmp_path / "packs")
    Records.open(db_url).set_scheme_rules(SCHEME, "1", None, {"late": "reject"})
    outcome = ingest_one(db_url, tmp_path, fill_pdf(pdf, ENTRIES))
    assert (outcome.status, outcome.reasons, outcome.late) == ("accepted", (), False)


def test_a_rule_on_record_that_this_release_does_not_know_is_passed_over(db_url, tmp_path):
    """A newer agreementgen on the same database may keep more rules; the known ones still apply."""
    pdf = issue(QEF, db_url, tmp_path / "packs")
    Records.open(db_url).set_scheme_rules(SCHEME, "1", date(2017, 5, 31), {"late": "reject", "late_fee": "5"})
    outcome = ingest_one(db_url, tmp_path, fill_pdf(pdf, ENTRIES))
    assert (outcome.status, outcome.reasons) == ("rejected", (SIGNED_LATE,))


# --- the year end reads the sign-up date on record ---------------------------------------------------------


def test_a_statement_shows_the_sign_up_date_on_record_as_the_database_shows_it(db_url, tmp_path):
    """The practice wrote the date its own way; the statement shows the date on record, and says late."""
    pdf = issue(QEF, db_url, tmp_path / "packs")
    suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(TODAY.day, "th")
    written = f"{TODAY.day}{suffix} {TODAY:%B %Y}"  # "2nd December 2026"
    outcome = ingest_one(db_url, tmp_path, fill_pdf(pdf, {**ENTRIES, "practice_signature_date": written}))
    assert outcome.status == "accepted" and outcome.late
    records = Records.open(db_url)
    on_record = records.signups_for(SCHEME)[DOC_ID]["signed_date"]
    assert on_record == TODAY.isoformat() == recorded(db_url, outcome)["signed_date"]
    inputs = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
    practice = inputs.data.by_code()["D81001"]
    year_end = load_year_end(inputs.scheme, [practice], records=records)
    assert year_end.evidence["D81001"]["sign_up"] == date.fromisoformat(on_record)
    [statement] = statements(inputs.scheme, [practice], year_end)
    details = [line["detail"] for line in statement_context(inputs.scheme, statement, [])["lines"]]
    assert f"Sign-up (Section 7 returned) {date.fromisoformat(on_record):%d/%m/%Y} (late)" in details[0]
