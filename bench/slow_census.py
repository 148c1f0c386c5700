"""The slow-upstream benchmark: the site while the Census geocoder is slow, or hangs.

The fake Census runs in a process of its own (``bench/fake_census.py``) and finds every
address, answering after 1 s, every twentieth after 3 s (``--latencies``). Each phase starts
its own server on the database the other benchmarks set up:

* ``gunicorn``, production config, default settings: LOOKUPS visitors post the campaign form,
  each time with a new address (a lookup-cache miss: one geocoder call), while PAGES visitors
  read the campaign page and the home page (50 ms apart). Reported: lookups/s (posts answered
  with a 303 to the write page), pickers/s (to the district picker), the post's p50/p99 and
  the pages' p50/p99. A visitor sent to the picker spends 5 s on it (a person choosing a
  district) before coming back as the next visitor with a new address.
* ``gunicorn_128``: the same with ``ADVOCACY_CENSUS_MAX_CONCURRENT=128``.
* ``gunicorn_hang``: the geocoder accepts every request and never answers. All the lookup
  visitors post at once, and again after each picker; the time from the post to the picker
  page read (its p50/p99/max, and the sentence it shows), the pages' p50/p99. Then the
  geocoder answers again; after the breaker's pause (shortened for the run) a few lookups
  should close it. The breaker's transitions come from the server log and ``/metrics``.
* ``waitress`` and ``waitress_hang``: ``advocacy serve`` (``./dev start``), the first and
  the hang phase.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .loadgen import LoadError, Recorder, Run, Scenario, drive, percentile
from .servers import CensusProcess, Gunicorn, Waitress, get_with_token
from .web import SLUG

METRICS_TOKEN = "bench-metrics-token"  # noqa: S105 - a throwaway run's token
NOTICE = re.compile(r'<p class="notice notice-\w+" role="status">(.*?)</p>', re.DOTALL)
HOUSES = itertools.count(1000)  # a new address for every post of the whole run


@dataclass(frozen=True)
class SlowSettings:
    lookups: int  # visitors posting new addresses
    pages: int  # visitors reading the campaign page and the home page
    warmup: float
    duration: float  # counted, per load phase
    hang: float  # the hang phase (all of it counted)
    breaker_seconds: float  # the breaker's pause, shortened for the run
    latencies: str  # the fake Census's answer times, in turn
    high_cap: int = 128
    page_think: float = 0.05
    picker_think: float = 5.0
    waitress: bool = True
    # Fixed values given to gunicorn's app (the smallest run shortens the geocoder's deadline).
    app_config: tuple[tuple[str, float], ...] = ()


SCALES = {
    "full": SlowSettings(200, 8, 3.0, 12.0, 12.0, 5.0, "1.0x19,3.0"),
    "quick": SlowSettings(200, 8, 2.0, 6.0, 8.0, 3.0, "1.0x19,3.0"),
    "smoke": SlowSettings(
        20,
        2,
        0.5,
        1.5,
        3.0,
        1.0,
        "0.2x19,0.6",
        picker_think=1.0,
        waitress=False,
        app_config=(("CENSUS_DEADLINE", 2.0), ("CENSUS_TIMEOUT", 1.2)),
    ),
}


@dataclass
class Tally:
    posts: list[tuple[float, float, str]] = field(default_factory=list)  # start, end, where
    pickers: list[tuple[float, float, str]] = field(default_factory=list)  # post to picker read


def _form(number: int) -> dict[str, str]:
    return {
        "name": f"Visitor {number}",
        "email": f"slow-{number}@example.org",
        "street_address": f"{number} Example St, Concord, NH 03301",
        "phone": "",
        "opt_in": "y",
    }


def _notice(page: str) -> str:
    found = NOTICE.search(page)
    return html.unescape(" ".join(found.group(1).split())) if found else "(no sentence)"


def scenario(settings: SlowSettings, tally: Tally, follow: bool) -> Scenario:
    async def lookup(rec: Recorder) -> None:
        client = rec.client()
        start = time.perf_counter()
        acted = await rec.request(client, "act", "POST", f"/c/{SLUG}/act", _form(next(HOUSES)), 303)
        where = acted.header("location") or ""
        if where.endswith("/write"):
            tally.posts.append((start, time.perf_counter(), "write"))
            return
        if not where.endswith("/choose"):
            raise LoadError(f"act redirected to {where!r}")
        tally.posts.append((start, time.perf_counter(), "choose"))
        if follow:
            page = await rec.request(client, "choose", "GET", f"/c/{SLUG}/choose")
            if b"Choose your district" not in page.body:
                raise LoadError("the picker page has no title")
            tally.pickers.append((start, time.perf_counter(), _notice(page.text)))
        await asyncio.sleep(settings.picker_think)

    async def pages(rec: Recorder) -> None:
        client = rec.client()
        page = await rec.request(client, "campaign", "GET", f"/c/{SLUG}")
        if b'name="street_address"' not in page.body:
            raise LoadError("the campaign page has no form")
        await asyncio.sleep(settings.page_think)
        await rec.request(client, "home", "GET", "/")
        await asyncio.sleep(settings.page_think)

    async def visitor(rec: Recorder, n: int) -> None:
        if n // 1_000_000 < settings.lookups:
            await lookup(rec)
        else:
            await pages(rec)

    return visitor


def _requests(run: Run, label: str) -> dict[str, Any]:
    """The requests of ``label`` under way at some time in the counted window, however long
    they took (a page stuck behind lookups counts with its whole wait; one given up on, with
    the client's timeout)."""
    samples = [
        s
        for s in run.samples
        if s.label == label and s.start < run.window_end and s.end > run.window_start
    ]
    latencies = [(s.end - s.start) * 1000 for s in samples]
    return {
        "requests": len(samples),
        "errors": sum(1 for s in samples if not s.ok),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies, default=0.0), 1),
    }


def _latency(samples: list[float]) -> dict[str, float]:
    return {
        "count": len(samples),
        "p50_s": round(percentile(samples, 0.50), 3),
        "p99_s": round(percentile(samples, 0.99), 3),
        "max_s": round(max(samples, default=0.0), 3),
    }


def measure(
    server: Gunicorn,
    census: CensusProcess,
    settings: SlowSettings,
    hang: bool,
) -> dict[str, Any]:
    tally = Tally()
    census.set_mode("hang" if hang else "ok")
    run = drive(
        scenario(settings, tally, follow=hang),
        "127.0.0.1",
        server.port,
        concurrency=settings.lookups + settings.pages,
        warmup=0.0 if hang else settings.warmup,
        duration=settings.hang if hang else settings.duration,
        max_requests=10**7,
    )
    upstream = census.set_mode("ok")
    if hang:  # every post counts, also those answered (or given up on) after the phase
        run.window_end = max([run.window_end, *(s.end for s in run.samples)])
    seconds = run.window_end - run.window_start
    ended = [p for p in tally.posts if run.window_start <= p[1] <= run.window_end]
    where = Counter(p[2] for p in ended)
    result: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "lookups_per_s": round(where["write"] / seconds, 1) if seconds else 0.0,
        "pickers_per_s": round(where["choose"] / seconds, 1) if seconds else 0.0,
        "post": _requests(run, "act"),
        "campaign_page": _requests(run, "campaign"),
        "home_page": _requests(run, "home"),
        "errors": sum(1 for s in run.samples if not s.ok),
        "geocoder_requests": upstream["geocoder_calls"],
        "geocoder_max_in_flight": upstream["max_in_flight"],
    }
    if hang:
        waits = [end - start for start, end, _ in tally.pickers]
        first = [end - start for start, end, _ in tally.pickers if start < run.window_start + 0.5]
        result["time_to_picker"] = _latency(waits)
        result["time_to_picker_first_wave"] = _latency(first)
        result["picker_sentences"] = dict(Counter(s for _, _, s in tally.pickers).most_common())
    if run.errors:
        result["first_errors"] = run.errors[:5]
    return result


def _breaker_lines(text: str) -> list[str]:
    return [line.strip()[:240] for line in text.splitlines() if "circuit breaker" in line]


def recover(server: Gunicorn, census: CensusProcess, settings: SlowSettings) -> dict[str, Any]:
    """After the hang: the geocoder answers again; after the breaker's pause, lookups."""
    census.set_mode("ok")
    time.sleep(settings.breaker_seconds + 0.5)
    tally = Tally()
    few = SlowSettings(**{**asdict(settings), "lookups": 4, "pages": 0})
    drive(
        scenario(few, tally, follow=False),
        "127.0.0.1",
        server.port,
        concurrency=4,
        warmup=0.0,
        duration=max(3.0, 4 * max(float(x.split("x")[0]) for x in settings.latencies.split(","))),
        max_requests=10**6,
    )
    status, metrics = get_with_token(server.port, "/metrics", METRICS_TOKEN)
    return {
        "lookups_after": Counter(p[2] for p in tally.posts),
        "metrics": [
            line
            for line in metrics.splitlines()
            if line.startswith("advocacy_census_breaker") and status == 200
        ],
        "log": _breaker_lines(server.output()),
    }


def run(env: dict[str, str], work: Path, mode: str, label: str) -> dict[str, Any]:
    """Every phase on the database of ``env``; ``label`` (the backend) names the server logs."""
    settings = SCALES[mode]
    census = CensusProcess(settings.latencies, work).start()
    env = {
        **env,
        "ADVOCACY_CENSUS_GEOCODER_URL": census.base_url + "/geocoder",
        "ADVOCACY_METRICS_TOKEN": METRICS_TOKEN,
    }
    overrides = {"CENSUS_BREAKER_SECONDS": settings.breaker_seconds, **dict(settings.app_config)}
    factory = f"advocacy:create_app({overrides!r})"
    out: dict[str, Any] = {"settings": asdict(settings)}
    try:
        with Gunicorn(f"{label}-slow-default", factory, env, work).start("/healthz") as app:
            out["gunicorn"] = measure(app, census, settings, hang=False)
        capped = {**env, "ADVOCACY_CENSUS_MAX_CONCURRENT": str(settings.high_cap)}
        with Gunicorn(f"{label}-slow-128", factory, capped, work).start("/healthz") as app:
            out["gunicorn_128"] = measure(app, census, settings, hang=False)
        with Gunicorn(f"{label}-slow-hang", factory, env, work).start("/healthz") as app:
            out["gunicorn_hang"] = measure(app, census, settings, hang=True)
            out["gunicorn_hang"]["breaker"] = recover(app, census, settings)
        if not settings.waitress:
            return out
        with Waitress(f"{label}-slow-waitress", env, work).start("/healthz") as app:
            out["waitress"] = measure(app, census, settings, hang=False)
            out["waitress_hang"] = measure(app, census, settings, hang=True)
            out["waitress_hang"]["breaker"] = {"log": _breaker_lines(app.output())}
    finally:
        census.stop()
    return out


PHASES = {  # phase: what
    "gunicorn": "gunicorn, default cap",
    "gunicorn_128": "gunicorn, cap 128",
    "gunicorn_hang": "gunicorn, geocoder hangs",
    "waitress": "./dev start (waitress), default cap",
    "waitress_hang": "./dev start, geocoder hangs",
}
PAGE_P99_GOAL_MS = 100.0
LOOKUPS_GOAL = 100.0
PICKER_GOAL_S = 5.0


def rows(backend: str, figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The table's rows: one per phase."""
    out = []
    for phase, title in PHASES.items():
        f = figures.get(phase)
        if f is None:
            continue
        page99 = max(f["campaign_page"]["p99_ms"], f["home_page"]["p99_ms"])
        met = page99 <= PAGE_P99_GOAL_MS and f["campaign_page"]["requests"] > 0
        goal = f"pages p99 <= {PAGE_P99_GOAL_MS:.0f} ms"
        detail = (
            f"home p50/p99 {f['home_page']['p50_ms']:.0f}/{f['home_page']['p99_ms']:.0f} ms; "
            f"{f['pickers_per_s']} pickers/s; post p50/p99 "
            f"{f['post']['p50_ms']:.0f}/{f['post']['p99_ms']:.0f} ms; "
            f"geocoder at once max {f['geocoder_max_in_flight']}"
        )
        value = f"{f['lookups_per_s']:.1f} lookups/s"
        if phase == "gunicorn_128":
            met = met and f["lookups_per_s"] >= LOOKUPS_GOAL
            goal += f", >= {LOOKUPS_GOAL:.0f} lookups/s"
        if "time_to_picker" in f:  # the goal is the picker in time; the pages are shown
            wait = f["time_to_picker"]
            value = f"picker {wait['max_s']:.2f} s max" if wait["count"] else "no picker"
            met = 0 < wait["count"] and wait["max_s"] <= PICKER_GOAL_S
            goal = f"picker <= {PICKER_GOAL_S:.0f} s"
            detail = (
                f"time to picker p50/p99 {wait['p50_s']:.2f}/{wait['p99_s']:.2f} s "
                f"({wait['count']} visitors); " + detail
            )
            breaker = f.get("breaker", {})
            if breaker.get("log"):
                detail += f"; breaker log lines {len(breaker['log'])}"
        if f["errors"]:
            detail += f"; {f['errors']} ERRORS"
        out.append(
            {
                "name": f"slow_census {title}",
                "db": backend,
                "value": value,
                "p50_ms": f["campaign_page"]["p50_ms"],
                "p99_ms": f["campaign_page"]["p99_ms"],
                "ratio": None,
                "goal": goal,
                "met": met,
                "correct": f["errors"] == 0,
                "detail": detail,
            }
        )
    return out
