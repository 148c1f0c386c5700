"""The Procfile, Dockerfile and compose.yaml describe the same process model, with commands
that exist. (No Docker engine runs here: docs/deploy.md says how the examples were checked.)"""

from __future__ import annotations

import json
import re
import shlex

import yaml
from flask import Flask

from advocacy.observability import gunicorn_conf
from tests.conftest import REPO

WEB = 'gunicorn --config python:advocacy.observability.gunicorn_conf "advocacy:create_app()"'


def procfile() -> dict[str, str]:
    roles = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        found = re.fullmatch(r"([a-z]+):\s*(.+)", line)
        if found:
            roles[found.group(1)] = found.group(2)
    return roles


def test_procfile_names_the_process_model() -> None:
    roles = procfile()
    assert roles == {
        "release": "advocacy db upgrade && advocacy campaigns sync",
        "web": WEB,
        "worker": "advocacy deliver --loop",
        "scheduler": "advocacy scheduler",
        "inbound": "advocacy inbound --host 0.0.0.0 --port 2525",
    }


def test_procfile_commands_exist(app: Flask) -> None:
    runner = app.test_cli_runner()
    for args in (
        ["db", "upgrade", "--help"],
        ["campaigns", "sync", "--help"],
        ["deliver", "--help"],
        ["scheduler", "--help"],
        ["inbound", "--help"],
        ["jobs", "run", "--help"],
        ["metrics", "serve", "--help"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output)
    assert "--loop" in runner.invoke(args=["deliver", "--help"]).output
    assert "--once" in runner.invoke(args=["scheduler", "--help"]).output
    assert gunicorn_conf.accesslog is None  # the app logs requests itself, without queries
    assert callable(gunicorn_conf.child_exit) and callable(gunicorn_conf.on_starting)


def test_dockerfile_runs_the_procfile_web_command() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert "AN EXAMPLE" in text and "docs/deploy.md" in text
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd is not None
    assert json.loads(cmd.group(1)) == shlex.split(WEB)
    assert re.search(r"^USER \d+$", text, re.MULTILINE)  # not root
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"instance", ".venv", ".git", "secret_key", ".env"} <= set(ignored)


def test_compose_example_matches_the_procfile() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker", "scheduler"}
    roles = procfile()
    assert shlex.join(services["web"]["command"]) == shlex.join(shlex.split(WEB))
    assert shlex.join(services["worker"]["command"]) == roles["worker"]
    assert shlex.join(services["scheduler"]["command"]) == roles["scheduler"]
    assert services["migrate"]["command"][-1] == roles["release"]
    for name in ("web", "worker", "scheduler"):
        env = services[name]["environment"]
        assert "ADVOCACY_SECRET_KEY" in env and env["ADVOCACY_DATABASE_URL"].startswith(
            "postgresql+psycopg://"
        )
        assert env["ADVOCACY_RATELIMIT_STORAGE_URL"] == "redis://redis:6379/0"
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert "PROMETHEUS_MULTIPROC_DIR" in services["web"]["environment"]
    assert "PROMETHEUS_MULTIPROC_DIR" not in services["worker"]["environment"]


def test_docs_say_the_examples_are_examples() -> None:
    deploy = (REPO / "docs" / "deploy.md").read_text()
    for phrase in ("examples", "docker-compose config", "hadolint", "advocacy db upgrade"):
        assert phrase in deploy, phrase
    readme = (REPO / "README.md").read_text()
    assert "[docs/deploy.md](docs/deploy.md)" in readme and "are examples" in readme
