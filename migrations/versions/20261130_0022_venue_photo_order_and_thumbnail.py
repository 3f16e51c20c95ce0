"""venues: a venue photo has a place in the venue's order (position) and a thumbnail (thumb) for
the search results

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 16:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("venue_photo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("thumb", sa.String(length=64), nullable=True))
    # Photos already there keep the order they were added in.
    op.execute("UPDATE venue_photo SET position = id")


def downgrade():
    with op.batch_alter_table("venue_photo", schema=None) as batch_op:
        batch_op.drop_column("thumb")
        batch_op.drop_column("position")
