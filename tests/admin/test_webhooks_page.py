"""The webhooks pages as an admin reads them: the endpoint list, an endpoint with its secret
and last attempts, refusals when saving, and each change audited."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from advocacy.admin.models import AuditEntry
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from tests.text import visible_text
from tests.webhook_receiver import receiver

FORM = {
    "name": "Coalition CRM",
    "events": ["action.created", "call.logged"],
    "campaign": "",
}


def audited() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.action.like("webhook.%"))
            .order_by(AuditEntry.id)
        )
    )


def test_an_admin_adds_an_endpoint_and_reads_its_attempts(
    app: Flask,
    campaigns: Path,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    from advocacy.actions.webhooks import queue_event
    from tests.delivery.factory import ContactSpec, make_contact

    client = as_role("admin")
    empty = visible_text(client.get("/admin/webhooks").get_data(as_text=True))
    assert "No endpoints yet." in empty
    assert "plain http (development), so http:// endpoint addresses are accepted too" in empty
    with receiver() as hooks:
        added = client.post(
            "/admin/webhooks", data={**FORM, "url": hooks.url, "allow_private": "y"}
        )
        assert added.status_code == 303
        page = client.get(added.headers["Location"]).get_data(as_text=True)
        said = visible_text(page)
        assert "Added the endpoint Coalition CRM. Its signing secret is below." in said
        assert "Webhook: Coalition CRM" in said
        assert f"Address\n{hooks.url}" in said
        assert "Events\naction.created, call.logged" in said
        assert "Campaign\nEvery campaign" in said
        assert "Personal data\nNot included: ids, campaign, target, status and times only" in said
        assert re.search(r"Signing secret\nwhsec_[A-Za-z0-9+/=]{44}\n", said)
        assert "Nothing has been sent to this endpoint yet." in said
        assert "Queue\n0 waiting, 0 delivered, 0 held, 0 given up" in said

        listed = visible_text(client.get("/admin/webhooks").get_data(as_text=True))
        assert (
            f"Coalition CRM\n{hooks.url}\naction.created, call.logged\nEvery campaign\n"
            "not included\nenabled"
        ) in listed

        hooks.answers = [500]
        contact = make_contact(ContactSpec(target_email="rep@legislature.example.gov"))
        queue_event("action.created", action_id=contact.action_id)
        db.session.commit()
        app.config["DELIVERY_BACKOFF_SECONDS"] = 0.0
        Worker().run()
        Worker().run()
    said = visible_text(client.get(added.headers["Location"]).get_data(as_text=True))
    event = f"evt_action_created_{contact.action_id}"
    assert "Last attempts" in said
    assert "Time (UTC)\nEvent\nResult\nHTTP status\nError\n" in said
    delivered = f"action.created {event}\ndelivered\n200\n"
    failed = f"action.created {event}\nfailed, will retry\n500\nHTTP 500: Internal Server Error"
    assert delivered in said and failed in said
    assert said.index(delivered) < said.index(failed)  # newest first
    assert "Queue\n0 waiting, 1 delivered, 0 held, 0 given up" in said
    assert audited() == ["webhook.created"]


def test_saving_refuses_what_cannot_be_sent_to(
    app: Flask,
    campaigns: Path,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("admin")
    private = client.post("/admin/webhooks", data={**FORM, "url": "http://10.0.0.7/hook"})
    assert private.status_code == 400
    assert (
        "10.0.0.7 resolves to 10.0.0.7, a private, loopback, link-local or reserved address; "
        "the site does not send to those."
    ) in visible_text(private.get_data(as_text=True))
    metadata = client.post(
        "/admin/webhooks", data={**FORM, "url": "http://169.254.169.254/latest/meta-data"}
    )
    assert "169.254.169.254 resolves to 169.254.169.254" in visible_text(
        metadata.get_data(as_text=True)
    )
    no_events = client.post(
        "/admin/webhooks",
        data={"name": "x", "url": "http://127.0.0.1:9/hook", "allow_private": "y"},
    )
    assert no_events.status_code == 400
    assert "Choose at least one event to send." in visible_text(no_events.get_data(as_text=True))
    app.config["SITE_URL"] = "https://speakup.example.org"
    plain = client.post(
        "/admin/webhooks", data={**FORM, "url": "http://127.0.0.1:9/hook", "allow_private": "y"}
    )
    said = visible_text(plain.get_data(as_text=True))
    assert "The address must use https:// (plain http only in development)." in said
    assert "No endpoints yet." in said
    assert audited() == []


def test_disable_new_secret_edit_and_delete_are_audited(
    app: Flask,
    campaigns: Path,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("admin")
    added = client.post(
        "/admin/webhooks", data={**FORM, "url": "http://127.0.0.1:9/hook", "allow_private": "y"}
    )
    location = added.headers["Location"]
    first = re.search(r"whsec_\S+", visible_text(client.get(location).get_data(as_text=True)))
    assert first is not None

    disabled = client.post(location + "/disable")
    said = visible_text(client.get(disabled.headers["Location"]).get_data(as_text=True))
    assert "Coalition CRM is disabled." in said
    assert (
        "State\nDisabled: new events are not queued, and waiting ones are held until it is enabled"
    ) in said
    assert "Enable the endpoint" in said

    client.post(location + "/secret")
    said = visible_text(client.get(location).get_data(as_text=True))
    assert "Coalition CRM has a new signing secret; give it to the receiver." in said
    second = re.search(r"whsec_\S+", said)
    assert second is not None and second.group(0) != first.group(0)

    changed = client.post(
        location,
        data={
            "name": "Coalition CRM",
            "url": "http://127.0.0.1:9/other",
            "events": ["contact.bounced"],
            "campaign": "",
            "include_personal": "y",
            "allow_private": "y",
        },
    )
    assert changed.status_code == 303
    said = visible_text(client.get(location).get_data(as_text=True))
    assert "Saved the endpoint Coalition CRM." in said
    assert "Personal data\nIncluded: name, email and postal address" in said
    assert "Events\ncontact.bounced" in said

    deleted = client.post(location + "/delete")
    assert deleted.headers["Location"] == "/admin/webhooks"
    said = visible_text(client.get("/admin/webhooks").get_data(as_text=True))
    assert "Deleted the endpoint Coalition CRM and the messages waiting for it." in said
    assert "No endpoints yet." in said
    assert client.get(location).status_code == 404
    assert audited() == [
        "webhook.created",
        "webhook.disabled",
        "webhook.secret_replaced",
        "webhook.changed",
        "webhook.deleted",
    ]


def test_an_unknown_campaign_or_event_is_refused_with_a_message(
    app: Flask,
    campaigns: Path,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("admin")
    data = {**FORM, "url": "http://127.0.0.1:9/hook", "allow_private": "y"}
    unknown = client.post("/admin/webhooks", data={**data, "campaign": "not-a-campaign"})
    assert unknown.status_code == 400
    assert "That campaign does not exist." in visible_text(unknown.get_data(as_text=True))
    odd = client.post("/admin/webhooks", data={**data, "events": ["user.deleted"]})
    assert odd.status_code == 400
    assert "Choose at least one event to send." in visible_text(odd.get_data(as_text=True))
    assert audited() == []
