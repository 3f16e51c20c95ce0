'''server-side sessions (user_session) and API tokens that expire and have a scope (personal,
gate, open311); gate tokens made before this revision become gate tokens of their car park

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 10:10:00

'''

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SCOPE = sa.Enum("personal", "gate", "open311", name="tokenscope", native_enum=False, length=16)


def upgrade():
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", SCOPE, nullable=False, server_default="personal"))
        batch_op.add_column(sa.Column("scope_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("expires_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_api_token_scope_id"), ["scope_id"], unique=False)
    # Tokens made before this revision never expired: they run for a year from today (the
    # default lifetime of a new one), and their owners can revoke them as any other.
    op.execute(
        sa.text("UPDATE api_token SET expires_at = :at").bindparams(
            sa.bindparam(
                "at", datetime.now(UTC) + timedelta(days=365), type_=app.db.UTCDateTime()
            )
        )
    )
    # The car-park page made gate tokens as personal tokens named "gate <car park id>": they
    # become what they were meant to be, gate tokens for that car park only.
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, name FROM api_token WHERE name LIKE 'gate %'"))
    for token_id, name in rows.fetchall():
        park = name[len("gate ") :]
        if park.isdecimal():
            connection.execute(
                sa.text("UPDATE api_token SET scope = 'gate', scope_id = :park WHERE id = :id"),
                {"park": int(park), "id": token_id},
            )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=app.db.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_api_token_gate_names_car_park"),
            sa.text("(scope = 'gate') = (scope_id IS NOT NULL)"),
        )

    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=128), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("ended_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_user_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("digest", name=op.f("uq_user_session_digest")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index("ix_user_session_live", ["user_id", "ended_at"], unique=False)


def downgrade():
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index("ix_user_session_live")
    op.drop_table("user_session")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_api_token_gate_names_car_park"), type_="check")
        batch_op.drop_index(batch_op.f("ix_api_token_scope_id"))
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scope_id")
        batch_op.drop_column("scope")
