"""Benchmark a scheme's status board at national scale (the web app's board, ``agreementgen status``).

Every practice in the July 2026 list-size file joined to the February 2026 epraccur is issued the
QEF's Section 7 (the register holds what ``generate`` would: each practice's terms and details
from the real Section 7 context; no files are rendered), and a realistic share replies: 62%
accepted (3 in 100 after a flagged first try), 7% flagged, 3% rejected, a handful of returns
that name the scheme but no issued document; half the practices still outstanding have had one
or two reminders. Then, in the same run, the median of ``--runs`` computations of every row:

1. the baseline, as ``status`` read the records before the board: every issued document with its
   terms and practice details decoded (``issued_documents``), every return with its entries
   (``returns_for``), the sign-ups and the reminders, each in its own transaction;
2. :func:`agreementgen.status.scheme_status` today (lean columns, one transaction), which also
   makes the board's rows, accepted ones too.

Both must give the same counts and chase list, or the script exits non-zero. Target: <= 150 ms
for the board on 6,139 documents. Then the web app's board page itself, served by the real app
(Starlette, signed in through its form) with every row on one page (``?size=0``) and with the first
100: the median server time its ``Server-Timing`` header reports. Target: <= 300 ms for all rows.

    .venv/bin/python bench/board.py [--size 0] [--runs 7] [--keep]

``build(work, size)`` returns the database's URL.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NATIONAL = [SHARED / "epraccur.csv", SHARED / "gp-reg-pat-prac-quin-age_2026-07.zip"]
SCHEME = ROOT / "schemes" / "cpccg-qef-2017-18.yaml"
TARGET_MS = 150.0
PAGE_TARGET_MS = 300.0
TODAY = date(2017, 5, 21)  # ten days before the QEF's sign-up deadline


def build(work: Path, size: int = 0) -> str:
    """A SQLite records database in ``work`` holding the national round described above; its URL."""
    from agreementgen.kinds.section7 import section7_context
    from agreementgen.practices import load_practice_data
    from agreementgen.records import IssuedDocument, IssuedFile, MessageRecord, Records, ReturnRecord
    from agreementgen.simulate import practice_entries
    from agreementgen.validation import load_checked_scheme

    scheme = load_checked_scheme(SCHEME)
    data = load_practice_data(NATIONAL, list_size_date=date(2026, 7, 1))
    practices = [p for p in data.practices if p.list_size is not None]
    practices = practices[:size] if size else practices
    url = f"sqlite:///{work / 'records.db'}"
    records = Records.open(url)
    records.set_scheme_rules(scheme.id, scheme.version, scheme.sign_up_deadline, scheme.returns.model_dump(),
                             title=scheme.title, model="per_capita", default_kind="section7")  # fmt: skip
    documents = []
    for p in practices:
        context = section7_context(scheme, p)
        document = context["document"]
        files = tuple(
            IssuedFile(fmt, f"{p.code}/section7.{fmt}", "0" * 64, "1" * 64) for fmt in ("docx", "pdf")
        )
        documents.append(
            IssuedDocument(
                doc_id=document["id"], scheme_id=scheme.id, scheme_version=scheme.version,
                practice_code=p.code, practice_name=p.name, kind="section7", terms=context["terms"],
                terms_digest=document["terms_digest"], practice=context["practice"], files=files,
                form_tags=tuple(f["tag"] for f in context["form"]["fields"] if f["party"] == "practice"),
            )
        )  # fmt: skip
    records.register_issued(documents)

    signed = datetime(2017, 5, 15)
    returns: list[ReturnRecord] = []
    reminders: list[tuple[MessageRecord, str]] = []

    def reply(i: int, doc: IssuedDocument, status: str, reasons: list[str], attempt: int = 0) -> None:
        entries = practice_entries(i, signed.date())
        returns.append(
            ReturnRecord(
                sha256=f"{i:08d}{attempt:02d}".ljust(64, "0"), size=180_000, format="pdf",
                filename=f"{doc.practice_code}-section7-{attempt}.pdf", doc_id=doc.doc_id,
                id_source="form field", scheme_id=scheme.id, practice_code=doc.practice_code,
                kind="section7", status=status, reasons=reasons, fields=entries, signature_kind="typed",
                signer=entries["practice_signatory_name"], signed_date=signed.date().isoformat(), revision=1,
            )
        )  # fmt: skip

    for i, doc in enumerate(documents):
        share = i % 100
        if share < 3:  # flagged first, then sent again and accepted
            reply(i, doc, "flagged", ["the list size was changed"], 0)
            reply(i, doc, "accepted", [], 1)
        elif share < 62:
            reply(i, doc, "accepted", [])
        elif share < 69:
            reply(i, doc, "flagged", ["issued terms changed: term_total", "signed after the deadline"])
        elif share < 72:
            reply(i, doc, "rejected", ["not signed: practice_signature is empty"])
        if share >= 62 and i % 2 == 0:  # half the practices still outstanding were reminded
            for n in range(1 + i % 3 // 2):
                at = (signed + timedelta(days=2 + 7 * n)).isoformat()
                message = MessageRecord(f"<remind-{i}-{n}@bench>", "remind", scheme.id, doc.practice_code,
                                        (f"{doc.practice_code.lower()}@nhs.net",), ((doc.doc_id, 1),),
                                        f"Reminder: {scheme.title}", "sent")  # fmt: skip
                reminders.append((message, at))
    for j in range(12):  # returns naming the scheme but no document issued under it
        entries = practice_entries(j, signed.date())
        returns.append(
            ReturnRecord(
                sha256=f"unmatched{j:04d}".ljust(64, "0"), filename=f"unknown-{j}.pdf", size=1000,
                format="pdf", doc_id=None, id_source="none", scheme_id=scheme.id, practice_code=None,
                kind=None, status="rejected", reasons=["no document id"], fields=entries,
                signature_kind="none",
            )
        )  # fmt: skip
    for start in range(0, len(returns), 1000):
        records.record_returns(returns[start : start + 1000])
    for message, at in reminders:
        records.record_message(message, at=at)
    return url


def baseline(scheme: Any, records: Any, today: date, kind: str | None = None) -> dict[str, Any]:
    """``scheme_status`` as it was before the board (a copy kept to measure against): the counts and
    the chase list, from the records' whole-row reads."""
    from agreementgen.records import DELIVERED

    deadline = scheme.sign_up_deadline
    result: dict[str, Any] = {
        "scheme_id": scheme.id, "title": scheme.title, "deadline": deadline.isoformat() if deadline else "",
        "days_to_deadline": (deadline - today).days if deadline else None, "issued": 0, "returned": 0,
        "accepted": 0, "flagged": 0, "rejected": 0, "outstanding": 0, "unmatched_returns": 0, "chase": [],
    }  # fmt: skip
    documents = [
        d
        for d in records.issued_documents(scheme.id)
        if kind is None or d.kind.split("_q")[0].startswith(kind)
    ]
    issued_ids = {d.doc_id for d in documents}
    latest: dict[str, dict[str, Any]] = {}
    for row in records.returns_for(scheme.id):  # oldest first: the last one wins
        if row["doc_id"] in issued_ids:
            latest[row["doc_id"]] = row
        else:
            result["unmatched_returns"] += 1
    signups = records.signups_for(scheme.id)
    reminded: dict[str, list[str]] = {}
    for message in records.messages_for(scheme.id, kind="remind"):
        if message["outcome"] in DELIVERED:
            for document in message["documents"]:
                reminded.setdefault(document["doc_id"], []).append(message["at"])
    result["issued"] = len(documents)
    for doc in documents:
        last = latest.get(doc.doc_id)
        if last is not None:
            result["returned"] += 1
        if doc.doc_id in signups:
            result["accepted"] += 1
            continue
        state = "not returned"
        if last is not None:
            state = last["status"]
            if state == "flagged":
                result["flagged"] += 1
            elif state == "rejected":
                result["rejected"] += 1
        result["outstanding"] += 1
        practice = doc.practice
        result["chase"].append(
            {
                "practice_code": doc.practice_code,
                "practice_name": doc.practice_name,
                "email": practice.get("email", ""),
                "address": practice.get("address", ""),
                "postcode": practice.get("postcode", ""),
                "doc_id": doc.doc_id,
                "state": state,
                "last_return": last["filename"] if last else "",
                "reasons": "; ".join(last["reasons"]) if last else "",
                "deadline": result["deadline"],
                "reminders": len(reminded.get(doc.doc_id, [])),
                "last_reminded": max(reminded.get(doc.doc_id, [""]))[:10],
            }
        )
    return result


def median_ms(run: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """The median wall and CPU time of ``runs`` calls, in ms, and the last result (CPU time is beside
    the wall time because this machine's two cores are often shared with a test run)."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        result = run()
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus), result


def page_ms(url: str, scheme_id: str, runs: int) -> tuple[float, float, int]:
    """The web board's median server time (its Server-Timing header) with every row and with the
    first 100, and the size of the whole page."""
    import re

    from starlette.testclient import TestClient

    from agreementgen.people import People
    from agreementgen.records import Records
    from agreementgen.web import WebConfig, create_app
    from agreementgen.web.app import freeze_loaded

    password = "bench password, long enough"
    People(Records.open(url)).add_user("bench", "viewer", password)
    client = TestClient(create_app(WebConfig(db_url=url, secure_cookies=False)))
    freeze_loaded()  # as `agreementgen serve` does
    form = client.get("/login").text
    token = re.search(r'name="token" value="([^"]+)"', form)
    assert token is not None
    client.post("/login", data={"token": token.group(1), "name": "bench", "password": password, "next": "/"})

    def server_ms(query: str) -> tuple[float, int]:
        times, size = [], 0
        for _ in range(runs + 1):  # the first warms the templates
            response = client.get(f"/schemes/{scheme_id}{query}")
            assert response.status_code == 200, response.status_code
            times.append(float(response.headers["server-timing"].split("dur=")[1]))
            size = len(response.content)
        return statistics.median(times[1:]), size

    every, size = server_ms("?size=0")
    first, _ = server_ms("")
    return every, first, size


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=0, help="practices (0: all)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database (its path is printed)")
    args = parser.parse_args()
    if not all(p.is_file() for p in NATIONAL):
        print(f"national data not found in {SHARED}: nothing to measure")
        return 1

    from agreementgen.records import Records
    from agreementgen.status import scheme_info, scheme_status
    from agreementgen.validation import load_checked_scheme

    work = Path(tempfile.mkdtemp(prefix="agreementgen-board-"))
    try:
        start = time.perf_counter()
        url = build(work, args.size)
        built = time.perf_counter() - start
        spec = load_checked_scheme(SCHEME)
        records = Records.open(url)
        [info] = [s for s in records.schemes() if s.id == spec.id]
        scheme_status(info, records, TODAY, "section7")  # warm both paths' imports and caches once
        baseline(spec, records, TODAY, "section7")
        old_ms, old_cpu, old = median_ms(lambda: baseline(spec, records, TODAY, "section7"), args.runs)
        new_ms, new_cpu, new = median_ms(lambda: scheme_status(info, records, TODAY, "section7"), args.runs)
        same = new.as_dict() == old and info == scheme_info(spec)
        states: dict[str, int] = {}
        for row in new.rows:
            states[row.state] = states.get(row.state, 0) + 1
        print(f"register                                    : {new.issued:,} documents, "
              f"{len(records.returns_for(spec.id)):,} returns, built in {built:.1f} s")  # fmt: skip
        print(f"board rows by state                         : {dict(sorted(states.items()))}")
        load = os.getloadavg()[0]
        print(f"machine load average (1 min)                : {load:.2f} on {os.cpu_count()} cores")
        print(f"baseline (whole rows, as status read them)  : {old_ms:7.1f} ms wall, {old_cpu:6.1f} ms CPU "
              f"(medians of {args.runs})")  # fmt: skip
        print(f"board: scheme_status, every row             : {new_ms:7.1f} ms wall, {new_cpu:6.1f} ms CPU "
              f"({old_ms / new_ms:.1f}x faster than the baseline)")  # fmt: skip
        met = "met" if new_ms <= TARGET_MS else "NOT met"
        print(f"target <= {TARGET_MS:.0f} ms                             : {met}")
        print(f"same counts and chase list as the baseline  : {'yes' if same else 'NO'}")
        every, first, size = page_ms(url, spec.id, args.runs)
        print(f"web board page, all rows (?size=0)          : {every:7.1f} ms server time, "
              f"{size / 1e6:.1f} MB of HTML ({every / old_ms:.2f}x the baseline's reads)")  # fmt: skip
        print(f"web board page, first 100 rows              : {first:7.1f} ms server time")
        met = "met" if every <= PAGE_TARGET_MS else "NOT met"
        print(f"target <= {PAGE_TARGET_MS:.0f} ms server time, all rows        : {met}")
        if args.keep:
            print(f"database: {url}")
        return 0 if same else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
