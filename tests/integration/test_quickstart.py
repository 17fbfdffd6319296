"""docs/quickstart.md against the lab, as if the lab were production.

The steps a user with their own servers follows: copy inventories/production/, put their hosts in
hosts.yml, their URLs and ports in group_vars/<platform>.yml, their secrets in group_vars/all/vault.yml
(from vault.yml.example, then ansible-vault encrypt), and run P0 in --check. Here the hosts, URLs and
ports are the lab's, the secrets the lab's (.lab/secrets.json), the Vault password a new one: nothing
of inventories/lab/ or the lab's vault password is used.
"""
import os
import re
import shutil
import subprocess

import pytest
import yaml

pytestmark = pytest.mark.lane("both")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, ".venv", "bin")
LAB = os.path.join(ROOT, "inventories", "lab")
# What a user edits in group_vars/<platform>.yml for their site (docs/quickstart.md, step 2).
SITE_KEYS = ("platform_services", "platform_health_url", "platform_public_health_url", "platform_db_port",
             "platform_telegram_api_url", "platform_webhook_url", "platform_toncenter_api_url",
             "platform_pinata_api_url", "platform_public_ca_path", "platform_ton_min_balance",
             "platform_mint_retry_command")
VAULT_REF = re.compile(r"\{\{\s*(vault_[a-z0-9_]+)")


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _lab_value(value, lab_vars):
    """A lab group variable with the lab's generated lab_* values put in, as a user writes a literal."""
    if isinstance(value, str):
        return re.sub(r"\{\{\s*(lab_[a-z_]+)\s*\}\}", lambda m: str(lab_vars[m.group(1)]), value)
    return value


def _vault_refs(directory):
    refs = set()
    for dirpath, _dirs, files in os.walk(directory):
        for name in files:
            with open(os.path.join(dirpath, name), encoding="utf-8") as handle:
                refs |= set(VAULT_REF.findall(handle.read()))
    return refs


def _vault_value(name, secrets):
    """vault_<platform>_<key> -> .lab/secrets.json[platform][key] (toncenter/pinata/ton keys as named there);
    the incident channel's secrets stay empty, as a user who has no channel leaves them (notifications off)."""
    if name.startswith("vault_notify_"):
        return ""
    if name == "vault_backup_hmac_key":
        return secrets["backup"]["hmac_key"]
    for platform in ("tgquiz", "toogoodtogo"):
        prefix = "vault_%s_" % platform
        if name.startswith(prefix):
            return secrets[platform][name[len(prefix):]]
    raise KeyError(name)


@pytest.fixture(name="site", scope="module")
def fixture_site(tmp_path_factory, secrets_file):
    base = tmp_path_factory.mktemp("quickstart")
    inventory = base / "mysite"
    # Step 1: copy the example.
    shutil.copytree(os.path.join(ROOT, "inventories", "production"), inventory)
    # Step 2: hosts and site settings.
    lab_hosts = _load(os.path.join(LAB, "hosts.yml"))
    hosts = _load(inventory / "hosts.yml")
    hosts["all"]["vars"].update(ansible_user="root", ansible_become=False,
                                ansible_ssh_private_key_file=os.path.join(ROOT, ".lab", "ssh", "id_ed25519"))
    for group in ("tgquiz", "toogoodtogo"):
        hosts["all"]["children"][group]["hosts"] = lab_hosts["all"]["children"][group]["hosts"]
    with open(inventory / "hosts.yml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(hosts, handle)
    lab_vars = _load(os.path.join(LAB, "group_vars", "all", "lab.yml"))
    for group in ("tgquiz", "toogoodtogo"):
        path = inventory / "group_vars" / (group + ".yml")
        group_vars = _load(path)
        lab_group = _load(os.path.join(LAB, "group_vars", group + ".yml"))
        for key in SITE_KEYS:
            if key in lab_group:
                group_vars[key] = _lab_value(lab_group[key], lab_vars)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(group_vars, handle)
    # Step 2b: the hosts' SSH keys, as an operator adds keys whose fingerprints they checked.
    with open(inventory / "known_hosts", "a", encoding="utf-8") as handle:
        for port in (2221, 2222):
            handle.write(subprocess.run(["ssh-keyscan", "-p", str(port), "-t", "ed25519", "127.0.0.1"],
                                        capture_output=True, text=True, check=True, timeout=30).stdout)
    # Step 3: the Vault, from the example's keys, encrypted with a password of the user's own.
    example = inventory / "group_vars" / "all" / "vault.yml.example"
    vault = {name: _vault_value(name, secrets_file) for name in _load(example)}
    vault.update({name: _vault_value(name, secrets_file) for name in _vault_refs(inventory) - set(vault)})
    vault_file = inventory / "group_vars" / "all" / "vault.yml"
    with open(vault_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(vault, handle)
    password = base / "vault-pass"
    password.write_text("quickstart-%s\n" % os.getpid())
    password.chmod(0o600)
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_VAULT_PASSWORD_FILE=str(password), TGOPS_REPORT_DIR=str(base / "reports"),
               # A connection the lab inventory left open to the same address would skip the key check.
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(base / "cp"))
    subprocess.run([os.path.join(BIN, "ansible-vault"), "encrypt", str(vault_file)], env=env, check=True,
                   capture_output=True)
    return {"inventory": inventory, "env": env, "example": example, "vault": vault_file}


@pytest.mark.lane("own")
def test_vault_example_lists_every_secret_the_inventory_reads(site):
    """A user fills vault.yml.example; every vault_* variable the group_vars read must be in it."""
    refs = _vault_refs(site["inventory"] / "group_vars")
    assert refs - set(_load(site["example"])) == set()


def test_p0_check_against_the_copied_inventory(site):
    with open(site["vault"], encoding="utf-8") as handle:
        assert handle.read().startswith("$ANSIBLE_VAULT;")
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(site["inventory"] / "hosts.yml"),
                           os.path.join(ROOT, "playbooks", "p0_outage.yml"), "--check"],
                          cwd=str(site["inventory"].parent), env=site["env"], capture_output=True, text=True,
                          timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    recap = dict(re.findall(r"^(\S+)\s+: (ok=.*)$", out, re.M))
    assert set(recap) == {"tgquiz-lab", "toogoodtogo-lab"}, out[-3000:]
    assert all("unreachable=0" in line and "failed=0" in line for line in recap.values()), recap
