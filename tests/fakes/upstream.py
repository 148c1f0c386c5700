"""A fake of the outside services at the HTTP boundary, serving their real payload shapes.

Census geocoder bodies follow the captured responses in ../shared/docs/upstream-fixtures
(envelope, layer names with a vintage year, SLD objects with GEOID/SLDU/SLDL/BASENAME/NAME...).
Open States bulk CSVs are served as files; the people repository's archive as GitHub serves it
(a redirect to codeload, then the tar.gz with no length, in chunks); legislators' photos
(``add_photo``) as a legislature's web server sends them. Nothing of the app is mocked: it
talks real HTTP.

The geocoder can also be slow (``latencies``: seconds per answer, used in turn), hang
(``mode = "hang"``: it accepts the request and never answers until the mode changes or the
server stops) or refuse (``mode = "429"`` / ``"503"`` with ``Retry-After``); it counts the
requests it is answering at once (``in_flight``, ``max_in_flight``). The benchmarks serve it
in a process of its own (``bench/servers.py``) and change its mode over HTTP (``/fake/mode``,
which answers with the counts so far and starts them again).
"""

from __future__ import annotations

import copy
import itertools
import json
import sys
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

# Benchmarks and their vintages, as the geocoder's /benchmarks and /vintages list them
# (census_benchmarks.json, census_vintages_benchmark4.json; Census 2020 ids from §1.2).
BENCHMARKS: dict[str, dict[str, Any]] = {
    "Public_AR_Current": {
        "isDefault": True,
        "benchmarkDescription": "Public Address Ranges - Current Benchmark",
        "id": "4",
        "benchmarkName": "Public_AR_Current",
    },
    "Public_AR_Census2020": {
        "isDefault": False,
        "benchmarkDescription": "Public Address Ranges - Census 2020 Benchmark",
        "id": "2020",
        "benchmarkName": "Public_AR_Census2020",
    },
}
VINTAGES: dict[str, list[dict[str, Any]]] = {
    "Public_AR_Current": [
        {
            "isDefault": True,
            "id": "4",
            "vintageName": "Current_Current",
            "vintageDescription": "Current Vintage - Current Benchmark",
        },
        {
            "isDefault": False,
            "id": "420",
            "vintageName": "Census2020_Current",
            "vintageDescription": "Census2020 Vintage - Current Benchmark",
        },
    ],
    "Public_AR_Census2020": [
        {
            "isDefault": True,
            "id": "2020",
            "vintageName": "Census2020_Census2020",
            "vintageDescription": "Census 2020 Vintage - Census 2020 Benchmark",
        },
        {
            "isDefault": False,
            "id": "2010",
            "vintageName": "Census2010_Census2020",
            "vintageDescription": "Census 2010 Vintage - Census 2020 Benchmark",
        },
    ],
}
BENCHMARK = BENCHMARKS["Public_AR_Current"]
VINTAGE = VINTAGES["Public_AR_Current"][0]
STATE_NAMES = {
    "01": ("AL", "Alabama"),
    "02": ("AK", "Alaska"),
    "11": ("DC", "District of Columbia"),
    "25": ("MA", "Massachusetts"),
    "27": ("MN", "Minnesota"),
    "31": ("NE", "Nebraska"),
    "33": ("NH", "New Hampshire"),
    "50": ("VT", "Vermont"),
    "51": ("VA", "Virginia"),
    "53": ("WA", "Washington"),
    "04": ("AZ", "Arizona"),
    "16": ("ID", "Idaho"),
    "24": ("MD", "Maryland"),
    "38": ("ND", "North Dakota"),
    "46": ("SD", "South Dakota"),
    "54": ("WV", "West Virginia"),
    "06": ("CA", "California"),
    "48": ("TX", "Texas"),
}


LAYER_ERROR = "Layer query encountered an error: java.lang.RuntimeException: Failed to return"


def sld_object(layer: str, geoid: str, basename: str, name: str | None = None) -> dict[str, Any]:
    """One State Legislative District object, keys as the geocoder returns them."""
    upper = layer == "upper"
    code = geoid[2:]
    obj: dict[str, Any] = {
        "POP100": "",
        "GEOID": geoid,
        "CENTLAT": "+43.2081366",
        "AREAWATER": 1133060,
        "STATE": geoid[:2],
        "BASENAME": basename,
        "OID": 212904690194371,
        "LSADC": "LU" if upper else "LL",
        "FUNCSTAT": "N",
        "INTPTLAT": "+43.2078493",
        "NAME": name
        or (f"State Senate District {basename}" if upper else f"State House District {basename}"),
        "OBJECTID": 1405,
        "CENTLON": "-071.5375718",
        "LSY": "2024",
        "HU100": "",
        "AREALAND": 83650068,
        "INTPTLON": "-071.5452815",
        "MTFCC": "G5210" if upper else "G5220",
        "LDTYP": "O",
    }
    obj["SLDU" if upper else "SLDL"] = code
    return obj


def state_object(fips: str) -> dict[str, Any]:
    abbr, name = STATE_NAMES.get(fips, ("XX", "Somewhere"))
    return {
        "STATENS": "01779794",
        "POP100": "",
        "GEOID": fips,
        "CENTLAT": "+43.6726907",
        "AREAWATER": 1026675248,
        "STATE": fips,
        "BASENAME": name,
        "STUSAB": abbr,
        "OID": 27490331384353,
        "LSADC": "00",
        "FUNCSTAT": "A",
        "INTPTLAT": "+43.6727330",
        "DIVISION": "1",
        "NAME": name,
        "REGION": "1",
        "OBJECTID": 24,
        "CENTLON": "-071.5843745",
        "AREALAND": 23190115212,
        "INTPTLON": "-071.5843745",
        "HU100": "",
        "MTFCC": "G4000",
        "UR": "",
    }


def area_object(
    fips: str,
    geoid: str,
    basename: str,
    name: str,
    mtfcc: str,
    lsadc: str,
    without: tuple[str, ...] = (),
    **codes: Any,
) -> dict[str, Any]:
    """A geography object of the other layers (county, tract, place...), with the key set of
    the real captures: the common keys, less ``without``, plus the layer's own codes."""
    obj: dict[str, Any] = {
        "POP100": "",
        "GEOID": geoid,
        "CENTLAT": "+43.2081366",
        "AREAWATER": 40071739,
        "STATE": fips,
        "BASENAME": basename,
        "OID": 27590241097994,
        "LSADC": lsadc,
        "FUNCSTAT": "A",
        "INTPTLAT": "+43.2078493",
        "NAME": name,
        "OBJECTID": 1602,
        "CENTLON": "-071.5375718",
        "HU100": "",
        "AREALAND": 1012739503,
        "INTPTLON": "-071.5452815",
        "MTFCC": mtfcc,
        "UR": "",
    }
    for key in without:
        del obj[key]
    obj.update(codes)
    return obj


def _vintage_layer_names(vintage: str) -> dict[str, str]:
    """Layer names carry the vintage: a year on the current one, none on the census ones."""
    if vintage.startswith("Current"):
        return {"sld": "2024 ", "congress": "119th", "blocks": "2020 Census Blocks"}
    if vintage.startswith("Census2010"):
        return {"sld": "", "congress": "111th", "blocks": "Census Blocks"}
    return {"sld": "", "congress": "116th", "blocks": "Census Blocks"}


@dataclass
class Match:
    matched_address: str
    state_fips: str
    upper: list[dict[str, Any]] = field(default_factory=list)
    lower: list[dict[str, Any]] = field(default_factory=list)
    # None: the vintage decides ("2024 " on Current_Current, "" on the census vintages).
    layer_year: str | None = None
    zip_code: str = "03301"
    city: str = "CONCORD"
    # True: the SLD and Congressional layers fail, as in the real 2017 capture; or a
    # collection naming the failed layers among "upper", "lower", "congress".
    failed_layers: bool | Collection[str] = False
    longitude: float = -71.53757
    latitude: float = 43.20814

    def _failed(self, layer: str) -> bool:
        if isinstance(self.failed_layers, bool):
            return self.failed_layers
        return layer in self.failed_layers

    def geographies(self, vintage: str, layers: str | None) -> dict[str, Any]:
        """The default layer set (as in the real census2020 capture) or, for layers=all,
        more of them, including empty ones (as in the real 2017 capture)."""
        names = _vintage_layer_names(vintage)
        year = names["sld"] if self.layer_year is None else self.layer_year
        fips = self.state_fips
        error = [{"status": LAYER_ERROR}]
        county = f"{fips}011"
        tract = f"{county}010500"
        geographies: dict[str, Any] = {
            f"{year}State Legislative Districts - Upper": error
            if self._failed("upper")
            else self.upper,
            "States": [state_object(fips)],
            "Combined Statistical Areas": [
                area_object(fips, "148", "Boston-Worcester-Providence, MA-RI-NH-CT",
                            "Boston-Worcester-Providence, MA-RI-NH-CT CSA", "G3100", "M0",
                            without=("STATE", "UR"), CSA="148")
            ],
            "County Subdivisions": [
                area_object(fips, f"{county}50260", "Nashua", "Nashua city", "G4040", "25",
                            COUNTY="011", COUSUB="50260", COUSUBCC="C5", COUSUBNS="00873675")
            ],
            "Census Designated Places": [],
            f"{year}State Legislative Districts - Lower": error
            if self._failed("lower")
            else self.lower,
            "Counties": [
                area_object(fips, county, "Hillsborough", "Hillsborough County", "G4020", "06",
                            COUNTY="011", COUNTYCC="H1", COUNTYNS="00873179")
            ],
            f"{names['congress']} Congressional Districts": error
            if self._failed("congress")
            else [
                area_object(fips, f"{fips}02", "2", "Congressional District 2", "G5200", "C2",
                            without=("UR",), CDSESSN=names["congress"][:3],
                            **{f"CD{names['congress'][:3]}": "02"})
            ],
            "Census Tracts": [
                area_object(fips, tract, "105", "Census Tract 105", "G5020", "CT",
                            COUNTY="011", TRACT="010500")
            ],
            names["blocks"]: [
                area_object(fips, f"{tract}1007", "1007", "Block 1007", "G5040", "BK",
                            COUNTY="011", TRACT="010500", BLKGRP="1", BLOCK="1007",
                            SUFFIX="", LWBLKTYP="L")
            ],
        }  # fmt: skip
        if layers == "all":
            geographies.update(
                {
                    "Oklahoma Tribal Statistical Areas": [],
                    "Federal American Indian Reservations": [],
                    "Elementary School Districts": [],
                    "Census Block Groups": [
                        area_object(
                            fips,
                            f"{tract}1",
                            "1",
                            "Block Group 1",
                            "G5030",
                            "BG",
                            COUNTY="011",
                            TRACT="010500",
                            BLKGRP="1",
                        )
                    ],
                    "Unified School Districts": [
                        area_object(
                            fips,
                            f"{fips}04620",
                            "Nashua School District",
                            "Nashua School District",
                            "G5420",
                            "00",
                            SDUNI="04620",
                        )
                    ],
                    "Incorporated Places": [
                        area_object(
                            fips,
                            f"{fips}50260",
                            "Nashua",
                            "Nashua city",
                            "G4110",
                            "25",
                            PLACE="50260",
                            PLACECC="C5",
                        )
                    ],
                    "Census Regions": [
                        area_object(
                            fips, "1", "Northeast", "Northeast Region", "G4010", "68", REGION="1"
                        )
                    ],
                }  # fmt: skip
            )
        elif layers:  # a list of layer names: only those
            wanted = {name.strip().lower() for name in layers.split(",")}
            geographies = {k: v for k, v in geographies.items() if k.lower() in wanted}
        return geographies

    def to_json(
        self, vintage: str = "Current_Current", layers: str | None = "all"
    ) -> dict[str, Any]:
        abbr = STATE_NAMES.get(self.state_fips, ("XX", ""))[0]
        street = self.matched_address.split(",")[0]
        return {
            "tigerLine": {"side": "L", "tigerLineId": "75978299"},
            "geographies": self.geographies(vintage, layers),
            "coordinates": {"x": self.longitude, "y": self.latitude},
            "addressComponents": {
                "zip": self.zip_code,
                "streetName": street.split(" ", 1)[-1],
                "preType": "",
                "city": self.city,
                "preDirection": "",
                "suffixDirection": "",
                "fromAddress": "1",
                "state": abbr,
                "suffixType": "",
                "toAddress": "99",
                "suffixQualifier": "",
                "preQualifier": "",
            },
            "matchedAddress": self.matched_address,
        }


def census_body(
    echo: dict[str, str],
    matches: list[Match],
    benchmark: dict[str, Any] = BENCHMARK,
    vintage: dict[str, Any] = VINTAGE,
    layers: str | None = "all",
) -> bytes:
    """A geographies/* answer; ``echo`` is what ``result.input.address`` repeats back:
    ``{"address": ...}`` for onelineaddress, ``{street, city, state, zip}`` for address."""
    return json.dumps(
        {
            "result": {
                "input": {"address": echo, "vintage": vintage, "benchmark": benchmark},
                "addressMatches": [m.to_json(vintage["vintageName"], layers) for m in matches],
            }
        }
    ).encode()


def _find(options: list[dict[str, Any]], value: str, name_key: str) -> dict[str, Any] | None:
    """Benchmarks and vintages are asked for by name or by numeric id."""
    return next((o for o in options if value in (o[name_key], o["id"])), None)


# GitHub's address of the people repository's archive, and where it redirects to.
PEOPLE_ARCHIVE_PATH = "/openstates/people/archive/refs/heads/main.tar.gz"
CODELOAD_PATH = "/codeload/openstates/people/tar.gz/refs/heads/main"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # hundreds of simultaneous connects (socketserver's default: 5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client gave up on a slow or hanging answer
        super().handle_error(request, client_address)


class FakeUpstreams:
    """Census geocoder under /geocoder, Open States bulk CSVs under /people/current, the
    people repository's archive at PEOPLE_ARCHIVE_PATH."""

    def __init__(self, port: int = 0) -> None:
        # Lower-cased address -> the matches (the body is built per request) or a raw answer.
        self.census: dict[str, list[Match] | tuple[int, str, bytes]] = {}
        self.any_address: list[Match] | None = None  # the answer for an address not added
        self.people: dict[str, bytes] = {}
        self.extra: dict[str, tuple[int, str, bytes]] = {}
        self.people_geo: dict[tuple[str, str], bytes] = {}  # (lat, lng) -> body
        self.people_archive: bytes | None = None  # None: GitHub's 404
        self.archive_cut_at: int | None = None  # send only this many bytes, then hang up
        self.mode = "ok"  # ok | slow | hang | 500 | 429 | 503 | html | badjson | reset
        self.slow_seconds = 5.0
        self.retry_after: str | None = None  # the Retry-After header of modes 429 and 503
        self.latencies: list[float] = []  # seconds before each geocoder answer, in turn
        self._latency_turn = itertools.count()
        self.in_flight = 0  # geocoder requests being answered now
        self.max_in_flight = 0
        self._unhang = threading.Condition()
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", port), self._handler())
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def add_photo(self, path: str, body: bytes, content_type: str = "image/jpeg") -> str:
        """Serve ``body`` at ``path`` (e.g. /legislature/photos/ab.jpg); returns its URL."""
        self.extra[path] = (200, content_type, body)
        return self.base_url + path

    def photo_requests(self, prefix: str = "/legislature/") -> list[str]:
        """The paths of the photo requests answered so far, in order."""
        with self.lock:
            return [path for path, _ in self.requests if path.startswith(prefix)]

    def geocoder_calls(self) -> int:
        """How many requests the Census geocoder has answered."""
        return sum(1 for path, _ in self.requests if path.startswith("/geocoder"))

    def add_address(self, address: str, *matches: Match) -> None:
        self.census[" ".join(address.split()).lower()] = list(matches)

    def add_raw(self, address: str, status: int, content_type: str, body: bytes) -> None:
        self.census[" ".join(address.split()).lower()] = (status, content_type, body)

    def set_mode(self, mode: str) -> None:
        """Change the mode; requests hanging in mode "hang" are then answered in the new one."""
        with self._unhang:
            self.mode = mode
            self._unhang.notify_all()

    def _hang(self) -> str:
        """Wait while the mode is "hang" (at most 10 minutes); the mode that ended it."""
        with self._unhang:
            self._unhang.wait_for(lambda: self.mode != "hang", timeout=600)
            return self.mode

    def _delay(self) -> None:
        if self.latencies:
            time.sleep(self.latencies[next(self._latency_turn) % len(self.latencies)])

    def _enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def answer_census(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """geographies/onelineaddress and geographies/address, from the request's parameters."""

        def arg(name: str) -> str | None:
            return query.get(name, [None])[0]

        if arg("format") != "json":  # the geocoder's default output is its HTML page
            return 200, "text/html", b"<html><body><h1>Census Geocoder</h1></body></html>"
        benchmark = _find(list(BENCHMARKS.values()), arg("benchmark") or "", "benchmarkName")
        vintage = (
            _find(VINTAGES[benchmark["benchmarkName"]], arg("vintage") or "", "vintageName")
            if benchmark
            else None
        )
        if benchmark is None or vintage is None:
            return 400, "text/plain", b"Bad Request: unknown benchmark or vintage"
        if path.endswith("/address"):
            echo = {k: arg(k) or "" for k in ("street", "city", "state", "zip")}
            key = ", ".join(v for v in echo.values() if v)
        else:
            echo = {"address": arg("address") or ""}
            key = echo["address"]
        hit = self.census.get(" ".join(key.split()).lower(), self.any_address or [])
        if isinstance(hit, tuple):
            return hit
        return 200, "application/json", census_body(echo, hit, benchmark, vintage, arg("layers"))

    def answer_people_geo(
        self, headers: Any, query: dict[str, list[str]]
    ) -> tuple[int, str, bytes]:
        """Open States v3 people.geo, with its real error bodies (api-v3 auth.py)."""
        key = headers.get("X-API-KEY") or query.get("apikey", [None])[0]
        if not key:
            detail = (
                "Must provide API Key as ?apikey or X-API-KEY. Login and visit "
                "https://openstates.org/account/profile/ for your API key."
            )
            return 403, "application/json", json.dumps({"detail": detail}).encode()
        if key == "bad":
            detail = (
                "Invalid API Key. Login and visit "
                "https://openstates.org/account/profile/ for your API key."
            )
            return 401, "application/json", json.dumps({"detail": detail}).encode()
        point = (query.get("lat", [""])[0], query.get("lng", [""])[0])
        body = self.people_geo.get(point)
        if body is None:
            body = json.dumps(
                {
                    "results": [],
                    "pagination": {"max_page": 1, "per_page": 100, "page": 1, "total_items": 0},
                }
            ).encode()
        return 200, "application/json", body

    @property
    def archive_url(self) -> str:
        return self.base_url + PEOPLE_ARCHIVE_PATH

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (e.g. a download over its size limit)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _send_archive(self) -> None:
                body = upstream.people_archive
                if body is None:
                    return self._send(404, "text/plain", b"404: Not Found")
                cut = upstream.archive_cut_at
                self.send_response(200)
                self.send_header("Content-Type", "application/x-gzip")
                self.send_header(
                    "Content-Disposition", "attachment; filename=people-main.tar.gz"
                )
                self.end_headers()  # no length: the body ends when the connection closes
                self.close_connection = True
                sent = body if cut is None else body[:cut]
                for offset in range(0, len(sent), 16 * 1024):
                    self.wfile.write(sent[offset : offset + 16 * 1024])
                return None

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlparse(self.path)
                query = parse_qs(url.query)
                if url.path == "/fake/mode":  # the benchmarks steer a fake in another process
                    upstream.set_mode(query.get("mode", ["ok"])[0])
                    with upstream.lock:
                        stats = {
                            "mode": upstream.mode,
                            "in_flight": upstream.in_flight,
                            "max_in_flight": upstream.max_in_flight,
                            "geocoder_calls": upstream.geocoder_calls(),
                        }
                        upstream.max_in_flight = upstream.in_flight
                        upstream.requests.clear()
                    return self._send(200, "application/json", json.dumps(stats).encode())
                census = url.path.startswith("/geocoder/")
                with upstream.lock:
                    upstream.requests.append((url.path, query))
                if not census:
                    return self._answer(url.path, query, upstream.mode)
                upstream._enter()
                try:
                    upstream._delay()
                    mode = upstream._hang() if upstream.mode == "hang" else upstream.mode
                finally:
                    # Counted until the answer goes out: the client may ask again at once.
                    upstream._leave()
                return self._answer(url.path, query, mode)

            def _answer(self, path: str, query: dict[str, list[str]], mode: str) -> None:
                if mode == "slow":
                    time.sleep(upstream.slow_seconds)
                if mode in ("429", "503"):
                    body = b"<html><body>Too many requests; try again later</body></html>"
                    self.send_response(int(mode))
                    if upstream.retry_after is not None:
                        self.send_header("Retry-After", upstream.retry_after)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return None
                if mode == "500":
                    return self._send(
                        500, "text/html", b"<html><body>Internal Server Error</body></html>"
                    )
                if mode == "reset":
                    self.close_connection = True
                    self.connection.close()
                    return None
                if path == "/people.geo":
                    return self._send(*upstream.answer_people_geo(self.headers, query))
                if path in upstream.extra:
                    return self._send(*upstream.extra[path])
                if path == PEOPLE_ARCHIVE_PATH:
                    return self._redirect(upstream.base_url + CODELOAD_PATH)
                if path == CODELOAD_PATH:
                    return self._send_archive()
                if path.startswith("/geocoder/"):
                    if mode == "html":
                        return self._send(400, "text/html", b"<html>Bad Request</html>")
                    if mode == "badjson":
                        return self._send(200, "application/json", b'{"result": {"addressMa')
                    return self._send(*upstream.answer_census(path, query))
                if path.startswith("/people/current/") and path.endswith(".csv"):
                    abbr = path.rsplit("/", 1)[-1][:-4]
                    if abbr in upstream.people:
                        return self._send(200, "text/csv", upstream.people[abbr])
                    return self._send(
                        404, "application/xml", b"<Error><Code>NoSuchKey</Code></Error>"
                    )
                return self._send(404, "application/json", b'{"detail":"Not Found"}')

        return Handler

    def start(self) -> FakeUpstreams:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.set_mode("stopped")  # answers anything still hanging
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running() -> Iterator[FakeUpstreams]:
    fake = FakeUpstreams().start()
    try:
        yield fake
    finally:
        fake.stop()


def copy_of(match: Match) -> Match:
    return copy.deepcopy(match)
