"""sessions: a secret to show once on the next page of this browser (a new API token's:
POST/redirect/GET, the page after the form shows it, a reload does not)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 11:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shown_once", sa.String(length=256), nullable=True))


def downgrade():
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_column("shown_once")
