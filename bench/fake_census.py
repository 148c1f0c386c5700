"""The fake Census geocoder in a process of its own, for the slow-upstream benchmark:

    python -m bench.fake_census --port PORT --latencies 1.0x19,3.0

Every address is found (in Concord, NH: the districts of ``servers.ADDRESS``); each answer
waits the next of ``--latencies`` seconds, in turn. Its own process keeps its threads off the
load generator's interpreter. ``GET /fake/mode?mode=hang`` (or ok, 500...) changes its mode and
answers with its counts so far. It stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .servers import ROOT, concord_match


def parse_latencies(text: str) -> list[float]:
    """Seconds per answer: "1.0x19,3.0" is 19 answers after 1 s, then one after 3 s."""
    out: list[float] = []
    for part in text.split(","):
        seconds, _, times = part.strip().partition("x")
        out.extend([float(seconds)] * int(times or "1"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fake_census")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latencies", default="0", help="e.g. 1.0x19,3.0")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.fakes.upstream import FakeUpstreams

    fake = FakeUpstreams(port=args.port)
    fake.any_address = [concord_match()]
    fake.latencies = [s for s in parse_latencies(args.latencies)]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    fake.start()
    stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
