"""A campaign's Spanish: the translations block, checked like the English (placeholders, file
lines, limits, warnings), complete (every text and each target's own words), and the campaign
as a Spanish reader sees it."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import date

import yaml

from advocacy.actions.recipients import (
    Recipient,
    constituent_values,
    salutation_in,
    template_context,
)
from advocacy.actions.samples import sample_visitors
from advocacy.campaigns.loader import load_file, parse_text, validate_data
from advocacy.campaigns.schema import CampaignDefinition, CommitteeTarget, ExecutiveTarget
from advocacy.lookup.openstates import person_from_yaml
from tests.conftest import REPO
from tests.lookup.people import Row
from tests.lookup.yaml_people import person

BUYERS = REPO / "campaigns" / "oppose-buyer-immunity.yaml"
CHILDREN = REPO / "campaigns" / "every-exploited-child-is-a-victim.yaml"

FILE = textwrap.dedent("""\
    slug: sample
    title: Sample campaign
    summary: Some words.
    status: live
    targets:
      - type: state_legislators
        chambers: both
      - type: fixed
        id: some-org
        name: Some Org
        salutation: Members of the Board
        email: office@example.org
        message:
          subject: Thank you
          body: |
            Dear Members of the Board,
            Thank you.
            {{ constituent.name }}
    message:
      subject: Hello {{ target.name }}
      mode: editable
      body: |
        Dear {{ target.salutation }},
        I live in {{ constituent.city }}.
        {{ constituent.name }}
    thank_you: Thank you for writing.
    translations:
      es:
        title: Campaña de ejemplo
        summary: Unas palabras.
        message:
          subject: Hola {{ target.name }}
          body: |
            Honorable {{ target.salutation }}:
            Vivo en {{ constituent.city }}.
            {{ constituent.name }}
        thank_you: Gracias por escribir.
        targets:
          some-org:
            salutation: Miembros de la Junta
            message:
              subject: Gracias
              body: |
                Estimados miembros de la Junta:
                Gracias.
                {{ constituent.name }}
    """)


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    return [(p.line, p.field, p.message) for p in parse_text(text, "sample.yaml").problems]


def line_of(text: str, snippet: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if snippet in line)


def test_a_complete_translation_is_valid_and_keeps_its_version_hash() -> None:
    result = parse_text(FILE, "sample.yaml")
    assert result.ok, result.problems
    assert result.definition is not None
    assert result.definition.languages == ["en", "es"]
    # A campaign without translations dumps exactly as before (its content hash is unchanged).
    plain = CampaignDefinition.model_validate(
        {k: v for k, v in yaml.safe_load(FILE).items() if k != "translations"}
    )
    assert "translations" not in plain.model_dump(mode="json")


def test_a_bad_placeholder_in_the_spanish_is_reported_at_its_line() -> None:
    broken = FILE.replace("Vivo en {{ constituent.city }}.", "Vivo en {{ constituent.ciudad }}.")
    [(line, field, message)] = problems_of(broken)
    assert field == "translations.es.message.body"
    assert line == line_of(broken, "Vivo en {{ constituent.ciudad }}")
    assert message.startswith("unknown placeholder {{ constituent.ciudad }}")


def test_a_bad_placeholder_in_a_targets_spanish_letter_is_reported_at_its_line() -> None:
    broken = FILE.replace("Gracias.\n", "Gracias, {{ target.cargo }}.\n")
    [(line, field, message)] = problems_of(broken)
    assert field == "translations.es.targets.some-org.message.body"
    assert line == line_of(broken, "Gracias, {{ target.cargo }}")
    assert "unknown placeholder {{ target.cargo }}" in message


def test_a_translation_that_leaves_out_a_targets_own_letter_is_an_error() -> None:
    lines = FILE.splitlines(keepends=True)
    start = FILE.splitlines().index("    targets:") + 1  # the translation's targets
    missing = "".join(lines[: start - 1])
    problems = problems_of(missing)
    assert problems == [
        (
            line_of(missing, "  es:"),
            "translations.es.targets",
            "targets[1] (some-org) has its own salutation and message: give them in this "
            "language as translations.es.targets.some-org.{salutation, message}",
        )
    ]
    # Only the letter left out: reported at the translation's targets, naming what is missing.
    no_letter = FILE[: FILE.index("        message:\n          subject: Gracias")]
    [(line, field, message)] = problems_of(no_letter)
    assert (line, field) == (
        no_letter.splitlines().index("    targets:") + 1,
        "translations.es.targets",
    )
    assert message.endswith("translations.es.targets.some-org.message")


def test_a_translation_must_give_every_text_the_english_has() -> None:
    broken = FILE.replace("    thank_you: Gracias por escribir.\n", "")
    [(line, field, message)] = problems_of(broken)
    assert (line, field) == (line_of(broken, "  es:"), "translations.es")
    assert message == (
        "the campaign has a thank_you: give its translation as translations.es.thank_you"
    )
    # The message itself is required.
    start = FILE.index("    message:\n      subject: Hola")
    end = FILE.index("    thank_you: Gracias")
    [(line, field, message)] = problems_of(FILE[:start] + FILE[end:])
    assert (field, message) == ("translations.es.message", "missing required field")


def test_unknown_target_keys_languages_and_words_are_errors() -> None:
    unknown = FILE.replace("      some-org:", "      other-org:")
    found = problems_of(unknown)
    assert (
        line_of(unknown, "other-org:"),
        "translations.es.targets.other-org",
    ) in {(line, field) for line, field, _ in found}
    assert any("no target with words of its own is 'other-org'" in m for _, _, m in found)

    french = FILE.replace("  es:", "  fr:")
    assert (
        line_of(french, "  fr:"),
        "translations.fr",
        "unknown language: a campaign may be translated into es (Spanish)",
    ) in problems_of(french)

    extra = FILE.replace(
        "        salutation: Miembros de la Junta",
        "        salutation: Miembros de la Junta\n        call_script: Hola.",
    )
    [(line, field, message)] = problems_of(extra)
    assert (line, field) == (line_of(extra, "      some-org:"), "translations.es.targets.some-org")
    assert message == "the English target has no call_script: translate only what it has"


def test_the_spanish_message_is_held_to_the_same_length_limit() -> None:
    long = FILE.replace("  mode: editable", "  mode: editable\n  max_body_length: 100").replace(
        "Vivo en {{ constituent.city }}.", "Vivo en {{ constituent.city }}. " + "Sí. " * 30
    )
    [(_, field, message)] = problems_of(long)
    assert field == "translations.es.message.body"
    assert "over the limit of 100" in message


def test_the_editor_data_is_checked_by_the_same_rules() -> None:
    data = yaml.safe_load(FILE)
    data["translations"]["es"]["message"]["subject"] = "Hola {{ target.nombre }}"
    [problem] = validate_data(data).problems
    assert problem.field == "translations.es.message.subject" and problem.line is None


def test_the_repository_campaigns_are_in_spanish_with_each_targets_own_words() -> None:
    for path in (BUYERS, CHILDREN):
        result = load_file(path, sample_visitors)
        assert result.ok and not result.warnings, (result.problems, result.warnings)
    definition = load_file(BUYERS).definition
    assert definition is not None
    spanish = definition.in_language("es")
    assert spanish.text_language == "es"
    assert spanish.title == "Que quien compre a un niño rinda cuentas, en todos los estados"
    assert spanish.message.subject.startswith("Le pido que nuestro estado")
    assert spanish.message.mode == "editable" and spanish.message.max_body_length == 4000
    assert spanish.thank_you is not None and spanish.thank_you.startswith("Gracias por defender")
    assert spanish.share_text is not None and spanish.share_text.endswith("Súmese:")
    ali = spanish.fixed_targets[0]
    assert ali.message is not None and ali.message.body.startswith("Estimados miembros")
    assert ali.call_script is not None and ali.call_script.startswith("Hola, me llamo")
    # Names and the contact log's salutation stay as written.
    assert ali.salutation == "Members of the Council of the American Law Institute"
    # Back to English from the Spanish copy: the campaign as written.
    assert spanish.in_language("en").title == definition.title
    assert definition.in_language("en") is definition
    assert definition.in_language("fr") is definition


def _legislator(title: str, chamber: str) -> Recipient:
    return Recipient(
        kind="legislator",
        id="ocd-person/x",
        name="Jordan Ortiz",
        last_name="Ortiz",
        title=title,
        salutation=f"{title} Ortiz",
        chamber_name=chamber,
        district="12",
    )


def test_a_spanish_letter_names_legislators_by_a_correct_spanish_title() -> None:
    definition = load_file(CHILDREN).definition
    assert definition is not None
    spanish = definition.in_language("es")
    visitor = constituent_values("Alex Rivera", "Albany", "ny")
    expected = {
        ("Representative", "House"): ("Representante Ortiz", "Cámara de Representantes"),
        # The directory does not say whether a senator is a man or a woman: neutral form.
        ("Senator", "Senate"): ("Senador/a Ortiz", "Senado"),
        ("Assembly Member", "Assembly"): ("Asambleísta Ortiz", "Asamblea"),
        ("Delegate", "House"): ("Delegado/a Ortiz", "Cámara de Representantes"),
    }
    for (title, chamber), (salutation, chamber_es) in expected.items():
        recipient = _legislator(title, chamber)
        context = template_context(spanish, visitor, recipient)
        assert context["target"]["salutation"] == salutation
        assert context["target"]["chamber"] == chamber_es
        assert context["constituent"]["state_name"] == "Nueva York"
        assert salutation_in(spanish, recipient) == salutation
        # The English campaign keeps the directory's words.
        english = template_context(definition, visitor, recipient)
        assert english["target"]["salutation"] == f"{title} Ortiz"
        assert english["constituent"]["state_name"] == "New York"


def test_the_directory_reads_the_gender_an_open_states_person_file_records() -> None:
    doc = person("nh", Row("upper", "15", "Sam", "Senator"))
    found = person_from_yaml(doc, "nh", date.today(), "Sam-Senator.yml")
    assert found is not None and found.gender == "Female"
    del doc["gender"]
    found = person_from_yaml(doc, "nh", date.today(), "Sam-Senator.yml")
    assert found is not None and found.gender == ""


def test_a_title_takes_the_gender_open_states_records_and_only_that() -> None:
    definition = load_file(CHILDREN).definition
    assert definition is not None
    spanish = definition.in_language("es")
    visitor = constituent_values("Alex Rivera", "", "nh")
    expected = {
        ("Senator", "Female"): "Senadora Ortiz",
        ("Senator", "Male"): "Senador Ortiz",
        ("Senator", "Nonbinary"): "Senador/a Ortiz",
        ("Senator", ""): "Senador/a Ortiz",
        ("Delegate", "female"): "Delegada Ortiz",
        ("Councilmember", "Male"): "Concejal Ortiz",
        ("Representative", "Female"): "Representante Ortiz",
        ("Assembly Member", "Male"): "Asambleísta Ortiz",
        ("Governor", "Female"): "Gobernadora Ortiz",
        ("Governor", ""): "Gobernador/a Ortiz",
        ("Attorney General", "Male"): "Fiscal General Ortiz",
    }
    for (title, gender), salutation in expected.items():
        recipient = replace(_legislator(title, "Senate"), gender=gender)
        words = template_context(spanish, visitor, recipient)["target"]
        assert words["salutation"] == salutation, (title, gender)
        assert words["title"] == salutation.removesuffix(" Ortiz")
        # The English never changes with it.
        assert template_context(definition, visitor, recipient)["target"]["salutation"] == (
            f"{title} Ortiz"
        )


def test_a_spanish_message_that_reads_wrong_when_filled_is_warned_at_its_line() -> None:
    # "Vivo en  ." for a visitor whose city is not known: a space before the full stop.
    spaced = FILE.replace("Vivo en {{ constituent.city }}.", "Vivo en {{ constituent.city }} .")
    own = spaced.replace("Gracias.\n", "Gracias desde {{ constituent.city }} .\n")
    result = parse_text(own, "sample.yaml", sample_visitors)
    assert result.ok, result.problems
    spanish = [w for w in result.warnings if w.field.startswith("translations.")]
    assert {(w.line, w.field) for w in spanish} == {
        (line_of(own, "Vivo en {{ constituent.city }} ."), "translations.es.message.body"),
        (
            line_of(own, "Gracias desde"),
            "translations.es.targets.some-org.message.body",
        ),
    }
    assert all(w.sample.endswith(", in Spanish") for w in spanish)
    # The English's own warning stays at its own line.
    english = {(w.line, w.field) for w in result.warnings if w not in spanish}
    assert english == {(line_of(own, "I live in"), "message.body")}


OFFICIALS = textwrap.dedent("""\
    slug: officials
    title: Officials
    summary: Words.
    status: live
    targets:
      - type: executive
        office: attorney general
        message:
          subject: For the Attorney General
          body: |
            Dear {{ target.salutation }},
            Please act.
      - type: committee
        state: NH
        chamber: lower
        committee: Judiciary
        call_script: Hello, I am calling the committee.
    message:
      subject: Please act
      mode: editable
      body: |
        Dear {{ target.salutation }},
        Please act.
    translations:
      es:
        title: Funcionarios
        summary: Palabras.
        message:
          subject: Le pido que actúe
          body: |
            Honorable {{ target.salutation }}:
            Le pido que actúe.
        targets:
          attorney general:
            message:
              subject: Para la Fiscalía General
              body: |
                Honorable {{ target.salutation }}:
                Le pido que actúe.
          Judiciary:
            call_script: Hola, llamo a la comisión.
    """)


def test_executive_and_committee_targets_are_translated_by_office_and_committee() -> None:
    result = parse_text(OFFICIALS, "officials.yaml")
    assert result.ok, result.problems
    assert result.definition is not None
    spanish = result.definition.in_language("es")
    executive, committee = spanish.targets
    assert isinstance(executive, ExecutiveTarget) and isinstance(committee, CommitteeTarget)
    assert executive.message is not None
    assert executive.message.subject == "Para la Fiscalía General"
    assert committee.call_script == "Hola, llamo a la comisión."
    official = Recipient(
        kind="executive",
        id="ocd-person/ag",
        name="Casey Reyes",
        last_name="Reyes",
        title="Attorney General",
        salutation="Attorney General Reyes",
        district="Attorney General",
    )
    context = template_context(spanish, constituent_values("Alex", "", "nh"), official)
    assert context["target"]["salutation"] == "Fiscal General Reyes"
    assert context["target"]["district"] == "Fiscal General"

    without = OFFICIALS.replace(
        "      Judiciary:\n        call_script: Hola, llamo a la comisión.\n", ""
    )
    [(line, field, message)] = problems_of(without)
    assert (line, field) == (
        without.splitlines().index("    targets:") + 1,
        "translations.es.targets",
    )
    assert message == (
        "targets[1] (Judiciary) has its own call_script: give them in this language as "
        "translations.es.targets.Judiciary.call_script"
    )
