"""A fake of the outside services at the HTTP boundary, serving their real payload shapes.

Census geocoder bodies follow the captured responses in ../shared/docs/upstream-fixtures
(envelope, layer names with a vintage year, SLD objects with GEOID/SLDU/SLDL/BASENAME/NAME...).
Open States bulk CSVs are served as files. Nothing of the app is mocked: it talks real HTTP.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BENCHMARK = {
    "isDefault": True,
    "benchmarkDescription": "Public Address Ranges - Current Benchmark",
    "id": "4",
    "benchmarkName": "Public_AR_Current",
}
VINTAGE = {
    "isDefault": True,
    "id": "4",
    "vintageName": "Current_Current",
    "vintageDescription": "Current Vintage - Current Benchmark",
}
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


@dataclass
class Match:
    matched_address: str
    state_fips: str
    upper: list[dict[str, Any]] = field(default_factory=list)
    lower: list[dict[str, Any]] = field(default_factory=list)
    layer_year: str = "2024 "
    zip_code: str = "03301"
    city: str = "CONCORD"
    failed_layers: bool = False
    longitude: float = -71.53757
    latitude: float = 43.20814

    def to_json(self) -> dict[str, Any]:
        geographies: dict[str, Any] = {
            "States": [state_object(self.state_fips)],
            "Oklahoma Tribal Statistical Areas": [],
        }
        upper_key = f"{self.layer_year}State Legislative Districts - Upper"
        lower_key = f"{self.layer_year}State Legislative Districts - Lower"
        if self.failed_layers:
            error = {"status": LAYER_ERROR}
            geographies[upper_key] = [error]
            geographies[lower_key] = [error]
        else:
            geographies[upper_key] = self.upper
            geographies[lower_key] = self.lower
        abbr = STATE_NAMES.get(self.state_fips, ("XX", ""))[0]
        street = self.matched_address.split(",")[0]
        return {
            "tigerLine": {"side": "L", "tigerLineId": "75978299"},
            "geographies": geographies,
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


def census_body(address: str, matches: list[Match]) -> bytes:
    return json.dumps(
        {
            "result": {
                "input": {
                    "address": {"address": address},
                    "vintage": VINTAGE,
                    "benchmark": BENCHMARK,
                },
                "addressMatches": [m.to_json() for m in matches],
            }
        }
    ).encode()


class FakeUpstreams:
    """Census geocoder under /geocoder, Open States bulk CSVs under /people/current."""

    def __init__(self) -> None:
        self.census: dict[str, tuple[int, str, bytes]] = {}
        self.people: dict[str, bytes] = {}
        self.extra: dict[str, tuple[int, str, bytes]] = {}
        self.people_geo: dict[tuple[str, str], bytes] = {}  # (lat, lng) -> body
        self.mode = "ok"  # ok | slow | 500 | html | badjson | reset
        self.slow_seconds = 5.0
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def add_address(self, address: str, *matches: Match) -> None:
        self.census[address.lower()] = (
            200,
            "application/json",
            census_body(address, list(matches)),
        )

    def add_raw(self, address: str, status: int, content_type: str, body: bytes) -> None:
        self.census[address.lower()] = (status, content_type, body)

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
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlparse(self.path)
                query = parse_qs(url.query)
                with upstream.lock:
                    upstream.requests.append((url.path, query))
                mode = upstream.mode
                if mode == "slow":
                    time.sleep(upstream.slow_seconds)
                if mode == "500":
                    return self._send(
                        500, "text/html", b"<html><body>Internal Server Error</body></html>"
                    )
                if mode == "reset":
                    self.close_connection = True
                    self.connection.close()
                    return None
                if url.path == "/people.geo":
                    return self._send(*upstream.answer_people_geo(self.headers, query))
                if url.path in upstream.extra:
                    return self._send(*upstream.extra[url.path])
                if url.path.startswith("/geocoder/"):
                    if mode == "html":
                        return self._send(400, "text/html", b"<html>Bad Request</html>")
                    if mode == "badjson":
                        return self._send(200, "application/json", b'{"result": {"addressMa')
                    if url.path.endswith("/address"):
                        parts = [query.get(k, [""])[0] for k in ("street", "city", "state", "zip")]
                        key = ", ".join(p for p in parts if p)
                    else:
                        key = query.get("address", [""])[0]
                    hit = upstream.census.get(" ".join(key.split()).lower())
                    if hit:
                        return self._send(*hit)
                    return self._send(200, "application/json", census_body(key, []))
                if url.path.startswith("/people/current/") and url.path.endswith(".csv"):
                    abbr = url.path.rsplit("/", 1)[-1][:-4]
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
