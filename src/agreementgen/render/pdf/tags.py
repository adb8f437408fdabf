"""The logical structure of a tagged PDF: structure elements, marked content, the parent tree.

A :class:`Tagger` belongs to one document's canvas. While the layout draws, it is told
where each piece of the Word document begins and ends (:meth:`Tagger.open`,
:meth:`Tagger.close`) and writes the marked-content operators around what is drawn
(:meth:`Tagger.mark` — ``/P <</MCID n>> BDC`` … ``EMC``); what belongs to no element
(running headers and footers, the QR code, table rules and shading) is written inside
:meth:`Tagger.artifact`, where nothing is tagged. A field's widget becomes a ``Form``
element holding an object reference to it. At save, :meth:`Tagger.finish` writes the
``StructTreeRoot`` with its parent tree, and the catalog entries a tagged PDF has
(``/MarkInfo``, ``/Lang``, ``/ViewerPreferences``, XMP metadata naming PDF/UA-1).

Drawings the writer replays (see :func:`~agreementgen.render.pdf.flowables.replay_on`)
replay their tagging too: each structural step is logged as an event with its place
in the page's code, and replaying it opens the same elements and writes fresh
marked-content ids on the page it lands on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfdoc

from .fonts import Raw

__all__ = ["LEAVES", "UNTAGGED", "Element", "Tagger", "tagger_of"]

# Roles whose drawing is one run of marked content; the others hold elements.
LEAVES = frozenset({"P", "H1", "H2", "H3", "H4", "H5", "H6", "LI", "Caption"})
_PDFUA_NS = "http://www.aiim.org/pdfua/ns/id/"


class Element:
    """A structure element: its type, attributes and kids (elements, marked content, widgets)."""

    __slots__ = ("alt", "kids", "number", "parent", "role", "scope")

    def __init__(self, role: str, parent: Element | None, alt: str = "", scope: str = "") -> None:
        self.role = role
        self.parent = parent
        self.alt = alt
        self.scope = scope  # a header cell's /Scope: Column or Row
        # Element | (page, mcid) | (page, widget reference) — in reading order
        self.kids: list[Any] = []
        self.number = 0  # its object number, once the document is saved


class _Written(pdfdoc.PDFObject):  # type: ignore[misc]
    """An indirect object whose bytes are made before the document is saved."""

    __RefOnly__ = 1
    data = b""

    def format(self, document: Any) -> bytes:
        return self.data


def _register(doc: Any, obj: pdfdoc.PDFObject) -> int:
    """Make ``obj`` the document's next indirect object; its number. What ``doc.Reference(obj)``
    does for a new unnamed object, without its checks: a document has hundreds of elements."""
    number: int = doc.objectcounter + 1
    doc.objectcounter = number
    name = f"R{number}"
    doc.idToObjectNumberAndVersion[name] = (number, 0)
    doc.numberToId[number] = name
    doc.idToObject[name] = obj
    obj.__InternalName__ = name
    return number


def _element_bytes(element: Element, pages: list[bytes], numbers: dict[str, tuple[int, int]]) -> bytes:
    """A structure element's dictionary, its references written out (``pages``: each page's ``n 0 R``)."""
    assert element.parent is not None  # only the root, written by hand, has none
    page = None
    for kid in element.kids:
        if not isinstance(kid, Element):
            page = kid[0]
            break
    parts = [b"<< /Type /StructElem /S /%s /P %d 0 R" % (element.role.encode(), element.parent.number)]
    if page is not None:
        parts.append(b" /Pg " + pages[page])
    if element.alt:
        parts.append(b" /Alt " + _text(element.alt))
    if element.scope:
        parts.append(b" /A << /O /Table /Scope /%s >>" % element.scope.encode())
    parts.append(b" /K [")
    for kid in element.kids:
        if isinstance(kid, Element):
            parts.append(b" %d 0 R" % kid.number)
            continue
        where, what = kid
        if isinstance(what, int):
            parts.append(
                b" %d" % what
                if where == page
                else b" << /Type /MCR /Pg %s /MCID %d >>" % (pages[where], what)
            )
        else:
            widget = numbers[what.name][0]
            parts.append(b" << /Type /OBJR /Obj %d 0 R /Pg %s >>" % (widget, pages[where]))
    parts.append(b" ] >>")
    return b"".join(parts)


def _text(text: str) -> bytes:
    from .form import pdf_text  # form imports fonts only; imported here to keep the layers one-way

    return pdf_text(text)


class Tagger:
    """One document's structure, built as it is drawn; see the module docstring."""

    def __init__(self, canv: Any, enabled: bool = True) -> None:
        self.canv = canv
        self.enabled = enabled
        self.root = Element("StructTreeRoot", None)  # written by hand at save, not as an element
        self.document = Element("Document", self.root)
        self.root.kids.append(self.document)
        self.stack: list[Element] = [self.document]
        self.in_mark = False
        self.pages: list[list[Element]] = []  # per page: the element each MCID belongs to
        self.page_keys: list[int] = []  # per page: its /StructParents key
        self.widgets: list[tuple[int, Element]] = []  # (/StructParent key, Form element)
        self.next_key = 0
        self.quiet = 0  # inside an artifact: nothing is tagged
        self.on = enabled  # tagging now: enabled and not inside an artifact
        self.continued: dict[Any, Element] = {}  # a split paragraph's or table's element, by its key
        self.bullet = False  # a list item's label is being drawn (its body comes next)
        self.in_cell = False  # a table cell of one paragraph is being drawn: its text goes in the cell

    def hush(self, by: int) -> None:
        """Stop tagging (``by`` 1) or resume (-1): inside artifacts, and in forms drawn at save."""
        self.quiet += by
        self.on = self.enabled and not self.quiet

    @property
    def state(self) -> str:
        """What a drawing's operators depend on: tagged, inside an artifact, or untagged."""
        return "T" if self.on else ("A" if self.enabled else "U")

    # -- pages ---------------------------------------------------------------------------

    def new_page(self) -> None:
        self.pages.append([])
        self.page_keys.append(self.next_key)
        self.next_key += 1

    # -- elements ------------------------------------------------------------------------

    def open(self, role: str, alt: str = "", scope: str = "", key: Any = None, level: int = 0) -> None:
        """Begin an element under the current one (or continue the one ``key`` began on an earlier
        page); a list item (``LI``) goes in the list at its ``level`` (0 the outermost)."""
        if not self.on:
            return
        _log(self.canv, "open", (role, alt, scope, key, level))
        parent = self.stack[-1]
        element = self.continued.get(key) if key is not None else None
        if element is None:
            if role == "LI":
                parent = _list_at(parent, level)
            element = Element(role, parent, alt, scope)
            parent.kids.append(element)
            if key is not None:
                self.continued[key] = element
        self.stack.append(element)

    def close(self) -> None:
        if not self.on:
            return
        _log(self.canv, "close", ())
        self.stack.pop()

    def mark(self) -> None:
        """Begin a run of marked content belonging to the current element."""
        if not self.on:
            return
        element = self.stack[-1]
        page = len(self.pages) - 1
        owners = self.pages[page]
        mcid = len(owners)
        owners.append(element)
        element.kids.append((page, mcid))
        _log(self.canv, "mark", ())
        self.canv._code.append(f"/{element.role} <</MCID {mcid}>> BDC")
        self.in_mark = True

    def end(self) -> None:
        if self.on:
            self.canv._code.append("EMC")
            self.in_mark = False

    def leaf(self, role: str, key: Any = None, labelled: bool = False, level: int = 0) -> None:
        """Begin an element drawn as one run of marked content (a paragraph, a heading, a list item)."""
        canv = self.canv
        if role == "LI" or key is not None or canv.__dict__.get("_agreementgen_recording"):
            self.open(role, key=key, level=level)
            if role == "LI":
                self.open("Lbl" if labelled else "LBody")
                self.bullet = labelled
            self.mark()
            return
        # The common case, open() and mark() in one: a paragraph or heading drawn on the page.
        parent = self.stack[-1]
        element = Element(role, parent)
        parent.kids.append(element)
        self.stack.append(element)
        page = len(self.pages) - 1
        owners = self.pages[page]
        mcid = len(owners)
        owners.append(element)
        element.kids.append((page, mcid))
        canv._code.append(f"/{role} <</MCID {mcid}>> BDC")
        self.in_mark = True

    def end_leaf(self, role: str) -> None:
        if role == "LI" or self.canv.__dict__.get("_agreementgen_recording"):
            self.end()
            if role == "LI":
                self.close()
            self.close()
            return
        self.canv._code.append("EMC")
        self.in_mark = False
        self.stack.pop()

    def label_drawn(self) -> None:
        """A list item's label is drawn: what follows is its body."""
        if not self.on or not self.bullet:
            return
        self.bullet = False
        self.end()
        self.close()
        self.open("LBody")
        self.mark()

    @contextmanager
    def artifact(self, kind: str = "") -> Iterator[None]:
        """Draw something that is not content (a header, a rule, shading): nothing in it is tagged."""
        if not self.enabled:
            yield
            return
        code = self.canv._code
        code.append(f"/Artifact <</Type /{kind}>> BDC" if kind else "/Artifact BMC")
        self.hush(1)
        try:
            yield
        finally:
            self.hush(-1)
            code.append("EMC")

    @contextmanager
    def figure(self, alt: str) -> Iterator[None]:
        """A picture in the current run of marked content: a ``Figure`` of its own, with its alt text."""
        if not self.on:
            yield
            return
        inside = self.in_mark
        if inside:
            self.end()
        self.open("Figure", alt=alt or "Picture")
        self.mark()
        try:
            yield
        finally:
            self.end()
            self.close()
            if inside:
                self.mark()

    # -- widgets -------------------------------------------------------------------------

    def widget_key(self) -> int | None:
        """The ``/StructParent`` of a widget about to be made, or None when untagged."""
        if not self.enabled:
            return None
        key = self.next_key
        self.next_key += 1
        return key

    def widget(self, key: int, reference: Any) -> None:
        """A field's widget: a ``Form`` element in the reading order, referring to it."""
        element = Element("Form", self.stack[-1])
        element.kids.append((len(self.pages) - 1, reference))
        self.stack[-1].kids.append(element)
        self.widgets.append((key, element))

    # -- the document --------------------------------------------------------------------

    def finish(self, doc: Any, title: str, lang: str) -> None:
        """Write the structure tree, and mark the catalog as a tagged PDF in ``lang`` titled ``title``."""
        catalog = doc.Catalog
        catalog.Lang = pdfdoc.PDFString(lang)
        catalog.ViewerPreferences = Raw(b"<< /DisplayDocTitle true >>")
        catalog.Metadata = Raw(_xmp(title, lang, self.enabled))
        if not self.enabled:
            return
        catalog.MarkInfo = Raw(b"<< /Marked true >>")
        numbers = doc.idToObjectNumberAndVersion
        elements: list[Element] = []
        _prune(self.root, elements)
        written = []
        for element in (self.root, *elements):  # object numbers first: elements refer to each other
            obj = _Written()
            element.number = _register(doc, obj)
            written.append(obj)
        pages = [b"%d 0 R" % numbers[f"Page{n + 1}"][0] for n in range(len(self.pages))]
        for element, obj in zip(elements, written[1:], strict=True):
            obj.data = _element_bytes(element, pages, numbers)
        root = written[0]
        entries: list[tuple[int, bytes]] = [
            (key, b"[" + b"".join(b" %d 0 R" % owner.number for owner in owners) + b" ]")
            for key, owners in zip(self.page_keys, self.pages, strict=True)
        ]
        entries += [(key, b"%d 0 R" % element.number) for key, element in self.widgets]
        entries.sort(key=lambda entry: entry[0])
        nums = b" ".join(b"%d %s" % entry for entry in entries)
        root.data = (
            b"<< /Type /StructTreeRoot /K [ %d 0 R ] /ParentTree << /Nums [ %s ] >> /ParentTreeNextKey %d >>"
            % (self.document.number, nums, self.next_key)
        )
        catalog.StructTreeRoot = root


def _list_at(parent: Element, level: int) -> Element:
    """The list a list item at ``level`` joins: list items in a row are one list, and an item a
    level deeper than the one before starts (or continues) a list in that item's body."""
    last = parent.kids[-1] if parent.kids else None
    if not (isinstance(last, Element) and last.role == "L"):
        last = Element("L", parent)
        parent.kids.append(last)
    current = last
    for _ in range(level):
        item = current.kids[-1] if current.kids else None
        body = (
            next((k for k in reversed(item.kids) if isinstance(k, Element) and k.role == "LBody"), None)
            if isinstance(item, Element)
            else None
        )
        if body is None:
            break
        inner = body.kids[-1] if body.kids else None
        if not (isinstance(inner, Element) and inner.role == "L"):
            inner = Element("L", body)
            body.kids.append(inner)
        current = inner
    return current


UNTAGGED = Tagger(None, enabled=False)  # for a canvas that is not a document's (tags nothing)


def tagger_of(canv: Any) -> Tagger:
    """The canvas's tagger (one that tags nothing for a canvas that is not a document's)."""
    tagger: Tagger = canv.__dict__.get("tagger", UNTAGGED)
    return tagger


def _prune(element: Element, out: list[Element]) -> bool:
    """Drop elements with nothing in them, list the rest (below ``element``) in ``out``; whether
    ``element`` has content."""
    kept: list[Any] = []
    for kid in element.kids:
        if isinstance(kid, Element):
            if _prune(kid, out):
                kept.append(kid)
        else:
            kept.append(kid)
    element.kids = kept
    if element.parent is not None and (kept or element.role == "Document"):
        out.append(element)
    return bool(kept)


def _log(canv: Any, op: str, args: tuple[Any, ...]) -> None:
    """Tell every drawing being remembered (see ``replay_on``) of a structural step, where it falls."""
    recordings = canv.__dict__.get("_agreementgen_recording")
    if recordings:
        at = len(canv._code)
        for _origin, start, events in recordings:
            events.append((at - start, op, args))


def _xmp(title: str, lang: str, tagged: bool) -> bytes:
    """The XMP metadata stream: the title and language, and (tagged) the PDF/UA-1 identification."""
    ua = "<pdfuaid:part>1</pdfuaid:part>" if tagged else ""
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:pdfuaid="{_PDFUA_NS}" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">'
        f"{ua}<dc:format>application/pdf</dc:format>"
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>'
        f"<dc:language><rdf:Bag><rdf:li>{escape(lang)}</rdf:li></rdf:Bag></dc:language>"
        "<pdf:Producer>agreementgen</pdf:Producer>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()
    return b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(packet) + packet + b"\nendstream"
