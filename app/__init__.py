"""vernetzer: distribution list, meeting planner and invitations for a network of
neighbourhood organisers. ``create_app`` is the application factory."""

import os
from pathlib import Path

from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import DEFAULTS
from .extensions import babel, csrf, db, mail, migrate, talisman

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    """The visitor's explicit choice (cookie), else their browser's, else German.
    Outside a request (CLI, jobs) it is German."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return languages[0]
    chosen = request.cookies.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages, default=languages[0])


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. Without ``test_config`` settings come from ``FLASK_*`` variables."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "FLASK_SECRET_KEY is not set: put it in the environment or in .env "
            "(python3 dev.py serve writes one for local use)."
        )
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "vernetzer.sqlite3"
        )
    app.config["BASE_URL"] = app.config["BASE_URL"].rstrip("/")
    if not app.config["MAIL_CATCHER_DIR"]:
        app.config["MAIL_CATCHER_DIR"] = os.path.join(app.instance_path, "mailcatcher")

    # Mail templates live at the top level (templates/email), pages inside the package.
    app.jinja_loader = ChoiceLoader(
        [FileSystemLoader(Path(app.root_path) / "templates"),
         FileSystemLoader(PROJECT_ROOT / "templates")]
    )

    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy: take client address and scheme from its headers.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    mail.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    https = app.config["FORCE_HTTPS"]
    talisman.init_app(
        app,
        force_https=https,
        strict_transport_security=https,
        session_cookie_secure=https,
        content_security_policy={"default-src": "'self'", "img-src": "'self' data:"},
        # Links in mails carry tokens: never leak them to other sites.
        referrer_policy="no-referrer",
        frame_options="DENY",
    )

    from . import models  # noqa: F401  (register the tables with the metadata)
    from .cli import register_commands
    from .web import (auth, calendar, catcher, errors, kind_label, organise, status_label,
                      subscriptions)

    app.jinja_env.globals.update(get_locale=get_locale, status_label=status_label,
                                 kind_label=kind_label)
    app.register_blueprint(subscriptions.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(organise.bp)
    app.register_blueprint(calendar.bp)
    if app.config["MAIL_CATCHER"]:
        app.register_blueprint(catcher.bp)
    errors.register(app)
    register_commands(app)
    return app
