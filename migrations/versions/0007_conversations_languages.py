"""the bots' conversation state and progress messages, and each identity's language

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BigInteger on PostgreSQL, INTEGER (rowid alias) on SQLite, as `core.db.types.BigIntPK`.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("platform_locale", sa.String(length=16), nullable=True))
    op.create_table(
        "conversation_states",
        sa.Column("identity_id", ID, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("expires_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_conversation_states_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", "key", name=op.f("pk_conversation_states")),
    )
    op.create_index(
        op.f("ix_conversation_states_expires_at"), "conversation_states", ["expires_at"]
    )
    op.create_table(
        "progress_messages",
        sa.Column("job_id", ID, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            core.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_progress_messages_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "platform", name=op.f("pk_progress_messages")),
    )


def downgrade() -> None:
    op.drop_table("progress_messages")
    op.drop_index(op.f("ix_conversation_states_expires_at"), table_name="conversation_states")
    op.drop_table("conversation_states")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("platform_locale")
        batch.drop_column("language")
