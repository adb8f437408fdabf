"""``ingest --jobs N``: worker processes read and judge, this process records in batches, in the order found.

Whatever the number of workers and whichever finishes first, the records are the same: the same
status, reasons, return ids, sign-ups and superseded returns as one process records, on SQLite and
on a real PostgreSQL server. A worker that dies on a file costs only that file (a rejection); two
runs with workers on one database record every file once.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agreementgen import ingest as ingest_module
from agreementgen.ingest import CRASHED, IngestReport, ingest
from agreementgen.records import Records
from agreementgen.simulate import fill_pdf
from mutants import ENTRIES, Corpus, build_corpus

DOC_ID = "cpccg-qef-2017-18:v1:D81001:section7"
SCHEME = "cpccg-qef-2017-18"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("issued"))


def good_pdf(corpus: Corpus, **entries: str) -> bytes:
    return fill_pdf(corpus.blank_pdf, {**ENTRIES, **entries})


def another_database(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A second fresh database beside ``db_url``, of the same kind."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'other.db'}"
    return request.getfixturevalue("postgres_server").url()


def mixed_folder(corpus: Corpus, folder: Path) -> None:
    """Returns of every kind, twice over (in two sub-folders), and a FIFO."""
    good = good_pdf(corpus)
    broken = corpus.returns["pypdf.pdf"]
    files = {
        "a-accepted.pdf": good,
        "b-same-bytes.pdf": good,  # the same file again: on record once
        "c-same-entries.pdf": good + b"\n",  # other bytes, the same entries: a duplicate
        "d-newer.pdf": good_pdf(corpus, lead_gp_referral_lead="Dr Z Newman"),  # supersedes a
        "e-future-date.pdf": good_pdf(corpus, practice_signature_date="1 January 2099"),
        "f-word.docx": corpus.returns["word.docx"],
        "g-other-practice.pdf": corpus.returns["pypdfform.pdf"],
        "h-signed.pdf": corpus.returns["signed.pdf"],
        "i-damaged.pdf": broken[:40_000] + b"garbage" + broken[40_007:],  # pypdf repairs it
        "i-truncated.pdf": broken[:2_000],
        "j-not-a-pdf.pdf": b"hello",
        "k-unknown-id.pdf": good_pdf(corpus, doc_id="cpccg-qef-2017-18:v1:Z99999:section7"),
        "l-empty.pdf": b"",
    }
    for sub, lead in (("1", "Dr P One"), ("2", "Dr P Two")):
        (folder / sub).mkdir(parents=True)
        for name, data in files.items():
            (folder / sub / name).write_bytes(data)
        (folder / sub / "m-last.pdf").write_bytes(good_pdf(corpus, lead_gp_prescribing_lead=lead))
        os.mkfifo(folder / sub / "pipe.pdf")


def run(url: str, corpus: Corpus, folder: Path, jobs: int) -> tuple[IngestReport, list[dict], dict]:
    records = Records.open(url)
    records.register_issued(corpus.issued)
    report = ingest([folder], records, jobs=jobs)
    rows = [{k: v for k, v in r.items() if k != "received_at"} for r in records.returns_for()]
    signups = {
        d: {k: v for k, v in s.items() if k != "accepted_at"} for d, s in records.signups_for(SCHEME).items()
    }
    return report, rows, signups


def outcomes(report: IngestReport, folder: Path) -> list[tuple]:
    return [
        (Path(f.path).relative_to(folder).as_posix(), f.status, f.reasons, f.new, f.return_id, f.superseded)
        for f in report.files
    ]


def test_two_jobs_record_exactly_what_one_records(db_url, corpus, tmp_path, request, monkeypatch):
    """On SQLite and PostgreSQL; small batches and chunks, so that files cross many of each."""
    monkeypatch.setattr(ingest_module, "BATCH", 3)
    monkeypatch.setattr(ingest_module, "CHUNK_FILES", 2)
    folder = tmp_path / "in"
    mixed_folder(corpus, folder)
    one, one_rows, one_signups = run(db_url, corpus, folder, jobs=1)
    two, two_rows, two_signups = run(another_database(db_url, tmp_path, request), corpus, folder, jobs=2)

    assert outcomes(two, folder) == outcomes(one, folder)
    assert two_rows == one_rows and two_signups == one_signups
    assert [(s.path, s.reason) for s in two.skipped] == [(s.path, s.reason) for s in one.skipped]

    # and what they both recorded is what each file is
    status = {name: (state, new) for name, state, _reasons, new, _id, _superseded in outcomes(one, folder)}
    assert [status[f"1/{n}"] for n in ("a-accepted.pdf", "b-same-bytes.pdf", "d-newer.pdf")] == [
        ("accepted", True),
        ("accepted", False),
        ("accepted", True),
    ]
    by_name = {Path(f.path).relative_to(folder).as_posix(): f for f in one.files}
    assert by_name["1/c-same-entries.pdf"].reasons[-1] == (
        f"duplicate: the same entries as return #{by_name['1/a-accepted.pdf'].return_id}, already accepted"
    )
    assert by_name["1/d-newer.pdf"].superseded == by_name["1/a-accepted.pdf"].return_id
    assert status["1/e-future-date.pdf"] == ("flagged", True)
    assert {
        status[f"1/{n}"][0] for n in ("i-truncated.pdf", "j-not-a-pdf.pdf", "k-unknown-id.pdf", "l-empty.pdf")
    } == {"rejected"}
    assert all(
        not new for name, (_s, new) in status.items() if name.startswith("2/") and name != "2/m-last.pdf"
    )
    assert len(one.files) == 28 and len(one_rows) == 14 and len(one.skipped) == 2
    assert one_signups[DOC_ID]["return_id"] == by_name["2/m-last.pdf"].return_id


def _dies_on_a_date(real_judge):
    def judge(read, *args, **kwargs):
        if read.fields.get("practice_signature_date") == "1 January 2099":
            os._exit(70)  # as a crash in a C library would: no exception, no clean-up
        if read.fields.get("practice_signature_date") == "2 January 2099":
            raise RuntimeError("a bug met on this file")
        return real_judge(read, *args, **kwargs)

    return judge


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="workers inherit the fault by fork"
)
def test_a_worker_that_dies_on_a_file_costs_only_that_file(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "judge", _dies_on_a_date(ingest_module.judge))
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(10):
        (folder / f"{i:02}.pdf").write_bytes(good_pdf(corpus, lead_gp_prescribing_lead=f"Dr P {i}"))
    (folder / "05-dies.pdf").write_bytes(good_pdf(corpus, practice_signature_date="1 January 2099"))
    (folder / "07-raises.pdf").write_bytes(good_pdf(corpus, practice_signature_date="2 January 2099"))
    records = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    records.register_issued(corpus.issued)

    report = ingest([folder], records, jobs=2)

    statuses = [(Path(f.path).name, f.status) for f in report.files]
    assert [name for name, _status in statuses] == sorted(p.name for p in folder.iterdir())
    assert [name for name, status in statuses if status != "accepted"] == ["05-dies.pdf", "07-raises.pdf"]
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["05-dies.pdf"].reasons == (CRASHED,)
    assert by_name["07-raises.pdf"].reasons == (
        "could not be judged: RuntimeError: a bug met on this file "
        "(an agreementgen bug: keep the file, report it)",
    )
    assert len(records.returns_for()) == 12


def run_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "agreementgen.cli", "ingest", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
    )  # fmt: skip


def test_two_runs_with_workers_at_once_record_every_file_once(db_url, corpus, tmp_path):
    """``ingest --jobs 2 --json`` twice at once on one database, SQLite and PostgreSQL."""
    Records.open(db_url).register_issued(corpus.issued)
    folder = tmp_path / "returns"
    folder.mkdir()
    for i in range(16):
        (folder / f"{i:02}.pdf").write_bytes(good_pdf(corpus, lead_gp_prescribing_lead=f"Dr P {i}"))

    runs = [run_cli("returns", "--db", db_url, "--jobs", "2", "--json", cwd=tmp_path) for _ in range(2)]
    done = [(p.communicate(timeout=300), p.returncode) for p in runs]

    for (stdout, stderr), code in done:
        assert (code, stderr) == (0, "")
        assert sorted(json.loads(line)["path"] for line in stdout.splitlines()) == [
            f"returns/{i:02}.pdf" for i in range(16)
        ]
    new = [
        json.loads(line)["path"]
        for (stdout, _), _code in done
        for line in stdout.splitlines()
        if '"new": true' in line
    ]
    assert sorted(new) == [f"returns/{i:02}.pdf" for i in range(16)]  # each file new in exactly one run
    store = Records.open(db_url)
    rows = store.returns_for()
    assert len(rows) == 16 and len({r["sha256"] for r in rows}) == 16
    assert all(r["status"] == "accepted" for r in rows)
    current = {s["return_id"] for s in store.signups_for(SCHEME).values()}
    assert len(current) == 1
    assert all((r["superseded_by"] is None) == (r["id"] in current) for r in rows)


def test_jobs_0_is_one_per_core_and_a_bad_value_is_a_usage_error(corpus, tmp_path):
    db = f"sqlite:///{tmp_path / 'records.db'}"
    Records.open(db).register_issued(corpus.issued)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.pdf").write_bytes(good_pdf(corpus))
    stdout, stderr = (p := run_cli("in", "--db", db, "-j", "0", "--json", cwd=tmp_path)).communicate(
        timeout=120
    )
    assert (p.returncode, stderr) == (0, "")
    assert [json.loads(line)["status"] for line in stdout.splitlines()] == ["accepted"]
    _out, stderr = (p := run_cli("in", "--db", db, "--jobs", "-1", cwd=tmp_path)).communicate(timeout=120)
    assert p.returncode == 2 and "--jobs" in stderr
