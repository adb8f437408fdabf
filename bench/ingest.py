"""Benchmark ingesting returned forms (issue: ingest a folder of returns, fast).

Prints, in one run on this machine:

1. Setup (not timed against a target): the 85 bundled sample practices' Section 7 PDFs
   issued by the bulk run into a fresh SQLite records database, then ``--files`` distinct
   filled returns (each file's signatory name differs) written to one folder.
2. First ingest of the whole folder into that database (read, judge, record every file):
   wall time, files/s, ms per file, and the status counts — every file must be accepted,
   or the script exits non-zero (the benchmark would have measured the wrong path).
   Target <= 20 s for 1,000 files.
3. Re-ingest of the same folder into the same database (every file already on record,
   skipped by sha256). Target <= 5 s.
4. A baseline measured in the same run on the same files: plain pypdf reading each
   file's form fields (``PdfReader(path).get_fields()``), no checks, no database; and the
   ratio of the first ingest to it.

    .venv/bin/python bench/ingest.py [--files 1000] [--jobs 2] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEME = ROOT / "schemes" / "cpccg-qef-2017-18.yaml"
SAMPLES = [
    ROOT / "samples/cpccg/epraccur_2023-02_06H.csv",
    ROOT / "samples/cpccg/gp-reg-pat-prac-all_2021-01_06H.csv",
]
FIRST_TARGET_S = 20.0
AGAIN_TARGET_S = 5.0


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


def show(label: str, text: str) -> None:
    print(f"{label:<30}: {text}")


def timing(seconds: float, files: int) -> str:
    return f"{seconds:7.2f} s  {files / seconds:8.1f} files/s  {seconds / files * 1000:6.1f} ms/file"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000, help="filled returns to ingest")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the bulk run (setup)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (printed)")
    args = parser.parse_args()

    from agreementgen.ingest import ingest
    from agreementgen.records import Records

    n = args.files
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    work = Path(tempfile.mkdtemp(prefix="agreementgen-bench-ingest-"))
    ok = True
    try:
        start = time.perf_counter()
        returns, db_path, practices = build_corpus(work, n, args.jobs)
        setup = time.perf_counter() - start
        show("setup (not timed)", f"{setup:7.2f} s  ({practices} packs issued, {n:,} returns filled)")

        records = Records.open(f"sqlite:///{db_path}")
        first = time.perf_counter()
        report = ingest([returns], records)
        first = time.perf_counter() - first
        counts = report.counts
        show("ingest, first time", f"{timing(first, n)}  (target <= {FIRST_TARGET_S:.0f} s)")
        status = ", ".join(f"{k} {counts.get(k, 0):,}" for k in ("accepted", "flagged", "rejected"))
        show("  statuses", f"{status}  (of {len(report.files):,} files)")
        if len(report.files) != n or counts.get("accepted", 0) != n:
            ok = False
            for f in [f for f in report.files if f.status != "accepted"][:3]:
                print(f"  NOT ACCEPTED {f.path}: {f.status}: {'; '.join(f.reasons)}")

        again = time.perf_counter()
        report2 = ingest([returns], records)
        again = time.perf_counter() - again
        show("ingest, again (all on record)", f"{timing(again, n)}  (target <= {AGAIN_TARGET_S:.0f} s)")
        show("  unchanged", f"{report2.unchanged:,} of {len(report2.files):,} files")
        if report2.unchanged != n or len(report2.files) != n:
            ok = False
            print(f"  EXPECTED {n:,} unchanged files")
        records.engine.dispose()

        base, base_files = baseline(returns)
        show("baseline, pypdf get_fields", f"{timing(base, base_files)}  (no checks, no database)")
        show("ingest first time / baseline", f"{first / base:7.1f}x")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if not ok:
        sys.exit("benchmark invalid: not every file took the expected path (see above)")


if __name__ == "__main__":
    main()
