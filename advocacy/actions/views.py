"""The public action flow: details -> recipients and messages -> send -> thank you.

Every POST that succeeds, or ends the flow (already taken part, message updated meanwhile,
district choice refused), answers with a 303 redirect to a GET page that shows the result,
so reloading or going back never posts again. Shown directly are only input the visitor
must correct (form errors, a message too long: 400) and a campaign that is no longer open
(its own page, 409). The visitor's progress lives in the signed session (kept small: ids,
not directory rows).
"""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers.response import Response

from ..campaigns import service as campaign_service
from ..campaigns.pages import public_cache_seconds, published, render_campaign
from ..campaigns.schema import CampaignDefinition
from ..campaigns.service import PublishedCampaign
from ..campaigns.templating import RenderError
from ..database import reads_without_transaction
from ..lookup import directory
from ..lookup.registry import STATES, state_info, state_name
from ..lookup.service import BadAddress, CensusUnavailable, lookup_remembered
from ..lookup.views import natural_key
from ..security import limit_submissions
from . import confirmation, service
from .forms import ActionForm, StepForm
from .models import Action
from .recipients import CHAMBERS_FOR_RULE, constituent_values, recipients_for

log = logging.getLogger(__name__)
blueprint = Blueprint("actions", __name__)
DRAFT = "draft"
ALREADY = "already_acted"

Page = str | tuple[str, int] | Response


def _campaign_or_404(
    slug: str, *, fresh: bool | None = None
) -> tuple[PublishedCampaign, CampaignDefinition]:
    # By default a form post reads the campaign's status now and a page may show it a moment
    # late (ADVOCACY_PUBLIC_CACHE_SECONDS); ``fresh`` says otherwise.
    campaign = published(slug, fresh=request.method != "GET" if fresh is None else fresh)
    if campaign is None:
        abort(404)
    return campaign, campaign.definition


def _campaign_page(
    campaign: PublishedCampaign,
    definition: CampaignDefinition,
    form: ActionForm | None,
    status: int,
    error: str | None = None,
) -> tuple[str, int]:
    state = campaign_service.public_state(campaign)
    return render_campaign(campaign, definition, state, form, error), status


def _campaigns_action(campaign: PublishedCampaign, key: str) -> Action | None:
    """The campaign's action with this submission key (its thank-you page's address)."""
    action = service.action_by_key(key)  # None for anything that is not a submission key
    return action if action is not None and action.campaign_id == campaign.id else None


def _action_or_404(campaign: PublishedCampaign, key: str) -> Action:
    action = _campaigns_action(campaign, key)
    if action is None:
        abort(404)
    return action


def _draft_for(campaign: PublishedCampaign) -> service.Draft | None:
    draft = service.Draft.from_session(session.get(DRAFT))
    if draft is None or draft.slug != campaign.slug:
        return None
    return draft


def _not_actionable(campaign: PublishedCampaign, definition: CampaignDefinition) -> tuple[str, int]:
    """The campaign stopped taking part (paused, closed...): its page, with 409, says why.

    (The one POST answered directly besides form errors: posting again changes nothing.)
    """
    flash("Nothing was sent.", "error")
    return _campaign_page(campaign, definition, None, 409)


def _already(slug: str, when: datetime) -> Response:
    session.pop(DRAFT, None)
    session[ALREADY] = {"slug": slug, "when": service.format_when(when)}
    return redirect(url_for(".already", slug=slug), 303)


@blueprint.get("/c/<slug>/already")
def already(slug: str) -> Page:
    campaign, definition = _campaign_or_404(slug)
    seen = session.get(ALREADY)
    when = seen.get("when") if isinstance(seen, dict) and seen.get("slug") == slug else None
    return render_template(
        "actions/already.html", campaign=campaign, definition=definition, when=when
    )


@blueprint.post("/c/<slug>/act")
@limit_submissions
def start(slug: str) -> Page:
    reads_without_transaction()  # nothing is written before the send
    # The address step writes nothing either: like a page, it may go by a status read a
    # moment ago (ADVOCACY_PUBLIC_CACHE_SECONDS); the send always reads it again.
    campaign, definition = _campaign_or_404(slug, fresh=False)
    if not campaign_service.public_state(campaign).actionable:
        return _not_actionable(campaign, definition)
    form = ActionForm()
    if form.is_bot:
        # The honeypot was filled in: answer like a success, keep and send nothing.
        log.info("campaign %s: honeypot filled; submission ignored", slug)
        session.pop(DRAFT, None)
        return redirect(url_for(".write", slug=slug), 303)
    if not form.validate_on_submit():
        return _campaign_page(campaign, definition, form, 400)
    email = (form.email.data or "").strip()
    draft = service.Draft(
        slug=slug,
        version_id=campaign.version_id,
        name=" ".join(form.name.data.split()),
        email=email,
        street_address=" ".join(form.street_address.data.split()),
        phone=(form.phone.data or "").strip(),
        opt_in=bool(form.opt_in.data),
    )
    try:
        # Did this person act already? Asked in the same round trip as the lookup's check.
        match, earlier = lookup_remembered(
            draft.street_address, along=service.recent_action(email, campaign.id)
        )
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
    if earlier is not None:
        return _already(slug, earlier)
    if match.confidence == "none":
        form.street_address.errors = [
            "We could not find that address. Check the house number, street, city and ZIP code, "
            "or choose your district yourself below."
        ]
        session[DRAFT] = draft.to_session()
        return _campaign_page(campaign, definition, form, 400)
    city = (
        match.matched_address.split(",")[1].strip()
        if match.matched_address and match.matched_address.count(",") >= 3
        else ""
    )
    zip_code = match.matched_address.rsplit(",", 1)[-1].strip() if match.matched_address else ""
    service.apply_lookup(draft, match, definition, city, zip_code)
    session[DRAFT] = draft.to_session()
    if match.confidence == "approximate":
        flash(
            "The Census matched a nearby or similar address. If it is not yours, go back "
            "and correct it, or choose your district yourself.",
            "warning",
        )
    for note in match.notes:
        if "could not match" in note or "no directory data" in note.lower():
            flash(note, "warning")
    return redirect(url_for(".write", slug=slug), 303)


def _picked_districts(
    state: str, allowed: set[str], values: list[str]
) -> tuple[set[tuple[str, str]], str | None]:
    """The (chamber, district) pairs chosen, or a message saying what is wrong."""
    picked = [v for v in values if v]
    if len(picked) > len(allowed):
        return set(), "Please choose only your own district: one per chamber."
    known = {(d.chamber, d.district) for d in directory.districts_in_state(state)}
    chosen: dict[str, str] = {}
    for value in picked:
        chamber, _, district = value.partition("|")
        if chamber not in allowed or (chamber, district) not in known:
            return set(), "That district is not one this campaign writes to. Please choose again."
        if chamber in chosen and chosen[chamber] != district:
            return set(), "Please choose only your own district: one per chamber."
        chosen[chamber] = district
    return set(chosen.items()), None


@blueprint.route("/c/<slug>/choose", methods=["GET", "POST"])
@limit_submissions  # POST only
def choose(slug: str) -> Page:
    """Manual path: the visitor picks their state and their district in each chamber."""
    campaign, definition = _campaign_or_404(slug)
    draft = _draft_for(campaign)
    if draft is None:
        return redirect(url_for("campaigns.campaign_page", slug=slug), 303)
    allowed = CHAMBERS_FOR_RULE.get(definition.legislator_chambers or "", set())
    form = StepForm()
    state = (request.values.get("state") or draft.state or "").lower()
    if request.method == "POST":
        shown_state = state if state in STATES else None
        if not form.validate_on_submit() or state not in STATES:
            flash("Please choose your state, then your district.", "error")
            return redirect(url_for(".choose", slug=slug, state=shown_state), 303)
        values = [
            value
            for name in request.form
            if name == "district" or name.startswith("district-")
            for value in request.form.getlist(name)
        ]
        picked, problem = _picked_districts(state, allowed, values)
        people = [
            leg
            for leg in directory.legislators_in_state(state)
            if (leg.chamber, leg.district) in picked
        ]
        if problem is None and allowed and not picked:
            problem = "Please choose your district."
        elif problem is None and allowed and not people:
            problem = "No one sits for the district you chose right now. Please check it."
        if problem is not None:
            flash(problem, "error")
            return redirect(url_for(".choose", slug=slug, state=shown_state), 303)
        draft.state, draft.legislator_ids, draft.confidence = (
            state.upper(),
            [p.id for p in people],
            "manual",
        )
        draft.matched_address = ""
        session[DRAFT] = draft.to_session()
        return redirect(url_for(".write", slug=slug), 303)
    chambers: list[dict[str, object]] = []
    if state in STATES:
        members: dict[tuple[str, str], list[str]] = {}
        for leg in directory.legislators_in_state(state):
            members.setdefault((leg.chamber, leg.district), []).append(leg.name)
        info = state_info(state)
        by_chamber: dict[str, list[dict[str, object]]] = {}
        for row in sorted(
            directory.districts_in_state(state), key=lambda d: (d.chamber, natural_key(d.district))
        ):
            if row.chamber in allowed:
                by_chamber.setdefault(row.chamber, []).append(
                    {
                        "key": f"{row.chamber}|{row.district}",
                        "district": row.district,
                        "chamber": info.chamber_names.get(row.chamber, row.chamber),
                        "members": members.get((row.chamber, row.district), []),
                    }
                )
        for chamber, rows in by_chamber.items():
            chambers.append(
                {
                    "chamber": chamber,
                    "name": info.chamber_names.get(chamber, chamber),
                    "districts": rows,
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
        chambers=chambers,
    )


@blueprint.get("/c/<slug>/write")
def write(slug: str) -> Page:
    reads_without_transaction()
    campaign, definition = _campaign_or_404(slug)
    draft = _draft_for(campaign)
    if draft is None:
        return redirect(url_for("campaigns.campaign_page", slug=slug), 303)
    return _write_page(campaign, definition, draft, StepForm(), {}, None, 200)


def _write_page(
    campaign: PublishedCampaign,
    definition: CampaignDefinition,
    draft: service.Draft,
    form: StepForm,
    edits: dict[str, str],
    error: str | None,
    status: int,
) -> tuple[str, int]:
    try:
        messages = service.fill_messages(definition, draft, max_age=public_cache_seconds())
    except RenderError as exc:
        messages, error = [], str(exc)
    capped = service.capped_targets(
        campaign.id,
        definition,
        [m.recipient.id for m in messages if m.recipient.kind == "legislator"],
        service.utcnow(),
    )
    return render_template(
        "actions/write.html",
        campaign=campaign,
        definition=definition,
        draft=draft,
        messages=messages,
        form=form,
        edits=edits,
        error=error,
        writable=[
            m
            for m in messages
            if m.recipient.channel
            and not (m.recipient.kind == "legislator" and m.recipient.id in capped)
        ],
        unreachable=[m for m in messages if not m.recipient.channel],
        capped=[
            m for m in messages if m.recipient.kind == "legislator" and m.recipient.id in capped
        ],
        confirmation_required=confirmation.required(),
    ), status


def _thanks_if_sent(campaign: PublishedCampaign, key: str) -> Response | None:
    """A double submit of a message already sent: its thank-you page."""
    if _campaigns_action(campaign, key) is None:
        return None
    return redirect(url_for(".thanks", slug=campaign.slug, key=key), 303)


@blueprint.post("/c/<slug>/send")
@limit_submissions
def send(slug: str) -> Page:
    # The campaign as read a moment ago decides; the write checks it is still so, and if
    # not, everything is decided again on what the database says now.
    return _send(slug, fresh=False)


def _send(slug: str, *, fresh: bool) -> Page:
    campaign, definition = _campaign_or_404(slug, fresh=fresh)
    form = StepForm()
    key = request.form.get("submission_key", "")
    draft = _draft_for(campaign)
    # Sending ends the draft, so a second click (or a reload) on a sent message has none:
    # its thank-you page. With the draft still there, ``submit`` finds the first action.
    if draft is None or key != draft.submission_key or not form.validate_on_submit():
        if (done := _thanks_if_sent(campaign, key)) is not None:
            return done
        flash("Your message was not sent: the page had expired. Please start again.", "error")
        return redirect(url_for("campaigns.campaign_page", slug=slug), 303)
    if not campaign_service.public_state(campaign).actionable:
        return _thanks_if_sent(campaign, key) or _not_actionable(campaign, definition)
    if campaign.version_id != draft.version_id:
        if (done := _thanks_if_sent(campaign, key)) is not None:
            return done
        # The campaign changed while the visitor was writing: show the new text first.
        draft.version_id = campaign.version_id
        session[DRAFT] = draft.to_session()
        flash(
            "Nothing was sent: this campaign's message was just updated. "
            "Please review it and send again.",
            "error",
        )
        return redirect(url_for(".write", slug=slug), 303)
    edits = {k: v for k, v in request.form.items() if k.startswith("body-")}
    try:
        service.submit(campaign, draft, edits)
    except service.CampaignChanged:
        if not fresh:
            return _send(slug, fresh=True)
        flash("Nothing was sent: this campaign changed just now. Please send again.", "error")
        return redirect(url_for(".write", slug=slug), 303)
    except service.AlreadyActed as exc:
        return _already(slug, exc.when)
    except (service.ActionProblem, RenderError) as exc:
        return _write_page(campaign, definition, draft, form, edits, str(exc), 400)
    session.pop(DRAFT, None)
    return redirect(url_for(".thanks", slug=slug, key=key), 303)


def public_url(endpoint: str, **values: str) -> str:
    """An absolute URL on the public site (ADVOCACY_SITE_URL), whatever host was asked."""
    path = url_for(endpoint, **values)
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root) :]
    return str(current_app.config["SITE_URL"]).rstrip("/") + path


@blueprint.get("/c/<slug>/thanks/<key>")
def thanks(slug: str, key: str) -> Page:
    campaign, definition = _campaign_or_404(slug)
    action = _action_or_404(campaign, key)
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
    page_url = public_url("campaigns.campaign_page", slug=slug)
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
        confirmation_state=confirmation.state_of(action),
        capped_names=[r.name for r in recipients_for(definition, action.capped_target_ids or [])],
    )


@blueprint.post("/c/<slug>/thanks/<key>/called")
@limit_submissions
def called(slug: str, key: str) -> Page:
    campaign, definition = _campaign_or_404(slug)
    action = _action_or_404(campaign, key)
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


@blueprint.get("/c/<slug>/confirm/<token>")
def confirm_page(slug: str, token: str) -> Page:
    """The link in the confirmation mail: a page with a button. Changes nothing (mail
    scanners open links)."""
    campaign, definition = _campaign_or_404(slug)
    action = confirmation.action_for_token(token)
    if action is None or action.campaign_id != campaign.id:
        return render_template(
            "actions/confirm.html", campaign=campaign, definition=definition, state="bad"
        ), 404
    state = confirmation.state_of(action)
    return render_template(
        "actions/confirm.html",
        campaign=campaign,
        definition=definition,
        state=state,
        action=action,
        token=token,
        form=StepForm(),
        email_contacts=[c for c in action.contacts if c.channel == "email"],
    ), (410 if state == "expired" else 200)


@blueprint.post("/c/<slug>/confirm/<token>")
@limit_submissions
def confirm(slug: str, token: str) -> Page:
    campaign, _definition = _campaign_or_404(slug)
    action = confirmation.action_for_token(token)
    if action is None or action.campaign_id != campaign.id:
        return redirect(url_for(".confirm_page", slug=slug, token=token), 303)
    form = StepForm()
    if not form.validate_on_submit():
        flash("Your confirmation did not go through: the page had expired. Please try again.")
        return redirect(url_for(".confirm_page", slug=slug, token=token), 303)
    key = action.submission_key
    state = confirmation.state_of(action)
    if state == "pending" and confirmation.confirm(action):
        log.info("campaign %s: action %s confirmed", slug, action.id)
        flash("Thank you for confirming. Your message is on its way.", "success")
        return redirect(url_for(".thanks", slug=slug, key=key), 303)
    if state in ("confirmed", "none"):
        return redirect(url_for(".thanks", slug=slug, key=key), 303)
    return redirect(url_for(".confirm_page", slug=slug, token=token), 303)
