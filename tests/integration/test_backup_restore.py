"""playbooks/backup.yml and playbooks/restore.yml against the lab's real databases (lab/seed.sql data).

Every restore test leaves the database as it found it: the fingerprint (row counts of every table, md5 of
two reference tables in key order) is compared before and after."""
import json
import os
import re
import shlex

import psycopg2
import pytest
import requests
import yaml

from conftest import ROOT, ansible_playbook, compose, lane_platforms, remove_backup_schedule, ssh, wait_health

pytestmark = pytest.mark.lane("both")

PLATFORMS = ["tgquiz", "toogoodtogo"]
DB = {
    "tgquiz": {"port": 15432, "dbname": "tgquiznft_prod", "user": "postgres", "dir": "/backup",
               "prefix": "backup", "ext": ".dump", "reference": ["users", "quiz_results"], "app": ["backend-api", "telegram-bot"]},
    "toogoodtogo": {"port": 25432, "dbname": "toogoodtogo", "user": "toogoodtogo", "dir": "/opt/backups/postgres",
                    "prefix": "toogoodtogo", "ext": ".sql.gz", "reference": ["users", "orders"], "app": ["bot"]},
}


def connect(platform, secrets_file, dbname=None):
    d = DB[platform]
    conn = psycopg2.connect(host="127.0.0.1", port=d["port"], dbname=dbname or d["dbname"], user=d["user"],
                            password=secrets_file[platform]["postgres_password"], connect_timeout=5)
    conn.autocommit = True
    return conn


def fingerprint(platform, secrets_file):
    """Row counts of every public table and the md5 of each reference table's rows in key order."""
    conn = connect(platform, secrets_file)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            tables = [row[0] for row in cur.fetchall()]
            counts = {}
            for table in tables:
                cur.execute('SELECT count(*) FROM public."%s"' % table)
                counts[table] = cur.fetchone()[0]
            sums = {}
            for table in DB[platform]["reference"]:
                cur.execute('SELECT md5(string_agg(t::text, \',\' ORDER BY t.id)) FROM public."%s" t' % table)
                sums[table] = cur.fetchone()[0]
            return {"counts": counts, "md5": sums}
    finally:
        conn.close()


def backups(platform):
    """File name -> octal mode of everything in the platform's backup directory (hidden files included)."""
    out = ssh(platform, "cd %s && find . -maxdepth 1 -type f -printf '%%f %%m\\n'" % DB[platform]["dir"]).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def run_json(*args):
    proc = ansible_playbook(*args, json_output=True)
    try:
        return proc, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("no JSON from ansible-playbook: %s%s" % (proc.stdout[-3000:], proc.stderr[-2000:]))


def results(result, task_name):
    """host -> result of every run of the task named ``task_name`` (role prefix dropped); last run wins."""
    found = {}
    for play in result["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].split(" : ")[-1] == task_name:
                found.update(task["hosts"])
    return found


def app_running(platform):
    out = compose(platform, "ps --status running --services").stdout.split()
    return all(service in out for service in DB[platform]["app"])


def backup(platform, *extra):
    proc, result = run_json("playbooks/backup.yml", "-l", platform, *extra)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    dump = results(result, "Dump the database")["%s-lab" % platform]
    return dump, result


def restore(platform, backup_name, *extra, confirm=None):
    return run_json("playbooks/restore.yml", "-l", platform, "-e", "restore_backup=%s" % backup_name,
                    "-e", "restore_confirm=%s" % (confirm or DB[platform]["dbname"]), *extra)


def remove_backup(platform, name):
    ssh(platform, "rm -f %s" % shlex.quote("%s/%s" % (DB[platform]["dir"], name)))


def safety_backups(platform):
    return sorted(name for name in backups(platform) if name.endswith("_pre_restore" + DB[platform]["ext"]))


@pytest.fixture(name="untouched")
def fixture_untouched(request, secrets_file):
    """Yields a checker; after the test the data of the platforms in the test's lane must be exactly as before
    and their apps healthy (the other platform's lane runs at the same time)."""
    before = {p: fingerprint(p, secrets_file) for p in lane_platforms(request.node)}
    yield before
    for platform in before:
        wait_health(platform, timeout=120)
        assert fingerprint(platform, secrets_file) == before[platform], "%s data changed" % platform


# ---------------------------------------------------------------------------------------------------------
# Backup


# tgquiz's backup (custom format: named, 0600, one new file, verified, pg_restore --list), its retention (old
# daily backups removed, labelled and foreign files kept) and its cron schedule (the entry, the private config,
# the job run now, installed again unchanged) are the backup role's, in molecule/backup with the same runs.
@pytest.mark.parametrize("platform", ["toogoodtogo"])
def test_backup_is_named_private_verified_and_atomic(platform):
    d = DB[platform]
    before = backups(platform)
    dump, result = backup(platform)
    name = dump["name"]
    assert re.match(r"^%s_\d{8}_\d{6}%s$" % (d["prefix"], re.escape(d["ext"])), name), name
    assert dump["path"] == "%s/%s" % (d["dir"], name)
    after = backups(platform)
    assert set(after) - set(before) == {name}, "exactly one new file, no temporary left behind"
    assert after[name] == "600"
    verified = results(result, "Verify the new backup")["%s-lab" % platform]
    assert verified["passed"] and verified["sha256"] == dump["sha256"]
    assert verified["format"] == ("custom" if platform == "tgquiz" else "plain")
    assert verified["row_counts"]["public.users"] >= 200
    # what the runbooks would check by hand
    check = "pg_restore --list" if platform == "tgquiz" else "gunzip -t"
    ssh(platform, "%s %s >/dev/null" % (check, shlex.quote(dump["path"])))


def test_backup_check_mode_writes_nothing():
    before = {p: backups(p) for p in PLATFORMS}
    proc = ansible_playbook("playbooks/backup.yml", "--check")
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert "Would write /backup/backup_" in proc.stdout and "Would remove by retention" in proc.stdout
    assert {p: backups(p) for p in PLATFORMS} == before


@pytest.mark.parametrize("platform", PLATFORMS)
def test_failed_pg_dump_leaves_no_file(platform):
    before = backups(platform)
    proc = ansible_playbook("playbooks/backup.yml", "-l", platform, "-e", "backup_db_name=no_such_database")
    assert proc.returncode != 0
    assert "pg_dump of no_such_database exited with status 1" in proc.stdout
    assert 'database "no_such_database" does not exist' in proc.stdout
    assert backups(platform) == before, "a failed dump must leave nothing (no small 'successful' file, no temp)"


@pytest.mark.parametrize("platform", ["toogoodtogo"])  # tgquiz: molecule/backup (see above)
def test_backup_twice_writes_two_files_and_retention_converges(platform):
    d = DB[platform]
    # Daily backups from two weeks ago and a pre-deployment one as old: retention removes the first, keeps
    # the second (pre-deployment backups are kept until their own cleanup). Files with other names stay.
    old_daily = ["%s_202601%02d_030000%s" % (d["prefix"], day, d["ext"]) for day in (1, 2, 3)]
    old_labelled = "%s_20260101_120000_pre_deployment%s" % (d["prefix"], d["ext"])
    foreign = "%s_20260101_030000%s.old" % (d["prefix"], d["ext"])
    planted = old_daily + [old_labelled, foreign]
    ssh(platform, "cd %s && touch %s" % (d["dir"], " ".join(planted)))
    try:
        retention = ["-e", "backup_retention_count=2", "-e", "backup_retention_days=0"]
        first, result = backup(platform, *retention)
        pruned = results(result, "Remove daily backups the retention no longer keeps")["%s-lab" % platform]
        assert pruned["changed"]
        assert set("%s/%s" % (d["dir"], n) for n in old_daily) <= set(pruned["removed"])
        second, result = backup(platform, *retention)
        assert second["name"] != first["name"], "a second run writes a second backup, by design"
        daily = sorted(n for n in backups(platform)
                       if re.match(r"^%s_\d{8}_\d{6}%s$" % (d["prefix"], re.escape(d["ext"])), n))
        assert daily[-2:] == sorted([first["name"], second["name"]]) and len(daily) == 2, daily
        names = backups(platform)
        assert old_labelled in names and foreign in names
        assert not set(old_daily) & set(names)
        # a third run with the same policy: one new file in, one old file out; still two
        third, result = backup(platform, *retention)
        pruned = results(result, "Remove daily backups the retention no longer keeps")["%s-lab" % platform]
        assert pruned["removed"] == ["%s/%s" % (d["dir"], first["name"])]
        assert len([n for n in backups(platform) if n.endswith(d["ext"]) and "_pre_" not in n]) == 2
    finally:
        ssh(platform, "cd %s && rm -f %s" % (d["dir"], " ".join([old_labelled, foreign])))


# ---------------------------------------------------------------------------------------------------------
# Restore


# tgquiz's round trip and check-mode restore (custom format) are the restore role's, in molecule/restore: the
# same backup, change, check-mode restore, restore and exact fingerprint, without the playbook around them.
@pytest.mark.parametrize("platform", ["toogoodtogo"])
def test_round_trip_restores_exactly_what_was_backed_up(platform, secrets_file, untouched):
    dump, _result = backup(platform, "-e", "backup_label=test_roundtrip")
    conn = connect(platform, secrets_file)
    with conn.cursor() as cur:
        cur.execute("SELECT username FROM users WHERE id = 100001")
        username = cur.fetchone()[0]
    try:
        # change the data after the backup: the restore must bring back the backed-up state exactly
        with conn.cursor() as cur:
            cur.execute("INSERT INTO users (id, username) VALUES (999999001, 'after_backup')")
            cur.execute("UPDATE users SET username = 'renamed' WHERE id = 100001")
        conn.close()
        assert fingerprint(platform, secrets_file) != untouched[platform]
        before_safety = safety_backups(platform)
        proc, result = restore(platform, dump["name"])
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert fingerprint(platform, secrets_file) == untouched[platform]
        applied = results(result, "Drop, re-create and restore the database")["%s-lab" % platform]
        assert applied["changed"] and applied["row_counts"]["public.users"] == untouched[platform]["counts"]["users"]
        assert app_running(platform)
        new_safety = sorted(set(safety_backups(platform)) - set(before_safety))
        assert len(new_safety) == 1, "the safety backup of the database as it was before the restore"
        for name in new_safety:
            remove_backup(platform, name)
    finally:
        remove_backup(platform, dump["name"])
        # if the restore failed, the safety backup holds the changed data: undo the change
        conn = connect(platform, secrets_file)
        with conn.cursor() as cur:
            cur.execute("DELETE FROM users WHERE id = 999999001")
            cur.execute("UPDATE users SET username = %s WHERE id = 100001", (username,))
        conn.close()


@pytest.mark.lane("tgquiz")
def test_restore_refuses_without_confirmation(untouched):
    proc, _result = restore("tgquiz", "backup_20250120_143000.dump", confirm="yes")
    assert proc.returncode != 0
    assert "confirm with restore_confirm=tgquiznft_prod" in proc.stdout
    assert app_running("tgquiz")


def _corrupt_copy(platform, name, how, data_start=0):
    """A copy of backup ``name`` with damage ``how``; returns its name. ``flipped`` inverts one byte half-way
    into the compressed data (from ``data_start``: a custom archive's table of contents is uncompressed SQL
    text, in which only a recorded checksum could notice a changed byte)."""
    d = DB[platform]
    bad = name.replace(d["ext"], "_test_%s%s" % (how, d["ext"]))
    src, dst = "%s/%s" % (d["dir"], name), "%s/%s" % (d["dir"], bad)
    if how == "flipped":
        script = ("import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2]); f = open(sys.argv[2], 'r+b'); "
                  "f.seek(0, 2); at = (int(sys.argv[3]) + f.tell()) // 2; f.seek(at); b = f.read(1); f.seek(at); "
                  "f.write(bytes([b[0] ^ 0xff])); f.close()")
        ssh(platform, "python3 -c %s %s %s %d" % (shlex.quote(script), src, dst, data_start))
    else:  # truncated, as by a full disk
        ssh(platform, "head -c $(( $(stat -c %%s %s) * 2 / 3 )) %s > %s" % (src, src, dst))
    return bad


@pytest.mark.parametrize("how", ["flipped", "truncated"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_restore_refuses_a_corrupt_backup_before_touching_anything(platform, how, untouched):
    dump, result = backup(platform, "-e", "backup_label=test_source")
    verified = results(result, "Verify the new backup")["%s-lab" % platform]
    bad = _corrupt_copy(platform, dump["name"], how, data_start=verified.get("archive", {}).get("toc_end") or 0)
    try:
        before = backups(platform)
        proc, _result = restore(platform, bad)
        assert proc.returncode != 0
        assert "Refusing to restore %s/%s; nothing was changed." % (DB[platform]["dir"], bad) in proc.stdout
        assert "integrity" in proc.stdout or "completeness" in proc.stdout
        assert backups(platform) == before, "no safety backup: nothing was touched"
        assert app_running(platform)
    finally:
        remove_backup(platform, dump["name"])
        remove_backup(platform, bad)


def _ghost_owned_backup(platform, secrets_file):
    """A real backup in which a table belongs to a role that no longer exists (as when a dump comes from
    another server): it passes every byte check."""
    conn = connect(platform, secrets_file)
    table = "quizzes" if platform == "tgquiz" else "stores"
    with conn.cursor() as cur:
        cur.execute("CREATE ROLE tgops_ghost NOLOGIN")
        cur.execute("ALTER TABLE %s OWNER TO tgops_ghost" % table)
    try:
        dump, _result = backup(platform, "-e", "backup_label=test_ghost")
    finally:
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE %s OWNER TO %s" % (table, DB[platform]["user"]))
            cur.execute("DROP ROLE tgops_ghost")
        conn.close()
    return dump


@pytest.mark.lane("tgquiz")
def test_restore_that_fails_half_way_puts_the_safety_backup_back(secrets_file, untouched):
    """tgquiz's custom archive passes the restore test (pg_restore --no-owner into a scratch database) but
    the real restore keeps ownership, so it fails after the drop: the safety backup must come back."""
    platform = "tgquiz"
    dump = _ghost_owned_backup(platform, secrets_file)
    try:
        before_safety = safety_backups(platform)
        proc, result = restore(platform, dump["name"])
        assert proc.returncode != 0
        applied = results(result, "Drop, re-create and restore the database")["%s-lab" % platform]
        assert applied["failed"] and applied["dropped"] and applied["stage"] == "restore"
        assert 'role "tgops_ghost" does not exist' in applied["msg"]
        rollback = results(result, "Put the safety backup back")["%s-lab" % platform]
        assert rollback["changed"] and not rollback.get("failed")
        failed = results(result, "Fail, saying the safety backup is back")["%s-lab" % platform]
        new_safety = sorted(set(safety_backups(platform)) - set(before_safety))
        assert len(new_safety) == 1
        assert "The safety backup %s/%s was restored" % (DB[platform]["dir"], new_safety[0]) in failed["msg"]
        assert "the application is healthy" in failed["msg"]
        assert fingerprint(platform, secrets_file) == untouched[platform]
        assert app_running(platform)
        remove_backup(platform, new_safety[0])
    finally:
        remove_backup(platform, dump["name"])


@pytest.mark.lane("toogoodtogo")
def test_plain_backup_whose_test_restore_fails_is_refused(secrets_file, untouched):
    """The same backup as plain SQL fails already in the scratch restore (psql stops at the ALTER OWNER):
    refused before anything is touched."""
    platform = "toogoodtogo"
    dump = _ghost_owned_backup(platform, secrets_file)
    try:
        before = backups(platform)
        proc, result = restore(platform, dump["name"])
        assert proc.returncode != 0
        refused = results(result, "Refuse a backup that failed verification (nothing has been changed)")
        msg = refused["%s-lab" % platform]["msg"]
        assert msg.startswith("Refusing to restore") and 'role "tgops_ghost" does not exist' in msg
        assert backups(platform) == before
        assert app_running(platform)
    finally:
        remove_backup(platform, dump["name"])


@pytest.mark.parametrize("platform", ["toogoodtogo"])  # tgquiz: molecule/restore's check step (see above)
def test_restore_check_mode_shows_the_plan_and_changes_nothing(platform, untouched):
    dump, _result = backup(platform, "-e", "backup_label=test_check")
    try:
        before = backups(platform)
        proc, result = restore(platform, dump["name"], "--check")
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        plan = results(result, "Show the plan")["%s-lab" % platform]["msg"]
        assert plan[0].startswith("Plan (check mode, nothing is changed)")
        applied = results(result, "Drop, re-create and restore the database")["%s-lab" % platform]
        assert any("DROP DATABASE IF EXISTS" in " ".join(argv) for argv in applied["commands"])
        assert backups(platform) == before
        assert app_running(platform)
    finally:
        remove_backup(platform, dump["name"])


# ---------------------------------------------------------------------------------------------------------
# Schedule


def _service_manager(platform):
    with open(os.path.join(ROOT, "inventories", "lab", "group_vars", "%s.yml" % platform)) as src:
        return (yaml.safe_load(src) or {}).get("platform_service_manager", "compose")


# The cron schedule on the compose host (tgquiz) is molecule/backup's; the playbook's `--tags schedule`, its
# second run changing nothing and the timer on the systemd host are this test's.
@pytest.mark.lane("toogoodtogo")
def test_timer_fires_on_the_systemd_host(request):
    platform = "toogoodtogo"
    if _service_manager(platform) != "systemd":
        pytest.skip("the lab's toogoodtogo server is not under systemd (platform_service_manager)")
    request.addfinalizer(lambda: remove_backup_schedule(platform))
    proc, result = run_json("playbooks/backup.yml", "--tags", "schedule", "-l", platform)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    timers = ssh(platform, "systemctl list-timers --all --no-pager toogoodtogo-backup.timer").stdout
    assert "toogoodtogo-backup.timer" in timers and "03:00:00" in timers, timers
    assert ssh(platform, "systemctl is-enabled toogoodtogo-backup.timer").stdout.strip() == "enabled"
    before = backups(platform)
    # what the timer starts at 03:00, started now (a oneshot: systemctl returns when it has finished)
    ssh(platform, "systemctl start toogoodtogo-backup.service", timeout=600)
    shown = ssh(platform, "systemctl show -p Result -p ExecMainStatus toogoodtogo-backup.service").stdout
    assert "Result=success" in shown and "ExecMainStatus=0" in shown, shown
    new = sorted(set(backups(platform)) - set(before))
    assert len(new) == 1 and re.match(r"^toogoodtogo_\d{8}_\d{6}\.sql\.gz$", new[0]), new
    assert backups(platform)[new[0]] == "600"
    journal = ssh(platform, "journalctl -u toogoodtogo-backup.service -n 20 --no-pager").stdout
    assert '"result": "ok"' in journal and new[0] in journal
    proc, result = run_json("playbooks/backup.yml", "--tags", "schedule", "-l", platform)
    assert proc.returncode == 0 and result["stats"]["%s-lab" % platform]["changed"] == 0


# ---------------------------------------------------------------------------------------------------------
# Off-site copy


def _lab_vars():
    with open(os.path.join(ROOT, "inventories", "lab", "group_vars", "all", "lab.yml")) as src:
        return yaml.safe_load(src) or {}


def _s3_client(secrets_file):
    import boto3  # only this test talks to the lab's S3 server
    lab = _lab_vars()
    return boto3.client("s3", endpoint_url=lab["lab_s3_endpoint_url"], region_name=lab.get("lab_s3_region", "us-east-1"),
                        aws_access_key_id=secrets_file["s3"]["access_key"],
                        aws_secret_access_key=secrets_file["s3"]["secret_key"])


def _lab_s3_or_skip():
    endpoint = _lab_vars().get("lab_s3_endpoint_url")
    if not endpoint:
        pytest.skip("the lab has no S3 server (lab_s3_endpoint_url)")
    try:
        requests.get(endpoint, timeout=5)
    except requests.RequestException as exc:
        pytest.fail("the lab's S3 server at %s does not answer: %s" % (endpoint, exc))


def _hidden_entries(platform):
    """Hidden entries of the backup directory (a private download directory left behind would be one)."""
    out = ssh(platform, "cd %s && find . -mindepth 1 -maxdepth 1 -name '.*' -printf '%%f\\n'" % DB[platform]["dir"]).stdout
    return sorted(line for line in out.splitlines() if line.strip())


# A plain SQL script that runs a program as the server's superuser: what a forger would upload.
FORGED_SQL = b"COPY (SELECT 1) TO PROGRAM 'id > /tmp/tgops-forged';\n"
# The platform whose off-site round trip goes on to the refusals of forged downloads (the tgquiz lane: the
# toogoodtogo lane is the longer one).
REFUSALS_ON = "tgquiz"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_offsite_copy_round_trip_through_the_s3_server(platform, secrets_file, untouched):
    import gzip
    import hashlib
    _lab_s3_or_skip()
    dump, result = backup(platform, "-e", "backup_label=test_offsite", "-e", "backup_offsite_enabled=true")
    host = "%s-lab" % platform
    recorded = list(results(result, "Record the off-site copy").values())
    assert recorded and recorded[0]["ansible_facts"]["backup_result"]["offsite"]["verified"]
    compare = results(result, "Compare the stored object with the local file")[host]
    assert not compare.get("failed") and not compare["changed"]
    s3 = _s3_client(secrets_file)
    bucket = _lab_vars()["lab_s3_bucket"]
    key = "%s/postgres/%s" % (platform, dump["name"])
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="%s/postgres/" % platform).get("Contents", [])]
    assert key in listed
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["Metadata"]["sha256"] == dump["sha256"] and head["ContentLength"] == dump["size"]
    assert len(head["Metadata"]["hmac-sha256"]) == 64
    hmac_key = secrets_file["backup"]["hmac_key"]
    assert hmac_key not in json.dumps(result)
    # restore from the off-site copy: the local file is gone, the download is authenticated and verified
    remove_backup(platform, dump["name"])
    before_safety = safety_backups(platform)
    hidden = _hidden_entries(platform)
    try:
        proc, result = restore(platform, dump["name"], "-e", "restore_source=s3")
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert hmac_key not in proc.stdout and hmac_key not in proc.stderr
        pinned = results(result, "Pin the backup (its name, type, SHA-256 and, off-site, its HMAC)")[host]
        assert pinned["sha256"] == dump["sha256"] and "/.tgops-download-" in pinned["path"]
        assert results(result, "Keep the downloaded backup private")[host]["mode"] == "0600"
        verified = results(result, "Verify the backup (every byte, and a test restore into a scratch database)")[host]
        assert verified["checks"]["checksum"]["passed"] and verified["sha256"] == dump["sha256"]
        applied = results(result, "Drop, re-create and restore the database")[host]
        assert applied["sha256"] == dump["sha256"]
        assert _hidden_entries(platform) == hidden, "the private download is removed"
        assert dump["name"] not in backups(platform)
        if platform != REFUSALS_ON:
            return
        # The refusals of a forged or unauthenticated download, as the playbook shows them, on one platform:
        # which forgery stops at which stage of the pin is platform-independent and proven on both backup
        # formats by tests/unit/plugins/module_utils/test_offsite_copy.py (changed bytes under the uploaded
        # metadata: stage pin; bytes and sha256 metadata changed: stage authenticate; nothing runs, nothing
        # dropped, the key never in the result).
        safety_now = safety_backups(platform)
        original = s3.get_object(Bucket=bucket, Key=key)
        body, metadata = original["Body"].read(), original["Metadata"]
        forged = gzip.compress(FORGED_SQL)
        # Tampered object whose sha256 metadata was rewritten too: passes every byte check, not the HMAC.
        # A genuine object without its HMAC (uploaded by someone else): refused before the download.
        cases = [
            ("bytes_and_sha256", forged, dict(metadata, sha256=hashlib.sha256(forged).hexdigest()), "authenticate",
             "HMAC does not match"),
            ("no_hmac", body, {"sha256": metadata["sha256"]}, None, "no sha256 and hmac-sha256 metadata"),
        ]
        for label, content, meta, stage, message in cases:
            s3.put_object(Bucket=bucket, Key=key, Body=content, Metadata=meta)
            proc, result = restore(platform, dump["name"], "-e", "restore_source=s3")
            assert proc.returncode != 0, label
            assert message in proc.stdout, (label, proc.stdout[-4000:])
            if stage:
                pin = results(result, "Pin the backup (its name, type, SHA-256 and, off-site, its HMAC)")[host]
                assert pin["failed"] and pin["stage"] == stage and not pin["dropped"], (label, pin)
            assert not results(result, "Verify the backup (every byte, and a test restore into a scratch database)"), \
                "%s: nothing else read the download" % label
            assert safety_backups(platform) == safety_now, "%s: nothing was touched" % label
            assert _hidden_entries(platform) == hidden, "%s: the download is removed" % label
            assert app_running(platform)
        ssh(platform, "test ! -e /tmp/tgops-forged")
        # without the key nothing is downloaded
        proc, result = restore(platform, dump["name"], "-e", "restore_source=s3", "-e", "restore_s3_hmac_key=")
        assert proc.returncode != 0 and "restore_s3_hmac_key (platform_backup_hmac_key, a vault secret) is empty" in proc.stdout
    finally:
        remove_backup(platform, dump["name"])
        s3.delete_object(Bucket=bucket, Key=key)
        for name in sorted(set(safety_backups(platform)) - set(before_safety)):
            remove_backup(platform, name)


# On tgquiz: nothing in the check-mode plan depends on the platform, and the toogoodtogo lane is the longer one.
@pytest.mark.lane("tgquiz")
def test_offsite_restore_check_mode_downloads_nothing(secrets_file, untouched):
    platform = "tgquiz"
    _lab_s3_or_skip()
    dump, _result = backup(platform, "-e", "backup_label=test_offsite_check", "-e", "backup_offsite_enabled=true")
    s3 = _s3_client(secrets_file)
    key = "%s/postgres/%s" % (platform, dump["name"])
    remove_backup(platform, dump["name"])
    try:
        before, hidden = backups(platform), _hidden_entries(platform)
        proc, result = restore(platform, dump["name"], "-e", "restore_source=s3", "--check")
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert results(result, "Download the backup")["%s-lab" % platform].get("skipped") is True
        plan = results(result, "Show the plan")["%s-lab" % platform]["msg"]
        assert plan[0].startswith("Plan (check mode, nothing is changed)") and "not downloaded in check mode" in plan[3]
        assert backups(platform) == before and _hidden_entries(platform) == hidden
        assert app_running(platform)
    finally:
        remove_backup(platform, dump["name"])
        s3.delete_object(Bucket=_lab_vars()["lab_s3_bucket"], Key=key)


@pytest.mark.lane("tgquiz")
@pytest.mark.parametrize("name,message", [
    ("../../etc/passwd", "name the backup by its file name in"),
    ("/etc/passwd", "name the backup by its file name in"),
    ("..", "name the backup by its file name in"),
    ("backup_20991231_030000.dump", "is a symbolic link"),
])
def test_restore_refuses_names_outside_the_backup_directory_and_links(name, message, untouched):
    """Hostile restore_backup values and a symbolic link planted in the backup directory (to a file outside it):
    refused before anything reads them."""
    platform = "tgquiz"
    d = DB[platform]
    if name.endswith(".dump"):
        ssh(platform, "printf 'SELECT 1;\\n' > /tmp/tgops-outside.sql && ln -sfn /tmp/tgops-outside.sql %s/%s"
            % (d["dir"], name))
    try:
        before = backups(platform)
        proc, result = restore(platform, name)
        assert proc.returncode != 0
        assert message in proc.stdout, proc.stdout[-4000:]
        assert not results(result, "Verify the backup (every byte, and a test restore into a scratch database)")
        assert backups(platform) == before, "no safety backup: nothing was touched"
        assert app_running(platform)
    finally:
        ssh(platform, "rm -f %s/backup_20991231_030000.dump /tmp/tgops-outside.sql" % d["dir"])


@pytest.mark.lane("toogoodtogo")
def test_retention_that_would_keep_nothing_is_refused_and_the_new_backup_stays():
    platform = "toogoodtogo"
    d = DB[platform]
    proc, result = run_json("playbooks/backup.yml", "-l", platform, "-e", "backup_retention_count=0",
                            "-e", "backup_retention_days=0")
    dump = results(result, "Dump the database")["%s-lab" % platform]
    try:
        assert proc.returncode != 0
        pruned = results(result, "Remove daily backups the retention no longer keeps")["%s-lab" % platform]
        assert pruned["failed"] and "keep must be at least 1" in pruned["msg"]
        assert dump["name"] in backups(platform)
    finally:
        remove_backup(platform, dump["name"])
