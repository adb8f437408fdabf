"""The reading pages: the schemes, a scheme's board and chase list, a practice, and downloads.

Downloads never take a path from the request. A document's file is found by its id, revision
and format in the register, and served only if it lies under one of the app's folders
(``WebConfig.roots``) and its bytes still have the sha256 the register holds: a file changed
on disk since it was issued is refused, not served as if it were what was sent.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from ..records import IssuedDocument, IssuedFile, Records, SchemeInfo
from ..status import CHASE_COLUMNS, BoardRow, scheme_status
from ..tables import write_table
from .guard import Rendered, View, page

STATES = ("accepted", "flagged", "rejected", "not returned")
SORTS: dict[str, Any] = {
    "code": lambda r: r.practice_code,
    "name": lambda r: (r.practice_name.casefold(), r.practice_code),
    "state": lambda r: (STATES.index(r.state) if r.state in STATES else 9, r.practice_code),
    "returned": lambda r: (r.received_at, r.practice_code),
    "reminders": lambda r: (r.reminders, r.practice_code),
}
PAGE_SIZES = (100, 500, 0)  # 0: every row
FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
TABLE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_WORDING = re.compile(r"^wording changed: (?P<clause>.*?): '(?P<issued>.*)' → '(?P<returned>.*)'$")


def scheme_or_404(records: Records, scheme_id: str) -> SchemeInfo:
    for info in records.schemes(scheme_id):
        return info
    raise HTTPException(404)


@page()
def schemes(view: View) -> Rendered:
    records = view.app.records
    rows = []
    for info in records.schemes():
        status = scheme_status(info, records, kind=info.default_kind or None)
        rows.append({"info": info, "status": status})
    return "schemes.html", {"title": "Schemes", "rows": rows, "today": date.today()}


def _kind(view: View, info: SchemeInfo) -> str:
    kind = view.request.query_params.get("kind") or info.default_kind
    return kind if re.fullmatch(r"[a-z0-9_]{1,32}", kind or "") else info.default_kind


def _board(view: View, info: SchemeInfo) -> tuple[list[BoardRow], dict[str, Any]]:
    params = view.request.query_params
    q = params.get("q", "").strip()[:100]
    state = params.get("state", "")
    sort = params.get("sort", "code")
    descending = params.get("dir") == "desc"
    rows = scheme_status(info, view.app.records, kind=_kind(view, info) or None).rows
    if q:
        needle = q.casefold()
        rows = [r for r in rows if needle in f"{r.practice_code} {r.practice_name}".casefold()]
    if state in STATES:
        rows = [r for r in rows if r.state == state]
    rows.sort(key=SORTS.get(sort, SORTS["code"]), reverse=descending)
    chosen = {"q": q, "state": state if state in STATES else "", "sort": sort if sort in SORTS else "code",
              "dir": "desc" if descending else "asc", "kind": _kind(view, info)}  # fmt: skip
    return rows, chosen


@page()
def board(view: View) -> Rendered:
    info = scheme_or_404(view.app.records, view.request.path_params["scheme"])
    rows, chosen = _board(view, info)
    size = view.request.query_params.get("size", "100")
    per_page = int(size) if size.isdigit() and int(size) in PAGE_SIZES else 100
    number = view.request.query_params.get("page", "1")
    pages = max(1, -(-len(rows) // per_page)) if per_page else 1
    current = min(max(int(number) if number.isdigit() else 1, 1), pages)
    shown = rows[(current - 1) * per_page : current * per_page] if per_page else rows
    # Plain tuples the template unpacks: 6,000 rows rendered through attribute lookups took 60% longer.
    cells = [(r.practice_code, r.practice_name, r.kind, r.state, r.state.replace(" ", "-"),
              r.filename.replace("\\", "/").rsplit("/", 1)[-1], "; ".join(r.reasons), r.reminders,
              r.last_reminded) for r in shown]  # fmt: skip
    counts = {s: 0 for s in STATES}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    context = {
        "title": f"{info.title}: board",
        "info": info,
        "rows": cells,
        "total": len(rows),
        "chosen": chosen,
        "states": STATES,
        "sorts": tuple(SORTS),
        "counts": counts,
        "page": current,
        "pages": pages,
        "size": per_page,
        "sizes": PAGE_SIZES,
    }
    if view.request.headers.get("HX-Request") == "true":
        return "board_table.html", context
    return "board.html", context


@page()
def chase(view: View) -> Response:
    info = scheme_or_404(view.app.records, view.request.path_params["scheme"])
    fmt = view.request.path_params["fmt"]
    if fmt not in TABLE_TYPES:
        raise HTTPException(404)
    status = scheme_status(info, view.app.records, kind=_kind(view, info) or None)
    rows = [[row[c] for c in CHASE_COLUMNS] for row in status.chase]
    name = f"{info.id}-chase.{fmt}"
    view.app.people.record_action(
        view.session.user.name, "downloaded", info.id, f"chase list {fmt}, {len(rows)} rows"
    )
    return table_response(name, list(CHASE_COLUMNS), rows, "chase")


def table_response(name: str, header: list[str], rows: list[list[Any]], sheet: str) -> Response:
    """A CSV or XLSX written by the library's one table writer, sent as a download."""
    fmt = name.rsplit(".", 1)[-1]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        write_table(path, header, rows, sheet)
        data = path.read_bytes()
    return Response(
        data, media_type=TABLE_TYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _changes(reasons: list[str]) -> tuple[list[str], list[dict[str, str]]]:
    """A return's reasons, with each wording change split out as clause / issued / returned."""
    plain, changes = [], []
    for reason in reasons:
        found = _WORDING.match(reason)
        if found:
            changes.append(found.groupdict())
        else:
            plain.append(reason)
    return plain, changes


@page()
def practice(view: View) -> Rendered:
    records: Records = view.app.records
    info = scheme_or_404(records, view.request.path_params["scheme"])
    code = view.request.path_params["code"]
    documents = records.documents_of_practice(info.id, code)
    if not documents:
        raise HTTPException(404)
    by_doc: dict[str, list[IssuedDocument]] = {}
    for doc in documents:
        by_doc.setdefault(doc.doc_id, []).append(doc)
    returns = records.returns_of(by_doc)
    for row in returns:
        row["plain_reasons"], row["changes"] = _changes(row["reasons"])
    timeline = sorted(
        (dict(e, doc_id=doc_id) for doc_id in by_doc for e in records.history(doc_id)), key=lambda e: e["at"]
    )
    messages = records.messages_for(info.id, practice_code=code)
    name = documents[-1].practice_name
    context = {
        "title": f"{name} ({code})",
        "info": info,
        "code": code,
        "name": name,
        "documents": by_doc,
        "returns": returns,
        "timeline": timeline,
        "messages": messages,
    }
    return "practice.html", context


def _issued_file(records: Records, doc_id: str, revision: int, fmt: str) -> IssuedFile:
    for doc in records.revisions_of(doc_id):
        if doc.revision == revision:
            for f in (*doc.files, *doc.superseded_files):
                if f.format == fmt:
                    return f
    raise HTTPException(404)


def servable(folders: list[Path], recorded: str, sha256: str | None) -> Path:
    """The file a register path names, if it is under one of the folders the app serves and its
    bytes still have the sha256 on record (where one is: statements keep none). A relative path (as
    ``generate`` records them) is looked for in each folder; an absolute one must lie under one."""
    given = Path(recorded)
    candidates = [given] if given.is_absolute() else [folder / given for folder in folders]
    inside = [
        c.resolve() for c in candidates if any(c.resolve().is_relative_to(f.resolve()) for f in folders)
    ]
    if not inside:
        raise HTTPException(403, "This file is outside the folders the app serves.")
    found = [path for path in inside if path.is_file()]
    if not found:
        raise HTTPException(404, "The file is not where it was written.")
    for path in found:
        if sha256 is None or hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
            return path
    raise HTTPException(409, "This file has changed since it was issued; it is not served.")


def served_folders(view: View, *recorded: str) -> list[Path]:
    """The folders the register says were written to, then those the app was told to serve."""
    return [Path(f) for f in recorded if f] + list(view.app.config.roots)


@page()
def download(view: View) -> Response:
    params = view.request.path_params
    fmt, revision = params["fmt"], params["revision"]
    if fmt not in FORMATS:
        raise HTTPException(404)
    found = _issued_file(view.app.records, params["doc_id"], revision, fmt)
    scheme_id = params["doc_id"].split(":", 1)[0]  # a document id begins with its scheme's
    packs = [i.packs_dir for i in view.app.records.schemes(scheme_id)]
    path = servable(served_folders(view, *packs), found.path, found.sha256)
    view.app.people.record_action(
        view.session.user.name, "downloaded", params["doc_id"], f"revision {revision} {fmt}"
    )
    name = f"{params['doc_id'].replace(':', '_')}.r{revision}.{fmt}"
    return FileResponse(path, media_type=FORMATS[fmt], filename=name)


def routes() -> list[BaseRoute]:
    return [
        Route("/", schemes, methods=["GET"]),
        Route("/schemes/{scheme}", board, methods=["GET"]),
        Route("/schemes/{scheme}/chase.{fmt}", chase, methods=["GET"]),
        Route("/schemes/{scheme}/practices/{code}", practice, methods=["GET"]),
        Route("/documents/{doc_id}/r{revision:int}.{fmt}", download, methods=["GET"]),
    ]
