"""Schema comes from migrations only; settings come from the environment with safe defaults."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask_migrate import downgrade, upgrade

from advocacy import create_app
from advocacy.cli import main
from advocacy.config import SETTINGS, ConfigError, reference, settings_table
from advocacy.extensions import db
from tests.conftest import POSTGRES_URL, REPO


@pytest.mark.skipif(bool(POSTGRES_URL), reason="runs on a private SQLite file")
def test_migrations_run_from_empty_to_head_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": str(tmp_path)})
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        assert db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        db.engine.dispose()


def test_models_match_migrations(app: object) -> None:
    """Autogenerate finds nothing to add: the migrations describe the models exactly."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_defaults_need_no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ADVOCACY_"):
            monkeypatch.delenv(name)
    app = create_app({"INSTANCE_DIR": str(tmp_path / "instance")})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'advocacy.sqlite3'}"
    assert app.config["DELIVERY_MODE"] == "log"
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = create_app({"INSTANCE_DIR": str(tmp_path / "instance")})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert Path(app.config["CAMPAIGNS_DIR"]) == REPO / "campaigns"


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVOCACY_DELIVERY_MODE", "redirect")
    monkeypatch.setenv("ADVOCACY_REDIRECT_TO", "staging@example.org")
    monkeypatch.setenv("ADVOCACY_SMTP_URL", "smtp://mail.example.org:2525")
    monkeypatch.setenv("ADVOCACY_SECRET_KEY", "from-env")
    monkeypatch.setenv("ADVOCACY_TRUSTED_PROXIES", "2")
    app = create_app({"INSTANCE_DIR": str(tmp_path)})
    assert app.config["DELIVERY_MODE"] == "redirect"
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"]) == ("mail.example.org", 2525)
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["TRUSTED_PROXIES"] == 2
    assert not (tmp_path / "secret_key").exists()
    assert app.config["MAIL_LOG_DIR"] == str(tmp_path / "mail-log")


def test_the_open_states_key_is_read_with_or_without_the_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADVOCACY_OPENSTATES_API_KEY", raising=False)
    monkeypatch.setenv("OPENSTATES_API_KEY", "plain-key")
    assert create_app({"INSTANCE_DIR": str(tmp_path)}).config["OPENSTATES_API_KEY"] == "plain-key"
    monkeypatch.setenv("ADVOCACY_OPENSTATES_API_KEY", "prefixed-key")
    app = create_app({"INSTANCE_DIR": str(tmp_path)})
    assert app.config["OPENSTATES_API_KEY"] == "prefixed-key"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://localhost", ("localhost", 25, False, False, "", "")),
        ("smtp://10.0.0.5:2525", ("10.0.0.5", 2525, False, False, "", "")),
        (
            "smtp+starttls://mailer:s3cret@smtp.example.org",
            ("smtp.example.org", 587, True, False, "mailer", "s3cret"),
        ),
        (
            "smtps://me%40example.org:p%40ss%3Aw%2Fo%23rd@mail.example.org:2465/",
            ("mail.example.org", 2465, False, True, "me@example.org", "p@ss:w/o#rd"),
        ),
    ],
)
def test_the_smtp_url_gives_the_mail_settings(
    tmp_path: Path, url: str, expected: tuple[object, ...]
) -> None:
    config = create_app({"INSTANCE_DIR": str(tmp_path), "SMTP_URL": url}).config
    names = ("SERVER", "PORT", "USE_TLS", "USE_SSL", "USERNAME", "PASSWORD")
    assert tuple(config[f"MAIL_{name}"] for name in names) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mail.example.org:25", "must start with smtp://"),
        ("smtp+tls://mail.example.org", "must start with smtp://"),
        ("smtp://mail.example.org:twenty-five", "port is not a number"),
        ("smtp://", "names no host"),
        ("smtp://user:pa/ss@mail.example.org", "percent-encode"),
    ],
)
def test_an_unusable_smtp_url_is_named_without_its_password(
    tmp_path: Path, url: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected) as raised:
        create_app({"INSTANCE_DIR": str(tmp_path), "SMTP_URL": url})
    assert "ADVOCACY_SMTP_URL" in str(raised.value) and "pa/ss" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("ADVOCACY_DELIVERY_MODE", "email-everyone", "DELIVERY_MODE must be one of"),
        ("ADVOCACY_TRUSTED_PROXIES", "one", "ADVOCACY_TRUSTED_PROXIES"),
        ("ADVOCACY_TRUSTED_PROXIES", "-1", "ADVOCACY_TRUSTED_PROXIES"),
        ("ADVOCACY_REQUIRE_CONFIRMATION", "perhaps", "expected a boolean"),
        ("ADVOCACY_TIMEZONE", "Mars/Olympus_Mons", "ADVOCACY_TIMEZONE"),
        ("ADVOCACY_TIMEZONE", "../etc/passwd", "ADVOCACY_TIMEZONE"),
    ],
)
def test_bad_settings_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=expected):
        create_app({"INSTANCE_DIR": str(tmp_path)})


def test_redirect_mode_needs_an_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVOCACY_DELIVERY_MODE", "redirect")
    monkeypatch.delenv("ADVOCACY_REDIRECT_TO", raising=False)
    with pytest.raises(ConfigError, match="REDIRECT_TO"):
        create_app({"INSTANCE_DIR": str(tmp_path)})


def test_docs_configuration_md_is_what_the_generator_prints() -> None:
    written = (REPO / "docs" / "configuration.md").read_text()
    assert written == reference(), (
        "docs/configuration.md is out of date: run `advocacy config reference > "
        "docs/configuration.md`"
    )
    printed = CliRunner().invoke(main, ["config", "reference"])
    assert printed.exit_code == 0 and printed.output == written


def test_the_readme_shows_the_common_settings() -> None:
    readme = (REPO / "README.md").read_text()
    common = [setting for setting in SETTINGS if setting.common]
    assert 10 <= len(common) <= 16
    assert settings_table(common) in readme
    assert "docs/configuration.md" in readme


def test_the_documents_name_only_settings_that_exist() -> None:
    names = {f"ADVOCACY_{setting.name}" for setting in SETTINGS} | {"ADVOCACY_TEST_DATABASE_URL"}
    documents = ["README.md", "SECURITY.md", "compose.yaml", "Dockerfile", "docs/deploy.md"]
    for document in documents:
        text = (REPO / document).read_text()
        named = set(re.findall(r"ADVOCACY_[A-Z_]*[A-Z]", text)) - {"ADVOCACY_RATELIMIT"}
        assert named <= names, (document, named - names)


def test_the_settings_stay_few() -> None:
    """A deployer reads every setting; fixed policies are constants in the code instead."""
    assert len(SETTINGS) <= 32
    assert len({setting.name for setting in SETTINGS}) == len(SETTINGS)


@pytest.mark.skipif(bool(POSTGRES_URL), reason="runs on a private SQLite file")
def test_a_sqlite_file_runs_in_write_ahead_log_mode_without_pre_ping(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wal.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": str(tmp_path)})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
    with app.app_context():
        with db.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        db.engine.dispose()
    assert mode == "wal"
    assert synchronous == 2  # FULL: a committed submission survives a power cut


def test_a_server_database_tests_each_connection_before_use(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"  # never connected to here
    config = create_app({"DATABASE_URL": url, "INSTANCE_DIR": str(tmp_path)}).config
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    sqlite = create_app({"INSTANCE_DIR": str(tmp_path / "other")}).config
    assert sqlite["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
