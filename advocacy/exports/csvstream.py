"""CSV written in chunks (never the whole file in memory), with every text cell made safe to
open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google
# Sheets (OWASP "CSV injection"); a leading apostrophe makes it plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024


def safe_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_chunks(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    text_columns: Sequence[int] | None = None,
    on_rows: Callable[[int], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[bytes]:
    """UTF-8 CSV (RFC 4180: CRLF line ends, minimal quoting) in chunks of about ``chunk_bytes``.

    ``text_columns``: indexes of the columns that may hold text (only those are checked for
    formulas; ``None`` checks every cell). ``None`` cells are written empty. ``on_rows`` is
    called with the number of data rows in each chunk (for progress bars).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    checked = range(len(header)) if text_columns is None else tuple(text_columns)
    pending = 0
    for row in rows:
        cells = list(row)
        for index in checked:
            value = cells[index]
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                cells[index] = "'" + value
        writer.writerow(cells)
        pending += 1
        if buffer.tell() >= chunk_bytes:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            if on_rows is not None:
                on_rows(pending)
            pending = 0
    yield buffer.getvalue().encode("utf-8")
    if on_rows is not None and pending:
        on_rows(pending)
