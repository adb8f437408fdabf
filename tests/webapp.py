"""The web app's test bench: a real register of issued packs, users, and signed-in clients.

``issued_register`` renders three practices' QEF Section 7 packs once (the real bulk run) into
a folder; ``web_register`` copies its database for one test; ``signed_in(app, name)`` returns a
Starlette TestClient that has signed in through the real form, as a browser does.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from agreementgen.people import People
from agreementgen.records import Records
from agreementgen.web import WebConfig, create_app

PASSWORD = "correct horse battery staple"
PEOPLE = {"vic": "viewer", "olu": "officer", "asha": "approver", "ben": "approver"}
CODES = ["D81001", "D81002", "D81003"]


@dataclass
class Register:
    folder: Path  # the packs are under folder/packs
    db_path: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db_path}"


def build_register(folder: Path, codes: list[str] = CODES) -> Register:
    from conftest import issue_packs

    issue_packs(folder, codes)
    return Register(folder, folder / "issued.db")


def copy_register(source: Register, folder: Path) -> Register:
    """A test's own copy: the same packs (same paths, so their digests hold), its own database."""
    db = folder / "records.db"
    with sqlite3.connect(source.db_path) as given, sqlite3.connect(db) as copy:
        given.backup(copy)  # the write-ahead log's pages too, which a file copy would miss
    return Register(source.folder, db)


def make_app(register: Register, uploads: Path, **config: object) -> Starlette:
    people = People(Records.open(register.url))
    for name, role in PEOPLE.items():
        if not any(u["name"] == name for u in people.list_users()):
            people.add_user(name, role, PASSWORD)
    options: dict[str, object] = {"roots": (), "uploads": uploads, "secure_cookies": False}
    options.update(config)
    return create_app(WebConfig(db_url=register.url, **options))  # type: ignore[arg-type]


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> object:
    page = client.get("/login")
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token, "the sign-in form carries its CSRF token"
    return client.post(
        "/login",
        data={"token": token.group(1), "name": name, "password": password, "next": "/"},
        follow_redirects=False,
    )


def signed_in(app: Starlette, name: str) -> TestClient:
    client = TestClient(app)
    response = sign_in(client, name)
    assert response.status_code == 303, f"{name} signs in"  # type: ignore[attr-defined]
    return client


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, as every page carries it in its sign-out form."""
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert found
    return found.group(1)
