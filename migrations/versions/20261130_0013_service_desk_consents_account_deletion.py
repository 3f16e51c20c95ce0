"""service desk: consents limited in time with a recorded slip, printed sign-in cards, closed
accounts (注销)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 10:00:00

"""

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

RELATION = sa.Enum("helper", "family", name="consentrelation", native_enum=False, length=16)


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deleted_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("helper_consent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("relation", RELATION, nullable=False, server_default="helper")
        )
        batch_op.add_column(sa.Column("recorded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("slip_filename", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_helper_consent_recorded_by_id_user_account"),
            "user_account",
            ["recorded_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Consents given before this revision had no end: they run for a year from today, the
    # longest a consent may now run, and the resident can revoke them at any time as before.
    today = date.today()
    op.execute(
        sa.text("UPDATE helper_consent SET starts_on = :start, ends_on = :end").bindparams(
            sa.bindparam("start", today, type_=sa.Date()),
            sa.bindparam("end", today + timedelta(days=365), type_=sa.Date()),
        )
    )
    with op.batch_alter_table("helper_consent", schema=None) as batch_op:
        batch_op.alter_column("starts_on", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("ends_on", existing_type=sa.Date(), nullable=False)
        batch_op.create_check_constraint(
            batch_op.f("ck_helper_consent_ends_after_start"), sa.text("ends_on >= starts_on")
        )

    op.create_table(
        "signin_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["user_account.id"],
            name=op.f("fk_signin_card_issued_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_signin_card_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_card")),
        sa.UniqueConstraint("digest", name=op.f("uq_signin_card_digest")),
    )
    with op.batch_alter_table("signin_card", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signin_card_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("signin_card", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_card_user_id"))
    op.drop_table("signin_card")
    with op.batch_alter_table("helper_consent", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_helper_consent_ends_after_start"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_helper_consent_recorded_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("slip_filename")
        batch_op.drop_column("recorded_by_id")
        batch_op.drop_column("relation")
        batch_op.drop_column("ends_on")
        batch_op.drop_column("starts_on")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
