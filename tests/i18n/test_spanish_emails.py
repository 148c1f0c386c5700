"""The emails a visitor gets later (receipt, confirmation, "did they reply?") are in the
language they took part in, whatever language the worker's own context has; an English
visitor's stay English. They arrive at a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions import followups
from advocacy.actions.models import Action
from advocacy.campaigns import service as campaign_service
from advocacy.dbtypes import utcnow
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from tests.actions.conftest import ready  # noqa: F401 - the fixture
from tests.actions.helpers import FORM, LOWER, send_mail_to, submission_key
from tests.delivery.conftest import SMTPServer
from tests.lookup.conftest import app_config, directory, people_dir, upstream  # noqa: F401

SPANISH_DATE = r"\d{1,2} de (?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre) de \d{4}"  # noqa: E501

# The campaign's own Spanish title (campaigns/oppose-buyer-immunity.yaml).
SPANISH_TITLE = "Que quien compre a un niño rinda cuentas, en todos los estados"


@pytest.fixture
def smtp(app: Flask, smtp: SMTPServer) -> SMTPServer:
    send_mail_to(app, smtp)
    return smtp


def take_part(client: FlaskClient, language: str, email: str = "alex@example.org") -> Action:
    client.get(f"/?lang={language}")
    client.post(f"/c/{LOWER}/act", data={**FORM, "email": email})
    page = client.get(f"/c/{LOWER}/write").get_data(as_text=True)
    response = client.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    db.session.commit()
    action = db.session.scalars(select(Action).order_by(Action.id.desc())).first()
    assert action is not None and action.language == language
    return action


def mails_to(smtp: SMTPServer, email: str = "alex@example.org") -> list[tuple[str, str]]:
    return [
        (
            " ".join(str(item.message["Subject"]).split()),  # (a long subject is folded)
            item.message.get_content().replace("\r\n", "\n"),
        )
        for item in smtp.received
        if item.rcpt_tos == (email,)
    ]


def test_a_spanish_visitors_receipt_is_in_spanish(ready: FlaskClient, smtp: SMTPServer) -> None:  # noqa: F811
    take_part(ready, "es")
    ready.get("/?lang=en")  # the worker's context last served an English page
    Worker("spanish-mail-test").run()
    [(subject, body)] = mails_to(smtp)
    assert subject == "Lo que envió: Que quien compre a un niño rinda cuentas, en todos los estados"
    assert body.startswith("Hola, Alex Rivera:\n\n")
    assert re.search(
        r"Gracias por participar en «" + re.escape(SPANISH_TITLE) + r"»\. "
        rf"Esto es lo que envió el {SPANISH_DATE}:",
        body,
    )
    assert "- Un correo electrónico a Ada Alder: " in body
    assert "- Una carta a The American Law Institute, para que usted la imprima" in body
    assert "También puede llamar a:" in body
    assert "\nAda Alder: 555-0100 (oficina en el capitolio)\n" in body
    assert "Vea qué pasa con sus mensajes: https://act.example.org/c/" in body
    assert (
        f"Invite a otras personas a participar: https://act.example.org/c/{LOWER}"
        "?lang=es&source=share-receipt\n" in body
    )
    assert "Speak Up le envió este correo porque usted participó en esta campaña." in body
    # (The call script is the campaign file's own text.)
    for english in ("Hello Alex", "Thank you for taking part", "An email to", "You can also call"):
        assert english not in body


def test_an_english_visitors_receipt_stays_english(ready: FlaskClient, smtp: SMTPServer) -> None:  # noqa: F811
    take_part(ready, "en")
    ready.get("/?lang=es")  # the worker's context last served a Spanish page
    Worker("spanish-mail-test").run()
    [(subject, body)] = mails_to(smtp)
    assert subject.startswith("What you sent: ")
    assert body.startswith("Hello Alex Rivera,\n\nThank you for taking part in ")
    assert "\nAda Alder: 555-0100 (capitol office)\n" in body
    assert "Hola" not in body and "correo" not in body


def test_the_confirmation_mail_is_in_the_visitors_language(
    ready: FlaskClient,  # noqa: F811
    smtp: SMTPServer,
    app: Flask,
) -> None:
    app.config["REQUIRE_CONFIRMATION"] = True
    take_part(ready, "es")
    take_part(ready, "en", email="sam@example.org")
    Worker("spanish-mail-test").run()
    [(subject, body)] = mails_to(smtp)
    assert subject == f"Confirme su mensaje: {SPANISH_TITLE}"
    assert body.startswith("Hola, Alex Rivera:\n\nUsted pidió a Speak Up que enviara su mensaje")
    assert "Abra este enlace y presione el botón:" in body
    assert re.search(rf"El enlace funciona hasta el {SPANISH_DATE} a las \d\d:\d\d \(", body)
    assert "Si usted no lo pidió, ignore este correo: no se enviará nada." in body
    [(subject, body)] = mails_to(smtp, "sam@example.org")
    assert subject.startswith("Please confirm your message: ")
    assert "Open this link and press the button:" in body
    assert re.search(r"The link works until [A-Z][a-z]+ \d{1,2}, \d{4} at \d\d:\d\d", body)


def test_the_follow_up_mail_is_in_the_visitors_language(
    ready: FlaskClient,  # noqa: F811
    smtp: SMTPServer,
    campaigns: Path,
) -> None:
    path = campaigns / f"{LOWER}.yaml"
    path.write_text(path.read_text() + "follow_up:\n  days: 14\n")
    assert not campaign_service.sync_folder(campaigns).problems
    take_part(ready, "es")
    take_part(ready, "en", email="sam@example.org")
    Worker("spanish-mail-test").run()
    assert followups.queue_due_follow_ups(utcnow() + timedelta(days=15)) == 2
    Worker("spanish-mail-test").run()
    [(subject, body)] = [m for m in mails_to(smtp) if m[0].startswith("¿")]
    assert subject == f"¿Le respondieron sus legisladores? {SPANISH_TITLE}"
    assert body.startswith("Hola, Alex Rivera:\n\nEl ")
    assert re.search(
        rf"El {SPANISH_DATE} usted escribió a Representative Ada Alder, .+ y .+ por medio de "
        "Speak Up para «",
        body,
    )
    assert "¿Le respondió Representative Ada Alder?" in body
    assert re.search(r"\n  Sí, me respondieron: https://\S+/yes\n", body)
    assert re.search(r"\n  No, no me respondieron: https://\S+/no\n", body)
    assert re.search(r"\n  Todavía no: https://\S+/not-yet\n", body)
    assert "Recibe este único correo porque pidió recibir noticias sobre esta campaña." in body
    [(subject, body)] = [m for m in mails_to(smtp, "sam@example.org") if "reply?" in m[0]]
    assert subject.startswith("Did ") and "Yes, they replied: https://" in body
