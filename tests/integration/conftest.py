"""Integration tests run against the lab (`make lab`): real containers reached over SSH and 127.0.0.1."""
import json
import os
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE = os.path.join(ROOT, ".lab")
BIN = os.path.join(ROOT, ".venv", "bin")
SSH_PORTS = {"tgquiz": 2221, "toogoodtogo": 2222}
PLATFORMS = ("tgquiz", "toogoodtogo")
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


# Lanes (scripts/test_lanes.py runs them): "both" needs both platforms at baseline or disturbs both, and runs
# first; then "tgquiz" and "toogoodtogo" (each touches its own platform only) side by side; "own" (resources of
# its own: a throw-away host, the controller, the S3 server, bots of its own) beside all of them. A test names its lane with
# `@pytest.mark.lane(...)`, or inherits its module's `pytestmark`; a test parametrized by `platform` is in that
# platform's lane unless its function names a lane itself.
LANES = ("both", "tgquiz", "toogoodtogo", "own")


def pytest_addoption(parser):
    parser.addoption("--lane", action="append", choices=LANES, default=[],
                     help="run only the tests of this lane (repeatable); default: every lane, one after another")


def pytest_configure(config):
    config.addinivalue_line("markers", "lane(name): the lane of the test (%s), see conftest.py" % ", ".join(LANES))


def lane_of(item):
    """The lane of a collected test: its function's own marker, its `platform` parameter, then its module's."""
    own = [mark for mark in item.own_markers if mark.name == "lane"]
    if own:
        return own[0].args[0]
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("platform") in PLATFORMS:
        return callspec.params["platform"]
    marker = item.get_closest_marker("lane")
    return marker.args[0] if marker else None


def lane_platforms(node):
    """The platforms a test may touch: its lane's one, or both."""
    lane = lane_of(node)
    return [lane] if lane in PLATFORMS else list(PLATFORMS)


def pytest_collection_modifyitems(config, items):
    if not os.path.exists(os.path.join(STATE, "ready")):
        raise pytest.UsageError("the lab is not up: run `make lab` (make integration does it for you)")
    unplaced = ["%s (%r)" % (item.nodeid, lane_of(item)) for item in items if lane_of(item) not in LANES]
    if unplaced:
        raise pytest.UsageError("tests without a lane (mark them, see conftest.py): %s" % ", ".join(unplaced))
    # The lanes in the driver's order, so that a plain `pytest tests/integration` runs them as it does, one after
    # another; test_lab_baseline.py first, as it checks the lab as `make lab` leaves it, before any test disturbs it;
    # test_ee.py last, as the driver builds the execution environment's image meanwhile.
    items.sort(key=lambda item: (LANES.index(lane_of(item)), item.path.name != "test_lab_baseline.py",
                                 item.path.name == "test_ee.py"))
    wanted = config.getoption("lane")
    if wanted:
        keep = [item for item in items if lane_of(item) in wanted]
        config.hook.pytest_deselected(items=[item for item in items if lane_of(item) not in wanted])
        items[:] = keep


@pytest.fixture(scope="session", name="secrets_file")
def fixture_secrets_file():
    """The lab's generated secrets (.lab/secrets.json)."""
    with open(os.path.join(STATE, "secrets.json")) as f:
        return json.load(f)


def ssh(platform, command, check=True, timeout=300):
    """Run a shell command on a lab server over real SSH; returns CompletedProcess."""
    # One SSH connection per server, reused (the tests make hundreds of calls; a handshake each cost seconds).
    # The master session runs no command and has no terminal: the compromise tests' session list ignores it.
    argv = ["ssh", "-i", os.path.join(STATE, "ssh", "id_ed25519"), "-p", str(SSH_PORTS[platform]),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "BatchMode=yes", "-o", "ControlMaster=auto", "-o", "ControlPersist=60s",
            "-o", "ControlPath=%s" % os.path.join(tempfile.gettempdir(), "tgops-test-ssh-%C"), "root@127.0.0.1", command]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("ssh %s %r failed (%d): %s%s" % (platform, command, proc.returncode, proc.stdout, proc.stderr))
    return proc


# What `playbooks/backup.yml --tags schedule` installs (roles/backup, schedule.yml): the lab's servers keep the
# real clock, so a schedule left behind would take a real backup at 03:00 UTC in the middle of a later test.
BACKUP_SCHEDULE_REMOVAL = {
    "tgquiz": "rm -f /etc/cron.d/tgquiz-backup",
    # reset-failed: a unit that failed and is gone stays listed as failed, and systemd says "degraded".
    "toogoodtogo": "systemctl disable --now toogoodtogo-backup.timer >/dev/null 2>&1; "
                   "rm -f /etc/systemd/system/toogoodtogo-backup.timer /etc/systemd/system/toogoodtogo-backup.service"
                   " && systemctl daemon-reload && systemctl reset-failed 'toogoodtogo-backup.*'",
}


def remove_backup_schedule(platform):
    ssh(platform, BACKUP_SCHEDULE_REMOVAL[platform])


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
