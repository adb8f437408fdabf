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

    __slots__ = ("alt", "kids", "parent", "ref", "role", "scope")

    def __init__(self, role: str, parent: Element | None, alt: str = "", scope: str = "") -> None:
        self.role = role
        self.parent = parent
        self.alt = alt
        self.scope = scope  # a header cell's /Scope: Column or Row
        # Element | (page, mcid) | (page, widget reference) — in reading order
        self.kids: list[Any] = []
        self.ref: Any = None


class _StructElem(pdfdoc.PDFObject):  # type: ignore[misc]
    """An element as a PDF object, written at save."""

    __RefOnly__ = 1

    def __init__(self, element: Element) -> None:
        self.element = element

    def format(self, document: Any) -> bytes:
        element = self.element
        page = _first_page(element)
        assert element.parent is not None  # only the root, written by hand, has none
        parent = element.parent.ref.format(document)
        parts = [b"<< /Type /StructElem /S /", element.role.encode(), b" /P ", parent]
        if page is not None:
            parts += [b" /Pg ", _page_ref(page).format(document)]
        if element.alt:
            parts += [b" /Alt ", _text(element.alt)]
        if element.scope:
            parts.append(f" /A << /O /Table /Scope /{element.scope} >>".encode())
        parts.append(b" /K [")
        for kid in element.kids:
            if isinstance(kid, Element):
                parts += [b" ", kid.ref.format(document)]
                continue
            where, what = kid
            if isinstance(what, int):
                if where == page:
                    parts.append(b" %d" % what)
                else:
                    page_ref = _page_ref(where).format(document)
                    parts += [b" << /Type /MCR /Pg ", page_ref, b" /MCID %d >>" % what]
            else:
                parts += [b" << /Type /OBJR /Obj ", what.format(document), b" /Pg ",
                          _page_ref(where).format(document), b" >>"]  # fmt: skip
        parts.append(b" ] >>")
        return b"".join(parts)


def _first_page(element: Element) -> int | None:
    for kid in element.kids:
        if not isinstance(kid, Element):
            return int(kid[0])
    return None


def _page_ref(page: int) -> Any:
    return pdfdoc.PDFObjectReference(f"Page{page + 1}")


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
        self.continued: dict[Any, Element] = {}  # a split paragraph's or table's element, by its key
        self.bullet = False  # a list item's label is being drawn (its body comes next)

    @property
    def on(self) -> bool:
        return self.enabled and not self.quiet

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
        self.open(role, key=key, level=level)
        if role == "LI":
            self.open("Lbl" if labelled else "LBody")
            self.bullet = labelled
        self.mark()

    def end_leaf(self, role: str) -> None:
        self.end()
        if role == "LI":
            self.close()
        self.close()

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
        self.quiet += 1
        try:
            yield
        finally:
            self.quiet -= 1
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
        root = Raw()  # the StructTreeRoot: its parts are set once the elements have references
        self.root.ref = doc.Reference(root)
        elements: list[Element] = []
        _prune(self.root, elements)
        for element in elements:
            element.ref = doc.Reference(_StructElem(element))
        nums: list[Any] = []
        entries: list[tuple[int, list[Any]]] = [
            (key, [b"["] + [p for owner in owners for p in (b" ", owner.ref)] + [b" ]"])
            for key, owners in zip(self.page_keys, self.pages, strict=True)
        ]
        entries += [(key, [element.ref]) for key, element in self.widgets]
        entries.sort(key=lambda entry: entry[0])
        for key, value in entries:
            nums += [b" %d " % key, *value]
        root.parts = (
            b"<< /Type /StructTreeRoot /K [ ", self.document.ref, b" ] /ParentTree << /Nums [", *nums,
            b" ] >> /ParentTreeNextKey %d >>" % self.next_key,
        )  # fmt: skip
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
