"""households and home claims (verified homes): a home is a claim until the estate's manager or
register confirms it; tickets remember their household. Homes typed into profiles before this
become pending claims (nobody ever verified them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 03:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.db


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('household',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('building', sa.String(length=32), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('room', sa.String(length=32), nullable=False),
    sa.Column('registered', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_household_estate_id_estate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('estate_id', 'building', 'unit', 'room', name='uq_household_address')
    )
    op.create_table('household_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_household_contact_household_id_household'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_contact')),
    sa.UniqueConstraint('household_id', 'phone', name='uq_household_contact')
    )
    op.create_table('home_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'verified', 'refused', 'ended', name='claimstatus', native_enum=False, length=16), nullable=False),
    sa.Column('claimed_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.String(length=200), nullable=False),
    sa.Column('ended_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_home_claim_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['estate_id'], ['estate.id'], name=op.f('fk_home_claim_estate_id_estate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_home_claim_household_id_household'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_home_claim_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_home_claim'))
    )
    with op.batch_alter_table('home_claim', schema=None) as batch_op:
        batch_op.create_index('ix_home_claim_estate_status', ['estate_id', 'status'], unique=False)
        batch_op.create_index('ix_home_claim_household_status', ['household_id', 'status'], unique=False)
        batch_op.create_index('uq_home_claim_current_per_user', ['user_id'], unique=True,
                              sqlite_where=sa.text("status IN ('pending', 'verified')"),
                              postgresql_where=sa.text("status IN ('pending', 'verified')"))

    with op.batch_alter_table('repair_ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('household_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('home_claim_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_repair_ticket_household_id'), ['household_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_repair_ticket_household_id_household'), 'household', ['household_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_repair_ticket_home_claim_id_home_claim'), 'home_claim', ['home_claim_id'], ['id'], ondelete='SET NULL')

    _homes_become_claims()

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint('fk_user_account_home_estate_id_estate', type_='foreignkey')
        batch_op.drop_column('home_room')
        batch_op.drop_column('home_unit')
        batch_op.drop_column('home_building')
        batch_op.drop_column('home_estate_id')


def _part(value, suffixes):
    import unicodedata
    text = unicodedata.normalize("NFKC", value or "").strip().upper().replace(" ", "")
    for suffix in suffixes:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def _homes_become_claims():
    """Every home typed into a profile becomes a pending claim on its household, and home
    reports that match their reporter's home are tied to it. None is verified: nobody checked."""
    from datetime import datetime, timezone
    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    users = bind.execute(sa.text(
        "SELECT id, home_estate_id, home_building, home_unit, home_room FROM user_account "
        "WHERE home_estate_id IS NOT NULL")).fetchall()
    for user_id, estate_id, building, unit, room in users:
        building = _part(building, ("号楼", "幢", "栋", "号", "楼"))
        unit = _part(unit, ("单元",))
        room = _part(room, ("室", "号"))
        if not building or not room:
            continue
        found = bind.execute(sa.text(
            "SELECT id FROM household WHERE estate_id = :e AND building = :b AND unit = :u AND room = :r"),
            dict(e=estate_id, b=building, u=unit, r=room)).scalar()
        if found is None:
            bind.execute(sa.text(
                "INSERT INTO household (estate_id, building, unit, room, registered, created_at) "
                "VALUES (:e, :b, :u, :r, false, :now)"), dict(e=estate_id, b=building, u=unit, r=room, now=now))
            found = bind.execute(sa.text(
                "SELECT id FROM household WHERE estate_id = :e AND building = :b AND unit = :u AND room = :r"),
                dict(e=estate_id, b=building, u=unit, r=room)).scalar()
        bind.execute(sa.text(
            "INSERT INTO home_claim (user_id, household_id, estate_id, status, claimed_at, decision_note) "
            "VALUES (:user, :h, :e, 'pending', :now, '')"), dict(user=user_id, h=found, e=estate_id, now=now))
        claim = bind.execute(sa.text("SELECT id FROM home_claim WHERE user_id = :user AND household_id = :h"),
                             dict(user=user_id, h=found)).scalar()
        label = " ".join(p for p in (f"{building}号楼", f"{unit}单元" if unit else "", f"{room}室") if p)
        bind.execute(sa.text(
            "UPDATE repair_ticket SET household_id = :h, home_claim_id = :c WHERE reporter_id = :user "
            "AND estate_id = :e AND public_area = false AND location = :label"),
            dict(h=found, c=claim, user=user_id, e=estate_id, label=label))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_estate_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('home_building', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('home_unit', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('home_room', sa.String(length=32), nullable=True))
        batch_op.create_foreign_key('fk_user_account_home_estate_id_estate', 'estate', ['home_estate_id'], ['id'])
    op.execute(
        "UPDATE user_account SET "
        "home_estate_id = (SELECT h.estate_id FROM home_claim c JOIN household h ON h.id = c.household_id "
        "  WHERE c.user_id = user_account.id AND c.status IN ('pending', 'verified')), "
        "home_building = (SELECT h.building FROM home_claim c JOIN household h ON h.id = c.household_id "
        "  WHERE c.user_id = user_account.id AND c.status IN ('pending', 'verified')), "
        "home_unit = (SELECT NULLIF(h.unit, '') FROM home_claim c JOIN household h ON h.id = c.household_id "
        "  WHERE c.user_id = user_account.id AND c.status IN ('pending', 'verified')), "
        "home_room = (SELECT h.room FROM home_claim c JOIN household h ON h.id = c.household_id "
        "  WHERE c.user_id = user_account.id AND c.status IN ('pending', 'verified'))")
    with op.batch_alter_table('repair_ticket', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_repair_ticket_home_claim_id_home_claim'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_repair_ticket_household_id_household'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_repair_ticket_household_id'))
        batch_op.drop_column('home_claim_id')
        batch_op.drop_column('household_id')
    with op.batch_alter_table('home_claim', schema=None) as batch_op:
        batch_op.drop_index('uq_home_claim_current_per_user')
        batch_op.drop_index('ix_home_claim_household_status')
        batch_op.drop_index('ix_home_claim_estate_status')
    op.drop_table('home_claim')
    op.drop_table('household_contact')
    op.drop_table('household')
