"""Rate limits on submissions, lookups and sign-in: a friendly 429 with Retry-After (JSON under
/api/), counted per client address, configurable, and never a 500 when the store is down."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from advocacy.actions.models import Action
from advocacy.config import ConfigError
from advocacy.extensions import db
from advocacy.lookup.models import DistrictReport
from tests.actions.helpers import ADDRESS, FORM, LOWER, nh, submission_key
from tests.fakes.upstream import FakeUpstreams

SUBMIT = "3 per minute;5 per day"
LOOKUP = "4 per minute"
SIGNIN = "2 per minute"


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {
        **app_config,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_SUBMIT": SUBMIT,
        "RATELIMIT_LOOKUP": LOOKUP,
        "RATELIMIT_SIGNIN": SIGNIN,
    }


@pytest.fixture
def visitor(ready: FlaskClient, upstream: FakeUpstreams) -> FlaskClient:
    upstream.add_address(ADDRESS, nh())
    return ready




def assert_friendly_429(response, json: bool = False) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 429
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 24 * 3600
    assert response.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in response.headers
    if json:
        assert response.is_json
        assert "try again" in response.get_json()["error"]
    else:
        body = response.get_data(as_text=True)
        assert response.mimetype == "text/html"
        assert "<html" in body and "Too Many Requests" in body and "try again" in body
        assert "Traceback" not in body
    return retry


def actions() -> int:
    return db.session.scalar(select(func.count()).select_from(Action)) or 0


# -- submissions -------------------------------------------------------------------------------


def test_campaign_form_posts_are_limited(visitor: FlaskClient) -> None:
    for _ in range(3):
        assert visitor.post(f"/c/{LOWER}/act", data=FORM).status_code == 303
    response = visitor.post(f"/c/{LOWER}/act", data=FORM)
    retry = assert_friendly_429(response)
    assert retry <= 60
    assert "nothing more was sent" in response.get_data(as_text=True)
    # Pages (GET) are never limited.
    assert visitor.get(f"/c/{LOWER}").status_code == 200
    assert visitor.get(f"/c/{LOWER}/write").status_code == 200


def test_every_form_post_shares_one_budget(visitor: FlaskClient) -> None:
    """act, choose, send and "I called" count together: 3 per minute here."""
    assert visitor.post(f"/c/{LOWER}/act", data=FORM).status_code == 303  # 1
    page = visitor.get(f"/c/{LOWER}/write").get_data(as_text=True)
    assert visitor.get(f"/c/{LOWER}/choose").status_code == 200  # GET: free
    assert visitor.post(f"/c/{LOWER}/choose", data={"state": "zz"}).status_code == 303  # 2
    sent = visitor.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303  # 3
    thanks = sent.headers["Location"]
    response = visitor.post(thanks + "/called", data={"target_id": "x"})
    assert_friendly_429(response)
    assert actions() == 1


def test_wrong_district_reports_share_the_budget_of_form_posts(visitor: FlaskClient) -> None:
    """A report ("these are not my legislators") is a form post like the others."""
    report = {"address": ADDRESS, "district-lower": "lower|Hillsborough 24"}
    statuses = [visitor.post("/find/report", data=report).status_code for _ in range(3)]
    assert statuses == [303, 303, 303]
    assert_friendly_429(visitor.post("/find/report", data=report))
    assert_friendly_429(visitor.post(f"/c/{LOWER}/report", data=report))
    assert visitor.get(f"/find/report?address={ADDRESS}").status_code == 200  # GET: a lookup
    assert db.session.scalar(select(func.count()).select_from(DistrictReport)) == 3


def test_a_refused_send_sends_nothing(visitor: FlaskClient) -> None:
    assert visitor.post(f"/c/{LOWER}/act", data=FORM).status_code == 303
    page = visitor.get(f"/c/{LOWER}/write").get_data(as_text=True)
    for _ in range(2):
        visitor.post(f"/c/{LOWER}/choose", data={"state": "zz"})
    response = visitor.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert_friendly_429(response)
    assert actions() == 0
    # The draft is still there: once the minute has passed the visitor can send it.
    assert visitor.get(f"/c/{LOWER}/write").status_code == 200


def test_the_daily_limit_says_to_wait_hours(make_app, campaigns: Path) -> None:  # type: ignore[no-untyped-def]
    client = make_app(RATELIMIT_SUBMIT="100 per minute;2 per day").test_client()
    assert [client.post(f"/c/{LOWER}/act", data={}).status_code for _ in range(2)] == [400, 400]
    response = client.post(f"/c/{LOWER}/act", data={})
    retry = assert_friendly_429(response)
    assert retry > 23 * 3600
    assert re.search(r"wait 2[34] hours", response.get_data(as_text=True))


def test_limits_count_each_client_address_apart(visitor: FlaskClient, app: Flask) -> None:
    for _ in range(3):
        visitor.post(f"/c/{LOWER}/act", data=FORM)
    assert visitor.post(f"/c/{LOWER}/act", data=FORM).status_code == 429
    other = app.test_client()
    response = other.post(
        f"/c/{LOWER}/act", data=FORM, environ_base={"REMOTE_ADDR": "203.0.113.5"}
    )
    assert response.status_code == 303


def test_ipv6_clients_are_counted_by_their_64_network(visitor: FlaskClient, app: Flask) -> None:
    client = app.test_client()
    for n in range(3):
        address = f"2001:db8:1:2::{n + 1}"
        response = client.post(f"/c/{LOWER}/act", data=FORM, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 303
    blocked = client.post(
        f"/c/{LOWER}/act", data=FORM, environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::9"}
    )
    assert blocked.status_code == 429
    elsewhere = client.post(
        f"/c/{LOWER}/act", data=FORM, environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}
    )
    assert elsewhere.status_code == 303


def test_behind_a_trusted_proxy_the_forwarded_address_counts(make_app, campaigns: Path) -> None:  # type: ignore[no-untyped-def]
    client = make_app(TRUSTED_PROXIES=1).test_client()
    for _ in range(3):
        client.post(f"/c/{LOWER}/act", data={}, headers={"X-Forwarded-For": "203.0.113.1"})
    limited = client.post(f"/c/{LOWER}/act", data={}, headers={"X-Forwarded-For": "203.0.113.1"})
    assert limited.status_code == 429
    other = client.post(f"/c/{LOWER}/act", data={}, headers={"X-Forwarded-For": "203.0.113.2"})
    assert other.status_code == 400  # form errors: counted apart, not refused


# -- lookups -----------------------------------------------------------------------------------


def test_api_lookups_are_limited_with_json(visitor: FlaskClient) -> None:
    for _ in range(4):
        assert visitor.get("/api/lookup", query_string={"address": ADDRESS}).status_code == 200
    response = visitor.get("/api/lookup", query_string={"address": ADDRESS})
    assert_friendly_429(response, json=True)
    # /find with an address shares the budget; /find without one (no lookup) is free.
    assert_friendly_429(visitor.get("/find", query_string={"address": ADDRESS}))
    assert visitor.get("/find").status_code == 200
    assert visitor.get("/find/nh").status_code == 200


def test_find_page_lookups_are_limited(visitor: FlaskClient) -> None:
    for _ in range(4):
        assert visitor.get("/find", query_string={"address": ADDRESS}).status_code == 200
    response = visitor.get("/find", query_string={"address": ADDRESS})
    assert_friendly_429(response)
    assert "address lookups" in response.get_data(as_text=True)
    api = visitor.get("/api/lookup", query_string={"street": "12 Main St", "zip": "03060"})
    assert_friendly_429(api, json=True)


# -- sign-in -----------------------------------------------------------------------------------


def test_sign_in_posts_are_limited_but_not_the_page(
    visitor: FlaskClient, staff: dict[str, str]
) -> None:
    from tests.admin.conftest import PASSWORD

    for _ in range(2):
        response = visitor.post(
            "/admin/sign-in", data={"email": staff["admin"], "password": "wrong password!"}
        )
        assert response.status_code == 401
    response = visitor.post("/admin/sign-in", data={"email": staff["admin"], "password": PASSWORD})
    assert_friendly_429(response)
    assert "sign-in attempts" in response.get_data(as_text=True)
    assert visitor.get("/admin/sign-in").status_code == 200


def test_one_address_guessing_many_accounts_is_refused(
    visitor: FlaskClient, app: Flask, staff: dict[str, str]
) -> None:
    from tests.admin.conftest import PASSWORD

    for number in range(2):
        response = visitor.post(
            "/admin/sign-in", data={"email": f"guess{number}@example.org", "password": "x" * 12}
        )
        assert response.status_code == 401
    account = {"email": staff["organizer"], "password": PASSWORD}
    assert_friendly_429(visitor.post("/admin/sign-in", data=account))
    elsewhere = app.test_client().post(
        "/admin/sign-in", data=account, environ_base={"REMOTE_ADDR": "203.0.113.5"}
    )
    assert elsewhere.status_code == 303


# -- settings ----------------------------------------------------------------------------------


def test_limits_can_be_switched_off(make_app, campaigns: Path) -> None:  # type: ignore[no-untyped-def]
    off = {"RATELIMIT_SUBMIT": "", "RATELIMIT_LOOKUP": "", "RATELIMIT_SIGNIN": ""}
    client = make_app(**off).test_client()
    assert all(client.post(f"/c/{LOWER}/act", data={}).status_code == 400 for _ in range(6))
    assert all(client.post("/admin/sign-in", data={}).status_code != 429 for _ in range(6))


def test_an_empty_limit_means_no_limit(make_app, campaigns: Path) -> None:  # type: ignore[no-untyped-def]
    client = make_app(RATELIMIT_SUBMIT="").test_client()
    assert all(client.post(f"/c/{LOWER}/act", data={}).status_code == 400 for _ in range(6))


def test_limits_come_from_the_environment(
    make_app, monkeypatch: pytest.MonkeyPatch, campaigns: Path  # type: ignore[no-untyped-def]
) -> None:
    from advocacy.config import read_environment

    monkeypatch.setenv("ADVOCACY_RATELIMIT_SIGNIN", "")
    monkeypatch.setenv("ADVOCACY_RATELIMIT_SUBMIT", "1/second")
    values = read_environment(__import__("os").environ)
    assert values["RATELIMIT_SIGNIN"] == ""
    assert values["RATELIMIT_SUBMIT"] == "1/second"


@pytest.mark.parametrize("setting", ["RATELIMIT_SUBMIT", "RATELIMIT_LOOKUP", "RATELIMIT_SIGNIN"])
def test_unusable_limits_are_named_at_startup(make_app, setting: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=f"ADVOCACY_{setting}"):
        make_app(**{setting: "ten a minute"})


def test_an_unknown_storage_is_named_at_startup(make_app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URL"):
        make_app(RATELIMIT_STORAGE_URL="carrier-pigeon://coop")


def test_redis_without_its_client_is_a_clear_startup_error(
    make_app, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if `redis` were not installed
    with pytest.raises(ConfigError, match=r"RATELIMIT_STORAGE_URL.*pip install 'redis<8'"):
        make_app(RATELIMIT_STORAGE_URL="redis://127.0.0.1:6379/0")


def test_an_unreachable_redis_never_fails_a_request(
    make_app, campaigns: Path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    """Redis down: the limits are counted in this process's memory meanwhile, no 500."""
    client = make_app(RATELIMIT_STORAGE_URL="redis://127.0.0.1:9/0").test_client()
    with caplog.at_level("WARNING", logger="flask-limiter"):
        statuses = [client.post(f"/c/{LOWER}/act", data={}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert any("falling back to in-memory" in r.getMessage() for r in caplog.records)


def test_a_refusal_is_logged_without_the_client_address(
    visitor: FlaskClient, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    with caplog.at_level("DEBUG"):
        statuses = [
            client.post(f"/c/{LOWER}/act", data={},
                        environ_base={"REMOTE_ADDR": "203.0.113.77"}).status_code
            for _ in range(4)
        ]
    assert statuses[-1] == 429
    assert any("rate limit" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if "203.0.113.77" in r.getMessage()]


def test_each_app_in_a_process_follows_its_own_setting(
    visitor: FlaskClient, app: Flask, make_app, campaigns: Path  # type: ignore[no-untyped-def]
) -> None:
    """The limiter object is one per process: an app built later with limits off neither
    switches them off for this one nor is limited itself."""
    unlimited = make_app(RATELIMIT_ENABLED=False).test_client()
    assert all(unlimited.post(f"/c/{LOWER}/act", data={}).status_code == 400 for _ in range(5))
    statuses = [visitor.post(f"/c/{LOWER}/act", data={}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_the_coach_has_its_own_limit_and_never_touches_sending(
    visitor: FlaskClient, app: Flask
) -> None:
    """The write page's coach is asked as the visitor types: its own budget, a JSON 429, and
    the send still goes through after it is spent."""
    app.config["RATELIMIT_COACH"] = "2 per minute"
    visitor.post(f"/c/{LOWER}/act", data=FORM)
    page = visitor.get(f"/c/{LOWER}/write").get_data(as_text=True)
    field = re.findall(r'<textarea id="(body-[0-9a-f]+)"', page)[0]
    for _ in range(2):
        asked = visitor.post(f"/c/{LOWER}/coach", json={"field": field, "text": "My words."})
        assert asked.status_code == 200
    refused = visitor.post(f"/c/{LOWER}/coach", json={"field": field, "text": "My words."})
    assert_friendly_429(refused, json=True)
    sent = visitor.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303 and actions() == 1
