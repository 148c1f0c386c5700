"""The benchmarks (``python -m bench``) in their smallest configuration: the code runs end to
end and its results have the expected shape. No timing assertion: benchmarks are measured,
never asserted here (see BENCHMARKS.md for the figures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.loadgen import parse_response, percentile
from bench.servers import Postgres
from tests.conftest import POSTGRES_URL, REPO

SMALL_PEOPLE = REPO / "tests" / "e2e" / "data"
HTTP = ("campaign_page", "home_page", "lookup_cache_hit", "action_submission")


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("ADVOCACY_", "FLASK_"))}


@pytest.mark.skipif(
    bool(POSTGRES_URL), reason="runs once, in the SQLite pass (the bench starts its own servers)"
)
def test_smallest_run_has_the_expected_shape(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--no-postgres",
            "--people",
            str(SMALL_PEOPLE),
            "--output",
            str(output),
        ],
        cwd=REPO,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if completed.returncode == 3:
        pytest.skip(f"the benchmark's servers could not start: {completed.stderr[-500:]}")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "goals met:" in completed.stdout
    results = json.loads(output.read_text(encoding="utf-8"))

    assert results["mode"] == "smoke"
    assert results["machine"]["cpus"] >= 1
    sqlite = results["backends"]["sqlite"]
    for name in HTTP:
        figures = sqlite[name]
        assert figures["errors"] == 0, figures.get("first_errors")
        assert figures["wrong_answers"] == 0, figures.get("first_errors")
        assert figures["requests"] > 0 and figures["rps"] > 0
        assert 0 < figures["p50_ms"] <= figures["p99_ms"]
        assert figures["baseline"]["rps"] > 0 and figures["baseline"]["errors"] == 0
        assert figures["ratio"] > 0
        # The servers took turns twice; the ratio is the median (here: mean) of the rounds'.
        rounds = figures["round_ratios"]
        assert len(rounds) == 2 and abs(figures["ratio"] - sum(rounds) / 2) < 0.002
    flow = sqlite["action_submission"]
    assert set(flow["steps"]) == {"page", "act", "write", "send"}
    check = flow["check"]
    assert check["none_lost"] and check["actions"] == check["submissions_answered_303"] > 0
    assert check["contacts"] >= check["actions"]

    slow = sqlite["slow_census"]
    for phase in ("gunicorn", "gunicorn_128", "gunicorn_hang"):
        figures = slow[phase]
        assert figures["errors"] == 0, figures.get("first_errors")
        assert figures["campaign_page"]["requests"] > 0 and figures["home_page"]["requests"] > 0
        assert figures["geocoder_requests"] > 0
    assert slow["gunicorn"]["lookups_per_s"] > 0 and slow["gunicorn_128"]["lookups_per_s"] > 0
    hang = slow["gunicorn_hang"]
    assert hang["lookups_per_s"] == 0 and hang["time_to_picker"]["count"] > 0
    assert any("did not answer in time" in sentence for sentence in hang["picker_sentences"])
    breaker = hang["breaker"]
    assert any('state="open"' in line for line in breaker["metrics"])
    assert any("circuit breaker open" in line for line in breaker["log"])
    assert breaker["lookups_after"].get("write", 0) > 0  # it closed again

    mail = sqlite["outbox"]
    assert mail["messages"] == 50 and mail["received"] == 50
    assert mail["unique_message_ids"] == 50
    assert (mail["lost"], mail["duplicated"], mail["unexpected"]) == (0, 0, 0)
    assert mail["outbox"] == {"sent": 50} and mail["ok"]
    assert mail["messages_per_s"] > 0

    sync = sqlite["directory_sync"]
    assert sync["states"] == 1 and sync["legislators"] == 4
    assert sync["seconds"] > 0 and sync["rows_per_s"] > 0

    tally = results["tally_export"]
    assert "error" not in tally, tally.get("error")
    assert tally["contacts"] == 2_000 and tally["results"]
    for row in tally["results"]:
        assert row["rows"] > 0 and row["ratio"] > 0 and row["ours_peak_rss_mb"] > 0

    profile = sqlite["profile"]
    for name in HTTP:
        assert profile[name]["cpu_ms_per_request"] > 0 and profile[name]["profile"]
    assert profile["outbox"]["sent"] == profile["outbox"]["messages"] > 0

    names = {row["name"] for row in results["rows"]}
    assert {*HTTP, "outbox", "directory_sync", "tally_export by=state"} <= names
    assert "slow_census gunicorn, geocoder hangs" in names
    for row in results["rows"]:
        assert row["correct"] is True
        assert row["met"] in (True, False, None)


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (ADVOCACY_TEST_DATABASE_URL)")
def test_postgres_given_by_url_gets_its_own_databases_dropped_after() -> None:
    server = Postgres(POSTGRES_URL).start()
    try:
        url = server.new_database("smoke")
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT current_database()")) in url
        engine.dispose()
    finally:
        server.stop()
    engine = sa.create_engine(POSTGRES_URL or "")
    with engine.connect() as connection:
        left = connection.scalar(
            sa.text("SELECT count(*) FROM pg_database WHERE datname LIKE 'advocacy_bench_%'")
        )
    engine.dispose()
    assert left == 0


def test_load_generator_parsing_and_percentiles() -> None:
    chunked = parse_response(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: session=abc; Path=/\r\n"
        b"\r\n5\r\nHello\r\n7\r\n, World\r\n0\r\n\r\n"
    )
    assert chunked.status == 200 and chunked.body == b"Hello, World"
    assert chunked.all("set-cookie") == ["session=abc; Path=/"]
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert percentile(list(range(1, 101)), 0.99) == 99
    assert percentile([], 0.99) == 0.0


@pytest.mark.skipif(bool(POSTGRES_URL), reason="runs once, in the SQLite pass (SQLite of its own)")
def test_photo_sync_benchmark_runs_on_a_small_roster(tmp_path: Path) -> None:
    from bench.photo_sync import run
    from tests.lookup.people import ROSTERS, write_state

    rows = [
        replace(row, image=f"https://leg.example.gov/photos/{row.family.lower()}.jpg")
        for row in ROSTERS["nh"][:4]
    ] + ROSTERS["nh"][4:]
    write_state(tmp_path / "people", "nh", rows)
    result = run(tmp_path / "people", ["nh"], 0.0, pool=2)
    first = result["first_sync"]
    assert (first["downloaded"], first["failed"], first["without_url"]) == (4, 0, 2)
    assert first["photos_stored"] == 4 and first["mb_downloaded"] > 0
    assert (result["unchanged_sync"]["downloaded"], result["unchanged_sync"]["unchanged"]) == (0, 4)
    assert result["server_answers"] == 4  # nothing was asked twice
