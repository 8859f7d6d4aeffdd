"""adhoc courier orders: an ad-hoc pick-up may go straight to another site (Hauspost A -> B)

Revision ID: 1994a837a13b
Revises: b5c29e12c4cc
Create Date: 2026-12-03 07:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "1994a837a13b"
down_revision = "b5c29e12c4cc"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("adhoc_stops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deliver_to_site_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_adhoc_stops_deliver_to_site_id_sites"), "sites", ["deliver_to_site_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("adhoc_stops", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_adhoc_stops_deliver_to_site_id_sites"), type_="foreignkey")
        batch_op.drop_column("deliver_to_site_id")
