"""network_outcome: the network role's outcome for the incident report (diagnosis, firewall sentence, proxy start)."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.network import network_outcome

UFW = {"tool": "ufw", "active": True, "default_incoming": "deny", "rules": ["22/tcp ALLOW IN", "443/tcp ALLOW IN"]}
UNREACHABLE = "http://127.0.0.1:9/: no answer within 5.0 seconds (timeout) - the host cannot reach it"
TRIAGE = {"findings": ["nginx is exited"], "down": ["nginx"]}


def reading(passed=True, firewall=None, findings=None):
    return {"changed": False, "passed": passed, "findings": findings if findings is not None else
            ([] if passed else [UNREACHABLE]), "firewall": firewall or UFW, "urls": []}


def test_a_host_that_reaches_everything_is_resolved_and_names_its_firewall():
    outcome = network_outcome({"network": reading(), "triage": {"findings": [], "down": []}})
    assert outcome == {"findings": ["firewall: ufw active, incoming deny by default, 2 rule(s)"], "impacted": [],
                       "resolved": True, "summary": "Every API answers from the host"}


def test_an_unreachable_api_fails_naming_it_and_the_firewall():
    outcome = network_outcome({"network": reading(passed=False), "triage": TRIAGE})
    assert outcome["findings"] == [UNREACHABLE, "nginx is exited",
                                   "firewall: ufw active, incoming deny by default, 2 rule(s)"]
    assert outcome["impacted"] == ["nginx"] and outcome["resolved"] is False
    assert outcome["summary"] == "The host still cannot reach 1 URL(s)"
    assert outcome["failure"] == (
        UNREACHABLE + ". Check the provider's network status, the host's routes and DNS, and the firewall "
        "(ufw active, incoming deny by default, 2 rule(s)).")


@pytest.mark.parametrize("firewall, words", [
    ({"tool": "none", "active": False, "default_incoming": None, "rules": []}, "no ufw on the host"),
    ({"tool": "ufw", "active": False, "default_incoming": None, "rules": []}, "ufw inactive"),
    ({"tool": "ufw", "active": True, "default_incoming": None, "rules": []},
     "ufw active, incoming ? by default, 0 rule(s)"),
])
def test_the_firewall_is_one_sentence(firewall, words):
    assert network_outcome({"network": reading(firewall=firewall)})["findings"] == ["firewall: " + words]


def test_the_proxy_start_is_the_fix_and_a_skipped_one_did_nothing():
    started = network_outcome({"network": reading(), "triage": TRIAGE,
                               "start": {"started": ["nginx"], "actions": ["Started nginx (docker compose up -d)"]}})
    assert started["actions"] == ["Started nginx (docker compose up -d)"] and started["resolved"] is True
    assert network_outcome({"network": reading(), "triage": TRIAGE, "start": {}})["actions"] == []
    # before the fix there are no actions at all (the skeleton then says nothing was done)
    assert "actions" not in network_outcome({"network": reading(), "triage": TRIAGE})


@pytest.mark.parametrize("bad, words", [
    ("x", "the input must be a dict"),
    ({}, "network must be a dict"),
    ({"network": {"findings": []}}, "network must be network_info's result"),
    ({"network": reading(findings="down")}, "network.findings must be a list"),
    ({"network": reading(), "triage": {"down": "nginx"}}, "triage.down must be a list"),
    ({"network": reading(), "start": {"actions": "Started"}}, "start.actions must be a list"),
])
def test_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match="network_outcome: " + words):
        network_outcome(bad)
