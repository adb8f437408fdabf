# ruff: noqa: E501 - the template's text is kept on whole lines
"""Build ``templates/claim.docx``, the Word template of a quarterly activity claim (``claim_q*`` kinds).

Variables are those of ``agreementgen.kinds.claim`` (see the README)::

    .venv/bin/python templates/build_claim.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import docx
from build_section7 import (
    TEXT_WIDTH_MM,
    cell_par,
    field,
    finish,
    header_and_footer,
    keep_together,
    label_cell,
    new_document,
    para,
    row,
    save,
    table,
    tag,
    tag_row,
    term,
)

OUTPUT = Path(__file__).resolve().with_name("claim.docx")


def body(document: docx.document.Document) -> None:
    para(document, "Quarterly activity claim", style="Title")
    para(document, "{{ scheme.title }}", style="Subtitle")
    para(document, "{{ practice.name }} (ODS code {{ practice.code }})", style="Practice Line")
    tag(document, "{%p if scheme.illustrative %}")
    para(
        document,
        ("Illustrative figures: ", "b"),
        "the tariffs and caps on this form are illustrative, not taken from a commissioned scheme.",
        style="Small",
    )
    tag(document, "{%p endif %}")

    tbl = table(document, [45, TEXT_WIDTH_MM - 45])
    cells = row(tbl)
    label_cell(cells[0], "Practice")
    cell_par(cells[1], ("{{ practice.name }}", "b"))
    cell_par(cells[1], "{{ practice.address }}")
    cells = row(tbl)
    label_cell(cells[0], "Practice ODS code")
    cell_par(cells[1], term("term_practice_code", "Practice ODS code", "{{ terms.term_practice_code }}", bold=False))
    cells = row(tbl)
    label_cell(cells[0], "Quarter")
    cell_par(cells[1], term("term_quarter", "Quarter", "{{ terms.term_quarter }}", bold=False))
    cells = row(tbl)
    label_cell(cells[0], "Scheme")
    cell_par(cells[1], term("term_scheme", "Scheme and version", "{{ terms.term_scheme }}", bold=False))
    cells = row(tbl)
    label_cell(cells[0], "Document id")
    cell_par(cells[1], term("doc_id", "Document id", "{{ terms.doc_id }}", bold=False))
    keep_together(tbl)

    para(document, "Activity delivered in the quarter", style="Heading 1")
    para(
        document,
        "Enter the number of units of each service the practice delivered in the quarter: a whole "
        "number, 0 if none, no more than the cap per practice. Only the services in the practice's "
        "service level agreement are on this form; each is paid at the tariff shown.",
    )
    tbl = table(document, [70, 30, 25, 25, TEXT_WIDTH_MM - 150], ["Service", "Unit", "Tariff", "Cap", "Count"])
    tag_row(tbl, "{%tr for s in services %}")
    cells = row(tbl, height_mm=9)
    cell_par(cells[0], ("{{ s.title }}", "b"))
    cell_par(cells[1], "{{ s.unit }}")
    cell_par(cells[2], term("{{ s.term_tag }}_tariff", "Tariff: {{ s.title }}", "{{ terms[s.term_tag ~ '_tariff'] }}", bold=False), align="right")
    cell_par(cells[3], "{%r if s.cap %}", term("{{ s.term_tag }}_cap", "Cap: {{ s.title }}", "{{ terms[s.term_tag ~ '_cap'] }}", bold=False), "{%r else %}", "no cap", "{%r endif %}", align="right")
    cell_par(cells[4], field("{{ s.count_tag }}", "Count: {{ s.title }}"))
    tag_row(tbl, "{%tr endfor %}")
    keep_together(tbl)

    para(document, "Declaration", style="Heading 1")
    para(
        document,
        "I declare that the activity claimed on this form was delivered by the practice in the quarter "
        "named above, under the service level agreement between the practice and ",
        ("{{ commissioner.name }}", "b"),
        ", and that the practice's records support it.",
    ).paragraph_format.keep_with_next = True
    tbl = table(document, [45, TEXT_WIDTH_MM - 45])
    for label, tag_name in (
        ("Name", "practice_signatory_name"),
        ("Designation", "practice_signatory_designation"),
        ("Signature", "practice_signature"),
        ("Date", "practice_signature_date"),
    ):
        cells = row(tbl, height_mm=10)
        label_cell(cells[0], label)
        cell_par(cells[1], field(tag_name, label))
    cells = row(tbl, height_mm=16)
    label_cell(cells[0], "Digital signature (optional)")
    cell_par(cells[1], field("practice_digital_signature", "Digital signature"))
    keep_together(tbl)
    para(
        document,
        "Return the completed form to ",
        ("{{ commissioner.return_email or commissioner.name }}", "b"),
        ". The tariffs, caps and quarter on this form are the terms issued to the practice and are "
        "checked when the form is returned. Document id {{ document.id }}; issued terms digest "
        "{{ document.terms_digest }}.",
        style="Small",
    )


def build() -> bytes:
    document = new_document()
    header_and_footer(document, title="Quarterly activity claim")
    body(document)
    return finish(
        document,
        title="{{ scheme.title }}: quarterly activity claim",
        keywords="activity claim; {{ scheme.short_title }}",
        name="claim",
    )


if __name__ == "__main__":
    sys.exit(save(OUTPUT, build()))
