"""The production files in deploy/: gunicorn started with the shipped configuration
behind a (simulated) reverse proxy, the same for ``flask serve``, and the files no
test can start here (systemd units, container, compose) checked for what they must
say; nginx and Caddy run as shipped in front of gunicorn. (This machine has no
container daemon and no access to an image registry, so the image is not built
here.)"""

import configparser
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC
from pathlib import Path

import pytest
import yaml

from app import config
from tests.conftest import ROOT, free_port, process_env, required, wait_for_port

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
    # No worker runs in these tests: the database answers, the worker was never seen.
    assert (status, seen["database"], seen["worker"]) == (503, "ok", "never seen"), seen
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


@pytest.mark.slow
def test_serve_on_another_port_links_to_that_port(live_database, smtp_server):
    """``dev.py serve --port 5150``: the links (here the home page's webcal link; the
    mails' are made the same way) follow the port unless FLASK_BASE_URL is set."""
    port = free_port()
    env = process_env(live_database, smtp_server.port)
    del env["FLASK_BASE_URL"]
    server = started([sys.executable, "-m", "flask", "--app", "app", "serve", "--no-worker",
                      "--port", str(port)], env, port)
    try:
        _status, _headers, page = fetch(port, "/", {})
        assert f"webcal://127.0.0.1:{port}/kalender.ics" in page
    finally:
        stop(server)


def test_dev_py_help_answers_at_once():
    """Usage, before installing anything; an unknown command gets it too, and fails."""
    helped = subprocess.run([sys.executable, "dev.py", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=10)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: python3 dev.py")
    assert "creating .venv" not in helped.stdout
    wrong = subprocess.run([sys.executable, "dev.py", "bogus"], cwd=ROOT, capture_output=True,
                           text=True, timeout=10)
    assert wrong.returncode == 1 and "unknown command 'bogus'" in wrong.stderr
    assert "usage:" in wrong.stderr


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


def test_compose_runs_web_worker_and_database_from_one_image():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "db", "proxy"} <= set(services)
    assert services["web"]["build"]["dockerfile"] == "deploy/Containerfile"
    assert services["web"]["command"][:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    assert services["worker"]["command"] == ["flask", "--app", "app", "worker"]
    environment = services["web"]["environment"]
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


SITE = "vernetzer.example.org"


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``SITE``: the files of the certificate and key."""
    from datetime import datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SITE)])
    now = datetime.now(UTC)
    issued = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName(SITE)]), critical=False)
              .sign(key, hashes.SHA256()))
    cert, key_file = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(issued.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key_file


def shipped_with(path: Path, replacements: dict) -> str:
    """The shipped file with this machine's paths and ports; each original must be
    there (a changed file changes this test)."""
    text = path.read_text()
    for original, here in replacements.items():
        assert original in text, (path, original)
        text = text.replace(original, here)
    return text


def nginx(tmp_path, app_port, http_port, https_port, cert, key) -> list[str]:
    """deploy/nginx/vernetzer.conf as the site of an nginx of its own (IPv4 only)."""
    site = shipped_with(DEPLOY / "nginx" / "vernetzer.conf", {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl": f"listen 127.0.0.1:{https_port} ssl",
        f"/etc/letsencrypt/live/{SITE}/fullchain.pem": str(cert),
        f"/etc/letsencrypt/live/{SITE}/privkey.pem": str(key),
        "/srv/vernetzer/app/static/": f"{ROOT}/app/static/",
        "127.0.0.1:8000": f"127.0.0.1:{app_port}"})
    site = "\n".join(line for line in site.splitlines() if "[::]" not in line)
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(f"{kind}_temp_path {tmp_path / kind};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; pid {tmp_path / 'nginx.pid'}; error_log stderr;"
        + (" user root;" if os.geteuid() == 0 else "")
        + f" events {{}} http {{ include /etc/nginx/mime.types; access_log off; {temp}"
        f" include {tmp_path / 'site.conf'}; }}")
    binary = proxy_binary("nginx", "nginx-light")
    return [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]


def caddy(tmp_path, app_port, http_port, https_port, cert, key) -> list[str]:
    """deploy/caddy/Caddyfile with this certificate, served by a Caddy of its own."""
    site = shipped_with(DEPLOY / "caddy" / "Caddyfile", {
        f"{SITE} {{": f"{SITE}:{https_port} {{\n\ttls {cert} {key}",
        "/srv/vernetzer/app/static": f"{ROOT}/app/static",
        "127.0.0.1:8000": f"127.0.0.1:{app_port}"})
    (tmp_path / "Caddyfile").write_text(
        f"{{\n\tadmin off\n\thttp_port {http_port}\n\thttps_port {https_port}\n"
        f"\tstorage file_system {tmp_path / 'data'}\n\tskip_install_trust\n}}\n" + site)
    binary = proxy_binary("caddy", "caddy")
    return [binary, "run", "--adapter", "caddyfile", "--config", str(tmp_path / "Caddyfile")]


def proxy_binary(name: str, package: str) -> str:
    binary = shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if binary is None:
        required(f"the proxy test needs {name} (apt-get install {package})")
    return binary


def through(port: int, path: str, headers: dict, cert: Path, https: bool = True):
    """One request to ``SITE`` at 127.0.0.1:``port``: status, headers, body (bytes)."""
    if https:
        context = ssl.create_default_context(cafile=str(cert))

        class ToLoopback(http.client.HTTPSConnection):
            def connect(self):
                self.sock = context.wrap_socket(
                    socket.create_connection(("127.0.0.1", self.port), timeout=10),
                    server_hostname=SITE)

        connection = ToLoopback(SITE, port, context=context, timeout=10)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": SITE, **headers})
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    return answer.status, dict(answer.headers), body


@pytest.mark.slow
@pytest.mark.parametrize("proxy", [nginx, caddy], ids=["nginx", "caddy"])
def test_the_shipped_proxy_passes_the_client_and_https_on(live_database, smtp_server,
                                                         tmp_path, proxy):
    """nginx or Caddy, as deploy/ ships them (TLS from a certificate of the test), in
    front of gunicorn: the app sees the client's own address (not the one the client
    wrote into X-Forwarded-For) and https, plain http is sent to https once, and the
    static files come from disk."""
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    env = process_env(live_database, smtp_server.port, TRUSTED_PROXIES=1, FORCE_HTTPS="true")
    env.update(VERNETZER_BIND=f"127.0.0.1:{app_port}", WEB_CONCURRENCY="1")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    cert, key = certificate(tmp_path)
    command = proxy(tmp_path, app_port, http_port, https_port, cert, key)
    server = started([gunicorn, "-c", str(DEPLOY / "gunicorn.conf.py")], env, app_port)
    front = subprocess.Popen(command, env={**os.environ, "HOME": str(tmp_path),
                                           "XDG_DATA_HOME": str(tmp_path / "data"),
                                           "XDG_CONFIG_HOME": str(tmp_path / "config")},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not wait_for_port(https_port, front, 30):
            raise AssertionError(front.stderr.read().decode() if front.poll() is not None
                                 else "the proxy did not start")
        status, _headers, body = through(https_port, "/healthz", {
            "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}, cert)
        seen = json.loads(body)
        assert (seen["client"], seen["scheme"]) == ("127.0.0.1", "https")
        status, headers, body = through(https_port, "/", {}, cert)
        assert status == 200 and "Strict-Transport-Security" in headers
        status, _headers, body = through(https_port, "/static/style.css", {}, cert)
        assert status == 200 and body == (ROOT / "app" / "static" / "style.css").read_bytes()
        status, headers, _body = through(http_port, "/treffen", {}, cert, https=False)
        assert status in (301, 308)
        assert headers["Location"].startswith(f"https://{SITE}")
        assert headers["Location"].endswith("/treffen")
    finally:
        front.terminate()
        front.wait(15)
        stop(server)
