"""Many machines over one PostgreSQL: nothing lost, nothing sent twice, no job run twice.

* two gunicorn web hosts and two `advocacy deliver --loop` workers deliver 1,000 queued
  contacts (plus the ones visitors send through the web hosts meanwhile): each reaches the SMTP
  server exactly once;
* two `advocacy scheduler --once` processes started together run each due job once;
* a web host killed (SIGKILL, master and workers) in the middle of a burst of submissions and
  started again loses none: every visitor gets the 303 to their thank-you page and the
  database holds exactly one action per visitor, each with all its contacts and outbox rows.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import requests
import sqlalchemy as sa
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from advocacy.actions.models import Action, Contact
from advocacy.admin.models import AuditEntry
from advocacy.campaigns.models import CampaignVersion
from advocacy.dbtypes import utcnow
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from advocacy.jobs.models import JobLease
from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from tests.actions.helpers import ADDRESS, nh
from tests.delivery.conftest import SMTPServer, free_port
from tests.delivery.factory import make_campaign, queue_contacts
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.people import ROSTERS, people_csv, write_all

from .conftest import (
    BIN,
    METRICS_TOKEN,
    NEEDS_POSTGRES,
    WAIT,
    Cluster,
    Proc,
    Visitor,
    wait_until,
)

pytestmark = NEEDS_POSTGRES

SLUG = "every-exploited-child-is-a-victim"  # both chambers: six recipients in NH
PER_ACTION = 6


def scalar(query):  # type: ignore[no-untyped-def]
    db.session.expire_all()
    value = db.session.scalar(query)
    db.session.commit()
    return value


def outbox_waiting() -> int:
    return int(
        scalar(sa.select(sa.func.count()).where(OutboxMessage.status.in_(("pending", "sending"))))
        or 0
    )


def metric_samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = requests.get(
        url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text[:300]
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_two_web_hosts_and_two_workers_deliver_everything_exactly_once(
    app: Flask,
    cluster: Cluster,
    smtp: SMTPServer,
    upstream: FakeUpstreams,
    directory: Path,
    campaigns: Path,
) -> None:
    upstream.add_address(ADDRESS, nh())
    seeded = queue_contacts(1000)
    smtp.handler.delay = 0.002  # a little like a real server: the workers overlap
    web = [cluster.web("web-a", free_port()), cluster.web("web-b", free_port())]
    workers = [cluster.worker("worker-1"), cluster.worker("worker-2")]

    # Visitors send through both web hosts while the workers deliver.
    hosts = [host.url for host in web]
    visitors = [Visitor(n, hosts, SLUG, ADDRESS) for n in range(20)]

    def act(visitor: Visitor) -> str:
        visitor.start()
        return visitor.send()

    # The first visitor's lookup fills the shared address cache, so the others test the hosts
    # and workers, not a geocoder answering from this busy test process (its own tests:
    # tests/lookup/test_census_guard.py).
    keys = [act(visitors[0])]
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys += list(pool.map(act, visitors[1:]))
    assert len(set(keys)) == 20
    contacts = len(seeded) + 20 * PER_ACTION
    total = contacts + 20  # and each visitor's receipt

    wait_until(
        lambda: outbox_waiting() == 0 and len(smtp.received) >= total,
        what=f"{total} messages to be delivered",
    )
    time.sleep(0.3)  # anything sent twice would arrive now
    for worker in workers:
        worker.signal_group(signal.SIGTERM)
    summaries = []
    for worker in workers:
        assert worker.wait() == 0, worker.output[-2000:]
        summaries.append(
            next(line for line in worker.output.splitlines() if line.startswith("claimed "))
        )

    per_id = smtp.handler.per_message_id()
    expected = set(db.session.scalars(sa.select(OutboxMessage.message_id)))
    db.session.commit()
    assert len(expected) == total
    assert set(per_id) == expected  # none lost ...
    assert set(per_id.values()) == {1}  # ... none sent twice
    statuses = Counter(db.session.scalars(sa.select(Contact.status)))
    db.session.commit()
    assert statuses == {"sent": contacts}
    sent_by = [int(summary.split(": sent ")[1].split(",")[0]) for summary in summaries]
    assert sum(sent_by) == total and all(count > 0 for count in sent_by), summaries

    # Metrics from either host: the database gauges are the whole site's; request counts
    # add up the host's gunicorn worker processes (PROMETHEUS_MULTIPROC_DIR).
    sends_by_host = Counter(
        host for v in visitors for host in v.served_by[-1:]
    )  # the last request of each visitor is its send
    for host in web:
        samples = metric_samples(host.url)
        assert samples[("advocacy_contacts", (("campaign", SLUG), ("status", "sent")))] == 120
        key = (
            "advocacy_http_request_duration_seconds_count",
            (("endpoint", "actions.send"), ("method", "POST"), ("status", "303")),
        )
        assert samples.get(key, 0) == sends_by_host[host.url]
        assert samples[("advocacy_outbox_oldest_age_seconds", ())] == 0

    # No host needed a local file: the shared key came from the environment.
    for folder in cluster.instance_dirs():
        assert not (folder / "secret_key").exists()


def test_two_schedulers_started_together_run_each_due_job_once(
    app: Flask, cluster: Cluster, smtp: SMTPServer, upstream: FakeUpstreams, tmp_path: Path
) -> None:
    for state in ("nh", "vt"):
        upstream.people[state] = people_csv(ROSTERS[state]).encode()
    # The refresh reloads the states already loaded: these two, from local files first.
    write_all(tmp_path / "people")
    sync_states(BulkPeopleSource(str(tmp_path / "people")), ["nh", "vt"])
    # A campaign that opened a minute ago by its schedule, and two dead letters to report.
    campaign = make_campaign("opens-by-schedule")
    campaign.starts_at = utcnow() - timedelta(minutes=1)
    version = db.session.get(CampaignVersion, campaign.current_version_id)
    assert version is not None
    version.created_at = utcnow() - timedelta(days=1)
    dead = queue_contacts(2)
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.contact_id.in_(dead))
        .values(
            status="dead", last_error="550 no such user", updated_at=utcnow() - timedelta(minutes=2)
        )
    )
    db.session.commit()
    extra = {"ADVOCACY_ALERT_EMAIL": "staff@speakup.example.org"}
    jobs = (
        "build-digests",
        "campaign-schedule",
        "dead-letter-alert",
        "directory-refresh",
        "follow-ups",
        "measure-similarity",
        "retention",
    )

    def launch(name: str, start: threading.Barrier, procs: list[Proc]) -> None:
        start.wait(timeout=10)
        procs.append(
            cluster.start(
                name, [str(BIN / "advocacy"), "scheduler", "--once", "--name", name], **extra
            )
        )

    for round_number in (1, 2):
        start = threading.Barrier(2)
        procs: list[Proc] = []
        threads = [
            threading.Thread(target=launch, args=(f"sched-{round_number}-{side}", start, procs))
            for side in ("a", "b")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT)
        for proc in procs:
            assert proc.wait() == 0, proc.output[-3000:]
        ran = Counter(
            line.split(":")[0].removeprefix("ran ")
            for proc in procs
            for line in proc.output.splitlines()
            if line.startswith("ran ")
        )
        assert ran == {job: 1 for job in jobs}, [p.output for p in procs]
        rows = {row.name: row for row in db.session.scalars(sa.select(JobLease))}
        db.session.commit()
        assert {name: rows[name].last_status for name in jobs} == {job: "ok" for job in jobs}
        assert all(rows[name].holder is None for name in jobs)
        # Due again for the second round.
        db.session.execute(sa.update(JobLease).values(next_run_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    # The jobs' own evidence: two rounds, each job's work done once per round.
    fetched = Counter(path for path, _query in upstream.requests if path.endswith(".csv"))
    assert fetched == {"/people/current/nh.csv": 2, "/people/current/vt.csv": 2}
    assert len(smtp.received) == 1  # one alert (the second round found nothing new)
    assert smtp.received[0].rcpt_tos == ("staff@speakup.example.org",)
    actions = Counter(db.session.scalars(sa.select(AuditEntry.action)))
    db.session.commit()
    assert actions["campaign.opened_by_schedule"] == 1
    assert actions["delivery.dead_letters_alerted"] == 1
    assert actions["directory.refreshed"] == 2


def test_web_host_killed_mid_load_loses_no_submission(
    app: Flask,
    cluster: Cluster,
    upstream: FakeUpstreams,
    directory: Path,
    campaigns: Path,
) -> None:
    upstream.add_address(ADDRESS, nh())
    a = cluster.web("web-a", free_port())
    b = cluster.web("web-b", free_port())
    hosts = [a.url, b.url]
    visitors = [Visitor(n, hosts, SLUG, ADDRESS) for n in range(30)]
    visitors[0].start()  # fills the shared address cache (as in the test above)
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(Visitor.start, visitors[1:]))  # every draft lives in its visitor's cookie

    # All 30 send at once; host A is killed (master and workers, SIGKILL) once the first
    # answers are back, while the rest are in flight. Its visitors fail over to host B.
    done = []
    lock = threading.Lock()

    def send(visitor: Visitor) -> str:
        key = visitor.send()
        with lock:
            done.append(key)
        return key

    with ThreadPoolExecutor(max_workers=30) as pool:
        futures = [pool.submit(send, v) for v in visitors]
        wait_until(lambda: len(done) >= 3, what="the first submissions", step=0.002)
        a.proc.signal_group(signal.SIGKILL)
        finished_before_kill = len(done)
        keys = [future.result(timeout=WAIT) for future in futures]
    a.proc.wait()
    killed_mid_load = finished_before_kill < len(visitors)

    # Host A comes back on the same port and serves visitors again.
    again = cluster.web("web-a-again", a.port)
    later = [Visitor(n, [again.url, b.url], SLUG, ADDRESS, prefer=0) for n in range(100, 110)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        keys += list(pool.map(lambda v: (v.start(), v.send())[1], later))
    assert any(again.url in v.served_by for v in later)

    assert len(keys) == len(set(keys)) == 40
    actions = {row.submission_key: row.id for row in db.session.scalars(sa.select(Action))}
    db.session.commit()
    assert set(actions) == set(keys)  # every 303 has its action, and no action is extra
    contacts = Counter(db.session.scalars(sa.select(Contact.action_id)))
    outbox = Counter(
        db.session.scalars(
            sa.select(Contact.action_id).join(OutboxMessage, OutboxMessage.contact_id == Contact.id)
        )
    )
    db.session.commit()
    assert all(contacts[action_id] == PER_ACTION for action_id in actions.values())
    assert all(outbox[action_id] == PER_ACTION for action_id in actions.values())
    assert killed_mid_load, "host A was killed only after every submission had finished"
    assert sum(v.failovers for v in visitors) > 0  # some sends had to go to host B
