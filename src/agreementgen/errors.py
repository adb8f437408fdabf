"""The one exception hierarchy of agreementgen.

Every error the library raises on purpose derives from ``AgreementgenError`` and
carries where the problem is (``path``, ``line``, ``row``, ``field``) so that a
contracts officer can go straight to the cell or YAML line to fix::

    AgreementgenError            base: message + path/line/row/field
    ├── SchemeError              a scheme spec (YAML) is unreadable or invalid
    ├── PracticeDataError        a practice or list-size file, or one row/cell of it
    ├── TemplateError            a document template has a syntax error or uses an
    │                            unknown variable (names the template and line)
    ├── RenderError              one practice's document could not be rendered
    ├── OutputError              a result could not be written (export, CSV/XLSX, packs)
    ├── RecordsError             the records database cannot be opened or written
    ├── CertificateError         a trusted root certificate (``ingest --trust-roots``) cannot
    │                            be read (names the file)
    ├── MailError                the mail server cannot be reached, refuses the connection's
    │                            encryption or the login, or a sender address or SMTP URL is wrong
    ├── MailboxError             an IMAP mailbox (``fetch``) cannot be reached, logged in to or
    │                            used: the URL, the server, the login, a folder
    └── ProblemsFound            several of the above found in one pass; ``.problems``
                                 holds every one (we report all, never just the first)

Errors from libraries underneath (PyYAML, pydantic, openpyxl, csv, OS errors) are
translated into these at the boundary where they happen, with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class AgreementgenError(Exception):
    """Base of every error agreementgen raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.row = row
        self.field = field

    @property
    def location(self) -> str:
        """``file:line``, ``file, row 7, column 'list_size'`` or ``file, field 'x'``."""
        parts: list[str] = []
        if self.path:
            parts.append(f"{self.path}:{self.line}" if self.line else self.path)
        elif self.line:
            parts.append(f"line {self.line}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field:
            parts.append(f"{'column' if self.row is not None else 'at'} '{self.field}'")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": type(self).__name__,
            "path": self.path,
            "line": self.line,
            "row": self.row,
            "field": self.field,
            "message": self.message,
        }

    def __str__(self) -> str:
        loc = self.location
        return f"{loc}: {self.message}" if loc else self.message


class SchemeError(AgreementgenError):
    """A scheme spec cannot be read, or breaks a rule (sums, dates, unknown keys)."""


class PracticeDataError(AgreementgenError):
    """A practice/list-size file cannot be read, or one of its rows is bad."""


class TemplateError(AgreementgenError):
    """A template cannot be compiled or refers to a variable the context lacks."""


class RenderError(AgreementgenError):
    """One document could not be rendered (the run carries on with the others)."""


class RecordsError(AgreementgenError):
    """The records database could not be opened, migrated or written."""


class CertificateError(AgreementgenError):
    """A file given as a trusted root certificate is not one, or cannot be read."""


class MailError(AgreementgenError):
    """Mail cannot be sent at all: a bad SMTP URL or sender, no server, no TLS, a refused login."""


class MailboxError(AgreementgenError):
    """An IMAP mailbox cannot be used: a bad URL, a server that cannot be reached or trusted, a login
    refused, a folder missing. Raised before anything is taken in (``fetch`` exits 2)."""


class OutputError(AgreementgenError):
    """A result (CSV, XLSX, JSON) could not be written where asked."""


class ProblemsFound(AgreementgenError):
    """Raised when a pass found one or more problems; ``problems`` lists them all."""

    def __init__(self, problems: Iterable[AgreementgenError], summary: str | None = None) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        super().__init__(
            summary or f"{len(self.problems)} problem(s) found",
            path=first.path if first else None,
        )

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {p}" for p in self.problems)])
