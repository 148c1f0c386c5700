"""A visitor who chose Spanish reads the site's own words in Spanish on every public page of
the flow, in its messages and form errors, and on its error pages; none of the English site
sentences is left among them. (The campaigns' own texts are the campaign files'.)"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy import create_app
from advocacy.actions import confirmation, followups
from advocacy.actions.models import Action, FollowUp
from advocacy.campaigns import service as campaign_service
from advocacy.dbtypes import utcnow
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from tests.actions.conftest import ready  # noqa: F401 - the fixture
from tests.actions.helpers import ADDRESS, FORM, LOWER, submission_key
from tests.actions.test_committee_and_executive_targets import (
    REPRESENTING,
    world,  # noqa: F401 - the fixture: New Hampshire's committees and officials
)
from tests.actions.test_committee_and_executive_targets import SLUG as OFFICES_SLUG
from tests.lookup.conftest import app_config, directory, people_dir, upstream  # noqa: F401
from tests.lookup.offices_world import write_campaign
from tests.text import visible_text

SPANISH_MONTH_DATE = re.compile(
    r"\b\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|"
    r"noviembre|diciembre) de \d{4}\b"
)
# The site's own English words, none of which a Spanish page may show: labels and headings
# (whole lines), and sentences (anywhere). The campaign files' own texts are not the site's.
ENGLISH_LINES = [
    "Skip to content",
    "Take action",
    "Add your voice",
    "Your name",
    "Email",
    "Home street address",
    "Phone (optional)",
    "Keep me informed about this campaign",
    "Find my legislators",
    "Who receives your message",
    "Thank you",
    "What happens to your messages",
    "Ask others to join",
    "Copy link",
    "Make a call too",
    "Print this letter",
    "Choose your district",
    "Choose your state",
    "Your city or town",
    "Continue",
    "Find your state legislators",
    "Or choose your state",
    "Your state legislators",
    "These are not my legislators",
    "Page not found",
    "Please try again",
    "Confirm your message",
    "Confirm and send",
    "How responsive were legislators",
    "Send the report",
]
ENGLISH_PHRASES = [
    "Pick a campaign, enter your address",
    "Your address tells us",
    "Your name, city and state go with",
    "We use your street address to find your legislators.",
    "Step 2 of 3",
    "Your address as we matched it",
    "Subject:",
    "Send my message",
    "goes with each message as the reply address",
    "Or share this link",
    "I called ",
    "Print your letter",
    "Your letter to",
    "Choose a state",
    "The Census matched",
    "Legislator data from Open States",
    "Back to the campaigns",
    "See the open campaigns",
    "Please enter",
    "does not look right",
    "We could not find",
    "Nothing has been sent yet",
    "reply to your message?",
    "Yes, they replied",
    "Not the right answer?",
    "Reply rate",
    "House ·",
    "Senate ·",
    "House district",
    "Senate district",
    "district (choose one)",
    "your email is queued",
    "your letter is ready",
]


def english_left(text: str) -> list[str]:
    lines = set(text.splitlines())
    return [label for label in ENGLISH_LINES if label in lines] + [
        phrase for phrase in ENGLISH_PHRASES if phrase in text
    ]


@pytest.fixture
def spanish(ready: FlaskClient) -> FlaskClient:  # noqa: F811 - the fixture imported above
    """A visitor who chose Spanish with the switcher (remembered in the cookie)."""
    assert ready.get("/?lang=es").status_code == 200
    return ready


def start(client: FlaskClient, **overrides: str) -> str:
    response = client.post(f"/c/{LOWER}/act", data={**FORM, **overrides})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/c/{LOWER}/write"
    return visible_text(client.get(f"/c/{LOWER}/write"))


def send(client: FlaskClient, **overrides: str) -> Action:
    client.post(f"/c/{LOWER}/act", data={**FORM, **overrides})
    page = client.get(f"/c/{LOWER}/write").get_data(as_text=True)
    response = client.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    db.session.expire_all()
    action = db.session.scalars(select(Action).order_by(Action.id.desc())).first()
    assert action is not None
    return action


def test_home_and_campaign_pages(spanish: FlaskClient) -> None:
    home = visible_text(spanish.get("/"))
    assert "Participe" in home
    assert (
        "Elija una campaña, escriba su dirección y encontraremos a sus legisladores estatales "
        "y le ayudaremos a escribirles." in home
    )
    assert english_left(home) == []
    page = visible_text(spanish.get(f"/c/{LOWER}"))
    assert "Sume su voz" in page
    assert (
        "Con su dirección sabremos quiénes son sus legisladores estatales. Verá cada mensaje "
        "antes de que se envíe nada." in page
    )
    for label in ("Su nombre", "Correo electrónico", "Dirección de su domicilio"):
        assert label in page.splitlines()
    assert "Quiero recibir noticias sobre esta campaña" in page
    assert "Encontrar a mis legisladores" in page
    assert "Su nombre, ciudad y estado van con cada mensaje que envía" in page
    assert english_left(page) == []


def test_form_errors(spanish: FlaskClient) -> None:
    refused = spanish.post(f"/c/{LOWER}/act", data={**FORM, "name": "", "email": "not-an-address"})
    assert refused.status_code == 400
    text = visible_text(refused)
    assert "Escriba su nombre." in text
    assert "Ese correo electrónico no parece correcto." in text
    assert english_left(text) == []
    unknown = spanish.post(f"/c/{LOWER}/act", data={**FORM, "street_address": "99 Nowhere Rd"})
    assert unknown.status_code == 400
    text = visible_text(unknown)
    assert (
        "No encontramos esa dirección. Revise el número, la calle, la ciudad y el código "
        "postal, o elija su distrito por su cuenta abajo." in text
    )
    assert "Elija su distrito por su cuenta" in text.splitlines()
    assert english_left(text) == []


def test_the_district_picker(spanish: FlaskClient) -> None:
    spanish.post(f"/c/{LOWER}/act", data={**FORM, "street_address": "99 Nowhere Rd, Keene NH"})
    page = visible_text(spanish.get(f"/c/{LOWER}/choose?state=nh"))
    assert "Elija su distrito" in page.splitlines()
    assert "Su ciudad o pueblo" in page
    assert "Aparece en su mensaje, para que sus destinatarios sepan dónde vive." in page
    assert "Su distrito (Cámara de Representantes): elija uno" in page
    assert re.search(r"Distrito Hillsborough 23 \(Cámara de Representantes\): \w", page)
    assert english_left(page) == []
    refused = spanish.post(f"/c/{LOWER}/choose", data={"state": "nh", "city": "Nashua"})
    assert "Elija su distrito." in visible_text(spanish.get(refused.headers["Location"]))


def test_the_write_thank_you_and_letter_pages(spanish: FlaskClient) -> None:
    write = start(spanish)
    assert "Paso 2 de 3: revise a quién le escribe y su mensaje." in write
    assert "Su dirección tal como la encontramos: 12 MAIN ST, NASHUA, NH, 03060." in write
    assert "Asunto:" in write
    assert "Su correo electrónico (alex@example.org) va con cada mensaje como dirección" in write
    assert re.search(r"Enviar mis? mensajes?", write)
    assert english_left(write) == []

    page = spanish.get(f"/c/{LOWER}/write").get_data(as_text=True)
    key = submission_key(page)
    assert spanish.post(f"/c/{LOWER}/send", data={"submission_key": key}).status_code == 303
    action = db.session.scalars(select(Action)).one()
    assert action.language == "es"
    thanks = visible_text(spanish.get(f"/c/{LOWER}/thanks/{key}"))
    assert "Qué pasa con sus mensajes" in thanks
    assert "Imprima su carta a The American Law Institute" in thanks
    assert "su carta está lista. Imprímala y envíela por correo postal a " in thanks
    assert "Haga también una llamada" in thanks
    assert "Invite a otras personas a participar" in thanks
    assert "O comparta este enlace:" in thanks
    # Those asked to join open the campaign in Spanish too.
    assert f"/c/{LOWER}?lang=es&source=share-link" in thanks
    assert english_left(thanks) == []

    called = spanish.post(
        f"/c/{LOWER}/thanks/{key}/called", data={"target_id": "american-law-institute"}
    )
    after = visible_text(spanish.get(called.headers["Location"]))
    assert "Gracias por llamar a The American Law Institute. Registramos su llamada." in after
    assert "Llamada registrada. ¡Gracias!" in after

    letter = visible_text(spanish.get(f"/c/{LOWER}/thanks/{key}/letter/american-law-institute"))
    assert "Su carta a The American Law Institute" in letter
    assert "Imprima esta página, firme la carta y envíela por correo postal" in letter
    assert SPANISH_MONTH_DATE.search(letter)
    assert "\nAsunto: " in letter
    assert english_left(letter) == []


def test_a_message_too_long_is_explained(spanish: FlaskClient) -> None:
    spanish.post(f"/c/{LOWER}/act", data=FORM)
    page = spanish.get(f"/c/{LOWER}/write").get_data(as_text=True)
    field = re.findall(r'<textarea[^>]* name="([^"]+)"', page)[0]
    refused = spanish.post(
        f"/c/{LOWER}/send", data={"submission_key": submission_key(page), field: "x" * 4500}
    )
    assert refused.status_code == 400
    assert re.search(
        r"El mensaje para .+ tiene 4500 caracteres; el límite es 4000\. Acórtelo, por favor\.",
        visible_text(refused),
    )


def test_a_second_visit_is_told_it_already_took_part(spanish: FlaskClient) -> None:
    send(spanish)
    spanish.post(f"/c/{LOWER}/act", data=FORM)
    page = visible_text(spanish.get(f"/c/{LOWER}/already"))
    assert "Usted ya participó" in page
    assert "¡Gracias! Usted ya envió mensajes para esta campaña el " in page
    assert SPANISH_MONTH_DATE.search(page)


def test_the_confirm_page(spanish: FlaskClient, app: Flask) -> None:
    app.config["REQUIRE_CONFIRMATION"] = True
    action = send(spanish)
    thanks = visible_text(spanish.get(f"/c/{LOWER}/thanks/{action.submission_key}"))
    assert "Revise su correo electrónico para confirmar." in thanks
    token = confirmation.token_for(action.id, action.submission_key)
    page = visible_text(spanish.get(f"/c/{LOWER}/confirm/{token}"))
    assert "Confirme su mensaje" in page
    assert "Todavía no se ha enviado nada. Presione el botón para confirmar" in page
    assert "Confirmar y enviar" in page
    assert english_left(page) == []
    bad = spanish.get(f"/c/{LOWER}/confirm/not-a-token")
    assert bad.status_code == 404
    assert "Este enlace de confirmación no es válido." in visible_text(bad)
    confirmed = spanish.post(f"/c/{LOWER}/confirm/{token}")
    assert "Gracias por confirmar. Su mensaje va en camino." in visible_text(
        spanish.get(confirmed.headers["Location"])
    )


def test_the_reply_and_responses_pages(spanish: FlaskClient, campaigns: Path) -> None:
    path = campaigns / f"{LOWER}.yaml"
    path.write_text(path.read_text() + "follow_up:\n  days: 14\n  public_results: true\n")
    assert not campaign_service.sync_folder(campaigns).problems
    action = send(spanish)
    Worker("spanish-test").run()
    assert followups.queue_due_follow_ups(utcnow() + timedelta(days=15))
    follow_up = db.session.scalars(select(FollowUp)).one()
    contact = next(c for c in action.contacts if c.channel == "email")
    url = followups.answer_url(LOWER, followups.token_for(follow_up), contact.id, "yes")
    link = "/" + url.split("/", 3)[3]
    page = visible_text(spanish.get(link))
    assert f"¿{followups.recipient_label(contact)} respondió a su mensaje?" in page
    assert "Sí, me respondieron" in page.splitlines()
    assert "¿No es la respuesta correcta? No, no me respondieron · Todavía no" in page
    assert SPANISH_MONTH_DATE.search(page)
    assert english_left(page) == []
    spanish.post(link)
    answered = visible_text(spanish.get(link))
    assert "Gracias. Registramos su respuesta sobre " in answered
    assert "Su respuesta: me respondieron (registrada el " in answered

    responses = visible_text(spanish.get(f"/c/{LOWER}/responses"))
    assert "Cuánto respondieron los legisladores" in responses
    assert "14 días después de que escribieron, preguntamos" in responses
    assert (
        "Todavía ningún legislador tiene suficientes respuestas para mostrarse (se necesitan "
        "al menos 5)." in responses
    )
    assert english_left(responses) == []


def test_the_find_report_and_state_pages(spanish: FlaskClient) -> None:
    empty = visible_text(spanish.get("/find"))
    assert "Encuentre a sus legisladores estatales" in empty
    assert "O elija su estado" in empty
    assert english_left(empty) == []
    found = visible_text(spanish.get(f"/find?address={quote_plus(ADDRESS)}"))
    assert "Sus legisladores estatales" in found
    assert "La Oficina del Censo encontró 12 MAIN ST, NASHUA, NH, 03060." in found
    assert "Senado · 15" in found
    assert "Estos no son mis legisladores: díganos cuáles son sus distritos." in found
    assert english_left(found) == []
    bad = spanish.get("/find?address=%3Cscript%3E")
    assert bad.status_code == 400
    assert "Esa dirección tiene caracteres que no pueden formar parte de una dirección." in (
        visible_text(bad)
    )

    report = visible_text(spanish.get(f"/find/report?address={quote_plus(ADDRESS)}"))
    assert "Estos no son mis legisladores" in report.splitlines()
    assert "Le mostramos:\nDistrito 15 (Senado)\nDistrito Hillsborough 23 (Cámara" in report
    assert "Su distrito (Senado)" in report
    assert "Enviar el reporte" in report
    assert english_left(report) == []

    nothing = spanish.get("/find/report")
    assert "Primero busque su dirección." in visible_text(spanish.get(nothing.headers["Location"]))

    state = visible_text(spanish.get("/find/nh"))
    assert "New Hampshire: legisladores por distrito" in state
    assert re.search(r"Directorio cargado el .+ desde Open States\.", state)
    assert english_left(state) == []


def test_error_pages(spanish: FlaskClient, app_config: dict[str, object]) -> None:  # noqa: F811
    missing = spanish.get("/c/no-such-campaign")
    assert missing.status_code == 404
    text = visible_text(missing)
    assert "No encontramos la página" in text
    assert "Ver las campañas abiertas" in text
    assert english_left(text) == []
    wrong_method = spanish.put("/find")
    assert wrong_method.status_code == 405
    assert "Método no permitido" in visible_text(wrong_method)

    guarded = create_app({**app_config, "WTF_CSRF_ENABLED": True}).test_client()
    expired = guarded.post(f"/c/{LOWER}/send?lang=es", data={"submission_key": "x"})
    assert expired.status_code == 400
    text = visible_text(expired)
    assert "Vuelva a intentarlo" in text
    assert "El formulario venció o se envió desde otra página." in text
    assert english_left(text) == []


def test_english_stays_english(ready: FlaskClient) -> None:  # noqa: F811
    page = visible_text(ready.get(f"/c/{LOWER}?lang=en"))
    assert "Add your voice" in page and "Sume su voz" not in page
    refused = visible_text(ready.post(f"/c/{LOWER}/act", data={**FORM, "name": ""}))
    assert "Please enter your name." in refused and "Escriba su nombre." not in refused


def test_committee_and_state_office_sentences(
    client: FlaskClient,
    world: Path,  # noqa: F811 - the fixture imported above
    campaigns_dir: Path,
) -> None:
    client.get("/?lang=es")
    page = visible_text(client.get(f"/c/{OFFICES_SLUG}"))
    assert "Quién recibe su mensaje" in page
    assert "Ben Birch (Independiente), Presidencia, House Judiciary Committee" in page
    assert "Cy Cedar (Independiente), Vicepresidencia, House Judiciary Committee" in page
    assert (
        "Su mensaje también va a quien ocupa el cargo de Gobernador en su estado, según su "
        "dirección." in page
    )
    assert (
        "Con su dirección identificaremos a quien ocupa el cargo de Gobernador en su estado."
        in (page)
    )
    assert english_left(page) == []

    write_campaign(campaigns_dir, REPRESENTING)
    assert not campaign_service.sync_folder(campaigns_dir).problems
    said = visible_text(client.get(f"/c/{OFFICES_SLUG}"))
    assert "Con su dirección sabremos quiénes son sus legisladores estatales." in said
    client.post(f"/c/{OFFICES_SLUG}/act", data=FORM)
    said = visible_text(client.get(f"/c/{OFFICES_SLUG}/write"))
    assert (
        "No tenemos registro de quién ocupa el cargo de Secretario de Estado en New Hampshire "
        "en este momento, así que no se envía ningún mensaje a ese cargo." in said
    )
    assert english_left(said) == []
