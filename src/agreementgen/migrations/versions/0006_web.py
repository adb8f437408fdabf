"""The web app: people, sessions, what they did; claims approved at two levels; year-end runs
(schema version 6).

* ``users``: who may use the web app, their role (viewer / officer / approver) and argon2 hash.
* ``web_sessions``: a signed-in browser — the sha256 of its cookie's token, the user, its CSRF
  token, when it began and was last used, and when it ended (signed out or timed out).
* ``login_failures``: failed sign-ins by name and address, for rate-limiting.
* ``actions``: every action taken in the web app, with the user's name (the audit trail).
* ``claim_approvals``: a quarterly claim verified by an officer (level 1) and approved by an
  approver (level 2), or refused at either, with the reason; append-only.
* ``year_end_runs``: each ``statements`` run — its folder, the files per practice, finance's
  schedule — so the year end can be downloaded later.
* ``scheme_rules.title`` / ``.model`` / ``.default_kind``: what the schemes page shows;
  ``.packs_dir``: the folder ``generate`` last wrote the scheme's packs to (the register's file
  paths are relative to it), from which the web app serves them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),  # viewer / officer / approver
        sa.Column("password_hash", sa.Text, nullable=False),  # argon2
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the cookie's token
        sa.Column("user", sa.String(64), nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("last_seen_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32)),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, index=True),
        sa.Column("address", sa.String(64), nullable=False, index=True),
        sa.Column("at", sa.String(32), nullable=False),
    )
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "claim_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("return_id", sa.Integer, nullable=False, index=True),
        sa.Column("level", sa.Integer, nullable=False),  # 1: an officer verified; 2: an approver approved
        sa.Column("decision", sa.String(8), nullable=False),  # yes / refuse
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
    )
    op.create_table(
        "year_end_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scheme_id", sa.String(64), nullable=False, index=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("by", sa.Text, nullable=False, server_default=""),
        sa.Column("out_dir", sa.Text, nullable=False),
        sa.Column("files_json", sa.Text, nullable=False),  # {practice code: {format: path}}
        sa.Column("schedule_json", sa.Text, nullable=False),  # {"header": [...], "rows": [[...], ...]}
        sa.Column("net", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("scheme_rules") as batch:
        batch.add_column(sa.Column("title", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("model", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("default_kind", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("packs_dir", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("scheme_rules") as batch:
        batch.drop_column("packs_dir")
        batch.drop_column("default_kind")
        batch.drop_column("model")
        batch.drop_column("title")
    for name in ("year_end_runs", "claim_approvals", "actions", "login_failures", "web_sessions", "users"):
        op.drop_table(name)
