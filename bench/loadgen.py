"""A small load generator: asyncio and raw HTTP/1.1 sockets, standard library only.

Why not locust or httpx: the load generator shares the machine's two cores with the servers
it measures, so every microsecond it spends per request is taken from them. A raw asyncio
client costs a few tens of microseconds per request (locust's gevent workers and httpx's
async stack cost several times that), costs the same for every scenario (so ratios stay fair),
needs no dependency, and still does what a browser does: a cookie jar, form posts, redirects
read from ``Location``.

Every request opens its own connection and sends ``Connection: close``, as a reverse proxy
in front of gunicorn does by default (nginx speaks HTTP/1.0 to its upstream): the kernel then
spreads connections over the worker processes, where long keep-alive connections would pin
each client to one worker.

Bounded by construction: a run stops at its deadline or after ``max_requests`` requests,
whichever comes first, and every connect and read has a timeout.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

TIMEOUT = 30.0


class LoadError(RuntimeError):
    """An answer that a scenario did not expect (wrong status, missing form field...)."""

    def __init__(self, message: str, *, recorded: bool = False) -> None:
        super().__init__(message)
        self.recorded = recorded  # already counted as a failed request


class Stop(Exception):  # noqa: N818 - a signal, not an error
    """The run's deadline or request budget is reached: the visitor stops."""


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return bytes(out)


def parse_response(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise LoadError(f"not an HTTP answer: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    response = Response(int(parts[1]), headers, body)
    if (response.header("transfer-encoding") or "").lower() == "chunked":
        response.body = _dechunk(body)
    return response


class Client:
    """One visitor: a cookie jar and requests to one server."""

    def __init__(self, host: str, port: int, timeout: float = TIMEOUT) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        body = urlencode(form).encode() if form is not None else b""
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Connection: close",
            "User-Agent: advocacy-bench",
            "Accept: */*",
        ]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            lines.append("Content-Type: application/x-www-form-urlencoded")
            lines.append(f"Content-Length: {len(body)}")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout
        )
        try:
            writer.write(payload)
            raw = await asyncio.wait_for(reader.read(), self.timeout)  # until the server closes
        finally:
            writer.close()
        response = parse_response(raw)
        for cookie in response.all("set-cookie"):
            pair = cookie.split(";", 1)[0]
            name, _, value = pair.partition("=")
            if value:
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)
        return response


# -- timing ---------------------------------------------------------------------------------


@dataclass
class Sample:
    label: str
    start: float
    end: float
    ok: bool


@dataclass
class Run:
    """Everything a load run recorded (all samples, warm-up included)."""

    window_start: float
    window_end: float
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wrong_answers: int = 0  # scenario errors after a request that itself succeeded
    cpu_seconds: float | None = None

    def measured(self, label: str | None = None) -> list[Sample]:
        return [
            s
            for s in self.samples
            if s.start >= self.window_start
            and s.end <= self.window_end
            and (label is None or s.label == label)
        ]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 is a latency that really happened)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def summarise(runs: Run | Sequence[Run], label: str | None = None) -> dict[str, Any]:
    """Requests, errors, requests/s and latency percentiles of the counted windows of one run
    or of several (their samples pooled, their windows added up)."""
    every = [runs] if isinstance(runs, Run) else list(runs)
    samples = [s for run in every for s in run.measured(label)]
    ok = [s for s in samples if s.ok]
    seconds = sum(run.window_end - run.window_start for run in every)
    latencies = [(s.end - s.start) * 1000 for s in ok]
    return {
        "requests": len(samples),
        "errors": len(samples) - len(ok),
        "seconds": round(seconds, 3),
        "rps": round(len(ok) / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
    }


class Recorder:
    """Handed to a scenario: times each request, stops the scenario at the deadline."""

    def __init__(self, run: Run, host: str, port: int, budget: list[int]) -> None:
        self.run = run
        self.host = host
        self.port = port
        self._budget = budget  # [requests left], shared by every visitor

    def client(self) -> Client:
        return Client(self.host, self.port)

    @property
    def done(self) -> bool:
        return time.perf_counter() >= self.run.window_end or self._budget[0] <= 0

    async def request(
        self,
        client: Client,
        label: str,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        expect: int = 200,
    ) -> Response:
        if self.done:
            raise Stop
        self._budget[0] -= 1
        start = time.perf_counter()
        try:
            response = await client.request(method, path, form)
        except (OSError, TimeoutError, LoadError) as exc:
            self.run.samples.append(Sample(label, start, time.perf_counter(), False))
            self._error(f"{label}: {type(exc).__name__}: {exc}")
            raise LoadError(str(exc), recorded=True) from exc
        end = time.perf_counter()
        ok = response.status == expect
        self.run.samples.append(Sample(label, start, end, ok))
        if not ok:
            self._error(
                f"{label}: HTTP {response.status} (expected {expect}): {response.text[:200]!r}"
            )
            raise LoadError(f"{label}: HTTP {response.status}", recorded=True)
        return response

    def wrong_answer(self, message: str) -> None:
        """A request that succeeded with an answer the scenario could not go on with."""
        self.run.wrong_answers += 1
        self._error(message)

    def _error(self, message: str) -> None:
        if len(self.run.errors) < 20:
            self.run.errors.append(message)


Scenario = Callable[[Recorder, int], Awaitable[None]]


def _cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of these processes and all their descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total, todo, seen = 0.0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += times.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


async def _drive(
    scenario: Scenario,
    host: str,
    port: int,
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int,
    server_pids: Sequence[int],
) -> Run:
    now = time.perf_counter()
    run = Run(window_start=now + warmup, window_end=now + warmup + duration)
    budget = [max_requests]
    recorder = Recorder(run, host, port, budget)
    cpu: list[float] = []

    async def user(index: int) -> None:
        iteration = 0
        while not recorder.done:
            try:
                await scenario(recorder, index * 1_000_000 + iteration)
            except Stop:
                return
            except LoadError as exc:
                # A failed request is recorded already; a wrong answer (a 303 to an unexpected
                # page, a page without its form) is recorded here.
                if not exc.recorded:
                    recorder.wrong_answer(str(exc))
                await asyncio.sleep(0.05)  # an error: do not spin
            iteration += 1

    async def sample_cpu() -> None:
        await asyncio.sleep(max(0.0, run.window_start - time.perf_counter()))
        cpu.append(_cpu_seconds(server_pids))
        await asyncio.sleep(max(0.0, run.window_end - time.perf_counter()))
        cpu.append(_cpu_seconds(server_pids))

    tasks = [asyncio.create_task(user(n)) for n in range(concurrency)]
    sampler = asyncio.create_task(sample_cpu()) if server_pids else None
    # A safety net well past the deadline: no request can hang the benchmark.
    await asyncio.wait_for(asyncio.gather(*tasks), warmup + duration + TIMEOUT + 10)
    if sampler is not None:
        if budget[0] <= 0:  # stopped early by the request budget
            sampler.cancel()
        else:
            await sampler
    if budget[0] <= 0:
        last = max((s.end for s in run.samples), default=run.window_end)
        run.window_end = min(run.window_end, last)
    if len(cpu) == 2:
        run.cpu_seconds = cpu[1] - cpu[0]
    return run


def drive(
    scenario: Scenario,
    host: str,
    port: int,
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int,
    server_pids: Sequence[int] = (),
) -> Run:
    """Run ``concurrency`` visitors looping over ``scenario`` for ``warmup + duration``
    seconds (at most ``max_requests`` requests); only the last ``duration`` seconds count."""
    return asyncio.run(
        _drive(scenario, host, port, concurrency, warmup, duration, max_requests, server_pids)
    )
