"""Staff and the embedded action: the partners' sites in the editor, and the code to paste
on the campaign's page."""

from __future__ import annotations

import html

from advocacy.campaigns import service as campaign_service
from tests.admin.test_editor import campaign, error_beside, form_values, save
from tests.text import visible_text

SNIPPET = (
    '<iframe src="http://127.0.0.1:5000/c/fund-safe-homes/embed" title="Take action: Fund '
    'safe homes" loading="lazy" style="width:100%;border:0" height="1100">'
    '</iframe> <script src="http://127.0.0.1:5000/static/embed.js" async></script>'
)


def test_partners_are_saved_checked_and_given_the_code_to_paste(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    text = visible_text(client.get("/admin/campaigns/new"))
    assert "Partner sites that may embed the action (optional, one per line)" in text

    page = save(
        client,
        "/admin/campaigns/new",
        embed_origins="https://partner.example.org/take-action\nhttp://partner.example.org",
    ).get_data(as_text=True)
    error = html.unescape(error_beside(page, "embed_origins"))
    assert "'https://partner.example.org/take-action' is not an origin" in error
    assert "'http://partner.example.org' must use https (plain http only for localhost)" in error

    response = save(
        client,
        "/admin/campaigns/new",
        embed_origins="https://partner.example.org\r\nhttps://coalition.example.net",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    version = campaign("fund-safe-homes").current_version
    assert version is not None
    definition = campaign_service.definition_of(version)
    assert definition.embed is not None
    assert definition.embed.allowed_origins == [
        "https://partner.example.org",
        "https://coalition.example.net",
    ]
    values = form_values(client.get("/admin/c/fund-safe-homes/edit").get_data(as_text=True))
    assert values["embed_origins"] == "https://partner.example.org\nhttps://coalition.example.net"

    text = visible_text(client.get("/admin/c/fund-safe-homes"))
    assert "Embed on a partner's page" in text
    assert (
        "Partners listed in the campaign's embed option (https://partner.example.org, "
        "https://coalition.example.net) can show the action on their own page: they paste "
        "this where it should appear. Other sites cannot show it." in text
    )
    assert SNIPPET in text


def test_a_campaign_without_partners_offers_no_code(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    assert save(client, "/admin/campaigns/new").status_code == 303
    text = visible_text(client.get("/admin/c/fund-safe-homes"))
    assert "Embed on a partner's page" not in text and "<iframe" not in text
