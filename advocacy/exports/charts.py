"""Charts for the dashboard, drawn on the server as inline SVG with pygal.

Nothing is loaded from elsewhere: pygal's tooltip script (a CDN URL by default) is switched off
with ``js=[]``, its inline config script and its credit comments (which carry URLs) are removed,
so the SVG has no script and the only URL left in it is its XML namespace. Every chart on the
page has a table with the same figures beside it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

import pygal
from flask import has_app_context
from markupsafe import Markup, escape
from pygal.style import Style

from ..security import csp_nonce

# pygal appends a finder for its map plugins to sys.meta_path; it has no find_spec, so Python
# 3.11 raises an ImportWarning for every later import that reaches it (any optional import
# anywhere in the process). No map plugin is used here: take the finder out again.
sys.meta_path[:] = [
    finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)
]

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# pygal always writes its config for the tooltip script inline: with no script, it is dead text.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#4a5360",
    opacity="1",
    opacity_hover="1",
    colors=("#0b5cab",),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=12,
    title_font_size=16,
)


def _config(**options: object) -> dict[str, object]:
    base: dict[str, object] = {
        "js": [],  # no tooltip script from a CDN: the SVG is self-contained
        "disable_xml_declaration": True,
        "show_legend": False,
        "style": _STYLE,
        "width": 800,
        "height": 360,
        "margin": 16,
        "print_values": False,
        "show_y_guides": True,
        "truncate_label": -1,
        "no_data_text": "No contacts",
    }
    base.update(options)
    return base


def _finish(chart: pygal.graph.graph.Graph, label: str) -> Markup:
    svg = chart.render(is_unicode=True)
    svg = _SCRIPT.sub("", _COMMENT.sub("", svg))
    # The Content-Security-Policy allows no inline style without this response's nonce; the
    # one style attribute pygal writes (its hidden tooltip) becomes an SVG attribute.
    if has_app_context():
        svg = svg.replace("<style", f'<style nonce="{csp_nonce()}"')
    svg = svg.replace('style="opacity: 0"', 'opacity="0"')
    # Announced as one image whose figures are in the table that follows it.
    svg = svg.replace(
        "<svg ",
        f'<svg role="img" aria-label="{escape(label)}" focusable="false" ',
        1,
    )
    return Markup(svg)  # noqa: S704 - made by pygal's XML writer, which escapes every text


def daily_chart(series: Sequence[tuple[str, int]]) -> Markup:
    """Contacts per day as bars; x labels thinned so about a dozen stay readable."""
    every = max(1, len(series) // 12)
    chart = pygal.Bar(
        **_config(
            x_label_rotation=30,
            show_minor_x_labels=False,
            x_labels_major_every=every,
            min_scale=1,
        )
    )
    chart.x_labels = [day for day, _ in series]
    chart.add("Contacts", [count for _, count in series])
    return _finish(chart, "Bar chart of contacts per day; the table below has the same figures.")


def bar_chart(pairs: Sequence[tuple[str, int]], label: str, height: int | None = None) -> Markup:
    """Horizontal bars, one per label, the first pair on top (pygal draws bottom up)."""
    rows = list(reversed(pairs))
    chart = pygal.HorizontalBar(**_config(height=height or max(160, 40 + 28 * len(rows))))
    chart.x_labels = [name for name, _ in rows]
    chart.add("Contacts", [count for _, count in rows])
    return _finish(chart, label)
