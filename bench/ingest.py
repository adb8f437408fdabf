"""Benchmark ingesting returned forms (issue 12 item 9: ``ingest --jobs N``, fast).

Prints, in one run on this machine:

1. Setup (not timed against a target): the 85 bundled sample practices' Section 7 PDFs
   issued by the bulk run into a SQLite records database, then ``--files`` distinct
   filled returns (each file's signatory name differs) written to one folder.
2. The baseline: one process ingesting the folder the way ``ingest`` did before ``--jobs``
   (each file read with pypdf alone, judged with a database query per lookup, recorded in a
   transaction of its own: ``ingest_contents`` file by file), into a fresh copy of that database.
3. ``ingest --jobs 1`` and ``ingest --jobs N`` (``--jobs``, default 2) on fresh copies: wall time,
   files/s, ms per file and the ratio to the baseline. Target: >= 300 files/s with 2 jobs on 2
   cores. Every run must record the same status and reasons for every file, and every file must
   be accepted, or the script exits non-zero (it would have measured the wrong thing).
4. Re-ingest of the folder with ``--jobs N`` (every file already on record, skipped by
   sha256). Target <= 1 s.
5. For scale: plain pypdf reading each file's form fields (``PdfReader(path).get_fields()``), no
   checks, no database.

    .venv/bin/python bench/ingest.py [--files 1000] [--jobs 2] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SCHEME = ROOT / "schemes" / "cpccg-qef-2017-18.yaml"
SAMPLES = [
    ROOT / "samples/cpccg/epraccur_2023-02_06H.csv",
    ROOT / "samples/cpccg/gp-reg-pat-prac-all_2021-01_06H.csv",
]
RATE_TARGET = 300.0  # files/s with --jobs 2 on 2 cores
AGAIN_TARGET_S = 1.0


def build_corpus(work: Path, files: int, jobs: int) -> tuple[Path, Path, int]:
    """(returns folder, database, practices): issued packs registered, ``files`` filled returns."""
    from agreementgen import bulk
    from agreementgen.bulk import RunOptions
    from agreementgen.simulate import fill_pdf, practice_entries
    from agreementgen.validation import load_inputs

    inputs = load_inputs(SCHEME, SAMPLES)
    practices = inputs.data.practices
    packs = work / "packs"
    db_path = work / "records.db"
    options = RunOptions(out_dir=packs, templates_dir=ROOT / "templates", formats=("pdf",), jobs=jobs,
                         db_url=f"sqlite:///{db_path}", resume=False)  # fmt: skip
    run = bulk.run(inputs.scheme, practices, options)
    if run.failures:
        sys.exit(f"bulk run failed for {len(run.failures)} practice(s): {run.failures[:3]}")
    issued = sorted(p for p in packs.glob("*/section7.pdf"))
    if len(issued) != len(practices):
        sys.exit(f"expected {len(practices)} issued PDFs, found {len(issued)}")
    pdfs = [p.read_bytes() for p in issued]

    returns = work / "returns"
    returns.mkdir()
    today = date.today()
    for i in range(files):
        entries = practice_entries(i, today)
        signer = f"{entries['practice_signatory_name']} {i}"
        entries["practice_signatory_name"] = signer
        entries["practice_signature"] = signer
        (returns / f"return-{i:04}.pdf").write_bytes(fill_pdf(pdfs[i % len(pdfs)], entries))
    return returns, db_path, len(practices)


def baseline(returns: Path) -> tuple[float, int]:
    """(seconds, files) for plain pypdf reading every file's form fields."""
    from pypdf import PdfReader

    paths = sorted(returns.glob("*.pdf"))
    start = time.perf_counter()
    for path in paths:
        PdfReader(path).get_fields()
    return time.perf_counter() - start, len(paths)


def fresh_copy(db_path: Path, name: str) -> str:
    """A copy of the issued register's database (WAL included), as a URL."""
    import sqlite3

    target = db_path.with_name(name)
    with sqlite3.connect(db_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"


def ingest_before_jobs(folder: Path, url: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """The one-process ingest as it was before --jobs: pypdf alone reads each file, every register
    lookup is a query, each file is recorded in its own transaction (``ingest_contents``)."""
    from agreementgen.ingest import Skipped, filename_text, find_files, ingest_contents, read_file
    from agreementgen.pdfobjects import FormReader
    from agreementgen.records import Records

    records = Records.open(url)
    FormReader.fast = False
    try:
        known = records.known_returns()
        outcomes = []
        for path in find_files([folder]):
            contents = read_file(path)
            assert not isinstance(contents, Skipped)
            name = filename_text(path)
            recorded = known.get(contents.sha256) or ingest_contents(contents, name, records)
            outcomes.append((name, recorded.status, recorded.reasons))
    finally:
        FormReader.fast = True
        records.engine.dispose()
    return outcomes


def ingest_with_jobs(folder: Path, url: str, jobs: int) -> tuple[list[tuple[str, str, tuple[str, ...]]], int]:
    """(every file's name, status and reasons; how many were already on record)."""
    from agreementgen.ingest import ingest
    from agreementgen.records import Records

    records = Records.open(url)
    report = ingest([folder], records, jobs=jobs)
    records.engine.dispose()
    return [(f.path, f.status, f.reasons) for f in report.files], report.unchanged


def show(label: str, text: str) -> None:
    print(f"{label:<36}: {text}")


def timing(seconds: float, files: int) -> str:
    return f"{seconds:7.2f} s  {files / seconds:8.1f} files/s  {seconds / files * 1000:6.2f} ms/file"


CPU: list[float] = []  # CPU seconds (this process and its workers) of each timed run, in order


def timed(run: Callable[[], T]) -> tuple[float, T]:
    """(wall seconds, result); the CPU time it took, this process's and its workers', to ``CPU``."""
    cpu = cpu_seconds()
    start = time.perf_counter()
    result = run()
    wall = time.perf_counter() - start
    CPU.append(cpu_seconds() - cpu)
    return wall, result


def cpu_seconds() -> float:
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def cpu(files: int) -> str:
    """The last timed run's CPU time a file: another program busy on the machine slows the wall
    time, hardly this."""
    return f"cpu {CPU[-1] / files * 1000:5.2f} ms/file"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000, help="filled returns to ingest")
    parser.add_argument("--jobs", type=int, default=2, help="processes for ingest --jobs (and the setup)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (printed)")
    args = parser.parse_args()

    n, jobs = args.files, args.jobs
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    work = Path(tempfile.mkdtemp(prefix="agreementgen-bench-ingest-"))
    problems: list[str] = []
    try:
        setup, (returns, db_path, practices) = timed(lambda: build_corpus(work, n, jobs))
        show("setup (not timed)", f"{setup:7.2f} s  ({practices} packs issued, {n:,} returns filled)")
        warm = work / "warm"  # imports and first-use caches, outside every timed run
        warm.mkdir()
        for path in sorted(returns.iterdir())[:5]:
            (warm / path.name).write_bytes(path.read_bytes())
        ingest_with_jobs(warm, fresh_copy(db_path, "warm.db"), 1)

        base, before = timed(lambda: ingest_before_jobs(returns, fresh_copy(db_path, "before.db")))
        show("baseline: one process, before --jobs", f"{timing(base, n)}  ({cpu(n)})")
        one, (outcomes_1, _) = timed(lambda: ingest_with_jobs(returns, fresh_copy(db_path, "jobs1.db"), 1))
        show("ingest --jobs 1", f"{timing(one, n)}  ({base / one:.2f}x the baseline; {cpu(n)})")
        url = fresh_copy(db_path, f"jobs{jobs}.db")
        many, (outcomes_n, _) = timed(lambda: ingest_with_jobs(returns, url, jobs))
        met = "met" if n / many >= RATE_TARGET else "NOT met"
        show(f"ingest --jobs {jobs}", f"{timing(many, n)}  ({base / many:.2f}x the baseline; {cpu(n)})")
        show(f"  target >= {RATE_TARGET:.0f} files/s", f"{met} ({n / many:.0f} files/s)")
        again, (outcomes_again, unchanged) = timed(lambda: ingest_with_jobs(returns, url, jobs))
        met = "met" if again <= AGAIN_TARGET_S else "NOT met"
        show(
            f"re-ingest --jobs {jobs}, all on record",
            f"{again:7.2f} s  (target <= {AGAIN_TARGET_S:.0f} s: {met})",
        )

        statuses = Counter(status for _name, status, _reasons in before)
        show(
            "statuses (baseline)",
            ", ".join(f"{k} {statuses.get(k, 0):,}" for k in ("accepted", "flagged", "rejected")),
        )
        if not len(before) == len(outcomes_1) == len(outcomes_n) == n:
            problems.append(f"files recorded: {len(before)}, {len(outcomes_1)}, {len(outcomes_n)}, not {n}")
        if not before == outcomes_1 == outcomes_n:
            problems.append("the runs recorded different statuses or reasons for the same files")
        if statuses.get("accepted", 0) != n:
            problems += [f"NOT ACCEPTED {p}: {s}: {'; '.join(r)}" for p, s, r in before if s != "accepted"][
                :3
            ]
        if unchanged != n or [o[1:] for o in outcomes_again] != [o[1:] for o in outcomes_n]:
            problems.append(f"re-ingest: {unchanged:,} of {n:,} files on record, expected all, as recorded")
        show("same status and reasons per file", "yes, in all three runs" if not problems else "NO")

        plain, files = baseline(returns)
        show("for scale: pypdf get_fields alone", f"{timing(plain, files)}  (no checks, no database)")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (another program busy slows every figure)")
    if problems:
        print("\n".join(f"  {p}" for p in problems))
        sys.exit("benchmark invalid: the runs did not record what was expected (see above)")


if __name__ == "__main__":
    main()
