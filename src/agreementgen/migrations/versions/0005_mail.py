"""Mail: messages sent and reminders (events), mail taken in, the IMAP messages seen (schema version 5).

* ``messages``: every message ``send`` or ``remind`` made — its Message-ID, practice, recipients,
  the documents (ids and revisions) attached or chased, subject, when, and the outcome (written to
  the outbox, sent, a temporary failure to retry, refused with the server's reply).
* ``mail_in``: every mail message ``ingest`` or ``fetch`` took in (Message-ID unique, so a message
  taken in twice changes nothing): sender, received time, where it came from, what became of it.
* ``imap_seen``: per mailbox and UIDVALIDITY, the UIDs ``fetch`` has taken in.
* ``returns.message_id`` / ``returns.sender``: the message a return came in, and from whom.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(255), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),  # send / remind
        sa.Column("scheme_id", sa.String(64), nullable=False, index=True),
        sa.Column("practice_code", sa.String(16), nullable=False, index=True),
        sa.Column("recipients_json", sa.Text, nullable=False),
        sa.Column("documents_json", sa.Text, nullable=False),  # [{"doc_id": …, "revision": …}]
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),  # outbox / sent / temporary / refused / dry-run
        sa.Column("reply", sa.Text, nullable=False, server_default=""),  # the server's words, if any
        sa.Column("path", sa.Text, nullable=False, server_default=""),  # the .eml written, for the outbox
        sa.Column("by", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "mail_in",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("source", sa.Text, nullable=False),  # the file or mailbox it came from
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("attachments", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outcome", sa.Text, nullable=False, server_default=""),
        sa.Column("taken_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "imap_seen",
        sa.Column("mailbox", sa.String(255), primary_key=True),
        sa.Column("uidvalidity", sa.String(32), primary_key=True),
        sa.Column("uid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seen_at", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("returns") as batch:
        batch.add_column(sa.Column("message_id", sa.String(255)))
        batch.add_column(sa.Column("sender", sa.Text, nullable=False, server_default=""))
