"""Pieces the browser tests share: the app served on a real socket, the browser launch
options, the seeded world (one New Hampshire address, the legislators who represent it, the
campaign that writes to them), staff accounts and their sign-in, and a digest campaign.

Nothing here is a mock: the browser talks HTTP to a real server, and the app talks HTTP to
the fake Census geocoder in tests/fakes/upstream.py.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, expect
from werkzeug.serving import BaseWSGIServer, make_server

from advocacy.actions import digests
from advocacy.admin.auth import hash_password
from advocacy.admin.models import User
from advocacy.campaigns.service import sync_folder
from advocacy.config import smtp_settings
from advocacy.dbtypes import utcnow
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from tests.actions import helpers as action_tests
from tests.delivery.conftest import SMTPServer
from tests.fakes.upstream import Match, sld_object

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

DATA = Path(__file__).resolve().parent / "data"
CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
PHONE = {"width": 375, "height": 740}

# One address in Concord, NH: Senate district 15 and House district Merrimack 12
# (Census SLDL code 612 in advocacy/lookup/division_data/nh.yaml; two seats, no floterial).
ADDRESS = "12 Example St, Concord, NH 03301"
MATCHED_ADDRESS = "12 EXAMPLE ST, CONCORD, NH, 03301"
NH_MATCH = Match(
    matched_address=MATCHED_ADDRESS,
    state_fips="33",
    upper=[sld_object("upper", "33015", "15")],
    lower=[sld_object("lower", "33612", "Merrimack 12", name="State House District Merrimack 12")],
)
# The people of tests/e2e/data/nh.csv (Open States bulk CSV format, made-up people).
HOUSE_MEMBERS = ("Avery Lindqvist", "Jordan Okafor")  # Merrimack 12 elects two
SENATOR = "Morgan Castellanos"  # Senate district 15
ELSEWHERE = "Riley Thibodeau"  # Belknap 1: must never be shown for this address
# The repository's campaign that writes to both chambers: the senator and both House members.
SLUG = "every-exploited-child-is-a-victim"

# The action tests' address in Nashua, NH: House district Hillsborough 23, Senate district 15.
# Tests that use it add it to the fake Census themselves.
NASHUA = action_tests.ADDRESS
NASHUA_MATCH = action_tests.nh()

VISITOR = {"name": "Pat Example", "email": "pat@example.org"}


def submit_action_form(page: Page, address: str = ADDRESS, email: str = VISITOR["email"]) -> None:
    """On a campaign page: fill name, email and street address by their labels, and submit."""
    page.get_by_label("Your name").fill(VISITOR["name"])
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Home street address").fill(address)
    page.get_by_role("button", name="Find my legislators").click()


@dataclass
class World:
    campaigns_dir: Path
    people_dir: Path


def add_to_campaign(world: World, text: str, slug: str = SLUG) -> None:
    """Append ``text`` (YAML) to a campaign file of the world and sync the folder again."""
    path = world.campaigns_dir / f"{slug}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    report = sync_folder(world.campaigns_dir)
    assert report.updated == [slug] and not report.problems, report.problems
    db.session.remove()  # nothing of the test thread may hold the database open


def make_digest_campaign(app: Flask, world: World, smtp: SMTPServer) -> None:
    """The both-chambers campaign as a digest campaign; mail to the sink; Eastern time."""
    add_to_campaign(world, "delivery:\n  legislators: digest\n")
    app.config.update(
        smtp_settings(f"smtp://127.0.0.1:{smtp.port}"),
        DELIVERY_MODE="smtp",
        MAIL_FROM="advocacy@speakup.example.org",
        TIMEZONE="America/New_York",
        DIGEST_HOUR=17,
    )


def send_digest(smtp: SMTPServer, to: str) -> str:
    """Build the due digests as the next day's job would, deliver them; the mail to ``to``."""
    digests.build_due_digests(utcnow() + timedelta(days=1))
    Worker("e2e-digest").run()
    db.session.remove()
    [mail] = [
        item.message.get_content().replace("\r\n", "\n")
        for item in smtp.received
        if item.rcpt_tos == (to,) and "digest of" in str(item.message["Subject"])
    ]
    return mail


STAFF_PASSWORD = "correct horse battery staple"


def add_staff(email: str, role: str) -> str:
    """An active staff account (admin, manager or organizer) with ``STAFF_PASSWORD``; committed,
    and the session closed so that nothing of the test thread holds the database open."""
    user = User(email=email, role=role, password_hash=hash_password(STAFF_PASSWORD), active=True)
    db.session.add(user)
    db.session.commit()
    db.session.remove()
    return email


def sign_in(page: Page, email: str, to: str = "/admin/campaigns") -> None:
    """Open the staff page ``to`` signed out, which sends the browser to the sign-in form; sign
    in there as ``email`` and land back on ``to``."""
    page.goto(to)
    expect(page).to_have_url(re.compile(r"/admin/sign-in\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(to) + "$"))


def copy_people(target: Path) -> Path:
    """A private copy of the people CSVs (BulkPeopleSource also looks for settings.yml)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in DATA.glob("*.csv"):
        shutil.copy(path, target / path.name)
    return target


def console_reports(page: Page, *phrases: str) -> list[str]:
    """The page's console messages that contain any of ``phrases``, kept as the browser reports
    them (CSP violations and refused frames are only told there)."""
    reports: list[str] = []

    def listen(message: ConsoleMessage) -> None:
        if any(phrase in message.text for phrase in phrases):
            reports.append(message.text)

    page.on("console", listen)
    return reports


def is_local(url: str) -> bool:
    """True for URLs the page may load: the app on 127.0.0.1, or in-page data/about URLs."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "about", "blob"):
        return True
    return parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1"


def _closed_before_sending(app: Flask) -> WSGIApplication:
    """The app with each response read whole and closed before the server sends it.

    Werkzeug's development server skips closing a response whose client went away (a page
    the browser left before its stylesheet arrived), and the open file of a static response
    then warns when it is collected; a buffered response has nothing left open."""

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = app(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()

    return serve


@dataclass
class LiveServer:
    """A WSGI app on 127.0.0.1 and a free port, served from a background thread."""

    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @classmethod
    def start(cls, app: Flask) -> LiveServer:
        server = make_server("127.0.0.1", 0, _closed_before_sending(app), threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
        thread.start()
        return cls(app=app, server=server, thread=thread)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
