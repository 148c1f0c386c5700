"""Forms of the staff pages. The campaign form only collects text: the one campaign schema
(``campaigns.loader.validate_data``) decides what is valid, exactly as for YAML files."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import Field
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..campaigns.schema import (
    CampaignDefinition,
    CommitteeTarget,
    ExecutiveTarget,
    FixedTarget,
    StateLegislatorsTarget,
)
from ..lookup.offices import office_title
from ..lookup.openstates import OFFICES
from ..lookup.registry import STATES, state_name
from .models import ROLES


def _is_yaml_mapping(form: FlaskForm, field: Field) -> None:
    """The translations text must read as YAML fields (``es:`` ...) before the schema looks."""
    text = (field.data or "").strip()
    if not text:
        return
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" on line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or "it cannot be read"
        raise ValidationError(f"This is not valid YAML{where}: {reason}.") from exc
    if not isinstance(loaded, dict):
        raise ValidationError("Write the translations as fields, starting with es:")


class _BlockDumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, so the translations read like a campaign file."""


_BlockDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    ),
)


def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class SignInForm(FlaskForm):
    email = EmailField("Email", filters=[_strip], validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])
    remember = BooleanField("Keep me signed in on this device")


class FixedTargetForm(Form):
    # Where the target is in the campaign's list (kept so a saved campaign keeps its order).
    position = HiddenField(filters=[_strip])
    id = StringField("Recipient id (lower-case words joined by hyphens)", filters=[_strip])
    name = StringField("Recipient name", filters=[_strip])
    title = StringField("Recipient title", filters=[_strip])
    organisation = StringField("Recipient organization", filters=[_strip])
    salutation = StringField("Salutation (default: title and name)", filters=[_strip])
    email = StringField("Recipient email", filters=[_strip])
    phone = StringField("Recipient phone", filters=[_strip])
    postal_address = StringField("Recipient postal address", filters=[_strip])
    message_subject = StringField(
        "Own subject for this recipient (optional)",
        filters=[_strip],
        description="With its own letter below, this recipient gets that instead of the "
        "campaign's message. Same placeholders.",
    )
    message_body = TextAreaField("Own letter for this recipient (optional)")
    call_script = TextAreaField(
        "Own phone script for this recipient (optional)",
        description="Instead of the campaign's call script, for this recipient.",
    )
    remove = BooleanField("Remove this recipient")

    def is_blank(self) -> bool:
        return not any(
            (field.data or "").strip()
            for name, field in self._fields.items()
            if name not in ("remove", "position") and isinstance(field.data, str)
        )


STATE_CHOICES = _choices(
    [("", "(choose)")]
    + sorted(((abbr.upper(), state_name(abbr)) for abbr in STATES), key=lambda item: item[1])
)
OWN_SUBJECT = "Own subject for these recipients (optional)"
OWN_SUBJECT_HELP = (
    "With its own letter below, these recipients get that instead of the campaign's message. "
    "Same placeholders."
)


class CommitteeTargetForm(Form):
    """A committee's members: the schema's ``committee`` target."""

    position = HiddenField(filters=[_strip])
    state = SelectField("Committee's state", choices=STATE_CHOICES)
    chamber = SelectField(
        "Committee's chamber",
        choices=_choices(
            [
                ("", "(choose)"),
                ("lower", "Lower chamber (House or Assembly)"),
                ("upper", "Upper chamber (Senate)"),
                ("legislature", "Joint committee, or Nebraska's or DC's single chamber"),
            ]
        ),
    )
    committee = StringField(
        "Committee name or id",
        filters=[_strip],
        description="Its name as Open States writes it (e.g. Judiciary), or its id "
        "(ocd-organization/...) when two share a name: the staff directory page of the state "
        "lists them.",
    )
    roles = SelectField(
        "Which roles",
        choices=_choices(
            [
                ("", "Every member"),
                ("chair", "Only the chair"),
                ("chair,vice chair", "The chair and the vice chair"),
                ("vice chair", "Only the vice chair"),
            ]
        ),
    )
    members = SelectField(
        "Which members",
        choices=_choices(
            [
                ("all", "All of them (the same for every visitor)"),
                ("representing_visitor", "Only those who represent the visitor"),
            ]
        ),
    )
    message_subject = StringField(OWN_SUBJECT, filters=[_strip], description=OWN_SUBJECT_HELP)
    message_body = TextAreaField("Own letter for these recipients (optional)")
    call_script = TextAreaField("Own phone script for these recipients (optional)")
    remove = BooleanField("Remove this committee")

    def is_blank(self) -> bool:
        return not any(
            (getattr(self, name).data or "").strip()
            for name in ("state", "chamber", "committee", "roles", "message_subject",
                         "message_body", "call_script")
        )  # fmt: skip


OFFICE_CHOICES = _choices(
    [("", "(choose)")] + [(office, office_title(office)) for office in OFFICES]
)


class ExecutiveTargetForm(Form):
    """An executive official of the visitor's state: the schema's ``executive`` target."""

    position = HiddenField(filters=[_strip])
    office = SelectField("Office in the visitor's state", choices=OFFICE_CHOICES)
    message_subject = StringField(OWN_SUBJECT, filters=[_strip], description=OWN_SUBJECT_HELP)
    message_body = TextAreaField("Own letter for this official (optional)")
    call_script = TextAreaField("Own phone script for this official (optional)")
    remove = BooleanField("Remove this official")

    def is_blank(self) -> bool:
        return not any(
            (getattr(self, name).data or "").strip()
            for name in ("office", "message_subject", "message_body", "call_script")
        )


class CampaignForm(FlaskForm):
    slug = StringField(
        "Slug", filters=[_strip], description="Lower-case words joined by hyphens; the page URL."
    )
    title = StringField("Title", filters=[_strip])
    summary = TextAreaField("Summary (Markdown)")
    status = SelectField(
        "Status",
        choices=_choices(
            [("draft", "Draft"), ("live", "Live"), ("paused", "Paused"), ("closed", "Closed")]
        ),
    )
    starts_at = StringField(
        "Opens at (optional)", filters=[_strip], render_kw={"type": "datetime-local"}
    )
    ends_at = StringField(
        "Closes at (optional)", filters=[_strip], render_kw={"type": "datetime-local"}
    )
    chambers = SelectField(
        "Write to the visitor's state legislators",
        choices=_choices(
            [
                ("", "No legislators"),
                ("lower", "Lower chamber (state representative; Nebraska's senator)"),
                ("upper", "Upper chamber (state senator)"),
                ("both", "Both chambers"),
            ]
        ),
    )
    chambers_position = HiddenField(filters=[_strip])
    fixed = FieldList(FormField(FixedTargetForm), min_entries=0)
    committees = FieldList(FormField(CommitteeTargetForm), min_entries=0)
    executives = FieldList(FormField(ExecutiveTargetForm), min_entries=0)
    subject = StringField("Message subject", filters=[_strip])
    body = TextAreaField("Message body")
    mode = SelectField(
        "Message mode",
        choices=_choices(
            [
                ("editable", "Editable: visitors may change the filled message"),
                ("locked", "Locked: sent exactly as written"),
                ("blank", "Blank: visitors write their own (the body is a prompt)"),
            ]
        ),
    )
    max_subject_length = StringField("Longest subject (20 to 300)", filters=[_strip])
    max_body_length = StringField("Longest body (100 to 20000)", filters=[_strip])
    call_script = TextAreaField("Call script (optional)")
    thank_you = TextAreaField("Thank-you text (optional, Markdown)")
    share_text = StringField("Share text (optional)", filters=[_strip])
    privacy_note = TextAreaField("Privacy note (optional)")
    goal = StringField(
        "Goal (optional)",
        filters=[_strip],
        description="How many people the campaign hopes will act; the public page shows the "
        "progress.",
    )
    receipt = BooleanField("Email each visitor a receipt of what was sent for them")
    delivery = SelectField(
        "How legislators and officials get the messages",
        choices=_choices(
            [
                ("each", "One email per message (the default)"),
                (
                    "digest",
                    "One daily digest per legislator or official, of all the day's messages",
                ),
            ]
        ),
        default="each",
        description="A digest is sent each day at ADVOCACY_DIGEST_HOUR (the site's time zone) "
        "with how many wrote, by district, every edited message in full, and the campaign's "
        "message once with the list of those who sent it unchanged. Fixed recipients always "
        "get one email per message.",
    )
    per_legislator_per_day = StringField(
        "Daily cap per legislator (optional)",
        filters=[_strip],
        description="At most this many messages from this campaign to any one legislator a "
        "day; later visitors that day are told theirs will not go to them.",
    )
    follow_up_days = StringField(
        'Ask "did they reply?" after this many days (optional, 1 to 90)',
        filters=[_strip],
        description="Visitors who asked to be kept informed get one email that many days after "
        "their messages were sent, asking whether each recipient replied. Empty: never asked.",
    )
    follow_up_public = BooleanField(
        "Publish each legislator's reply rate on a public page of the campaign "
        "(needs the days above)"
    )
    follow_up_min_answers = StringField(
        "Answers a legislator needs to be listed there (default 5)",
        filters=[_strip],
    )
    embed_origins = TextAreaField(
        "Partner sites that may embed the action (optional, one per line)",
        description="Each an origin such as https://partner.example.org (https, no path). "
        "Those sites can show the action on their own pages; the campaign page then gives "
        "the code to paste. Empty: no site can.",
        render_kw={"rows": 3},
    )
    image = StringField(
        "Share picture (optional)",
        filters=[_strip],
        description="Shown beside links to the campaign on social networks: a PNG, JPEG or "
        "WebP file under static/ (e.g. img/campaign.jpg), or the name an upload below puts "
        "here. Empty: the site's default picture.",
    )
    image_upload = FileField(
        "Upload a share picture",
        description="PNG, JPEG or WebP, up to 5 MB. It is cropped to 1200 × 630 pixels, the "
        "size social networks show, and takes effect when you save the campaign.",
    )
    image_alt = StringField(
        "What the share picture shows (optional)",
        filters=[_strip],
        description="For people who cannot see it. Empty: the campaign's title.",
    )
    translations = TextAreaField(
        "Translations (optional, YAML)",
        description="The campaign's texts in Spanish, for visitors who read the site in it: "
        "es: with title, summary, message (subject, body), and every other text the English "
        "has (call_script, thank_you, share_text, privacy_note), plus targets: with the own "
        "salutation, message and call script of each recipient that has them, by its id. "
        "The same placeholders as the English. See docs/campaigns.md.",
        validators=[_is_yaml_mapping],
        render_kw={"rows": 12, "spellcheck": "false"},
    )
    preview_state = SelectField("Preview as a visitor from", choices=STATE_CHOICES)
    preview_address = StringField(
        "Sample street address (optional)",
        filters=[_strip],
        validators=[Optional(), Length(max=200)],
        description="Leave empty to use the first district of the state from the directory.",
    )


class ImportForm(FlaskForm):
    yaml_file = FileField("Campaign file (.yaml)")
    yaml_text = TextAreaField("…or paste the YAML here")


class UserCreateForm(FlaskForm):
    email = EmailField("Email", filters=[_strip], validators=[DataRequired(), Length(max=320)])
    role = SelectField("Role", choices=_choices([(role, role) for role in ROLES]))
    password = PasswordField("Initial password (12 characters or more)")


class ActionOnlyForm(FlaskForm):
    """Buttons that POST: nothing but the CSRF token."""


# -- form <-> schema --------------------------------------------------------------------------

_TOP_LEVEL = (
    "slug",
    "title",
    "summary",
    "status",
    "call_script",
    "thank_you",
    "share_text",
    "privacy_note",
    "image",
    "image_alt",
)
_MESSAGE = ("subject", "body", "mode", "max_subject_length", "max_body_length")
_FIXED = (
    "id",
    "name",
    "title",
    "organisation",
    "salutation",
    "email",
    "phone",
    "postal_address",
    "call_script",
)
_COMMITTEE = ("committee", "state", "chamber", "call_script")
_EXECUTIVE = ("office", "call_script")
_OWN_MESSAGE = ("subject", "body")  # a target's own message, as message_subject/body


def _local_to_iso(value: str, zone: ZoneInfo) -> str:
    """``2026-12-01T09:00`` in the site's time zone to ISO 8601 with an offset; bad text is
    passed through so the schema reports it as a bad date beside the field."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def form_to_data(form: CampaignForm, zone: ZoneInfo) -> tuple[dict[str, Any], dict[str, Field]]:
    """The campaign mapping the form describes, and where each schema field lives in the form.

    Empty optional fields are left out, so the schema's defaults and "missing" checks apply.
    Targets keep the order of the campaign the form was made from (new ones go last); each
    row's hidden position is set to its place in the result.
    """
    data: dict[str, Any] = {}
    where: dict[str, Field] = {}
    for name in _TOP_LEVEL:
        field = getattr(form, name)
        where[name] = field
        value = (field.data or "").replace("\r\n", "\n")
        if value.strip():
            data[name] = value
    for name in ("starts_at", "ends_at"):
        field = getattr(form, name)
        where[name] = field
        if field.data:
            data[name] = _local_to_iso(field.data, zone)
    # Each target with where it was in the campaign (new rows go last), its fields and the
    # hidden field that keeps its place.
    rows: list[tuple[tuple[int, int], dict[str, Any], dict[str, Field], Field]] = []

    def place(position: str | None, number: int) -> tuple[int, int]:
        return (int(position), 0) if (position or "").isdigit() else (1_000_000, number)

    if form.chambers.data:
        fields = {"": form.chambers, ".chambers": form.chambers}
        target = {"type": "state_legislators", "chambers": form.chambers.data}
        rows.append((place(form.chambers_position.data, 0), target, fields, form.chambers_position))
    for kind, entries, names in (
        ("fixed", form.fixed, _FIXED),
        ("committee", form.committees, _COMMITTEE),
        ("executive", form.executives, _EXECUTIVE),
    ):
        for entry in entries:
            sub = entry.form
            if sub.remove.data or sub.is_blank():
                continue
            target = {"type": kind}
            # A fixed target's "needs a contact channel" goes beside its email.
            fields = {"": sub.email if kind == "fixed" else getattr(sub, names[0])}
            for name in names:
                field = getattr(sub, name)
                fields[f".{name}"] = field
                if (field.data or "").strip():
                    target[name] = field.data.replace("\r\n", "\n")
            if kind == "committee":
                fields[".roles"] = sub.roles
                if sub.roles.data:
                    target["roles"] = sub.roles.data.split(",")
                if sub.members.data and sub.members.data != "all":
                    target["members"] = sub.members.data
            own: dict[str, str] = {}
            for name in _OWN_MESSAGE:
                field = getattr(sub, f"message_{name}")
                fields[f".message.{name}"] = field
                if (field.data or "").strip():
                    own[name] = field.data.replace("\r\n", "\n")
            if own:  # one of the two alone: the schema says the other is missing
                fields[".message"] = sub.message_subject
                target["message"] = own
            rows.append((place(sub.position.data, len(rows) + 1), target, fields, sub.position))
    targets: list[dict[str, Any]] = []
    for index, (_, target, fields, kept) in enumerate(sorted(rows, key=lambda row: row[0])):
        for suffix, field in fields.items():
            where[f"targets[{index}]{suffix}"] = field
        kept.data = str(index)  # the form shown again names the places of what it saved
        targets.append(target)
    where["targets"] = form.chambers
    data["targets"] = targets
    message: dict[str, Any] = {}
    for name in _MESSAGE:
        field = getattr(form, name)
        where[f"message.{name}"] = field
        value = (field.data or "").replace("\r\n", "\n")
        if value.strip():
            message[name] = value
    where["message"] = form.subject
    data["message"] = message
    where["goal"] = form.goal
    if form.goal.data:
        data["goal"] = form.goal.data
    where["receipt"] = form.receipt
    data["receipt"] = bool(form.receipt.data)
    where["delivery"] = where["delivery.legislators"] = form.delivery
    if form.delivery.data and form.delivery.data != "each":
        data["delivery"] = {"legislators": form.delivery.data}
    where["limits"] = where["limits.per_legislator_per_day"] = form.per_legislator_per_day
    if form.per_legislator_per_day.data:
        data["limits"] = {"per_legislator_per_day": form.per_legislator_per_day.data}
    where["follow_up"] = where["follow_up.days"] = form.follow_up_days
    where["follow_up.public_results"] = form.follow_up_public
    where["follow_up.min_answers"] = form.follow_up_min_answers
    if form.follow_up_days.data:
        follow_up: dict[str, Any] = {"days": form.follow_up_days.data}
        if form.follow_up_public.data:
            follow_up["public_results"] = True
        if form.follow_up_min_answers.data:
            follow_up["min_answers"] = form.follow_up_min_answers.data
        data["follow_up"] = follow_up
    elif form.follow_up_public.data or form.follow_up_min_answers.data:
        data["follow_up"] = {}  # the schema then says the days are missing, beside them
    where["embed"] = where["embed.allowed_origins"] = form.embed_origins
    origins = (form.embed_origins.data or "").split()
    if origins:
        data["embed"] = {"allowed_origins": origins}
    where["translations"] = form.translations
    translations = (form.translations.data or "").replace("\r\n", "\n")
    if translations.strip():
        data["translations"] = yaml.safe_load(translations)  # (checked by the field)
    return data, where


def _to_local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if moment else ""


def definition_to_form_data(definition: CampaignDefinition, zone: ZoneInfo) -> dict[str, Any]:
    """Initial values of the campaign form for an existing definition."""
    values: dict[str, Any] = {name: getattr(definition, name) or "" for name in _TOP_LEVEL}
    values["starts_at"] = _to_local(definition.starts_at, zone)
    values["ends_at"] = _to_local(definition.ends_at, zone)
    values["chambers"] = definition.legislator_chambers or ""
    values["fixed"], values["committees"], values["executives"] = [], [], []
    for position, target in enumerate(definition.targets):
        if isinstance(target, StateLegislatorsTarget):
            values.setdefault("chambers_position", str(position))
            continue
        row: dict[str, Any] = {"position": str(position)} | {
            f"message_{name}": getattr(target.message, name, "") for name in _OWN_MESSAGE
        }
        if isinstance(target, FixedTarget):
            values["fixed"].append(row | {n: str(getattr(target, n) or "") for n in _FIXED})
        elif isinstance(target, CommitteeTarget):
            row |= {n: str(getattr(target, n) or "") for n in _COMMITTEE}
            row |= {"roles": ",".join(target.roles or []), "members": target.members}
            values["committees"].append(row)
        elif isinstance(target, ExecutiveTarget):
            row |= {n: str(getattr(target, n) or "") for n in _EXECUTIVE}
            values["executives"].append(row)
    for name in _MESSAGE:
        values[name] = str(getattr(definition.message, name))
    values["goal"] = str(definition.goal or "")
    values["receipt"] = definition.receipt
    values["delivery"] = definition.delivery.legislators if definition.delivery else "each"
    cap = definition.limits.per_legislator_per_day if definition.limits else None
    values["per_legislator_per_day"] = str(cap or "")
    follow_up = definition.follow_up
    values["follow_up_days"] = str(follow_up.days) if follow_up else ""
    values["follow_up_public"] = bool(follow_up and follow_up.public_results)
    values["follow_up_min_answers"] = str(follow_up.min_answers) if follow_up else ""
    embed = definition.embed
    values["embed_origins"] = "\n".join(embed.allowed_origins) if embed else ""
    translations = definition.model_dump(mode="json").get("translations")
    values["translations"] = (
        yaml.dump(translations, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
        if translations
        else ""
    )
    return values


def template_field(
    form: CampaignForm, definition: CampaignDefinition, name: str
) -> tuple[str, Field | None]:
    """The form field of the template ``name`` (``message.body``, ``targets[2].call_script``,
    ...), found by the target's position in the campaign, and a label that says whose
    template it is."""
    if name.startswith("translations."):
        return f"Translations: {name.removeprefix('translations.')}", form.translations
    own = re.fullmatch(r"targets\[(\d+)\]\.(message\.subject|message\.body|call_script)", name)
    if own is None:
        field = {"message.subject": form.subject, "message.body": form.body}.get(name)
        field = field or getattr(form, name, None)
        return (str(field.label.text) if field else name), field
    index, part = int(own.group(1)), own.group(2).replace(".", "_")
    target = definition.targets[index] if index < len(definition.targets) else None
    rows = [entry.form for entries in (form.fixed, form.committees, form.executives)
            for entry in entries]  # fmt: skip
    row = next((r for r in rows if r.position.data == str(index)), None)
    if target is None or row is None:
        return name, None
    field = getattr(row, part, None)
    what = str(field.label.text) if field else name
    if isinstance(target, FixedTarget):
        whose = target.name
    elif isinstance(target, CommitteeTarget):
        whose = f"{target.state} {target.committee} committee"
    elif isinstance(target, ExecutiveTarget):
        whose = office_title(target.office)
    else:
        return name, None
    return f"{whose}: {what}", field


class WebhookForm(FlaskForm):
    """A webhook endpoint's settings (its secret is made by the site)."""

    name = StringField(
        "Name (who receives it, e.g. the partner's CRM)",
        filters=[_strip],
        validators=[DataRequired(message="Give the endpoint a name."), Length(max=120)],
    )
    url = StringField(
        "Endpoint address",
        description="An https:// address on the public internet.",
        filters=[_strip],
        validators=[DataRequired(message="Enter the endpoint's address."), Length(max=500)],
    )
    events = SelectMultipleField(
        "Events to send",
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # unknown names are left out when saving
    )
    campaign = SelectField("Campaign", choices=[], validate_choice=False)
    include_personal = BooleanField(
        "Include personal data (the constituent's name, email and postal address)"
    )
    allow_private = BooleanField(
        "Allow a private or loopback address (only for a receiver on the site's own network)"
    )
