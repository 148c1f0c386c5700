"""What a visitor reads on a page: its visible text, with whitespace as a browser shows it."""

from __future__ import annotations

from html.parser import HTMLParser

from werkzeug.test import TestResponse

_SKIPPED = {"head", "script", "style", "template", "noscript"}
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}
_BLOCKS = {
    "address",
    "article",
    "br",
    "div",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "header",
    "label",
    "legend",
    "li",
    "main",
    "nav",
    "ol",
    "option",
    "p",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
    "button",
    "textarea",
    "fieldset",
    "form",
}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.hidden_depth = 0  # inside an element nobody sees
        self.stack: list[bool] = []  # per open element: did it start a hidden region?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        hides = (
            tag in _SKIPPED
            or "hidden" in values
            or values.get("aria-hidden") == "true"
            or (tag == "input" and values.get("type") == "hidden")
        )
        if tag in _BLOCKS:
            self.lines.append("")
        if tag in _VOID:
            if tag == "input" and not hides and not self.hidden_depth:
                self.lines[-1] += f" {values.get('value') or ''} "
            return
        self.stack.append(hides)
        if hides:
            self.hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not self.stack:
            return
        if self.stack.pop():
            self.hidden_depth -= 1
        if tag in _BLOCKS:
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth:
            self.lines[-1] += data


def visible_text(page: str | bytes | TestResponse) -> str:
    """The page's visible text, one line per block, spaces collapsed as a browser does."""
    if isinstance(page, TestResponse):
        page = page.get_data(as_text=True)
    if isinstance(page, bytes):
        page = page.decode()
    reader = _Reader()
    reader.feed(page)
    lines = (" ".join(line.split()) for line in reader.lines)
    return "\n".join(line for line in lines if line)
