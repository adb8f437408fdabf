"""A simulated round of returns for the demo: what practices send back, good and bad.

Owns filling issued forms the way a practice would — the PDF's form fields with pypdf
(a different library from the one that wrote them), the DOCX's content controls by
editing their XML — and the demo's mix: most practices sign and return the PDF, a few
return the Word version, one changes its list size (tampered), one forgets the date,
one sends a photo renamed ``.pdf``, and the rest do not reply (to be chased). Then the year-end
files a team keeps, and the same for a service scheme: signed SLAs, quarterly claims, finance's
payments, a decision and an activity file. The tests fill forms with independent fillers
(pdftk, PyPDFForm, LibreOffice) instead.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from lxml import etree

from .context import long_date
from .kinds.claim import COUNT_PREFIX
from .money import Money
from .payments import entitlement, tariff
from .practices import Practice
from .render.docx import W
from .scheme import Scheme
from .services import ServiceScheme
from .signups import SignUps
from .tables import write_csv

SIGNATORIES = (
    ("Dr Siân Ôwen", "Senior Partner"),
    ("Dr Aoife O'Brien", "GP Partner"),
    ("Jo Bloggs", "Practice Manager"),
    ("Dr Kwame Mensah", "Managing Partner"),
)
# A 1×1 JPEG: the bytes of a phone photo someone renamed to .pdf.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912"
    "130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b08000100"
    "0101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffda0008010100003f00"
    "d2cf20ffd9"
)


def practice_entries(index: int, signed_on: date) -> dict[str, str]:
    """What practice number ``index`` types into its form."""
    name, designation = SIGNATORIES[index % len(SIGNATORIES)]
    return {
        "lead_gp_clinical_representative": "Dr A Patel",
        "lead_management_representative": "Jo Bloggs",
        "lead_gp_referral_lead": "Dr B Okafor",
        "lead_gp_prescribing_lead": "Dr C Nowak",
        "practice_signatory_name": name,
        "practice_signatory_designation": designation,
        "practice_signature": name,
        "practice_signature_date": long_date(signed_on),
    }


def fill_pdf(pdf: bytes, values: Mapping[str, str]) -> bytes:
    """The PDF with its form fields set (read-only ones too, as a tamperer would)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.set_need_appearances_writer(True)
    for page in writer.pages:
        if "/Annots" in page:  # pypdf warns about pages without fields
            writer.update_page_form_field_values(page, dict(values), auto_regenerate=False)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def fill_docx(docx: bytes, values: Mapping[str, str]) -> bytes:
    """The DOCX with the content controls tagged in ``values`` holding those texts."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                root = etree.fromstring(data, parser)
                for sdt in root.iter(f"{{{W}}}sdt"):
                    tag = sdt.find(f"{{{W}}}sdtPr/{{{W}}}tag")
                    key = tag.get(f"{{{W}}}val") if tag is not None else None
                    if key is not None and key in values:
                        _set_control_text(sdt, values[key])
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            target.writestr(info, data)
    return out.getvalue()


def _set_control_text(sdt: etree._Element, text: str) -> None:
    placeholder = sdt.find(f"{{{W}}}sdtPr/{{{W}}}showingPlcHdr")
    if placeholder is not None:
        placeholder.getparent().remove(placeholder)
    texts = list(sdt.iter(f"{{{W}}}t"))
    if not texts:
        return
    texts[0].text = text
    texts[0].set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    for extra in texts[1:]:
        extra.text = ""


@dataclass(frozen=True)
class Simulated:
    path: Path
    what: str  # what the demo expects: accepted / flagged (why) / rejected (why)


def simulate_round(packs: Path, codes: list[str], out_dir: Path, signed_on: date) -> list[Simulated]:
    """Write a round of returns for the practices ``codes`` (in order) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made: list[Simulated] = []

    def write(name: str, data: bytes, what: str) -> None:
        path = out_dir / name
        path.write_bytes(data)
        made.append(Simulated(path, what))

    replies = codes[: max(len(codes) - len(codes) // 5, 1)]  # a fifth do not reply
    for index, code in enumerate(replies):
        entries = practice_entries(index, signed_on)
        if index == 0 and len(replies) > 3:
            entries["term_list_size"] = "99,999"  # changes the list size it is paid on
            write(f"returned-{index:03}.pdf", fill_pdf((packs / code / "section7.pdf").read_bytes(), entries),
                  "flagged: issued terms changed")  # fmt: skip
        elif index == 1 and len(replies) > 3:
            entries["practice_signature_date"] = ""
            write(f"returned-{index:03}.pdf", fill_pdf((packs / code / "section7.pdf").read_bytes(), entries),
                  "flagged: date missing")  # fmt: skip
        elif index == 2 and len(replies) > 3:
            write(f"IMG_{index:04}.pdf", JPEG, "rejected: a photo, not a PDF")
        elif index % 10 == 3:
            docx = fill_docx((packs / code / "section7.docx").read_bytes(), entries)
            write(f"returned-{index:03}.docx", docx, "accepted (Word)")
        else:
            write(f"returned-{index:03}.pdf", fill_pdf((packs / code / "section7.pdf").read_bytes(), entries),
                  "accepted")  # fmt: skip
    return made


def simulate_year_end(
    scheme: Scheme, practices: list[Practice], signed: list[str], out_dir: Path
) -> dict[str, Path]:
    """The year-end files a contracts team would keep for the demo; returns {kind: path}.

    Every practice that signed up sent its evidence on time and was paid the first two
    instalments, except: the first sent its mid-year report late (still earned, noted); the
    second sent no year-end report but was paid all three (clawback); the third is paid 50% of
    medicines optimisation by decision.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    by_code = {p.code: p for p in practices}
    on_time = {"sign_up": "2017-05-15", "visit_booked": "2017-05-22", "practice_visit": "2017-06-20",
               "action_plan": "2017-07-10", "mid_year_report": "2017-09-29",
               "year_end_report": "2018-03-30"}  # fmt: skip
    evidence, paid = [], []
    for index, code in enumerate(signed):
        dates = dict(on_time)
        if index == 0:
            dates["mid_year_report"] = "2017-11-14"
        if index == 1:
            del dates["year_end_report"]
        evidence += [[code, milestone, when] for milestone, when in dates.items()]
        amounts = entitlement(scheme, by_code[code].list_size or 0).by_instalment
        for instalment in ("first", "second", "third") if index == 1 else ("first", "second"):
            paid.append([code, instalment, amounts[instalment].amount, "2017-10-31"])
    decisions = [
        [signed[2], "medicines_optimisation", "50", "one of the two prescribing audits was completed"]
    ]
    files = {
        "evidence": out_dir / "evidence.csv",
        "paid": out_dir / "paid.csv",
        "decisions": out_dir / "decisions.csv",
    }
    write_csv(files["evidence"], ["practice_code", "milestone", "date"], evidence)
    write_csv(files["paid"], ["practice_code", "instalment", "amount", "date"], paid)
    write_csv(files["decisions"], ["practice_code", "component", "percentage", "reason"], decisions)
    return files


# --- a service scheme's year (the C&P LES) ----------------------------------------------------
QUARTER_SHARE = (Decimal("0.23"), Decimal("0.26"), Decimal("0.24"), Decimal("0.27"))
OVER_CAP = 450  # wound-care episodes a quarter for the practice that goes over the annual cap


@dataclass
class ServiceRound:
    """What the simulated practices sent in, and what they claimed (practice → service → quarter → units)."""

    made: list[Simulated]
    claimed: dict[str, dict[str, dict[int, int]]]
    unsigned: str  # the practice that never returned its SLA
    over_cap: str | None  # the practice whose wound care goes over the cap
    no_q4_form: str  # the practice whose Q4 figures come from the team's activity file


def simulate_service_round(
    spec: ServiceScheme, packs: Path, signups: SignUps, out_dir: Path, signed_on: date
) -> ServiceRound:
    """Signed SLAs and four quarterly claims per practice, filled with pypdf, into ``out_dir``.

    Every practice signs its SLA and claims about its planned activity each quarter, except:
    the first never returns its SLA (it claims all the same); the first with wound care claims
    450 episodes a quarter, over the annual cap of 1,500; the third sends no Q4 claim form —
    the team has its Q4 figures from a data extract instead.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    codes = sorted({s.practice_code for s in signups.rows})
    claimable = {
        s.id for s in spec.offered if s.payment.model == "per_activity" and s.payment.claim == "quarterly"
    }
    over_cap = next((c for c in codes[1:] if "wound_care" in signups.for_practice(c)), None)
    unsigned, no_q4_form = codes[0], codes[2]
    made: list[Simulated] = []
    claimed: dict[str, dict[str, dict[int, int]]] = {}
    for index, code in enumerate(codes):
        name, designation = SIGNATORIES[index % len(SIGNATORIES)]
        signer = {"practice_signatory_name": name, "practice_signatory_designation": designation,
                  "practice_signature": name, "practice_signature_date": long_date(signed_on)}  # fmt: skip
        for contract in spec.funding.contracts:
            sla = packs / code / f"sla_{contract.id}.pdf"
            if sla.is_file() and code != unsigned:
                path = out_dir / f"{code}-sla_{contract.id}.pdf"
                path.write_bytes(fill_pdf(sla.read_bytes(), signer))
                made.append(Simulated(path, "accepted"))
        plan = {s: n for s, n in signups.for_practice(code).items() if s in claimable}
        claimed[code] = {s: {} for s in plan}
        for quarter, share in enumerate(QUARTER_SHARE, start=1):
            counts = {s: int(n * share + Decimal("0.5")) for s, n in plan.items()}
            if code == over_cap:
                counts["wound_care"] = OVER_CAP
            for service, count in counts.items():
                claimed[code][service][quarter] = count
            if not counts or (code == no_q4_form and quarter == 4):
                continue
            path = out_dir / f"{code}-claim_q{quarter}.pdf"
            values = {**signer, **{f"{COUNT_PREFIX}{s}": f"{n:,}" for s, n in counts.items()}}
            path.write_bytes(fill_pdf((packs / code / f"claim_q{quarter}.pdf").read_bytes(), values))
            made.append(Simulated(path, "accepted"))
    return ServiceRound(made, claimed, unsigned, over_cap, no_q4_form)


def simulate_service_year_end(spec: ServiceScheme, sent: ServiceRound, out_dir: Path) -> dict[str, Path]:
    """Finance's payments (Q1–Q3 claims, paid at the tariff as they came in — the unsigned
    practice's too), a proportional decision, and the team's activity file with the Q4 figures
    of the practice that sent no Q4 form. Returns {kind: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tariffs = {s.id: tariff(s.payment, spec.funding.default_uplift) for s in spec.offered
               if s.payment.model == "per_activity"}  # fmt: skip
    paid = []
    for code, services in sent.claimed.items():
        for service, by_quarter in services.items():
            units = sum(n for q, n in by_quarter.items() if q <= 3)
            if units:
                paid.append([code, service, Money.of(tariffs[service] * units).amount, "2018-01-31"])
    decided = next(
        (c for c, s in sent.claimed.items() if "anticoagulation" in s and c != sent.unsigned), None
    )
    decisions = [[decided, "anticoagulation", "80", "INR quality audit not completed"]] if decided else []
    q4 = sent.claimed[sent.no_q4_form]
    activity = [[sent.no_q4_form, service, "Q4", by_quarter[4]] for service, by_quarter in q4.items()]
    files = {k: out_dir / f"{k}.csv" for k in ("paid", "decisions", "activity")}
    write_csv(files["paid"], ["practice_code", "service", "amount", "date"], paid)
    write_csv(files["decisions"], ["practice_code", "service", "percentage", "reason"], decisions)
    write_csv(files["activity"], ["practice_code", "service", "quarter", "count"], activity)
    return files
