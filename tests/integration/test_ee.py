"""The execution environment: ansible-builder makes its build context, the image builds FROM the lab's
Debian base, and P0 runs inside it against the lab through ansible-navigator.

The image build is cached by content hash (scripts/ee.sh): with unchanged sources a second build is a
lookup, so the cost in CI is one cold build per change of the collection or the EE definition.
The EE runs with the host's network (the lab's servers are on 127.0.0.1) and as root (the lab's SSH key
is root's, 0600); the checkout is mounted by ansible-navigator at its own path, so the inventory's key
path and the vault password file resolve inside the container. ANSIBLE_COLLECTIONS_PATH makes the
playbook use the collection installed in the image, not the checkout's.
"""
import json
import os
import re
import subprocess
import time

import pytest
import yaml

pytestmark = pytest.mark.lane("own")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, ".venv", "bin")
ENV = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))


def _run(argv, timeout=1800):
    if argv[:2] == ["bash", "scripts/ee.sh"]:
        # scripts/ee.sh stages into fixed directories under .build: the lanes that use the image take turns.
        argv = ["flock", os.path.join(ROOT, ".build", "ee.lock")] + argv
        os.makedirs(os.path.join(ROOT, ".build"), exist_ok=True)
    return subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout, check=False)


def test_builder_creates_the_context():
    proc = _run(["bash", "scripts/ee.sh", "create"], timeout=300)
    assert proc.returncode == 0, proc.stderr
    context = os.path.join(ROOT, proc.stdout.strip().splitlines()[-1])
    with open(os.path.join(context, "Dockerfile"), encoding="utf-8") as handle:
        dockerfile = handle.read()
    assert 'ARG EE_BASE_IMAGE="tgops-lab/base:bookworm"' in dockerfile
    assert 'ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="--no-deps"' in dockerfile
    assert "ansible-core==2.19.14" in dockerfile and "ansible-runner==" in dockerfile
    requirements = yaml.safe_load(open(os.path.join(context, "_build", "requirements.yml"), encoding="utf-8"))
    assert requirements["collections"][0]["type"] == "file"
    assert os.path.exists(os.path.join(context, "_build", "files", "tgops-runbooks.tar.gz"))
    with open(os.path.join(context, "_build", "requirements.txt"), encoding="utf-8") as handle:
        assert "ansible==12.3.0" in handle.read()


def test_introspection_reads_the_collection_ee_metadata():
    """ansible-builder finds meta/execution-environment.yml in the collection and its dependency files."""
    proc = _run([os.path.join(BIN, "ansible-builder"), "introspect", os.path.join(ROOT, ".collections")], timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"cryptography>=41\.0\s+# from collection tgops\.runbooks", proc.stdout), proc.stdout
    assert re.search(r"openssh-client \[platform:dpkg\]\s+# from collection tgops\.runbooks", proc.stdout), proc.stdout


def test_content_hash_is_stable():
    first = _run(["bash", "scripts/ee.sh", "image"], timeout=300)
    second = _run(["bash", "scripts/ee.sh", "image"], timeout=300)
    assert first.returncode == second.returncode == 0
    assert re.fullmatch(r"tgops-runbooks-ee:[0-9a-f]{16}", first.stdout.strip())
    assert first.stdout == second.stdout


@pytest.fixture(name="image", scope="module")
def fixture_image():
    started = time.monotonic()
    proc = _run(["bash", "scripts/ee.sh", "build"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    image = proc.stdout.strip().splitlines()[-1]
    print("EE build: %.1f s (%s)" % (time.monotonic() - started, "cached" if "not rebuilt" in proc.stderr else "built"))
    return image


def test_image_has_the_collection_and_its_dependencies(image):
    # As root, as P0 runs below: without the builder's entrypoint, uid 1000 has no passwd entry and no
    # writable HOME for ansible's local temp dir.
    proc = subprocess.run(["docker", "run", "--rm", "--user", "0", "--entrypoint", "", image, "bash", "-c",
                           "ansible-galaxy collection list --format json; python3 -c 'import cryptography'; "
                           "command -v ssh ansible-runner"], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    listing = json.loads(proc.stdout[:proc.stdout.rindex("}") + 1])
    found = {name for path in listing.values() for name in path}
    assert {"tgops.runbooks", "community.docker", "community.general", "community.postgresql"} <= found


@pytest.mark.lane("both")
def test_p0_runs_in_the_ee_against_the_lab(image, tmp_path):
    started = time.monotonic()
    proc = _run([os.path.join(BIN, "ansible-navigator"), "run", "playbooks/p0_outage.yml", "--check",
                 "--ee", "true", "--eei", image, "--pull-policy", "never", "--ce", "docker", "--mode", "stdout",
                 "--pae", "false", "--lf", str(tmp_path / "navigator.log"),
                 "--co=--net=host", "--co=--user=0",
                 "--senv", "ANSIBLE_COLLECTIONS_PATH=/usr/share/ansible/collections",
                 "--senv", "TGOPS_REPORT_DIR=/tmp/reports",
                 # The lab's Vault password file, inside the checkout that navigator mounts at its own path.
                 "--penv", "ANSIBLE_VAULT_PASSWORD_FILE"], timeout=900)
    print("P0 --check in the EE: %.1f s" % (time.monotonic() - started))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    recap = dict(re.findall(r"^(\S+)\s+: (ok=.*)$", out, re.M))
    assert set(recap) == {"tgquiz-lab", "toogoodtogo-lab"}, out[-3000:]
    assert all("unreachable=0" in line and "failed=0" in line for line in recap.values()), recap
