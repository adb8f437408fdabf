"""Claims in the web app: an officer verifies a quarter's claim, a different person (an approver)
approves it, either may refuse it with a reason; a viewer only reads."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agreementgen.people import People
from agreementgen.records import Records
from test_claims_approval import SCHEME, claim
from webapp import Register, make_app, signed_in

PAGE = f"/schemes/{SCHEME}/claims"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Register, dict[str, int]]:
    register = Register(tmp_path, tmp_path / "records.db")
    records = Records.open(register.url)
    records.set_scheme_rules(
        SCHEME,
        "1",
        date(2017, 5, 31),
        {"claim_approval": "two-level"},
        title="C&P Local Enhanced Services 2017/18",
        model="services",
        default_kind="sla",
    )
    ids = {
        "q1": claim(records, "D81001", 1, ring_pessary=10, wound_care=400),
        "q2": claim(records, "D81002", 2, ring_pessary=3),
    }
    return register, ids


@pytest.fixture
def app(setup, tmp_path: Path):
    return make_app(setup[0], tmp_path / "uploads")


def _decide(client: TestClient, return_id: int, decision: str, reason: str = "", csrf: bool = True):
    page = client.get(PAGE).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    data = {"decision": decision, "reason": reason} | ({"csrf": token.group(1)} if csrf else {})
    return client.post(f"{PAGE}/{return_id}", data=data, follow_redirects=False)


def _state(setup, key: str) -> dict:
    register, ids = setup
    return next(c for c in Records.open(register.url).claims_for(SCHEME) if c["return_id"] == ids[key])


def test_an_officer_verifies_and_a_different_approver_approves_a_claim(app, setup) -> None:
    _, ids = setup
    officer = signed_in(app, "olu")
    page = officer.get(PAGE).text
    assert "awaiting verification" in page and "approved claims only" in page
    assert _decide(officer, ids["q1"], "verify").status_code == 303
    assert _state(setup, "q1")["verified_by"] == "olu"
    assert "D81001) Q1: verified by olu" in officer.get(f"{PAGE}?done={ids['q1']}").text
    # the officer cannot approve what they verified, nor approve at all
    assert _decide(officer, ids["q1"], "approve").status_code == 403
    approver = signed_in(app, "asha")
    assert _decide(approver, ids["q1"], "approve", "matches the clinical system").status_code == 303
    done = _state(setup, "q1")
    assert (done["state"], done["approved_by"], done["approved_reason"]) == (
        "approved",
        "asha",
        "matches the clinical system",
    )
    actions = {(a["by"], a["action"]) for a in People(Records.open(setup[0].url)).actions()}
    assert {("olu", "verified claim"), ("asha", "approved claim")} <= actions


def test_an_approver_who_verified_a_claim_cannot_approve_it_too(app, setup) -> None:
    _, ids = setup
    asha = signed_in(app, "asha")
    assert _decide(asha, ids["q2"], "verify").status_code == 303
    page = asha.get(PAGE).text
    assert "an approver other than asha approves" in page
    refused = _decide(asha, ids["q2"], "approve")
    assert refused.status_code == 409 and "verified" in refused.text
    assert _state(setup, "q2")["state"] == "verified"
    assert _decide(signed_in(app, "ben"), ids["q2"], "approve").status_code == 303
    assert _state(setup, "q2")["state"] == "approved"


def test_refusing_needs_a_reason_and_a_refused_claim_is_final(app, setup) -> None:
    _, ids = setup
    officer = signed_in(app, "olu")
    no_reason = _decide(officer, ids["q1"], "refuse")
    assert no_reason.status_code == 400 and "give the reason" in no_reason.text
    assert _decide(officer, ids["q1"], "refuse", "400 wound care episodes is over the cap").status_code == 303
    row = _state(setup, "q1")
    assert (row["state"], row["refused_by"], row["refused_level"]) == ("refused", "olu", 1)
    assert _decide(signed_in(app, "asha"), ids["q1"], "verify").status_code == 409


def test_a_viewer_reads_the_claims_but_cannot_decide(app, setup) -> None:
    _, ids = setup
    viewer = signed_in(app, "vic")
    page = viewer.get(PAGE)
    assert page.status_code == 200 and "D81001" in page.text and 'name="decision"' not in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    response = viewer.post(f"{PAGE}/{ids['q1']}", data={"decision": "verify", "csrf": token.group(1)})
    assert response.status_code == 403
    assert _state(setup, "q1")["state"] == "awaiting verification"


def test_a_decision_without_its_csrf_token_is_refused(app, setup) -> None:
    _, ids = setup
    assert _decide(signed_in(app, "olu"), ids["q1"], "verify", csrf=False).status_code == 403
    assert _state(setup, "q1")["state"] == "awaiting verification"


def test_claims_are_filtered_by_state_and_quarter(app, setup) -> None:
    viewer = signed_in(app, "vic")
    q2 = viewer.get(PAGE, params={"quarter": "2"}).text
    assert "D81002" in q2 and "D81001" not in q2
    assert "No claim to show." in viewer.get(PAGE, params={"state": "approved"}).text
