"""The people who use the web app: users and roles, sign-in sessions, failed sign-ins, actions.

Kept in the records database beside what they act on (tables ``users``, ``web_sessions``,
``login_failures`` and ``actions``, schema 6), so a team on PostgreSQL shares one list of
people and every server process sees the same sessions.

* A **user** has a name, a role and an argon2 hash of a password (argon2-cffi's defaults,
  RFC 9106's second recommended setting). Roles are ordered: a *viewer* reads; an *officer*
  also uploads returns and verifies claims; an *approver* also decides flagged returns and
  approves claims.
* A **session** is a random token in the browser's cookie; only its sha256 is stored, so a
  copy of the database does not sign anyone in. It ends when its user signs out, after
  ``idle`` without a request, or ``lifetime`` after sign-in, whichever is first. Each session
  has its own CSRF token, which every form and htmx request must send back.
* **Failed sign-ins** are counted per name and per address over a window; past the limit,
  sign-in is refused (even with the right password) until the window has moved on.
* An **action** is one thing a person did (signed in, uploaded, reviewed, verified, approved,
  downloaded): when, who, what and on what. It is the web app's audit trail.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update

from .errors import AgreementgenError
from .records import Records, actions, login_failures, users, web_sessions

ROLES = ("viewer", "officer", "approver")  # each may do what the ones before it may
NAME_CHARS = 64
MIN_PASSWORD = 12  # NCSC: length over complexity rules
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=10)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5  # per name, and per address, within the window

_hasher = PasswordHasher()
# A hash to verify against when the name is unknown, so an unknown name takes as long as a wrong
# password and the response time does not tell which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PeopleError(AgreementgenError):
    """A user cannot be added or changed: a bad name, role or password, or an unknown user."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this user has ``role`` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    key: str  # the sha256 of the cookie's token: the session's row


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_CHARS or not name.isprintable():
        raise PeopleError(f"a user name is 1 to {NAME_CHARS} printable characters", field="NAME")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PeopleError(f"a password needs at least {MIN_PASSWORD} characters", field="password")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise PeopleError(f"the role is one of {', '.join(ROLES)}, not '{role}'", field="--role")
    return role


class People:
    """Users, sessions, failed sign-ins and actions in a records database."""

    def __init__(self, records: Records, idle: timedelta = IDLE, lifetime: timedelta = LIFETIME) -> None:
        self.records = records
        self.idle = idle
        self.lifetime = lifetime

    # users -----------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str) -> User:
        name, role = check_name(name), check_role(role)
        check_password(password)
        now = _now().isoformat()
        with self.records._begin() as conn:
            if conn.execute(select(users.c.name).where(users.c.name == name)).first() is not None:
                raise PeopleError(f"there is already a user '{name}'", field="NAME")
            conn.execute(
                insert(users).values(
                    name=name, role=role, password_hash=_hasher.hash(password), created_at=now, updated_at=now
                )
            )
        return User(name, role)

    def change_user(
        self, name: str, *, role: str | None = None, password: str | None = None, disabled: bool | None = None
    ) -> User:
        values: dict[str, Any] = {"updated_at": _now().isoformat()}
        if role is not None:
            values["role"] = check_role(role)
        if password is not None:
            check_password(password)
            values["password_hash"] = _hasher.hash(password)
        if disabled is not None:
            values["disabled"] = disabled
        with self.records._begin() as conn:
            done = conn.execute(update(users).where(users.c.name == name).values(**values))
            if done.rowcount == 0:
                raise PeopleError(f"there is no user '{name}'", field="NAME")
            if password is not None or disabled:  # a new password or a disabled user ends every session
                conn.execute(
                    update(web_sessions)
                    .where(web_sessions.c.user == name, web_sessions.c.ended_at.is_(None))
                    .values(ended_at=values["updated_at"])
                )
            row = conn.execute(select(users.c.role).where(users.c.name == name)).one()
        return User(name, row.role)

    def list_users(self) -> list[dict[str, Any]]:
        query = select(users.c.name, users.c.role, users.c.created_at, users.c.updated_at, users.c.disabled)
        with self.records._begin() as conn:
            return [dict(r) for r in conn.execute(query.order_by(users.c.name)).mappings()]

    # signing in ------------------------------------------------------------------------------
    def failures(self, name: str, address: str) -> int:
        """The most failed sign-ins, by this name or from this address, within the window."""
        since = (_now() - FAILURE_WINDOW).isoformat()
        with self.records._begin() as conn:
            by_name = conn.execute(
                select(func.count()).where(
                    login_failures.c.name == name[:NAME_CHARS], login_failures.c.at > since
                )
            ).scalar_one()
            by_address = conn.execute(
                select(func.count()).where(
                    login_failures.c.address == address[:64], login_failures.c.at > since
                )
            ).scalar_one()
        return max(int(by_name), int(by_address))

    def sign_in(self, name: str, password: str, address: str) -> tuple[Session | None, str]:
        """A new session, or None and why not ("wrong", "locked")."""
        name = name.strip()[:NAME_CHARS]
        if self.failures(name, address) >= MAX_FAILURES:
            return None, "locked"
        with self.records._begin() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        try:
            _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
            ok = row is not None and not row["disabled"]
        except (VerificationError, InvalidHashError):
            ok = False
        now = _now().isoformat()
        if not ok or row is None:
            with self.records._begin() as conn:
                conn.execute(insert(login_failures).values(name=name, address=address[:64], at=now))
            return None, "wrong"
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.records._begin() as conn:
            conn.execute(
                insert(web_sessions).values(
                    id=_key(token), user=name, csrf=csrf, created_at=now, last_seen_at=now
                )
            )
            # A success clears the name's count: the owner need not wait out someone else's guesses.
            conn.execute(delete(login_failures).where(login_failures.c.name == name))
            if _hasher.check_needs_rehash(row["password_hash"]):
                conn.execute(
                    update(users).where(users.c.name == name).values(password_hash=_hasher.hash(password))
                )
        self.record_action(name, "signed in", "", f"from {address}")
        return Session(User(name, row["role"]), csrf, _key(token)), token

    def session(self, token: str | None) -> Session | None:
        """The live session this cookie token opens, touched as used; None if none (or timed out)."""
        if not token or len(token) > 128:
            return None
        key, now = _key(token), _now()
        query = (
            select(web_sessions, users.c.role, users.c.disabled)
            .join(users, users.c.name == web_sessions.c.user)
            .where(web_sessions.c.id == key, web_sessions.c.ended_at.is_(None))
        )
        with self.records._begin() as conn:
            row = conn.execute(query).mappings().first()
            if row is None or row["disabled"]:
                return None
            created, seen = (
                datetime.fromisoformat(row["created_at"]),
                datetime.fromisoformat(row["last_seen_at"]),
            )
            if now - seen > self.idle or now - created > self.lifetime:
                conn.execute(
                    update(web_sessions).where(web_sessions.c.id == key).values(ended_at=now.isoformat())
                )
                return None
            if now - seen >= timedelta(seconds=30):  # a write per request would serialise every reader
                conn.execute(
                    update(web_sessions).where(web_sessions.c.id == key).values(last_seen_at=now.isoformat())
                )
        return Session(User(row["user"], row["role"]), row["csrf"], key)

    def sign_out(self, session: Session) -> None:
        with self.records._begin() as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id == session.key)
                .values(ended_at=_now().isoformat())
            )
        self.record_action(session.user.name, "signed out")

    # the audit trail -------------------------------------------------------------------------
    def record_action(self, by: str, action: str, target: str = "", detail: str = "") -> None:
        with self.records._begin() as conn:
            conn.execute(
                insert(actions).values(
                    at=_now().isoformat(), by=by, action=action[:32], target=target, detail=detail
                )
            )

    def actions(self, target: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        query = select(actions).order_by(actions.c.id.desc()).limit(limit)
        if target is not None:
            query = query.where(actions.c.target == target)
        with self.records._begin() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


def same_token(given: str | None, expected: str) -> bool:
    """A CSRF token check that takes the same time whatever the mismatch."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())
