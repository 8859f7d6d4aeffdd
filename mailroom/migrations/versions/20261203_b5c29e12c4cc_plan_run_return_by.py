"""plan run return_by: the latest return to the depot chosen for a plan

Revision ID: b5c29e12c4cc
Revises: c873ee9651cd
Create Date: 2026-12-03 06:57:12.839519

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5c29e12c4cc"
down_revision = "c873ee9651cd"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("plan_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_by", sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table("plan_runs", schema=None) as batch_op:
        batch_op.drop_column("return_by")
