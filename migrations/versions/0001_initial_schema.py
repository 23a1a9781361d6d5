"""Initial schema: people, tenants, exercises, audit and activity logs.

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-28 09:17:34.584948
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The audit log is append-only in the database itself, not only in the ORM.
SQLITE_AUDIT_TRIGGERS = (
    "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
)
POSTGRESQL_AUDIT_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only' "
    "USING ERRCODE = 'restrict_violation'; END $$ "
    "LANGUAGE plpgsql",
    "CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
)

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.String(length=80), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_AUDIT_TRIGGERS:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRESQL_AUDIT_TRIGGERS:
            op.execute(statement)

    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_table('tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('organisation', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('organisation_seed', sa.BigInteger(), nullable=True),
    sa.Column('organisation_size', sa.String(length=16), nullable=False),
    sa.Column('noise_profile', sa.Enum('quiet', 'office', 'busy', name='noiseprofile', native_enum=False, length=16), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('retention_days > 0', name=op.f('ck_tenants_retention_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.Enum('admin', 'manager', 'lead', 'analyst', 'hr', 'observer', name='role', native_enum=False, length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('can_launch', sa.Boolean(), nullable=False),
    sa.Column('session_nonce', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('hint', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('exercises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.String(length=80), nullable=False),
    sa.Column('scenario_yaml', sa.Text(), nullable=False),
    sa.Column('scenario_sha256', sa.String(length=64), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('announced', sa.Boolean(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'scheduled', 'running', 'paused', 'ended', 'reviewed', name='exercisestate', native_enum=False, length=16), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=True),
    sa.Column('window_end', sa.DateTime(), nullable=True),
    sa.Column('blackout_dates', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('scheduled_start', sa.DateTime(), nullable=True),
    sa.Column('max_duration_seconds', sa.Integer(), nullable=False),
    sa.Column('speed_factor', sa.Double(), nullable=False),
    sa.Column('catch_up_policy', sa.Enum('catch_up', 'skip', name='catchuppolicy', native_enum=False, length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('endex_reason', sa.String(length=200), nullable=False),
    sa.Column('emergency_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('max_duration_seconds > 0', name=op.f('ck_exercises_max_duration_positive')),
    sa.CheckConstraint('speed_factor > 0', name=op.f('ck_exercises_speed_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_exercises_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_exercises_team_id_teams'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_exercises_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercises'))
    )
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercises_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_exercises_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exercises_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.Column('weekdays', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('on_call', sa.Boolean(), nullable=False),
    sa.CheckConstraint('start_minute >= 0 AND start_minute < 1440 AND end_minute >= 0 AND end_minute < 1440', name=op.f('ck_shifts_minutes_in_day')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_shifts_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts')),
    sa.UniqueConstraint('team_id', 'name', name=op.f('uq_shifts_team_id_name'))
    )
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shifts_team_id'), ['team_id'], unique=False)

    op.create_table('team_tenants',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_tenants_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_team_tenants_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'tenant_id', name=op.f('pk_team_tenants'))
    )
    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('active_seconds', sa.Double(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_activities_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_activities_exercise_id_exercises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('exercise_id', 'idempotency_key', name=op.f('uq_activities_exercise_id_idempotency_key'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_exercise_id'), ['exercise_id'], unique=False)

    op.create_table('exercise_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['users.id'], name=op.f('fk_exercise_approvals_approver_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_approvals_exercise_id_exercises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercise_approvals')),
    sa.UniqueConstraint('exercise_id', 'approver_id', name=op.f('uq_exercise_approvals_exercise_id_approver_id'))
    )
    with op.batch_alter_table('exercise_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercise_approvals_exercise_id'), ['exercise_id'], unique=False)

    op.create_table('exercise_clock_segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('wall_start', sa.DateTime(), nullable=False),
    sa.Column('speed_factor', sa.Double(), nullable=False),
    sa.Column('running', sa.Boolean(), nullable=False),
    sa.CheckConstraint('speed_factor > 0', name=op.f('ck_exercise_clock_segments_speed_positive')),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_clock_segments_exercise_id_exercises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercise_clock_segments')),
    sa.UniqueConstraint('exercise_id', 'seq', name=op.f('uq_exercise_clock_segments_exercise_id_seq'))
    )
    op.create_table('exercise_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('room', sa.String(length=80), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_events_exercise_id_exercises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercise_events')),
    sa.UniqueConstraint('room', 'seq', name=op.f('uq_exercise_events_room_seq'))
    )
    with op.batch_alter_table('exercise_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercise_events_exercise_id'), ['exercise_id'], unique=False)

    op.create_table('inject_instances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('inject_key', sa.String(length=120), nullable=False),
    sa.Column('due_scenario_seconds', sa.Double(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'fired', 'cancelled', 'missed', name='injectstate', native_enum=False, length=16), nullable=False),
    sa.Column('fired_at', sa.DateTime(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('lateness_seconds', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_inject_instances_exercise_id_exercises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inject_instances')),
    sa.UniqueConstraint('exercise_id', 'inject_key', name=op.f('uq_inject_instances_exercise_id_inject_key'))
    )
    with op.batch_alter_table('inject_instances', schema=None) as batch_op:
        batch_op.create_index('ix_inject_instances_due', ['exercise_id', 'state', 'due_scenario_seconds'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('job', sa.Enum('l1_monitoring', 'l2_investigation', 'l3_response', 'detection_engineering', 'knowledge_manager', 'lead', name='job', native_enum=False, length=32), nullable=True),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.Column('left_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_memberships_shift_id_shifts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_memberships_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_user_id'), ['user_id'], unique=False)

    op.create_table('trusted_agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_trusted_agents_exercise_id_exercises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trusted_agents_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_agents')),
    sa.UniqueConstraint('exercise_id', 'user_id', name=op.f('uq_trusted_agents_exercise_id_user_id'))
    )
    with op.batch_alter_table('trusted_agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trusted_agents_exercise_id'), ['exercise_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trusted_agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trusted_agents_exercise_id'))

    op.drop_table('trusted_agents')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_user_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_team_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('inject_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_inject_instances_due')

    op.drop_table('inject_instances')
    with op.batch_alter_table('exercise_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercise_events_exercise_id'))

    op.drop_table('exercise_events')
    op.drop_table('exercise_clock_segments')
    with op.batch_alter_table('exercise_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercise_approvals_exercise_id'))

    op.drop_table('exercise_approvals')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_exercise_id'))

    op.drop_table('activities')
    op.drop_table('team_tenants')
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shifts_team_id'))

    op.drop_table('shifts')
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercises_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_exercises_team_id'))
        batch_op.drop_index(batch_op.f('ix_exercises_state'))

    op.drop_table('exercises')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('tenants')
    op.drop_table('teams')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_action'))

    op.drop_table('audit_entries')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
