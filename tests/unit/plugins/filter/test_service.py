"""service_report: the service playbook's report (unit, service states, /health, what still runs)."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.service import service_report

STATUS = [{"service": "nginx", "state": "running"}, {"service": "bot", "state": "exited"},
          {"service": "redis", "state": "running"}]
UNIT = {"name": "toogoodtogo.service", "active_state": "active", "sub_state": "running"}


def test_a_systemd_stack_after_a_start_names_its_unit_states_and_health():
    report = service_report({"action": "start", "info": {"unit": UNIT, "services": STATUS}, "status": STATUS,
                             "health": {"status": "healthy", "passed": True}})
    assert report == {"action": "start", "unit": "toogoodtogo.service active (running)",
                      "services": {"nginx": "running", "bot": "exited", "redis": "running"},
                      "health": "healthy", "running": ["nginx", "redis"]}


def test_a_compose_stack_without_a_health_check_says_so():
    report = service_report({"action": "status", "info": {"services": STATUS}, "status": STATUS, "health": {}})
    assert report["unit"] == "no systemd unit (compose)" and report["health"] == "not checked"


def test_a_stopped_stack_has_nothing_running():
    stopped = [{"service": "nginx", "state": "missing"}, {"service": "bot", "state": "exited"}]
    report = service_report({"action": "stop", "info": {}, "status": stopped})
    assert report["running"] == [] and report["services"] == {"nginx": "missing", "bot": "exited"}


@pytest.mark.parametrize("bad, words", [
    ("x", "the input must be a dict, got str"),
    ({"info": []}, "info must be a dict, got list"),
    ({"info": {"unit": "toogoodtogo"}}, "info.unit must be a dict, got str"),
    ({"status": {"nginx": "running"}}, "status must be a list, got dict"),
    ({"status": ["nginx"]}, "status[] must be a dict, got str"),
    ({"health": "healthy"}, "health must be a dict, got str"),
])
def test_bad_input_fails_naming_it(bad, words):
    with pytest.raises(AnsibleFilterError, match=r"^service_report: ") as caught:
        service_report(bad)
    assert words in str(caught.value)
