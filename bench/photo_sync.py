"""What the legislator photos cost at directory sync: time, bytes and CPU for every state.

Loads Open States' rosters (default ../shared/data/openstates/people, every state) into a fresh
SQLite database, with each person's ``image`` URL mapped onto a local fake web server
(``http://127.0.0.1:PORT/<original host>/<original path>``: nothing leaves the machine). The
server answers each URL with a picture shaped like legislatures' portraits: JPEG (or PNG or GIF
when the URL says so), 300 x 400 to 2000 x 2500 pixels, photo-like texture, so the files weigh
what real portraits weigh; each answer is unique (a JPEG comment with the URL). Then it times
``advocacy.lookup.photos.sync_photos`` for every state (download, check, crop to 128 x 128 WebP,
store), and again with nothing changed (the daily refresh). ``--latency-ms`` delays every
answer, to see the network-bound time (at most ``photos.AT_ONCE`` downloads run at once).

    .venv/bin/python -m bench.photo_sync [--people DIR] [--states nh,vt] [--latency-ms 0]
                                         [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PEOPLE = ROOT.parent / "shared" / "data" / "openstates" / "people"
# Portrait sizes and how often each comes up (legislatures publish mostly small portraits).
SIZES = (((300, 400), 3), ((400, 500), 4), ((480, 600), 4), ((600, 800), 4), ((800, 1000), 2),
         ((1200, 1500), 2), ((2000, 2500), 1))
POOL = 24  # distinct pictures per format; every answer is made unique on top


def _portrait(size: tuple[int, int], seed: int) -> Image.Image:
    """A head-and-shoulders shape on a mottled background, with fine grain: detail at every
    scale, so it weighs what a photograph weighs both as sent and once cut to 128 pixels."""
    rng = random.Random(seed)
    width, height = size

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(30, 230), rng.randrange(30, 230), rng.randrange(30, 230))

    coarse = Image.effect_noise((max(width // 24, 2), max(height // 24, 2)), 60)
    mottled = Image.merge("RGB", [coarse.resize(size, Image.Resampling.BICUBIC)] * 3)
    picture = Image.blend(Image.new("RGB", size, colour()), mottled, 0.45)
    pen = ImageDraw.Draw(picture)
    pen.ellipse((width * 0.1, height * 0.62, width * 0.9, height * 1.3), fill=colour())  # shoulders
    pen.ellipse((width * 0.3, height * 0.18, width * 0.7, height * 0.66), fill=colour())  # face
    pen.chord((width * 0.28, height * 0.12, width * 0.72, height * 0.5), 180, 360, fill=colour())
    for _ in range(12):  # features and folds
        x, y = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.9) * height
        r = rng.uniform(0.01, 0.05) * width
        pen.ellipse((x - r, y - r, x + r, y + r), fill=colour())
    grain = Image.effect_noise(size, 30).convert("RGB")
    return Image.blend(picture, grain, 0.12).filter(ImageFilter.GaussianBlur(0.8))


def _pool(count: int) -> dict[str, list[bytes]]:
    rng = random.Random(2026)
    choices = [size for size, weight in SIZES for _ in range(weight)]
    pools: dict[str, list[bytes]] = {"JPEG": [], "PNG": [], "GIF": []}
    for index in range(count):
        picture = _portrait(rng.choice(choices), index)
        for fmt, options in (("JPEG", {"quality": 85}), ("PNG", {}), ("GIF", {})):
            if fmt != "JPEG" and picture.width > 800:
                continue  # PNG and GIF portraits are the small ones
            out = io.BytesIO()
            source = picture.convert("P") if fmt == "GIF" else picture
            source.save(out, fmt, **options)
            pools[fmt].append(out.getvalue())
    return pools


class PortraitServer:
    """Answers every path with a portrait (by the path's extension), unique per path."""

    def __init__(self, latency: float, pool: int = POOL) -> None:
        self.pools = _pool(pool)
        self.latency = latency
        self.served = 0
        self.bytes = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[str, bytes]:
        digest = int(hashlib.sha256(path.encode()).hexdigest()[:8], 16)
        lowered = path.lower()
        fmt = "PNG" if ".png" in lowered else "GIF" if ".gif" in lowered else "JPEG"
        if not self.pools[fmt]:  # a small pool may have no small portrait
            fmt = "JPEG"
        pool = self.pools[fmt]
        body = pool[digest % len(pool)]
        if fmt == "JPEG":  # a comment segment after the start marker: same pixels, new bytes
            note = path.encode()[:60000]
            body = body[:2] + b"\xff\xfe" + (len(note) + 2).to_bytes(2, "big") + note + body[2:]
        return {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}[fmt], body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if owner.latency:
                    time.sleep(owner.latency)
                content_type, body = owner.answer(self.path)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with owner.lock:
                    owner.served += 1
                    owner.bytes += len(body)

        return Handler

    def __enter__(self) -> PortraitServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def local_copy(people: Path, target: Path, base_url: str, states: list[str] | None) -> list[str]:
    """The rosters with every image URL moved onto the local server; the states copied."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in sorted(people.glob("*.csv")):
        if states and source.stem not in states:
            continue
        rows = list(csv.DictReader(io.StringIO(source.read_text(encoding="utf-8"))))
        for row in rows:
            if row.get("image"):
                parts = urlsplit(row["image"])
                query = f"?{parts.query}" if parts.query else ""
                row["image"] = f"{base_url}/{parts.netloc}{quote(parts.path)}{query}"
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
        (target / source.name).write_text(out.getvalue(), encoding="utf-8")
        copied.append(source.stem)
    return copied


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(
    people: Path, states: list[str] | None, latency_ms: float, pool: int = POOL
) -> dict[str, Any]:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from advocacy import create_app
    from advocacy.extensions import db
    from advocacy.images.models import StoredImage
    from advocacy.lookup.directory import sync_states
    from advocacy.lookup.openstates import BulkPeopleSource
    from advocacy.lookup.photos import AT_ONCE, sync_photos

    with tempfile.TemporaryDirectory(prefix="bench-photos-") as folder, PortraitServer(
        latency_ms / 1000, pool
    ) as server:
        work = Path(folder)
        chosen = local_copy(people, work / "people", server.base_url, states)
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
                "INSTANCE_DIR": str(work / "instance"),
                "SECRET_KEY": "bench",
            }
        )
        with app.app_context():
            upgrade()
            loaded = sync_states(BulkPeopleSource(str(work / "people")), chosen)
            failed = [r.state for r in loaded if not r.ok]
            people_loaded = sum(r.count for r in loaded if r.ok)

            started, cpu = time.perf_counter(), _cpu()
            first = sync_photos(chosen)
            first_seconds, first_cpu = time.perf_counter() - started, _cpu() - cpu
            stored_bytes, db_count = db.session.execute(
                select(func.sum(func.length(StoredImage.data)), func.count()).where(
                    StoredImage.kind == "photo"
                )
            ).one()

            started = time.perf_counter()
            second = sync_photos(chosen)
            second_seconds = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    return {
        "states": len(chosen),
        "states_failed": failed,
        "legislators": people_loaded,
        "latency_ms": latency_ms,
        "at_once": AT_ONCE,
        "first_sync": {
            "downloaded": first.downloaded,
            "failed": first.failed,
            "without_url": first.without_url,
            "seconds": round(first_seconds, 1),
            "cpu_seconds": round(first_cpu, 1),
            "photos_per_second": round(first.downloaded / first_seconds, 1),
            "mb_downloaded": round(first.bytes_downloaded / 1e6, 1),
            "mb_stored": round((stored_bytes or 0) / 1e6, 2),
            "photos_stored": db_count,
        },
        "unchanged_sync": {
            "downloaded": second.downloaded,
            "unchanged": second.unchanged,
            "seconds": round(second_seconds, 2),
        },
        "server_answers": server.served,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--people", type=Path, default=DEFAULT_PEOPLE)
    parser.add_argument("--states", default="", help="comma-separated; default every state")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not args.people.is_dir():
        print(f"no Open States people folder at {args.people}", file=sys.stderr)
        return 3
    states = [s.strip().lower() for s in args.states.split(",") if s.strip()] or None
    result = run(args.people, states, args.latency_ms)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
