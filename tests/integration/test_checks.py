"""Daily/weekly checks and SSL renewal against the lab: a healthy lab passes, a stale backup or an expiring
certificate fails and is named, and ssl_renew.yml renews it so that the checks pass (what the renewal serves is
molecule/ssl's)."""
import datetime
import os
import re
import ssl
import subprocess
import tempfile

import pytest
from cryptography import x509

from conftest import STATE, ansible_playbook, remove_backup_schedule, ssh

pytestmark = pytest.mark.lane("tgquiz")

PUBLIC = {"tgquiz": ("127.0.0.1", 18443), "toogoodtogo": ("127.0.0.1", 28443)}


def served_not_after(platform):
    pem = ssl.get_server_certificate(PUBLIC[platform])
    return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc


def nginx_container(platform):
    out = subprocess.run(["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=%s" % platform,
                          "--filter", "label=com.docker.compose.service=nginx"], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out, "no nginx container for %s" % platform
    return out[0]


def install_short_lived_cert(platform, days):
    """Sign a certificate valid for `days` with the lab CA and put it behind the public URL."""
    ca = os.path.join(STATE, "ca")
    name = platform + ".lab"
    with tempfile.TemporaryDirectory() as tmp:
        key, csr, crt, ext = (os.path.join(tmp, n) for n in ("server.key", "s.csr", "server.crt", "s.ext"))
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\n" % name)
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                        "-subj", "/CN=" + name], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(ca, "ca.crt"),
                        "-CAkey", os.path.join(ca, "ca.key"), "-CAserial", os.path.join(tmp, "serial"),
                        "-CAcreateserial", "-out", crt, "-days", str(days), "-extfile", ext],
                       check=True, capture_output=True)
        container = nginx_container(platform)
        for src in (key, crt):
            subprocess.run(["docker", "cp", src, "%s:/etc/nginx/certs/%s" % (container, os.path.basename(src))],
                           check=True, capture_output=True)
        subprocess.run(["docker", "exec", container, "nginx", "-s", "reload"], check=True, capture_output=True)
    deadline = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days + 1)
    for attempt in range(50):  # nginx workers pick the new certificate up shortly after the reload
        if served_not_after(platform) < deadline:
            return attempt
    raise AssertionError("nginx still serves the old certificate")


def checks(playbook, platform, *extra):
    return ansible_playbook("playbooks/%s" % playbook, "-l", platform, *extra, timeout=600)


@pytest.fixture(scope="module", name="scheduled_tgquiz")
def fixture_scheduled_tgquiz():
    """A fresh verified backup and the backup schedule (cron on tgquiz), as a healthy host has them."""
    proc = ansible_playbook("playbooks/backup.yml", "-l", "tgquiz", "--tags", "all,schedule", timeout=600)
    try:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        yield
    finally:
        remove_backup_schedule("tgquiz")


def test_daily_checks_pass_on_a_healthy_lab_and_change_nothing(scheduled_tgquiz):
    proc = checks("daily_checks.yml", "tgquiz", "--check")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "tgquiz-lab: all checks passed" in proc.stdout
    for name in ("health_public", "backup_recency", "backup_verify", "backup_timer", "disk"):
        assert "OK   %s:" % name in proc.stdout, name
    assert "changed=0" in proc.stdout


def test_stale_backup_fails_daily_checks_and_names_the_check(scheduled_tgquiz):
    listing = ssh("tgquiz", "stat -c '%Y %n' /backup/backup_*.dump").stdout.split("\n")
    saved = [line.split(" ", 1) for line in listing if line.strip()]
    try:
        ssh("tgquiz", "touch -d '3 days ago' /backup/backup_*.dump")
        proc = checks("daily_checks.yml", "tgquiz")
        assert proc.returncode != 0
        assert "tgquiz-lab: FAILED checks: backup_recency" in proc.stdout, proc.stdout[-3000:]
        assert "FAIL backup_recency: newest backup_" in proc.stdout
    finally:
        ssh("tgquiz", "; ".join("touch -d @%s %s" % (mtime, path) for mtime, path in saved))


def test_expiring_certificate_fails_weekly_checks_then_ssl_renew_serves_a_fresh_one(scheduled_tgquiz):
    """The playbooks' side of an expiring certificate: the weekly checks fail and name it, ssl_renew.yml renews it
    (exit 0), the weekly checks pass again. The role's side - its check mode changes nothing, the renewed
    certificate (85 days, the lab CA, TLS to the public URL), a second run not due and changing nothing - is
    molecule/ssl's, with the same fault."""
    install_short_lived_cert("tgquiz", 3)
    try:
        proc = checks("weekly_checks.yml", "tgquiz")
        assert proc.returncode != 0
        assert re.search(r"tgquiz-lab: FAILED checks: [a-z_, ]*certificate", proc.stdout), proc.stdout[-3000:]
        assert "FAIL certificate: expires" in proc.stdout
    finally:
        proc = checks("ssl_renew.yml", "tgquiz")
    assert proc.returncode == 0, proc.stdout[-4000:]
    weekly = checks("weekly_checks.yml", "tgquiz")
    assert "OK   certificate: expires" in weekly.stdout, weekly.stdout[-3000:]
