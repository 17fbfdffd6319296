"""deploy_summary, deploy_failure, rollback_summary, rollback_note: the deploy and rollback roles' words, as the
roles said them in Jinja (tests/integration/test_deploy.py greps them)."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.deployment import (
    deploy_failure, deploy_summary, rollback_note, rollback_summary)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
DEPLOY_PLAN = {"changed": False, "deploy_needed": True, "reason": "v1.4.0 is not running",
               "target": {"release": "v1.4.0", "commit": COMMIT, "expected_version": "1.4.0"},
               "current": {"release": "v1.3.0", "commit": "f" * 40}, "local_changes": [], "releases": []}
ROLLBACK_PLAN = {"changed": False, "rollback_needed": True, "reason": "the last deploy failed",
                 "target": {"release": "v1.3.0", "commit": COMMIT, "expected_version": None},
                 "checked_out": {"release": "v1.4.0", "commit": "f" * 40}}


def deploy(**kw):
    base = {"plan": DEPLOY_PLAN, "check_mode": False, "release": "v1.4.0", "skip_backup": False,
            "skip_migrations": False}
    base.update(kw)
    return base


def test_a_deploy_with_every_step():
    assert deploy_summary(deploy()) == (
        "Deploying v1.4.0 (0123456789ab) over v1.3.0: v1.4.0 is not running. Steps: lock, pre-deployment backup, "
        "checkout, build, alembic upgrade head, up, /health gate (version 1.4.0).")


def test_a_deploy_in_check_mode_skipping_steps_over_nothing_without_a_version():
    plan = dict(DEPLOY_PLAN, current={}, target={"release": "v1.4.0", "commit": COMMIT, "expected_version": ""})
    assert deploy_summary(deploy(plan=plan, check_mode=True, skip_backup=True, skip_migrations=True)) == (
        "Would deploy v1.4.0 (0123456789ab) over nothing: v1.4.0 is not running. Steps: lock, no backup (skipped), "
        "checkout, build, no migrations (skipped), up, /health gate.")


def test_a_failure_before_the_switch_changed_nothing():
    assert deploy_failure({"switched": False, "rollback": {}}) == {
        "result": "failed", "said": "Nothing was changed on the host."}


def test_a_failure_after_the_switch_was_rolled_back():
    assert deploy_failure({"switched": True, "rollback": {"to": "v1.3.0", "version": "1.3.0"}}) == {
        "result": "rolled_back",
        "said": "Rolled back automatically to v1.3.0, which is healthy (version 1.3.0)."}
    said = deploy_failure({"switched": True, "rollback": {"to": "v1.3.0"}})["said"]
    assert said == "Rolled back automatically to v1.3.0, which is healthy (version not reported)."


def rollback(**kw):
    base = {"plan": ROLLBACK_PLAN, "check_mode": False, "downgrade": False, "revision": "",
            "backup_label": "pre_rollback"}
    base.update(kw)
    return base


def test_a_rollback_leaving_the_migrations():
    assert rollback_summary(rollback()) == (
        "Rolling back from v1.4.0 to v1.3.0 (0123456789ab): the last deploy failed. "
        "Migrations: left as they are (no down-migration).")


def test_a_rollback_in_check_mode_with_a_downgrade():
    assert rollback_summary(rollback(check_mode=True, downgrade=True, revision="0001")) == (
        "Would roll back from v1.4.0 to v1.3.0 (0123456789ab): the last deploy failed. "
        "Migrations: alembic downgrade 0001 after a verified pre_rollback backup.")


def test_the_note_of_a_plain_rollback():
    assert rollback_note({"reason": "", "downgrade": False, "revision": "0001", "backup": {"name": "old.dump"},
                          "version": "1.3.0"}) == "rollback; healthy, version 1.3.0"


def test_the_note_of_an_automatic_rollback_with_a_downgrade():
    note = rollback_note({"reason": "automatic rollback: deploy of v1.4.0 failed (x)", "downgrade": True,
                          "revision": "0001", "backup": {"name": "pre_rollback_1.dump"},
                          "version": "not reported"})
    assert note == ("automatic rollback: deploy of v1.4.0 failed (x); downgraded to 0001 after backup "
                    "pre_rollback_1.dump; healthy, version not reported")


@pytest.mark.parametrize("call, bad, words", [
    (deploy_summary, "x", "deploy_summary expects a dict"),
    (deploy_summary, {"plan": DEPLOY_PLAN}, "deploy_summary: missing check_mode, release"),
    (deploy_summary, deploy(plan={"reason": "x"}), "plan must be release_info's registered result"),
    (deploy_failure, {"switched": True}, "deploy_failure: missing rollback"),
    (deploy_failure, {"switched": True, "rollback": {}}, "rollback must be the rollback role's rollback_result"),
    (rollback_summary, rollback(plan=None), "plan must be release_info's registered result"),
    (rollback_note, {"reason": "", "downgrade": True, "version": "1"}, "a downgrade needs the backup role's"),
    (rollback_note, ["reason"], "rollback_note expects a dict"),
])
def test_bad_input_is_named(call, bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        call(bad)
