"""Each tests/integration/targets/<name>/main.yml is a self-asserting playbook run against the lab."""
import glob
import os

import pytest

from conftest import ROOT, ansible_playbook

TARGETS = sorted(glob.glob(os.path.join(ROOT, "tests", "integration", "targets", "*", "main.yml")))


@pytest.mark.parametrize("target", TARGETS, ids=[os.path.basename(os.path.dirname(t)) for t in TARGETS])
def test_target(target):
    proc = ansible_playbook(target)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "failed=0" in proc.stdout
