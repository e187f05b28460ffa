#!/usr/bin/env python3
"""Set up and run vernetzer with nothing but Python installed.

    python3 dev.py serve    # environment, install, migrate, run (web, worker, mail catcher)
    python3 dev.py test     # environment, install, ruff, import-linter and pytest

The virtual environment lives in .venv and is only reinstalled when pyproject.toml
changes. ``serve`` writes a .env with a fresh secret key on first use.
"""

import hashlib
import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*args: str, quiet: bool = False) -> None:
    subprocess.run(args, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL if quiet else None)


def ensure_environment() -> None:
    """Create .venv and install the project (with its test tools) when needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 -- dev.py runs under any python3 to say so
        sys.exit("vernetzer needs Python 3.11 or newer.")
    if not PYTHON.exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / ".vernetzer-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        print("installing vernetzer and its dependencies ...", flush=True)
        run(str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(str(PYTHON), "-m", "pip", "install", "--quiet", "-e", ".[test]")
        stamp.write_text(wanted)
    # Compiled catalogs are build output; compile them from the .po sources.
    run(str(PYTHON), "-m", "babel.messages.frontend", "compile",
        "--directory", "app/translations", quiet=True)


def ensure_dotenv() -> None:
    """Local settings: a secret key of this machine's own, and the mail catcher."""
    dotenv = ROOT / ".env"
    if not dotenv.exists():
        dotenv.write_text(
            "# Local settings written by dev.py; see README for all of them.\n"
            f"FLASK_SECRET_KEY={secrets.token_urlsafe(32)}\n"
            "FLASK_MAIL_CATCHER=true\n"
        )


def test(pytest_args: list[str]) -> int:
    """The style (ruff), the architecture's contracts (import-linter) and pytest; all
    three run, and the first failure's exit status is the result. pytest runs on as
    many processes as the machine has cores (pytest-xdist) unless ``-n`` is given."""
    if not any(arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        pytest_args = ["--numprocesses", "auto", *pytest_args]
    results = [
        subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT).returncode,
        subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT).returncode,
        subprocess.run([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT).returncode,
    ]
    return next((code for code in results if code), 0)


USAGE = """usage: python3 dev.py [serve [--port N] [--host H] | test [pytest arguments]]

  serve  set up .venv, .env and the SQLite database, then run the web server, the
         worker and the mail catcher (http://127.0.0.1:5000/; --port 5150 serves and
         links on 5150 unless FLASK_BASE_URL is set)
  test   ruff, import-linter and the whole test suite"""


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command in ("-h", "--help", "help"):
        print(USAGE)
        return
    if command not in ("serve", "test"):
        sys.exit(f"unknown command {command!r}\n{USAGE}")
    ensure_environment()
    if command == "serve":
        ensure_dotenv()
        os.execv(PYTHON, [str(PYTHON), "-m", "flask", "--app", "app", "serve", *sys.argv[2:]])
    sys.exit(test(sys.argv[2:]))


if __name__ == "__main__":
    main()
