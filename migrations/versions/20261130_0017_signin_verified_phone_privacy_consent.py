"""sign-in: a mobile number proven by an SMS code (phone_verified_at), the privacy notice
consented to (version and time), and whether the account has a password of its own (residents
who register with a code need none)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 10:20:00

"""

import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phone_verified_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("privacy_notice_version", sa.String(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("privacy_consented_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
        # Every account made before this revision was made with a password.
        batch_op.add_column(
            sa.Column("password_set", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("password_set")
        batch_op.drop_column("privacy_consented_at")
        batch_op.drop_column("privacy_notice_version")
        batch_op.drop_column("phone_verified_at")
