"""A visitor reading the site in Spanish: the campaign's own Spanish texts on every step, the
Spanish letter they send (with a correct Spanish salutation), the language of the page they
sent from kept whatever they switch to meanwhile, and a campaign without Spanish still usable,
its English marked as English."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions import digests
from advocacy.actions.coach import same_text_languages
from advocacy.actions.models import Action, Contact
from advocacy.campaigns import service as campaign_service
from advocacy.campaigns.loader import load_file
from advocacy.dbtypes import utcnow
from advocacy.delivery.worker import Worker, run_workers
from advocacy.extensions import db
from advocacy.lookup.models import Legislator
from tests.actions.helpers import (
    ADDRESS,
    BOTH,
    LOWER,
    field_names,
    nh,
    send_mail_to,
    start,
    submission_key,
)
from tests.actions.test_coach import measure, written
from tests.actions.test_digests import digest_site  # noqa: F401 - a fixture
from tests.conftest import REPO
from tests.delivery.conftest import SMTPServer
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.offices_world import CAMPAIGN, GOVERNOR, sync_nh, write_campaign
from tests.text import visible_text

# The English campaign texts a Spanish reader must not meet in the repository's campaigns.
ENGLISH = (
    "Keep buyers of children accountable",
    "Every adult who buys a child",
    "Please make sure our state holds",
    "Dear Representative",
    "I am your constituent",
    "Thank you for keeping buyers",
    "Dear Members of the Council",
    "I am writing to thank you",
    "Thank you for standing up for children",
    "We use your street address to find your state representative",
    "Hello, my name is",
)


def spanish(client: FlaskClient, slug: str) -> str:
    """Open the campaign page in Spanish (the switcher's link): the choice is remembered."""
    page = client.get(f"/c/{slug}?lang=es")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def no_english(text: str) -> None:
    left = [words for words in ENGLISH if words in text]
    assert not left, f"English campaign text on a Spanish page: {left}"


def send(client: FlaskClient, slug: str, page: str, **data: str) -> str:
    key = submission_key(page)
    shown = re.search(r'name="language" value="([a-z]+)"', page)
    assert shown is not None
    response = client.post(
        f"/c/{slug}/send", data={"submission_key": key, "language": shown.group(1), **data}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/c/{slug}/thanks/{key}"
    return key


def test_the_whole_flow_in_spanish_sends_the_spanish_letters(ready: FlaskClient) -> None:
    page = spanish(ready, LOWER)
    said = visible_text(page)
    assert '<html lang="es"' in page
    assert "Que quien compre a un niño rinda cuentas, en todos los estados" in said
    assert "Todo adulto que compre a un niño con fines sexuales debe ser procesado" in said
    assert "Usamos su dirección para encontrar a su representante estatal" in said
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "solo está disponible en inglés" not in said and 'lang="en"' not in main
    no_english(said)
    # The share card says it in Spanish too.
    assert 'content="Que quien compre a un niño rinda cuentas' in page

    write = start(ready, LOWER)
    said = visible_text(write)
    assert 'name="language" value="es"' in write
    assert "Honorable Representante Alder:" in said
    assert "Vivo en su distrito, en Nashua, y le escribo sobre cómo trata la ley" in said
    assert "Le pido que nuestro estado haga rendir cuentas a todo el que compre a un niño" in said
    assert "Estimados miembros del Consejo del American Law Institute:" in said
    assert "Gracias por mantener a quienes compran niños dentro de los delitos de trata" in said
    no_english(said)

    fields = field_names(write)
    mine = "Honorable Representante Alder:\n\nLe escribo con mis propias palabras.\n\nAlex Rivera"
    key = send(ready, LOWER, write, **{fields[0]: mine})

    action = db.session.scalar(select(Action))
    assert action is not None and action.language == "es"
    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id)))
    letters = {c.target_id: c for c in contacts if c.channel == "postal"}
    emails = [c for c in contacts if c.channel == "email"]
    assert len(emails) == 5
    assert {c.subject for c in emails} == {
        "Le pido que nuestro estado haga rendir cuentas a todo el que compre a un niño"
    }
    assert sum(c.body == mine + "\n" for c in emails) == 1
    for contact in emails:
        if contact.body != mine + "\n":
            last = contact.target_name.split()[-1]
            assert contact.body.startswith(f"Honorable Representante {last}:\n\nVivo en su")
            assert contact.body.endswith("Atentamente,\nAlex Rivera\nNashua, New Hampshire\n")
    ali = letters["american-law-institute"]
    assert ali.subject == (
        "Gracias por mantener a quienes compran niños dentro de los delitos de trata"
    )
    assert ali.body is not None
    assert ali.body.startswith("Estimados miembros del Consejo del American Law Institute:")
    # The office-facing log keeps the directory's and the file's English.
    assert ali.target_name == "The American Law Institute"

    thanks = ready.get(f"/c/{LOWER}/thanks/{key}").get_data(as_text=True)
    said = visible_text(thanks)
    assert "Gracias por defender a los niños." in said
    assert (
        "Hola, me llamo Alex Rivera y vivo en Nashua, NH. Llamo para agradecer al American "
        "Law Institute" in said
    )
    assert "Hola, me llamo Alex Rivera y vivo en el distrito que representa Ada Alder" in said
    assert "%C3%BAmese" in thanks  # the Spanish share text ("Súmese:") in the share links
    no_english(said)

    letter = ready.get(f"/c/{LOWER}/thanks/{key}/letter/american-law-institute")
    said = visible_text(letter.get_data(as_text=True))
    assert "Asunto: Gracias por mantener a quienes compran niños" in said
    assert re.search(r"\b\d{1,2} de [a-z]+ de \d{4}\b", said)
    assert "Les pido respetuosamente que el Instituto se comprometa públicamente" in said
    no_english(said)


def test_a_spanish_letter_to_a_senator_uses_her_recorded_title(ready: FlaskClient) -> None:
    spanish(ready, BOTH)
    write = start(ready, BOTH)
    said = visible_text(write)
    # The directory records this senator as a woman ("Sam Senator", gender Female, in the
    # Open States file), and nothing for the representatives.
    genders = {p.name: p.gender for p in db.session.scalars(select(Legislator))}
    assert genders["Sam Senator"] == "Female" and genders["Ada Alder"] is None
    assert "Honorable Senadora Senator:" in said
    assert "Honorable Representante Alder:" in said
    assert "Proteja a todo niño explotado en New Hampshire" in said
    assert "Dear Senator" not in said and "Dear Representative" not in said


def test_what_is_sent_is_the_language_the_page_was_shown_in(ready: FlaskClient) -> None:
    spanish(ready, BOTH)
    write = start(ready, BOTH)
    # The visitor switches to English in another tab, then sends the Spanish page.
    assert ready.get("/?lang=en").status_code == 200
    send(ready, BOTH, write)
    action = db.session.scalar(select(Action))
    assert action is not None and action.language == "es"
    bodies = [c.body or "" for c in db.session.scalars(select(Contact))]
    assert bodies and all(body.startswith("Honorable ") for body in bodies)

    # And the other way round: an English page sent after switching to Spanish.
    ready.get(f"/c/{LOWER}?lang=en")
    write = start(ready, LOWER, email="sam@example.org")
    assert 'name="language" value="en"' in write
    ready.get("/?lang=es")
    send(ready, LOWER, write)
    english = db.session.scalar(select(Action).where(Action.language == "en"))
    assert english is not None
    subjects = {c.subject for c in english.contacts if c.channel == "email"}
    assert subjects == {"Please make sure our state holds every buyer of a child accountable"}


@pytest.fixture
def english_only(campaigns: Path) -> str:
    """A campaign without a Spanish translation."""
    data = yaml.safe_load((REPO / "campaigns" / f"{BOTH}.yaml").read_text(encoding="utf-8"))
    del data["translations"]
    data["slug"] = "english-only"
    (campaigns / "english-only.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    campaign_service.sync_folder(campaigns)
    return "english-only"


def test_a_campaign_without_spanish_stays_usable_and_marked_english(
    ready: FlaskClient, english_only: str
) -> None:
    page = spanish(ready, english_only)
    said = visible_text(page)
    assert '<html lang="es"' in page
    assert "Esta campaña solo está disponible en inglés." in said
    assert '<h1 lang="en">Every exploited child is a victim</h1>' in page
    assert '<div class="summary" lang="en">' in page
    assert '<span lang="en">We use your street address' in page

    home = ready.get("/").get_data(as_text=True)
    assert re.search(r'<h2 lang="en"><a href="/c/english-only">Every exploited child', home)
    assert re.search(r'<h2><a href="/c/every-exploited-child-is-a-victim">Todo niño', home)

    write = start(ready, english_only)
    assert "Esta campaña solo está disponible en inglés." in visible_text(write)
    assert 'name="language" value="es"' in write
    assert re.search(r'<textarea id="body-[0-9a-f]+" name="body-[0-9a-f]+" lang="en"', write)
    assert "Dear Representative Alder," in visible_text(write)
    send(ready, english_only, write)
    action = db.session.scalar(select(Action))
    assert action is not None and action.language == "es"  # its emails are in Spanish
    assert all((c.body or "").startswith("Dear ") for c in action.contacts)
    thanks = ready.get(f"/c/{english_only}/thanks/{action.submission_key}")
    assert '<div class="thank-you" lang="en">' in thanks.get_data(as_text=True)


def test_the_coach_compares_messages_written_from_the_same_language() -> None:
    definition = load_file(REPO / "campaigns" / f"{BOTH}.yaml").definition
    assert definition is not None
    assert same_text_languages(definition.in_language("es")) == ["es"]
    assert same_text_languages(definition) == ["en"]
    english_only = definition.model_copy(update={"translations": None})
    # Without Spanish, Spanish readers write from the English: compared with everyone.
    assert same_text_languages(english_only.in_language("es")) == ["en", "es"]


def test_the_similarity_job_compares_messages_written_from_the_same_language(
    ready: FlaskClient,
) -> None:
    """Two visitors send the campaign's English text and two its Spanish text, unchanged, to
    the same legislators: each Spanish message is compared with the Spanish one before it
    (100%), never with the English (which would make the first Spanish one look unlike)."""
    for email, lang in (("a@example.org", "en"), ("b@example.org", "es"),
                        ("c@example.org", "en"), ("d@example.org", "es")):  # fmt: skip
        ready.get(f"/c/{LOWER}?lang={lang}")
        send(ready, LOWER, start(ready, LOWER, email=email))
    contacts = written()
    each = len(contacts) // 4  # the messages of one visitor
    assert each > 0 and measure() == f"{4 * each} message(s) measured"
    by_language: dict[str, list[float | None]] = {"en": [], "es": []}
    for contact in written():
        by_language[contact.action.language].append(contact.similarity)
    # Per language: the first visitor's messages have nothing earlier, the second's match.
    expected = [None] * each + [1.0] * each
    assert by_language == {"en": expected, "es": expected}


@pytest.fixture
def smtp(app: Flask, smtp: SMTPServer) -> SMTPServer:
    send_mail_to(app, smtp)
    return smtp


def test_the_receipt_gives_the_spanish_campaign_texts(ready: FlaskClient, smtp: SMTPServer) -> None:
    spanish(ready, LOWER)
    write = start(ready, LOWER)
    send(ready, LOWER, write)
    db.session.commit()
    ready.get(f"/c/{LOWER}?lang=en")  # (the receipt follows the action, not the cookie)
    Worker("receipt-test").run()
    [body] = [
        item.message.get_content().replace("\r\n", "\n")
        for item in smtp.received
        if item.rcpt_tos == ("alex@example.org",)
    ]
    assert "«Que quien compre a un niño rinda cuentas, en todos los estados»" in body
    assert "Le pido que nuestro estado haga rendir cuentas a todo el que compre a un niño" in body
    assert "Hola, me llamo Alex Rivera" in body
    no_english(body.replace("Hello Alex Rivera", ""))


def test_an_offices_digest_shows_the_spanish_message_once_with_its_senders(
    digest_site: Flask,  # noqa: F811 - the fixture imported above
    ready: FlaskClient,
    smtp: SMTPServer,
) -> None:
    send(ready, BOTH, start(ready, BOTH))  # in English
    spanish(ready, BOTH)
    send(ready, BOTH, start(ready, BOTH, name="María Soto", email="maria@example.org"))
    db.session.commit()
    assert digests.build_due_digests(utcnow() + timedelta(days=1)).built > 1
    Worker("digest-test").run()
    [mail] = [
        item.message.get_content().replace("\r\n", "\n")
        for item in smtp.received
        if item.rcpt_tos == ("ada@leg.example.gov",) and "digest of" in str(item.message["Subject"])
    ]
    # The office's words stay English; each message is shown once, in its own language.
    assert "2 constituents wrote to you through it" in mail
    english, spanish_part = mail.split("The campaign's message in Spanish", 1)
    assert "The campaign's message, sent unchanged by 1 constituent" in english
    assert "Sent unchanged by:\n  Alex Rivera, Nashua, alex@example.org\n" in english
    assert "Dear Representative Alder," in english and "Honorable" not in english
    assert spanish_part.startswith(", sent unchanged by 1 constituent")
    assert "Subject: Proteja a todo niño explotado en New Hampshire" in spanish_part
    assert "Honorable Representante Alder:\n\nVivo en su distrito, en [city]," in spanish_part
    assert "Sent unchanged by:\n  María Soto, Nashua, maria@example.org\n" in spanish_part


def test_the_confirmation_email_names_the_campaign_by_its_spanish_title(
    app: Flask, ready: FlaskClient
) -> None:
    app.config["REQUIRE_CONFIRMATION"] = True
    spanish(ready, BOTH)
    send(ready, BOTH, start(ready, BOTH))
    assert run_workers(1).logged == 1  # only the confirmation mail goes out
    [raw] = [
        path.read_bytes()
        for path in Path(app.config["MAIL_LOG_DIR"]).glob("*.eml")
        if path.name.startswith("confirmation-")
    ]
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Subject"].endswith("Todo niño explotado es una víctima")
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "«Todo niño explotado es una víctima»" in body
    assert "Every exploited child is a victim" not in body


def test_checking_a_spanish_page_after_switching_keeps_it_spanish(ready: FlaskClient) -> None:
    spanish(ready, BOTH)
    write = start(ready, BOTH)
    ready.get("/?lang=en")
    key = submission_key(write)
    checked = ready.post(
        f"/c/{BOTH}/check", data={"submission_key": key, "language": "es"}
    ).get_data(as_text=True)
    assert "Honorable Representante Alder:" in visible_text(checked)
    assert 'name="language" value="es"' in checked
    send(ready, BOTH, checked)
    action = db.session.scalar(select(Action))
    assert action is not None and action.language == "es"
    assert all((c.body or "").startswith("Honorable ") for c in action.contacts)


OFFICES_ES = """\
translations:
  es:
    title: Pida a la comisión judicial y al gobernador que actúen
    summary: La Comisión Judicial de la Cámara decide si el proyecto tiene audiencia.
    message:
      subject: "Le pido que el proyecto tenga una audiencia"
      body: |
        Honorable {{ target.salutation }}:

        Como parte de la dirección de {{ target.organisation }}, le pido que programe una audiencia.

        {{ constituent.name }}
        {{ constituent.city }}, {{ constituent.state }}
    call_script: |
      Hola, me llamo {{ constituent.name }}. Llamo a la oficina de {{ target.name }} por el
      proyecto que está ante la comisión {{ target.district }}.
    targets:
      governor:
        message:
          subject: "Una petición para la Gobernación desde {{ constituent.city }}"
          body: |
            Honorable {{ target.salutation }}:

            Le pido que apoye el proyecto cuando llegue a su despacho.

            {{ constituent.name }}
            {{ constituent.city }}, {{ constituent.state }}
"""


def test_a_committee_and_a_governor_in_spanish(
    client: FlaskClient, upstream: FakeUpstreams, campaigns_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    # The governor's file records her as a woman; the committee members' files say nothing.
    sync_nh(root, executives=[{**GOVERNOR, "gender": "Female"}])
    write_campaign(campaigns_dir, CAMPAIGN + OFFICES_ES)
    assert not campaign_service.sync_folder(campaigns_dir).problems
    upstream.add_address(ADDRESS, nh())

    spanish(client, "judiciary-and-governor")
    said = visible_text(start(client, "judiciary-and-governor"))
    assert "Honorable Gobernadora Ayres: Le pido que apoye el proyecto" in said
    assert "Una petición para la Gobernación desde Nashua" in said
    # "Representante" is the same for a man or a woman.
    assert "Honorable Representante Birch: Como parte de la dirección de" in said
    assert "Dear " not in said and "A request to the Governor" not in said
