"""Email templates: the subject and body of the messages ``send`` and ``remind`` write.

A purpose (``send``, ``remind``) has a plain-text template ``<purpose>.txt`` and, optionally, an
HTML one ``<purpose>.html`` beside it (``templates/email/`` by default). The plain text's first line
is the subject, written ``Subject: …``; a blank line may follow; the rest is the body. The team
edits them like the Word templates; ``check-template`` checks them.

Rendering is sandboxed Jinja with ``StrictUndefined``, as for the documents: practice data is data
(a practice called ``{{ 7*7 }}`` is printed as that), a misspelt variable is an error naming itself
and the template's line. The HTML template is autoescaped (``&`` and ``<`` in a name arrive as
``&amp;`` and ``&lt;``); the plain text is not (it is not HTML). The subject is one line whatever a
value holds: line breaks and other control characters become spaces, so no value can start a
header of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from ..errors import RenderError, TemplateError
from .docx import Guards, compare_paths, jinja_paths

__all__ = ["EmailCheck", "EmailTemplate", "RenderedEmail", "check_email_template", "one_line"]

SUBJECT = re.compile(r"^Subject:[ \t]*(.*)$")
EMAIL_SUFFIXES = (".txt", ".html")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """A header's text: every line break and control character a space, runs of spaces one."""
    return " ".join(_CONTROL.sub(" ", text).split())


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None = None


@dataclass
class _Compiled:
    path: Path
    template: jinja2.Template
    variables: frozenset[str]
    printed: frozenset[str]
    guards: dict[str, frozenset[Guards]]
    first_line: int  # the line of the template file Jinja's line 1 is


def _environment(html: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=html, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _compile(path: Path, source: str, html: bool, first_line: int = 1) -> _Compiled:
    env = _environment(html)
    try:
        ast = env.parse(source, name=path.name, filename=str(path))
        template = env.from_string(ast)
    except jinja2.TemplateSyntaxError as exc:
        line = (exc.lineno or 1) + first_line - 1
        raise TemplateError(
            f"template syntax error, line {line}: {exc.message}. Check that every {{{{ }}}} and {{% %}} "
            "tag is closed",
            path=path,
            line=line,
        ) from exc
    variables, printed, guards = jinja_paths(ast, env.globals)
    return _Compiled(path, template, variables, printed, guards, first_line)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TemplateError("no such email template", path=path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text; save it as UTF-8"
        raise TemplateError(f"cannot read the email template: {reason}", path=path) from exc


class EmailTemplate:
    """One purpose's email templates (``send.txt`` and an optional ``send.html``), compiled once."""

    def __init__(self, folder: str | Path, purpose: str) -> None:
        folder = Path(folder)
        self.text_path = folder / f"{purpose}.txt"
        source = _read(self.text_path)
        first, _, rest = source.partition("\n")
        found = SUBJECT.match(first.rstrip("\r"))
        if found is None:
            raise TemplateError(
                f"the first line must be the subject, written 'Subject: …' (found '{first[:60]}')",
                path=self.text_path,
                line=1,
            )
        body_line = 2
        if rest.startswith(("\n", "\r\n")):  # the blank line after the subject, as in a real message
            rest, body_line = rest.split("\n", 1)[1], 3
        self.subject = _compile(self.text_path, found.group(1), html=False)
        self.text = _compile(self.text_path, rest, html=False, first_line=body_line)
        html_path = folder / f"{purpose}.html"
        self.html = _compile(html_path, _read(html_path), html=True) if html_path.is_file() else None

    @property
    def parts(self) -> list[_Compiled]:
        return [self.subject, self.text, *([self.html] if self.html else [])]

    def render(self, context: Mapping[str, Any]) -> RenderedEmail:
        subject = one_line(self._run(self.subject, context))
        text = self._run(self.text, context)
        html = self._run(self.html, context) if self.html else None
        return RenderedEmail(subject, text, html)

    def _run(self, part: _Compiled, context: Mapping[str, Any]) -> str:
        try:
            return part.template.render(context)
        except jinja2.UndefinedError as exc:
            missing, _ = compare_paths(part.variables, part.printed, part.guards, context)
            what = f"'{missing[0]}'" if missing else "a variable"
            raise TemplateError(
                f"the email template uses {what}, which the context does not provide ({exc.message}); "
                "`agreementgen check-template` lists what it can use",
                path=part.path,
                field=missing[0] if missing else None,
            ) from exc
        except SecurityError as exc:
            raise TemplateError(
                f"the email template does what the sandbox forbids: {exc}", path=part.path
            ) from exc
        except Exception as exc:  # a filter given the wrong kind of value, a division by zero …
            raise RenderError(
                f"the email template failed: {exc.__class__.__name__}: {exc}", path=part.path
            ) from exc


@dataclass
class EmailCheck:
    """An email template against a context: the variables it uses that the context lacks (with the
    line where each is first used) and the context's variables it never uses."""

    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)


def check_email_template(path: str | Path, context: Mapping[str, Any]) -> EmailCheck:
    """``check-template`` for ``send.txt``, ``remind.html`` …: its purpose's templates are compiled
    (the subject line's too), then the one named is judged against ``context``."""
    path = Path(path)
    template = EmailTemplate(path.parent, path.stem)
    parts = [template.html] if path.suffix.lower() == ".html" and template.html else template.parts[:2]
    report = EmailCheck()
    missing: set[str] = set()
    printed: set[str] = set()
    for part in parts:
        found, _ = compare_paths(part.variables, part.printed, part.guards, context)
        missing.update(found)
        printed.update(part.printed)
        source = part.path.read_text(encoding="utf-8").splitlines()
        for name in found:
            report.where.setdefault(name, _line_of(source, name))
    # ``documents[].reason`` missing makes ``documents[].reason[]`` (its items) missing too: name it once.
    report.missing = sorted(m for m in missing if not any(m.startswith((f"{o}.", f"{o}[")) for o in missing))
    _, report.unused = compare_paths(set(), printed, {}, context)
    report.where = {k: v for k, v in report.where.items() if v}
    return report


def _line_of(lines: list[str], path: str) -> str:
    last = path.replace("[]", "").rsplit(".", 1)[-1]
    for number, line in enumerate(lines, start=1):
        if path in line or re.search(r"\b" + re.escape(last) + r"\b", line):
            return f"line {number}"
    return ""
