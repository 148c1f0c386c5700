"""Where the time goes: the app's HTTP paths run in this process (Flask's test client, same
settings and database as the served app) under pyinstrument (``pip install -e '.[bench]'``),
or under cProfile when pyinstrument is not installed.

The CPU time per request measured here (without the profiler) is the app's own share: no
gunicorn, no sockets, no load generator. The profile shows which calls spend it.
"""

from __future__ import annotations

import contextlib
import cProfile
import html
import io
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .servers import ADDRESS, MAIL_FROM, SECRET, SMTPSink
from .web import CSRF, KEY, LOOKUP_PATH, SLUG, TEXTAREA


def _app(database_url: str, instance: Path, census_url: str) -> Any:
    from advocacy import create_app

    return create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_DIR": str(instance),
            "SECRET_KEY": SECRET,
            "CENSUS_GEOCODER_URL": census_url + "/geocoder",
            "CENSUS_RETRIES": 0,
            "RATELIMIT_ENABLED": False,
        }
    )


def _paths(app: Any) -> dict[str, Callable[[int], None]]:
    def get(path: str) -> Callable[[int], None]:
        client = app.test_client()

        def one(n: int) -> None:
            response = client.get(path)
            assert response.status_code == 200, response.status_code

        return one

    def flow(n: int) -> None:
        client = app.test_client()
        assert client.get(f"/c/{SLUG}").status_code == 200
        form = {
            "name": f"Profiled {n}",
            "street_address": ADDRESS,
            "email": f"profiled-{time.time_ns()}-{n}@example.org",
            "phone": "",
            "opt_in": "y",
        }
        acted = client.post(f"/c/{SLUG}/act", data=form)
        assert acted.status_code == 303, acted.get_data(as_text=True)[-3000:]
        write = client.get(f"/c/{SLUG}/write").get_data(as_text=True)
        key, token = KEY.search(write), CSRF.search(write)
        assert key and token
        data = {"csrf_token": token.group(1), "submission_key": key.group(1)}
        data.update({name: html.unescape(body) for name, body in TEXTAREA.findall(write)})
        sent = client.post(f"/c/{SLUG}/send", data=data)
        assert sent.status_code == 303, sent.status_code

    return {
        "campaign_page": get(f"/c/{SLUG}"),
        "home_page": get("/"),
        "lookup_cache_hit": get(LOOKUP_PATH),
        "action_submission": flow,
    }


def _profile(work: Callable[[int], None], count: int) -> str:
    try:
        from pyinstrument import Profiler
    except ImportError:
        profile = cProfile.Profile()
        profile.enable()
        for n in range(count):
            work(n)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
        return "(cProfile: pip install -e '.[bench]' for pyinstrument)\n" + out.getvalue()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for n in range(count):
        work(n)
    profiler.stop()
    return str(profiler.output_text(unicode=False, color=False, show_all=False))


def run(
    database_url: str, instance: Path, census_url: str, count: int, log: Path
) -> dict[str, Any]:
    """CPU milliseconds per request of each path, and its profile."""
    app = _app(database_url, instance, census_url)
    results: dict[str, Any] = {}
    paths = _paths(app)
    # No application context around the requests: each request must get its own (and its
    # own ``g``, where Flask-WTF keeps the CSRF token), as under a server.
    with log.open("a", encoding="utf-8") as sink, contextlib.redirect_stderr(sink):
        for name, work in paths.items():
            for n in range(min(20, count)):  # warm: imports, caches, connections
                work(-1 - n)
            began, cpu = time.perf_counter(), time.process_time()
            for n in range(count):
                work(n)
            wall = time.perf_counter() - began
            spent = time.process_time() - cpu
            requests = 4 if name == "action_submission" else 1
            results[name] = {
                "iterations": count,
                "cpu_ms_per_request": round(spent * 1000 / (count * requests), 3),
                "wall_ms_per_request": round(wall * 1000 / (count * requests), 3),
                "profile": _profile(work, count),
            }
    with app.app_context():
        from advocacy.extensions import db

        db.engine.dispose()
    return results


def run_outbox(database_url: str, instance: Path, count: int) -> dict[str, Any]:
    """The outbox worker delivering ``count`` messages in this process, into an SMTP sink
    (a fresh, migrated database; its CPU time includes the sink's, which runs here too)."""
    from advocacy import create_app
    from advocacy.delivery.worker import DEFAULT_BATCH, Worker
    from advocacy.extensions import db

    from .outbox import seed

    sink = SMTPSink().start()
    try:
        app = create_app(
            {
                "DATABASE_URL": database_url,
                "INSTANCE_DIR": str(instance),
                "SECRET_KEY": SECRET,
                "DELIVERY_MODE": "smtp",
                "SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
                "MAIL_FROM": MAIL_FROM,
            }
        )
        figures: dict[str, Any] = {"messages": count}
        with app.app_context():
            seed(database_url, instance, count, slug="bench-timed")
            began, cpu = time.perf_counter(), time.process_time()
            report = Worker("bench-timed").run(loop=False, batch=DEFAULT_BATCH)
            figures["cpu_ms_per_message"] = round((time.process_time() - cpu) * 1000 / count, 3)
            figures["wall_ms_per_message"] = round((time.perf_counter() - began) * 1000 / count, 3)
            figures["sent"] = report.sent
            seed(database_url, instance, count, slug="bench-profiled")
            worker = Worker("bench-profiled")
            figures["profile"] = _profile(lambda n: worker.run(loop=False, batch=DEFAULT_BATCH), 1)
            db.session.remove()
            db.engine.dispose()
    finally:
        sink.stop()
    return figures
