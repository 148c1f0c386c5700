"""What the action-flow tests share: the visitor, the NH address, page scraping, threads."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from advocacy.extensions import db
from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from tests.delivery.conftest import SMTPServer
from tests.fakes.upstream import Match, sld_object
from tests.lookup.people import Row, write_state

ADDRESS = "12 Main St, Nashua, NH 03060"
FORM = {
    "name": "Alex Rivera",
    "email": "alex@example.org",
    "street_address": ADDRESS,
    "phone": "",
    "opt_in": "y",
}
BOTH = "every-exploited-child-is-a-victim"  # both chambers, no fixed target
LOWER = "oppose-buyer-immunity"  # lower chamber + a fixed postal/phone target


def nh(address: str = "12 MAIN ST, NASHUA, NH, 03060") -> Match:
    return Match(
        address,
        "33",
        upper=[sld_object("upper", "33015", "15")],
        lower=[sld_object("lower", "33523", "523", "State House District Hillsborough 23")],
        city="NASHUA",
        zip_code="03060",
    )


def send_mail_to(app: Flask, smtp: SMTPServer) -> None:
    """SMTP delivery mode, mail to ``smtp``, as the site Speak Up at act.example.org."""
    app.config.update(
        DELIVERY_MODE="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_FROM="advocacy@speakup.example.org",
        SITE_NAME="Speak Up",
        SITE_URL="https://act.example.org",
    )


def count(model: type, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def field_names(page: str) -> list[str]:
    return re.findall(r'<textarea id="(body-[0-9a-f]+)"', page)


def submission_key(page: str) -> str:
    found = re.search(r'name="submission_key" value="([^"]+)"', page)
    assert found
    return found.group(1)


def start(client: FlaskClient, slug: str, **overrides: str) -> str:
    """Send the campaign form; return the write page."""
    response = client.post(f"/c/{slug}/act", data={**FORM, **overrides})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/c/{slug}/write"
    page = client.get(f"/c/{slug}/write")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def run_together(
    app: Flask,
    requests: list[Callable[[FlaskClient], TestResponse]],
    cookies: list[str | None] | None = None,
) -> list[TestResponse]:
    """Make the requests at the same moment, each from its own thread and test client
    (so each has its own application context and database session)."""
    barrier = threading.Barrier(len(requests))
    results: list[TestResponse | None] = [None] * len(requests)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            client = app.test_client()
            cookie = (cookies or [None] * len(requests))[index]
            if cookie is not None:
                client.set_cookie("session", cookie)
            barrier.wait(timeout=30)
            results[index] = requests[index](client)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


def write_roster(folder: Path, state: str, rows: list[Row], *, no_address: set[str]) -> None:
    """Load an Open States bulk CSV; people named in ``no_address`` get no postal address (with
    no email too, they can only be called)."""
    rows = [replace(row, address="") if row.name in no_address else row for row in rows]
    write_state(folder, state, rows)
    results = sync_states(BulkPeopleSource(str(folder)), [state])
    assert all(r.ok for r in results), [r.error for r in results]
