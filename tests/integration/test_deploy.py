"""playbooks/deploy.yml and playbooks/rollback.yml against the lab's toogoodtogo server.

The tests run in file order and share the server's state (each deploy takes a build):
check mode -> good deploy (with the pre-deployment backup) -> same deploy again -> two deploys at once ->
a release whose /health fails (automatic rollback, no data lost) -> rollback to previous and to a named
release -> unknown targets refused. The module fixture puts the lab back on the release, branch and
releases file it started with, and removes the broken release it made.
"""
import json
import os
import shlex
import socket
import subprocess
import sys
import time

import psycopg2
import pytest
import requests

from conftest import ROOT, ansible_playbook, changed_tasks, ssh

from ansible_collections.tgops.runbooks.plugins.action.deploy_lock import process_of

pytestmark = pytest.mark.lane("toogoodtogo")

PLATFORM = "toogoodtogo"
HOST = "toogoodtogo-lab"
LIMIT = ("-l", PLATFORM)
REPO = "/opt/toogoodtogo"
RELEASES = "/var/lib/toogoodtogo/releases.jsonl"
LOCK = "/var/lib/toogoodtogo/deploy.lock"
LOG = "/var/log/toogoodtogo/deployment.log"
BACKUPS = "/opt/backups/postgres"
HEALTH = "http://127.0.0.1:8000/health"
BROKEN = "v1.1.1-broken"
FAST = ("-e", "deploy_health_timeout=20", "-e", "rollback_health_timeout=60")
# An operator's edit of a tracked file, as the P2 memory playbook tells them to make (a memory limit).
EDITED = REPO + "/deployment/docker-compose.prod.yml"
EDIT_LINE = "# operator: mem_limit 512m for the bot (tgops test)"


def sh(command, check=True):
    return ssh(PLATFORM, command, check=check).stdout.strip()


def version():
    body = requests.get(HEALTH, timeout=5).json()
    return body["status"], body["version"]


def deploy(release, *extra, operator="hdeploy-test", json_output=False):
    return ansible_playbook("playbooks/deploy.yml", *LIMIT, "-e", "deploy_release=%s" % release, *FAST, *extra,
                            env={"TGOPS_OPERATOR": operator}, json_output=json_output)


def rollback(*extra, json_output=False):
    return ansible_playbook("playbooks/rollback.yml", *LIMIT, *FAST, *extra,
                            env={"TGOPS_OPERATOR": "hdeploy-test"}, json_output=json_output)


def out(proc):
    return proc.stdout[-6000:] + proc.stderr[-3000:]


def on_release(*tags):
    """Deploy each of ``tags`` in turn unless it already runs: every test starts from the release it needs,
    whichever tests ran before it (alone, with -k, or in another order), at no cost when it already does."""
    for tag in tags:
        if version() != ("healthy", tag):
            proc = deploy(tag, "-e", "deploy_skip_backup=true")
            assert proc.returncode == 0, out(proc)


def log_lines():
    return sh("cat %s" % LOG).splitlines()


def releases():
    return [json.loads(line) for line in sh("cat %s 2>/dev/null || true" % RELEASES).splitlines() if line.strip()]


def snapshot():
    """What a run that changes nothing must leave exactly as it was."""
    return dict(
        head=sh("git -C %s rev-parse HEAD" % REPO),
        releases=sh("cat %s 2>/dev/null || echo ABSENT" % RELEASES),
        log=sh("md5sum < %s" % LOG),
        lock=sh("test -e %s && echo HELD || echo FREE" % LOCK),
        containers=sh("docker ps --filter label=com.docker.compose.project=toogoodtogo --format '{{.ID}} {{.Image}}'"
                      " | sort"),
        backups=sh("ls %s" % BACKUPS),
    )


def data_fingerprint():
    """Row count and checksum of the reference table, and the schema revision (through the published port)."""
    with open(os.path.join(ROOT, ".lab", "secrets.json")) as handle:
        password = json.load(handle)[PLATFORM]["postgres_password"]
    conn = psycopg2.connect(host="127.0.0.1", port=25432, user="toogoodtogo", password=password, dbname="toogoodtogo",
                            connect_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), coalesce(md5(string_agg(u::text, ',' ORDER BY id)), '') FROM users u")
            count, checksum = cur.fetchone()
            cur.execute("SELECT string_agg(version_num, ',') FROM alembic_version")
            revision = cur.fetchone()[0]
    finally:
        conn.close()
    assert count > 0, "the reference table is empty: the comparison would prove nothing"
    return count, checksum, revision


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def make_broken_release():
    """A tagged commit on top of v1.1.0 whose app exits at start (so /health never answers), made with
    git plumbing so the server's working tree is untouched."""
    script = r"""
set -eu
cd %(repo)s
export GIT_INDEX_FILE=$(mktemp)
git read-tree v1.1.0
api=$(printf 'raise SystemExit("broken release made by tests/integration/test_deploy.py")\n' | git hash-object -w --stdin)
ver=$(printf '%(tag)s\n' | git hash-object -w --stdin)
git update-index --cacheinfo 100644,"$api",src/app/api.py --cacheinfo 100644,"$ver",src/VERSION
tree=$(git write-tree)
rm -f "$GIT_INDEX_FILE"
commit=$(git -c user.name=tgops-test -c user.email=test@tgops.invalid commit-tree "$tree" -p v1.1.0 -m "Broken release (test)")
git tag -f %(tag)s "$commit" >/dev/null
""" % dict(repo=REPO, tag=BROKEN)
    sh("bash -c %s" % _quote(script))


@pytest.fixture(scope="module", autouse=True)
def lab_state():
    """Remember the starting point; afterwards put the lab back on it."""
    start = dict(
        status_version=version(),
        head=sh("git -C %s rev-parse HEAD" % REPO),
        branch=sh("git -C %s symbolic-ref -q --short HEAD || true" % REPO),
        releases=sh("cat %s 2>/dev/null || echo ABSENT" % RELEASES),
        backups=set(sh("ls %s" % BACKUPS).split()),
    )
    assert start["status_version"][0] == "healthy", "the lab must start healthy: %r" % (start,)
    make_broken_release()
    yield start
    try:
        sh("rm -f %s" % LOCK)
        if sh("git -C %s rev-parse HEAD" % REPO) != start["head"] or version()[1] != start["status_version"][1]:
            proc = deploy(start["head"], "-e", "deploy_skip_backup=true", "-e", "deploy_skip_migrations=true")
            assert proc.returncode == 0, out(proc)
        if start["branch"]:
            sh("git -C %s checkout -q %s" % (REPO, start["branch"]))
    finally:
        sh("git -C %s tag -d %s >/dev/null 2>&1 || true" % (REPO, BROKEN))
        if start["releases"] == "ABSENT":
            sh("rm -f %s" % RELEASES)
        else:
            sh("cat > %s <<'EOF'\n%s\nEOF" % (RELEASES, start["releases"]))
        for name in set(sh("ls %s" % BACKUPS).split()) - start["backups"]:
            if "_pre_deployment" in name or "_pre_rollback" in name:
                sh("rm -f %s/%s" % (BACKUPS, name))
    assert version() == start["status_version"]


def test_check_mode_says_what_it_would_deploy_and_changes_nothing():
    on_release("v1.1.0")
    before = snapshot()
    proc = deploy("v1.0.0", "--check")
    assert proc.returncode == 0, out(proc)
    assert "Would deploy v1.0.0" in proc.stdout
    assert snapshot() == before
    assert version()[1] == "v1.1.0"


def test_deploy_a_good_release_with_a_verified_backup(lab_state):
    on_release("v1.1.0")
    backups_before = set(sh("ls %s" % BACKUPS).split())
    lines_before = len(log_lines())
    proc = deploy("v1.0.0", json_output=True)
    assert proc.returncode == 0, out(proc)
    assert version() == ("healthy", "v1.0.0")
    assert sh("git -C %s describe --tags --exact-match HEAD" % REPO) == "v1.0.0"

    # The pre-deployment backup, named as the runbook names it, and verified by the backup role.
    new = set(sh("ls %s" % BACKUPS).split()) - backups_before
    assert len(new) == 1 and list(new)[0].startswith("toogoodtogo_") and list(new)[0].endswith("_pre_deployment.sql.gz"), new
    result = json.loads(proc.stdout)
    facts = [t["hosts"][HOST] for p in result["plays"] for t in p["tasks"]
             if t["task"]["name"].endswith("Require a verified backup before changing anything")]
    assert facts and not facts[0].get("skipped") and not facts[0].get("failed")

    # One audit line, as `tail -50` shows it; the releases file has the baseline and the deploy.
    lines = log_lines()
    assert len(lines) == lines_before + 1
    assert " deploy result=success operator=hdeploy-test from=v1.1.0@" in lines[-1] and " to=v1.0.0@" in lines[-1]
    recorded = [(r["action"], r["release"], r["result"]) for r in releases()]
    assert recorded[-1] == ("deploy", "v1.0.0", "success")
    if lab_state["releases"] == "ABSENT":  # the first deploy on the host records what it found
        assert recorded == [("baseline", "v1.1.0", "success"), ("deploy", "v1.0.0", "success")]


def test_deploying_the_deployed_release_again_changes_nothing():
    on_release("v1.0.0")
    before = snapshot()
    proc = deploy("v1.0.0", json_output=True)
    assert proc.returncode == 0, out(proc)
    assert changed_tasks(json.loads(proc.stdout)) == []
    assert snapshot() == before


def test_a_second_deploy_at_the_same_time_is_refused_fast_and_names_the_holder():
    on_release("v1.0.0")  # so that the first deploy has something to do while the second one asks
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               TGOPS_OPERATOR="first-operator")
    first = subprocess.Popen([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "playbooks/deploy.yml", *LIMIT,
                              "-e", "deploy_release=v1.1.0", "-e", "deploy_skip_backup=true", *FAST],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while sh("test -e %s && echo HELD || echo FREE" % LOCK) != "HELD":
            assert first.poll() is None, "the first deploy ended before it took the lock: " + first.stdout.read()[-4000:]
            assert time.monotonic() < deadline, "the first deploy never took the lock"
            time.sleep(0.5)
        started = time.monotonic()
        second = deploy("v1.1.0", "-e", "deploy_skip_backup=true", operator="second-operator")
        elapsed = time.monotonic() - started
    finally:
        first_out, dummy = first.communicate(timeout=600)
    assert second.returncode != 0, out(second)
    assert "is held by first-operator" in second.stdout and "deploy v1.1.0" in second.stdout, out(second)
    # Refused before it planned anything, and told which variable breaks a lock whose holder is gone.
    assert "set -e deploy_lock_break=true" in second.stdout and "still running on controller" in second.stdout
    assert "Plan the deploy" not in second.stdout
    assert elapsed < 60, "the refusal took %.0f s" % elapsed
    assert first.returncode == 0, first_out[-6000:]
    assert version() == ("healthy", "v1.1.0")
    assert sh("test -e %s && echo HELD || echo FREE" % LOCK) == "FREE"
    # The refused deploy wrote nothing: the last line is the first deploy's.
    assert " deploy result=success operator=first-operator " in log_lines()[-1]


def test_a_release_whose_health_fails_is_rolled_back_and_nothing_is_lost():
    on_release("v1.1.0")
    data_before = data_fingerprint()
    lines_before = len(log_lines())
    # Its API exits at start: no /health ever answers, so the gate's verdict needs no 20 s.
    proc = deploy(BROKEN, "-e", "deploy_skip_backup=true", "-e", "deploy_health_timeout=8")
    assert proc.returncode != 0, out(proc)
    assert "Deploy of %s failed" % BROKEN in proc.stdout
    assert "Rolled back automatically to v1.1.0, which is healthy (version v1.1.0)" in proc.stdout, out(proc)
    assert version() == ("healthy", "v1.1.0")
    assert data_fingerprint() == data_before
    new = log_lines()[lines_before:]
    assert len(new) == 2, new
    assert " rollback result=success " in new[0] and "from=%s@" % BROKEN in new[0] and " to=v1.1.0@" in new[0]
    assert " deploy result=rolled_back " in new[1] and "to=%s@" % BROKEN in new[1] and "Gate on /health" in new[1]
    assert sh("test -e %s && echo HELD || echo FREE" % LOCK) == "FREE"


def test_when_the_automatic_rollback_fails_too_the_way_back_is_the_release_that_ran_before():
    on_release("v1.1.0")
    # The automatic rollback's gate asks a port where nothing answers (the rollback's own health URL), so it fails
    # too, as a rollback whose release cannot start would; the deploy's gate is the real one.
    proc = deploy(BROKEN, "-e", "deploy_skip_backup=true", "-e", "deploy_health_timeout=8",
                  "-e", "rollback_health_url=http://127.0.0.1:9/health", "-e", "rollback_health_timeout=2")
    assert proc.returncode != 0, out(proc)
    assert "and the automatic rollback to v1.1.0 failed too" in proc.stdout, out(proc)
    assert releases()[-1]["result"] == "failed" and releases()[-1]["release"] == BROKEN
    # The runbook's next steps: read the end of deployment.log, then roll back to the release that ran before.
    proc = rollback()
    assert proc.returncode == 0, out(proc)
    said = " ".join(proc.stdout.split())  # the output's lines are wrapped
    assert " deploy result=failed " in said, "the end of deployment.log is shown first: " + out(proc)
    assert "The last deploy, of %s" % BROKEN in said and "ended failed: " in said, out(proc)
    # to v1.1.0, not to v1.0.0 (the release below it in the history); the failed rollback had put it back already
    assert "going back to v1.1.0" in said and "the release that ran before it" in said, out(proc)
    assert "Nothing to roll back" in said and "to v1.0.0" not in said, out(proc)
    assert version() == ("healthy", "v1.1.0")
    assert sh("test -e %s && echo HELD || echo FREE" % LOCK) == "FREE"


def test_rollback_to_the_previous_release_then_to_a_named_one():
    # History: ..., v1.0.0, v1.1.0 -> previous is v1.0.0 (made so when the tests before did not leave it).
    check = rollback("--check")
    if "Would roll back from v1.1.0 to v1.0.0" not in check.stdout:
        on_release("v1.0.0", "v1.1.0")
        check = rollback("--check")
    assert check.returncode == 0, out(check)
    assert "Would roll back from v1.1.0 to v1.0.0" in check.stdout
    assert version()[1] == "v1.1.0"

    # With a down-migration: a verified backup first, named. (To the schema's own revision, so the older release
    # keeps its data and the tests after this one their schema; the backup is what is checked here.)
    backups_before = set(sh("ls %s" % BACKUPS).split())
    data_before = data_fingerprint()
    proc = rollback("-e", "rollback_downgrade_migrations=true", "-e", "rollback_migration_revision=%s" % data_before[2])
    assert proc.returncode == 0, out(proc)
    assert version() == ("healthy", "v1.0.0")
    new = set(sh("ls %s" % BACKUPS).split()) - backups_before
    assert len(new) == 1 and list(new)[0].endswith("_pre_rollback.sql.gz"), new
    name = list(new)[0]
    assert "Pre-rollback backup (verified): %s/%s" % (BACKUPS, name) in proc.stdout, out(proc)
    assert "after backup %s" % name in log_lines()[-1]
    assert data_fingerprint() == data_before
    assert "'to': 'v1.0.0'" in proc.stdout or "to: v1.0.0" in proc.stdout, out(proc)
    assert " rollback result=success operator=hdeploy-test from=v1.0.0@" not in log_lines()[-1]
    assert " rollback result=success operator=hdeploy-test from=v1.1.0@" in log_lines()[-1]

    # An operator's uncommitted edit in the checkout (a compose memory limit) is kept in a git stash when allowed.
    sh("echo %s >> %s" % (shlex.quote(EDIT_LINE), EDITED))
    try:
        proc = rollback("-e", "rollback_release=v1.1.0", "-e", "rollback_stash_local_changes=true")
        assert proc.returncode == 0, out(proc)
        assert version() == ("healthy", "v1.1.0")
        assert " to=v1.1.0@" in log_lines()[-1]
        assert "are kept in its git stash (stash@{0}" in proc.stdout, out(proc)
        assert sh("git -C %s stash list -n 1" % REPO).endswith(
            "tgops.runbooks rollback to v1.1.0: local changes before checking out %s" % releases()[-1]["commit"][:12])
        assert EDIT_LINE in sh("git -C %s stash show -p" % REPO)
        assert sh("git -C %s status --porcelain --untracked-files=no" % REPO) == ""
    finally:
        sh("git -C %s checkout -- %s && git -C %s stash clear" % (REPO, EDITED, REPO))


def test_local_changes_in_the_checkout_are_never_discarded():
    """`git checkout --force` would throw an operator's uncommitted edit away: refused before anything."""
    target = "v1.0.0" if version()[1] != "v1.0.0" else "v1.1.0"
    before = snapshot()
    sh("echo %s >> %s" % (shlex.quote(EDIT_LINE), EDITED))
    try:
        proc = rollback("-e", "rollback_release=%s" % target, "-e", "rollback_allow_unrecorded=true")
        assert proc.returncode != 0
        assert "/opt/toogoodtogo has uncommitted changes to deployment/docker-compose.prod.yml: checking out" in \
            proc.stdout and "rollback_stash_local_changes=true" in proc.stdout, out(proc)
        assert EDIT_LINE in sh("tail -n 1 %s" % EDITED) and sh("git -C %s stash list" % REPO) == ""
        assert snapshot() == before
    finally:
        sh("git -C %s checkout -- %s" % (REPO, EDITED))


@pytest.mark.parametrize("target, words", [
    ("v9.9.9", "unknown release v9.9.9"),
    (BROKEN, "refusing to roll back to %s (" % BROKEN),
    ("--upload-pack=id", "invalid release"),
])
def test_rollback_refuses_an_unknown_target(target, words):
    before = snapshot()
    proc = rollback("-e", "rollback_release=%s" % target)
    assert proc.returncode != 0
    assert words in proc.stdout, out(proc)
    assert target == "v9.9.9" or "it is not a release recorded" in proc.stdout or "invalid release" in proc.stdout
    assert snapshot() == before


# One host lock for every operation that changes the stack or the database.

def hold_lock(pid, operation="deploy v1.2.0"):
    """The lock a deploy run by ``pid`` on this controller holds, as its deploy_lock task wrote it."""
    record = dict(owner="lock-holder", controller=socket.gethostname(), pid=pid, process=process_of(pid) or "",
                  operation=operation, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), token="held-by-test")
    sh("mkdir -p %s && umask 077 && cat > %s <<'EOF'\n%s\nEOF" % (os.path.dirname(LOCK), LOCK, json.dumps(record)))


def restore(*extra):
    # Refused at the lock, before the backup is even looked for: a name that does not exist makes a run that got
    # past the lock fail at verification instead, with another message.
    return ansible_playbook("playbooks/restore.yml", *LIMIT, "-e", "restore_backup=toogoodtogo_20250101_000000.sql.gz",
                            "-e", "restore_confirm=toogoodtogo", *extra, env={"TGOPS_OPERATOR": "restore-test"})


@pytest.mark.parametrize("mode", [("--check",), ()], ids=["check", "real"])
def test_a_restore_is_refused_while_a_deploy_holds_the_host_lock(mode):
    hold_lock(os.getpid())  # a live deploy run on this controller: this very process
    try:
        before = data_fingerprint()
        proc = restore(*mode)
        assert proc.returncode != 0, out(proc)
        assert "is held by lock-holder (controller %s, pid %d, deploy v1.2.0) since " % (socket.gethostname(), os.getpid()) \
            in proc.stdout, out(proc)
        assert "set -e deploy_lock_break=true" in proc.stdout and "still running on controller" in proc.stdout
        # Refused before verifying or touching anything; the deploy's lock is left to it.
        assert "Verify the backup" not in proc.stdout and "toogoodtogo_20250101_000000" not in proc.stdout
        assert json.loads(sh("cat %s" % LOCK))["token"] == "held-by-test"
        assert data_fingerprint() == before
    finally:
        sh("rm -f %s" % LOCK)


@pytest.mark.parametrize("playbook, extra", [
    ("rollback.yml", ()),
    ("rotate_secrets.yml", ("-e", '{"rotate_secrets": ["secret_key"], "rotate_secrets_confirm": true}')),
    ("db_corruption.yml", ("-e", "db_corruption_restore_confirm=toogoodtogo")),
    ("p1_database.yml", ("-e", "p1_database_restore_confirm=toogoodtogo",
                         "-e", "p1_database_restore_backup=toogoodtogo_20250101_000000.sql.gz")),
], ids=lambda value: value if isinstance(value, str) else "")
def test_every_operation_that_changes_the_stack_or_database_is_refused_while_the_lock_is_held(playbook, extra):
    """Checked in check mode (which refuses as a real run would, and cannot harm the lab if a lock were missing)."""
    hold_lock(os.getpid())
    try:
        proc = ansible_playbook("playbooks/%s" % playbook, *LIMIT, "--check", *extra, env={"TGOPS_OPERATOR": "lock-test"})
        assert proc.returncode != 0, out(proc)
        assert "is held by lock-holder (controller %s, pid %d, deploy v1.2.0)" % (socket.gethostname(), os.getpid()) \
            in proc.stdout, out(proc)
        assert "deploy_lock_break=true" in proc.stdout
        assert json.loads(sh("cat %s" % LOCK))["token"] == "held-by-test"
    finally:
        sh("rm -f %s" % LOCK)


def test_a_dead_holder_is_taken_over_and_a_foreign_one_is_not():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    hold_lock(child.pid)
    child.wait()  # the deploy that held the lock was killed: its pid is gone
    try:
        proc = deploy(version()[1], "--check")
        assert proc.returncode == 0, out(proc)
        assert "pid %d is gone on controller" % child.pid in proc.stdout + proc.stderr, out(proc)

        # Held from another controller: never judged from here, whatever its age.
        sh("""sed -i 's/"controller": "[^"]*"/"controller": "ops-elsewhere"/' %s""" % LOCK)
        proc = restore("--check")
        assert proc.returncode != 0 and "taken from controller ops-elsewhere" in proc.stdout, out(proc)
        assert json.loads(sh("cat %s" % LOCK))["token"] == "held-by-test"
    finally:
        sh("rm -f %s" % LOCK)
