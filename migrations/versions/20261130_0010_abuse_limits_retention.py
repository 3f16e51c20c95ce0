"""abuse limits and data retention

Partial indexes on the rows that still hold a plate, for the retention sweep
(parking/retention.py): it replaces plates older than PARKING_RETENTION_DAYS with an anonymous
marker ('#' and the row id in base 36), and with these it finds the rows left to do without
reading the ones already done. The rate limits and the pixel budget need no schema.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.db


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


IDENTIFYING = sa.text("substr(plate, 1, 1) <> '#'")


def upgrade():
    with op.batch_alter_table('gate_event', schema=None) as batch_op:
        batch_op.create_index('ix_gate_event_identifying_time', ['occurred_at'], unique=False,
                              postgresql_where=IDENTIFYING, sqlite_where=IDENTIFYING)
    with op.batch_alter_table('parking_session', schema=None) as batch_op:
        batch_op.create_index('ix_parking_session_identifying_exit', ['exited_at'], unique=False,
                              postgresql_where=IDENTIFYING, sqlite_where=IDENTIFYING)


def downgrade():
    with op.batch_alter_table('parking_session', schema=None) as batch_op:
        batch_op.drop_index('ix_parking_session_identifying_exit', postgresql_where=IDENTIFYING,
                            sqlite_where=IDENTIFYING)
    with op.batch_alter_table('gate_event', schema=None) as batch_op:
        batch_op.drop_index('ix_gate_event_identifying_time', postgresql_where=IDENTIFYING,
                            sqlite_where=IDENTIFYING)
