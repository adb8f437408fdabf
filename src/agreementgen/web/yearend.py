"""The year end: each ``statements`` run of a scheme, its statements and finance's schedule to download.

Runs are what ``agreementgen statements`` recorded (:meth:`~agreementgen.records.Records.year_end_runs`):
the page lists them, newest first, and for the chosen one the schedule (as CSV or XLSX, written
from the amounts kept as exact text) and each practice's statement. A statement is served only
from the folder that run wrote to (or a folder the app was told to serve), found by the
practice's code and the format, never by a path from the browser.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from ..records import SchemeInfo
from .guard import Rendered, View, page
from .pages import FORMATS, TABLE_TYPES, scheme_or_404, servable, served_folders, table_response

AMOUNTS = ("entitled", "earned", "adjustment", "paid", "to_pay", "to_recover")


def _run(
    view: View, scheme_id: str, run_id: int | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    runs = view.app.records.year_end_runs(scheme_id)
    if run_id is None:
        return runs, runs[0] if runs else None
    chosen = next((r for r in runs if r["id"] == run_id), None)
    if chosen is None:
        raise HTTPException(404)
    return runs, chosen


def _amount(text: Any) -> Any:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return text


@page()
def year_end(view: View) -> Rendered:
    info = scheme_or_404(view.app.records, view.request.path_params["scheme"])
    asked = view.request.query_params.get("run", "")
    runs, chosen = _run(view, info.id, int(asked) if asked.isdigit() else None)
    rows: list[dict[str, Any]] = []
    total: dict[str, Any] | None = None
    if chosen:
        header = chosen["schedule"]["header"]
        for cells in chosen["schedule"]["rows"]:
            row = dict(zip(header, cells, strict=False))
            if row.get("practice_code") == "TOTAL":
                total = row
                continue
            row["files"] = chosen["files"].get(row.get("practice_code", ""), {})
            rows.append(row)
    context = {
        "title": f"{info.title}: year end",
        "info": info,
        "runs": runs,
        "run": chosen,
        "rows": rows,
        "total": total,
        "amounts": AMOUNTS,
    }
    return "yearend.html", context


def _download(view: View, formats: dict[str, str]) -> tuple[SchemeInfo, dict[str, Any], dict[str, Any]]:
    """The scheme, the run and the path's parameters of a download in one of ``formats`` (else 404)."""
    params = view.request.path_params
    info = scheme_or_404(view.app.records, params["scheme"])
    if params["fmt"] not in formats:
        raise HTTPException(404)
    _, run = _run(view, info.id, params["run"])
    assert run is not None  # _run gives a 404 for a run not on record
    return info, run, params


@page()
def schedule(view: View) -> Response:
    info, run, params = _download(view, TABLE_TYPES)
    header = list(run["schedule"]["header"])
    rows = [
        [_amount(c) if h in AMOUNTS else c for h, c in zip(header, cells, strict=False)]
        for cells in run["schedule"]["rows"]
    ]
    view.app.people.record_action(
        view.session.user.name,
        "downloaded",
        info.id,
        f"payment schedule of year-end run #{run['id']} ({params['fmt']})",
    )
    return table_response(
        f"{info.id}-payment-schedule-run{run['id']}.{params['fmt']}", header, rows, "Schedule"
    )


@page()
def statement(view: View) -> Response:
    info, run, params = _download(view, FORMATS)
    recorded = run["files"].get(params["code"], {}).get(params["fmt"])
    if not recorded:
        raise HTTPException(404)
    path = servable(served_folders(view, run["out_dir"]), recorded, None)
    view.app.people.record_action(
        view.session.user.name,
        "downloaded",
        f"{info.id}:{params['code']}",
        f"statement of year-end run #{run['id']} ({params['fmt']})",
    )
    return FileResponse(
        path,
        media_type=FORMATS[params["fmt"]],
        filename=f"{info.id}-{params['code']}-statement.{params['fmt']}",
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/schemes/{scheme}/year-end", year_end, methods=["GET"]),
        Route("/schemes/{scheme}/year-end/{run:int}/schedule.{fmt}", schedule, methods=["GET"]),
        Route("/schemes/{scheme}/year-end/{run:int}/{code}.{fmt}", statement, methods=["GET"]),
    ]
