"""places admin: which company manages an estate becomes a history (valid_from, valid_to; at
most one open row per estate); towns, estates, property companies and car parks can be
archived (archived_at) instead of deleted

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 19:45:00

"""

from datetime import date

import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# As repairs.models.MANAGED_SINCE_EVER (a migration does not import the models it describes).
SINCE_EVER = date(2000, 1, 1)
ARCHIVABLE = ("town", "estate", "property_company", "car_park")


def _management_table(history: bool) -> list:
    columns = [
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
    ]
    if history:
        columns = [
            sa.Column("id", sa.Integer(), nullable=False),
            *columns,
            sa.Column("valid_from", sa.Date(), nullable=False),
            sa.Column("valid_to", sa.Date(), nullable=True),
            sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
            sa.Column("created_by_id", sa.Integer(), nullable=True),
            sa.CheckConstraint(
                "valid_to IS NULL OR valid_to > valid_from",
                name=op.f("ck_estate_management_period_order"),
            ),
            sa.ForeignKeyConstraint(
                ["created_by_id"],
                ["user_account.id"],
                name=op.f("fk_estate_management_created_by_id_user_account"),
                ondelete="SET NULL",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_estate_management")),
        ]
    else:
        columns.append(sa.PrimaryKeyConstraint("estate_id", name=op.f("pk_estate_management")))
    columns += [
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["property_company.id"],
            name=op.f("fk_estate_management_company_id_property_company"),
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"],
            ["estate.id"],
            name=op.f("fk_estate_management_estate_id_estate"),
            ondelete="CASCADE",
        ),
    ]
    return columns


def upgrade():
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT estate_id, company_id FROM estate_management")).all()
    op.drop_index(op.f("ix_estate_management_company_id"), table_name="estate_management")
    op.drop_table("estate_management")
    table = op.create_table("estate_management", *_management_table(history=True))
    op.create_index(
        op.f("ix_estate_management_company_id"), "estate_management", ["company_id"], unique=False
    )
    op.create_index(
        op.f("ix_estate_management_estate_id"), "estate_management", ["estate_id"], unique=False
    )
    op.create_index(
        "uq_estate_management_open",
        "estate_management",
        ["estate_id"],
        unique=True,
        sqlite_where=sa.text("valid_to IS NULL"),
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    # The companies on record managed their estates "since before the portal kept a history".
    now = app.db.utcnow()
    if rows:
        op.bulk_insert(
            table,
            [
                {
                    "estate_id": estate_id,
                    "company_id": company_id,
                    "valid_from": SINCE_EVER,
                    "valid_to": None,
                    "created_at": now,
                    "created_by_id": None,
                }
                for estate_id, company_id in rows
            ],
        )
    for name in ARCHIVABLE:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("archived_at", app.db.UTCDateTime(timezone=True), nullable=True)
            )


def downgrade():
    for name in ARCHIVABLE:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("archived_at")
    bind = op.get_bind()
    # The old table knew only the present: keep each estate's open row.
    rows = bind.execute(
        sa.text("SELECT estate_id, company_id FROM estate_management WHERE valid_to IS NULL")
    ).all()
    op.drop_index("uq_estate_management_open", table_name="estate_management")
    op.drop_index(op.f("ix_estate_management_estate_id"), table_name="estate_management")
    op.drop_index(op.f("ix_estate_management_company_id"), table_name="estate_management")
    op.drop_table("estate_management")
    table = op.create_table("estate_management", *_management_table(history=False))
    op.create_index(
        op.f("ix_estate_management_company_id"), "estate_management", ["company_id"], unique=False
    )
    if rows:
        op.bulk_insert(table, [{"estate_id": e, "company_id": c} for e, c in rows])
