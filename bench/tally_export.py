"""Benchmark of the tally export on a large campaign (SQLite).

Seeds N contacts (default 1,000,000) for one campaign, shaped like real traffic: every state,
multi-member New Hampshire districts, Nebraska's unicameral Legislature, about 7,000
legislators, 90 days, a few calls and letters, mixed delivery statuses. Then, for several
groupings, it measures

* ours: ``advocacy export tallies --output FILE`` (``export_tallies_to``, the CLI's code path,
  progress bar included), with days in ``--timezone`` (default America/New_York, the harder case:
  daylight saving time), and
* raw: the plain ``GROUP BY`` SQL of the same grouping through Python's sqlite3 module straight
  into ``csv.writer`` (days in UTC: the least work possible),

each in its own process (best of ``--repeat`` runs), and reports the time ratio ours/raw (goal
at most 2) and the peak memory (``ru_maxrss``) of each process, and how much the export itself
added to it. Writes a JSON dict (``run()`` returns it).

    .venv/bin/python -m bench.tally_export [--contacts N] [--repeat R] [--json bench/results.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-campaign"
OTHER_SLUG = "bench-other"
GOAL_RATIO = 2.0
GROUPINGS = ("state", "district", "legislator", "day", "legislator,day")
RAW_COLUMNS = {
    "state": ["target_state"],
    "district": ["target_state", "target_chamber", "target_district"],
    "legislator": [
        "target_state",
        "target_chamber",
        "target_district",
        "target_id",
        "target_name",
        "target_party",
    ],
    "day": ["date(created_at)"],
}
END = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 90
BATCH = 50_000
STATES = (
    "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE "
    "NH NJ NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY"
).split()
PARTIES = ("Democratic", "Republican", "Independent")
STATUSES = (("sent", 80), ("logged", 9), ("queued", 5), ("failed", 3), ("bounced", 2), ("dead", 1))


def _rss_kb() -> int:
    """This process's peak resident memory in KB. On Linux, VmHWM (ru_maxrss survives exec,
    so a child would report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _app(database: Path, workdir: Path, timezone: str) -> Any:
    from advocacy import create_app

    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "INSTANCE_DIR": str(workdir / "instance"),
            "CAMPAIGNS_DIR": str(workdir / "campaigns"),
            "SECRET_KEY": "bench",
            "TIMEZONE": timezone,
        }
    )


# -- seeding --------------------------------------------------------------------------------------


Member = tuple[str, str, str]  # id, name, party
Roster = dict[str, dict[str, list[tuple[str, list[Member]]]]]  # state -> chamber -> districts


def _roster(rng: random.Random) -> Roster:
    """About 7,000 made-up legislators; New Hampshire's House districts elect 1 to 4."""
    roster: Roster = {}
    for state in STATES:
        chambers: dict[str, list[tuple[str, list[Member]]]] = {}
        if state in ("NE", "DC"):
            sizes = {"legislature": 49 if state == "NE" else 13}
        elif state == "NH":
            sizes = {"lower": 203, "upper": 24}
        else:
            sizes = {"lower": rng.randint(40, 150), "upper": rng.randint(20, 60)}
        for chamber, count in sizes.items():
            districts = []
            nh_house = state == "NH" and chamber == "lower"
            for number in range(1, count + 1):
                district = f"Hillsborough {number}" if nh_house else str(number)
                seats = rng.choice((1, 2, 3, 4)) if nh_house else 1
                members = [
                    (
                        f"ocd-person/{state.lower()}-{chamber}-{number}-{seat}",
                        f"Member {state} {chamber} {district} seat {seat}",
                        rng.choice(PARTIES),
                    )
                    for seat in range(1, seats + 1)
                ]
                districts.append((district, members))
            chambers[chamber] = districts
        roster[state] = chambers
    return roster


def _rows(
    count: int, campaign_id: int, version_id: int, other: tuple[int, int], seed: int = 7
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Batches of (constituents, actions, contacts) until ``count`` contacts are made."""
    rng = random.Random(seed)
    roster = _roster(rng)
    weights = [rng.randint(1, 40) for _ in STATES]
    statuses = [s for s, _ in STATUSES]
    status_weights = [w for _, w in STATUSES]
    start = END - timedelta(days=DAYS)
    made = 0
    action_id = 0
    contact_id = 0
    people: list[tuple[Any, ...]] = []
    actions: list[tuple[Any, ...]] = []
    contacts: list[tuple[Any, ...]] = []
    while made < count:
        action_id += 1
        state = rng.choices(STATES, weights)[0]
        at = start + timedelta(
            seconds=rng.randrange(DAYS * 86400), microseconds=rng.randrange(10**6)
        )
        stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f")
        camp, version = (campaign_id, version_id) if rng.random() < 0.9 else other
        people.append(
            (action_id, f"Person {action_id}", f"p{action_id}@example.org", None,
             f"{action_id} Main St", "Town", state, "00000", rng.random() < 0.4, stamp, None)
        )
        actions.append(
            (action_id, f"sub-{action_id}", camp, version, action_id, f"{action_id:064x}",
             None, state, None, stamp)
        )
        targets = []
        for chamber, districts in roster[state].items():
            district, members = rng.choice(districts)
            targets.extend((member, chamber, district) for member in members)
        for (member_id, name, party), chamber, district in targets:
            contact_id += 1
            made += 1 if camp == campaign_id else 0
            status = rng.choices(statuses, status_weights)[0]
            personalised = rng.random() < 0.2
            contacts.append(
                (contact_id, action_id, camp, version, "email", "legislator", member_id, name,
                 "Representative", party, "rep@example.gov", None, state, chamber, district,
                 "Please act", f"Dear {name},\n\nPlease act on this bill.\n\nPerson {action_id}",
                 personalised, status, None, stamp, None)
            )
        if rng.random() < 0.1:
            (member_id, name, party), chamber, district = targets[0]
            contact_id += 1
            made += 1 if camp == campaign_id else 0
            contacts.append(
                (contact_id, action_id, camp, version, "call", "legislator", member_id, name,
                 "Representative", party, None, "555-0100", state, chamber, district, None,
                 None, False, "called", None, stamp, stamp)
            )
        if rng.random() < 0.05:
            contact_id += 1
            made += 1 if camp == campaign_id else 0
            contacts.append(
                (contact_id, action_id, camp, version, "postal", "fixed", "some-organisation",
                 "=Some Organisation", None, None, None, None, None, None, None, "Please act",
                 "Dear Board,", False, "logged", None, stamp, None)
            )
        if len(contacts) >= BATCH:
            yield people, actions, contacts
            people, actions, contacts = [], [], []
    yield people, actions, contacts


def seed(database: Path, workdir: Path, contacts: int) -> dict[str, Any]:
    """A migrated SQLite database with ``contacts`` contacts in the bench campaign."""
    from flask_migrate import upgrade

    from advocacy.campaigns.models import Campaign, CampaignVersion
    from advocacy.extensions import db

    began = time.perf_counter()
    app = _app(database, workdir, "UTC")
    ids: dict[str, tuple[int, int]] = {}
    with app.app_context():
        upgrade()
        for slug in (SLUG, OTHER_SLUG):
            campaign = Campaign(slug=slug, title=slug, status="live", source="admin")
            db.session.add(campaign)
            db.session.flush()
            version = CampaignVersion(
                campaign_id=campaign.id, number=1, content_hash="0" * 64, definition={}
            )
            db.session.add(version)
            db.session.flush()
            campaign.current_version_id = version.id
            ids[slug] = (campaign.id, version.id)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    # Bulk load without the contact indexes, then build them exactly as the migrations made them.
    indexes = [
        (name, sql)
        for name, sql in connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contact' "
            "AND sql IS NOT NULL"
        )
    ]
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    made_actions = made_contacts = 0
    for people, actions, rows in _rows(contacts, *ids[SLUG], ids[OTHER_SLUG]):
        connection.executemany(
            "INSERT INTO constituent (id, name, email, phone, street_address, city, state, "
            "zip_code, opt_in, created_at, anonymised_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            people,
        )
        connection.executemany(
            "INSERT INTO action (id, submission_key, campaign_id, campaign_version_id, "
            "constituent_id, duplicate_key, matched_address, state, legislator_ids, "
            "created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            actions,
        )
        connection.executemany(
            "INSERT INTO contact (id, action_id, campaign_id, campaign_version_id, channel, "
            "target_kind, target_id, target_name, target_title, target_party, target_email, "
            "target_phone, target_state, target_chamber, target_district, subject, body, "
            "personalised, status, last_error, created_at, sent_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        made_actions += len(actions)
        made_contacts += len(rows)
    for _, sql in indexes:
        connection.execute(sql)
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()
    counted = sqlite3.connect(database).execute(
        "SELECT count(*) FROM contact WHERE campaign_id = ?", (ids[SLUG][0],)
    ).fetchone()[0]
    return {
        "seconds": round(time.perf_counter() - began, 2),
        "campaign_contacts": counted,
        "all_contacts": made_contacts,
        "actions": made_actions,
        "database_mb": round(database.stat().st_size / 2**20, 1),
        "campaign_id": ids[SLUG][0],
    }


# -- one measurement per process ----------------------------------------------------------------


def raw_sql(by: str) -> str:
    columns: list[str] = []
    for name in by.split(","):
        columns.extend(c for c in RAW_COLUMNS[name] if c not in columns)
    columns.sort(key=lambda column: column != "date(created_at)")  # the day first, as ours
    positions = ", ".join(str(i) for i in range(1, len(columns) + 1))
    return (
        f"SELECT {', '.join(columns)}, count(*) FROM contact WHERE campaign_id = ? "  # noqa: S608
        f"GROUP BY {positions} ORDER BY {positions}"
    )


def measure_raw(
    database: Path, campaign_id: int, by: str, output: Path, repeat: int
) -> dict[str, Any]:
    rss_before = _rss_kb()
    best = float("inf")
    rows = 0
    for _ in range(repeat):
        connection = sqlite3.connect(database)
        began = time.perf_counter()
        cursor = connection.execute(raw_sql(by), (campaign_id,))
        with output.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([d[0] for d in cursor.description])
            writer.writerows(cursor)
        best = min(best, time.perf_counter() - began)
        connection.close()
    with output.open("rb") as handle:
        rows = sum(1 for _ in handle) - 1
    return {"seconds": best, "rows": rows, "rss_before_kb": rss_before, "rss_peak_kb": _rss_kb()}


def measure_ours(
    database: Path, workdir: Path, by: str, output: Path, repeat: int, timezone: str
) -> dict[str, Any]:
    from advocacy.campaigns.service import get_campaign
    from advocacy.exports import tallies
    from advocacy.exports.cli import export_tallies_to

    app = _app(database, workdir, timezone)
    best = float("inf")
    rows = 0
    with app.app_context():
        campaign = get_campaign(SLUG)
        assert campaign is not None
        tally = tallies.tally_request(campaign, by=by)
        rss_before = _rss_kb()
        for _ in range(repeat):
            began = time.perf_counter()
            rows, _ = export_tallies_to(tally, output, progress=True)
            best = min(best, time.perf_counter() - began)
    return {"seconds": best, "rows": rows, "rss_before_kb": rss_before, "rss_peak_kb": _rss_kb()}


def _child(arguments: Sequence[str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.tally_export", "--child", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {completed.stderr[-2000:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


# -- the whole run ----------------------------------------------------------------------------


def run(
    contacts: int = 1_000_000,
    groupings: Sequence[str] = GROUPINGS,
    repeat: int = 3,
    timezone: str = "America/New_York",
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Seed, measure every grouping, and return the figures (JSON-serialisable)."""
    with tempfile.TemporaryDirectory(prefix="tally-bench-", dir=workdir) as folder:
        work = Path(folder)
        database = work / "bench.sqlite3"
        seeded = seed(database, work, contacts)
        results = []
        for by in groupings:
            common = ["--database", str(database), "--by", by, "--repeat", str(repeat)]
            raw = _child(
                [*common, "--mode", "raw", "--campaign-id", str(seeded["campaign_id"]),
                 "--output", str(work / "raw.csv")]
            )
            ours = _child(
                [*common, "--mode", "ours", "--timezone", timezone,
                 "--output", str(work / "ours.csv")]
            )
            results.append(
                {
                    "by": by,
                    "rows": ours["rows"],
                    "raw_rows": raw["rows"],
                    # Microseconds: at small sizes the raw query takes well under 1 ms.
                    "ours_seconds": round(ours["seconds"], 6),
                    "raw_seconds": round(raw["seconds"], 6),
                    "ratio": round(ours["seconds"] / max(raw["seconds"], 1e-9), 2),
                    "ours_peak_rss_mb": round(ours["rss_peak_kb"] / 1024, 1),
                    "ours_export_rss_growth_mb": round(
                        (ours["rss_peak_kb"] - ours["rss_before_kb"]) / 1024, 1
                    ),
                    "raw_peak_rss_mb": round(raw["rss_peak_kb"] / 1024, 1),
                }
            )
    return {
        "contacts": contacts,
        "seed": seeded,
        "database": "sqlite",
        "sqlite_version": sqlite3.sqlite_version,
        "timezone": timezone,
        "repeat": repeat,
        "goal_ratio": GOAL_RATIO,
        "within_goal": all(r["ratio"] <= GOAL_RATIO for r in results),
        "results": results,
        "cpus": os.cpu_count(),
    }


def _print(report: dict[str, Any]) -> None:
    seed_info = report["seed"]
    print(
        f"seeded {seed_info['campaign_contacts']:,} campaign contacts "
        f"({seed_info['all_contacts']:,} in all, {seed_info['actions']:,} actions, "
        f"{seed_info['database_mb']} MB) in {seed_info['seconds']} s; days in {report['timezone']}"
    )
    print(f"{'by':16} {'rows':>9} {'ours s':>8} {'raw s':>8} {'ratio':>6} "
          f"{'ours MB':>8} {'export +MB':>10} {'raw MB':>7}")
    for r in report["results"]:
        print(
            f"{r['by']:16} {r['rows']:9,} {r['ours_seconds']:8.3f} {r['raw_seconds']:8.3f} "
            f"{r['ratio']:6.2f} {r['ours_peak_rss_mb']:8.1f} "
            f"{r['ours_export_rss_growth_mb']:10.1f} {r['raw_peak_rss_mb']:7.1f}"
        )
    print(f"goal: ratio <= {report['goal_ratio']}: {'met' if report['within_goal'] else 'NOT met'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timezone", default="America/New_York")
    parser.add_argument("--by", action="append", help="a grouping to measure (repeatable)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    # One measurement in a fresh process (used by run()).
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("ours", "raw"), help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--campaign-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        by = args.by[0]
        if args.mode == "raw":
            figures = measure_raw(args.database, args.campaign_id, by, args.output, args.repeat)
        else:
            work = args.database.parent
            figures = measure_ours(
                args.database, work, by, args.output, args.repeat, args.timezone
            )
        print(json.dumps(figures))
        return 0
    report = run(args.contacts, tuple(args.by or GROUPINGS), args.repeat, args.timezone)
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
