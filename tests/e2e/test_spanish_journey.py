"""The whole flow in Spanish in a real browser, for the repository's campaign with a letter to
post: the visitor chooses Español with the switcher, and every step (campaign page, write
page, thank-you page, printed letter) gives the campaign's Spanish texts and none of its
English; the letters sent are the Spanish ones. A campaign without Spanish stays usable by a
browser asking for Spanish, its English marked as English. Each page is scanned with axe too.

Fields and buttons are found by their ids and roles in the page's structure, not by their
English labels: the site's own words are Spanish here as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import yaml
from playwright.sync_api import Page, expect
from sqlalchemy import select

from advocacy.actions.models import Action, Contact
from advocacy.campaigns.service import sync_folder
from advocacy.extensions import db
from tests.actions.test_spanish_campaigns import ENGLISH
from tests.e2e.conftest import World
from tests.e2e.harness import (
    ADDRESS,
    HOUSE_MEMBERS,
    NH_MATCH,
    SENATOR,
    VISITOR,
    LiveServer,
)
from tests.fakes.upstream import FakeUpstreams

SLUG = "oppose-buyer-immunity"
TITLE = "Que quien compre a un niño rinda cuentas, en todos los estados"


def main_text(page: Page) -> str:
    return page.locator("main").inner_text()


def no_english(text: str, where: str) -> None:
    left = [words for words in ENGLISH if words in text]
    assert not left, f"{where}: the campaign's English on a Spanish page: {left}"


def axe_scan(page: Page, name: str) -> None:
    """No serious or critical accessibility issue on the Spanish page."""
    axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
    from tests.e2e.test_accessibility import BLOCKING, RULES

    page.wait_for_load_state("load")
    results = axe_playwright.Axe().run(page, options=RULES)
    blocking = [
        f"{v['id']}: {v['help']}" for v in results.response["violations"] if v["impact"] in BLOCKING
    ]
    assert not blocking, f"{name}: {blocking}"


def test_a_visitor_reads_and_sends_the_campaign_in_spanish(
    new_page: Callable[..., Page], live_server: LiveServer, upstream: FakeUpstreams
) -> None:
    upstream.add_address(ADDRESS, NH_MATCH)
    page = new_page()
    page.goto(f"/c/{SLUG}")
    expect(page.locator("h1")).to_have_text("Keep buyers of children accountable in every state")
    page.locator("nav.languages a[hreflang=es]").click()

    # The campaign page.
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).to_have_text(TITLE)
    said = main_text(page)
    assert "Todo adulto que compre a un niño con fines sexuales debe ser procesado como" in said
    assert "Agradecer al American Law Institute la rectificación" in said
    assert "Usamos su dirección para encontrar a su representante estatal" in said
    assert "solo está disponible en inglés" not in said
    no_english(said, "campaign page")
    assert page.locator("main [lang=en]").count() == 0
    axe_scan(page, "campaign page in Spanish")

    page.locator("#name").fill(VISITOR["name"])
    page.locator("#email").fill(VISITOR["email"])
    page.locator("#street_address").fill(ADDRESS)
    page.locator("form[action$='/act'] button[type=submit]").click()

    # The write page: each message in Spanish, greeting each recipient correctly.
    expect(page).to_have_url(re.compile(r"/write$"))
    said = main_text(page)
    assert TITLE in said
    for name in HOUSE_MEMBERS:
        assert f"Representante {name.split()[-1]}" in said
    assert "Miembros del Consejo del American Law Institute" in said
    boxes = page.locator("textarea")
    expect(boxes).to_have_count(3)
    for index, name in enumerate(HOUSE_MEMBERS):
        message = boxes.nth(index).input_value()
        assert message.startswith(f"Honorable Representante {name.split()[-1]}:\n\nVivo en su")
        assert "Un niño no puede consentir en el comercio sexual." in message
        assert message.rstrip().endswith("Atentamente,\nPat Example\nConcord, New Hampshire")
    letter = boxes.nth(2).input_value()
    assert letter.startswith("Estimados miembros del Consejo del American Law Institute:")
    assert "Le pido que nuestro estado haga rendir cuentas" in said
    no_english(said + "".join(boxes.nth(i).input_value() for i in range(3)), "write page")
    axe_scan(page, "write page in Spanish")

    # The visitor adds a sentence of their own (the Spanish template is editable).
    own = boxes.first.input_value().replace(
        "Atentamente,", "Esto me importa como madre de familia.\n\nAtentamente,"
    )
    boxes.first.fill(own)
    page.locator("form.send-form button[type=submit]").first.click()

    # The thank-you page.
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    said = main_text(page)
    assert "Gracias por defender a los niños." in said
    assert "Hola, me llamo Pat Example y vivo en el distrito que representa" in said
    assert "Llamo para agradecer al American Law Institute que haya revertido el cambio" in said
    no_english(said, "thank-you page")
    axe_scan(page, "thank-you page in Spanish")

    # The letter to print.
    page.locator("a[href*='/letter/american-law-institute']").first.click()
    expect(page).to_have_url(re.compile(r"/letter/american-law-institute$"))
    page.wait_for_load_state("load")  # its stylesheet applied: the signature's line breaks show
    letter_text = page.locator("article.letter").inner_text()
    lines = [line.strip() for line in letter_text.splitlines() if line.strip()]
    assert re.fullmatch(r"\d{1,2} de [a-z]+ de \d{4}", lines[2]), lines[:3]
    assert (
        "Asunto: Gracias por mantener a quienes compran niños dentro de los delitos de trata"
        in lines
    )
    assert "Estimados miembros del Consejo del American Law Institute:" in lines
    assert lines[-3:] == ["Atentamente,", "Pat Example", "Concord, New Hampshire"]
    no_english(main_text(page), "letter page")
    axe_scan(page, "letter page in Spanish")

    # What was sent is what the visitor read.
    db.session.remove()
    action = db.session.scalar(select(Action))
    assert action is not None and action.language == "es"
    bodies = {c.target_name: c.body or "" for c in db.session.scalars(select(Contact))}
    assert "Esto me importa como madre de familia." in bodies[HOUSE_MEMBERS[0]]
    assert bodies[HOUSE_MEMBERS[1]].startswith("Honorable Representante")
    assert bodies["The American Law Institute"].startswith("Estimados miembros del Consejo")
    db.session.remove()


def test_a_campaign_without_spanish_is_usable_by_a_spanish_browser(
    new_page: Callable[..., Page],
    live_server: LiveServer,
    upstream: FakeUpstreams,
    world: World,
) -> None:
    source = (world.campaigns_dir / "every-exploited-child-is-a-victim.yaml").read_text()
    data = yaml.safe_load(source)
    del data["translations"]
    data["slug"] = "english-only"
    (world.campaigns_dir / "english-only.yaml").write_text(yaml.safe_dump(data))
    assert not sync_folder(world.campaigns_dir).problems
    db.session.remove()
    upstream.add_address(ADDRESS, NH_MATCH)

    page = new_page(locale="es-US")  # the browser asks for Spanish: no choice made yet
    page.goto("/c/english-only")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    heading = page.locator("h1")
    expect(heading).to_have_text("Every exploited child is a victim")
    expect(heading).to_have_attribute("lang", "en")
    expect(page.locator(".summary")).to_have_attribute("lang", "en")
    assert "Esta campaña solo está disponible en inglés." in main_text(page)
    axe_scan(page, "a campaign without Spanish, in Spanish")

    page.locator("#name").fill(VISITOR["name"])
    page.locator("#email").fill(VISITOR["email"])
    page.locator("#street_address").fill(ADDRESS)
    page.locator("form[action$='/act'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/write$"))
    assert "Esta campaña solo está disponible en inglés." in main_text(page)
    box = page.locator("textarea").first
    expect(box).to_have_attribute("lang", "en")
    senator = SENATOR.split()[-1]
    assert box.input_value().startswith(f"Dear Senator {senator},\n\nI am your constituent")
    axe_scan(page, "write page of a campaign without Spanish, in Spanish")
    page.locator("form.send-form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    expect(page.locator(".thank-you")).to_have_attribute("lang", "en")

    db.session.remove()
    action = db.session.scalar(select(Action))
    assert action is not None and action.language == "es"
    assert all((c.body or "").startswith("Dear ") for c in action.contacts)
    db.session.remove()
