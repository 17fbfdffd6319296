"""db_integrity_diagnosis, db_integrity_restore_actions and db_integrity_outcome: the runbook's "Database Corruption"
decided on data."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.db_integrity import (
    db_integrity_diagnosis, db_integrity_outcome, db_integrity_restore_actions)
from ansible_collections.tgops.runbooks.plugins.filter.incident import incident_outcome

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


def judged(result=None, **kw):
    result = CLEAN if result is None else result
    base = {"diagnosis": db_integrity_diagnosis(reads(result=result)), "result": result, "db_name": "toogoodtogo",
            "host": "toogoodtogo-lab", "service": "postgres", "confirm": ""}
    base.update(kw)
    return db_integrity_outcome(base)


def test_a_clean_database_is_resolved_with_no_finding_and_no_wait():
    got = judged()
    assert got == {"findings": [], "errors": [], "impacted": [],
                   "health_before": "0 corrupted relation(s) of 5 table(s) read",
                   "no_findings": "every table of toogoodtogo reads cleanly (5 tables)", "resolved": True,
                   "summary": "", "failure": "", "wait": False}
    report = incident_outcome(got, healthy=True, health_status="ok")
    assert report["status"] == "Resolved"
    assert report["diagnosis_event"] == "Diagnosis: every table of toogoodtogo reads cleanly (5 tables)"
    assert report["health_timeout"] == 5


def test_corrupted_and_not_confirmed_fails_after_the_report_saying_how_to_confirm():
    got = judged(BROKEN, actions=["NOT restoring: ..."], restored=False, final={"skipped": True})
    assert got["findings"] == got["errors"] == BROKEN["findings"] and got["impacted"] == ["postgres"]
    assert got["health_before"] == "1 corrupted relation(s) of ? table(s) read"
    assert got["resolved"] is False and got["wait"] is False and got["actions"] == ["NOT restoring: ..."]
    assert got["summary"] == "toogoodtogo still corrupted"
    assert got["failure"] == (
        "toogoodtogo on toogoodtogo-lab is CORRUPTED or unreadable: public.stores cannot be read: invalid page in "
        "block 0. Restore with -e db_corruption_restore_confirm=toogoodtogo (would use %s/toogoodtogo_2.sql.gz)" % DIR)
    report = incident_outcome(got, healthy=True, health_status="ok")
    assert report["status"] == "Investigating" and report["health_timeout"] == 5
    assert incident_outcome(got, check_mode=True)["failure"] == ""


def test_no_backup_found_is_said_in_the_failure():
    got = db_integrity_outcome({"diagnosis": db_integrity_diagnosis(reads(result=BROKEN, backups={"files": []})),
                                "result": BROKEN, "db_name": "toogoodtogo", "host": "h", "service": "postgres"})
    assert got["failure"].endswith("(would use no backup found)")


def test_an_unreadable_database_points_to_the_p1_database_playbook():
    down = {"failed": True, "msg": "connection refused"}
    got = judged(down)
    assert got["health_before"] == "database not readable" and got["impacted"] == []
    assert got["summary"] == "toogoodtogo still unreadable"
    assert got["failure"] == ("toogoodtogo on toogoodtogo-lab is CORRUPTED or unreadable: database toogoodtogo "
                              "cannot be read: connection refused. PostgreSQL does not answer: see "
                              "playbooks/p1_database.yml.")


def test_a_restore_that_reads_cleanly_is_resolved_and_waits_for_health():
    got = judged(BROKEN, confirm="toogoodtogo", actions=["Restored"], restored=True, final=CLEAN)
    assert got["resolved"] is True and got["failure"] == "" and got["wait"] is True
    assert got["findings"] == BROKEN["findings"] and got["impacted"] == ["postgres"]
    assert got["summary"] == "every table of toogoodtogo reads cleanly after the restore (5 tables)"
    report = incident_outcome(got, healthy=True, health_status="ok")
    assert report["status"] == "Resolved" and report["health_timeout"] == 60
    assert incident_outcome(got, healthy=False)["status"] == "Investigating"
    assert got["data_changed"] == [
        "toogoodtogo dropped and restored from %s/toogoodtogo_2.sql.gz: whatever changed after that backup was "
        "replaced; no safety backup of the database as it was (none made)" % DIR]
    # Before the second read (the fix's outcome) the judgement is still the diagnosis's, but the wait is known.
    before = judged(BROKEN, confirm="toogoodtogo", actions=["Restored"], restored="True")
    assert before["resolved"] is False and before["wait"] is True


def test_the_data_a_restore_changed_names_the_copy_of_what_was_there():
    safe = judged(BROKEN, confirm="toogoodtogo", restored=True, safety={"path": "/b/pre_restore.dump"})
    assert safe["data_changed"][0].endswith("replaced; the database as it was is in the safety backup "
                                            "/b/pre_restore.dump")
    unsafe = judged(BROKEN, confirm="toogoodtogo", restored=True, safety={}, safety_error="pg_dump: invalid page")
    assert unsafe["data_changed"][0].endswith("no safety backup of the database as it was (pg_dump: invalid page)")
    report = incident_outcome(safe, healthy=True, health_status="ok")
    assert report["data_changed"] == safe["data_changed"]
    # Nothing restored (refused, check mode, clean): no data changed, and the report may say so.
    for got in (judged(), judged(BROKEN, restored=False), judged(BROKEN, confirm="toogoodtogo", restored=False)):
        assert "data_changed" not in got and incident_outcome(got)["data_changed"] == []
    with pytest.raises(AnsibleFilterError, match="safety must be the restore role"):
        judged(BROKEN, restored=True, safety="x")


def test_a_restore_that_still_fails_keeps_what_is_wrong_after_it():
    got = judged(BROKEN, confirm="toogoodtogo", actions=["Restored"], restored=True,
                 final={"passed": False, "corrupted": ["public.x"], "findings": ["public.x cannot be read: boom"]})
    assert got["resolved"] is False
    assert got["findings"] == BROKEN["findings"] + ["after the restore: public.x cannot be read: boom"]
    assert got["errors"] == BROKEN["findings"]
    assert got["summary"] == "the restore did not leave a readable database"
    assert got["failure"].endswith("block 0. The restore did not leave a readable database.")
    unread = judged(BROKEN, confirm="toogoodtogo", restored=True, final={"failed": True, "msg": "refused"})
    assert unread["findings"][-1] == "after the restore: cannot read the database: refused"


def test_in_check_mode_a_confirmed_restore_is_only_said():
    got = judged(BROKEN, confirm="toogoodtogo", actions=["Would stop ..."], restored=False, final={"skipped": True})
    assert got["wait"] is False and got["resolved"] is False
    report = incident_outcome(got, healthy=True, check_mode=True)
    assert report["failure"] == "" and report["report_actions"][-1] == "Check mode: nothing was changed"


@pytest.mark.parametrize("bad, words", [
    ([], "expects a dict"),
    ({"diagnosis": {}}, "diagnosis must be the result of db_integrity_diagnosis"),
    ({"diagnosis": db_integrity_diagnosis(reads()), "result": None}, "result must be postgres_integrity_info"),
    ({"diagnosis": db_integrity_diagnosis(reads()), "result": CLEAN, "final": "x"}, "final must be"),
    ({"diagnosis": db_integrity_diagnosis(reads()), "result": CLEAN, "db_name": "d", "host": "",
      "service": "p"}, "host must be a non-empty string"),
    ({"diagnosis": db_integrity_diagnosis(reads()), "result": CLEAN, "db_name": "d", "host": "h",
      "service": "p", "restored": "maybe"}, "restored must be true or false"),
    ({"diagnosis": db_integrity_diagnosis(reads()), "result": CLEAN, "db_name": "d", "host": "h",
      "service": "p", "actions": "x"}, "actions must be a list"),
])
def test_outcome_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        db_integrity_outcome(bad)
