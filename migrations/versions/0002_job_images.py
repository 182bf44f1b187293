"""job images: the training set of a job, fixed when it is submitted

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Jobs already waiting or running when this runs get the images their dataset holds now,
# the same set they would have trained on before (they were priced on it at most this much
# earlier); finished jobs keep no snapshot.
BACKFILL = """
INSERT INTO job_images (job_id, position, blob_key, caption, width, height)
SELECT jobs.id,
       ROW_NUMBER() OVER (PARTITION BY jobs.id ORDER BY images.id) - 1,
       images.blob_key, images.caption, images.width, images.height
FROM jobs JOIN images ON images.dataset_id = jobs.dataset_id
WHERE jobs.status IN ('queued', 'preparing', 'training', 'finishing')
"""


def upgrade() -> None:
    op.create_table(
        "job_images",
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("blob_key", sa.String(length=200), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_images_job_id_jobs")),
        sa.PrimaryKeyConstraint("job_id", "position", name=op.f("pk_job_images")),
    )
    with op.batch_alter_table("job_images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_images_blob_key"), ["blob_key"], unique=False)

    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("job_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_images_blob_key"))

    op.drop_table("job_images")
