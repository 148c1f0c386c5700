"""Operating the site: health checks, Prometheus metrics, structured logs with request ids.

``init_app(app)`` (called by ``create_app``) sets up logging (ADVOCACY_LOG_FORMAT,
ADVOCACY_LOG_LEVEL), the request id and request log, the metric hooks, ``/healthz``,
``/readyz`` and (with ADVOCACY_METRICS_TOKEN) ``/metrics``, and trusts ADVOCACY_TRUSTED_PROXIES
reverse proxies' ``X-Forwarded-*`` headers. See docs/deploy.md.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .health import blueprint as health_blueprint
    from .logs import configure_logging, install_request_hooks
    from .metrics import blueprint as metrics_blueprint

    configure_logging(app)
    install_request_hooks(app)
    app.register_blueprint(health_blueprint)
    app.register_blueprint(metrics_blueprint)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
