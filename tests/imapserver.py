"""A real IMAP server for the tests: Dovecot, configured in a temporary folder and run in the foreground.

``MailServer()`` writes a minimal ``dovecot.conf`` (Maildir mail, one user in a passwd-file with a
plain password, loopback only, its own run and state folders, a log file — nothing reaches the
terminal), starts ``dovecot -F -c dovecot.conf`` and waits for its port. With ``tls=True`` it has a
self-signed certificate for ``localhost`` (``cert``): IMAPS on a second port and STARTTLS on the first;
a client trusts it through ``SSL_CERT_FILE``. With ``move=False`` it does not announce MOVE, so a
client must COPY, mark deleted and expunge.

As root (CI's containers), Dovecot drops to its own users for logins, and the mail user is
``nobody`` (Dovecot will not touch mail as root); as anyone else, everything runs as that user. The
test user is ``contracts@icb.example`` (a login with an @, as NHSmail's are) with a password that is
not ASCII. Where Dovecot is not installed the tests that need it skip with the reason, except in CI.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from ports import free_port, localhost_certificate

USER = "contracts@icb.example"
PASSWORD = "correct horse £7"  # not ASCII: the login must go as UTF-8 (AUTHENTICATE PLAIN)


def quoted(folder: str) -> str:
    """A folder name as an IMAP command takes it (ASCII names only, in these tests)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MailServer:
    def __init__(self, *, tls: bool = False, move: bool = True) -> None:
        self.dovecot = shutil.which("dovecot") or (
            "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None
        )
        if self.dovecot is None:
            raise FileNotFoundError("Dovecot is not installed (Debian: dovecot-imapd)")
        self.root = Path(tempfile.mkdtemp(prefix="agreementgen-imap-"))
        self.root.chmod(0o755)  # Dovecot's own users (auth, login) read the users file in it
        self.port, self.imaps_port = free_port(), free_port()
        self.log = self.root / "dovecot.log"
        self.tls = tls
        home = self.root / "home"
        for folder in ("run", "state", "home"):
            (self.root / folder).mkdir()
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("nobody")
            uid, gid = mail_user.pw_uid, mail_user.pw_gid
            os.chown(home, uid, gid)
            users = ""
        else:
            me = pwd.getpwuid(os.getuid())
            uid, gid = me.pw_uid, me.pw_gid
            users = (
                f"default_internal_user = {me.pw_name}\ndefault_login_user = {me.pw_name}\n"
                f"default_internal_group = {grp.getgrgid(me.pw_gid).gr_name}\n"
            )
        (self.root / "users").write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::\n", encoding="utf-8"
        )
        ssl_settings = "ssl = no\n"
        if tls:
            self.cert, key = self.root / "cert.pem", self.root / "key.pem"
            localhost_certificate(self.cert, key)
            ssl_settings = f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{key}\n"
        capabilities = (
            ""
            if move
            else "imap_capability = IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS CHILDREN\n"
        )
        (self.root / "dovecot.conf").write_text(
            f"""protocols = imap
listen = 127.0.0.1
base_dir = {self.root / "run"}
state_dir = {self.root / "state"}
log_path = {self.log}
info_log_path = {self.log}
{users}{ssl_settings}{capabilities}disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root / "users"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.root / "users"}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port if tls else 0}
    ssl = yes
  }}
}}
""",
            encoding="utf-8",
        )
        with (self.root / "dovecot.out").open("wb") as out:
            self.process = subprocess.Popen(
                [self.dovecot, "-F", "-c", str(self.root / "dovecot.conf")],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                said = (self.root / "dovecot.out").read_text(errors="replace") + self._log_text()
                self.stop()
                raise RuntimeError(f"dovecot stopped at start: {said.strip()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("dovecot did not start listening within 30 s")

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_lines(self) -> list[str]:
        return self._log_text().splitlines()

    def url(self, scheme: str = "imap", host: str = "127.0.0.1") -> str:
        port = self.imaps_port if scheme == "imaps" else self.port
        return f"{scheme}://{quote(USER, safe='')}@{host}:{port}"

    def client(self) -> imaplib.IMAP4:
        """A logged-in client of our own: what a practice's or the team's mail program does."""
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.cert))
            context.check_hostname = False
            imap.starttls(context)
        imap.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
        return imap

    def append(self, message: bytes, folder: str = "INBOX") -> None:
        """Deliver a message, as the mail system would, by IMAP APPEND."""
        imap = self.client()
        try:
            typ, data = imap.append(quoted(folder), None, None, message)
            assert typ == "OK", data
        finally:
            imap.logout()

    def create(self, folder: str) -> None:
        imap = self.client()
        try:
            typ, data = imap.create(quoted(folder))
            assert typ == "OK", data
        finally:
            imap.logout()

    def message_ids(self, folder: str = "INBOX") -> list[str]:
        """The Message-ID of each message in a folder, in order (none deleted and not yet expunged)."""
        imap = self.client()
        try:
            typ, _ = imap.select(quoted(folder), readonly=True)
            assert typ == "OK"
            typ, data = imap.uid("SEARCH", "UNDELETED")
            uids = data[0].split() if data and data[0] else []
            found = []
            for uid in uids:
                _, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                header = fetched[0][1].decode().strip() if fetched and isinstance(fetched[0], tuple) else ""
                found.append(header.partition(":")[2].strip())
            return found
        finally:
            imap.logout()

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
