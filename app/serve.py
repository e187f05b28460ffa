"""``serve``: everything a volunteer needs locally, in one command.

Migrates the database, starts the mail catcher (when ``MAIL_CATCHER`` is on), the
worker process and the web server (waitress), and stops them all together.
"""

import os
import signal
import subprocess
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade


@click.command("serve", help="Migrate, then run web server, worker and (locally) the mail catcher.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-worker", is_flag=True, help="Do not start the worker process.")
@with_appcontext
def serve(host, port, no_worker):
    from waitress import create_server

    from .delivery import catcher as mail_catcher

    app = current_app._get_current_object()
    if "FLASK_BASE_URL" not in os.environ:
        # Links in mails and the webcal link follow the port (and the worker's too).
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        app.config["BASE_URL"] = os.environ["FLASK_BASE_URL"] = f"http://{shown}:{port}"
    upgrade()
    try:
        # Behind a proxy waitress must pass X-Forwarded-* on: ProxyFix (create_app)
        # trusts exactly FLASK_TRUSTED_PROXIES hops of them.
        server = create_server(app, host=host, port=port, threads=8, ident="vernetzer",
                               clear_untrusted_proxy_headers=not app.config["TRUSTED_PROXIES"])
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port} ({error.strerror}); "
                                   "is vernetzer running already? Try --port.") from None
    catcher = None
    if app.config["MAIL_CATCHER"]:
        smtp = f"{app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}"
        try:
            catcher = mail_catcher.start(app.config["MAIL_CATCHER_DIR"], app.config["MAIL_SERVER"],
                                        app.config["MAIL_PORT"])
        except (OSError, RuntimeError) as error:
            server.close()
            raise click.ClickException(f"the mail catcher cannot listen on {smtp} ({error}); "
                                       "set FLASK_MAIL_PORT to a free port.") from None
        click.echo(f"mail catcher: smtp://{smtp}, read the mails at http://{host}:{port}/_mails/")
    worker = None
    if not no_worker:
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"])
    click.echo(f"vernetzer is running: open http://{host}:{port}/  (Ctrl+C stops it)")
    # Ctrl+C and SIGTERM end the server, and the worker and catcher with it (SIGINT
    # explicitly: a shell starting us in the background would have it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)
        if catcher is not None:
            catcher.stop()

