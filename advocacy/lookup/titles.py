"""The directory's titles, chambers and states in the words of a campaign's other languages.

Open States gives them in English ("Senator", "House"). A Spanish letter needs Spanish words
for its placeholders (``{{ target.salutation }}`` in "Honorable {{ target.salutation }}:").
Some Spanish titles change with the person's gender ("Senador", "Senadora"): the form for the
gender Open States records for the legislator or official is used, and where it records none
(often) the neutral written form ("Senador/a"); a gender is never guessed from a name. Titles
that are the same for everyone ("Representante", "Asambleísta", "Fiscal General") need neither.
"""

from __future__ import annotations

# English title -> Spanish, for legislators (chamber titles) and executive offices: the
# neutral written form, and (for a title that changes) the masculine and feminine ones.
_GENDERED_ES = {
    "Senator": ("Senador/a", "Senador", "Senadora"),
    "Delegate": ("Delegado/a", "Delegado", "Delegada"),
    "Councilmember": ("Concejal/a", "Concejal", "Concejala"),
    "Governor": ("Gobernador/a", "Gobernador", "Gobernadora"),
    "Lieutenant Governor": ("Vicegobernador/a", "Vicegobernador", "Vicegobernadora"),
    "Secretary of State": (
        "Secretario/a de Estado",
        "Secretario de Estado",
        "Secretaria de Estado",
    ),
    "Treasurer": ("Tesorero/a", "Tesorero", "Tesorera"),
    "Auditor": ("Auditor/a", "Auditor", "Auditora"),
    "Chief Election Officer": ("Director/a Electoral", "Director Electoral", "Directora Electoral"),
}
_TITLES_ES = {
    "Representative": "Representante",
    "Assembly Member": "Asambleísta",
    "Assemblymember": "Asambleísta",
    **{english: forms[0] for english, forms in _GENDERED_ES.items()},
    "Attorney General": "Fiscal General",
}

# A chamber's name as ``{{ target.chamber }}`` gives it.
_CHAMBERS_ES = {
    "House": "Cámara de Representantes",
    "Senate": "Senado",
    "Assembly": "Asamblea",
    "Joint": "Conjunta",
    "Nebraska Legislature": "Legislatura de Nebraska",
    "Council of the District of Columbia": "Concejo del Distrito de Columbia",
}

# States whose names Spanish writes its own way; the others keep their English name.
_STATES_ES = {
    "District of Columbia": "Distrito de Columbia",
    "Hawaii": "Hawái",
    "Louisiana": "Luisiana",
    "New Jersey": "Nueva Jersey",
    "New Mexico": "Nuevo México",
    "New York": "Nueva York",
    "North Carolina": "Carolina del Norte",
    "North Dakota": "Dakota del Norte",
    "Pennsylvania": "Pensilvania",
    "South Carolina": "Carolina del Sur",
    "South Dakota": "Dakota del Sur",
    "West Virginia": "Virginia Occidental",
}

_WORDS = {
    "es": {"title": _TITLES_ES, "chamber": _CHAMBERS_ES, "state": _STATES_ES},
}


def in_language(code: str, kind: str, english: str) -> str:
    """``english`` (a ``kind`` of word: title, chamber or state) in language ``code``;
    unchanged in English or when that language writes it the same."""
    return _WORDS.get(code, {}).get(kind, {}).get(english, english)


def title_for(code: str, title: str, gender: str = "") -> str:
    """A person's ``title`` in language ``code``: in the form for their ``gender`` as Open
    States records it ("Female", "Male"), else the neutral one."""
    forms = _GENDERED_ES.get(title) if code == "es" else None
    kind = gender.strip().lower()
    if forms is not None and kind in ("male", "female"):
        return forms[1] if kind == "male" else forms[2]
    return in_language(code, "title", title)


def salutation(code: str, title: str, last_name: str, gender: str = "") -> str:
    """How a letter in ``code`` names someone by title and family name."""
    return f"{title_for(code, title, gender)} {last_name}".strip()
