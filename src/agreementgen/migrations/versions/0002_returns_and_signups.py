"""Returns, sign-ups and year-end rows; the form tags of each issued document (schema version 2).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued") as batch:
        batch.add_column(sa.Column("form_json", sa.Text, nullable=False, server_default="[]"))
    op.create_table(
        "returns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("doc_id", sa.String(200), index=True),
        sa.Column("id_source", sa.String(32), nullable=False),
        sa.Column("scheme_id", sa.String(64), index=True),
        sa.Column("practice_code", sa.String(16), index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reasons_json", sa.Text, nullable=False),
        sa.Column("fields_json", sa.Text, nullable=False),
        sa.Column("signature_kind", sa.String(16), nullable=False),
        sa.Column("signer", sa.Text, nullable=False),
        sa.Column("signed_date", sa.String(10)),
        sa.Column("superseded_by", sa.Integer),
    )
    op.create_table(
        "signups",
        sa.Column("scheme_id", sa.String(64), primary_key=True),
        sa.Column("practice_code", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("doc_id", sa.String(200), nullable=False),
        sa.Column("return_id", sa.Integer, nullable=False),
        sa.Column("signed_date", sa.String(10)),
        sa.Column("signatory", sa.Text, nullable=False),
        sa.Column("signature_kind", sa.String(16), nullable=False),
        sa.Column("accepted_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "year_end",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scheme_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("practice_code", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("loaded_at", sa.String(32), nullable=False),
    )
