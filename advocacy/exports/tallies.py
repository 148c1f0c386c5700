"""Contact tallies: counts of contacts grouped by validated dimensions, from ONE ``GROUP BY``
query, streamed. The dashboard, the CSV export (web and CLI) and the JSON API all call here.

Which contacts count: every contact of the campaign, whatever its delivery status (a queued,
sent, logged, called, failed, bounced or dead contact each counts once): a tally measures what
constituents did. The ``status`` dimension splits the counts by delivery status, so "delivered
only" is one filter away in a spreadsheet.

Days are local dates in ``ADVOCACY_TIMEZONE``. The grouping is computed in SQL, identically on
SQLite and PostgreSQL, from Python's own time-zone rules: the UTC offsets in force between the
lower and upper bound of the query (from 1970, or the ``from`` day, to two days from now, or the
``to`` day) are turned into a ``CASE`` over ``created_at`` (the last two years newest first, then
a balanced tree: a few comparisons per row), and the day is ``created_at + offset`` cut to a
date. One query, grouped by the database, no per-row Python,
and the same answer on both databases whatever tz data PostgreSQL was built with.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.sql.elements import ColumnElement

from ..actions import followups
from ..actions.models import Action, Contact, Digest
from ..campaigns.models import Campaign
from ..dbtypes import utcnow
from ..extensions import db
from ..lookup.registry import STATES
from .csvstream import csv_chunks

# The dimensions a caller may group by, and the CSV columns each one brings. A district is
# only meaningful with its state and chamber, and a legislator with where they sit.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "day": ("day",),
    "state": ("state",),
    "chamber": ("chamber",),
    "district": ("state", "chamber", "district"),
    "legislator": ("state", "chamber", "district", "target_id", "target_name", "party"),
    "channel": ("channel",),
    "status": ("status",),
    "own_words": ("own_words",),
    "source": ("source",),
}
# Measures a caller may add: a column computed over each group's contacts, after the count.
# "similarity": the average, over the group's written messages, of each one's similarity to
# the closest message sent to the same recipient through the campaign earlier that day
# (actions/coach.py); empty when none of them had one to compare with. Messages of the last
# minute or so are not measured yet (the measure-similarity job) and not in the average.
MEASURES: dict[str, str] = {"similarity": "average_similarity"}
# The share of a written message in the sender's own words, as buckets whose labels sort in
# byte order (empty: a call, or a message from before the coach measured it).
OWN_WORDS_BUCKETS = ("0%", "1-10%", "11-50%", "51-100%")
# Columns always come in this order, whatever order the dimensions were asked in.
COLUMN_ORDER = (
    "day",
    "state",
    "chamber",
    "district",
    "target_id",
    "target_name",
    "party",
    "channel",
    "status",
    "own_words",
    "source",
)
COUNT_COLUMN = "contacts"
DEFAULT_BY = ("state",)
TEXT_SOURCES: dict[str, Any] = {
    "state": Contact.target_state,
    "chamber": Contact.target_chamber,
    "district": Contact.target_district,
    "target_id": Contact.target_id,
    "target_name": Contact.target_name,
    "party": Contact.target_party,
    "channel": Contact.channel,
    "status": Contact.status,
    "source": Action.source,  # the source code of the link the visitor came by (its action's)
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST = date(1970, 1, 1)
LATEST = date(9998, 12, 31)


class TallyProblem(ValueError):
    """A tally request that cannot be answered (bad grouping, date or state); the message is
    meant for the person who asked (HTTP 400, exit status 2)."""


@dataclass(frozen=True)
class TallyRequest:
    campaign_id: int
    campaign_slug: str
    by: tuple[str, ...] = DEFAULT_BY
    start: date | None = None  # local date, inclusive
    end: date | None = None  # local date, inclusive
    state: str | None = None  # two upper-case letters: only contacts to that state's targets
    zone_name: str = "UTC"
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        wanted = {column for name in self.by for column in DIMENSIONS.get(name, ())}
        object.__setattr__(self, "columns", tuple(c for c in COLUMN_ORDER if c in wanted))

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(MEASURES[name] for name in self.by if name in MEASURES)

    @property
    def header(self) -> tuple[str, ...]:
        return (*self.columns, COUNT_COLUMN, *self.measures)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    @property
    def start_utc(self) -> datetime | None:
        return local_midnight(self.start, self.zone) if self.start else None

    @property
    def end_utc(self) -> datetime | None:
        """The first instant after the ``end`` day (exclusive bound)."""
        return local_midnight(self.end + timedelta(days=1), self.zone) if self.end else None

    def with_by(self, *by: str) -> TallyRequest:
        return TallyRequest(
            self.campaign_id,
            self.campaign_slug,
            parse_by(",".join(by)),
            self.start,
            self.end,
            self.state,
            self.zone_name,
        )

    def describe(self) -> dict[str, Any]:
        """The request as it is echoed by the API and kept in the audit log."""
        return {
            "campaign": self.campaign_slug,
            "by": list(self.by),
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "state": self.state,
            "timezone": self.zone_name,
        }


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


# -- parsing what people type -------------------------------------------------------------------


def parse_by(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"state,legislator"`` (or a list of names) to dimension names in canonical order."""
    if raw is None:
        return DEFAULT_BY
    text = raw if isinstance(raw, str) else ",".join(raw)
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        return DEFAULT_BY
    unknown = [name for name in names if name not in DIMENSIONS and name not in MEASURES]
    if unknown:
        raise TallyProblem(
            f"unknown grouping {unknown[0]!r}: use one or more of "
            f"{', '.join([*DIMENSIONS, *MEASURES])} (comma-separated)"
        )
    return tuple(name for name in [*DIMENSIONS, *MEASURES] if name in names)


def parse_date(raw: str | None, label: str) -> date | None:
    """A ``YYYY-MM-DD`` date, or None for an empty value."""
    text = (raw or "").strip()
    if not text:
        return None
    if not _DATE.fullmatch(text):
        raise TallyProblem(f"{label} must be a date written YYYY-MM-DD, not {text[:40]!r}")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise TallyProblem(f"{label} is not a real date: {text!r}") from None
    if not EARLIEST <= value <= LATEST:
        raise TallyProblem(f"{label} must be between {EARLIEST} and {LATEST}")
    return value


def parse_state(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    if text.lower() not in STATES:
        raise TallyProblem(f"state must be a two-letter state abbreviation, not {text[:40]!r}")
    return text.upper()


def tally_request(
    campaign: Campaign,
    *,
    by: str | Iterable[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    state: str | None = None,
    zone_name: str | None = None,
) -> TallyRequest:
    """Validate what a person asked for; raises ``TallyProblem`` with a readable message."""
    zone_name = zone_name or str(current_app.config.get("TIMEZONE") or "UTC")
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TallyProblem(f"ADVOCACY_TIMEZONE {zone_name!r} is not a known time zone") from None
    first = parse_date(start, "from")
    last = parse_date(end, "to")
    if first and last and first > last:
        raise TallyProblem(f"from ({first}) is after to ({last})")
    return TallyRequest(
        campaign_id=campaign.id,
        campaign_slug=campaign.slug,
        by=parse_by(by),
        start=first,
        end=last,
        state=parse_state(state),
        zone_name=zone_name,
    )


# -- local days in SQL ----------------------------------------------------------------------------


def _offset_at(zone: ZoneInfo, timestamp: int) -> int:
    offset = datetime.fromtimestamp(timestamp, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@functools.lru_cache(maxsize=1024)
def _transitions_in_year(zone_name: str, year: int) -> tuple[tuple[int, int], ...]:
    """``(POSIX second, new UTC offset)`` for each change of offset during ``year``."""
    zone = ZoneInfo(zone_name)
    step = 6 * 3600
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    found: list[tuple[int, int]] = []
    here, before = start, _offset_at(zone, start)
    while here < end:
        there = min(here + step, end)
        after = _offset_at(zone, there)
        if after != before:
            low, high = here, there  # offset(low) == before, offset(high) == after
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_at(zone, middle) == before:
                    low = middle
                else:
                    high = middle
            found.append((high, after))
        here, before = there, after
    return tuple(found)


def offset_segments(
    zone_name: str, lower: datetime, upper: datetime
) -> tuple[int, list[tuple[datetime, int]]]:
    """The UTC offset at ``lower`` and every ``(instant, new offset)`` up to ``upper``."""
    zone = ZoneInfo(zone_name)
    low, high = int(lower.timestamp()), int(upper.timestamp())
    first = _offset_at(zone, low)
    changes: list[tuple[datetime, int]] = []
    current = first
    for year in range(lower.year, upper.year + 1):
        for moment, offset in _transitions_in_year(zone_name, year):
            if low < moment <= high and offset != current:
                changes.append((datetime.fromtimestamp(moment, UTC), offset))
                current = offset
    return first, changes


RECENT_SEGMENTS = 4  # about two years of daylight saving time, tested newest first


def _offset_tree(
    column: Any, first: int, changes: list[tuple[datetime, int]], leaf: Callable[[int], Any]
) -> Any:
    """A CASE giving the offset (as ``leaf(seconds)``) in force at ``column``.

    Most contacts are recent, so the newest few periods are tested first, newest first (one or
    two comparisons for a running campaign); older times fall to a balanced tree (a handful of
    comparisons for decades of rules).
    """
    offsets = [first, *(offset for _, offset in changes)]
    bounds = [moment for moment, _ in changes]  # offsets[i] holds from bounds[i - 1] on

    def build(low: int, high: int) -> Any:
        if len(set(offsets[low : high + 1])) == 1:
            return leaf(offsets[low])
        middle = (low + high) // 2
        return sa.case((column < bounds[middle], build(low, middle)), else_=build(middle + 1, high))

    newest = len(offsets) - 1
    recent = range(newest, max(0, newest - RECENT_SEGMENTS), -1)
    if not recent:
        return leaf(first)
    whens = [(column >= bounds[index - 1], leaf(offsets[index])) for index in recent]
    return sa.case(*whens, else_=build(0, recent[-1] - 1))


def local_day(request: TallyRequest, dialect: str) -> ColumnElement[Any]:
    """SQL for the local date (in the request's time zone) of ``contact.created_at``."""
    # Contacts are stamped when they are made, so none is in the future: two days of margin.
    lower = request.start_utc or datetime(EARLIEST.year, 1, 1, tzinfo=UTC)
    upper = request.end_utc or utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(
        days=2
    )
    first, changes = offset_segments(request.zone_name, lower, upper)
    column = Contact.created_at
    if dialect == "postgresql":
        utc_wall = sa.func.timezone("UTC", column)
        if not changes and first == 0:
            return sa.cast(utc_wall, sa.Date)
        tree = _offset_tree(
            column, first, changes, lambda s: sa.literal_column(f"INTERVAL '{int(s)} seconds'")
        )
        return sa.cast(utc_wall + tree, sa.Date)
    if not changes and first == 0:
        return sa.func.date(column)
    tree = _offset_tree(
        column, first, changes, lambda s: sa.literal_column(f"'{int(s):+d} seconds'")
    )
    return sa.func.date(column, tree)


# -- the one query ------------------------------------------------------------------------------


def _dialect() -> str:
    return str(db.session.get_bind().dialect.name)


def _window_filters(request: TallyRequest, created_at: Any, state: Any) -> list[Any]:
    """The request's local days and state, as conditions on these two columns."""
    where: list[Any] = []
    if request.start_utc is not None:
        where.append(created_at >= request.start_utc)
    if request.end_utc is not None:
        where.append(created_at < request.end_utc)
    if request.state:
        where.append(state == request.state)
    return where


def contact_filters(request: TallyRequest) -> list[Any]:
    return [
        Contact.campaign_id == request.campaign_id,
        *_window_filters(request, Contact.created_at, Contact.target_state),
    ]


def own_words_bucket() -> ColumnElement[Any]:
    """SQL for the bucket (``OWN_WORDS_BUCKETS``) of a contact's share of own words."""
    share = Contact.own_words
    none, few, some, most = OWN_WORDS_BUCKETS
    return sa.case(
        (share.is_(None), sa.null()),
        (share <= 0, none),
        (share <= 0.1, few),
        (share <= 0.5, some),
        else_=most,
    )


def statement(request: TallyRequest, dialect: str | None = None) -> sa.Select[Any]:
    """``SELECT <columns>, count(*) FROM contact WHERE ... GROUP BY ... ORDER BY ...``.

    Grouped by position, ordered by every column (texts in byte order with empty values first,
    the same on SQLite and PostgreSQL), so the output is deterministic.
    """
    dialect = dialect or _dialect()
    selected: list[Any] = []
    ordering: list[Any] = []
    for position, name in enumerate(request.columns, start=1):
        if name == "day":
            selected.append(local_day(request, dialect).label("day"))
            ordering.append(sa.text(str(position)))
            continue
        column = own_words_bucket() if name == "own_words" else TEXT_SOURCES[name]
        selected.append(column.label(name))
        if dialect == "postgresql":
            ordering.append(column.collate("C").asc().nulls_first())
        else:
            ordering.append(sa.text(str(position)))
    count = sa.func.count().label(COUNT_COLUMN)
    measures = [
        sa.func.avg(Contact.similarity).label(MEASURES["similarity"])
        for name in request.by
        if name == "similarity"
    ]
    query = (
        sa.select(*selected, count, *measures)
        .select_from(Contact)
        .where(*contact_filters(request))
    )
    if "source" in request.columns:
        query = query.join(Action, Action.id == Contact.action_id)
    if selected:
        positions = [sa.text(str(i)) for i in range(1, len(selected) + 1)]
        query = query.group_by(*positions).order_by(*ordering)
    return query


def _day_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def iter_rows(request: TallyRequest, yield_per: int = 2000) -> Iterator[tuple[Any, ...]]:
    """The tally rows, streamed from the database (a server-side cursor on PostgreSQL).

    Text columns hold ``""`` for a missing value; ``day`` is ``YYYY-MM-DD``; then comes the
    count, then the measures asked for (a similarity from 0 to 1, three decimals).
    """
    result = db.session.execute(statement(request), execution_options={"yield_per": yield_per})
    day_at = request.columns.index("day") if "day" in request.columns else None
    count_at = len(request.columns)
    for row in result:
        values = ["" if value is None else value for value in row]
        if day_at is not None:
            values[day_at] = _day_text(values[day_at])
        values[count_at] = int(values[count_at])
        for at in range(count_at + 1, len(values)):
            if values[at] != "":
                values[at] = round(float(values[at]), 3)
        yield tuple(values)


def csv_stream(
    request: TallyRequest,
    on_rows: Callable[[int], None] | None = None,
    rows: Iterable[tuple[Any, ...]] | None = None,
) -> Iterator[bytes]:
    """The tally CSV as chunks of bytes: the same bytes for the web and the command line.

    ``rows`` lets the command line watch the rows go by (default: ``iter_rows(request)``).
    """
    text_columns = [i for i, name in enumerate(request.columns) if name != "day"]
    return csv_chunks(
        request.header,
        iter_rows(request) if rows is None else rows,
        text_columns=text_columns,
        on_rows=on_rows,
    )


def tally_dicts(request: TallyRequest) -> list[dict[str, Any]]:
    """Rows as dictionaries (for the API and the dashboard); missing texts are ``None``."""
    header = request.header
    return [
        {name: (value if value != "" else None) for name, value in zip(header, row, strict=True)}
        for row in iter_rows(request)
    ]


def export_filename(request: TallyRequest, what: str = "tallies") -> str:
    """``slug_tallies_state_from-..._to-..._nh.csv``; ``what``: "digests" or "replies" for
    those files (no grouping in their names)."""
    parts = [request.campaign_slug, what]
    if what == "tallies":
        parts.append("-".join(request.by))
    if request.start:
        parts.append(f"from-{request.start}")
    if request.end:
        parts.append(f"to-{request.end}")
    if request.state:
        parts.append(request.state.lower())
    return "_".join(parts) + ".csv"


# -- the dashboard's figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    actions: int
    constituents: int
    contacts: int
    by_channel: dict[str, int]
    messages: int  # written messages (email and postal): the ones a visitor could edit
    personalised: int

    @property
    def personalised_percent(self) -> float | None:
        return 100.0 * self.personalised / self.messages if self.messages else None


def totals(request: TallyRequest) -> Totals:
    """Actions, unique constituents, contacts by channel and personalised messages.

    Actions are filtered by the visitor's state (the action's); contacts by their target's.
    A constituent is one email address per campaign (the action's duplicate key, a hash).
    """
    actions, constituents = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(Action.duplicate_key))).where(
            Action.campaign_id == request.campaign_id,
            *_window_filters(request, Action.created_at, Action.state),
        )
    ).one()
    personalised = sa.func.sum(sa.case((Contact.personalised.is_(True), 1), else_=0))
    rows = db.session.execute(
        sa.select(Contact.channel, sa.func.count(), personalised)
        .where(*contact_filters(request))
        .group_by(Contact.channel)
    ).all()
    by_channel = {str(channel): int(count) for channel, count, _ in rows}
    messages = sum(int(c) for channel, c, _ in rows if channel in ("email", "postal"))
    edited = sum(int(p or 0) for channel, _, p in rows if channel in ("email", "postal"))
    return Totals(
        actions=int(actions or 0),
        constituents=int(constituents or 0),
        contacts=sum(by_channel.values()),
        by_channel=by_channel,
        messages=messages,
        personalised=edited,
    )


@dataclass(frozen=True)
class SourceRow:
    source: str | None  # None: the visitor came by a link without a source code
    actions: int
    contacts: int


def source_figures(request: TallyRequest) -> list[SourceRow]:
    """Actions and contacts by the source code of the link their visitor came by, most actions
    first. Actions are filtered by the visitor's state, contacts by their target's (as in
    ``totals``)."""
    actions = dict(
        db.session.execute(
            sa.select(Action.source, sa.func.count())
            .where(
                Action.campaign_id == request.campaign_id,
                *_window_filters(request, Action.created_at, Action.state),
            )
            .group_by(Action.source)
        ).all()
    )
    contacts = {row["source"]: row[COUNT_COLUMN] for row in tally_dicts(request.with_by("source"))}
    rows = [
        SourceRow(code, int(actions.get(code, 0)), int(contacts.get(code, 0)))
        for code in {*actions, *contacts}
    ]
    return sorted(rows, key=lambda r: (-r.actions, -r.contacts, r.source is None, r.source or ""))


def own_words_distribution(request: TallyRequest) -> tuple[list[tuple[str, int]], int]:
    """Written messages per bucket of their share of own words (every bucket, even empty),
    and how many written messages were not measured (sent before the coach measured them)."""
    measured: dict[str, int] = dict.fromkeys(OWN_WORDS_BUCKETS, 0)
    unmeasured = 0
    for channel, bucket, count in iter_rows(request.with_by("channel", "own_words")):
        if channel not in ("email", "postal"):
            continue
        if bucket:
            measured[bucket] += int(count)
        else:
            unmeasured += int(count)
    return list(measured.items()), unmeasured


def similarity_pending(request: TallyRequest) -> dict[str, int]:
    """Written messages whose similarity is not measured yet, by recipient: the dashboard says
    so rather than show an average without them, or none."""
    rows = db.session.execute(
        sa.select(Contact.target_id, sa.func.count())
        .where(*contact_filters(request), Contact.similarity_pending.is_(True))
        .group_by(Contact.target_id)
    ).all()
    return {target_id: int(count) for target_id, count in rows}


@dataclass(frozen=True)
class DigestFigures:
    """A digest campaign's daily digests sent (or logged) and the messages they carried."""

    sent: int
    messages: int
    largest: int

    @property
    def average(self) -> float | None:
        return self.messages / self.sent if self.sent else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "messages": self.messages,
            "average_messages": round(self.average, 2) if self.average is not None else None,
            "largest": self.largest,
        }


def _digest_filters(request: TallyRequest) -> list[Any]:
    """Digests sent (or logged) of the campaign, of the chosen days (their local day) and,
    with a state, to that state's recipients."""
    filters: list[Any] = [Digest.campaign_id == request.campaign_id, Digest.sent_at.is_not(None)]
    if request.start:
        filters.append(Digest.day >= request.start)
    if request.end:
        filters.append(Digest.day <= request.end)
    if request.state:
        filters.append(
            Digest.id.in_(sa.select(Contact.digest_id).where(Contact.target_state == request.state))
        )
    return filters


def digest_figures(request: TallyRequest) -> DigestFigures:
    """Messages carried per digest: how many digests, their messages, the largest."""
    sent, messages, largest = db.session.execute(
        sa.select(
            sa.func.count(Digest.id),
            sa.func.coalesce(sa.func.sum(Digest.message_count), 0),
            sa.func.coalesce(sa.func.max(Digest.message_count), 0),
        ).where(*_digest_filters(request))
    ).one()
    return DigestFigures(int(sent or 0), int(messages or 0), int(largest or 0))


DIGEST_HEADER = ("day", "target_id", "target_name", "messages")


def digest_csv_stream(request: TallyRequest) -> Iterator[bytes]:
    """One row per digest sent: its day, its recipient and the messages it carried (no
    personal data: a digest's recipient is a public official)."""
    rows = db.session.execute(
        sa.select(Digest.day, Digest.target_id, Digest.target_name, Digest.message_count)
        .where(*_digest_filters(request))
        .order_by(Digest.day, Digest.target_name, Digest.id)
        .execution_options(yield_per=2000)
    )
    return csv_chunks(
        DIGEST_HEADER,
        ((day.isoformat(), *rest) for day, *rest in rows),
        text_columns=(1, 2),
    )


def daily_series(request: TallyRequest) -> list[tuple[str, int]]:
    """Contacts per local day, with the days in between that had none (for the chart)."""
    counts = {row[0]: row[-1] for row in iter_rows(request.with_by("day"))}
    if not counts:
        return []
    first = request.start or date.fromisoformat(min(counts))
    last = request.end or date.fromisoformat(max(counts))
    if (last - first).days > 3660:  # an open range with stray old data: only the data's span
        first, last = date.fromisoformat(min(counts)), date.fromisoformat(max(counts))
    series = []
    day = first
    while day <= last:
        key = day.isoformat()
        series.append((key, int(counts.get(key, 0))))
        day += timedelta(days=1)
    return series


def sorted_by_count(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: -int(row[COUNT_COLUMN]))


# -- "did they reply?" ----------------------------------------------------------------------------


def reply_rates(request: TallyRequest) -> list[followups.ReplyRate]:
    """Each recipient's follow-up answers (``actions/followups.py``): messages in the request's
    days and state, every recipient with at least one answer, highest reply rate first."""
    return followups.reply_rates(request.campaign_id, *contact_filters(request))


def replies_csv_stream(request: TallyRequest) -> Iterator[bytes]:
    """The reply rates as CSV (``followups.REPLY_COLUMNS``): counts, no personal data."""
    return csv_chunks(
        followups.REPLY_COLUMNS,
        followups.reply_rows(reply_rates(request)),
        text_columns=range(6),
    )


def reply_dicts(request: TallyRequest) -> list[dict[str, Any]]:
    """The reply rates as dictionaries (for the API); missing texts are ``None``."""
    return [
        {
            name: (value if value != "" else None)
            for name, value in zip(followups.REPLY_COLUMNS, row, strict=True)
        }
        for row in followups.reply_rows(reply_rates(request))
    ]
