"""Quarterly claims of a service scheme, approved at two levels: an officer verifies, an approver
approves (the model CQRS Local uses); either may refuse, with a reason.

Each decision is :meth:`~agreementgen.records.Records.decide_claim`, the same step as the
``agreementgen claims`` commands, kept with the person's name; the library enforces the rules
(approval after verification, by someone other than the verifier; nothing after a refusal or
an approval). The page offers each person only the steps open to them, and says who may act.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Route

from ..errors import RecordsError
from ..people import User
from ..records import CLAIM_STATES
from .guard import Rendered, View, page
from .pages import scheme_or_404

STEPS = {"verify": (1, "yes"), "approve": (2, "yes"), "refuse": (0, "refuse")}


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _steps(claim: dict[str, Any], user: User) -> list[str]:
    """The decisions this person may take on this claim now."""
    if claim["state"] == "awaiting verification" and user.may("officer"):
        return ["verify", "refuse"]
    if claim["state"] == "verified" and user.may("approver") and not _same(claim["verified_by"], user.name):
        return ["approve", "refuse"]
    return []


def _page(
    view: View, *, error: str = "", failed: int | None = None, reason: str = "", status: int = 200
) -> Rendered:
    records = view.app.records
    info = scheme_or_404(records, view.request.path_params["scheme"])
    params = view.request.query_params
    state = params.get("state", "")
    quarter = params.get("quarter", "")
    claims = every = records.claims_for(info.id)
    counts = {s: sum(1 for c in claims if c["state"] == s) for s in CLAIM_STATES}
    if state in CLAIM_STATES:
        claims = [c for c in claims if c["state"] == state]
    if quarter in ("1", "2", "3", "4"):
        claims = [c for c in claims if c["quarter"] == int(quarter)]
    for claim in claims:
        claim["steps"] = _steps(claim, view.session.user)
    notice = ""
    done = params.get("done", "")
    if done.isdigit() and not error:  # said from the record, not from the address
        for claim in every:
            if claim["return_id"] == int(done):
                who = claim["approved_by"] or claim["refused_by"] or claim["verified_by"]
                which = f"{claim['practice_name']} ({claim['practice_code']}) Q{claim['quarter']}"
                notice = f"{which}: {claim['state']} by {who}."
    _, rules = records.scheme_rules(info.id)
    context = {
        "title": f"{info.title}: claims",
        "info": info,
        "claims": claims,
        "counts": counts,
        "states": CLAIM_STATES,
        "chosen": {"state": state if state in CLAIM_STATES else "", "quarter": quarter},
        "two_level": rules.get("claim_approval") == "two-level",
        "notice": notice,
        "error": error,
        "failed": failed,
        "reason": reason,
    }
    return "claims.html", context, status


@page()
def claims(view: View) -> Rendered:
    return _page(view)


@page("officer")
def decide(view: View) -> Rendered:
    return_id = int(view.request.path_params["return_id"])
    step = str(view.form.get("decision") or "")
    reason = str(view.form.get("reason") or "").strip()
    user = view.session.user
    if step not in STEPS:
        return _page(view, error="Choose verify, approve or refuse.", failed=return_id, status=400)
    claim = next(
        (
            c
            for c in view.app.records.claims_for(view.request.path_params["scheme"])
            if c["return_id"] == return_id
        ),
        None,
    )
    if claim is None:
        raise HTTPException(404)
    level, decision = STEPS[step]
    if step == "refuse":
        level = 1 if claim["state"] == "awaiting verification" else 2
    if level == 2 and not user.may("approver"):
        return view.app.error(
            view.request, 403, "An approver approves or refuses a verified claim.", view.session
        )
    if step == "refuse" and not reason:
        error = f"Claim #{return_id}: give the reason for refusing it; the practice is told it."
        return _page(view, error=error, failed=return_id, status=400)
    try:
        done = view.app.records.decide_claim(str(return_id), level, decision, reason, by=user.name)
    except RecordsError as exc:
        message = str(exc)
        return _page(
            view, error=message[:1].upper() + message[1:] + ".", failed=return_id, reason=reason, status=409
        )
    action = {"verify": "verified claim", "approve": "approved claim", "refuse": "refused claim"}[step]
    view.app.people.record_action(
        user.name,
        action,
        f"return #{return_id}",
        f"{done.practice_code} Q{done.quarter}: {done.state}" + (f": {reason}" if reason else ""),
    )
    return RedirectResponse(f"/schemes/{claim['scheme_id']}/claims?done={return_id}#main", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/schemes/{scheme}/claims", claims, methods=["GET"]),
        Route("/schemes/{scheme}/claims/{return_id:int}", decide, methods=["POST"]),
    ]
