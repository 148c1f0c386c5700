from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask

from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.people import ROSTERS, write_all


@pytest.fixture
def upstream() -> Iterator[FakeUpstreams]:
    fake = FakeUpstreams().start()
    yield fake
    fake.stop()


@pytest.fixture
def app_config(app_config: dict[str, object], upstream: FakeUpstreams) -> dict[str, object]:
    return {
        **app_config,
        "CENSUS_GEOCODER_URL": upstream.base_url + "/geocoder",
        "OPENSTATES_DATA_URL": upstream.base_url + "/people/current",
        "OPENSTATES_VACANCIES_URL": upstream.base_url + "/settings.yml",
        "OPENSTATES_API_URL": upstream.base_url,
    }


@pytest.fixture
def people_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "people"
    write_all(folder)
    return folder


@pytest.fixture
def directory(app: Flask, people_dir: Path) -> Path:
    results = sync_states(BulkPeopleSource(str(people_dir)), list(ROSTERS))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return people_dir


@dataclass
class DistrictReport:
    """Per-state figures of the every-district check: what was verified, not just "passed"."""

    path: Path
    states: dict[str, Counter[str]] = field(default_factory=dict)

    COLUMNS = ("rows", "full", "vacancy", "seats", "filled")

    def add(self, state: str, seats: int, filled: int) -> None:
        counts = self.states.setdefault(state, Counter())
        counts["rows"] += 1
        counts["full" if filled >= seats else "vacancy"] += 1
        counts["seats"] += seats
        counts["filled"] += filled

    def total(self, column: str) -> int:
        return sum(counts[column] for counts in self.states.values())

    def lines(self) -> list[str]:
        header = "state  " + "  ".join(f"{c:>7}" for c in self.COLUMNS)
        rows = [
            f"{state.upper():5}  " + "  ".join(f"{counts[c]:7d}" for c in self.COLUMNS)
            for state, counts in sorted(self.states.items())
        ]
        total = "all    " + "  ".join(f"{self.total(c):7d}" for c in self.COLUMNS)
        return [header, *rows, total]

    def write(self) -> None:
        self.path.write_text("\n".join(self.lines()) + "\n", encoding="utf-8")


DISTRICT_REPORT = pytest.StashKey[DistrictReport]()


@dataclass
class PhoneReport:
    """Per state: current legislators, and how many have at least one phone number from the
    YAML and from the CSVs with empty capitol columns (as Open States publishes them)."""

    path: Path
    states: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        def share(part: int, whole: int) -> str:
            return f"{part:5d} {100 * part / whole:5.1f}%" if whole else f"{part:5d}    - "

        rows = [
            f"{state.upper():5}  {total:11d}  {share(yaml_, total)}  {share(csv_, total)}"
            for state, (total, yaml_, csv_) in sorted(self.states.items())
        ]
        total = sum(t for t, _, _ in self.states.values())
        yaml_total = sum(y for _, y, _ in self.states.values())
        csv_total = sum(c for _, _, c in self.states.values())
        return [
            "state  legislators    from YAML  from live CSV",
            *rows,
            f"all    {total:11d}  {share(yaml_total, total)}  {share(csv_total, total)}",
        ]

    def write(self) -> None:
        self.path.write_text("\n".join(self.lines()) + "\n", encoding="utf-8")


PHONE_REPORT = pytest.StashKey[PhoneReport]()


@pytest.fixture(scope="session")
def phone_report(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> PhoneReport:
    report = PhoneReport(tmp_path_factory.getbasetemp() / "phone-coverage-report.txt")
    pytestconfig.stash[PHONE_REPORT] = report
    return report


@pytest.fixture(scope="session")
def district_report(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> DistrictReport:
    report = DistrictReport(tmp_path_factory.getbasetemp() / "every-district-report.txt")
    pytestconfig.stash[DISTRICT_REPORT] = report
    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    phones = config.stash.get(PHONE_REPORT, None)
    if phones is not None and phones.states:
        terminalreporter.write_sep("-", "legislators with at least one phone number")
        for line in phones.lines():
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"written to {phones.path}")
    report = config.stash.get(DISTRICT_REPORT, None)
    if report is None or not report.states:
        return
    terminalreporter.write_sep("-", "registry districts verified against the real rosters")
    terminalreporter.write_line(
        "rows: registry districts checked; full / vacancy: districts with every seat filled /"
        " with known vacant seats; seats, filled: seats in them and people found"
    )
    for line in report.lines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"written to {report.path}")
