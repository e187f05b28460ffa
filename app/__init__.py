"""vernetzer: distribution list, meeting planner and invitations for a network of
neighbourhood organisers. ``create_app`` is the application factory.

One package per domain, stacked without cycles (import-linter checks it):
``operations`` (health, doctor, backups) on top, then ``organisers`` (sign-in, the
organiser area's audit log), then ``inbound``
(mail to the service), ``registrations`` (the NetzWerkStatt), ``meetings`` (venues,
planner, announcements, calendar, invitations, the public pages and the blog widget),
``subscriptions`` (the list), ``delivery`` (outbox, MIME, sending), ``legal``
(Impressum, Datenschutz) and ``shared`` at the bottom. Each has its
models, services, forms, views and CLI; views, CLI and the jobs call services.
"""

import os
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config
from .extensions import babel, csrf, db, mail, migrate, page_cache, talisman
from .shared import logs
from .shared.database import render_migration_item
from .shared.public_pages import PublicPages

PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """``templates`` (mail) and ``migrations`` stand at the top of the repository; a
    wheel carries them inside the package, in ``app/bundled``."""
    bundled = PACKAGE / "bundled" / name
    return bundled if bundled.is_dir() else PACKAGE.parent / name


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
    """Build the app. Without ``test_config`` settings come from ``FLASK_*`` variables.
    Every setting is checked here: a bad one raises ``config.SettingsError``."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.DEFAULTS)
    if test_config is None:
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "vernetzer.sqlite3")
    if not app.config["MAIL_CATCHER_DIR"]:
        app.config["MAIL_CATCHER_DIR"] = os.path.join(app.instance_path, "mailcatcher")
    config.check(app.config)
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        # After a restart of the database server the pool holds dead connections:
        # each is tested when taken, and replaced.
        options.setdefault("pool_pre_ping", True)
    if url.database not in (None, "", ":memory:"):
        # Each of a worker's senders holds a connection for its results while it
        # sends; sessions take theirs for a transaction at a time.
        options.setdefault("pool_size", app.config["MAIL_CONNECTIONS"] + 5)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # How long a writer waits for SQLite's lock before its statement fails.
        options.setdefault("connect_args", {}).setdefault(
            "timeout", app.config["SQLITE_BUSY_TIMEOUT"])

    # Mail templates live at the top level (templates/email), pages inside the package.
    app.jinja_loader = ChoiceLoader([FileSystemLoader(PACKAGE / "templates"),
                                     FileSystemLoader(shipped("templates"))])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(shipped("migrations")),
                     render_item=render_migration_item)
    mail.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    seconds = app.config["PAGE_CACHE_SECONDS"]
    page_cache.init_app(app, config={"CACHE_TYPE": "SimpleCache" if seconds else "NullCache",
                                     "CACHE_THRESHOLD": 500, "CACHE_DEFAULT_TIMEOUT": seconds})
    app.wsgi_app = PublicPages(app, app.wsgi_app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy: take client address and scheme from its headers.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    https = app.config["FORCE_HTTPS"]
    talisman.init_app(
        app,
        force_https=https,
        strict_transport_security=https,
        session_cookie_secure=https,
        content_security_policy={"default-src": "'self'", "img-src": "'self' data:",
                                 "form-action": "'self'", "base-uri": "'none'",
                                 "frame-ancestors": "'none'", "object-src": "'none'"},
        # Links in mails carry tokens: never leak them to other sites.
        referrer_policy="no-referrer",
        frame_options="DENY",
    )
    logs.configure(app)
    _register_domains(app)
    return app


def _register_domains(app: Flask) -> None:
    from . import serve
    from .delivery import cli as delivery_cli
    from .delivery import hooks as delivery_hooks
    from .delivery import views as delivery_views
    from .inbound import cli as inbound_cli
    from .inbound import views as inbound_views
    from .knowledge import cli as knowledge_cli
    from .knowledge import hooks as knowledge_hooks
    from .knowledge import mails as knowledge_mails
    from .knowledge import services as topics
    from .knowledge.views import toolbox as toolbox_views
    from .knowledge.views import topics as knowledge_views
    from .legal import views as legal_views
    from .meetings import cli as meetings_cli
    from .meetings import hooks as meetings_hooks
    from .meetings import invitations
    from .meetings.views import announcements as announcement_views
    from .meetings.views import organisers as meeting_organiser_views
    from .meetings.views import public as meeting_views
    from .operations import cli as operations_cli
    from .operations import views as operations_views
    from .organisers import cli as organisers_cli
    from .organisers import services as organisers
    from .organisers import views as organisers_views
    from .posts import cli as posts_cli
    from .posts import hooks as posts_hooks
    from .posts import mails as post_mails
    from .posts import views as posts_views
    from .registrations import views as registrations_views
    from .shared.urls import external_url
    from .shared.web import (
        register_cache_rules,
        register_error_pages,
        register_input_rules,
        status_label,
    )
    from .subscriptions import cli as subscriptions_cli
    from .subscriptions import services as subscriptions
    from .subscriptions import views as subscriptions_views

    delivery_hooks.install(app, delivery_hooks.Hooks(
        mail=(delivery_hooks.MailKinds(kinds=invitations.KINDS, prepare=invitations.prepare,
                                       render=invitations.render),
              delivery_hooks.MailKinds(kinds=post_mails.KINDS, prepare=post_mails.prepare,
                                       render=post_mails.render),
              delivery_hooks.MailKinds(kinds=knowledge_mails.KINDS,
                                       prepare=knowledge_mails.prepare,
                                       render=knowledge_mails.render)),
        wanted=subscriptions.wanting_list_mail, hard_bounce=subscriptions.count_hard_bounce))
    posts_hooks.install(app, posts_hooks.Moderators(addresses=organisers.addresses))
    knowledge_hooks.install(app, knowledge_hooks.Organisers(addresses=organisers.addresses))
    meetings_hooks.install(app, meetings_hooks.WaitingTopics(
        count=topics.waiting_count, url=lambda: external_url("knowledge.public_topics")))
    app.jinja_env.globals.update(get_locale=get_locale, status_label=status_label)
    for blueprint in (subscriptions_views.bp, organisers_views.bp, meeting_views.bp,
                      meeting_organiser_views.bp, announcement_views.bp, posts_views.bp,
                      knowledge_views.bp, toolbox_views.bp, delivery_views.bp, inbound_views.bp, registrations_views.bp,
                      legal_views.bp, operations_views.bp):
        app.register_blueprint(blueprint)
    if app.config["MAIL_CATCHER"]:
        app.register_blueprint(delivery_views.catcher_bp)
    register_error_pages(app)
    register_cache_rules(app)
    register_input_rules(app)
    for group in (subscriptions_cli.group, meetings_cli.meetings, meetings_cli.venues,
                  organisers_cli.group, posts_cli.group, knowledge_cli.group, delivery_cli.group, inbound_cli.receive, serve.serve,
                  operations_cli.doctor, operations_cli.backup_command,
                  operations_cli.restore_command):
        app.cli.add_command(group)
