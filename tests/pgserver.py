"""A real PostgreSQL server for the tests: made with initdb in a temporary folder, started with pg_ctl.

The server listens on a free loopback port with trust authentication and lives as long as the test
session. As root (CI's containers) the server runs as the ``postgres`` user, since PostgreSQL
refuses to run as root. Where PostgreSQL is not installed the tests that need it skip with the
reason, except in CI, where that fails the run.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ports import free_port


def find_bin(name: str) -> str | None:
    """A PostgreSQL program on PATH, or in Debian's versioned folder (not on PATH by default)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


class Server:
    """One running server; ``url(name)`` makes a fresh database and returns its SQLAlchemy URL."""

    def __init__(self) -> None:
        initdb, self.pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not initdb or not self.pg_ctl:
            raise FileNotFoundError("PostgreSQL's initdb and pg_ctl are not installed (Debian: postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="agreementgen-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
        self._run([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8"])  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        log = str(self.root / "log")
        self._run([self.pg_ctl, "-D", str(self.data), "-l", log, "-o", options, "-w", "start"])
        self.count = 0

    def _run(self, command: list[str]) -> None:
        done = subprocess.run([*self.as_user, *command], capture_output=True, text=True, timeout=120)
        if done.returncode:
            said = done.stderr.strip() or done.stdout.strip()
            raise RuntimeError(f"{Path(command[0]).name} failed: {said}")

    def url(self, name: str | None = None) -> str:
        import psycopg

        self.count += 1
        name = name or f"t{self.count}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run([str(self.pg_ctl), "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
