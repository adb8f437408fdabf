"""Reading a tagged PDF's logical structure back with pikepdf, as assistive technology reads it.

* :func:`tree` — the structure elements in reading order (role, depth, alt text, scope, the
  marked content and widgets each holds directly);
* :func:`page_content` — each page's marked content as its content stream has it: the MCIDs
  it marks, and any painting done outside both marked content and artifacts;
* :func:`problems` — everything a tagged PDF of ours must not have, as sentences (an empty
  list for a good PDF): unreachable or untagged content, headings that skip a level, tables
  without header cells, widgets without a Form element or a tooltip;
* :func:`reading_text` — the text of the page content in structure order (pypdf decodes it).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pikepdf
from pypdf import PdfReader

# Operators that put marks on a page (PDF 32000-1, tables 59, 60, 87, 107): text, paths, images.
PAINTING = frozenset({"Tj", "TJ", "'", '"', "S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "Do", "BI"})


@dataclass
class Node:
    role: str
    depth: int
    alt: str = ""
    scope: str = ""
    mcids: list[tuple[int, int]] = field(default_factory=list)  # (page index, mcid)
    widgets: list[tuple[int, int]] = field(default_factory=list)  # the widgets it refers to (object ids)
    kids: list[Node] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)  # (page, mcid) and Nodes, in reading order

    def reading_order(self) -> list[tuple[int, int]]:
        """The marked content of this element and those in it, in reading order."""
        out: list[tuple[int, int]] = []
        for item in self.items:
            out += item.reading_order() if isinstance(item, Node) else [item]
        return out


def _open(pdf: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(pdf))


def _page_index(document: pikepdf.Pdf) -> dict[tuple[int, int], int]:
    return {page.obj.objgen: number for number, page in enumerate(document.pages)}


def tree(pdf: bytes) -> list[Node]:
    """Every structure element below the StructTreeRoot, depth first (reading order)."""
    document = _open(pdf)
    pages = _page_index(document)
    out: list[Node] = []

    def walk(element: Any, depth: int) -> Node:
        node = Node(str(element.get("/S"))[1:], depth, str(element.get("/Alt", "")))
        attributes = element.get("/A")
        if attributes is not None and "/Scope" in attributes:
            node.scope = str(attributes.Scope)[1:]
        out.append(node)
        own_page = pages.get(element.Pg.objgen) if "/Pg" in element else None
        kids = element.get("/K")
        kids = [] if kids is None else (list(kids) if isinstance(kids, pikepdf.Array) else [kids])
        for kid in kids:
            if isinstance(kid, int):
                assert own_page is not None, f"{node.role} has marked content but no /Pg"
                node.mcids.append((own_page, int(kid)))
                node.items.append(node.mcids[-1])
            elif kid.get("/Type") == "/MCR":
                node.mcids.append((pages[kid.Pg.objgen], int(kid.MCID)))
                node.items.append(node.mcids[-1])
            elif kid.get("/Type") == "/OBJR":
                node.widgets.append(kid.Obj.objgen)
            else:
                node.kids.append(walk(kid, depth + 1))
                node.items.append(node.kids[-1])
        return node

    root = document.Root.StructTreeRoot
    kids = root.K if isinstance(root.K, pikepdf.Array) else [root.K]
    for kid in kids:
        walk(kid, 0)
    return out


@dataclass
class PageContent:
    mcids: list[int]  # in the order the content stream marks them
    untagged: list[str]  # painting operators outside marked content and artifacts


def page_content(pdf: bytes) -> list[PageContent]:
    """Each page's marked-content ids, and what it paints outside any marked content."""
    document = _open(pdf)
    out = []
    for page in document.pages:
        mcids: list[int] = []
        untagged: list[str] = []
        stack: list[str] = []  # "mcid", "artifact" or "other" for each open BDC/BMC
        for operands, operator in pikepdf.parse_content_stream(page):
            op = str(operator)
            if op in ("BDC", "BMC"):
                tag = str(operands[0])
                if tag == "/Artifact":
                    stack.append("artifact")
                elif op == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]:
                    mcids.append(int(operands[1].MCID))
                    stack.append("mcid")
                else:
                    stack.append("other")
            elif op == "EMC":
                stack.pop()
            elif op in PAINTING and not ({"mcid", "artifact"} & set(stack)):
                untagged.append(op)
        out.append(PageContent(mcids, untagged))
    return out


def problems(pdf: bytes) -> list[str]:
    """What makes ``pdf`` not a well-tagged PDF of ours, one sentence each."""
    found: list[str] = []
    document = _open(pdf)
    root = document.Root
    if "/StructTreeRoot" not in root:
        return ["the catalog has no StructTreeRoot"]
    if not bool(root.get("/MarkInfo", {}).get("/Marked", False)):
        found.append("the catalog's /MarkInfo does not say /Marked true")
    if not str(root.get("/Lang", "")):
        found.append("the catalog has no /Lang")
    nodes = tree(pdf)
    in_tree = {mc for node in nodes for mc in node.mcids}
    for number, content in enumerate(page_content(pdf)):
        if len(set(content.mcids)) != len(content.mcids):
            found.append(f"page {number + 1} marks an MCID twice")
        for mcid in content.mcids:
            if (number, mcid) not in in_tree:
                found.append(f"page {number + 1}: MCID {mcid} is not reachable from the structure tree")
        if content.untagged:
            found.append(f"page {number + 1} paints outside marked content: {sorted(set(content.untagged))}")
        in_stream = set(content.mcids)
        for page, mcid in in_tree:
            if page == number and mcid not in in_stream:
                found.append(f"page {number + 1}: the tree refers to MCID {mcid}, not marked on the page")
    level = 0
    for node in nodes:
        if node.role in ("H1", "H2", "H3", "H4", "H5", "H6"):
            new = int(node.role[1])
            if new > level + 1:
                found.append(f"a heading {node.role} follows {'no heading' if not level else f'H{level}'}")
            level = new
    for node in nodes:
        if node.role == "Table":
            cells = [c for row in node.kids if row.role == "TR" for c in row.kids]
            if not any(c.role == "TH" for c in cells):
                found.append("a table has no header cells")
            if any(c.role == "TH" and not c.scope for c in cells):
                found.append("a header cell has no /Scope")
            if any(row.role != "TR" for row in node.kids):
                found.append("a table holds something other than rows")
        if node.role == "Figure" and not node.alt:
            found.append("a figure has no alt text")
        if node.role == "L" and any(kid.role != "LI" for kid in node.kids):
            found.append("a list holds something other than list items")
    forms = {w for node in nodes if node.role == "Form" for w in node.widgets}
    parent_tree = _parent_tree(root.StructTreeRoot.ParentTree)
    for page in document.pages:
        for annotation in page.get("/Annots", []):
            if annotation.get("/Subtype") != "/Widget":
                continue
            name = _field_name(annotation)
            if annotation.objgen not in forms:
                found.append(f"the widget of field {name!r} has no Form element")
            key = annotation.get("/StructParent")
            element = parent_tree.get(int(key)) if key is not None else None
            if element is None or str(element.get("/S")) != "/Form":
                found.append(f"the widget of field {name!r} has no /StructParent leading to its Form element")
            if not str(_inherited(annotation, "/TU") or "").strip():
                found.append(f"field {name!r} has no tooltip (/TU)")
    return found


def _parent_tree(tree_node: Any) -> dict[int, Any]:
    out: dict[int, Any] = {}
    nums = tree_node.get("/Nums")
    if nums is not None:
        for index in range(0, len(nums), 2):
            out[int(nums[index])] = nums[index + 1]
    for kid in tree_node.get("/Kids", []):
        out.update(_parent_tree(kid))
    return out


def _inherited(annotation: Any, key: str) -> Any:
    node = annotation
    while node is not None:
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _field_name(annotation: Any) -> str:
    return str(_inherited(annotation, "/T") or "?")


def reading_text(pdf: bytes, leave_out: frozenset[str] = frozenset()) -> str:
    """The text of the tagged content in structure order, whitespace normalised (without the
    content of elements whose role is in ``leave_out``, e.g. ``Lbl``: list labels Word numbers)."""
    by_mcid: dict[tuple[int, int], list[str]] = {}
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):
        current: list[int | None] = [None]
        stack: list[int | None] = []

        def before(operator: bytes, operands: list[Any], *_: Any, stack=stack, current=current) -> None:
            if operator in (b"BDC", b"BMC"):
                props = operands[1] if operator == b"BDC" and len(operands) > 1 else None
                mcid = props.get("/MCID") if hasattr(props, "get") else None
                stack.append(int(mcid) if mcid is not None else None)
                current[0] = stack[-1]
            elif operator == b"EMC" and stack:
                stack.pop()
                current[0] = next((m for m in reversed(stack) if m is not None), None)

        def shown(text: str, *_: Any, number=number, current=current) -> None:
            if current[0] is not None:
                by_mcid.setdefault((number, current[0]), []).append(text)

        page.extract_text(visitor_operand_before=before, visitor_text=shown)
    nodes = tree(pdf)
    left_out = {mc for node in nodes if node.role in leave_out for mc in node.reading_order()}
    top = [node for node in nodes if node.depth == 0]
    words = [
        " ".join(by_mcid.get(mc, [])) for node in top for mc in node.reading_order() if mc not in left_out
    ]
    return " ".join(" ".join(words).split())
