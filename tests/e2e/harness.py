"""Pieces the browser tests share: the app served on a real socket, the browser launch
options, and the seeded world (one New Hampshire address, the legislators who represent it).

Nothing here is a mock: the browser talks HTTP to a real server, and the app talks HTTP to
the fake Census geocoder in tests/fakes/upstream.py.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import Page
from werkzeug.serving import BaseWSGIServer, make_server

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


VISITOR = {"name": "Pat Example", "email": "pat@example.org"}


def submit_action_form(page: Page, address: str = ADDRESS, email: str = VISITOR["email"]) -> None:
    """On a campaign page: fill name, email and street address by their labels, and submit."""
    page.get_by_label("Your name").fill(VISITOR["name"])
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Home street address").fill(address)
    page.get_by_role("button", name="Find my legislators").click()


def copy_people(target: Path) -> Path:
    """A private copy of the people CSVs (BulkPeopleSource also looks for settings.yml)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in DATA.glob("*.csv"):
        shutil.copy(path, target / path.name)
    return target


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
