"""The installed command lines, run as a user runs them: `advocacy db upgrade` on an empty
SQLite file, `flask --app advocacy campaigns list`, and a clear one-line answer (not a
traceback) when the database has not been migrated."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.exc import OperationalError, ProgrammingError

from advocacy import models  # noqa: F401 - every table in the metadata
from advocacy.cli import main
from advocacy.dbstatus import NOT_SET_UP, is_missing_table
from advocacy.extensions import db
from tests.conftest import copy_repo_campaigns

BIN = Path(sys.executable).parent
REPO_SLUGS = ("every-exploited-child-is-a-victim", "oppose-buyer-immunity")


def environment(tmp_path: Path, database: Path) -> dict[str, str]:
    """The caller's environment without any ADVOCACY_* setting, pointed at ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVOCACY_", "FLASK_"))}
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir(exist_ok=True)
    env.update(
        ADVOCACY_DATABASE_URL=f"sqlite:///{database}",
        ADVOCACY_INSTANCE_DIR=str(tmp_path / "instance"),
        ADVOCACY_CAMPAIGNS_DIR=str(campaigns),
    )
    return env


def run(
    program: str, *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    executable = BIN / program
    assert executable.exists(), f"{executable} is not installed (pip install -e .)"
    return subprocess.run(
        [str(executable), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}


def test_db_upgrade_on_an_empty_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "empty.sqlite3"
    database.touch()
    env = environment(tmp_path, database)

    result = run("advocacy", "db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert set(db.metadata.tables) | {"alembic_version"} <= tables(database)
    with sqlite3.connect(database) as connection:
        [(head,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()

    again = run("advocacy", "db", "upgrade", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]


def test_flask_app_campaigns_list(tmp_path: Path) -> None:
    database = tmp_path / "site.sqlite3"
    env = environment(tmp_path, database)
    copy_repo_campaigns(Path(env["ADVOCACY_CAMPAIGNS_DIR"]))
    assert run("advocacy", "db", "upgrade", env=env, cwd=tmp_path).returncode == 0

    empty = run("flask", "--app", "advocacy", "campaigns", "list", env=env, cwd=tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == "no campaigns (run: advocacy campaigns sync)"

    synced = run("advocacy", "campaigns", "sync", env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr

    listed = run("flask", "--app", "advocacy", "campaigns", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [row[0] for row in rows] == list(REPO_SLUGS)
    assert all(row[1:4] == ["live", "v1", "file"] for row in rows), rows


def test_unmigrated_database_is_one_line_from_the_installed_command(tmp_path: Path) -> None:
    database = tmp_path / "unmigrated.sqlite3"
    env = environment(tmp_path, database)
    result = run("advocacy", "campaigns", "list", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == NOT_SET_UP + "\n"
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["campaigns", "list"], ["campaigns", "sync"]])
def test_unmigrated_database_is_one_line_not_a_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    database = tmp_path / "unmigrated.sqlite3"
    env = environment(tmp_path, database)
    copy_repo_campaigns(Path(env["ADVOCACY_CAMPAIGNS_DIR"]))
    result = CliRunner().invoke(main, command, env=env)
    assert result.exit_code == 1, result.output
    assert result.stderr == "the database is not set up: run `advocacy db upgrade`\n"
    assert result.stdout == ""
    assert tables(database) == set(), "nothing may be created by a failed command"


def test_only_a_missing_table_counts_as_not_set_up() -> None:
    class PostgresError(Exception):
        sqlstate = "42P01"

    assert is_missing_table(OperationalError("SELECT", {}, Exception("no such table: campaign")))
    assert is_missing_table(
        ProgrammingError("SELECT", {}, PostgresError('relation "campaign" does not exist'))
    )
    assert is_missing_table(ProgrammingError("SELECT", {}, PostgresError("undefined table")))
    assert not is_missing_table(OperationalError("SELECT", {}, Exception("database is locked")))
    assert not is_missing_table(
        ProgrammingError("SELECT", {}, Exception('column "slug" does not exist'))
    )
