"""A bulk run: every practice × every document kind × every format, written to disk.

Owns the hot path of the product. Guarantees:

* **Compile once**: each kind's template is compiled once per worker process (and once
  in the parent as a pre-flight check, so a template error — or, for the PDF, anything
  the writer cannot render — stops the run before any practice is rendered). Both
  formats of a document come from one rendering of its Word template.
* **Parallel** over ``jobs`` processes (``jobs=1`` renders in-process); the parent
  only collects small results, writes the journal and the issued register.
* **Isolation**: a practice that fails to render is reported with its reason; the
  others carry on. ``RunReport.failures`` lists them.
* **Atomic, deterministic files**: each file is written to a temp name and renamed;
  the same inputs give byte-identical files. Names come from validated ODS codes.
* **Resume**: every finished file is journalled with an *input key* (sha256 of its
  context, template hash and format). A re-run skips files whose key and bytes
  already match — an interrupted run completes, a changed practice is re-rendered.
* **Manifest**: ``DIR/manifest.json`` lists every file (practice, kind, format,
  document id, scheme id + version, template sha256, output sha256, terms digest),
  sorted, with no timestamps, so it is itself reproducible.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import __version__
from .errors import AgreementgenError, OutputError, TemplateError
from .kinds import DEFAULT_KIND, FORMATS, DocumentKind, get_kind
from .practices import ODS_PRACTICE_CODE, Practice
from .records import IssuedDocument, IssuedFile, Records
from .render.template import Template, check, compile_template
from .scheme import Scheme
from .services import ServiceScheme
from .signups import SignUps
from .wording import pdf_marks_of

AnyScheme = Scheme | ServiceScheme
T = TypeVar("T")
R = TypeVar("R")

MANIFEST = "manifest.json"
JOURNAL = ".agreementgen-journal.jsonl"
REGISTER_BATCH = 500


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    templates_dir: Path
    kinds: tuple[str, ...] = ("section7",)
    formats: tuple[str, ...] = FORMATS
    jobs: int = 1
    db_url: str | None = None
    resume: bool = True
    signups: SignUps | None = None  # service schemes: who signed up to what
    reissue: str | None = None  # the reason to issue changed documents as new revisions


@dataclass(frozen=True)
class FileResult:
    practice: str
    kind: str
    format: str
    path: str  # relative to the output folder, POSIX style
    doc_id: str
    scheme_id: str
    scheme_version: str
    template_sha256: str
    sha256: str
    terms_digest: str
    input_key: str
    reused: bool = False
    revision: int = 1


@dataclass
class PracticeResult:
    code: str
    files: list[FileResult] = field(default_factory=list)
    issued: list[IssuedDocument] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunReport:
    files: list[FileResult]
    failures: list[tuple[str, str]]
    practices: int
    seconds: float
    manifest: Path
    notes: list[str] = field(default_factory=list)  # what the user should know (a format not written)

    @property
    def rendered(self) -> int:
        return sum(not f.reused for f in self.files)

    @property
    def reused(self) -> int:
        return sum(f.reused for f in self.files)


# --- worker side ---------------------------------------------------------------------


@dataclass
class _Worker:
    scheme: AnyScheme
    options: RunOptions
    kinds: list[DocumentKind]
    templates: dict[str, Template]
    done: dict[str, tuple[str, str]]  # relative path -> (input key, sha256)
    issued: dict[str, Issued]  # document id -> its current revision on record


Issued = tuple[int, dict[str, str]]  # (revision, {format: sha256}) as the register has it

_STATE: _Worker | None = None


def _init_worker(
    scheme: AnyScheme, options: RunOptions, done: dict[str, tuple[str, str]], issued: dict[str, Issued]
) -> None:
    global _STATE
    _STATE = _prepare(scheme, options, done, issued)


def collect_less() -> None:
    """Cyclic garbage collection less often, for a process rendering documents in bulk.

    Laying out a document makes tens of thousands of short-lived objects; with Python's default
    thresholds, collecting them (and scanning the layout caches each time) takes a fifth of the
    time a PDF takes. Nothing is kept longer: garbage is collected, only in bigger batches.
    """
    gc.set_threshold(50_000, 20, 1_000)


def _prepare(
    scheme: AnyScheme, options: RunOptions, done: dict[str, tuple[str, str]], issued: dict[str, Issued]
) -> _Worker:
    collect_less()
    kinds = [get_kind(k) for k in options.kinds]
    templates = {kind.name: compile_template(kind.template_path(options.templates_dir)) for kind in kinds}
    return _Worker(scheme, options, kinds, templates, done, issued)


def _context_digest(context: dict[str, Any]) -> str:
    blob = json.dumps(context, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _input_key(context_digest: str, template_sha: str, fmt: str) -> str:
    """What a file's bytes depend on: the release, the format, the template and the context."""
    return hashlib.sha256(f"{__version__}|{fmt}|{template_sha}|{context_digest}".encode()).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write: {exc.strerror}", path=path) from exc


def _sha_of_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def revision_path(path: str, revision: int) -> str:
    """Where a superseded revision's file is kept: ``D81001/revisions/section7.r1.pdf``."""
    folder, _, name = path.rpartition("/")
    stem, _, fmt = name.rpartition(".")
    return f"{folder}/revisions/{stem}.r{revision}.{fmt}"


class _Refused(AgreementgenError):
    """A document that differs from its revision on record, issued without ``--reissue``."""


@dataclass
class _Planned:
    """One document of a practice, rendered and judged against the register, not yet written."""

    context: dict[str, Any]
    formats: list[str]
    keys: dict[str, str]
    shas: dict[str, str]
    data: dict[str, bytes]  # the formats rendered (the others are reused as they are)
    wording: str
    revision: int
    moved: dict[str, str]  # format -> where the superseded revision's file goes


def _plan(state: _Worker, practice: Practice, kind: DocumentKind, context: dict[str, Any]) -> _Planned:
    """Render one document and decide its revision: the one on record if the bytes are the same;
    the next, with ``--reissue``, if they differ; refused otherwise (nothing of the practice is written)."""
    document = context["document"]
    template = state.templates[kind.name]
    current = state.issued.get(document["id"])
    formats = [f for f in state.options.formats if f in template.formats]  # a PDF template: PDF only
    paths = {fmt: f"{practice.code}/{document['kind']}.{fmt}" for fmt in formats}
    revision = current[0] if current else 1
    for attempt in (1, 2):
        document["revision"] = revision
        digest = _context_digest(context)
        keys = {fmt: _input_key(digest, template.sha256, fmt) for fmt in formats}
        shas: dict[str, str] = {}
        for fmt in formats:
            previous = state.done.get(paths[fmt])
            if state.options.resume and previous and previous[0] == keys[fmt]:
                sha = _sha_of_file(state.options.out_dir / paths[fmt])
                if sha == previous[1]:
                    shas[fmt] = sha
        todo = [f for f in formats if f not in shas]
        wanted = current is None or attempt == 2
        data, wording = template.issue(context, todo) if todo or wanted else ({}, None)
        if wording is not None and not wording.pages and "pdf" in shas and "pdf" not in data:
            # The PDF was reused from an earlier run (a register started afresh): its pages as written.
            wording.pages = pdf_marks_of((state.options.out_dir / paths["pdf"]).read_bytes())
        shas.update({fmt: hashlib.sha256(data[fmt]).hexdigest() for fmt in data})
        changed = [f for f in formats if current and f in current[1] and current[1][f] != shas[f]]
        if not changed or attempt == 2:
            break
        if state.options.reissue is None:
            raise _Refused(
                f"{document['id']}: the {' and '.join(f.upper() for f in changed)} differs from revision "
                f"{revision} on record (its terms, wording or template changed); nothing was written for "
                f"{practice.code}. To issue it as revision {revision + 1}, run again with --reissue REASON"
            )
        revision += 1
    moved = {
        fmt: revision_path(paths[fmt], revision - 1) for fmt in formats if current and revision > current[0]
    }
    return _Planned(context, formats, keys, shas, data, wording.dumps() if wording else "", revision, moved)


def _render_one(state: _Worker, practice: Practice) -> PracticeResult:
    result = PracticeResult(code=practice.code)
    if not ODS_PRACTICE_CODE.match(practice.code):  # file names come only from valid codes
        result.error = f"'{practice.code}' is not a valid ODS practice code; nothing written"
        return result
    folder = state.options.out_dir / practice.code
    try:
        folder.mkdir(exist_ok=True)
        # Every document of the practice is rendered and judged before any is written, so a
        # refused one leaves the practice's files as they were.
        planned = [
            (k, _plan(state, practice, k, c))
            for k in state.kinds
            if k.contexts is not None
            for c in k.contexts(state.scheme, practice, state.options.signups)
        ]
        for kind, plan in planned:
            context, document = plan.context, plan.context["document"]
            template = state.templates[kind.name]
            files: list[IssuedFile] = []
            superseded: list[IssuedFile] = []
            for fmt in plan.formats:
                path = f"{practice.code}/{document['kind']}.{fmt}"
                if fmt in plan.moved and (state.options.out_dir / path).exists():
                    keep = state.options.out_dir / plan.moved[fmt]
                    keep.parent.mkdir(exist_ok=True)
                    os.replace(state.options.out_dir / path, keep)  # the superseded revision's file stays
                    sha = state.issued[document["id"]][1].get(fmt, "")
                    superseded.append(IssuedFile(fmt, plan.moved[fmt], sha, template.sha256))
                if fmt in plan.data:
                    write_atomic(state.options.out_dir / path, plan.data[fmt])
                result.files.append(
                    FileResult(
                        practice=practice.code,
                        kind=document["kind"],
                        format=fmt,
                        path=path,
                        doc_id=document["id"],
                        scheme_id=state.scheme.id,
                        scheme_version=state.scheme.version,
                        template_sha256=template.sha256,
                        sha256=plan.shas[fmt],
                        terms_digest=document["terms_digest"],
                        input_key=plan.keys[fmt],
                        reused=fmt not in plan.data,
                        revision=plan.revision,
                    )
                )
                files.append(IssuedFile(fmt, path, plan.shas[fmt], template.sha256))
            result.issued.append(
                IssuedDocument(
                    doc_id=document["id"],
                    scheme_id=state.scheme.id,
                    scheme_version=state.scheme.version,
                    practice_code=practice.code,
                    practice_name=practice.name,
                    kind=document["kind"],
                    terms=context["terms"],
                    terms_digest=document["terms_digest"],
                    practice=context["practice"],
                    files=tuple(files),
                    form_tags=tuple(f["tag"] for f in context["form"]["fields"] if f["party"] == "practice"),
                    revision=plan.revision,
                    wording=plan.wording,
                    reason=state.options.reissue or "" if plan.moved else "",
                    superseded_files=tuple(superseded),
                )
            )
    except AgreementgenError as exc:
        result.error = str(exc)
    except Exception as exc:  # one practice's failure must not stop the run
        result.error = f"{exc.__class__.__name__}: {exc}"
    if result.error:
        result.files, result.issued = [], []
    return result


def _render_in_worker(practice: Practice) -> PracticeResult:
    assert _STATE is not None, "worker not initialised"
    return _render_one(_STATE, practice)


# --- parent side -----------------------------------------------------------------------


def preflight(scheme: AnyScheme, practices: list[Practice], options: RunOptions) -> list[str]:
    """Everything that would fail every practice, checked before any is rendered; returns notes."""
    notes: list[str] = []
    model = "services" if isinstance(scheme, ServiceScheme) else "per_capita"
    for kind_name in options.kinds:
        kind = get_kind(kind_name)
        if not kind.issued:
            raise AgreementgenError(
                f"{kind_name} documents are not issued: `agreementgen statements` writes them", field="--docs"
            )
        if not kind.for_scheme(model):
            raise AgreementgenError(
                f"a {kind_name} document is not made from a {model.replace('_', '-')} scheme; "
                f"use --docs {DEFAULT_KIND[model]}",
                field="--docs",
            )
    for fmt in options.formats:
        if fmt not in FORMATS:
            raise AgreementgenError(f"unknown format '{fmt}'; known: {', '.join(FORMATS)}", field="--format")
    try:
        options.out_dir.mkdir(parents=True, exist_ok=True)
        probe = options.out_dir / f".write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(
            f"the output folder is not writable ({exc.strerror}); choose another with --out",
            path=options.out_dir,
        ) from exc
    for kind_name in options.kinds:
        kind = get_kind(kind_name)
        path = kind.template_path(options.templates_dir)
        template = compile_template(path)  # syntax errors, with their line
        skipped = [f for f in options.formats if f not in template.formats]
        if skipped:
            notes.append(f"{path.name} is a fillable PDF template: no {', '.join(skipped)} is written for it")
        contexts = (
            c
            for p in practices
            if p.list_size is not None and kind.contexts is not None
            for c in kind.contexts(scheme, p, options.signups)
        )
        example = next(contexts, None)
        if example is not None:
            check_example(path, example, pdf="pdf" in options.formats)
    return notes


def check_example(path: Path, context: dict[str, Any], *, pdf: bool) -> None:
    """Refuse a template that cannot render ``context``, or whose PDF would leave something out."""
    report = check(path, context)
    if report.missing:
        raise TemplateError(
            "the template uses variables the context does not provide: "
            + ", ".join(m + (f" ({report.where[m]})" if m in report.where else "") for m in report.missing)
            + " (see `agreementgen context` for what is available)",
            path=path,
        )
    if pdf and report.unsupported:
        shown = "; ".join(str(u) for u in report.unsupported[:5])
        more = f" (and {len(report.unsupported) - 5} more)" if len(report.unsupported) > 5 else ""
        raise TemplateError(
            f"the PDF writer cannot render {len(report.unsupported)} thing(s) in the template, so no PDF "
            f"would say what the Word document says: {shown}{more}. Run `agreementgen check-template` "
            "for the list, or generate --format docx",
            path=path,
        )


def _load_done(out_dir: Path) -> dict[str, tuple[str, str]]:
    """What earlier runs finished: the manifest of the last complete run plus the journal."""
    done: dict[str, tuple[str, str]] = {}
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        try:
            for entry in json.loads(manifest.read_text(encoding="utf-8")).get("files", []):
                done[entry["path"]] = (entry["input_key"], entry["sha256"])
        except (ValueError, KeyError, TypeError):
            pass  # an unreadable manifest only costs a full re-render
    journal = out_dir / JOURNAL
    if journal.is_file():
        for line in journal.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                done[entry["path"]] = (entry["input_key"], entry["sha256"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from an interrupted run
    return done


def _clean_temp_files(out_dir: Path) -> None:
    for entry in os.scandir(out_dir):
        if entry.is_dir(follow_symlinks=False) and ODS_PRACTICE_CODE.match(entry.name):
            for inner in os.scandir(entry.path):
                if re.match(r"^\..+\.\d+\.tmp$", inner.name):
                    os.unlink(inner.path)


def _results(
    scheme: AnyScheme,
    practices: list[Practice],
    options: RunOptions,
    done: dict[str, tuple[str, str]],
    issued: dict[str, Issued],
) -> Iterator[PracticeResult]:
    if options.jobs <= 1 or len(practices) < 2:
        state = _prepare(scheme, options, done, issued)
        for practice in practices:
            yield _render_one(state, practice)
        return
    args = (scheme, options, done, issued)
    yield from _pool_imap(options.jobs, _init_worker, args, _render_in_worker, practices)


def _pool_imap(
    jobs: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    func: Callable[[T], R],
    items: list[T],
) -> Iterator[R]:
    """``func`` over ``items`` in ``jobs`` worker processes (fork where there is one), in any order,
    handed out one at a time.

    An item (a practice's documents, a statement) takes tens of milliseconds and travels as a
    few KB (about 0.05 ms through the pool's pipes), so chunks would save nothing; they cost
    the end of a run: with chunks of 64 practices (~2.5 s of work) one worker idled while the
    other finished its last chunk, and results (the progress shown) came in bursts.
    """
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(jobs, initializer=initializer, initargs=initargs) as pool:
        yield from pool.imap_unordered(func, items, chunksize=1)


def run(
    scheme: AnyScheme,
    practices: Iterable[Practice],
    options: RunOptions,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    """Render every practice's documents; see the module docstring for the guarantees."""
    todo = sorted(practices, key=lambda p: p.code)
    start = time.perf_counter()
    notes = preflight(scheme, todo, options)
    _clean_temp_files(options.out_dir)
    done = _load_done(options.out_dir) if options.resume else {}
    records = Records.open(options.db_url)
    model = "services" if isinstance(scheme, ServiceScheme) else "per_capita"
    rules = scheme.returns.model_dump()
    if isinstance(scheme, ServiceScheme):  # the web app's claims page says if the year end needs approval
        rules["claim_approval"] = scheme.claims.approval
    records.set_scheme_rules(
        scheme.id, scheme.version, scheme.sign_up_deadline, rules,
        title=scheme.title, model=model, default_kind=DEFAULT_KIND[model],
        packs_dir=str(options.out_dir.resolve()),
    )  # fmt: skip
    files: list[FileResult] = []
    failures: list[tuple[str, str]] = []
    pending: list[IssuedDocument] = []
    journal_path = options.out_dir / JOURNAL
    with open(journal_path, "a", encoding="utf-8") as journal:
        issued = records.current_files(scheme.id)
        for count, result in enumerate(_results(scheme, todo, options, done, issued), start=1):
            if result.error:
                failures.append((result.code, result.error))
            else:
                files.extend(result.files)
                pending.extend(result.issued)
                for f in result.files:
                    journal.write(
                        json.dumps({"path": f.path, "input_key": f.input_key, "sha256": f.sha256}) + "\n"
                    )
                journal.flush()
            if len(pending) >= REGISTER_BATCH:
                records.register_issued(pending)
                pending = []
            if on_progress:
                on_progress(count, len(todo))
    if pending:
        records.register_issued(pending)
    manifest = write_manifest(options.out_dir, scheme, files, failures)
    journal_path.unlink(missing_ok=True)  # the manifest now records everything the journal did
    return RunReport(
        files=sorted(files, key=lambda f: f.path),
        failures=sorted(failures),
        practices=len(todo),
        seconds=time.perf_counter() - start,
        manifest=manifest,
        notes=notes,
    )


def write_manifest(
    out_dir: Path, scheme: AnyScheme, files: list[FileResult], failures: list[tuple[str, str]]
) -> Path:
    entries = []
    for f in sorted(files, key=lambda f: f.path):
        entry = asdict(f)
        del entry["reused"]
        entries.append(entry)
    manifest = {
        "generator": f"agreementgen {__version__}",
        "scheme": {"id": scheme.id, "version": scheme.version, "title": scheme.title},
        "files": entries,
        "failures": [{"practice": code, "reason": reason} for code, reason in sorted(failures)],
    }
    path = out_dir / MANIFEST
    write_atomic(path, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


# --- year-end statements ------------------------------------------------------------------------
# Statements are not issued documents (no register, journal or manifest): each run writes them
# afresh from the records. They share the bulk run's pool so a national run takes half the time.

_STATEMENT_TEMPLATE: Template | None = None
_STATEMENT_FORMATS: tuple[str, ...] = ()


def _init_statement_worker(template: Path, formats: tuple[str, ...]) -> None:
    global _STATEMENT_TEMPLATE, _STATEMENT_FORMATS
    collect_less()
    _STATEMENT_TEMPLATE = compile_template(template)
    _STATEMENT_FORMATS = tuple(f for f in formats if f in _STATEMENT_TEMPLATE.formats)


def _write_statement(job: tuple[Path, dict[str, Any]]) -> tuple[str, str, dict[str, str]]:
    """Write one practice's statement: its folder's name (the practice code), why it failed ("" when
    written) and each format's file (the pool returns them in any order)."""
    assert _STATEMENT_TEMPLATE is not None, "worker not initialised"
    folder, context = job
    written: dict[str, str] = {}
    try:
        folder.mkdir(exist_ok=True)
        for fmt, data in _STATEMENT_TEMPLATE.render(context, _STATEMENT_FORMATS).items():
            write_atomic(folder / f"statement.{fmt}", data)
            written[fmt] = str(folder / f"statement.{fmt}")
    except (OSError, AgreementgenError) as exc:
        return folder.name, f"{folder}: {exc}", written
    return folder.name, "", written


def write_statements(
    contexts: list[tuple[str, dict[str, Any]]],
    out_dir: Path,
    *,
    template: Path,
    formats: tuple[str, ...],
    jobs: int = 1,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, dict[str, Path]]:
    """``out_dir/<code>/statement.<format>`` from ``template`` for each (code, context); the files
    written, {code: {format: path}} (a format the template cannot make is not among them)."""
    work = [(out_dir / code, context) for code, context in contexts]
    failures: list[str] = []
    files: dict[str, dict[str, Path]] = {}

    def collect(results: Iterable[tuple[str, str, dict[str, str]]]) -> None:
        for done, (code, failure, written) in enumerate(results, start=1):
            if failure:
                failures.append(failure)
            files[code] = {fmt: Path(path) for fmt, path in written.items()}
            if on_progress:
                on_progress(done)

    if jobs <= 1 or len(work) < 2:
        _init_statement_worker(template, formats)
        collect(map(_write_statement, work))
    else:
        collect(_pool_imap(jobs, _init_statement_worker, (template, formats), _write_statement, work))
    if failures:
        raise OutputError(f"{len(failures):,} statement(s) not written: " + "; ".join(failures[:5]))
    return dict(sorted(files.items()))
