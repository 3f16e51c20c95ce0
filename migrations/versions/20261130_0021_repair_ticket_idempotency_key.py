"""repairs: a report carries the idempotency key of the form that sent it, unique per reporter,
so the same form sent twice (Back and submit, a double tap) is one report

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 16:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("repair_ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_repair_ticket_reporter_id_idempotency_key"),
            ["reporter_id", "idempotency_key"],
        )


def downgrade():
    with op.batch_alter_table("repair_ticket", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_repair_ticket_reporter_id_idempotency_key"), type_="unique"
        )
        batch_op.drop_column("idempotency_key")
