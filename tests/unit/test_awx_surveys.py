"""AWX as code (awx/vars/tgops.yml) against the playbooks, in both directions.

- Every playbook in playbooks/ has a job template (new playbooks fail this until they get one).
- Every survey variable is one the playbook reads: the playbook itself, or the roles it includes
  (their tasks, defaults, templates and argument_specs), transitively.
- Every input a playbook needs is asked in its survey, injected by one of its credentials, or set by the
  inventory: the required options of the role entry points it includes (argument_specs, minus what the
  playbook sets on the include), and every confirmation variable (``*_confirm``) it declares or leaves
  to the caller.
- Credential injectors set exactly the vault_* variables the inventories refer to, and secrets are inputs
  with ``secret: true``.
- The P0 workflow starts with P0 in check mode and reaches every job that changes hosts only through an
  approval node.
"""
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(ROOT, "playbooks")
ROLES = os.path.join(ROOT, "roles")
AWX_VARS = os.path.join(ROOT, "awx", "vars", "tgops.yml")
INCLUDE_KEYS = ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role")
WORD = re.compile(r"\b[a-z_][a-z0-9_]*\b")
PUBLIC_INPUTS = {"ton_wallet_address"}
ROLE_REF = re.compile(r"tgops\.runbooks\.([a-z_][a-z0-9_]*)")


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """SafeLoader that reads Ansible's !unsafe and !vault tags as plain strings."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
_Loader.add_constructor("!vault", lambda loader, node: "VAULT")


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)  # nosec - SafeLoader subclass


AWX = _load(AWX_VARS)


def _playbooks():
    return sorted(name for name in os.listdir(PLAYBOOKS) if name.endswith(".yml"))


def _role_name(name):
    return name.split(".")[-1]


def _skeleton_includes(spec, set_here):
    """The entry points of the diagnosing role that an include of the incident skeleton runs (role incident
    includes ``incident_role`` by a templated name, invisible to a reading of its files)."""
    if _role_name(spec["name"]) != "incident" or "incident_role" not in set_here:
        return []
    entries = [set_here.get("incident_diagnose_tasks", "main.yml"), set_here.get("incident_fix_tasks", "fix.yml"),
               set_here.get("incident_verify_tasks", ""), set_here.get("incident_cleanup_tasks", "")]
    return [(_role_name(set_here["incident_role"]), os.path.splitext(entry)[0], set(set_here))
            for entry in entries if entry]


def _includes(node, found):
    """(role, entry point, vars set on the include) for every include_role/import_role, recursively."""
    if isinstance(node, dict):
        for key in INCLUDE_KEYS:
            if key in node and isinstance(node[key], dict):
                spec = node[key]
                entry = os.path.splitext(spec.get("tasks_from", "main"))[0]
                found.append((_role_name(spec["name"]), entry, set((node.get("vars") or {}).keys())))
                found.extend(_skeleton_includes(spec, node.get("vars") or {}))
        for key in ("roles",):
            for role in node.get(key) or [] if isinstance(node.get(key), list) else []:
                name = role if isinstance(role, str) else role.get("role") or role.get("name")
                found.append((_role_name(name), "main", set(role.keys()) if isinstance(role, dict) else set()))
        for value in node.values():
            _includes(value, found)
    elif isinstance(node, list):
        for value in node:
            _includes(value, found)
    return found


def _role_files(role):
    base = os.path.join(ROLES, role)
    for sub in ("tasks", "defaults", "vars", "templates", "meta", "handlers"):
        for dirpath, _dirs, files in os.walk(os.path.join(base, sub)):
            for name in files:
                yield os.path.join(dirpath, name)


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _roles_closure(roles):
    """The roles given and every tgops.runbooks role they include, transitively."""
    seen, todo = set(), list(roles)
    while todo:
        role = todo.pop()
        if role in seen or not os.path.isdir(os.path.join(ROLES, role)):
            continue
        seen.add(role)
        for path in _role_files(role):
            todo.extend(ROLE_REF.findall(_read(path)))
    return seen


def _play_vars(plays):
    names = set()
    for play in plays:
        names |= set((play.get("vars") or {}).keys())
    return names


def _argument_specs(role):
    path = os.path.join(ROLES, role, "meta", "argument_specs.yml")
    if not os.path.exists(path):
        return {}
    return (_load(path) or {}).get("argument_specs") or {}


def _role_defaults(role):
    path = os.path.join(ROLES, role, "defaults", "main.yml")
    return (_load(path) or {}) if os.path.exists(path) else {}


def reads(playbook):
    """Every identifier the playbook and the roles it includes (transitively) can read."""
    path = os.path.join(PLAYBOOKS, playbook)
    words = set(WORD.findall(_read(path)))
    roles = {role for role, _entry, _set in _includes(_load(path), [])}
    for role in _roles_closure(roles):
        for file_path in _role_files(role):
            words |= set(WORD.findall(_read(file_path)))
    return words


def needs(playbook):
    """Inputs the caller must provide: required role options the playbook does not set, and confirmations."""
    plays = _load(os.path.join(PLAYBOOKS, playbook))
    play_vars = _play_vars(plays)
    needed = {name for name in play_vars if name.endswith("_confirm")}
    includes = _includes(plays, [])
    # A role whose confirmations the playbook maps from its own variables: those are what the caller
    # answers (the role's other entry points list the rest of its confirmations, which this playbook
    # never uses). A role included without any: the caller confirms the role's options directly.
    mapped = {role for role, _entry, set_here in includes if any(n.endswith("_confirm") for n in set_here)}
    for role, entry, set_here in includes:
        options = (_argument_specs(role).get(entry) or {}).get("options") or {}
        for name, spec in options.items():
            if name in set_here or name in play_vars:
                continue
            if spec.get("required") or (name.endswith("_confirm") and role not in mapped):
                # An option whose default reads a playbook-level variable ('{{ rotate_secrets_confirm |
                # default(false) }}') is answered through that variable.
                # Typed options carry such a default in the role's defaults/main.yml, not in the spec.
                default = spec.get("default", _role_defaults(role).get(name, ""))
                alias = re.fullmatch(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\|\s*default\(.*\)\s*\}\}", str(default))
                needed.add(alias.group(1) if alias else name)
    return needed


def inventory_vars():
    names = set()
    for inventory in ("production",):
        base = os.path.join(ROOT, "inventories", inventory)
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.endswith((".yml", ".yaml")):
                    data = _load(os.path.join(dirpath, name)) or {}
                    names |= set(data.keys())
                    names |= set(((data.get("all") or {}).get("vars") or {}).keys())
    return names


def injected_vars(credential_names):
    types = {ctype["name"]: ctype for ctype in AWX["tgops_awx_credential_types"]}
    creds = {cred["name"]: cred["credential_type"] for cred in AWX["tgops_awx_credentials"]}
    names = set()
    for cred in credential_names:
        ctype = types.get(creds[cred])
        if ctype:
            names |= set((ctype["injectors"].get("extra_vars") or {}).keys())
    return names


def missing_inputs(template):
    """Needed inputs of the template's playbook that nothing provides."""
    playbook = os.path.basename(template["playbook"])
    provided = {question["variable"] for question in template["survey"]}
    provided |= injected_vars(template["credentials"]) | inventory_vars()
    return needs(playbook) - provided


def unread_survey_vars(template):
    words = reads(os.path.basename(template["playbook"]))
    return {question["variable"] for question in template["survey"]} - words


TEMPLATES = AWX["tgops_awx_job_templates"]


def test_every_playbook_has_a_job_template():
    covered = {os.path.basename(template["playbook"]) for template in TEMPLATES}
    assert set(_playbooks()) - covered == set(), "playbooks without an AWX job template"
    assert all(os.path.exists(os.path.join(ROOT, template["playbook"])) for template in TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_survey_variables_are_read_by_the_playbook(template):
    assert unread_survey_vars(template) == set()


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_needed_inputs_are_provided(template):
    assert missing_inputs(template) == set()


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_required_role_options_are_required_questions(template):
    """A required option without a default is a required survey question (AWX then refuses to launch)."""
    playbook = os.path.basename(template["playbook"])
    questions = {question["variable"]: question for question in template["survey"]}
    plays = _load(os.path.join(PLAYBOOKS, playbook))
    for role, entry, set_here in _includes(plays, []):
        options = (_argument_specs(role).get(entry) or {}).get("options") or {}
        for name, spec in options.items():
            if spec.get("required") and name in questions and name not in set_here:
                assert questions[name]["required"] is True, name


def test_the_checks_can_fail():
    """The consistency checks flag a question nobody reads and a required input nobody asks."""
    deploy = next(t for t in TEMPLATES if t["playbook"].endswith("/deploy.yml"))
    broken = dict(deploy, survey=[{"variable": "deploy_releas", "required": True}])
    assert unread_survey_vars(broken) == {"deploy_releas"}
    assert "deploy_release" in missing_inputs(broken)
    p2 = next(t for t in TEMPLATES if t["playbook"].endswith("/p2_memory.yml"))
    assert "p2_memory_flush_redis_confirm" in missing_inputs(dict(p2, survey=[]))


def test_survey_questions_are_well_formed():
    types = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
    for template in TEMPLATES:
        for question in template["survey"]:
            assert question["type"] in types, question
            assert question["question_name"], question
            if question["type"] == "multiplechoice":
                assert str(question.get("default", question["choices"][0])) in question["choices"], question


def _vault_refs(inventory):
    refs = set()
    for dirpath, _dirs, files in os.walk(os.path.join(ROOT, "inventories", inventory)):
        for name in files:
            refs |= set(re.findall(r"\{\{\s*(vault_[a-z0-9_]+)", _read(os.path.join(dirpath, name))))
    return refs


# Inputs that may stay empty: the incident channel is off until one is given.
OPTIONAL_INPUTS = {"tgops incident channel": {"notify_telegram_bot_token", "notify_slack_webhook_url"}}


def test_credentials_inject_exactly_the_vault_variables():
    injected = injected_vars([cred["name"] for cred in AWX["tgops_awx_credentials"]])
    # Everything production reads is injected ...
    assert _vault_refs("production") - injected == set()
    # ... and every injected variable is one an inventory reads (lab or production; S3 keys excluded).
    assert injected - (_vault_refs("production") | _vault_refs("lab")) == set()
    for ctype in AWX["tgops_awx_credential_types"]:
        fields = {field["id"]: field for field in ctype["inputs"]["fields"]}
        # Every input is secret but the wallet's address, which is public on chain.
        assert all(field.get("secret") is True for name, field in fields.items() if name not in PUBLIC_INPUTS), ctype["name"]
        # Every input is required, but those of a channel that is off until configured.
        optional = OPTIONAL_INPUTS.get(ctype["name"], set())
        assert set(ctype["inputs"]["required"]) == set(fields) - optional, ctype["name"]
        for value in ctype["injectors"]["extra_vars"].values():
            match = re.fullmatch(r"\{\{ (\w+) \}\}", value)
            assert match and match.group(1) in fields, value


def test_p0_workflow_asks_before_acting():
    nodes = {node["identifier"]: node for node in AWX["tgops_awx_p0_workflow"]["nodes"]}
    templates = {template["name"] for template in TEMPLATES}
    targets = {ident for node in nodes.values() for edges in (node.get("related") or {}).values()
               for ident in (edge["identifier"] for edge in edges)}
    roots = set(nodes) - targets
    assert roots == {"triage"}
    root = nodes["triage"]
    assert root["job_type"] == "check" and root["unified_job_template"]["name"] == "tgops P0 outage"
    assert "failure_nodes" in root["related"]
    parents = {}
    for ident, node in nodes.items():
        for edges in (node.get("related") or {}).values():
            for edge in edges:
                parents.setdefault(edge["identifier"], []).append(ident)
    kinds = set()
    for ident, node in nodes.items():
        ujt = node["unified_job_template"]
        kinds.add(ujt["type"])
        if ujt["type"] == "job_template":
            assert ujt["name"] in templates
        if ident != "triage" and ujt["type"] == "job_template":
            assert node["job_type"] == "run"
            assert all(nodes[parent]["unified_job_template"]["type"] == "workflow_approval"
                       for parent in parents[ident]), ident
    assert {"tgops rollback", "tgops restore"} <= {n["unified_job_template"]["name"] for n in nodes.values()}
    assert "workflow_approval" in kinds


def test_p0_workflow_rolls_back_only_after_its_approval():
    """P0 for real may start and restart, never roll back: rolling back is the rollback node, after its own
    approval (the P0 template's survey offers the rollback, so the node answers it)."""
    nodes = {node["identifier"]: node for node in AWX["tgops_awx_p0_workflow"]["nodes"]}
    p0_runs = [n for n in nodes.values() if n["unified_job_template"]["name"] == "tgops P0 outage"
               and n.get("job_type") == "run"]
    assert p0_runs
    for node in p0_runs:
        assert (node.get("extra_data") or {}).get("p0_allow_rollback") == "false", node["identifier"]
    rollback = [ident for ident, n in nodes.items() if n["unified_job_template"]["name"] == "tgops rollback"]
    approvals = {ident: n for ident, n in nodes.items() if n["unified_job_template"]["type"] == "workflow_approval"}
    for ident in rollback:
        parents = [p for p, n in nodes.items() for edge in (n.get("related") or {}).get("success_nodes", [])
                   if edge["identifier"] == ident]
        assert parents and all(p in approvals and "roll back" in approvals[p]["unified_job_template"]["name"]
                               for p in parents), ident


def test_configure_playbook_declares_notifications_and_surveys():
    text = _read(os.path.join(ROOT, "awx", "configure.yml"))
    for needle in ("notification_templates_success", "notification_templates_error", "survey_spec",
                   "awx.awx.credential_type", "awx.awx.workflow_job_template", "no_log: true"):
        assert needle in text, needle
