"""The web app over a real register: who may see what, and the pages a contracts officer reads."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from agreementgen.people import MAX_FAILURES, People
from agreementgen.records import Records, issued
from webapp import PASSWORD, Register, build_register, copy_register, csrf_of, make_app, sign_in, signed_in

SCHEME = "cpccg-qef-2017-18"
DOC = f"{SCHEME}:v1:D81001:section7"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Register:
    return build_register(tmp_path_factory.mktemp("register"))


@pytest.fixture
def register(built: Register, tmp_path: Path) -> Register:
    return copy_register(built, tmp_path)


@pytest.fixture
def app(register: Register, tmp_path: Path):
    return make_app(register, tmp_path / "uploads")


def _routes(app) -> list[tuple[str, str]]:
    """Every route and method of the app but the sign-in form and the static files, with ids filled."""
    filled = {
        "{scheme}": SCHEME,
        "{code}": "D81001",
        "{doc_id}": DOC,
        "{revision:int}": "1",
        "{fmt}": "pdf",
        "{return_id:int}": "1",
        "{job}": "x",
        "{run:int}": "1",
    }
    found = []
    for route in app.routes:
        if isinstance(route, Mount) or not isinstance(route, Route) or route.path == "/login":
            continue
        path = route.path
        for placeholder, value in filled.items():
            path = path.replace(placeholder, value)
        found.extend((method, path) for method in sorted(route.methods or ()) if method != "HEAD")
    return found


def test_every_route_without_a_session_is_refused(app) -> None:
    client = TestClient(app)
    routes = _routes(app)
    assert ("GET", "/") in routes and ("POST", "/logout") in routes
    for method, path in routes:
        response = client.request(method, path, follow_redirects=False)
        if method == "GET":
            assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), (
                path
            )
        else:
            assert response.status_code == 401, path
        assert "D81001" not in response.text and "LENSFIELD" not in response.text.upper(), path


def test_a_signed_in_officer_sees_each_scheme_with_its_counts(app) -> None:
    page = signed_in(app, "olu").get("/")
    assert page.status_code == 200
    assert "Quality &amp; Engagement Framework" in page.text or "Quality" in page.text
    assert f'href="/schemes/{SCHEME}"' in page.text
    assert "31 May 2017" in page.text  # the sign-up deadline


def test_a_wrong_password_is_refused_and_after_five_failures_even_the_right_one_is(app) -> None:
    client = TestClient(app)
    for _ in range(MAX_FAILURES):
        assert sign_in(client, "asha", "not the password").status_code == 401  # type: ignore[attr-defined]
    locked = sign_in(client, "asha", PASSWORD)
    assert locked.status_code == 429 and "Too many failed attempts" in locked.text  # type: ignore[attr-defined]


def test_signing_out_ends_the_session_on_the_server(app) -> None:
    client = signed_in(app, "olu")
    cookie = client.cookies.get("agreementgen_session")
    assert client.post("/logout", data={"csrf": csrf_of(client)}, follow_redirects=False).status_code == 303
    replay = TestClient(app, cookies={"agreementgen_session": cookie})
    assert replay.get("/", follow_redirects=False).status_code == 303


def test_a_session_idle_past_its_timeout_is_ended(register: Register, tmp_path: Path) -> None:
    app = make_app(register, tmp_path / "uploads", session_minutes=1)
    client = signed_in(app, "olu")
    records = Records.open(register.url)
    with records._begin() as conn:  # an hour without a request
        conn.exec_driver_sql("update web_sessions set last_seen_at = '2000-01-01T00:00:00+00:00'")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_post_without_its_csrf_token_is_refused(app) -> None:
    client = signed_in(app, "asha")
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "did not come from this app" in refused.text
    assert client.get("/").status_code == 200  # still signed in: the forged sign-out did nothing
    assert client.post("/logout", data={"csrf": "guess"}, follow_redirects=False).status_code == 403


def test_the_sign_in_form_needs_its_own_token(app) -> None:
    client = TestClient(app)
    response = client.post("/login", data={"name": "asha", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403 and "agreementgen_session" not in response.cookies


def test_sign_in_never_redirects_to_another_site(app) -> None:
    client = TestClient(app)
    page = client.get("/login?next=//evil.example/x")
    assert "//evil.example" not in page.text
    token = page.text.split('name="token" value="')[1].split('"')[0]
    done = client.post(
        "/login",
        data={"token": token, "name": "olu", "password": PASSWORD, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/"


def test_a_practice_name_with_a_script_tag_shows_as_text(app, register: Register) -> None:
    records = Records.open(register.url)
    with records._begin() as conn:
        conn.execute(
            issued.update()
            .where(issued.c.doc_id == DOC)
            .values(practice_name="<script>alert('x')</script> Surgery")
        )
    client = signed_in(app, "vic")
    for path in (f"/schemes/{SCHEME}?size=0", f"/schemes/{SCHEME}/practices/D81001"):
        text = client.get(path).text
        assert "<script>alert" not in text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Surgery" in text


def test_the_board_is_searched_filtered_and_sorted(app) -> None:
    client = signed_in(app, "vic")
    everyone = client.get(f"/schemes/{SCHEME}").text
    assert all(code in everyone for code in ("D81001", "D81002", "D81003"))
    found = client.get(f"/schemes/{SCHEME}", params={"q": "d81002"}).text
    assert "D81002" in found and "D81001" not in found and "1 practice(s)" in found
    assert "0 practice(s)" in client.get(f"/schemes/{SCHEME}", params={"state": "accepted"}).text
    backwards = client.get(f"/schemes/{SCHEME}", params={"sort": "code", "dir": "desc"}).text
    assert backwards.index("D81003") < backwards.index("D81001")


def test_the_chase_list_downloads_as_csv_and_as_a_workbook_openpyxl_opens(app) -> None:
    client = signed_in(app, "vic")
    csv = client.get(f"/schemes/{SCHEME}/chase.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.lstrip("\ufeff").splitlines()[0].startswith("practice_code,practice_name")
    xlsx = client.get(f"/schemes/{SCHEME}/chase.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "practice_code" and sorted(r[0] for r in rows[1:]) == ["D81001", "D81002", "D81003"]


def test_a_practice_page_lists_its_documents_and_their_downloads_are_the_issued_bytes(app, register) -> None:
    client = signed_in(app, "vic")
    page = client.get(f"/schemes/{SCHEME}/practices/D81001")
    assert page.status_code == 200 and f"/documents/{DOC}/r1.pdf" in page.text
    pdf = client.get(f"/documents/{DOC}/r1.pdf")
    assert (
        pdf.status_code == 200 and pdf.content == (register.folder / "packs/D81001/section7.pdf").read_bytes()
    )
    assert client.get(f"/schemes/{SCHEME}/practices/Z99999").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/documents/..%2F..%2F..%2Fetc%2Fpasswd/r1.pdf",
        "/documents/../../etc/passwd",
        f"/documents/{DOC}/r1.txt",
        f"/documents/{DOC}/r9.pdf",
        "/static/../records.db",
        "/static/%2e%2e/%2e%2e/people.py",
    ],
)
def test_a_download_cannot_leave_the_served_folders(app, path: str) -> None:
    response = signed_in(app, "vic").get(path)
    assert response.status_code in (403, 404)
    assert b"root:" not in response.content and b"SQLite format" not in response.content


def test_a_file_recorded_outside_the_served_folders_or_changed_since_issue_is_not_served(
    app, register
) -> None:
    records = Records.open(register.url)
    client = signed_in(app, "vic")
    (register.folder / "packs/D81002/section7.pdf").write_bytes(b"%PDF-1.7 altered")
    changed = client.get(f"/documents/{DOC.replace('D81001', 'D81002')}/r1.pdf")
    assert changed.status_code == 409 and "changed since it was issued" in changed.text
    for elsewhere in ("/etc/passwd", "../../../../../../../../etc/passwd"):
        with records._begin() as conn:  # a register edited to point at a file elsewhere
            conn.exec_driver_sql(
                "update revisions set files_json = replace(files_json, ?, ?) where doc_id = ?",
                ("D81001/section7.pdf", elsewhere, DOC),
            )
        outside = client.get(f"/documents/{DOC}/r1.pdf")
        assert outside.status_code == 403 and b"root:" not in outside.content
        with records._begin() as conn:
            conn.exec_driver_sql(
                "update revisions set files_json = replace(files_json, ?, ?) where doc_id = ?",
                (elsewhere, "D81001/section7.pdf", DOC),
            )


def test_every_action_is_recorded_with_the_users_name(app, register) -> None:
    client = signed_in(app, "vic")
    client.get(f"/documents/{DOC}/r1.docx")
    done = [(a["by"], a["action"], a["target"]) for a in People(Records.open(register.url)).actions()]
    assert ("vic", "downloaded", DOC) in done and ("vic", "signed in", "") in done


def test_pages_carry_a_strict_content_security_policy_and_the_server_time(app) -> None:
    page = signed_in(app, "vic").get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["server-timing"].startswith("app;dur=")
    assert page.headers["cache-control"] == "no-store"


def test_cookies_are_secure_unless_served_on_this_computer_only(register: Register, tmp_path: Path) -> None:
    app = make_app(register, tmp_path / "uploads", secure_cookies=True)
    client = TestClient(app, base_url="https://testserver")
    response = sign_in(client, "olu")
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_an_unknown_page_is_a_plain_not_found_page(app) -> None:
    page = signed_in(app, "vic").get("/no/such/page")
    assert page.status_code == 404 and "There is no such page." in page.text and "Traceback" not in page.text


def test_users_are_added_with_a_password_asked_at_the_terminal(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agreementgen.cli import app as cli

    db = f"sqlite:///{tmp_path / 'r.db'}"
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["users", "add", "Asha Patel", "--role", "approver", "--db", db],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert added.exit_code == 0 and "added Asha Patel (approver)" in added.output
    assert PASSWORD not in added.output
    short = runner.invoke(
        cli, ["users", "add", "Olu", "--role", "officer", "--db", db], input="short\nshort\n"
    )
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    wrong = runner.invoke(
        cli, ["users", "add", "Olu", "--role", "boss", "--db", db], input=f"{PASSWORD}\n" * 2
    )
    assert wrong.exit_code != 0 and "viewer, officer, approver" in wrong.output
    listed = runner.invoke(cli, ["users", "list", "--db", db])
    assert "Asha Patel" in listed.output and "approver" in listed.output
    [row] = People(Records.open(db)).list_users()
    assert json.dumps(row).count("argon2") == 0  # the hash is never listed
    assert runner.invoke(cli, ["users", "disable", "Asha Patel", "--db", db]).exit_code == 0
    session, why = People(Records.open(db)).sign_in("Asha Patel", PASSWORD, "127.0.0.1")
    assert session is None and why == "wrong"


def test_serve_answers_on_this_computer_and_a_second_on_its_port_is_told_plainly(register: Register) -> None:
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from ports import free_port

    port = free_port()
    run = "from agreementgen.cli import run; run()"
    command = [sys.executable, "-c", run, "serve", "--db", register.url, "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, answer = time.monotonic() + 30, None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert answer is not None and answer.status == 200
        assert "Sign in" in answer.read().decode()
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert second.returncode != 0 and "it is in use; choose another with --port" in second.stderr
        assert "Traceback" not in second.stderr and "ERROR:" not in second.stderr
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert f"agreementgen web app on http://127.0.0.1:{port}/" in out
    assert "INFO" not in out + err and "Traceback" not in out + err
