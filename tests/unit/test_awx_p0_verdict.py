"""P0 in check mode is the AWX workflow's triage node (awx/vars/tgops.yml): its exit status is the workflow's
only signal, so a service down or unhealthy must fail the host (the node's failure edge leads to the approval
of a real run), with what a real run would do. p0_verdict decides (plugins/filter/triage.py)."""
import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tgops.runbooks.plugins.filter.triage import p0_plan, p0_verdict, triage_summary

APPS = ['backend-api', 'telegram-bot']
SKIPPED = {'skipped': True, 'changed': False}


def _probe(ok=True, status='healthy'):
    return {'passed': ok, 'status': status if ok else None, 'findings': [] if ok else ['no answer: refused']}


def _triage(down=(), health=None, public=None):
    platform = {'findings': ['service %s is exited' % s for s in down], 'down': list(down), 'unhealthy': [],
                'logs': {'errors': []}}
    return triage_summary({'platform': platform, 'health': health or _probe(), 'health_url': 'http://h/health',
                           'public_health': public or _probe(), 'public_health_url': 'https://p/health',
                           'telegram': SKIPPED, 'ton': SKIPPED, 'pinata': SKIPPED, 'app_services': APPS})


def _check(triage, allow_restart=True):
    return p0_verdict(p0_plan(triage, APPS, 'nginx', allow_restart, True), triage, None, True)


def test_check_mode_on_a_healthy_service_passes():
    assert _check(_triage()) == {'healthy': True, 'health_after': 'healthy', 'would': []}


def test_check_mode_on_a_dead_app_fails_and_says_it_would_start_it():
    verdict = _check(_triage(down=['backend-api'], health=_probe(False), public=_probe(False)))
    assert verdict['healthy'] is False and verdict['health_after'] is None
    assert verdict['would'][0] == 'start backend-api'
    assert 'roll back when p0_allow_rollback' in verdict['would'][-1]


def test_check_mode_on_an_unhealthy_app_fails_and_says_it_would_restart():
    verdict = _check(_triage(health=_probe(False), public=_probe(False)))
    assert verdict['healthy'] is False
    assert verdict['would'][0] == 'restart backend-api, telegram-bot (the quick restart)'


def test_check_mode_without_the_quick_restart_still_fails():
    verdict = _check(_triage(health=_probe(False), public=_probe(False)), allow_restart=False)
    assert verdict['healthy'] is False
    assert verdict['would'][0].startswith('nothing by itself')


def test_check_mode_on_a_stale_proxy_fails_and_says_it_would_reload_nginx():
    verdict = _check(_triage(public=_probe(False)))
    assert verdict['healthy'] is False and verdict['would'][0] == 'reload nginx'


def test_check_mode_fails_when_a_service_other_than_the_app_is_down():
    """The app answers, but a service of the stack (here the certificate renewer) is down: a real run would
    start it, so the workflow must hear about it."""
    verdict = _check(_triage(down=['certbot']))
    assert verdict['healthy'] is False and verdict['would'][0] == 'start certbot'


def test_real_runs_are_judged_as_before():
    """Not check mode: the wait after acting, or triage when nothing needed doing (no 'would')."""
    triage = _triage(down=['backend-api'], health=_probe(False), public=_probe(False))
    plan = p0_plan(triage, APPS, 'nginx', True, True)
    assert p0_verdict(plan, triage, {'healthy': True, 'result': {'status': 'healthy'}}) == \
        {'healthy': True, 'health_after': 'healthy'}
    assert p0_verdict(plan, triage, {'healthy': True, 'result': {'status': 'healthy'}}, False) == \
        {'healthy': True, 'health_after': 'healthy'}
    assert p0_verdict(p0_plan(_triage(), APPS), _triage()) == {'healthy': True, 'health_after': 'healthy'}
    with pytest.raises(AnsibleFilterError):
        p0_verdict(None, triage, None, True)
