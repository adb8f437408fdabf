"""Word tables as PDF: grid, cell margins, borders, shading, merged cells, header rows, rows kept together.

:func:`build_table` reads a ``w:tbl`` — its style (with the style's conditional formatting
for the header row, the first column, banded rows …), its grid, rows and cells — and makes
a :class:`GridTable`, a flowable that lays the cells out on the grid the way Word does:

* column widths from ``w:tblGrid``; a cell spans ``gridSpan`` columns, and a ``vMerge``
  restart cell spans the rows merged into it;
* cell margins from the table (``tblCellMar``) or the cell (``tcMar``); a row is at least
  (or exactly) its ``trHeight``; content sits at the top, middle or bottom (``vAlign``);
* shading per cell; borders per edge, the cell's own over the table's (``insideH``,
  ``insideV`` between cells), each edge drawn once;
* header rows (``tblHeader``) repeat at the top of every page the table runs onto; rows
  never break across pages; a table whose rows each keep with the next moves whole to the
  next page when it would fit there.

Borders are drawn as one path per kind of line, which keeps big tables cheap.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from lxml import etree  # type: ignore[import-untyped,unused-ignore]
from reportlab.platypus import Flowable

from .flowables import CellStack, colour, draw_block_at
from .fonts import memo
from .form import num
from .tags import tagger_of
from .word import TRACKED_CHANGE, Border, Props, _border, iter_children, twips, w

if TYPE_CHECKING:
    from .story import Builder, _Where

__all__ = ["Cell", "GridTable", "build_table"]

_VAL = w("val")
_CELLS = memo(8192)
_ROWS = memo(4096)
_BORDERS = memo(1024)
_CONDITIONS = (  # Word's order of precedence, weakest first
    "wholeTable",
    "band1Vert",
    "band2Vert",
    "band1Horz",
    "band2Horz",
    "firstCol",
    "lastCol",
    "firstRow",
    "lastRow",
    "nwCell",
    "neCell",
    "swCell",
    "seCell",
)


@dataclass
class Cell:
    """A cell on the grid: where it starts, how far it spans, what it holds and how it looks."""

    row: int
    col: int
    cols: int
    content: CellStack
    padding: tuple[float, float, float, float]  # top, right, bottom, left
    fill: str = ""
    valign: str = "TOP"
    rows: int = 1
    borders: dict[str, Border] = field(default_factory=dict)  # the cell's own (tcBorders)
    keep_next: bool = False  # a paragraph in it keeps with the next: the row keeps with the next row


@dataclass(frozen=True)
class _Height:
    value: float
    exact: bool


class GridTable(Flowable):  # type: ignore[misc]
    """A Word table laid out on its grid; see the module docstring."""

    @property
    def role(self) -> str:
        """A table with header rows is a data table (Table, TR, TH, TD); one without is laid out
        with a table, its cells read in order as sections of the page (Div)."""
        return "Table" if self.header_rows else "Div"

    def __init__(
        self,
        widths: Sequence[float],
        cells: Sequence[Cell],
        nrows: int,
        *,
        heights: Sequence[_Height | None] = (),
        table_borders: dict[str, Border] | None = None,
        header_rows: int = 0,
        keep_together: bool = False,
        align: str = "left",
        indent: float = 0.0,
        row_keys: Sequence[Any] = (),
    ) -> None:
        super().__init__()
        self.widths = list(widths)
        self.cells = list(cells)
        self.nrows = nrows
        self.heights = list(heights) or [None] * nrows
        self.table_borders = table_borders or {}
        self.header_rows = header_rows
        self.keep_together = keep_together
        self.align = align
        self.indent = indent  # from the left margin (tblInd), for a left-aligned table
        # Per row: (key, faces, non-ASCII characters) of a row the same in every document, else None
        self.row_keys = list(row_keys) or [None] * nrows
        self.row_heights: list[float] = []
        self.repeated = 0  # how many of the first rows repeat the header rows of an earlier page
        self.avail = 0.0
        self.width = 0.0
        self.height = 0.0
        self.keepWithNext = 0

    # -- layout --------------------------------------------------------------------------

    def _cell_width(self, cell: Cell) -> float:
        return sum(self.widths[cell.col : cell.col + cell.cols])

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if self.row_heights and self.avail == availWidth:  # laid out for this width already
            return self.width, self.height
        heights = [0.0] * self.nrows
        spanning: list[tuple[Cell, float]] = []
        for cell in self.cells:
            top, right, bottom, left = cell.padding
            _, h = cell.content.wrapOn(
                self.canv, max(self._cell_width(cell) - left - right, 1.0), availHeight
            )
            need = h + top + bottom
            if cell.rows == 1:
                heights[cell.row] = max(heights[cell.row], need)
            else:
                spanning.append((cell, need))
        for r, rule in enumerate(self.heights):
            if rule is not None:
                heights[r] = rule.value if rule.exact else max(heights[r], rule.value)
        for cell, need in spanning:  # a merged cell taller than its rows makes its last row taller
            have = sum(heights[cell.row : cell.row + cell.rows])
            if need > have:
                heights[cell.row + cell.rows - 1] += need - have
        self.row_heights = heights
        self.width = sum(self.widths)
        self.avail = availWidth
        self.height = sum(heights)
        return self.width, self.height

    def with_cells(self, cells: list[Cell]) -> GridTable:
        """The same table holding ``cells``, laid out and drawn anew (no row replayed)."""
        return GridTable(
            self.widths,
            cells,
            self.nrows,
            heights=self.heights,
            table_borders=self.table_borders,
            header_rows=self.header_rows,
            keep_together=self.keep_together,
            align=self.align,
            indent=self.indent,
        )

    def head_height(self, canv: Any = None) -> float:
        """What must go on a page with whatever keeps with this table (after ``wrap``): the header
        rows and the first row that can end a page, as Word keeps a paragraph with a table's first
        row; the whole table if it is kept together."""
        if self.keep_together:
            return self.height
        spans = {(c.row, c.row + c.rows) for c in self.cells if c.rows > 1}
        for r in range(self.header_rows, self.nrows):
            if not any(start <= r < end - 1 for start, end in spans):
                return sum(self.row_heights[: r + 1])
        return self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        from .flowables import _fits_a_fresh_frame

        if not self.row_heights:
            self.wrap(availWidth, availHeight)
        if self.keep_together and _fits_a_fresh_frame(self, self.height):
            return []
        header = sum(self.row_heights[: self.header_rows])
        used = header
        cut = self.header_rows
        spans = {(c.row, c.row + c.rows) for c in self.cells if c.rows > 1}
        for r in range(self.header_rows, self.nrows):
            if used + self.row_heights[r] > availHeight:
                break
            used += self.row_heights[r]
            # a row inside a vertical merge cannot end a page
            if not any(start <= r < end - 1 for start, end in spans):
                cut = r + 1
        if cut <= self.header_rows or cut >= self.nrows:
            return []
        return [self._rows(0, cut), self._rows(cut, self.nrows, repeat_header=True)]

    def _rows(self, start: int, end: int, *, repeat_header: bool = False) -> GridTable:
        """The rows ``start``..``end`` as a table of their own (the header rows first, if asked)."""
        keep = list(range(self.header_rows)) if repeat_header else []
        keep += list(range(start, end))
        where = {r: i for i, r in enumerate(keep)}
        cells = []
        for cell in self.cells:
            if cell.row in where:
                last = max(r for r in keep if cell.row <= r < cell.row + cell.rows)
                cells.append(replace(cell, row=where[cell.row], rows=where[last] - where[cell.row] + 1))
        part = GridTable(
            self.widths,
            cells,
            len(keep),
            heights=[self.heights[r] for r in keep],
            table_borders=self.table_borders,
            header_rows=self.header_rows if repeat_header else min(self.header_rows, end - start),
            align=self.align,
            indent=self.indent,
            row_keys=[self.row_keys[r] for r in keep],
        )
        part.keepWithNext = self.keepWithNext if end == self.nrows else 0
        # Header rows repeated on a later page are drawn as artifacts: a reader hears them once.
        part.repeated = self.header_rows if repeat_header else (self.repeated if start == 0 else 0)
        return part

    # -- drawing ---------------------------------------------------------------------------

    def _x(self) -> float:
        spare = self.avail - self.width
        return spare / 2 if self.align == "center" else spare if self.align == "right" else self.indent

    def draw(self) -> None:
        canv = self.canv
        x0 = self._x()
        tops = [self.height]
        for h in self.row_heights:
            tops.append(tops[-1] - h)
        lefts = [x0]
        for width in self.widths:
            lefts.append(lefts[-1] + width)
        by_row: list[list[Cell]] = [[] for _ in range(self.nrows)]
        for cell in self.cells:
            by_row[cell.row].append(cell)
        widths = tuple(self.widths)
        tagger = tagger_of(canv)
        rows = self.header_rows > 0 and tagger.on  # a data table's rows are TR elements
        for r, cells in enumerate(by_row):
            key = self.row_keys[r]
            bottom = tops[r + 1]
            repeated = r < self.repeated
            if repeated:
                tagger.begin_artifact("Pagination")
            elif rows:
                tagger.open("TR")
            if key is not None:  # a row the same in every document: drawn once, then replayed
                row_key, faces, special = key
                block = ("row", row_key, widths, self.row_heights[r], round(x0, 3))
                draw_block_at(
                    canv, 0.0, bottom, block, faces, special,
                    lambda cells=cells, bottom=bottom: self._draw_cells(cells, tops, lefts, bottom),
                )  # fmt: skip
            else:
                self._draw_cells(cells, tops, lefts, 0.0)
            if repeated:
                tagger.end_artifact()
            elif rows:
                tagger.close()
        tagger.begin_artifact()
        self._draw_borders(tops, lefts)
        tagger.end_artifact()

    def _draw_cells(self, cells: list[Cell], tops: list[float], lefts: list[float], dy: float) -> None:
        """Cells' shading, then their content (``dy``: how far the canvas origin has been moved up)."""
        canv = self.canv
        fills: list[str] = []
        for cell in cells:
            if cell.fill:
                x0, x1 = lefts[cell.col], lefts[cell.col + cell.cols]
                y0, y1 = tops[cell.row + cell.rows] - dy, tops[cell.row] - dy
                fills.append(
                    f"{colour_ops(cell.fill)} rg {num(x0)} {num(y0)} {num(x1 - x0)} {num(y1 - y0)} re f"
                )
        tagger = tagger_of(canv)
        if fills:
            tagger.begin_artifact()
            canv._code.append("q " + " ".join(fills) + " Q")
            tagger.end_artifact()
        data = self.header_rows > 0 and tagger.on
        for cell in cells:
            header = cell.row < self.header_rows
            if data:
                tagger.open("TH" if header else "TD", scope="Column" if header else "")
                # A cell of one paragraph holds its text itself: half the elements of a table, and
                # what a screen reader announces is the same.
                tagger.in_cell = len(cell.content.children) == 1
            top, _, bottom, left = cell.padding
            room = tops[cell.row] - tops[cell.row + cell.rows] - top - bottom
            content = cell.content
            spare = room - content.height
            offset = spare / 2 if cell.valign == "MIDDLE" else spare if cell.valign == "BOTTOM" else 0.0
            y = tops[cell.row] - top - content.height - offset - dy
            content.draw_from(canv, lefts[cell.col] + left, y)
            if data:
                tagger.in_cell = False
                tagger.close()

    def _draw_borders(self, tops: list[float], lefts: list[float]) -> None:
        """The table's borders: worked out once per process for each shape of table, then written."""
        key = (
            tuple(tops),
            tuple(lefts),
            tuple((c.row, c.col, c.rows, c.cols, tuple(sorted(c.borders.items()))) for c in self.cells),
            tuple(sorted(self.table_borders.items())),
        )
        ops = _BORDERS.get(key, lambda: tuple(self._border_ops(tops, lefts)))
        self.canv._code.extend(ops)

    def _border_ops(self, tops: list[float], lefts: list[float]) -> list[str]:
        """Each edge once: the cell's own border over the table's, the heavier of two cells' own."""
        table = self.table_borders
        horizontal: dict[tuple[int, int], tuple[Border | None, bool]] = {}  # (row line, col) -> (border, own)
        vertical: dict[tuple[int, int], tuple[Border | None, bool]] = {}  # (col line, row) -> …

        def offer(edges: dict[tuple[int, int], tuple[Border | None, bool]], key: tuple[int, int],
                  border: Border | None, own: bool) -> None:  # fmt: skip
            known = edges.get(key)
            if (
                known is None
                or (own and not known[1])
                or (
                    own == known[1]
                    and border is not None
                    and (known[0] is None or border.width > known[0].width)
                )
            ):
                edges[key] = (border, own)

        for cell in self.cells:
            first_row, last_row = cell.row, cell.row + cell.rows
            first_col, last_col = cell.col, cell.col + cell.cols
            for c in range(first_col, last_col):
                for line, side, default in ((first_row, "top", "top"), (last_row, "bottom", "bottom")):
                    own = cell.borders.get(side)
                    inside = 0 < line < self.nrows
                    fallback = table.get("insideH" if inside else default)
                    offer(horizontal, (line, c), own or fallback, own is not None)
            for r in range(first_row, last_row):
                for line, side, default in ((first_col, "left", "left"), (last_col, "right", "right")):
                    own = cell.borders.get(side)
                    inside = 0 < line < len(self.widths)
                    fallback = table.get("insideV" if inside else default)
                    offer(vertical, (line, r), own or fallback, own is not None)
        paths: dict[tuple[float, str, str], list[str]] = {}
        out: list[str] = []
        for (line, c), (border, _) in sorted(horizontal.items()):
            if border is not None and border.style != "none" and border.width > 0:
                y = tops[line]
                paths.setdefault((border.width, border.colour, border.style), []).append(
                    f"{num(lefts[c])} {num(y)} m {num(lefts[c + 1])} {num(y)} l"
                )
        for (line, r), (border, _) in sorted(vertical.items()):
            if border is not None and border.style != "none" and border.width > 0:
                x = lefts[line]
                paths.setdefault((border.width, border.colour, border.style), []).append(
                    f"{num(x)} {num(tops[r])} m {num(x)} {num(tops[r + 1])} l"
                )
        for (width, hex_colour, style), segments in sorted(paths.items()):
            dash = ""
            if style.startswith("dash"):
                dash = f"[{num(width * 3)} {num(width * 2)}] 0 d "
            elif style == "dotted":
                dash = f"[{num(width)} {num(width * 2)}] 0 d "
            out.append(
                f"q {colour_ops(hex_colour)} RG {num(width)} w 2 J {dash}" + " ".join(segments) + " S Q"
            )
        return out


def colour_ops(hex_colour: str) -> str:
    c = colour(hex_colour)
    return f"{num(c.red)} {num(c.green)} {num(c.blue)}"


# --------------------------------------------------------------------------- reading a w:tbl


def build_table(builder: Builder, tbl: etree._Element, where: _Where) -> list[Flowable]:
    """A ``w:tbl`` as flowables: the :class:`GridTable`, between Indenters if the table is indented."""
    return _TableReader(builder, tbl, where).build()


class _TableReader:
    def __init__(self, builder: Builder, tbl: etree._Element, where: _Where) -> None:
        self.b = builder
        self.tbl = tbl
        self.where = where
        styles = builder.styles
        self.pr = tbl.find(w("tblPr"))
        style_el = self.pr.find(w("tblStyle")) if self.pr is not None else None
        self.style_id = (style_el.get(_VAL) if style_el is not None else None) or styles.default_table
        self.chain = styles.chain(self.style_id)
        self.look = _table_look(self.pr)
        self.present = {k for s in self.chain for k in s.conditional}
        self._cell_props_cache: dict[tuple[str, ...], tuple[Props, Props]] = {}

    def _table_pr(self, name: str) -> list[etree._Element]:
        """A table property from the style chain, then the table's own (later ones win)."""
        found = [s.tblpr.find(w(name)) for s in self.chain if s.tblpr is not None]
        own = self.pr.find(w(name)) if self.pr is not None else None
        return [e for e in [*found, own] if e is not None]

    def build(self) -> list[Flowable]:
        rows = list(_rows(self.tbl))
        if not rows:
            return []
        grid_el = self.tbl.find(w("tblGrid"))
        widths = [twips(c.get(w("w"))) for c in grid_el.iter(w("gridCol"))] if grid_el is not None else []
        borders: dict[str, Border] = {}
        for element in self._table_pr("tblBorders"):
            borders.update(_cell_borders(element))
        margins = {"top": 0.0, "bottom": 0.0, "left": 5.4, "right": 5.4}
        for element in self._table_pr("tblCellMar"):
            margins.update(_margins(element))
        table_fill = ""
        for element in self._table_pr("shd"):
            table_fill = _fill(element) or table_fill
        indent = 0.0
        for element in self._table_pr("tblInd"):
            indent = twips(element.get(w("w")))
        align = "left"
        for element in self._table_pr("jc"):
            align = {"center": "center", "right": "right", "end": "right"}.get(
                element.get(_VAL) or "", "left"
            )

        placed: list[list[tuple[etree._Element, int, int, str]]] = []  # per row: (tc, col, span, vMerge)
        heights: list[_Height | None] = []
        header_rows = 0
        in_header = True
        for tr in rows:
            trpr = tr.find(w("trPr"))
            if trpr is not None and (trpr.find(w("ins")) is not None or trpr.find(w("del")) is not None):
                self.b._unsupported(self.where, tr, TRACKED_CHANGE)  # a row inserted or deleted
            before = trpr.find(w("gridBefore")) if trpr is not None else None
            col = _int(before.get(_VAL)) if before is not None else 0
            found = []
            for tc in _cells(tr):
                tcpr = tc.find(w("tcPr"))
                span, merge = 1, ""
                if tcpr is not None:
                    gs = tcpr.find(w("gridSpan"))
                    span = max(1, _int(gs.get(_VAL))) if gs is not None else 1
                    vm = tcpr.find(w("vMerge"))
                    if vm is not None:
                        merge = "restart" if (vm.get(_VAL) or "continue") == "restart" else "continue"
                found.append((tc, col, span, merge))
                col += span
            placed.append(found)
            height_el = trpr.find(w("trHeight")) if trpr is not None else None
            if height_el is not None and height_el.get(_VAL):
                heights.append(
                    _Height(twips(height_el.get(_VAL)), (height_el.get(w("hRule")) or "") == "exact")
                )
            else:
                heights.append(None)
            if in_header and trpr is not None and _on(trpr.find(w("tblHeader"))):
                header_rows += 1
            else:
                in_header = False
        ncols = max([len(widths), *(c + s for row in placed for _, c, s, _ in row)])
        if not widths:  # no grid (not written by Word): equal columns across a default text width
            widths = [451.0 / ncols] * ncols
        widths += [widths[-1]] * (ncols - len(widths))
        nrows = len(placed)

        cells: list[Cell] = []
        row_keys: list[Any] = [None] * nrows
        open_merge: dict[int, Cell] = {}  # column -> the cell a vMerge continues
        for r, row in enumerate(placed):
            if self.b.cache and not open_merge and all(not merge for *_, merge in row):
                made, row_keys[r] = self._row(rows[r], row, r, nrows, ncols, margins, heights[r], table_fill)
                cells += made
                continue
            for tc, c, span, merge in row:
                if merge == "continue" and c in open_merge:
                    open_merge[c].rows = r - open_merge[c].row + 1
                    continue
                cell = self._cell(tc, r, c, span, nrows, ncols, margins, heights[r], table_fill)
                cells.append(cell)
                if merge == "restart":
                    open_merge[c] = cell
                else:
                    open_merge.pop(c, None)
        row_keeps = [False] * nrows
        for cell in cells:
            if cell.keep_next:
                row_keeps[cell.row + cell.rows - 1] = True
        table = GridTable(
            widths,
            cells,
            nrows,
            heights=heights,
            table_borders=borders,
            header_rows=header_rows if header_rows < nrows else 0,
            keep_together=nrows > 1 and all(row_keeps[:-1]),
            align=align,
            indent=indent,
            row_keys=row_keys,
        )
        table.keepWithNext = int(row_keeps[-1])
        return [table]

    def _row(
        self,
        tr: etree._Element,
        row: list[tuple[etree._Element, int, int, str]],
        r: int,
        nrows: int,
        ncols: int,
        margins: dict[str, float],
        height: _Height | None,
        table_fill: str,
    ) -> tuple[list[Cell], Any]:
        """A row with no merged cells, and its key: made once per process for each (table look,
        place among the rows, row XML) — most rows are the same in every practice's document."""
        b = self.b
        place = tuple(self._conditions(r, c, c + span - 1, nrows, ncols) for _, c, span, _ in row)
        key = (b.cache_key, self.style_id, place, tuple(margins.values()), height, table_fill,
               self.where.overlay, etree.tostring(tr))  # fmt: skip
        known = _ROWS.items.get(key)
        if known is None:
            used, unsupported = b.counter.used, len(b.unsupported)
            outer_faces, outer_special = b.faces, b.special
            b.faces, b.special = set(), set()
            try:
                made = [
                    self._cell(tc, r, c, span, nrows, ncols, margins, height, table_fill)
                    for tc, c, span, _ in row
                ]
                known = (made, tuple(sorted(b.faces)), "".join(sorted(b.special)))
            finally:
                b.faces, b.special = outer_faces | b.faces, outer_special | b.special
            if b.counter.used != used or len(b.unsupported) != unsupported:
                return made, None  # it numbers list items, or holds what cannot be rendered: made each time
            _ROWS.get(key, lambda: known)
        made, faces, special = known
        b.faces.update(faces)
        b.special.update(special)
        cells = [
            Cell(
                r, c.col, c.cols, copy.copy(c.content), c.padding, c.fill, c.valign, 1, c.borders, c.keep_next
            )
            for c in made
        ]
        return cells, (key, faces, special)

    def _cell(
        self,
        tc: etree._Element,
        r: int,
        c: int,
        span: int,
        nrows: int,
        ncols: int,
        margins: dict[str, float],
        height: _Height | None,
        table_fill: str,
    ) -> Cell:
        """A cell: made once per process for each (table look, cell XML) — most cells are the same
        in every practice's document — unless it numbers list items (then once per document)."""
        conditions = self._conditions(r, c, c + span - 1, nrows, ncols)
        b = self.b
        if not b.cache:
            return self._make_cell(tc, r, c, span, conditions, margins, height, table_fill)
        key = (b.cache_key, self.style_id, conditions, tuple(margins.values()), height, table_fill,
               self.where.overlay, etree.tostring(tc))  # fmt: skip
        known = _CELLS.items.get(key)
        if known is None:
            used, unsupported = b.counter.used, len(b.unsupported)
            outer_faces, outer_special = b.faces, b.special
            b.faces, b.special = set(), set()
            try:
                made = self._make_cell(tc, r, c, span, conditions, margins, height, table_fill)
                known = (made, frozenset(b.faces), frozenset(b.special))
            finally:
                b.faces, b.special = outer_faces | b.faces, outer_special | b.special
            if b.counter.used == used and len(b.unsupported) == unsupported:  # else made each time
                _CELLS.get(key, lambda: known)
        made, faces, special = known
        b.faces |= faces
        b.special |= special
        # Its own stack (sizes are per use); the paragraphs in it are shared and re-wrapped where drawn.
        return replace(made, row=r, col=c, cols=span, rows=1, content=copy.copy(made.content))

    def _make_cell(
        self,
        tc: etree._Element,
        r: int,
        c: int,
        span: int,
        conditions: tuple[str, ...],
        margins: dict[str, float],
        height: _Height | None,
        table_fill: str,
    ) -> Cell:
        props = self._cell_props(conditions)
        where = replace(self.where, table=props, table_key=(self.b.analysis.key, self.style_id, conditions))
        content = self.b.blocks([e for e in iter_children(tc) if e.tag != w("tcPr")], where)
        tcpr = tc.find(w("tcPr"))
        padding = dict(margins)
        fill = table_fill
        own: dict[str, Border] = {}
        for condition in conditions:
            for style in self.chain:
                conditional = style.conditional.get(condition)
                if conditional is not None and conditional[2] is not None:
                    fill = _fill(conditional[2].find(w("shd"))) or fill
                    own.update(_cell_borders(conditional[2].find(w("tcBorders"))))
        valign = "TOP"
        if tcpr is not None:
            fill = _fill(tcpr.find(w("shd"))) or fill
            padding.update(_margins(tcpr.find(w("tcMar"))))
            own.update(_cell_borders(tcpr.find(w("tcBorders"))))
            v = tcpr.find(w("vAlign"))
            valign = {"center": "MIDDLE", "bottom": "BOTTOM"}.get(
                (v.get(_VAL) if v is not None else "") or "", "TOP"
            )
        min_height = 0.0
        if height is not None and not height.exact:
            min_height = max(height.value - padding["top"] - padding["bottom"], 0.0)
        keep = any(getattr(f, "word", None) is not None and f.word.keep_next for f in content)
        return Cell(
            row=r,
            col=c,
            cols=span,
            content=CellStack(content, min_height, valign),
            padding=(padding["top"], padding["right"], padding["bottom"], padding["left"]),
            fill=fill,
            valign=valign,
            borders=own,
            keep_next=keep,
        )

    def _conditions(self, r: int, c: int, last_c: int, nrows: int, ncols: int) -> tuple[str, ...]:
        """The conditional formats of the table style that apply to a cell, weakest first."""
        look = self.look
        found = {"wholeTable"}
        first_row, last_row = look["firstRow"] and r == 0, look["lastRow"] and r == nrows - 1
        first_col, last_col = look["firstColumn"] and c == 0, look["lastColumn"] and last_c == ncols - 1
        if not look["noVBand"]:
            found.add("band1Vert" if (c - (1 if look["firstColumn"] else 0)) % 2 == 0 else "band2Vert")
        if not look["noHBand"]:
            found.add("band1Horz" if (r - (1 if look["firstRow"] else 0)) % 2 == 0 else "band2Horz")
        for flag, name in ((first_col, "firstCol"), (last_col, "lastCol"), (first_row, "firstRow"),
                           (last_row, "lastRow"), (first_row and first_col, "nwCell"),
                           (first_row and last_col, "neCell"), (last_row and first_col, "swCell"),
                           (last_row and last_col, "seCell")):  # fmt: skip
            if flag:
                found.add(name)
        return tuple(k for k in _CONDITIONS if k in found and (k in self.present or k == "wholeTable"))

    def _cell_props(self, conditions: tuple[str, ...]) -> tuple[Props, Props]:
        """The paragraph and run properties the table style gives a cell's paragraphs."""
        known = self._cell_props_cache.get(conditions)
        if known is None:
            ppr, rpr = self.b.styles.table_style(self.style_id)
            ppr, rpr = dict(ppr), dict(rpr)
            for condition in conditions:
                for style in self.chain:
                    conditional = style.conditional.get(condition)
                    if conditional is not None:
                        ppr.update(conditional[0])
                        rpr.update(conditional[1])
            known = self._cell_props_cache[conditions] = (ppr, rpr)
        return known


def _table_look(pr: etree._Element | None) -> dict[str, bool]:
    """Which of the table style's conditional formats are on (``w:tblLook``; Word's defaults)."""
    look = {"firstRow": True, "lastRow": False, "firstColumn": True, "lastColumn": False,
            "noHBand": False, "noVBand": True}  # fmt: skip
    element = pr.find(w("tblLook")) if pr is not None else None
    if element is None:
        return look
    value = element.get(_VAL)
    if value:
        try:
            bits = int(value, 16)
        except ValueError:
            bits = 0x04A0
        look.update(
            firstRow=bool(bits & 0x20),
            lastRow=bool(bits & 0x40),
            firstColumn=bool(bits & 0x80),
            lastColumn=bool(bits & 0x100),
            noHBand=bool(bits & 0x200),
            noVBand=bool(bits & 0x400),
        )
    for key in look:
        attribute = element.get(w(key))
        if attribute is not None:
            look[key] = attribute.lower() in ("1", "true", "on")
    return look


def _rows(tbl: etree._Element) -> Iterable[etree._Element]:
    for child in iter_children(tbl):
        if child.tag == w("tr"):
            yield child
        elif child.tag in (w("sdt"), w("customXml")):  # a control or custom XML around rows: its rows
            content = child.find(w("sdtContent")) if child.tag == w("sdt") else child
            if content is not None:
                yield from _rows(content)


def _cells(tr: etree._Element) -> Iterable[etree._Element]:
    for child in iter_children(tr):
        if child.tag == w("tc"):
            yield child
        elif child.tag in (w("sdt"), w("customXml")):
            content = child.find(w("sdtContent")) if child.tag == w("sdt") else child
            if content is not None:
                yield from _cells(content)


def _margins(element: etree._Element | None) -> dict[str, float]:
    out: dict[str, float] = {}
    if element is None:
        return out
    for edge in iter_children(element):
        side = {"start": "left", "end": "right"}.get(etree.QName(edge).localname, etree.QName(edge).localname)
        if side in ("top", "bottom", "left", "right") and (edge.get(w("type")) or "dxa") == "dxa":
            out[side] = twips(edge.get(w("w")))
    return out


def _cell_borders(element: etree._Element | None) -> dict[str, Border]:
    out: dict[str, Border] = {}
    if element is None:
        return out
    for edge in iter_children(element):
        side = {"start": "left", "end": "right"}.get(etree.QName(edge).localname, etree.QName(edge).localname)
        found = _border(edge)
        if found is not None:
            out[side] = found
    return out


def _fill(element: etree._Element | None) -> str:
    if element is None:
        return ""
    value = (element.get(w("fill")) or "").upper()
    return value if len(value) == 6 and all(ch in "0123456789ABCDEF" for ch in value) else ""


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _on(element: etree._Element | None) -> bool:
    if element is None:
        return False
    value = element.get(_VAL)
    return value is None or value.lower() not in ("0", "false", "off")
