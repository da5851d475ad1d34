"""A real Dovecot IMAP server for tests: its own config in a temp dir, loopback only, a free high port, plaintext
login allowed (loopback), one static test password for any user name, Maildir storage. Debian: `apt-get install dovecot-imapd`."""

from __future__ import annotations

import getpass
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

DOVECOT_CANDIDATES = ("dovecot", "/usr/sbin/dovecot")
# Root may not own mail in Dovecot; the mail then belongs to nobody.
NOBODY = 65534


def dovecot_binary() -> str | None:
    for candidate in DOVECOT_CANDIDATES:
        found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DovecotServer:
    def __init__(self, binary: str) -> None:
        # Not under pytest's tmp dir: that is private to the test user, and Dovecot's own processes (the mail
        # user, the auth user) must reach the mail homes.
        self.binary, self.root = binary, Path(tempfile.mkdtemp(prefix="triage-dovecot-"))
        self.root.chmod(0o755)
        self.host, self.port = "127.0.0.1", _free_port()
        # Any user name logs in with this one password and gets a mailbox of its own: a fresh user per test.
        self.password = uuid.uuid4().hex
        self.home = self.root / "home"
        self.process: subprocess.Popen | None = None
        self.uid, self.gid = (NOBODY, NOBODY) if os.geteuid() == 0 else (os.getuid(), os.getgid())

    def _config(self) -> str:
        run_as = "" if os.geteuid() == 0 else (
            f"default_login_user = {getpass.getuser()}\ndefault_internal_user = {getpass.getuser()}\n")
        return f"""\
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_uid = {self.uid}
mail_gid = {self.gid}
first_valid_uid = 0
{run_as}passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.home}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""

    def start(self) -> None:
        self.home.mkdir(parents=True)
        os.chown(self.home, self.uid, self.gid)
        config = self.root / "dovecot.conf"
        config.write_text(self._config())
        self.process = subprocess.Popen([self.binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode() if self.process.stderr else ''}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not listen on {self.port}; log: {self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def add_user(self) -> tuple[str, str]:
        """A fresh user with an empty mailbox (created by Dovecot at first login)."""
        return f"kc{uuid.uuid4().hex[:8]}", self.password

    def client(self, user: str, password: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(user, password)
        return client
