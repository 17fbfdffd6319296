"""playbooks/p0_outage.yml against the lab: a real outage is diagnosed, fixed, verified (on the host and
through nginx) and reported; check mode changes nothing and waits for nothing, and fails the host (saying what a
real run would do) when a service is down or unhealthy; on a healthy lab a second run changes nothing but the
report; secrets in log lines never reach the report."""
import contextlib
import glob
import json
import os
import subprocess

import pytest
import requests

from conftest import REPORT_TASKS, ROOT, STATE, ansible_playbook, changed_tasks, compose, ssh, wait_health

pytestmark = pytest.mark.lane("tgquiz")

PUBLIC = {"tgquiz": "https://127.0.0.1:18443/health", "toogoodtogo": "https://127.0.0.1:28443/health"}
TELEGRAM = "http://127.0.0.1:18081"


def running(platform, service):
    out = compose(platform, "ps --status running --services").stdout.split()
    return service in out


def container(platform, service):
    return compose(platform, "ps -q %s" % service).stdout.strip()


def public_platform(platform):
    """Which platform answers the public URL (the app's /health names it)."""
    r = requests.get(PUBLIC[platform], verify=os.path.join(STATE, "ca", "ca.crt"), timeout=5)
    return r.status_code, r.json().get("platform")


def task_results(result, name):
    """Per-host results of the task called ``name`` (json callback)."""
    for play in result["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].split(" : ")[-1] == name:
                return task["hosts"]
    return {}


def reports_in(directory):
    return {os.path.basename(p): open(p).read() for p in glob.glob(os.path.join(str(directory), "*.md"))}


@contextlib.contextmanager
def redis_refusing_tgquiz():
    """tgquiz's Redis asks for a password the app does not have: /health says degraded (Redis is not critical)."""
    redis = container("tgquiz", "redis")
    subprocess.run(["docker", "exec", redis, "redis-cli", "CONFIG", "SET", "requirepass", "p0-redis-test"],
                   check=True, capture_output=True)
    # Connections made before the password stay authenticated: drop them so the app must reconnect.
    subprocess.run(["docker", "exec", redis, "redis-cli", "-a", "p0-redis-test", "--no-auth-warning",
                    "CLIENT", "KILL", "TYPE", "normal"], check=True, capture_output=True)
    try:
        wait_health("tgquiz", want="degraded", timeout=30)
        yield
    finally:
        subprocess.run(["docker", "exec", redis, "redis-cli", "-a", "p0-redis-test", "--no-auth-warning",
                        "CONFIG", "SET", "requirepass", ""], check=True, capture_output=True)
        wait_health("tgquiz")


def test_p0_check_mode_diagnoses_without_changing(tmp_path):
    compose("tgquiz", "stop backend-api")
    try:
        proc = ansible_playbook("playbooks/p0_outage.yml", "--check", "-l", "tgquiz",
                                env={"TGOPS_REPORT_DIR": str(tmp_path)}, json_output=True)
        # A dead service fails the host in check mode too: the AWX workflow's triage node goes by the exit status.
        assert proc.returncode == 2, proc.stdout[-4000:] + proc.stderr[-2000:]
        result = json.loads(proc.stdout)
        # It says what it would do: start the stopped service; the lab's nginx re-resolves the app through
        # Docker's DNS (platform_proxy_resolves_upstream), so no reload is planned.
        assert "Say which services a real run would start" in changed_tasks(result)
        plan = task_results(result, "Say what a real run does")["tgquiz-lab"]["msg"]
        assert plan["start"] == ["backend-api"] and plan["reload_proxy"] is False
        assert "service backend-api is exited" in proc.stdout
        failed = task_results(result, "Fail when the service is down or unhealthy (check mode), saying what a real "
                                      "run would do")["tgquiz-lab"]
        assert failed.get("failed") and "tgquiz is down or unhealthy (check mode, nothing changed)" in failed["msg"]
        assert "A real run would: start backend-api; wait for health" in failed["msg"], failed["msg"]
        assert not running("tgquiz", "backend-api"), "check mode started a service"
        assert not list(tmp_path.iterdir()), "check mode wrote a report"
    finally:
        compose("tgquiz", "start backend-api")
        wait_health("tgquiz")


def test_p0_check_mode_on_a_running_but_unhealthy_app_waits_for_nothing(tmp_path):
    """The app runs, but Redis refuses it (NOAUTH, so /health says degraded): check mode plans the quick
    restart and polls nothing."""
    with redis_refusing_tgquiz():
        proc = ansible_playbook("playbooks/p0_outage.yml", "--check", "-l", "tgquiz",
                                env={"TGOPS_REPORT_DIR": str(tmp_path)}, json_output=True)
        assert proc.returncode == 2, proc.stdout[-4000:] + proc.stderr[-2000:]
        result = json.loads(proc.stdout)
        plan = task_results(result, "Say what a real run does")["tgquiz-lab"]["msg"]
        assert plan["start"] == [] and plan["restart"] == ["backend-api", "telegram-bot"]
        failed = task_results(result, "Fail when the service is down or unhealthy (check mode), saying what a real "
                                      "run would do")["tgquiz-lab"]
        assert "answers degraded" in failed["msg"] and "restart backend-api, telegram-bot" in failed["msg"], failed
        acting = task_results(result, "Act, then wait for health")["tgquiz-lab"]
        assert acting.get("skipped"), "the acting half ran in check mode: %s" % acting
        assert "Redis PING failed" in proc.stdout


# Check mode on a healthy lab exits 0 (the AWX workflow's triage node succeeds and the workflow ends): the README's
# `ansible-playbook playbooks/p0_outage.yml --check`, run as written by test_readme.py, asserts it.


def test_p0_fails_the_host_when_the_service_is_not_back(tmp_path):
    """Redis refuses the app (/health degraded) and the quick restart is not allowed: nothing is done, so
    the host fails with what is wrong, and the report says Investigating."""
    with redis_refusing_tgquiz():
        proc = ansible_playbook("playbooks/p0_outage.yml", "-l", "tgquiz", "-e", "p0_allow_restart=false",
                                env={"TGOPS_REPORT_DIR": str(tmp_path)})
        assert proc.returncode != 0, proc.stdout[-4000:]
        assert "tgquiz is not healthy after the P0 playbook: http://127.0.0.1:18000/health answers degraded" \
            in proc.stdout, proc.stdout[-4000:]
        (report,) = reports_in(tmp_path).values()
        assert "**Status:** Investigating" in report and "No action taken." in report, report


def incident_channel(secrets_file, platform):
    """The control URL of what the platform's bot posted (the lab's incident channel is posted to by it)."""
    bot_id = secrets_file[platform]["bot_token"].split(":")[0]
    return "%s/_control/bots/%s/sent" % (TELEGRAM, bot_id)


@pytest.mark.lane("both")
def test_p0_fixes_a_stopped_service_and_reports(tmp_path, secrets_file):
    compose("tgquiz", "stop backend-api")
    assert not running("tgquiz", "backend-api")
    requests.delete(incident_channel(secrets_file, "tgquiz"), timeout=5).raise_for_status()
    # As for an nginx with a static upstream (resolved once, at start): a restarted app needs the reload.
    proc = ansible_playbook("playbooks/p0_outage.yml", "-e", "platform_proxy_resolves_upstream=false",
                            env={"TGOPS_REPORT_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    status, body = wait_health("tgquiz", timeout=5)
    assert status == 200 and body["status"] == "healthy"
    assert public_platform("tgquiz") == (200, "tgquiz")

    reports = reports_in(tmp_path)
    tgquiz = [text for name, text in reports.items() if "-p0-tgquiz-lab-" in name]
    other = [text for name, text in reports.items() if "-p0-toogoodtogo-lab-" in name]
    assert len(tgquiz) == 1 and len(other) == 1, reports.keys()
    report = tgquiz[0]
    assert "**Status:** Resolved" in report
    assert "service backend-api is exited" in report
    assert "- Started backend-api (docker compose up -d)" in report
    assert "- Reloaded nginx (nginx -s reload)" in report
    assert "UTC - Started backend-api (docker compose up -d)" in report, "actions belong in the timeline"
    assert "Services impacted: backend-api" in report
    assert "and https://127.0.0.1:18443/health" in report, "the public URL was not verified"
    # The healthy platform is left alone (its report may still list observations, such as old ERROR lines).
    assert "**Status:** Resolved" in other[0] and "No action taken." in other[0]

    # The incident channel heard "acknowledged" first, then the outcome; no secret of the platform went there.
    posted = [m for m in requests.get(incident_channel(secrets_file, "tgquiz"), timeout=5).json()["messages"]
              if m["chat_id"] == "-1001000000001"]
    assert len(posted) == 2, posted
    assert posted[0]["text"].startswith("[P0] tgquiz-lab (tgquiz): acknowledged by "), posted
    assert "Resolved." in posted[1]["text"] and "Started backend-api" in posted[1]["text"], posted
    assert "Report: %s/" % tmp_path in posted[1]["text"], posted
    for message in posted:
        for secret in secrets_file["tgquiz"].values():
            assert not (isinstance(secret, str) and len(secret) >= 8 and secret in message["text"])


@pytest.mark.lane("both")
def test_p0_after_both_apps_are_killed_each_public_url_serves_its_own_platform(tmp_path):
    """The drill that once left each nginx proxying to the other platform's app: verified on the public path.
    One P0 run: the mix-up showed only after some kill cycles, which test_lab_network.py repeats four times
    (new addresses included) without P0, and bench/p0_bench.py drill more."""
    apps = [container("tgquiz", "backend-api"), container("toogoodtogo", "bot")]
    subprocess.run(["docker", "kill"] + apps, check=True, capture_output=True)
    proc = ansible_playbook("playbooks/p0_outage.yml", env={"TGOPS_REPORT_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert public_platform("tgquiz") == (200, "tgquiz")
    assert public_platform("toogoodtogo") == (200, "toogoodtogo")
    assert len(reports_in(tmp_path)) == 2, reports_in(tmp_path).keys()
    for text in reports_in(tmp_path).values():
        assert "**Status:** Resolved" in text
        # The lab's nginx found each restarted app through Docker's DNS: P0 had no reason to reload it.
        assert "Reloaded nginx" not in text, text


def test_p0_masks_secrets_in_log_lines_and_finds_a_leftover_webhook(tmp_path, secrets_file):
    """Two faults, one run: a token in the app's log, and a webhook left on a polling bot (getUpdates 409)."""
    token = secrets_file["tgquiz"]["bot_token"]
    bot = container("tgquiz", "telegram-bot")
    # A line on the app's own stdout, as a careless exception handler would log it.
    ssh("tgquiz", "docker exec %s sh -c 'echo \"ERROR getMe failed for https://api.telegram.org/bot%s/getMe\" "
        "> /proc/1/fd/1'" % (bot, token))
    r = requests.post("%s/bot%s/setWebhook" % (TELEGRAM, token), data={"url": "https://tgquiz.lab/leftover"}, timeout=5)
    assert r.json()["ok"], r.text
    try:
        proc = ansible_playbook("playbooks/p0_outage.yml", "-l", "tgquiz", env={"TGOPS_REPORT_DIR": str(tmp_path)})
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    finally:
        requests.post("%s/bot%s/deleteWebhook" % (TELEGRAM, token), timeout=5)
    assert token not in proc.stdout + proc.stderr
    (report,) = reports_in(tmp_path).values()
    assert token not in report
    assert "telegram-bot | ERROR getMe failed for https://api.telegram.org/bot********/getMe" in report
    assert "Telegram: " in report and "https://tgquiz.lab/leftover" in report, report


@pytest.mark.lane("toogoodtogo")
def test_p0_writes_its_report_under_the_current_directory_by_default(tmp_path):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("TGOPS_REPORT_DIR", None)
    env["PWD"] = str(tmp_path)
    proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"),
                           os.path.join(ROOT, "playbooks", "p0_outage.yml"), "-l", "toogoodtogo"],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    written = reports_in(tmp_path / "reports")
    assert len(written) == 1, proc.stdout[-3000:]
    assert "Incident report: %s/reports/" % tmp_path in proc.stdout


@pytest.mark.lane("both")
def test_p0_on_a_healthy_lab_changes_nothing_but_the_report(tmp_path):
    wait_health("tgquiz")
    wait_health("toogoodtogo")
    proc = ansible_playbook("playbooks/p0_outage.yml", env={"TGOPS_REPORT_DIR": str(tmp_path)}, json_output=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert set(changed_tasks(result)) <= REPORT_TASKS, changed_tasks(result)
    # Nothing was done, so nothing was awaited: triage's probes were the verification.
    acting = task_results(result, "Act, then wait for health")
    assert set(acting) == {"tgquiz-lab", "toogoodtogo-lab"} and all(r.get("skipped") for r in acting.values()), acting
    assert all(s["failures"] == 0 and s["unreachable"] == 0 for s in result["stats"].values())
