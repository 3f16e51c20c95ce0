"""places: a district level above towns (city → district → town → estate), carrying the
district's name, hotline, booking-service name and footer identity; existing towns join the
district this installation was configured for (PORTAL_DISTRICT_* at upgrade time)

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 19:40:00

"""

import os

import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    district = op.create_table(
        "district",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name_zh", sa.String(length=32), nullable=False),
        sa.Column("name_en", sa.String(length=64), nullable=False),
        sa.Column("hotline", sa.String(length=32), nullable=False),
        sa.Column("booking_name_zh", sa.String(length=32), nullable=False),
        sa.Column("booking_name_en", sa.String(length=64), nullable=False),
        sa.Column("footer_zh", sa.String(length=200), nullable=False),
        sa.Column("footer_en", sa.String(length=240), nullable=False),
        sa.Column("archived_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district")),
        sa.UniqueConstraint("code", name=op.f("uq_district_code")),
    )
    with op.batch_alter_table("town", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district_id", sa.Integer(), nullable=True))
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM town")).scalar():
        # An installation with data served one district, named by its configuration.
        op.bulk_insert(
            district,
            [
                {
                    "id": 1,
                    "code": os.environ.get("PORTAL_DISTRICT_ADCODE", "310112"),
                    "name_zh": os.environ.get("PORTAL_DISTRICT_NAME", "闵行区"),
                    "name_en": os.environ.get("PORTAL_DISTRICT_NAME_EN", "Minhang District"),
                    "hotline": os.environ.get("PORTAL_HOTLINE", "12345"),
                    "booking_name_zh": "",
                    "booking_name_en": "",
                    "footer_zh": "",
                    "footer_en": "",
                    "created_at": app.db.utcnow(),
                }
            ],
        )
        op.execute("UPDATE town SET district_id = 1")
        if bind.dialect.name == "postgresql":
            op.execute("SELECT setval('district_id_seq', (SELECT max(id) FROM district))")
    with op.batch_alter_table("town", schema=None) as batch_op:
        batch_op.alter_column("district_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_town_district_id"), ["district_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_town_district_id_district"), "district", ["district_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("town", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_town_district_id_district"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_town_district_id"))
        batch_op.drop_column("district_id")
    op.drop_table("district")
