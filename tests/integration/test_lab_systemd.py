"""toogoodtogo's lab server runs systemd as PID 1, as its runbook's server does: `systemctl
start|stop|restart|status toogoodtogo` drives the compose stack and `journalctl -u toogoodtogo` tells
what the unit did. It shares the machine's network namespace, and systemd must leave the machine's
network, hostname and DNS configuration alone. tgquiz stays compose-only, with cron."""
import re
import socket
import subprocess
import time

import pytest

from conftest import ssh, wait_health

pytestmark = pytest.mark.lane("toogoodtogo")

DOCKER = "/usr/bin/docker"


def running_services(project):
    out = subprocess.run([DOCKER, "ps", "--filter", "label=com.docker.compose.project=%s" % project,
                          "--format", "{{.Label \"com.docker.compose.service\"}}"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def wait_system_running(timeout=60):
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        proc = ssh("toogoodtogo", "systemctl is-system-running", check=False, timeout=30)
        state = proc.stdout.strip() or proc.stderr.strip()
        if state in ("running", "degraded"):
            return state
        time.sleep(1)
    raise AssertionError("systemd did not finish starting: %r" % state)


def test_systemd_is_pid_1_and_the_system_is_running():
    assert ssh("toogoodtogo", "cat /proc/1/comm").stdout.strip() == "systemd"
    state = wait_system_running()
    failed = ssh("toogoodtogo", "systemctl --failed --no-legend --plain", check=False).stdout
    assert state == "running", "systemd is %s; failed units: %s" % (state, failed)
    assert ssh("toogoodtogo", "systemctl is-active ssh.service cron.service").stdout.split() == ["active", "active"]


def test_nothing_that_configures_the_machine_runs():
    units = ["systemd-networkd.service", "systemd-resolved.service", "systemd-timesyncd.service",
             "systemd-hostnamed.service", "systemd-sysctl.service", "systemd-udevd.service",
             "docker.service", "containerd.service"]
    states = ssh("toogoodtogo", "systemctl is-active %s" % " ".join(units), check=False).stdout.split()
    assert dict(zip(units, states)) == {u: "inactive" for u in units}
    masked = ssh("toogoodtogo", "systemctl is-enabled systemd-networkd.service systemd-hostnamed.service "
                                "docker.service", check=False).stdout.split()
    assert masked == ["masked"] * 3


def the_unit():
    proc = ssh("toogoodtogo", "systemctl show toogoodtogo -p ActiveState -p UnitFileState -p Result", check=False)
    return dict(line.split("=", 1) for line in proc.stdout.split())


def test_the_unit_is_enabled_and_active():
    assert the_unit() == {"ActiveState": "active", "UnitFileState": "enabled", "Result": "success"}
    assert ssh("toogoodtogo", "systemctl is-active toogoodtogo").stdout.strip() == "active"


def test_stop_and_start_through_systemd_stop_and_start_the_stack():
    assert running_services("toogoodtogo") == {"postgres", "redis", "bot", "nginx"}
    since = ssh("toogoodtogo", "date '+%Y-%m-%d %H:%M:%S'").stdout.strip()
    try:
        ssh("toogoodtogo", "systemctl stop toogoodtogo", timeout=180)
        assert ssh("toogoodtogo", "systemctl is-active toogoodtogo", check=False).stdout.strip() == "inactive"
        assert running_services("toogoodtogo") == set()
        status = ssh("toogoodtogo", "systemctl status toogoodtogo --no-pager", check=False)
        assert status.returncode == 3 and "inactive (dead)" in status.stdout, status.stdout
    finally:
        # start returns once every container is running and healthy (compose up --wait).
        ssh("toogoodtogo", "systemctl start toogoodtogo", timeout=300)
    assert the_unit()["ActiveState"] == "active"
    assert running_services("toogoodtogo") == {"postgres", "redis", "bot", "nginx"}
    assert wait_health("toogoodtogo", timeout=10)[0] == 200
    journal = ssh("toogoodtogo", "journalctl -u toogoodtogo --since '%s' --no-pager -o cat" % since).stdout
    for line in ("Stopping toogoodtogo", "Container toogoodtogo_bot  Removed", "Stopped toogoodtogo",
                 "Starting toogoodtogo", "Container toogoodtogo_bot  Healthy", "Finished toogoodtogo"):
        assert any(l.strip().startswith(line) for l in journal.splitlines()), "no %r in the journal:\n%s" % (line, journal)


def machine_network():
    """What systemd in a host-network container could change: addresses, routes, DNS, hostname."""
    def run(argv):
        # Without the engine's bridges and the containers' veth ends: they come, go and change carrier
        # with any container on the engine (other work included), systemd or not.
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        # Address lifetimes count down by themselves.
        return [re.sub(r"(valid_lft|preferred_lft|expires) \S+", r"\1", line) for line in out.splitlines()
                if not any(d in line for d in ("veth", "br-", "docker0"))]
    with open("/etc/resolv.conf") as f:
        resolv = f.read()
    return {"addr": run(["ip", "-o", "addr", "show"]), "links": run(["ip", "-o", "link", "show"]),
            "routes": run(["ip", "route", "show", "table", "all"]), "resolv": resolv,
            "hostname": socket.gethostname()}


def test_booting_systemd_in_the_host_network_leaves_the_machine_alone():
    before = machine_network()
    subprocess.run([DOCKER, "restart", "tgops-lab-toogoodtogo"], check=True, capture_output=True, timeout=120)
    deadline = time.monotonic() + 60
    while ssh("toogoodtogo", "true", check=False, timeout=10).returncode != 0:
        assert time.monotonic() < deadline, "no SSH after the restart"
        time.sleep(1)
    assert wait_system_running() == "running"
    # The stack's containers are the engine's: they ran on, and the unit found them at boot.
    assert the_unit()["ActiveState"] == "active"
    assert machine_network() == before


@pytest.mark.lane("tgquiz")
def test_tgquiz_stays_compose_only_with_cron():
    assert ssh("tgquiz", "cat /proc/1/comm").stdout.strip() == "tini"
    assert ssh("tgquiz", "pgrep -x cron >/dev/null && command -v crontab").returncode == 0
