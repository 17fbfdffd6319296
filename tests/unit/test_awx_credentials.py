"""Whoever may launch an AWX job template can read every secret its credentials inject (a task that prints a
variable is enough), and can steer the job with what the launch accepts. So, for every template in
awx/vars/tgops.yml:

- its credentials are the machine credential and exactly those whose injected vault_* variables the playbook
  reads: through the inventory variables (production's group_vars) that refer to them, named anywhere in the
  playbook or the roles it includes, transitively (the same reading as test_awx_surveys.py);
- it takes no free-form launch variables (ask_variables_on_launch): what a launcher may set is its survey;
- no survey question sets a URL or an API endpoint (*_url, *base_url, *endpoint*, *_api, *_host): those are
  inventory facts, or a launcher could point an API client, and the secret it sends, at a server of their own.
"""
import os
import re

import pytest

import test_awx_surveys as surveys

AWX = surveys.AWX
TEMPLATES = AWX["tgops_awx_job_templates"]
VAULT_NAME = re.compile(r"\b(vault_[a-z0-9_]+)")
URLISH = re.compile(r"(_url|_uri|base_url|endpoint|_api|_host|_hostname|webhook)s?$|^(url|api|host)", re.I)
MACHINE = "tgops ssh"


def inventory_secret_refs():
    """Inventory variable -> the vault_* variables its value names (a template, or a name as platform_secrets
    gives it to the roles that look secrets up by name)."""
    refs = {}
    base = os.path.join(surveys.ROOT, "inventories", "production")
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            if name.endswith((".yml", ".yaml")) and name != "vault.yml.example":
                for key, value in (surveys._load(os.path.join(dirpath, name)) or {}).items():
                    found = set(VAULT_NAME.findall(str(value)))
                    if found:
                        refs.setdefault(key, set()).update(found)
    return refs


def injected_by():
    """Credential name -> the variables it injects."""
    types = {ctype["name"]: set((ctype["injectors"].get("extra_vars") or {}).keys())
             for ctype in AWX["tgops_awx_credential_types"]}
    return {cred["name"]: types.get(cred["credential_type"], set()) for cred in AWX["tgops_awx_credentials"]}


def needed_credentials(template):
    words = surveys.reads(os.path.basename(template["playbook"]))
    read = set()
    for variable, vault_names in inventory_secret_refs().items():
        if variable in words:
            read |= vault_names
    return {MACHINE} | {name for name, injected in injected_by().items() if injected & read}


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_template_gets_only_the_credentials_its_playbook_reads(template):
    given = set(template["credentials"])
    assert len(given) == len(template["credentials"]), "a credential listed twice"
    assert given == needed_credentials(template), "given - needed: %s, needed - given: %s" % (
        sorted(given - needed_credentials(template)), sorted(needed_credentials(template) - given))


def test_no_template_carries_every_credential():
    """The defect this guards against: one shared list on every template."""
    assert "tgops_awx_job_credentials" not in AWX
    # Only the lockdown, which rotates every secret, needs them all.
    everything = {cred["name"] for cred in AWX["tgops_awx_credentials"]}
    assert [t["name"] for t in TEMPLATES if set(t["credentials"]) == everything] == ["tgops suspected compromise"]
    assert [t["name"] for t in TEMPLATES if t["credentials"] == [MACHINE]]  # some need no secret at all
    # Stripe's key is read only by the rotation of secrets (by name, through platform_secrets).
    assert [t["name"] for t in TEMPLATES if "tgops stripe" in t["credentials"]] == \
        [t["name"] for t in TEMPLATES if "tgops stripe" in needed_credentials(t)]


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_no_free_form_launch_variables(template):
    assert not template.get("ask_variables_on_launch"), template["name"]


def test_configure_declares_per_template_credentials_and_no_launch_variables():
    text = surveys._read(os.path.join(surveys.ROOT, "awx", "configure.yml"))
    assert 'credentials: "{{ item.credentials }}"' in text
    assert re.search(r"ask_variables_on_launch:\s*false", text)
    assert "tgops_awx_job_credentials" not in text


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_no_survey_question_sets_a_url(template):
    for question in template.get("survey") or []:
        assert not URLISH.search(question["variable"]), (template["name"], question["variable"])
        assert question["type"] != "password" or not re.search("url", question["question_name"], re.I)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_no_survey_question_overrides_an_inventory_fact(template):
    """A survey answer is an extra variable, which beats every inventory variable: none may name one."""
    facts = surveys.inventory_vars() | set(inventory_secret_refs())
    assert {q["variable"] for q in template.get("survey") or []} & facts == set(), template["name"]


def test_the_url_check_would_catch_an_api_base_url():
    for name in ("platform_telegram_api_url", "platform_stripe_api_url", "backup_s3_endpoint_url", "api_base_url",
                 "platform_toncenter_api", "notify_slack_webhook_url"):
        assert URLISH.search(name), name
    for name in ("restore_backup", "deploy_release", "p0_health_timeout", "redis_clear_pattern"):
        assert not URLISH.search(name), name


def test_workflow_nodes_set_no_url_either():
    for node in AWX["tgops_awx_p0_workflow"]["nodes"]:
        for variable in node.get("extra_data") or {}:
            assert not URLISH.search(variable), (node["identifier"], variable)
