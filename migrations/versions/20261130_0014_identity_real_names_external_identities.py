"""identity: real names (encrypted ID numbers, a keyed digest unique per number, the level and
who checked it), external identities linked to accounts (一网通办, unique per issuer and
subject), and the sign-in requests waiting for the provider's answer

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 10:00:00

"""

import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

LEVEL = sa.Enum(
    "self_declared",
    "verified_in_person",
    "verified_by_provider",
    name="realnamelevel",
    native_enum=False,
    length=24,
)


def upgrade():
    op.create_table(
        "real_name",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name_encrypted", sa.Text(), nullable=False),
        sa.Column("id_number_encrypted", sa.Text(), nullable=False),
        sa.Column("id_number_digest", sa.String(length=64), nullable=False),
        sa.Column("id_number_masked", sa.String(length=18), nullable=False),
        sa.Column("level", LEVEL, nullable=False),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=255), nullable=True),
        sa.Column("verified_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_real_name_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"],
            ["user_account.id"],
            name=op.f("fk_real_name_verified_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_real_name")),
        sa.UniqueConstraint("user_id", name="uq_real_name_user"),
        sa.UniqueConstraint("id_number_digest", name="uq_real_name_id_number"),
    )
    with op.batch_alter_table("real_name", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_real_name_verified_by_id"), ["verified_by_id"], unique=False
        )

    op.create_table(
        "external_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("linked_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_external_identity_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_identity")),
        sa.UniqueConstraint("issuer", "subject", name="uq_external_identity"),
    )
    with op.batch_alter_table("external_identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_external_identity_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sso_sign_in_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_digest", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.String(length=512), nullable=False),
        sa.Column("link_user_id", sa.Integer(), nullable=True),
        sa.Column("next_url", sa.String(length=512), nullable=True),
        sa.Column("claims", sa.Text(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_user_id"],
            ["user_account.id"],
            name=op.f("fk_sso_sign_in_request_link_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_sign_in_request")),
        sa.UniqueConstraint("state_digest", name=op.f("uq_sso_sign_in_request_state_digest")),
    )
    with op.batch_alter_table("sso_sign_in_request", schema=None) as batch_op:
        batch_op.create_index("ix_sso_sign_in_request_expires", ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("sso_sign_in_request", schema=None) as batch_op:
        batch_op.drop_index("ix_sso_sign_in_request_expires")
    op.drop_table("sso_sign_in_request")
    with op.batch_alter_table("external_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_identity_user_id"))
    op.drop_table("external_identity")
    with op.batch_alter_table("real_name", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_real_name_verified_by_id"))
    op.drop_table("real_name")
