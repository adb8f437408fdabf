"""Reading a returned PDF's form fields faster than pypdf alone does, with exactly pypdf's result.

Ingest spends most of its time in pypdf parsing the few dozen objects a form is made of (the
AcroForm, each field, each widget): pypdf reads them a byte at a time, about 0.2 ms for a field's
few hundred bytes. :class:`FormReader` is a ``PdfReader`` whose ``get_object`` parses an object
itself, a token at a time, when the object is plain — a dictionary, array, name, string, number,
reference, boolean or null, at the offset the cross-reference table gives, under the header that
names it — and builds the same pypdf objects with pypdf's own constructors (``NameObject``,
``create_string_object``, ``NumberObject``, ``FloatObject``, ``IndirectObject``…). Everything
else goes to pypdf, object by object, as before: a stream, a comment, an escaped name (``#20``),
an unusual escape or whitespace, an object in an object stream, a header that does not match, an
encrypted file, anything this parser does not expect. pypdf then decides everything else as it
always did — the cross-reference table, repairs, the field tree, every check.

``tests/test_pdfobjects.py`` holds it to that: every object of real returns and of thousands of
damaged ones is parsed both ways and compared, and so is everything :func:`read_return` finds.
"""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
    create_string_object,
)

try:  # the parts of pypdf's own parser this one mirrors; without them, pypdf parses everything
    from pypdf.generic._data_structures import IndirectPattern as _REFERENCE
    from pypdf.generic._utils import __ESCAPE_DICT__ as _ESCAPES

    _AVAILABLE = True
except (ImportError, AttributeError):  # pragma: no cover - another pypdf
    _AVAILABLE = False

_SPACE = re.compile(rb"[ \t\r\n]*")  # pypdf also skips NUL and form feed: where they are, pypdf parses
_OBJECT_HEADER = re.compile(rb"([0-9]{1,10})[ \t\r\n]+([0-9]{1,10})[ \t\r\n]+obj[\x00\t\n\x0c\r ]*")
_HEADER = re.compile(rb"(\d{1,10})[ \t\r\n]+(\d{1,5})[ \t\r\n]+obj[ \t\r\n]*")
_DELIMITED = rb"(?=[\s()<>\[\]{}/%])"  # where pypdf ends a name or a word
# One token after optional spaces; "other" (nothing) is anything this parser leaves to pypdf.
_TOKEN = re.compile(
    rb"[ \t\r\n]*(?:"
    rb"(?P<ref>[+-]?\d+\s+\d+\s+R)(?=[^a-zA-Z])"  # pypdf's IndirectPattern
    rb"|(?P<number>[+,\-.0-9]+)"  # as far as pypdf reads a number
    rb"|(?P<name>/[^\x00-\x20\x7f-\xff()<>\[\]{}/%#]{0,127})" + _DELIMITED +
    rb"|(?P<string>\([^()\\]*\))"
    rb"|(?P<escaped>\((?:[^()\\]|\\[\s\S])*\))"
    rb"|(?P<nested>\()"
    rb"|(?P<open><<|\[)"
    rb"|(?P<close>>>|\])"
    rb"|(?P<hex><[0-9A-Fa-f \t\r\n]*>)"
    rb"|(?P<word>true|false|null)" + _DELIMITED +
    rb"|(?P<other>))"
)  # fmt: skip
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_ESCAPE = re.compile(rb"\\(?:[0-7]{1,3}|[\r\n][\r\n]?|[\s\S])")


def _unescaped(escape: re.Match[bytes]) -> bytes:
    """One escape in a literal string as pypdf's ``read_string_from_stream`` reads it."""
    code = escape[0][1:]
    if code in _ESCAPES:
        return bytes((_ESCAPES[code],))
    if code[0] in b"01234567":
        if int(code, 8) > 255:
            raise _Declined  # pypdf keeps the backslash and reads the digits as they are
        return bytes((int(code, 8),))
    if code[0] in b"\r\n":
        return b""  # a line continued
    raise _Declined  # pypdf keeps the backslash and warns


_NOT_HEX = re.compile(rb"[ \t\r\n]")
_OCTAL = re.compile(rb"[0-7]{1,3}")
_WORDS = {b"true": lambda: BooleanObject(True), b"false": lambda: BooleanObject(False), b"null": NullObject}
_MAX_DEPTH = 32
_MAX_ITEMS = 10_000


# Names and strings met before, by their bytes in the file: the forms of one template repeat the
# same field names, appearances and labels in every return, and pypdf's string decoding is slow.
# pypdf's name, string and number objects are immutable values: one can stand in every dictionary.
_NAMES: dict[bytes, NameObject] = {}
_STRINGS: dict[bytes, Any] = {}
_NUMBERS: dict[bytes, Any] = {}  # NumberObject and FloatObject: int and float values
_REMEMBERED = 20_000  # per kind, per process
_REMEMBERED_BYTES = 256  # longer strings (a practice's own entries, mostly) are not kept


def _made(memo: dict[bytes, Any], raw: bytes, value: Any) -> Any:
    if len(memo) < _REMEMBERED and len(raw) <= _REMEMBERED_BYTES:
        memo[raw] = value
    return value


class _Declined(Exception):
    """Not a plain object as this parser reads them: pypdf parses it."""


class FormReader(PdfReader):
    """A ``PdfReader`` (``strict=False``) over ``data`` that parses plain objects itself (see the module)."""

    fast = _AVAILABLE  # False: pypdf parses every object (the tests compare the two)

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._source = io.BytesIO(data)
        self._parsing = False  # only once pypdf has read the file's structure, and not if encrypted
        super().__init__(self._source, strict=False)
        self._parsing = self.fast and not self.is_encrypted and self._encryption is None
        self.parsed_here = 0  # how many objects this parser read (for the tests)

    def get_object(self, indirect_reference: int | IndirectObject) -> PdfObject | None:
        if self._parsing:
            ref = indirect_reference
            if isinstance(ref, int):
                ref = IndirectObject(ref, 0, self)
            if (ref.generation, ref.idnum) not in self.resolved_objects:
                found = self._plain_object(ref.idnum, ref.generation)
                if found is not None:
                    self.parsed_here += 1
                    return self.cache_indirect_object(ref.generation, ref.idnum, found)
        return super().get_object(indirect_reference)

    def read_object_header(self, stream: Any) -> tuple[int, int]:
        """pypdf's reading of an object's header (``12 0 obj``), which it does for every object when
        it opens a file; here one regular expression reads a plain one, leaving ``stream`` where
        pypdf would (at the object's first character): anything else is pypdf's to read."""
        if self.fast and stream is self._source:
            header = _OBJECT_HEADER.match(self._data, stream.tell())
            if header is not None and header.end() < len(self._data):
                stream.seek(header.end())
                return int(header[1]), int(header[2])
        return super().read_object_header(stream)

    def _plain_object(self, idnum: int, generation: int) -> PdfObject | None:
        if generation == 0 and idnum in self.xref_objStm:
            return None
        offset = self.xref.get(generation, {}).get(idnum)
        if not isinstance(offset, int) or self.xref_free_entry.get(generation, {}).get(idnum, False):
            return None
        header = _HEADER.match(self._data, offset)
        if header is None or int(header[1]) != idnum or int(header[2]) != generation:
            return None  # pypdf searches the file for it
        try:
            return self._parse(header.end())
        except (_Declined, IndexError, ValueError):
            return None

    def _parse(self, at: int) -> PdfObject:
        """The value at ``at``, as pypdf's ``read_object`` reads it, or ``_Declined``."""
        data, match, names, strings, numbers = self._data, _TOKEN.match, _NAMES, _STRINGS, _NUMBERS
        # The dictionary or array being read (entries, or items), the key waiting for its value,
        # and those it is inside.
        entries: dict[Any, Any] | None = None
        items: list[Any] | None = None
        key: Any = None
        outer: list[tuple[dict[Any, Any] | None, list[Any] | None, Any]] = []
        while True:
            token = match(data, at)
            assert token is not None  # "other" matches the empty string
            kind, at = token.lastgroup, token.end()
            value: Any
            if kind == "name":
                raw = token["name"]
                value = names.get(raw)
                if value is None:
                    value = _made(names, raw, NameObject(raw.decode("ascii")))
                if entries is not None and key is None:
                    key = value  # a dictionary's key: its value comes next
                    continue
            elif kind == "number":
                raw = token["number"]
                value = numbers.get(raw)
                if value is None:
                    if len(raw) >= 20 or not _NUMBER.fullmatch(raw):
                        raise _Declined  # pypdf reads on, or refuses it
                    value = _made(numbers, raw, FloatObject(raw) if b"." in raw else NumberObject(raw))
            elif kind == "ref":
                start = token.start("ref")
                reference = _REFERENCE.match(data[start : start + 20])  # pypdf looks no further
                if reference is None:
                    raise _Declined
                value = IndirectObject(int(reference[0][: reference.end(1)]), int(reference[2]), self)
            elif kind == "string" or kind == "escaped":
                raw = token[kind]
                value = strings.get(raw)
                if value is None:
                    text = raw[1:-1] if kind == "string" else _ESCAPE.sub(_unescaped, raw[1:-1])
                    value = _made(strings, raw, create_string_object(text))
            elif kind == "nested":
                value, at = self._string(token.start("nested"))
            elif kind == "open":
                if len(outer) >= _MAX_DEPTH:
                    raise _Declined
                outer.append((entries, items, key))
                entries, items, key = ({}, None, None) if token["open"] == b"<<" else (None, [], None)
                continue
            elif kind == "close":
                if entries is None and items is None:
                    raise _Declined  # a close with nothing open
                if token["close"] == b">>":
                    if entries is None or key is not None:
                        raise _Declined
                    after = _SPACE.match(data, at).end()  # type: ignore[union-attr]  # matches ""
                    if data[after] in b"\x00\x0c" or data.startswith(b"stream", after):
                        raise _Declined  # a stream: pypdf reads its data
                    value = DictionaryObject()
                    value.update(entries)
                else:
                    if items is None:
                        raise _Declined
                    value = ArrayObject(items)
                entries, items, key = outer.pop()
            elif kind == "hex":
                digits = _NOT_HEX.sub(b"", token["hex"][1:-1])
                value = create_string_object(
                    bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
                )
            elif kind == "word":
                value = _WORDS[token["word"]]()
            else:
                raise _Declined  # a comment, "endobj", odd spaces, or what pypdf would repair or refuse
            if items is not None:
                if len(items) >= _MAX_ITEMS:
                    raise _Declined
                items.append(value)
            elif entries is not None:
                if key is None or key in entries or len(entries) >= _MAX_ITEMS:
                    raise _Declined  # a key that is not a name; a key twice (pypdf keeps the first)
                entries[key] = value
                key = None
            else:
                return value  # type: ignore[no-any-return]

    def _string(self, at: int) -> tuple[PdfObject, int]:
        """A literal string, unescaped as pypdf's ``read_string_from_stream`` does."""
        data = self._data
        out = bytearray()
        depth, at = 1, at + 1
        while True:
            byte = data[at]
            at += 1
            if byte == 0x28:  # (
                depth += 1
            elif byte == 0x29:  # )
                depth -= 1
                if depth == 0:
                    return create_string_object(bytes(out)), at
            elif byte == 0x5C:  # backslash
                escaped = data[at : at + 1]
                at += 1
                if escaped in _ESCAPES:
                    out.append(_ESCAPES[escaped])
                    continue
                octal = _OCTAL.match(data, at - 1)
                if octal is not None:
                    value = int(octal[0], 8)
                    if value > 255:
                        raise _Declined
                    out.append(value)
                    at = octal.end()
                    continue
                if escaped in (b"\n", b"\r"):  # a line continued: nothing added
                    if data[at : at + 1] in (b"\n", b"\r"):
                        at += 1
                    continue
                raise _Declined  # pypdf keeps the backslash and warns
            out.append(byte)
