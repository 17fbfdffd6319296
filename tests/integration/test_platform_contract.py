"""A playbook run against a host whose platform_* variables break the contract stops at its first task: every
problem named, no value shown, nothing else run on the host (tgops.runbooks.platform_contract)."""
import json

import pytest

from conftest import ansible_playbook

pytestmark = pytest.mark.lane("tgquiz")


def test_a_broken_inventory_stops_the_playbook_before_anything_runs(secrets_file, tmp_path):
    password = secrets_file["tgquiz"]["postgres_password"]
    proc = ansible_playbook("playbooks/p1_database.yml", "-l", "tgquiz", "-e", json.dumps({
        "platform_db_port": "fifty", "platform_bot_mode": "push", "platform_app_services": [],
        "platform_db_passwrd": password}), env={"TGOPS_REPORT_DIR": str(tmp_path)}, json_output=True)
    assert proc.returncode != 0
    result = json.loads(proc.stdout)
    ran = [task["task"]["name"] for play in result["plays"] for task in play["tasks"]]
    assert ran == ["Check the platform variables"], ran
    (host,) = result["plays"][0]["tasks"][0]["hosts"].values()
    assert host["failed"] and host["findings"] == [
        "platform_db_port must be of type int, not str",
        "platform_app_services is required and empty",
        "platform_bot_mode must be one of polling, webhook, not 'push'"]
    assert host["warnings"] == ["platform_db_passwrd is not a platform variable (docs/platform-variables.md lists "
                                "them): a typo leaves the one meant at its default"]
    assert password not in proc.stdout + proc.stderr
    assert not list(tmp_path.iterdir()), "no report: nothing happened"
