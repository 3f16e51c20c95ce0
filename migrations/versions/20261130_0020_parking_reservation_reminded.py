"""parking: a reservation remembers when its reminder was sent (reminded_at), so the sweep
sends each one reminder, claimed by a guarded update, as venue bookings do

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 13:25:00

"""

import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("parking_reservation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", app.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("parking_reservation", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
