"""filter/triage: the triage verdict and the P0 plan."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tgops.runbooks.plugins.filter.triage import (
    p0_plan, triage_report, triage_summary, triage_telegram_options)

SKIPPED = {'skipped': True, 'changed': False}


def platform(down=(), unhealthy=(), findings=()):
    return {'findings': list(findings), 'down': list(down), 'unhealthy': list(unhealthy),
            'logs': {'errors': ['bot | ERROR x']}}


def healthy(ok=True, status='healthy', **extra):
    result = {'passed': ok, 'status': status if ok else None, 'findings': [] if ok else ['no answer: refused']}
    result.update(extra)
    return result


def checks(**kw):
    base = {'platform': platform(), 'health': healthy(), 'health_url': 'http://h/health',
            'public_health': healthy(), 'public_health_url': 'https://p/health', 'telegram': SKIPPED,
            'ton': SKIPPED, 'pinata': SKIPPED, 'app_services': ['backend-api', 'telegram-bot']}
    base.update(kw)
    return base


def test_healthy():
    out = triage_summary(checks())
    assert out['findings'] == [] and out['healthy'] and out['app_healthy'] and out['public_healthy']
    assert out['errors'] == ['bot | ERROR x']


def test_findings_from_every_check():
    out = triage_summary(checks(
        platform=platform(down=['backend-api'], findings=['service backend-api is exited (exit code 137)']),
        health=healthy(False), public_health={'passed': False, 'status': 'unhealthy', 'unhealthy_dependencies': ['postgres']},
        telegram={'passed': False, 'findings': ['webhook last error 5 s ago'], 'webhook': {'url': 'https://evil/x'}},
        webhook_url='https://good/webhook',
        ton={'passed': False, 'balance_ton': '0.1'},
        pinata={'passed': False, 'msg': 'HTTP 401'}))
    assert out['findings'] == [
        'service backend-api is exited (exit code 137)',
        'health endpoint http://h/health is not healthy: no answer: refused',
        'public health endpoint (through nginx) https://p/health reports unhealthy (unhealthy: postgres)',
        'Telegram: webhook is set to another URL (expected https://good/webhook): https://evil/x receives the '
        'updates; re-set it with tgops.runbooks.telegram_webhook',
        'Telegram: webhook last error 5 s ago',
        'TON wallet balance 0.1 TON is below the threshold',
        'Pinata authentication failed: HTTP 401',
    ]
    assert out['app_services_down'] == ['backend-api'] and not out['healthy']


def test_the_webhook_is_telegram_bot_infos_verdict():
    """The module judged the webhook against the URL Telegram holds, before masking the token in it; triage read
    the masked URL back and called the platform's own webhook "points to ..., expected ..."."""
    masked = 'https://good/bot********/hook'
    telegram = {'passed': True, 'findings': [], 'webhook': {'url': masked}, 'webhook_expected': True,
                'webhook_expected_url': masked, 'webhook_wrong': False, 'webhook_leftover': False,
                'findings_by_kind': {'webhook': [], 'pending_updates': [], 'delivery_error': []}}
    out = triage_summary(checks(telegram=telegram, webhook_url='https://good/bot123:SECRET/hook'))
    assert out['findings'] == [] and out['healthy']
    elsewhere = dict(telegram, passed=False, webhook={'url': 'https://evil/x'}, webhook_wrong=True,
                     findings=['webhook is set to another URL (expected https://good/hook): ...'],
                     findings_by_kind={'webhook': ['webhook is set to another URL (expected https://good/hook): ...']})
    out = triage_summary(checks(telegram=elsewhere, webhook_url='https://good/hook'))
    assert out['findings'] == ['Telegram: webhook is set to another URL (expected https://good/hook): ...']
    # the role gives the URL to the module only: its verdict is taken as it is
    assert triage_summary(checks(telegram=elsewhere))['findings'] == out['findings']


def test_failed_module_calls_are_findings():
    out = triage_summary(checks(telegram={'failed': True, 'msg': 'token rejected (401 Unauthorized)'},
                                ton={'failed': True, 'msg': 'toncenter did not answer'}))
    assert out['findings'] == ['Telegram Bot API check failed: token rejected (401 Unauthorized)',
                               'TON wallet check failed: toncenter did not answer']


def test_skipped_public_check_is_not_a_finding():
    out = triage_summary(checks(public_health=SKIPPED))
    assert out['public_healthy'] is None and out['healthy']


def test_not_a_dict():
    with pytest.raises(AnsibleFilterError):
        triage_summary(['x'])
    with pytest.raises(AnsibleFilterError):
        p0_plan('x', [])


APP = ['backend-api', 'telegram-bot']


def test_plan_healthy_does_nothing():
    plan = p0_plan(triage_summary(checks()), APP, 'nginx')
    assert plan == {'start': [], 'restart': [], 'reload_proxy': False, 'act': False}


def test_plan_starts_what_is_down_and_reloads_nginx():
    t = triage_summary(checks(platform=platform(down=['backend-api']), health=healthy(False),
                              public_health=healthy(False)))
    assert p0_plan(t, APP, 'nginx') == {'start': ['backend-api'], 'restart': [], 'reload_proxy': True, 'act': True}


def test_plan_restarts_a_running_but_unhealthy_app_only_when_allowed():
    t = triage_summary(checks(health=healthy(False)))
    assert p0_plan(t, APP, 'nginx')['restart'] == APP
    assert p0_plan(t, APP, 'nginx', allow_restart=False) == {'start': [], 'restart': [], 'reload_proxy': False,
                                                             'act': False}
    t = triage_summary(checks(platform=platform(unhealthy=['telegram-bot'])))
    assert p0_plan(t, APP, 'nginx')['restart'] == APP


def test_plan_reloads_a_stale_nginx():
    # the app answers directly, the public URL does not: nginx proxies to an old address
    t = triage_summary(checks(public_health={'passed': False, 'status': None, 'findings': ['HTTP 502']}))
    assert p0_plan(t, APP, 'nginx') == {'start': [], 'restart': [], 'reload_proxy': True, 'act': True}


def test_plan_never_reloads_a_proxy_that_is_down():
    t = triage_summary(checks(platform=platform(down=['nginx']), public_health=healthy(False)))
    assert p0_plan(t, APP, 'nginx') == {'start': ['nginx'], 'restart': [], 'reload_proxy': False, 'act': True}


# health_check's verdict on an answer through nginx from another platform (its expected_platform)
OTHER_PLATFORM = {'passed': False, 'status': 'healthy', 'response': {'status': 'healthy', 'platform': 'toogoodtogo'},
                  'findings': ['answers from platform toogoodtogo, not tgquiz (a proxy in front serves another '
                               'application)']}


def test_public_answer_from_another_platform_is_a_finding():
    out = triage_summary(checks(public_health=OTHER_PLATFORM))
    assert out['public_healthy'] is False
    assert out['findings'] == ['public health endpoint (through nginx) https://p/health is not healthy: answers from '
                               'platform toogoodtogo, not tgquiz (a proxy in front serves another application)']
    assert p0_plan(out, APP, 'nginx')['reload_proxy'] is True
    same = triage_summary(checks(public_health=healthy(response={'platform': 'tgquiz'})))
    assert same['healthy']


def test_platform_info_health_is_the_direct_answer():
    # triage reads /health from the host inside platform_info: no separate probe, no second finding
    probe = dict(healthy(False, reasons=['no answer: refused']), checked=True, status=None)
    down = platform(down=['backend-api'], findings=['service backend-api is exited (exit code 137)',
                                                    'health endpoint http://h/health is not healthy: no answer'])
    down['health'] = probe
    out = triage_summary(checks(platform=down, health=SKIPPED, public_health=healthy(False)))
    assert out['app_healthy'] is False and out['health_status'] is None
    assert out['findings'][:2] == down['findings'] and len(out['findings']) == 3  # + the public URL's line
    up = platform()
    up['health'] = dict(healthy(), checked=True)
    stale = triage_summary(checks(platform=up, health=SKIPPED,
                                  public_health={'passed': False, 'status': None, 'findings': ['HTTP 502']}))
    assert stale['app_healthy'] is True and p0_plan(stale, APP, 'nginx', proxy_resolves=True)['reload_proxy'] is True


def test_no_direct_probe_takes_the_public_answer():
    out = triage_summary(checks(health=SKIPPED, public_health=healthy(response={'platform': 'tgquiz'})))
    assert out['app_healthy'] is True and out['healthy'] and out['health_status'] == 'healthy'
    # an answer through nginx from another platform is not this application's health
    other = triage_summary(checks(health=SKIPPED, public_health=OTHER_PLATFORM))
    assert other['app_healthy'] is False and other['health_status'] is None
    # no probe at all: nothing is known, so nothing counts as healthy
    none = triage_summary(checks(health=SKIPPED, public_health=SKIPPED))
    assert none['app_healthy'] is False and none['health_status'] is None


def test_plan_leaves_a_re_resolving_nginx_alone_after_a_start():
    t = triage_summary(checks(platform=platform(down=['backend-api']), health=healthy(False),
                              public_health=healthy(False)))
    assert p0_plan(t, APP, 'nginx', proxy_resolves=True) == {'start': ['backend-api'], 'restart': [],
                                                             'reload_proxy': False, 'act': True}
    restart = triage_summary(checks(health=healthy(False)))
    assert p0_plan(restart, APP, 'nginx', True, True)['reload_proxy'] is False
    # a public path that fails while the application answers still needs the reload
    stale = triage_summary(checks(public_health={'passed': False, 'status': None, 'findings': ['HTTP 502']}))
    assert p0_plan(stale, APP, 'nginx', proxy_resolves=True)['reload_proxy'] is True


def test_verdict_after_acting_is_the_wait():
    from ansible_collections.tgops.runbooks.plugins.filter.triage import p0_verdict
    plan = {'act': True}
    t = triage_summary(checks(health=healthy(False)))
    assert p0_verdict(plan, t, {'healthy': True, 'result': {'status': 'healthy'}}) == {'healthy': True,
                                                                                       'health_after': 'healthy'}
    assert p0_verdict(plan, t, {'healthy': False, 'result': {'status': None}}) == {'healthy': False,
                                                                                   'health_after': None}
    assert p0_verdict(plan, t, None) == {'healthy': False, 'health_after': None}


def test_verdict_without_acting_is_triage():
    from ansible_collections.tgops.runbooks.plugins.filter.triage import p0_verdict
    idle = {'act': False}
    ok = triage_summary(checks(health=SKIPPED, public_health=healthy()))
    assert p0_verdict(idle, ok) == {'healthy': True, 'health_after': 'healthy'}
    # restart not allowed: the app stays degraded and the verdict says so
    degraded = triage_summary(checks(health=healthy(False), public_health=healthy(False, status='degraded')))
    assert p0_verdict(idle, degraded)['healthy'] is False
    # healthy on the host, but nginx serves another platform
    wrong = triage_summary(checks(public_health=OTHER_PLATFORM))
    assert p0_verdict(idle, wrong)['healthy'] is False
    with pytest.raises(AnsibleFilterError):
        p0_verdict(['x'], ok)


@pytest.mark.parametrize('mode, url, expected', [
    ('webhook', 'https://bot.example/hook', {'expect_webhook': True, 'webhook_url': 'https://bot.example/hook'}),
    # a webhook bot without a URL of its own still expects one: the module's verdict on the URL is taken as it is
    ('webhook', '', {'expect_webhook': True, 'webhook_url': ''}),
    ('polling', 'https://bot.example/hook', {'expect_webhook': False}),
    ('', 'https://bot.example/hook', {}),
    ('longpoll', '', {}),
])
def test_telegram_options_follow_the_mode(mode, url, expected):
    assert triage_telegram_options({'mode': mode, 'webhook_url': url}) == expected


def test_telegram_options_need_a_dict():
    with pytest.raises(AnsibleFilterError, match='triage_telegram_options expects'):
        triage_telegram_options('webhook')


def report(**kw):
    base = {'services': [{'service': 'backend-api', 'state': 'running'}, {'service': 'telegram-bot', 'state': 'exited'}],
            'result': {'health_status': 'healthy', 'public_health_status': 'degraded', 'findings': ['x is down']},
            'public_health_url': 'https://p/health', 'recent_errors': 3}
    base.update(kw)
    return base


def test_report_says_what_triage_found():
    assert triage_report(report()) == {
        'services': {'backend-api': 'running', 'telegram-bot': 'exited'}, 'health': 'healthy',
        'public_health': 'degraded', 'findings': ['x is down'], 'recent_errors': 3}


def test_report_without_answers_or_findings():
    empty = {'health_status': None, 'public_health_status': None, 'findings': []}
    out = triage_report(report(result=empty))
    assert (out['health'], out['public_health'], out['findings']) == ('no answer', 'no answer', ['nothing wrong found'])
    out = triage_report(report(result=empty, public_health_url=''))
    assert out['public_health'] == 'not checked'


def test_report_needs_the_verdict():
    with pytest.raises(AnsibleFilterError, match='triage_report expects'):
        triage_report({'services': []})
