"""A practice's year-end statement as a PDF: what it was entitled to, earned, was paid, and the balance.

Two tables (by instalment with the evidence dates relied on, or by service with the activity,
achievement or list size it was paid on; then by component or service, with any proportional
adjustment), the balance due or owed back, the reasons for every adjustment,
how to dispute it (the scheme's own terms) and an audit line naming the scheme version and
the data files with their hashes.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, HRFlowable

from .pdf_layout import COLOURS, CONTENT_WIDTH, STYLES, build_pdf, document_info, grid_table, para, register_fonts

__all__ = ["render_statement"]

_COLUMNS = (CONTENT_WIDTH - 300.0, 75.0, 75.0, 75.0, 75.0)


def render_statement(context: dict[str, Any]) -> bytes:
    register_fonts()
    s = STYLES
    scheme, practice, totals = context["scheme"], context["practice"], context["totals"]
    story: list[Flowable] = [
        para(context["commissioner"]["name"], s.kicker),
        HRFlowable(width="100%", thickness=2, color=COLOURS["blue"], spaceBefore=3, spaceAfter=10),
        para("Year-end statement", s.title),
        para(context["subtitle"], s.subtitle),
        para(
            f"<b>{_x(practice['name'])}</b> (ODS code {_x(practice['code'])}), list size "
            f"{practice['list_size_text']}",
            markup=True,
        ),
    ]
    if context["closed"]:
        story.append(para(context["closed"]))
    labels = context["labels"]
    head = [para(h, s.cell_head) for h in (labels["line_column"], "Entitled", "Earned", "Paid", "Balance")]
    rows: list[list[Any]] = [head]
    for i in context["lines"]:
        first = [para(i["title"], s.cell_bold), para(i["detail"], s.cell_small)]
        if i["reason"]:
            first.append(para(i["reason"], s.cell_small))
        rows.append([first, *(para(i[k], s.cell_right) for k in ("entitled", "earned", "paid", "balance"))])
    keys = ("entitled", "earned", "paid", "line_balance")
    rows.append([para("Total", s.cell_bold), *(para(totals[k], s.cell_bold_right) for k in keys)])
    story += [para(f"1  {labels['lines']}", s.h2), grid_table(rows, _COLUMNS, total=True)]
    head = [
        para(h, s.cell_head) for h in (labels["adjustment_column"], "Entitled", "Earned", "Adjustment", "Net")
    ]
    rows = [head]
    for c in context["adjustments"]:
        first = [para(c["title"], s.cell_bold)]
        if c["reason"]:
            first.append(para(c["reason"], s.cell_small))
        rows.append([first, *(para(c[k], s.cell_right) for k in ("entitled", "earned", "adjustment", "net"))])
    story += [para(f"2  {labels['adjustments']}", s.h2), grid_table(rows, _COLUMNS)]
    story += [
        para("3  Balance", s.h2),
        para(
            f"Earned {totals['earned']} + adjustments {totals['adjustment']} − paid {totals['paid']} = "
            f"<b>{totals['balance']}</b>: {_x(context['outcome'])}.",
            markup=True,
        ),
        *(para(text, s.note) for text in context["rules"]),
        para("4  Questions and disputes", s.h2),
    ]
    story += [para(p) for p in context["disputes"]]
    where = context["commissioner"]["return_email"] or context["commissioner"]["name"]
    story.append(para(f"Questions about this statement: {where}."))
    story.append(para(f"Audit: {context['audit']}", s.note))
    info = document_info(
        context,
        subject=f"{scheme['title']}: year-end statement for {practice['code']}",
        header_left=f"{context['commissioner']['short_name']} · {scheme['title']}",
    )
    return build_pdf(story, info)


def _x(text: str) -> str:
    return escape(text)
