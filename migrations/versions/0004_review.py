"""Review: stored scores, skill states after each exercise, evaluator grades,
corrective actions, contests, integrity clearances and answered API requests.

Revision ID: 0004_review
Revises: 0003_console
Create Date: 2026-11-28 10:13:46.027615
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_review"
down_revision = "0003_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=80), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_review_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
        sa.UniqueConstraint(
            "user_id", "key", name=op.f("uq_review_requests_user_id_key")
        ),
    )
    op.create_table(
        "review_contests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "upheld",
                "rejected",
                name="conteststatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column(
            "correction",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("resolver_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_review_contests_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolver_id"],
            ["users.id"],
            name=op.f("fk_review_contests_resolver_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_review_contests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_contests")),
    )
    with op.batch_alter_table("review_contests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_contests_exercise_id"), ["exercise_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_contests_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "review_corrective_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("finding", sa.String(length=300), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "done",
                "dropped",
                name="actionstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_review_corrective_actions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_review_corrective_actions_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_review_corrective_actions_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_corrective_actions")),
    )
    with op.batch_alter_table("review_corrective_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_corrective_actions_exercise_id"),
            ["exercise_id"],
            unique=False,
        )

    op.create_table(
        "review_grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=40), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("grader_id", sa.Integer(), nullable=True),
        sa.Column("graded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "grade IN ('P', 'S', 'M', 'U')", name=op.f("ck_review_grades_grade_known")
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_review_grades_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grader_id"],
            ["users.id"],
            name=op.f("fk_review_grades_grader_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_grades")),
    )
    with op.batch_alter_table("review_grades", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_grades_exercise_id"), ["exercise_id"], unique=False
        )

    op.create_table(
        "review_integrity_clearances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cleared_by_id", sa.Integer(), nullable=True),
        sa.Column("cleared_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cleared_by_id"],
            ["users.id"],
            name=op.f("fk_review_integrity_clearances_cleared_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_review_integrity_clearances_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_integrity_clearances")),
        sa.UniqueConstraint(
            "exercise_id",
            "stage",
            name=op.f("uq_review_integrity_clearances_exercise_id_stage"),
        ),
    )
    with op.batch_alter_table("review_integrity_clearances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_integrity_clearances_exercise_id"),
            ["exercise_id"],
            unique=False,
        )

    op.create_table(
        "review_scores",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("spec_version", sa.String(length=8), nullable=False),
        sa.Column("tes", sa.Double(), nullable=True),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "curves",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("computed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["computed_by_id"],
            ["users.id"],
            name=op.f("fk_review_scores_computed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_review_scores_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", name=op.f("pk_review_scores")),
    )
    op.create_table(
        "review_skill_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=24), nullable=False),
        sa.Column("tactic", sa.String(length=40), nullable=False),
        sa.Column("theta", sa.Double(), nullable=False),
        sa.Column("evidence", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_review_skill_states_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_review_skill_states_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_skill_states")),
        sa.UniqueConstraint(
            "exercise_id",
            "user_id",
            "scope",
            "tactic",
            name=op.f("uq_review_skill_states_exercise_id_user_id_scope_tactic"),
        ),
    )
    with op.batch_alter_table("review_skill_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_skill_states_exercise_id"),
            ["exercise_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_review_skill_states_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_skill_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_skill_states_user_id"))
        batch_op.drop_index(batch_op.f("ix_review_skill_states_exercise_id"))

    op.drop_table("review_skill_states")
    op.drop_table("review_scores")
    with op.batch_alter_table("review_integrity_clearances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_integrity_clearances_exercise_id"))

    op.drop_table("review_integrity_clearances")
    with op.batch_alter_table("review_grades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_grades_exercise_id"))

    op.drop_table("review_grades")
    with op.batch_alter_table("review_corrective_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_corrective_actions_exercise_id"))

    op.drop_table("review_corrective_actions")
    with op.batch_alter_table("review_contests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_contests_user_id"))
        batch_op.drop_index(batch_op.f("ix_review_contests_exercise_id"))

    op.drop_table("review_contests")
    op.drop_table("review_requests")
