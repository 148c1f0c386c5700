"""The chunked CSV writer: the same bytes however it is chunked, formula-safe text cells."""

from __future__ import annotations

import csv
import io

import pytest

from advocacy.exports.csvstream import csv_chunks, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+15551234", "'+15551234"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        (-2, -2),  # numbers are never text a spreadsheet would run
        (None, None),
    ],
)
def test_safe_cell(value: object, expected: object) -> None:
    assert safe_cell(value) == expected


def test_chunking_changes_nothing_but_the_chunks() -> None:
    rows = [(f"=row {i}", "x,y", 'say "hi"', None, i) for i in range(5000)]
    whole = b"".join(csv_chunks(("a", "b", "c", "d", "n"), rows, chunk_bytes=10**9))
    seen: list[int] = []
    chunks = list(csv_chunks(("a", "b", "c", "d", "n"), rows, chunk_bytes=512, on_rows=seen.append))
    assert len(chunks) > 100
    assert b"".join(chunks) == whole
    assert sum(seen) == 5000
    parsed = list(csv.reader(io.StringIO(whole.decode(), newline="")))
    assert parsed[0] == ["a", "b", "c", "d", "n"]
    assert parsed[1] == ["'=row 0", "x,y", 'say "hi"', "", "0"]
    assert whole.count(b"\r\n") == 5001


def test_only_the_given_text_columns_are_checked() -> None:
    data = b"".join(csv_chunks(("t", "u"), [("-1", "-1")], text_columns=[1]))
    assert data == b"t,u\r\n-1,'-1\r\n"
