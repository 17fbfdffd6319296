"""Secrets in the lab's log lines never reach the incident report: every secret of the platform (SECRET_KEY, the
Stripe key, the off-site backup's S3 keys and HMAC key - those the env file does not hold included) is masked by
triage's redaction list, built by the platform_secret_values filter from the inventory."""
import glob
import os

import pytest

from conftest import ansible_playbook, compose, ssh, wait_health

pytestmark = pytest.mark.lane("toogoodtogo")


def test_every_platform_secret_in_a_log_line_is_masked_in_the_report(tmp_path, secrets_file):
    wait_health("toogoodtogo")
    secrets = {
        "SECRET_KEY": secrets_file["toogoodtogo"]["secret_key"],
        "STRIPE_API_KEY": secrets_file["toogoodtogo"]["stripe_api_key"],
        "S3_ACCESS_KEY": secrets_file["s3"]["access_key"],
        "S3_SECRET_KEY": secrets_file["s3"]["secret_key"],
        "BACKUP_HMAC_KEY": secrets_file["backup"]["hmac_key"],
    }
    line = "ERROR redaction-drill " + " ".join("%s=%s" % item for item in sorted(secrets.items()))
    bot = compose("toogoodtogo", "ps -q bot").stdout.strip()
    # A line on the app's own stdout, as a careless exception handler would log it.
    ssh("toogoodtogo", "docker exec %s sh -c 'echo \"%s\" > /proc/1/fd/1'" % (bot, line))
    proc = ansible_playbook("playbooks/p0_outage.yml", "-l", "toogoodtogo", env={"TGOPS_REPORT_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    (path,) = glob.glob(os.path.join(str(tmp_path), "*.md"))
    with open(path) as handle:
        report = handle.read()
    assert "ERROR redaction-drill" in report, report
    for name, value in secrets.items():
        assert value not in report, name
        assert value not in proc.stdout + proc.stderr, name
    assert "ERROR redaction-drill " + " ".join("%s=********" % name for name in sorted(secrets)) in report, report
