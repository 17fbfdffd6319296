"""Every module runs at -vvv with its secrets set, on success and failure paths; no secret may appear
in the output in any spelling (raw, URL-quoted, form-quoted)."""
import glob
import os
import secrets
import string
import threading
import urllib.parse

from conftest import ROOT, ansible_playbook

PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "secrets_vvv.yml")


def spellings(value):
    return {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value), urllib.parse.quote(value)}


class ArgvWatcher(threading.Thread):
    """Reads every process's command line on this machine (the lab's containers included: they share
    its kernel) every 20 ms while the playbook runs, and keeps those that contain a secret."""

    def __init__(self, needles):
        super().__init__(daemon=True)
        self.needles, self.hits, self.samples = needles, [], 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.02):
            self.samples += 1
            for path in glob.glob("/proc/[0-9]*/cmdline"):
                try:
                    with open(path, "rb") as f:
                        argv = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
                except OSError:
                    continue
                self.hits.extend(name for name, needle in self.needles if needle in argv)


def test_no_secret_in_vvv_output_or_process_arguments(secrets_file):
    token = "%d:%s" % (secrets.randbelow(9 * 10 ** 9) + 10 ** 9,
                       "".join(secrets.choice(string.ascii_letters + string.digits + "_-") for _i in range(35)))
    env = {
        "LEAK_BOT_TOKEN": token,
        "LEAK_WEBHOOK_SECRET": "whs_" + secrets.token_urlsafe(24),
        "LEAK_TON_KEY": secrets.token_hex(32),
        "LEAK_PINATA_KEY": secrets.token_hex(10),
        "LEAK_PINATA_SECRET": secrets.token_hex(32),
        "LEAK_PINATA_JWT": "eyJ" + secrets.token_urlsafe(60),
        "LEAK_HEALTH_PASSWORD": "hpw" + secrets.token_hex(16),
        "LEAK_HEALTH_HEADER": "hdr" + secrets.token_urlsafe(30),
    }
    db_password = secrets_file["tgquiz"]["postgres_password"]
    watched = list(env.items()) + [("tgquiz database password", db_password)]
    watcher = ArgvWatcher(watched)
    watcher.start()
    try:
        proc = ansible_playbook(PLAYBOOK, "-vvv", env=env)
    finally:
        watcher.stop.set()
        watcher.join()
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    # The run really exercised the modules (a leak test that ran nothing would prove nothing).
    for task in ("Read the bot and its webhook", "A revoked token fails", "Check Pinata keys and the JWT",
                 "A revoked toncenter key fails", "Verify it with a restore test",
                 "Health check with a password in the URL and an Authorization header",
                 "A health check that gets no answer fails without echoing the URL password",
                 "A wrong password fails the restore test"):
        assert "TASK [%s" % task in output
    assert "token rejected" in output.lower()
    bot_secret = token.split(":", 1)[1]
    for name, value in list(env.items()) + [("bot token secret part", bot_secret), ("database password", db_password)]:
        for spelled in spellings(value):
            assert spelled not in output, "%s leaked in the -vvv output" % name
    assert watcher.samples > 50, "the process watcher barely ran"
    assert not watcher.hits, "secrets seen in process arguments: %s" % sorted(set(watcher.hits))
