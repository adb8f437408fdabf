"""A service level agreement (LES / LCS contract) as a native PDF: the layout of ``sla_*`` kinds.

One per practice per contract (see :mod:`agreementgen.sla`): the parties and contract; the
schedule of services the practice signed up to (unit, prior tariff, uplift, tariff,
planned activity and indicative value, each figure a read-only issued-term field); the
outcome targets with their thresholds and KPIs; how payment and claims work; and the
signature blocks of the Section 7 agreement (typed fields plus a ``/Sig`` field), so the
signed SLA is returned and ingested exactly like it. Fewer practices get SLAs than
Section 7 forms, so this layout is drawn plainly, without the per-scheme caches.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, HRFlowable, KeepTogether, Spacer

from ..errors import RenderError
from .pdf_layout import (
    COLOURS,
    CONTENT_WIDTH,
    STYLES,
    TextField,
    build_pdf,
    document_info,
    grid_table,
    para,
    register_fonts,
)
from .pdf_section7 import signature_block

__all__ = ["render_sla"]

Context = dict[str, Any]

_SCHEDULE = (CONTENT_WIDTH - 326.0, 66.0, 50.0, 40.0, 50.0, 48.0, 72.0)
_PARTIES = (130.0, CONTENT_WIDTH - 130.0)
_KPI = (150.0, CONTENT_WIDTH - 150.0 - 110.0, 110.0)


def render_sla(context: Context) -> bytes:
    """The SLA for one practice and contract, as PDF bytes (deterministic)."""
    register_fonts()  # paragraphs need the fonts when they are made, not only when drawn
    try:
        story = [*_heading(context), *_schedule(context), *_outcomes(context), *_payment_terms(context),
                 *_sign(context)]  # fmt: skip
        scheme, practice = context["scheme"], context["practice"]
        info = document_info(
            context,
            title=context["contract"]["title"],
            subject=f"{scheme['title']}: service level agreement for {practice['code']} "
            f"(document id {context['document']['id']})",
            header_left=f"{context['commissioner']['short_name']} · {context['contract']['title']}",
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise RenderError(
            f"the SLA context is incomplete or malformed ({type(exc).__name__}: {exc}); "
            "build it with agreementgen.sla.build_sla_contexts"
        ) from exc
    return build_pdf(story, info)


def _term(context: Context, tag: str, *, bold: bool = False) -> TextField:
    return TextField(tag, context["terms"][tag], read_only=True, bold=bold, tooltip="Issued term (locked)")


def _heading(context: Context) -> list[Flowable]:
    s = STYLES
    scheme, commissioner, practice, contract = (
        context["scheme"], context["commissioner"], context["practice"], context["contract"],
    )  # fmt: skip
    story: list[Flowable] = [
        para(commissioner["name"], s.kicker),
        HRFlowable(width="100%", thickness=2, color=COLOURS["blue"], spaceBefore=3, spaceAfter=10),
        para(contract["title"], s.title),
        para(f"Service level agreement — {scheme['title']}", s.subtitle),
    ]
    if scheme["illustrative"]:
        story.append(para("The tariffs and rates in this agreement are illustrative.", s.note))
    for text in scheme["introduction"]:
        story.append(para(text))
    story.append(para("1  Parties", s.h2))
    rows = [
        [
            para("Commissioner", s.label),
            para(f"{commissioner['name']} (for this contract: {contract['with_party']})"),
        ],
        [
            para("Practice", s.label),
            para(f"<b>{escape(practice['name'])}</b><br/>{escape(practice['address'])}", markup=True),
        ],
        [para("Practice ODS code", s.label), _term(context, "term_practice_code")],
        [para("Contract", s.label), _term(context, "term_contract")],
        [para("Scheme", s.label), _term(context, "term_scheme")],
        [
            para("Financial year", s.label),
            para(f"{scheme['financial_year']} ({scheme['year_start']} to {scheme['year_end']})"),
        ],
    ]
    story.append(grid_table(rows, _PARTIES, header=False, label_column=True))
    return story


def _schedule(context: Context) -> list[Flowable]:
    s = STYLES
    scheme = context["scheme"]
    head = ["Service", "Unit", "Prior tariff", "Uplift", "Tariff", "Planned", "Indicative value"]
    rows: list[list[Any]] = [[para(h, s.cell_head) for h in head]]
    for service in context["services"]:
        tag = service["term_tag"]
        cells: list[Any] = [
            [para(service["title"], s.cell_bold), para(service["model_text"], s.cell_small)],
            para(service["unit"], s.cell),
            para(service["prior_tariff"], s.cell_right),
            para(service["uplift"], s.cell_right),
            _term(context, f"{tag}_tariff") if service["tariff"] else para("", s.cell),
            _term(context, f"{tag}_planned") if service["planned"] else para("", s.cell),
            _term(context, tag),
        ]
        rows.append(cells)
    rows.append([para("Total", s.cell_bold), "", "", "", "", "", _term(context, "term_total", bold=True)])
    uplifted = any(service["uplift"] for service in context["services"])
    how = (
        f"Tariffs are the {scheme['prior_year'] or 'previous year'} tariff plus the uplift shown, or a new "
        "tariff where one is set, rounded to the penny. "
        if uplifted
        else ""
    )
    story: list[Flowable] = [
        para("2  Schedule of services", s.h2),
        para(
            f"The practice has signed up to the services below. {how}Indicative values are tariff × planned "
            "activity (outcome services: the maximum at full achievement); payment follows actual activity "
            "and achievement.",
        ),
        grid_table(rows, _SCHEDULE, total=True, extra=[("SPAN", (0, -1), (-2, -1))]),
    ]
    return story


def _outcomes(context: Context) -> list[Flowable]:
    services = context["outcome_services"]
    if not services:
        return []
    s = STYLES
    story: list[Flowable] = [para("3  Outcome targets", s.h2)]
    for service in services:
        head = (
            f"<b>{escape(service['title'])}</b> — up to {escape(service['maximum'])}: nothing at or below "
            f"{service['lower_threshold']} achievement, all of it at or above {service['upper_threshold']}, "
            "in proportion between."
        )
        rows: list[list[Any]] = [[para("Indicator", s.cell_head), para("Measure", s.cell_head),
                                  para("Minimum output", s.cell_head)]]  # fmt: skip
        rows += [[para(k["title"], s.cell), para(k["measure"], s.cell), para(k["minimum"], s.cell)]
                 for k in service["kpis"]]  # fmt: skip
        block: list[Flowable] = [para(head, markup=True)]
        if service["kpis"]:
            block.append(grid_table(rows, _KPI))
        story.append(KeepTogether(block))
    return story


def _payment_terms(context: Context) -> list[Flowable]:
    s = STYLES
    scheme, commissioner = context["scheme"], context["commissioner"]
    number = 4 if context["outcome_services"] else 3
    story: list[Flowable] = [para(f"{number}  Payment and claims", s.h2)]
    if context["activity_services"]:
        story.append(para(
            "Activity services are claimed quarterly on the claim form the commissioner issues for each "
            "quarter: one count per service, whole numbers, no more than any cap per practice; only the "
            "services in the schedule above can be claimed. Each quarter is paid at the tariff in this "
            "agreement."
        ))  # fmt: skip
    if context["outcome_services"]:
        story.append(para("Outcome targets are measured and paid once, after the end of the financial year."))
    if scheme["growth_allowance"] and scheme["growth_allowance"] != "0%":
        story.append(para(
            f"The commissioner's budget allows {scheme['growth_allowance']} for growth in activity; activity "
            "beyond the plan may be paid within that allowance at the commissioner's discretion."
        ))  # fmt: skip
    for section in scheme["terms"]:
        story.append(para(section["title"], s.h3))
        story += [para(p) for p in section["paragraphs"]]
    contact = commissioner["return_email"] or commissioner["name"]
    story.append(para(f"Questions and disputes about payment: {contact}."))
    return story


def _sign(context: Context) -> list[Flowable]:
    s = STYLES
    scheme, commissioner = context["scheme"], context["commissioner"]
    deadline = " by the date below" if scheme["sign_up_deadline"] else ""
    where = commissioner["return_email"] or commissioner["return_address"] or commissioner["name"]
    story: list[Flowable] = [
        para("Signatures", s.h2),
        para(
            "By signing, the practice agrees to provide the services in the schedule on these terms. "
            f"Return the signed agreement to {where}{deadline}."
        ),
    ]
    if "term_sign_up_deadline" in context["terms"]:
        rows = [[para("Return by", s.label), _term(context, "term_sign_up_deadline", bold=True)],
                [para("Return to", s.label), para(where, s.cell_bold)]]  # fmt: skip
        story.append(grid_table(rows, _PARTIES, header=False, label_column=True))
    key = ("sla", context["document"]["kind"], scheme["id"], scheme["version"])
    for signatory in context["signatories"]:
        story.append(Spacer(1, 4))
        story.append(signature_block(context, repr(key), signatory))
    story.append(Spacer(1, 6))
    story.append(para(
        "The figures in this agreement are the terms issued to the practice and are checked when it is "
        f"returned: please do not alter them. Issued terms digest {context['document']['terms_digest']}.",
        s.note,
    ))  # fmt: skip
    return story
