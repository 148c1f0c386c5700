"""The Spanish catalog covers every text the code and templates mark for translation, and the
compiled catalog the site reads is the one built from it."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
CATALOGS = REPO / "advocacy" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def _marked_texts() -> set[str | tuple[str, ...]]:
    """What extraction finds, read with the mappings ./dev translations uses."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["babel"]
    method_map = [(entry["pattern"], entry["method"]) for entry in config["mappings"]]
    options_map = {
        entry["pattern"]: {k: v for k, v in entry.items() if k not in ("pattern", "method")}
        for entry in config["mappings"]
    }
    found = extract_from_dir(str(REPO), method_map, options_map, keywords=KEYWORDS, comment_tags=())
    return {
        message if isinstance(message, str) else tuple(message) for *_, message, _c, _x in found
    }


def _spanish() -> Catalog:
    with (CATALOGS / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale="es")


def test_every_marked_text_has_a_spanish_translation() -> None:
    catalog = _spanish()
    marked = _marked_texts()
    assert len(marked) > 5
    in_catalog = {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}
    missing = sorted(map(str, marked - in_catalog))
    assert not missing, f"not in the Spanish catalog (run ./dev translations): {missing}"
    unused = sorted(map(str, in_catalog - marked))
    assert not unused, f"in the Spanish catalog but no longer in the code: {unused}"
    untranslated = [
        m.id
        for m in catalog
        if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    assert not untranslated, f"not translated yet (or marked fuzzy): {untranslated}"


def test_translations_keep_the_placeholders_of_the_english() -> None:
    problems = [(message.id, errors) for message, errors in _spanish().check()]
    assert not problems


def test_the_compiled_catalog_is_built_from_the_current_one() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _spanish())
    on_disk = (CATALOGS / "es" / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert on_disk == compiled.getvalue(), "run ./dev translations to compile the catalog"
