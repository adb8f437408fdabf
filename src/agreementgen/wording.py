"""What a document says, word for word: the wording a practice signs, and how a return departs from it.

Owns the comparison of a returned file with what was issued, outside the practice's entries:

* :class:`Wording` — kept in the register with each issued revision: the words of the Word
  document's body in order, leaving out the fillable controls (the practice's entries; the
  locked controls — the issued terms — are part of the wording), the clause each word is in
  (the headings above it), the words of table header rows (a PDF repeats them on each page a
  table runs onto), the page margins (a PDF's running header and footer lie outside them) and,
  per page of the issued PDF, the digest of its content and the fields it carries;
* reading the same from a returned DOCX (:func:`docx_words`) or PDF (:func:`pdf_page_marks`,
  :func:`pdf_words`), and the checks a PDF's page text cannot make: the appearance of each locked
  field against its value (:func:`locked_appearances`) and annotations added on top of the page
  (:func:`added_annotations`);
* :func:`differences` — each change as a short diff of its clause:
  ``6. Termination: 'one month's' → 'twelve months''``.

A PDF return is compared page by page by content digest first: a form filled in pdftk, Acrobat
or a browser keeps its pages' content, so the common case costs a hash per page. Only a page
whose content differs has its text extracted (pypdf) and compared word by word.
"""

from __future__ import annotations

import base64
import bisect
import difflib
import functools
import hashlib
import io
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
FORMAT = "w1:"  # the stored form: this prefix, then base64 of zlib-compressed JSON
DIFFS_SHOWN = 5  # a return that rewrote the agreement is told by its first few clauses
QUOTED_WORDS = 12  # how many words of a change a reason quotes
# A list label ("1.", "(a)", a bullet) comes from numbering.xml in Word, as text in a PDF: left
# out of both sides alike.
_LABEL = re.compile(r"^(?:[•◦▪▫■□●○–\-·*]|\(?[0-9ivxlcIVXLC]{1,4}[.)])$")
_HEADING_STYLE = re.compile(r"^(Title|Heading([1-9]))$")
_LOCKED = ("sdtContentLocked", "contentLocked")
_SKIPPED = {f"{W}instrText", f"{W}delText", f"{W}sectPr", f"{W}sdtPr", f"{W}rPr", f"{W}pPr"}
_SPACES = {f"{W}tab", f"{W}br", f"{W}cr"}


@dataclass(frozen=True)
class PageMark:
    """One page of an issued PDF: the sha256 of its content and the fields on it."""

    digest: str
    fields: tuple[str, ...] = ()


@dataclass
class Wording:
    """The wording of one issued revision (see the module docstring)."""

    words: list[str] = field(default_factory=list)
    clauses: list[tuple[int, str]] = field(default_factory=list)  # (first word, clause) in order
    headers: list[list[str]] = field(default_factory=list)  # table header rows
    margins: tuple[float, float] = (0.0, 0.0)  # top and bottom, in points
    pages: list[PageMark] = field(default_factory=list)  # the issued PDF's, if one was issued

    def dumps(self) -> str:
        # Shallow: asdict() would deep-copy every word (thousands a document, 3 ms of a bulk
        # worker's ~45 ms) only for json to read them; the JSON is the same.
        data = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        data["pages"] = [asdict(page) for page in self.pages]
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return FORMAT + base64.b64encode(zlib.compress(raw, 6)).decode("ascii")

    @staticmethod
    def loads(text: str) -> Wording | None:
        """The stored wording, or None for a revision issued before wordings were kept."""
        if not text.startswith(FORMAT):
            return None
        data = json.loads(zlib.decompress(base64.b64decode(text[len(FORMAT) :])))
        return Wording(
            words=data["words"],
            clauses=[(int(i), str(c)) for i, c in data["clauses"]],
            headers=data["headers"],
            margins=(float(data["margins"][0]), float(data["margins"][1])),
            pages=[PageMark(p["digest"], tuple(p["fields"])) for p in data["pages"]],
        )

    def clause_at(self, index: int) -> str:
        """The clause the ``index``-th word is in ("" before the first heading)."""
        found = ""
        for start, clause in self.clauses:
            if start > index:
                break
            found = clause
        return found


def tokens(text: str) -> list[str]:
    return [t for t in text.split() if not _LABEL.match(t)]


# --- the Word side ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)  # the styles of a template are the same in every document
def heading_levels(styles_xml: bytes | None) -> dict[str, int]:
    """Paragraph style id → heading level (0 for a title), from the styles part."""
    levels: dict[str, int] = {}
    if styles_xml:
        root = etree.fromstring(styles_xml)
        for style in root.iter(f"{W}style"):
            style_id = style.get(f"{W}styleId") or ""
            outline = style.find(f"{W}pPr/{W}outlineLvl")
            if outline is not None and (outline.get(f"{W}val") or "").isdigit():
                levels[style_id] = int(outline.get(f"{W}val") or 0) + 1
    for style_id in ("Title", *(f"Heading{n}" for n in range(1, 10))):
        match = _HEADING_STYLE.match(style_id)
        if match and style_id not in levels:
            levels[style_id] = int(match.group(2) or 0)
    return levels


def _is_field(sdt: Any) -> bool:
    """A control the practice fills in: tagged and not locked (a locked one is an issued term)."""
    pr = sdt.find(f"{W}sdtPr")
    if pr is None or pr.find(f"{W}tag") is None:
        return False
    lock = pr.find(f"{W}lock")
    return lock is None or lock.get(f"{W}val") not in _LOCKED


_T, _SDT, _BLOCKS = f"{W}t", f"{W}sdt", {f"{W}p", f"{W}tc"}


def _body_text(element: Any, out: list[str]) -> None:
    # Every issued document's words are read with this (a bulk run: some 1,200 elements a
    # document), so the tag names are made once and an element without children is not visited.
    for child in element:
        tag = child.tag
        if tag == _T:
            out.append(child.text or "")
        elif tag in _SPACES:
            out.append(" ")
        elif tag in _BLOCKS:
            _body_text(child, out)
            out.append(" ")
        elif tag in _SKIPPED or (tag == _SDT and _is_field(child)):
            continue
        elif len(child):
            _body_text(child, out)


def word_wording(document_xml: bytes | Any, styles_xml: bytes | None = None) -> Wording:
    """The wording of a Word document's body (``word/document.xml``, or its parsed tree), with its clauses."""
    root = etree.fromstring(document_xml) if isinstance(document_xml, bytes) else document_xml
    body = root.find(f"{W}body")
    wording = Wording()
    if body is None:
        return wording
    levels = heading_levels(styles_xml)
    outline: list[str] = []  # the headings above, by level
    for block in body:
        for paragraph in [block] if block.tag == f"{W}p" else []:
            style = paragraph.find(f"{W}pPr/{W}pStyle")
            level = levels.get(style.get(f"{W}val") or "") if style is not None else None
            if level is not None:
                text: list[str] = []
                _body_text(paragraph, text)
                heading = " ".join("".join(text).split())
                if heading:
                    outline = [*outline[: max(level - 1, 0)], heading] if level else []
                    if level:
                        wording.clauses.append((len(wording.words), " › ".join(outline[-2:])))
        text = []
        _body_text([block], text)
        wording.words += tokens("".join(text))
    for row in body.iter(f"{W}tr"):
        if row.find(f"{W}trPr/{W}tblHeader") is not None:
            cells = [" ".join(t.text or "" for t in cell.iter(f"{W}t")) for cell in row.iter(f"{W}tc")]
            wording.headers.append(tokens(" ".join(cells)))
    margin = body.find(f"{W}sectPr/{W}pgMar")
    if margin is not None:
        top, bottom = (abs(_twips(margin.get(f"{W}{side}"))) for side in ("top", "bottom"))
        wording.margins = (top / 20, bottom / 20)
    return wording


def _twips(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


def docx_words(document_xml: bytes) -> list[str]:
    """A returned Word document's body words, outside its fillable controls."""
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)
    root = etree.fromstring(document_xml, parser)
    body = root.find(f"{W}body")
    text: list[str] = []
    if body is not None:
        _body_text(body, text)
    return tokens("".join(text))


# --- the PDF side -------------------------------------------------------------------------------


_STREAM_HEAD = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj\b")
_DIRECT_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)\s*[/>]")
_STREAM_KEYWORD = re.compile(rb"stream\r?\n")
HEAD_BYTES = 4096  # a stream's dictionary (an appearance's resources, say) is well within this


def _raw(stream: Any) -> bytes:
    # The stream's bytes as stored (still encoded): fillers copy a page's streams unchanged, and
    # the issue side reads them so, without decoding. A filler that re-encodes them only sends
    # the page to the slower word-by-word comparison.
    data = _stored(stream)
    if data is not None:
        return data
    stream = stream.get_object()
    data = getattr(stream, "_data", None)
    return data if isinstance(data, bytes) else stream.get_data()


def _stored(ref: Any) -> bytes | None:
    """The stored bytes of the stream ``ref`` points to, read straight from the file at the offset
    its cross-reference gives, when its length is given directly; else None (pypdf reads it).

    pypdf would parse the stream's dictionary a token at a time to find the same bytes; a return
    has some 80 streams (pages, appearances) to look at, and this is most of the check's time.
    """
    from pypdf.generic import IndirectObject

    if not isinstance(ref, IndirectObject):
        return None
    reader = ref.pdf
    offset = getattr(reader, "xref", {}).get(ref.generation, {}).get(ref.idnum)
    source = getattr(reader, "stream", None)
    if not isinstance(offset, int) or source is None or not hasattr(source, "getbuffer"):
        return None
    view = source.getbuffer()
    try:
        head = bytes(view[offset : offset + HEAD_BYTES])
        found = _STREAM_HEAD.match(head)
        if found is None or (int(found.group(1)), int(found.group(2))) != (ref.idnum, ref.generation):
            return None
        keyword = _STREAM_KEYWORD.search(head, found.end())
        length = _DIRECT_LENGTH.search(head, found.end(), keyword.start()) if keyword else None
        if keyword is None or length is None or b"endobj" in head[found.end() : keyword.start()]:
            return None
        start = offset + keyword.end()
        data = bytes(view[start : start + int(length.group(1))])
        after = bytes(view[start + len(data) : start + len(data) + 16])
        return data if len(data) == int(length.group(1)) and b"endstream" in after else None
    finally:
        view.release()


def _pages(reader: Any) -> list[Any]:
    """The reader's pages, listed once (pypdf counts the page tree again at every step of ``pages``)."""
    pages = getattr(reader, "_agreementgen_pages", None)
    if pages is None:
        pages = list(reader.pages)
        reader._agreementgen_pages = pages
    return pages


def _page_digest(page: Any) -> str:
    """sha256 over a page's content streams and the form XObjects and images it draws."""
    digest = hashlib.sha256()
    contents = page.get("/Contents")
    stored = _stored(contents) if contents is not None else None
    if stored is not None:
        digest.update(stored)
    elif contents is not None:
        parts = contents.get_object()
        for part in parts if isinstance(parts, list) else [contents]:
            digest.update(_raw(part))
    resources = page.get("/Resources")
    xobjects = (resources.get_object().get("/XObject") if resources is not None else None) or {}
    for name in sorted(xobjects):
        digest.update(str(name).encode() + b"\0" + _raw(dict.get(xobjects, name)))
    return digest.hexdigest()


def _field_name(annotation: Any) -> str:
    names = []
    node: Any = annotation
    for _ in range(32):  # a field tree deeper than this is not ours
        if node is None:
            break
        name = node.get("/T")
        if name is not None:
            names.append(str(name))
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return ".".join(reversed(names))


def pdf_page_marks(reader: Any) -> list[PageMark]:
    """Each page's content digest and the fields on it (pypdf reader)."""
    marks = []
    for page in reader.pages:
        fields: list[str] = []
        for ref in page.get("/Annots") or []:
            annotation = ref.get_object()
            if annotation.get("/Subtype") == "/Widget":
                name = _field_name(annotation)
                if name and name not in fields:
                    fields.append(name)
        marks.append(PageMark(_page_digest(page), tuple(fields)))
    return marks


# An object begins a line; the newline before it (a PDF opens with ``%PDF-``, never with an
# object) gives the scan a literal to look for, four times as quick as ``(?m)^``.
_OBJECT = re.compile(rb"\n(\d+) 0 obj\n")
_REF = re.compile(rb"(\d+) 0 R")
_NAMED_REF = re.compile(rb"/([^\s/<>\[\]()]+) (\d+) 0 R")
_TITLE = re.compile(rb"/T \(((?:[^()\\]|\\.)*)\)")
_PAGE = re.compile(rb"/Type /Page\s*>>")
_PAGES = re.compile(rb"/Type /Pages\b")


def pdf_marks_of(data: bytes) -> list[PageMark]:
    """:func:`pdf_page_marks` of a PDF this package wrote, read without a PDF parser.

    The national run issues 6,000 PDFs; parsing each back with pypdf would cost as much as a
    tenth of writing it. reportlab writes every object as ``N 0 obj`` at the start of a line with
    its dictionary in clear, so pages, streams and field names are found by position. A PDF not
    laid out so (a filled PDF template) is read with pypdf; both give the same marks (tested).
    """
    if b"ReportLab Generated PDF document" not in data[:200]:
        from pypdf import PdfReader

        return pdf_page_marks(PdfReader(io.BytesIO(data)))
    starts = {int(m.group(1)): m.end() for m in _OBJECT.finditer(data)}
    ends = sorted(starts.values())
    heads: dict[int, bytes] = {}

    def body(number: int) -> bytes:
        start = starts[number]
        # The next object's start by bisection: a scan of the list for each of the ~900 look-ups
        # of a 7-page PDF cost 3 ms a document, a tenth of a bulk worker's time on it.
        after = bisect.bisect_right(ends, start)
        later = ends[after] if after < len(ends) else len(data)
        return data[start:later]

    def head(number: int) -> bytes:
        """An object's dictionary (before ``endobj``), each read once."""
        found = heads.get(number)
        if found is None:
            found = heads[number] = body(number).split(b"endobj")[0]
        return found

    def stream(number: int) -> bytes:
        text = body(number)
        head, found, rest = text.partition(b"stream\n")
        length = re.search(rb"/Length (\d+)", head)
        if not found or length is None:
            raise ValueError("not a stream")
        return rest[: int(length.group(1))]

    try:
        pages = [n for n in starts if _PAGE.search(head(n))]
        tree = next(n for n in starts if _PAGES.search(head(n)))
        kids = re.search(rb"/Kids \[([^\]]*)\]", body(tree))
        if kids is None:
            raise ValueError("no page tree")
        ordered = [int(r) for r in _REF.findall(kids.group(1))]
        if sorted(ordered) != sorted(pages):
            raise ValueError("a nested page tree")
        marks = []
        for number in ordered:
            page = head(number)
            digest = hashlib.sha256()
            contents = re.search(rb"/Contents (\d+) 0 R", page)
            if contents:
                digest.update(stream(int(contents.group(1))))
            xobjects = re.search(rb"/XObject <<([^>]*)>>", page)
            for name, ref in sorted(_NAMED_REF.findall(xobjects.group(1)) if xobjects else []):
                digest.update(b"/" + name + b"\0" + stream(int(ref)))
            fields: list[str] = []
            annots = re.search(rb"/Annots \[([^\]]*)\]", page)
            for ref in _REF.findall(annots.group(1)) if annots else []:
                annotation = head(int(ref))
                if b"/Subtype /Widget" not in annotation:
                    continue
                names = []
                for _ in range(32):
                    title = _TITLE.search(annotation)
                    if title:
                        names.append(re.sub(rb"\\(.)", rb"\1", title.group(1)).decode("latin-1"))
                    parent = re.search(rb"/Parent (\d+) 0 R", annotation)
                    if parent is None:
                        break
                    annotation = head(int(parent.group(1)))
                name = ".".join(reversed(names))
                if name and name not in fields:
                    fields.append(name)
            marks.append(PageMark(digest.hexdigest(), tuple(fields)))
        return marks
    except (ValueError, KeyError, StopIteration):
        from pypdf import PdfReader

        return pdf_page_marks(PdfReader(io.BytesIO(data)))


def pdf_words(reader: Any, margins: tuple[float, float], pages: Iterable[int] | None = None) -> list[str]:
    """The words drawn in the body of the pages (between the top and bottom margins, leaving out
    the running header and footer), in the order they are drawn, page after page."""
    top, bottom = margins
    words: list[str] = []
    for number in pages if pages is not None else range(len(reader.pages)):
        page = reader.pages[number]
        height = float(page.mediabox.height)
        chunks: list[tuple[float, str]] = []

        def visit(
            text: str, cm: Any, tm: Any, _font: Any, _size: Any, chunks: Any = chunks, h: float = height
        ) -> None:
            y = tm[5] * cm[3] + tm[4] * cm[1] + cm[5]
            if text and bottom < y < h - top:
                chunks.append((y, text))

        page.extract_text(visitor_text=visit)
        line_y = None
        for y, text in chunks:
            if line_y is not None and abs(y - line_y) > 0.5:
                words.append(" ")  # a new line: the words either side are two words
            words.append(text)
            line_y = y
        words.append(" ")
    return tokens("".join(words))


_SHOW = {b"Tj", b"TJ", b"'", b'"'}


def _shown_text(stream: Any) -> str:
    """The text a form XObject (a field's appearance) shows, read from its text operators."""
    from pypdf.generic import ContentStream

    shown: list[str] = []
    for operands, operator in ContentStream(stream, None).operations:
        if operator not in _SHOW:
            continue
        for operand in operands:
            items = operand if isinstance(operand, list) else [operand]
            for item in items:
                if isinstance(item, bytes | str):
                    raw = item if isinstance(item, bytes) else item.encode("latin-1", "replace")
                    shown.append(raw.decode("cp1252", "replace"))
                elif hasattr(item, "original_bytes"):
                    shown.append(item.original_bytes.decode("cp1252", "replace"))
        shown.append(" ")
    return " ".join("".join(shown).split())


def locked_appearances(reader: Any) -> list[str]:
    """Locked (read-only) fields whose appearance shows something other than their value."""
    problems = []
    for page_number, page in enumerate(_pages(reader), start=1):
        for ref in page.get("/Annots") or []:
            widget = ref.get_object()
            if widget.get("/Subtype") != "/Widget":
                continue
            flags, value, owner = 0, "", widget
            node: Any = widget
            for _ in range(32):
                if node is None:
                    break
                flags = flags or int(node.get("/Ff", 0) or 0)
                if "/V" in node and not value:
                    value, owner = str(node.get("/V") or ""), node
                parent = node.get("/Parent")
                node = parent.get_object() if parent is not None else None
            if not flags & 1:  # not read-only: the practice's to fill
                continue
            appearance = (widget.get("/AP") or {}).get("/N")
            if appearance is None or _stored(appearance) == b"":  # shows nothing: an overlay's
                continue
            appearance = appearance.get_object()
            if not hasattr(appearance, "get_data"):  # a checkbox's states dictionary
                continue
            shown = _shown_text(appearance)
            if shown and shown != " ".join(value.split()):
                name = _field_name(owner if owner is not widget else widget)
                problems.append(
                    f"page {page_number}: the locked field {name} shows '{_quoted(shown)}', "
                    f"but its issued value is '{_quoted(value)}'"
                )
    return problems


_OURS = {"/Widget", "/Link"}


def added_annotations(reader: Any) -> list[str]:
    """Annotations other than form fields and links (a stamp, a text box, a drawing over a term)."""
    found = []
    for page_number, page in enumerate(_pages(reader), start=1):
        kinds = sorted(
            {str(ref.get_object().get("/Subtype")) for ref in page.get("/Annots") or []} - _OURS - {"/Popup"}
        )
        if kinds:
            what = ", ".join(k.lstrip("/") for k in kinds)
            found.append(f"page {page_number}: {what} annotation added over the page; check what it shows")
    return found


# --- judging a return ---------------------------------------------------------------------------


@dataclass
class Check:
    """What comparing a return with its issued wording found."""

    problems: list[str] = field(default_factory=list)  # changes a person must look at
    pages: list[int] | None = None  # a PDF returned in part: the issued pages it is (1-based)


def check_pdf(reader: Any, issued: Wording) -> Check:
    """A returned PDF against the issued one: locked fields showing their values, nothing laid over
    the page, and every page's wording as issued (by content digest; word by word if that differs).

    A PDF made of some of the issued pages, unchanged and in order (the signature page alone,
    say), is a return in part: :attr:`Check.pages` says which.
    """
    check = Check(locked_appearances(reader) + added_annotations(reader))
    if not issued.pages:  # issued before wordings were kept: nothing to compare with
        return check
    returned = [_page_digest(page) for page in _pages(reader)]
    digests = [p.digest for p in issued.pages]
    if returned == digests:
        return check
    found = [digests.index(d) + 1 if d in digests else 0 for d in returned]
    if len(returned) < len(digests) and all(found) and found == sorted(set(found)):
        check.pages = found
        return check
    if not issued.words:  # a PDF template's: no Word wording to compare the words with
        changed = [str(n) for n, d in enumerate(returned, start=1) if d not in digests]
        which = f"page {', '.join(changed)}" if changed else "the order of the pages"
        check.problems.append(f"{which} differs from the issued PDF: compare it with the issued one")
        return check
    check.problems += [
        f"wording changed: {d}" for d in differences(issued, pdf_words(reader, issued.margins))
    ]
    return check


def check_docx(body_xml: bytes | None, issued: Wording) -> Check:
    """A returned Word document's wording outside its fillable controls against the issued wording."""
    if not issued.words:
        return Check()
    if body_xml is None:
        return Check(["the document's text cannot be read to compare it with what was issued"])
    return Check([f"wording changed: {d}" for d in differences(issued, docx_words(body_xml))])


# --- comparing ----------------------------------------------------------------------------------


def differences(issued: Wording, returned: list[str]) -> list[str]:
    """Each change from the issued wording, as ``clause: 'issued words' → 'returned words'``.

    A table header row the PDF repeats at the top of a page is not a change.
    """
    if returned == issued.words:
        return []
    matcher = difflib.SequenceMatcher(a=issued.words, b=returned, autojunk=False)
    changes = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal" or (op == "insert" and only_headers(returned[b0:b1], issued.headers)):
            continue
        clause = issued.clause_at(a0) or "Before the first heading"
        old, new = " ".join(issued.words[a0:a1]), " ".join(returned[b0:b1])
        if op == "insert":
            before = " ".join(issued.words[max(a0 - 3, 0) : a0])
            changes.append(f"{clause}: '{_quoted(new)}' added after '{_quoted(before)}'")
        elif op == "delete":
            changes.append(f"{clause}: '{_quoted(old)}' removed")
        else:
            changes.append(f"{clause}: '{_quoted(old)}' → '{_quoted(new)}'")
    if len(changes) > DIFFS_SHOWN:
        changes = [*changes[:DIFFS_SHOWN], f"and {len(changes) - DIFFS_SHOWN} more changes"]
    return changes


def only_headers(inserted: list[str], headers: list[list[str]]) -> bool:
    """Whether words a PDF has that the Word document lacks are table header rows it repeated."""
    while inserted:
        match = next((h for h in headers if h and inserted[: len(h)] == h), None)
        if match is None:
            return False
        inserted = inserted[len(match) :]
    return True


def _quoted(text: str) -> str:
    words = text.split()
    shown = " ".join(words[:QUOTED_WORDS]) + (" …" if len(words) > QUOTED_WORDS else "")
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in shown)
