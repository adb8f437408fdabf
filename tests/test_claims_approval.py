"""Quarterly claims approved at two levels (the CQRS Local model): an officer verifies a claim, another
person approves it, either may refuse it with a reason; only approved claims are paid at the year end
of a scheme that asks for it (``claims: {approval: two-level}``)."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.errors import RecordsError
from agreementgen.money import Money
from agreementgen.records import IssuedDocument, Records, ReturnRecord
from agreementgen.services import load_service_scheme
from agreementgen.statements import statements
from agreementgen.validation import load_service_inputs
from agreementgen.yearend import load_year_end
from conftest import SCHEMES

LES = SCHEMES / "cpccg-les-2017-18.yaml"
SCHEME = "cpccg-les-2017-18"
NAMES = {"D81001": "Lensfield Medical Practice", "D81002": "Huntingdon Road Surgery"}


def doc_id(practice: str, kind: str) -> str:
    return f"{SCHEME}:v1:{practice}:{kind}"


def issue(records: Records, practice: str, kind: str) -> None:
    records.register_issued([IssuedDocument(doc_id(practice, kind), SCHEME, "1", practice, NAMES[practice],
                                            kind, {}, "sha256:x", {})])  # fmt: skip


def returned(
    records: Records, practice: str, kind: str, fields: dict[str, str], status: str = "accepted"
) -> int:
    """A return of ``practice``'s ``kind`` form with these entries, recorded as ingest would; its id."""
    name = f"{practice}-{kind}-{json.dumps(fields, sort_keys=True)}-{status}"
    record = ReturnRecord(
        sha256=hashlib.sha256(name.encode()).hexdigest(), filename=f"{practice}-{kind}.pdf", size=100,
        format="pdf", doc_id=doc_id(practice, kind), id_source="form", scheme_id=SCHEME,
        practice_code=practice, kind=kind, status=status, reasons=[] if status == "accepted" else ["odd"],
        fields=fields, signature_kind="typed", signer="Dr Siân Ôwen", signed_date="2017-07-10",
    )  # fmt: skip
    return records.record_return(record).return_id


def claim(records: Records, practice: str, quarter: int, **counts: int) -> int:
    kind = f"claim_q{quarter}"
    issue(records, practice, kind)
    return returned(records, practice, kind, {f"count_{s}": f"{n:,}" for s, n in counts.items()})


@pytest.fixture
def records(db_url: str) -> Records:
    return Records.open(db_url)


def state(records: Records, return_id: int) -> dict:
    return next(c for c in records.claims_for(SCHEME) if c["return_id"] == return_id)


# --- the two levels ---------------------------------------------------------------------------------


def test_an_officer_verifies_a_claim_and_another_person_approves_it(records: Records) -> None:
    q1 = claim(records, "D81001", 1, ring_pessary=10, wound_care=400)
    assert state(records, q1)["state"] == "awaiting verification"
    verified = records.decide_claim(str(q1), 1, "yes", "", "Olu Officer")
    assert (verified.state, verified.quarter, verified.practice_code) == ("verified", 1, "D81001")
    approved = records.decide_claim(f"#{q1}", 2, "yes", "checked against the clinical system", "Ana Approver")
    assert approved.state == "approved" and approved.doc_id == doc_id("D81001", "claim_q1")
    row = state(records, q1)
    assert row["state"] == "approved"
    assert (row["verified_by"], row["approved_by"]) == ("Olu Officer", "Ana Approver")
    assert row["approved_reason"] == "checked against the clinical system"
    assert row["approved_at"] >= row["verified_at"] != ""
    assert row["counts"] == {"ring_pessary": 10, "wound_care": 400}
    assert row["practice_name"] == "Lensfield Medical Practice" and row["quarter"] == 1


def test_a_claim_is_found_by_its_document_id(records: Records) -> None:
    q2 = claim(records, "D81002", 2, phlebotomy=300)
    done = records.decide_claim(doc_id("D81002", "claim_q2"), 1, "yes", "", "Olu Officer")
    assert done.return_id == q2
    with pytest.raises(
        RecordsError, match="no accepted claim on record for 'cpccg-les-2017-18:v1:D81002:claim_q3'"
    ):
        records.decide_claim(doc_id("D81002", "claim_q3"), 1, "yes", "", "Olu Officer")


def test_an_approver_cannot_approve_a_claim_they_verified_themselves(records: Records) -> None:
    q1 = claim(records, "D81001", 1, ring_pessary=10)
    records.decide_claim(str(q1), 1, "yes", "", "Olu Officer")
    # Case and spacing do not make another person of the same name.
    with pytest.raises(
        RecordsError,
        match=r"return #1 \(D81001-claim_q1.pdf\) was verified by Olu Officer, who cannot also decide it at "
        "level 2: the approver must be another person",
    ):
        records.decide_claim(str(q1), 2, "yes", "", " olu  officer ")
    with pytest.raises(RecordsError, match="cannot also decide it at level 2"):
        records.decide_claim(str(q1), 2, "refuse", "on reflection, wrong", "Olu Officer")
    assert state(records, q1)["state"] == "verified"


def test_a_claim_must_be_verified_before_it_is_approved(records: Records) -> None:
    q1 = claim(records, "D81001", 1, ring_pessary=10)
    with pytest.raises(RecordsError, match=r"is not verified yet: an officer verifies it \(level 1\)"):
        records.decide_claim(str(q1), 2, "yes", "", "Ana Approver")
    assert state(records, q1)["state"] == "awaiting verification"


def test_a_verified_claim_is_not_verified_twice_and_an_approved_claim_is_final(records: Records) -> None:
    q1 = claim(records, "D81001", 1, ring_pessary=10)
    records.decide_claim(str(q1), 1, "yes", "", "Olu Officer")
    with pytest.raises(RecordsError, match="was verified by Olu Officer: it now waits for an approver"):
        records.decide_claim(str(q1), 1, "yes", "", "Another Officer")
    records.decide_claim(str(q1), 2, "yes", "", "Ana Approver")
    for level, decision in ((1, "yes"), (2, "yes"), (2, "refuse"), (1, "refuse")):
        with pytest.raises(
            RecordsError, match=r"was approved by Ana Approver on .*: an approved claim is final"
        ):
            records.decide_claim(str(q1), level, decision, "too late", "Bea Approver")


def test_a_refused_claim_cannot_then_be_verified_or_approved(records: Records) -> None:
    q1 = claim(records, "D81001", 1, wound_care=400)
    refused = records.decide_claim(
        str(q1), 1, "refuse", "400 episodes, but 40 dressings ordered", "Olu Officer"
    )
    assert refused.state == "refused"
    for level in (1, 2):
        with pytest.raises(RecordsError, match=r"was refused by Olu Officer .*must send a new claim"):
            records.decide_claim(str(q1), level, "yes", "", "Ana Approver")
    row = state(records, q1)
    assert (row["state"], row["refused_level"], row["refused_by"]) == ("refused", 1, "Olu Officer")
    assert row["refused_reason"] == "400 episodes, but 40 dressings ordered"
    assert row["verified_by"] == "" and row["approved_by"] == ""


def test_an_approver_refuses_a_verified_claim_at_level_2(records: Records) -> None:
    q1 = claim(records, "D81001", 1, wound_care=400)
    records.decide_claim(str(q1), 1, "yes", "", "Olu Officer")
    records.decide_claim(str(q1), 2, "refuse", "patients not registered in the quarter", "Ana Approver")
    row = state(records, q1)
    assert (row["state"], row["refused_level"], row["verified_by"]) == ("refused", 2, "Olu Officer")


def test_a_new_claim_for_the_quarter_starts_again_and_the_old_one_cannot_be_decided(records: Records) -> None:
    old = claim(records, "D81001", 1, wound_care=400)
    records.decide_claim(str(old), 1, "refuse", "too many episodes", "Olu Officer")
    new = returned(records, "D81001", "claim_q1", {"count_wound_care": "40"})
    [row] = records.claims_for(SCHEME)
    assert (row["return_id"], row["state"], row["counts"]) == (
        new,
        "awaiting verification",
        {"wound_care": 40},
    )
    with pytest.raises(
        RecordsError, match=f"return #{old} .* is no longer the practice's Q1 claim: return #{new}"
    ):
        records.decide_claim(str(old), 1, "yes", "", "Olu Officer")
    assert records.decide_claim(str(new), 1, "yes", "", "Olu Officer").state == "verified"


def test_only_an_accepted_claim_is_decided(records: Records) -> None:
    issue(records, "D81001", "claim_q1")
    flagged = returned(records, "D81001", "claim_q1", {"count_wound_care": "40"}, status="flagged")
    with pytest.raises(RecordsError, match=f"return #{flagged} .* is flagged, not accepted"):
        records.decide_claim(str(flagged), 1, "yes", "", "Olu Officer")
    issue(records, "D81001", "sla_wound_care")
    sla = returned(records, "D81001", "sla_wound_care", {})
    with pytest.raises(RecordsError, match=f"return #{sla} .* is not a quarterly claim"):
        records.decide_claim(str(sla), 1, "yes", "", "Olu Officer")
    with pytest.raises(RecordsError, match="no return on record for '#99'"):
        records.decide_claim("#99", 1, "yes", "", "Olu Officer")


def test_a_decision_needs_a_name_and_a_refusal_needs_a_reason(records: Records) -> None:
    q1 = claim(records, "D81001", 1, wound_care=40)
    with pytest.raises(RecordsError, match="needs the name of the person deciding"):
        records.decide_claim(str(q1), 1, "yes", "", "   ")
    with pytest.raises(RecordsError, match="refusing a claim needs a reason"):
        records.decide_claim(str(q1), 1, "refuse", " ", "Olu Officer")
    with pytest.raises(RecordsError, match=r"level 1 .* or 2 .*, not 3"):
        records.decide_claim(str(q1), 3, "yes", "", "Olu Officer")
    with pytest.raises(RecordsError, match="yes or refuse, not 'maybe'"):
        records.decide_claim(str(q1), 1, "maybe", "", "Olu Officer")
    assert state(records, q1)["state"] == "awaiting verification"  # nothing recorded


def test_claims_for_lists_every_current_claim_in_two_queries(records: Records) -> None:
    ids = [claim(records, code, q, wound_care=10 * q) for code in NAMES for q in (1, 2, 3)]
    records.decide_claim(str(ids[0]), 1, "yes", "", "Olu Officer")
    statements_run: list[str] = []

    def count(*_args) -> None:
        statements_run.append("sql")

    from sqlalchemy import event

    event.listen(records.engine, "before_cursor_execute", count)
    try:
        claims = records.claims_for(SCHEME)
    finally:
        event.remove(records.engine, "before_cursor_execute", count)
    assert [(c["practice_code"], c["quarter"]) for c in claims] == [(p, q) for p in NAMES for q in (1, 2, 3)]
    assert [c["state"] for c in claims] == ["verified"] + ["awaiting verification"] * 5
    assert len([s for s in statements_run]) <= 4  # the claims and their decisions (+ the writers' lock)
    assert records.claims_for("another-scheme") == []


def test_activity_counts_only_approved_claims_when_asked(records: Records) -> None:
    approved = claim(records, "D81001", 1, ring_pessary=10)
    verified = claim(records, "D81001", 2, ring_pessary=12)
    claim(records, "D81001", 3, ring_pessary=9)
    records.decide_claim(str(approved), 1, "yes", "", "Olu Officer")
    records.decide_claim(str(approved), 2, "yes", "", "Ana Approver")
    records.decide_claim(str(verified), 1, "yes", "", "Olu Officer")
    assert [(a["quarter"], a["count"]) for a in records.activity_for(SCHEME)] == [(1, 10), (2, 12), (3, 9)]
    assert [(a["quarter"], a["count"]) for a in records.activity_for(SCHEME, approved_only=True)] == [(1, 10)]


def test_the_history_of_a_claim_shows_who_verified_approved_and_refused_it(records: Records) -> None:
    old = claim(records, "D81001", 1, wound_care=400)
    records.decide_claim(str(old), 1, "refuse", "too many episodes", "Olu Officer")
    new = returned(records, "D81001", "claim_q1", {"count_wound_care": "40"})
    records.decide_claim(str(new), 1, "yes", "matches the dressings ordered", "Olu Officer")
    records.decide_claim(str(new), 2, "yes", "", "Ana Approver")
    history = records.history(doc_id("D81001", "claim_q1"))
    events = [
        (e["event"], e["return_id"], e["by"], e["detail"]) for e in history if e["event"].startswith("claim")
    ]
    assert events == [
        ("claim refused", old, "Olu Officer", "at level 1 (verification): too many episodes"),
        ("claim verified", new, "Olu Officer", "level 1: matches the dressings ordered"),
        ("claim approved", new, "Ana Approver", "level 2"),
    ]


# --- the spec and the year end ------------------------------------------------------------------------


def les_with(tmp_path: Path, approval: str) -> Path:
    text = LES.read_text(encoding="utf-8")
    assert "  approval: two-level\n" in text
    path = tmp_path / f"les-{approval}.yaml"
    path.write_text(text.replace("  approval: two-level\n", f"  approval: {approval}\n"), encoding="utf-8")
    shutil.copytree(SCHEMES / "sources", tmp_path / "sources", dirs_exist_ok=True)
    return path


def test_the_shipped_les_asks_for_two_level_approval_and_an_older_spec_means_none(tmp_path: Path) -> None:
    assert load_service_scheme(LES).claims.two_level
    text = LES.read_text(encoding="utf-8").replace("claims:\n  approval: two-level\n", "")
    text = text.split("    - item: claims\n")[0]  # its provenance entry names an item no longer there
    (tmp_path / "old.yaml").write_text(text, encoding="utf-8")
    shutil.copytree(SCHEMES / "sources", tmp_path / "sources")
    older = load_service_scheme(tmp_path / "old.yaml")
    assert older.claims.approval == "none" and not older.claims.two_level


def test_an_unknown_approval_is_refused_with_its_line(tmp_path: Path) -> None:
    from agreementgen.errors import ProblemsFound

    with pytest.raises(ProblemsFound) as caught:
        load_service_scheme(les_with(tmp_path, "three-level"))
    assert any("claims.approval" in str(p) for p in caught.value.problems), caught.value.problems


@pytest.fixture
def year(tmp_path: Path, records: Records):
    """Lensfield (D81001) signed its ring pessary SLA and claimed Q1 (approved), Q2 (verified only) and
    Q3 (refused); nothing has been paid."""
    practices = tmp_path / "practices.csv"
    practices.write_text("code,name,postcode,list_size\nD81001,Lensfield,CB2 1EH,12731\n", encoding="utf-8")
    signups = tmp_path / "signups.csv"
    signups.write_text("practice_code,service,planned\nD81001,ring_pessary,40\n", encoding="utf-8")
    issue(records, "D81001", "sla_ring_pessary")
    returned(records, "D81001", "sla_ring_pessary", {})
    q1, q2, q3 = (claim(records, "D81001", q, ring_pessary=n) for q, n in ((1, 10), (2, 12), (3, 9)))
    for return_id in (q1, q2):
        records.decide_claim(str(return_id), 1, "yes", "", "Olu Officer")
    records.decide_claim(str(q1), 2, "yes", "", "Ana Approver")
    records.decide_claim(str(q3), 1, "refuse", "no patient list sent", "Olu Officer")
    return practices, signups, (q1, q2, q3)


def ring_pessary(spec: Path, year, records: Records):
    practices, signups, _ = year
    inputs = load_service_inputs(spec, [practices], [signups])
    loaded = load_year_end(inputs.scheme, inputs.data.practices, records=records, signups=inputs.signups)
    [statement] = statements(inputs.scheme, inputs.data.practices, loaded, inputs.signups)
    line = next(line for line in statement.reconciliation.lines if line.id == "ring_pessary")
    return loaded, line


def test_with_two_level_approval_only_the_approved_claims_counts_are_paid(year, records: Records) -> None:
    loaded, line = ring_pessary(LES, year, records)
    assert loaded.activity["D81001"]["ring_pessary"] == {1: 10}
    assert (line.counted, line.earned) == (10, Money(Decimal("257.60")))  # 10 × £25.76 (£25.50 + 1%)
    _, q2, q3 = year[2]
    assert loaded.notes == [
        f"2 claim(s) not yet approved are left out: D81001 Q2 (return #{q2}, verified by Olu Officer, "
        f"awaiting approval); D81001 Q3 (return #{q3}, refused by Olu Officer: no patient list sent)"
    ]
    [records_source] = [text for what, text in loaded.sources if what == "records database"]
    assert "1 counts from approved claim forms (2 claim(s) not yet approved left out)" in records_source


def test_a_refused_claim_never_reaches_the_year_end(year, records: Records) -> None:
    _, q2, q3 = year[2]
    records.decide_claim(str(q2), 2, "yes", "", "Ana Approver")
    loaded, line = ring_pessary(LES, year, records)
    assert loaded.activity["D81001"]["ring_pessary"] == {1: 10, 2: 12}
    assert line.counted == 22 and 3 not in loaded.activity["D81001"]["ring_pessary"]
    assert [n for n in loaded.notes if f"#{q3}" in n] and f"#{q2}" not in loaded.notes[0]


def test_without_approval_every_accepted_claim_counts_as_before(
    year, records: Records, tmp_path: Path
) -> None:
    loaded, line = ring_pessary(les_with(tmp_path, "none"), year, records)
    assert loaded.activity["D81001"]["ring_pessary"] == {1: 10, 2: 12, 3: 9}
    assert (line.counted, line.earned) == (31, Money(Decimal("798.56")))  # 31 × £25.76
    assert loaded.notes == []
    [records_source] = [text for what, text in loaded.sources if what == "records database"]
    assert "3 counts from accepted claim forms" in records_source and "left out" not in records_source


# --- the command line --------------------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_the_claims_commands_verify_approve_refuse_and_list(
    records: Records, db_url: str, tmp_path: Path
) -> None:
    q1 = claim(records, "D81001", 1, ring_pessary=10, wound_care=400)
    q2 = claim(records, "D81001", 2, ring_pessary=12)
    done = invoke("claims", "verify", str(q1), "--by", "Olu Officer", "--db", db_url)
    assert done.exit_code == 0, done.output
    assert (
        f"return #{q1} ({doc_id('D81001', 'claim_q1')}), D81001's Q1 claim: verified by Olu Officer"
        in done.output
    )
    assert "it now waits for an approver (level 2), who must be someone else" in done.output
    same = invoke("claims", "approve", str(q1), "--by", "Olu Officer", "--db", db_url)
    assert same.exit_code == 1
    assert (
        "was verified by Olu Officer, who cannot also decide it at level 2" in same.output
        and "Traceback" not in same.output
    )
    done = invoke(
        "claims", "approve", f"#{q1}", "--by", "Ana Approver", "--reason", "checked", "--db", db_url
    )
    assert done.exit_code == 0 and "D81001's Q1 claim: approved by Ana Approver: checked" in done.output
    unreasoned = invoke("claims", "refuse", str(q2), "--level", "1", "--by", "Olu Officer", "--db", db_url)
    assert unreasoned.exit_code == 2 and "--reason" in unreasoned.output  # a usage error: typer's own
    done = invoke("claims", "refuse", str(q2), "--level", "1", "--by", "Olu Officer", "--reason", "unsigned",
                  "--db", db_url)  # fmt: skip
    assert done.exit_code == 0 and "D81001's Q2 claim: refused by Olu Officer: unsigned" in done.output
    csv_path = tmp_path / "claims.csv"
    listed = invoke("claims", "list", "--scheme", str(LES), "--db", db_url, "--to", str(csv_path))
    assert listed.exit_code == 0, listed.output
    assert "2 claim(s): 0 awaiting verification, 0 verified, 1 approved, 1 refused" in listed.output
    assert "refused by Olu Officer (level 1): unsigned" in listed.output
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8-sig")))
    assert [(r["quarter"], r["state"], r["counts"]) for r in rows] == [
        ("1", "approved", "ring_pessary 10, wound_care 400"),
        ("2", "refused", "ring_pessary 12"),
    ]
    as_json = json.loads(invoke("claims", "list", "--scheme", str(LES), "--db", db_url, "--json").output)
    assert [(c["return_id"], c["approved_by"]) for c in as_json] == [(q1, "Ana Approver"), (q2, "")]
    history = invoke("history", doc_id("D81001", "claim_q1"), "--db", db_url, "--json")
    assert [e["event"] for e in json.loads(history.output)][-2:] == ["claim verified", "claim approved"]


def test_claims_list_refuses_a_per_capita_scheme(db_url: str) -> None:
    result = invoke("claims", "list", "--scheme", str(SCHEMES / "cpccg-qef-2017-18.yaml"), "--db", db_url)
    assert result.exit_code == 1
    assert (
        f"error: {SCHEMES / 'cpccg-qef-2017-18.yaml'}: cpccg-qef-2017-18 is a per-capita scheme: claims "
        "belong to service schemes" in result.output
    )


def test_claims_list_says_when_the_scheme_needs_no_approval(db_url: str, tmp_path: Path) -> None:
    result = invoke("claims", "list", "--scheme", str(les_with(tmp_path, "none")), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "0 claim(s)" in result.output
    assert "claims need no approval (claims: approval: none): every accepted claim counts" in result.output
