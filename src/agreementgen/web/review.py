"""The review queue: every flagged return, and an approver's decision on each.

Officers and approvers see the queue; only an approver decides. A decision is the same one the
``agreementgen review`` command makes (:meth:`~agreementgen.records.Records.review`): kept with
its reason and the approver's name, and an accepted return becomes the practice's sign-up.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Route

from ..errors import RecordsError
from ..records import Records
from .guard import Rendered, View, page
from .pages import _changes

DONE = {"accept": "accepted", "reject": "rejected"}


def _queue(records: Records) -> list[dict[str, Any]]:
    """The flagged returns, oldest first, each with its practice's name and its wording changes."""
    rows = records.flagged_returns()
    for row in rows:
        row["plain_reasons"], row["changes"] = _changes(row["reasons"])
    return rows


def _page(
    view: View, *, error: str = "", failed: int | None = None, reason: str = "", status: int = 200
) -> Rendered:
    records = view.app.records
    notice = ""
    done = view.request.query_params.get("done", "")
    if done.isdigit() and not error:
        # Said from the record, not from the address: a link cannot make the page claim a decision.
        events = records.reviews_of(int(done))
        if events:
            last = events[-1]
            notice = f"Return #{int(done)} {DONE.get(last['decision'], last['decision'])} by {last['by']}."
    context = {
        "title": "Review queue",
        "rows": _queue(records),
        "notice": notice,
        "error": error,
        "failed": failed,
        "reason": reason,
        "decides": view.session.user.may("approver"),
    }
    return "review.html", context, status


@page("officer")
def queue(view: View) -> Rendered:
    return _page(view)


@page("approver")
def decide(view: View) -> Rendered:
    return_id = int(view.request.path_params["return_id"])
    decision = str(view.form.get("decision") or "")
    reason = str(view.form.get("reason") or "").strip()
    name = view.session.user.name
    if not reason:
        error = f"Return #{return_id}: give a reason; it is kept with the decision."
        return _page(view, error=error, failed=return_id, status=400)
    try:
        done = view.app.records.review(str(return_id), decision, reason, by=name)
    except RecordsError as exc:
        message = str(exc)  # it names the return: "return #12 (…) is accepted, not flagged: …"
        error = message[:1].upper() + message[1:] + "."
        return _page(view, error=error, failed=return_id, reason=reason, status=409)
    detail = f"{done.status}: {reason}" + (
        f" (in place of return #{done.superseded})" if done.superseded else ""
    )
    view.app.people.record_action(name, "reviewed", f"return #{done.return_id}", detail)
    return RedirectResponse(f"/review?done={done.return_id}#main", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/review", queue, methods=["GET"]),
        Route("/review/{return_id:int}", decide, methods=["POST"]),
    ]
