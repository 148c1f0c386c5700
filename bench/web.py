"""HTTP measurements: three paths of the app, each right after the hello baseline, both
served by gunicorn with the same settings and driven by the same load generator."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from .loadgen import LoadError, Recorder, Response, Run, Scenario, drive, summarise
from .servers import ADDRESS, Gunicorn

SLUG = "every-exploited-child-is-a-victim"  # both chambers: three recipients in Concord, NH
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
KEY = re.compile(r'name="submission_key" value="([^"]+)"')
TEXTAREA = re.compile(r'<textarea id="(body-[0-9a-f]+)"[^>]*>(.*?)</textarea>', re.DOTALL)
LOOKUP_PATH = "/api/lookup?address=" + quote(ADDRESS)
FLOW_STEPS = ("page", "act", "write", "send")


@dataclass(frozen=True)
class LoadSettings:
    concurrency: int
    warmup: float
    duration: float
    max_requests: int


def _find(pattern: re.Pattern[str], response: Response, what: str) -> str:
    found = pattern.search(response.text)
    if found is None:
        raise LoadError(f"no {what} in the page")
    return found.group(1)


async def hello(rec: Recorder, n: int) -> None:
    await rec.request(rec.client(), "hello", "GET", "/")


async def campaign_page(rec: Recorder, n: int) -> None:
    response = await rec.request(rec.client(), "campaign", "GET", f"/c/{SLUG}")
    if b"csrf_token" not in response.body:
        raise LoadError("the campaign page has no form")


async def lookup(rec: Recorder, n: int) -> None:
    response = await rec.request(rec.client(), "lookup", "GET", LOOKUP_PATH)
    if b'"districts"' not in response.body:
        raise LoadError("the lookup answer has no districts")


def action_flow(tag: str) -> Scenario:
    """A browser's whole action: campaign page (session, CSRF token), the form POST (address
    lookup, from the warm cache), the write page, and the send POST (one transaction: action,
    contacts, outbox rows), each POST answered 303. A distinct email every time."""

    async def flow(rec: Recorder, n: int) -> None:
        client = rec.client()
        page = await rec.request(client, "page", "GET", f"/c/{SLUG}")
        form = {
            "csrf_token": _find(CSRF, page, "CSRF token"),
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


def _run(scenario: Scenario, server: Gunicorn, settings: LoadSettings, pids: list[int]) -> Run:
    return drive(
        scenario,
        "127.0.0.1",
        server.port,
        concurrency=settings.concurrency,
        warmup=settings.warmup,
        duration=settings.duration,
        max_requests=settings.max_requests,
        server_pids=pids,
    )


def _figures(run: Run, label: str | None = None) -> dict[str, Any]:
    figures = summarise(run, label)
    ok = figures["requests"] - figures["errors"]
    if run.cpu_seconds is not None and ok:
        figures["server_cpu_ms_per_request"] = round(run.cpu_seconds * 1000 / ok, 3)
    if run.errors:
        figures["first_errors"] = run.errors[:5]
    return figures


def measure(
    name: str,
    scenario: Scenario,
    app: Gunicorn,
    baseline: Gunicorn,
    settings: LoadSettings,
    database_pids: list[int],
) -> dict[str, Any]:
    """The hello baseline, then ``scenario`` on the app, back to back."""
    hello_run = _run(hello, baseline, settings, [baseline.pid])
    app_run = _run(scenario, app, settings, [app.pid, *database_pids])
    base = _figures(hello_run)
    ours = _figures(app_run)
    result: dict[str, Any] = {
        **ours,
        "baseline": base,
        "ratio": round(ours["rps"] / base["rps"], 3) if base["rps"] else 0.0,
    }
    if "server_cpu_ms_per_request" in ours and "server_cpu_ms_per_request" in base:
        result["cpu_ratio"] = round(
            base["server_cpu_ms_per_request"] / ours["server_cpu_ms_per_request"], 3
        )
    if name == "action_submission":
        steps = {step: summarise(app_run, step) for step in FLOW_STEPS}
        result["steps"] = steps
        result["submissions_per_s"] = steps["send"]["rps"]
        result["submissions_total"] = sum(1 for s in app_run.samples if s.label == "send" and s.ok)
    return result


def check_submissions(database_url: str, sent: int) -> dict[str, Any]:
    """Every 303 from /send is one action in the database with its contacts and outbox rows."""
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
        "none_lost": actions == sent and outbox == contacts and contacts >= actions,
    }


HTTP_NAMES = ("campaign_page", "lookup_cache_hit", "action_submission")


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
