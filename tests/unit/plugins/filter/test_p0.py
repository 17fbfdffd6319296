"""p0_outcome: the P0 outage playbook's report, through incident_outcome as the incident skeleton writes its own:
Resolved exactly when p0_verdict says healthy, triage's findings, errors and impacted services, the health before
and after, the actions, and the timeline's triage and recovery sentences."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.incident import incident_outcome
from ansible_collections.tgops.runbooks.plugins.filter.p0 import p0_outcome

# The keys of triage_summary's verdict that the report reads.
DOWN = {'findings': ['service backend-api is exited', 'nginx answers 502'], 'errors': ['backend-api | ERROR boom'],
        'down': ['backend-api'], 'unhealthy': ['telegram-bot'], 'health_status': None}
HEALTHY = {'findings': [], 'errors': [], 'down': [], 'unhealthy': [], 'health_status': 'healthy'}
URLS = {'health_url': 'http://127.0.0.1:8000/health', 'public_health_url': 'https://127.0.0.1:18443/health'}


def reached(**kw):
    base = dict(URLS, triage=DOWN, plan={'act': True}, verdict=None, actions=[], version=None)
    base.update(kw)
    return p0_outcome(base)


def report(outcome, verdict=None, check_mode=False):
    """What playbooks/p0_outage.yml's always section passes to incident_report."""
    verdict = verdict or {}
    return incident_outcome(outcome, healthy=outcome['resolved'], health_status=verdict.get('health_after'),
                            check_mode=check_mode, incomplete='triage did not complete')


def test_after_triage_the_summary_is_the_triage_sentence():
    got = reached()
    assert got['summary'] == 'Triage done: 2 finding(s): service backend-api is exited; nginx answers 502'
    assert reached(triage=HEALTHY)['summary'] == 'Triage done: 0 finding(s)'
    assert got['resolved'] is False


def test_a_fixed_outage_is_resolved_with_what_was_done_and_the_health_verified():
    verdict = {'healthy': True, 'health_after': 'healthy'}
    got = reached(verdict=verdict, actions=['Started backend-api (docker compose up -d)'], version='1.4.2')
    assert got['summary'] == ('Service verified healthy on http://127.0.0.1:8000/health and '
                              'https://127.0.0.1:18443/health (version 1.4.2)')
    written = report(got, verdict)
    assert written['status'] == 'Resolved'
    assert written['findings'] == DOWN['findings'] and written['errors'] == DOWN['errors']
    assert written['impacted'] == ['backend-api', 'telegram-bot']
    assert written['health_before'] == 'no answer' and written['health_after'] == 'healthy'
    assert written['report_actions'] == ['Started backend-api (docker compose up -d)']
    assert written['data_changed'] == [] and written['failure'] == ''
    no_public = reached(verdict=verdict, public_health_url='')
    assert no_public['summary'] == 'Service verified healthy on http://127.0.0.1:8000/health (version unknown)'


def test_a_healthy_service_is_resolved_with_nothing_to_do():
    verdict = {'healthy': True, 'health_after': 'healthy'}
    got = reached(triage=HEALTHY, plan={'act': False}, verdict=verdict)
    assert got['summary'] == 'Service healthy at triage on https://127.0.0.1:18443/health: nothing to do'
    assert reached(triage=HEALTHY, plan={'act': False}, verdict=verdict, public_health_url='')['summary'] == \
        'Service healthy at triage on http://127.0.0.1:8000/health: nothing to do'
    written = report(got, verdict)
    assert written['status'] == 'Resolved' and written['health_before'] == 'healthy'
    assert written['impacted'] == [] and written['report_actions'] == []


def test_a_service_not_back_is_investigating_with_no_recovery_sentence():
    verdict = {'healthy': False, 'health_after': None}
    got = reached(verdict=verdict, actions=['Started backend-api (docker compose up -d)'])
    assert got['resolved'] is False and got['summary'] == ''
    written = report(got, verdict)
    assert written['status'] == 'Investigating' and written['health_after'] == 'no answer'


def test_check_mode_says_nothing_was_changed():
    verdict = {'healthy': False, 'health_after': None, 'would': ['start backend-api']}
    written = report(reached(verdict=verdict), verdict, check_mode=True)
    assert written['status'] == 'Investigating'
    assert written['report_actions'] == ['Check mode: nothing was changed']


def test_a_run_stopped_before_triage_did_not_complete():
    for read in ({}, dict(URLS, triage=None, plan=None, verdict=None, actions=None)):
        got = p0_outcome(read)
        written = report(got)
        assert written['status'] == 'Investigating' and written['findings'] == ['triage did not complete']
        assert written['health_before'] == 'no answer' and written['health_after'] == 'no answer'
        assert written['impacted'] == [] and written['errors'] == []
    # A verdict cannot make an incomplete run resolved.
    assert report(p0_outcome({'verdict': {'healthy': True}, 'actions': ['x']}))['status'] == 'Investigating'


@pytest.mark.parametrize('bad, words', [
    ('x', 'expects a dict'),
    ({'triage': ['x']}, 'triage must be a dict or none'),
    ({'triage': DOWN, 'verdict': 'ok'}, 'verdict must be a dict or none'),
    ({'triage': DOWN, 'actions': 'Started'}, 'actions must be a list'),
    ({'triage': dict(DOWN, findings='x')}, 'triage.findings must be a list'),
    ({'triage': DOWN, 'plan': {'act': True}, 'verdict': {'healthy': True}}, 'health_url must be'),
])
def test_bad_input_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match=words):
        p0_outcome(bad)
