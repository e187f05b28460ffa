"""A real IMAP server for the inbound tests: Debian's dovecot, started in a temporary
directory on a free port, with one mailbox user."""

import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_for_port

REQUIRED = os.environ.get("VERNETZER_REQUIRE_TOOLS") == "1"
USER, PASSWORD = "einladung", "geheim-im-test"


def _dovecot() -> str:
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists()
                                          else None)
    if binary is None:
        if REQUIRED:
            pytest.fail("dovecot is required here: apt-get install dovecot-imapd")
        pytest.skip("the inbound IMAP tests need dovecot (apt-get install dovecot-imapd)")
    return binary


def _users() -> tuple[str, str, pwd.struct_passwd]:
    """Login and internal users, and the owner of the mail: dovecot refuses root."""
    if os.geteuid() == 0:
        return "dovenull", "dovecot", pwd.getpwnam("nobody")
    me = pwd.getpwuid(os.geteuid())
    return me.pw_name, me.pw_name, me


@pytest.fixture(scope="session")
def imap_server():
    binary = _dovecot()
    # Not under pytest's private (0700) folder: dovecot's own users must read it.
    root = Path(tempfile.mkdtemp(prefix="vernetzer-dovecot-"))
    root.chmod(0o755)
    login_user, internal_user, owner = _users()
    mail = root / "mail"
    mail.mkdir()
    os.chown(mail, owner.pw_uid, owner.pw_gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = {owner.pw_uid}
last_valid_uid = {owner.pw_uid}
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")
    process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    if not wait_for_port(port, process, 20):
        process.kill()
        log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
        raise RuntimeError(f"dovecot did not start: {process.stdout.read().decode()} {log}")
    yield {"host": "127.0.0.1", "port": port, "user": USER, "password": PASSWORD}
    process.terminate()
    process.wait(10)
    shutil.rmtree(root, ignore_errors=True)


class Mailbox:
    """The IMAP mailbox as a mail client sees it."""

    def __init__(self, server):
        self.server = server

    def _open(self):
        imap = imaplib.IMAP4(self.server["host"], self.server["port"])
        imap.login(self.server["user"], self.server["password"])
        return imap

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        with self._open() as imap:
            assert imap.append(folder, None, None, raw)[0] == "OK"

    def count(self, folder: str) -> int:
        with self._open() as imap:
            kind, data = imap.select(folder, readonly=True)
            return int(data[0]) if kind == "OK" else 0

    def clear(self) -> None:
        with self._open() as imap:
            for folder in ("INBOX", "Erledigt"):
                kind, data = imap.select(folder)
                if kind == "OK" and int(data[0]):
                    imap.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                    imap.expunge()


@pytest.fixture
def imap_mailbox(imap_server, app):
    """The service's inbound mailbox, empty, and the app set to read it."""
    app.config.update(INBOUND_IMAP_HOST=imap_server["host"], INBOUND_IMAP_PORT=imap_server["port"],
                      INBOUND_IMAP_TLS="none", INBOUND_IMAP_USER=imap_server["user"],
                      INBOUND_IMAP_PASSWORD=imap_server["password"])
    mailbox = Mailbox(imap_server)
    mailbox.clear()
    yield mailbox
    mailbox.clear()
