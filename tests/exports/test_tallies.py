"""Exact tallies of the seeded campaign (tests/exports/data.py) for every grouping, date
filters in time zones, and one query per export."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from advocacy.actions.models import Contact
from advocacy.campaigns.models import Campaign
from advocacy.exports import tallies
from advocacy.extensions import db
from tests.exports.data import ALICE, add_action, make_campaign, utc
from tests.queries import counted_statements

NH23 = ("NH", "lower", "Hillsborough 23")
ORG = ("", "", "", "some-organisation", "Some Organisation", "")


def rows(campaign: Campaign, by: str, **filters: str) -> list[tuple[object, ...]]:
    return list(tallies.iter_rows(tallies.tally_request(campaign, by=by, **filters)))


def test_by_state(seeded: Campaign) -> None:
    assert rows(seeded, "state") == [("", 2), ("NE", 1), ("NH", 9), ("PA", 4)]


def test_by_chamber(seeded: Campaign) -> None:
    assert rows(seeded, "chamber") == [("", 2), ("legislature", 1), ("lower", 7), ("upper", 6)]


def test_by_district_includes_state_and_chamber(seeded: Campaign) -> None:
    request = tallies.tally_request(seeded, by="district")
    assert request.header == ("state", "chamber", "district", "contacts")
    assert rows(seeded, "district") == [
        ("", "", "", 2),
        ("NE", "legislature", "12", 1),
        (*NH23, 5),  # a two-member district: both members' contacts
        ("NH", "upper", "15", 4),
        ("PA", "lower", "12", 2),
        ("PA", "upper", "3", 2),
    ]


def test_by_legislator(seeded: Campaign) -> None:
    assert tallies.tally_request(seeded, by="legislator").header == (
        "state", "chamber", "district", "target_id", "target_name", "party", "contacts",
    )
    assert rows(seeded, "legislator") == [
        (*ORG, 2),
        ("NE", "legislature", "12", "ocd-person/ne-d", "Dana Thibodeau", "Nonpartisan", 1),
        (*NH23, "ocd-person/nh-a", "Avery Lindqvist", "Democratic", 3),
        (*NH23, "ocd-person/nh-b", "Blake Okafor", "Republican", 2),
        ("NH", "upper", "15", "ocd-person/nh-c", "Casey Castellanos", "Democratic", 4),
        ("PA", "lower", "12", "ocd-person/pa-e", "Emery Ortiz", "Republican", 2),
        ("PA", "upper", "3", "ocd-person/pa-f", "Finley Novak", "Democratic", 2),
    ]


def test_by_channel_and_status(seeded: Campaign) -> None:
    assert rows(seeded, "channel") == [("call", 1), ("email", 13), ("postal", 2)]
    assert rows(seeded, "status") == [
        ("bounced", 1), ("called", 1), ("dead", 1), ("failed", 1),
        ("logged", 2), ("queued", 1), ("sent", 9),
    ]


def test_columns_follow_a_fixed_order_whatever_the_order_asked(seeded: Campaign) -> None:
    assert rows(seeded, "status,day,state") == rows(seeded, "state,status,day")
    assert tallies.tally_request(seeded, by="status,day,state").header == (
        "day", "state", "status", "contacts",
    )


def test_by_day_in_utc(seeded: Campaign) -> None:
    assert rows(seeded, "day") == [
        ("2026-03-01", 4), ("2026-03-02", 6), ("2026-03-08", 2),
        ("2026-03-09", 2), ("2026-03-10", 2),
    ]


def test_by_day_in_new_york_follows_daylight_saving_time(app: Flask, seeded: Campaign) -> None:
    app.config["TIMEZONE"] = "America/New_York"
    # a2 (03:30 UTC) is the evening before in New York; a5 (04:30 UTC on 03-09) is 00:30 EDT
    # on 03-09, which a fixed UTC-5 would have put on 03-08.
    assert rows(seeded, "day") == [
        ("2026-03-01", 8), ("2026-03-02", 2), ("2026-03-08", 2),
        ("2026-03-09", 2), ("2026-03-10", 2),
    ]
    assert rows(seeded, "day,state") == [
        ("2026-03-01", "", 1), ("2026-03-01", "NH", 7),
        ("2026-03-02", "", 1), ("2026-03-02", "NE", 1),
        ("2026-03-08", "PA", 2), ("2026-03-09", "PA", 2), ("2026-03-10", "NH", 2),
    ]


def test_by_day_east_of_utc(app: Flask, seeded: Campaign) -> None:
    app.config["TIMEZONE"] = "Asia/Tokyo"
    # a6 at 15:00 UTC is exactly midnight in Tokyo: the next day.
    assert rows(seeded, "day") == [
        ("2026-03-01", 4), ("2026-03-02", 6), ("2026-03-08", 2),
        ("2026-03-09", 2), ("2026-03-11", 2),
    ]


@pytest.mark.parametrize(
    ("zone", "filters", "expected"),
    [
        ("UTC", {"start": "2026-03-02", "end": "2026-03-08"}, 8),
        ("America/New_York", {"start": "2026-03-02", "end": "2026-03-08"}, 4),
        ("America/New_York", {"start": "2026-03-09"}, 4),
        ("America/New_York", {"end": "2026-03-01"}, 8),
        ("America/New_York", {"start": "2026-03-01", "end": "2026-03-01"}, 8),
        ("Asia/Tokyo", {"start": "2026-03-11"}, 2),
        ("Asia/Tokyo", {"end": "2026-03-10"}, 14),
        ("UTC", {"start": "2026-04-01"}, 0),
    ],
)
def test_date_filters_are_inclusive_local_days(
    app: Flask, seeded: Campaign, zone: str, filters: dict[str, str], expected: int
) -> None:
    app.config["TIMEZONE"] = zone
    assert sum(row[-1] for row in rows(seeded, "state", **filters)) == expected  # type: ignore[misc]


def test_state_filter_counts_that_states_legislators(seeded: Campaign) -> None:
    assert [row[-3:] for row in rows(seeded, "legislator", state="nh")] == [
        ("Avery Lindqvist", "Democratic", 3),
        ("Blake Okafor", "Republican", 2),
        ("Casey Castellanos", "Democratic", 4),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"by": "state,zodiac"}, "unknown grouping 'zodiac'"),
        ({"start": "2026-13-01"}, "from is not a real date"),
        ({"start": "01/03/2026"}, "from must be a date written YYYY-MM-DD"),
        ({"end": "20260301"}, "to must be a date written YYYY-MM-DD"),
        ({"start": "2026-03-09", "end": "2026-03-01"}, "is after to"),
        ({"state": "XX"}, "state must be a two-letter state abbreviation"),
        ({"end": "9999-12-31"}, "to must be between"),
    ],
)
def test_bad_requests_say_what_is_wrong(
    seeded: Campaign, arguments: dict[str, str], message: str
) -> None:
    with pytest.raises(tallies.TallyProblem, match=message):
        tallies.tally_request(seeded, **arguments)


def test_an_unknown_time_zone_is_a_problem_not_a_crash(app: Flask, seeded: Campaign) -> None:
    app.config["TIMEZONE"] = "Mars/Olympus_Mons"
    with pytest.raises(tallies.TallyProblem, match="not a known time zone"):
        tallies.tally_request(seeded)


@pytest.mark.parametrize("by", ["state", "legislator", "day", "legislator,day,channel,status"])
def test_one_query_per_export(app: Flask, seeded: Campaign, by: str) -> None:
    app.config["TIMEZONE"] = "America/New_York"
    request = tallies.tally_request(seeded, by=by, start="2026-03-01", end="2026-03-31")
    with counted_statements() as statements:
        data = b"".join(tallies.csv_stream(request))
    assert data.startswith(",".join(request.header).encode() + b"\r\n")
    assert len(statements) == 1, statements
    assert "GROUP BY" in statements[0]


def test_day_offsets_cover_every_transition_once() -> None:
    first, changes = tallies.offset_segments(
        "America/New_York", datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert first == -5 * 3600
    assert [(moment.isoformat(), offset // 3600) for moment, offset in changes] == [
        ("2025-03-09T07:00:00+00:00", -4),
        ("2025-11-02T06:00:00+00:00", -5),
        ("2026-03-08T07:00:00+00:00", -4),
        ("2026-11-01T06:00:00+00:00", -5),
    ]
    assert tallies.offset_segments(
        "UTC", datetime(1970, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    ) == (0, [])


def test_totals_for_the_dashboard(app: Flask, seeded: Campaign) -> None:
    totals = tallies.totals(tallies.tally_request(seeded))
    assert (totals.actions, totals.constituents, totals.contacts) == (6, 5, 16)
    assert totals.by_channel == {"call": 1, "email": 13, "postal": 2}
    assert (totals.personalised, totals.messages) == (5, 15)
    assert round(totals.personalised_percent or 0, 1) == 33.3
    app.config["TIMEZONE"] = "America/New_York"
    nh_early = tallies.totals(tallies.tally_request(seeded, end="2026-03-01", state="NH"))
    assert (nh_early.actions, nh_early.constituents, nh_early.contacts) == (2, 2, 7)


def test_daily_series_fills_the_days_without_contacts(seeded: Campaign) -> None:
    series = tallies.daily_series(tallies.tally_request(seeded, end="2026-03-12"))
    assert series[0] == ("2026-03-01", 4)
    assert series[-1] == ("2026-03-12", 0)
    assert len(series) == 12
    assert dict(series)["2026-03-05"] == 0
    assert sum(count for _, count in series) == 16


def _instants(zone_name: str) -> list[datetime]:
    """Random instants from 1970 on, plus a second either side of every offset change."""
    rng = random.Random(zone_name)  # noqa: S311 - test data, not secrets
    start, end = datetime(1970, 1, 2, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    span = int((end - start).total_seconds())
    moments = [start + timedelta(seconds=rng.randrange(span)) for _ in range(150)]
    _, changes = tallies.offset_segments(zone_name, start, end)
    for moment, _ in changes[:: max(1, len(changes) // 40)] + changes[-6:]:
        moments += [moment - timedelta(seconds=1), moment, moment + timedelta(seconds=1)]
    return moments


@pytest.mark.parametrize(
    "zone_name",
    [
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",  # a half-hour daylight saving shift
        "Pacific/Chatham",  # +12:45 / +13:45
        "America/Santiago",  # southern summer
        "Asia/Kolkata",
    ],
)
def test_days_match_python_for_decades_of_rules(
    app: Flask, seeded: Campaign, zone_name: str
) -> None:
    """Every contact lands on the local day Python's zoneinfo gives, old rules included."""
    app.config["TIMEZONE"] = zone_name
    campaign = make_campaign("decades")
    action = add_action(campaign, ALICE, utc("2026-01-01 00:00"), [])
    moments = _instants(zone_name)
    for number, moment in enumerate(moments):
        db.session.add(
            Contact(
                action_id=action.id, campaign_id=campaign.id,
                campaign_version_id=campaign.current_version_id, channel="email",
                target_kind="legislator", target_id=f"t{number}", target_name="T",
                status="sent", personalised=False, created_at=moment,
            )
        )
    db.session.commit()
    zone = ZoneInfo(zone_name)
    expected = Counter(m.astimezone(zone).date().isoformat() for m in moments)
    assert dict(rows(campaign, "day")) == dict(expected)  # type: ignore[arg-type]

