"""A quarterly activity claim form as a native, fillable PDF (``claim_q1`` … ``claim_q4``).

One page: the practice and quarter, a table of the practice's activity services (unit,
tariff and cap as locked issued-term fields) with a count field for each, and the claimant's
name, designation and date. Returned like any form; :mod:`agreementgen.ingest` checks the counts.
"""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, HRFlowable, Spacer

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

__all__ = ["render_claim"]

Context = dict[str, Any]
_SERVICES = (CONTENT_WIDTH - 290.0, 70.0, 60.0, 60.0, 100.0)
_LABELS = (130.0, CONTENT_WIDTH - 130.0)


def render_claim(context: Context) -> bytes:
    """The claim form for one practice and quarter, as PDF bytes (deterministic)."""
    register_fonts()
    try:
        story = _story(context)
        scheme, practice = context["scheme"], context["practice"]
        info = document_info(
            context,
            subject=f"{scheme['title']}: {context['quarter']['label']} claim for {practice['code']}",
            header_left=f"{context['commissioner']['short_name']} · {scheme['title']}",
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise RenderError(
            f"the claim context is incomplete or malformed ({type(exc).__name__}: {exc}); "
            "build it with agreementgen.claims.build_claim_contexts"
        ) from exc
    return build_pdf(story, info)


def _term(context: Context, tag: str) -> TextField:
    return TextField(tag, context["terms"][tag], read_only=True, tooltip="Issued term (locked)")


def _story(context: Context) -> list[Flowable]:
    s = STYLES
    scheme, commissioner, practice = context["scheme"], context["commissioner"], context["practice"]
    story: list[Flowable] = [
        para(commissioner["name"], s.kicker),
        HRFlowable(width="100%", thickness=2, color=COLOURS["blue"], spaceBefore=3, spaceAfter=10),
        para("Quarterly activity claim", s.title),
        para(scheme["title"], s.subtitle),
        grid_table(
            [
                [para("Practice", s.label), para(f"{practice['name']}, {practice['address']}")],
                [para("Practice ODS code", s.label), _term(context, "term_practice_code")],
                [para("Quarter", s.label), _term(context, "term_quarter")],
                [para("Scheme", s.label), _term(context, "term_scheme")],
            ],
            _LABELS,
            header=False,
            label_column=True,
        ),
        para(
            "Enter the number of units of each service the practice delivered in the quarter — a whole "
            "number, 0 if none, no more than the cap per practice. Only the services in your service level "
            "agreement are on this form; each is paid at the tariff shown.",
        ),
    ]
    rows: list[list[Any]] = [[para(h, s.cell_head) for h in ("Service", "Unit", "Tariff", "Cap", "Count")]]
    for service in context["services"]:
        tag = service["term_tag"]
        rows.append(
            [
                para(service["title"], s.cell_bold),
                para(service["unit"], s.cell),
                _term(context, f"{tag}_tariff"),
                _term(context, f"{tag}_cap") if service["cap"] else para("", s.cell),
                TextField(
                    service["count_tag"], "", height=17, font_size=10, tooltip=f"Count: {service['title']}"
                ),
            ]
        )
    story.append(grid_table(rows, _SERVICES, extra=[("VALIGN", (0, 1), (-1, -1), "MIDDLE")]))
    story.append(Spacer(1, 6))
    story.append(para("Claimed on behalf of the practice", s.h3))
    claimant = [
        [
            para(field["label"], s.label),
            TextField(field["tag"], "", height=17, font_size=10, tooltip=field["label"]),
        ]
        for field in context["form"]["fields"]
        if field["group"] == "signature"
    ]
    story.append(grid_table(claimant, _LABELS, header=False, label_column=True,
                            extra=[("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))  # fmt: skip
    where = commissioner["return_email"] or commissioner["name"]
    story.append(para(
        f"Return the completed form to {where} within one month of the quarter's end. The tariffs and caps "
        "are the issued terms and are checked on return. "
        f"Issued terms digest {context['document']['terms_digest']}.",
        s.note,
    ))  # fmt: skip
    return story
