# ruff: noqa: E501 - the template's text is kept on whole lines
"""Build ``templates/sla.docx``, the Word template of a service level agreement (``sla_*`` kinds).

Run it after changing the layout; the .docx it writes is committed, and the same code gives
the same bytes. It reuses the Section 7 template's building blocks (styles, tables, content
controls with their tag at the end of the title, fixed zip timestamps)::

    .venv/bin/python templates/build_sla.py

Variables are those of ``agreementgen.sla.build_sla_contexts`` (see the README).
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
    label_cell,
    new_document,
    para,
    row,
    save,
    signature_blocks,
    table,
    tag,
    tag_row,
    term,
)
from docx.shared import Pt

OUTPUT = Path(__file__).resolve().with_name("sla.docx")


def title_block(document: docx.document.Document) -> None:
    para(document, "{{ contract.title }}", style="Title")
    para(document, "Service level agreement — {{ scheme.title }}", style="Subtitle")
    para(document, "{{ practice.name }} (ODS code {{ practice.code }})", style="Practice Line")
    tag(document, "{%p if scheme.illustrative %}")
    para(
        document,
        ("Illustrative figures: ", "b"),
        "the tariffs and rates in this agreement are illustrative.",
        style="Small",
    )
    tag(document, "{%p endif %}")
    tag(document, "{%p for text in scheme.introduction %}")
    para(document, "{{ text }}")
    tag(document, "{%p endfor %}")


def parties(document: docx.document.Document) -> None:
    para(document, "1. Parties", style="Heading 1")
    tbl = table(document, [45, TEXT_WIDTH_MM - 45])
    for label, value in (
        ("Commissioner", "{{ commissioner.name }} (for this contract: {{ contract.with_party }})"),
        ("Practice", "{{ practice.name }}, {{ practice.address }}"),
    ):
        cells = row(tbl)
        label_cell(cells[0], label)
        cell_par(cells[1], value)
    cells = row(tbl)
    label_cell(cells[0], "Practice ODS code")
    cell_par(
        cells[1],
        term("term_practice_code", "Practice ODS code", "{{ terms.term_practice_code }}", bold=False),
    )
    cells = row(tbl)
    label_cell(cells[0], "Contract")
    cell_par(cells[1], term("term_contract", "Contract", "{{ terms.term_contract }}", bold=False))
    cells = row(tbl)
    label_cell(cells[0], "Scheme")
    cell_par(cells[1], term("term_scheme", "Scheme", "{{ terms.term_scheme }}", bold=False))
    cells = row(tbl)
    label_cell(cells[0], "Financial year")
    cell_par(cells[1], "{{ scheme.financial_year }} ({{ scheme.year_start }} to {{ scheme.year_end }})")
    keep_together(tbl)


def schedule(document: docx.document.Document) -> None:
    para(document, "2. Schedule of services", style="Heading 1")
    para(
        document,
        "The practice has signed up to the services below. Indicative values are tariff × planned activity "
        "(outcome services: the maximum at full achievement); payment follows actual activity and achievement.",
    ).paragraph_format.keep_with_next = True
    widths = [TEXT_WIDTH_MM - 124, 20, 18, 16, 18, 20, 32]
    tbl = table(document, widths, ["Service", "Unit", "Prior tariff", "Uplift", "Tariff", "Planned", "Value"])
    tag_row(tbl, "{%tr for s in services %}")
    cells = row(tbl)
    cell_par(cells[0], ("{{ s.title }}", "b"))
    cell_par(cells[0], "{{ s.model_text }}", style="Small")
    cell_par(cells[1], "{{ s.unit }}")
    cell_par(cells[2], "{{ s.prior_tariff }}", align="right")
    cell_par(cells[3], "{{ s.uplift }}", align="right")
    cell_par(
        cells[4],
        "{%r if s.tariff %}",
        term(
            "{{ s.term_tag }}_tariff",
            "Tariff: {{ s.title }}",
            "{{ terms[s.term_tag ~ '_tariff'] }}",
            bold=False,
        ),
        "{%r endif %}",
        align="right",
    )
    cell_par(
        cells[5],
        "{%r if s.planned %}",
        term(
            "{{ s.term_tag }}_planned",
            "Planned: {{ s.title }}",
            "{{ terms[s.term_tag ~ '_planned'] }}",
            bold=False,
        ),
        "{%r endif %}",
        align="right",
    )
    cell_par(
        cells[6],
        term("{{ s.term_tag }}", "Value: {{ s.title }}", "{{ terms[s.term_tag] }}", bold=False),
        align="right",
    )
    tag_row(tbl, "{%tr endfor %}")
    cells = row(tbl, fill=NHS_PALE_GREY)
    cell_par(cells[0], "Total", style="Table Total")
    cell_par(
        cells[6], term("term_total", "Total", "{{ terms.term_total }}"), style="Table Total", align="right"
    )


def outcomes(document: docx.document.Document) -> None:
    tag(document, "{%p if outcome_services %}")
    para(document, "3. Outcome targets", style="Heading 1")
    tag(document, "{%p endif %}")
    tag(document, "{%p for s in outcome_services %}")
    lead_in = para(
        document,
        ("{{ s.title }}", "b"),
        " — up to {{ s.maximum }}: nothing at or below {{ s.lower_threshold }} achievement, all of it at or "
        "above {{ s.upper_threshold }}, in proportion between.",
    )
    lead_in.paragraph_format.keep_with_next = True
    lead_in.paragraph_format.space_before = Pt(8)
    tbl = table(document, [45, TEXT_WIDTH_MM - 85, 40], ["Indicator", "Measure", "Minimum output"])
    tag_row(tbl, "{%tr for k in s.kpis %}")
    cells = row(tbl)
    cell_par(cells[0], "{{ k.title }}")
    cell_par(cells[1], "{{ k.measure }}")
    cell_par(cells[2], "{{ k.minimum }}")
    tag_row(tbl, "{%tr endfor %}")
    keep_together(tbl)
    tag(document, "{%p endfor %}")


def payment_terms(document: docx.document.Document) -> None:
    para(document, "Payment and claims", style="Heading 1")
    tag(document, "{%p if activity_services %}")
    para(
        document,
        "Activity services are claimed quarterly on the claim form the commissioner issues for each quarter: one "
        "count per service, whole numbers, no more than any cap per practice; only the services in the schedule "
        "above can be claimed. Each quarter is paid at the tariff in this agreement.",
    )
    tag(document, "{%p endif %}")
    tag(document, "{%p if outcome_services %}")
    para(document, "Outcome targets are measured and paid once, after the end of the financial year.")
    tag(document, "{%p endif %}")
    tag(document, "{%p for t in scheme.terms %}")
    para(document, "{{ t.title }}", style="Heading 2")
    para(document, "{{ t.paragraphs|join(' ') }}")
    tag(document, "{%p endfor %}")
    para(
        document,
        "Questions and disputes about payment: {{ commissioner.return_email or commissioner.name }}.",
    )


def signatures(document: docx.document.Document) -> None:
    para(document, "Signatures", style="Heading 1")
    para(
        document,
        "By signing, the practice agrees to provide the services in the schedule on these terms. Return the "
        "signed agreement to ",
        ("{{ commissioner.return_email or commissioner.name }}", "b"),
        "{%r if scheme.sign_up_deadline %} by ",
        term("term_sign_up_deadline", "Return by", "{{ terms.term_sign_up_deadline }}"),
        "{%r endif %}.",
    ).paragraph_format.keep_with_next = True
    signature_blocks(document)
    para(
        document,
        "The figures in this agreement are the terms issued to the practice and are checked when it is returned: "
        "please do not alter them. Document id {{ document.id }}; issued terms digest {{ document.terms_digest }}.",
        style="Small",
    )


def build() -> bytes:
    document = new_document()
    header_and_footer(document, "Service level agreement")
    title_block(document)
    parties(document)
    schedule(document)
    outcomes(document)
    payment_terms(document)
    signatures(document)
    return finish(
        document,
        title="{{ contract.title }}: service level agreement",
        keywords="service level agreement; {{ scheme.short_title }}",
        name="sla",
    )


if __name__ == "__main__":
    sys.exit(save(OUTPUT, build()))
