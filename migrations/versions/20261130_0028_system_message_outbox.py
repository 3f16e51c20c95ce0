"""notifications: system_message, the outbox of messages from the portal to other systems
(the city parking platform's status push), sent by the same dispatcher as deliveries

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30 20:00:00

"""

import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "system_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "sending",
                "sent",
                "stored",
                "delivered",
                "failed",
                name="deliverystatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=36), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_system_message_idempotency_key")),
    )
    with op.batch_alter_table("system_message", schema=None) as batch_op:
        batch_op.create_index("ix_system_message_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_system_message_subject", ["kind", "subject", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("system_message", schema=None) as batch_op:
        batch_op.drop_index("ix_system_message_subject")
        batch_op.drop_index("ix_system_message_due")
    op.drop_table("system_message")
