"""Chasing by email: a reminder to each practice that has not returned its documents, or whose
return was flagged or rejected — told why, with the reasons.

Who is chased is the status's chase list (:func:`agreementgen.status.scheme_status`), one message per
practice naming each document outstanding. The scheme's ``reminders:`` rules
(:class:`agreementgen.scheme.ReminderRules`), or the run's own, decide when:

* no reminder after the cut-off date (``until``): the run sends nothing and says so;
* at most ``max`` reminders to a practice (those delivered: sent, or written to the outbox);
* at least ``every_days`` days after the last message delivered to the practice, its pack or a
  reminder, so a practice is not chased the day its pack went.

A reminder is composed and delivered as ``send``'s messages are (:mod:`agreementgen.send`), from the
``remind`` email templates, without attachments, and recorded as a ``messages`` event of kind
``remind``: the status's chase list and a document's history show it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .contacts import Contacts
from .context import long_date
from .records import DELIVERED, Records
from .render.email import EmailTemplate
from .send import (
    AnyScheme,
    MailReport,
    Outgoing,
    PracticeOutcome,
    Transport,
    checked_sender,
    compose,
    deliver_all,
    email_context,
    email_templates,
    no_message,
    reminder_context,
    who_to,
)
from .status import scheme_info, scheme_status


@dataclass(frozen=True)
class RemindOptions:
    kind: str  # a document kind or family, as for send and status
    sender: str
    practices: tuple[str, ...] = ()
    every_days: int | None = None  # None: the spec's reminders.every_days
    max: int | None = None  # None: the spec's reminders.max
    until: date | None = None  # None: the spec's reminders.until
    dry_run: bool = False
    per_minute: int | None = None
    templates: Path | None = None
    by: str = ""


def remind(
    spec: AnyScheme,
    records: Records,
    contacts: Contacts,
    transport: Transport | None,
    options: RemindOptions,
    on_message: Callable[[PracticeOutcome], None] | None = None,
    now: datetime | None = None,
) -> MailReport:
    """Remind the practices the chase list names, as the rules allow (see the module docstring)."""
    at = now  # what the records say: the real time unless a caller sets the clock
    now = now or datetime.now(UTC)
    sender = checked_sender(options.sender)
    rules = spec.reminders
    every = options.every_days if options.every_days is not None else rules.every_days
    maximum = options.max if options.max is not None else rules.max
    until = options.until or rules.until
    template = EmailTemplate(options.templates or email_templates(), "remind")
    report = MailReport(contact_problems=list(contacts.problems))
    status = scheme_status(scheme_info(spec), records, today=now.date(), kind=options.kind)
    wanted = {c.upper() for c in options.practices}
    chase: dict[str, list[dict[str, str]]] = {}
    for row in status.chase:
        if not wanted or row["practice_code"] in wanted:
            chase.setdefault(row["practice_code"], []).append(row)
    if until is not None and now.date() > until:
        report.stopped = f"reminders stopped on {until.isoformat()} (the cut-off date)"
        for code, rows in sorted(chase.items()):
            report.outcomes.append(no_message(code, rows[0]["practice_name"], "cut-off passed",
                                              report.stopped, [r["doc_id"] for r in rows]))  # fmt: skip
        return report
    history: dict[str, list[dict[str, str]]] = {}
    for message in records.messages_for(spec.id):
        if message["outcome"] in DELIVERED:
            history.setdefault(message["practice_code"], []).append(message)
    latest = {r["doc_id"]: r for r in records.returns_for(spec.id)}  # oldest first: the last one wins
    planned: list[Outgoing] = []
    for code, rows in sorted(chase.items()):
        name, ids = rows[0]["practice_name"], [r["doc_id"] for r in rows]
        earlier = history.get(code, [])
        reminded = sum(m["kind"] == "remind" for m in earlier)
        if reminded >= maximum:
            detail = f"reminded {reminded} time(s), the most allowed"
            report.outcomes.append(no_message(code, name, "maximum reached", detail, ids))
            continue
        if earlier:
            last = datetime.fromisoformat(earlier[-1]["at"])
            due = last + timedelta(days=every)
            if now < due:
                detail = (
                    f"last emailed {last.date().isoformat()}; next reminder from {due.date().isoformat()}"
                )
                report.outcomes.append(no_message(code, name, "too soon", detail, ids))
                continue
        recipients = who_to(contacts, code, name, ids)
        if isinstance(recipients, PracticeOutcome):
            report.outcomes.append(recipients)
            continue
        documents, chased = [], []
        for row in rows:
            document = records.issued_document(row["doc_id"])
            if document is not None:
                documents.append(document)
                reasons = latest[row["doc_id"]]["reasons"] if row["doc_id"] in latest else []
                chased.append((row["state"], reasons, row["last_return"]))
        context = email_context(spec, documents, recipients, sender)
        context = reminder_context(context, chased, reminded + 1, maximum, long_date(until) if until else "")
        rendered = template.render(context)
        planned.append(compose("remind", code, name, rendered, sender, recipients,
                               [(d.doc_id, d.revision) for d in documents], (),
                               spec.commissioner.return_email, now))  # fmt: skip
    report.outcomes += deliver_all(spec.id, planned, records, transport, options.per_minute, options.by, at,
                                   on_message)  # fmt: skip
    report.outcomes.sort(key=lambda o: o.practice_code)
    return report
