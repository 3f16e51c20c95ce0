"""booking state guards, sharing contract payment, helper consent per service

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 03:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.db


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _charge_status(length):
    values = ('due', 'paid', 'failed', 'cancelled') if length > 8 else ('due', 'paid', 'failed')
    return sa.Enum(*values, name='chargestatus', native_enum=False, length=length)


def upgrade():
    # A charge can be cancelled (its contract was cancelled or lapsed unpaid): 'cancelled' needs
    # more than 8 characters.
    with op.batch_alter_table('parking_charge', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=_charge_status(8), type_=_charge_status(16),
                              existing_nullable=False)
    with op.batch_alter_table('sharing_contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pay_by', app.db.UTCDateTime(timezone=True), nullable=True))

    # Consent names the services. What residents agreed to so far was worded "can book and
    # cancel for you", on the venue booking service's "My bookings" page: venue bookings. So
    # existing consents keep venue bookings only; parking and repairs need a new consent.
    with op.batch_alter_table('helper_consent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('venues', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('parking', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('repairs', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text("UPDATE helper_consent SET venues = :yes").bindparams(yes=True))
    with op.batch_alter_table('helper_consent', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_helper_consent_names_a_service'),
                                         sa.text('venues OR parking OR repairs'))

    _unpaid_contracts_wait_for_payment()


def _unpaid_contracts_wait_for_payment():
    """Contracts signed before this revision whose charge is still unpaid were honoured at the
    gate regardless. Now a contract is honoured only once paid, so they wait for payment like a
    new one, with three days (not the 30 minutes of a new signature) before the sweep lapses them."""
    from datetime import datetime, timedelta, timezone
    bind = op.get_bind()
    pay_by = datetime.now(timezone.utc) + timedelta(hours=72)
    rows = bind.execute(sa.text(
        "SELECT c.id, c.booking_id FROM sharing_contract c"
        " JOIN parking_charge ch ON ch.contract_id = c.id"
        " JOIN booking b ON b.id = c.booking_id"
        " WHERE ch.status IN ('due', 'failed') AND b.status = 'confirmed'")).all()
    for contract_id, booking_id in rows:
        bind.execute(sa.text("UPDATE booking SET status = 'pending' WHERE id = :id"), {"id": booking_id})
        bind.execute(sa.text("UPDATE sharing_contract SET pay_by = :pay_by WHERE id = :id").bindparams(
            sa.bindparam("pay_by", type_=app.db.UTCDateTime(timezone=True))), {"id": contract_id, "pay_by": pay_by})


def downgrade():
    bind = op.get_bind()
    # Back to one status set: contracts waiting for payment held their space as confirmed ones.
    bind.execute(sa.text(
        "UPDATE booking SET status = 'confirmed' WHERE status = 'pending'"
        " AND id IN (SELECT booking_id FROM sharing_contract)"))
    # A cancelled charge is owed by nobody; the old schema could only call it due or failed.
    bind.execute(sa.text("DELETE FROM parking_charge WHERE status = 'cancelled'"))
    with op.batch_alter_table('helper_consent', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_helper_consent_names_a_service'), type_='check')
        batch_op.drop_column('repairs')
        batch_op.drop_column('parking')
        batch_op.drop_column('venues')
    with op.batch_alter_table('sharing_contract', schema=None) as batch_op:
        batch_op.drop_column('pay_by')
    with op.batch_alter_table('parking_charge', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=_charge_status(16), type_=_charge_status(8),
                              existing_nullable=False)
