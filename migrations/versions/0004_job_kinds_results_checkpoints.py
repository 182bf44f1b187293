"""job kinds (train, caption, generate), their results, and a training's saved checkpoints

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="train", nullable=False)
        )
        batch_op.add_column(sa.Column("result", sa.JSON(), server_default="{}", nullable=False))
        batch_op.add_column(
            sa.Column("checkpoints", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.create_index(
            "ix_jobs_account_id_kind_id", ["account_id", "kind", "id"], unique=False
        )
    # Existing jobs are trainings with no result or saved checkpoints; new rows get theirs
    # from the application.
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column("result", existing_type=sa.JSON(), server_default=None)
        batch_op.alter_column("checkpoints", existing_type=sa.JSON(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_account_id_kind_id")
        batch_op.drop_column("checkpoints")
        batch_op.drop_column("result")
        batch_op.drop_column("kind")
