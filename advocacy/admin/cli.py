"""``advocacy users ...``: manage staff accounts from the server's shell."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click
from flask.cli import with_appcontext

from .auth import AccountProblem
from .models import ROLES, User
from .users import create_user, find_user, list_users, set_active, set_role


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group("users")
def users_group() -> None:
    """Staff accounts (admin, manager, organizer)."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_command(email: str, role: str, password_stdin: bool) -> None:
    """Create an account (prompts for the password unless --password-stdin)."""
    try:
        user = create_user(email, role, _read_password(password_stdin))
    except AccountProblem as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.email} ({user.role})")


@users_group.command("list")
@with_appcontext
def list_command() -> None:
    """Every account with its role and whether it is active."""
    users = list_users()
    if not users:
        click.echo("no users yet (advocacy users create EMAIL --role admin)")
    for user in users:
        state = "active" if user.active else "disabled"
        click.echo(f"{user.email:40} {user.role:10} {state:8} since {user.created_at:%Y-%m-%d}")


def _change(email: str, change: Callable[[User], None], done: str) -> None:
    try:
        user = find_user(email)
        change(user)
    except AccountProblem as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(done.format(email=user.email, role=user.role))


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def set_role_command(email: str, role: str) -> None:
    """Change an account's role."""
    _change(email, lambda user: set_role(user, role), "{email} is now {role}")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def disable_command(email: str) -> None:
    """Disable an account (its sessions stop working at once)."""
    _change(email, lambda user: set_active(user, False), "{email} is disabled")


@users_group.command("enable")
@click.argument("email")
@with_appcontext
def enable_command(email: str) -> None:
    """Enable a disabled account again."""
    _change(email, lambda user: set_active(user, True), "{email} is active")
