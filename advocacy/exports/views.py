"""Organizer pages: the tallies dashboard, the CSV exports and the API token pages.
Views parse and render; ``tallies``, ``supporters`` and ``tokens`` decide."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers.response import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from ..admin import audit
from ..admin.auth import role_required
from ..campaigns import service as campaign_service
from ..campaigns.models import Campaign
from ..extensions import db
from ..lookup.registry import STATES, state_name
from . import charts, supporters, tallies, tokens
from .forms import RevokeForm, TokenForm

blueprint = Blueprint("exports", __name__)
Page = str | tuple[str, int] | BaseResponse
TOP_ROWS = 50  # rows of the district and legislator tables (the CSV has them all)
TOP_BARS = 15  # bars of the state chart (its table has them all)
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _campaign_or_404(slug: str) -> Campaign:
    campaign = campaign_service.get_campaign(slug)
    if campaign is None:
        abort(404)
    return campaign


def _by_argument() -> str | None:
    """``by=state,legislator`` or ``by=state&by=legislator`` (the dashboard's checkboxes)."""
    values = request.args.getlist("by")
    return ",".join(values) if values else None


def _request_from_args(campaign: Campaign) -> tallies.TallyRequest:
    return tallies.tally_request(
        campaign,
        by=_by_argument(),
        start=request.args.get("from"),
        end=request.args.get("to"),
        state=request.args.get("state"),
    )


def _state_choices() -> list[tuple[str, str]]:
    return [(abbr.upper(), state_name(abbr)) for abbr in STATES]


# -- dashboard ------------------------------------------------------------------------------------


def _is_digest_campaign(campaign: Campaign) -> bool:
    """Whether the campaign's current version sends daily digests (read from the stored
    definition as it is: the dashboard only needs this one field)."""
    version = campaign.current_version
    delivery = (version.definition or {}).get("delivery") if version is not None else None
    return isinstance(delivery, dict) and delivery.get("legislators") == "digest"


@blueprint.get("/admin/c/<slug>/tallies")
@role_required("organizer")
def dashboard(slug: str) -> Page:
    campaign = _campaign_or_404(slug)
    filters = {key: (request.args.get(key) or "").strip()[:40] for key in ("from", "to", "state")}
    context: dict[str, Any] = {
        "campaign": campaign,
        "filters": filters,
        "states": _state_choices(),
        "dimensions": [*tallies.DIMENSIONS, *tallies.MEASURES],
        "timezone": current_app.config["TIMEZONE"],
        "top_rows": TOP_ROWS,
        "top_bars": TOP_BARS,
        "problem": None,
        "figures": None,
    }
    try:
        base = tallies.tally_request(
            campaign, start=filters["from"], end=filters["to"], state=filters["state"]
        )
    except tallies.TallyProblem as exc:
        context["problem"] = str(exc)
        return render_template("exports/tallies.html", **context), 400
    series = tallies.daily_series(base)
    by_state = tallies.sorted_by_count(tallies.tally_dicts(base.with_by("state")))
    by_status = tallies.sorted_by_count(tallies.tally_dicts(base.with_by("status")))
    by_chamber = tallies.sorted_by_count(tallies.tally_dicts(base.with_by("chamber")))
    by_district = tallies.sorted_by_count(tallies.tally_dicts(base.with_by("district")))
    by_legislator = tallies.sorted_by_count(
        tallies.tally_dicts(base.with_by("legislator", "similarity"))
    )
    own_words, unmeasured = tallies.own_words_distribution(base)
    state_bars = [(row["state"] or "no state", row["contacts"]) for row in by_state[:TOP_BARS]]
    context["figures"] = {
        "totals": tallies.totals(base),
        "digests": tallies.digest_figures(base),
        "digest_campaign": _is_digest_campaign(campaign),
        "series": series,
        "by_state": by_state,
        "by_status": by_status,
        "by_chamber": by_chamber,
        "by_district": by_district,
        "by_legislator": by_legislator,
        "similarity_pending": tallies.similarity_pending(base),
        "by_source": tallies.source_figures(base),
        "own_words": own_words,
        "unmeasured": unmeasured,
        "daily_chart": charts.daily_chart(series),
        "state_chart": charts.bar_chart(
            state_bars,
            "Bar chart of contacts by state; the table below has the same figures.",
        ),
        "status_chart": charts.bar_chart(
            [(row["status"] or "unknown", row["contacts"]) for row in by_status],
            "Bar chart of contacts by delivery status; the table below has the same figures.",
        ),
    }
    context["figures"]["replies"] = tallies.reply_rates(base)
    context["export_args"] = {k: v for k, v in filters.items() if v}
    return render_template("exports/tallies.html", **context)


# -- CSV exports ---------------------------------------------------------------------------------


@blueprint.get("/campaigns/<slug>/export.csv")
@role_required("organizer")
def export_csv(slug: str) -> Page:
    """Counts of contacts grouped by ``by``, streamed as CSV (never built in memory)."""
    campaign = _campaign_or_404(slug)
    try:
        tally = _request_from_args(campaign)
    except tallies.TallyProblem as exc:
        abort(400, description=str(exc))
    audit.record("tallies.exported", campaign.slug, {**tally.describe(), "via": "web"})
    db.session.commit()
    response = Response(
        stream_with_context(tallies.csv_stream(tally)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{tallies.export_filename(tally)}"',
            **NO_STORE,
        },
    )
    return response


@blueprint.get("/campaigns/<slug>/replies.csv")
@role_required("organizer")
def replies_csv(slug: str) -> Page:
    """Each recipient's "did they reply?" answers and reply rate (counts only)."""
    return _csv_download(slug, "replies", tallies.replies_csv_stream, audited="replies.exported")


@blueprint.get("/campaigns/<slug>/digests.csv")
@role_required("organizer")
def digests_csv(slug: str) -> Page:
    """The daily digests sent and the messages each carried, streamed as CSV."""
    return _csv_download(slug, "digests", tallies.digest_csv_stream)


def _csv_download(
    slug: str,
    what: str,
    stream: Callable[[tallies.TallyRequest], Iterator[bytes]],
    audited: str | None = None,
) -> Page:
    """A campaign's figures of one kind as a CSV download, with the dashboard's filters."""
    campaign = _campaign_or_404(slug)
    try:
        tally = _request_from_args(campaign)
    except tallies.TallyProblem as exc:
        abort(400, description=str(exc))
    if audited:
        audit.record(audited, campaign.slug, {**tally.describe(), "via": "web"})
        db.session.commit()
    filename = tallies.export_filename(tally, what)
    return Response(
        stream_with_context(stream(tally)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE},
    )


@blueprint.get("/admin/c/<slug>/supporters.csv")
@role_required("admin")
def supporters_csv(slug: str) -> Page:
    """Names, emails and addresses of the people who opted in (admins only, audited)."""
    campaign = _campaign_or_404(slug)
    audit.record("supporters.exported", campaign.slug, {"via": "web"})
    db.session.commit()
    zone = str(current_app.config["TIMEZONE"])
    return Response(
        stream_with_context(supporters.csv_stream(campaign, zone)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{campaign.slug}_supporters.csv"',
            **NO_STORE,
        },
    )


# -- API tokens ----------------------------------------------------------------------------------


def _token_form() -> TokenForm:
    form = TokenForm()
    form.campaign.choices = [SelectChoice("", "Every campaign")] + [
        SelectChoice(c.slug, f"{c.title} ({c.slug})") for c in campaign_service.list_campaigns()
    ]
    return form


def _tokens_page(form: TokenForm, new: tokens.NewToken | None = None, status: int = 200) -> Page:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    body = render_template(
        "exports/tokens.html",
        form=form,
        new=new,
        tokens=tokens.visible_tokens(user),
        campaign_names=tokens.campaign_names(),
        owners=tokens.owner_emails(),
        revoke_form=RevokeForm(),
    )
    # The page that shows a new secret must not be kept by the browser or a proxy.
    return Response(body, status=status, headers=NO_STORE)


@blueprint.route("/admin/tokens", methods=["GET", "POST"])
@role_required("organizer")
def tokens_page() -> Page:
    form = _token_form()
    if request.method == "GET":
        return _tokens_page(form)
    if not form.validate_on_submit():
        return _tokens_page(form, status=400)
    campaign = None
    if form.campaign.data:
        campaign = campaign_service.get_campaign(form.campaign.data)
        if campaign is None:
            form.campaign.errors = ["That campaign no longer exists."]
            return _tokens_page(form, status=400)
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    try:
        new = tokens.create_token(user, form.name.data or "", campaign)
    except tokens.TokenProblem as exc:
        db.session.rollback()
        form.name.errors = [str(exc)]
        return _tokens_page(form, status=400)
    # Shown once, on this response; only its hash is stored.
    return _tokens_page(_token_form_blank(), new=new)


def _token_form_blank() -> TokenForm:
    form = _token_form()
    form.name.data = ""
    form.campaign.data = ""
    return form


@blueprint.post("/admin/tokens/<int:token_id>/revoke")
@role_required("organizer")
def revoke_token(token_id: int) -> Page:
    if not RevokeForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    token = tokens.manageable_token(user, token_id)
    if token is None:
        abort(404)
    if tokens.revoke_token(token):
        flash(f"Revoked the token {token.prefix}… ({token.name}).", "success")
    else:
        flash(f"The token {token.prefix}… was already revoked.", "success")
    return redirect(url_for(".tokens_page"), 303)
