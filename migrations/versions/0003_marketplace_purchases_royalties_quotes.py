"""publishing, the marketplace, purchases, paid uses with royalties, price quotes, spending caps

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:23:19.337857
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purchases",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("charge_id", sa.String(length=200), nullable=True),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("refund_attempts", sa.Integer(), nullable=False),
        sa.Column("refund_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            core.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("credited_at", core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_purchases_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint("provider", "charge_id", name=op.f("uq_purchases_provider_charge_id")),
    )
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchases_account_id"), ["account_id"], unique=False)

    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            core.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_quotes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quotes_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "paid_uses",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("royalty", sa.BigInteger(), nullable=False),
        sa.Column("reversed", sa.BigInteger(), nullable=False),
        sa.Column("unrecovered", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            core.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_paid_uses_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["accounts.id"], name=op.f("fk_paid_uses_owner_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts.id"], name=op.f("fk_paid_uses_user_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paid_uses")),
        sa.UniqueConstraint("job_id", "item_kind", name=op.f("uq_paid_uses_job_id_item_kind")),
    )
    with op.batch_alter_table("paid_uses", schema=None) as batch_op:
        batch_op.create_index("ix_paid_uses_item", ["item_kind", "item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_paid_uses_owner_id"), ["owner_id"], unique=False)

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("daily_spending_cap", sa.BigInteger(), nullable=True))

    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("licence", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("uses", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("published_at", core.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_datasets_visibility_published_at", ["visibility", "published_at"], unique=False
        )

    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False)
        )
        batch_op.add_column(sa.Column("tags", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(
            sa.Column("visibility", sa.String(length=16), server_default="private", nullable=False)
        )
        batch_op.add_column(sa.Column("licence", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("price_per_use", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("uses", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("published_at", core.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_models_visibility_published_at", ["visibility", "published_at"], unique=False
        )

    # Existing models get no tags; new rows get theirs from the application (as datasets do).
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.alter_column("tags", existing_type=sa.JSON(), server_default=None)

    # Datasets made public before publishing existed count as published when they were made.
    op.execute("UPDATE datasets SET published_at = created_at WHERE visibility = 'public'")


def downgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_index("ix_models_visibility_published_at")
        batch_op.drop_column("published_at")
        batch_op.drop_column("uses")
        batch_op.drop_column("price_per_use")
        batch_op.drop_column("licence")
        batch_op.drop_column("visibility")
        batch_op.drop_column("tags")
        batch_op.drop_column("description")

    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index("ix_datasets_visibility_published_at")
        batch_op.drop_column("published_at")
        batch_op.drop_column("uses")
        batch_op.drop_column("licence")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("daily_spending_cap")

    with op.batch_alter_table("paid_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paid_uses_owner_id"))
        batch_op.drop_index("ix_paid_uses_item")

    op.drop_table("paid_uses")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotes_expires_at"))
        batch_op.drop_index(batch_op.f("ix_quotes_account_id"))

    op.drop_table("quotes")
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchases_account_id"))

    op.drop_table("purchases")
