"""The learner's queue: an index on (status, deleted, id), so taking the oldest pending samples costs O(queue).

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_samples_queue", "samples", ["status", "deleted", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_samples_queue", table_name="samples")
