"""Benchmark year-end statements at national scale (issue: year-end statements).

Every practice in the July 2026 list-size file joined to the February 2026 epraccur gets a
QEF statement (DOCX and PDF) reconciled on simulated evidence and payments (every practice
signed up and sent all its evidence; the first two instalments paid), written once in one
process (the baseline, as the command wrote them before it had a pool) and once with
``--jobs`` processes, in the same run. Prints the reconcile time, both wall times, the ratio,
and checks the two runs wrote the same bytes.

    .venv/bin/python bench/statements.py [--jobs 2] [--size 0]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NATIONAL = [SHARED / "epraccur.csv", SHARED / "gp-reg-pat-prac-quin-age_2026-07.zip"]
SCHEME = ROOT / "schemes" / "cpccg-qef-2017-18.yaml"
TEMPLATE = ROOT / "templates" / "statement.docx"
EVIDENCE = {
    "sign_up": date(2017, 5, 15),
    "practice_visit": date(2017, 6, 20),
    "action_plan": date(2017, 7, 10),
    "mid_year_report": date(2017, 9, 29),
    "year_end_report": date(2018, 3, 30),
}


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return h.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--size", type=int, default=0, help="practices (0: all)")
    args = parser.parse_args()
    if not all(p.is_file() for p in NATIONAL):
        print(f"national data not found in {SHARED}: nothing to measure")
        return 1

    from agreementgen import bulk
    from agreementgen.kinds.statement import statement_context
    from agreementgen.money import Money
    from agreementgen.payments import entitlement
    from agreementgen.practices import load_practice_data
    from agreementgen.statements import statements
    from agreementgen.validation import load_checked_scheme
    from agreementgen.yearend import YearEndInputs

    scheme = load_checked_scheme(SCHEME)
    data = load_practice_data(NATIONAL, list_size_date=date(2026, 7, 1))
    practices = [p for p in data.practices if p.list_size is not None]
    practices = practices[: args.size] if args.size else practices
    inputs = YearEndInputs()
    for p in practices:
        inputs.evidence[p.code] = dict(EVIDENCE)
        owed = entitlement(scheme, p.list_size or 0).by_instalment
        inputs.paid[p.code] = {"first": owed["first"], "second": owed["second"]}
    start = time.perf_counter()
    items = statements(scheme, practices, inputs)
    contexts = [(s.practice.code, statement_context(scheme, s, [("bench", "simulated")])) for s in items]
    reconciled = time.perf_counter() - start
    due = sum((s.reconciliation.balance for s in items), Money.of(0))

    walls, digests = {}, {}
    for jobs in (1, args.jobs):
        out = Path(tempfile.mkdtemp(prefix=f"statements-{jobs}-"))
        start = time.perf_counter()
        bulk.write_statements(contexts, out, template=TEMPLATE, formats=("docx", "pdf"), jobs=jobs)
        walls[jobs] = time.perf_counter() - start
        digests[jobs] = digest(out)
        shutil.rmtree(out)
    print(f"practices                                   : {len(items):,} (balances due: {due})")
    print(f"reconcile + statement text, all practices   : {reconciled:7.2f} s")
    print(f"write DOCX + PDF, 1 process (baseline)      : {walls[1]:7.2f} s  "
          f"({walls[1] / len(items) * 1000:.1f} ms per practice)")  # fmt: skip
    print(f"write DOCX + PDF, {args.jobs} processes               : {walls[args.jobs]:7.2f} s  "
          f"({walls[1] / walls[args.jobs]:.2f}x the baseline)")  # fmt: skip
    same = digests[1] == digests[args.jobs]
    print(f"same bytes from both runs                   : {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
