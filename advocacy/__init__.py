"""Constituent advocacy action site."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_login import current_user

from .config import build_config, project_root


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` overrides the environment (used by tests)."""
    root = project_root()
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
        instance_relative_config=True,
    )
    app.config.update(build_config(config, os.environ, Path(app.instance_path)))
    app.instance_path = app.config["INSTANCE_DIR"]

    from .observability import init_app as init_observability

    init_observability(app)  # logs with request ids, request latency
    from .health import blueprint as health_blueprint

    app.register_blueprint(health_blueprint)  # /healthz, /readyz, /metrics

    from .extensions import csrf, db, login_manager, mail, migrate

    db.init_app(app)
    from .database import init_app as init_database

    init_database(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    mail.init_app(app)
    from .i18n import init_app as init_languages

    init_languages(app)  # English and Spanish: the visitor's choice or their browser's
    csrf.init_app(app)
    # Templates get the lazy ``current_user`` proxy instead of a user loaded for every
    # rendering: a public page that never asks about a user must not load one (Flask-Login's
    # session protection would then rewrite every visitor's session cookie).
    login_manager.init_app(app, add_context_processor=False)
    app.context_processor(lambda: {"current_user": current_user})
    login_manager.login_view = "admin.sign_in"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.session_protection = "basic"

    from . import models  # noqa: F401 - register every table with the metadata
    from .actions.followup_views import blueprint as followups_blueprint
    from .actions.views import blueprint as actions_blueprint
    from .errors import register_error_handlers
    from .lookup.api import blueprint as lookup_api_blueprint

    app.register_blueprint(actions_blueprint)
    app.register_blueprint(followups_blueprint)  # "did they reply?" answers and results
    app.register_blueprint(lookup_api_blueprint)
    from .pagecache import init_app as init_page_cache

    init_page_cache(app)
    from .lookup.guard import init_app as init_census_guard

    init_census_guard(app)
    from .lookup.views import blueprint as lookup_pages_blueprint

    app.register_blueprint(lookup_pages_blueprint)
    from .images.views import blueprint as images_blueprint

    app.register_blueprint(images_blueprint)
    from .admin import auth  # noqa: F401 - registers the Flask-Login user loader
    from .admin.views import blueprint as admin_blueprint

    app.register_blueprint(admin_blueprint)
    from .exports.api import blueprint as exports_api_blueprint
    from .exports.views import blueprint as exports_blueprint

    app.register_blueprint(exports_blueprint)
    csrf.exempt(exports_api_blueprint)  # token-authenticated and read-only: no session, no CSRF
    app.register_blueprint(exports_api_blueprint)
    from .lookup.registry import chamber_label, chamber_words, party_words

    app.jinja_env.globals["chamber_label"] = chamber_label
    app.jinja_env.filters["chamber_words"] = chamber_words
    app.jinja_env.filters["party_words"] = party_words
    register_error_handlers(app)
    from .security import init_app as init_security

    init_security(app)  # security headers, trusted hosts, proxies, rate limits

    from .cli import register_commands

    register_commands(app)
    return app
