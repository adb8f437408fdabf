"""The ``agreementgen`` command: parse options, call the library, print with rich.

Each command is a thin shell over one library call. Every ``AgreementgenError``
becomes a message naming file/row/field and exit code 1 in one place
(``_fail``); typer's own usage errors exit 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__, bulk
from .bulk import RunOptions, RunReport
from .context import build_context, example_practice
from .documents import FORMATS, KINDS, get_kind, parse_list
from .entitlements import EntitlementTable, entitlement_table
from .errors import AgreementgenError, ProblemsFound
from .practices import PracticeData
from .records import DEFAULT_URL, URL_ENV, default_url
from .render.docx import check_template
from .resources import bundled, sample_practice_files, sample_scheme
from .validation import Inputs, load_checked_scheme, load_inputs

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Issue local primary-care schemes to GP practices: validate, calculate, generate, track.",
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])

SchemeOpt = Annotated[Path, typer.Option("--scheme", "-s", help="Scheme spec (YAML).")]
PracticesOpt = Annotated[
    list[Path],
    typer.Option(
        "--practices",
        "-p",
        help="Practice data: epraccur, a CSV/XLSX practice list, or an NHS Digital list-size "
        "file (plain or zipped). Repeat for several files.",
    ),
]
CommissionerOpt = Annotated[
    str | None,
    typer.Option("--commissioner", "-c", help="Only practices of this commissioner code, e.g. 06H."),
]
InactiveOpt = Annotated[
    bool, typer.Option("--include-inactive", help="Keep closed, dormant and proposed practices.")
]


def _fail(exc: AgreementgenError) -> None:
    if isinstance(exc, ProblemsFound):
        err.print(f"[bold red]error:[/] {escape(exc.message)}")
        for problem in exc.problems:
            err.print(f"  {escape(str(problem))}")
    else:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(1)


def handles_errors(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AgreementgenError as exc:
            _fail(exc)

    return wrapper  # type: ignore[return-value]


def _print_data_report(data: PracticeData) -> None:
    for f in data.files:
        out.print(f"read {escape(f.path)}: {escape(f.format)}, {f.rows:,} rows, {f.encoding}")
    if data.excluded:
        out.print(f"excluded {sum(data.excluded.values()):,} rows:")
        for reason, count in data.excluded.most_common():
            out.print(f"  {count:>7,}  {escape(reason)}")
    for note in data.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    patients = sum(p.list_size or 0 for p in data.practices)
    out.print(f"{len(data.practices):,} practices ready, {patients:,} registered patients")


def _print_problems(data: PracticeData) -> None:
    if data.problems:
        err.print(f"[bold red]{len(data.problems):,} problem(s) in the practice data:[/]")
        for p in data.problems:
            err.print(f"  {escape(str(p))}")


def _data_json(data: PracticeData) -> dict[str, Any]:
    return {
        "files": [f.__dict__ for f in data.files],
        "excluded": dict(data.excluded.most_common()),
        "notes": data.notes,
        "practices": len(data.practices),
        "patients": sum(p.list_size or 0 for p in data.practices),
        "problems": [p.as_dict() for p in data.problems],
    }


@app.command()
@handles_errors
def validate(
    scheme: SchemeOpt,
    practices: PracticesOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    commissioner: CommissionerOpt = None,
    include_inactive: InactiveOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check a scheme spec and practice data; print every problem; exit 1 on any."""
    inputs = load_inputs(scheme, practices, commissioner=commissioner, include_inactive=include_inactive)
    if as_json:
        print(json.dumps({"scheme": {"id": inputs.scheme.id, "version": inputs.scheme.version, "ok": True},
                          **_data_json(inputs.data)}, indent=2))  # fmt: skip
    else:
        out.print(f"scheme {escape(inputs.scheme.id)} v{inputs.scheme.version}: OK ({escape(str(scheme))})")
        if practices:
            _print_data_report(inputs.data)
        _print_problems(inputs.data)
    if inputs.data.problems:
        raise typer.Exit(1)


def _entitlement_console(table: EntitlementTable) -> Table:
    scheme = table.scheme
    view = Table(title=f"{scheme.title} — entitlements", show_footer=True)
    view.add_column("code", footer="TOTAL")
    view.add_column("practice", footer=f"{len(table.rows)} practices", overflow="fold", max_width=40)
    view.add_column("list size", justify="right", footer=f"{table.list_size:,}")
    for c in scheme.components:
        view.add_column(c.id, justify="right", footer=str(table.component_totals()[c.id]))
    for i in scheme.instalments:
        view.add_column(f"instalment {i.id}", justify="right", footer=str(table.instalment_totals()[i.id]))
    view.add_column("total", justify="right", footer=str(table.total))
    for r in table.rows:
        e = r.entitlement
        view.add_row(
            r.practice.code, escape(r.practice.name), f"{e.list_size:,}",
            *(str(m) for m in e.by_component.values()),
            *(str(m) for m in e.by_instalment.values()),
            str(e.total),
        )  # fmt: skip
    return view


def _print_budget(table: EntitlementTable) -> None:
    budget = table.budget
    if budget is None:
        return
    verdict = "[green]within[/]" if budget.within else "[bold red]OVER[/]"
    out.print(
        f"budget envelope {budget.envelope}; these practices {budget.committed}; "
        f"headroom {budget.headroom} — {verdict}"
    )


@app.command()
@handles_errors
def entitlements(
    scheme: SchemeOpt,
    practices: PracticesOpt,
    commissioner: CommissionerOpt = None,
    include_inactive: InactiveOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the table to this CSV.")] = None,
    xlsx_path: Annotated[
        Path | None, typer.Option("--xlsx", help="Also write the table to this XLSX.")
    ] = None,
) -> None:
    """Each practice's entitlement by component and instalment, with totals."""
    inputs = load_inputs(scheme, practices, commissioner=commissioner, include_inactive=include_inactive)
    table = entitlement_table(inputs.scheme, inputs.data.practices)
    _emit_entitlements(inputs, table, as_json, csv_path, xlsx_path)
    if inputs.data.problems:
        raise typer.Exit(1)


def _emit_entitlements(
    inputs: Inputs, table: EntitlementTable, as_json: bool, csv_path: Path | None, xlsx_path: Path | None
) -> None:
    for path in (csv_path, xlsx_path):
        if path is not None:
            table.write(path)
    if as_json:
        print(
            json.dumps({**table.as_json(), "problems": [p.as_dict() for p in inputs.data.problems]}, indent=2)
        )
        return
    out.print(_entitlement_console(table))
    _print_budget(table)
    for path in (csv_path, xlsx_path):
        if path is not None:
            out.print(f"wrote {escape(str(path))}")
    for note in inputs.data.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    _print_problems(inputs.data)


@app.command()
@handles_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the demo writes its results.")] = Path(
        "output/demo"
    ),
) -> None:
    """Run the main job on the bundled C&P sample (85 real practices) into output/demo/."""
    scheme_path, practice_paths = sample_scheme(), sample_practice_files()
    out.rule("agreementgen demo: C&P Quality & Engagement Framework 2017/18")
    inputs = load_inputs(scheme_path, practice_paths, commissioner="06H")
    out.print(f"scheme {inputs.scheme.id} v{inputs.scheme.version}: OK")
    _print_data_report(inputs.data)
    _print_problems(inputs.data)
    table = entitlement_table(inputs.scheme, inputs.data.practices)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.write(out_dir / "entitlements.csv")
    table.write(out_dir / "entitlements.xlsx")
    (out_dir / "entitlements.json").write_text(json.dumps(table.as_json(), indent=2) + "\n", encoding="utf-8")
    out.print(
        f"{len(table.rows)} practices, {table.list_size:,} patients × "
        f"£{inputs.scheme.rate_per_patient} = [bold]{table.total}[/]"
    )
    for name in ("entitlements.csv", "entitlements.xlsx", "entitlements.json"):
        out.print(f"wrote {escape(str(out_dir / name))}")
    out.rule("Section 7 sign-up packs (DOCX + PDF) for every practice")
    db_url = f"sqlite:///{(out_dir / 'records.db').resolve()}"
    report = _generate(inputs, out_dir / "packs", "section7", "docx,pdf", None, db_url, None, True)
    if inputs.data.problems or report.failures:
        raise typer.Exit(1)


JobsOpt = Annotated[
    int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes (default: one per CPU core).")
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help=f"Records database URL (default: ${URL_ENV} or {DEFAULT_URL})."),
]
TemplatesOpt = Annotated[
    Path | None, typer.Option("--templates", help="Folder of DOCX templates (default: the bundled ones).")
]


def _generate(
    inputs: Inputs,
    out_dir: Path,
    docs: str,
    formats: str,
    jobs: int | None,
    db: str | None,
    templates: Path | None,
    resume: bool,
) -> RunReport:
    options = RunOptions(
        out_dir=out_dir,
        templates_dir=templates or bundled("templates"),
        kinds=tuple(parse_list(docs, list(KINDS), "--docs")),
        formats=tuple(parse_list(formats, FORMATS, "--format")),
        jobs=jobs or os.cpu_count() or 1,
        db_url=db,
        resume=resume,
    )
    practices = inputs.data.practices
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("rendering practices", total=len(practices))
        report = bulk.run(
            inputs.scheme,
            practices,
            options,
            on_progress=lambda done, _t: progress.update(task, completed=done),
        )
    out.print(
        f"{report.practices:,} practices: {report.rendered:,} files rendered, {report.reused:,} already "
        f"up to date, {len(report.failures):,} failed — {report.seconds:.1f} s"
    )
    out.print(f"wrote {escape(str(report.manifest))}")
    out.print(f"issued register: {escape(db or default_url())}")
    if report.failures:
        err.print(f"[bold red]{len(report.failures):,} practice(s) not rendered:[/]")
        for code, reason in report.failures:
            err.print(f"  {code}: {escape(reason)}")
    return report


@app.command()
@handles_errors
def generate(
    scheme: SchemeOpt,
    practices: PracticesOpt,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the packs and manifest.json.")],
    commissioner: CommissionerOpt = None,
    docs: Annotated[str, typer.Option("--docs", help="Document kinds, comma-separated.")] = "section7",
    formats: Annotated[str, typer.Option("--format", help="docx, pdf or docx,pdf.")] = "docx,pdf",
    jobs: JobsOpt = None,
    db: DbOpt = None,
    templates: TemplatesOpt = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Skip files an earlier run already finished.")
    ] = True,
    include_inactive: InactiveOpt = False,
) -> None:
    """Render every practice's pack (DOCX and/or PDF) and register them as issued."""
    inputs = load_inputs(scheme, practices, commissioner=commissioner, include_inactive=include_inactive)
    for note in inputs.data.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    report = _generate(inputs, out_dir, docs, formats, jobs, db, templates, resume)
    _print_problems(inputs.data)
    if inputs.data.problems:
        err.print(f"{len(inputs.data.problems):,} practice row(s) skipped because of the problems above")
    if report.failures or inputs.data.problems:
        raise typer.Exit(1)


@app.command("context")
@handles_errors
def context_command(
    scheme: SchemeOpt,
    practice: Annotated[
        str | None, typer.Option("--practice", help="ODS code; without it an example practice is used.")
    ] = None,
    practices: PracticesOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    docs: Annotated[str, typer.Option("--docs", help="Document kind.")] = "section7",
) -> None:
    """Print, as JSON, the exact context a template receives for one practice."""
    inputs = load_inputs(scheme, practices)
    kind = get_kind(docs)
    if practice is None:
        chosen = example_practice(inputs.scheme)
    else:
        found = inputs.data.by_code().get(practice.upper())
        if found is None:
            problems = [p for p in inputs.data.problems if practice.upper() in p.message]
            raise AgreementgenError(
                f"practice {practice} is not among the loaded practices"
                + (f" ({problems[0]})" if problems else "; pass its data with --practices"),
                field="--practice",
            )
        chosen = found
    print(
        json.dumps(build_context(inputs.scheme, chosen, kind.name, kind.title), indent=2, ensure_ascii=False)
    )


@app.command("check-template")
@handles_errors
def check_template_command(
    template: Annotated[Path, typer.Argument(help="The DOCX template to check.")],
    scheme: SchemeOpt,
    docs: Annotated[
        str | None, typer.Option("--docs", help="Document kind (default: from the file name).")
    ] = None,
) -> None:
    """List variables a template uses that the context lacks (and unused ones), without rendering."""
    spec = load_checked_scheme(scheme)
    kind = get_kind(docs or (template.stem if template.stem in KINDS else "section7"))
    result = check_template(template, build_context(spec, example_practice(spec), kind.name, kind.title))
    if result.missing:
        err.print(f"[bold red]{len(result.missing)} variable(s) the context does not provide:[/]")
        for name in result.missing:
            err.print(f"  {escape(name)}")
    else:
        out.print(f"{escape(str(template))}: every variable it uses is provided")
    if result.unused:
        out.print(f"{len(result.unused)} context variable(s) the template does not use:")
        for name in result.unused:
            out.print(f"  {escape(name)}")
    if result.missing:
        raise typer.Exit(1)


def _version(value: bool) -> None:
    if value:
        print(f"agreementgen {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """agreementgen: local primary-care scheme agreements for NHS commissioners."""


def run() -> None:  # console-script entry point
    app(prog_name="agreementgen")


if __name__ == "__main__":
    run()
