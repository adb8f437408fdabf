"""The scheme spec: its model, loading it from YAML, and cross-field validation.

A scheme spec (``schemes/*.yaml``) is the single description of a local scheme:
who commissions it, the financial year, the per-patient rate and how it splits
into components (what the practice must do for each) and instalments (what
releases each payment), the reporting milestones, the practice lead roles and
signatories of the Section 7 form, the reconciliation rules and sessional rates.

Loading reports *every* problem at once, each with the file, the YAML path and
its line: pydantic's field errors (wrong type, unknown key, missing key) and the
cross-field rules checked here (parts sum exactly to the rate, dates inside the
financial year, ids unique and referenced ids defined).

Figures are bounded where they are typed: a ``Rate`` (per patient or per unit) has at
most 4 decimal places and is at most £1,000,000, an ``Amount`` of money whole pence
up to £1,000,000,000, a ``Fraction`` at most 4 places; a count at most ``MAX_COUNT``.
A figure past them (``0.123456789``, a 25-digit rate) is refused with its line, so
every later calculation is exact; what YAML itself cannot hold (``.inf``, ``.nan``)
is refused by :mod:`agreementgen.yamlfile`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ProblemsFound, SchemeError
from .money import Money, to_decimal
from .practices import MAX_COUNT
from .provenance import Provenance
from .provenance import check as check_provenance
from .yamlfile import YamlPath, load_yaml

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


# Bounds on the figures of a spec. A figure outside them is a typo or a hostile file, never a
# scheme: refusing it here, with its line, keeps every later sum exact in Decimal's 28 digits
# (a rate × a list size of MAX_COUNT patients stays far inside them).
RATE_PLACES = 4  # a per-patient (or per-unit) rate or a fraction: £0.0001, 0.01%
MONEY_PLACES = 2  # an amount of money: whole pence
MAX_RATE = Decimal(1_000_000)  # £ per patient or per unit
MAX_AMOUNT = Decimal(1_000_000_000)  # £ in one amount (a budget envelope, a worked example)


def _exact(value: Any) -> Decimal:
    # Refuses floats: the YAML loader already gives Decimals, so a float here
    # means a caller built a spec in Python with a float literal. pydantic turns only a
    # ValueError into a field error with a line, so a TypeError (a list, a boolean) becomes one.
    try:
        return to_decimal(value)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def _figure(places: int, largest: Decimal, what: str) -> Callable[[Any], Decimal]:
    """A validator: an exact Decimal of at most ``places`` decimal places and at most ``largest``."""

    def check(value: Any) -> Decimal:
        number = _exact(value)
        if number.copy_abs() > largest:  # first, and without arithmetic: 1e999999999 would overflow
            if number < 0:
                raise ValueError(f"{_short(number)} is too far below zero for {what} (at least -{largest:,})")
            raise ValueError(f"{_short(number)} is too large for {what} (at most {largest:,})")
        if number != number.quantize(Decimal(1).scaleb(-places)):
            raise ValueError(
                f"{_short(number)} has more than {places} decimal places; {what} is given to "
                f"{places} (e.g. {number.quantize(Decimal(1).scaleb(-places))})"
            )
        return number

    return check


def _short(number: Decimal) -> str:
    text = str(number)
    return text if len(text) <= 40 else text[:37] + "…"


Rate = Annotated[Decimal, BeforeValidator(_figure(RATE_PLACES, MAX_RATE, "a rate")), Field(ge=0)]
Amount = Annotated[Decimal, BeforeValidator(_figure(MONEY_PLACES, MAX_AMOUNT, "an amount of money"))]
Fraction = Annotated[Decimal, BeforeValidator(_figure(RATE_PLACES, Decimal(1), "a fraction"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Commissioner(_Strict):
    name: Text
    short_name: Text
    code: str | None = Field(default=None, pattern=r"^[0-9A-Z]{3,5}$")
    return_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    return_address: str | None = None


class Obligation(_Strict):
    """One obligation a component puts on the practice (or a commitment the commissioner makes):
    ``lead`` is the source's bold lead-in (``Review Meetings:``), ``text`` the rest, ``items`` its
    sub-points."""

    lead: Text | None = None
    text: Text | None = None
    items: list[Text] = []

    @classmethod
    def _from_str(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _says_something(self) -> Obligation:
        if not (self.lead or self.text):
            raise ValueError("an obligation needs a lead or a text")
        return self


ObligationIn = Annotated[Obligation, BeforeValidator(Obligation._from_str)]


class Component(_Strict):
    id: Ident
    title: Text
    rate_per_patient: Rate
    overview: list[Text] = []  # the source's high-level summary of the component, if it has one
    summary: Annotated[list[Text], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]
    obligations_intro: Text | None = None  # the source's lead-in to the obligations, if it has one
    obligations: list[ObligationIn] = []
    commitments: list[ObligationIn] = []  # what the commissioner commits to under this component


class Instalment(_Strict):
    """A payment; sized either per patient or as a share of the scheme rate (0.5 = half)."""

    id: Ident
    title: Text
    rate_per_patient: Rate | None = None
    share: Annotated[Fraction, Field(gt=0, le=1)] | None = None
    trigger: Text
    evidence: list[Ident] = Field(min_length=1)
    due: date
    due_basis: str | None = None


class Milestone(_Strict):
    id: Ident
    title: Text
    due: date
    window_start: date | None = None
    description: Text
    due_basis: str | None = None


class PerCapitaFunding(_Strict):
    model: Literal["per_capita"]
    rate_per_patient: Rate
    components: list[Component] = Field(min_length=1)
    instalments: list[Instalment] = Field(min_length=1)


class LeadRole(_Strict):
    id: Ident
    title: Text


SignatureField = Literal["name", "designation", "practice", "signature", "date"]


class Signatory(_Strict):
    party: Literal["practice", "commissioner"]
    heading: Text
    fields: list[SignatureField] = Field(min_length=1)


class Reconciliation(_Strict):
    """How money is adjusted when a practice does not deliver (seed 001 section 3.3)."""

    missing_evidence: Literal["withhold"] = "withhold"
    # Paid but not earned is recovered; the only rule we calculate (seed 001: "non-payment or clawback").
    non_delivery: Literal["clawback"] = "clawback"
    proportional_payment: Literal["discretionary", "none"] = "discretionary"
    adjustments_at: Literal["year_end", "in_year"] = "year_end"
    # Evidence after an instalment's due date: still earns it at year end (noted as late), or not.
    late_evidence: Literal["earn", "withhold"] = "earn"
    # A practice with no sign-up (no accepted Section 7, no sign_up evidence) earns nothing.
    no_sign_up: Literal["no_payment"] = "no_payment"
    # A practice that closed or merged: only instalments due on or before that date are earned;
    # the successor's own agreement covers the rest of the year.
    closed_or_merged: Literal["instalments_due_before"] = "instalments_due_before"
    text: list[Text] = []


class SessionalRate(_Strict):
    role: Text
    rate: Annotated[Amount, Field(gt=0)]  # a session costs something: the worked example divides by it
    hours: Rate


class WorkedExample(_Strict):
    """The source document's own example, checked against our calculation on validate."""

    list_size: int = Field(ge=0, le=MAX_COUNT)
    total: Amount
    by_component: dict[Ident, Amount] = {}
    by_instalment: dict[Ident, Amount] = {}
    sessions: dict[Text, Annotated[int, Field(ge=0, le=MAX_COUNT)]] = {}


class Budget(_Strict):
    envelope: Annotated[Amount, Field(ge=0)]
    note: str | None = None


class TermsSection(_Strict):
    id: Ident
    title: Text
    paragraphs: list[Text] = Field(min_length=1)


class ReturnRules(_Strict):
    """What ``ingest`` does with a return that is late or whose digital signature is in doubt.

    ``accept`` records it accepted, the reason kept with it as a note; ``flag`` leaves it for a
    person (``agreementgen review``); ``reject`` refuses it. Ingest reads these from the records
    database, where ``generate`` puts them, so it needs no spec (README: "Rules for returns").
    """

    # Signed (the typed date, or the digital signature's time) or received after sign_up_deadline.
    late: Literal["accept", "flag", "reject"] = "flag"
    # A digital signature whose certificate does not chain to a root given by ``--trust-roots``;
    # without ``--trust-roots`` trust is not checked and this rule never applies.
    untrusted_signature: Literal["accept", "flag"] = "accept"
    # A digital signature in another name than the typed signatory's (see ingest.same_person).
    signer_mismatch: Literal["accept", "flag"] = "flag"


class ReminderRules(_Strict):
    """When ``remind`` chases the practices that have not returned, or whose return was flagged.

    A practice is reminded at most ``max`` times, at least ``every_days`` days after the last message
    it was sent (its pack or a reminder), and no one after ``until`` (none: no cut-off date);
    ``remind --every/--max/--until`` override them for one run (README: "agreementgen remind").
    """

    until: date | None = None
    every_days: int = Field(default=7, ge=1, le=366)
    max: int = Field(default=3, ge=0, le=100)


class SchemeIdentity(_Strict):
    """What every scheme spec starts with, whatever its funding model."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
    title: Text
    short_title: Text
    version: Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)*$")]
    provenance: Provenance = Provenance()
    commissioner: Commissioner
    financial_year: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}/[0-9]{2}$")]
    returns: ReturnRules = ReturnRules()
    reminders: ReminderRules = ReminderRules()

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # ``version: 1`` and ``version: 1.2`` in YAML are numbers; keep their text.
        return str(value) if isinstance(value, int | Decimal) else value

    @property
    def year_start(self) -> date:
        return date(int(self.financial_year[:4]), 4, 1)

    @property
    def year_end(self) -> date:
        return date(int(self.financial_year[:4]) + 1, 3, 31)


class Scheme(SchemeIdentity):
    list_size_date: date
    sign_up_deadline: date
    background: list[Text] = []
    introduction: list[Text] = []
    funding: PerCapitaFunding
    milestones: list[Milestone] = []
    parties: list[Text] = Field(min_length=2)
    accountability: Text | None = None
    practice_leads: list[LeadRole] = []
    signatories: list[Signatory] = Field(min_length=1)
    reconciliation: Reconciliation = Reconciliation()
    sessional_rates: list[SessionalRate] = []
    terms: list[TermsSection] = []
    worked_example: WorkedExample | None = None
    budget: Budget | None = None

    def instalment_rate(self, instalment: Instalment) -> Decimal:
        """Per-patient rate of an instalment, whether the spec gives a rate or a share."""
        if instalment.rate_per_patient is not None:
            return instalment.rate_per_patient
        return (instalment.share or Decimal(0)) * self.funding.rate_per_patient

    @property
    def components(self) -> list[Component]:
        return self.funding.components

    @property
    def instalments(self) -> list[Instalment]:
        return self.funding.instalments

    @property
    def rate_per_patient(self) -> Decimal:
        return self.funding.rate_per_patient

    @property
    def budget_envelope(self) -> Money | None:
        return Money(self.budget.envelope) if self.budget else None


def cross_check(scheme: Scheme) -> list[tuple[YamlPath, str]]:
    """Rules between fields that pydantic's per-field checks cannot see."""
    problems: list[tuple[YamlPath, str]] = []
    fy = scheme.financial_year
    if int(fy[5:]) != (int(fy[:4]) + 1) % 100:
        problems.append((("financial_year",), f"'{fy}' is not a financial year like 2017/18"))
        return problems  # the date checks below need a valid year
    funding = scheme.funding
    for i, inst in enumerate(funding.instalments):
        if (inst.rate_per_patient is None) == (inst.share is None):
            problems.append((("funding", "instalments", i), "give exactly one of rate_per_patient or share"))
    if problems:
        return problems
    for name in ("components", "instalments"):
        parts = getattr(funding, name)
        rates = [scheme.instalment_rate(p) if name == "instalments" else p.rate_per_patient for p in parts]
        part_sum = sum(rates, Decimal(0))
        if part_sum != funding.rate_per_patient:
            detail = " + ".join(f"{r}" for r in rates)
            problems.append(
                (
                    ("funding", name),
                    f"{name} rates sum to £{part_sum} per patient ({detail}) "
                    f"but the scheme rate is £{funding.rate_per_patient}; they must be equal",
                )
            )
        problems += _unique_ids(parts, ("funding", name))
    problems += _unique_ids(scheme.milestones, ("milestones",))
    problems += _unique_ids(scheme.practice_leads, ("practice_leads",))
    problems += _unique_ids(scheme.terms, ("terms",))

    def inside(loc: YamlPath, value: date | None, what: str) -> None:
        if value is not None and not scheme.year_start <= value <= scheme.year_end:
            problems.append(
                (
                    loc,
                    f"{what} {value.isoformat()} is outside the financial year {fy} "
                    f"({scheme.year_start.isoformat()} to {scheme.year_end.isoformat()})",
                )
            )

    inside(("list_size_date",), scheme.list_size_date, "list-size date")
    inside(("sign_up_deadline",), scheme.sign_up_deadline, "sign-up deadline")
    for i, m in enumerate(scheme.milestones):
        inside(("milestones", i, "due"), m.due, f"milestone '{m.id}' due date")
        inside(("milestones", i, "window_start"), m.window_start, f"milestone '{m.id}' start")
        if m.window_start and m.window_start > m.due:
            problems.append((("milestones", i, "window_start"), "window starts after it is due"))
    milestone_ids = {m.id for m in scheme.milestones}
    for i, inst in enumerate(funding.instalments):
        inside(("funding", "instalments", i, "due"), inst.due, f"instalment '{inst.id}' due date")
        for j, ev in enumerate(inst.evidence):
            if ev not in milestone_ids:
                problems.append(
                    (
                        ("funding", "instalments", i, "evidence", j),
                        f"evidence '{ev}' is not a milestone id; "
                        f"known: {', '.join(sorted(milestone_ids)) or 'none'}",
                    )
                )
    ex = scheme.worked_example
    if ex:
        for key, ids, where in (
            ("by_component", {c.id for c in funding.components}, "component"),
            ("by_instalment", {i.id for i in funding.instalments}, "instalment"),
        ):
            for name in getattr(ex, key):
                if name not in ids:
                    problems.append((("worked_example", key, name), f"'{name}' is not a {where} id"))
        roles = {r.role for r in scheme.sessional_rates}
        for role in ex.sessions:
            if role not in roles:
                problems.append(
                    (("worked_example", "sessions", role), f"'{role}' is not a sessional rate role")
                )
    return problems


def _unique_ids(items: list[Any], loc: YamlPath) -> list[tuple[YamlPath, str]]:
    seen: dict[str, int] = {}
    problems: list[tuple[YamlPath, str]] = []
    for i, item in enumerate(items):
        if item.id in seen:
            problems.append(
                ((*loc, i, "id"), f"id '{item.id}' is used twice (first at item {seen[item.id]})")
            )
        seen.setdefault(item.id, i)
    return problems


def _pydantic_message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (not part of the scheme spec; check the spelling)"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    return re.sub(r"^Value error, ", "", msg)


SchemeCheck = Callable[[Scheme], list[tuple[YamlPath, str]]]


def load_scheme(path: str | Path, checks: Sequence[SchemeCheck] = ()) -> Scheme:
    """Load and validate a scheme spec, raising ``ProblemsFound`` with every problem.

    ``checks`` are further rules from higher layers (e.g. the worked example
    against the payment calculation) whose problems get file and line too.
    """
    return load_spec(path, Scheme, cross_check, checks)


M = TypeVar("M", bound=BaseModel)


def load_spec(
    path: str | Path,
    model: type[M],
    cross: Callable[[M], list[tuple[YamlPath, str]]],
    checks: Sequence[Callable[[M], list[tuple[YamlPath, str]]]] = (),
) -> M:
    """Load a YAML spec into ``model``; every problem (pydantic's and ``cross``'s) with its line."""
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise SchemeError("a scheme spec must be a YAML mapping of keys to values", path=path)

    def error(loc: YamlPath, message: str) -> SchemeError:
        return SchemeError(
            message,
            path=path,
            line=doc.line_of(loc),
            field=".".join(str(p) for p in loc) or None,
        )

    try:
        spec = model.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            # Drop pydantic's tagged-union/validator markers so the path is the YAML path.
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            problems.append(error(loc, _pydantic_message(err)))
        raise ProblemsFound(
            problems, summary=f"{path}: {len(problems)} problem(s) in the scheme spec"
        ) from exc
    found = [error(loc, msg) for loc, msg in cross(spec)]
    if not found:  # a spec that hangs together: then whether it agrees with its sources
        found = [error(loc, msg) for check in checks for loc, msg in check(spec)]
        found += [error(row.loc, f"provenance of {row.item}: {row.problem}")
                  for row in check_provenance(spec, path.parent) if row.verdict == "FAILED"]  # fmt: skip
    if found:
        raise ProblemsFound(found, summary=f"{path}: {len(found)} problem(s) in the scheme spec")
    return spec
