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

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfdoc

from .fonts import Raw
from .form import pdf_text

__all__ = ["LEAVES", "UNTAGGED", "Element", "Indirect", "Tagger", "tagger_of"]

# Roles whose drawing is one run of marked content; the others hold elements.
LEAVES = frozenset({"P", "H1", "H2", "H3", "H4", "H5", "H6", "LI"})
_PDFUA_NS = "http://www.aiim.org/pdfua/ns/id/"


class Element:
    """A structure element: its type, attributes and kids (elements, marked content, widgets)."""

    __slots__ = ("alive", "alt", "kids", "number", "parent", "role", "scope")

    def __init__(self, role: str, parent: Element | None, alt: str = "", scope: str = "") -> None:
        self.role = role
        self.parent = parent
        self.alt = alt
        self.scope = scope  # a header cell's /Scope: Column or Row
        # Element | (page, mcid) | (page, widget reference) — in reading order
        self.kids: list[Any] = []
        self.number = 0  # its object number, once the document is saved
        self.alive = False  # it (or an element in it) holds content: it is written

    def live(self) -> None:
        """It holds content now, and so does every element it is in."""
        element: Element | None = self
        while element is not None and not element.alive:
            element.alive = True
            element = element.parent


class _Written(pdfdoc.PDFObject):  # type: ignore[misc]
    """An indirect object whose bytes are made before the document is saved."""

    __RefOnly__ = 1
    data = b""

    def format(self, document: Any) -> bytes:
        return self.data


class Indirect(pdfdoc.PDFIndirectObject):  # type: ignore[misc]
    """reportlab's indirect object as our saves write it: a structure element's finished bytes go
    straight out, with none of the formatting a general object needs (see ``page._save_without_a85``)."""

    def format(self, document: Any) -> bytes:
        content = self.content
        if type(content) is _Written:
            number = document.idToObjectNumberAndVersion[self.name][0]
            return b"%d 0 obj\n%s\nendobj\n" % (number, content.data)
        formatted: bytes = super().format(document)
        return formatted


def _register(doc: Any, objects: list[_Written]) -> int:
    """Make ``objects`` the document's next indirect objects, in order; the first one's number.
    What ``doc.Reference(obj)`` does for a new unnamed object, without its checks: a document has
    hundreds of elements."""
    first: int = doc.objectcounter + 1
    numbers, ids, registered = doc.idToObjectNumberAndVersion, doc.numberToId, doc.idToObject
    for number, obj in enumerate(objects, start=first):
        name = f"R{number}"
        numbers[name] = (number, 0)
        ids[number] = name
        registered[name] = obj
        obj.__InternalName__ = name
    doc.objectcounter = first + len(objects) - 1
    return first


_ONE_RUN = b"<< /Type /StructElem /S /%s /P %d 0 R /Pg %s /K [ %d ] >>"


def _element_bytes(element: Element, pages: list[bytes], numbers: dict[str, tuple[int, int]]) -> bytes:
    """A structure element's dictionary, its references written out (``pages``: each page's ``n 0 R``)."""
    assert element.parent is not None  # only the root, written by hand, has none
    kids = element.kids
    if len(kids) == 1 and not element.alt and not element.scope:
        (kid,) = kids
        if type(kid) is tuple and type(kid[1]) is int:  # most elements: one run of marked content
            return _ONE_RUN % (element.role.encode(), element.parent.number, pages[kid[0]], kid[1])
    page = None
    for kid in kids:
        if not isinstance(kid, Element):
            page = kid[0]
            break
    parts = [b"<< /Type /StructElem /S /%s /P %d 0 R" % (element.role.encode(), element.parent.number)]
    if page is not None:
        parts.append(b" /Pg " + pages[page])
    if element.alt:
        parts.append(b" /Alt " + pdf_text(element.alt))
    if element.scope:
        parts.append(b" /A << /O /Table /Scope /%s >>" % element.scope.encode())
    parts.append(b" /K [")
    for kid in kids:
        if isinstance(kid, Element):
            if kid.alive:
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


class Tagger:
    """One document's structure, built as it is drawn; see the module docstring."""

    def __init__(self, canv: Any, enabled: bool = True) -> None:
        self.canv = canv
        self.enabled = enabled
        # The drawings being remembered (see ``replay_on``), told of each structural step.
        self.recordings: list[Any] = canv.__dict__.setdefault("_agreementgen_recording", []) if canv else []
        self.root = Element("StructTreeRoot", None)  # written by hand at save, not as an element
        self.document = Element("Document", self.root)
        self.root.kids.append(self.document)
        self.document.alive = self.root.alive = True
        self.elements: list[Element] = [self.document]  # every element, each after the one it is in
        self.stack: list[Element] = [self.document]
        self.in_mark = False
        self.pages: list[list[Element]] = []  # per page: the element each MCID belongs to
        self.page_keys: list[int] = []  # per page: its /StructParents key
        self.widgets: list[tuple[int, Element]] = []  # (/StructParent key, Form element)
        self.next_key = 0
        self.quiet = 0  # inside an artifact: nothing is tagged
        self.on = enabled  # tagging now: enabled and not inside an artifact
        self.emitted = 0  # how many times tags were written into the page's code (see ``replay_on``)
        self.continued: dict[Any, Element] = {}  # a split paragraph's or table's element, by its key
        self.bullet = False  # a list item's label is being drawn (its body comes next)
        self.in_cell = False  # a table cell of one paragraph is being drawn: its text goes in the cell

    def _log(self, op: str, args: tuple[Any, ...]) -> None:
        """Tell every drawing being remembered of a structural step, and where in its code it falls."""
        at = len(self.canv._code)
        for _origin, start, events in self.recordings:
            events.append((at - start, op, args))

    def hush(self, by: int) -> None:
        """Stop tagging (``by`` 1) or resume (-1): inside artifacts, and in forms drawn at save."""
        self.quiet += by
        self.on = self.enabled and not self.quiet

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
        if self.recordings:
            self._log("open", (role, alt, scope, key, level))
        parent = self.stack[-1]
        element = self.continued.get(key) if key is not None else None
        if element is None:
            if role == "LI":
                parent = _list_at(parent, level, self.elements)
            element = Element(role, parent, alt, scope)
            parent.kids.append(element)
            self.elements.append(element)
            if key is not None:
                self.continued[key] = element
        self.stack.append(element)

    def close(self) -> None:
        if not self.on:
            return
        if self.recordings:
            self._log("close", ())
        self.stack.pop()

    def mark(self) -> None:
        """Begin a run of marked content belonging to the current element."""
        if not self.on:
            return
        element = self.stack[-1]
        if not element.alive:
            element.live()
        if self.recordings:
            self._log("mark", ())
        self._run(element)

    def _run(self, element: Element) -> None:
        """Write the beginning of ``element``'s next run of marked content on this page."""
        page = len(self.pages) - 1
        owners = self.pages[page]
        mcid = len(owners)
        owners.append(element)
        element.kids.append((page, mcid))
        self.canv._code.append(f"/{element.role} <</MCID {mcid}>> BDC")
        self.emitted += 1
        self.in_mark = True

    def end(self) -> None:
        if self.on:
            self.canv._code.append("EMC")
            self.emitted += 1
            self.in_mark = False

    def leaf(self, role: str, key: Any = None, labelled: bool = False, level: int = 0) -> None:
        """Begin an element drawn as one run of marked content (a paragraph, a heading, a list item)."""
        if role == "LI" or key is not None or self.recordings:
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
        self.elements.append(element)
        self.stack.append(element)
        if not parent.alive:
            parent.live()
        element.alive = True
        self._run(element)

    def end_leaf(self, role: str) -> None:
        if role == "LI" or self.recordings:
            self.end()
            if role == "LI":
                self.close()
            self.close()
            return
        self.canv._code.append("EMC")
        self.emitted += 1
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

    def begin_artifact(self, kind: str = "") -> None:
        """Begin drawing something that is not content (a header, a rule, shading): until
        :meth:`end_artifact`, nothing is tagged."""
        if self.on:  # (inside an artifact already, nothing is written)
            self.canv._code.append(f"/Artifact <</Type /{kind}>> BDC" if kind else "/Artifact BMC")
            self.emitted += 1
        self.quiet += 1
        self.on = False

    def end_artifact(self) -> None:
        self.quiet -= 1
        self.on = self.enabled and not self.quiet
        if self.on:
            self.canv._code.append("EMC")
            self.emitted += 1

    @contextmanager
    def artifact(self, kind: str = "") -> Iterator[None]:
        """Draw something that is not content, as :meth:`begin_artifact` and :meth:`end_artifact`."""
        self.begin_artifact(kind)
        try:
            yield
        finally:
            self.end_artifact()

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
        self.elements.append(element)
        element.live()
        self.widgets.append((key, element))

    # -- the document --------------------------------------------------------------------

    def release(self) -> None:
        """Undo the links between elements (each refers to its parent and its kids) once written."""
        for element in self.elements:
            element.parent = None
            element.kids = []
        self.elements, self.stack, self.pages, self.widgets = [], [], [], []
        self.continued.clear()
        self.root.kids = []
        self.canv = None
        self.recordings = []

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
        elements = [element for element in self.elements if element.alive]  # those with content
        written = [_Written() for _ in range(len(elements) + 1)]  # the root's, then the elements'
        first = _register(doc, written)
        self.root.number = first
        for offset, element in enumerate(elements, start=1):
            element.number = first + offset
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


def _list_at(parent: Element, level: int, elements: list[Element]) -> Element:
    """The list a list item at ``level`` joins: list items in a row are one list, and an item a
    level deeper than the one before starts (or continues) a list in that item's body."""
    current = _list_in(parent, elements)
    for _ in range(level):
        item = current.kids[-1] if current.kids else None
        body = (
            next((k for k in reversed(item.kids) if isinstance(k, Element) and k.role == "LBody"), None)
            if isinstance(item, Element)
            else None
        )
        if body is None:
            break
        current = _list_in(body, elements)
    return current


def _list_in(container: Element, elements: list[Element]) -> Element:
    """The list ``container`` ends with, or a new one at its end."""
    last = container.kids[-1] if container.kids else None
    if isinstance(last, Element) and last.role == "L":
        return last
    made = Element("L", container)
    container.kids.append(made)
    elements.append(made)
    return made


UNTAGGED = Tagger(None, enabled=False)  # for a canvas that is not a document's (tags nothing)


def tagger_of(canv: Any) -> Tagger:
    """The canvas's tagger (one that tags nothing for a canvas that is not a document's)."""
    tagger: Tagger = canv.__dict__.get("tagger", UNTAGGED)
    return tagger


_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xmp(title: str, lang: str, tagged: bool) -> bytes:
    """The XMP metadata stream: the title and language, and (tagged) the PDF/UA-1 identification."""
    ua = "<pdfuaid:part>1</pdfuaid:part>" if tagged else ""
    title, lang = _XML_UNSAFE.sub("", title), _XML_UNSAFE.sub("", lang)  # XML cannot hold control characters
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
