"""Fuzz ``ingest`` with mutated returns by the hundred thousand: every file one record, no crash.

Builds the corpus the fuzz tests use (``tests/mutants.py``: QEF Section 7s issued by the bulk
run, returned as a pypdf-filled PDF, a PyPDFForm-filled PDF, a filled Word file and a
pyHanko-signed PDF), then makes ``--count`` mutants with every mutation in ``tests/mutants.py``
(bit flips, truncation, splicing, duplicated PDF objects, extreme numbers, inserted and deleted
bytes, damaged zip parts and headers, zip versions and methods Python lacks), deterministic from
``--seed``: mutant *i* is the same bytes however the run is split.

Worker processes (``--jobs``) each keep their own SQLite records database with the issued
register copied in, and take batches of mutants: write the batch to a folder and ingest the
folder in one run, as a user would. A **crash** is a run that raises, hangs past
``--timeout``, or leaves a file without exactly one outcome and one record; the batch is then
replayed file by file to name the mutants responsible, which are saved in ``--out`` (to become
regression tests). Prints the counts by outcome (accepted / flagged / rejected / crash) and by
mutation, the time and the rate; exits 1 if anything crashed.

    .venv/bin/python bench/fuzz.py [--count 100000] [--jobs 2] [--seed 12] [--batch 200]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the corpus and the mutations the fuzz tests use

from agreementgen.ingest import Skipped, ingest, ingest_file  # noqa: E402
from agreementgen.records import IssuedDocument, Records  # noqa: E402
from mutants import MUTATIONS, build_corpus, mutants  # noqa: E402

OUTCOMES = ("accepted", "flagged", "rejected", "crash")


@dataclass
class BatchResult:
    start: int
    counts: Counter[str] = field(default_factory=Counter)
    by_mutation: Counter[tuple[str, str]] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)  # "mutant 1234 (flip bits of signed.pdf): what"


# --- worker side ---------------------------------------------------------------------------------


@dataclass
class Worker:
    """One worker process's state: the corpus, its own records database, the contents it has seen."""

    returns: dict[str, bytes]
    records: Records
    folder: Path
    seed: int
    out: Path
    seen: set[str] = field(default_factory=set)


_worker: list[Worker] = []  # set once per process by _start_worker


def _start_worker(
    returns: dict[str, bytes], issued: list[IssuedDocument], work: str, seed: int, out: str
) -> None:
    folder = Path(work) / f"worker-{os.getpid()}"
    folder.mkdir(parents=True)
    records = Records.open(f"sqlite:///{folder / 'records.db'}")
    records.register_issued(issued)
    _worker.append(Worker(returns, records, folder, seed, Path(out)))


Made = tuple[str, str, bytes]  # file name, mutation, bytes


def _run_batch(job: tuple[int, int]) -> BatchResult:
    """Ingest mutants ``start`` .. ``start + count - 1`` as one folder, in one run."""
    worker, (start, count) = _worker[0], job
    folder = worker.folder / f"batch-{start}"
    folder.mkdir()
    made: list[Made] = []
    for index, source, mutation, data in mutants(worker.returns, count, worker.seed, start):
        name = f"{index:07} {source}"
        (folder / name).write_bytes(data)
        made.append((name, mutation, data))
    result = BatchResult(start)
    try:
        report = ingest([folder], worker.records)
        outcomes = {Path(f.path).name: f for f in report.files}
        fresh = {hashlib.sha256(data).hexdigest() for *_, data in made} - worker.seen
        new = sum(f.new for f in report.files)
        lost = [name for name, *_ in made if name not in outcomes or outcomes[name].status not in OUTCOMES]
        if lost or report.skipped or report.ignored or new != len(fresh):
            raise AssertionError(
                f"{len(made)} files, {len(report.files)} outcomes ({len(lost)} lost), {new} new records for "
                f"{len(fresh)} new contents, skipped {report.skipped[:2]}, ignored {report.ignored[:2]}"
            )
        worker.seen |= fresh
        for name, mutation, _data in made:
            result.counts[outcomes[name].status] += 1
            result.by_mutation[(mutation, outcomes[name].status)] += 1
    except Exception:
        _replay_one_by_one(worker, made, folder, result, traceback.format_exc(limit=-3))
    shutil.rmtree(folder)
    return result


def _replay_one_by_one(
    worker: Worker, made: list[Made], folder: Path, result: BatchResult, what: str
) -> None:
    """The batch run failed: ingest its files one at a time to name the mutants that crash it."""
    worker.out.mkdir(parents=True, exist_ok=True)
    for name, mutation, data in made:
        try:
            recorded = ingest_file(folder / name, worker.records)
            if isinstance(recorded, Skipped):
                raise AssertionError(f"skipped: {recorded.reason}")
            status = recorded.status
        except Exception as exc:
            status = "crash"
            (worker.out / f"crash-{name}.bin").write_bytes(data)
            result.crashes.append(f"mutant {name} ({mutation}): {type(exc).__name__}: {exc}")
        result.counts[status] += 1
        result.by_mutation[(mutation, status)] += 1
    if not result.crashes:  # every file on its own was fine: the batch run itself failed
        result.crashes.append(f"batch {result.start}: {what}")
        result.counts["crash"] += 1


# --- parent side ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="mutants to ingest (default 100,000)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--seed", type=int, default=12, help="the mutants' seed (default 12)")
    parser.add_argument("--batch", type=int, default=200, help="mutants per ingest run")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a batch counts as hung")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "output" / "fuzz", help="where crashing mutants go"
    )
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    work = Path(tempfile.mkdtemp(prefix="agreementgen-fuzz-"))
    crashes: list[str] = []
    try:
        began = time.perf_counter()
        corpus = build_corpus(work / "corpus")
        print(f"corpus: {', '.join(sorted(corpus.returns))} ({time.perf_counter() - began:.1f} s to build)")
        print(f"fuzzing: {args.count:,} mutants (seed {args.seed}), {args.jobs} worker process(es), "
              f"{args.batch} per ingest run")  # fmt: skip
        jobs = [(start, min(args.batch, args.count - start)) for start in range(0, args.count, args.batch)]
        totals: Counter[str] = Counter()
        by_mutation: Counter[tuple[str, str]] = Counter()
        began = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        setup = (corpus.returns, corpus.issued, str(work / "workers"), args.seed, str(args.out))
        pool = context.Pool(args.jobs, _start_worker, setup)
        try:
            pending = [(start, pool.apply_async(_run_batch, ((start, n),))) for start, n in jobs]
            for done, (start, waiting) in enumerate(pending, start=1):
                try:
                    result = waiting.get(timeout=args.timeout)
                except multiprocessing.TimeoutError:
                    result = BatchResult(start, Counter(crash=1), crashes=[f"batch {start}: hung"])
                totals.update(result.counts)
                by_mutation.update(result.by_mutation)
                crashes += result.crashes
                if done % max(1, len(jobs) // 20) == 0 or done == len(jobs):
                    seconds, so_far = time.perf_counter() - began, sum(totals.values())
                    print(f"  {so_far:>9,} mutants  {seconds:8.1f} s  {so_far / seconds:6.1f}/s  "
                          f"crashes {totals['crash']}", flush=True)  # fmt: skip
        finally:
            pool.terminate()
        seconds = time.perf_counter() - began

        total = sum(totals.values())
        print(f"\noutcomes of {total:,} mutants:")
        for outcome in OUTCOMES:
            print(f"  {outcome:<9}{totals[outcome]:>10,}  ({totals[outcome] / max(total, 1):6.1%})")
        print("\nby mutation:" + "".join(f"{o:>10}" for o in OUTCOMES))
        for mutation in sorted(MUTATIONS):
            print(f"  {mutation:<18}" + "".join(f"{by_mutation[(mutation, o)]:>10,}" for o in OUTCOMES))
        print(f"\ntime: {seconds:,.1f} s for {total:,} mutants ({total / seconds:,.1f} mutants/s, "
              f"{seconds / max(total, 1) * 1000:.1f} ms each, {args.jobs} processes)")  # fmt: skip
        for crash in crashes[:20]:
            print(f"CRASH {crash}")
        if crashes:
            print(f"{len(crashes)} crash(es); mutants saved in {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if crashes or totals["crash"] else 0)


if __name__ == "__main__":
    main()
