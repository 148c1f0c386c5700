"""Which language a visitor reads: their choice (remembered), else their browser's; staff
pages stay in English."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.text import visible_text


def test_the_browser_language_decides_without_a_choice(client: FlaskClient) -> None:
    spanish = client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert '<html lang="es"' in spanish.text
    assert "Encuentre a sus legisladores" in visible_text(spanish)
    assert "Find your legislators" not in visible_text(spanish)
    english = client.get("/", headers={"Accept-Language": "fr,en;q=0.8"})
    assert '<html lang="en"' in english.text
    assert "Find your legislators" in visible_text(english)


def test_a_chosen_language_is_remembered_over_the_browser(client: FlaskClient) -> None:
    chosen = client.get("/?lang=es", headers={"Accept-Language": "en"})
    assert "Campañas" in visible_text(chosen)
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith("lang=es;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    again = client.get("/find", headers={"Accept-Language": "en"})
    assert '<html lang="es"' in again.text
    back = client.get("/find?lang=en", headers={"Accept-Language": "es"})
    assert "Find your legislators" in visible_text(back)
    assert client.get("/", headers={"Accept-Language": "es"}).text.count('lang="en"') >= 1


def test_an_unknown_language_is_ignored(client: FlaskClient) -> None:
    page = client.get("/?lang=xx", headers={"Accept-Language": "en"})
    assert '<html lang="en"' in page.text
    assert "Set-Cookie" not in page.headers


def test_the_switcher_links_this_page_in_each_language(client: FlaskClient) -> None:
    page = client.get("/find?lang=es")
    assert 'href="/find?lang=en" lang="en" hreflang="en"' in page.text
    assert 'href="/find?lang=es" lang="es" hreflang="es" aria-current="true"' in page.text
    assert "English\nEspañol" in visible_text(page)


def test_kept_pages_are_kept_per_language(client: FlaskClient) -> None:
    assert "Campañas" in visible_text(client.get("/", headers={"Accept-Language": "es"}))
    english = visible_text(client.get("/", headers={"Accept-Language": "en"}))
    assert "Campaigns" in english and "Campañas" not in english


def test_staff_pages_stay_in_english(client: FlaskClient) -> None:
    page = client.get("/admin/sign-in?lang=es", headers={"Accept-Language": "es"})
    assert '<html lang="en"' in page.text
    assert "Campaigns" in visible_text(page)
    assert "Español" not in visible_text(page)
    assert "Set-Cookie" not in page.headers or "lang=" not in page.headers["Set-Cookie"]
