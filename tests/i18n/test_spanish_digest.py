"""A Spanish visitor of a digest campaign is told in Spanish when the daily summary leaves;
what the office reads (the digest email and its web page) stays in English."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from advocacy.actions import digests
from advocacy.actions.digests import when_words
from advocacy.delivery.worker import Worker
from advocacy.i18n import force_locale
from tests.actions.conftest import ready  # noqa: F401 - the fixture
from tests.actions.helpers import BOTH, start, submission_key
from tests.actions.test_digests import _next_day, digest_site  # noqa: F401 - the fixture
from tests.delivery.conftest import SMTPServer
from tests.lookup.conftest import app_config, directory, people_dir, upstream  # noqa: F401
from tests.text import visible_text


def test_the_daily_summary_in_spanish_and_the_digest_in_english(
    digest_site: Flask,  # noqa: F811 - the fixture imported above
    ready: FlaskClient,  # noqa: F811
    smtp: SMTPServer,
) -> None:
    ready.get("/?lang=es")
    page = start(ready, BOTH)
    write = visible_text(page)
    assert (
        "Su mensaje llegará a Representative Alder dentro de un resumen diario de los mensajes "
        "de esta campaña, que se envía a las 5 p. m., hora del Este." in write
    )
    sent = ready.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    thanks = visible_text(ready.get(sent.headers["Location"]))
    assert (
        "Ada Alder: su mensaje llegará a Representative Alder dentro de un resumen diario" in thanks
    )

    assert digests.build_due_digests(_next_day()).built > 0
    Worker("spanish-digest-test").run()
    mails = [
        item.message.get_content()
        for item in smtp.received
        if item.rcpt_tos == ("ada@leg.example.gov",)
    ]
    [mail] = mails
    assert "1 constituent wrote to you through it" in mail
    link = re.search(r"Read this digest on the web: (\S+)", mail)
    assert link is not None
    path = link.group(1).split("127.0.0.1:5000", 1)[-1]
    office = ready.get(f"{path}?lang=es", headers={"Accept-Language": "es"})
    assert '<html lang="en"' in office.get_data(as_text=True)
    text = visible_text(office)
    assert "1 constituent wrote to Ada Alder through Speak Up" in text
    assert "Skip to content" in text and "Español" not in text  # no language switcher
    assert "lang=" not in office.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(
    ("zone", "hour", "words"),
    [
        ("America/New_York", 17, "a las 5 p. m., hora del Este"),
        ("America/Chicago", 1, "a la 1 a. m., hora del Centro"),
        ("America/Los_Angeles", 12, "al mediodía, hora del Pacífico"),
        ("UTC", 0, "a la medianoche UTC"),
        ("Europe/Paris", 18, "a las 6 p. m., hora de Europe/Paris"),
    ],
)
def test_the_digest_hour_in_spanish_words(app: Flask, zone: str, hour: int, words: str) -> None:
    app.config.update(TIMEZONE=zone, DIGEST_HOUR=hour)
    with force_locale("es"):
        assert when_words() == words
