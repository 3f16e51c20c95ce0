"""repairs: indexes for the supervisors' dashboards (the open tickets' counts from one covering
partial index) and the monthly rating (tickets by submission time), at district scale

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 08:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OPEN = "state IN ('submitted','acknowledged','assigned','in_progress','reopened')"


def upgrade():
    with op.batch_alter_table("repair_ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_repair_ticket_open_live",
            ["town_id", "estate_id", "company_id", "respond_by", "responded_at"],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
        batch_op.create_index("ix_repair_ticket_submitted", ["submitted_at"], unique=False)


def downgrade():
    with op.batch_alter_table("repair_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_repair_ticket_submitted")
        batch_op.drop_index(
            "ix_repair_ticket_open_live", postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN)
        )
