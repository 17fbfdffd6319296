"""The toogoodtogo runbook's edge cases, each with its real fault injected into the lab."""
import json
import os
import socket
import subprocess

import pytest
import requests

from conftest import HEALTH, REPORT_TASKS, STATE, ansible_playbook, changed_tasks, compose, ssh, wait_health

pytestmark = pytest.mark.lane("toogoodtogo")

ENV_FILE = "/opt/toogoodtogo/deployment/.env.production"


def env_names():
    text = ssh("toogoodtogo", "cat %s" % ENV_FILE).stdout
    return {line.split("=", 1)[0]: line.split("=", 1)[1] for line in text.splitlines() if "=" in line}


@pytest.fixture(name="env_file_kept")
def fixture_env_file_kept():
    """The env file as it was (a copy on the host), put back, and the bot recreated when its variables differ or it
    is unhealthy, whatever the test did (as molecule/env_repair's destroy: the role appends what it puts back, and
    the same lines in another order are the same environment)."""
    ssh("toogoodtogo", "cp -p %s %s.test-orig" % (ENV_FILE, ENV_FILE))
    yield
    if ssh("toogoodtogo", "cmp -s %s %s.test-orig" % (ENV_FILE, ENV_FILE), check=False).returncode != 0:
        lines = "grep -v '^[[:space:]]*$' %s | sort"
        same = ssh("toogoodtogo", '[ "$(%s)" = "$(%s)" ]' % (lines % ENV_FILE, lines % (ENV_FILE + ".test-orig")),
                   check=False).returncode == 0
        ssh("toogoodtogo", "mv %s.test-orig %s" % (ENV_FILE, ENV_FILE))
        if not same or not healthy():
            compose("toogoodtogo", "up -d --force-recreate --no-deps bot")
    ssh("toogoodtogo", "rm -f %s.test-orig %s.*~" % (ENV_FILE, ENV_FILE))
    wait_health("toogoodtogo")


def healthy():
    """True when toogoodtogo's /health says healthy now (no waiting)."""
    try:
        return requests.get(HEALTH["toogoodtogo"], timeout=5).json().get("status") == "healthy"
    except (requests.RequestException, ValueError):
        return False


def test_missing_secret_key_is_named_then_put_back_from_the_vault(tmp_path, secrets_file, env_file_kept):
    """The playbook's side of the fault: what it says and refuses without the confirmation, its exit codes, the report
    and no secret in any output. The role's side - the env file whole again with the vault's value, mode 0600, the
    recreated bot holding SECRET_KEY and healthy, a second run changing nothing, check mode with the confirmation -
    is molecule/env_repair's (its converge, idempotence and verify), on the same fault."""
    secret = secrets_file["toogoodtogo"]["secret_key"]
    assert env_names()["SECRET_KEY"] == secret
    # The fault: SECRET_KEY gone from the env file, and the bot recreated without it (the runbook's symptom:
    # the bot fails to start).
    ssh("toogoodtogo", "sed -i '/^SECRET_KEY=/d' %s" % ENV_FILE)
    compose("toogoodtogo", "up -d --force-recreate --no-deps bot", check=False)
    report_env = {"TGOPS_REPORT_DIR": str(tmp_path)}

    # Without the confirmation: named (never its value), nothing written, the host fails with the way out; in check
    # mode it says the same and exits 0.
    check = ansible_playbook("playbooks/missing_env.yml", "-l", "toogoodtogo", "--check", env=report_env)
    assert check.returncode == 0, check.stdout[-5000:] + check.stderr[-2000:]
    assert "SECRET_KEY can be put back from the vault" in check.stdout
    plain = ansible_playbook("playbooks/missing_env.yml", "-l", "toogoodtogo", env=report_env)
    assert plain.returncode != 0
    assert "Still missing from %s: SECRET_KEY" % ENV_FILE in plain.stdout
    assert "missing_env_restore_confirm=true" in plain.stdout
    assert "SECRET_KEY" not in env_names()

    # Confirmed: the playbook exits 0 and its report says what was found and done (the state it leaves: molecule).
    fixed = ansible_playbook("playbooks/missing_env.yml", "-l", "toogoodtogo",
                             "-e", "missing_env_restore_confirm=true", env=report_env)
    assert fixed.returncode == 0, fixed.stdout[-6000:] + fixed.stderr[-2000:]
    for proc in (check, plain, fixed):
        assert secret not in proc.stdout + proc.stderr
    reports = sorted(tmp_path.glob("*.md"))  # check mode writes none
    assert len(reports) == 2
    last = reports[-1].read_text()
    assert secret not in last
    assert "**Status:** Resolved" in last
    assert "SECRET_KEY is missing from %s (the vault holds it: vault_toogoodtogo_secret_key)" % ENV_FILE in last
    assert "Put SECRET_KEY back into %s from the vault" % ENV_FILE in last


REDIS = "toogoodtogo_redis"


def redis_cli(*args):
    return subprocess.run(["docker", "exec", REDIS, "redis-cli"] + list(args), capture_output=True, text=True,
                          timeout=60, check=True).stdout


def redis_info(field):
    for line in redis_cli("INFO", "memory").splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("INFO memory has no %s" % field)


@pytest.fixture(name="redis_limit_kept")
def fixture_redis_limit_kept():
    """maxmemory put back, and the fill keys gone, whatever the test did."""
    limit = redis_cli("CONFIG", "GET", "maxmemory").split()[1]
    yield
    redis_cli("CONFIG", "SET", "maxmemory", limit)
    redis_cli("EVAL", "for _, k in ipairs(redis.call('KEYS', 'tgops-fill:*')) do redis.call('UNLINK', k) end", "0")
    wait_health("toogoodtogo")


def test_exhausted_redis_is_found_then_relieved_with_flushdb(tmp_path, redis_limit_kept):
    # The fault: a maxmemory just above what Redis uses, then writes until noeviction refuses them (OOM).
    used = int(redis_info("used_memory"))
    redis_cli("CONFIG", "SET", "maxmemory", str(used + 1536 * 1024))
    redis_cli("EVAL", "for i = 1, 4000 do redis.call('SET', 'tgops-fill:' .. i, string.rep('x', 1024)) end", "0")
    assert int(redis_info("used_memory")) >= 0.9 * int(redis_info("maxmemory"))
    assert wait_health("toogoodtogo", want="degraded", timeout=30)[1]["dependencies"]["redis"]["status"] == "unhealthy"
    report_env = {"TGOPS_REPORT_DIR": str(tmp_path)}

    plain = ansible_playbook("playbooks/redis_memory.yml", "-l", "toogoodtogo", env=report_env)
    assert plain.returncode != 0
    assert "with policy noeviction: writes fail with OOM" in plain.stdout
    assert "-e redis_memory_flush_confirm=true" in plain.stdout
    assert int(redis_info("used_memory")) >= 0.9 * int(redis_info("maxmemory")), "nothing may change unconfirmed"

    fixed = ansible_playbook("playbooks/redis_memory.yml", "-l", "toogoodtogo", "-e", "redis_memory_flush_confirm=true",
                             env=report_env)
    assert fixed.returncode == 0, fixed.stdout[-6000:] + fixed.stderr[-2000:]
    assert redis_cli("EXISTS", "tgops-fill:1", "tgops-fill:100").strip() == "0"
    assert wait_health("toogoodtogo", timeout=30)[0] == 200
    last = sorted(tmp_path.glob("*.md"))[-1].read_text()
    assert "**Status:** Resolved" in last
    assert "Flushed Redis database 0 (" in last and "Long term: raise maxmemory" in last

    again = ansible_playbook("playbooks/redis_memory.yml", "-l", "toogoodtogo", "-e", "redis_memory_flush_confirm=true",
                             env=report_env, json_output=True)
    assert again.returncode == 0, again.stdout[-4000:]
    assert set(changed_tasks(json.loads(again.stdout))) <= REPORT_TASKS


def test_an_unreachable_bot_api_is_named_from_the_host(tmp_path):
    # The fault: the Bot API black-holed (connections open, nothing answers). A listening socket that never
    # accepts is that: the kernel completes the handshake and the request waits. It stands in for the shared
    # emulator (pausing it would black-hole the other platform's lane too); the servers share the machine's network.
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    url = "http://127.0.0.1:%d" % hole.getsockname()[1]
    try:
        proc = ansible_playbook("playbooks/network.yml", "-l", "toogoodtogo", "-e", "platform_telegram_api_url=" + url,
                                env={"TGOPS_REPORT_DIR": str(tmp_path)})
    finally:
        hole.close()
    assert proc.returncode != 0
    assert "%s: no answer within 5.0 seconds (timeout) - the host cannot reach it" % url in proc.stdout
    (report,) = [p.read_text() for p in tmp_path.glob("*.md")]
    assert "**Status:** Investigating" in report and "the host cannot reach it" in report
    assert "firewall: " in report
    # Reachable again: the same playbook passes and changes nothing but the report.
    again = ansible_playbook("playbooks/network.yml", "-l", "toogoodtogo", env={"TGOPS_REPORT_DIR": str(tmp_path)},
                             json_output=True)
    assert again.returncode == 0, again.stdout[-4000:]
    assert set(changed_tasks(json.loads(again.stdout))) <= REPORT_TASKS


def test_a_stopped_proxy_is_started_and_the_public_url_verified(tmp_path):
    compose("toogoodtogo", "stop nginx")
    proc = ansible_playbook("playbooks/network.yml", "-l", "toogoodtogo", env={"TGOPS_REPORT_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    (report,) = [p.read_text() for p in tmp_path.glob("*.md")]
    assert "**Status:** Resolved" in report and "Services impacted: nginx" in report
    public = requests.get("https://127.0.0.1:28443/health", verify=os.path.join(STATE, "ca", "ca.crt"), timeout=10)
    assert public.status_code == 200 and public.json()["platform"] == "toogoodtogo"
