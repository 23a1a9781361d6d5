"""The command line: init, user, demo and exercise endex, through click's runner."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from socdrill.cli import cli
from socdrill.extensions import db
from socdrill.models import (
    AuditEntry,
    Exercise,
    ExerciseState,
    Membership,
    Role,
    Tenant,
    User,
)
from tests.web.conftest import Browser

PASSWORD_LINE = re.compile(r"password: (\S+)")


@pytest.fixture
def runner(empty_app):
    return empty_app.test_cli_runner()


def invoke(runner, *args: str, input: str | None = None):
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def test_init_creates_the_schema_and_one_admin_with_a_printed_password(
    runner, empty_app
):
    result = invoke(runner, "init")
    assert result.exit_code == 0, result.output
    password = PASSWORD_LINE.search(result.output).group(1)
    assert len(password) >= 16
    with empty_app.app_context():
        admin = db.session.scalar(sa.select(User))
        assert admin.role == Role.ADMIN and admin.username == "admin"
        assert password not in admin.password_hash
    browser = Browser(empty_app.test_client())
    assert browser.login("admin", password).status_code == 302


def test_init_if_empty_does_nothing_the_second_time(runner):
    first = invoke(runner, "init", "--if-empty")
    second = invoke(runner, "init", "--if-empty")
    assert "password:" in first.output
    assert second.exit_code == 0 and "already initialised" in second.output
    assert "password:" not in second.output
    third = invoke(runner, "init")
    assert third.exit_code == 0 and "admin account exists" in third.output


def test_a_fresh_install_has_no_default_accounts(runner, empty_app):
    invoke(runner, "init")
    browser = Browser(empty_app.test_client())
    for password in ("admin", "password", "changeme", "socdrill"):
        assert browser.login("admin", password).status_code == 401


def test_user_create_prints_a_generated_password_once(runner, empty_app):
    invoke(runner, "init")
    invoke(runner, "demo")
    result = invoke(
        runner,
        "user",
        "create",
        "Dana",
        "--role",
        "analyst",
        "--team",
        "Blue Team",
        "--job",
        "l2_investigation",
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"shown only now\): (\S+)", result.output).group(1)
    assert Browser(empty_app.test_client()).login("dana", password).status_code == 302
    with empty_app.app_context():
        membership = db.session.scalar(
            sa.select(Membership).join(User).where(User.username == "dana")
        )
        assert membership.team.name == "Blue Team"
        assert membership.job.value == "l2_investigation"


def test_user_create_reads_a_password_from_stdin(runner, empty_app):
    invoke(runner, "init")
    result = invoke(
        runner,
        "user",
        "create",
        "erin",
        "--role",
        "observer",
        "--password-stdin",
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0
    assert "passphrase" not in result.output
    browser = Browser(empty_app.test_client())
    assert browser.login("erin", "a long enough passphrase").status_code == 302


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["user", "create", "x", "--role", "wizard"], None, "Invalid value"),
        (["user", "create", "Bad Name!", "--role", "analyst"], None, "username"),
        (["user", "create", "admin", "--role", "analyst"], None, "taken"),
        (
            ["user", "create", "frank", "--role", "analyst", "--password-stdin"],
            "   \n",
            "empty",
        ),
        (
            ["user", "create", "frank", "--role", "analyst", "--password-stdin"],
            "short\n",
            "at least 12",
        ),
        (
            ["user", "create", "frank", "--role", "analyst", "--team", "Nope"],
            None,
            "no team",
        ),
        (
            ["user", "create", "frank", "--role", "analyst", "--job", "l1_monitoring"],
            None,
            "--job needs --team",
        ),
    ],
)
def test_bad_user_input_is_refused_and_creates_nothing(
    runner, empty_app, args, stdin, message
):
    invoke(runner, "init")
    result = runner.invoke(cli, args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    with empty_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_demo_builds_a_tenant_team_accounts_and_a_draft_exercise(runner, empty_app):
    invoke(runner, "init")
    result = invoke(runner, "demo")
    assert result.exit_code == 0, result.output
    accounts = dict(re.findall(r"^\s+(demo-\S+)\s+\S+\s+(\S+)$", result.output, re.M))
    assert set(accounts) == {
        "demo-manager",
        "demo-lead",
        "demo-analyst1",
        "demo-analyst2",
        "demo-analyst3",
        "demo-hr",
        "demo-observer",
    }
    with empty_app.app_context():
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == "demo"))
        assert tenant.teams[0].name == "Blue Team"
        assert tenant.organisation, "the demo tenant has a synthetic organisation"
        exercise = db.session.scalar(sa.select(Exercise))
        assert exercise.scenario_id == "ransomware-finance"
        assert exercise.state == ExerciseState.DRAFT
    # The manager can start the demo exercise from the browser.
    browser = Browser(empty_app.test_client())
    assert browser.login("demo-manager", accounts["demo-manager"]).status_code == 302
    for action in ("schedule", "start"):
        response = browser.post_json(f"/exercises/{exercise.id}/{action}")
        assert response.status_code == 200, response.get_json()
    analyst = Browser(empty_app.test_client())
    analyst.login("demo-analyst1", accounts["demo-analyst1"])
    assert "EXERCISE: Demo" in analyst.get("/console").get_data(as_text=True)


def test_demo_if_empty_and_demo_twice(runner):
    invoke(runner, "init")
    invoke(runner, "demo", "--if-empty")
    again = invoke(runner, "demo", "--if-empty")
    assert again.exit_code == 0 and "exists already" in again.output
    refused = runner.invoke(cli, ["demo"])
    assert refused.exit_code != 0 and "exists already" in refused.output


def test_demo_before_init_says_what_to_do(runner):
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code != 0
    assert "socdrill init" in result.output


def test_exercise_endex_works_from_the_command_line_and_is_idempotent(
    runner, empty_app
):
    invoke(runner, "init")
    invoke(runner, "demo")
    with empty_app.app_context():
        exercise_id = db.session.scalar(sa.select(Exercise.id))
    first = invoke(runner, "exercise", "endex", str(exercise_id))
    second = invoke(runner, "exercise", "endex", str(exercise_id))
    assert "ENDEX" in first.output and "already ended" in second.output
    missing = runner.invoke(cli, ["exercise", "endex", "999"])
    assert missing.exit_code != 0 and "does not exist" in missing.output
    with empty_app.app_context():
        entry = db.session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "exercise.endex")
        )
        assert entry.actor_name == "cli"
    listing = invoke(runner, "exercise", "list")
    assert "ended" in listing.output


def test_user_disable_ends_sessions(runner, empty_app):
    invoke(runner, "init")
    invoke(
        runner,
        "user",
        "create",
        "gina",
        "--role",
        "manager",
        "--password-stdin",
        input="gina's long passphrase\n",
    )
    browser = Browser(empty_app.test_client())
    browser.login("gina", "gina's long passphrase")
    assert browser.get("/dashboard").status_code == 200
    assert invoke(runner, "user", "disable", "gina").exit_code == 0
    assert browser.get("/dashboard").status_code == 302
    assert "gina" in invoke(runner, "user", "list").output


def test_one_engine_tick_reports_what_it_did(runner, empty_app):
    invoke(runner, "init")
    result = invoke(runner, "engine", "--once")
    assert result.output.startswith("tick: 0 exercise(s), 0 inject(s)")
    assert "0 scored, 0 purged under the retention policy" in result.output
