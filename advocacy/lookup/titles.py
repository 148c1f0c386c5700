"""The directory's titles, chambers and states in the words of a campaign's other languages.

Open States gives them in English ("Senator", "House"). A Spanish letter needs Spanish words
for its placeholders (``{{ target.salutation }}`` in "Honorable {{ target.salutation }}:").
The directory does not record whether a legislator is a man or a woman, so a title whose
Spanish changes with it is written in its neutral form ("Senador/a"), never guessed; titles
that are the same for everyone ("Representante", "Asambleísta") need none.
"""

from __future__ import annotations

# English title -> Spanish, for legislators (chamber titles) and executive offices.
_TITLES_ES = {
    "Representative": "Representante",
    "Senator": "Senador/a",
    "Assembly Member": "Asambleísta",
    "Assemblymember": "Asambleísta",
    "Delegate": "Delegado/a",
    "Councilmember": "Concejal/a",
    "Governor": "Gobernador/a",
    "Lieutenant Governor": "Vicegobernador/a",
    "Attorney General": "Fiscal General",
    "Secretary of State": "Secretario/a de Estado",
    "Treasurer": "Tesorero/a",
    "Auditor": "Auditor/a",
    "Chief Election Officer": "Director/a Electoral",
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


def salutation(code: str, title: str, last_name: str) -> str:
    """How a letter in ``code`` names someone by title and family name."""
    return f"{in_language(code, 'title', title)} {last_name}".strip()
