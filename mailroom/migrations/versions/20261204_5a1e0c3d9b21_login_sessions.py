"""login sessions: one row per browser login, so that logout ends the session on the server

Revision ID: 5a1e0c3d9b21
Revises: f9d9d3be9f53
Create Date: 2026-12-04 01:00:00

"""

import sqlalchemy as sa
from alembic import op

from mailroom.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "5a1e0c3d9b21"
down_revision = "f9d9d3be9f53"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_login_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_sessions_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_sessions_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_login_sessions_created_at"))
    op.drop_table("login_sessions")
