"""Benchmark: loading the national NHS files and calculating every practice's entitlement.

Prints wall time for agreementgen's load + join + validation + entitlement of every practice
in England, against a baseline measured in the same run: a bare ``csv.reader`` pass over the
same files (no validation, no join) — the floor any loader must pay to read the bytes.

    .venv/bin/python bench/load.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import io
import time
import zipfile
from datetime import date
from pathlib import Path

from agreementgen.entitlements import entitlement_table
from agreementgen.practices import load_practice_data
from agreementgen.validation import load_checked_scheme

ROOT = Path(__file__).resolve().parents[1]


def bare_read(paths: list[Path]) -> int:
    rows = 0
    for path in paths:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                text = zf.read(zf.namelist()[0]).decode("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        rows += sum(1 for _ in csv.reader(io.StringIO(text, newline="")))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    paths = [args.shared / "epraccur.csv", args.shared / "gp-reg-pat-prac-quin-age_2026-07.zip"]
    scheme = load_checked_scheme(ROOT / "schemes" / "cpccg-qef-2017-18.yaml")

    start = time.perf_counter()
    rows = bare_read(paths)
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    data = load_practice_data(paths, list_size_date=date(2026, 7, 1))
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    table = entitlement_table(scheme, data.practices)
    calculated = time.perf_counter() - start

    print(f"rows read:                 {rows:,}")
    print(f"baseline csv.reader pass:  {baseline:6.2f} s")
    print(f"agreementgen load + join:  {loaded:6.2f} s  ({loaded / baseline:.1f}x the bare read)")
    print(f"entitlements:              {calculated:6.2f} s  for {len(table.rows):,} practices")
    print(f"scheme total:              {table.total}")
    excluded = sum(data.excluded.values())
    print(f"problems reported:         {len(data.problems):,}; excluded rows: {excluded:,}")


if __name__ == "__main__":
    main()
