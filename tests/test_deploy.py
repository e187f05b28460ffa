"""The production files in deploy/: gunicorn started with the shipped configuration
behind a (simulated) reverse proxy, the same for ``flask serve``, and the files no
test can start here (systemd units, container, compose, proxies) checked for what
they must say. (This machine has no container daemon and no access to an image
registry, so the image is not built here.)"""

import configparser
import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from app import config
from tests.conftest import ROOT, free_port, process_env

DEPLOY = ROOT / "deploy"
PROXIED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
           "X-Forwarded-Host": "vernetzer.example"}


def fetch(port: int, path: str, headers: dict) -> tuple[int, dict, str]:
    """One request; redirects are answers, not followed."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def started(command, env, port):
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    for _ in range(150):
        try:
            fetch(port, "/healthz", {})
            return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode()) from None
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def stop(process):
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


def sees_the_client_through_the_proxy(port: int) -> None:
    status, _headers, body = fetch(port, "/healthz", PROXIED)
    seen = json.loads(body)
    assert (seen["client"], seen["scheme"]) == ("203.0.113.9", "https")
    assert status in (200, 503)  # 503: no worker runs in this test
    # Without the proxy's https, FORCE_HTTPS sends the visitor to https once, no loop.
    status, headers, _body = fetch(port, "/", {"X-Forwarded-For": "203.0.113.9"})
    assert status in (301, 302) and headers["Location"].startswith("https://")
    status, _headers, _body = fetch(port, "/", PROXIED)
    assert status == 200


@pytest.mark.slow
def test_gunicorn_with_the_shipped_configuration_behind_a_proxy(live_database, smtp_server):
    port = free_port()
    env = process_env(live_database, smtp_server.port, TRUSTED_PROXIES=1, FORCE_HTTPS="true")
    env.update(VERNETZER_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = started([gunicorn, "-c", str(DEPLOY / "gunicorn.conf.py")], env, port)
    try:
        sees_the_client_through_the_proxy(port)
    finally:
        stop(server)


@pytest.mark.slow
def test_flask_serve_passes_the_proxy_headers_on_too(live_database, smtp_server):
    port = free_port()
    env = process_env(live_database, smtp_server.port, TRUSTED_PROXIES=1, FORCE_HTTPS="true")
    server = started([sys.executable, "-m", "flask", "--app", "app", "serve", "--no-worker",
                      "--port", str(port)], env, port)
    try:
        sees_the_client_through_the_proxy(port)
    finally:
        stop(server)


def test_systemd_units_start_what_exists():
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        parsed = configparser.ConfigParser(strict=False, interpolation=None)
        parsed.read(unit)
        start = parsed["Service"]["ExecStart"]
        assert start.startswith(("/srv/vernetzer/.venv/bin/", "/bin/sh -c")), unit
        for word in start.split():
            if word.startswith("deploy/"):
                assert (ROOT / word).exists(), (unit, word)
        assert parsed["Service"]["EnvironmentFile"] == "/etc/vernetzer/env"
        assert parsed["Service"]["User"] == "vernetzer"
    if shutil.which("systemd-analyze"):
        units = [str(path) for path in (DEPLOY / "systemd").iterdir()]
        result = subprocess.run(["systemd-analyze", "verify", "--man=no", *units],
                                capture_output=True, text=True)
        # Paths of the server (/srv/vernetzer, the user) do not exist here; the syntax must.
        problems = [line for line in result.stderr.splitlines()
                    if "Unknown" in line or "Invalid" in line or "Failed to parse" in line]
        assert problems == []


def test_the_settings_in_env_example_are_real_ones():
    known = set(config.DEFAULTS) | {"SQLALCHEMY_DATABASE_URI", "SECRET_KEY"}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line.startswith("FLASK_"):
            name = line.split("=", 1)[0].removeprefix("FLASK_")
            assert name in known, name


def test_compose_runs_web_worker_database_and_redis_from_one_image():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "db", "redis", "proxy"} <= set(services)
    assert services["web"]["build"]["dockerfile"] == "deploy/Containerfile"
    assert services["web"]["command"][:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    assert services["worker"]["command"] == ["flask", "--app", "app", "worker"]
    environment = services["web"]["environment"]
    assert environment["FLASK_RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert environment["FLASK_SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert environment["FLASK_TRUSTED_PROXIES"] == "1"


def test_the_container_copies_what_exists_and_runs_gunicorn():
    lines = (DEPLOY / "Containerfile").read_text().splitlines()
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    assert 'CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]' in lines
    assert any("/healthz" in line for line in lines if line.startswith("HEALTHCHECK"))


def test_the_proxies_replace_the_forwarded_headers():
    nginx = (DEPLOY / "nginx" / "vernetzer.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "reverse_proxy 127.0.0.1:8000" in (DEPLOY / "caddy" / "Caddyfile").read_text()
