"""restore_plan and restore_failure: the restore role's plan and what a failed restore left, in its words."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.restore import restore_failure, restore_plan, restore_refusal

VERIFIED = {"changed": False, "passed": True, "format": "custom", "size": 2048, "sha256": "ab" * 32,
            "row_counts": {"stores": 3, "users": 5}}


def plan_data(**kw):
    base = {"check_mode": False, "db_name": "toogoodtogo", "host": "toogoodtogo-lab", "safety_label": "pre_restore",
            "app_services": ["backend", "worker"], "path": "/opt/backups/postgres/b.dump", "downloaded": True,
            "verified": VERIFIED, "s3_bucket": "bkt", "s3_prefix": "toogoodtogo/postgres/", "backup": "b.dump",
            "expected_sha256": "cd" * 32, "health_url": "http://127.0.0.1:8000/health"}
    base.update(kw)
    return base


def test_the_plan_of_a_verified_local_backup():
    assert restore_plan(plan_data()) == [
        "Plan for toogoodtogo on toogoodtogo-lab:",
        "1. safety backup of the current database (pre_restore)",
        "2. stop backend, worker",
        "3. drop and re-create toogoodtogo, restore /opt/backups/postgres/b.dump (custom, 2048 bytes, sha256 %s) with "
        "exit-on-error, reading the pinned bytes only" % ("ab" * 32),
        "4. check the row counts of 2 table(s) against the backup",
        "5. start backend, worker and wait for http://127.0.0.1:8000/health",
        "On any failure after step 3 begins: restore the safety backup, start, and fail."]


def test_the_plan_in_check_mode_of_an_off_site_copy_not_downloaded():
    plan = restore_plan(plan_data(check_mode=True, downloaded=False, verified={"skipped": True}))
    assert plan[0] == "Plan (check mode, nothing is changed) for toogoodtogo on toogoodtogo-lab:"
    assert plan[3] == ("3. drop and re-create toogoodtogo, restore /opt/backups/postgres/b.dump once downloaded from "
                       "s3://bkt/toogoodtogo/postgres/b.dump (not downloaded in check mode) and its HMAC and sha256 "
                       "%s checked with exit-on-error, reading the pinned bytes only" % ("cd" * 32))
    assert plan[4] == "4. check the row counts of 0 table(s) against the backup"
    # nothing verified at all (absent) reads as no table
    assert restore_plan(plan_data(downloaded=False, verified=None))[4].startswith("4. check the row counts of 0 ")


@pytest.mark.parametrize("bad, words", [
    ("x", "restore_plan expects a dict"),
    (plan_data(db_name=""), "db_name must be a non-empty string"),
    (plan_data(host=None), "host must be a non-empty string"),
    (plan_data(app_services="backend"), "app_services must be a list"),
    (plan_data(verified=[]), "verified must be a registered result"),
    (plan_data(verified={"format": "custom"}), "a downloaded backup needs backup_verify's result"),
])
def test_plan_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        restore_plan(bad)


SAFETY = {"path": "/opt/backups/postgres/pre_restore.dump", "name": "pre_restore.dump"}


def test_a_failure_after_the_drop_with_a_safety_backup_puts_it_back():
    got = restore_failure({"applied": {"failed": True, "dropped": True}, "safety": SAFETY,
                           "rollback": {"changed": True, "row_counts": {"a": 1, "b": 2, "c": 3}}, "healthy": True})
    assert got == {"next": "Restoring the safety backup /opt/backups/postgres/pre_restore.dump",
                   "left": "The safety backup /opt/backups/postgres/pre_restore.dump was restored (3 tables, row "
                           "counts as before the restore); the application is healthy"}


def test_a_failure_before_the_drop_leaves_the_database_as_it_was():
    got = restore_failure({"applied": {"failed": True, "dropped": False}, "safety": SAFETY,
                           "rollback": {"skipped": True}, "healthy": False})
    assert got == {"next": "The database was not dropped; starting the services again.",
                   "left": "The database was not dropped and is as it was; the application is NOT healthy"}


def test_without_a_safety_backup_the_database_may_be_empty():
    # a result without dropped (the restore failed in the health check after it) counts as dropped
    got = restore_failure({"applied": {"changed": True}, "safety": {}, "rollback": {"skipped": True}})
    assert got == {"next": "There is no safety backup to put back.",
                   "left": "There was no safety backup: the database may be EMPTY or partly restored; restore "
                           "another backup now; the application is NOT healthy"}
    # the first message has no rollback yet; absent results count as not run / dropped
    assert restore_failure({"safety": None})["next"] == "There is no safety backup to put back."


@pytest.mark.parametrize("bad, words", [
    (None, "restore_failure expects a dict"),
    ({"applied": "x"}, "applied must be a registered result"),
    ({"rollback": [1]}, "rollback must be a registered result"),
])
def test_failure_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        restore_failure(bad)


def test_the_refusal_names_the_verification_first_then_the_pin():
    failed = {"passed": False, "msg": "sha256 differs"}
    content = {"failed": True, "stage": "content", "msg": "line 3: a psql meta-command"}
    assert restore_refusal({"verified": failed, "pinned": content}) == "sha256 differs"
    assert restore_refusal({"verified": {"passed": True, "msg": "ok"}, "pinned": content}) == (
        "line 3: a psql meta-command")
    assert restore_refusal({"verified": {"passed": True}, "pinned": {"path": "/b.dump"}}) == ""


@pytest.mark.parametrize("bad, words", [
    ("x", "restore_refusal expects a dict"),
    ({"verified": {}, "pinned": {}}, "verified must be backup_verify's result"),
    ({"verified": [], "pinned": {}}, "verified must be a registered result"),
])
def test_refusal_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        restore_refusal(bad)
