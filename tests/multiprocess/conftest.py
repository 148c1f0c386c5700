"""Real processes over one PostgreSQL database: gunicorn web hosts, `advocacy deliver --loop`
workers and `advocacy scheduler` processes, with an SMTP sink (aiosmtpd) and the fake Census.

Every process gets its own, empty instance folder: what they share is the database, the
secret key and the settings, as on several machines.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from flask import Flask

from tests.conftest import POSTGRES_URL, REPO
from tests.delivery.conftest import SMTPServer
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.conftest import app_config, directory, people_dir, upstream  # noqa: F401

NEEDS_POSTGRES = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="multi-process tests need PostgreSQL (set ADVOCACY_TEST_DATABASE_URL; ./dev test "
    "starts one): SQLite is one file on one machine",
)

BIN = Path(sys.executable).parent
WAIT = 60.0  # a safety net for a hung process, not a measurement
MAIL_FROM = "advocacy@speakup.example.org"
SECRET = "shared-secret-key-for-every-host"
METRICS_TOKEN = "scrape-token"


def wait_until(condition, timeout: float = WAIT, what: str = "condition", step: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(step)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture
def base_env(
    app: Flask,
    smtp: SMTPServer,
    upstream: FakeUpstreams,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> dict[str, str]:
    if not (BIN / "advocacy").exists() or not (BIN / "gunicorn").exists():
        pytest.fail(f"advocacy or gunicorn is missing from {BIN} (pip install -e .)")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ADVOCACY_", "FLASK_", "PROMETHEUS_", "GUNICORN_", "WEB_CONC"))
    }
    env.update(
        {
            "ADVOCACY_DATABASE_URL": str(app.config["DATABASE_URL"]),
            "ADVOCACY_SECRET_KEY": SECRET,
            "ADVOCACY_CAMPAIGNS_DIR": str(app.config["CAMPAIGNS_DIR"]),
            "ADVOCACY_DELIVERY_MODE": "smtp",
            "ADVOCACY_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
            "ADVOCACY_MAIL_FROM": MAIL_FROM,
            "ADVOCACY_CENSUS_GEOCODER_URL": upstream.base_url + "/geocoder",
            "ADVOCACY_OPENSTATES_DATA_URL": upstream.base_url + "/people/current",
            "ADVOCACY_OPENSTATES_VACANCIES_URL": upstream.base_url + "/settings.yml",
            "ADVOCACY_LOG_FORMAT": "json",
            "ADVOCACY_METRICS_TOKEN": METRICS_TOKEN,
            # Every simulated visitor comes from 127.0.0.1: per-address limits would refuse them.
            "ADVOCACY_RATELIMIT_SUBMIT": "",
            "ADVOCACY_RATELIMIT_LOOKUP": "",
            "ADVOCACY_RATELIMIT_SIGNIN": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class Proc:
    """One started process; its output goes to a file (no pipe to fill up)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: object = field(default=None, repr=False)

    def start(self) -> Proc:
        handle = self.log_path.open("ab")
        self._log = handle
        self.process = subprocess.Popen(
            self.args,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
            start_new_session=True,  # its own process group: kill the master and its workers
        )
        return self

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def signal_group(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float = WAIT) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self._log is not None:
                self._log.close()  # type: ignore[attr-defined]
                self._log = None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.process.wait(timeout=20)
        else:  # its workers may outlive a killed master
            self.signal_group(signal.SIGKILL)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None


class Cluster:
    """Starts processes and stops every one of them at the end of the test."""

    def __init__(self, base_env: dict[str, str], tmp_path: Path) -> None:
        self.base_env = base_env
        self.tmp_path = tmp_path
        self.procs: list[Proc] = []

    def env_for(self, name: str, **extra: str) -> dict[str, str]:
        instance = self.tmp_path / f"instance-{name}"  # its own, empty local folder
        env = {**self.base_env, "ADVOCACY_INSTANCE_DIR": str(instance), **extra}
        return env

    def start(self, name: str, args: list[str], **extra: str) -> Proc:
        proc = Proc(name, args, self.env_for(name, **extra), self.tmp_path / f"{name}.log")
        self.procs.append(proc)
        return proc.start()

    def web(self, name: str, port: int) -> WebHost:
        metrics_dir = self.tmp_path / f"prometheus-{name}"
        proc = self.start(
            name,
            [
                str(BIN / "gunicorn"),
                "--config",
                "python:advocacy.observability.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--graceful-timeout",
                "5",
                "advocacy:create_app()",
            ],
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        )
        host = WebHost(name, port, proc)
        host.wait_ready()
        return host

    def restart_web(self, host: WebHost) -> WebHost:
        return self.web(host.name + "-again", host.port)

    def worker(self, name: str) -> Proc:
        return self.start(
            name,
            [
                str(BIN / "advocacy"),
                "deliver",
                "--loop",
                "--interval",
                "0.2",
                "--batch",
                "25",
                "--name",
                name,
            ],
        )

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()

    def instance_dirs(self) -> list[Path]:
        return sorted(self.tmp_path.glob("instance-*"))


@dataclass
class WebHost:
    name: str
    port: int
    proc: Proc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        def up() -> bool:
            if self.proc.process is not None and self.proc.process.poll() is not None:
                pytest.fail(f"{self.name} exited early:\n{self.proc.output[-3000:]}")
            try:
                return requests.get(self.url + "/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, what=f"{self.name} to answer /healthz")


@pytest.fixture
def cluster(base_env: dict[str, str], tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(base_env, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


# -- a visitor, through real HTTP ------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="submission_key" value="([^"]+)"')
BODY = re.compile(r'<textarea id="(body-[0-9a-f]+)"')


class Visitor:
    """One person acting on a campaign through the web hosts, as through a load balancer:
    a step that cannot reach its host (refused, reset) is tried on the next host."""

    def __init__(
        self, index: int, hosts: list[str], slug: str, address: str, prefer: int | None = None
    ) -> None:
        self.index = index
        self.prefer = index if prefer is None else prefer  # which host it tries first
        self.hosts = hosts
        self.slug = slug
        self.address = address
        self.session = requests.Session()
        self.failovers = 0
        self.served_by: list[str] = []
        self.thanks: str | None = None

    def _request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        last: Exception | None = None
        for attempt in range(8):
            host = self.hosts[(self.prefer + attempt) % len(self.hosts)]
            try:
                response = self.session.request(
                    method, host + path, allow_redirects=False, timeout=30, **kwargs
                )
            except requests.ConnectionError as exc:
                last = exc
                self.failovers += 1
                time.sleep(0.05 * attempt)
                continue
            self.served_by.append(host)
            return response
        raise AssertionError(f"visitor {self.index}: no host answered {method} {path}: {last}")

    def start(self) -> None:
        page = self._request("GET", f"/c/{self.slug}")
        assert page.status_code == 200, page.text[:500]
        form = {
            "name": f"Visitor {self.index}",
            "email": f"visitor{self.index}@example.org",
            "street_address": self.address,
            "phone": "",
        }
        acted = self._request("POST", f"/c/{self.slug}/act", data=form)
        assert acted.status_code == 303, acted.text[:500]
        if not acted.headers["Location"].endswith("/write"):
            said = self._request("GET", acted.headers["Location"]).text
            said = " ".join(said.split())  # the page's main part says why
            raise AssertionError(f"{acted.headers['Location']}: {said[said.find('<main') :][:900]}")
        write = self._request("GET", f"/c/{self.slug}/write")
        assert write.status_code == 200, write.text[:500]
        self.write_page = write.text

    def send(self) -> str:
        token = CSRF.search(self.write_page)
        key = KEY.search(self.write_page)
        assert token and key and BODY.search(self.write_page)
        sent = self._request(
            "POST",
            f"/c/{self.slug}/send",
            data={"csrf_token": token.group(1), "submission_key": key.group(1)},
        )
        assert sent.status_code == 303, sent.text[:500]
        assert sent.headers["Location"] == f"/c/{self.slug}/thanks/{key.group(1)}"
        self.thanks = key.group(1)
        return self.thanks
