"""A person decides on a flagged return: accepted into the sign-up or rejected, with why and by whom."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agreementgen import bulk
from agreementgen.bulk import RunOptions
from agreementgen.cli import app
from agreementgen.errors import RecordsError
from agreementgen.ingest import SIGNATORY_NAME, ingest
from agreementgen.records import Records
from agreementgen.simulate import fill_pdf, practice_entries
from agreementgen.status import scheme_info, scheme_status
from agreementgen.validation import load_inputs
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT

INPUTS = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
DOC = "cpccg-qef-2017-18:v1:D81001:section7"


@pytest.fixture(scope="module")
def issued(tmp_path_factory) -> tuple[bytes, list]:
    base = tmp_path_factory.mktemp("issued")
    url = f"sqlite:///{base / 'issued.db'}"
    options = RunOptions(out_dir=base / "packs", templates_dir=ROOT / "templates", jobs=1, db_url=url,
                         resume=False, formats=("pdf",))  # fmt: skip
    assert not bulk.run(INPUTS.scheme, [INPUTS.data.by_code()["D81001"]], options).failures
    return (base / "packs" / "D81001" / "section7.pdf").read_bytes(), Records.open(
        options.db_url
    ).issued_documents()


@pytest.fixture
def flagged(db_url: str, issued, tmp_path: Path) -> Records:
    """A records database with one return flagged: the practice left out the signatory's name."""
    records = Records.open(db_url)
    records.register_issued(issued[1])
    entries = {k: v for k, v in practice_entries(0, date.today()).items() if k != SIGNATORY_NAME}
    (tmp_path / "returns").mkdir()
    (tmp_path / "returns" / "unnamed.pdf").write_bytes(fill_pdf(issued[0], entries))
    [outcome] = ingest([tmp_path / "returns"], records).files
    assert outcome.status == "flagged"
    return records


def test_an_approver_accepts_a_flagged_return_and_it_becomes_the_sign_up(flagged: Records) -> None:
    done = flagged.review(DOC, "accept", "name confirmed by phone with the practice manager", "Asha Patel")
    assert done.status == "accepted" and done.doc_id == DOC
    assert any("signatory" in reason.lower() for reason in done.flagged_for)
    assert flagged.signups_for("cpccg-qef-2017-18")[DOC]["return_id"] == done.return_id
    [event] = flagged.reviews_of(done.return_id)
    assert (event["decision"], event["by"]) == ("accept", "Asha Patel")
    assert event["reason"] == "name confirmed by phone with the practice manager"
    assert scheme_status(scheme_info(INPUTS.scheme), flagged).accepted == 1


def test_a_rejected_return_stays_unsigned_and_the_chase_list_says_why(flagged: Records) -> None:
    done = flagged.review("#1", "reject", "unsigned copy", "Asha Patel")
    assert done.status == "rejected"
    assert flagged.signups_for("cpccg-qef-2017-18") == {}
    [row] = scheme_status(scheme_info(INPUTS.scheme), flagged).chase
    assert row["state"] == "rejected" and "signatory" in row["reasons"].lower()


def test_only_a_flagged_return_can_be_reviewed_and_only_once(flagged: Records) -> None:
    flagged.review("1", "accept", "checked", "Asha Patel")
    with pytest.raises(RecordsError, match="is accepted, not flagged"):
        flagged.review("1", "reject", "changed my mind", "Asha Patel")
    with pytest.raises(RecordsError, match="no return on record for 'nothing:v1:X:y'"):
        flagged.review("nothing:v1:X:y", "accept", "x", "y")


def test_the_review_command_records_the_decision_and_refuses_an_undecided_one(
    flagged: Records, db_url
) -> None:
    runner = CliRunner()
    both = runner.invoke(
        app, ["review", DOC, "--accept", "--reject", "--reason", "x", "--by", "y", "--db", db_url]
    )
    assert both.exit_code == 2 and "give one of --accept or --reject" in both.output
    nameless = runner.invoke(app, ["review", DOC, "--accept", "--reason", "x", "--db", db_url])
    assert nameless.exit_code == 2
    done = runner.invoke(app, ["review", DOC, "--accept", "--reason", "name confirmed", "--by", "Asha Patel",
                               "--db", db_url], env={"COLUMNS": "200"})  # fmt: skip
    assert done.exit_code == 0, done.output
    assert f"return #1 ({DOC}): accepted by Asha Patel" in done.output
    again = runner.invoke(app, ["review", DOC, "--reject", "--reason", "x", "--by", "y", "--db", db_url])
    assert again.exit_code == 1 and "not flagged" in again.output
