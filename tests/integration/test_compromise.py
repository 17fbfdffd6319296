"""playbooks/compromise_lockdown.yml: evidence from real logins, a real ufw lockdown, a real rotation.

The lab servers share the machine's network namespace (network_mode host) and must never be firewalled; the
lockdown runs against a host of its own made here from the lab's firewall-host image: its own network, NET_ADMIN,
SSH, a web service run as a plain process, and a Docker engine of its own publishing a web container with
`-p 2224:2224` (Docker's DNAT and FORWARD rules, which `ufw default deny incoming` does not close), everything
published on 127.0.0.1 only, removed at the end.
"""
import http.server
import json
import os
import re
import subprocess
import threading
import time

import pytest
import requests

from conftest import REPORT_TASKS, STATE, ansible_playbook, changed_tasks, docker
from test_rotate_secrets import assert_consistent, db_login, lab_secrets, out, rotate

pytestmark = pytest.mark.lane("own")

HOST = "tgops-lab-compromise"
SSH_PORT = 2223
WEB_PORT = 2224  # the host's Docker publishes its web container here (and the lab's engine on 127.0.0.1)
PLAIN_PORT = 2228  # a web service run as a plain process on the host
KEY = os.path.join(STATE, "ssh", "id_ed25519")


def host_ssh(command, timeout=20):
    return subprocess.run(["ssh", "-i", KEY, "-p", str(SSH_PORT), "-o", "StrictHostKeyChecking=no",
                           "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
                           "-o", "ConnectTimeout=5", "root@127.0.0.1", command],
                          capture_output=True, text=True, timeout=timeout, check=False)


def web_answers(port=WEB_PORT):
    try:
        return requests.get("http://127.0.0.1:%d/" % port, timeout=3).status_code == 200
    except requests.RequestException:
        return False


def plain_answers():
    return web_answers(PLAIN_PORT)


def report_of(tmp_path, host):
    reports = sorted(p for p in os.listdir(str(tmp_path)) if host in p)
    assert reports, "no report for %s in %s" % (host, os.listdir(str(tmp_path)))
    with open(os.path.join(str(tmp_path), reports[-1])) as handle:
        return " ".join(handle.read().split())


@pytest.fixture(scope="module", name="own_host")
def fixture_own_host(tmp_path_factory):
    """A server with a network of its own (the firewall acts on it alone) and its inventory."""
    docker("rm", "-f", HOST, check=False)
    with open(KEY + ".pub") as handle:
        public_key = handle.read().strip()
    # Its own Docker engine needs mounts and netfilter: SYS_ADMIN, a cgroup namespace of its own, no seccomp or
    # AppArmor profile (--privileged is refused by the lab's engine).
    docker("run", "-d", "--name", HOST, "--hostname", "compromise-lab", "--cap-add", "NET_ADMIN",
           "--cap-add", "SYS_ADMIN", "--cgroupns", "private", "--security-opt", "seccomp=unconfined",
           "--security-opt", "apparmor=unconfined",
           "-p", "127.0.0.1:%d:%d" % (SSH_PORT, SSH_PORT), "-p", "127.0.0.1:%d:%d" % (WEB_PORT, WEB_PORT),
           "-p", "127.0.0.1:%d:%d" % (PLAIN_PORT, PLAIN_PORT),
           "-e", "AUTHORIZED_KEY=" + public_key, "-e", "SSH_PORT=%d" % SSH_PORT, "-e", "SSH_LISTEN=0.0.0.0",
           "-e", "DOCKER_ENGINE=1", "-e", "WEB_PORT=%d" % WEB_PORT, "tgops-lab/firewall-host:latest")
    try:
        deadline = time.monotonic() + 60
        while host_ssh("true").returncode != 0:
            assert time.monotonic() < deadline, "the compromise test host did not answer SSH"
            time.sleep(1)
        # What users reach on it: a web service run as a plain process and one published by Docker, both of
        # which the lockdown must cut off.
        docker("exec", "-d", HOST, "python3", "-m", "http.server", str(PLAIN_PORT), "--directory", "/srv")
        deadline = time.monotonic() + 60
        while not (web_answers() and plain_answers()):
            assert time.monotonic() < deadline, "the test host's web services did not start: %s" % docker(
                "exec", HOST, "sh", "-c", "tail -5 /var/log/firewall-host.log /var/log/dockerd.log", check=False).stdout
            time.sleep(0.5)
        # SSH from the controller reaches the host through the lab engine's proxy: from its bridge's gateway.
        gateway = docker("inspect", "-f", "{{.NetworkSettings.Gateway}}", HOST).stdout.strip()
        inventory = tmp_path_factory.mktemp("compromise") / "hosts.yml"
        inventory.write_text(json.dumps({"all": {"hosts": {"compromise-lab": {
            "ansible_host": "127.0.0.1", "ansible_port": SSH_PORT, "ansible_user": "root",
            "ansible_ssh_private_key_file": KEY, "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_host_key_checking": False,  # a throw-away container, as the lab's own inventory says
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "platform_firewall_managed": True, "platform_admin_sources": [gateway]}}}}))
        yield str(inventory)
    finally:
        docker("rm", "-f", HOST, check=False)


def lockdown(inventory, tmp_path, *extra):
    return ansible_playbook("-i", inventory, "playbooks/compromise_lockdown.yml", *extra, json_output=True,
                            env={"TGOPS_REPORT_DIR": str(tmp_path)})


def test_lockdown_denies_incoming_keeps_ssh_and_is_idempotent(own_host, tmp_path):
    assert web_answers() and plain_answers() and "Status: inactive" in host_ssh("ufw status").stdout
    assert "--dport %d -j DNAT" % WEB_PORT in host_ssh("iptables -t nat -S").stdout  # Docker's own publishing

    proc = lockdown(own_host, tmp_path)
    assert proc.returncode == 0, out(proc)
    assert "Not denying incoming traffic: confirm with -e compromise_firewall_confirm=true" in proc.stdout
    assert "Status: inactive" in host_ssh("ufw status").stdout and web_answers() and plain_answers()

    proc = lockdown(own_host, tmp_path, "--check", "--diff", "-e", "compromise_firewall_confirm=true")
    assert proc.returncode == 0, out(proc)
    assert {"Keep SSH open for the responders", "Close Docker's published ports (DOCKER-USER in ufw's after.rules)",
            "Deny incoming traffic by default", "Enable the firewall"} <= set(changed_tasks(json.loads(proc.stdout)))
    assert "Status: inactive" in host_ssh("ufw status").stdout and web_answers() and plain_answers()
    assert "tgops compromise lockdown" not in host_ssh("cat /etc/ufw/after.rules").stdout

    started = time.monotonic()
    proc = lockdown(own_host, tmp_path, "-e", "compromise_firewall_confirm=true")
    print("confirmed lockdown with probes: %.1f s" % (time.monotonic() - started))
    assert proc.returncode == 0, out(proc)
    status = host_ssh("ufw status verbose").stdout
    assert "Status: active" in status and "deny (incoming)" in status, status
    gateway = json.loads(open(own_host).read())["all"]["hosts"]["compromise-lab"]["platform_admin_sources"][0]
    assert re.search(r"%d/tcp +ALLOW IN +%s" % (SSH_PORT, re.escape(gateway)), status), status
    assert not re.search(r"%d/tcp +ALLOW IN +Anywhere" % SSH_PORT, status), status  # not to any source
    assert not plain_answers(), "the web service (a plain process) still answers after the lockdown"
    assert not web_answers(), "the web port published by Docker still answers after the lockdown"
    assert host_ssh("true").returncode == 0, "the lockdown cut the responders' SSH"
    report = report_of(tmp_path, "compromise-lab")
    assert "Firewall: ufw enabled, incoming traffic denied except the allowed ports; Docker-published ports" in report
    assert "checked from outside: SSH (port %d) answers; closed from outside: %d" % (SSH_PORT, WEB_PORT) in report
    assert "no authentication log on the host" in report  # tini runs sshd here, logging to its stderr

    proc = lockdown(own_host, tmp_path, "-e", "compromise_firewall_confirm=true")
    assert proc.returncode == 0, out(proc)
    assert set(changed_tasks(json.loads(proc.stdout))) <= REPORT_TASKS
    assert not web_answers() and not plain_answers() and host_ssh("true").returncode == 0

    # What ufw and Docker do on their own keeps the published port closed: a reload, an engine restart.
    assert host_ssh("ufw reload && iptables -S DOCKER-USER").returncode == 0
    assert not web_answers() and host_ssh("true").returncode == 0
    rules = host_ssh("iptables -S DOCKER-USER").stdout
    assert rules.count("REJECT --reject-with tcp-reset") == 1, rules  # reloaded, never doubled


def test_the_probe_fails_a_lockdown_that_leaves_a_published_port_open(own_host, tmp_path):
    """A hole the rules cannot see (an ACCEPT in FORWARD before Docker's DOCKER-USER jump, which neither ufw nor
    the lockdown's rules touch): only the probe from outside finds it, and it fails the host."""
    proc = lockdown(own_host, tmp_path, "-e", "compromise_firewall_confirm=true")
    assert proc.returncode == 0, out(proc)
    hole = "FORWARD -p tcp --dport %d -j ACCEPT" % WEB_PORT
    assert host_ssh("iptables -I " + hole).returncode == 0
    try:
        assert web_answers()
        proc = lockdown(own_host, tmp_path, "-e", "compromise_firewall_confirm=true")
        assert proc.returncode != 0, out(proc)
        assert "does not hold from outside (127.0.0.1): still answering from outside: %d" % WEB_PORT in " ".join(
            proc.stdout.split()), out(proc)
    finally:
        assert host_ssh("iptables -D " + hole).returncode == 0
    proc = lockdown(own_host, tmp_path, "-e", "compromise_firewall_confirm=true")
    assert proc.returncode == 0, out(proc)
    assert not web_answers() and host_ssh("true").returncode == 0


def test_lockdown_refuses_to_keep_ssh_open_to_any_source_by_default(own_host, tmp_path):
    before = host_ssh("ufw status; iptables -S DOCKER-USER; md5sum /etc/ufw/after.rules").stdout
    proc = lockdown(own_host, tmp_path, "-e", "compromise_firewall_confirm=true", "-e", '{"platform_admin_sources": []}')
    assert proc.returncode != 0, out(proc)
    assert "compromise_firewall_ssh_from is empty for compromise-lab (no platform_admin_sources)" in " ".join(
        proc.stdout.split()), out(proc)
    assert host_ssh("ufw status; iptables -S DOCKER-USER; md5sum /etc/ufw/after.rules").stdout == before


class _Webhook(http.server.BaseHTTPRequestHandler):
    """A Slack incoming webhook on 127.0.0.1 that keeps what it is sent."""
    received = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(json.loads(body)["text"])
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


def test_sessions_from_unknown_sources_are_named_in_the_report_and_the_channel(own_host, tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Webhook.received = []
    # A session open on the host from a source the team does not use (the known sources say another network).
    session = subprocess.Popen(["ssh", "-tt", "-i", KEY, "-p", str(SSH_PORT), "-o", "StrictHostKeyChecking=no",
                                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=QUIET", "root@127.0.0.1",
                                "sleep 120"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        proc = lockdown(own_host, tmp_path, "-e", "compromise_firewall_confirm=true", "-e", json.dumps({
            "compromise_known_sources": ["192.0.2.0/24"],
            "incident_report_notify_slack_webhook_url": "http://127.0.0.1:%d/services/T0/B0/x" % server.server_port}))
        assert session.poll() is None, "the lockdown ended the session"  # named, not ended
    finally:
        session.kill()
        server.shutdown()
    assert proc.returncode == 0, out(proc)
    said = [text for text in _Webhook.received if "lockdown: SSH sessions from unknown sources stay open" in text]
    assert len(said) == 1 and re.search(r"root on pts/\d+ from [\d.]+ \(sshd pid \d+", said[0]), _Webhook.received
    assert "(Ansible" not in said[0] and said[0].count("root on") == 1  # not the check's own session
    report = report_of(tmp_path, "compromise-lab")
    assert re.search(r"SSH sessions from unknown sources stay open after the lockdown .*: root on pts/\d+", report), report


def test_a_secret_in_a_log_line_is_masked_in_the_evidence(own_host, tmp_path):
    """A log line carrying a platform secret (here a user name made of it) reaches the report masked: the role
    gives login_activity_info every secret the vault variables of platform_secrets hold."""
    secret = "tgops-evidence-SECRET-%d" % os.getpid()
    line = "2026-12-07T08:00:00.000000+00:00 compromise-lab sshd[99]: Invalid user %s from 203.0.113.9 port 4444" % secret
    assert host_ssh("for i in 1 2 3 4 5; do printf '%%s\\n' '%s'; done >/var/log/auth.log" % line).returncode == 0
    try:
        proc = lockdown(own_host, tmp_path, "-e", json.dumps({
            "platform_secrets": {"secret_key": {"env": "SECRET_KEY", "vault": "vault_test_secret_key"}},
            "vault_test_secret_key": secret}))
        assert proc.returncode == 0, out(proc)
        report = report_of(tmp_path, "compromise-lab")
        assert "5 failed login attempts from 203.0.113.9 (users: ********)" in report, report
        assert "Invalid user ******** from 203.0.113.9" in proc.stdout  # the evidence's log entries
        assert secret not in report and secret not in proc.stdout + proc.stderr
    finally:
        host_ssh("rm -f /var/log/auth.log")


@pytest.mark.lane("tgquiz")
def test_a_lab_server_is_never_firewalled(tmp_path):
    """The lab's servers share the machine's network: a confirmed lockdown must leave them alone."""
    proc = ansible_playbook("playbooks/compromise_lockdown.yml", "-l", "tgquiz", "-e", "compromise_firewall_confirm=true",
                            json_output=True, env={"TGOPS_REPORT_DIR": str(tmp_path)})
    assert proc.returncode == 0, out(proc)
    result = json.loads(proc.stdout)
    assert set(changed_tasks(result)) <= REPORT_TASKS
    said = [r.get("msg", "") for play in result["plays"] for task in play["tasks"]
            if task["task"]["name"].endswith("Say why the firewall is not touched") for r in task["hosts"].values()]
    assert said and "does not let the collection manage the firewall of this host" in " ".join(said[0].split())
    lockdown_tasks = {"Require ufw", "Keep SSH open for the responders", "Keep the listed ports open",
                      "Close Docker's published ports (DOCKER-USER in ufw's after.rules)",
                      "Deny incoming traffic by default", "Enable the firewall"}
    ran = [task["task"]["name"] for play in result["plays"] for task in play["tasks"]
           if task["task"]["name"].split(" : ")[-1] in lockdown_tasks
           and not all(r.get("skipped") for r in task["hosts"].values())]
    assert ran == [], ran


@pytest.mark.lane("toogoodtogo")
def test_evidence_names_brute_force_and_an_unknown_session(tmp_path):
    # Real failed logins on the toogoodtogo server (journald holds sshd's auth messages there).
    intruder = "tgops-intruder"
    for _attempt in range(6):
        subprocess.run(["ssh", "-i", KEY, "-p", "2222", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=QUIET",
                        "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "%s@127.0.0.1" % intruder, "true"],
                       capture_output=True, timeout=20, check=False)
    # An interactive session left open, seen from a network the team does not use.
    session = subprocess.Popen(["ssh", "-tt", "-i", KEY, "-p", "2222", "-o", "StrictHostKeyChecking=no",
                                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=QUIET", "root@127.0.0.1",
                                "sleep 120"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        # No confirmation given: evidence only, nothing changed on the host.
        proc = ansible_playbook("playbooks/compromise_lockdown.yml", "-l", "toogoodtogo",
                                "-e", '{"compromise_known_sources": ["192.0.2.0/24"]}',
                                env={"TGOPS_REPORT_DIR": str(tmp_path)})
    finally:
        session.kill()
    assert proc.returncode == 0, out(proc)
    report = report_of(tmp_path, "toogoodtogo-lab")
    assert re.search(r"\d+ failed login attempts from 127\.0\.0\.1 \(users: [^)]*%s" % intruder, report), report
    assert "open SSH session of root on pts/" in report and "from 127.0.0.1 outside the known sources" in report
    assert "this is the session running this check" in report  # Ansible's own session, marked as such
    assert "stripe_key not rotated: needs its issuer" in report
    assert "Not rotating secret_key, db_password: confirm with -e compromise_rotate_confirm=true" in " ".join(proc.stdout.split())


@pytest.mark.lane("toogoodtogo")
def test_confirmed_rotation_rotates_every_generated_secret(tmp_path):
    """The one confirmed rotation of the generated secrets in the integration tests (issue 20: each assertion once).

    The compromise playbook rotates exactly the generated ones, says so in its report and prints no secret; the
    rotation back is playbooks/rotate_secrets.yml's confirmed run with given values: exit 0, no secret in its output,
    the generated password refused and the lab's accepted again, env file, vault and secrets.json on the lab's values.
    The secret_rotation role's end state after a rotation (the old values refused and gone, the new ones in the env
    file, vault and secrets.json, the env file 0600 with no copy left, the application healthy) is
    molecule/secret_rotation's verify.
    """
    original = lab_secrets()
    proc = ansible_playbook("playbooks/compromise_lockdown.yml", "-l", "toogoodtogo", "-e", "compromise_rotate_confirm=true",
                            env={"TGOPS_REPORT_DIR": str(tmp_path)})
    new = lab_secrets()
    try:
        assert proc.returncode == 0, out(proc)
        assert new["postgres_password"] != original["postgres_password"] and new["secret_key"] != original["secret_key"]
        assert new["stripe_api_key"] == original["stripe_api_key"] and new["bot_token"] == original["bot_token"]
        report = report_of(tmp_path, "toogoodtogo-lab")
        assert "Secrets rotated and verified: secret_key, db_password" in report
        for secret in (new["postgres_password"], new["secret_key"], original["postgres_password"]):
            assert secret not in proc.stdout + proc.stderr and secret not in report
    finally:
        # Back to the lab's secrets (later tests read them), through the rotation playbook.
        back = rotate(tmp_path, ["db_password", "secret_key"],
                      {"db_password": original["postgres_password"], "secret_key": original["secret_key"]})
    assert back.returncode == 0, out(back)
    for secret in (new["postgres_password"], new["secret_key"], original["postgres_password"], original["secret_key"]):
        assert secret not in back.stdout + back.stderr
    assert db_login(new["postgres_password"]) is False and db_login(original["postgres_password"]) is True
    assert_consistent({"postgres_password": original["postgres_password"], "secret_key": original["secret_key"]})
