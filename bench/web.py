"""HTTP measurements: three paths of the app, each right after the hello baseline, both
served by gunicorn with the same settings and driven by the same load generator."""

from __future__ import annotations

import html
import itertools
import re
import statistics
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from .loadgen import LoadError, Recorder, Response, Run, Scenario, drive, summarise
from .servers import ADDRESS, Gunicorn

SLUG = "every-exploited-child-is-a-victim"  # both chambers: three recipients in Concord, NH
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="submission_key" value="([^"]+)"')
TEXTAREA = re.compile(r'<textarea id="(body-[0-9a-f]+)"[^>]*>(.*?)</textarea>', re.DOTALL)
LOOKUP_PATH = "/api/lookup?address=" + quote(ADDRESS)
FLOW_STEPS = ("page", "act", "write", "send")


@dataclass(frozen=True)
class LoadSettings:
    concurrency: int
    warmup: float  # before the first round of each server
    duration: float  # counted, in all rounds together
    max_requests: int  # per round
    rounds: int = 1  # hello and the app take turns this many times
    rewarm: float = 0.5  # before each later round


def _find(pattern: re.Pattern[str], response: Response, what: str) -> str:
    found = pattern.search(response.text)
    if found is None:
        raise LoadError(f"no {what} in the page")
    return found.group(1)


async def hello(rec: Recorder, n: int) -> None:
    await rec.request(rec.client(), "hello", "GET", "/")


async def campaign_page(rec: Recorder, n: int) -> None:
    response = await rec.request(rec.client(), "campaign", "GET", f"/c/{SLUG}")
    if b'name="street_address"' not in response.body:
        raise LoadError("the campaign page has no form")


async def home_page(rec: Recorder, n: int) -> None:
    response = await rec.request(rec.client(), "home", "GET", "/")
    if b'class="campaign-card"' not in response.body:
        raise LoadError("the home page lists no campaign")


async def lookup(rec: Recorder, n: int) -> None:
    response = await rec.request(rec.client(), "lookup", "GET", LOOKUP_PATH)
    if b'"districts"' not in response.body:
        raise LoadError("the lookup answer has no districts")


def action_flow(tag: str) -> Scenario:
    """A browser's whole action: campaign page, the form POST (address lookup, from the warm
    cache), the write page (session, CSRF token), and the send POST (one transaction: action,
    contacts, outbox rows), each POST answered 303. A distinct email every time (also across
    rounds: ``n`` starts again with each load run)."""
    serial = itertools.count()

    async def flow(rec: Recorder, _n: int) -> None:
        n = next(serial)
        client = rec.client()
        page = await rec.request(client, "page", "GET", f"/c/{SLUG}")
        if b'name="street_address"' not in page.body:
            raise LoadError("the campaign page has no form")
        form = {
            "name": f"Visitor {n}",
            "email": f"visitor-{tag}-{n}@example.org",
            "street_address": ADDRESS,
            "phone": "",
            "opt_in": "y",
        }
        acted = await rec.request(client, "act", "POST", f"/c/{SLUG}/act", form, expect=303)
        if not (acted.header("location") or "").endswith(f"/c/{SLUG}/write"):
            raise LoadError(f"act redirected to {acted.header('location')!r}")
        write = await rec.request(client, "write", "GET", f"/c/{SLUG}/write")
        messages = TEXTAREA.findall(write.text)
        if not messages:
            raise LoadError("no message on the write page")
        key = _find(KEY, write, "submission key")
        data = {"csrf_token": _find(CSRF, write, "CSRF token"), "submission_key": key}
        data.update({name: html.unescape(body) for name, body in messages})
        sent = await rec.request(client, "send", "POST", f"/c/{SLUG}/send", data, expect=303)
        if sent.header("location") != f"/c/{SLUG}/thanks/{key}":
            raise LoadError(f"send redirected to {sent.header('location')!r}")

    return flow


def _run(
    scenario: Scenario, server: Gunicorn, settings: LoadSettings, pids: list[int], round_: int
) -> Run:
    return drive(
        scenario,
        "127.0.0.1",
        server.port,
        concurrency=settings.concurrency,
        warmup=settings.warmup if round_ == 0 else settings.rewarm,
        duration=settings.duration / settings.rounds,
        max_requests=settings.max_requests,
        server_pids=pids,
    )


def _figures(runs: list[Run], label: str | None = None) -> dict[str, Any]:
    figures = summarise(runs, label)
    ok = figures["requests"] - figures["errors"]
    spent = [run.cpu_seconds for run in runs]
    if ok and None not in spent:
        figures["server_cpu_ms_per_request"] = round(sum(spent) * 1000 / ok, 3)  # type: ignore[arg-type]
    figures["wrong_answers"] = sum(run.wrong_answers for run in runs)
    errors = [error for run in runs for error in run.errors]
    if errors:
        figures["first_errors"] = errors[:5]
    return figures


def measure(
    name: str,
    scenario: Scenario,
    app: Gunicorn,
    baseline: Gunicorn,
    settings: LoadSettings,
    database_pids: list[int],
) -> dict[str, Any]:
    """The hello baseline and ``scenario`` on the app, taking turns for ``settings.rounds``
    rounds; the ratio is the median of the rounds' ratios (a machine shared with other work
    changes speed from one minute to the next: each round compares runs seconds apart)."""
    hello_runs: list[Run] = []
    app_runs: list[Run] = []
    ratios: list[float] = []
    for round_ in range(settings.rounds):
        hello_runs.append(_run(hello, baseline, settings, [baseline.pid], round_))
        app_runs.append(_run(scenario, app, settings, [app.pid, *database_pids], round_))
        hello_rps = summarise(hello_runs[-1])["rps"]
        if hello_rps:
            ratios.append(summarise(app_runs[-1])["rps"] / hello_rps)
    base = _figures(hello_runs)
    ours = _figures(app_runs)
    result: dict[str, Any] = {
        **ours,
        "baseline": base,
        "ratio": round(statistics.median(ratios), 3) if ratios else 0.0,
        "round_ratios": [round(r, 3) for r in ratios],
    }
    if "server_cpu_ms_per_request" in ours and "server_cpu_ms_per_request" in base:
        result["cpu_ratio"] = round(
            base["server_cpu_ms_per_request"] / ours["server_cpu_ms_per_request"], 3
        )
    if name == "action_submission":
        steps = {step: summarise(app_runs, step) for step in FLOW_STEPS}
        result["steps"] = steps
        result["submissions_per_s"] = steps["send"]["rps"]
        result["submissions_total"] = sum(
            1 for run in app_runs for s in run.samples if s.label == "send" and s.ok
        )
    return result


def check_submissions(database_url: str, sent: int) -> dict[str, Any]:
    """Every 303 from /send is one action in the database with its contacts and outbox rows
    (one per emailed contact, and the visitor's receipt)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:

            def count(table: str) -> int:
                return int(connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608

            actions, contacts, outbox = count("action"), count("contact"), count("outbox")
    finally:
        engine.dispose()
    return {
        "actions": actions,
        "contacts": contacts,
        "outbox": outbox,
        "submissions_answered_303": sent,
        "none_lost": actions == sent and outbox == contacts + actions and contacts >= actions,
    }


HTTP_NAMES = ("campaign_page", "home_page", "lookup_cache_hit", "action_submission")


def run_all(
    app: Gunicorn,
    baseline: Gunicorn,
    settings: LoadSettings,
    database_url: str,
    database_pids: list[int],
    names: tuple[str, ...] = HTTP_NAMES,
) -> dict[str, dict[str, Any]]:
    scenarios: dict[str, Scenario] = {
        "campaign_page": campaign_page,
        "home_page": home_page,
        "lookup_cache_hit": lookup,
        "action_submission": action_flow(uuid.uuid4().hex[:8]),
    }
    results: dict[str, dict[str, Any]] = {}
    for name in HTTP_NAMES:
        if name not in names:
            continue
        result = measure(name, scenarios[name], app, baseline, settings, database_pids)
        if name == "action_submission":
            result["check"] = check_submissions(database_url, result.pop("submissions_total"))
        results[name] = result
    return results
