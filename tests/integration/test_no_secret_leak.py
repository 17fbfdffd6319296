"""Every module that takes or reads a secret runs at -vvv with its secrets set, on success and failure paths
(playbooks/secrets_vvv.yml; tests/unit/test_leak_test_coverage.py fails when a module with a no_log option is
missing there). No secret may appear in the output in any spelling (raw, URL-quoted, form-quoted), nor in any
process's arguments or environment on this machine while it runs: the controller's processes and the lab hosts'
(containers on this kernel), the children the modules start (psql, pg_dump, pg_restore, ansible-vault, docker
exec) included."""
import errno
import glob
import json
import os
import re
import secrets
import select
import socket
import string
import struct
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


# The kernel's process events connector (linux/cn_proc.h): one message for every exec on this machine, the lab's
# containers included, so that the watcher reads a process the moment it starts instead of sweeping /proc.
NETLINK_CONNECTOR, CN_IDX_PROC, CN_VAL_PROC = 11, 1, 1
PROC_CN_MCAST_LISTEN, PROC_EVENT_EXEC, NLMSG_DONE = 1, 2, 3
EVENT = 16 + 20  # the event follows struct nlmsghdr and struct cn_msg
SO_RCVBUFFORCE = 33


def exec_events():
    """A socket that receives an event for every exec on this machine (root only, as is reading every process's
    environment)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
    try:
        sock.bind((0, CN_IDX_PROC))
        # Room for a burst of execs while the thread is busy reading /proc.
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        listen = struct.pack("I", PROC_CN_MCAST_LISTEN)
        message = struct.pack("IIIIHH", CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(listen), 0) + listen
        sock.send(struct.pack("IHHII", 16 + len(message), NLMSG_DONE, 0, 0, 0) + message)
    except OSError as exc:
        sock.close()
        pytest.fail("the kernel's process events connector refused this test (it runs as root): %s" % exc)
    sock.setblocking(False)
    return sock


class ProcessWatcher(threading.Thread):
    """Reads every process's command line and environment on this machine (the lab's containers included: they
    share its kernel) while the playbook runs, and keeps those that carry a secret: in argv always, in the
    environment unless the variable is one the process's container is configured with. A process is read when it
    execs (the kernel's exec events; a sweep of /proc every 20 ms took a quarter of a core at rest, more under
    load, and missed what lived less), and every process again in a sweep every half second (those running
    before, a command line rewritten after exec, events lost to a full queue)."""

    def __init__(self, needles, inherited, canary):
        super().__init__(daemon=True)
        self.needles = [(name, needle.encode()) for name, needle in needles]
        self.inherited = inherited
        self.argv_hits, self.environ_hits = set(), set()
        # The self-check's canaries: a prefix and a number, "<prefix>-<n>"; the numbers seen in argv, in environments.
        self.canary = re.compile(re.escape(canary.encode()) + rb"-(\d+)")
        self.canaries_in_argv, self.canaries_in_environ = set(), set()
        self.samples = self.environs = self.execs = self.overflows = 0
        self.events = exec_events()
        self.next_sweep = 0.0
        self.stop = threading.Event()

    def inspect(self, pid):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read()
            with open("/proc/%s/environ" % pid, "rb") as f:
                environ = f.read()
        except OSError:
            return
        self.environs += 1
        self.canaries_in_argv.update(int(n) for n in self.canary.findall(argv))
        self.canaries_in_environ.update(int(n) for n in self.canary.findall(environ))
        for name, needle in self.needles:
            if needle in argv:
                self.argv_hits.add(name)
            if needle in environ:
                for entry in environ.split(b"\0"):
                    if needle in entry and entry not in self.inherited:
                        command = argv.split(b"\0")[0].decode("utf-8", "replace")
                        self.environ_hits.add("%s in %s of %s" % (name, entry.split(b"=")[0].decode(), command))

    def sweep(self):
        self.samples += 1
        for proc in glob.glob("/proc/[0-9]*"):
            self.inspect(proc[len("/proc/"):])
            self.receive(block=False)  # a process that starts meanwhile does not wait for the sweep's end

    def receive(self, block):
        """Read the process of each exec event waiting (block: wait up to 0.1 s for the first), until none is left
        or a sweep is due."""
        if block:
            select.select([self.events], [], [], 0.1)
        while True:
            try:
                event = self.events.recv(65536)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                self.overflows += 1  # events were lost: sweep now
                self.next_sweep = 0.0
                return
            if struct.unpack_from("I", event, EVENT)[0] == PROC_EVENT_EXEC:
                self.execs += 1
                self.inspect(struct.unpack_from("II", event, EVENT + 16)[1])  # the exec's process (tgid)
            if time.monotonic() >= self.next_sweep:
                return

    def run(self):
        # Ahead of what it watches on a busy machine: a process it reads late may be gone.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -10)
        while not self.stop.is_set():
            if time.monotonic() >= self.next_sweep:
                self.sweep()
                self.next_sweep = time.monotonic() + 0.5
            self.receive(block=True)
        self.events.close()


def start_canaries(stop, canary, started):
    """The watcher's self-check: while the playbook runs, every half second, a process that lives 50 ms (between two
    sweeps of /proc) with a canary in its argv and another in its environment."""
    def run():
        while not stop.wait(0.5):
            number = len(started)
            subprocess.run(["/bin/sh", "-c", "sleep 0.05; exit 0", "%s-%d" % (canary, number)], check=True,
                           env={"PATH": "/usr/bin:/bin", "TGOPS_LEAK_CANARY": "%s-%d" % (canary, number)})
            started.append(number)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


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
        # a stale vault token: telegram_bot_info is given it but checks the app's (leak_token, from an env file)
        "leak_vault_token": "5550012345:AAE" + secrets.token_urlsafe(27),
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
        canary = "canary" + secrets.token_hex(16)
        watcher = ProcessWatcher(watched, inherited, canary)
        watcher.start()
        started = time.monotonic()
        canaries_stop, canaries_started = threading.Event(), []
        canary_thread = start_canaries(canaries_stop, canary, canaries_started)
        try:
            proc = ansible_playbook(PLAYBOOK, "-vvv", "-e", "@" + extra)
        finally:
            canaries_stop.set()
            canary_thread.join()
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
    assert watcher.execs > 100 and watcher.environs > 1000, "the process watcher barely ran"
    # It saw every short-lived canary, in its argv and in its environment.
    assert len(canaries_started) >= 10, "the playbook ended before the watcher's self-check: %s" % canaries_started
    assert set(canaries_started) - watcher.canaries_in_argv == set(), "canaries (50 ms) whose argv the watcher missed"
    assert set(canaries_started) - watcher.canaries_in_environ == set(), "canaries whose environment it missed"
    assert not watcher.argv_hits, "secrets seen in process arguments: %s" % sorted(watcher.argv_hits)
    assert not watcher.environ_hits, "secrets seen in process environments: %s" % sorted(watcher.environ_hits)
    print("leak test: %.1f s, %d exec events, %d sweeps, %d overflows, %d canaries caught"
          % (seconds, watcher.execs, watcher.samples, watcher.overflows, len(canaries_started)))
