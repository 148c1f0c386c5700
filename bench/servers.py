"""The servers a benchmark run starts for itself, all on 127.0.0.1, all stopped at the end:
gunicorn (the app and the hello baseline, same settings), a throwaway PostgreSQL, the fake
Census geocoder (the tests' fake) and an SMTP sink (aiosmtpd)."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-shared-by-every-process"  # noqa: S105 - a throwaway run's key
MAIL_FROM = "advocacy@bench.example.org"
WORKERS = 2
THREADS = 128  # advocacy/observability/gunicorn_conf.py's defaults
START_TIMEOUT = 60.0


class ServerStartError(RuntimeError):
    """A server the benchmark needs could not be started."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def get_with_token(port: int, path: str, token: str, timeout: float = 10.0) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def clean_environ() -> dict[str, str]:
    """This process's environment without any setting that would change what is measured."""
    prefixes = ("ADVOCACY_", "FLASK_", "PROMETHEUS_", "GUNICORN_", "WEB_CONCURRENCY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("OPENSTATES_API_KEY", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def app_environ(
    database_url: str, instance: Path, census_url: str, people: Path | None, **extra: str
) -> dict[str, str]:
    """Settings of every app process (web, CLI): only servers of this run, no rate limits."""
    instance.mkdir(parents=True, exist_ok=True)
    env = clean_environ()
    env.update(
        {
            "ADVOCACY_DATABASE_URL": database_url,
            "ADVOCACY_INSTANCE_DIR": str(instance),
            "ADVOCACY_SECRET_KEY": SECRET,
            "ADVOCACY_CAMPAIGNS_DIR": str(ROOT / "campaigns"),
            "ADVOCACY_CENSUS_GEOCODER_URL": census_url + "/geocoder",
            "ADVOCACY_OPENSTATES_DATA_URL": str(people or instance / "no-people"),
            "ADVOCACY_OPENSTATES_VACANCIES_URL": census_url + "/settings.yml",
            "ADVOCACY_OPENSTATES_API_URL": census_url,
            "ADVOCACY_MAIL_FROM": MAIL_FROM,
            # Every simulated visitor comes from 127.0.0.1: per-address limits would refuse them.
            "ADVOCACY_RATELIMIT_SUBMIT": "",
            "ADVOCACY_RATELIMIT_LOOKUP": "",
            "ADVOCACY_RATELIMIT_SIGNIN": "",
        }
    )
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], log: Path, timeout: float) -> float:
    """Run ``advocacy ARGS``; return its wall time. Output goes to ``log``."""
    began = time.perf_counter()
    with log.open("ab") as handle:
        completed = subprocess.run(
            [str(BIN / "advocacy"), *args],
            env=env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    seconds = time.perf_counter() - began
    if completed.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"advocacy {' '.join(args)} exited {completed.returncode}:\n{tail}")
    return seconds


# -- gunicorn -----------------------------------------------------------------------------------


class Gunicorn:
    """``gunicorn -c python:advocacy.observability.gunicorn_conf APP`` with 2 workers × 128
    threads on a free loopback port (the production config, the same for every app)."""

    def __init__(self, name: str, app: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.app = app
        self.port = free_port()
        self.log_path = workdir / f"gunicorn-{name}.log"
        metrics = workdir / f"prometheus-{name}"
        self.env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def args(self) -> list[str]:
        return [
            str(BIN / "gunicorn"),
            "--config",
            "python:advocacy.observability.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--graceful-timeout",
            "5",
            self.app,
        ]

    def start(self, ready_path: str = "/") -> Gunicorn:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: master and workers
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"gunicorn ({self.name}) exited with {self.process.returncode}: "
                    f"{self.output()[-1500:]}"
                )
            try:
                if get(self.port, ready_path, timeout=2)[0] == 200:
                    self._wait_for_workers(deadline)
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(f"gunicorn ({self.name}) did not answer within {START_TIMEOUT}s")

    def _wait_for_workers(self, deadline: float) -> None:
        """Every worker booted (one answered; the other may still be importing the app)."""
        while time.monotonic() < deadline and len(self.worker_pids()) < WORKERS:
            time.sleep(0.1)
        time.sleep(0.5)

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        for signum, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(process.pid, signum)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Waitress(Gunicorn):
    """``advocacy serve`` (what ``./dev start`` runs: waitress, its default threads) on a free
    loopback port; it migrates and loads the campaigns itself before it listens."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        super().__init__(name, "", env, workdir)
        self.env.pop("PROMETHEUS_MULTIPROC_DIR")  # one process: its own counts

    @property
    def args(self) -> list[str]:
        return [str(BIN / "advocacy"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]

    def _wait_for_workers(self, deadline: float) -> None:
        time.sleep(0.2)


# -- PostgreSQL ---------------------------------------------------------------------------------


def find_pg_bin() -> Path | None:
    """Like ./dev: Debian's /usr/lib/postgresql/*/bin, else initdb on the PATH."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class Postgres:
    """Databases for the run: on a throwaway server it starts (default), or new databases
    made on a server given by URL (``--postgres``), dropped again at the end."""

    def __init__(self, url: str | None = None) -> None:
        self.given_url = url
        self.folder: Path | None = None
        self.bin: Path | None = None
        self.port = 0
        self.base_url = url or ""
        self.made: list[str] = []
        self.version = ""

    def _as_postgres(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> Postgres:
        if self.given_url:
            self._check()
            return self
        self.bin = find_pg_bin()
        if self.bin is None:
            raise ServerStartError("PostgreSQL is not installed (no initdb)")
        self.folder = Path(tempfile.mkdtemp(prefix="advocacy-bench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")  # PostgreSQL refuses to run as root
        self.port = free_port()
        data = self.folder / "data"
        as_pg = self._as_postgres()
        try:
            subprocess.run(
                [
                    *as_pg,
                    str(self.bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "advocacy",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            # Default durability settings (fsync on): the figures are what a server would do.
            options = f"-k {self.folder} -p {self.port} -c listen_addresses=127.0.0.1"
            subprocess.run(
                [
                    *as_pg,
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(self.folder / "log"),
                    "-w",
                    "-o",
                    options,
                    "start",
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            self.stop()
            raise ServerStartError(
                f"could not start PostgreSQL: {exc} {detail.decode(errors='replace')[-500:]}"
            ) from exc
        self.base_url = f"postgresql+psycopg://advocacy@127.0.0.1:{self.port}/postgres"
        self._check()
        return self

    def _check(self) -> None:
        engine = sa.create_engine(self.base_url)
        try:
            with engine.connect() as connection:
                self.version = str(connection.scalar(sa.text("SHOW server_version")))
        finally:
            engine.dispose()

    def server_pids(self) -> list[int]:
        """The postmaster (its children are the backends), when this run started it."""
        if self.folder is None:
            return []
        try:
            return [int((self.folder / "data" / "postmaster.pid").read_text().split()[0])]
        except (OSError, ValueError, IndexError):
            return []

    def new_database(self, label: str) -> str:
        name = f"advocacy_bench_{os.getpid()}_{len(self.made)}_{label}"
        engine = sa.create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        self.made.append(name)
        return sa.make_url(self.base_url).set(database=name).render_as_string(hide_password=False)

    def drop_databases(self) -> None:
        if not self.made or not self.base_url:
            return
        engine = sa.create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for name in self.made:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except sa.exc.SQLAlchemyError:
            pass
        finally:
            engine.dispose()
        self.made = []

    def stop(self) -> None:
        if self.given_url:
            self.drop_databases()
            return
        if self.folder is None:
            return
        if self.bin is not None and (self.folder / "data" / "postmaster.pid").exists():
            subprocess.run(
                [
                    *self._as_postgres(),
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.folder / "data"),
                    "-m",
                    "fast",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


# -- the fake Census geocoder ----------------------------------------------------------------


# One address in Concord, NH: Senate district 15 and House district Merrimack 12 (two seats),
# in the real Open States data and in tests/e2e/data/nh.csv alike.
ADDRESS = "12 Example St, Concord, NH 03301"


def concord_match() -> Any:
    """The geocoder's match for ADDRESS."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.fakes.upstream import Match, sld_object

    return Match(
        matched_address="12 EXAMPLE ST, CONCORD, NH, 03301",
        state_fips="33",
        upper=[sld_object("upper", "33015", "15")],
        lower=[
            sld_object("lower", "33612", "Merrimack 12", name="State House District Merrimack 12")
        ],
    )


def fake_census() -> Any:
    """The tests' fake upstream servers (real HTTP on 127.0.0.1), knowing ADDRESS."""
    from tests.fakes.upstream import FakeUpstreams

    match = concord_match()
    fake = FakeUpstreams()
    fake.add_address(ADDRESS, match)
    return fake.start()


class CensusProcess:
    """The fake Census in its own process (``bench/fake_census.py``): every address found,
    each answer after the next of ``latencies`` (e.g. ``1.0x19,3.0``)."""

    def __init__(self, latencies: str, workdir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.latencies = latencies
        self.log_path = workdir / "fake-census.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CensusProcess:
        args = [sys.executable, "-m", "bench.fake_census", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*args, "--latencies", self.latencies],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(f"the fake Census exited with {self.process.returncode}")
            try:
                self.set_mode("ok")
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ServerStartError("the fake Census did not answer")

    def set_mode(self, mode: str) -> dict[str, Any]:
        """Switch the mode (ok, hang, 500...); the counts since the last switch."""
        status, body = get(self.port, f"/fake/mode?mode={mode}", timeout=5)
        if status != 200:
            raise OSError(f"the fake Census answered {status}")
        return dict(json.loads(body))

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# -- the SMTP sink -------------------------------------------------------------------------------

# A long Message-ID is folded: it starts on the line after its name.
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class SinkHandler:
    """Accepts everything; counts each Message-ID it receives."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()
        self.messages = 0
        self.without_id = 0
        self.first: float | None = None
        self.last: float | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = bytes(envelope.content)
        head = content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        with self.lock:
            self.last = time.perf_counter()
            if self.first is None:
                self.first = self.last
            self.messages += 1
            if found:
                self.ids[found.group(1).decode("ascii", "replace")] += 1
            else:
                self.without_id += 1
        return "250 Message accepted for delivery"


class SMTPSink:
    def __init__(self) -> None:
        self.handler = SinkHandler()
        self.port = free_port()
        self._controller: Any = None

    def start(self) -> SMTPSink:
        try:
            from aiosmtpd.controller import Controller
        except ImportError as exc:
            raise ServerStartError(
                "aiosmtpd is missing (pip install -e '.[test]' installs it)"
            ) from exc
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per SMTP command
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
