"""Benchmark uploading returns through the web app, with progress, against ingesting them directly.

Prints, in one run on this machine:

1. Setup (not timed): the bundled sample practices' Section 7 PDFs issued by the bulk run into a
   SQLite records database, and ``--files`` distinct filled returns (as ``bench/ingest.py`` makes them).
2. The baseline: the same files through the library's ``ingest`` directly (one process, one run),
   into a fresh copy of the database.
3. The web app: the real app served by uvicorn in a thread on a free port; an officer signs in
   through the form, uploads every file in one POST, then polls the upload's progress fragment (as
   htmx does, but every ``--poll`` seconds) until every file is checked. Each progress step seen is
   printed, then the time to the upload's redirect, the total time, returns/s, and the ratio to the
   baseline (the web app's overhead: the upload, the content checks, saving, ingest in groups).
   Every file must come out accepted in both, or the script exits non-zero.

    .venv/bin/python bench/upload.py [--files 100] [--poll 0.25] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from ingest import build_corpus, fresh_copy  # bench/ingest.py: the same corpus of filled returns

PASSWORD = "bench password, long enough"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def direct(returns: Path, url: str) -> tuple[float, list[str]]:
    """(seconds, statuses) of the library's ingest on the folder."""
    from agreementgen.ingest import ingest
    from agreementgen.records import Records

    records = Records.open(url)
    start = time.perf_counter()
    report = ingest([returns], records)
    seconds = time.perf_counter() - start
    records.engine.dispose()
    return seconds, [f.status for f in report.files]


def serve(url: str, uploads: Path) -> tuple[str, object]:
    """The app on a free port (plain HTTP on this computer), and its uvicorn server to stop."""
    import uvicorn

    from agreementgen.people import People
    from agreementgen.records import Records
    from agreementgen.web import WebConfig, create_app

    People(Records.open(url)).add_user("bench", "officer", PASSWORD)
    app = create_app(WebConfig(db_url=url, uploads=uploads, secure_cookies=False))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            sys.exit("the app did not start in 10 s")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server


def through_the_app(base: str, returns: Path, poll: float) -> tuple[float, float, list[str], str]:
    """(seconds to the redirect, seconds in all, progress steps seen, the results page)."""
    import httpx

    with httpx.Client(base_url=base, timeout=120) as client:
        token = re.search(r'name="token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post("/login", data={"token": token.group(1), "name": "bench", "password": PASSWORD})
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
        assert csrf, "signed in"
        files = [("files", (p.name, p.read_bytes(), "application/pdf")) for p in sorted(returns.iterdir())]
        start = time.perf_counter()
        sent = client.post("/upload", data={"csrf": csrf.group(1)}, files=files, follow_redirects=False)
        redirected = time.perf_counter() - start
        if sent.status_code != 303:
            sys.exit(f"the upload was refused: {sent.status_code}")
        location = sent.headers["location"]
        steps: list[str] = []
        while True:
            fragment = client.get(location, headers={"HX-Request": "true"}).text
            step = re.search(r"\d+ of \d+ checked", fragment)
            assert step
            if not steps or steps[-1] != step.group(0):
                steps.append(step.group(0))
                print(f"  {time.perf_counter() - start:6.2f} s  {step.group(0)}")
            if 'id="results"' in fragment:
                break
            time.sleep(poll)
        total = time.perf_counter() - start
        return redirected, total, steps, client.get(location).text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100, help="filled returns to upload")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between progress polls")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (printed)")
    args = parser.parse_args()
    n = args.files
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    work = Path(tempfile.mkdtemp(prefix="agreementgen-bench-upload-"))
    try:
        start = time.perf_counter()
        returns, db_path, practices = build_corpus(work, n, 2)
        print(
            f"setup (not timed): {time.perf_counter() - start:.1f} s ({practices} packs, {n} returns filled)"
        )

        warm = work / "warm"  # imports and first-use caches, outside both timed runs
        warm.mkdir()
        for path in sorted(returns.iterdir())[:5]:
            shutil.copy(path, warm / path.name)
        direct(warm, fresh_copy(db_path, "warm.db"))
        base, statuses = direct(returns, fresh_copy(db_path, "direct.db"))
        print(f"baseline, library ingest: {base:6.2f} s  {n / base:7.1f} returns/s")

        url, server = serve(fresh_copy(db_path, "web.db"), work / "uploads")
        print(f"web app, {n} files in one POST, progress as polled every {args.poll} s:")
        redirected, total, steps, page = through_the_app(url, returns, args.poll)
        server.should_exit = True  # type: ignore[attr-defined]
        print(f"  upload to redirect: {redirected:6.2f} s (received, checked by content, saved)")
        rate = f"{n / total:7.1f} returns/s  ({total / base:.2f}x the baseline)"
        print(f"web app, upload to all checked: {total:6.2f} s  {rate}")
        print(f"progress steps seen: {len(steps)}")
        accepted = len(re.findall(r'state-accepted">accepted<', page))
        if statuses.count("accepted") != n or accepted != n:
            sys.exit(f"expected every return accepted: library {statuses.count('accepted')}, web {accepted}")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
