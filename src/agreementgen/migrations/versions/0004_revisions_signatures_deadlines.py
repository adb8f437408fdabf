"""Revisions of issued documents with their wording; signatures judged; late returns (schema version 4).

* ``revisions``: every issue of a document, append-only — its terms, the wording the practice must
  sign word for word, its files, the reason it was reissued and when it was superseded. The old
  ``issue_events`` rows become revisions 1, 2, … of their documents (the last one current, with
  the document's files) and the table goes: it said the same thing with less.
* ``issued.revision``: the current revision of each document.
* ``scheme_rules``: what each issued scheme's spec says about returns (its sign-up deadline, what a
  late return or an untrusted or mismatched signature gets), written when it is issued, so
  ``ingest`` judges by the spec without being given it.
* ``returns.revision``: the revision a return was judged against; ``returns.signature_json``: what
  the digital signature's check found (signer, issuer, time, integrity, coverage, trust, name
  match); ``returns.late``: signed or received after the sign-up deadline.

Revision ID: 0004
Revises: 0003
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    revisions = op.create_table(
        "revisions",
        sa.Column("doc_id", sa.String(200), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("terms_json", sa.Text, nullable=False),
        sa.Column("terms_digest", sa.String(80), nullable=False),
        sa.Column("wording", sa.Text, nullable=False, server_default=""),
        sa.Column("files_json", sa.Text, nullable=False, server_default="[]"),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("superseded_at", sa.String(32)),
    )
    op.create_table(
        "scheme_rules",
        sa.Column("scheme_id", sa.String(64), primary_key=True),
        sa.Column("scheme_version", sa.String(32), nullable=False),
        sa.Column("sign_up_deadline", sa.String(10)),
        sa.Column("rules_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("issued") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="1"))
    with op.batch_alter_table("returns") as batch:
        batch.add_column(sa.Column("revision", sa.Integer))
        batch.add_column(sa.Column("signature_json", sa.Text, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()))

    conn = op.get_bind()
    events = sa.table(
        "issue_events",
        sa.column("id", sa.Integer),
        sa.column("doc_id", sa.String),
        sa.column("terms_digest", sa.String),
        sa.column("terms_json", sa.Text),
        sa.column("issued_at", sa.String),
    )
    issued = sa.table(
        "issued",
        sa.column("doc_id", sa.String),
        sa.column("terms_json", sa.Text),
        sa.column("terms_digest", sa.String),
        sa.column("first_issued_at", sa.String),
        sa.column("revision", sa.Integer),
    )
    files = sa.table(
        "issued_files",
        sa.column("doc_id", sa.String),
        sa.column("format", sa.String),
        sa.column("path", sa.Text),
        sa.column("sha256", sa.String),
        sa.column("template_sha256", sa.String),
    )
    by_doc: dict[str, list[dict[str, str]]] = {}
    for row in conn.execute(sa.select(events).order_by(events.c.id)).mappings():
        by_doc.setdefault(row["doc_id"], []).append(dict(row))
    files_of: dict[str, list[dict[str, str]]] = {}
    for row in conn.execute(sa.select(files).order_by(files.c.doc_id, files.c.format)).mappings():
        files_of.setdefault(row["doc_id"], []).append(
            {k: row[k] for k in ("format", "path", "sha256", "template_sha256")}
        )
    rows = []
    for doc in conn.execute(sa.select(issued)).mappings():
        history = by_doc.get(doc["doc_id"]) or [
            {
                "terms_json": doc["terms_json"],
                "terms_digest": doc["terms_digest"],
                "issued_at": doc["first_issued_at"],
            }
        ]
        for number, event in enumerate(history, start=1):
            last = number == len(history)
            rows.append(
                {
                    "doc_id": doc["doc_id"],
                    "revision": number,
                    "terms_json": event["terms_json"],
                    "terms_digest": event["terms_digest"],
                    "wording": "",  # not kept before schema 4: returns against it are not compared
                    "files_json": json.dumps(files_of.get(doc["doc_id"], []) if last else []),
                    "reason": "" if number == 1 else "issued again with different terms (before revisions)",
                    "issued_at": event["issued_at"],
                    "superseded_at": None if last else history[number]["issued_at"],
                }
            )
        conn.execute(sa.update(issued).where(issued.c.doc_id == doc["doc_id"]).values(revision=len(history)))
    if rows:
        conn.execute(sa.insert(revisions), rows)
    op.drop_table("issue_events")
