"""the per-person rate limit's buckets, and on PostgreSQL a NOTIFY for each new notification

Both serve several daemon replicas on one PostgreSQL: the buckets are one allowance per person
across them, and the trigger wakes the notification long polls of every replica at the commit
of whichever transaction wrote the row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The channel `daemon.pg_events` listens on; the payload is the bot's platform.
NOTIFY_FUNCTION = """
CREATE FUNCTION lorabot_notification_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lorabot_notifications', NEW.platform);
    RETURN NULL;
END
$$
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER notifications_notify AFTER INSERT ON notifications
FOR EACH ROW EXECUTE FUNCTION lorabot_notification_added()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_buckets")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER notifications_notify ON notifications")
        op.execute("DROP FUNCTION lorabot_notification_added()")
