"""Webhooks from the real action flow: a visitor's action, the messages the worker delivers,
a call they log and a bounce that comes back, each posted once to a real HTTP receiver and
signed so the specification's verification accepts it."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from advocacy.actions.models import Contact
from advocacy.admin import webhooks as admin_webhooks
from advocacy.delivery.bounces import Notice, record_bounce
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from tests.actions.helpers import start, submission_key
from tests.webhook_receiver import receiver, verify

SLUG = "oppose-buyer-immunity"


def test_every_event_of_an_action_reaches_the_receiver_once(app: Flask, ready: FlaskClient) -> None:
    with receiver() as hooks:
        endpoint = admin_webhooks.create_endpoint(
            admin_webhooks.EndpointSettings(
                name="Coalition CRM",
                url=hooks.url,
                events=["action.created", "contact.delivered", "contact.bounced", "call.logged"],
                campaign_id=None,
                include_personal=True,
                allow_private=True,
            )
        )
        page = start(ready, SLUG)
        thanks = ready.post(f"/c/{SLUG}/send", data={"submission_key": submission_key(page)})
        assert thanks.status_code == 303
        ada = db.session.scalar(sa.select(Contact).where(Contact.target_name == "Ada Alder"))
        assert ada is not None
        ready.post(thanks.headers["Location"] + "/called", data={"target_id": ada.target_id})
        Worker().run()
        emailed = list(db.session.scalars(sa.select(Contact).where(Contact.channel == "email")))
        outbox_id = db.session.scalar(
            sa.select(OutboxMessage.id).where(OutboxMessage.contact_id == emailed[0].id)
        )
        assert outbox_id is not None
        assert record_bounce(outbox_id, Notice("failed", "5.1.1", "User unknown")) == "recorded"
        Worker().run()
        Worker().run()  # nothing is sent twice

        for request in hooks.requests:
            verify(endpoint.secret, request.headers, request.body)
        types = Counter(request.json["type"] for request in hooks.requests)
        assert types == {
            "action.created": 1,
            "contact.delivered": len(emailed),
            "call.logged": 1,
            "contact.bounced": 1,
        }
        assert len({request.headers["webhook-id"] for request in hooks.requests}) == len(
            hooks.requests
        )
        by_type = {request.json["type"]: request.json for request in hooks.requests}
        created = by_type["action.created"]["data"]
        assert created["campaign"] == SLUG
        assert created["constituent"]["name"] == "Alex Rivera"
        assert created["constituent"]["email"] == "alex@example.org"
        assert {c["target"]["name"] for c in created["contacts"]} >= {"Ada Alder"}
        call = by_type["call.logged"]["data"]
        assert (call["channel"], call["status"], call["target"]["name"]) == (
            "call",
            "called",
            "Ada Alder",
        )
        bounced = by_type["contact.bounced"]["data"]
        assert (bounced["contact_id"], bounced["status"]) == (emailed[0].id, "bounced")
        delivered = [
            r.json["data"] for r in hooks.requests if r.json["type"] == "contact.delivered"
        ]
        assert {d["status"] for d in delivered} == {"logged"}  # the site runs in log mode
        assert all(r.json["timestamp"] for r in hooks.requests)


def test_an_endpoint_for_another_campaign_hears_nothing(app: Flask, ready: FlaskClient) -> None:
    from advocacy.campaigns.models import Campaign

    other = db.session.scalar(sa.select(Campaign).where(Campaign.slug != SLUG))
    assert other is not None
    with receiver() as hooks:
        admin_webhooks.create_endpoint(
            admin_webhooks.EndpointSettings(
                name="Other campaign",
                url=hooks.url,
                events=["action.created"],
                campaign_id=other.id,
                include_personal=False,
                allow_private=True,
            )
        )
        page = start(ready, SLUG)
        ready.post(f"/c/{SLUG}/send", data={"submission_key": submission_key(page)})
        Worker().run()
        assert hooks.requests == []
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.kind == "webhook"))
            == 0
        )
