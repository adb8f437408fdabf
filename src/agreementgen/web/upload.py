"""Uploading returns: files checked by what they contain, kept, then ingested in the background.

A POST to ``/upload`` takes up to ``WebConfig.max_upload_files`` files. Each is checked before it
is kept: its bytes must be what its name says (a PDF, a Word ``.docx``, a mail message — told by
:mod:`agreementgen.mailin`, as ingest tells it) and no larger than ``WebConfig.max_file_bytes``.
A file refused is listed with the reason and not kept. The rest are saved under
``WebConfig.uploads / <UTC timestamp>-<id>/`` with names made safe (:func:`safe_name`), and a
thread runs the library's :func:`~agreementgen.ingest.ingest` on them: every file becomes a
return on record, whatever happens to it, as ingest guarantees. The browser is sent to the
upload's page, which shows how many files have been checked and, at the end, every outcome.

An upload (a :class:`Job`) is kept in ``WebApp.jobs`` for the person who made it; the register
keeps the returns themselves, so nothing depends on the job outliving the server process.
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Route

from ..context import parse_document_id
from ..ingest import BATCH, FileOutcome, filename_text, ingest
from ..mailin import OLE_MAGIC, SEPARATOR, mail_kind
from .guard import Rendered, View, page

if TYPE_CHECKING:
    from .app import WebApp

log = logging.getLogger("agreementgen.web")

ACCEPT = ".pdf,.docx,.eml,.msg,.mbox"
NAME_CHARS = 120  # of a saved file's name: long enough for any real one, short enough for every file system
KEPT_FOR = timedelta(days=1)  # a finished upload's page, in memory; its returns stay on record
# The most file parts the form reader will parse: a ceiling against a hostile form. The configured
# limit (``max_upload_files``) is checked after, so the person is told it in words.
FORM_FILES = 10_000
STEPS = 20  # how many times, about, the count of files checked moves during an upload


@dataclass
class Job:
    """One upload: the files kept (in the order ingested), those refused, and what ingest made of each.

    The ingest thread writes; page requests read through :meth:`snapshot`. Both hold ``lock``."""

    id: str
    owner: str  # the user's name: the only one who may see it
    folder: Path
    files: list[str]  # the saved names, in the order ingested
    refused: list[tuple[str, str]]  # (the name as given, why it was not kept)
    done: int = 0  # files checked: every return in them on record
    outcomes: list[FileOutcome] = field(default_factory=list)
    finished: bool = False
    failed: str = ""  # the run stopped (the register could not be reached): why
    ended_at: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "id": self.id,
                "total": len(self.files),
                "done": self.done,
                "finished": self.finished,
                "failed": self.failed,
                "outcomes": list(self.outcomes),
                "refused": list(self.refused),
            }


_jobs_lock = threading.Lock()


# --- what is kept ------------------------------------------------------------------------------


def content_kind(data: bytes) -> str | None:
    """``pdf``, ``docx``, ``eml``/``mbox`` or ``msg`` by what the bytes are, else None."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                return "docx" if "word/document.xml" in package.namelist() else None
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
    if data.startswith(OLE_MAGIC):
        return "msg"
    # The same test ingest uses to take a file for mail: header lines a message has, or an mbox.
    return mail_kind(data)


# What a name's suffix promises, and how a refusal says so.
SUFFIX_KINDS: dict[str, tuple[frozenset[str], str]] = {
    ".pdf": (frozenset({"pdf"}), "a PDF (no %PDF- header in its first 1024 bytes)"),
    ".docx": (frozenset({"docx"}), "a Word document (not a .docx package with word/document.xml)"),
    ".eml": (frozenset({"eml", "mbox"}), "an email (no mail header lines: From:, Date:, Subject: …)"),
    ".mbox": (frozenset({"eml", "mbox"}), "a mailbox of emails (no mail header lines)"),
    ".msg": (frozenset({"msg"}), "an Outlook message (not an OLE compound file)"),
}


def refused_because(name: str, data: bytes, max_bytes: int) -> str | None:
    """Why a file is not kept (its name as given, its bytes read up to one past the limit), or None."""
    if len(data) > max_bytes:
        return f"larger than the {max_bytes // (1024 * 1024)} MB a returned file may be"
    if not data:
        return "the file is empty"
    suffix = PurePath(name.replace("\\", "/")).suffix.lower()
    if suffix not in SUFFIX_KINDS:
        return "only PDF, Word (.docx) and email (.eml, .mbox, .msg) files are taken"
    kinds, promise = SUFFIX_KINDS[suffix]
    if content_kind(data) not in kinds:
        return f"named {suffix}, but it is not {promise}"
    return None


def safe_name(given: str, taken: set[str]) -> str:
    """A name to save an uploaded file under: the last part of what the browser sent (a Windows path
    too), without control or invisible characters, leading dots or spaces, or ingest's separator
    between a message and its attachments; unique in ``taken`` (compared without case), added to it."""
    name = given.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).replace(SEPARATOR.strip(), "-")
    name = name.lstrip(". ").rstrip(". ") or "upload"
    stem, suffix = (name.rsplit(".", 1)[0], "." + name.rsplit(".", 1)[1]) if "." in name else (name, "")
    stem = stem[: NAME_CHARS - len(suffix)] or "upload"
    candidate, number = stem + suffix, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem}-{number}{suffix}"
    taken.add(candidate.casefold())
    return candidate


def _uploads(view: View) -> list[UploadFile]:
    return [f for f in view.form.getlist("files") if isinstance(f, UploadFile) and (f.filename or f.size)]


# --- the ingest thread -------------------------------------------------------------------------


def _run(web: WebApp, job: Job) -> None:
    """Ingest the job's files a few at a time, counting each group as checked once it is on record.

    One ingest of every file would report nothing until its first batch of
    :data:`~agreementgen.ingest.BATCH` returns is recorded: the page would sit at 0 and then jump.
    A run per group keeps ingest's guarantees (each file on record once, in order; a later group
    sees an earlier one's files as on record) and moves the count about twenty times an upload."""
    paths = [job.folder / name for name in job.files]
    size = max(1, min(BATCH, -(-len(paths) // STEPS)))

    def recorded(outcome: FileOutcome) -> None:
        with job.lock:
            job.outcomes.append(outcome)

    try:
        for start in range(0, len(paths), size):
            ingest(paths[start : start + size], web.records, on_file=recorded)
            with job.lock:
                job.done = min(start + size, len(paths))
    except Exception as exc:  # the run stopped (the register went away): said on the page, and logged
        log.error("upload %s: ingest stopped: %s: %s", job.id, type(exc).__name__, exc)
        with job.lock:
            job.failed = f"checking stopped: {exc}"
    with job.lock:
        job.finished, job.ended_at = True, datetime.now(UTC)
        counts = Counter(o.status for o in job.outcomes if o.new)
        again = sum(not o.new for o in job.outcomes)
    detail = (
        f"{len(job.files) + len(job.refused)} files: {counts['accepted']} accepted, "
        f"{counts['flagged']} flagged, {counts['rejected']} rejected"
        + (f", {again} already on record" if again else "")
        + (f", {len(job.refused)} not accepted" if job.refused else "")
        + (f"; {job.failed}" if job.failed else "")
    )
    web.people.record_action(job.owner, "uploaded", job.id, detail)


def _forget_old_jobs(web: WebApp) -> None:
    cutoff = datetime.now(UTC) - KEPT_FOR
    with _jobs_lock:
        for key in [k for k, j in web.jobs.items() if j.ended_at and j.ended_at < cutoff]:
            del web.jobs[key]


# --- the pages ---------------------------------------------------------------------------------


def _form_page(view: View, error: str = "", status: int = 200) -> Rendered:
    context = {"title": "Upload returns", "accept": ACCEPT, "error": error,
               "max_files": view.app.config.max_upload_files,
               "max_file_mb": view.app.config.max_file_bytes // (1024 * 1024),
               "max_upload_mb": view.app.config.max_upload_bytes // (1024 * 1024)}  # fmt: skip
    return "upload.html", context, status


@page("officer")
def upload_form(view: View) -> Rendered:
    return _form_page(view)


@page("officer", max_files=FORM_FILES)
def upload(view: View) -> Rendered:
    web, config = view.app, view.app.config
    given = _uploads(view)
    if not given:
        return _form_page(view, "Choose at least one file to upload.", 400)
    if len(given) > config.max_upload_files:
        return _form_page(
            view,
            f"An upload takes at most {config.max_upload_files} files; this one had {len(given)}. "
            "Upload them in smaller groups.",
            413,
        )
    job_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    folder = config.uploads / job_id
    taken: set[str] = set()
    kept: list[str] = []
    refused: list[tuple[str, str]] = []
    for item in given:
        label = filename_text(item.filename or "(no name)")
        item.file.seek(0)
        data = item.file.read(config.max_file_bytes + 1)
        why = refused_because(item.filename or "", data, config.max_file_bytes)
        if why:
            refused.append((label, why))
            continue
        name = safe_name(item.filename or "", taken)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        kept.append(name)
    job = Job(job_id, view.session.user.name, folder, kept, refused)
    _forget_old_jobs(web)
    with _jobs_lock:
        web.jobs[job_id] = job
    threading.Thread(target=_run, args=(web, job), name=f"upload-{job_id}", daemon=True).start()
    return RedirectResponse(f"/upload/{job_id}", status_code=303)


def _row(job: Job, outcome: FileOutcome) -> dict[str, Any]:
    """One result as the table shows it: the name under the upload's folder, and where it belongs."""
    prefix = filename_text(job.folder) + "/"
    name = outcome.path[len(prefix) :] if outcome.path.startswith(prefix) else outcome.path
    status = outcome.status if outcome.new else f"already on record ({outcome.status})"
    parsed = parse_document_id(outcome.doc_id or "")
    link = (
        f"/schemes/{parsed[0]}/practices/{outcome.practice_code}" if parsed and outcome.practice_code else ""
    )
    return {
        "name": name,
        "status": outcome.status,
        "outcome": status,
        "practice": outcome.practice_code or "",
        "doc_id": outcome.doc_id or "",
        "reasons": outcome.reasons,
        "link": link,
        "return_id": outcome.return_id,
    }


@page("officer")
def progress(view: View) -> Rendered:
    with _jobs_lock:
        job = view.app.jobs.get(view.request.path_params["job"])
    if not isinstance(job, Job) or job.owner != view.session.user.name:
        raise HTTPException(404)  # another person's upload is not there, as far as anyone else knows
    state = job.snapshot()
    counts = Counter(o.status for o in state["outcomes"] if o.new)
    context = {
        "title": "Upload checked" if state["finished"] else "Checking the upload",
        "job": state,
        "rows": [_row(job, o) for o in state["outcomes"]] if state["finished"] else [],
        "counts": counts,
        "again": sum(not o.new for o in state["outcomes"]),
    }
    if view.request.headers.get("HX-Request") == "true":
        return "upload_progress.html", context
    return "upload_job.html", context


def routes() -> list[BaseRoute]:
    return [
        Route("/upload", upload_form, methods=["GET"]),
        Route("/upload", upload, methods=["POST"]),
        Route("/upload/{job}", progress, methods=["GET"]),
    ]
