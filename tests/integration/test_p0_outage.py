"""playbooks/p0_outage.yml against the lab: a real outage is diagnosed, fixed, verified and reported;
check mode changes nothing; on a healthy lab a second run changes nothing but the report."""
import glob
import json
import os

import requests

from conftest import ansible_playbook, changed_tasks, compose, wait_health

REPORT_TASKS = {"Create the report directory", "Write the incident report"}


def running(platform, service):
    out = compose(platform, "ps --status running --services").stdout.split()
    return service in out


def test_p0_check_mode_diagnoses_without_changing(tmp_path):
    compose("tgquiz", "stop backend-api")
    try:
        proc = ansible_playbook("playbooks/p0_outage.yml", "--check", "-l", "tgquiz",
                                env={"TGOPS_REPORT_DIR": str(tmp_path)}, json_output=True)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        result = json.loads(proc.stdout)
        # It says what it would do: start the stopped service.
        assert "Say which services a real run would start" in changed_tasks(result)
        assert "service backend-api is exited" in proc.stdout
        assert not running("tgquiz", "backend-api"), "check mode started a service"
        assert not list(tmp_path.iterdir()), "check mode wrote a report"
    finally:
        compose("tgquiz", "start backend-api")
        wait_health("tgquiz")


def test_p0_fixes_a_stopped_service_and_reports(tmp_path):
    compose("tgquiz", "stop backend-api")
    assert not running("tgquiz", "backend-api")
    proc = ansible_playbook("playbooks/p0_outage.yml", env={"TGOPS_REPORT_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    status, body = wait_health("tgquiz", timeout=5)
    assert status == 200 and body["status"] == "healthy"
    assert requests.get("http://127.0.0.1:8000/health", timeout=5).json()["status"] == "healthy"

    reports = {os.path.basename(p): open(p).read() for p in glob.glob(str(tmp_path / "*.md"))}
    tgquiz = [text for name, text in reports.items() if "-p0-tgquiz-lab-" in name]
    other = [text for name, text in reports.items() if "-p0-toogoodtogo-lab-" in name]
    assert len(tgquiz) == 1 and len(other) == 1, reports.keys()
    report = tgquiz[0]
    assert "**Status:** Resolved" in report
    assert "service backend-api is exited" in report
    assert "Started backend-api (docker compose up -d)" in report
    assert "Services impacted: backend-api" in report
    assert "Automated triage found nothing wrong." in other[0] and "No action taken." in other[0]


def test_p0_on_a_healthy_lab_changes_nothing_but_the_report(tmp_path):
    wait_health("tgquiz")
    wait_health("toogoodtogo")
    proc = ansible_playbook("playbooks/p0_outage.yml", env={"TGOPS_REPORT_DIR": str(tmp_path)}, json_output=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert set(changed_tasks(result)) <= REPORT_TASKS, changed_tasks(result)
    assert all(s["failures"] == 0 and s["unreachable"] == 0 for s in result["stats"].values())
