"""Uploading returns in the web app: checked by content, kept safely, ingested with progress, and recorded."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agreementgen.people import People
from agreementgen.records import Records
from agreementgen.simulate import fill_pdf, practice_entries
from agreementgen.web.upload import Job, safe_name
from conftest import pdftk_fill
from messages import email_message
from webapp import Register, build_register, copy_register, csrf_of, make_app, signed_in

SCHEME = "cpccg-qef-2017-18"
DOC = f"{SCHEME}:v1:D81001:section7"
ENTRIES = practice_entries(0, date.today())
PDF = "application/pdf"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Register:
    return build_register(tmp_path_factory.mktemp("register"))


@pytest.fixture(scope="module")
def signed_pdf(built: Register, tmp_path_factory) -> bytes:
    """D81001's Section 7, filled and signed with pdftk, as the practice sends it back."""
    target = tmp_path_factory.mktemp("signed") / "signed.pdf"
    return pdftk_fill(built.folder / "packs" / "D81001" / "section7.pdf", ENTRIES, target).read_bytes()


@pytest.fixture
def register(built: Register, tmp_path: Path) -> Register:
    return copy_register(built, tmp_path)


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app(register: Register, uploads: Path):
    return make_app(register, uploads)


def upload(client: TestClient, files: list[tuple[str, bytes]], csrf: str | None = None):
    data = {"csrf": csrf if csrf is not None else csrf_of(client)}
    parts = [("files", (name, content, PDF)) for name, content in files]
    return client.post("/upload", data=data, files=parts, follow_redirects=False)


def finished(client: TestClient, location: str, seen: list[str] | None = None) -> str:
    """The upload's page once every file is checked; each progress step polled is added to ``seen``."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        fragment = client.get(location, headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        step = re.search(r"(\d+) of (\d+) checked", fragment.text)
        assert step, "the progress fragment says how far the check has got"
        if seen is not None and (not seen or seen[-1] != step.group(0)):
            seen.append(step.group(0))
        if 'hx-trigger="every 1s"' not in fragment.text:  # polling stops once every file is checked
            return client.get(location).text
        time.sleep(0.05)
    raise AssertionError("the upload was not checked in two minutes")


def test_an_officer_uploads_a_signed_return_and_the_register_has_it(app, register, signed_pdf) -> None:
    client = signed_in(app, "olu")
    form = client.get("/upload")
    assert form.status_code == 200
    assert '<label for="files">Returned forms (PDF, Word) or emails (.eml, .msg)</label>' in form.text
    assert 'enctype="multipart/form-data"' in form.text and 'name="csrf"' in form.text

    sent = upload(client, [("D81001 signed.pdf", signed_pdf)])
    assert sent.status_code == 303 and sent.headers["location"].startswith("/upload/")
    page = finished(client, sent.headers["location"])

    assert "1 of 1 checked" in page
    row = re.search(r"<tr>\s*<th scope=\"row\">D81001 signed.pdf</th>(.*?)</tr>", page, re.S)
    assert row and "accepted" in row.group(1) and DOC in row.group(1)
    assert f'href="/schemes/{SCHEME}/practices/D81001"' in row.group(1)
    records = Records.open(register.url)
    assert records.signups_for(SCHEME)[DOC]["signatory"] == ENTRIES["practice_signatory_name"]
    [action] = [a for a in People(records).actions() if a["action"] == "uploaded"]
    assert action["by"] == "olu" and action["target"] == sent.headers["location"].rsplit("/", 1)[-1]
    assert action["detail"] == "1 files: 1 accepted, 0 flagged, 0 rejected"


def test_a_return_emailed_back_is_taken_from_the_message(app, register, signed_pdf) -> None:
    client = signed_in(app, "olu")
    reply = email_message([("section7-signed.pdf", signed_pdf, PDF)])
    page = finished(client, upload(client, [("reply.eml", reply)]).headers["location"])
    assert "reply.eml › section7-signed.pdf" in page
    assert DOC in Records.open(register.url).signups_for(SCHEME)


def test_an_upload_of_many_files_shows_progress_and_ends_with_every_outcome(app, built, uploads) -> None:
    pack = (built.folder / "packs" / "D81002" / "section7.pdf").read_bytes()
    files = []
    for i in range(24):  # each signed by someone else: 24 different returns, each superseding the last
        entries = dict(ENTRIES, practice_signatory_name=f"Dr Signer {i}", practice_signature=f"Dr Signer {i}")
        files.append((f"return-{i:02}.pdf", fill_pdf(pack, entries)))
    files.append(("again.pdf", files[0][1]))  # the same bytes twice: on record once
    files.append(("unsigned.pdf", fill_pdf(pack, {})))
    client = signed_in(app, "olu")
    seen: list[str] = []
    page = finished(client, upload(client, files).headers["location"], seen)

    assert seen[-1] == "26 of 26 checked"
    counts = [int(s.split()[0]) for s in seen]
    assert counts == sorted(counts), "progress only goes forward"
    assert any(0 < n < 26 for n in counts), f"the count moves while the files are checked: {seen}"
    assert len(re.findall(r'<th scope="row">', page)) == 26
    assert "already on record (accepted)" in page
    unsigned = re.search(r'<th scope="row">unsigned.pdf</th>(.*?)</tr>', page, re.S)
    assert unsigned and "flagged" in unsigned.group(1) and "signatory" in unsigned.group(1).lower()
    assert "24 accepted, 1 flagged, 0 rejected, 1 already on record" in page
    [folder] = uploads.iterdir()
    assert len(list(folder.iterdir())) == 26


def test_a_job_still_running_polls_every_second_and_offers_a_refresh_link(app, uploads) -> None:
    client = signed_in(app, "olu")
    job = Job("20260101T000000Z-abcd1234", "olu", uploads / "x", ["a.pdf", "b.pdf", "c.pdf"], [], done=1)
    app.state.web.jobs[job.id] = job
    page = client.get(f"/upload/{job.id}").text
    assert '<progress id="progress-bar" value="1" max="3">' in page
    assert re.search(r'<div aria-live="polite" id="status">\s*<div id="progress" hx-get="/upload/', page)
    assert 'hx-trigger="every 1s"' in page and "1 of 3 checked" in page
    assert f'<a href="/upload/{job.id}">Refresh</a>' in page  # without JavaScript
    assert 'id="results"' not in page


def test_files_that_are_not_what_they_say_or_too_large_are_refused_and_not_kept(
    register, uploads, signed_pdf
) -> None:
    app = make_app(register, uploads, max_file_bytes=1024 * 1024)
    client = signed_in(app, "olu")
    files = [
        ("invoice.pdf", b"Dear commissioner, this is not a PDF at all.\n"),
        ("big.pdf", b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 1)),
        ("notes.txt", b"From: someone\n"),
        ("reply.eml", b"just some text\n"),
        ("signed.pdf", signed_pdf),
    ]
    page = finished(client, upload(client, files).headers["location"])

    refused = dict(re.findall(r"<li><strong>(.*?)</strong>: (.*?)</li>", page))
    assert refused == {
        "invoice.pdf": "named .pdf, but it is not a PDF (no %PDF- header in its first 1024 bytes)",
        "big.pdf": "larger than the 1 MB a returned file may be",
        "notes.txt": "only PDF, Word (.docx) and email (.eml, .mbox, .msg) files are taken",
        "reply.eml": "named .eml, but it is not an email (no mail header lines: From:, Date:, Subject: …)",
    }
    assert "1 of 1 checked" in page and "1 accepted, 0 flagged, 0 rejected, 4 not accepted" in page
    assert [p.name for p in uploads.glob("*/*")] == ["signed.pdf"]


def test_an_upload_over_the_total_size_or_number_of_files_is_refused_whole(register, uploads) -> None:
    app = make_app(register, uploads, max_upload_bytes=2 * 1024 * 1024, max_upload_files=3)
    client = signed_in(app, "olu")
    too_big = upload(client, [(f"part-{i}.pdf", b"%PDF-1.7\n" + b"0" * 800_000) for i in range(3)])
    assert too_big.status_code == 413 and "The upload is larger than 2 MB." in too_big.text
    too_many = upload(client, [(f"form-{i}.pdf", b"%PDF-1.7\n") for i in range(4)])
    assert too_many.status_code == 413
    assert "An upload takes at most 3 files; this one had 4. Upload them in smaller groups." in too_many.text
    assert not uploads.exists() or not any(uploads.iterdir())
    assert client.get("/upload").status_code == 200  # nothing broke


def test_a_path_in_a_file_name_is_dropped_and_the_file_saved_inside_the_upload_folder(
    app, uploads, signed_pdf, tmp_path
) -> None:
    client = signed_in(app, "olu")
    page = finished(client, upload(client, [("../../evil.pdf", signed_pdf)]).headers["location"])
    [saved] = uploads.glob("*/*")
    assert saved.name == "evil.pdf" and saved.parent.parent == uploads
    assert not (tmp_path / "evil.pdf").exists() and not (uploads.parent.parent / "evil.pdf").exists()
    assert '<th scope="row">evil.pdf</th>' in page


@pytest.mark.parametrize(
    ("given", "saved"),
    [
        ("../../evil.pdf", "evil.pdf"),
        ("C:\\Users\\pm\\Desktop\\signed.pdf", "signed.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("...", "upload"),
        ("bell\x07 and\r\nbreak.pdf", "bell andbreak.pdf"),
        ("invoice\u202efdp.exe.pdf", "invoicefdp.exe.pdf"),  # a right-to-left override
        ("reply › forged.pdf", "reply - forged.pdf"),  # ingest's own separator
    ],
)
def test_a_saved_name_is_a_plain_file_name(given: str, saved: str) -> None:
    assert safe_name(given, set()) == saved


def test_the_same_name_twice_is_saved_twice_under_different_names() -> None:
    taken: set[str] = set()
    assert [safe_name(n, taken) for n in ("signed.pdf", "Signed.PDF", "a/signed.pdf")] == [
        "signed.pdf",
        "Signed-2.PDF",
        "signed-3.pdf",
    ]


def test_a_viewer_cannot_upload_and_sees_no_upload_or_review_link(app, signed_pdf, uploads) -> None:
    client = signed_in(app, "vic")
    home = client.get("/").text
    assert 'href="/upload"' not in home and 'href="/review"' not in home
    assert client.get("/upload").status_code == 403
    refused = upload(client, [("signed.pdf", signed_pdf)])
    assert refused.status_code == 403 and "You need the officer role" in refused.text
    assert not uploads.exists()
    officer = signed_in(app, "olu").get("/").text
    assert 'href="/upload"' in officer and 'href="/review"' in officer


def test_an_upload_without_its_csrf_token_is_refused(app, signed_pdf, uploads) -> None:
    client = signed_in(app, "olu")
    refused = upload(client, [("signed.pdf", signed_pdf)], csrf="")
    assert refused.status_code == 403 and "did not come from this app" in refused.text
    assert not uploads.exists()


def test_an_upload_is_only_there_for_the_person_who_made_it(app, signed_pdf) -> None:
    olu = signed_in(app, "olu")
    location = upload(olu, [("signed.pdf", signed_pdf)]).headers["location"]
    finished(olu, location)
    assert signed_in(app, "asha").get(location).status_code == 404
    assert olu.get("/upload/20260101T000000Z-00000000").status_code == 404


def test_an_upload_with_no_file_chosen_asks_for_one(app) -> None:
    client = signed_in(app, "olu")
    empty = client.post(
        "/upload",
        data={"csrf": csrf_of(client)},
        files=[("files", ("", b"", "application/octet-stream"))],
        follow_redirects=False,
    )
    assert empty.status_code == 400 and "Choose at least one file to upload." in empty.text


def test_a_register_that_goes_away_mid_upload_is_said_on_the_page_and_recorded(
    app, register, signed_pdf, monkeypatch
) -> None:
    from agreementgen.errors import RecordsError
    from agreementgen.web import upload as web_upload

    def unavailable(*args, **kwargs):
        raise RecordsError("the records database is not answering")

    monkeypatch.setattr(web_upload, "ingest", unavailable)
    client = signed_in(app, "olu")
    page = finished(client, upload(client, [("signed.pdf", signed_pdf)]).headers["location"])
    assert "checking stopped: the records database is not answering" in page
    assert "0 of 1 checked" in page and "Refresh" not in page
    [action] = [a for a in People(Records.open(register.url)).actions() if a["action"] == "uploaded"]
    assert action["detail"].endswith("; checking stopped: the records database is not answering")
