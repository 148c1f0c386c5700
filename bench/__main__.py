"""``python -m bench``: every benchmark of the project in one run, side by side.

    .venv/bin/python -m bench [--quick] [--postgres URL | --no-postgres] [--only NAME,...]

Starts its own servers on 127.0.0.1 (gunicorn for the app and for a bare Flask hello app,
both with the production config and 2 workers × 128 threads; a throwaway PostgreSQL when it is
installed; the fake Census geocoder; an SMTP sink), measures, stops them, prints a table with
each figure, its goal and whether it is met, and writes ``bench/results.json``.

Names for ``--only``: campaign_page, home_page, lookup_cache_hit, action_submission (or ``http``
for the four), slow_census (the site while the geocoder is slow or hangs:
``bench/slow_census.py``), outbox, tally_export, directory_sync, profile.

Exit status: 0 when everything ran (goals met or not: the table says), 1 when a correctness
check failed (a lost or duplicated message or submission, an HTTP error), 3 when gunicorn
could not start.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import directory, outbox, slow_census, web
from .servers import (
    ROOT,
    THREADS,
    WORKERS,
    Gunicorn,
    Postgres,
    ServerStartError,
    app_environ,
    clean_environ,
    fake_census,
    run_cli,
)
from .web import HTTP_NAMES, LoadSettings

SHARED_PEOPLE = ROOT.parent / "shared" / "data" / "openstates" / "people"
SMALL_PEOPLE = ROOT / "tests" / "e2e" / "data"  # NH only, made-up people
NAMES = (*HTTP_NAMES, "slow_census", "outbox", "tally_export", "directory_sync", "profile")
# Measured on SQLite and PostgreSQL.
PER_BACKEND = (*HTTP_NAMES, "slow_census", "outbox", "directory_sync")
GOALS = {  # name: (kind, threshold)
    "campaign_page": (">=", 0.50),
    "home_page": (">=", 0.50),
    "lookup_cache_hit": (">=", 0.50),
    "action_submission": (">=", 0.12),
    "outbox": (">=", 200.0),
    "tally_export": ("<=", 2.0),
}
TITLES = {
    "campaign_page": "campaign page (GET)",
    "home_page": "home page (GET)",
    "lookup_cache_hit": "GET /api/lookup, cache hit",
    "action_submission": "action submission flow",
    "outbox": "outbox -> SMTP sink",
    "directory_sync": "directory sync, all states",
}


@dataclass(frozen=True)
class Scale:
    load: LoadSettings
    messages: int
    contacts: int
    tally_repeat: int
    tally_groupings: tuple[str, ...] | None  # None: the tally benchmark's own list
    profile_iterations: int
    directory_refresh: bool  # also time a second sync of the same files and a bare command


SCALES = {
    "full": Scale(LoadSettings(8, 2.0, 8.0, 200_000, 4), 10_000, 1_000_000, 3, None, 300, True),
    "quick": Scale(LoadSettings(8, 0.5, 2.0, 50_000, 2), 500, 10_000, 1, None, 20, False),
    # The request budget must outlast the warm-up even for the hello app (thousands per second).
    "smoke": Scale(LoadSettings(2, 0.2, 0.6, 20_000, 2, 0.1), 50, 2_000, 1, ("state",), 2, False),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="everything scaled down (< 2 min)")
    size.add_argument("--smoke", action="store_true", help="the smallest run (the test suite's)")
    pg = parser.add_mutually_exclusive_group()
    pg.add_argument(
        "--postgres",
        metavar="URL",
        help="make the databases on this server "
        "(new databases, dropped at the end) instead of starting one",
    )
    pg.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--only", metavar="NAME,...", help=f"some of: http, {', '.join(NAMES)}")
    parser.add_argument(
        "--people",
        type=Path,
        default=None,
        help=f"Open States CSV folder (default {SHARED_PEOPLE})",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--contacts", type=int, help="tally export size (default 1,000,000)")
    parser.add_argument("--messages", type=int, help="outbox size (default 10,000)")
    args = parser.parse_args(argv)
    chosen: list[str] = []
    for name in (args.only or ",".join(NAMES)).split(","):
        name = name.strip()
        if name == "http":
            chosen.extend(HTTP_NAMES)
        elif name in NAMES:
            chosen.append(name)
        elif name:
            parser.error(f"unknown benchmark {name!r}; choose from http, {', '.join(NAMES)}")
    args.names = tuple(n for n in NAMES if n in chosen)
    return args


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(next(line.split()[1] for line in meminfo.splitlines() if "MemTotal" in line))
        info["memory_gib"] = round(kb / 2**20, 1)
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu_model"] = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.splitlines()
                if line.startswith("model name")
            ),
            "?",
        )
    except (OSError, StopIteration, ValueError):
        pass
    try:
        from importlib.metadata import version

        info["gunicorn"] = version("gunicorn")
        info["flask"] = version("flask")
        info["sqlalchemy"] = version("sqlalchemy")
    except Exception:  # noqa: BLE001, S110 - informative only
        pass
    return info


class Run:
    """One benchmark run: its folder, its servers, its figures."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.mode = "smoke" if args.smoke else "quick" if args.quick else "full"
        self.scale = SCALES[self.mode]
        self.names: tuple[str, ...] = args.names
        self.work = Path(tempfile.mkdtemp(prefix="advocacy-bench-"))
        self.notes: list[str] = []
        self.results: dict[str, Any] = {
            "mode": self.mode,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "settings": {
                "server": f"gunicorn -c python:advocacy.observability.gunicorn_conf, "
                f"{WORKERS} workers x {THREADS} threads (gthread), 127.0.0.1",
                "load": asdict(self.scale.load),
                "load_generator": "bench/loadgen.py: asyncio raw HTTP/1.1, a connection per "
                "request (Connection: close)",
            },
            "backends": {},
            "notes": self.notes,
        }
        self.people, self.measure_directory = self._people_folder()
        self.census: Any = None
        self.postgres: Postgres | None = None
        self.hello: Gunicorn | None = None

    def _people_folder(self) -> tuple[Path, bool]:
        if self.args.people is not None:
            return self.args.people.resolve(), True
        if SHARED_PEOPLE.is_dir():
            return SHARED_PEOPLE, True
        if "directory_sync" in self.names:
            self.notes.append(
                f"directory_sync skipped: no Open States files in {SHARED_PEOPLE} "
                "(give a folder with --people)"
            )
        return SMALL_PEOPLE, False

    def say(self, text: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    # -- the parts ----------------------------------------------------------------------

    def backends(self) -> list[str]:
        """The databases to measure on: SQLite always, PostgreSQL when it can be had."""
        per_backend = any(n in self.names for n in PER_BACKEND)
        if not per_backend:
            return ["sqlite"] if "profile" in self.names else []
        if self.args.no_postgres:
            self.notes.append("PostgreSQL not measured (--no-postgres)")
            return ["sqlite"]
        try:
            self.postgres = Postgres(self.args.postgres).start()
        except Exception as exc:  # noqa: BLE001 - reported; without --postgres the run goes on
            if self.args.postgres:
                raise ServerStartError(f"PostgreSQL at {self.args.postgres}: {exc}") from exc
            self.notes.append(f"PostgreSQL not measured: {exc}")
            self.say(f"PostgreSQL not measured: {exc}")
            return ["sqlite"]
        self.results["machine"]["postgresql"] = self.postgres.version
        return ["sqlite", "postgresql"]

    def new_database(self, backend: str, label: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.work / f'{label}.sqlite3'}"
        assert self.postgres is not None
        return self.postgres.new_database(label)

    def env(self, url: str, label: str) -> dict[str, str]:
        return app_environ(url, self.work / f"instance-{label}", self.census.base_url, self.people)

    def run_backend(self, backend: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        url = self.new_database(backend, "main")
        env = self.env(url, backend)
        log = self.work / f"cli-{backend}.log"
        self.say(f"{backend}: migrating, loading campaigns")
        run_cli(["db", "upgrade"], env, log, timeout=300)
        run_cli(["campaigns", "sync"], env, log, timeout=300)
        if "directory_sync" in self.names and self.measure_directory:
            self.say(f"{backend}: directory sync from {self.people}")
            out["directory_sync"] = directory.run(
                url, env, self.work, self.people, refresh=self.scale.directory_refresh
            )
        else:
            run_cli(
                ["directory", "sync", "--source", str(self.people), "--state", "nh"],
                env,
                log,
                timeout=300,
            )
        http = tuple(n for n in HTTP_NAMES if n in self.names)
        if http:
            pids = self.postgres.server_pids() if backend == "postgresql" and self.postgres else []
            app = Gunicorn(f"app-{backend}", "advocacy:create_app()", env, self.work)
            with app.start("/healthz"):
                assert self.hello is not None
                self.say(f"{backend}: HTTP ({', '.join(http)})")
                out.update(web.run_all(app, self.hello, self.scale.load, url, pids, http))
        if "slow_census" in self.names:
            self.say(f"{backend}: slow Census (lookups, pages, the geocoder hanging)")
            out["slow_census"] = slow_census.run(env, self.work, self.mode, backend)
        if "outbox" in self.names:
            messages = self.args.messages or self.scale.messages
            self.say(f"{backend}: outbox, {messages:,} messages")
            outbox_url = self.new_database(backend, "outbox")
            outbox_env = self.env(outbox_url, f"{backend}-outbox")
            run_cli(["db", "upgrade"], outbox_env, log, timeout=300)
            out["outbox"] = outbox.run(outbox_url, outbox_env, self.work, messages)
        if backend == "sqlite" and "profile" in self.names:
            from . import profiling

            self.say("profiling the app's paths in-process (SQLite)")
            out["profile"] = profiling.run(
                url,
                self.work / "instance-profile",
                self.census.base_url,
                self.scale.profile_iterations,
                self.work / "profile-requests.log",
            )
            profile_url = self.new_database(backend, "profile-outbox")
            run_cli(["db", "upgrade"], self.env(profile_url, "profile-outbox"), log, timeout=300)
            out["profile"]["outbox"] = profiling.run_outbox(
                profile_url, self.work / "instance-profile-outbox", self.scale.profile_iterations
            )
        return out

    def tally(self) -> dict[str, Any]:
        try:
            from . import tally_export
        except Exception as exc:  # noqa: BLE001 - another engineer's file: report, go on
            return self._broken_tally(f"bench/tally_export.py cannot be imported: {exc!r}")
        contacts = self.args.contacts or self.scale.contacts
        self.say(f"tally export over {contacts:,} contacts (SQLite)")
        kwargs: dict[str, Any] = {"repeat": self.scale.tally_repeat, "workdir": self.work}
        if self.scale.tally_groupings:
            kwargs["groupings"] = self.scale.tally_groupings
        try:
            return dict(tally_export.run(contacts, **kwargs))
        except Exception as exc:  # noqa: BLE001
            return self._broken_tally(f"bench/tally_export.py run() failed: {exc!r}")

    def _broken_tally(self, message: str) -> dict[str, Any]:
        self.say(message)
        self.notes.append(message)
        return {"error": message, "results": []}

    def execute(self) -> dict[str, Any]:
        began = time.perf_counter()
        try:
            self.census = fake_census()
            if any(n in self.names for n in HTTP_NAMES):
                self.hello = Gunicorn("hello", "bench.hello:app", clean_environ(), self.work)
                self.hello.start("/")
            for backend in self.backends():
                self.results["backends"][backend] = self.run_backend(backend)
            if "tally_export" in self.names:
                self.results["tally_export"] = self.tally()
        finally:
            self.stop()
        self.results["seconds"] = round(time.perf_counter() - began, 1)
        self.results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        self.results["rows"] = rows(self.results)
        return self.results

    def stop(self) -> None:
        for stop in (
            self.hello.stop if self.hello else None,
            self.postgres.stop if self.postgres else None,
            self.census.stop if self.census else None,
        ):
            if stop is not None:
                try:
                    stop()
                except Exception as exc:  # noqa: BLE001 - keep stopping the others
                    self.say(f"while stopping: {exc}")
        shutil.rmtree(self.work, ignore_errors=True)


# -- the table ---------------------------------------------------------------------------------


def _goal(name: str, value: float) -> tuple[str, bool | None]:
    if name not in GOALS:
        return "-", None
    kind, threshold = GOALS[name]
    met = value >= threshold if kind == ">=" else value <= threshold
    shown = f"{threshold:.0%}" if name in HTTP_NAMES else f"{threshold:g}"
    unit = "/s" if name == "outbox" else "x" if name == "tally_export" else " of hello"
    return f"{kind} {shown}{unit}", met


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure: what, where, the value, the goal and whether it is met."""
    out: list[dict[str, Any]] = []
    for backend, figures in results.get("backends", {}).items():
        for name in HTTP_NAMES:
            if name not in figures:
                continue
            f = figures[name]
            goal, met = _goal(name, f["ratio"])
            ok = (
                f["errors"] == 0
                and not f.get("wrong_answers")
                and f.get("check", {}).get("none_lost", True)
            )
            detail = f"hello {f['baseline']['rps']:.0f} req/s"
            if len(f.get("round_ratios", [])) > 1:
                detail += " (rounds " + "/".join(f"{r:.2f}" for r in f["round_ratios"]) + ")"
            if "cpu_ratio" in f:
                detail += f"; server CPU {f['server_cpu_ms_per_request']:.2f} ms/req"
                detail += f" (hello {f['baseline']['server_cpu_ms_per_request']:.2f})"
            if name == "action_submission":
                detail += f"; {f['submissions_per_s']:.1f} submissions/s"
                detail += f", send p99 {f['steps']['send']['p99_ms']:.0f} ms"
            if f["errors"] or f.get("wrong_answers"):
                detail += f"; {f['errors']} ERRORS, {f.get('wrong_answers', 0)} WRONG ANSWERS"
            out.append(
                {
                    "name": name,
                    "db": backend,
                    "value": f"{f['rps']:.0f} req/s",
                    "p50_ms": f["p50_ms"],
                    "p99_ms": f["p99_ms"],
                    "ratio": f["ratio"],
                    "goal": goal,
                    "met": met,
                    "correct": ok,
                    "detail": detail,
                }
            )
        if "slow_census" in figures:
            out.extend(slow_census.rows(backend, figures["slow_census"]))
        if "outbox" in figures:
            f = figures["outbox"]
            goal, met = _goal("outbox", f["messages_per_s"])
            out.append(
                {
                    "name": "outbox",
                    "db": backend,
                    "value": f"{f['messages_per_s']:.0f} msg/s",
                    "p50_ms": None,
                    "p99_ms": None,
                    "ratio": None,
                    "goal": goal,
                    "met": met,
                    "correct": f["ok"],
                    "detail": f"{f['messages']:,} in {f['seconds']:.1f} s; "
                    f"{f['unique_message_ids']:,} unique received, "
                    f"lost {f['lost']}, duplicated {f['duplicated']}",
                }
            )
        if "directory_sync" in figures:
            f = figures["directory_sync"]
            out.append(
                {
                    "name": "directory_sync",
                    "db": backend,
                    "value": f"{f['seconds']:.2f} s",
                    "p50_ms": None,
                    "p99_ms": None,
                    "ratio": None,
                    "goal": "-",
                    "met": None,
                    "correct": True,
                    "detail": f"{f['legislators']:,} legislators, {f['states']} states: "
                    f"{f['rows_per_s']:.0f} rows/s"
                    + (f"; refresh {f['refresh_seconds']:.2f} s" if "refresh_seconds" in f else ""),
                }
            )
    tally = results.get("tally_export")
    if tally and tally.get("error"):
        out.append(
            {
                "name": "tally_export",
                "db": "sqlite",
                "value": "-",
                "p50_ms": None,
                "p99_ms": None,
                "ratio": None,
                "goal": "<= 2x",
                "met": False,
                "correct": False,
                "detail": tally["error"][:120],
            }
        )
    elif tally:
        for r in tally["results"]:
            goal, met = _goal("tally_export", r["ratio"])
            out.append(
                {
                    "name": f"tally_export by={r['by']}",
                    "db": "sqlite",
                    "value": f"{r['ours_seconds']:.2f} s",
                    "p50_ms": None,
                    "p99_ms": None,
                    "ratio": r["ratio"],
                    "goal": goal,
                    "met": met,
                    "correct": True,
                    "detail": f"raw {r['raw_seconds']:.2f} s; {r['rows']:,} rows; peak "
                    f"{r['ours_peak_rss_mb']:.0f} MB (export "
                    f"+{r['ours_export_rss_growth_mb']:.0f} MB), raw "
                    f"{r['raw_peak_rss_mb']:.0f} MB",
                }
            )
    return out


def print_table(results: dict[str, Any]) -> None:
    header = (
        f"{'measurement':30} {'db':10} {'value':>13} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'ratio':>6}  {'goal':17} {'result':6}  detail"
    )
    print(header)
    print("-" * len(header))
    for row in results["rows"]:
        name = TITLES.get(row["name"], row["name"])
        p50 = f"{row['p50_ms']:.1f}" if row["p50_ms"] is not None else "-"
        p99 = f"{row['p99_ms']:.1f}" if row["p99_ms"] is not None else "-"
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        result = {True: "met", False: "MISSED", None: "-"}[row["met"]]
        if not row["correct"]:
            result = "WRONG"
        print(
            f"{name:30} {row['db']:10} {row['value']:>13} {p50:>7} {p99:>7} {ratio:>6}  "
            f"{row['goal']:17} {result:6}  {row['detail']}"
        )
    profile = results.get("backends", {}).get("sqlite", {}).get("profile")
    if profile:
        spent = ", ".join(
            f"{k} {v['cpu_ms_per_request']:.2f}" for k, v in profile.items() if k in HTTP_NAMES
        )
        print(f"in-process CPU ms per request (no server, no client): {spent}")
        if "outbox" in profile:
            print(
                f"in-process outbox worker: {profile['outbox']['cpu_ms_per_message']:.2f} ms "
                f"CPU, {profile['outbox']['wall_ms_per_message']:.2f} ms wall per message"
            )
    for note in results.get("notes", []):
        print(f"note: {note}")
    goals = [r["met"] for r in results["rows"] if r["met"] is not None]
    print(
        f"goals met: {sum(goals)} of {len(goals)}; took {results['seconds']:.0f} s; "
        f"load average {results['machine'].get('load_average_at_start')} -> "
        f"{results['machine'].get('load_average_at_end')}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = Run(args)
    try:
        results = run.execute()
    except ServerStartError as exc:
        print(f"bench: a server could not start: {exc}", file=sys.stderr)
        return 3
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    print(f"written to {args.output}")
    return 0 if all(row["correct"] for row in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
