"""db_integrity_diagnosis and db_integrity_restore_actions: the runbook's "Database Corruption" decided on data."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.db_integrity import (
    db_integrity_diagnosis, db_integrity_restore_actions)

DIR = "/opt/backups/postgres"
CLEAN = {"changed": False, "passed": True, "corrupted": [], "findings": [], "tables_checked": 5, "indexes_checked": 9,
         "amcheck": True}
BROKEN = {"changed": False, "passed": False, "corrupted": ["public.stores"],
          "findings": ["public.stores cannot be read: invalid page in block 0"]}


def files(*entries):
    return {"changed": False, "files": [{"path": "%s/%s" % (DIR, n), "mtime": m} for n, m in entries]}


def reads(**kw):
    base = {"result": CLEAN, "db_name": "toogoodtogo", "restore_backup": "", "backup_dir": DIR,
            "backup_pattern": "toogoodtogo_*.sql.gz",
            "backups": files(("toogoodtogo_1.sql.gz", 100.0), ("toogoodtogo_2.sql.gz", 200.0))}
    base.update(kw)
    return base


def test_a_clean_database_has_no_finding_and_the_newest_backup_is_named():
    d = db_integrity_diagnosis(reads())
    assert d["reachable"] is True and d["corrupted"] == [] and d["findings"] == []
    assert d["backup"] == DIR + "/toogoodtogo_2.sql.gz" and d["backup_name"] == "toogoodtogo_2.sql.gz"
    assert d["backup_source"] == ("newest of 2 backup(s) toogoodtogo_*.sql.gz in %s (regular files; safety backups "
                                  "left out)" % DIR)


def test_the_indexes_checked_say_whether_amcheck_is_installed():
    assert db_integrity_diagnosis(reads())["indexes"] == "9 (amcheck installed)"
    assert db_integrity_diagnosis(reads(result=BROKEN))["indexes"] == "0 (amcheck not installed)"


def test_equal_times_are_broken_by_the_path():
    d = db_integrity_diagnosis(reads(backups=files(("b.sql.gz", 5), ("c.sql.gz", 5), ("a.sql.gz", 5))))
    assert d["backup_name"] == "c.sql.gz"


def test_corruption_is_the_modules_findings_and_relations():
    d = db_integrity_diagnosis(reads(result=BROKEN))
    assert d["reachable"] and d["corrupted"] == ["public.stores"] and d["findings"] == BROKEN["findings"]


def test_an_unreadable_database_is_one_finding_with_the_modules_message():
    d = db_integrity_diagnosis(reads(result={"failed": True, "msg": "connection refused"}))
    assert d["reachable"] is False and d["corrupted"] == []
    assert d["findings"] == ["database toogoodtogo cannot be read: connection refused"]
    assert db_integrity_diagnosis(reads(result={}))["findings"] == ["database toogoodtogo cannot be read: unknown error"]


def test_a_named_backup_wins_and_the_directory_is_not_listed():
    d = db_integrity_diagnosis(reads(restore_backup="toogoodtogo_x.sql.gz", backups={"skipped": True}))
    assert d["backup"] == DIR + "/toogoodtogo_x.sql.gz" and d["backup_name"] == "toogoodtogo_x.sql.gz"
    assert d["backup_source"] == "named"


def test_no_backup_found_is_empty():
    for backups in ({"files": []}, None, {"skipped": True}):
        d = db_integrity_diagnosis(reads(backups=backups))
        assert d["backup"] == "" and d["backup_name"] == "" and d["backup_source"].startswith("newest of 0 backup(s)")


@pytest.mark.parametrize("bad, words", [
    ("x", "expects a dict"),
    (reads(result=None), "result must be postgres_integrity_info"),
    (reads(db_name=""), "db_name must be a non-empty string"),
    (reads(backup_dir=None), "backup_dir must be a non-empty string"),
    (reads(restore_backup=3), "restore_backup must be a file name"),
    (reads(backups=[]), "backups must be find's registered result"),
    (reads(backups={"files": "x"}), "backups.files must be a list"),
    (reads(backups={"files": [{"mtime": 1}]}), "each with a path"),
    (reads(backups={"files": [{"path": "/a", "mtime": "new"}]}), "the mtime of /a must be a number"),
])
def test_diagnosis_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        db_integrity_diagnosis(bad)


def done(diagnosis=None, **kw):
    base = {"diagnosis": diagnosis or db_integrity_diagnosis(reads(result=BROKEN)), "db_name": "toogoodtogo",
            "app_services": ["backend", "worker"], "confirm": "", "check_mode": False}
    base.update(kw)
    return base


SOURCE = "newest of 2 backup(s) toogoodtogo_*.sql.gz in %s (regular files; safety backups left out)" % DIR


def test_nothing_corrupted_is_nothing_to_do():
    assert db_integrity_restore_actions(done(db_integrity_diagnosis(reads()), confirm="toogoodtogo")) == []


def test_without_the_confirmation_the_restore_is_described_and_refused():
    assert db_integrity_restore_actions(done(confirm="yes")) == [
        "NOT restoring: public.stores corrupted. Would restore %s/toogoodtogo_2.sql.gz (%s) into toogoodtogo after "
        "stopping backend, worker. Confirm with -e db_corruption_restore_confirm=toogoodtogo. The application was "
        "left running as it was." % (DIR, SOURCE)]
    nothing = db_integrity_diagnosis(reads(result=BROKEN, backups={"files": []}))
    assert "Would restore (no backup found: name one with db_corruption_restore_backup) (newest of 0" in \
        db_integrity_restore_actions(done(nothing))[0]


def test_a_confirmed_restore_in_check_mode_says_what_a_real_run_would_do():
    assert db_integrity_restore_actions(done(confirm="toogoodtogo", check_mode=True)) == [
        "Would stop backend, worker, restore %s/toogoodtogo_2.sql.gz (%s, verified) into toogoodtogo and start them "
        "(check mode)" % (DIR, SOURCE)]


def test_a_confirmed_restore_names_the_safety_backup_and_the_tables():
    got = db_integrity_restore_actions(done(confirm="toogoodtogo", safety={"path": "/b/pre_restore.dump"},
                                            applied={"row_counts": {"a": 1, "b": 2}}))
    assert got == ["Safety backup /b/pre_restore.dump", "Stopped backend, worker",
                   "Restored toogoodtogo from %s/toogoodtogo_2.sql.gz (%s; 2 tables, row counts as in the backup)"
                   % (DIR, SOURCE), "Started backend, worker; health verified"]


def test_a_restore_without_a_safety_backup_says_why():
    got = db_integrity_restore_actions(done(confirm="toogoodtogo", safety={}, safety_error="pg_dump: invalid page"))
    assert got[0] == "Safety backup impossible (pg_dump: invalid page); restored as confirmed"
    assert "(%s; 0 tables, row counts" % SOURCE in got[2]


@pytest.mark.parametrize("bad, words", [
    (1, "expects a dict"),
    ({"diagnosis": {}}, "diagnosis must be the result of db_integrity_diagnosis"),
    (done(db_name=None), "db_name must be a non-empty string"),
    (done(app_services="backend"), "app_services must be a list of names"),
    (done(confirm="toogoodtogo", safety="x"), "safety and applied must be"),
])
def test_actions_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        db_integrity_restore_actions(bad)
