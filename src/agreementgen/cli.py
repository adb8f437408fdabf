"""The ``agreementgen`` command: parse options, call the library, print with rich.

Each command is a thin shell over one library call. Every ``AgreementgenError``
becomes a message naming file/row/field and exit code 1 in one place
(``_fail``); typer's own usage errors exit 2.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__, bulk
from .bulk import RunOptions, RunReport
from .context import Context
from .entitlements import EntitlementTable, ServiceTable, entitlement_table, service_table
from .errors import AgreementgenError, MailboxError, ProblemsFound
from .kinds import DEFAULT_KIND, FORMATS, ISSUED, KINDS, DocumentKind, get_kind, parse_list
from .money import Money, total
from .practices import PracticeData
from .provenance import VERDICTS, illustrative_under
from .provenance import check as check_provenance
from .records import CLAIM_STATES, DEFAULT_URL, URL_ENV, Records, default_url, safe_url
from .resources import (
    bundled,
    sample_contacts,
    sample_practice_files,
    sample_scheme,
    sample_service_scheme,
    sample_signups,
)
from .services import ServiceScheme
from .signups import SignUps
from .tables import write_csv, write_table
from .validation import (
    Inputs,
    ServiceInputs,
    load_any_scheme,
    load_inputs,
    load_service_inputs,
    scheme_model,
)

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
SignupsOpt = Annotated[
    list[Path],
    typer.Option(
        "--signups", help="Service schemes: practice→service sign-ups with planned activity (CSV/XLSX)."
    ),
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


def _print_problems(data: PracticeData, signups: SignUps | None = None) -> None:
    for what, problems in (
        ("practice data", data.problems),
        ("sign-ups", signups.problems if signups else []),
    ):
        if problems:
            err.print(f"[bold red]{len(problems):,} problem(s) in the {what}:[/]")
            for p in problems:
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
    signups: SignupsOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    provenance: Annotated[
        bool, typer.Option("--provenance", help="Print where every figure, rule and text comes from.")
    ] = False,
) -> None:
    """Check a scheme spec and practice data; print every problem; exit 1 on any."""
    if scheme_model(scheme) == "services":
        service_inputs = load_service_inputs(scheme, practices, signups, commissioner=commissioner,
                                             include_inactive=include_inactive)  # fmt: skip
        spec = service_inputs.scheme
        if provenance:
            _print_provenance(spec, scheme, as_json)
        elif as_json:
            print(json.dumps({"scheme": {"id": spec.id, "version": spec.version, "ok": True},
                              **_data_json(service_inputs.data),
                              "signup_problems": [p.as_dict() for p in service_inputs.signups.problems]},
                             indent=2))  # fmt: skip
        if not as_json:
            out.print(f"scheme {escape(spec.id)} v{spec.version}: OK ({escape(str(scheme))}), "
                      f"{len(spec.offered)} services offered")  # fmt: skip
            if practices:
                _print_data_report(service_inputs.data)
            _print_problems(service_inputs.data, service_inputs.signups)
        if service_inputs.problems:
            raise typer.Exit(1)
        return
    inputs = load_inputs(scheme, practices, commissioner=commissioner, include_inactive=include_inactive)
    if provenance:
        _print_provenance(inputs.scheme, scheme, as_json)
    elif as_json:
        print(json.dumps({"scheme": {"id": inputs.scheme.id, "version": inputs.scheme.version, "ok": True},
                          **_data_json(inputs.data)}, indent=2))  # fmt: skip
    if not as_json:
        out.print(f"scheme {escape(inputs.scheme.id)} v{inputs.scheme.version}: OK ({escape(str(scheme))})")
        if practices:
            _print_data_report(inputs.data)
        _print_problems(inputs.data)
    if inputs.data.problems:
        raise typer.Exit(1)


def _illustrative(spec: Any, item: str) -> str:
    """' (illustrative)' after a figure the spec marks so, as the documents do."""
    return " (illustrative)" if illustrative_under(spec, item) else ""


def _note_no_signups(spec: Any) -> None:
    """Without a sign-up file only a universal offer signs practices up: say what that means here."""
    universal = [c.id for c in spec.funding.contracts if c.universal_offer]
    if universal:
        out.print(f"[yellow]note:[/] no --signups: practices are signed up to the universal offer only "
                  f"({escape(', '.join(universal))})")  # fmt: skip
    else:
        out.print(
            f"[yellow]note:[/] no --signups: no contract of {escape(spec.id)} is a universal offer, "
            "so no practice is signed up to anything; give the sign-up file with --signups"
        )


def _print_provenance(spec: Any, path: Path, as_json: bool) -> None:
    """The review a finance or governance lead asks for: every item, its value, its basis, the verdict."""
    rows = check_provenance(spec, path.parent)
    counts = {v: n for v in VERDICTS if (n := sum(r.verdict == v for r in rows))}
    if as_json:
        print(json.dumps({"scheme": {"id": spec.id, "version": spec.version}, "counts": counts,
                          "rows": [dataclasses.asdict(r) | {"loc": list(r.loc)} for r in rows]},
                         indent=2))  # fmt: skip
        return
    for source in spec.provenance.sources:
        out.print(f"source [bold]{escape(source.id)}[/]: {escape(source.title)} ({escape(source.file)})")
    view = Table(title=f"{spec.title} — provenance")
    for column in ("item", "value", "source or illustrative", "verdict"):
        view.add_column(column, overflow="fold")
    colour = {"FAILED": "bold red", "illustrative": "yellow", "own": "dim", "paraphrase": "magenta"}
    for r in rows:
        verdict = r.verdict + (f": {r.problem}" if r.problem else "")
        style = colour.get(r.verdict)
        view.add_row(escape(r.item), escape(r.value), escape(r.basis),
                     f"[{style}]{escape(verdict)}[/]" if style else escape(verdict))  # fmt: skip
    out.print(view)
    if spec.provenance.own:
        out.print(f"the author's own: {escape(spec.provenance.own)}")
    out.print("provenance: " + ", ".join(f"{n} {v}" for v, n in counts.items()))


def _print_services(table: ServiceTable) -> None:
    spec = table.scheme
    view = Table(title=f"{spec.title} — indicative values by service", show_footer=True)
    view.add_column("service", footer="TOTAL")
    view.add_column("contract")
    view.add_column("model")
    view.add_column("tariff", justify="right")
    view.add_column("practices", justify="right")
    view.add_column("value", justify="right", footer=str(table.total))
    budget = table.budget
    for service in spec.offered:
        signed = sum(service.id in r.values for r in table.rows)
        unit = next((r.values[service.id].unit_tariff for r in table.rows if service.id in r.values), None)
        view.add_row(escape(service.title), service.contract, service.payment.model,
                     "" if unit is None else f"£{unit:,.2f}", f"{signed:,}",
                     str(budget.by_service[service.id]))  # fmt: skip
    out.print(view)
    out.print(f"{len(table.rows):,} practices; planned {budget.planned} + growth allowance {budget.growth} "
              f"= {budget.committed}")  # fmt: skip
    if budget.envelope is not None and budget.headroom is not None:
        verdict = "[green]within[/]" if budget.headroom.amount >= 0 else "[bold red]OVER[/]"
        out.print(f"budget envelope {budget.envelope}{_illustrative(spec, 'budget')}; "
                  f"headroom {budget.headroom} — {verdict}")  # fmt: skip


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
        f"budget envelope {budget.envelope}{_illustrative(table.scheme, 'budget')}; "
        f"these practices {budget.committed}; "
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
    signups: SignupsOpt = [],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Each practice's entitlement by component and instalment (or by service), with totals."""
    if scheme_model(scheme) == "services":
        service_inputs = load_service_inputs(scheme, practices, signups, commissioner=commissioner,
                                             include_inactive=include_inactive)  # fmt: skip
        services = service_table(service_inputs.scheme, service_inputs.data.practices, service_inputs.signups)
        for path in (csv_path, xlsx_path):
            if path is not None:
                services.write(path)
        if as_json:
            problems = [p.as_dict() for p in service_inputs.problems]
            print(json.dumps({**services.as_json(), "problems": problems}, indent=2))
        else:
            _print_services(services)
            for path in (csv_path, xlsx_path):
                if path is not None:
                    out.print(f"wrote {escape(str(path))}")
            _print_problems(service_inputs.data, service_inputs.signups)
        if service_inputs.problems:
            raise typer.Exit(1)
        return
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
    # Each demo starts a fresh register: a demo run by an older release would otherwise have
    # issued different bytes under the same document ids, which a register refuses.
    for name in ("records.db", "records.db-wal", "records.db-shm"):
        (out_dir / name).unlink(missing_ok=True)
    db_url = f"sqlite:///{(out_dir / 'records.db').resolve()}"
    report = _generate(inputs, out_dir / "packs", "section7", "docx,pdf", None, db_url, None, True)
    if inputs.data.problems or report.failures:
        raise typer.Exit(1)
    written = _demo_send(inputs, out_dir, db_url)
    _demo_returns(inputs, out_dir, db_url)
    out.rule("The outbox")
    out.print(f"{written} message(s) in {escape(str(out_dir / 'outbox'))} would go, each with its practice's "
              "Section 7 pack attached: open one in Outlook and press Send")  # fmt: skip
    out.rule("The web app")
    db = f"sqlite:///{out_dir / 'records.db'}"
    out.print("to see all this in the browser, add yourself (it asks for a password), then start the app:")
    out.print(f"  agreementgen users add YOUR-NAME --role approver --db {db}")
    out.print(f"  agreementgen serve --db {db}     # then open http://127.0.0.1:8000/")


def _demo_send(inputs: Inputs, out_dir: Path, db_url: str) -> int:
    """The packs by email, into the outbox: one message per practice, recorded as sent to the outbox."""
    from .contacts import load_contacts
    from .send import Outbox, SendOptions
    from .send import send as run_send

    out.rule("Section 7 packs by email, to the outbox")
    # A fresh register sends every pack again: the outbox of an earlier demo would hold them twice.
    shutil.rmtree(out_dir / "outbox", ignore_errors=True)
    contacts = load_contacts(sample_contacts())
    outbox = Outbox(out_dir / "outbox")
    sender = "contracts@commissioner.example.nhs.uk"  # invented, like the practices' addresses
    options = SendOptions(kind="section7", packs=out_dir / "packs", sender=sender, by="agreementgen demo")
    report = run_send(inputs.scheme, Records.open(db_url), contacts, outbox, options)
    out.print(f"contacts: {escape(str(sample_contacts()))} (invented addresses on an example domain)")
    _print_mail_report(report, outbox, False, "message", brief=True)
    return report.counts["outbox"]


def _demo_returns(inputs: Inputs, out_dir: Path, db_url: str) -> None:
    """Simulate a round of returns, ingest it, and show the status and chase list."""
    from datetime import date

    from .ingest import ingest as run_ingest
    from .simulate import simulate_round
    from .status import CHASE_COLUMNS, scheme_info, scheme_status

    out.rule("A simulated round of signed returns, ingested")
    codes = [p.code for p in inputs.data.practices]
    made = simulate_round(out_dir / "packs", codes, out_dir / "returns", date.today())
    out.print(
        f"{len(made)} practices replied into {escape(str(out_dir / 'returns'))} "
        f"(one changed its list size, one left the date blank, one sent a photo); "
        f"{len(codes) - len(made)} did not reply"
    )
    records = Records.open(db_url)
    report = run_ingest([out_dir / "returns"], records)
    counts = report.counts
    out.print(
        f"ingested {len(report.files)} file(s): {counts['accepted']} accepted, {counts['flagged']} flagged, "
        f"{counts['rejected']} rejected, {report.unchanged} already on record"
    )
    for f in report.files:
        if f.status != "accepted":
            out.print(f"  [{STATUS_STYLE[f.status]}]{f.status}[/] {escape(Path(f.path).name)}: "
                      f"{escape('; '.join(f.reasons))}")  # fmt: skip
    result = scheme_status(scheme_info(inputs.scheme), records)
    chase = out_dir / "chase.csv"
    write_csv(chase, list(CHASE_COLUMNS), [[row[c] for c in CHASE_COLUMNS] for row in result.chase])
    out.print(
        f"status: {result.issued} issued, {result.returned} returned, {result.accepted} accepted, "
        f"{result.flagged} flagged, {result.rejected} rejected, {result.outstanding} outstanding"
    )
    out.print(f"wrote {escape(str(chase))} ({len(result.chase)} practices to chase)")
    _demo_year_end(inputs, out_dir, db_url, records)


def _demo_year_end(inputs: Inputs, out_dir: Path, db_url: str, records: Records) -> None:
    """Simulated evidence, payments and a decision, then a statement per practice and the schedule."""
    from .simulate import simulate_year_end

    out.rule("Year-end statements")
    signed = sorted(s["practice_code"] for s in records.signups_for(inputs.scheme.id).values())
    files = simulate_year_end(inputs.scheme, inputs.data.practices, signed, out_dir / "year-end")
    out.print(f"{signed[0]}: late mid-year report; {signed[1]}: no year-end report but paid in full; "
              f"{signed[2]}: 50% of medicines optimisation")  # fmt: skip
    statements(
        scheme=sample_scheme(), practices=sample_practice_files(), out_dir=out_dir / "statements",
        commissioner="06H", db=db_url, evidence=[files["evidence"]], paid=[files["paid"]],
        decisions=[files["decisions"]], schedule=out_dir / "payment-schedule.csv", include_inactive=False,
        formats="docx,pdf", templates=None, jobs=None,
    )  # fmt: skip
    _demo_services(out_dir / "les", db_url)


def _demo_services(out_dir: Path, db_url: str) -> None:
    """The C&P LES: SLAs and claim forms, a simulated year of returns, then statements from the claims."""
    from datetime import date

    from .ingest import ingest as run_ingest
    from .simulate import simulate_service_round, simulate_service_year_end

    scheme, signups = sample_service_scheme(), sample_signups()
    out.rule("C&P Local Enhanced Services 2017/18: SLAs, claims, statements")
    inputs = load_service_inputs(scheme, sample_practice_files(), [signups], commissioner="06H")
    chosen = {s.practice_code for s in inputs.signups.rows}
    out.print(f"{len(inputs.signups.rows)} sign-ups from {len(chosen)} practices in {escape(str(signups))}")
    report = _generate(inputs, out_dir / "packs", "sla,claim", "docx,pdf", None, db_url, None, True)
    if inputs.problems or report.failures:
        raise typer.Exit(1)
    sent = simulate_service_round(
        inputs.scheme, out_dir / "packs", inputs.signups, out_dir / "returns", date.today()
    )
    records = Records.open(db_url)
    ingested = run_ingest([out_dir / "returns"], records)
    counts = ingested.counts
    out.print(
        f"ingested {len(ingested.files)} signed SLAs and claim forms: {counts['accepted']} accepted, "
        f"{counts['flagged']} flagged, {counts['rejected']} rejected"
    )
    _demo_claim_approvals(records, inputs.scheme, sent)
    files = simulate_service_year_end(inputs.scheme, sent, out_dir / "year-end")
    out.print(
        f"finance paid the Q1–Q3 claims; {sent.unsigned} never signed its SLAs; {sent.over_cap} claimed "
        f"wound care over the cap; {sent.no_q4_form}'s Q4 is in the team's activity file"
    )
    statements(
        scheme=scheme, practices=sample_practice_files(), out_dir=out_dir / "statements", commissioner="06H",
        db=db_url, evidence=[], paid=[files["paid"]], decisions=[files["decisions"]],
        activity=[files["activity"]], achievement=[], signups=[signups],
        schedule=out_dir / "payment-schedule.csv", include_inactive=False, formats="docx,pdf", templates=None,
        jobs=None,
    )  # fmt: skip


def _demo_claim_approvals(records: Records, scheme: ServiceScheme, sent: Any) -> None:
    """Every accepted claim verified and approved by two people, but for one practice's Q3 claim, left
    verified and awaiting approval: what the web app's approver sees, and the statements leave out."""
    claims = records.claims_for(scheme.id)
    special = {sent.unsigned, sent.over_cap, sent.no_q4_form}  # the demo's other stories stay as they are
    waiting = next(c for c in claims if c["quarter"] == 3 and c["practice_code"] not in special)
    for claim in claims:
        records.decide_claim(str(claim["return_id"]), 1, "yes", "", "Demo Officer")
        if claim is not waiting:
            records.decide_claim(str(claim["return_id"]), 2, "yes", "", "Demo Approver")
    code = waiting["practice_code"]
    out.print(f"claims: {len(claims)} verified by Demo Officer, {len(claims) - 1} approved by Demo Approver; "
              f"{code}'s Q3 claim awaits approval, so the statements leave it out")  # fmt: skip


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
    inputs: Inputs | ServiceInputs,
    out_dir: Path,
    docs: str,
    formats: str,
    jobs: int | None,
    db: str | None,
    templates: Path | None,
    resume: bool,
    reissue: str | None = None,
) -> RunReport:
    if reissue is not None and not reissue.strip():
        raise AgreementgenError(
            "--reissue needs the reason the documents are issued again", field="--reissue"
        )
    options = RunOptions(
        out_dir=out_dir,
        templates_dir=templates or bundled("templates"),
        kinds=tuple(parse_list(docs, list(ISSUED), "--docs")),
        formats=tuple(parse_list(formats, FORMATS, "--format")),
        jobs=jobs or os.cpu_count() or 1,
        db_url=db,
        resume=resume,
        signups=inputs.signups if isinstance(inputs, ServiceInputs) else None,
        reissue=reissue.strip() if reissue else None,
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
    for note in report.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
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
    docs: Annotated[
        str | None,
        typer.Option("--docs", help="Document kinds, comma-separated (default: section7, or sla)."),
    ] = None,
    formats: Annotated[str, typer.Option("--format", help="docx, pdf or docx,pdf.")] = "docx,pdf",
    jobs: JobsOpt = None,
    db: DbOpt = None,
    templates: TemplatesOpt = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Skip files an earlier run already finished.")
    ] = True,
    include_inactive: InactiveOpt = False,
    signups: SignupsOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    reissue: Annotated[
        str | None,
        typer.Option(
            "--reissue",
            metavar="REASON",
            help="Issue documents that changed since they were issued as new revisions, for this reason "
            "(without it, a changed document is refused and nothing of its practice is written).",
        ),
    ] = None,
) -> None:
    """Render every practice's pack (DOCX and/or PDF) and register them as issued.

    A document already on record is issued again only if its bytes are the same; one whose terms,
    wording or template changed is refused unless --reissue gives the reason. A reissue makes the
    next revision, keeps the old one's files in PRACTICE/revisions/ and supersedes it.
    """
    model = scheme_model(scheme)
    inputs: Inputs | ServiceInputs
    if model == "services":
        inputs = load_service_inputs(scheme, practices, signups, commissioner=commissioner,
                                     include_inactive=include_inactive)  # fmt: skip
        if not signups:
            _note_no_signups(inputs.scheme)
    else:
        inputs = load_inputs(scheme, practices, commissioner=commissioner, include_inactive=include_inactive)
    for note in inputs.data.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    report = _generate(
        inputs, out_dir, docs or DEFAULT_KIND[model], formats, jobs, db, templates, resume, reissue
    )
    _print_problems(inputs.data, inputs.signups if isinstance(inputs, ServiceInputs) else None)
    skipped = inputs.problems if isinstance(inputs, ServiceInputs) else inputs.data.problems
    if skipped:
        err.print(f"{len(skipped):,} row(s) skipped because of the problems above")
    if report.failures or skipped:
        raise typer.Exit(1)


def _kind_for(docs: str | None, model: str, default: str | None = None) -> DocumentKind:
    kind = get_kind(docs or default or DEFAULT_KIND[model])
    if not kind.for_scheme(model):
        raise AgreementgenError(
            f"{kind.name} documents are not made from a {model.replace('_', '-')} scheme; "
            f"use --docs {DEFAULT_KIND[model]}",
            field="--docs",
        )
    return kind


@app.command("context")
@handles_errors
def context_command(
    scheme: SchemeOpt,
    practice: Annotated[
        str | None, typer.Option("--practice", help="ODS code; without it an example practice is used.")
    ] = None,
    practices: PracticesOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    docs: Annotated[
        str | None, typer.Option("--docs", help="Document kind (default: section7, or sla).")
    ] = None,
    signups: SignupsOpt = [],  # noqa: B006
) -> None:
    """Print, as JSON, the exact context a template receives for one practice."""
    model = scheme_model(scheme)
    kind = _kind_for(docs, model)
    inputs: Inputs | ServiceInputs
    if model == "services":
        inputs = load_service_inputs(scheme, practices, signups)
    else:
        inputs = load_inputs(scheme, practices)
    context: Context
    if practice is None:
        context = kind.example(inputs.scheme)
    else:
        chosen = inputs.data.by_code().get(practice.upper())
        if chosen is None:
            problems = [p for p in inputs.data.problems if practice.upper() in p.message]
            raise AgreementgenError(
                f"practice {practice} is not among the loaded practices"
                + (f" ({problems[0]})" if problems else "; pass its data with --practices"),
                field="--practice",
            )
        chosen_signups = inputs.signups if isinstance(inputs, ServiceInputs) and signups else None
        if kind.contexts is None:
            context = kind.example(inputs.scheme, chosen)
        else:
            found = kind.contexts(inputs.scheme, chosen, chosen_signups)
            if not found:
                raise AgreementgenError(
                    f"practice {chosen.code} gets no {kind.name} document: it is signed up to no service "
                    "that needs one",
                    field="--practice",
                )
            context = found[0]
    print(json.dumps(context, indent=2, ensure_ascii=False))


@app.command("check-template")
@handles_errors
def check_template_command(
    template: Annotated[Path, typer.Argument(help="The template to check: a .docx, or a fillable .pdf.")],
    scheme: SchemeOpt,
    docs: Annotated[
        str | None, typer.Option("--docs", help="Document kind (default: from the file name).")
    ] = None,
) -> None:
    """Check a template against a scheme: its variables, and what its PDF can show. Renders nothing.

    An email template (templates/email/send.txt, remind.txt, or an .html beside one) is checked
    against the email context: its subject line and the variables it uses."""
    from .render.email import EMAIL_SUFFIXES
    from .render.template import check

    model = scheme_model(scheme)
    spec = load_any_scheme(scheme)
    if template.suffix.lower() in EMAIL_SUFFIXES:
        _check_email_template(template, spec, _kind_for(docs, model).name)
        return
    kind = _kind_for(docs, model, default=template.stem if template.stem in KINDS else None)
    report = check(template, kind.example(spec))
    name = escape(str(template))
    if report.libreoffice:
        err.print(
            f"[yellow]note:[/] {name} was last saved by {escape(report.saved_by)}, which drops "
            f"content-control tags and locks. {report.untagged} control(s) are named by the \\[tag] at the "
            "end of their title, so their fields keep their names; controls printing issued terms are locked "
            "whatever the template says. Open and save it in Word to put the tags back for Word users."
        )
    if report.missing:
        err.print(f"[bold red]{len(report.missing)} variable(s) the context does not provide:[/]")
        for missing in report.missing:
            where = report.where.get(missing)
            err.print(f"  {escape(missing)}" + (f" ({escape(where)})" if where else ""))
    else:
        out.print(f"{name}: every variable it uses is provided")
    if report.unsupported:
        err.print(
            f"[bold red]{len(report.unsupported)} thing(s) the PDF writer cannot render[/] "
            "(generate refuses to write a PDF that would leave them out):"
        )
        for problem in report.unsupported:
            err.print(f"  {escape(str(problem))}")
    elif not report.missing:
        out.print(f"{name}: the PDF shows everything in it")
    for note in report.notes:
        out.print(f"[yellow]note:[/] {escape(str(note))}")
    if report.fields:
        out.print(f"{len(report.fields)} form field(s): {escape(', '.join(report.fields))}")
    if report.unused:
        out.print(f"{len(report.unused)} context variable(s) the template does not use:")
        for unused in report.unused:
            out.print(f"  {escape(unused)}")
    if report.missing or report.unsupported:
        raise typer.Exit(1)


def _check_email_template(template: Path, spec: Any, kind: str) -> None:
    from .render.email import check_email_template
    from .send import example_context

    purpose = "remind" if template.stem == "remind" else "send"
    report = check_email_template(template, example_context(spec, kind, purpose))
    name = escape(str(template))
    if report.missing:
        err.print(f"[bold red]{len(report.missing)} variable(s) the context does not provide:[/]")
        for missing in report.missing:
            where = report.where.get(missing)
            err.print(f"  {escape(missing)}" + (f" ({escape(where)})" if where else ""))
        raise typer.Exit(1)
    out.print(
        f"{name}: every variable it uses is provided (a {purpose} message's; see `agreementgen context`)"
    )
    if report.unused:
        out.print(f"{len(report.unused)} context variable(s) the template does not use")


STATUS_STYLE = {"accepted": "green", "flagged": "yellow", "rejected": "red"}
USAGE_ERROR = 2  # the exit code typer gives its own usage errors


ContactsOpt = Annotated[
    Path | None,
    typer.Option(
        "--contacts",
        help="The practices' contact list (CSV/XLSX: ods_code, email): a return emailed from an "
        "address not on its practice's list is flagged. Without it, senders are not checked.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object per file instead.")]
SchemeFilterOpt = Annotated[
    Path | None, typer.Option("--scheme", "-s", help="Only accept forms of this scheme (YAML).")
]
TrustRootsOpt = Annotated[
    Path | None,
    typer.Option(
        "--trust-roots",
        help="A folder of trusted root certificates (PEM/DER: .pem .der .crt .cer): digital "
        "signatures are checked against them. Without it, trust is not checked.",
    ),
]
IngestJobsOpt = Annotated[
    int,
    typer.Option("--jobs", "-j", min=0, help="Processes reading and judging files (0: one per CPU core)."),
]


def _ingest_setup(
    scheme: Path | None, trust_roots: Path | None, contacts: Path | None, db: str | None
) -> tuple[str | None, Any, Any, Records]:
    """What ``ingest`` and ``fetch`` are given, opened; a usage error (exit 2) if any cannot be used."""
    from .mailin import contact_addresses
    from .returns import load_trust_roots

    try:
        scheme_id = load_any_scheme(scheme).id if scheme else None
        roots = load_trust_roots(trust_roots) if trust_roots is not None else None
        addresses = contact_addresses(contacts) if contacts is not None else None
        records = Records.open(db)
    except AgreementgenError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(USAGE_ERROR) from None
    return scheme_id, roots, addresses, records


def _shows_outcomes(as_json: bool) -> tuple[Progress, Callable[[Any], None]]:
    """A progress bar (on a terminal) and the line printed for each file or attachment as it is recorded."""
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True,
        disable=as_json or not err.is_terminal,  # a bar only where someone watches it
    )  # fmt: skip

    def show(outcome: Any) -> None:
        if as_json:
            return
        style = STATUS_STYLE.get(outcome.status, "white")
        again = "" if outcome.new else " (already on record)"
        sender = f" [dim]from {escape(outcome.sender)}[/]" if outcome.sender else ""
        out.print(f"[{style}]{outcome.status or 'recorded':>9}[/] {escape(outcome.path)}{again}{sender}")

    return progress, show


def _print_ingested(report: Any, as_json: bool) -> None:
    """What a run recorded: JSON lines, or every reason and the summary."""
    if as_json:
        for f in report.files:
            print(json.dumps(dataclasses.asdict(f), ensure_ascii=False))
        for status, passed in (("skipped", report.skipped), ("ignored", report.ignored)):
            for s in passed:
                print(json.dumps({"path": s.path, "status": status, "reasons": [s.reason], "new": False,
                                  "return_id": None, "message_id": None, "sender": ""},
                                 ensure_ascii=False))  # fmt: skip
        return
    for f in report.files:
        if f.new and (f.status != "accepted" or f.reasons):  # an accepted one's reasons are notes
            err.print(f"[{STATUS_STYLE.get(f.status, 'white')}]{f.status}[/] {escape(f.path)}:")
            for reason in f.reasons:
                err.print(f"    {escape(reason)}")
    for skipped in report.skipped:
        err.print(f"[red]skipped[/] {escape(skipped.path)}: {escape(skipped.reason)}")
    counts = report.counts
    passed_over = f", {len(report.skipped):,} skipped (not regular files)" if report.skipped else ""
    if report.ignored:
        passed_over += f", {len(report.ignored):,} hidden or temporary file(s) ignored"
    if report.messages:
        again = sum(not m.new for m in report.messages)
        passed_over += f"; {len(report.messages):,} mail message(s)"
        passed_over += f" ({again:,} already on record)" if again else ""
    out.print(
        f"{len(report.files):,} file(s) in {report.seconds:.1f} s: {counts['accepted']:,} accepted, "
        f"{counts['flagged']:,} flagged, {counts['rejected']:,} rejected, "
        f"{report.unchanged:,} already on record{passed_over}"
    )


@app.command()
@handles_errors
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Returned forms, or mail (.eml, .mbox, .msg): files and/or folders (recursively)."
        ),
    ],
    db: DbOpt = None,
    scheme: SchemeFilterOpt = None,
    as_json: JsonOpt = False,
    trust_roots: TrustRootsOpt = None,
    jobs: IngestJobsOpt = 1,
    contacts: ContactsOpt = None,
) -> None:
    """Read returned forms (PDF, DOCX, scans, and mail's attachments), check them against the issued
    register, record them.

    Exit code 0 when every file was accepted; 1 when any was flagged or rejected, or a path was
    skipped (not a regular file); 2 for a usage error (a path that does not exist, a --scheme,
    --db, --trust-roots or --contacts that cannot be used), when nothing was ingested.
    """
    from .ingest import filename_text
    from .ingest import ingest as run_ingest

    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        err.print("[bold red]error:[/] nothing ingested")
        for path in missing:
            err.print(f"  {escape(filename_text(path))}: no such file or folder")
        raise typer.Exit(USAGE_ERROR)
    scheme_id, roots, addresses, records = _ingest_setup(scheme, trust_roots, contacts, db)
    progress, show = _shows_outcomes(as_json)
    with progress:
        task = progress.add_task("ingesting", total=None)

        def recorded(outcome: Any) -> None:
            progress.advance(task)
            show(outcome)

        report = run_ingest(
            paths, records, scheme_id=scheme_id, on_file=recorded, trust_roots=roots,
            jobs=jobs or os.cpu_count() or 1, contacts=addresses,
        )  # fmt: skip
    _print_ingested(report, as_json)
    if not as_json:
        out.print(f"records: {escape(safe_url(db or default_url()))}")
    raise typer.Exit(0 if report.all_accepted else 1)


@app.command()
@handles_errors
def fetch(
    imap: Annotated[
        str,
        typer.Option(
            "--imap",
            help="The mailbox: imaps://USER@HOST[:993] (TLS) or imap://USER@HOST[:143] (STARTTLS); "
            "the password in $AGREEMENTGEN_IMAP_PASSWORD.",
        ),
    ],
    folder: Annotated[str, typer.Option("--folder", help="The folder the returns arrive in.")] = "INBOX",
    db: DbOpt = None,
    move_to: Annotated[
        str | None,
        typer.Option("--move-to", help="Move each message taken in to this folder (it must exist)."),
    ] = None,
    leave: Annotated[
        bool, typer.Option("--leave", help="Leave the messages where they are (the default), unread.")
    ] = False,
    jobs: IngestJobsOpt = 1,
    contacts: ContactsOpt = None,
    scheme: SchemeFilterOpt = None,
    trust_roots: TrustRootsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take in the new messages of an IMAP mailbox folder: each attachment judged and recorded as
    ingest does; what was taken is remembered, and left or moved.

    Exit code 0 when every return was accepted (or there was nothing new); 1 when any was flagged
    or rejected, or the server failed part-way (what was taken is on record: run it again); 2 when
    nothing could be taken (a bad URL or option, no password, the server not reached or not trusted,
    the login refused, no such folder).
    """
    from .fetch import PASSWORD_ENV, parse_imap_url
    from .fetch import fetch as run_fetch

    def usage(message: str) -> NoReturn:
        err.print(f"[bold red]error:[/] {escape(message)}")
        raise typer.Exit(USAGE_ERROR)

    if move_to is not None and leave:
        usage("give --move-to FOLDER or --leave, not both")
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        usage(f"no password: set the environment variable {PASSWORD_ENV} (never on the command line)")
    try:
        address = parse_imap_url(imap)
    except AgreementgenError as exc:
        usage(str(exc))
    scheme_id, roots, addresses, records = _ingest_setup(scheme, trust_roots, contacts, db)
    progress, show = _shows_outcomes(as_json)
    with progress:
        task = progress.add_task(f"fetching {folder}", total=None)
        try:
            report = run_fetch(
                address, folder, str(password), records, move_to=move_to, scheme_id=scheme_id,
                trust_roots=roots, jobs=jobs or os.cpu_count() or 1, contacts=addresses, on_file=show,
                on_fetched=lambda done, total: progress.update(task, completed=done, total=total),
            )  # fmt: skip
        except MailboxError as exc:
            progress.stop()
            usage(f"nothing fetched: {exc}")
    _print_ingested(report.ingest, as_json)
    if not as_json:
        left = f"moved {report.moved:,} to {escape(report.move_to)}" if report.move_to else "left in place"
        over = f", {report.too_large:,} too large to take" if report.too_large else ""
        gone = f", {report.vanished:,} gone before they were fetched" if report.vanished else ""
        out.print(
            f"{escape(folder)} at {escape(report.mailbox)}: {report.in_folder:,} message(s), "
            f"{report.taken:,} taken in{over}{gone}, {report.seen_before:,} taken before; {left}"
        )
        out.print(f"records: {escape(safe_url(db or default_url()))}")
    if report.problem:
        err.print(f"[bold red]error:[/] {escape(report.problem)}")
    raise typer.Exit(0 if report.all_accepted else 1)


@app.command()
@handles_errors
def review(
    target: Annotated[
        str, typer.Argument(help="A return id (12 or #12), or a document id: its latest flagged return.")
    ],
    accept: Annotated[bool, typer.Option("--accept", help="Accept it: it becomes the sign-up.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject it.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the decision.")] = "",
    by: Annotated[str, typer.Option("--by", help="Who decides: kept with the decision.")] = "",
    db: DbOpt = None,
) -> None:
    """A person's decision on a flagged return, recorded as an event."""
    if accept == reject:
        raise typer.BadParameter("give one of --accept or --reject")
    if not reason.strip() or not by.strip():
        raise typer.BadParameter("give --reason and --by: a decision is kept with why and by whom")
    done = Records.open(db).review(target, "accept" if accept else "reject", reason, by)
    out.print(f"return #{done.return_id} ({escape(done.doc_id)}): [bold]{done.status}[/] by {escape(by)}, "
              f"flagged for: {escape('; '.join(done.flagged_for) or 'no reason')}")  # fmt: skip
    if done.superseded:
        out.print(f"it is now the sign-up, in place of return #{done.superseded}")


HISTORY_COLUMNS = ("at", "event", "revision", "return_id", "detail", "by")


@app.command()
@handles_errors
def history(
    doc_id: Annotated[
        str, typer.Argument(help="The document id, e.g. cpccg-qef-2017-18:v1:D81001:section7.")
    ],
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON.")] = False,
    to: Annotated[
        Path | None, typer.Option("--to", help="Also write the events to this .csv or .xlsx.")
    ] = None,
) -> None:
    """Every event of one document, oldest first: issued, reissued, superseded, sent, reminded, returned,
    reviewed."""
    events = Records.open(db).history(doc_id)
    if not events:
        raise AgreementgenError(f"no document '{doc_id}' was issued or returned", field="DOC_ID")
    if to:
        write_table(to, list(HISTORY_COLUMNS), [[e[c] for c in HISTORY_COLUMNS] for e in events], "history")
    if as_json:
        print(json.dumps(events, indent=2, ensure_ascii=False))
        return
    table = Table("when", "event", "rev", "return", "detail", "by", title=escape(doc_id))
    for e in events:
        ret = f"#{e['return_id']}" if e["return_id"] else ""
        when = e["at"].replace("T", " ")[:19]
        table.add_row(when, e["event"], str(e["revision"] or ""), ret, escape(e["detail"]), escape(e["by"]))
    out.print(table)
    if to:
        out.print(f"wrote {len(events):,} event(s) to {escape(str(to))}")


claims_app = typer.Typer(
    no_args_is_help=True,
    help="Quarterly claims of a service scheme: list them, and verify, approve or refuse one (two-level "
    "approval).",
)
app.add_typer(claims_app, name="claims")
CLAIM_COLUMNS = (
    *("practice_code", "practice_name", "quarter", "doc_id", "return_id", "counts", "state"),
    *("verified_by", "verified_at", "verified_reason", "approved_by", "approved_at", "approved_reason"),
    *("refused_by", "refused_at", "refused_level", "refused_reason"),
)
CLAIM_STYLE = {"awaiting verification": "yellow", "verified": "cyan", "approved": "green", "refused": "red"}
ClaimTarget = Annotated[
    str, typer.Argument(help="A return id (12 or #12), or a claim form's document id: its current claim.")
]
ByOpt = Annotated[str, typer.Option("--by", help="Who decides: kept with the decision.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (optional): kept with the decision.")]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{service} {n:,}" for service, n in counts.items())


@claims_app.command("list")
@handles_errors
def claims_list(
    scheme: SchemeOpt,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the claims as JSON.")] = False,
    to: Annotated[
        Path | None, typer.Option("--to", help="Also write the claims to this .csv or .xlsx.")
    ] = None,
) -> None:
    """Every current accepted claim of a service scheme and where its approval stands."""
    spec = load_any_scheme(scheme)
    if not isinstance(spec, ServiceScheme):
        raise AgreementgenError(f"{spec.id} is a per-capita scheme: claims belong to service schemes",
                                path=scheme)  # fmt: skip
    claims = Records.open(db).claims_for(spec.id)
    if to:
        rows = [[_counts(c[k]) if k == "counts" else c[k] for k in CLAIM_COLUMNS] for c in claims]
        write_table(to, list(CLAIM_COLUMNS), rows, "claims")
    if as_json:
        print(json.dumps(claims, indent=2, ensure_ascii=False))
        return
    table = Table("practice", "Q", "return", "counts", "state", "verified", "approved / refused",
                  title=escape(spec.id))  # fmt: skip
    for c in claims:
        second = (f"refused by {c['refused_by']} (level {c['refused_level']}): {c['refused_reason']}"
                  if c["state"] == "refused" else c["approved_by"])  # fmt: skip
        table.add_row(
            escape(f"{c['practice_code']} {c['practice_name']}".strip()), str(c["quarter"]),
            f"#{c['return_id']}", escape(_counts(c["counts"])),
            f"[{CLAIM_STYLE[c['state']]}]{c['state']}[/]", escape(c["verified_by"]), escape(second),
        )  # fmt: skip
    out.print(table)
    states = [c["state"] for c in claims]
    out.print(f"{len(claims):,} claim(s): " + ", ".join(f"{states.count(s):,} {s}" for s in CLAIM_STATES))
    if not spec.claims.two_level:
        out.print(f"[yellow]note:[/] {escape(spec.id)}'s claims need no approval (claims: approval: none): "
                  "every accepted claim counts at the year end")  # fmt: skip
    if to:
        out.print(f"wrote {len(claims):,} claim(s) to {escape(str(to))}")


def _decide(target: str, level: int, decision: str, reason: str, by: str, db: str | None) -> None:
    done = Records.open(db).decide_claim(target, level, decision, reason, by)
    said = f": {done.reason}" if done.reason else ""
    out.print(f"return #{done.return_id} ({escape(done.doc_id)}), {done.practice_code}'s Q{done.quarter} "
              f"claim: [bold]{done.state}[/] by {escape(done.by)}{escape(said)}")  # fmt: skip
    if done.state == "verified":
        out.print("it now waits for an approver (level 2), who must be someone else")


@claims_app.command("verify")
@handles_errors
def claims_verify(target: ClaimTarget, by: ByOpt, reason: ReasonOpt = "", db: DbOpt = None) -> None:
    """An officer verifies a claim (level 1): it then waits for an approver."""
    _decide(target, 1, "yes", reason, by, db)


@claims_app.command("approve")
@handles_errors
def claims_approve(target: ClaimTarget, by: ByOpt, reason: ReasonOpt = "", db: DbOpt = None) -> None:
    """An approver approves a verified claim (level 2), and the year end pays it: not its verifier."""
    _decide(target, 2, "yes", reason, by, db)


@claims_app.command("refuse")
@handles_errors
def claims_refuse(
    target: ClaimTarget,
    level: Annotated[
        int, typer.Option("--level", min=1, max=2, help="1: refused at verification; 2: at approval.")
    ],
    by: ByOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the decision.")],
    db: DbOpt = None,
) -> None:
    """Refuse a claim at level 1 or 2, with a reason: the practice must send a new claim for the quarter."""
    _decide(target, level, "refuse", reason, by, db)


@app.command()
@handles_errors
def status(
    scheme: SchemeOpt,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
    chase: Annotated[
        Path | None, typer.Option("--chase", help="Write the practices to chase to this .csv or .xlsx.")
    ] = None,
    docs: Annotated[
        str | None,
        typer.Option(
            "--docs",
            help="Documents of this kind: section7 or sla (the scheme's default), sla_<contract>, claim.",
        ),
    ] = None,
) -> None:
    """Counts of issued, returned, accepted, flagged, rejected and outstanding; who to chase."""
    from .status import CHASE_COLUMNS, scheme_info, scheme_status

    info = scheme_info(load_any_scheme(scheme))
    result = scheme_status(info, Records.open(db), kind=docs or info.default_kind)
    if chase:
        write_table(
            chase, list(CHASE_COLUMNS), [[row[c] for c in CHASE_COLUMNS] for row in result.chase], "chase"
        )
    if as_json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    out.print(f"[bold]{escape(result.title)}[/] ({result.scheme_id})")
    days = result.days_to_deadline
    if days is not None:
        when = f"{days} day(s) to go" if days >= 0 else f"passed {-days} day(s) ago"
        out.print(f"sign-up deadline {result.deadline}: {when}")
    counts = ("issued", "returned", "accepted", "flagged", "rejected", "outstanding")
    table = Table(*counts)
    table.add_row(*(f"{getattr(result, k):,}" for k in counts))
    out.print(table)
    if result.unmatched_returns:
        out.print(f"{result.unmatched_returns:,} return(s) name this scheme but no issued document")
    if result.chase:
        out.print(
            f"{len(result.chase):,} practice(s) to chase" + (f": wrote {escape(str(chase))}" if chase else "")
        )
        for row in result.chase[:10]:
            name, email = escape(row["practice_name"]), escape(row["email"])
            kind = row["doc_id"].rsplit(":", 1)[-1]
            reminded = (f" (reminded {row['reminders']}×, last {row['last_reminded']})"
                        if row["reminders"] else "")  # fmt: skip
            out.print(f"  {row['practice_code']} {name} — {kind}: {row['state']} {email}{reminded}")
        if len(result.chase) > 10:
            out.print(f"  … and {len(result.chase) - 10:,} more (use --chase FILE for the full list)")


SendContactsOpt = Annotated[
    Path,
    typer.Option("--contacts", help="The practices' email addresses (CSV/XLSX: code, email, name, role)."),
]
OutboxOpt = Annotated[
    Path | None,
    typer.Option(
        "--outbox",
        help="Write each message as an .eml file in this folder (the default: ./outbox); Outlook sends them.",
    ),
]
SmtpOpt = Annotated[
    str | None,
    typer.Option(
        "--smtp",
        metavar="URL",
        help="Send through this server: smtp://user@host:587 (STARTTLS) or smtps://user@host:465; "
        "the password from $AGREEMENTGEN_SMTP_PASSWORD.",
    ),
]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="The sender's address (default: the spec's commissioner.return_email)."),
]
MailPracticeOpt = Annotated[
    list[str], typer.Option("--practice", help="Only this practice (ODS code); repeat for several.")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would go; write, send and record nothing.")
]
PerMinuteOpt = Annotated[
    int | None, typer.Option("--per-minute", min=1, help="Send at most N messages a minute (SMTP).")
]
MailTemplatesOpt = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        help="Folder of templates; the email ones are in its email/ folder (default: the bundled).",
    ),
]
MailDocsOpt = Annotated[
    str | None,
    typer.Option(
        "--docs",
        help="Documents of this kind: section7 or sla (the scheme's default), sla_<contract>, claim.",
    ),
]
DEFAULT_OUTBOX = "outbox"  # in the current folder, like the default records database
MAIL_STYLE = {"outbox": "green", "sent": "green", "dry-run": "cyan", "already sent": "dim", "too soon": "dim",
              "maximum reached": "dim", "cut-off passed": "dim", "temporary": "yellow"}  # fmt: skip


def _mail_setup(scheme: Path, contacts: Path, sender: str | None, outbox: Path | None, smtp: str | None,
                dry_run: bool) -> tuple[Any, Any, str, Any]:  # fmt: skip
    """The spec, contacts, sender and transport that send and remind share."""
    from .contacts import load_contacts
    from .send import transport_for

    if outbox is not None and smtp is not None:
        raise typer.BadParameter("give --outbox or --smtp, not both")
    spec = load_any_scheme(scheme)
    chosen = sender or spec.commissioner.return_email
    if not chosen:
        raise AgreementgenError(
            "the spec names no commissioner.return_email: give --from ADDRESS", field="--from"
        )
    transport = transport_for(outbox or Path(DEFAULT_OUTBOX), smtp, dry_run)
    return spec, load_contacts(contacts), chosen, transport


def _who_runs() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without one): the event says nobody
        return ""


def _run_mail(what: str, transport: Any, run: Callable[[Callable[[Any], None]], Any]) -> Any:
    """Run ``send`` or ``remind`` under a progress bar (for SMTP, where it takes time)."""
    from .send import SmtpRelay

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err, transient=True, disable=not isinstance(transport, SmtpRelay) or not err.is_terminal,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"{what} by {getattr(transport, 'where', 'mail')}", total=None)
        return run(lambda _outcome: progress.advance(task))


def _print_mail_report(report: Any, transport: Any, dry_run: bool, noun: str, brief: bool = False) -> None:
    """Every practice's line (a message, or why none went; ``brief``: only those that did not go),
    then the counts."""
    from .send import Outbox

    for outcome in report.outcomes:
        if brief and outcome.outcome in ("outbox", "sent"):
            continue
        style = MAIL_STYLE.get(outcome.outcome, "red")
        name = f" {escape(outcome.practice_name)}" if outcome.practice_name else ""
        to = f" to {escape(', '.join(outcome.recipients))}" if outcome.recipients else ""
        detail = f": {escape(outcome.detail)}" if outcome.detail else ""
        (out if style in ("green", "cyan", "dim") else err).print(
            f"[{style}]{outcome.outcome:>15}[/] {outcome.practice_code}{name}{to}{detail}"
        )
        if dry_run and outcome.subject:
            out.print(f"{'':>16} subject: {escape(outcome.subject)}")
            if outcome.attachments:
                out.print(f"{'':>16} attached: {escape(', '.join(outcome.attachments))}")
        for refused in outcome.refused:
            err.print(f"{'':>16} [red]refused[/] {escape(refused)}")
    if report.contact_problems:
        err.print(f"[bold red]{len(report.contact_problems):,} problem(s) in the contacts file:[/]")
        for problem in report.contact_problems:
            err.print(f"  {escape(str(problem))}")
    if report.stopped:
        out.print(f"[yellow]note:[/] {escape(report.stopped)}")
    counts = report.counts
    made = sum(counts[k] for k in ("outbox", "sent", "temporary", "refused", "dry-run"))
    summary = ", ".join(f"{n:,} {k}" for k, n in sorted(counts.items()))
    if dry_run:
        nothing = "nothing written, sent or recorded"
        out.print(f"dry run: {made:,} {noun}(s) would go; {nothing} ({summary or 'nothing to do'})")
    elif isinstance(transport, Outbox):
        out.print(f"{counts['outbox']:,} {noun}(s) written to {escape(str(transport.folder))}, ready to send "
                  f"(open each in Outlook and press Send) — {summary or 'nothing to do'}")  # fmt: skip
    else:
        out.print(f"{counts['sent']:,} {noun}(s) sent — {summary or 'nothing to do'}")


@app.command()
@handles_errors
def send(
    scheme: SchemeOpt,
    contacts: SendContactsOpt,
    packs: Annotated[Path, typer.Option("--packs", help="The folder `generate --out` wrote the packs to.")],
    db: DbOpt = None,
    docs: MailDocsOpt = None,
    practice: MailPracticeOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    outbox: OutboxOpt = None,
    smtp: SmtpOpt = None,
    sender: FromOpt = None,
    attach: Annotated[str, typer.Option("--attach", help="pdf, docx or pdf,docx.")] = "pdf,docx",
    dry_run: DryRunOpt = False,
    per_minute: PerMinuteOpt = None,
    resend: Annotated[
        bool, typer.Option("--resend", help="Send documents again that a message already took.")
    ] = False,
    templates: MailTemplatesOpt = None,
) -> None:
    """Email each practice its issued documents: one message each, to the outbox or through SMTP.

    Exit code 0 when every practice got its message (or had it already); 1 when any has no
    address, a contacts problem, a file that changed since issue, or was refused or deferred.
    """
    from .send import SendOptions
    from .send import send as run_send

    spec, known, chosen, transport = _mail_setup(scheme, contacts, sender, outbox, smtp, dry_run)
    kind = docs or DEFAULT_KIND[scheme_model(scheme)]
    options = SendOptions(
        kind=kind, packs=packs, sender=chosen, practices=tuple(practice),
        attach=tuple(parse_list(attach, ["pdf", "docx"], "--attach")), resend=resend, dry_run=dry_run,
        per_minute=per_minute, templates=templates / "email" if templates else None, by=_who_runs(),
    )  # fmt: skip
    records = Records.open(db)
    report = _run_mail(
        "sending", transport, lambda tick: run_send(spec, records, known, transport, options, on_message=tick)
    )
    _print_mail_report(report, transport, dry_run, "message")
    if not report.all_done:
        raise typer.Exit(1)


@app.command()
@handles_errors
def remind(
    scheme: SchemeOpt,
    contacts: SendContactsOpt,
    db: DbOpt = None,
    docs: MailDocsOpt = None,
    practice: MailPracticeOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    outbox: OutboxOpt = None,
    smtp: SmtpOpt = None,
    sender: FromOpt = None,
    every: Annotated[
        int | None,
        typer.Option(
            "--every",
            min=1,
            metavar="DAYS",
            help="At least this many days after the last message (default: the spec's, else 7).",
        ),
    ] = None,
    most: Annotated[
        int | None,
        typer.Option(
            "--max", min=0, help="At most this many reminders a practice (default: the spec's, else 3)."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="DATE",
            help="No reminder after this date, e.g. 2026-06-30 (default: the spec's reminders.until).",
        ),
    ] = None,
    dry_run: DryRunOpt = False,
    per_minute: PerMinuteOpt = None,
    templates: MailTemplatesOpt = None,
) -> None:
    """Remind the practices that have not returned, or whose return was flagged or rejected (with why).

    Exit code 0 when every practice due a reminder got it; 1 when any has no address, a contacts
    problem, or was refused or deferred.
    """
    from datetime import date

    from .remind import RemindOptions
    from .remind import remind as run_remind

    try:
        cut_off = date.fromisoformat(until) if until else None
    except ValueError:
        raise typer.BadParameter(f"'{until}' is not a date like 2026-06-30", param_hint="--until") from None
    spec, known, chosen, transport = _mail_setup(scheme, contacts, sender, outbox, smtp, dry_run)
    options = RemindOptions(
        kind=docs or DEFAULT_KIND[scheme_model(scheme)], sender=chosen, practices=tuple(practice),
        every_days=every, max=most, until=cut_off, dry_run=dry_run, per_minute=per_minute,
        templates=templates / "email" if templates else None, by=_who_runs(),
    )  # fmt: skip
    records = Records.open(db)
    report = _run_mail(
        "reminding",
        transport,
        lambda tick: run_remind(spec, records, known, transport, options, on_message=tick),
    )
    _print_mail_report(report, transport, dry_run, "reminder")
    if not report.all_done:
        raise typer.Exit(1)


@app.command()
@handles_errors
def export(
    table: Annotated[
        str,
        typer.Option(
            "--table",
            help="signups, returns, issued, revisions, scheme_rules, reviews, messages, mail_in, year_end, "
            "activity.",
        ),
    ],
    to: Annotated[Path, typer.Option("--to", help="A .csv or .xlsx file to write.")],
    db: DbOpt = None,
) -> None:
    """Export a records table to CSV or XLSX (spreadsheet formulas neutralised)."""
    from .records import TABLES

    known = [*TABLES, "activity"]
    if table not in known:
        raise AgreementgenError(f"unknown table '{table}'; choose from {', '.join(known)}", field="--table")
    header, rows = Records.open(db).table_rows(table)
    write_table(to, header, rows, table)
    out.print(f"wrote {len(rows):,} {table} row(s) to {escape(str(to))}")


@app.command()
@handles_errors
def statements(
    scheme: SchemeOpt,
    practices: PracticesOpt,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the statements.")],
    commissioner: CommissionerOpt = None,
    db: DbOpt = None,
    evidence: Annotated[list[Path], typer.Option("--evidence", help="Milestone evidence (CSV/XLSX).")] = [],  # noqa: B006
    paid: Annotated[list[Path], typer.Option("--paid", help="Payments already made (CSV/XLSX).")] = [],  # noqa: B006
    decisions: Annotated[
        list[Path], typer.Option("--decisions", help="Proportional payment decisions (CSV/XLSX).")
    ] = [],  # noqa: B006
    activity: Annotated[
        list[Path], typer.Option("--activity", help="Service schemes: activity by quarter (CSV/XLSX).")
    ] = [],  # noqa: B006
    achievement: Annotated[
        list[Path], typer.Option("--achievement", help="Service schemes: outcome achievement (CSV/XLSX).")
    ] = [],  # noqa: B006
    signups: SignupsOpt = [],  # noqa: B006
    schedule: Annotated[
        Path | None,
        typer.Option("--schedule", help="Write finance's payment schedule to this .csv or .xlsx."),
    ] = None,
    include_inactive: InactiveOpt = False,
    formats: Annotated[str, typer.Option("--format", help="docx, pdf or docx,pdf.")] = "docx,pdf",
    templates: TemplatesOpt = None,
    jobs: JobsOpt = None,
) -> None:
    """Year-end statements (Word and PDF) for every practice, and a payment schedule for finance."""
    from .kinds.statement import statement_context
    from .statements import SCHEDULE_HEADER, schedule_rows
    from .statements import statements as reconcile_all
    from .yearend import load_year_end

    inputs: Inputs | ServiceInputs
    if scheme_model(scheme) == "services":
        inputs = load_service_inputs(scheme, practices, signups, commissioner=commissioner,
                                     include_inactive=include_inactive)  # fmt: skip
        chosen_signups: SignUps | None = inputs.signups
        if not signups:
            _note_no_signups(inputs.scheme)
    else:
        given = [name for name, v in (("--signups", signups), ("--activity", activity),
                                      ("--achievement", achievement)) if v]  # fmt: skip
        if given:
            raise AgreementgenError(
                f"{', '.join(given)} apply to service schemes; {scheme} is a per-capita scheme", path=scheme
            )
        inputs = load_inputs(scheme, practices, commissioner=commissioner, include_inactive=include_inactive)
        chosen_signups = None
    files = {"evidence": evidence, "paid": paid, "decisions": decisions, "activity": activity,
             "achievement": achievement}  # fmt: skip
    records = Records.open(db)
    year = load_year_end(
        inputs.scheme, inputs.data.practices, records=records, signups=chosen_signups, **files
    )
    items = reconcile_all(inputs.scheme, inputs.data.practices, year, chosen_signups)
    chosen = parse_list(formats, FORMATS, "--format")
    out_dir.mkdir(parents=True, exist_ok=True)
    contexts = [(item.practice.code, statement_context(inputs.scheme, item, year.sources)) for item in items]
    template = KINDS["statement"].template_path(templates or bundled("templates"))
    if contexts:  # a template that cannot render the statements stops the run before any is written
        bulk.check_example(template, contexts[0][1], pdf="pdf" in chosen)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err,
                  transient=True) as progress:  # fmt: skip
        task = progress.add_task("writing statements", total=len(items))
        written = bulk.write_statements(
            contexts, out_dir, template=template, formats=tuple(chosen), jobs=jobs or os.cpu_count() or 1,
            on_progress=lambda done: progress.update(task, completed=done),
        )  # fmt: skip
    rows, net = schedule_rows(items)
    if schedule:
        write_table(schedule, list(SCHEDULE_HEADER), rows, "Schedule")
    # Kept with or without --schedule: the run's files and schedule can be fetched again later.
    run_id = records.record_year_end_run(
        inputs.scheme.id, out_dir, written, SCHEDULE_HEADER, rows, net.amount, by=_who_runs()
    )
    pay, recover = rows[-1][6], rows[-1][7]
    out.print(f"{len(items):,} statements in {escape(str(out_dir))}: £{pay:,.2f} to pay, £{recover:,.2f} to "
              f"recover, net {net}")  # fmt: skip
    out.print(
        f"check: the schedule's net total equals the sum of the {len(items):,} statement balances ({net})"
    )
    if inputs.scheme.budget is not None:
        envelope = Money(inputs.scheme.budget.envelope)
        earned = total(s.reconciliation.earned + s.reconciliation.adjustment for s in items)
        share = earned.amount / envelope.amount * 100 if envelope.amount else Decimal(0)
        out.print(f"budget: {earned} earned after adjustments, {share:.1f}% of the {envelope} envelope"
                  f"{_illustrative(inputs.scheme, 'budget')}")  # fmt: skip
    if schedule:
        out.print(f"wrote {escape(str(schedule))}")
    out.print(f"recorded as year-end run #{run_id} (export --table year_end_runs)")
    for note in year.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    _print_problems(inputs.data, chosen_signups)
    if year.problems:
        err.print(f"[bold red]{len(year.problems):,} problem(s) in the year-end inputs:[/]")
        for problem in year.problems:
            err.print(f"  {escape(str(problem))}")
    if inputs.data.problems or year.problems or (chosen_signups and chosen_signups.problems):
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


from . import cli_web  # noqa: E402, F401  (registers serve and users on app)

if __name__ == "__main__":
    run()
