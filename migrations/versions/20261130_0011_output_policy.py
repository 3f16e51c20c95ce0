"""output and input policy: no schema change was needed (the policy lives in app/text.py,
app/csvexport.py and app/security.py); kept as an empty step of the linear history

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 03:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.db


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
