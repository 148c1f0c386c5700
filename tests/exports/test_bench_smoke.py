"""The tally benchmark runs end to end on a tiny dataset. Only the shape of its report is
checked: timings are a benchmark matter (``python -m bench.tally_export``), never a test's."""

from __future__ import annotations

import json
from pathlib import Path

from bench import tally_export


def test_benchmark_report_shape(tmp_path: Path) -> None:
    report = tally_export.run(
        contacts=2000, groupings=("state", "legislator,day"), repeat=1, workdir=tmp_path
    )
    json.dumps(report)  # JSON-serialisable
    assert report["contacts"] == 2000
    assert report["seed"]["campaign_contacts"] >= 2000
    assert report["goal_ratio"] == 2.0
    assert isinstance(report["within_goal"], bool)
    assert [r["by"] for r in report["results"]] == ["state", "legislator,day"]
    for result in report["results"]:
        assert result["rows"] > 0 and result["raw_rows"] > 0  # (days differ: UTC vs New York)
        assert result["ours_seconds"] > 0 and result["raw_seconds"] > 0
        assert result["ratio"] > 0
        assert result["ours_peak_rss_mb"] > 0 and result["raw_peak_rss_mb"] > 0
    assert not list(tmp_path.iterdir())  # the temporary database is gone
