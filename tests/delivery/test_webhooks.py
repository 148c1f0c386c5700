"""Webhooks through the outbox to a real HTTP receiver: Standard Webhooks signatures checked
by an independent verifier, once per endpoint and event, retries, dead letters, redirects
not followed, address refusals at save and at send, personal data only when asked for, and
retention."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from advocacy.actions.models import Action, Contact
from advocacy.actions.webhooks import WebhookAttempt, WebhookEndpoint, queue_event
from advocacy.dbtypes import utcnow
from advocacy.delivery import webhooks as transport
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.webhooks import UnsafeEndpoint, check_url, new_secret, signature
from advocacy.delivery.worker import Worker, run_workers
from advocacy.exports.retention import apply_retention
from advocacy.extensions import db
from tests.webhook_receiver import InvalidSignature, Receiver, receiver, verify

from .factory import ContactSpec, make_all_due, make_contact

ALL_EVENTS = ["action.created", "contact.delivered", "contact.bounced", "call.logged"]


@pytest.fixture
def hooks(app: Flask) -> Iterator[Receiver]:
    app.config.update(DELIVERY_BACKOFF_SECONDS=0.0, DELIVERY_MAX_ATTEMPTS=3)
    with receiver() as running:
        yield running


def endpoint(url: str, **values: object) -> WebhookEndpoint:
    row = WebhookEndpoint(
        name=str(values.pop("name", "Partner CRM")),
        url=url,
        secret=new_secret(),
        events=values.pop("events", ALL_EVENTS),
        allow_private=values.pop("allow_private", True),
        include_personal=values.pop("include_personal", False),
        enabled=True,
        **values,
    )
    db.session.add(row)
    db.session.commit()
    return row


def an_action_event(spec: ContactSpec | None = None) -> Contact:
    contact = make_contact(spec or ContactSpec(target_email="rep@legislature.example.gov"))
    queue_event("action.created", action_id=contact.action_id)
    db.session.commit()
    return contact


def attempts(row: WebhookEndpoint) -> list[tuple[str, int | None]]:
    return [
        (a.result, a.status_code)
        for a in db.session.scalars(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.endpoint_id == row.id)
            .order_by(WebhookAttempt.id)
        )
    ]


def webhook_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "webhook")))


def test_the_signature_matches_the_specifications_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    made = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
    assert made == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,bm9wZQ== " + made,
    }
    verify(secret, headers, b'{"test": 2432232314}', now=1614265330)
    with pytest.raises(InvalidSignature):
        verify(secret, headers, b'{"test": 2432232315}', now=1614265330)


def test_new_secrets_are_whsec_and_base64_of_32_bytes() -> None:
    import base64

    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_an_action_reaches_the_receiver_signed_once_across_two_runs(
    app: Flask, hooks: Receiver
) -> None:
    row = endpoint(hooks.url)
    contact = an_action_event()
    Worker("first").run()
    Worker("second").run()
    created = [r for r in hooks.requests if r.json["type"] == "action.created"]
    assert len(created) == 1
    request = created[0]
    verify(row.secret, request.headers, request.body)
    assert request.headers["webhook-id"] == f"evt_action_created_{contact.action_id}"
    assert request.headers["content-type"] == "application/json"
    assert request.json["data"]["action_id"] == contact.action_id
    assert request.json["data"]["campaign"] == "protect-children"
    assert "constituent" not in request.json["data"]
    # Queuing the same event again gives that endpoint nothing new.
    assert queue_event("action.created", action_id=contact.action_id) == 0
    assert attempts(row) == [("sent", 200)]


def test_two_workers_at_once_send_each_event_once(app: Flask, hooks: Receiver) -> None:
    endpoint(hooks.url, events=["action.created"])
    action_ids = [an_action_event().action_id for _ in range(6)]
    report = run_workers(2, "pair")
    assert report.sent == 6
    ids = sorted(r.headers["webhook-id"] for r in hooks.requests)
    assert ids == sorted(f"evt_action_created_{i}" for i in action_ids)


def test_a_server_error_is_retried_with_the_same_id_until_it_succeeds(
    app: Flask, hooks: Receiver
) -> None:
    row = endpoint(hooks.url, events=["action.created"])
    hooks.answers = [500, 503]
    an_action_event()
    for _ in range(3):
        make_all_due()
        Worker().run()
    assert [r.headers["webhook-id"] for r in hooks.requests] == [
        hooks.requests[0].headers["webhook-id"]
    ] * 3
    for request in hooks.requests:
        verify(row.secret, request.headers, request.body)
    assert attempts(row) == [("retry", 500), ("retry", 503), ("sent", 200)]
    assert [r.status for r in webhook_rows()] == ["sent"]


def test_a_dead_letter_after_the_last_try(app: Flask, hooks: Receiver) -> None:
    row = endpoint(hooks.url, events=["action.created"])
    hooks.answers = [500] * 5
    an_action_event()
    for _ in range(5):
        make_all_due()
        Worker().run()
    assert len(hooks.requests) == 3  # DELIVERY_MAX_ATTEMPTS
    assert attempts(row) == [("retry", 500), ("retry", 500), ("dead", 500)]
    (outbox_row,) = webhook_rows()
    assert outbox_row.status == "dead"
    assert outbox_row.last_error == "HTTP 500: Internal Server Error"


def test_a_redirect_is_not_followed(app: Flask, hooks: Receiver) -> None:
    row = endpoint(hooks.url, events=["action.created"])
    hooks.redirect_to = f"http://127.0.0.1:{hooks.port}/followed"
    hooks.answers = [302]
    an_action_event()
    Worker().run()
    make_all_due()
    Worker().run()
    assert [r.path for r in hooks.requests] == ["/hook"]
    assert attempts(row) == [("dead", 302)]
    (outbox_row,) = webhook_rows()
    assert outbox_row.last_error == (
        f"HTTP 302: a redirect to http://127.0.0.1:{hooks.port}/followed (not followed)"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeEndpoint, match="private, loopback, link-local or reserved"):
        check_url(url, allow_http=False, allow_private=False)
    assert check_url(url, allow_http=False, allow_private=True) == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1/hook", "must use https://"),
        ("ftp://example.org/hook", "must start with https://"),
        ("https://user:pw@127.0.0.1/hook", "user name or password"),
        ("https://no-such-host.invalid/hook", "could not be found"),
        ("not a url", "must start with https://"),
    ],
)
def test_other_bad_addresses_say_why(url: str, problem: str) -> None:
    with pytest.raises(UnsafeEndpoint, match=problem):
        check_url(url, allow_http=False, allow_private=True)


def test_a_refused_address_is_refused_again_at_send(app: Flask, hooks: Receiver) -> None:
    # Saved while private addresses were allowed, then no longer: nothing reaches it.
    loopback = endpoint(hooks.url, name="Loopback", allow_private=False)
    by_name = endpoint(f"http://localhost:{hooks.port}/hook", name="By name", allow_private=False)
    an_action_event()
    Worker().run()
    assert hooks.requests == []
    assert attempts(loopback) == [("dead", None)]
    assert attempts(by_name) == [("dead", None)]
    errors = sorted(row.last_error or "" for row in webhook_rows())
    assert errors[0].startswith("127.0.0.1 resolves to 127.0.0.1")
    assert errors[1].startswith("localhost resolves to")


def test_a_name_that_changes_address_after_the_check_is_refused_at_connection(
    app: Flask, hooks: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the check hears a public address, the connection reaches loopback.
    endpoint(f"http://rebind.test:{hooks.port}/hook", allow_private=False)
    monkeypatch.setattr(transport, "resolve", lambda host, port: ["93.184.216.34"])
    real_getaddrinfo = transport.socket.getaddrinfo

    def to_loopback(host: str, *args: object, **kwargs: object) -> object:
        return real_getaddrinfo("127.0.0.1" if host == "rebind.test" else host, *args, **kwargs)

    monkeypatch.setattr(transport.socket, "getaddrinfo", to_loopback)
    an_action_event()
    Worker().run()
    assert hooks.requests == []
    (outbox_row,) = webhook_rows()
    assert outbox_row.status == "dead"
    assert outbox_row.last_error == "the connection reached 127.0.0.1, a refused address"


def test_plain_http_only_while_the_site_runs_on_http(app: Flask, hooks: Receiver) -> None:
    app.config["SITE_URL"] = "https://speakup.example.org"
    endpoint(hooks.url, events=["action.created"])
    an_action_event()
    Worker().run()
    assert hooks.requests == []
    (outbox_row,) = webhook_rows()
    assert outbox_row.last_error == (
        "The address must use https:// (plain http only in development)."
    )


def test_personal_data_only_for_an_endpoint_marked_to_receive_it(
    app: Flask, hooks: Receiver
) -> None:
    endpoint(hooks.url + "?plain", name="Plain", events=["action.created"])
    endpoint(
        hooks.url + "?personal", name="Personal", events=["action.created"], include_personal=True
    )
    an_action_event(ContactSpec(target_email="rep@legislature.example.gov", extra={}))
    Worker().run()
    by_path = {r.path: r.json["data"] for r in hooks.requests}
    assert "constituent" not in by_path["/hook?plain"]
    assert "jane" not in json.dumps(by_path["/hook?plain"]).lower()
    personal = by_path["/hook?personal"]["constituent"]
    assert personal["name"] == "Jane Voter"
    assert personal["email"] == "jane.voter@example.com"
    assert personal["address"]["state"] == "PA"


def test_retention_leaves_no_personal_data_in_the_queue(app: Flask, hooks: Receiver) -> None:
    endpoint(hooks.url, events=["action.created"], include_personal=True)
    contact = an_action_event()
    action = db.session.get(Action, contact.action_id)
    assert action is not None
    action.created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    app.config["RETENTION_DAYS"] = 5
    report = apply_retention()
    assert report.constituents == 1
    Worker().run()
    (request,) = hooks.requests
    assert request.json["data"]["action_id"] == contact.action_id
    assert "constituent" not in request.json["data"]
    assert "Jane" not in request.body.decode()


def test_a_disabled_endpoint_holds_its_messages_until_enabled(app: Flask, hooks: Receiver) -> None:
    from advocacy.admin import webhooks as admin_webhooks

    row = endpoint(hooks.url, events=["action.created"])
    an_action_event()
    admin_webhooks.set_enabled(row, False)
    Worker().run()
    assert hooks.requests == [] and [r.status for r in webhook_rows()] == ["held"]
    assert an_action_event() and len(webhook_rows()) == 1  # nothing new queued for it
    admin_webhooks.set_enabled(row, True)
    Worker().run()
    assert len(hooks.requests) == 1
