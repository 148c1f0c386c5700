"""Settings: embedded safe defaults, overridden by ``ADVOCACY_*`` environment variables.

Every setting is listed in ``SETTINGS`` with its type and default so the README table, the
environment parser and the tests share one source.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ENV_PREFIX = "ADVOCACY_"
DELIVERY_MODES = ("log", "redirect", "smtp")


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {raw!r}")


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        str,
        None,
        "SQLAlchemy URL. Default: SQLite file `instance/advocacy.sqlite3`.",
    ),
    Setting(
        "DATABASE_PING_IDLE_SECONDS",
        float,
        5.0,
        "A pooled connection to a server database that sat unused for longer than this is "
        "tested (one round trip) before a request uses it; 0 tests every one. One used less "
        "than this ago is taken as alive: if the server restarted in between, that one request "
        "fails and the pool reconnects. (SQLite: not used.)",
    ),
    Setting(
        "SECRET_KEY",
        str,
        None,
        "Session/CSRF signing key. Default: generated once into `instance/secret_key` (0600).",
    ),
    Setting("INSTANCE_DIR", str, None, "Folder for local state. Default: `instance/`."),
    Setting("CAMPAIGNS_DIR", str, None, "Folder of campaign YAML files. Default: `campaigns/`."),
    Setting("SITE_NAME", str, "Speak Up", "Name shown in the header and mail signatures."),
    Setting(
        "SITE_URL",
        str,
        "http://127.0.0.1:5000",
        "The address visitors use, for the links in pages and messages. An `https://` address "
        "also makes the cookies Secure and sends HSTS (one year).",
    ),
    Setting("TIMEZONE", str, "UTC", "Time zone for dates shown and for tally day boundaries."),
    Setting(
        "DELIVERY_MODE",
        str,
        "log",
        "`log` (default: write messages to a local file, send nothing), `redirect` "
        "(send everything to ADVOCACY_REDIRECT_TO) or `smtp` (real recipients).",
    ),
    Setting("REDIRECT_TO", str, "", "Address that receives every message in `redirect` mode."),
    Setting(
        "MAIL_LOG_DIR",
        str,
        None,
        "Where `log` mode writes messages. Default: `instance/mail-log/`.",
    ),
    Setting(
        "MAIL_FROM",
        str,
        "advocacy@localhost",
        "From address of every message (the constituent goes in Reply-To).",
    ),
    Setting(
        "SMTP_URL",
        str,
        "smtp://localhost",
        "The mail server of the `smtp` and `redirect` modes: `smtp://HOST:PORT` (plain, port 25 "
        "by default), `smtp+starttls://HOST` (STARTTLS, 587) or `smtps://HOST` (TLS from the "
        "start, 465), with `USER:PASSWORD@` before the host when the server wants a login. "
        "Percent-encode `@ : / ? # %` in the user name and password (`%40` for `@`).",
    ),
    Setting("MAIL_TIMEOUT", float, 15.0, "Seconds before an SMTP connection attempt gives up."),
    Setting(
        "MAIL_HTML_ALTERNATIVE",
        _bool,
        False,
        "Also send an HTML part made from the plain text (escaped; paragraphs and line breaks "
        "only). Plain text stays the primary part.",
    ),
    Setting("DELIVERY_MAX_ATTEMPTS", int, 6, "Tries before a message is dead-lettered."),
    Setting("DELIVERY_BACKOFF_SECONDS", float, 30.0, "First retry delay; doubles each try."),
    Setting(
        "DELIVERY_THREADS",
        int,
        2,
        "Messages an `advocacy deliver` process sends at once (threads, each with its own "
        "SMTP connection and claims).",
    ),
    Setting(
        "DUPLICATE_WINDOW_HOURS",
        int,
        24,
        "The same person acting on the same campaign again within this window is refused.",
    ),
    Setting(
        "CENSUS_GEOCODER_URL",
        str,
        "https://geocoding.geo.census.gov/geocoder",
        "US Census Geocoder base URL.",
    ),
    Setting("CENSUS_BENCHMARK", str, "Public_AR_Current", "Census benchmark name or id."),
    Setting("CENSUS_VINTAGE", str, "Current_Current", "Census vintage name or id."),
    Setting("CENSUS_TIMEOUT", float, 10.0, "Seconds per Census request."),
    Setting("CENSUS_RETRIES", int, 2, "Retries after a failed Census request (with backoff)."),
    Setting(
        "OPENSTATES_DATA_URL",
        str,
        "https://data.openstates.org/people/current",
        "Base of Open States' bulk people CSVs (`{abbr}.csv`), or a local folder.",
    ),
    Setting(
        "OPENSTATES_VACANCIES_URL",
        str,
        "https://raw.githubusercontent.com/openstates/people/main/settings.yml",
        "Open States' list of known vacant seats (`settings.yml`).",
    ),
    Setting(
        "OPENSTATES_API_URL",
        str,
        "https://v3.openstates.org",
        "Open States API v3 base URL (only used when OPENSTATES_API_KEY is set).",
    ),
    Setting("OPENSTATES_TIMEOUT", float, 30.0, "Seconds per Open States download."),
    Setting("LOOKUP_CACHE_TTL", int, 7 * 24 * 3600, "Seconds an address lookup stays cached."),
    Setting(
        "PUBLIC_CACHE_SECONDS",
        float,
        1.0,
        "Seconds a process may serve a public page (the campaign page, the steps of the action "
        "flow, the address step) or a repeated lookup with what it read from the database that "
        "long ago (0: ask on every request). A send may use legislators' contact details that "
        "old too, but is written only while the campaign still has the status and version read.",
    ),
    Setting(
        "DIRECTORY_MAX_AGE_DAYS",
        int,
        14,
        "A state's directory older than this is flagged as stale.",
    ),
    # -- operations: logs, metrics, health, scheduled jobs (advocacy/observability, jobs) --
    Setting(
        "LOG_FORMAT",
        str,
        "text",
        "`text` (one readable line per event) or `json` (one JSON object per line); "
        "both carry the request id.",
    ),
    Setting("LOG_LEVEL", str, "INFO", "Lowest level logged: DEBUG, INFO, WARNING or ERROR."),
    Setting(
        "METRICS_TOKEN",
        str,
        "",
        "Serve Prometheus metrics at `/metrics` to `Authorization: Bearer` this token. "
        "Empty: no `/metrics` on the site (use `advocacy metrics serve`).",
    ),
    Setting(
        "READY_MAX_OUTBOX_BACKLOG",
        int,
        10000,
        "`/readyz` fails when more outbox messages than this are waiting (0: no check).",
    ),
    Setting(
        "READY_CHECK_DIRECTORY",
        _bool,
        True,
        "`/readyz` fails when no state's roster is loaded or one is older than "
        "ADVOCACY_DIRECTORY_MAX_AGE_DAYS.",
    ),
    Setting(
        "DIRECTORY_REFRESH_HOURS",
        float,
        24.0,
        "The scheduler reloads the directory this often (0: never; "
        "`advocacy jobs run directory-refresh` still works).",
    ),
    Setting(
        "DIRECTORY_REFRESH_STATES",
        str,
        "",
        "Comma-separated states the refresh reloads. Empty: the states already loaded "
        "(every state when none is).",
    ),
    Setting(
        "CAMPAIGN_SCHEDULE_MINUTES",
        float,
        1.0,
        "How often the scheduler records campaigns opening and ending at their set times "
        "(0: never).",
    ),
    Setting(
        "RETENTION_INTERVAL_HOURS",
        float,
        24.0,
        "How often the scheduler applies the retention policy (0: never).",
    ),
    Setting(
        "DEAD_LETTER_CHECK_MINUTES",
        float,
        5.0,
        "How often the scheduler looks for new dead letters and alerts (0: never).",
    ),
    Setting(
        "ALERT_EMAIL",
        str,
        "",
        "Staff address that gets an alert mail when new dead letters appear (through the "
        "delivery mode: `log` writes it to the mail log). Empty: the alert is only logged.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        int,
        0,
        "How many reverse proxies in front of the site add X-Forwarded-For, -Proto, -Host and "
        "-Port. Their values give the client's address (rate limits, audit log) and https. "
        "0: none; keep 0 when nothing is in front, or anyone could forge them.",
    ),
    Setting(
        "RETENTION_DAYS",
        int,
        0,
        "Personal data of actions older than this many days is removed by `advocacy retention "
        "apply` (and the scheduler); tallies stay the same. 0: keep everything.",
    ),
    # -- security: rate limits, headers, hosts, proxies (advocacy/security.py, SECURITY.md) --
    Setting(
        "RATELIMIT_ENABLED",
        _bool,
        True,
        "Limit how often one client address may submit forms, look up addresses and sign in "
        "(past a limit: a 429 page with Retry-After).",
    ),
    Setting(
        "RATELIMIT_STORAGE_URL",
        str,
        "memory://",
        "Where the rate-limit counts live: `memory://` (each process counts on its own) or "
        "`redis://HOST:6379/0`, shared by every web process and host.",
    ),
    Setting(
        "RATELIMIT_SUBMIT",
        str,
        "10 per minute;100 per day",
        "Form submissions (campaign form, district choice, send, \"I called\") per client "
        "address, all together; `;` separates limits. Empty: no limit.",
    ),
    Setting(
        "RATELIMIT_LOOKUP",
        str,
        "30 per minute",
        "Address lookups (`/api/lookup`, `/find?address=`) per client address. Empty: no limit.",
    ),
    Setting(
        "RATELIMIT_SIGNIN",
        str,
        "10 per minute",
        "Staff sign-in attempts per client address. Empty: no limit. Besides, an account "
        "with 5 failed sign-ins is refused for 15 minutes (SECURITY.md).",
    ),
    Setting(
        "TRUSTED_HOSTS",
        str,
        "",
        "Comma-separated host names the site answers to (`.example.org` also matches its "
        "subdomains); any other Host header gets a 400 page. Empty: every host.",
    ),
    Setting(
        "REQUIRE_CONFIRMATION",
        _bool,
        False,
        "Hold each action's messages until the visitor clicks the link in a confirmation "
        "email sent to them; unconfirmed actions expire and are never delivered.",
    ),
    Setting(
        "CONFIRMATION_HOURS",
        int,
        48,
        "How long a confirmation link works; the `expire-unconfirmed` job then drops the "
        "action's held messages.",
    ),
)

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}

# SMTP URL scheme: (default port, STARTTLS, TLS from the start).
SMTP_SCHEMES: dict[str, tuple[int, bool, bool]] = {
    "smtp": (25, False, False),
    "smtp+starttls": (587, True, False),
    "smtps": (465, False, True),
}


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def is_https(site_url: object) -> bool:
    """Whether the site is served over https (Secure cookies, HSTS)."""
    return str(site_url or "").strip().lower().startswith("https://")


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(ENV_PREFIX + setting.name)
        if raw is None:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{ENV_PREFIX}{setting.name}: {exc}") from exc
    # Open States documents its key without our prefix; accept both spellings.
    values["OPENSTATES_API_KEY"] = environ.get(
        ENV_PREFIX + "OPENSTATES_API_KEY", environ.get("OPENSTATES_API_KEY", "")
    )
    return values


def smtp_settings(url: str) -> dict[str, Any]:
    """The MAIL_* values (Flask-Mail's names, which the mailer reads) of an SMTP URL."""
    name = f"{ENV_PREFIX}SMTP_URL"
    parts = urlsplit(str(url).strip())
    scheme = parts.scheme.lower()
    if scheme not in SMTP_SCHEMES:
        raise ConfigError(f"{name} must start with smtp://, smtp+starttls:// or smtps://")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"{name} has a path, ? or #: percent-encode / ? # in the user name and password"
        )
    try:
        port = parts.port
    except ValueError as exc:  # its message would show the URL, password included
        raise ConfigError(f"{name}: the port is not a number from 1 to 65535") from exc
    if not parts.hostname:
        raise ConfigError(f"{name} names no host")
    default_port, starttls, tls = SMTP_SCHEMES[scheme]
    return {
        "MAIL_SERVER": parts.hostname,
        "MAIL_PORT": port or default_port,
        "MAIL_USE_TLS": starttls,
        "MAIL_USE_SSL": tls,
        "MAIL_USERNAME": unquote(parts.username or ""),
        "MAIL_PASSWORD": unquote(parts.password or ""),
    }


def persistent_secret_key(instance_dir: Path) -> str:
    """Return the key stored in the instance folder, creating it (mode 0600) on first use."""
    key_file = instance_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def build_config(
    overrides: Mapping[str, Any] | None, environ: Mapping[str, str], default_instance: Path
) -> dict[str, Any]:
    """Merge defaults, environment and explicit overrides; fill derived defaults."""
    config = read_environment(environ)
    config.update(overrides or {})

    instance_dir = Path(config["INSTANCE_DIR"] or default_instance)
    config["INSTANCE_DIR"] = str(instance_dir)
    instance_dir.mkdir(parents=True, exist_ok=True)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance_dir / 'advocacy.sqlite3'}"
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = persistent_secret_key(instance_dir)
    if not config["CAMPAIGNS_DIR"]:
        config["CAMPAIGNS_DIR"] = str(project_root() / "campaigns")
    if not config["MAIL_LOG_DIR"]:
        config["MAIL_LOG_DIR"] = str(instance_dir / "mail-log")
    if config["DELIVERY_MODE"] not in DELIVERY_MODES:
        raise ConfigError(
            f"{ENV_PREFIX}DELIVERY_MODE must be one of {', '.join(DELIVERY_MODES)}, "
            f"not {config['DELIVERY_MODE']!r}"
        )
    if config["DELIVERY_MODE"] == "redirect" and not config["REDIRECT_TO"]:
        raise ConfigError(f"{ENV_PREFIX}DELIVERY_MODE=redirect needs {ENV_PREFIX}REDIRECT_TO")

    # Names the Flask extensions read.
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    # A server database may restart under the pool: test a connection before use, every
    # one (0), or (database.init_app) one that sat unused for DATABASE_PING_IDLE_SECONDS. A
    # SQLite file cannot go away like that, and the test would cost every request a query.
    sqlite = str(config["DATABASE_URL"]).startswith("sqlite")
    if config["DATABASE_PING_IDLE_SECONDS"] < 0:
        raise ConfigError(f"{ENV_PREFIX}DATABASE_PING_IDLE_SECONDS must be 0 or more")
    every_time = not sqlite and config["DATABASE_PING_IDLE_SECONDS"] == 0
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": every_time}
    config.update(smtp_settings(config["SMTP_URL"]))
    config["MAIL_DEFAULT_SENDER"] = config["MAIL_FROM"]
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    secure = is_https(config["SITE_URL"])
    config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = secure
    config["SESSION_COOKIE_HTTPONLY"] = config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    config.setdefault("PERMANENT_SESSION_LIFETIME", 12 * 3600)
    return config
