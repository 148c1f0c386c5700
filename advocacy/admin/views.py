"""Staff pages under /admin: sign-in, campaigns (editor, preview, status, YAML), operations,
directory, users and the audit log. Views parse and render; the services decide."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers.response import Response as BaseResponse

from ..actions.samples import sample_visitors
from ..actions.webhooks import EVENTS as WEBHOOK_EVENTS
from ..actions.webhooks import WebhookEndpoint
from ..campaigns import service as campaign_service
from ..campaigns import shareimage
from ..campaigns.loader import Problem, TemplateWarning, template_warnings, validate_data
from ..campaigns.models import Campaign
from ..campaigns.schema import CampaignDefinition
from ..extensions import db
from ..images.pictures import PictureProblem
from ..lookup import reports
from ..security import limit_sign_in
from . import audit, editing, operations, users, webhooks
from .auth import AccountProblem, role_required, safe_next, sign_in
from .forms import (
    ActionOnlyForm,
    CampaignForm,
    ImportForm,
    SignInForm,
    UserCreateForm,
    WebhookForm,
    definition_to_form_data,
    form_to_data,
    template_field,
)
from .models import ROLES, User

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
Page = str | tuple[str, int] | BaseResponse
MAX_IMPORT_BYTES = 256 * 1024


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _campaign_or_404(slug: str) -> Campaign:
    campaign = campaign_service.get_campaign(slug)
    if campaign is None:
        abort(404)
    return campaign


def _see_other(endpoint: str, **values: Any) -> BaseResponse:
    return redirect(url_for(endpoint, **values), 303)


# -- signing in and out -----------------------------------------------------------------------


@blueprint.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
@limit_sign_in  # POST only
def sign_in_page() -> Page:
    form = SignInForm()
    target = safe_next(request.args.get("next"), url_for(".campaigns"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(target, 303)
    if form.validate_on_submit():
        user, problem = sign_in(form.email.data or "", form.password.data or "", form.remember.data)
        if user is not None:
            return redirect(target, 303)
        status = 429 if problem and problem.startswith("Too many") else 401
        return render_template("admin/sign_in.html", form=form, problem=problem), status
    status = 400 if request.method == "POST" else 200
    return render_template("admin/sign_in.html", form=form, problem=None), status


@blueprint.post("/sign-out")
def sign_out() -> Page:
    if ActionOnlyForm().validate_on_submit() and current_user.is_authenticated:
        audit.record("sign_out", current_user.email)
        db.session.commit()
        logout_user()
        flash("You are signed out.", "success")
    return _see_other("actions.home")


@blueprint.get("/")
@role_required("organizer")
def index() -> Page:
    return _see_other(".campaigns")


# -- campaigns --------------------------------------------------------------------------------


@blueprint.get("/campaigns")
@role_required("organizer")
def campaigns() -> Page:
    show_archived = request.args.get("archived") == "1"
    rows = [
        c for c in campaign_service.list_campaigns() if (c.archived_at is not None) == show_archived
    ]
    return render_template(
        "admin/campaigns.html",
        campaigns=rows,
        show_archived=show_archived,
        public_state=campaign_service.public_state,
    )


def _apply_problems(
    form: CampaignForm, where: dict[str, Any], problems: list[Problem]
) -> list[str]:
    """Put each problem beside its field; return those that belong to no single field."""
    unplaced = []
    for problem in problems:
        message = problem.message
        if message == "missing required field":
            message = "Please fill this in."
        if problem.field == "targets" and "at least 1" in message:
            message = "Choose the visitor's legislators or add at least one other recipient."
        field = where.get(problem.field)
        if problem.field.startswith("translations."):
            # One text box holds every translation: the problem says where in it.
            field = where.get("translations")
            message = f"{problem.field.removeprefix('translations.')}: {message}"
        elif field is None and "." in problem.field:
            field = where.get(problem.field.rsplit(".", 1)[0])
        if field is None:
            unplaced.append(f"{problem.field or 'campaign'}: {message}")
            continue
        field.errors = [*list(field.errors or []), message]
    return unplaced


@dataclass(frozen=True)
class _ShownWarning:
    """A template warning as the editor lists it: whose template, linked to its field."""

    label: str
    field_id: str | None
    warning: TemplateWarning


def _shown_warnings(
    form: CampaignForm, definition: CampaignDefinition, warnings: list[TemplateWarning]
) -> list[_ShownWarning]:
    shown = []
    for warning in warnings:
        label, field = template_field(form, definition, warning.field)
        shown.append(_ShownWarning(label, field.id if field else None, warning))
    return shown


def _editor(campaign: Campaign | None) -> Page:
    """Shared by the new and edit pages: preview or save the form. Warnings about how the
    templates read once filled are shown with the form; they never stop a save."""
    zone = _zone()
    if request.method == "GET":
        if campaign is None or campaign.current_version is None:
            form = CampaignForm(data={"status": "draft", "mode": "editable", "receipt": True,
                                      "max_subject_length": "200", "max_body_length": "5000",
                                      "chambers": "lower"})  # fmt: skip
            warnings: list[_ShownWarning] = []
        else:
            current = campaign_service.definition_of(campaign.current_version)
            form = CampaignForm(data=definition_to_form_data(current, zone))
            found = template_warnings(current, sample_visitors)
            warnings = _shown_warnings(form, current, found)
        # One empty row of each kind, to add a recipient without JavaScript.
        form.fixed.append_entry()
        form.committees.append_entry()
        form.executives.append_entry()
        return _render_editor(form, campaign, [], None, None, warnings)
    form = CampaignForm()
    if not form.validate_on_submit():
        return _render_editor(form, campaign, [], None, None, status=400)
    if not _take_upload(form, campaign):
        return _render_editor(form, campaign, [], None, None, status=400)
    data, where = form_to_data(form, zone)
    result = validate_data(data, samples=sample_visitors)
    if result.problems or result.definition is None:
        unplaced = _apply_problems(form, where, result.problems)
        return _render_editor(form, campaign, unplaced, None, None, status=400)
    definition = result.definition
    warnings = _shown_warnings(form, definition, result.warnings)
    if "preview" in request.form:
        previews, note = operations.preview_messages(
            definition, form.preview_state.data or "", form.preview_address.data or None
        )
        return _render_editor(form, campaign, [], previews, note, warnings)
    try:
        if campaign is None:
            campaign = editing.create_campaign(definition)
            flash(f"Created {campaign.slug} (version 1).", "success")
        elif editing.update_campaign(campaign, definition):
            version = campaign.current_version.number if campaign.current_version else "?"
            flash(f"Saved: {campaign.slug} is now at version {version}.", "success")
        else:
            flash("Nothing changed, so no new version was made.", "success")
    except editing.EditProblem as exc:
        db.session.rollback()
        unplaced = _apply_problems(form, where, exc.problems) if exc.problems else [str(exc)]
        return _render_editor(form, campaign, unplaced, None, None, warnings, status=409)
    if warnings:  # saved; the editor lists them again from the saved version
        count = len(warnings)
        flash(
            f"{count} warning{'s' if count > 1 else ''} about how the message reads for some "
            "visitors: see the list below.",
            "warning",
        )
        return _see_other(".edit_campaign", slug=campaign.slug)
    return _see_other(".campaign", slug=campaign.slug)


def _take_upload(form: CampaignForm, campaign: Campaign | None) -> bool:
    """Keep an uploaded share picture and put its name in the form's picture field. False
    (with the reason beside the upload field) when the file cannot be used."""
    upload = form.image_upload.data
    if upload is None or not getattr(upload, "filename", ""):
        return True
    if campaign is not None and campaign.source == "file":
        form.image.errors = [
            "This campaign is defined by its file: put the picture under static/ and name it "
            "in the file's image: field."
        ]
        return False
    # The file's name and declared type are the browser's say-so: only its bytes are used.
    data = upload.read(shareimage.MAX_BYTES + 1)
    try:
        value = editing.upload_share_image(campaign.slug if campaign else form.slug.data, data)
    except PictureProblem as exc:
        db.session.rollback()
        form.image_upload.errors = [f"This picture cannot be used: {exc}."]
        return False
    form.image.data = value
    if "save" not in request.form:
        flash("Picture uploaded. Save the campaign to use it.", "success")
    return True


def _render_editor(
    form: CampaignForm,
    campaign: Campaign | None,
    problems: list[str],
    previews: list[operations.PreviewMessage] | None,
    preview_note: str | None,
    warnings: list[_ShownWarning] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    image = form.image.data or ""
    preview = None
    if image and not form.image.errors and shareimage.image_problem(image) is None:
        preview = shareimage.stored_name(image)
    return render_template(
        "admin/edit.html",
        form=form,
        image_preview=preview,
        campaign=campaign,
        problems=problems,
        warnings=warnings or [],
        previews=previews,
        preview_note=preview_note,
        timezone=current_app.config["TIMEZONE"],
        read_only=campaign is not None and campaign.source == "file",
    ), status


@blueprint.route("/campaigns/new", methods=["GET", "POST"])
@role_required("manager")
def new_campaign() -> Page:
    return _editor(None)


@blueprint.route("/c/<slug>/edit", methods=["GET", "POST"])
@role_required("manager")
def edit_campaign(slug: str) -> Page:
    campaign = _campaign_or_404(slug)
    if request.method == "POST" and campaign.source == "file" and "preview" not in request.form:
        flash(
            "This campaign is defined by its file. Edit the file, or take it over first.", "error"
        )
        return _see_other(".edit_campaign", slug=slug)
    return _editor(campaign)


@blueprint.get("/c/<slug>")
@role_required("organizer")
def campaign(slug: str) -> Page:
    campaign = _campaign_or_404(slug)
    return render_template(
        "admin/campaign.html",
        campaign=campaign,
        state=campaign_service.public_state(campaign),
        summary=operations.delivery_summary(campaign),
        held=operations.held_recipients(campaign),
        committee_problems=operations.committee_problems(campaign),
        embed_snippet=operations.embed_snippet(campaign),
        transitions=editing.TRANSITIONS.get(campaign.status, {}),
        status_order=operations.CONTACT_STATUS_ORDER,
        form=ActionOnlyForm(),
    )


def _campaign_post(slug: str, operation: str) -> BaseResponse:
    campaign = _campaign_or_404(slug)
    if not ActionOnlyForm().validate_on_submit():
        abort(400)
    try:
        if operation == "status":
            verb = request.form.get("verb", "")
            new_status = editing.change_status(campaign, verb)
            flash(f"{campaign.slug} is now {new_status}.", "success")
        elif operation == "clone":
            copy = editing.clone_campaign(campaign)
            flash(f"Copied to {copy.slug} (a draft).", "success")
            return _see_other(".edit_campaign", slug=copy.slug)
        elif operation == "archive":
            editing.archive_campaign(campaign)
            flash(f"{campaign.slug} is closed and archived.", "success")
        elif operation == "restore":
            editing.restore_campaign(campaign)
            flash(f"{campaign.slug} is back in the list (still closed).", "success")
        elif operation == "take-over":
            editing.take_over(campaign)
            flash(f"The site now owns {campaign.slug}; its file is ignored from now on.", "success")
        elif operation == "retry":
            count = operations.retry_campaign_dead_letters(campaign)
            flash(f"Requeued {count} dead letter(s).", "success")
        else:
            abort(404)
    except editing.EditProblem as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return _see_other(".campaign", slug=slug)


@blueprint.post("/c/<slug>/<any(status, clone, archive, restore, 'take-over'):operation>")
@role_required("manager")
def campaign_operation(slug: str, operation: str) -> Page:
    return _campaign_post(slug, operation)


@blueprint.post("/c/<slug>/retry")
@role_required("manager")
def retry_dead_letters(slug: str) -> Page:
    return _campaign_post(slug, "retry")


@blueprint.post("/c/<slug>/held")
@role_required("manager")
def decide_held(slug: str) -> Page:
    """Send anyway, or discard, the messages held because their recipient left office."""
    campaign = _campaign_or_404(slug)
    if not ActionOnlyForm().validate_on_submit():
        abort(400)
    decision = request.form.get("decision", "")
    if decision not in ("send", "discard"):
        abort(400)
    name, count = operations.decide_held(campaign, request.form.get("target_id", ""), decision)
    if not count:
        flash("No held messages to that recipient: someone decided them already.", "error")
    elif decision == "send":
        flash(
            f"{count} held message(s) to {name} are back in the queue and will be sent.", "success"
        )
    else:
        flash(f"{count} held message(s) to {name} were discarded and will not be sent.", "success")
    return _see_other(".campaign", slug=slug)


@blueprint.get("/c/<slug>/export.yaml")
@role_required("manager")
def export_campaign(slug: str) -> Page:
    campaign = _campaign_or_404(slug)
    try:
        text = editing.export_yaml(campaign)
    except editing.EditProblem as exc:
        flash(str(exc), "error")
        return _see_other(".campaign", slug=slug)
    return Response(
        text,
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{campaign.slug}.yaml"'},
    )


@blueprint.route("/campaigns/import", methods=["GET", "POST"])
@role_required("manager")
def import_campaign() -> Page:
    form = ImportForm()
    problems: list[str] = []
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        text = form.yaml_text.data or ""
        upload = form.yaml_file.data
        if upload is not None and getattr(upload, "filename", ""):
            raw = upload.read(MAX_IMPORT_BYTES + 1)
            if len(raw) > MAX_IMPORT_BYTES:
                problems = ["The file is too large for a campaign (256 KB at most)."]
            else:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    problems = ["The file is not UTF-8 text."]
        if not problems and not text.strip():
            problems = ["Choose a file or paste the YAML."]
        if not problems:
            try:
                imported, created = editing.import_yaml(text.replace("\r\n", "\n"))
            except editing.EditProblem as exc:
                db.session.rollback()
                problems = [str(p) for p in exc.problems] or [str(exc)]
            else:
                flash(
                    f"{'Created' if created else 'Updated'} {imported.slug} from YAML.", "success"
                )
                return _see_other(".campaign", slug=imported.slug)
    status = 400 if problems else 200
    return render_template("admin/import.html", form=form, problems=problems), status


# -- directory --------------------------------------------------------------------------------


@blueprint.get("/directory")
@role_required("organizer")
def directory_page() -> Page:
    lines, total = operations.recent_changes()
    return render_template(
        "admin/directory.html",
        ages=operations.directory_ages(),
        lines=lines,
        total=total,
        recent_days=operations.RECENT_CHANGE_DAYS,
        stale_days=operations.STALE_DAYS,
        bouncing=operations.bouncing_addresses(),
        bounce_addresses_on=operations.bounce_addresses_on(),
        form=ActionOnlyForm(),
    )


@blueprint.get("/directory/<state>")
@role_required("organizer")
def directory_state(state: str) -> Page:
    page = operations.state_directory(state)
    if page is None:
        abort(404)
    return render_template("admin/directory_state.html", page=page)


@blueprint.post("/directory/refresh")
@role_required("manager")
def refresh_directory() -> Page:
    if not ActionOnlyForm().validate_on_submit():
        abort(400)
    known = {age.state for age in operations.directory_ages()}
    chosen = [s.upper() for s in request.form.getlist("state") if s.upper() in known]
    if not chosen:
        flash("Choose at least one state to refresh.", "error")
        return _see_other(".directory_page")
    for result in operations.refresh_directory(chosen):
        if result.ok:
            flash(
                f"{result.state.upper()}: {result.count} legislators loaded; "
                f"{len(result.joined)} joined, {len(result.left)} left, "
                f"{len(result.changed)} changed.",
                "success",
            )
        elif result.refused:
            flash(result.error or "", "error")
        else:
            flash(
                f"{result.state.upper()}: not refreshed, previous roster kept ({result.error}).",
                "error",
            )
    return _see_other(".directory_page")


# -- wrong-district reports -------------------------------------------------------------------


@blueprint.get("/district-reports")
@role_required("organizer")
def district_reports() -> Page:
    lines, overrides = operations.district_reports()
    return render_template(
        "admin/district_reports.html", lines=lines, overrides=overrides, form=ActionOnlyForm()
    )


@blueprint.post("/district-reports/<int:report_id>")
@role_required("manager")
def decide_report(report_id: int) -> Page:
    if not ActionOnlyForm().validate_on_submit():
        abort(400)
    decision = request.form.get("decision", "")
    try:
        if decision == "approve":
            report = operations.approve_report(report_id)
            flash(
                f"Approved: {report.address} now gets the districts the visitor chose.", "success"
            )
        elif decision == "dismiss":
            report = operations.dismiss_report(report_id)
            flash(f"Dismissed the report for {report.address}.", "success")
        else:
            abort(400)
    except reports.ReportProblem as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return _see_other(".district_reports")


@blueprint.post("/district-reports/overrides/remove")
@role_required("manager")
def remove_override() -> Page:
    if not ActionOnlyForm().validate_on_submit():
        abort(400)
    address = request.form.get("address", "")
    try:
        operations.remove_override(address)
    except reports.ReportProblem as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(f"{address} is looked up with the Census again.", "success")
    return _see_other(".district_reports")


# -- users and audit (admins) -----------------------------------------------------------------


@blueprint.route("/users", methods=["GET", "POST"])
@role_required("admin")
def users_page() -> Page:
    form = UserCreateForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                user = users.create_user(
                    form.email.data or "", form.role.data or "", form.password.data or ""
                )
            except AccountProblem as exc:
                db.session.rollback()
                form.email.errors = [*form.email.errors, str(exc)]
                status = 400
            else:
                flash(f"Created {user.email} ({user.role}).", "success")
                return _see_other(".users_page")
        else:
            status = 400
    return render_template(
        "admin/users.html",
        form=form,
        users=users.list_users(),
        roles=ROLES,
        action_form=ActionOnlyForm(),
    ), status


@blueprint.post("/users/<int:user_id>")
@role_required("admin")
def change_user(user_id: int) -> Page:
    if not ActionOnlyForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        if "role" in request.form:
            users.set_role(user, request.form["role"])
            flash(f"{user.email} is now {user.role}.", "success")
        elif "active" in request.form:
            users.set_active(user, request.form["active"] == "1")
            flash(f"{user.email} is {'active' if user.active else 'disabled'}.", "success")
    except AccountProblem as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return _see_other(".users_page")


@blueprint.get("/audit")
@role_required("admin")
def audit_page() -> Page:
    before = request.args.get("before", type=int)
    action = (request.args.get("action") or "").strip()[:64] or None
    entries = audit.recent_entries(limit=100, before_id=before, action=action)
    actions = sorted(set(db.session.scalars(select(audit.AuditEntry.action).distinct())))
    return render_template("admin/audit.html", entries=entries, action=action, actions=actions)


# -- webhooks ---------------------------------------------------------------------------------


def _webhook_form(endpoint: WebhookEndpoint | None = None) -> WebhookForm:
    form = WebhookForm(obj=None)
    form.events.choices = list(WEBHOOK_EVENTS.items())
    campaigns = campaign_service.list_campaigns()
    form.campaign.choices = [("", "Every campaign")] + [
        (str(campaign.id), campaign.title or campaign.slug) for campaign in campaigns
    ]
    if endpoint is not None and request.method == "GET":
        form.name.data = endpoint.name
        form.url.data = endpoint.url
        form.events.data = list(endpoint.events)
        form.campaign.data = str(endpoint.campaign_id or "")
        form.include_personal.data = endpoint.include_personal
        form.allow_private.data = endpoint.allow_private
    return form


def _webhook_settings(form: WebhookForm) -> webhooks.EndpointSettings:
    campaign = form.campaign.data or ""
    # "" is every campaign; anything but a number names none (refused when saving).
    campaign_id = int(campaign) if campaign.isdigit() else (-1 if campaign else None)
    return webhooks.EndpointSettings(
        name=form.name.data or "",
        url=form.url.data or "",
        events=list(form.events.data or []),
        campaign_id=campaign_id,
        include_personal=bool(form.include_personal.data),
        allow_private=bool(form.allow_private.data),
    )


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _save_webhook(form: WebhookForm, endpoint: WebhookEndpoint | None) -> WebhookEndpoint | None:
    """Validate and save; None (with the reason on the form) when it cannot be saved."""
    if not form.validate_on_submit():
        return None
    try:
        if endpoint is None:
            return webhooks.create_endpoint(_webhook_settings(form))
        webhooks.change_endpoint(endpoint, _webhook_settings(form))
        return endpoint
    except webhooks.EndpointProblem as exc:
        db.session.rollback()
        field = getattr(form, exc.field)
        field.errors = [*field.errors, str(exc)]
        return None


@blueprint.route("/webhooks", methods=["GET", "POST"])
@role_required("admin")
def webhooks_page() -> Page:
    form = _webhook_form()
    if request.method == "POST":
        endpoint = _save_webhook(form, None)
        if endpoint is not None:
            flash(f"Added the endpoint {endpoint.name}. Its signing secret is below.", "success")
            return _see_other(".webhook_page", endpoint_id=endpoint.id)
    endpoints = webhooks.list_endpoints()
    return render_template(
        "admin/webhooks.html",
        form=form,
        endpoints=endpoints,
        events=WEBHOOK_EVENTS,
        campaigns={campaign.id: campaign for campaign in campaign_service.list_campaigns()},
        http_allowed=webhooks.http_allowed(),
    ), (400 if request.method == "POST" else 200)


@blueprint.route("/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@role_required("admin")
def webhook_page(endpoint_id: int) -> Page:
    endpoint = _endpoint_or_404(endpoint_id)
    form = _webhook_form(endpoint)
    if request.method == "POST":
        if _save_webhook(form, endpoint) is not None:
            flash(f"Saved the endpoint {endpoint.name}.", "success")
            return _see_other(".webhook_page", endpoint_id=endpoint.id)
    campaign = db.session.get(Campaign, endpoint.campaign_id) if endpoint.campaign_id else None
    return render_template(
        "admin/webhook.html",
        endpoint=endpoint,
        campaign=campaign,
        form=form,
        action_form=ActionOnlyForm(),
        events=WEBHOOK_EVENTS,
        counts=webhooks.queue_counts(endpoint),
        attempts=webhooks.last_attempts(endpoint),
    ), (400 if request.method == "POST" else 200)


@blueprint.post("/webhooks/<int:endpoint_id>/<operation>")
@role_required("admin")
def webhook_operation(endpoint_id: int, operation: str) -> Page:
    if operation not in ("enable", "disable", "secret", "delete"):
        abort(404)
    if not ActionOnlyForm().validate_on_submit():
        abort(400)
    endpoint = _endpoint_or_404(endpoint_id)
    name = endpoint.name
    try:
        if operation in ("enable", "disable"):
            webhooks.set_enabled(endpoint, operation == "enable")
            flash(f"{name} is {operation}d.", "success")
        elif operation == "secret":
            webhooks.new_endpoint_secret(endpoint)
            flash(f"{name} has a new signing secret; give it to the receiver.", "success")
        else:
            webhooks.delete_endpoint(endpoint)
            flash(f"Deleted the endpoint {name} and the messages waiting for it.", "success")
            return _see_other(".webhooks_page")
    except webhooks.EndpointProblem as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return _see_other(".webhook_page", endpoint_id=endpoint_id)
