"""Ingestion: threads (Message-ID, the case an inquiry belongs to), recorded details, and the quarantine.

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
    with op.batch_alter_table("inquiries") as batch:
        batch.add_column(sa.Column("message_id", sa.String(512)))
        batch.add_column(sa.Column("case_id", sa.String(64)))
        batch.add_column(sa.Column("details", sa.JSON()))
        batch.create_index("ix_inquiries_message_id", ["message_id"])
        batch.create_index("ix_inquiries_case_id", ["case_id"])
    # Before threads every inquiry had its own case.
    op.execute("UPDATE inquiries SET case_id = id WHERE case_id IS NULL")
    # E-mails were keyed '<source>:<Message-ID>'; now 'mail:<Message-ID>' whatever the source, so a mail stored
    # before this revision is still recognised when it comes again (unless another source already holds it).
    op.execute(
        "UPDATE inquiries SET external_id = 'mail:' || substr(external_id, length(source) + 2), "
        "message_id = substr(external_id, length(source) + 2) "
        "WHERE channel = 'email' AND substr(external_id, length(source) + 2, 1) = '<' "
        "AND NOT EXISTS (SELECT 1 FROM inquiries AS other "
        "WHERE other.external_id = 'mail:' || substr(inquiries.external_id, length(inquiries.source) + 2))"
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("item", sa.String(200), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(512)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("source", "ref", name="uq_quarantine_source_ref"),
    )
    op.create_index("ix_quarantine_resolved_at", "quarantine", ["resolved_at"])


def downgrade() -> None:
    # E-mail keys stay 'mail:<Message-ID>': a mail re-ingested under 0001's code would then be stored again.
    op.drop_index("ix_quarantine_resolved_at", table_name="quarantine")
    op.drop_table("quarantine")
    with op.batch_alter_table("inquiries") as batch:
        batch.drop_index("ix_inquiries_case_id")
        batch.drop_index("ix_inquiries_message_id")
        batch.drop_column("details")
        batch.drop_column("case_id")
        batch.drop_column("message_id")
