"""Build ``templates/statement.docx``, the Word template of a practice's year-end statement.

Run it after changing the layout; the .docx it writes is committed, and the same code gives
the same bytes. Variables are those of ``agreementgen.yearend.statement_context``::

    .venv/bin/python templates/build_statement.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import docx
from build_section7 import (
    NHS_PALE_GREY,
    TEXT_WIDTH_MM,
    cell_par,
    finish,
    header_and_footer,
    keep_together,
    new_document,
    para,
    row,
    save,
    table,
    tag,
    tag_row,
)

OUTPUT = Path(__file__).resolve().with_name("statement.docx")


def body(document: docx.document.Document) -> None:
    para(document, "Year-end statement", style="Title")
    para(document, "{{ subtitle }}", style="Subtitle")
    para(
        document,
        "{{ practice.name }} (ODS code {{ practice.code }}), list size {{ practice.list_size_text }}",
        style="Practice Line",
    )
    tag(document, "{%p if closed %}")
    para(document, "{{ closed }}")
    tag(document, "{%p endif %}")

    para(document, "1. {{ labels.lines }}", style="Heading 1")
    amounts = [28, 28, 28, 28]
    tbl = table(
        document,
        [TEXT_WIDTH_MM - sum(amounts), *amounts],
        ["{{ labels.line_column }}", "{{ labels.plan_column }}", "Earned", "Paid", "Balance"],
    )
    tag_row(tbl, "{%tr for i in lines %}")
    cells = row(tbl)
    cell_par(cells[0], ("{{ i.title }}", "b"))
    cell_par(cells[0], "{{ i.detail }}", style="Small")
    cell_par(cells[0], "{%p if i.reason %}", style="Template Tag")
    cell_par(cells[0], "{{ i.reason }}", style="Small")
    cell_par(cells[0], "{%p endif %}", style="Template Tag")
    cell_par(cells[0], "{%p if i.note %}", style="Template Tag")
    cell_par(cells[0], "{{ i.note }}", style="Small")
    cell_par(cells[0], "{%p endif %}", style="Template Tag")
    for n, key in enumerate(("entitled", "earned", "paid", "balance"), start=1):
        cell_par(cells[n], "{{ i." + key + " }}", align="right")
    tag_row(tbl, "{%tr endfor %}")
    cells = row(tbl, fill=NHS_PALE_GREY)
    cell_par(cells[0], "Total", style="Table Total")
    for n, key in enumerate(("entitled", "earned", "paid", "line_balance"), start=1):
        cell_par(cells[n], "{{ totals." + key + " }}", style="Table Total", align="right")
    keep_together(tbl)

    para(document, "2. {{ labels.adjustments }}", style="Heading 1")
    tbl = table(
        document,
        [TEXT_WIDTH_MM - sum(amounts), *amounts],
        ["{{ labels.adjustment_column }}", "{{ labels.plan_column }}", "Earned", "Adjustment", "Net"],
    )
    tag_row(tbl, "{%tr for c in adjustments %}")
    cells = row(tbl)
    cell_par(cells[0], ("{{ c.title }}", "b"))
    cell_par(cells[0], "{%p if c.reason %}", style="Template Tag")
    cell_par(cells[0], "{{ c.reason }}", style="Small")
    cell_par(cells[0], "{%p endif %}", style="Template Tag")
    for n, key in enumerate(("entitled", "earned", "adjustment", "net"), start=1):
        cell_par(cells[n], "{{ c." + key + " }}", align="right")
    tag_row(tbl, "{%tr endfor %}")
    keep_together(tbl)

    para(document, "3. Balance", style="Heading 1")
    para(
        document,
        "Earned {{ totals.earned }} + adjustments {{ totals.adjustment }} − paid {{ totals.paid }} = ",
        ("{{ totals.balance }}", "b"),
        ": {{ outcome }}.",
    )
    tag(document, "{%p for text in rules %}")
    para(document, "{{ text }}", style="Small")
    tag(document, "{%p endfor %}")
    para(document, "4. Questions and disputes", style="Heading 1")
    tag(document, "{%p for text in disputes %}")
    para(document, "{{ text }}")
    tag(document, "{%p endfor %}")
    para(document, "Questions about this statement: {{ commissioner.return_email or commissioner.name }}.")
    para(document, "Audit: {{ audit }}", style="Small")


def build() -> bytes:
    document = new_document()
    header_and_footer(document, "Year-end statement")
    body(document)
    return finish(
        document,
        title="{{ scheme.title }}: year-end statement",
        keywords="year-end statement; {{ scheme.short_title }}",
        name="statement",
    )


if __name__ == "__main__":
    sys.exit(save(OUTPUT, build()))
