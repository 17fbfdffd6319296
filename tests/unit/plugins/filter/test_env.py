"""env_restore_plan: names only, split into what the vault restores and what an operator must set."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.env import env_restore_plan

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
