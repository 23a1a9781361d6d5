"""Account commands: ``socdrill user create|list|disable``."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from socdrill import accounts
from socdrill.accounts import AccountError
from socdrill.database import write_transaction
from socdrill.extensions import db
from socdrill.models import Role, User


def register(cli: click.Group) -> None:
    cli.add_command(user)


@click.group()
def user() -> None:
    """Manage accounts."""


@user.command("create")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="What the account may do.",
)
@click.option("--team", "team_name", help="Join this team.")
@click.option("--job", help="Job in the team (l1_monitoring, l2_investigation, ...).")
@click.option("--display-name", default="", help="The name people see.")
@click.option("--can-launch", is_flag=True, help="Grant the right to launch exercises.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of generating one.",
)
@with_appcontext
def create(
    name: str,
    role: str,
    team_name: str | None,
    job: str | None,
    display_name: str,
    can_launch: bool,
    password_stdin: bool,
) -> None:
    """Create an account NAME; a generated password is printed once."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with write_transaction():
            account, secret = accounts.create_user(
                name,
                Role(role),
                actor=None,
                display_name=display_name,
                password=password,
                can_launch=can_launch,
            )
            if team_name:
                accounts.join_team(
                    account,
                    accounts.find_team(team_name),
                    actor=None,
                    job=accounts.parse_job(job),
                )
            elif job:
                raise AccountError("--job needs --team")
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {account.username} ({role}).")
    if not password_stdin:
        click.echo(f"Password (shown only now): {secret}")


@user.command("list")
@with_appcontext
def list_users() -> None:
    """List accounts with role and status."""
    for account in db.session.scalars(sa.select(User).order_by(User.username)):
        status = "active" if account.active else "disabled"
        click.echo(f"{account.username:<20} {account.role.value:<9} {status}")


@user.command("disable")
@click.argument("name")
@with_appcontext
def disable(name: str) -> None:
    """Disable NAME: its sessions and API tokens end at once."""
    with write_transaction():
        account = db.session.scalar(
            sa.select(User).where(User.username == name.lower())
        )
        if account is None:
            raise click.ClickException(f"no account is called {name!r}")
        accounts.set_active(account, False, actor=None)
    click.echo(f"Disabled {name}.")
