"""Engine state: runtimes, stage outcomes, response actions and state, crisis
deliveries and replies, live environments, forwarding targets; room events that
belong to no exercise.

Revision ID: 0002_engine
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from socdrill.models.base import UTCDateTime

revision = "0002_engine"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "engine_runtimes",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.Double(), nullable=False),
        sa.Column("organisation", JSON, nullable=False),
        sa.Column("bindings", JSON, nullable=False),
        sa.Column("horizon", sa.Double(), nullable=False),
        sa.Column("delivered_until", sa.Double(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ok", "degraded", name="runtimestatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_engine_runtimes_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", name=op.f("pk_engine_runtimes")),
    )
    op.create_table(
        "stage_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_scenario_seconds", sa.Double(), nullable=False),
        sa.Column("technique", sa.String(length=20), nullable=False),
        sa.Column("tier", sa.String(length=4), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("fallback", sa.String(length=80), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_stage_outcomes_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_outcomes")),
        sa.UniqueConstraint(
            "exercise_id",
            "stage_id",
            name=op.f("uq_stage_outcomes_exercise_id_stage_id"),
        ),
    )
    with op.batch_alter_table("stage_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stage_outcomes_exercise_id"), ["exercise_id"], unique=False
        )
    op.create_table(
        "response_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("target_key", sa.String(length=200), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("scenario_seconds", sa.Double(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_response_actions_activity_id_activities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_response_actions_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_response_actions_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_actions")),
        sa.UniqueConstraint(
            "exercise_id", "seq", name=op.f("uq_response_actions_exercise_id_seq")
        ),
    )
    op.create_table(
        "response_states",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_response_states_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", name=op.f("pk_response_states")),
    )
    op.create_table(
        "crisis_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("inject_id", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("due_scenario_seconds", sa.Double(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=False),
        sa.Column("reply_within_seconds", sa.Double(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_crisis_deliveries_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_deliveries")),
        sa.UniqueConstraint(
            "exercise_id",
            "inject_id",
            name=op.f("uq_crisis_deliveries_exercise_id_inject_id"),
        ),
    )
    with op.batch_alter_table("crisis_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crisis_deliveries_exercise_id"),
            ["exercise_id"],
            unique=False,
        )
    op.create_table(
        "crisis_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_crisis_replies_activity_id_activities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_crisis_replies_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["crisis_deliveries.id"],
            name=op.f("fk_crisis_replies_delivery_id_crisis_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_replies")),
    )
    with op.batch_alter_table("crisis_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crisis_replies_delivery_id"), ["delivery_id"], unique=False
        )
    op.create_table(
        "live_environments",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("baseline_seconds", sa.Integer(), nullable=False),
        sa.Column("noise_until", sa.Double(), nullable=False),
        sa.Column("profile", sa.String(length=20), nullable=False),
        sa.Column("scale", sa.Double(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "scale > 0", name=op.f("ck_live_environments_scale_positive")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_live_environments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_live_environments")),
    )
    op.create_table(
        "forwarding_targets",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("forwarded_until_id", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_forwarding_targets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_forwarding_targets")),
    )
    # Tenant and team rooms carry events that belong to no exercise.
    with op.batch_alter_table("exercise_events", schema=None) as batch_op:
        batch_op.alter_column("exercise_id", existing_type=sa.INTEGER(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM exercise_events WHERE exercise_id IS NULL")
    with op.batch_alter_table("exercise_events", schema=None) as batch_op:
        batch_op.alter_column("exercise_id", existing_type=sa.INTEGER(), nullable=False)
    op.drop_table("forwarding_targets")
    op.drop_table("live_environments")
    with op.batch_alter_table("crisis_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_replies_delivery_id"))
    op.drop_table("crisis_replies")
    with op.batch_alter_table("crisis_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_deliveries_exercise_id"))
    op.drop_table("crisis_deliveries")
    op.drop_table("response_states")
    op.drop_table("response_actions")
    with op.batch_alter_table("stage_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stage_outcomes_exercise_id"))
    op.drop_table("stage_outcomes")
    op.drop_table("engine_runtimes")
