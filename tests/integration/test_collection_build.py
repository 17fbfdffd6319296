"""The Galaxy tarball installs into an empty collections path and its playbooks and roles run from there."""
import glob
import os
import subprocess
import tarfile

import pytest

from conftest import BIN, ROOT, ansible_playbook

pytestmark = pytest.mark.lane("toogoodtogo")


def test_built_collection_installs_and_runs(tmp_path):
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                    str(tmp_path)], cwd=ROOT, check=True, capture_output=True)
    tarballs = glob.glob(str(tmp_path / "tgops-runbooks-*.tar.gz"))
    assert len(tarballs) == 1
    names = tarfile.open(tarballs[0]).getnames()
    assert "plugins/modules/health_check.py" in names and "roles/triage/tasks/main.yml" in names
    assert not [n for n in names if n.startswith(("lab/", ".lab", ".venv", "bench/"))], "build_ignore leaked files"

    dest = tmp_path / "collections"
    # The checkout's own link (ansible.cfg's collections_path) must not count as "already installed".
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force",
                    "-p", str(dest), tarballs[0]], check=True, capture_output=True,
                   env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest)))
    assert (dest / "ansible_collections" / "tgops" / "runbooks" / "MANIFEST.json").exists()

    # Only the installed copy is on the collections path (the checkout's link is not).
    proc = ansible_playbook("tgops.runbooks.p0_outage", "--check", "-l", "toogoodtogo", "-v",
                            env={"ANSIBLE_COLLECTIONS_PATH": str(dest), "TGOPS_REPORT_DIR": str(tmp_path / "r")})
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert "Read the platform's services, health, resources, env, logs, database and Redis" in proc.stdout  # triage ran from the tarball
    assert str(dest) in subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "tgops.runbooks"],
                                       env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest)), cwd=ROOT,
                                       capture_output=True, text=True, check=True).stdout
