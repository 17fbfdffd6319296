"""Disk space exhaustion (toogoodtogo runbook edge case), with the real fault: the backup directory on a small
tmpfs filled with backups beyond retention and *.old leftovers until it is at least 95% full.

playbooks/disk_space.yml's behaviour is proved here: check mode, the refusal without the confirmation, exit codes,
the reports. molecule/disk_space puts the same fault and proves the role's: the host state after the clean-up and
that a second run changes nothing (issue 20: each assertion once).
"""
import datetime

import pytest

from conftest import ansible_playbook, ssh, wait_health

pytestmark = pytest.mark.lane("toogoodtogo")

BACKUPS = "/opt/backups/postgres"
MB = 1048576


def usage():
    """Used percent of the backup directory's file system, as df counts it."""
    return int(ssh("toogoodtogo", "df --output=pcent %s | tail -n 1" % BACKUPS).stdout.strip().rstrip("%"))


def listing():
    return sorted(ssh("toogoodtogo", "ls -1 %s" % BACKUPS).stdout.split())


def write(name, size_mb):
    # Random bytes: tmpfs does not compress, and they stand for gzip data.
    ssh("toogoodtogo", "head -c %d /dev/urandom > %s/%s" % (int(size_mb * MB), BACKUPS, name))


@pytest.fixture(name="small_backup_fs")
def fixture_small_backup_fs():
    """A 24 MB tmpfs over the backup directory, unmounted whatever the test did; the host as it was before."""
    before = ssh("toogoodtogo", "findmnt -n %s; stat -c '%%a %%U %%G' %s; ls -la %s" % (BACKUPS, BACKUPS, BACKUPS),
                 check=False).stdout
    assert "tmpfs" not in before, "a tmpfs is already mounted over %s: %s" % (BACKUPS, before)
    ssh("toogoodtogo", "mount -t tmpfs -o size=24m,mode=0750 tgops-disk-test %s" % BACKUPS)
    try:
        yield
    finally:
        # Lazy when busy: the directory must come back even if a process still holds a file open.
        ssh("toogoodtogo", "umount %s || umount -l %s" % (BACKUPS, BACKUPS))
        after = ssh("toogoodtogo", "findmnt -n %s; stat -c '%%a %%U %%G' %s; ls -la %s" % (BACKUPS, BACKUPS, BACKUPS),
                    check=False).stdout
        assert after == before, "the backup directory was not put back:\n%s\n---\n%s" % (before, after)
        wait_health("toogoodtogo", timeout=30)


def test_a_full_backup_directory_is_found_then_cleaned_to_the_retention(tmp_path, small_backup_fs):
    now = datetime.datetime.strptime(ssh("toogoodtogo", "date +%Y%m%d%H%M%S").stdout.strip(), "%Y%m%d%H%M%S")
    # The newest 7 daily backups (hours old) stay; a pre-deployment backup is never the daily retention's.
    recent = ["toogoodtogo_%s.sql.gz" % (now - datetime.timedelta(hours=h)).strftime("%Y%m%d_%H%M%S")
              for h in range(1, 8)]
    labelled = "toogoodtogo_20250105_120000_pre_deployment.sql.gz"
    leftovers = ["toogoodtogo_20250101_030000.sql.gz.old", "toogoodtogo_20250102_030000.sql.gz.old"]
    for name in recent + [labelled]:
        write(name, 0.4)
    for name in leftovers:
        write(name, 2)
    old = []
    day = datetime.date(2025, 1, 1)
    while usage() < 95:
        name = "toogoodtogo_%s_030000.sql.gz" % day.strftime("%Y%m%d")
        write(name, 1)
        old.append(name)
        day += datetime.timedelta(days=1)
    full = listing()
    assert usage() >= 95 and len(old) >= 8
    report_env = {"TGOPS_REPORT_DIR": str(tmp_path)}

    # Check mode, confirmed: says what it would remove, removes nothing.
    check = ansible_playbook("playbooks/disk_space.yml", "-l", "toogoodtogo", "--check",
                             "-e", "disk_space_backups_confirm=true", env=report_env)
    assert check.returncode == 0, check.stdout[-5000:] + check.stderr[-2000:]
    assert "Would remove %d backup(s) beyond retention" % len(old) in check.stdout
    assert "Would remove 2 leftover(s)" in check.stdout
    assert listing() == full

    # Unconfirmed: named (path, usage, what is beyond retention), nothing removed, the host fails with the way out.
    plain = ansible_playbook("playbooks/disk_space.yml", "-l", "toogoodtogo", env=report_env)
    assert plain.returncode != 0
    assert "backups (%s) on %s: " % (BACKUPS, BACKUPS) in plain.stdout
    assert "%d backup(s) beyond retention" % len(old) in plain.stdout
    assert "2 leftover(s) *.sql.gz.old in %s" % BACKUPS in plain.stdout
    assert "-e disk_space_backups_confirm=true" in plain.stdout
    assert listing() == full and usage() >= 95

    # Confirmed: the playbook exits 0 and its reports say what was found and done. The state it leaves (the newest 7
    # and the labelled backup kept, leftovers gone, under the threshold, healthy) and a second run that changes
    # nothing are molecule/disk_space's verify and idempotence, on the same fault.
    fixed = ansible_playbook("playbooks/disk_space.yml", "-l", "toogoodtogo", "-e", "disk_space_backups_confirm=true",
                             env=report_env)
    assert fixed.returncode == 0, fixed.stdout[-6000:] + fixed.stderr[-2000:]
    reports = sorted(tmp_path.glob("*.md"))  # check mode writes none
    assert len(reports) == 2
    last = reports[-1].read_text()
    assert "**Status:** Resolved" in last
    assert "Removed %d backup(s) beyond retention" % len(old) in last and old[0] in last
    assert "Removed 2 leftover(s)" in last and "Still over" not in last
    assert "**Status:** Investigating" in reports[0].read_text()
