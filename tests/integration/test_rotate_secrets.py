"""playbooks/rotate_secrets.yml against the lab's toogoodtogo server.

Every rotation is proved with the issuer or the database: the old secret is refused, the new one accepted, the
service healthy, the env file, the vault and .lab/secrets.json agree. Each test then rotates back to the lab's
original secrets through the same playbook (values on a 0600 extra-vars file, never on the command line), so
the tests after this file, whose session fixture read .lab/secrets.json once, still hold the right secrets.

The generated secrets (db_password, secret_key) are rotated once per lane and each fact proved once (issue 20):
the secret_rotation role's end state (the leaked values refused, the new ones everywhere, the env file 0600 with no
copy left, the application healthy) by molecule/secret_rotation's verify; the confirmed playbook run (exit code, no
secret in its output, the generated values refused after rotating back to given ones) by
test_compromise.py::test_confirmed_rotation_rotates_every_generated_secret, whose rotation back is this playbook.
Here: check mode, the refusals, the issuer-made secrets and the undo after a failed verification.
"""
import json
import os
import subprocess

import psycopg2
import pytest
import requests

from conftest import BIN, ROOT, STATE, ansible_playbook, ssh, wait_health

pytestmark = pytest.mark.lane("toogoodtogo")

PLATFORM = "toogoodtogo"
ENV_FILE = "/opt/toogoodtogo/deployment/.env.production"
VAULT = os.path.join(ROOT, "inventories", "lab", "group_vars", "all", "vault.yml")
SECRETS = os.path.join(STATE, "secrets.json")
STRIPE = "http://127.0.0.1:18084"
TELEGRAM = "http://127.0.0.1:18081"
WEBHOOK = "https://toogoodtogo.lab/webhook/telegram"


def lab_secrets():
    with open(SECRETS) as handle:
        return json.load(handle)[PLATFORM]


def vault_values():
    proc = subprocess.run([os.path.join(BIN, "ansible-vault"), "decrypt", "--output", "-", VAULT], cwd=ROOT,
                          capture_output=True, text=True, check=True,
                          env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")))
    data = json.loads(proc.stdout)
    return {k[len("vault_%s_" % PLATFORM):]: v for k, v in data.items() if k.startswith("vault_%s_" % PLATFORM)}


def env_file():
    values = {}
    for line in ssh(PLATFORM, "cat %s" % ENV_FILE).stdout.splitlines():
        key, _sep, value = line.partition("=")
        values[key] = value
    return values


def env_state():
    """Checksum, mode and the files beside the env file (no backup copy may be left)."""
    return ssh(PLATFORM, "sha256sum %s; stat -c %%a %s; ls -a /opt/toogoodtogo/deployment"
               % (ENV_FILE, ENV_FILE)).stdout


def bot_container():
    return ssh(PLATFORM, "docker inspect -f '{{.Id}}' toogoodtogo_bot").stdout.strip()


def db_login(password):
    """True when postgres accepts the password on the published port; False when it refuses it."""
    try:
        conn = psycopg2.connect(host="127.0.0.1", port=25432, dbname="toogoodtogo", user="toogoodtogo",
                                password=password, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        assert "password authentication failed" in str(exc)
        return False
    conn.close()
    return True


def stripe_account(key):
    r = requests.get(STRIPE + "/v1/account", headers={"Authorization": "Bearer " + key}, timeout=5)
    return r.status_code, r.json()


def rotate(tmp_path, names, new=None, *extra, confirm=True):
    varfile = tmp_path / "rotate-vars.json"
    fd = os.open(str(varfile), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"rotate_secrets": names, "rotate_secrets_confirm": confirm, "rotate_secrets_new": new or {}},
                  handle)
    try:
        return ansible_playbook("playbooks/rotate_secrets.yml", "-l", PLATFORM, "-e", "@" + str(varfile), *extra)
    finally:
        varfile.unlink()


def out(proc):
    return proc.stdout[-6000:] + proc.stderr[-3000:]


def said(proc):
    """The playbook's output with whitespace normalised (the yaml callback folds long messages)."""
    return " ".join(proc.stdout.split())


def assert_consistent(expected):
    """Env file, vault, secrets.json all hold `expected` ({secrets.json key: value}) and the app is healthy."""
    env, vault, lab = env_file(), vault_values(), lab_secrets()
    names = {"postgres_password": "POSTGRES_PASSWORD", "secret_key": "SECRET_KEY",
             "stripe_api_key": "STRIPE_API_KEY", "bot_token": "TELEGRAM_BOT_TOKEN"}
    for key, value in expected.items():
        assert env[names[key]] == value, "env file %s" % names[key]
        assert vault[key] == value, "vault %s" % key
        assert lab[key] == value, "secrets.json %s" % key
    wait_health(PLATFORM, timeout=60)
    assert ".env.production." not in env_state().replace(".env.production\n", "\n"), "backup copy left behind"


@pytest.fixture(name="original")
def fixture_original():
    before = lab_secrets()
    assert vault_values() == before, "the vault and .lab/secrets.json disagree before the test"
    yield before
    # Whatever a test did, the lab must end on the original secrets (later tests read them).
    wait_health(PLATFORM, timeout=120)
    assert lab_secrets() == before, "the test did not rotate back"


def test_check_mode_shows_the_plan_and_changes_nothing(original, tmp_path):
    env_before, vault_before, container = env_state(), open(VAULT).read(), bot_container()
    proc = rotate(tmp_path, ["db_password", "secret_key"], None, "--check", confirm=False)
    assert proc.returncode == 0, out(proc)
    assert "Would rotate on toogoodtogo-lab: secret_key, db_password" in said(proc)
    assert env_state() == env_before and open(VAULT).read() == vault_before and bot_container() == container
    assert db_login(original["postgres_password"])


def test_unconfirmed_or_unknown_requests_are_refused_before_anything(original, tmp_path):
    env_before = env_state()
    proc = rotate(tmp_path, ["db_password"], confirm=False)
    assert proc.returncode != 0 and "rotate_secrets_confirm=true" in said(proc), out(proc)
    # Values long enough that Ansible's no_log masking (which replaces every occurrence of a secret value)
    # cannot mask single letters of the message.
    proc = rotate(tmp_path, ["pinata_api_key", "pinata_secret_key"],
                  {"pinata_api_key": "unused-pinata-key-0001", "pinata_secret_key": "unused-pinata-secret-0002"})
    assert proc.returncode != 0 and "this platform has no pinata_api_key" in said(proc), out(proc)
    proc = rotate(tmp_path, ["stripe_key"])
    assert proc.returncode != 0 and "must come from the operator or Vault" in said(proc), out(proc)
    assert env_state() == env_before


def test_stripe_key_rotation_after_a_dashboard_roll(original, tmp_path):
    old = original["stripe_api_key"]
    status, account = stripe_account(old)
    assert status == 200
    rolled = requests.post(STRIPE + "/_control/keys/roll", json={"key": old, "grace_seconds": 600}, timeout=5).json()
    new = rolled["new_key"]
    try:
        proc = rotate(tmp_path, ["stripe_key"], {"stripe_key": new})
        assert proc.returncode == 0, out(proc)
        assert new not in proc.stdout + proc.stderr
        assert_consistent({"stripe_api_key": new})
        assert stripe_account(new) == (200, account)
        # The old key is gone (revoked here rather than waiting out the grace period); the one in use works.
        requests.post(STRIPE + "/_control/keys/revoke", json={"key": old}, timeout=5).raise_for_status()
        assert stripe_account(old)[0] == 401 and stripe_account(new)[0] == 200
    finally:
        # Back to the lab's key, on the same account.
        requests.post(STRIPE + "/_control/keys", json={"key": old, "account": account["id"]}, timeout=5)
        proc = rotate(tmp_path, ["stripe_key"], {"stripe_key": old})
    assert proc.returncode == 0, out(proc)
    assert_consistent({"stripe_api_key": old})


def test_stripe_key_of_another_account_is_refused_and_nothing_changes(original, tmp_path):
    stranger = "sk_test_" + "Stranger0Account0Key0000"
    requests.post(STRIPE + "/_control/keys", json={"key": stranger}, timeout=5).raise_for_status()
    env_before, vault_before, container = env_state(), open(VAULT).read(), bot_container()
    proc = rotate(tmp_path, ["stripe_key"], {"stripe_key": stranger})
    assert proc.returncode != 0
    assert "belongs to account" in said(proc) and "nothing was changed" in said(proc), out(proc)
    assert env_state() == env_before and open(VAULT).read() == vault_before and bot_container() == container
    requests.post(STRIPE + "/_control/keys/revoke", json={"key": stranger}, timeout=5)


def test_telegram_token_rotation_keeps_the_bot_and_its_webhook(original, tmp_path):
    old = original["bot_token"]
    bot_id = old.split(":")[0]
    new = bot_id + ":" + "Rotated0Token0For0The0Same0Bot0Xyz12"
    try:
        requests.post(TELEGRAM + "/_control/bots", json={"token": new}, timeout=5).raise_for_status()  # BotFather
        assert requests.get(TELEGRAM + "/bot%s/getMe" % old, timeout=5).status_code == 401
        proc = rotate(tmp_path, ["telegram_bot_token"], {"telegram_bot_token": new})
        assert proc.returncode == 0, out(proc)
        assert new not in proc.stdout + proc.stderr and bot_id + ":" not in proc.stdout
        me = requests.get(TELEGRAM + "/bot%s/getMe" % new, timeout=5).json()
        assert me["ok"] and str(me["result"]["id"]) == bot_id
        state = requests.get(TELEGRAM + "/_control/bots/%s" % bot_id, timeout=5).json()["bot"]
        assert state["webhook_url"] == WEBHOOK and state["secret_token_set"]
        assert_consistent({"bot_token": new})
    finally:
        requests.post(TELEGRAM + "/_control/bots", json={"token": old}, timeout=5)  # the lab's token again
        proc = rotate(tmp_path, ["telegram_bot_token"], {"telegram_bot_token": old})
    assert proc.returncode == 0, out(proc)
    assert_consistent({"bot_token": old})


def test_failed_verification_puts_everything_back(original, tmp_path):
    env_before, vault_before = env_state(), open(VAULT).read()
    # /health that never answers after the switch: the rotation must be undone.
    proc = rotate(tmp_path, ["db_password", "secret_key"], None,
                  "-e", "secret_rotation_verify_url=http://127.0.0.1:9/health", "-e", "secret_rotation_verify_timeout=4")
    assert proc.returncode != 0, out(proc)
    assert "the previous secrets and env file are back" in said(proc), out(proc)
    assert "Put the previous env file back" in proc.stdout
    # The env file byte for byte with its mode and no copy beside it, the vault file as it was, the database on its
    # previous password; secrets.json as it was and the application healthy: the `original` fixture's teardown.
    assert env_state() == env_before and open(VAULT).read() == vault_before
    assert db_login(original["postgres_password"]) is True


@pytest.mark.parametrize("extra, words", [
    (("-e", "secret_rotation_vault_file=/nonexistent/vault.yml"),
     "cannot be stored in /nonexistent/vault.yml: /nonexistent/vault.yml (/nonexistent/vault.yml) does not exist"),
    (("-e", "secret_rotation_vault_file="), "No vault file to store the new values in"),
    # On AWX the project checkout (where the lab's vault lives) is discarded after the job.
    (("-e", "awx_job_id=42"), "inside the project checkout, which AWX discards after the job"),
], ids=["absent", "unset", "awx"])
def test_new_values_that_cannot_be_stored_are_refused_before_anything(original, tmp_path, extra, words):
    env_before, vault_before, container = env_state(), open(VAULT).read(), bot_container()
    proc = rotate(tmp_path, ["db_password", "secret_key"], None, *extra)
    assert proc.returncode != 0, out(proc)
    assert words in said(proc) and "platform_secrets_vault_file" in said(proc), out(proc)
    assert "Nothing was changed" in said(proc)
    # Refused before the switch: no restart, no rescue (which would put back what was already revoked).
    assert "Recreate the application" not in proc.stdout and "Put the previous" not in proc.stdout
    assert env_state() == env_before and open(VAULT).read() == vault_before and bot_container() == container
    assert db_login(original["postgres_password"])


def test_a_secret_ansible_would_template_is_refused_before_anything(original, tmp_path):
    env_before, vault_before = env_state(), open(VAULT).read()
    # Marked unsafe, as a value from a secrets manager's lookup arrives: the braces reach the role intact.
    varfile = tmp_path / "rotate-vars.yml"
    varfile.write_text('rotate_secrets: [db_password]\nrotate_secrets_confirm: true\n'
                       'rotate_secrets_new: {db_password: !unsafe "Rotated0Password0{{ 7 * 7 }}0Xyz"}\n')
    proc = ansible_playbook("playbooks/rotate_secrets.yml", "-l", PLATFORM, "-e", "@" + str(varfile))
    assert proc.returncode != 0, out(proc)
    assert 'the new db_password contains "{{", which Ansible would template' in said(proc), out(proc)
    assert env_state() == env_before and open(VAULT).read() == vault_before
    assert db_login(original["postgres_password"])
