"""vehicle plate claims and licence verification

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 03:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.db


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


STATUS = sa.Enum('claimed', 'pending', 'verified', 'refused', 'dropped', name='vehiclestatus',
                 native_enum=False, length=16)
VERIFIED_ONLY = sa.text("status = 'verified'")


def upgrade():
    # A plate was unique across accounts and registered on the spot. Now each row is a claim:
    # the plates registered so far become unverified claims (nobody ever saw their licence), and
    # their 无感支付 binding is cleared; it can be turned on again once the plate is verified.
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', STATUS, nullable=False, server_default='claimed'))
        batch_op.add_column(sa.Column('licence_filename', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('decided_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.String(length=200), nullable=False, server_default=''))
        batch_op.alter_column('created_at', new_column_name='claimed_at', existing_nullable=False)
        batch_op.drop_constraint('uq_vehicle_plate', type_='unique')
        batch_op.create_foreign_key(batch_op.f('fk_vehicle_decided_by_id_user_account'), 'user_account',
                                    ['decided_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_unique_constraint('uq_vehicle_owner_plate', ['owner_id', 'plate'])
    op.execute("UPDATE vehicle SET autopay_method_id = NULL")
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.alter_column('status', server_default=None, existing_type=STATUS, existing_nullable=False)
        batch_op.alter_column('decision_note', server_default=None, existing_type=sa.String(length=200),
                              existing_nullable=False)
        batch_op.create_index('ix_vehicle_plate_status', ['plate', 'status'], unique=False)
        batch_op.create_index('ix_vehicle_status', ['status'], unique=False)
        batch_op.create_index('uq_vehicle_verified_plate', ['plate'], unique=True,
                              sqlite_where=VERIFIED_ONLY, postgresql_where=VERIFIED_ONLY)


def downgrade():
    # One account per plate again: the verified holder keeps it, else the oldest claim.
    op.execute("DELETE FROM vehicle WHERE status <> 'verified' AND plate IN "
               "(SELECT plate FROM vehicle WHERE status = 'verified')")
    op.execute("DELETE FROM vehicle WHERE id NOT IN (SELECT MIN(id) FROM vehicle GROUP BY plate)")
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.drop_index('uq_vehicle_verified_plate', sqlite_where=VERIFIED_ONLY,
                            postgresql_where=VERIFIED_ONLY)
        batch_op.drop_index('ix_vehicle_status')
        batch_op.drop_index('ix_vehicle_plate_status')
        batch_op.drop_constraint('uq_vehicle_owner_plate', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_vehicle_decided_by_id_user_account'), type_='foreignkey')
        batch_op.create_unique_constraint('uq_vehicle_plate', ['plate'])
        batch_op.alter_column('claimed_at', new_column_name='created_at', existing_nullable=False)
        batch_op.drop_column('decision_note')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('licence_filename')
        batch_op.drop_column('status')
