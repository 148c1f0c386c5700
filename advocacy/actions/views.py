"""The public action flow: campaign page -> recipients and messages -> send -> thank you.

Every POST that succeeds, or ends the flow (already taken part, message updated meanwhile,
district choice refused), answers with a 303 redirect to a GET page that shows the result,
so reloading or going back never posts again. Shown directly are only input the visitor
must correct (form errors, a message too long: 400) and a campaign that is no longer open
(its own page, 409). The visitor's progress lives in the signed session.

Every step is also served under ``/c/<slug>/embed`` (``flow_route``): the same view, in the
compact layout, framed only by the origins the campaign's ``embed`` option lists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, cast

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup
from werkzeug.wrappers.response import Response

from ..campaigns.schema import Embed
from ..campaigns.service import (
    PublishedCampaign,
    public_campaigns,
    public_state,
    public_versions,
    published_campaign,
    published_version,
    render_markdown,
)
from ..campaigns.templating import RenderError
from ..extensions import csrf
from ..i18n import gettext, language, long_date, supported
from ..lookup import reports
from ..lookup.addresses import read_typed_address
from ..lookup.directory import directory_marks, district_choices, roster_loaded_at
from ..lookup.registry import STATES, state_name
from ..lookup.reportform import ReportForm, picked_districts, report_page
from ..lookup.service import (
    BadAddress,
    CensusUnavailable,
    approximate_note,
    lookup_address,
    unavailable_sentence,
)
from ..pagecache import rendered_pages
from ..security import allow_framing, framed, limit_coach, limit_submissions
from . import confirmation, digests, operations, pages, sources
from .drafts import Draft
from .forms import ActionForm, StepForm
from .models import Action
from .recipients import lookup_chambers, people_in_districts

log = logging.getLogger(__name__)
blueprint = Blueprint("actions", __name__)
DRAFT = "draft"
ALREADY = "already_acted"

Page = str | tuple[str, int] | Response
View = Callable[..., Any]

# The steps of the flow that also run inside a partner's frame, under /c/<slug>/embed/...
EMBEDDABLE: set[str] = set()


def flow_route(rule: str, methods: list[str]) -> Callable[[View], View]:
    """Register a step of the flow twice: at ``rule`` and, for the embedded action, at the
    same path under ``/c/<slug>/embed``. One view serves both; ``g.embedded`` says which."""

    def register(view: View) -> View:
        embedded_rule = rule.replace("/c/<slug>", "/c/<slug>/embed", 1)
        for path, embedded in ((rule, False), (embedded_rule, True)):
            blueprint.add_url_rule(
                path, view_func=view, methods=methods, defaults={"embedded": embedded}
            )
        EMBEDDABLE.add(f"{blueprint.name}.{view.__name__}")
        return view

    return register


@blueprint.app_url_value_preprocessor
def _embedded_from_path(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Every request says (an app context, and so ``g``, may outlive one request in tests).
    g.embedded = bool(values.pop("embedded", False)) if values else False


@blueprint.url_defaults
def _stay_embedded(endpoint: str, values: dict[str, Any]) -> None:
    """Inside the frame, every link and redirect of the flow stays inside it (a link that
    leaves it says ``embedded=False``)."""
    if endpoint in EMBEDDABLE:
        values.setdefault("embedded", bool(g.get("embedded", False)))


@blueprint.after_request
def _frame_early_answers(response: Response) -> Response:
    """An answer given before the view read the campaign (an expired form, a rate limit) is
    framed like the step it answers, so the visitor reads it inside the partner's frame."""
    slug = (request.view_args or {}).get("slug")
    if g.get("embedded") and not framed() and isinstance(slug, str):
        campaign = published_campaign(slug)
        if campaign is not None and campaign.definition.embed is not None:
            allow_framing(campaign.definition.embed.allowed_origins)
    return response


# ``text_lang(code)`` in templates: the lang attribute of a block of a campaign's own text.
blueprint.add_app_template_global(pages.lang_attribute, "text_lang")


@blueprint.app_context_processor
def _embedded() -> dict[str, object]:
    """Inside a partner's frame, base.html leaves out the site's header and footer."""
    return {"embedded": bool(g.get("embedded", False))}


def _campaign_or_404(slug: str, code: str | None = None) -> PublishedCampaign:
    campaign = published_campaign(slug, code)
    if campaign is None:
        abort(404)
    if g.get("embedded"):
        _allow_partners(campaign.definition.embed)
    return campaign


def _allow_partners(embed: Embed | None) -> None:
    """The embedded flow: framed only by the campaign's partners, and no campaign's flow is
    embedded unless its file lists them."""
    if embed is None:
        abort(404)
    allow_framing(embed.allowed_origins)


def _draft_for(campaign: PublishedCampaign) -> Draft | None:
    draft = Draft.from_session(session.get(DRAFT))
    return draft if draft is not None and draft.slug == campaign.slug else None


def _action_or_404(campaign: PublishedCampaign, key: str) -> Action:
    action = operations.action_by_key(key)
    if action is None or action.campaign_id != campaign.id:
        abort(404)
    return action


@blueprint.before_request
def _keep_source() -> None:
    """A campaign link's ``?source=`` (or ``?refcode=``), on any of its pages opened."""
    slug = (request.view_args or {}).get("slug")
    if request.method == "GET" and isinstance(slug, str) and request.args:
        sources.remember_source(slug, request.args)


def _shared_page() -> bool:
    """Whether this visitor sees the page everyone sees (no flashed message of their own, no
    staff member's link), so it may come from the kept pages."""
    return "_flashes" not in session and "_user_id" not in session


@blueprint.get("/")
def home() -> Page:
    def source(_kept: object = None) -> object:
        versions = public_versions()
        return versions, tuple(operations.people_taking_part(id_) for id_, *_ in versions)

    def build() -> tuple[object, str]:
        made_from = source()
        cards = [pages.campaign_card(campaign) for campaign in public_campaigns()]
        return made_from, render_template("home.html", cards=cards)

    if not _shared_page():
        return build()[1]
    return rendered_pages().serve("home", source, build)


def _campaign_page(
    campaign: PublishedCampaign,
    form: ActionForm | None,
    status: int = 200,
    known: pages.KnownRecipients | None = None,
) -> tuple[str, int]:
    state = public_state(campaign)
    return render_template(
        "campaign.html",
        campaign=campaign,
        definition=campaign.definition,
        state=state,
        form=form if state.actionable else None,
        summary_html=render_markdown(campaign.definition.summary),
        card=pages.campaign_card(campaign),
        share=pages.share_card(campaign),
        known=known or pages.known_recipients(campaign.definition),
    ), status


@flow_route("/c/<slug>", methods=["GET"])
def campaign_page(slug: str) -> Page:
    if not _shared_page():
        return _campaign_page(_campaign_or_404(slug), ActionForm())

    def build() -> tuple[object, tuple[str, Embed | None]]:
        campaign = _campaign_or_404(slug)
        known = pages.known_recipients(campaign.definition)
        page, _status = _campaign_page(campaign, ActionForm(), known=known)
        source = (campaign.version_id, public_state(campaign).key)
        count = operations.people_taking_part(campaign.id)
        # The committee members it lists change with their state's roster and the day.
        made_from = (*source, count, known.states, directory_marks(known.states))
        return made_from, (page, campaign.definition.embed)

    def source(kept: object) -> object:
        found = published_version(slug)
        states = kept[3] if isinstance(kept, tuple) and len(kept) > 3 else ()
        if found is None:
            return None
        count = operations.people_taking_part(found[0])
        return (*found[1:], count, states, directory_marks(states))

    embedded = bool(g.embedded)
    kept = rendered_pages().serve(("campaign", slug, embedded), source, build)
    page, embed = cast(tuple[str, Embed | None], kept)
    if embedded:
        _allow_partners(embed)  # (a kept page: the view did not read the campaign)
    return str(page)


def _not_actionable(campaign: PublishedCampaign) -> tuple[str, int]:
    """The campaign stopped taking part (paused, closed...): its page, with 409, says why."""
    flash(gettext("Nothing was sent."), "error")
    return _campaign_page(campaign, None, 409)


def _already(slug: str, when: datetime) -> Response:
    session.pop(DRAFT, None)
    session[ALREADY] = {"slug": slug, "when": when.date().isoformat()}
    return redirect(url_for(".already", slug=slug), 303)


@flow_route("/c/<slug>/already", methods=["GET"])
def already(slug: str) -> Page:
    campaign = _campaign_or_404(slug)
    seen = session.get(ALREADY)
    when = seen.get("when") if isinstance(seen, dict) and seen.get("slug") == slug else None
    try:
        when = long_date(date.fromisoformat(when)) if isinstance(when, str) else None
    except ValueError:
        when = None
    return render_template(
        "actions/already.html", campaign=campaign, definition=campaign.definition, when=when
    )


@flow_route("/c/<slug>/act", methods=["POST"])
@csrf.exempt  # the campaign page is the same for everyone: see ActionForm
@limit_submissions
def start(slug: str) -> Page:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403)  # a post from another site's page (see ActionForm)
    campaign = _campaign_or_404(slug)
    if not public_state(campaign).actionable:
        return _not_actionable(campaign)
    form = ActionForm()
    if form.is_bot:
        # The honeypot was filled in: answer like a success, keep and send nothing.
        log.info("campaign %s: honeypot filled; submission ignored", slug)
        session.pop(DRAFT, None)
        return redirect(url_for(".write", slug=slug), 303)
    if not form.validate_on_submit():
        return _campaign_page(campaign, form, 400)
    draft = form.draft(campaign)
    draft.source = sources.remembered_source(slug) or ""
    if (when := operations.recent_action_time(draft.email, campaign.id)) is not None:
        return _already(slug, when)
    try:
        result = lookup_address(draft.street_address)
    except BadAddress as exc:
        form.street_address.errors = [str(exc)]
        return _campaign_page(campaign, form, 400)
    except CensusUnavailable as exc:
        session[DRAFT] = draft.to_session()
        flash(
            gettext(
                "%(problem)s Please choose your state and district below, or try again in a "
                "minute.",
                problem=unavailable_sentence(exc),
            ),
            "error",
        )
        return redirect(url_for(".choose", slug=slug), 303)
    if result.confidence == "none":
        form.street_address.errors = [
            gettext(
                "We could not find that address. Check the house number, street, city and ZIP "
                "code, or choose your district yourself below."
            )
        ]
        session[DRAFT] = draft.to_session()
        return _campaign_page(campaign, form, 400)
    draft.apply_lookup(result, campaign.definition)
    session[DRAFT] = draft.to_session()
    if result.confidence == "approximate":
        flash(
            gettext(
                "The Census matched a nearby or similar address. If it is not yours, go back "
                "and correct it, or choose your district yourself."
            ),
            "warning",
        )
    for note in result.notes:
        if note != approximate_note():  # said just above, with what to do
            flash(note, "warning")
    return redirect(url_for(".write", slug=slug), 303)


def _district_fields(state: str, chambers: set[str]) -> Markup:
    """The picker's district choices for ``state``, rendered once while its roster stays the
    same: every visitor the geocoder could not serve comes to the picker, all at once when it
    fails."""

    def build() -> tuple[object, Markup]:
        choices = district_choices(state, chambers)
        if not choices:
            return roster_loaded_at(state), Markup("")
        fields = render_template("actions/_district_choices.html", chambers=choices)
        return roster_loaded_at(state), Markup(fields)  # noqa: S704 - an autoescaped template

    key = ("district fields", state, tuple(sorted(chambers)))
    fields: Markup = rendered_pages().serve(key, lambda _kept: roster_loaded_at(state), build)
    return fields


@flow_route("/c/<slug>/choose", methods=["GET", "POST"])
@limit_submissions  # POST only
def choose(slug: str) -> Page:
    """Manual path: the visitor picks their state and their district in each chamber, and
    gives their city (for their message's signature)."""
    campaign = _campaign_or_404(slug)
    draft = _draft_for(campaign)
    if draft is None:
        return redirect(url_for(".campaign_page", slug=slug), 303)
    chambers = lookup_chambers(campaign.definition)
    typed = read_typed_address(draft.street_address)
    state = (request.values.get("state") or draft.state or typed.state).lower()
    city = " ".join(request.values.get("city", draft.city or typed.city).split())[:120]
    form = StepForm()
    if request.method == "POST":
        shown = {"state": state if state in STATES else None, "city": city or None}
        if not form.validate_on_submit() or state not in STATES:
            flash(gettext("Please choose your state, then your district."), "error")
            return redirect(url_for(".choose", slug=slug, **shown), 303)
        if not city:
            flash(gettext("Please tell us your city or town: it goes in your message."), "error")
            return redirect(url_for(".choose", slug=slug, **shown), 303)
        picked = [
            value
            for name in request.form
            if name == "district" or name.startswith("district-")
            for value in request.form.getlist(name)
        ]
        people, problem = people_in_districts(state, chambers, picked)
        if problem is not None:
            flash(problem, "error")
            return redirect(url_for(".choose", slug=slug, **shown), 303)
        draft.apply_choice(state, city, [person.id for person in people])
        session[DRAFT] = draft.to_session()
        return redirect(url_for(".write", slug=slug), 303)
    return render_template(
        "actions/choose.html",
        campaign=campaign,
        definition=campaign.definition,
        form=form,
        states=sorted(((abbr, state_name(abbr)) for abbr in STATES), key=lambda s: s[1]),
        state=state,
        city=city,
        district_fields=_district_fields(state, chambers) if state in STATES else "",
        # A campaign that writes to no one found by district needs only the state and city.
        needs_districts=bool(chambers),
    )


@flow_route("/c/<slug>/report", methods=["GET", "POST"])
@limit_submissions  # POST only
def report(slug: str) -> Page:
    """The visitor says the legislators found for their address are not theirs: a report for
    staff (address and districts only), then they choose their district themselves."""
    campaign = _campaign_or_404(slug)
    draft = _draft_for(campaign)
    if draft is None or not draft.matched_address or not draft.state:
        return redirect(url_for(".campaign_page", slug=slug), 303)
    shown = reports.districts_of(draft.legislator_ids)
    page = {
        "address": draft.street_address,
        "state": draft.state,
        "shown": shown,
        "action": url_for(".report", slug=slug),
        "back_url": url_for(".write", slug=slug),
    }
    if request.method == "GET":
        return report_page(**page)
    if not ReportForm().validate_on_submit():
        expired = gettext("The page had expired. Please send it again.")
        return report_page(**page, error=expired, status=400)
    try:
        reports.file_report(draft.street_address, draft.state, shown, picked_districts())
    except reports.ReportProblem as exc:
        return report_page(**page, error=str(exc), status=400)
    flash(
        gettext(
            "Thank you. Our staff will check the districts for your address. To write now, "
            "choose your district below."
        ),
        "success",
    )
    return redirect(url_for(".choose", slug=slug, state=draft.state.lower()), 303)


@flow_route("/c/<slug>/write", methods=["GET"])
def write(slug: str) -> Page:
    campaign = _campaign_or_404(slug)
    draft = _draft_for(campaign)
    if draft is None:
        return redirect(url_for(".campaign_page", slug=slug), 303)
    return _write_page(campaign, draft, StepForm())


def _write_page(
    campaign: PublishedCampaign,
    draft: Draft,
    form: StepForm,
    edits: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    checked: bool = False,
) -> tuple[str, int]:
    page = pages.write_page(campaign, draft, edits)
    return render_template(
        "actions/write.html",
        campaign=campaign,
        definition=campaign.definition,
        draft=draft,
        page=page,
        form=form,
        edits=edits or {},
        error=error or page.error,
        checked=checked,
        confirmation_required=confirmation.required(),
        # Shown again after a post (checked, or refused): still the language it was sent from.
        shown_language=_shown_language() if request.method == "POST" else language(),
    ), status


def _shown_language() -> str:
    """The language the write page was shown in (its hidden ``language`` field): what is
    checked or sent is that page's text, even if the visitor switched language since."""
    return supported(request.form.get("language")) or language()


def _edits() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k.startswith("body-")}


@flow_route("/c/<slug>/check", methods=["POST"])
@limit_submissions
def check(slug: str) -> Page:
    """ "Check my message" (the coach without JavaScript): the write page again, with the
    visitor's texts and the coach's figures for them. Shown directly, not redirected to: it
    changes and sends nothing (posting it again is harmless), and the texts could outgrow
    the session cookie."""
    campaign = _campaign_or_404(slug, _shown_language())
    draft = _draft_for(campaign)
    form = StepForm()
    if draft is None or not form.validate_on_submit():
        flash(gettext("The page had expired. Please start again."), "error")
        return redirect(url_for(".campaign_page", slug=slug), 303)
    return _write_page(campaign, draft, form, _edits(), checked=True)


@flow_route("/c/<slug>/coach", methods=["POST"])
@limit_coach
def coach(slug: str) -> tuple[Response, int]:
    """The coach's figures for one message as the visitor types (static/site.js).

    Computed here rather than in the browser: the similarity to today's messages needs them,
    and they never leave the server; one implementation also gives the same figures with and
    without JavaScript. The text is neither stored nor logged. CSRF: the page's token, sent in
    the X-CSRFToken header."""
    campaign = _campaign_or_404(slug)
    draft = _draft_for(campaign)
    asked = request.get_json(silent=True)
    if draft is None:
        return jsonify(error=gettext("Your session has ended. Please start again.")), 409
    if not isinstance(asked, dict) or not all(
        isinstance(asked.get(key), str) for key in ("field", "text")
    ):
        return jsonify(error=gettext("Send the field name and the text of one message.")), 400
    text = asked["text"]
    # Twice the limit: a browser counts characters differently; anything longer is no message.
    if len(text) > campaign.definition.message.max_body_length * 2:
        return jsonify(error=gettext("This message is too long to check.")), 400
    figures = pages.coach_for_field(campaign, draft, asked["field"], text)
    if figures is None:
        return jsonify(error=gettext("There is no such message to check.")), 404
    return jsonify(
        own_percent=figures.own_percent,
        others=figures.others,
        sentences=figures.sentences,
    ), 200


def _thanks_if_sent(campaign: PublishedCampaign, key: str) -> Response | None:
    """A double submit of a message already sent: its thank-you page."""
    action = operations.action_by_key(key)
    if action is None or action.campaign_id != campaign.id:
        return None
    return redirect(url_for(".thanks", slug=campaign.slug, key=key), 303)


@flow_route("/c/<slug>/send", methods=["POST"])
@limit_submissions
def send(slug: str) -> Page:
    shown = _shown_language()
    campaign = _campaign_or_404(slug, shown)
    form = StepForm()
    key = request.form.get("submission_key", "")
    draft = _draft_for(campaign)
    # Sending ends the draft, so a second click (or a reload) on a sent message has none:
    # its thank-you page. With the draft still there, ``submit`` finds the first action.
    if draft is None or key != draft.submission_key or not form.validate_on_submit():
        if (done := _thanks_if_sent(campaign, key)) is not None:
            return done
        flash(
            gettext("Your message was not sent: the page had expired. Please start again."),
            "error",
        )
        return redirect(url_for(".campaign_page", slug=slug), 303)
    if not public_state(campaign).actionable:
        return _thanks_if_sent(campaign, key) or _not_actionable(campaign)
    if campaign.version_id != draft.version_id:
        if (done := _thanks_if_sent(campaign, key)) is not None:
            return done
        # The campaign changed while the visitor was writing: show the new text first.
        draft.version_id = campaign.version_id
        session[DRAFT] = draft.to_session()
        flash(
            gettext(
                "Nothing was sent: this campaign's message was just updated. "
                "Please review it and send again."
            ),
            "error",
        )
        return redirect(url_for(".write", slug=slug), 303)
    edits = _edits()
    # A later step opened by a link with a code (the latest link is credited).
    draft.source = sources.remembered_source(slug) or draft.source
    draft.language = shown
    try:
        operations.submit(campaign, draft, edits)
    except operations.AlreadyActed as exc:
        return _already(slug, exc.when)
    except (operations.ActionProblem, RenderError) as exc:
        return _write_page(campaign, draft, form, edits, str(exc), 400)
    session.pop(DRAFT, None)
    sources.forget_source(slug)
    return redirect(url_for(".thanks", slug=slug, key=key), 303)


@flow_route("/c/<slug>/thanks/<key>", methods=["GET"])
def thanks(slug: str, key: str) -> Page:
    campaign = _campaign_or_404(slug)
    action = _action_or_404(campaign, key)
    return render_template(
        "actions/thanks.html",
        campaign=campaign,
        definition=campaign.definition,
        action=action,
        page=pages.thanks_page(campaign, action),
        form=StepForm(),
        thank_you_html=render_markdown(campaign.definition.thank_you),
    )


@blueprint.get("/c/<slug>/thanks/<key>/letter/<target>")
def letter(slug: str, key: str, target: str) -> Page:
    """A letter the visitor prints and posts, laid out for one US Letter page."""
    campaign = _campaign_or_404(slug)
    action = _action_or_404(campaign, key)
    letter = pages.letter_page(campaign, action, target)
    if letter is None:
        abort(404)
    return render_template(
        "actions/letter.html", campaign=campaign, definition=campaign.definition, letter=letter
    )


@flow_route("/c/<slug>/thanks/<key>/called", methods=["POST"])
@limit_submissions
def called(slug: str, key: str) -> Page:
    campaign = _campaign_or_404(slug)
    action = _action_or_404(campaign, key)
    form = StepForm()
    target_id = request.form.get("target_id", "")
    recipients = operations.call_recipients(action, campaign.definition)
    recipient = next((r for r in recipients if r.id == target_id), None)
    if form.validate_on_submit() and recipient is not None:
        operations.log_call(action, recipient, campaign.definition)
        flash(
            gettext(
                "Thank you for calling %(name)s. We have logged your call.", name=recipient.name
            ),
            "success",
        )
    else:
        flash(gettext("We could not log that call. Please try again."), "error")
    return redirect(url_for(".thanks", slug=slug, key=key), 303)


@blueprint.get("/c/<slug>/confirm/<token>")
def confirm_page(slug: str, token: str) -> Page:
    """The link in the confirmation mail: a page with a button. Changes nothing (mail
    scanners open links)."""
    campaign = _campaign_or_404(slug)
    action = confirmation.action_for_token(token)
    if action is None or action.campaign_id != campaign.id:
        return render_template(
            "actions/confirm.html", campaign=campaign, definition=campaign.definition, state="bad"
        ), 404
    state = confirmation.state_of(action)
    return render_template(
        "actions/confirm.html",
        campaign=campaign,
        definition=campaign.definition,
        state=state,
        action=action,
        token=token,
        form=StepForm(),
        email_contacts=[c for c in action.contacts if c.channel == "email"],
    ), (410 if state == "expired" else 200)


@blueprint.post("/c/<slug>/confirm/<token>")
@limit_submissions
def confirm(slug: str, token: str) -> Page:
    campaign = _campaign_or_404(slug)
    action = confirmation.action_for_token(token)
    if action is None or action.campaign_id != campaign.id:
        return redirect(url_for(".confirm_page", slug=slug, token=token), 303)
    if not StepForm().validate_on_submit():
        flash(
            gettext("Your confirmation did not go through: the page had expired. Please try again.")
        )
        return redirect(url_for(".confirm_page", slug=slug, token=token), 303)
    key = action.submission_key
    state = confirmation.state_of(action)
    if state == "pending" and confirmation.confirm(action):
        log.info("campaign %s: action %s confirmed", slug, action.id)
        flash(gettext("Thank you for confirming. Your message is on its way."), "success")
        return redirect(url_for(".thanks", slug=slug, key=key), 303)
    if state in ("confirmed", "none"):
        return redirect(url_for(".thanks", slug=slug, key=key), 303)
    return redirect(url_for(".confirm_page", slug=slug, token=token), 303)


@blueprint.get("/digest/<token>")
def digest_page(token: str) -> Page:
    """A digest as its recipient's office reads it on the web: read-only, no sign-in, known
    only by the unguessable address in the digest email; never indexed."""
    digest = digests.digest_by_token(token)
    if digest is None:
        abort(404)
    response = make_response(
        render_template("actions/digest.html", content=digests.digest_content(digest))
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
