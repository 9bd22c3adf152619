"""A count of the index's write transactions, so a process can keep a computed summary while nobody writes.

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table("index_revision",
                            sa.Column("id", sa.SmallInteger(), nullable=False),
                            sa.Column("n", sa.BigInteger(), nullable=False),
                            sa.PrimaryKeyConstraint("id"))
    op.bulk_insert(table, [{"id": 1, "n": 0}])


def downgrade() -> None:
    op.drop_table("index_revision")
