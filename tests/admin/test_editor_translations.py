"""The editor's "Other languages" box: a campaign's Spanish as YAML, checked by the file's
rules with each problem shown beside the box, and previewed in Spanish."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from advocacy.campaigns import service as campaign_service
from advocacy.campaigns.models import Campaign
from advocacy.extensions import db
from tests.admin.test_editor import NEW, error_beside, save
from tests.text import visible_text

SPANISH = """\
es:
  title: Financiar hogares seguros
  summary: Pida **camas de refugio** para sobrevivientes.
  message:
    subject: Camas de refugio para {{ constituent.state_name }}
    body: |
      Honorable {{ target.salutation }}:

      Le pido que financie camas de refugio.

      {{ constituent.name }}
"""


def test_a_campaigns_spanish_is_saved_and_read_in_spanish(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    response = save(client, "/admin/campaigns/new", status="live", translations=SPANISH)
    assert response.status_code == 303, visible_text(response)
    found = db.session.scalar(select(Campaign).where(Campaign.slug == "fund-safe-homes"))
    assert found is not None and found.current_version is not None
    definition = campaign_service.definition_of(found.current_version)
    assert definition.in_language("es").title == "Financiar hogares seguros"
    public = client.get("/c/fund-safe-homes?lang=es").get_data(as_text=True)
    assert "<h1>Financiar hogares seguros</h1>" in public
    # The edit form gives the box back as it was saved.
    edit = client.get("/admin/c/fund-safe-homes/edit").get_data(as_text=True)
    assert "Le pido que financie camas de refugio." in edit
    assert "title: Financiar hogares seguros" in edit


def test_problems_in_the_spanish_are_shown_beside_the_box(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    broken = SPANISH.replace("{{ constituent.name }}", "{{ constituent.nombre }}")
    page = save(client, "/admin/campaigns/new", translations=broken).get_data(as_text=True)
    assert error_beside(page, "translations").startswith(
        "es.message.body: unknown placeholder {{ constituent.nombre }}"
    )
    # The English has a thank-you text: the Spanish must have one too.
    page = save(
        client, "/admin/campaigns/new", thank_you="Thank you.", translations=SPANISH
    ).get_data(as_text=True)
    assert error_beside(page, "translations") == (
        "es: the campaign has a thank_you: give its translation as translations.es.thank_you"
    )
    page = save(client, "/admin/campaigns/new", translations="es: [unclosed").get_data(as_text=True)
    assert error_beside(page, "translations").startswith("This is not valid YAML on line")
    page = save(client, "/admin/campaigns/new", translations="just words").get_data(as_text=True)
    assert error_beside(page, "translations") == (
        "Write the translations as fields, starting with es:"
    )
    assert db.session.scalar(select(Campaign).where(Campaign.slug == "fund-safe-homes")) is None


def test_the_preview_shows_the_sample_visitor_writing_in_each_language(
    as_role,  # type: ignore[no-untyped-def]
    directory: Path,
) -> None:
    client = as_role("manager")
    response = client.post(
        "/admin/campaigns/new", data={**NEW, "translations": SPANISH, "preview": "1"}
    )
    assert response.status_code == 200
    said = visible_text(response.get_data(as_text=True))
    assert re.search(r"Dear Representative \w+,", said)
    assert re.search(r"In Spanish: To Representative \w+", said)
    assert re.search(r"Honorable Representante \w+:", said)
    assert re.search(r"Honorable Senadora \w+:", said)  # recorded as a woman in the roster
    assert "Camas de refugio para New Hampshire" in said
