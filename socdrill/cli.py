"""The ``socdrill`` command line: one click group, sub-groups per domain.

Each domain's commands live in ``socdrill/commands/<domain>.py`` and expose
``register(cli)``; this module only assembles them.
"""

from __future__ import annotations

import importlib
import pkgutil

import click
from flask.cli import FlaskGroup

import socdrill.commands


def _create_app():
    from socdrill import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def cli() -> None:
    """socdrill — crisis simulation and SOC training platform."""


for info in pkgutil.iter_modules(socdrill.commands.__path__):
    module = importlib.import_module(f"socdrill.commands.{info.name}")
    module.register(cli)


def main() -> None:
    cli(prog_name="socdrill")
