"""Provenance of a scheme spec: where each figure, date, rule and text comes from, and the check.

A spec's ``provenance`` block names its source documents (text files shipped beside the spec) and
lists items: each either quotes its source (the exact words, at a section or page; ``verbatim`` when
the spec's text *is* the source's words; ``derived`` when a figure follows from the quote without
being shown in it) or is marked ``illustrative`` with a reason and a label for the documents' notice.
What no entry covers is the spec author's own, and ``own`` says so once.

This module owns the model of that block, resolving item paths in a loaded spec, the checks (every
quote occurs in its source, whitespace-normalised; verbatim texts equal their quotes; figures shown
in their quotes) and the table ``validate --provenance`` prints. It knows nothing of a particular
scheme model: it reads the spec as data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from .yamlfile import YamlPath

__all__ = [
    "VERDICTS",
    "Entry",
    "Provenance",
    "Row",
    "SourceDocument",
    "check",
    "illustrative_notices",
    "illustrative_under",
    "normalise",
]

_Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_Path = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$", max_length=300)]

# Structure rather than content: ids name things, ``model`` picks a calculation, ``fields`` and
# ``party`` lay out signature blocks, ``due_basis`` is itself a note on provenance.
_STRUCTURE = frozenset({"id", "model", "evidence", "fields", "party", "due_basis", "contract", "version"})
_MAX_SOURCE = 5_000_000  # characters: a source document, not a data file

VERDICTS = ("verbatim", "quoted", "derived", "paraphrase", "illustrative", "own", "FAILED")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SourceDocument(_Strict):
    """A document the spec quotes: its title and its text, a file beside the spec."""

    id: _Ident
    title: _Text
    file: _Text


class Entry(_Strict):
    """Where one item of the spec comes from: a quoted source, or illustrative with a reason."""

    item: _Path
    source: _Ident | None = None
    at: _Text | None = None
    quote: _Text | None = None
    verbatim: bool = False
    derived: _Text | None = None
    illustrative: _Text | None = None
    label: _Text | None = None
    # The kinds of document that print the item, when not all do (the year-end rules: statements).
    printed_in: list[Literal["section7", "sla", "claim", "statement"]] | None = None

    @model_validator(mode="after")
    def _one_basis(self) -> Entry:
        if (self.source is None) == (self.illustrative is None):
            raise ValueError("give exactly one of source (with quote or verbatim) or illustrative (a reason)")
        if self.illustrative is not None:
            if self.label is None:
                raise ValueError("an illustrative item needs a label: how a document's notice names it")
            if self.quote or self.verbatim or self.derived:
                raise ValueError("an illustrative item has no quote, verbatim or derived")
        elif self.printed_in is not None:
            raise ValueError("printed_in says which documents carry an illustrative item's notice")
        elif self.quote is None and not self.verbatim:
            raise ValueError("a sourced item needs a quote, or verbatim: true when its text is the source's")
        return self


class Provenance(_Strict):
    sources: list[SourceDocument] = []
    own: _Text | None = None
    items: list[Entry] = []


@dataclass(frozen=True)
class Row:
    """One line of the provenance table: an item, what it says, where from, and the verdict."""

    item: str
    value: str
    basis: str
    verdict: str
    problem: str = ""
    loc: YamlPath = ()  # where in the YAML a failure is reported


_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                             "\u2014": "-", "\u00a0": " ", "\u2022": " "})  # fmt: skip


def normalise(text: str) -> str:
    """Whitespace collapsed, typographic quotes and dashes made plain and emphasis marks (``**bold**``,
    as the text of a web page or PDF is often captured) dropped; case kept."""
    return re.sub(r"\s+", " ", text.translate(_TYPOGRAPHY).replace("*", "")).strip()


def _resolve(data: Any, path: str) -> tuple[Any, str]:
    """The value at a dotted item path (list elements by id, else by number from 1), or why not."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            if part not in current:
                known = ", ".join(sorted(k for k in current if k != "provenance"))
                return None, f"no '{part}' here (known: {known})"
            current = current[part]
        elif isinstance(current, list):
            named = [x for x in current if isinstance(x, dict) and x.get("id") == part]
            if named:
                current = named[0]
            elif part.isdigit() and 1 <= int(part) <= len(current):
                current = current[int(part) - 1]
            else:
                return None, f"no element '{part}' (a list of {len(current)}: give an id or a number from 1)"
        else:
            return None, f"'{part}' is below a single value"
    return current, ""


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every figure, date, rule and text under ``value``, with its item path."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key not in _STRUCTURE and key != "provenance":
                yield from _leaves(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for n, inner in enumerate(value, start=1):
            name = inner.get("id") if isinstance(inner, dict) and inner.get("id") else str(n)
            yield from _leaves(inner, f"{path}.{name}")
    elif value is not None and value != "":
        yield path, value


def _texts(value: Any) -> list[str]:
    return [v for _, v in _leaves(value, "") if isinstance(v, str)]


def _shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        texts = [str(v) for _, v in _leaves(value, "")]
        joined = " · ".join(texts)
        return joined if len(joined) <= 90 else joined[:87] + "…"
    text = str(value)
    return text if len(text) <= 90 else text[:87] + "…"


def _figure_forms(value: Any) -> list[str]:
    """How a source might print a figure or date."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        forms = {f"{number:,f}", f"{number:f}", f"{number:,.2f}", f"{number:.2f}"}
        if number == number.to_integral_value():
            forms |= {f"{int(number):,}", f"{int(number)}"}
        percent = (number * 100).normalize()
        if abs(number) < 1:
            forms.add(f"{percent:f}%")
        return sorted(forms)
    if isinstance(value, date):
        day = value.day
        suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        month = value.strftime("%B")
        return [
            f"{day}{suffix} {month} {value.year}",
            f"{day} {month} {value.year}",
            value.strftime("%d/%m/%Y"),
        ]
    return []


def _covering(entries: list[Entry], path: str) -> Entry | None:
    best: Entry | None = None
    for entry in entries:
        covers = path == entry.item or path.startswith(entry.item + ".")
        if covers and (best is None or len(entry.item) > len(best.item)):
            best = entry
    return best


def _read_sources(provenance: Provenance, folder: Path) -> tuple[dict[str, str], list[Row]]:
    texts: dict[str, str] = {}
    failures: list[Row] = []
    for n, source in enumerate(provenance.sources):
        path = folder / source.file
        if path.exists() and not path.is_file():  # a FIFO or a device would hang or never end
            failures.append(Row(f"source {source.id}", source.file, source.title, "FAILED",
                                f"the source file {path} is not a regular file",
                                ("provenance", "sources", n, "file")))  # fmt: skip
            continue
        try:
            with path.open(encoding="utf-8") as handle:
                texts[source.id] = normalise(handle.read(_MAX_SOURCE))
        except (OSError, UnicodeDecodeError) as exc:
            reason = (
                "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or "unreadable")
            )
            failures.append(Row(f"source {source.id}", source.file, source.title, "FAILED",
                                f"cannot read the source file {path}: {reason}",
                                ("provenance", "sources", n, "file")))  # fmt: skip
    return texts, failures


def check(spec: BaseModel, folder: Path) -> list[Row]:
    """The provenance table of a loaded spec: a row per entry and per item no entry covers.

    ``folder`` is the spec's folder (source files are named relative to it). Rows whose verdict is
    ``FAILED`` carry the problem and the YAML location of the entry.
    """
    provenance: Provenance = getattr(spec, "provenance", None) or Provenance()
    data = spec.model_dump()
    texts, rows = _read_sources(provenance, folder)
    titles = {s.id: s.title for s in provenance.sources}
    seen: dict[str, int] = {}
    for n, entry in enumerate(provenance.items):
        loc: YamlPath = ("provenance", "items", n)
        value, missing = _resolve(data, entry.item)
        if missing:
            rows.append(Row(entry.item, "", "", "FAILED", f"item not in the spec: {missing}", (*loc, "item")))
            continue
        if entry.item in seen:
            twice = f"named twice (first at provenance.items {seen[entry.item]})"
            rows.append(Row(entry.item, _shown(value), "", "FAILED", twice, (*loc, "item")))
            continue
        seen[entry.item] = n
        rows.append(_judge(entry, value, texts, titles, loc))
    entries = list(provenance.items)
    for path, value in _leaves(data, ""):
        if _covering(entries, path) is None:
            rows.append(Row(path, _shown(value), "the spec author's own", "own"))
    return rows


def _judge(entry: Entry, value: Any, texts: dict[str, str], titles: dict[str, str], loc: YamlPath) -> Row:
    shown = _shown(value)
    if entry.illustrative is not None:
        return Row(entry.item, shown, f"illustrative: {entry.illustrative}", "illustrative")
    assert entry.source is not None  # one basis, by the model
    basis = entry.source + (f", {entry.at}" if entry.at else "")  # the table's legend names the source

    def failed(problem: str, field: str) -> Row:
        return Row(entry.item, shown, basis, "FAILED", problem, (*loc, field))

    if entry.source not in titles:
        return failed(f"no source '{entry.source}' (known: {', '.join(sorted(titles)) or 'none'})", "source")
    source = texts.get(entry.source)
    if source is None:
        return failed("its source file cannot be read", "source")
    quote = normalise(entry.quote) if entry.quote else None
    if quote is not None and quote not in source:
        return failed(f"the quote is not in the source: '{entry.quote}'", "quote")
    item_texts = _texts(value)
    if entry.verbatim:
        if not item_texts:
            return failed("verbatim, but the item has no text", "verbatim")
        for text in item_texts:
            if normalise(text) not in source:
                return failed(f"claimed verbatim, but this text is not in the source: '{text}'", "verbatim")
        if quote is not None and normalise(" ".join(item_texts)) != quote:
            return failed("claimed verbatim, but the printed text differs from the quote", "quote")
        return Row(entry.item, shown, basis, "verbatim")
    if entry.derived is not None:
        return Row(entry.item, shown, f"{basis}; derived: {entry.derived}", "derived")
    forms = _figure_forms(value)
    if forms:
        if not any(normalise(form) in (quote or "") for form in forms):
            return failed(f"the quote does not show {shown} (say how it follows with derived:)", "quote")
        return Row(entry.item, shown, basis, "quoted")
    if item_texts and quote is not None and normalise(" ".join(item_texts)) == quote:
        return Row(entry.item, shown, basis, "verbatim")
    return Row(entry.item, shown, basis, "paraphrase")


def illustrative_under(spec: BaseModel, path: str) -> bool:
    """Whether anything at or under an item path (``funding.services.diabetes``) is illustrative."""
    provenance: Provenance = getattr(spec, "provenance", None) or Provenance()
    return any(
        e.illustrative is not None
        and (e.item == path or e.item.startswith(path + ".") or path.startswith(e.item + "."))
        for e in provenance.items
    )


def illustrative_notices(spec: BaseModel, kind: str | None = None) -> list[dict[str, str]]:
    """What a document of this scheme (of ``kind``, if given) must say is illustrative: each entry's
    label and reason."""
    provenance: Provenance = getattr(spec, "provenance", None) or Provenance()
    return [
        {"item": e.item, "label": e.label or e.item, "reason": e.illustrative or ""}
        for e in provenance.items
        if e.illustrative is not None and (kind is None or e.printed_in is None or kind in e.printed_in)
    ]
