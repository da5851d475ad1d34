"""Initial case store: inquiries with their raw text, and one case per inquiry.

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
        "inquiries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("external_id", sa.String(512), nullable=False, unique=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(500)),
        sa.Column("subject", sa.Text()),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(10)),
        sa.Column("raw_ref", sa.Text()),
        sa.Column("raw_sender", sa.String(500)),
        sa.Column("raw_subject", sa.Text()),
        sa.Column("raw_body", sa.Text(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("inquiry_id", sa.String(64), sa.ForeignKey("inquiries.id"), nullable=False, unique=True),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("topic", sa.String(40)),
        sa.Column("urgency", sa.String(10)),
        sa.Column("topic_confidence", sa.Float()),
        sa.Column("urgency_confidence", sa.Float()),
        sa.Column("prediction", sa.JSON()),
        sa.Column("model_version", sa.String(200)),
        sa.Column("queue", sa.String(100), index=True),
        sa.Column("priority", sa.Integer()),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("needs_review", sa.Boolean()),
        sa.Column("routing", sa.JSON()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cases")
    op.drop_table("inquiries")
