"""imports: an uploaded file kept between its dry run and its apply (import_job), with each
row's answer and the counts; expired by the sweep (issue 15)

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 19:45:00

"""

import sqlalchemy as sa
from alembic import op

import app.db

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("applied_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user_account.id"],
            name=op.f("fk_import_job_owner_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
        sa.UniqueConstraint("token", name=op.f("uq_import_job_token")),
    )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_job_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_job_owner_id"), ["owner_id"], unique=False)


def downgrade():
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_job_owner_id"))
        batch_op.drop_index(batch_op.f("ix_import_job_created_at"))
    op.drop_table("import_job")
