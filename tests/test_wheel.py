"""``pip install`` of the wheel (not editable) gives a working service: installed into
a fresh virtual environment outside the checkout, it migrates its database and
sends a German confirmation mail to a real SMTP server."""

import os
import subprocess
import sys
import venv

import pytest

from tests.conftest import ROOT, links_in

pytestmark = pytest.mark.slow


def run(*args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_installed_wheel_migrates_and_sends_a_confirmation(tmp_path, smtp_server, mailbox):
    run(sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet",
        "-w", str(tmp_path / "dist"))
    [wheel] = (tmp_path / "dist").glob("vernetzer-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / "bin"
    run(str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel))

    site = tmp_path / "site"  # neither the checkout nor anything of it on the path
    site.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith("FLASK_")}
    env.update(PATH=f"{bin_dir}:{env['PATH']}", FLASK_SECRET_KEY="wheel-test",
               FLASK_SQLALCHEMY_DATABASE_URI=f"sqlite:///{site / 'vernetzer.sqlite3'}",
               FLASK_MAIL_SERVER="127.0.0.1", FLASK_MAIL_PORT=str(smtp_server.port),
               FLASK_BASE_URL="https://vernetzer.example")
    installed = run(str(bin_dir / "python"), "-c", "import app; print(app.__file__)",
                    cwd=site, env=env)
    assert installed.startswith(str(tmp_path / "venv"))

    run(str(bin_dir / "vernetzer"), "db", "upgrade", cwd=site, env=env)
    (site / "liste.csv").write_text("email;name\nneu@example.org;Nina\n", encoding="utf-8")
    output = run(str(bin_dir / "vernetzer"), "subscribers", "import", "liste.csv", "--apply",
                 "--confirm-by-mail", cwd=site, env=env)
    assert "imported: 1" in output
    assert "sent: 1" in run(str(bin_dir / "vernetzer"), "outbox", "drain", cwd=site, env=env)

    [mail] = mailbox.to("neu@example.org")
    assert mail["Subject"] == "Bitte bestätigen Sie Ihre Anmeldung"
    # Neutral: a confirmation mail carries nothing anyone typed, not even the name.
    assert mail.get_body(preferencelist=("plain",)).get_content().startswith("Hallo,")
    assert any("/bestaetigen/" in link for link in links_in(mail))
