"""Directory sync of every state from local Open States files, as an operator runs it:
``advocacy directory sync --source FOLDER`` in its own process, timed from start to exit.

The first load into an empty directory; in a full run also a refresh of the same files (what
the scheduler's daily refresh does when nothing changed) and a bare ``advocacy directory
status``, the start-up cost every command pays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .servers import run_cli


def states_in(folder: Path) -> list[str]:
    from advocacy.lookup.registry import STATES

    return [state for state in STATES if (folder / f"{state}.csv").exists()]


def _count(database_url: str, table: str) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608
    finally:
        engine.dispose()


def run(
    database_url: str, env: dict[str, str], workdir: Path, folder: Path, refresh: bool = True
) -> dict[str, Any]:
    from advocacy.lookup.registry import STATES

    states = states_in(folder)
    if not states:
        raise RuntimeError(f"no state CSV ({{abbr}}.csv) in {folder}")
    args = ["directory", "sync", "--source", str(folder)]
    if len(states) < len(STATES):  # a partial folder: only its states (else all is the default)
        for state in states:
            args += ["--state", state]
    log = workdir / "directory-sync.log"
    first = run_cli(args, env, log, timeout=900)
    legislators = _count(database_url, "legislator")
    districts = _count(database_url, "district")
    result: dict[str, Any] = {
        "source": str(folder),
        "states": len(states),
        "legislators": legislators,
        "districts": districts,
        "seconds": round(first, 3),
        "rows_per_s": round(legislators / first, 1) if first else 0.0,
    }
    if refresh:
        again = run_cli(args, env, log, timeout=900)
        # What any `advocacy` command costs before it does anything (interpreter, app).
        startup = run_cli(["directory", "status"], env, log, timeout=120)
        result.update(
            refresh_seconds=round(again, 3),
            refresh_rows_per_s=round(legislators / again, 1) if again else 0.0,
            command_startup_seconds=round(startup, 3),
        )
    return result
