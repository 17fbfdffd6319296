"""Integration tests run against the lab (`make lab`): real containers reached over SSH and 127.0.0.1."""
import json
import os
import subprocess
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE = os.path.join(ROOT, ".lab")
BIN = os.path.join(ROOT, ".venv", "bin")
SSH_PORTS = {"tgquiz": 2221, "toogoodtogo": 2222}
PROJECT = {
    "tgquiz": "/opt/tgquiz",
    "toogoodtogo": "/opt/toogoodtogo/deployment",
}
# What an incident playbook changes on every run by design: its report, and the incident channel it tells.
REPORT_TASKS = {"Write the incident report", "Tell the incident channel"}
HEALTH = {"tgquiz": "http://127.0.0.1:18000/health", "toogoodtogo": "http://127.0.0.1:8000/health"}
# ansible.cfg names no vault password file (an AWX checkout has none): the lab's comes through the
# environment, as the Makefile and scripts/env.sh set it, for every command a test starts.
os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", os.path.join(STATE, "vault-pass"))


def pytest_collection_modifyitems(config, items):
    if not os.path.exists(os.path.join(STATE, "ready")):
        raise pytest.UsageError("the lab is not up: run `make lab` (make integration does it for you)")


@pytest.fixture(scope="session", name="secrets_file")
def fixture_secrets_file():
    """The lab's generated secrets (.lab/secrets.json)."""
    with open(os.path.join(STATE, "secrets.json")) as f:
        return json.load(f)


def ssh(platform, command, check=True, timeout=300):
    """Run a shell command on a lab server over real SSH; returns CompletedProcess."""
    argv = ["ssh", "-i", os.path.join(STATE, "ssh", "id_ed25519"), "-p", str(SSH_PORTS[platform]),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "BatchMode=yes", "root@127.0.0.1", command]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("ssh %s %r failed (%d): %s%s" % (platform, command, proc.returncode, proc.stdout, proc.stderr))
    return proc


def compose(platform, args, check=True, timeout=300):
    return ssh(platform, "cd %s && docker compose -f docker-compose.prod.yml %s" % (PROJECT[platform], args),
               check=check, timeout=timeout)


def wait_health(platform, want="healthy", timeout=120):
    """Poll the platform's /health on 127.0.0.1 until its status is `want`; returns the last JSON."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            r = requests.get(HEALTH[platform], timeout=5)
            last = (r.status_code, r.json())
            if last[1].get("status") == want:
                return last
        except (requests.RequestException, ValueError) as exc:
            last = (None, repr(exc))
        time.sleep(1)
    raise AssertionError("%s /health did not become %s in %ss; last: %r" % (platform, want, timeout, last))


def ansible_playbook(*args, env=None, timeout=900, json_output=False):
    """Run ansible-playbook from the repo root (ansible.cfg, lab inventory); returns CompletedProcess."""
    full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if json_output:
        full_env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.json"
    full_env.update(env or {})
    return subprocess.run([os.path.join(BIN, "ansible-playbook")] + list(args), cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def docker(*args, check=True, timeout=300):
    """The machine's docker CLI (the lab's engine); a failure is a test failure unless check=False."""
    proc = subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("docker %s failed (%d): %s%s" % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc


def changed_tasks(json_result):
    """Names of the tasks that reported a change on any host, from the json callback's output."""
    names = []
    for play in json_result["plays"]:
        for task in play["tasks"]:
            if any(r.get("changed") for r in task["hosts"].values()):
                names.append(task["task"]["name"].split(" : ")[-1])  # drop the "role : " prefix
    return names
