"""Every module that takes or reads a secret runs at -vvv with its secrets set, on success and failure paths
(playbooks/secrets_vvv.yml; tests/unit/test_leak_test_coverage.py fails when a module with a no_log option is
missing there). No secret may appear in the output in any spelling (raw, URL-quoted, form-quoted), nor in any
process's arguments or environment on this machine while it runs: the controller's processes and the lab hosts'
(containers on this kernel), the children the modules start (psql, pg_dump, pg_restore, ansible-vault, docker
exec) included."""
import glob
import json
import os
import secrets
import string
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest
import yaml

from conftest import ROOT, ansible_playbook

pytestmark = pytest.mark.lane("both")

PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "secrets_vvv.yml")


def spellings(value):
    return {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value), urllib.parse.quote(value)}


def container_environment():
    """Every NAME=value the running containers are configured with (docker inspect): a process in a container
    inherits them (the database container's POSTGRES_PASSWORD, the application's env file), which is the
    platform's design, not something a module handed to a child."""
    ids = subprocess.run(["docker", "ps", "-q"], capture_output=True, text=True, check=True).stdout.split()
    if not ids:
        return set()
    docs = json.loads(subprocess.run(["docker", "inspect"] + ids, capture_output=True, text=True, check=True).stdout)
    return {entry.encode() for doc in docs for entry in (doc.get("Config") or {}).get("Env") or []}


class ProcessWatcher(threading.Thread):
    """Reads every process's command line and environment on this machine (the lab's containers included: they
    share its kernel) every 20 ms while the playbook runs, and keeps those that carry a secret: in argv always,
    in the environment unless the variable is one the process's container is configured with."""

    def __init__(self, needles, inherited):
        super().__init__(daemon=True)
        self.needles = [(name, needle.encode()) for name, needle in needles]
        self.inherited = inherited
        self.argv_hits, self.environ_hits = set(), set()
        self.samples = self.environs = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.02):
            self.samples += 1
            for proc in glob.glob("/proc/[0-9]*"):
                try:
                    with open(proc + "/cmdline", "rb") as f:
                        argv = f.read()
                    with open(proc + "/environ", "rb") as f:
                        environ = f.read()
                except OSError:
                    continue
                self.environs += 1
                for name, needle in self.needles:
                    if needle in argv:
                        self.argv_hits.add(name)
                    if needle in environ:
                        for entry in environ.split(b"\0"):
                            if needle in entry and entry not in self.inherited:
                                command = argv.split(b"\0")[0].decode("utf-8", "replace")
                                self.environ_hits.add("%s in %s of %s" % (name, entry.split(b"=")[0].decode(), command))


def task_names():
    with open(PLAYBOOK) as f:
        return [task["name"] for play in yaml.safe_load(f) for task in play["tasks"]]


def test_no_secret_in_vvv_output_process_arguments_or_environments(secrets_file):
    token = "%d:%s" % (secrets.randbelow(9 * 10 ** 9) + 10 ** 9,
                       "".join(secrets.choice(string.ascii_letters + string.digits + "_-") for _i in range(35)))
    leak = {
        "leak_token": token,
        "leak_secret": "whs_" + secrets.token_urlsafe(24),
        "leak_ton_key": secrets.token_hex(32),
        "leak_pinata_key": secrets.token_hex(10),
        "leak_pinata_secret": secrets.token_hex(32),
        "leak_pinata_jwt": "eyJ" + secrets.token_urlsafe(60),
        "leak_health_password": "hpw" + secrets.token_hex(16),
        "leak_health_header": "hdr" + secrets.token_urlsafe(30),
        "leak_notify_text_secret": "ntf" + secrets.token_hex(16),
        "leak_slack_path": "T0LEAK/B0LEAK/" + secrets.token_hex(12),
        "leak_rotation_new": "rot" + secrets.token_hex(16),
        "leak_rotation_old": "old" + secrets.token_hex(16),
        "leak_store_secret": "vlt" + secrets.token_hex(16),
        "leak_env_secret": secrets.token_hex(32),
    }
    db_password = secrets_file["tgquiz"]["postgres_password"]
    # the env file's secrets platform_info reads (its log lines are masked for them)
    platform = {"tgquiz %s" % key: secrets_file["tgquiz"][key]
                for key in ("secret_key", "bot_token", "pinata_secret_key", "toncenter_api_key")}
    watched = list(leak.items()) + [("tgquiz database password", db_password)] + list(platform.items())
    inherited = container_environment()
    with tempfile.TemporaryDirectory(prefix="tgops-leak-") as tmp:
        # extra vars from a 0600 file: not in any argv or environment of ours
        extra = os.path.join(tmp, "leak.json")
        with open(os.open(extra, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            json.dump(dict(leak, leak_tmp=tmp), f)
        watcher = ProcessWatcher(watched, inherited)
        watcher.start()
        started = time.monotonic()
        try:
            proc = ansible_playbook(PLAYBOOK, "-vvv", "-e", "@" + extra)
        finally:
            watcher.stop.set()
            watcher.join()
        seconds = time.monotonic() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    # The run really exercised every module (a leak test that ran nothing would prove nothing).
    for task in task_names():
        assert "TASK [%s]" % task in output, "task %r did not run" % task
    assert "token rejected" in output.lower()
    bot_secret = token.split(":", 1)[1]
    for name, value in watched + [("bot token secret part", bot_secret)]:
        for spelled in spellings(value):
            assert spelled not in output, "%s leaked in the -vvv output" % name
    assert watcher.samples > 50 and watcher.environs > 1000, "the process watcher barely ran"
    assert not watcher.argv_hits, "secrets seen in process arguments: %s" % sorted(watcher.argv_hits)
    assert not watcher.environ_hits, "secrets seen in process environments: %s" % sorted(watcher.environ_hits)
    print("leak test: %.1f s, %d samples" % (seconds, watcher.samples))
