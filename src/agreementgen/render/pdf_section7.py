"""The Section 7 sign-up agreement as a native PDF: the layout of ``section7``.

The same content as the Word template ``templates/section7.docx``, laid out on A4 with
the machinery of :mod:`agreementgen.render.pdf`:

* **Page 1** — the scheme's title and "Section 7 — Sign-up agreement", how to sign up,
  (1) the parties, (2) the practice's own figures: list size and its date, the rate,
  each component and each instalment (trigger, due date, amount) and the total.
* **The scheme's pages** — (3) what the practice will do under each component, (4) the
  reporting timetable, (5) payment reconciliation, (6) variations, disputes and
  termination. They are the same for every practice of a scheme, so they are laid out
  once per process and replayed (see :func:`agreementgen.render.pdf.static_pages`).
* **Section 7 itself**, on a page of its own so it can be returned alone — (7) the
  deadline and where to return it, accountability, the practice leads (fillable) and
  the signature blocks of both parties (fillable, plus a digital-signature field).

Every issued term (``context["terms"]``) is a prefilled read-only form field named by
its key, shown where the figure belongs; every field a practice fills in is named by its
tag in ``context["form"]``. The renderer never computes: every figure arrives finished.

The tables are :class:`~agreementgen.render.pdf.Frozen` blocks: laid out and drawn once
per scheme, with the practice's own parts (name, address, figures) in slots. Their keys
start with :func:`_scheme_key`, a digest of everything in the context that is not the
practice's, so a block is never reused for another scheme or another version of one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, HRFlowable, KeepTogether, PageBreak, Spacer, Table, TableStyle

from ..errors import RenderError
from .pdf_layout import (
    CELL_PADDING,
    COLOURS,
    CONTENT_WIDTH,
    STYLES,
    DocumentInfo,
    Frozen,
    SignatureField,
    Slot,
    Stack,
    StaticPages,
    TextField,
    build_pdf,
    bullet,
    form_font_can_show,
    grid_table,
    para,
    static_pages,
)

__all__ = ["render_section7"]

Context = dict[str, Any]
Row = list[Any]

LAYOUT_VERSION = "section7-pdf-1"  # part of every cache key: change it when the layout changes
DIGITAL_SIGNATURE_FIELD = "practice_digital_signature"
FILL_HEIGHT = 19.0  # the boxes a practice types into

_FOUR_COLUMNS = (130.0, CONTENT_WIDTH / 2 - 130.0, 130.0, CONTENT_WIDTH / 2 - 130.0)
_TWO_COLUMNS = (130.0, CONTENT_WIDTH - 130.0)
_COMPONENT_COLUMNS = (CONTENT_WIDTH - 175.0, 95.0, 80.0)
_INSTALMENT_COLUMNS = (72.0, CONTENT_WIDTH - 72.0 - 90.0 - 80.0, 90.0, 80.0)
_LEAD_COLUMNS = (170.0, CONTENT_WIDTH - 170.0)
_SIGNATURE_LABEL = 68.0
_SIGNATURE_COLUMNS = (
    _SIGNATURE_LABEL,
    CONTENT_WIDTH / 2 - _SIGNATURE_LABEL,
    _SIGNATURE_LABEL,
    CONTENT_WIDTH / 2 - _SIGNATURE_LABEL,
)
_SIGNATURE_PADDING = 6.0


def render_section7(context: Context) -> bytes:
    """The Section 7 sign-up agreement for one practice, as PDF bytes (deterministic)."""
    try:
        key = _scheme_key(context)
        static = _scheme_pages(context)
        story = [
            *_first_page(context, key),
            PageBreak(),
            *static.flowables(),
            PageBreak(),
            *_sign_up(context, key),
        ]
        info = _document_info(context)
    except RenderError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise RenderError(
            f"the section7 context is incomplete or malformed ({type(exc).__name__}: {exc}); "
            "build it with agreementgen.context.build_context",
            field=str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else None,
        ) from exc
    return build_pdf(story, info, static=static)


def _scheme_key(context: Context) -> str:
    """A digest of everything the context holds that is the same for every practice of the scheme."""
    shared = {
        "scheme": context["scheme"],
        "commissioner": context["commissioner"],
        "components": [
            {k: v for k, v in c.items() if not k.startswith("amount")} for c in context["components"]
        ],
        "instalments": [
            {k: v for k, v in i.items() if not k.startswith("amount")} for i in context["instalments"]
        ],
        "milestones": context["milestones"],
        "leads": [{k: v for k, v in lead.items() if k != "value"} for lead in context["leads"]],
        "signatories": context["signatories"],
        "kind": (context["document"]["kind"], context["document"]["title"]),
    }
    return hashlib.sha256(repr((LAYOUT_VERSION, shared)).encode("utf-8")).hexdigest()


def _document_info(context: Context) -> DocumentInfo:
    document, scheme, practice = context["document"], context["scheme"], context["practice"]
    doc_id = document["id"]
    return DocumentInfo(
        doc_id=doc_id,
        reference=document["reference"],
        title=f"{document['title']} — {doc_id}",
        subject=f"{scheme['title']}: {document['title']} for {practice['code']} (document id {doc_id})",
        author=context["commissioner"]["name"],
        keywords=(doc_id, scheme["id"], f"v{scheme['version']}", practice["code"], document["kind"]),
        header_left=f"{context['commissioner']['short_name']} · {scheme['title']}",
        header_right=f"{document['title']} · {practice['code']}",
        custom=(("AgreementgenTermsDigest", document["terms_digest"]),),
    )


def _term(context: Context, tag: str, *, bold: bool = False) -> TextField:
    """The read-only, prefilled field of an issued term."""
    return TextField(tag, context["terms"][tag], read_only=True, bold=bold, tooltip="Issued term (locked)")


def _inner(*widths: float, padding: float = CELL_PADDING) -> float:
    """The width a cell (spanning ``widths``) gives its content."""
    return sum(widths) - 2 * padding


def _frozen_table(
    key: Any,
    rows: Callable[[list[Slot]], list[Row]],
    widths: Sequence[float],
    fills: Sequence[tuple[Flowable, float]] = (),
    **table: Any,
) -> Frozen:
    """A bordered table drawn once per scheme, the practice's own cells in ``fills``."""
    return Frozen(key, lambda slots: grid_table(rows(slots), widths, **table), fills)


# --------------------------------------------------------------------------- page 1


def _first_page(context: Context, key: str) -> list[Flowable]:
    scheme, commissioner = context["scheme"], context["commissioner"]
    s = STYLES
    story: list[Flowable] = [
        para(commissioner["name"], s.kicker, static=True),
        HRFlowable(width="100%", thickness=2, color=COLOURS["blue"], spaceBefore=3, spaceAfter=10),
        para(scheme["title"], s.title, static=True),
        para("Section 7 — Sign-up agreement", s.subtitle, static=True),
    ]
    if scheme["illustrative"]:
        story.append(para("The figures in this scheme are illustrative.", s.note, static=True))
    story.append(Frozen((key, "callout"), lambda _: _callout(_how_to_sign_up(context))))
    story.append(para("1  Parties to the agreement", s.h2, static=True))
    story.append(_parties(context, key))
    story.append(para("2  Payment to the practice", s.h2, static=True))
    story.append(
        para(
            f"The scheme pays {scheme['rate_per_patient']} per registered patient on registered list sizes "
            f"at {scheme['list_size_date']}, by component and in instalments as below.",
            static=True,
        )
    )
    story += [_figures(context, key), _components(context, key), _instalments(context, key)]
    return story


def _how_to_sign_up(context: Context) -> str:
    scheme, commissioner = context["scheme"], context["commissioner"]
    where = escape(commissioner["return_email"] or commissioner["return_address"] or commissioner["name"])
    return (
        f"Practices wishing to sign up to the {escape(scheme['short_title'])} are required to sign "
        f"Section 7 of this agreement (the last page) and return it to <b>{where}</b> "
        f"by <b>{escape(scheme['sign_up_deadline'])}</b>."
    )


def _callout(markup: str) -> Table:
    box = Table(
        [[para(markup, STYLES.callout, markup=True, static=True)]], colWidths=[CONTENT_WIDTH], hAlign="LEFT"
    )
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), COLOURS["callout"]),
                ("LINEBEFORE", (0, 0), (0, -1), 3, COLOURS["blue"]),
                ("TOPPADDING", (0, 0), (-1, -1), 7),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
                ("RIGHTPADDING", (0, 0), (-1, -1), 10),
            ]
        )
    )
    return box


def _parties(context: Context, key: str) -> Frozen:
    """Commissioner and practice (name, address, ODS code, PCN), scheme reference and year."""
    scheme, commissioner, practice = context["scheme"], context["commissioner"], context["practice"]
    s = STYLES
    wide = _inner(*_FOUR_COLUMNS[1:])
    fills: list[tuple[Flowable, float]] = [
        (Stack([para(practice["name"], s.cell_bold), para(practice["address"], s.cell)]), wide),
        (_term(context, "term_practice_code"), _inner(_FOUR_COLUMNS[1])),
    ]
    pcn = bool(practice["pcn_name"] or practice["pcn_code"])
    if pcn:
        fills.append((para(_with_code(practice["pcn_name"], practice["pcn_code"]), s.cell), wide))

    def rows(slots: list[Slot]) -> list[Row]:
        table: list[Row] = [
            [
                para("Commissioner", s.label, static=True),
                para(_with_code(commissioner["name"], commissioner["code"]), s.cell, static=True),
                "",
                "",
            ],
            [para("Member practice", s.label, static=True), slots[0], "", ""],
            [
                para("Practice ODS code", s.label, static=True),
                slots[1],
                para("Scheme reference", s.label, static=True),
                _term(context, "term_scheme"),
            ],
        ]
        if pcn:
            table.append([para("Primary care network", s.label, static=True), slots[2], "", ""])
        period = f"{scheme['financial_year']} ({scheme['year_start']} to {scheme['year_end']})"
        table.append(
            [para("Financial year", s.label, static=True), para(period, s.cell, static=True), "", ""]
        )
        return table

    wide_rows = [0, 1, *range(3, 5 if pcn else 4)]
    styles = [("SPAN", (1, n), (-1, n)) for n in wide_rows] + [
        ("BACKGROUND", (2, 2), (2, 2), COLOURS["paler"])
    ]
    return _frozen_table(
        (key, "parties", pcn, context["terms"]["term_scheme"]),
        rows,
        _FOUR_COLUMNS,
        fills,
        header=False,
        label_column=True,
        extra=styles,
    )


def _figures(context: Context, key: str) -> Frozen:
    scheme = context["scheme"]
    s = STYLES
    narrow = _inner(_FOUR_COLUMNS[1])
    fills: list[tuple[Flowable, float]] = [
        (_term(context, "term_list_size"), narrow),
        (_term(context, "term_list_size_date"), narrow),
        (_term(context, "term_rate_per_patient"), narrow),
        (_term(context, "term_total", bold=True), narrow),
    ]

    def rows(slots: list[Slot]) -> list[Row]:
        return [
            [
                para("Registered list size", s.label, static=True),
                slots[0],
                para("List size as at", s.label, static=True),
                slots[1],
            ],
            [
                para("Rate per registered patient", s.label, static=True),
                slots[2],
                para(f"Total payment for {scheme['financial_year']}", s.label, static=True),
                slots[3],
            ],
        ]

    shade = ("BACKGROUND", (2, 0), (2, -1), COLOURS["paler"])
    return _frozen_table(
        (key, "figures"), rows, _FOUR_COLUMNS, fills, header=False, label_column=True, extra=[shade]
    )


def _components(context: Context, key: str) -> Frozen:
    scheme = context["scheme"]
    s = STYLES
    amount = _inner(_COMPONENT_COLUMNS[2])
    fills: list[tuple[Flowable, float]] = [
        (_term(context, c["term_tag"]), amount) for c in context["components"]
    ]
    fills.append((para(context["total"], s.cell_bold), amount))

    def rows(slots: list[Slot]) -> list[Row]:
        table: list[Row] = [
            [
                para("Component", s.cell_head, static=True),
                para("Rate per patient", s.cell_head, static=True),
                para("Amount", s.cell_head, static=True),
            ]
        ]
        for component, slot in zip(context["components"], slots, strict=False):
            table.append(
                [
                    para(component["title"], s.cell, static=True),
                    para(component["rate"], s.cell, static=True),
                    slot,
                ]
            )
        table.append(
            [
                para("Total", s.cell_bold, static=True),
                para(scheme["rate_per_patient"], s.cell_bold, static=True),
                slots[-1],
            ]
        )
        return table

    return _frozen_table((key, "components"), rows, _COMPONENT_COLUMNS, fills, total=True)


def _instalments(context: Context, key: str) -> Frozen:
    s = STYLES
    due, amount = _inner(_INSTALMENT_COLUMNS[2]), _inner(_INSTALMENT_COLUMNS[3])
    fills: list[tuple[Flowable, float]] = []
    for instalment in context["instalments"]:
        fills += [
            (_term(context, f"{instalment['term_tag']}_due"), due),
            (_term(context, instalment["term_tag"]), amount),
        ]
    fills.append((para(context["total"], s.cell_bold), amount))

    def rows(slots: list[Slot]) -> list[Row]:
        table: list[Row] = [
            [
                para("Instalment", s.cell_head, static=True),
                para("Paid on", s.cell_head, static=True),
                para("Due by", s.cell_head, static=True),
                para("Amount", s.cell_head, static=True),
            ]
        ]
        for number, instalment in enumerate(context["instalments"]):
            released: list[Flowable] = [para(instalment["trigger"], s.cell, static=True)]
            if instalment["evidence"]:
                evidence = "Evidence: " + "; ".join(instalment["evidence"]) + "."
                released.append(para(evidence, s.cell_small, static=True))
            title = [
                para(instalment["title"], s.cell, static=True),
                para(f"{instalment['rate']} per patient", s.cell_small, static=True),
            ]
            table.append([title, released, slots[2 * number], slots[2 * number + 1]])
        table.append([para("Total", s.cell_bold, static=True), "", "", slots[-1]])
        return table

    return _frozen_table((key, "instalments"), rows, _INSTALMENT_COLUMNS, fills, total=True)


# --------------------------------------------------------------------------- the scheme's pages


def _scheme_pages(context: Context) -> StaticPages:
    """Sections 3–6: the same for every practice of a scheme, so laid out once per process."""
    scheme = context["scheme"]
    content = {
        "components": [
            {k: c[k] for k in ("id", "title", "rate", "summary", "obligations")}
            for c in context["components"]
        ],
        "milestones": [
            {k: m[k] for k in ("title", "due", "window_start", "description")} for m in context["milestones"]
        ],
        "reconciliation": scheme["reconciliation"],
        "terms": scheme["terms"],
    }
    return static_pages((LAYOUT_VERSION, content), lambda: _scheme_story(content))


def _scheme_story(content: dict[str, Any]) -> list[Flowable]:
    s = STYLES
    story: list[Flowable] = [para("3  What the practice will do", s.h2)]
    for number, component in enumerate(content["components"], start=1):
        story.append(
            para(f"3.{number}  {component['title']} — {component['rate']} per registered patient", s.h3)
        )
        if component["summary"]:
            story.append(para(component["summary"]))
        for obligation in component["obligations"]:
            story.append(bullet(obligation["text"]))
            story.extend(bullet(item, level=1) for item in obligation["items"])
        story.append(Spacer(1, 4))

    story.append(para("4  Reporting timetable", s.h2))
    rows: list[Row] = [
        [para("Milestone", s.cell_head), para("When", s.cell_head), para("What is required", s.cell_head)]
    ]
    for milestone in content["milestones"]:
        start, due = milestone["window_start"], milestone["due"]
        when = f"{start} to {due}" if start else f"By {due}"
        rows.append(
            [
                para(milestone["title"], s.cell_bold),
                para(when, s.cell),
                para(milestone["description"], s.cell),
            ]
        )
    story.append(grid_table(rows, [125, 105, CONTENT_WIDTH - 230]))

    story.append(para("5  Payment reconciliation", s.h2))
    story.extend(para(text) for text in content["reconciliation"])

    story.append(para("6  Variations, dispute resolution and termination", s.h2))
    for term in content["terms"]:
        story.append(para(term["title"], s.h3))
        story.extend(para(text) for text in term["paragraphs"])
    return story


# --------------------------------------------------------------------------- section 7


def _sign_up(context: Context, key: str) -> list[Flowable]:
    scheme, commissioner, practice = context["scheme"], context["commissioner"], context["practice"]
    s = STYLES
    story: list[Flowable] = [
        para("7  Sign-up", s.h2, static=True),
        para(
            f"By signing below the practice agrees to deliver the {scheme['short_title']} on the terms of "
            f"this agreement for the financial year {scheme['financial_year']}. Complete the practice leads, "
            "sign, and return the whole agreement by the deadline:",
            static=True,
        ),
        _returns(context, key),
        para("Parties to the agreement", s.h3, static=True),
        para(
            "The parties to the agreement are "
            + " and ".join(f"<b>{escape(p)}</b>" for p in scheme["parties"])
            + ".",
            markup=True,
            static=True,
        ),
        para(
            f"Member practice: <b>{escape(practice['name'])}</b> (ODS code {escape(practice['code'])})",
            markup=True,
        ),
        para("Practice level accountability", s.h3, static=True),
    ]
    if scheme["accountability"]:
        story.append(para(scheme["accountability"], static=True))
    story.append(
        KeepTogether(
            [
                para("The practice leads for the delivery of this agreement are:", static=True),
                _leads(context, key),
            ]
        )
    )
    for signatory in context["signatories"]:
        story.append(Spacer(1, 4))
        story.append(signature_block(context, key, signatory))  # a frozen block never splits
    contact = commissioner["return_email"] or commissioner["name"]
    story.append(Spacer(1, 6))
    story.append(
        para(
            "The figures in this agreement are the terms issued to the practice. They are checked against "
            f"the {commissioner['short_name']} record of issued agreements when the signed agreement is "
            f"returned, so please do not alter them: if a figure is wrong, contact {contact}. "
            f"Issued terms digest {context['document']['terms_digest']}.",
            s.note,
        )
    )
    return story


def _returns(context: Context, key: str) -> Frozen:
    commissioner = context["commissioner"]
    s = STYLES
    deadline = context["terms"]["term_sign_up_deadline"]

    def rows(_: list[Slot]) -> list[Row]:
        where = (
            [para(commissioner["return_email"], s.cell_bold, static=True)]
            if commissioner["return_email"]
            else []
        )
        if commissioner["return_address"]:
            where.append(para(commissioner["return_address"], s.cell, static=True))
        return [
            [para("Return by", s.label, static=True), _term(context, "term_sign_up_deadline", bold=True)],
            [
                para("Return to", s.label, static=True),
                where or para(commissioner["name"], s.cell, static=True),
            ],
        ]

    return _frozen_table((key, "returns", deadline), rows, _TWO_COLUMNS, header=False, label_column=True)


def _leads(context: Context, key: str) -> Frozen:
    s = STYLES
    fills: list[tuple[Flowable, float]] = [
        (
            TextField(
                lead["tag"],
                lead["value"] if form_font_can_show(lead["value"]) else "",
                height=FILL_HEIGHT,
                font_size=10,
                tooltip=lead["title"],
            ),
            _inner(_LEAD_COLUMNS[1]),
        )
        for lead in context["leads"]
    ]

    def rows(slots: list[Slot]) -> list[Row]:
        table: list[Row] = [[para("Role", s.cell_head, static=True), para("Name", s.cell_head, static=True)]]
        table += [
            [para(lead["title"], s.cell, static=True), slot]
            for lead, slot in zip(context["leads"], slots, strict=True)
        ]
        return table

    return _frozen_table(
        (key, "leads"), rows, _LEAD_COLUMNS, fills, extra=[("VALIGN", (0, 1), (-1, -1), "MIDDLE")]
    )


def signature_block(context: Context, key: str, signatory: dict[str, Any]) -> Frozen:
    """A boxed block: heading, then the party's fields two to a row (Name | Designation ...)."""
    practice = context["practice"]
    s = STYLES
    fills: list[tuple[Flowable, float]] = []
    if signatory["prints_practice"]:
        name = f"<b>{escape(practice['name'])}</b> (ODS code {escape(practice['code'])})"
        fills.append(
            (para(name, s.cell, markup=True), _inner(*_SIGNATURE_COLUMNS[1:], padding=_SIGNATURE_PADDING))
        )

    def build(slots: list[Slot]) -> Table:
        rows: list[Row] = [[para(signatory["heading"], s.cell_head, static=True), "", "", ""]]
        styles: list[tuple[Any, ...]] = [("SPAN", (0, 0), (-1, 0))]
        fields = list(signatory["fields"])
        for number, pair in enumerate(fields[i : i + 2] for i in range(0, len(fields), 2)):
            row: Row = []
            for spec in pair:
                tip = f"{signatory['heading']}: {spec['label']}"
                row += [
                    para(spec["label"], s.label, static=True),
                    TextField(spec["tag"], "", height=FILL_HEIGHT, font_size=10, tooltip=tip),
                ]
            if len(pair) == 1:
                row += ["", ""]
                styles.append(("SPAN", (1, len(rows)), (-1, len(rows))))
            rows.append(row)
            if number == 0 and slots:
                styles.append(("SPAN", (1, len(rows)), (-1, len(rows))))
                rows.append([para("Practice", s.label, static=True), slots[0], "", ""])
        if signatory["party"] == "practice":
            n = len(rows)
            styles += [("SPAN", (1, n), (-1, n)), ("VALIGN", (0, n), (0, n), "TOP")]
            note = (
                "The practice may sign here with a digital certificate instead of typing its signature above."
            )
            rows.append(
                [
                    [
                        para("Digital signature", s.label, static=True),
                        para("(optional)", s.cell_small, static=True),
                    ],
                    [
                        SignatureField(
                            DIGITAL_SIGNATURE_FIELD, height=40, tooltip="Sign digitally with a certificate"
                        ),
                        Spacer(1, 3),
                        para(note, s.cell_small, static=True),
                    ],
                    "",
                    "",
                ]
            )
        table = Table(rows, colWidths=list(_SIGNATURE_COLUMNS), hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.75, COLOURS["secondary"]),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.5, COLOURS["rule"]),
                    ("BACKGROUND", (0, 0), (-1, 0), COLOURS["pale"]),
                    ("VALIGN", (0, 1), (-1, -1), "MIDDLE"),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                    ("LEFTPADDING", (0, 0), (-1, -1), _SIGNATURE_PADDING),
                    ("RIGHTPADDING", (0, 0), (-1, -1), _SIGNATURE_PADDING),
                    *styles,
                ]
            )
        )
        return table

    return Frozen((key, "signature", signatory["party"]), build, fills, space_before=0, space_after=0)


# --------------------------------------------------------------------------- helpers


def _with_code(name: str, code: str) -> str:
    return f"{name} (ODS code {code})" if code else name
