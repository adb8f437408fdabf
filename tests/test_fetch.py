"""Fetching returns from a real IMAP server: Dovecot, started by the suite (see ``imapserver.py``).

Signed returns (QEF Section 7s issued by the bulk run, signed with pdftk) are emailed back — delivered
by IMAP APPEND, as the mail system would — and ``fetch`` takes them in: judged and recorded as
ingest does, remembered per folder and UIDVALIDITY so a second fetch changes nothing, left unread or
moved. Over TLS (imaps://, and STARTTLS on imap://) with a self-signed certificate trusted through
``SSL_CERT_FILE``, and on a server without MOVE. Failures — no server, a certificate not trusted, the
login refused, no such folder, the server gone part-way — are clear messages, never tracebacks.
"""

from __future__ import annotations

import itertools
import re

import pytest
from typer.testing import CliRunner

from agreementgen import fetch as fetch_module
from agreementgen.cli import app
from agreementgen.errors import MailboxError
from agreementgen.fetch import PASSWORD_ENV, fetch, parse_imap_url, plain_allowed
from agreementgen.records import Records
from conftest import in_ci
from imapserver import PASSWORD, USER, MailServer
from messages import email_message, issue_packs, signed_returns

PDF = "application/pdf"
FOLDERS = (f"Returns {n}" for n in itertools.count(1))  # each test its own folders on the shared server


def start(**options) -> MailServer:
    try:
        return MailServer(**options)
    except FileNotFoundError as exc:
        if in_ci():
            pytest.fail(f"{exc}; CI must have it")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def server():
    """Plain IMAP on localhost, with MOVE."""
    running = start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tls_server():
    """IMAPS, and STARTTLS on the IMAP port, with a self-signed certificate; no MOVE."""
    running = start(tls=True, move=False)
    yield running
    running.stop()


@pytest.fixture
def trusts_tls_server(tls_server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.cert))


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    return issue_packs(tmp_path_factory.mktemp("issued"))


@pytest.fixture(scope="module")
def signed(packs, tmp_path_factory) -> dict[str, bytes]:
    return signed_returns(packs[0], tmp_path_factory.mktemp("signed"))


@pytest.fixture
def records(tmp_path, packs) -> Records:
    store = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    store.register_issued(packs[1])
    return store


def deliver(server: MailServer, signed: dict[str, bytes]) -> str:
    """Three replies in a new folder: two practices' signed Section 7s, and a message with none."""
    folder = next(FOLDERS)
    server.create(folder)
    for code in ("D81001", "D81002"):
        sender = f"{code.lower()}@practices.example.nhs.uk"
        server.append(
            email_message([("signed.pdf", signed[code], PDF)], sender=sender, message_id=f"<{code}@x>"),
            folder,
        )
    server.append(email_message([], message_id="<none@x>", subject="Form to follow"), folder)
    return folder


def test_returns_emailed_back_are_fetched_and_recorded_and_left_unread(server, records, signed):
    folder = deliver(server, signed)
    address = parse_imap_url(server.url())
    report = fetch(address, folder, PASSWORD, records)
    assert (report.in_folder, report.taken, report.seen_before, report.problem) == (3, 3, 0, None)
    url = f"imap://contracts%40icb.example@127.0.0.1:{server.port}/Returns%20"
    assert [(f.path.split(";UID=")[1], f.status, f.message_id) for f in report.ingest.files] == [
        ("1 › signed.pdf", "accepted", "<D81001@x>"),
        ("2 › signed.pdf", "accepted", "<D81002@x>"),
        ("3", "rejected", "<none@x>"),
    ]
    assert all(f.path.startswith(url) for f in report.ingest.files)
    assert report.ingest.files[1].sender == "d81002@practices.example.nhs.uk"
    kept = records.mail_in_for()
    assert [k["message_id"] for k in kept] == ["<D81001@x>", "<D81002@x>", "<none@x>"]
    assert kept[0]["source"] == f"{url}{folder.split()[1]};UIDVALIDITY={report.uidvalidity}/;UID=1"
    assert kept[0]["received_at"] == "2026-05-12T09:30:00+00:00"
    assert records.imap_seen(address.mailbox_key(folder), report.uidvalidity) == {1, 2, 3}
    assert server.message_ids(folder) == ["<D81001@x>", "<D81002@x>", "<none@x>"]  # left where they were
    imap = server.client()
    imap.select(f'"{folder}"', readonly=True)
    _, flags = imap.uid("FETCH", "1:*", "(FLAGS)")
    imap.logout()
    assert not any(b"\\Seen" in line for line in flags)  # not even marked read


def test_a_second_fetch_changes_nothing(server, records, signed):
    folder = deliver(server, signed)
    address = parse_imap_url(server.url())
    fetch(address, folder, PASSWORD, records)
    before = (records.returns_for(), records.mail_in_for())
    again = fetch(address, folder, PASSWORD, records)
    assert (again.in_folder, again.taken, again.seen_before, again.ingest.files) == (3, 0, 3, [])
    assert (records.returns_for(), records.mail_in_for()) == before


def test_move_to_moves_each_message_taken_in(server, records, signed):
    folder = deliver(server, signed)
    done = next(FOLDERS)
    server.create(done)
    address = parse_imap_url(server.url())
    report = fetch(address, folder, PASSWORD, records, move_to=done)
    assert (report.taken, report.moved) == (3, 3)
    assert server.message_ids(folder) == []
    assert server.message_ids(done) == ["<D81001@x>", "<D81002@x>", "<none@x>"]
    again = fetch(address, folder, PASSWORD, records, move_to=done)
    assert (again.in_folder, again.taken, again.moved) == (0, 0, 0)


def test_a_message_taken_but_left_is_moved_by_a_later_fetch_with_move_to(server, records, signed):
    folder = deliver(server, signed)
    done = next(FOLDERS)
    server.create(done)
    address = parse_imap_url(server.url())
    fetch(address, folder, PASSWORD, records)  # left
    report = fetch(address, folder, PASSWORD, records, move_to=done)
    assert (report.taken, report.seen_before, report.moved) == (0, 3, 3)
    assert server.message_ids(folder) == [] and len(server.message_ids(done)) == 3


def test_over_imaps_on_a_server_without_move_messages_are_copied_and_expunged(
    tls_server, trusts_tls_server, records, signed
):
    folder = deliver(tls_server, signed)
    done = next(FOLDERS)
    tls_server.create(done)
    report = fetch(parse_imap_url(tls_server.url("imaps")), folder, PASSWORD, records, move_to=done)
    assert (report.taken, report.moved, report.problem) == (3, 3, None)
    assert tls_server.message_ids(folder) == []
    assert tls_server.message_ids(done) == ["<D81001@x>", "<D81002@x>", "<none@x>"]
    assert [f.status for f in report.ingest.files] == ["accepted", "accepted", "rejected"]


def test_imap_uses_starttls_when_the_server_offers_it(tls_server, trusts_tls_server, records, signed):
    folder = deliver(tls_server, signed)
    report = fetch(parse_imap_url(tls_server.url("imap", host="localhost")), folder, PASSWORD, records)
    assert report.taken == 3
    logins = [line for line in tls_server.log_lines() if "Login: user=<contracts@icb.example>" in line]
    assert logins and all(", TLS," in line for line in logins)  # never a password in clear


def test_a_certificate_not_trusted_here_stops_the_fetch_before_the_login(tls_server, records, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(MailboxError) as raised:
        fetch(parse_imap_url(tls_server.url("imaps")), "INBOX", PASSWORD, records)
    assert raised.value.message == (
        f"the mail server at 127.0.0.1:{tls_server.imaps_port} is not who it should be, or its certificate "
        "is not trusted here (self-signed certificate): check the host name in the URL"
    )


def test_failures_before_anything_is_taken_are_mailbox_errors(server, records):
    address = parse_imap_url(server.url())
    with pytest.raises(MailboxError) as raised:
        fetch(address, "INBOX", "wrong password", records)
    assert raised.value.message == (
        "the mail server refused the login for contracts@icb.example: [AUTHENTICATIONFAILED] Authentication "
        f"failed. Check the login in the URL and the password in {PASSWORD_ENV}"
    )
    with pytest.raises(MailboxError) as raised:
        fetch(address, "No Such Folder", PASSWORD, records)
    assert raised.value.message.startswith(
        "no folder 'No Such Folder' in the mailbox of contracts@icb.example ("
    )
    assert "the folders: INBOX" in raised.value.message
    with pytest.raises(MailboxError, match=r"no folder 'Done' to move the messages to in imap://"):
        fetch(address, "INBOX", PASSWORD, records, move_to="Done")
    closed = parse_imap_url(f"imap://someone@127.0.0.1:{_closed_port()}")
    with pytest.raises(
        MailboxError, match="refused the connection: check the URL's port and that the server"
    ):
        fetch(closed, "INBOX", PASSWORD, records)
    assert records.returns_for() == [] and records.mail_in_for() == []


def _closed_port() -> int:
    from ports import free_port

    return free_port()


def test_the_server_gone_part_way_keeps_what_was_taken(signed, records):
    server = start()
    try:
        folder = deliver(server, signed)
        address = parse_imap_url(server.url())

        def stop_after_the_first(done: int, _total: int) -> None:
            if done == 1:
                server.stop()

        report = fetch(address, folder, PASSWORD, records, on_fetched=stop_after_the_first, timeout=10)
    finally:
        server.stop()
    assert report.problem is not None
    assert report.problem.startswith("the mail server failed after 1 message(s) were fetched (")
    assert report.problem.endswith("): those are on record; run fetch again to take the rest")
    assert [(f.status, f.message_id) for f in report.ingest.files] == [("accepted", "<D81001@x>")]
    assert records.imap_seen(address.mailbox_key(folder), report.uidvalidity) == {1}


def test_a_message_over_the_size_limit_is_recorded_from_its_headers_unread(
    server, records, signed, monkeypatch
):
    monkeypatch.setattr(fetch_module, "MAX_MAIL_BYTES", 50_000)
    folder = next(FOLDERS)
    server.create(folder)
    server.append(email_message([("signed.pdf", signed["D81001"], PDF)], message_id="<big@x>"), folder)
    report = fetch(parse_imap_url(server.url()), folder, PASSWORD, records)
    [outcome] = report.ingest.files
    assert outcome.status == "rejected" and outcome.message_id == "<big@x>"
    assert re.fullmatch(
        r"message is [0-9,]+ bytes, over the 50,000-byte limit for a mail message", outcome.reasons[0]
    )
    assert (report.taken, report.too_large) == (1, 1)
    assert records.mail_in_for()[0]["sender"] == "d81001@practices.example.nhs.uk"


def test_the_mailbox_url_says_where_and_who_never_the_password():
    address = parse_imap_url("imaps://contracts%40icb.nhs.net@imap.example.nhs.uk")
    assert (address.user, address.host, address.port) == ("contracts@icb.nhs.net", "imap.example.nhs.uk", 993)
    assert str(address) == "imaps://contracts%40icb.nhs.net@imap.example.nhs.uk:993"
    assert parse_imap_url("imap://me@localhost").port == 143
    for bad, why in (
        ("imaps://me:secret@host", "put the password in the environment variable AGREEMENTGEN_IMAP_PASSWORD"),
        ("https://me@host", "the mailbox URL must start imaps:// (TLS, port 993) or imap://"),
        ("imaps://host", "give the login and the server"),
        ("imaps://me@host/INBOX", "give the folder with --folder"),
        ("imaps://me@host:99999", "is not an IMAP URL"),
    ):
        with pytest.raises(MailboxError, match=re.escape(why)):
            parse_imap_url(bad)
    assert plain_allowed("localhost") and plain_allowed("127.0.0.1") and plain_allowed("::1")
    assert not plain_allowed("imap.example.nhs.uk") and not plain_allowed("10.0.0.5")


# --- the command line -----------------------------------------------------------------------------------


def invoke(*args: str, password: str | None = PASSWORD, **env: str):
    environment = {"COLUMNS": "250", **env}
    if password is not None:
        environment[PASSWORD_ENV] = password
    return CliRunner().invoke(app, ["fetch", *args], env=environment)


def test_fetch_on_the_command_line(server, packs, signed, tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    Records.open(db).register_issued(packs[1])
    folder = deliver(server, signed)
    done = next(FOLDERS)
    server.create(done)
    result = invoke("--imap", server.url(), "--folder", folder, "--db", db, "--move-to", done)
    assert result.exit_code == 1, result.output  # the message with no attachment was rejected
    assert f"accepted {server.url()}/Returns%20" in result.output
    assert "from d81001@practices.example.nhs.uk" in result.output
    assert (
        f"{folder} at {server.url()}: 3 message(s), 3 taken in, 0 taken before; moved 3 to {done}"
        in result.output
    )
    again = invoke("--imap", server.url(), "--folder", folder, "--db", db, "--move-to", done)
    assert again.exit_code == 0 and f"{folder} at {server.url()}: 0 message(s), 0 taken in" in again.output


@pytest.mark.parametrize(
    ("args", "password", "said"),
    [
        ((), None, "error: no password: set the environment variable AGREEMENTGEN_IMAP_PASSWORD"),
        (("--leave", "--move-to", "Done"), PASSWORD, "error: give --move-to FOLDER or --leave, not both"),
        ((), "wrong", "error: nothing fetched: the mail server refused the login for"),
        (("--folder", "Nowhere"), PASSWORD, "error: nothing fetched: no folder 'Nowhere'"),
    ],
)
def test_fetch_that_cannot_start_exits_2_saying_why(server, tmp_path, args, password, said):
    result = invoke(
        "--imap", server.url(), "--db", f"sqlite:///{tmp_path / 'r.db'}", *args, password=password
    )
    assert result.exit_code == 2
    assert said in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_password_in_the_url_is_refused(tmp_path):
    result = invoke(
        "--imap", f"imaps://{USER}:{PASSWORD}@imap.example", "--db", f"sqlite:///{tmp_path / 'r.db'}"
    )
    assert result.exit_code == 2 and "not in the URL" in result.output


def test_a_folder_named_in_any_language_is_found(server, records, signed):
    server.create("R&AOk-ponses sign&AOk-es")  # "Réponses signées", as IMAP names it (modified UTF-7)
    server.create("Trait&AOk-es")  # "Traitées"
    server.append(
        email_message([("signed.pdf", signed["D81004"], PDF)], message_id="<fr@x>"),
        "R&AOk-ponses sign&AOk-es",
    )
    report = fetch(parse_imap_url(server.url()), "Réponses signées", PASSWORD, records, move_to="Traitées")
    assert [(f.status, f.message_id) for f in report.ingest.files] == [("accepted", "<fr@x>")]
    assert report.moved == 1 and server.message_ids("Trait&AOk-es") == ["<fr@x>"]
