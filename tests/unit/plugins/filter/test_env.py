"""env_restore_plan: names only, split into what the vault restores and what an operator must set;
env_repair_outcome: what the incident report says of the diagnosis, the restore and the health after it."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.env import env_repair_outcome, env_restore_plan

SECRETS = {
    "db_password": {"env": "POSTGRES_PASSWORD", "vault": "vault_toogoodtogo_postgres_password", "lab": "x"},
    "secret_key": {"env": "SECRET_KEY", "vault": "vault_toogoodtogo_secret_key"},
    "telegram_bot_token": {"env": "TELEGRAM_BOT_TOKEN", "vault": "vault_toogoodtogo_bot_token"},
}


def report(missing, exists=True):
    return {"file": "/opt/app/.env.production", "exists": exists, "present": ["A"], "missing": missing}


def test_nothing_missing_means_nothing_to_do():
    plan = env_restore_plan(report([]), SECRETS)
    assert plan["act"] is False and plan["restorable"] == [] and plan["unknown"] == [] and plan["missing"] == []


def test_a_missing_secret_is_restorable_from_its_vault_variable():
    plan = env_restore_plan(report(["SECRET_KEY"]), SECRETS)
    assert plan["act"] is True
    assert plan["restorable"] == [{"name": "secret_key", "env": "SECRET_KEY", "vault": "vault_toogoodtogo_secret_key"}]
    assert plan["unknown"] == []


def test_a_variable_no_vault_holds_is_for_the_operator():
    plan = env_restore_plan(report(["SECRET_KEY", "SENTRY_DSN"]), SECRETS)
    assert [r["env"] for r in plan["restorable"]] == ["SECRET_KEY"]
    assert plan["unknown"] == ["SENTRY_DSN"]
    assert plan["findings"] == [
        "SECRET_KEY is missing from /opt/app/.env.production (the vault holds it: vault_toogoodtogo_secret_key)",
        "SENTRY_DSN is missing from /opt/app/.env.production and no vault variable holds it: set it by hand"]


def test_an_empty_variable_counts_as_missing():
    env = dict(report(["SECRET_KEY"]), empty=["POSTGRES_PASSWORD", "SECRET_KEY"])
    plan = env_restore_plan(env, SECRETS)
    assert plan["missing"] == ["SECRET_KEY", "POSTGRES_PASSWORD"]
    assert [r["env"] for r in plan["restorable"]] == ["SECRET_KEY", "POSTGRES_PASSWORD"]
    assert plan["findings"][1].startswith("POSTGRES_PASSWORD is empty in /opt/app/.env.production")


def test_a_missing_env_file_is_said():
    plan = env_restore_plan(report(["SECRET_KEY"], exists=False), SECRETS)
    assert plan["file_exists"] is False and plan["file"] == "/opt/app/.env.production"
    assert plan["findings"][0] == "env file /opt/app/.env.production does not exist"


def test_no_secrets_configured_leaves_everything_to_the_operator():
    plan = env_restore_plan(report(["SECRET_KEY"]), {})
    assert plan["act"] is False and plan["unknown"] == ["SECRET_KEY"]


@pytest.mark.parametrize("env_report,secrets,expect", [
    (None, SECRETS, "env report"),
    ({"missing": "SECRET_KEY"}, SECRETS, "env report"),
    (report([]), ["SECRET_KEY"], "platform_secrets"),
    (report([]), {"x": "SECRET_KEY"}, "platform_secrets.x"),
    (report([]), {"x": {"env": "SECRET KEY; rm", "vault": "v"}}, "variable names"),
    (report([]), {"x": {"env": "A", "vault": "{{ lookup('pipe', 'id') }}"}}, "variable names"),
])
def test_bad_input_is_refused_clearly(env_report, secrets, expect):
    with pytest.raises(AnsibleFilterError, match=expect):
        env_restore_plan(env_report, secrets)


# env_repair_outcome: the incident skeleton's view, after the diagnosis, the restore and the health check

ENV_FILE = "/opt/app/.env.production"
TRIAGE = {"findings": ["bot is restarting"], "errors": ["ERROR SECRET_KEY not set"]}
PUT_BACK = ["Put SECRET_KEY back into %s from the vault (previous file kept as x)" % ENV_FILE,
            "Recreated bot (docker compose up --force-recreate)"]


def outcome(missing, **kw):
    read = {"plan": env_restore_plan(report(missing), SECRETS), "triage": TRIAGE,
            "confirm_variable": "missing_env_restore_confirm"}
    read.update(kw)
    return env_repair_outcome(read)


def test_nothing_missing_is_resolved_with_triage_findings_and_errors_kept():
    got = outcome([])
    assert got == {"findings": ["bot is restarting"], "errors": ["ERROR SECRET_KEY not set"],
                   "no_findings": "no required variable is missing", "resolved": True,
                   "summary": "No required variable is missing from %s" % ENV_FILE}


def test_an_unconfirmed_restorable_variable_fails_naming_the_playbooks_confirmation():
    got = outcome(["SECRET_KEY"])
    assert got["findings"][0] == ("SECRET_KEY is missing from %s (the vault holds it: vault_toogoodtogo_secret_key)"
                                  % ENV_FILE)
    assert got["resolved"] is False and "actions" not in got
    assert got["failure"] == ("Still missing from %s: SECRET_KEY. The vault holds SECRET_KEY: run again with "
                              "-e missing_env_restore_confirm=true." % ENV_FILE)
    # A role caller without a playbook name is told the role's own switch.
    assert outcome(["SECRET_KEY"], confirm_variable="")["failure"].endswith("-e env_repair_confirm=true.")
    # After the fix ran unconfirmed: no actions, the same failure.
    assert outcome(["SECRET_KEY"], actions=[])["failure"] == got["failure"]


def test_a_restore_resolves_and_then_fails_only_behind_an_unhealthy_application():
    fixed = outcome(["SECRET_KEY"], actions=PUT_BACK)
    assert fixed["resolved"] is True and fixed["actions"] == PUT_BACK and "failure" not in fixed
    assert fixed["summary"] == "Put SECRET_KEY back into %s" % ENV_FILE
    assert "failure" not in outcome(["SECRET_KEY"], actions=PUT_BACK, healthy=True)
    sick = outcome(["SECRET_KEY"], actions=PUT_BACK, healthy=False)
    assert sick["failure"] == ("Still missing from %s: SECRET_KEY. The application is not healthy after the restore."
                               % ENV_FILE)
    # nothing was missing: an unhealthy application is not this procedure's failure
    assert "failure" not in outcome([], actions=[], healthy=False)


def test_a_variable_no_vault_holds_is_never_resolved_and_is_named_for_the_operator():
    got = outcome(["SECRET_KEY", "CUSTOM_FLAG"], actions=PUT_BACK, healthy=True)
    assert got["resolved"] is False
    assert got["failure"] == ("Still missing from %s: SECRET_KEY, CUSTOM_FLAG. No vault variable holds CUSTOM_FLAG: "
                              "set it by hand, then recreate the application." % ENV_FILE)
    assert got["summary"] == "Still missing from %s: SECRET_KEY, CUSTOM_FLAG" % ENV_FILE
    unconfirmed = outcome(["SECRET_KEY", "CUSTOM_FLAG"])["failure"]
    assert "The vault holds SECRET_KEY: run again" in unconfirmed and "No vault variable holds CUSTOM_FLAG" in unconfirmed


def test_without_triage_the_plan_alone_is_reported():
    got = env_repair_outcome({"plan": env_restore_plan(report([]), SECRETS)})
    assert got["findings"] == [] and got["errors"] == []


@pytest.mark.parametrize("bad, words", [
    ("x", "expects a dict"),
    ({}, "plan must be the result of env_restore_plan"),
    ({"plan": {"findings": []}}, "plan must be the result of env_restore_plan"),
    ({"plan": env_restore_plan(report([]), SECRETS), "triage": ["x"]}, "triage must be"),
    ({"plan": env_restore_plan(report([]), SECRETS), "actions": "done"}, "actions must be a list"),
])
def test_a_bad_outcome_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match="env_repair_outcome.*" + words):
        env_repair_outcome(bad)
