"""Review: the engine's automatic scoring attempts and the retention purges of
individual-level data.

Revision ID: 0005_review_retention
Revises: 0004_review
Create Date: 2026-12-03 09:41:12.518204
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_review_retention"
down_revision = "0004_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_auto_scores",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_review_auto_scores_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", name=op.f("pk_review_auto_scores")),
    )
    op.create_table(
        "review_retention_purges",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("purged_at", sa.DateTime(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_review_retention_purges_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", name=op.f("pk_review_retention_purges")),
    )


def downgrade() -> None:
    op.drop_table("review_retention_purges")
    op.drop_table("review_auto_scores")
