"""Hypothesis fuzzing of every public endpoint: arbitrary Unicode, huge, empty and malformed
values (missing fields, repeated fields, odd bodies and content types) for the campaign form,
the district choice, the write and send steps, the thank-you page and "I called", the lookups
(/find, /api/lookup), the campaign pages and staff sign-in.

Every response must be a page (HTML with ``<html``), JSON with an ``error`` for /api/, or a
redirect on this site; never a 500. Afterwards the database must be consistent (see
``assert_consistent``). Lookups only reach the fake Census (tests/fakes/upstream.py).

Deterministic and bounded: ``derandomize=True``, no example database, ``EXAMPLES`` examples
per endpoint.
"""

from __future__ import annotations

import itertools
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from advocacy.actions.models import Action, Constituent, Contact
from advocacy.actions.recipients import recipients_for
from advocacy.campaigns import service as campaign_service
from advocacy.campaigns.models import Campaign, CampaignVersion
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from tests.actions.helpers import ADDRESS, BOTH, FORM, LOWER, field_names, nh, submission_key
from tests.fakes.upstream import FakeUpstreams
from tests.security.conftest import corpus

EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the app and database are shared on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# -- values ------------------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
control = st.text(st.characters(max_codepoint=0x9F, exclude_categories=("Cs",)), max_size=40)
huge = st.builds(
    lambda piece, count: (piece * count)[:200_000],
    st.sampled_from(["a", "\u00e9", "\U0001f600", "<", "%", "\x00", "=", " ", "\r\n"]),
    st.integers(min_value=250, max_value=60_000),
)
hostile = st.sampled_from(
    corpus("xss") + corpus("header_injection") + corpus("csv_formula") + corpus("sql")
)
plausible = st.sampled_from(
    ["", " ", "Alex Rivera", "alex@example.org", ADDRESS, "NH", "nh", "03060", "y", "on",
     "lower|523", "upper|15", "lower|Hillsborough 23", "0", "-1", "99999999999999999999"]
)
value = st.one_of(plausible, any_text, control, hostile, huge)
slug = st.one_of(
    st.sampled_from([LOWER, BOTH, "no-such-campaign", LOWER + "\x00", "a\x00b"]), any_text
)


def field_map(names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Form fields: each known name absent, once or repeated, plus unknown names."""
    known = st.lists(
        st.tuples(st.sampled_from(names), value), max_size=len(names) + 3
    )
    extra = st.lists(st.tuples(any_text, value), max_size=2)
    return st.builds(lambda a, b: a + b, known, extra)


# -- checks ------------------------------------------------------------------------------------


def assert_valid(response: TestResponse, path: str) -> None:
    status = response.status_code
    assert status < 500, (path, status, response.get_data(as_text=True)[-800:])
    if path.startswith("/api/"):
        assert response.is_json, (path, status)
        if status >= 400:
            assert isinstance(response.get_json().get("error"), str), path
        return
    if 300 <= status < 400:
        location = response.headers["Location"]
        parts = urlsplit(location)
        assert not parts.netloc or parts.netloc == "localhost", (path, location)
        return
    assert response.mimetype == "text/html", (path, status, response.mimetype)
    assert "<html" in response.get_data(as_text=True), (path, status)


def follow(client: FlaskClient, response: TestResponse, path: str) -> TestResponse:
    """The page a redirect leads to (a browser's next GET), checked as well."""
    assert_valid(response, path)
    if response.status_code in (301, 302, 303, 307, 308):
        target = response.headers["Location"]
        page = client.get(target)
        assert_valid(page, target)
        return page
    return response


def assert_consistent() -> None:
    """Every contact belongs to an action of its campaign and version; every email contact has
    exactly one outbox row and every contact message an email contact; every action has at
    most one receipt; every action has a constituent and written contacts, unless nobody
    could be written to (calls only)."""
    db.session.rollback()
    db.session.expire_all()
    actions = {a.id: a for a in db.session.scalars(select(Action))}
    constituents = set(db.session.scalars(select(Constituent.id)))
    contacts = list(db.session.scalars(select(Contact)))
    outbox = list(db.session.scalars(select(OutboxMessage)))
    by_contact = {c.id: c for c in contacts}
    for contact in contacts:
        action = actions.get(contact.action_id)
        assert action is not None, f"contact {contact.id} has no action"
        assert contact.campaign_id == action.campaign_id
        assert contact.campaign_version_id == action.campaign_version_id
        assert contact.channel in ("email", "postal", "call"), contact.channel
    receipts = [row.action_id for row in outbox if row.kind == "receipt"]
    assert len(receipts) == len(set(receipts)) and set(receipts) <= set(actions)
    rows_per_contact: dict[int, int] = {}
    for row in outbox:
        if row.kind == "receipt":
            continue
        contact = by_contact.get(row.contact_id)
        assert contact is not None, f"outbox row {row.id} has no contact"
        assert contact.channel == "email" and contact.target_email, row.id
        rows_per_contact[row.contact_id] = rows_per_contact.get(row.contact_id, 0) + 1
    for contact in contacts:
        if contact.channel == "email":
            assert rows_per_contact.get(contact.id) == 1, f"email contact {contact.id}"
    versions = {v.id: v for v in db.session.scalars(select(CampaignVersion))}
    for action in actions.values():
        assert action.constituent_id in constituents, f"action {action.id}"
        written = [c for c in action.contacts if c.channel != "call"]
        if written:
            continue
        definition = campaign_service.definition_of(versions[action.campaign_version_id])
        recipients = recipients_for(definition, [str(i) for i in action.legislator_ids or []])
        assert recipients and all(r.channel is None for r in recipients), (
            f"action {action.id} has no written contact but had someone to write to"
        )
    orphans = db.session.scalar(
        select(func.count()).select_from(Constituent).where(
            ~Constituent.id.in_(select(Action.constituent_id))
        )
    )
    assert orphans == 0


@pytest.fixture
def world(ready: FlaskClient, upstream: FakeUpstreams) -> FlaskClient:
    upstream.add_address(ADDRESS, nh())
    upstream.add_address("12 MAIN ST, NASHUA, NH, 03060", nh())
    return ready


_VISITORS = itertools.count()


def new_client(app: Flask, draft_for: str | None = None) -> FlaskClient:
    """A fresh visitor; with ``draft_for``, one who has filled the campaign form."""
    client = app.test_client()
    if draft_for is not None:
        email = f"visitor{next(_VISITORS)}@example.org"  # each a new person: no "already sent"
        response = client.post(f"/c/{draft_for}/act", data={**FORM, "email": email})
        assert response.status_code == 303, response.get_data(as_text=True)
    return client


def post_fields(
    client: FlaskClient, path: str, fields: list[tuple[str, str]], query: str = ""
) -> TestResponse:
    from werkzeug.datastructures import MultiDict

    return client.post(path + query, data=MultiDict(fields))


# -- the endpoints -----------------------------------------------------------------------------


@FUZZ
@given(
    slug=slug,
    fields=field_map(["name", "email", "street_address", "phone", "opt_in", "csrf_token"]),
    good_address=st.booleans(),
)
def test_fuzz_campaign_form(
    world: FlaskClient, app: Flask, slug: str, fields: list[tuple[str, str]], good_address: bool
) -> None:
    client = new_client(app)
    if good_address:
        fields = [*fields, ("street_address", ADDRESS)]
    path = f"/c/{quote(slug, safe='')}/act"
    follow(client, post_fields(client, path, fields), path)
    assert_consistent()


@FUZZ
@given(
    slug=st.sampled_from([LOWER, BOTH]),
    state=value,
    fields=field_map(["state", "district", "district-lower", "district-upper", "csrf_token"]),
)
def test_fuzz_choose(
    world: FlaskClient, app: Flask, slug: str, state: str, fields: list[tuple[str, str]]
) -> None:
    client = new_client(app, draft_for=slug)
    page = client.get(f"/c/{slug}/choose", query_string={"state": state})
    assert_valid(page, "/choose")
    path = f"/c/{slug}/choose"
    page = follow(client, post_fields(client, path, fields), path)
    if page.status_code == 200 and "/write" in (page.request.path or ""):
        assert_valid(page, "/write")
    assert_consistent()


@FUZZ
@given(
    slug=st.sampled_from([LOWER, BOTH]),
    key_choice=st.sampled_from(["real", "real", "fuzz", "none"]),
    key=value,
    edit=value,
    fields=field_map(["submission_key", "csrf_token", "body-0", "body-"]),
    keep_field_names=st.booleans(),
)
def test_fuzz_write_and_send(
    world: FlaskClient,
    app: Flask,
    slug: str,
    key_choice: str,
    key: str,
    edit: str,
    fields: list[tuple[str, str]],
    keep_field_names: bool,
) -> None:
    client = new_client(app, draft_for=slug)
    write = client.get(f"/c/{slug}/write")
    assert_valid(write, "/write")
    page = write.get_data(as_text=True)
    data = []  # the first value of a repeated field is the one read
    if key_choice == "real":
        data.append(("submission_key", submission_key(page)))
    elif key_choice == "fuzz":
        data.append(("submission_key", key))
    if keep_field_names:
        data += [(name, edit) for name in field_names(page)]
    data += fields
    path = f"/c/{slug}/send"
    landing = follow(client, post_fields(client, path, data), path)
    if "/thanks/" in (landing.request.path or ""):
        again = post_fields(client, path, data)  # a double submit
        follow(client, again, path)
    assert_consistent()


@pytest.fixture
def thanks_key(world: FlaskClient, app: Flask) -> str:
    client = new_client(app, draft_for=LOWER)
    page = client.get(f"/c/{LOWER}/write").get_data(as_text=True)
    sent = client.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303
    return sent.headers["Location"].rsplit("/", 1)[-1]


@FUZZ
@given(
    slug=slug,
    key=st.one_of(st.just("REAL"), value),
    target=st.one_of(st.sampled_from(["american-law-institute", "ocd-person/x"]), value),
    fields=field_map(["target_id", "csrf_token"]),
)
def test_fuzz_thanks_and_i_called(
    thanks_key: str, app: Flask, slug: str, key: str, target: str, fields: list[tuple[str, str]]
) -> None:
    client = new_client(app)
    key = thanks_key if key == "REAL" else key
    base = f"/c/{quote(slug, safe='')}/thanks/{quote(key, safe='')}"
    assert_valid(client.get(base), base)
    path = base + "/called"
    follow(client, post_fields(client, path, [("target_id", target), *fields]), path)
    assert_consistent()


@FUZZ
@given(
    address=value,
    parts=st.dictionaries(st.sampled_from(["street", "city", "state", "zip", "address"]), value,
                          max_size=5),
    repeated=st.lists(st.tuples(st.sampled_from(["address", "street"]), value), max_size=3),
)
def test_fuzz_lookups(
    world: FlaskClient, app: Flask, address: str, parts: dict[str, str],
    repeated: list[tuple[str, str]],
) -> None:
    from werkzeug.datastructures import MultiDict

    client = new_client(app)
    for path, query in (
        ("/api/lookup", {"address": address}),
        ("/api/lookup", parts),
        ("/api/lookup", MultiDict([*parts.items(), *repeated])),
        ("/find", {"address": address}),
        ("/find", MultiDict(repeated)),
    ):
        assert_valid(client.get(path, query_string=query), path)
    assert_consistent()


@FUZZ
@given(
    path=st.sampled_from(
        ["/", "/c/{}", "/c/{}/write", "/c/{}/choose", "/c/{}/already", "/find/{}", "/find",
         "/c/{}/thanks/{}", "/admin/sign-in", "/api/lookup"]
    ),
    first=slug,
    second=value,
    query=st.lists(st.tuples(any_text, value), max_size=4),
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]),
)
def test_fuzz_public_pages_and_methods(
    world: FlaskClient, app: Flask, path: str, first: str, second: str,
    query: list[tuple[str, str]], method: str,
) -> None:
    from werkzeug.datastructures import MultiDict

    client = new_client(app)
    target = path.format(quote(first, safe=""), quote(second, safe=""))
    response = client.open(target, method=method, query_string=MultiDict(query))
    if method == "HEAD" or response.status_code in (204,) or method == "OPTIONS":
        assert response.status_code < 500, (target, method)
    else:
        assert_valid(response, target)
    assert_consistent()


RAW_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded; charset=latin-1",
    "",
]


@FUZZ
@given(
    path=st.sampled_from(
        [f"/c/{LOWER}/act", f"/c/{LOWER}/choose", f"/c/{LOWER}/send",
         f"/c/{LOWER}/thanks/abcdefghijklmnopqrstuvwx/called", "/admin/sign-in"]
    ),
    body=st.one_of(st.binary(max_size=2000), value.map(lambda v: v.encode("utf-8", "replace"))),
    content_type=st.sampled_from(RAW_TYPES),
    with_draft=st.booleans(),
)
def test_fuzz_malformed_bodies(
    world: FlaskClient, app: Flask, path: str, body: bytes, content_type: str, with_draft: bool
) -> None:
    client = new_client(app, draft_for=LOWER if with_draft else None)
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(path, data=body, headers=headers)
    follow(client, response, path)
    assert_consistent()


@FUZZ
@given(
    fields=field_map(["email", "password", "remember", "csrf_token"]),
    next_value=value,
)
def test_fuzz_sign_in(
    world: FlaskClient, app: Flask, staff: dict[str, str], fields: list[tuple[str, str]],
    next_value: str,
) -> None:
    client = new_client(app)
    path = "/admin/sign-in"
    response = post_fields(client, path, fields, query="?next=" + quote(next_value, safe=""))
    assert_valid(response, path)
    assert response.status_code in (303, 400, 401, 429), response.status_code
    if response.status_code == 303:
        assert response.headers["Location"].startswith("/")


def test_fuzzing_left_the_database_consistent_after_a_real_flow(
    world: FlaskClient, app: Flask
) -> None:
    """The consistency check itself sees real data: one action with its contacts and mail."""
    client = new_client(app, draft_for=BOTH)
    page = client.get(f"/c/{BOTH}/write").get_data(as_text=True)
    sent = client.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303
    assert_consistent()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage))
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == BOTH))
    assert campaign is not None


# -- NUL: PostgreSQL cannot store or compare it ---------------------------------------------------
# Found by fuzzing on PostgreSQL (SQLite accepts NUL). Slugs are checked against the slug
# pattern before any query (campaigns.service.get_campaign) and sign-in drops control characters.

NUL_ROUTES = [
    ("GET", "/c/a%00b"),
    ("GET", "/c/a%00b/write"),
    ("POST", "/c/a%00b/act"),
    ("GET", "/c/a%00b/choose"),
    ("POST", "/c/a%00b/send"),
    ("GET", "/c/a%00b/already"),
    ("GET", "/c/a%00b/thanks/abc%00defghijklmnopqrstu"),
    ("POST", "/c/a%00b/thanks/abc%00defghijklmnopqrstu/called"),
    ("GET", "/find/n%00"),
    ("GET", "/admin/c/a%00b"),
    ("GET", "/admin/c/a%00b/edit"),
    ("POST", "/admin/c/a%00b/edit"),
    ("POST", "/admin/c/a%00b/status"),
    ("POST", "/admin/c/a%00b/retry"),
    ("GET", "/admin/c/a%00b/export.yaml"),
    ("GET", "/admin/c/a%00b/tallies"),
    ("GET", "/campaigns/a%00b/export.csv"),
    ("GET", "/admin/c/a%00b/supporters.csv"),
    ("GET", "/api/campaigns/a%00b/tallies"),
]


@pytest.mark.parametrize(
    ("method", "path"),
    [pytest.param(m, p, id=f"{m} {p}") for m, p in NUL_ROUTES],
)
def test_nul_in_a_route_parameter_is_not_a_500(
    world: FlaskClient, as_role, app: Flask, method: str, path: str  # type: ignore[no-untyped-def]
) -> None:
    if not any(path.startswith(r.rule.split("<")[0]) for r in app.url_map.iter_rules()):
        pytest.skip(f"no route for {path} yet")
    client = as_role("admin") if path.startswith(("/admin", "/campaigns")) else new_client(app)
    response = client.open(path, method=method, data={"target_id": "a\x00b"})
    assert_valid(response, path)


@pytest.mark.parametrize("email", ["a\x00b@example.org", "\x00", "admin@example.org\x00"])
def test_nul_in_the_sign_in_email_is_not_a_500(
    world: FlaskClient, app: Flask, staff: dict[str, str], email: str
) -> None:
    response = new_client(app).post("/admin/sign-in", data={"email": email, "password": "x" * 12})
    assert_valid(response, "/admin/sign-in")
    assert response.status_code in (400, 401)
