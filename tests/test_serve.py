"""``advocacy serve`` as a real process: it migrates, loads campaigns, makes its secret key,
says where to open it, and answers over HTTP from waitress (not Werkzeug's dev server)."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_URL, REPO, _empty_postgres_tables

START_TIMEOUT = 30.0
ADVOCACY = Path(sys.executable).with_name("advocacy")  # the console script of this venv


def migration_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(REPO / "advocacy" / "migrations")).get_current_head()
    assert head
    return head


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    instance: Path
    database_url: str | None
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)


def _read_output(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)


def _wait_until_answering(served: Served) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"advocacy serve exited with {served.process.returncode}:\n{served.output}")
        try:
            with urllib.request.urlopen(served.url, timeout=2) as response:
                response.read()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"advocacy serve did not answer within {START_TIMEOUT:.0f} s:\n{served.output}")


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    if not ADVOCACY.exists():
        pytest.skip(f"the advocacy console script is not installed next to {sys.executable}")
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVOCACY_", "FLASK_"))}
    env.update(
        {
            "ADVOCACY_INSTANCE_DIR": str(instance),
            "ADVOCACY_CAMPAIGNS_DIR": str(REPO / "campaigns"),
            # Nothing in this test may reach the internet.
            "ADVOCACY_CENSUS_GEOCODER_URL": "http://127.0.0.1:9/geocoder",
            "ADVOCACY_OPENSTATES_DATA_URL": "http://127.0.0.1:9/people/current",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if POSTGRES_URL:
        # The shared test database: at head and empty, like every other test gets it.
        request.getfixturevalue("database_url")
        env["ADVOCACY_DATABASE_URL"] = POSTGRES_URL
    port = free_port()
    process = subprocess.Popen(
        [str(ADVOCACY), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    result = Served(process, f"http://127.0.0.1:{port}/", instance, POSTGRES_URL)
    reader = threading.Thread(target=_read_output, args=(process, result.lines), daemon=True)
    reader.start()
    try:
        _wait_until_answering(result)
        yield result
    finally:
        _stop(process)
        reader.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        if POSTGRES_URL:
            _empty_postgres_tables()  # leave no campaign rows behind for other tests


def test_serve_runs_a_migrated_site_with_waitress(served: Served) -> None:
    assert f"Open {served.url} in your browser" in served.output

    status, headers, home = http_get(served.url)
    assert status == 200
    assert "Keep buyers of children accountable in every state" in home
    assert "Every exploited child is a victim" in home
    status, _, campaign = http_get(served.url + "c/oppose-buyer-immunity")
    assert status == 200 and 'id="street_address"' in campaign
    assert http_get(served.url + "c/no-such-campaign")[0] == 404

    # Waitress, not Werkzeug: its Server header is waitress's ident ("advocacy" as `serve`
    # sets it), and a malformed request gets waitress's own error page signed with that ident.
    server_header = headers.get("Server", "")
    assert "werkzeug" not in server_header.lower()
    assert server_header in ("waitress", "advocacy"), server_header
    port = int(served.url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n")
        raw = b""
        while chunk := sock.recv(4096):
            raw += chunk
    answer = raw.decode("latin-1")
    assert answer.startswith("HTTP/1.1 400 Bad Request"), answer
    assert f"(generated by {server_header})" in answer, answer

    key_file = served.instance / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32

    if served.database_url:
        engine = sa.create_engine(served.database_url)
        try:
            with engine.connect() as conn:
                versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        finally:
            engine.dispose()
    else:
        database = served.instance / "advocacy.sqlite3"
        assert database.is_file(), "the default SQLite database was not created in the instance"
        with contextlib.closing(sqlite3.connect(database)) as conn:
            versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert [row[0] for row in versions] == [migration_head()]
