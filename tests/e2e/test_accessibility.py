"""Accessibility scan of the public pages in a real browser (axe-core, bundled by
axe-playwright-python): no serious or critical violation of WCAG 2.1 A/AA or axe's best
practices on the home page, a campaign page (also with form errors), the write page after a
lookup, the district choice, the thank-you page, a letter to print, /find (empty and with a
result), a state page, the 404 page, the rate-limit page, the staff sign-in page, the campaign
editor listing warnings with a preview; a campaign naming a committee's leaders, the
wrong-district report form, and the staff pages of reports, held messages and a state's
committees; a digest campaign's write and thank-you pages and its daily digest's page; the "did
they reply?" answer page (before and after answering) and a campaign's public reply rates; the
embedded action's compact pages (campaign form, write page, thank-you page); the staff webhooks
pages (the list with form errors, an endpoint with its last attempts).

Every public page is scanned in English and in Spanish (the visitor's browser asks for it):
the longer texts of a language must not break the layout or its labels.

Each page is also checked for Content-Security-Policy violations: the browser reports none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from advocacy.actions import followups
from advocacy.actions.models import Action, FollowUp
from advocacy.campaigns.service import sync_folder
from advocacy.dbtypes import utcnow
from advocacy.delivery.bounces import Notice, record_bounce
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import run_workers
from advocacy.extensions import db
from tests.delivery.conftest import SMTPServer
from tests.e2e.conftest import World
from tests.e2e.harness import (
    ADDRESS,
    SLUG,
    VISITOR,
    LiveServer,
    add_staff,
    add_to_campaign,
    console_reports,
    make_digest_campaign,
    send_digest,
    sign_in,
)
from tests.lookup.offices_world import FORMER_GOVERNOR, sync_nh, write_campaign

axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")

OTHER = "oppose-buyer-immunity"  # a fixed recipient with a postal address and a phone
RULES = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
BLOCKING = ("serious", "critical")
# The browser's language for each of the site's languages, and the words a test finds its way
# by (buttons, labels, headings) in each.
LOCALES = {"en": "en-US", "es": "es-US"}
WORDS = {
    "en": {
        "name": "Your name",
        "email": "Email",
        "address": "Home street address",
        "find legislators": "Find my legislators",
        "continue": "Continue",
        "own words": "100% of this message is in your own",
        "check": "Check my messages",
        "checked": "We checked your messages",
        "send": "Send my messages",
        "print letter": "Print your letter to The American Law Institute",
        "letter": "Your letter to The American Law Institute",
        "find": "Find",
        "too many": "Too Many Requests",
        "who receives": "Who receives your message",
        "to governor": "To Governor Ayres",
        "left office": "they left office before your email",
        "send report": "Send the report",
        "house district": "Your House district",
        "keep informed": "Keep me informed about this campaign",
        "did reply": "Did {name} reply to your message?",
        "yes": "Yes, they replied",
        "recorded": "Thank you. We recorded your answer",
        "add your voice": "Add your voice",
        "full page": "Open the full page",
    },
    "es": {
        "name": "Su nombre",
        "email": "Correo electrónico",
        "address": "Dirección de su domicilio",
        "find legislators": "Encontrar a mis legisladores",
        "continue": "Continuar",
        "own words": "100% de este mensaje está en sus propias palabras",
        "check": "Revisar mis mensajes",
        "checked": "Revisamos sus mensajes",
        "send": "Enviar mis mensajes",
        "print letter": "Imprima su carta a The American Law Institute",
        "letter": "Su carta a The American Law Institute",
        "find": "Buscar",
        "too many": "Demasiadas solicitudes",
        "who receives": "Quién recibe su mensaje",
        "to governor": "Para Governor Ayres",
        "left office": "dejó el cargo antes de que se pudiera enviar su correo",
        "send report": "Enviar el reporte",
        "house district": "Su distrito (Cámara de Representantes)",
        "keep informed": "Quiero recibir noticias sobre esta campaña",
        "did reply": "¿{name} respondió a su mensaje?",
        "yes": "Sí, me respondieron",
        "recorded": "Gracias. Registramos su respuesta",
        "add your voice": "Sume su voz",
        "full page": "Abra la página completa",
    },
}


@pytest.fixture(params=list(LOCALES))
def language(request: pytest.FixtureRequest) -> str:
    """Each public page's test runs once per language."""
    return str(request.param)


def fill_action_form(
    page: Page, language: str, address: str = ADDRESS, email: str = VISITOR["email"]
) -> None:
    """``submit_action_form`` in ``language``: the fields by their labels, then submit."""
    words = WORDS[language]
    page.get_by_label(words["name"]).fill(VISITOR["name"])
    page.get_by_label(words["email"], exact=True).fill(email)
    page.get_by_label(words["address"]).fill(address)
    page.get_by_role("button", name=words["find legislators"]).click()


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    # Rate limits on, so the rate-limit page can be scanned (one more "I called" than allowed).
    return {
        **app_config,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_SUBMIT": "20 per minute",
        "RATELIMIT_LOOKUP": "20 per minute",
    }


@pytest.fixture
def scan(new_page: Callable[..., Page], live_server: LiveServer) -> Iterator[Callable[..., None]]:
    """``scan(page, name)``: axe on the page as it is; fails on serious or critical issues and
    on any CSP violation the browser reported."""
    axe = axe_playwright.Axe()
    problems: list[str] = []

    def run(page: Page, name: str) -> None:
        page.wait_for_load_state("load")  # its stylesheet applied (a busy machine is slow)
        results = axe.run(page, options=RULES)
        for violation in results.response["violations"]:
            if violation["impact"] in BLOCKING:
                targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
                problems.append(
                    f"{name}: {violation['impact']} {violation['id']}: {violation['help']} "
                    f"at {targets[:5]}"
                )

    yield run
    assert not problems, "\n".join(problems)


def watched(
    new_page: Callable[..., Page], language: str = "en", **options: object
) -> tuple[Page, list[str]]:
    """A page whose CSP violations (as the browser reports them in its console) are kept; its
    browser asks for ``language``."""
    page = new_page(locale=LOCALES[language], **options)
    return page, console_reports(page, "Content Security Policy", "Refused to")


def test_public_pages_have_no_serious_accessibility_issues(
    new_page: Callable[..., Page], scan: Callable[..., None], app: Flask, language: str
) -> None:
    words = WORDS[language]
    page, csp_reports = watched(new_page, language)

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    scan(page, "home")
    page.goto(f"/c/{OTHER}")
    scan(page, "campaign page")
    page.get_by_role("button", name=words["find legislators"]).click()  # nothing filled in
    expect(page.locator(".error").first).to_be_visible()
    scan(page, "campaign page with form errors")

    page.goto(f"/c/{SLUG}")
    fill_action_form(page, language)
    expect(page).to_have_url(re.compile(r"/write$"))
    scan(page, "write page")
    page.locator("textarea").first.fill("Why this matters to me, in my own words.")
    expect(page.locator(".coach").first).to_contain_text(words["own words"])
    scan(page, "write page with the coach's figures as typed")
    page.get_by_role("button", name=words["check"]).click()
    expect(page.locator("main")).to_contain_text(words["checked"])
    scan(page, "write page after Check my messages")
    page.goto(f"/c/{SLUG}/choose?state=nh")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    scan(page, "choose page")
    page.goto(f"/c/{SLUG}/write")
    page.get_by_role("button", name=words["send"]).click()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    scan(page, "thank-you page")
    page.goto(f"/c/{SLUG}")
    fill_action_form(page, language)  # the same person again
    expect(page).to_have_url(re.compile(r"/already$"))
    scan(page, "already sent page")
    page.goto(f"/c/{OTHER}")
    fill_action_form(page, language, email="letter.writer@example.org")
    page.get_by_role("button", name=words["send"]).click()
    page.get_by_role("link", name=words["print letter"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["letter"])
    scan(page, "letter page")

    page.goto("/find")
    scan(page, "find page")
    page.get_by_label(words["address"]).first.fill(ADDRESS)
    page.get_by_role("button", name=words["find"], exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/find\?address="))
    scan(page, "find page with a result")
    page.goto("/find/nh")
    scan(page, "state page")
    page.goto("/no-such-page")
    scan(page, "404 page")
    if language == "en":  # staff pages are in English whatever the browser asks
        page.goto("/admin/sign-in")
        scan(page, "sign-in page")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("p.error").first).to_be_visible()  # the answer to the post
        scan(page, "sign-in page with errors")
    assert not csp_reports, csp_reports


def test_the_rate_limit_page_is_accessible(
    new_page: Callable[..., Page], scan: Callable[..., None], app: Flask, language: str
) -> None:
    page, csp_reports = watched(new_page, language)
    response = None
    for _ in range(21):
        response = page.goto(f"/find?address={ADDRESS}")
        if response is not None and response.status == 429:
            break
    assert response is not None and response.status == 429
    assert response.headers["retry-after"].isdigit()
    expect(page.get_by_role("heading", level=1)).to_have_text(WORDS[language]["too many"])
    scan(page, "rate-limit page")
    assert not csp_reports, csp_reports


def test_pages_work_with_the_policy_in_a_phone_sized_browser(
    new_page: Callable[..., Page], scan: Callable[..., None], app: Flask, language: str
) -> None:
    """Small screens get the same pages: scanned again at 375 px (reflow, target size)."""
    page, csp_reports = watched(new_page, language, viewport={"width": 375, "height": 740})
    page.goto(f"/c/{SLUG}")
    scan(page, "campaign page (phone)")
    fill_action_form(page, language)
    expect(page).to_have_url(re.compile(r"/write$"))
    scan(page, "write page (phone)")
    assert not csp_reports, csp_reports


def test_the_campaign_editor_with_warnings_is_accessible(
    new_page: Callable[..., Page], scan: Callable[..., None], live_server: LiveServer
) -> None:
    manager = add_staff("manager@example.org", "manager")
    page, csp_reports = watched(new_page)
    sign_in(page, manager)
    page.goto(f"/admin/c/{OTHER}/edit")
    page.get_by_label("Message body").fill(
        "Dear {{ target.salutation }},\n\nI live in {{ constituent.city }}, in our state."
    )
    page.get_by_role("button", name="Preview the message").click()
    expect(page.get_by_role("region", name=re.compile(r"warning"))).to_be_visible()
    scan(page, "campaign editor with warnings and a preview")
    assert not csp_reports, csp_reports


def test_committee_targets_reports_and_held_messages_are_accessible(
    new_page: Callable[..., Page],
    scan: Callable[..., None],
    live_server: LiveServer,
    campaigns_dir: Path,
    tmp_path: Path,
    language: str,
) -> None:
    """The campaign page naming a committee's leaders, the write page to them and the
    governor, the wrong-district report form, and the staff pages listing reports and messages
    held because their recipient left office."""
    words = WORDS[language]
    repo = tmp_path / "repo"
    sync_nh(repo, replace=True)  # New Hampshire with its committees, instead of nh.csv
    write_campaign(campaigns_dir)
    assert not sync_folder(campaigns_dir).problems
    manager = add_staff("manager@example.org", "manager")
    page, csp_reports = watched(new_page, language)
    page.goto("/c/judiciary-and-governor")
    expect(page.get_by_role("region", name=words["who receives"])).to_be_visible()
    scan(page, "campaign page naming its recipients")
    page.get_by_label(words["name"]).fill("Pat Example")
    page.get_by_label(words["email"], exact=True).fill("pat@example.org")
    page.get_by_label(words["address"]).fill(ADDRESS)
    page.get_by_role("button", name=words["continue"]).click()
    expect(page.get_by_role("heading", name=words["to governor"])).to_be_visible()
    scan(page, "write page to a committee and the governor")
    page.get_by_role("button", name=words["send"]).click()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    # The governor leaves before the worker runs: that message is held.
    sync_nh(repo, executives=[FORMER_GOVERNOR])
    db.session.remove()
    assert run_workers(1).held == 1
    db.session.remove()
    page.reload()
    expect(page.locator("main")).to_contain_text(words["left office"])
    scan(page, "thank-you page with a held message")

    page.goto(f"/find/report?address={ADDRESS}")
    scan(page, "wrong-district report form")
    page.get_by_role("button", name=words["send report"]).click()  # nothing chosen
    expect(page.locator("#report-error")).to_be_visible()
    scan(page, "wrong-district report form with its error")
    page.get_by_label(words["house district"]).select_option("lower|Hillsborough 24")
    page.get_by_role("button", name=words["send report"]).click()
    expect(page).to_have_url(re.compile(r"/find\?address="))
    if language != "en":  # the staff pages that follow are in English whatever the browser asks
        assert not csp_reports, csp_reports
        return

    sign_in(page, manager)
    page.goto("/admin/district-reports")
    expect(page.get_by_role("button", name=re.compile("Approve report"))).to_be_visible()
    scan(page, "district reports")
    page.goto("/admin/c/judiciary-and-governor")
    expect(page.get_by_role("button", name="Send anyway to Kelly Ayres")).to_be_visible()
    scan(page, "staff campaign page with held messages")
    page.goto("/admin/directory/nh")
    expect(page.get_by_role("heading", name="Committees")).to_be_visible()
    scan(page, "staff directory page with committees and officials")
    # A message that was sent comes back later as undeliverable.
    sent = db.session.scalar(
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.kind == "contact", OutboxMessage.status == "sent")
        .limit(1)
    )
    db.session.remove()
    assert sent is not None
    assert record_bounce(sent, Notice("failed", "5.1.1", "550 5.1.1 User unknown")) == "recorded"
    page.goto("/admin/directory")
    expect(page.get_by_role("heading", name="Addresses that bounce")).to_be_visible()
    expect(page.locator("main")).to_contain_text("550 5.1.1 User unknown")
    scan(page, "staff directory page with addresses that bounce")
    assert not csp_reports, csp_reports


def test_a_digest_campaign_and_its_digest_page_are_accessible(
    new_page: Callable[..., Page],
    scan: Callable[..., None],
    live_server: LiveServer,
    app: Flask,
    world: World,
    smtp: SMTPServer,
    language: str,
) -> None:
    make_digest_campaign(app, world, smtp)
    page, csp_reports = watched(new_page, language)
    page.goto(f"/c/{SLUG}")
    fill_action_form(page, language)
    expect(page).to_have_url(re.compile(r"/write$"))
    scan(page, "write page of a digest campaign")
    page.locator("textarea").first.fill("In my own words: please act.\n\nPat")
    page.get_by_role("button", name=WORDS[language]["send"]).click()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    scan(page, "thank-you page of a digest campaign")
    mail = send_digest(smtp, "morgan.castellanos@example.org")
    link = re.search(r"Read this digest on the web: (\S+)", mail)
    assert link is not None
    page.goto(link.group(1).split("127.0.0.1:5000", 1)[-1])
    # An office's page: in English whatever the browser asks.
    expect(page.get_by_role("heading", level=1)).to_contain_text("messages to")
    scan(page, "digest page")
    assert not csp_reports, csp_reports


def test_the_did_they_reply_pages_are_accessible(
    new_page: Callable[..., Page],
    scan: Callable[..., None],
    live_server: LiveServer,
    world: World,
    language: str,
) -> None:
    words = WORDS[language]
    add_to_campaign(world, "follow_up:\n  days: 14\n  public_results: true\n  min_answers: 1\n")
    page, csp_reports = watched(new_page, language)
    page.goto(f"/c/{SLUG}")
    page.get_by_label(words["keep informed"]).check()  # asked only then
    fill_action_form(page, language)
    page.get_by_role("button", name=words["send"]).click()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    db.session.remove()
    run_workers(1)  # delivered (log mode)
    db.session.remove()
    assert followups.queue_due_follow_ups(utcnow() + timedelta(days=15)) == 1
    action = db.session.scalars(select(Action)).one()
    follow_up = db.session.scalars(select(FollowUp)).one()
    contact = next(c for c in action.contacts if c.channel == "email")
    link = followups.answer_url(SLUG, followups.token_for(follow_up), contact.id, "yes")
    name = followups.recipient_label(contact)
    db.session.remove()

    page.goto("/" + link.split("/", 3)[3])
    heading = words["did reply"].format(name=name)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    scan(page, "did-they-reply answer page")
    page.get_by_role("button", name=words["yes"]).click()
    expect(page.locator("main")).to_contain_text(words["recorded"])
    scan(page, "did-they-reply answer page after answering")
    page.goto(f"/c/{SLUG}/responses")
    expect(page.get_by_role("table")).to_contain_text(name)
    scan(page, "public reply rates")
    assert not csp_reports, csp_reports


def test_the_webhooks_pages_are_accessible(
    new_page: Callable[..., Page], scan: Callable[..., None], live_server: LiveServer
) -> None:
    """The endpoint list with the add form's errors, and an endpoint with a failed attempt."""
    from advocacy.actions.webhooks import queue_event
    from advocacy.delivery.worker import Worker
    from tests.delivery.factory import ContactSpec, make_contact

    admin = add_staff("admin@example.org", "admin")
    page, csp_reports = watched(new_page)
    sign_in(page, admin)
    page.goto("/admin/webhooks")
    page.get_by_label("Name (who receives it, e.g. the partner's CRM)").fill("Coalition CRM")
    page.get_by_label("Endpoint address").fill("http://10.0.0.7/hook")
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.get_by_text("Choose at least one event to send.")).to_be_visible()
    scan(page, "webhooks page with the add form's errors")
    page.get_by_label("Endpoint address").fill("http://127.0.0.1:9/hook")
    page.get_by_label("An action is taken (action.created)").check()
    page.get_by_label("Allow a private or loopback address").check()
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.get_by_role("heading", name="Webhook: Coalition CRM")).to_be_visible()
    contact = make_contact(ContactSpec(target_email="rep@legislature.example.gov"))
    queue_event("action.created", action_id=contact.action_id)
    db.session.commit()
    Worker().run()  # port 9 is closed: a failed attempt to list
    db.session.remove()
    page.reload()
    expect(page.get_by_text("failed, will retry")).to_be_visible()
    scan(page, "a webhook endpoint with its last attempts")
    page.goto("/admin/webhooks")
    scan(page, "the list of webhook endpoints")
    assert not csp_reports, csp_reports


def test_the_embedded_action_is_accessible(
    new_page: Callable[..., Page], scan: Callable[..., None], world: World, language: str
) -> None:
    words = WORDS[language]
    add_to_campaign(world, "embed:\n  allowed_origins: [https://partner.example.org]\n")
    page, csp_reports = watched(new_page, language)
    page.goto(f"/c/{SLUG}/embed")
    expect(page.get_by_role("heading", name=words["add your voice"])).to_be_visible()
    scan(page, "embedded campaign page")
    fill_action_form(page, language)
    expect(page).to_have_url(re.compile(r"/embed/write$"))
    scan(page, "embedded write page")
    page.get_by_role("button", name=words["send"]).click()
    expect(page).to_have_url(re.compile(r"/embed/thanks/[A-Za-z0-9_-]+$"))
    expect(page.get_by_role("link", name=words["full page"])).to_be_visible()
    scan(page, "embedded thank-you page")
    assert not csp_reports, csp_reports
