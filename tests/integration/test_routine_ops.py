"""Routine operations against the lab: service management round trip, Redis clearing by pattern, the
statistics report with the database's real counts."""
import glob
import json
import os
import subprocess

import psycopg2
import pytest

from conftest import ansible_playbook, wait_health

pytestmark = pytest.mark.lane("tgquiz")

DB = {"tgquiz": {"port": 15432, "dbname": "tgquiznft_prod", "user": "postgres"}}


def redis(*args):
    container = subprocess.run(["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=tgquiz",
                                "--filter", "label=com.docker.compose.service=redis"],
                               capture_output=True, text=True, check=True).stdout.split()[0]
    return subprocess.run(["docker", "exec", "-i", container, "redis-cli"] + list(args),
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.lane("toogoodtogo")
def test_service_status_stop_start_round_trip_on_toogoodtogo():
    status = ansible_playbook("playbooks/service.yml", "-l", "toogoodtogo", "-e", "service_action=status", timeout=300)
    assert status.returncode == 0 and "changed=0" in status.stdout, status.stdout[-3000:]
    assert "'bot': running" in status.stdout.replace('"', "'") or "bot: running" in status.stdout

    refused = ansible_playbook("playbooks/service.yml", "-l", "toogoodtogo", "-e", "service_action=stop", timeout=300)
    assert refused.returncode != 0 and "service_stop_confirm=toogoodtogo" in refused.stdout
    wait_health("toogoodtogo", timeout=10)

    try:
        stop = ansible_playbook("playbooks/service.yml", "-l", "toogoodtogo", "-e", "service_action=stop",
                                "-e", "service_stop_confirm=toogoodtogo", timeout=600)
        assert stop.returncode == 0, stop.stdout[-3000:]
        assert "changed=0" not in stop.stdout
    finally:
        start = ansible_playbook("playbooks/service.yml", "-l", "toogoodtogo", "-e", "service_action=start", timeout=900)
    assert start.returncode == 0, start.stdout[-3000:]
    wait_health("toogoodtogo", timeout=120)
    again = ansible_playbook("playbooks/service.yml", "-l", "toogoodtogo", "-e", "service_action=start", timeout=300)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]


def test_redis_clear_deletes_only_matching_keys():
    keys = ["hcheck:quiz:%d" % i for i in range(40)] + ["hcheck:quiz:with space", 'hcheck:quiz:"q"']
    keep = ["hcheck:quizzes:1", "hcheck:user:1", "hcheck:quiz"]
    script = "".join('SET "%s" 1\n' % k.replace('"', '\\"') for k in keys + keep)
    subprocess.run(["docker", "exec", "-i", subprocess.run(
        ["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=tgquiz",
         "--filter", "label=com.docker.compose.service=redis"], capture_output=True, text=True,
        check=True).stdout.split()[0], "redis-cli"], input=script, capture_output=True, text=True, check=True)
    try:
        pattern = ["-e", "redis_clear_pattern=hcheck:quiz:*"]
        refused = ansible_playbook("playbooks/redis_clear.yml", "-l", "tgquiz", *pattern, timeout=300)
        assert refused.returncode != 0 and "redis_clear_confirm=true" in refused.stdout
        dry = ansible_playbook("playbooks/redis_clear.yml", "-l", "tgquiz", *pattern, "--check", timeout=300)
        assert dry.returncode == 0 and "42 keys match" in dry.stdout, dry.stdout[-3000:]
        assert len(redis("--scan", "--pattern", "hcheck:*").split("\n")) > 42
        real = ansible_playbook("playbooks/redis_clear.yml", "-l", "tgquiz", *pattern, "-e", "redis_clear_confirm=true",
                                timeout=300)
        assert real.returncode == 0 and "42 deleted" in real.stdout, real.stdout[-3000:]
        left = sorted(k for k in redis("--scan", "--pattern", "hcheck:*").split("\n") if k)
        assert left == sorted(keep)
        again = ansible_playbook("playbooks/redis_clear.yml", "-l", "tgquiz", *pattern, "-e", "redis_clear_confirm=true",
                                 timeout=300)
        assert again.returncode == 0 and "changed=0" in again.stdout and "0 keys match" in again.stdout
        flush = ansible_playbook("playbooks/redis_clear.yml", "-l", "tgquiz", "-e", "redis_clear_flushall=true",
                                 timeout=300)
        assert flush.returncode != 0 and "redis_clear_flushall_confirm=tgquiz" in flush.stdout
        assert sorted(k for k in redis("--scan", "--pattern", "hcheck:*").split("\n") if k) == sorted(keep)
    finally:
        for k in keys + keep:
            redis("DEL", k)


def test_stats_report_has_the_real_counts(secrets_file, tmp_path):
    d = DB["tgquiz"]
    conn = psycopg2.connect(host="127.0.0.1", port=d["port"], dbname=d["dbname"], user=d["user"],
                            password=secrets_file["tgquiz"]["postgres_password"], connect_timeout=5)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(DISTINCT user_id) FROM quiz_results WHERE completed_at > NOW() - INTERVAL '7 days'")
        active = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*), COUNT(DISTINCT user_id), COUNT(CASE WHEN nft_minted THEN 1 END) FROM quiz_results")
        total, unique, minted = cur.fetchone()
    conn.close()
    assert total > 0, "the lab seed has quiz results"
    proc = ansible_playbook("playbooks/stats_report.yml", "-l", "tgquiz", env={"TGOPS_REPORT_DIR": str(tmp_path)},
                            timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    files = glob.glob(os.path.join(str(tmp_path), "stats_tgquiz-lab_*.json"))
    assert len(files) == 1
    with open(files[0]) as f:
        report = json.load(f)
    stats = report["statistics"]
    assert stats["active_users_7d"]["active_users_7d"] == active
    assert stats["quiz_statistics"]["total_completions"] == total
    assert stats["quiz_statistics"]["unique_users"] == unique
    assert stats["quiz_statistics"]["nfts_minted"] == minted
    check = ansible_playbook("playbooks/stats_report.yml", "-l", "tgquiz", "--check",
                             env={"TGOPS_REPORT_DIR": str(tmp_path / "dry")}, timeout=300)
    assert check.returncode == 0 and not os.path.exists(str(tmp_path / "dry"))
