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
from docx.oxml import OxmlElement
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
    cells = row(tbl)
    label_cell(cells[0], "List size")
    cell_par(
        cells[1],
        term("term_list_size", "Registered list size", "{{ terms.term_list_size }}", bold=False),
        " patients as at ",
        term("term_list_size_date", "List size as at", "{{ terms.term_list_size_date }}", bold=False),
    )
    cell_par(cells[1], "{%p if practice.list_size_stand_in %}", style="Template Tag")
    cell_par(
        cells[1],
        "Stand-in list size: none as at {{ scheme.year_start }} was available when this agreement was "
        "issued.{% if practice.paid_on_list_size %} The per-patient values below are worked out on this "
        "one.{% endif %}",
        style="Small",
    )
    cell_par(cells[1], "{%p endif %}", style="Template Tag")
    keep_together(tbl)


def schedule(document: docx.document.Document) -> None:
    para(document, "2. Schedule of services", style="Heading 1")
    para(document, "The practice has signed up to the services below.").paragraph_format.keep_with_next = True

    tag(document, "{%p if priced_services %}")
    para(document, "Services priced in this agreement", style="Heading 2")
    para(
        document, "The indicative value of each is its tariff times the planned activity or eligible patients."
    ).paragraph_format.keep_with_next = True
    widths = [TEXT_WIDTH_MM - 104, 24, 24, 24, 32]
    tbl = table(document, widths, ["Service", "Unit", "Tariff", "Planned", "Indicative value"])
    tag_row(tbl, "{%tr for s in priced_services %}")
    cells = row(tbl)
    cell_par(cells[0], ("{{ s.title }}", "b"))
    cell_par(cells[0], "{{ s.model_text }}{% if s.tariff_note %}; {{ s.tariff_note }}{% endif %}", style="Small")
    cell_par(cells[1], "{{ s.unit }}")
    cell_par(cells[2], tariff_term(), align="right")
    cell_par(
        cells[3],
        "{%r if s.planned %}",
        term("{{ s.term_tag }}_planned", "Planned: {{ s.title }}", "{{ terms[s.term_tag ~ '_planned'] }}", bold=False),
        "{%r endif %}",
        align="right",
    )
    cell_par(
        cells[4],
        term("{{ s.term_tag }}", "Value: {{ s.title }}", "{{ terms[s.term_tag] }}", bold=False),
        align="right",
    )
    tag_row(tbl, "{%tr endfor %}")
    tag(document, "{%p endif %}")

    tag(document, "{%p if claimed_services %}")
    para(document, "Services paid on the activity claimed", style="Heading 2")
    para(
        document,
        "No activity is planned for these services in this agreement: each is paid at its tariff on the "
        "activity the practice claims.",
    ).paragraph_format.keep_with_next = True
    tbl = table(document, [TEXT_WIDTH_MM - 56, 28, 28], ["Service", "Unit", "Tariff"])
    tag_row(tbl, "{%tr for s in claimed_services %}")
    cells = row(tbl)
    cell_par(cells[0], ("{{ s.title }}", "b"))
    cell_par(cells[0], "{{ s.model_text }}{% if s.tariff_note %}; {{ s.tariff_note }}{% endif %}", style="Small")
    cell_par(cells[1], "{{ s.unit }}")
    cell_par(cells[2], tariff_term(), align="right")
    tag_row(tbl, "{%tr endfor %}")
    tag(document, "{%p endif %}")

    tag(document, "{%p if outcome_services %}")
    para(document, "Outcome targets", style="Heading 2")
    para(
        document,
        "Each is paid in proportion to the achievement reported: nothing at or below the lower threshold, "
        "the maximum at or above the upper threshold, in proportion between.",
    ).paragraph_format.keep_with_next = True
    tbl = table(
        document,
        [TEXT_WIDTH_MM - 98, 34, 32, 32],
        ["Service", "Maximum", "Lower threshold", "Upper threshold"],
    )
    tag_row(tbl, "{%tr for s in outcome_services %}")
    cells = row(tbl)
    cell_par(cells[0], ("{{ s.title }}", "b"))
    cell_par(cells[1], term("{{ s.term_tag }}", "Maximum: {{ s.title }}", "{{ terms[s.term_tag] }}", bold=False),
             align="right")
    cell_par(cells[2], "{{ s.lower_threshold }}", align="right")
    cell_par(cells[3], "{{ s.upper_threshold }}", align="right")
    tag_row(tbl, "{%tr endfor %}")
    tag(document, "{%p endif %}")

    total = para(
        document,
        ("Indicative total: ", "b"),
        term("term_total", "Total", "{{ terms.term_total }}"),
        " — {% if priced_services %}the priced services at their planned activity{% endif %}"
        "{% if priced_services and outcome_services %}, and {% endif %}"
        "{% if outcome_services %}the outcome targets at full achievement{% endif %}"
        "{% if not priced_services and not outcome_services %}nothing is planned{% endif %}.",
    )
    total.paragraph_format.space_before = Pt(8)


def tariff_term() -> OxmlElement:
    return term("{{ s.term_tag }}_tariff", "Tariff: {{ s.title }}", "{{ terms[s.term_tag ~ '_tariff'] }}", bold=False)


def outcomes(document: docx.document.Document) -> None:
    tag(document, "{%p if outcome_services %}")
    para(document, "3. Outcome indicators", style="Heading 1")
    tag(document, "{%p endif %}")
    tag(document, "{%p for s in outcome_services %}")
    lead_in = para(document, ("{{ s.title }}", "b"), " — up to {{ s.maximum }}")
    lead_in.paragraph_format.keep_with_next = True
    lead_in.paragraph_format.space_before = Pt(8)
    tag(document, "{%p if s.has_minimums %}")
    tbl = table(document, [45, TEXT_WIDTH_MM - 85, 40], ["Indicator", "Measure", "Minimum output"])
    tag_row(tbl, "{%tr for k in s.kpis %}")
    cells = row(tbl)
    cell_par(cells[0], "{{ k.title }}")
    cell_par(cells[1], "{{ k.measure }}")
    cell_par(cells[2], "{{ k.minimum }}")
    tag_row(tbl, "{%tr endfor %}")
    keep_together(tbl)
    tag(document, "{%p else %}")
    tbl = table(document, [45, TEXT_WIDTH_MM - 45], ["Indicator", "Measure"])
    tag_row(tbl, "{%tr for k in s.kpis %}")
    cells = row(tbl)
    cell_par(cells[0], "{{ k.title }}")
    cell_par(cells[1], "{{ k.measure }}")
    tag_row(tbl, "{%tr endfor %}")
    keep_together(tbl)
    tag(document, "{%p endif %}")
    tag(document, "{%p endfor %}")


def payment_terms(document: docx.document.Document) -> None:
    para(
        document, "{% if outcome_services %}4{% else %}3{% endif %}. Payment and claims", style="Heading 1"
    )
    tag(document, "{%p if activity_services %}")
    para(
        document,
        "Activity services are claimed quarterly on the claim form the commissioner issues for each quarter: one "
        "count per service, whole numbers, no more than any cap per practice; only the services in the schedule "
        "above can be claimed. Each quarter is paid at the tariff in this agreement on the activity claimed, "
        "including any activity above the plan, up to the cap.",
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
    para(
        document, "{% if outcome_services %}5{% else %}4{% endif %}. Signatures", style="Heading 1"
    )
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
