"""The public action flow: details -> recipients and messages -> send -> thank you.

Every POST answers with a 303 redirect; the visitor's progress lives in the signed session.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers.response import Response

from ..campaigns import service as campaign_service
from ..campaigns.models import Campaign
from ..campaigns.schema import CampaignDefinition
from ..campaigns.templating import RenderError
from ..lookup import directory
from ..lookup.registry import STATES, state_info, state_name
from ..lookup.service import BadAddress, CensusUnavailable, lookup_address
from ..lookup.views import natural_key
from . import service
from .forms import ActionForm, StepForm
from .recipients import CHAMBERS_FOR_RULE, constituent_values, recipients_for

blueprint = Blueprint("actions", __name__)
DRAFT = "draft"

Page = str | tuple[str, int] | Response


def _campaign_or_404(slug: str) -> tuple[Campaign, CampaignDefinition]:
    campaign = campaign_service.get_campaign(slug)
    if campaign is None or campaign.current_version is None or campaign.status == "draft":
        abort(404)
    return campaign, campaign_service.definition_of(campaign.current_version)


def _campaign_page(
    campaign: Campaign,
    definition: CampaignDefinition,
    form: ActionForm | None,
    status: int,
    error: str | None = None,
) -> tuple[str, int]:
    state = campaign_service.public_state(campaign)
    return render_template(
        "campaign.html",
        campaign=campaign,
        definition=definition,
        state=state,
        form=form if state.actionable else None,
        error=error,
        summary_html=campaign_service.render_markdown(definition.summary),
    ), status


def _draft_for(campaign: Campaign) -> service.Draft | None:
    draft = service.Draft.from_session(session.get(DRAFT))
    if draft is None or draft.slug != campaign.slug:
        return None
    return draft


@blueprint.post("/c/<slug>/act")
def start(slug: str) -> Page:
    campaign, definition = _campaign_or_404(slug)
    if not campaign_service.public_state(campaign).actionable:
        return _campaign_page(campaign, definition, None, 409)
    form = ActionForm()
    if not form.validate_on_submit():
        return _campaign_page(campaign, definition, form, 400)
    email = (form.email.data or "").strip()
    earlier = service.recent_action(email, campaign.id)
    if earlier is not None:
        return render_template(
            "actions/already.html",
            campaign=campaign,
            definition=definition,
            when=service.format_when(earlier.created_at),
        ), 200
    assert campaign.current_version is not None  # noqa: S101 - checked by _campaign_or_404
    draft = service.Draft(
        slug=slug,
        version_id=campaign.current_version.id,
        name=" ".join(form.name.data.split()),
        email=email,
        street_address=form.street_address.data.strip(),
        phone=(form.phone.data or "").strip(),
        opt_in=bool(form.opt_in.data),
    )
    try:
        result = lookup_address(draft.street_address)
    except BadAddress as exc:
        form.street_address.errors = [str(exc)]
        return _campaign_page(campaign, definition, form, 400)
    except CensusUnavailable:
        session[DRAFT] = draft.to_session()
        flash(
            "The address service is not answering right now. Please choose your state and "
            "district below, or try again in a minute.",
            "error",
        )
        return redirect(url_for(".choose", slug=slug), 303)
    if result.confidence == "none":
        form.street_address.errors = [
            "We could not find that address. Check the house number, street, city and ZIP code, "
            "or choose your district yourself below."
        ]
        session[DRAFT] = draft.to_session()
        return _campaign_page(campaign, definition, form, 400)
    city = (
        result.matched_address.split(",")[1].strip()
        if result.matched_address and result.matched_address.count(",") >= 3
        else ""
    )
    zip_code = result.matched_address.rsplit(",", 1)[-1].strip() if result.matched_address else ""
    service.apply_lookup(draft, result, definition, city, zip_code)
    session[DRAFT] = draft.to_session()
    if result.confidence == "approximate":
        flash(
            "The Census matched a nearby or similar address. If it is not yours, go back "
            "and correct it, or choose your district yourself.",
            "warning",
        )
    for note in result.notes:
        if "could not match" in note or "no directory data" in note.lower():
            flash(note, "warning")
    return redirect(url_for(".write", slug=slug), 303)


@blueprint.route("/c/<slug>/choose", methods=["GET", "POST"])
def choose(slug: str) -> Page:
    """Manual path: the visitor picks their state and district(s) from the directory."""
    campaign, definition = _campaign_or_404(slug)
    draft = _draft_for(campaign)
    if draft is None:
        return redirect(url_for("campaigns.campaign_page", slug=slug), 303)
    allowed = CHAMBERS_FOR_RULE.get(definition.legislator_chambers or "", set())
    form = StepForm()
    state = (request.values.get("state") or draft.state or "").lower()
    if request.method == "POST" and form.validate_on_submit() and state in STATES:
        chosen = set(request.form.getlist("district"))
        people = [
            leg
            for leg in directory.legislators_in_state(state)
            if leg.chamber in allowed and f"{leg.chamber}|{leg.district}" in chosen
        ]
        if people or not allowed:
            draft.state, draft.legislator_ids, draft.confidence = (
                state.upper(),
                [p.id for p in people],
                "manual",
            )
            draft.matched_address = ""
            session[DRAFT] = draft.to_session()
            return redirect(url_for(".write", slug=slug), 303)
        flash("Please choose at least one district.", "error")
    districts = []
    if state in STATES:
        members: dict[tuple[str, str], list[str]] = {}
        for leg in directory.legislators_in_state(state):
            members.setdefault((leg.chamber, leg.district), []).append(leg.name)
        info = state_info(state)
        for row in sorted(
            directory.districts_in_state(state), key=lambda d: (d.chamber, natural_key(d.district))
        ):
            if row.chamber in allowed:
                districts.append(
                    {
                        "key": f"{row.chamber}|{row.district}",
                        "district": row.district,
                        "chamber": info.chamber_names.get(row.chamber, row.chamber),
                        "members": members.get((row.chamber, row.district), []),
                    }
                )
    states = sorted(((abbr, state_name(abbr)) for abbr in STATES), key=lambda s: s[1])
    return render_template(
        "actions/choose.html",
        campaign=campaign,
        definition=definition,
        form=form,
        states=states,
        state=state,
        districts=districts,
    )


@blueprint.get("/c/<slug>/write")
def write(slug: str) -> Page:
    campaign, definition = _campaign_or_404(slug)
    draft = _draft_for(campaign)
    if draft is None:
        return redirect(url_for("campaigns.campaign_page", slug=slug), 303)
    return _write_page(campaign, definition, draft, StepForm(), {}, None, 200)


def _write_page(
    campaign: Campaign,
    definition: CampaignDefinition,
    draft: service.Draft,
    form: StepForm,
    edits: dict[str, str],
    error: str | None,
    status: int,
) -> tuple[str, int]:
    try:
        messages = service.fill_messages(definition, draft)
    except RenderError as exc:
        messages, error = [], str(exc)
    return render_template(
        "actions/write.html",
        campaign=campaign,
        definition=definition,
        draft=draft,
        messages=messages,
        form=form,
        edits=edits,
        error=error,
        writable=[m for m in messages if m.recipient.channel],
        unreachable=[m for m in messages if not m.recipient.channel],
    ), status


@blueprint.post("/c/<slug>/send")
def send(slug: str) -> Page:
    campaign, definition = _campaign_or_404(slug)
    form = StepForm()
    key = request.form.get("submission_key", "")
    done = service.action_by_key(key) if key else None
    if done is not None and done.campaign_id == campaign.id:  # a double submit
        return redirect(url_for(".thanks", slug=slug, key=key), 303)
    draft = _draft_for(campaign)
    if draft is None or not form.validate_on_submit() or key != draft.submission_key:
        flash("Your message was not sent: the page had expired. Please start again.", "error")
        return redirect(url_for("campaigns.campaign_page", slug=slug), 303)
    if not campaign_service.public_state(campaign).actionable:
        return _campaign_page(campaign, definition, None, 409)
    version = campaign.current_version
    if version is None or version.id != draft.version_id:
        # The campaign changed while the visitor was writing: show the new text first.
        draft.version_id = version.id if version else draft.version_id
        session[DRAFT] = draft.to_session()
        return _write_page(
            campaign,
            definition,
            draft,
            form,
            {},
            "This campaign's message was just updated. Please review it and send again.",
            409,
        )
    edits = {k: v for k, v in request.form.items() if k.startswith("body-")}
    try:
        action = service.submit(campaign, version, definition, draft, edits)
    except service.AlreadyActed as exc:
        session.pop(DRAFT, None)
        return render_template(
            "actions/already.html",
            campaign=campaign,
            definition=definition,
            when=service.format_when(exc.action.created_at),
        ), 200
    except (service.ActionProblem, RenderError) as exc:
        return _write_page(campaign, definition, draft, form, edits, str(exc), 400)
    session.pop(DRAFT, None)
    return redirect(url_for(".thanks", slug=slug, key=action.submission_key), 303)


@blueprint.get("/c/<slug>/thanks/<key>")
def thanks(slug: str, key: str) -> Page:
    campaign, definition = _campaign_or_404(slug)
    action = service.action_by_key(key)
    if action is None or action.campaign_id != campaign.id:
        abort(404)
    constituent = constituent_values(
        action.constituent.name or "", action.constituent.city or "", action.constituent.state or ""
    )
    callable_recipients = service.call_recipients(action, definition)
    scripts = {}
    if definition.call_script:
        for recipient in callable_recipients:
            context = {
                "constituent": constituent,
                "target": recipient.template_values(),
                "campaign": {"title": definition.title},
            }
            try:
                scripts[recipient.id] = service.templating.render(definition.call_script, context)
            except RenderError:
                scripts[recipient.id] = ""
    called = {c.target_id for c in action.contacts if c.channel == "call"}
    written_to = [c.target_id for c in action.contacts if c.target_kind == "legislator"]
    postal = {r.id: r.postal_address for r in recipients_for(definition, written_to)}
    page_url = url_for("campaigns.campaign_page", slug=slug, _external=True)
    share_text = definition.share_text or definition.title
    share = {
        "email": f"mailto:?subject={quote(definition.title)}"
        f"&body={quote(share_text + ' ' + page_url)}",
        "x": f"https://twitter.com/intent/tweet?text={quote(share_text)}&url={quote(page_url)}",
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={quote(page_url)}",
    }
    return render_template(
        "actions/thanks.html",
        campaign=campaign,
        definition=definition,
        action=action,
        contacts=[c for c in action.contacts if c.channel != "call"],
        callable_recipients=callable_recipients,
        scripts=scripts,
        called=called,
        share=share,
        page_url=page_url,
        postal=postal,
        form=StepForm(),
        thank_you_html=campaign_service.render_markdown(definition.thank_you),
    )


@blueprint.post("/c/<slug>/thanks/<key>/called")
def called(slug: str, key: str) -> Page:
    campaign, definition = _campaign_or_404(slug)
    action = service.action_by_key(key)
    if action is None or action.campaign_id != campaign.id:
        abort(404)
    form = StepForm()
    target_id = request.form.get("target_id", "")
    recipient = next(
        (r for r in service.call_recipients(action, definition) if r.id == target_id), None
    )
    if form.validate_on_submit() and recipient is not None:
        service.log_call(action, recipient, definition)
        flash(f"Thank you for calling {recipient.name}. We have logged your call.", "success")
    else:
        flash("We could not log that call. Please try again.", "error")
    return redirect(url_for(".thanks", slug=slug, key=key), 303)
