"""A fresh lab is healthy by the checks the playbooks make: the webhook bot's webhook is set as the
platform's deploy sets it; and the off-site backup copy has a real S3 API to go to, usable from the
servers where backups are made (amazon.aws.s3_object: put, list, get, byte-identical)."""
import json
import textwrap

import pytest
import requests

from conftest import ansible_playbook, changed_tasks

pytestmark = pytest.mark.lane("both")

TELEGRAM = "http://127.0.0.1:18081"


def test_the_webhook_bot_has_its_webhook_set_without_errors(secrets_file):
    s = secrets_file["toogoodtogo"]
    info = requests.get(TELEGRAM + "/bot%s/getWebhookInfo" % s["bot_token"], timeout=5).json()
    assert info["ok"] is True, info
    result = info["result"]
    assert result["url"] == "https://toogoodtogo.lab/webhook/telegram", result
    assert "last_error_message" not in result and "last_error_date" not in result, result
    assert result["pending_update_count"] == 0, result


# Each platform's half first in its lane, beside the other (test_lab_baseline.py opens each lane): the servers'
# plays limited to the platform's server; the emulators' and the bucket's (localhost) with tgquiz's half.
@pytest.mark.parametrize("platform, limit", [("tgquiz", "tgquiz-lab,localhost"), ("toogoodtogo", "toogoodtogo-lab")])
def test_provisioning_a_second_time_changes_nothing(platform, limit):
    proc = ansible_playbook("lab/provision.yml", "-l", limit, json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert set(result["stats"]) == set(limit.split(",")), result["stats"]
    assert changed_tasks(result) == []


def test_the_polling_bot_has_no_webhook(secrets_file):
    info = requests.get(TELEGRAM + "/bot%s/getWebhookInfo" % secrets_file["tgquiz"]["bot_token"], timeout=5).json()
    assert info["ok"] is True and info["result"]["url"] == "", info


ROUND_TRIP = textwrap.dedent("""\
    - hosts: all
      gather_facts: false
      module_defaults:
        group/amazon.aws.aws:
          endpoint_url: "{{ lab_s3_endpoint_url }}"
          region: "{{ lab_s3_region }}"
          access_key: "{{ vault_s3_access_key }}"
          secret_key: "{{ vault_s3_secret_key }}"
      vars:
        key: "lab-test/{{ inventory_hostname }}/{{ stamp }}.bin"
      tasks:
        - name: A file of random bytes on the server
          ansible.builtin.shell: head -c 1048577 /dev/urandom > /tmp/s3-round-trip.bin
          changed_when: true
        - name: Put
          amazon.aws.s3_object:
            bucket: "{{ lab_s3_bucket }}"
            object: "{{ key }}"
            src: /tmp/s3-round-trip.bin
            mode: put
          register: put
        - name: List
          amazon.aws.s3_object:
            bucket: "{{ lab_s3_bucket }}"
            prefix: "lab-test/{{ inventory_hostname }}/"
            mode: list
          register: listed
        - name: Get
          amazon.aws.s3_object:
            bucket: "{{ lab_s3_bucket }}"
            object: "{{ key }}"
            dest: /tmp/s3-round-trip.back
            mode: get
        - name: Checksums
          ansible.builtin.stat:
            path: "{{ item }}"
            checksum_algorithm: sha256
          loop: [/tmp/s3-round-trip.bin, /tmp/s3-round-trip.back]
          register: sums
        - name: Report
          ansible.builtin.debug:
            msg:
              put_changed: "{{ put.changed }}"
              listed: "{{ listed.s3_keys }}"
              key: "{{ key }}"
              sums: "{{ sums.results | map(attribute='stat.checksum') | list }}"
              sizes: "{{ sums.results | map(attribute='stat.size') | list }}"
    """)


@pytest.mark.lane("own")
def test_s3_round_trip_from_the_servers(tmp_path):
    playbook = tmp_path / "s3.yml"
    playbook.write_text(ROUND_TRIP)
    proc = ansible_playbook(str(playbook), "-e", "stamp=%d" % id(tmp_path), json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    report = [t for t in result["plays"][0]["tasks"] if t["task"]["name"] == "Report"][0]["hosts"]
    assert set(report) == {"tgquiz-lab", "toogoodtogo-lab"}
    for host, res in report.items():
        msg = res["msg"]
        assert msg["put_changed"] is True, (host, msg)
        assert msg["key"] in msg["listed"], (host, msg)
        assert msg["sizes"] == [1048577, 1048577], (host, msg)
        assert msg["sums"][0] == msg["sums"][1], (host, msg)


@pytest.mark.parametrize("path", ["/", "/tgops-lab-backups"])
@pytest.mark.lane("own")
def test_the_s3_server_answers_on_loopback(path):
    r = requests.get("http://127.0.0.1:19000" + path, timeout=5)
    assert r.status_code == 200 and r.text.lstrip().startswith("<?xml"), r.text[:200]
