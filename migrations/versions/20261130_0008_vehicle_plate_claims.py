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


def upgrade():
    pass


def downgrade():
    pass
