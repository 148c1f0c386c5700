"""Settings: safe defaults, overridden by ``ADVOCACY_*`` environment variables.

``SETTINGS`` lists every setting with its type, default and meaning. The environment parser,
docs/configuration.md (``advocacy config reference``) and the README's short table are all
made from it, and tests check the documents still match.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "ADVOCACY_"
DELIVERY_MODES = ("log", "redirect", "smtp")
# Also read without the prefix: Open States documents its key as OPENSTATES_API_KEY.
UNPREFIXED = frozenset({"OPENSTATES_API_KEY"})


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {raw!r}")


# The local part of bounce addresses before "+": no "+" of its own, lower case.
BOUNCE_PREFIX_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,30}[a-z0-9])?")


def _bounce_prefix(raw: str) -> str:
    value = raw.strip().lower()
    if value and not BOUNCE_PREFIX_PATTERN.fullmatch(value):
        raise ValueError(
            "expected up to 32 letters, digits, dots, dashes or underscores (no '+'), "
            "e.g. bounces"
        )
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    shown: str = ""  # the default as the documents show it, when it is worked out at start
    common: bool = False  # one of the settings most sites set (the README's short table)


SITE: tuple[Setting, ...] = (
    Setting(
        "SITE_NAME",
        str,
        "Speak Up",
        "Name shown in the page header and mail signatures.",
        common=True,
    ),
    Setting(
        "SITE_URL",
        str,
        "http://127.0.0.1:5000",
        "The address visitors use, for the links in pages and messages. An `https://` address "
        "also makes the cookies Secure and sends HSTS (one year).",
        common=True,
    ),
    Setting(
        "TIMEZONE",
        str,
        "UTC",
        "Time zone of the dates the site shows and of the day boundaries in tallies, e.g. "
        "`America/New_York`.",
        common=True,
    ),
    Setting(
        "DATABASE_URL",
        str,
        None,
        "SQLAlchemy database URL, e.g. `postgresql+psycopg://USER:PASSWORD@HOST:5432/DB`.",
        shown="SQLite file `instance/advocacy.sqlite3`",
        common=True,
    ),
    Setting(
        "SECRET_KEY",
        str,
        None,
        "Signs sessions, CSRF tokens and visitors' drafts. Set the same value on every host.",
        shown="generated once into `instance/secret_key` (mode 0600)",
        common=True,
    ),
    Setting(
        "INSTANCE_DIR",
        str,
        None,
        "Folder of this host's own files: the default SQLite database, the generated key and "
        "the messages of the `log` delivery mode (`mail-log/`).",
        shown="`instance/`",
    ),
    Setting(
        "CAMPAIGNS_DIR",
        str,
        None,
        "Folder of the campaign YAML files that `advocacy campaigns sync` loads.",
        shown="`campaigns/`",
    ),
)

MAIL: tuple[Setting, ...] = (
    Setting(
        "DELIVERY_MODE",
        str,
        "log",
        "`log` writes each message to `instance/mail-log/` and sends nothing; `redirect` sends "
        "every message to ADVOCACY_REDIRECT_TO; `smtp` sends to the real recipients.",
        common=True,
    ),
    Setting(
        "REDIRECT_TO",
        str,
        "",
        "The one address that gets every message in `redirect` mode (for rehearsals).",
        common=True,
    ),
    Setting(
        "MAIL_FROM",
        str,
        "advocacy@localhost",
        "From address of every message; the constituent's address goes in Reply-To.",
        common=True,
    ),
    Setting(
        "SMTP_URL",
        str,
        "smtp://localhost",
        "The mail server of the `smtp` and `redirect` modes: `smtp://HOST:PORT` (plain, port 25 "
        "by default), `smtp+starttls://HOST` (STARTTLS, 587) or `smtps://HOST` (TLS from the "
        "start, 465), with `USER:PASSWORD@` before the host when the server wants a login. "
        "Percent-encode `@ : / ? # %` in the user name and password (`%40` for `@`).",
        common=True,
    ),
    Setting(
        "BOUNCE_ADDRESS_PREFIX",
        _bounce_prefix,
        "",
        "Send each message to a recipient with its own envelope sender, "
        "`PREFIX+TOKEN@` the domain of ADVOCACY_MAIL_FROM (e.g. `bounces`), so a bounce that "
        "arrives later marks that message bounced (`advocacy inbound`, docs/deploy.md). "
        "Empty: bounces go to ADVOCACY_MAIL_FROM, as mail from staff always does.",
    ),
    Setting(
        "REQUIRE_CONFIRMATION",
        _bool,
        False,
        "Hold each action's messages until the visitor clicks the link in a mail sent to them; "
        "actions not confirmed within 48 hours are never delivered.",
        common=True,
    ),
    Setting(
        "DIGEST_HOUR",
        int,
        17,
        "Hour of the day (0 to 23, in ADVOCACY_TIMEZONE) at which a campaign with "
        "`delivery: {legislators: digest}` sends each legislator the day's digest of its "
        "messages.",
    ),
    Setting(
        "ALERT_EMAIL",
        str,
        "",
        "Staff address mailed (through the delivery mode) when messages could not be "
        "delivered, and when a directory refresh changes or refuses a state's roster. Empty: "
        "alerts are only logged.",
        common=True,
    ),
)

LOOKUP: tuple[Setting, ...] = (
    Setting(
        "CENSUS_GEOCODER_URL",
        str,
        "https://geocoding.geo.census.gov/geocoder",
        "US Census Geocoder, which finds the districts of an address.",
    ),
    Setting(
        "CENSUS_MAX_CONCURRENT",
        int,
        16,
        "Requests to the Census geocoder at once, per process (a gunicorn worker counts as one: "
        "the host's limit is workers × this). Lookups beyond it wait up to 4.5 seconds for a "
        "turn, then the visitor picks their district by hand. The geocoder is a free public "
        "service: raise it only as far as your traffic needs.",
    ),
    Setting(
        "OPENSTATES_DATA_URL",
        str,
        "https://github.com/openstates/people/archive/refs/heads/main.tar.gz",
        "Where legislator rosters come from: Open States' people repository as a `.tar.gz` "
        "archive (URL or file; read as a stream) or a folder holding its `data/` folder, with "
        "phones, offices and term dates. Any other URL or folder is read as the base of Open "
        "States' per-state CSV files (`{abbr}.csv`, e.g. `https://data.openstates.org/people/"
        "current`), which have fewer phone numbers.",
    ),
    Setting(
        "OPENSTATES_VACANCIES_URL",
        str,
        "https://raw.githubusercontent.com/openstates/people/main/settings.yml",
        "Open States' list of known vacant seats (`settings.yml`), for rosters read from a URL "
        "(a local source uses the `settings.yml` in or beside it).",
    ),
    Setting(
        "OPENSTATES_API_URL",
        str,
        "https://v3.openstates.org",
        "Open States API v3, used only with an API key.",
    ),
    Setting(
        "OPENSTATES_API_KEY",
        str,
        "",
        "Optional Open States API key: each new lookup's districts are then checked against "
        "Open States too. `OPENSTATES_API_KEY` without the prefix works as well.",
    ),
)

SECURITY: tuple[Setting, ...] = (
    Setting(
        "TRUSTED_PROXIES",
        int,
        0,
        "How many reverse proxies in front of the site add X-Forwarded-For, -Proto, -Host and "
        "-Port. Their values give the client's address (rate limits, audit log) and https. "
        "0: none; keep 0 when nothing is in front, or anyone could forge them.",
        common=True,
    ),
    Setting(
        "TRUSTED_HOSTS",
        str,
        "",
        "Comma-separated host names the site answers to (`.example.org` also matches its "
        "subdomains); any other Host header gets a 400 page. Empty: any host.",
        common=True,
    ),
    Setting(
        "RATELIMIT_STORAGE_URL",
        str,
        "memory://",
        "Where rate-limit counts are kept: `memory://` (each process counts on its own) or "
        "`redis://HOST:6379/0`, shared by every process and host.",
        common=True,
    ),
    Setting(
        "RATELIMIT_SUBMIT",
        str,
        "10 per minute;100 per day",
        'Public form posts (campaign form, district choice, send, "I called") per client '
        "address, all together; `;` separates limits. Empty: no limit.",
    ),
    Setting(
        "RATELIMIT_LOOKUP",
        str,
        "30 per minute",
        "Address lookups (`/api/lookup`, `/find?address=`) per client address. Empty: no limit.",
    ),
    Setting(
        "RATELIMIT_COACH",
        str,
        "60 per minute;1000 per day",
        "Checks of a message by the write page's personalization coach as the visitor types "
        "(one per pause in typing) per client address. Empty: no limit.",
    ),
    Setting(
        "RATELIMIT_SIGNIN",
        str,
        "10 per minute",
        "Staff sign-in attempts per client address. Empty: no limit. Besides, an account "
        "with 5 failed sign-ins is refused for 15 minutes (SECURITY.md).",
    ),
)

OPERATIONS: tuple[Setting, ...] = (
    Setting(
        "RETENTION_DAYS",
        int,
        0,
        "Personal data of actions older than this many days is removed (daily by the "
        "scheduler, or `advocacy retention apply`); tallies stay the same. 0: keep everything.",
        common=True,
    ),
    Setting(
        "LOG_FORMAT",
        str,
        "text",
        "`text` (a readable line per event) or `json` (a JSON object per line); both carry "
        "the request id.",
    ),
    Setting("LOG_LEVEL", str, "INFO", "Lowest level logged: DEBUG, INFO, WARNING or ERROR."),
    Setting(
        "METRICS_TOKEN",
        str,
        "",
        "Serve Prometheus metrics at `/metrics` to requests with `Authorization: Bearer` and "
        "this token. Empty: no `/metrics` on the site (`advocacy metrics serve` serves them on "
        "a port of its own).",
    ),
)

TOPICS: tuple[tuple[str, tuple[Setting, ...]], ...] = (
    ("The site and its storage", SITE),
    ("Sending messages", MAIL),
    ("Address lookups and the legislator directory", LOOKUP),
    ("Security", SECURITY),
    ("Privacy and operations", OPERATIONS),
)
SETTINGS: tuple[Setting, ...] = tuple(setting for _, group in TOPICS for setting in group)

# Values that the delivery, action and lookup code reads from app.config but no environment
# variable sets: fixed policies (a test may pass another value to create_app).
FIXED_VALUES: dict[str, Any] = {
    "DELIVERY_THREADS": 2,  # messages one `advocacy deliver` sends at once, unless --threads
    "DELIVERY_MAX_ATTEMPTS": 6,  # tries before a message is dead-lettered
    "DELIVERY_BACKOFF_SECONDS": 30.0,  # the first retry's delay, doubled at each further one
    "MAIL_HTML_ALTERNATIVE": False,  # messages are plain text only
    "DUPLICATE_WINDOW_HOURS": 24,  # the same person acting on a campaign again within a day
    "CENSUS_BENCHMARK": "Public_AR_Current",  # the Census's current address data ...
    "CENSUS_VINTAGE": "Current_Current",  # ... and current districts
    "CENSUS_TIMEOUT": 3.5,  # seconds per Census request, within the deadline
    "CENSUS_RETRIES": 2,  # retries after a failed Census request, within the deadline
    # A visitor's whole wait on the Census (a request slot, tries, pauses), then the picker.
    "CENSUS_DEADLINE": 4.5,
    "CENSUS_BREAKER_FAILURES": 5,  # failed Census requests in a row that open the breaker
    "CENSUS_BREAKER_SECONDS": 30.0,  # how long an open breaker lets no lookup ask the Census
    # The web server's threads per process, set by gunicorn_conf and `advocacy serve`: lookups
    # wait on the Census in at most three quarters of them. None: no such limit (CLI, tests).
    "SERVER_THREADS": None,
    "OPENSTATES_TIMEOUT": 30.0,  # seconds per Open States download
    "LOOKUP_CACHE_TTL": 7 * 24 * 3600,  # seconds an address lookup is reused
    # Flask answers 413 to a larger request body: a share picture (5 MB) with its editor form.
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
}

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


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(ENV_PREFIX + setting.name)
        if raw is None and setting.name in UNPREFIXED:
            raw = environ.get(setting.name)
        if raw is None:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{ENV_PREFIX}{setting.name}: {exc}") from exc
    return values


def is_https(site_url: object) -> bool:
    """Whether the site is served over https (Secure cookies, HSTS)."""
    return str(site_url or "").strip().lower().startswith("https://")


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
    config["MAIL_LOG_DIR"] = str(instance_dir / "mail-log")  # where `log` mode writes
    if config["DELIVERY_MODE"] not in DELIVERY_MODES:
        raise ConfigError(
            f"{ENV_PREFIX}DELIVERY_MODE must be one of {', '.join(DELIVERY_MODES)}, "
            f"not {config['DELIVERY_MODE']!r}"
        )
    if config["DELIVERY_MODE"] == "redirect" and not config["REDIRECT_TO"]:
        raise ConfigError(f"{ENV_PREFIX}DELIVERY_MODE=redirect needs {ENV_PREFIX}REDIRECT_TO")
    if not 0 <= config["DIGEST_HOUR"] <= 23:
        raise ConfigError(f"{ENV_PREFIX}DIGEST_HOUR must be an hour from 0 to 23")
    if config["CENSUS_MAX_CONCURRENT"] < 1:
        raise ConfigError(f"{ENV_PREFIX}CENSUS_MAX_CONCURRENT must be at least 1")
    try:
        ZoneInfo(str(config["TIMEZONE"]))
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise ConfigError(
            f"{ENV_PREFIX}TIMEZONE: {config['TIMEZONE']!r} is not a time zone such as "
            "America/New_York"
        ) from exc

    # Names the Flask extensions read.
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    # A server database may restart under the pool: test each connection before use. A
    # SQLite file cannot go away like that.
    sqlite = str(config["DATABASE_URL"]).startswith("sqlite")
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": not sqlite}
    config.update(smtp_settings(config["SMTP_URL"]))
    config["MAIL_DEFAULT_SENDER"] = config["MAIL_FROM"]
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    secure = is_https(config["SITE_URL"])
    config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = secure
    config["SESSION_COOKIE_HTTPONLY"] = config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    config.setdefault("PERMANENT_SESSION_LIFETIME", 12 * 3600)
    for name, value in FIXED_VALUES.items():
        config.setdefault(name, value)
    return config


# -- the documents made from SETTINGS ---------------------------------------------------------

REFERENCE_INTRO = """\
# Configuration reference

Every setting is an environment variable with a safe default: nothing needs to be set to try
the site. This file is made from `SETTINGS` in `advocacy/config.py` by
`advocacy config reference > docs/configuration.md`; a test fails when the two differ.

Booleans take `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`). A value of the wrong
kind (not a number, boolean, delivery mode, SMTP URL, time zone, rate limit, log format or
level) stops the site at start with a message naming the setting.
"""


def _default_text(setting: Setting) -> str:
    if setting.shown:
        return setting.shown
    if setting.default is None or setting.default == "":
        return "(empty)"
    if isinstance(setting.default, bool):
        return f"`{str(setting.default).lower()}`"
    return f"`{setting.default}`"


def settings_table(settings: Iterable[Setting]) -> str:
    """A Markdown table of ``settings``: variable, default, meaning."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for setting in settings:
        meaning = setting.help.replace("|", "\\|")
        lines.append(f"| `{ENV_PREFIX}{setting.name}` | {_default_text(setting)} | {meaning} |")
    return "\n".join(lines) + "\n"


def reference() -> str:
    """docs/configuration.md: every setting, by topic."""
    parts = [REFERENCE_INTRO]
    for title, group in TOPICS:
        parts.append(f"## {title}\n\n{settings_table(group)}")
    return "\n".join(parts)
