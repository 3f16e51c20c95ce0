"""venues: a venue names its first photo (cover_photo_id), kept by the photo services, so the
search results show it without a query per venue and their kept rendering changes with it

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 16:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cover_photo_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE venue SET cover_photo_id = (SELECT min(p.id) FROM venue_photo p"
        " WHERE p.venue_id = venue.id)"
    )


def downgrade():
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.drop_column("cover_photo_id")
