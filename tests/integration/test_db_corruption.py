"""playbooks/db_corruption.yml against the toogoodtogo lab database (systemd-managed stack): a verified backup is
taken, real pages of a table are overwritten on disk, the playbook names the table without confirmation and
restores nothing, then restores the backup when confirmed. The database is always put back (finally)."""
import json
import os
import shlex
import time

import psycopg2
import pytest

from conftest import ansible_playbook, compose, docker, ssh, wait_health

pytestmark = pytest.mark.lane("toogoodtogo")

PLATFORM = "toogoodtogo"
HOST = "toogoodtogo-lab"
DBNAME = "toogoodtogo"
PORT = 25432
BACKUP_DIR = "/opt/backups/postgres"
CONTAINER = "toogoodtogo_postgres"
PGDATA = "/var/lib/postgresql/data"
TABLE = "orders"


def connect(secrets_file):
    conn = psycopg2.connect(host="127.0.0.1", port=PORT, dbname=DBNAME, user=DBNAME,
                            password=secrets_file[PLATFORM]["postgres_password"], connect_timeout=5)
    conn.autocommit = True
    return conn


def fingerprint(secrets_file):
    """Row counts of every public table and the md5 of the reference table's rows in key order."""
    conn = connect(secrets_file)
    try:
        with conn.cursor() as cur:
            cur.execute("SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off")
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            counts = {}
            for (table,) in cur.fetchall():
                cur.execute('SELECT count(*) FROM public."%s"' % table)
                counts[table] = cur.fetchone()[0]
            cur.execute("SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM public.%s t" % TABLE)
            return {"counts": counts, "md5": cur.fetchone()[0]}
    finally:
        conn.close()


def healthy_database(secrets_file):
    try:
        fingerprint(secrets_file)
        return True
    except psycopg2.Error:
        return False


def wait_postgres(secrets_file, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            connect(secrets_file).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def corrupt(secrets_file):
    """Overwrite the page header of block 0 of TABLE on disk (PostgreSQL stopped, so no buffer writes it back)."""
    conn = connect(secrets_file)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_relation_filepath(%s)", (TABLE,))
        relpath = cur.fetchone()[0]
    conn.close()
    # A fast shutdown (a checkpoint, then exit): docker stop's SIGTERM is PostgreSQL's smart shutdown, which waits
    # for the bot's connections until docker kills it, and crash recovery would replay full-page images over the
    # damage. The container's restart policy (unless-stopped) is off meanwhile, or it comes straight back.
    policy = docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", CONTAINER).stdout.strip()
    docker("update", "--restart=no", CONTAINER)
    try:
        docker("exec", CONTAINER, "sh", "-c", "kill -INT $(head -1 %s/postmaster.pid)" % PGDATA)
        deadline = time.monotonic() + 60
        while docker("inspect", "-f", "{{.State.Running}}", CONTAINER).stdout.strip() == "true":
            assert time.monotonic() < deadline, "PostgreSQL did not shut down in 60 s"
            time.sleep(0.5)
        image = docker("inspect", "-f", "{{.Config.Image}}", CONTAINER).stdout.strip()
        garbage = "\\377" * 24
        docker("run", "--rm", "--volumes-from", CONTAINER, "--entrypoint", "sh", image, "-c",
               "printf '%s' | dd of=%s conv=notrunc bs=24 count=1 status=none"
               % (garbage, shlex.quote("%s/%s" % (PGDATA, relpath))))
    finally:
        docker("update", "--restart=" + (policy or "unless-stopped"), CONTAINER)
        docker("start", CONTAINER)
    wait_postgres(secrets_file)
    return relpath


def run(tmp_path, *args):
    os.makedirs(str(tmp_path), exist_ok=True)
    proc = ansible_playbook("playbooks/db_corruption.yml", "-l", PLATFORM, *args, json_output=True,
                            env={"TGOPS_REPORT_DIR": str(tmp_path)})
    try:
        return proc, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("no JSON from ansible-playbook: %s%s" % (proc.stdout[-3000:], proc.stderr[-2000:]))


def results(result, task_name):
    found = {}
    for play in result["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].split(" : ")[-1] == task_name:
                found.update(task["hosts"])
    return found


def reports(tmp_path):
    os.makedirs(str(tmp_path), exist_ok=True)
    return sorted(p for p in os.listdir(tmp_path) if p.endswith(".md") and "-%s-" % HOST in p)


def backups():
    return set(ssh(PLATFORM, "ls -1 %s" % BACKUP_DIR).stdout.split())


def app_running():
    return "bot" in compose(PLATFORM, "ps --status running --services").stdout.split()


@pytest.fixture(name="verified_backup")
def fixture_verified_backup(secrets_file):
    """A fresh verified backup (the backup playbook); afterwards the database must read cleanly and equal what
    it was, restored from that backup if the test left it corrupted; files the test made are removed."""
    assert healthy_database(secrets_file), "the lab database is not healthy before the test"
    before_files = backups()
    before = fingerprint(secrets_file)
    proc = ansible_playbook("playbooks/backup.yml", "-l", PLATFORM)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    new = sorted(backups() - before_files)
    assert len(new) == 1, new
    try:
        yield new[0], before
    finally:
        if not healthy_database(secrets_file) or fingerprint(secrets_file) != before:
            ansible_playbook("playbooks/db_corruption.yml", "-l", PLATFORM, "-e", "db_corruption_restore_confirm=" + DBNAME,
                             "-e", "db_corruption_restore_backup=" + new[0])
        compose(PLATFORM, "up -d --wait bot", check=False)
        for name in backups() - before_files:
            ssh(PLATFORM, "rm -f %s" % shlex.quote("%s/%s" % (BACKUP_DIR, name)))
        wait_health(PLATFORM, timeout=120)
        assert fingerprint(secrets_file) == before, "the lab database was not put back"


def test_healthy_database_is_read_and_nothing_is_stopped(tmp_path, secrets_file):
    started = ssh(PLATFORM, "docker inspect -f '{{.State.StartedAt}}' toogoodtogo_bot").stdout.strip()
    proc, result = run(tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    read = results(result, "Read every table of the database")[HOST]
    assert read["passed"] is True and read["tables_checked"] >= 5 and read["corrupted"] == []
    # The restore role (which stops the application services) is not even included on a healthy database.
    assert results(result, "Restore the backup through the restore role")[HOST].get("skipped") is True
    assert HOST not in results(result, "Stop the application services")
    assert ssh(PLATFORM, "docker inspect -f '{{.State.StartedAt}}' toogoodtogo_bot").stdout.strip() == started
    text = open(os.path.join(tmp_path, reports(tmp_path)[0])).read()
    assert "Resolved" in text


def test_corruption_is_named_then_restored_when_confirmed(tmp_path, secrets_file, verified_backup):
    backup_name, before = verified_backup
    relpath = corrupt(secrets_file)
    with pytest.raises(psycopg2.Error) as broken:
        fingerprint(secrets_file)
    assert "invalid page" in str(broken.value), broken.value
    password = secrets_file[PLATFORM]["postgres_password"]

    # Check mode: says what it would do, changes nothing.
    proc, result = run(tmp_path / "check", "--check", "-e", "db_corruption_restore_confirm=" + DBNAME)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert app_running() and not healthy_database(secrets_file)
    actions = results(result, "Say what was done")[HOST]["msg"]
    assert any("Would stop bot, restore %s/%s" % (BACKUP_DIR, backup_name) in a for a in actions), actions

    # Not confirmed: the finding names the table, its file and PostgreSQL's error; nothing restored; host fails.
    started = time.monotonic()
    proc, result = run(tmp_path / "unconfirmed")
    unconfirmed_s = time.monotonic() - started
    assert proc.returncode != 0
    read = results(result, "Read every table of the database")[HOST]
    assert read["corrupted"] == ["public.%s" % TABLE], read["corrupted"]
    finding = [f for f in read["findings"] if TABLE in f][0]
    assert relpath in finding and "invalid page in block 0" in finding, finding
    actions = results(result, "Say what was done")[HOST]["msg"]
    assert any(a.startswith("NOT restoring: public.%s corrupted. Would restore %s/%s" % (TABLE, BACKUP_DIR, backup_name))
               for a in actions), actions
    assert app_running() and not healthy_database(secrets_file)
    assert password not in proc.stdout
    failed = results(result, "Fail while the incident is not over")[HOST]
    assert "db_corruption_restore_confirm=%s" % DBNAME in failed["msg"]
    # the failing run let go of the host lock before its report (the skeleton's cleanup step)
    assert ssh(PLATFORM, "test -e /var/lib/%s/deploy.lock && echo HELD || echo FREE" % PLATFORM).stdout.strip() == "FREE"
    first = reports(tmp_path / "unconfirmed")
    assert len(first) == 1
    text = open(os.path.join(tmp_path / "unconfirmed", first[0])).read()
    assert "Investigating" in text and "public.%s" % TABLE in text and password not in text

    # Confirmed, the backup picked as the newest of the platform's naming: restored and verified.
    started = time.monotonic()
    proc, result = run(tmp_path / "confirmed", "-e", "db_corruption_restore_confirm=" + DBNAME)
    restore_s = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert results(result, "Drop, re-create and restore the database")[HOST]["changed"] is True
    final = results(result, "Read every table again after the restore")[HOST]
    assert final["passed"] is True and final["corrupted"] == []
    assert fingerprint(secrets_file) == before
    assert app_running()
    wait_health(PLATFORM, timeout=60)
    assert results(result, "Verify the service is healthy")
    assert password not in proc.stdout
    done = reports(tmp_path / "confirmed")
    assert len(done) == 1
    text = open(os.path.join(tmp_path / "confirmed", done[0])).read()
    assert "Resolved" in text and "Restored %s from %s/%s" % (DBNAME, BACKUP_DIR, backup_name) in text
    print("unconfirmed run %.1f s, confirmed restore run %.1f s" % (unconfirmed_s, restore_s))


def test_the_newest_backup_pick_never_follows_a_symlink(tmp_path):
    """A symbolic link planted in the backup directory, to a file outside it dated in the future, is not the
    backup a restore would use (it was: the pick sorted by the target's modification time)."""
    link = "%s/toogoodtogo_20991231_030000.sql.gz" % BACKUP_DIR
    ssh(PLATFORM, "printf 'SELECT 1;\\n' | gzip > /tmp/tgops-outside.sql.gz && touch -d 2099-12-31 /tmp/tgops-outside.sql.gz"
                  " && ln -sfn /tmp/tgops-outside.sql.gz %s" % link)
    try:
        proc, result = run(tmp_path, "--check")
        assert proc.returncode == 0, proc.stdout[-4000:]
        named = results(result, "Name the findings and the backup a restore would use")[HOST]["ansible_facts"]
        assert named["db_integrity_backup"] != link and "20991231" not in named["db_integrity_backup_name"], named
        assert "regular files" in named["db_integrity_backup_source"]
    finally:
        ssh(PLATFORM, "rm -f %s /tmp/tgops-outside.sql.gz" % link)
