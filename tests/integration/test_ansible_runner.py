"""P0 through ansible-runner, the way AWX runs a job, against the lab.

The private data directory is laid out as AWX lays it out for a job:

- project/: the project checkout (the files git tracks, as an SCM update gives them);
- requirements_collections/: the collections AWX installs for the project (here tgops.runbooks itself);
- inventory/hosts: the inventory AWX renders from its database (hosts and group variables, no Vault file);
- env/extravars: what the job's credentials inject, rendered from the credential types declared in
  awx/vars/tgops.yml with the lab's secrets (the same vault_* variables the Vault file would give);
- env/ssh_key: the machine credential's key (ansible-runner loads it into an ssh-agent);
- env/passwords, env/envvars, env/settings.

Then `ansible-runner run` on playbooks/p0_outage.yml in check mode (the P0 workflow's triage node), and
the job's status and events are checked; no secret of .lab/secrets.json appears in any event, the
stdout or the command line.
"""
import json
import os
import shutil
import subprocess

import pytest
import yaml

pytestmark = pytest.mark.lane("both")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(ROOT, ".venv", "bin", "ansible-runner")


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """Reads Ansible's !unsafe as a plain string."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)  # nosec - SafeLoader subclass


# The TON wallet's address is public (on chain) and triage reports it with the balance on purpose.
PUBLIC = {"ton_wallet_address"}


def _secret_values(secrets):
    values = []
    for key, value in secrets.items():
        if key not in PUBLIC:
            values.extend(_secret_values(value) if isinstance(value, dict) else [str(value)])
    return [v for v in values if len(v) >= 6]


def credential_extravars(secrets, credentials=None):
    """What AWX's credential injectors put in env/extravars for the lab's secrets: those of the named
    credentials (a job template's), or of every credential type."""
    awx = _yaml(os.path.join(ROOT, "awx", "vars", "tgops.yml"))
    if credentials is not None:
        kinds = {cred["name"]: cred["credential_type"] for cred in awx["tgops_awx_credentials"]}
        wanted = {kinds[name] for name in credentials}
        awx["tgops_awx_credential_types"] = [c for c in awx["tgops_awx_credential_types"] if c["name"] in wanted]
    inputs = {
        "tgquiz_bot_token": secrets["tgquiz"]["bot_token"],
        "toogoodtogo_bot_token": secrets["toogoodtogo"]["bot_token"],
        "toogoodtogo_webhook_secret": secrets["toogoodtogo"]["webhook_secret"],
        "toncenter_api_key": secrets["tgquiz"]["toncenter_api_key"],
        "ton_wallet_address": secrets["tgquiz"]["ton_wallet_address"],
        "pinata_api_key": secrets["tgquiz"]["pinata_api_key"],
        "pinata_secret_key": secrets["tgquiz"]["pinata_secret_key"],
        "stripe_api_key": secrets["toogoodtogo"]["stripe_api_key"],
        "tgquiz_postgres_password": secrets["tgquiz"]["postgres_password"],
        "backup_hmac_key": (secrets.get("backup") or {}).get("hmac_key", ""),
        "toogoodtogo_postgres_password": secrets["toogoodtogo"]["postgres_password"],
    }
    extravars = {}
    for ctype in awx["tgops_awx_credential_types"]:
        for name, template in ctype["injectors"]["extra_vars"].items():
            field = template.strip("{} ")
            # An optional input left empty (the incident channel) renders as "", as AWX renders it.
            extravars[name] = inputs.get(field, "")
    return extravars


def awx_inventory():
    """The lab inventory as AWX renders it: hosts with their group variables, connection by credential."""
    hosts = _yaml(os.path.join(ROOT, "inventories", "lab", "hosts.yml"))
    common = dict(hosts["all"]["vars"])
    common.pop("ansible_ssh_private_key_file", None)  # the machine credential gives the key (env/ssh_key)
    common.update(_yaml(os.path.join(ROOT, "inventories", "lab", "group_vars", "all", "lab.yml")))
    children = {}
    for group, body in hosts["all"]["children"].items():
        group_vars = _yaml(os.path.join(ROOT, "inventories", "lab", "group_vars", group + ".yml"))
        children[group] = {"hosts": body["hosts"], "vars": group_vars}
    return {"all": {"vars": common, "children": children}}


def private_data_dir(base, secrets):
    pdd = os.path.join(base, "awx_job")
    project = os.path.join(pdd, "project")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src) and not rel.startswith(("lab/", "bench/", "tests/")):
            os.makedirs(os.path.dirname(os.path.join(project, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(project, rel))
    collections = os.path.join(pdd, "requirements_collections", "ansible_collections", "tgops")
    os.makedirs(collections)
    os.symlink(project, os.path.join(collections, "runbooks"))
    os.makedirs(os.path.join(pdd, "inventory"))
    with open(os.path.join(pdd, "inventory", "hosts"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(awx_inventory(), handle)
    env = os.path.join(pdd, "env")
    os.makedirs(env)
    with open(os.path.join(env, "extravars"), "w", encoding="utf-8") as handle:
        # The P0 template's credentials only, as AWX injects them for that job.
        p0 = next(t for t in _yaml(os.path.join(ROOT, "awx", "vars", "tgops.yml"))["tgops_awx_job_templates"]
                  if t["playbook"] == "playbooks/p0_outage.yml")
        yaml.safe_dump(credential_extravars(secrets, p0["credentials"]), handle)
    with open(os.path.join(env, "passwords"), "w", encoding="utf-8") as handle:
        json.dump({"Enter passphrase for .*:\\s*?$": "", "SSH [pP]assword:\\s*?$": ""}, handle)
    shutil.copy(os.path.join(ROOT, ".lab", "ssh", "id_ed25519"), os.path.join(env, "ssh_key"))
    os.chmod(os.path.join(env, "ssh_key"), 0o600)
    with open(os.path.join(env, "envvars"), "w", encoding="utf-8") as handle:
        json.dump({
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(pdd, "requirements_collections"),
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "TGOPS_REPORT_DIR": os.path.join(base, "reports"),
        }, handle)
    with open(os.path.join(env, "settings"), "w", encoding="utf-8") as handle:
        json.dump({"idle_timeout": 300, "job_timeout": 600, "pexpect_timeout": 5, "suppress_ansible_output": False},
                  handle)
    return pdd


def _job_environment():
    """The runner's environment without the lab's Vault password: an AWX checkout has no .lab/vault-pass and
    the job's secrets come from its credentials, so the project's ansible.cfg must start without one."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["PATH"] = os.path.dirname(RUNNER) + os.pathsep + os.environ["PATH"]
    return env


@pytest.fixture(name="job", scope="module")
def fixture_job(tmp_path_factory, secrets_file):
    base = str(tmp_path_factory.mktemp("runner"))
    pdd = private_data_dir(base, secrets_file)
    proc = subprocess.run([RUNNER, "run", pdd, "-p", "playbooks/p0_outage.yml", "--ident", "p0-check",
                           "--cmdline=--check"], capture_output=True, text=True, timeout=600, check=False,
                          env=_job_environment())
    artifacts = os.path.join(pdd, "artifacts", "p0-check")
    return {"proc": proc, "artifacts": artifacts, "pdd": pdd}


def _events(artifacts):
    directory = os.path.join(artifacts, "job_events")
    events = []
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf-8") as handle:
            events.append(json.load(handle))
    return events


def test_job_is_successful(job):
    with open(os.path.join(job["artifacts"], "status"), encoding="utf-8") as handle:
        status = handle.read().strip()
    with open(os.path.join(job["artifacts"], "rc"), encoding="utf-8") as handle:
        rc = handle.read().strip()
    assert (status, rc) == ("successful", "0"), job["proc"].stdout[-3000:]


def test_events_tell_the_job(job):
    events = _events(job["artifacts"])
    kinds = {event["event"] for event in events}
    assert {"playbook_on_start", "playbook_on_play_start", "runner_on_ok", "playbook_on_stats"} <= kinds
    hosts = {event["event_data"].get("host") for event in events if event["event"] == "runner_on_ok"}
    assert {"tgquiz-lab", "toogoodtogo-lab"} <= hosts
    stats = next(event for event in events if event["event"] == "playbook_on_stats")["event_data"]
    assert not stats.get("failures") and not stats.get("dark"), stats
    assert set(stats["ok"]) == {"tgquiz-lab", "toogoodtogo-lab"}
    assert all(event["event_data"].get("playbook") == "playbooks/p0_outage.yml"
               for event in events if event["event"] == "playbook_on_start")
    # The triage really ran on each host (the diagnosis is an event of its own).
    tasks = {event["event_data"].get("task") for event in events if event["event"] == "runner_on_ok"}
    assert any("iagnos" in (task or "") for task in tasks), sorted(t for t in tasks if t)


def test_no_secret_in_any_event(job, secrets_file):
    secrets = _secret_values(secrets_file)
    assert secrets
    leaks = []
    paths = [os.path.join(job["artifacts"], "job_events", name)
             for name in os.listdir(os.path.join(job["artifacts"], "job_events"))]
    paths += [os.path.join(job["artifacts"], name) for name in ("stdout", "command") if
              os.path.exists(os.path.join(job["artifacts"], name))]
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        leaks += [(os.path.basename(path), secret[:4] + "...") for secret in secrets if secret in text]
    assert leaks == []
    assert len(paths) > 10
    # The secrets did reach the job: the extravars file carries them (AWX deletes it after the job).
    with open(os.path.join(job["pdd"], "env", "extravars"), encoding="utf-8") as handle:
        assert secrets_file["tgquiz"]["bot_token"] in handle.read()


def _production_like_site(base, port):
    """inventories/production/ copied, its SSH settings kept as they are, pointed at one lab server."""
    site = os.path.join(base, "site")
    shutil.copytree(os.path.join(ROOT, "inventories", "production"), site)
    hosts = _yaml(os.path.join(site, "hosts.yml"))
    common = hosts["all"]["vars"]
    common.update(ansible_user="root", ansible_become=False,
                  ansible_ssh_private_key_file=os.path.join(ROOT, ".lab", "ssh", "id_ed25519"))
    inventory = {"all": {"vars": common, "hosts": {"lab-server": {"ansible_host": "127.0.0.1", "ansible_port": port}}}}
    with open(os.path.join(site, "hosts.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle)
    return site


def _ping(site, base, *extra):
    # AWX sets ANSIBLE_HOST_KEY_CHECKING=False in every job's environment: the inventory must win over it.
    # A control path of its own: a lab connection's master to the same address would skip the key check.
    env = dict(_job_environment(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(base, "cp"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible"), "-i", os.path.join(site, "hosts.yml"),
                           "all", "-m", "ansible.builtin.ping"] + list(extra), capture_output=True, text=True,
                          timeout=120, check=False, env=env, cwd=ROOT)


@pytest.mark.lane("own")
def test_production_inventory_refuses_an_unknown_host_key(tmp_path):
    """The production inventory's SSH settings, as a job gets them on AWX: a host whose key is not in the
    inventory's known_hosts is unreachable; the same host with its key there (tgops_known_hosts, the path
    awx/configure.yml sets on AWX) answers."""
    site = _production_like_site(str(tmp_path), 2221)
    proc = _ping(site, str(tmp_path))
    assert proc.returncode != 0 and "Host key verification failed" in proc.stdout + proc.stderr, proc.stdout[-2000:]
    # The key, as an operator who checked its fingerprint would add it.
    scan = subprocess.run(["ssh-keyscan", "-p", "2221", "-t", "ed25519", "127.0.0.1"], capture_output=True, text=True,
                          timeout=30, check=True)
    known = tmp_path / "awx_known_hosts"
    known.write_text(scan.stdout)
    proc = _ping(site, str(tmp_path), "-e", "tgops_known_hosts=%s" % known)
    assert proc.returncode == 0 and '"ping": "pong"' in proc.stdout.replace("ping: pong", '"ping": "pong"'), \
        proc.stdout[-2000:] + proc.stderr[-2000:]
