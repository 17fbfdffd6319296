"""The AWX P0 workflow (awx/vars/tgops.yml, tgops_awx_p0_workflow) walked on the lab, node by node.

Each job node runs its template's playbook with ansible-runner, as AWX runs a job (the private data
directory of tests/integration/test_ansible_runner.py): check mode for ``job_type: check``, the survey's
defaults with the node's ``extra_data`` over them, the template's credentials injected. The walk follows the
node's success or failure edges (and always edges); an approval node is answered by the test (approved:
success edge; denied: failure edge, as AWX treats a denial). The workflow fails when a node fails and has no
edge to follow on failure, which is how AWX settles a workflow's status.

- On a healthy lab the triage node (P0 in check mode) succeeds and the workflow ends there: no approval.
- On a kill drill (tgquiz's API container killed, the workflow launched with the limit tgquiz), triage fails,
  so the workflow asks before acting; denied, nothing runs and the app stays down; approved, P0 runs for real
  with its rollback off, starts the app, and the workflow ends successful without reaching the rollback
  approval.
"""
import os
import shutil
import subprocess
import time

import pytest
import yaml

from conftest import compose, docker, wait_health
from test_ansible_runner import RUNNER, _job_environment, _yaml, credential_extravars, private_data_dir

pytestmark = pytest.mark.lane("both")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX = _yaml(os.path.join(ROOT, "awx", "vars", "tgops.yml"))
TEMPLATES = {template["name"]: template for template in AWX["tgops_awx_job_templates"]}
WORKFLOW = AWX["tgops_awx_p0_workflow"]
EDGES = {True: ("success_nodes", "always_nodes"), False: ("failure_nodes", "always_nodes")}


def survey_defaults(template):
    """What AWX fills in for questions nobody answers."""
    return {q["variable"]: q["default"] for q in template.get("survey") or [] if "default" in q}


def run_job(pdd, secrets, node, ident, limit=None):
    """One job node, as AWX launches it (with the workflow's launch-time limit, if any): returns (successful,
    extravars the job got)."""
    template = TEMPLATES[node["unified_job_template"]["name"]]
    answers = dict(survey_defaults(template), **(node.get("extra_data") or {}))
    credentials = template["credentials"]
    extravars = dict(credential_extravars(secrets, credentials), **answers)
    with open(os.path.join(pdd, "env", "extravars"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(extravars, handle)
    # env/cmdline, not --cmdline: ansible-runner keeps --cmdline in env/cmdline for every later job.
    cmdline = os.path.join(pdd, "env", "cmdline")
    options = (["--check"] if node.get("job_type") == "check" else []) + (["--limit", limit] if limit else [])
    if options:
        with open(cmdline, "w", encoding="utf-8") as handle:
            handle.write(" ".join(options))
    elif os.path.exists(cmdline):
        os.remove(cmdline)
    argv = [RUNNER, "run", pdd, "-p", template["playbook"], "--ident", ident]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, env=_job_environment())
    with open(os.path.join(pdd, "artifacts", ident, "status"), encoding="utf-8") as handle:
        status = handle.read().strip()
    assert status in ("successful", "failed"), proc.stdout[-3000:]
    return status == "successful", answers, proc.stdout


def walk(pdd, secrets, approve, limit=None):
    """Run the workflow from its root, launched with ``limit`` (the workflow asks for one at launch, as each of
    its job templates does); ``approve(identifier)`` answers each approval node.
    Returns the nodes visited in order as (identifier, outcome, answers) and the workflow's status."""
    nodes = {node["identifier"]: node for node in WORKFLOW["nodes"]}
    targets = {edge["identifier"] for node in nodes.values() for edges in (node.get("related") or {}).values()
               for edge in edges}
    pending = [ident for ident in nodes if ident not in targets]
    visited, failed_leaf, out = [], False, {}
    while pending:
        ident = pending.pop(0)
        node = nodes[ident]
        if node["unified_job_template"]["type"] == "workflow_approval":
            ok, answers = bool(approve(ident)), None
        else:
            ok, answers, out[ident] = run_job(pdd, secrets, node, "%s-%d" % (ident, len(visited)), limit)
        visited.append((ident, ok, answers))
        following = [edge["identifier"] for kind in EDGES[ok] for edge in (node.get("related") or {}).get(kind, [])]
        if not ok and not [e for kind in ("failure_nodes", "always_nodes") for e in (node.get("related") or {}).get(kind, [])]:
            failed_leaf = True
        pending.extend(following)
    return visited, ("failed" if failed_leaf else "successful"), out


@pytest.fixture(name="pdd", scope="module")
def fixture_pdd(tmp_path_factory, secrets_file):
    return private_data_dir(str(tmp_path_factory.mktemp("workflow")), secrets_file)


def test_healthy_lab_ends_at_triage(pdd, secrets_file):
    asked = []
    start = time.monotonic()
    visited, status, out = walk(pdd, secrets_file, lambda ident: asked.append(ident) or True)
    assert [(ident, ok) for ident, ok, _answers in visited] == [("triage", True)], out
    assert asked == [] and status == "successful"
    assert time.monotonic() - start < 60


# Launched for the platform it drills (the workflow's launch-time limit), so it runs in that platform's lane.
@pytest.mark.lane("tgquiz")
def test_kill_drill_asks_then_acts_without_rolling_back(pdd, secrets_file):
    api = compose("tgquiz", "ps -q backend-api").stdout.strip()
    docker("kill", api)
    try:
        # Denied: nothing acts, the workflow fails, the app is still down.
        visited, status, out = walk(pdd, secrets_file, lambda ident: False, limit="tgquiz")
        assert [(ident, ok) for ident, ok, _answers in visited] == [("triage", False), ("approve-p0", False)], out
        assert status == "failed"
        assert "tgquiz is down or unhealthy (check mode, nothing changed)" in out["triage"]
        assert "A real run would: start backend-api" in out["triage"], out["triage"][-3000:]
        assert "toogoodtogo-lab" not in out["triage"], "the limit kept the other platform out"
        assert "backend-api" not in compose("tgquiz", "ps --status running --services").stdout.split()

        # Approved: P0 runs for real with its rollback off, brings the app back, and the walk ends there.
        asked = []
        visited, status, out = walk(pdd, secrets_file, lambda ident: asked.append(ident) or True, limit="tgquiz")
        assert [(ident, ok) for ident, ok, _answers in visited] == [("triage", False), ("approve-p0", True), ("p0", True)], out
        assert asked == ["approve-p0"] and status == "successful"
        assert visited[2][2]["p0_allow_rollback"] == "false"
        assert "backend-api" in compose("tgquiz", "ps --status running --services").stdout.split()
    finally:
        compose("tgquiz", "up -d backend-api")
        wait_health("tgquiz")
    shutil.rmtree(os.path.join(pdd, "artifacts"), ignore_errors=True)
