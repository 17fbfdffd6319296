"""Integration targets in the layout `ansible-test integration` uses: tests/integration/targets/<name>/ with
`aliases`, `tasks/main.yml` and `vars/main.yml`. ansible-test would play a target on its own test host; these
need the lab (their aliases say `unsupported` and name the lab hosts as `lab/hosts/<pattern>`), so this test
plays each target as a role on those hosts, with the lab inventory."""
import glob
import os

import pytest
import yaml

from conftest import ROOT, ansible_playbook

pytestmark = pytest.mark.lane("own")

TARGETS = sorted(os.path.dirname(os.path.dirname(path)) for path in
                 glob.glob(os.path.join(ROOT, "tests", "integration", "targets", "*", "tasks", "main.yml")))


def lab_hosts(target):
    with open(os.path.join(target, "aliases"), encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("lab/hosts/"):
                return line.strip().split("/", 2)[2]
    raise AssertionError("%s/aliases names no lab/hosts/<pattern>" % target)


def test_every_target_is_laid_out_for_ansible_test():
    assert len(TARGETS) >= 6
    for target in TARGETS:
        assert not os.path.exists(os.path.join(target, "main.yml")), "%s: a playbook, not a target" % target
        with open(os.path.join(target, "aliases"), encoding="utf-8") as handle:
            aliases = handle.read().split()
        assert "unsupported" in aliases and "context/controller" in aliases, target


def lane(target):
    """A target on one platform's server is in that platform's lane; one on the controller has its own."""
    pattern = lab_hosts(target)
    return {"tgquiz": "tgquiz", "toogoodtogo": "toogoodtogo", "localhost": "own"}.get(pattern, "both")


@pytest.mark.parametrize("target", [pytest.param(t, marks=pytest.mark.lane(lane(t)), id=os.path.basename(t))
                                    for t in TARGETS])
def test_target(target, tmp_path):
    play = [{"name": "Integration target %s" % os.path.basename(target), "hosts": lab_hosts(target),
             "gather_facts": False, "roles": [{"role": target}]}]
    playbook = tmp_path / "target.yml"
    playbook.write_text(yaml.safe_dump(play), encoding="utf-8")
    proc = ansible_playbook(str(playbook))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "failed=0" in proc.stdout
    assert "ok=0" not in proc.stdout, "the target ran no task"
