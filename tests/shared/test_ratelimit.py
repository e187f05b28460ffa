"""Rate limits are counted in the database: every process of an installation shares
them, with nothing to set up; what they count is only kept while it limits."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.shared.ratelimit import RateLimit
from jobs import housekeeping
from tests.conftest import ROOT, Browser, csrf_token, free_port, process_env, wait_for_port

HELD_BACK = "viele Anfragen erreicht"


def sign_ups(ports: list[int], count: int) -> int:
    """Sign-ups of new addresses from one client, taking turns at the web servers on
    ``ports``; how many were not held back."""
    accepted = 0
    for number in range(count):
        visitor, url = Browser(), f"http://127.0.0.1:{ports[number % len(ports)]}/"
        token = csrf_token(visitor.get(url))
        status, page = visitor.post(url, csrf_token=token, email=f"p{number}@example.org",
                                    name="")
        assert status == 200, page
        accepted += HELD_BACK not in page
    return accepted


@pytest.mark.slow
def test_two_gunicorn_processes_with_the_default_settings_enforce_a_limit_once(
        live_database, smtp_server, tmp_path):
    """The shipped gunicorn configuration, nothing set for the limits (as ``dev.py
    serve`` sets nothing): two web processes, one count. On SQLite too, the embedded
    default, whose file every process opens."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    servers, ports = [], [free_port(), free_port()]
    try:
        for port in ports:
            env = process_env(live_database, smtp_server.port, CONFIRM_MAILS_PER_IP="4/hour",
                              PAGE_CACHE_SECONDS=0)
            env.update(VERNETZER_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
            servers.append(subprocess.Popen(
                [gunicorn, "-c", str(ROOT / "deploy" / "gunicorn.conf.py")], cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            assert wait_for_port(port, servers[-1], 60), "gunicorn did not start"
        assert sign_ups(ports, 10) == 4
    finally:
        for server in servers:
            server.terminate()
            server.wait(20)


def test_the_window_slides_and_a_held_back_request_counts_nothing(app, client):
    app.config["CONFIRM_MAILS_PER_IP"] = "2 per 2 seconds"

    def sign_up(number: int) -> bool:
        page = client.post("/", data={"csrf_token": csrf_token(client.get("/").text),
                                      "email": f"w{number}@example.org"})
        return HELD_BACK not in page.text

    assert [sign_up(number) for number in range(3)] == [True, True, False]
    time.sleep(2.1)  # both hits have left the window; the refused one never entered it
    assert [sign_up(number) for number in range(3, 6)] == [True, True, False]


def test_counts_are_forgotten_once_they_limit_nothing(app, client):
    app.config["CONFIRM_MAILS_PER_IP"] = "1 per 1 second"
    client.post("/", data={"csrf_token": csrf_token(client.get("/").text),
                           "email": "f@example.org"})
    with app.app_context():
        keys = db.session.scalars(sa.select(RateLimit.key)).all()
        # Hashed: no address or IP in the clear.
        assert keys and not any("@" in key or "." in key for key in keys)
        assert housekeeping.forget_rate_limits() == 0  # the IP's hit still limits
        time.sleep(1.1)
        # The per-address limit (a day) still counts; the per-IP one is gone.
        assert housekeeping.forget_rate_limits() == 1
        assert len(db.session.scalars(sa.select(RateLimit.key)).all()) == len(keys) - 1
