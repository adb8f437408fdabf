"""Benchmark the bulk run: Section 7 in Word and PDF, per document and for every practice in England.

Prints, in one run on this machine:

1. DOCX per document: agreementgen's compiled path (``CompiledDocx.render``) against a
   naive loop measured in the same run on the same template and practices
   (``DocxTemplate(path)``, ``render``, ``save`` per practice), and the ratio.
2. PDF per document, written from the rendered Word document by agreementgen's writer, each
   document a different practice it has not seen (the layout caches hold only what practices
   share), as in a national run: tagged (as it writes them) on every other practice against the
   same writer untagged on the others, and the cost of tagging as a ratio (target <= +20%); and
   against
   LibreOffice converting the same rendered DOCX files to PDF in the same run (one
   ``soffice --convert-to pdf`` call for all of them after a warm-up call, so its start-up
   is shared out): the route docassemble, Carbone and Documenso take. The LibreOffice part
   is skipped, with a note, where ``soffice`` is not installed.
3. The national run: every practice in the July 2026 list-size file joined to the
   February 2026 epraccur, Section 7 in DOCX and PDF, with ``--jobs`` processes, at
   1,000 / 3,000 / all practices — wall time, and peak memory of the parent process,
   of the largest worker, and their sum (each size runs in a fresh subprocess so the
   peaks are its own). Memory is flat if the largest worker's peak grows by less than 10%
   from the smallest run to the national one.

    .venv/bin/python bench/bulk.py [--jobs 2] [--sample 80] [--libreoffice 20] [--sizes 1000,3000,0]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NATIONAL = [SHARED / "epraccur.csv", SHARED / "gp-reg-pat-prac-quin-age_2026-07.zip"]
SCHEME = ROOT / "schemes" / "cpccg-qef-2017-18.yaml"
TEMPLATE = ROOT / "templates" / "section7.docx"


def per_document(sample: int, libreoffice: int) -> None:
    from docxtpl import DocxTemplate

    from agreementgen.bulk import collect_less
    from agreementgen.kinds.section7 import section7_context
    from agreementgen.render.docx import CompiledDocx
    from agreementgen.render.pdf import WordPackage, write_pdf
    from agreementgen.render.template import WordTemplate, document_info, locked_fields
    from agreementgen.validation import load_inputs

    inputs = load_inputs(SCHEME, [ROOT / "samples/cpccg/epraccur_2023-02_06H.csv",
                                  ROOT / "samples/cpccg/gp-reg-pat-prac-all_2021-01_06H.csv"])  # fmt: skip
    practices = inputs.data.practices
    sample = min(sample, len(practices) - 1)
    contexts = [section7_context(inputs.scheme, p) for p in practices[: sample + 1]]

    start = time.perf_counter()
    for ctx in contexts[1:]:
        tpl = DocxTemplate(TEMPLATE)
        tpl.render(ctx, autoescape=True)
        tpl.save(io.BytesIO())
    naive = (time.perf_counter() - start) / sample

    start = time.perf_counter()
    compiled = CompiledDocx(TEMPLATE)
    docx = [compiled.render(ctx) for ctx in contexts[1:]]
    ours = (time.perf_counter() - start) / sample

    collect_less()  # as a bulk worker does
    template = WordTemplate(TEMPLATE)
    template.render(contexts[0], ["pdf"])  # fonts registered once per process, as in a worker
    compiled, key = template.compiled, template.static_key
    packages = [
        (WordPackage(compiled.package(compiled.render_parts(c)), static_key=key), c) for c in contexts[1:]
    ]

    def write(package: WordPackage, context: dict, tagged: bool) -> tuple[float, int]:
        start = time.perf_counter()  # the writer alone: from the rendered Word document to the PDF's bytes
        made = write_pdf(package, document_info(context), locked=locked_fields(context), tagged=tagged)
        return time.perf_counter() - start, made.count(b"/Type /Page\n")

    # Tagged (what agreementgen writes) against untagged (the same writer without the structure
    # tree), on documents the writer has not seen, as in a national run: practices take turns,
    # one tagged, the next untagged, so whatever else the machine is doing weighs on both alike.
    times: dict[bool, list[float]] = {True: [], False: []}
    pages = 0
    for number, (package, c) in enumerate(packages):
        seconds, count = write(package, c, number % 2 == 0)
        times[number % 2 == 0].append(seconds)
        pages += count
    pdf, untagged = (sum(times[mode]) / len(times[mode]) for mode in (True, False))

    print(f"Section 7, {sample} different practices ({pages / sample:.0f} pages each):")
    print(f"  DOCX per document, naive DocxTemplate loop   : {naive * 1000:7.1f} ms")
    print(f"  DOCX per document, agreementgen compiled     : {ours * 1000:7.1f} ms  (compile included)")
    print(f"  DOCX speed-up                                : {naive / ours:7.1f}x  (target >= 10x)")
    print(f"  PDF per document, agreementgen's writer      : {pdf * 1000:7.1f} ms  (target <= 15 ms; tagged)")
    print(f"  PDF per page                                 : {pdf * 1000 * sample / pages:7.1f} ms")
    print(
        f"  PDF per document, untagged (same writer)     : {untagged * 1000:7.1f} ms  (the other practices)"
    )
    cost = pdf / untagged - 1
    met = "met" if cost <= 0.20 else "NOT met"
    print(f"  tagging cost per document                    : {cost:+7.1%}  (target <= +20%: {met})")
    lo = libreoffice_per_document(docx[:libreoffice])
    if lo is not None:
        count = min(libreoffice, sample)
        print(f"  PDF per document, LibreOffice --convert-to   : {lo * 1000:7.1f} ms  ({count} documents)")
        print(f"  PDF speed-up against LibreOffice             : {lo / pdf:7.1f}x")


def libreoffice_per_document(documents: list[bytes]) -> float | None:
    """Seconds per document for LibreOffice to convert ``documents`` to PDF, in one call."""
    soffice = shutil.which("soffice")
    if not documents:
        return None
    if soffice is None:
        print("  (LibreOffice comparison skipped: soffice is not installed)")
        return None
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        profile = f"-env:UserInstallation=file://{base / 'profile'}"
        (base / "in").mkdir()
        for n, data in enumerate(documents):
            (base / "in" / f"d{n:03d}.docx").write_bytes(data)
        warm = base / "warm"
        warm.mkdir()
        shutil.copy(base / "in" / "d000.docx", warm / "w.docx")

        def convert(files: list[Path], out: Path) -> None:
            subprocess.run([soffice, profile, "--headless", "--convert-to", "pdf", "--outdir", str(out),
                            *map(str, files)], check=True, capture_output=True, timeout=1800)  # fmt: skip

        convert([warm / "w.docx"], warm)  # the profile is made on the first call: not timed
        files = sorted((base / "in").glob("*.docx"))
        start = time.perf_counter()
        convert(files, base / "out")
        seconds = time.perf_counter() - start
        made = list((base / "out").glob("*.pdf"))
        if len(made) != len(files):
            print(f"  (LibreOffice wrote {len(made)} of {len(files)} PDFs)")
        return seconds / len(files)


def one_run(size: int, jobs: int, out: Path) -> None:
    """Runs in a subprocess: one national run of ``size`` practices (0 = all)."""
    from agreementgen import bulk
    from agreementgen.bulk import RunOptions
    from agreementgen.practices import load_practice_data
    from agreementgen.validation import load_checked_scheme

    scheme = load_checked_scheme(SCHEME)
    start = time.perf_counter()
    data = load_practice_data(NATIONAL, list_size_date=date(2026, 7, 1))
    practices = data.practices[:size] if size else data.practices
    loaded = time.perf_counter() - start
    options = RunOptions(out_dir=out, templates_dir=ROOT / "templates", jobs=jobs,
                         db_url=f"sqlite:///{out / 'records.db'}", resume=False)  # fmt: skip
    report = bulk.run(scheme, practices, options)
    wall = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "practices": len(practices),
        "files": len(report.files),
        "failures": len(report.failures),
        "load_s": loaded,
        "render_s": report.seconds,
        "wall_s": wall,
        "parent_mb": own,
        "worker_mb": workers,
    }
    print(json.dumps(result))


def national(sizes: list[int], jobs: int) -> None:
    if not SHARED.is_dir():
        print(f"national run skipped: {SHARED} not found")
        return
    print(f"national run, {jobs} jobs, DOCX + PDF (load + join + render + register + manifest):")
    workers = []
    for size in sizes:
        out = Path(tempfile.mkdtemp(prefix="agreementgen-bench-"))
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--one", str(size), "--jobs", str(jobs), "--out", str(out)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            r = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            shutil.rmtree(out, ignore_errors=True)
        total_mb = r["parent_mb"] + jobs * r["worker_mb"]
        print(
            f"  {r['practices']:>6,} practices, {r['files']:>6,} files: wall {r['wall_s']:6.1f} s "
            f"(load {r['load_s']:.1f} s, render {r['render_s']:.1f} s), "
            f"{r['files'] / r['render_s']:6.0f} files/s; peak memory parent {r['parent_mb']:.0f} MB, "
            f"worker {r['worker_mb']:.0f} MB, parent + {jobs} workers <= {total_mb:.0f} MB; "
            f"failures {r['failures']}"
        )
        if r["practices"] >= 6000:
            met = "met" if r["wall_s"] <= 60 else "NOT met"
            print(f"  national run target <= 60 s: {met} ({r['wall_s']:.1f} s)")
        workers.append(r["worker_mb"])
    if len(workers) > 1:
        growth = workers[-1] / workers[0] - 1
        verdict = "flat" if growth < 0.10 else "NOT flat"
        print(
            f"  largest worker's peak memory from the smallest run to the largest: {growth:+.0%} ({verdict})"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sample", type=int, default=80)
    parser.add_argument("--libreoffice", type=int, default=20, help="documents LibreOffice converts")
    parser.add_argument("--sizes", default="1000,3000,0", help="practice counts; 0 = every practice")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        one_run(args.one, args.jobs, args.out)
        return
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    per_document(args.sample, args.libreoffice)
    national([int(s) for s in args.sizes.split(",")], args.jobs)


if __name__ == "__main__":
    main()
