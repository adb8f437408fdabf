"""The issued register: each issued document, its files and every issue of it (schema version 1).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "issued",
        sa.Column("doc_id", sa.String(200), primary_key=True),
        sa.Column("scheme_id", sa.String(64), nullable=False, index=True),
        sa.Column("scheme_version", sa.String(32), nullable=False),
        sa.Column("practice_code", sa.String(16), nullable=False, index=True),
        sa.Column("practice_name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("terms_json", sa.Text, nullable=False),
        sa.Column("terms_digest", sa.String(80), nullable=False),
        sa.Column("practice_json", sa.Text, nullable=False),
        sa.Column("first_issued_at", sa.String(32), nullable=False),
        sa.Column("last_issued_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "issued_files",
        sa.Column("doc_id", sa.String(200), primary_key=True),
        sa.Column("format", sa.String(8), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("template_sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "issue_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("doc_id", sa.String(200), nullable=False, index=True),
        sa.Column("terms_digest", sa.String(80), nullable=False),
        sa.Column("terms_json", sa.Text, nullable=False),
        sa.Column("issued_at", sa.String(32), nullable=False),
    )
