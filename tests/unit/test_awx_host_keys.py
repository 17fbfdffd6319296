"""SSH host keys are checked everywhere but in the lab (issue 17).

ansible.cfg turns no check off (neither Ansible's host_key_checking nor OpenSSH's StrictHostKeyChecking /
UserKnownHostsFile), and the production and staging inventories (the ones AWX imports, awx/vars/tgops.yml)
check each host's key against their own known_hosts file, with ansible_host_key_checking set so that AWX's
ANSIBLE_HOST_KEY_CHECKING=False cannot turn it off. Only the lab's generated inventory skips the check.
tests/integration/test_ansible_runner.py::test_production_inventory_refuses_an_unknown_host_key proves the
same settings against a lab server.
"""
import configparser
import importlib.util
import os
import re

import pytest

import test_awx_surveys as surveys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKED = ("production", "staging")
# What turns OpenSSH's check off or makes it meaningless (accept-new trusts a first key from anyone).
OFF = re.compile(r"StrictHostKeyChecking\s*=?\s*(no|off|accept-new)|UserKnownHostsFile\s*=?\s*/dev/null|"
                 r"GlobalKnownHostsFile\s*=?\s*/dev/null", re.I)
FALSE = ("false", "no", "0", "off", "n", "f")
_load = surveys._load  # Ansible's YAML (!unsafe, !vault) read as test_awx_surveys reads it


def _inventory_vars(name):
    """Every variable the inventory sets, at any level: hosts.yml (all, groups, hosts) and group_vars/."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, (str, bool, int)):
                    found.append((where, key, value))
                walk(value, where)

    directory = os.path.join(ROOT, "inventories", name)
    for dirpath, _dirs, files in os.walk(directory):
        for file_name in files:
            if file_name.endswith((".yml", ".yaml")):
                path = os.path.join(dirpath, file_name)
                walk(_load(path), os.path.relpath(path, ROOT))
    return found


def test_ansible_cfg_turns_no_host_key_check_off():
    cfg = configparser.ConfigParser(interpolation=None)
    assert cfg.read(os.path.join(ROOT, "ansible.cfg"))
    for section in cfg.sections():
        value = cfg.get(section, "host_key_checking", fallback="true")
        assert value.strip().lower() not in FALSE, (section, value)
        for key in ("ssh_args", "ssh_common_args", "ssh_extra_args", "scp_extra_args", "sftp_extra_args"):
            assert not OFF.search(cfg.get(section, key, fallback="")), (section, key)
    # The connection reuse stays (P0's timing relies on it).
    assert "ControlPersist" in cfg.get("ssh_connection", "ssh_args")


@pytest.mark.parametrize("name", CHECKED)
def test_inventory_turns_no_host_key_check_off(name):
    settings = _inventory_vars(name)
    assert settings
    for where, key, value in settings:
        if key in ("ansible_host_key_checking", "ansible_ssh_host_key_checking"):
            assert str(value).strip().lower() not in FALSE, (where, key, value)
        if isinstance(value, str):
            assert not OFF.search(value), (where, key, value)


@pytest.mark.parametrize("name", CHECKED)
def test_inventory_checks_keys_against_its_known_hosts(name):
    """Explicitly on, so AWX's ANSIBLE_HOST_KEY_CHECKING=False (an environment variable, which inventory
    variables override) cannot turn it off, and strict against the inventory's own known_hosts file."""
    common = _load(os.path.join(ROOT, "inventories", name, "hosts.yml"))["all"]["vars"]
    assert common["ansible_host_key_checking"] is True
    args = common["ansible_ssh_common_args"]
    assert re.search(r"StrictHostKeyChecking=yes\b", args), args
    assert re.search(r"UserKnownHostsFile=\"\{\{ tgops_known_hosts \| default\(inventory_dir ~ '/known_hosts'\) \}\}\"",
                     args), args
    assert os.path.isfile(os.path.join(ROOT, "inventories", name, "known_hosts"))


def test_awx_inventories_name_their_known_hosts():
    """AWX renders an inventory outside the project (inventory_dir is the job's, not the project's): each
    inventory it imports is given the path of the project's known_hosts file."""
    awx = _load(os.path.join(ROOT, "awx", "vars", "tgops.yml"))
    for inventory in awx["tgops_awx_inventories"]:
        directory = os.path.dirname(inventory["source_path"])
        assert inventory["variables"]["tgops_known_hosts"] == \
            "{{ playbook_dir | dirname }}/%s/known_hosts" % directory, inventory
        assert os.path.basename(directory) in CHECKED


def test_the_lab_inventory_writer_skips_the_check_for_the_lab_only(tmp_path, monkeypatch):
    """lab/state.py's inventory writer: the generated lab inventory is where the check is off (its servers are
    containers on this machine that make new host keys each time they are created)."""
    spec = importlib.util.spec_from_file_location("lab_state", os.path.join(ROOT, "lab", "state.py"))
    state = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(state)
    monkeypatch.setattr(state, "INV", str(tmp_path / "inventory"))
    monkeypatch.setattr(state, "STATE", str(tmp_path / "state"))
    monkeypatch.setattr(state, "run", lambda argv, **kw: None)  # no ansible-vault here
    state.inventory("/k/id_ed25519", {"tgquiz": {"bot_token": "x"}})
    common = _load(str(tmp_path / "inventory" / "hosts.yml"))["all"]["vars"]
    assert common["ansible_host_key_checking"] is False
    assert common["ansible_ssh_common_args"] == "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
