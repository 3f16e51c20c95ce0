"""sms: the outbox of text messages (delivered after the sending unit commits) and the
verification codes sent by SMS (a keyed digest, never the code; the rows count the rate limits)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 10:00:00

"""

import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

STATUS = sa.Enum(
    "queued", "sending", "sent", "failed", "stored", name="smsstatus", native_enum=False, length=16
)
PURPOSE = sa.Enum(
    "register",
    "signin",
    "reset",
    "change_phone",
    "second_factor",
    name="codepurpose",
    native_enum=False,
    length=24,
)


def upgrade():
    op.create_table(
        "sms_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("provider", sa.String(length=24), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_message")),
    )
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.create_index("ix_sms_message_phone_created", ["phone", "created_at"])
        batch_op.create_index("ix_sms_message_status_created", ["status", "created_at"])
        batch_op.create_index(batch_op.f("ix_sms_message_created_at"), ["created_at"])

    op.create_table(
        "sms_verification_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("purpose", PURPOSE, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("tries >= 0", name=op.f("ck_sms_verification_code_tries_nonnegative")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["sms_message.id"],
            name=op.f("fk_sms_verification_code_message_id_sms_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_verification_code")),
    )
    with op.batch_alter_table("sms_verification_code", schema=None) as batch_op:
        batch_op.create_index("ix_sms_verification_code_phone_created", ["phone", "created_at"])
        batch_op.create_index("ix_sms_verification_code_address_created", ["address", "created_at"])
        batch_op.create_index(batch_op.f("ix_sms_verification_code_created_at"), ["created_at"])


def downgrade():
    op.drop_table("sms_verification_code")
    op.drop_table("sms_message")
