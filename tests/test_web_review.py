"""The review queue in the web app: officers read why returns were flagged, approvers decide."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agreementgen.ingest import SIGNATORY_NAME, ingest
from agreementgen.people import People
from agreementgen.records import Records
from agreementgen.simulate import fill_docx, fill_pdf, practice_entries
from test_wording import replace_in_docx
from webapp import Register, build_register, copy_register, csrf_of, make_app, signed_in

SCHEME = "cpccg-qef-2017-18"
DOC = f"{SCHEME}:v1:D81001:section7"
REASON = "Name confirmed by phone with the practice manager"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Register:
    return build_register(tmp_path_factory.mktemp("register"))


@pytest.fixture
def register(built: Register, tmp_path: Path) -> Register:
    """The register with one return flagged: D81001 left out the signatory's name."""
    register = copy_register(built, tmp_path)
    entries = {k: v for k, v in practice_entries(0, date.today()).items() if k != SIGNATORY_NAME}
    unnamed = tmp_path / "returned" / "unnamed.pdf"
    unnamed.parent.mkdir()
    unnamed.write_bytes(fill_pdf((built.folder / "packs" / "D81001" / "section7.pdf").read_bytes(), entries))
    [outcome] = ingest([unnamed], Records.open(register.url)).files
    assert (outcome.status, outcome.return_id) == ("flagged", 1)
    return register


@pytest.fixture
def app(register: Register, tmp_path: Path):
    return make_app(register, tmp_path / "uploads")


def decide(client: TestClient, return_id: int, decision: str, reason: str, csrf: str | None = None):
    data = {"csrf": csrf_of(client) if csrf is None else csrf, "decision": decision, "reason": reason}
    return client.post(f"/review/{return_id}", data=data, follow_redirects=False)


def test_an_officer_reads_the_queue_but_an_approver_decides(app) -> None:
    client = signed_in(app, "olu")
    page = client.get("/review")
    assert page.status_code == 200
    section = re.search(r'<section id="return-1".*?</section>', page.text, re.S)
    assert section, "the flagged return has its own section"
    assert "unnamed.pdf" in section.group(0) and DOC in section.group(0)
    assert f'href="/schemes/{SCHEME}/practices/D81001">LENSFIELD MEDICAL PRACTICE</a>' in section.group(0)
    assert "signatory" in section.group(0).lower()
    assert "An approver decides each of these returns" in page.text
    assert "<textarea" not in page.text and 'action="/review/1"' not in page.text
    refused = decide(client, 1, "accept", REASON)
    assert refused.status_code == 403 and "You need the approver role" in refused.text
    assert Records.open(app.state.web.config.db_url).flagged_returns()[0]["id"] == 1


def test_a_viewer_can_neither_read_the_queue_nor_decide(app) -> None:
    client = signed_in(app, "vic")
    assert client.get("/review").status_code == 403
    assert decide(client, 1, "accept", REASON).status_code == 403


def test_an_approver_accepts_a_flagged_return_and_it_becomes_the_sign_up(app, register) -> None:
    client = signed_in(app, "asha")
    page = client.get("/review").text
    assert '<label for="reason-1">Reason (kept with the decision)</label>' in page
    assert re.search(r'<textarea name="reason" id="reason-1" required', page)
    assert 'name="decision" value="accept">Accept</button>' in page
    assert 'name="decision" value="reject" class="danger">Reject</button>' in page

    done = decide(client, 1, "accept", REASON)
    assert done.status_code == 303 and done.headers["location"].startswith("/review?done=1")
    after = client.get(done.headers["location"]).text
    assert "Return #1 accepted by asha." in after
    assert "No return is waiting for a decision." in after

    records = Records.open(register.url)
    assert records.signups_for(SCHEME)[DOC]["return_id"] == 1
    [event] = records.reviews_of(1)
    assert (event["decision"], event["reason"], event["by"]) == ("accept", REASON, "asha")
    [action] = [a for a in People(records).actions() if a["action"] == "reviewed"]
    assert (action["by"], action["target"], action["detail"]) == ("asha", "return #1", f"accepted: {REASON}")


def test_a_rejected_return_leaves_the_practice_without_a_sign_up(app, register) -> None:
    client = signed_in(app, "ben")
    assert decide(client, 1, "reject", "An unsigned copy: asked for the signed one").status_code == 303
    assert "Return #1 rejected by ben." in client.get("/review?done=1").text
    assert Records.open(register.url).signups_for(SCHEME) == {}


def test_a_decision_without_a_reason_or_on_a_return_already_decided_says_why(app) -> None:
    client = signed_in(app, "asha")
    missing = decide(client, 1, "accept", "   ")
    assert missing.status_code == 400
    assert "Return #1: give a reason; it is kept with the decision." in missing.text
    assert 'aria-invalid="true"' in missing.text and '<section id="return-1"' in missing.text

    assert decide(client, 1, "accept", REASON).status_code == 303
    again = decide(client, 1, "reject", "Changed my mind")
    assert again.status_code == 409
    assert re.search(r"Return #1 \([^)]*unnamed.pdf\) is accepted, not flagged", again.text)
    assert "Traceback" not in again.text
    assert decide(client, 99, "accept", REASON).status_code == 409


def test_the_notice_is_said_from_the_record_not_from_the_address(app) -> None:
    client = signed_in(app, "asha")
    page = client.get("/review?done=1").text
    assert "Return #1 accepted" not in page and 'id="review-done"' not in page


def test_a_decision_without_its_csrf_token_is_refused(app, register) -> None:
    client = signed_in(app, "asha")
    refused = decide(client, 1, "accept", REASON, csrf="")
    assert refused.status_code == 403 and "did not come from this app" in refused.text
    assert Records.open(register.url).reviews_of(1) == []


def test_a_word_return_uploaded_with_a_changed_clause_shows_the_change_in_the_queue(app, built) -> None:
    docx = fill_docx(
        (built.folder / "packs" / "D81002" / "section7.docx").read_bytes(), practice_entries(0, date.today())
    )
    changed = replace_in_docx(docx, "one month's", "twelve months'")
    officer = signed_in(app, "olu")
    files = [("files", ("section7 signed.docx", changed, "application/octet-stream"))]
    sent = officer.post("/upload", data={"csrf": csrf_of(officer)}, files=files, follow_redirects=False)
    for _ in range(200):
        if 'id="results"' in officer.get(sent.headers["location"]).text:
            break
        time.sleep(0.1)
    page = signed_in(app, "asha").get("/review").text
    section = re.search(r'<section id="return-2".*?</section>', page, re.S)
    assert section and "section7 signed.docx" in section.group(0)
    assert "<caption>Wording changed from what was issued</caption>" in section.group(0)
    assert "<del>one month&#39;s</del>" in section.group(
        0
    ) and "<ins>twelve months&#39;</ins>" in section.group(0)
