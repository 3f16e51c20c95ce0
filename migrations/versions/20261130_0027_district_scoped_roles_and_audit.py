"""roles scoped to a district: a district supervisor is held for a district (the unscoped ones
of a one-district installation are scoped to its district; administrators stay unscoped, for
the whole installation); audit entries carry the district of their object (existing entries of
a one-district installation are that district's)

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30 19:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_entry_district_id"), ["district_id"])
    bind = op.get_bind()
    districts = bind.execute(sa.text("SELECT id FROM district")).scalars().all()
    if len(districts) == 1:
        # Before districts there was one: everything on record was that district's.
        only = {"district": districts[0]}
        bind.execute(
            sa.text(
                "UPDATE role_assignment SET scope_kind = 'district', scope_id = :district "
                "WHERE role = 'district_supervisor' AND scope_kind IS NULL"
            ),
            only,
        )
        bind.execute(sa.text("UPDATE audit_entry SET district_id = :district"), only)


def downgrade():
    op.execute(
        "UPDATE role_assignment SET scope_kind = NULL, scope_id = NULL "
        "WHERE role = 'district_supervisor' AND scope_kind = 'district'"
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_district_id"))
        batch_op.drop_column("district_id")
