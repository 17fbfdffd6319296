"""bot_diagnosis: runbook P1 "Bot Not Responding to Commands", judged from what the bot role read."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.bot import bot_diagnosis

WEBHOOK = 'https://toogoodtogo.lab/webhook/telegram'
NO_LOGS = {'count': 0, 'lines': [], 'failure': ''}


def read(info, **extra):
    base = {'info': info, 'service': 'bot', 'down': [], 'unhealthy': [], 'mode': 'webhook', 'webhook_url': WEBHOOK,
            'log_errors': NO_LOGS, 'log_lines': 100}
    base.update(extra)
    return bot_diagnosis(base)


def answer(url='', findings=None, webhook_kind=None):
    return {'bot': {'username': 'quiz_bot'}, 'webhook': {'url': url, 'pending_update_count': 0},
            'findings': findings or [], 'findings_by_kind': {'webhook': webhook_kind or [], 'pending_updates': [],
                                                             'delivery_error': []}}


def test_a_healthy_webhook_bot_has_nothing_to_say():
    out = read(answer(WEBHOOK))
    assert out == dict(token_rejected=False, api_unreachable=False, service_down=False, webhook_now=WEBHOOK,
                       webhook_wrong=False, webhook_leftover=False, credentials_differ=False, findings=[])


def test_the_module_webhook_finding_is_left_out_by_key_the_others_kept():
    # A module not given the URL judged only the presence: the verdict against the platform's URL replaces its
    # webhook sentence (by key), the other kinds are kept.
    module_webhook = 'no webhook is set, but one is expected (expect_webhook=true): ...'
    pending = '250 updates are pending, more than max_pending_updates=100: ...'
    out = read(answer('', [module_webhook, pending], [module_webhook]))
    assert out['webhook_wrong'] is True
    assert out['findings'] == ['webhook is not set (expected %s): Telegram holds 0 pending update(s) that nobody '
                               'receives; set it with tgops.runbooks.telegram_webhook' % WEBHOOK, pending]


def test_a_webhook_elsewhere_and_a_leftover_on_a_polling_bot():
    assert read(answer('https://tgquiz.lab/webhook/telegram'))['findings'] == [
        'webhook is set to another URL (expected %s): https://tgquiz.lab/webhook/telegram receives the updates; '
        're-set it with tgops.runbooks.telegram_webhook' % WEBHOOK]
    out = read(answer('https://tgquiz.lab/leftover'), mode='polling', webhook_url='')
    assert out['webhook_leftover'] is True and out['webhook_wrong'] is False
    assert out['findings'] == ['a webhook is set on a polling bot (getUpdates answers 409 Conflict): '
                               'https://tgquiz.lab/leftover, but none is expected (expect_webhook=false); delete it '
                               'with tgops.runbooks.telegram_webhook state=absent']


def judged(url, wrong=False, leftover=False, expected=True, expected_url=WEBHOOK, webhook_kind=None):
    """A telegram_bot_info answer that judged the webhook itself (its webhook_url given by the role)."""
    info = answer(url, list(webhook_kind or []), webhook_kind)
    info.update(webhook_expected=expected, webhook_expected_url=expected_url, webhook_wrong=wrong,
                webhook_leftover=leftover)
    return info


def test_the_modules_verdict_is_read_not_judged_again():
    # The module compared the URL Telegram holds before masking the token in it; the masked URL it returns no longer
    # equals the platform's. The filter used to compare the two and called the right webhook wrong (so P1 re-set it
    # on every run); it reads webhook_wrong now.
    token_url = 'https://toogoodtogo.lab/bot123:SECRET/hook'
    masked = 'https://toogoodtogo.lab/bot********/hook'
    out = read(judged(masked, expected_url=masked), webhook_url=token_url)
    assert out['webhook_wrong'] is False and out['findings'] == []
    sentence = 'webhook is set to another URL (expected %s): ...' % WEBHOOK
    out = read(judged('https://tgquiz.lab/x', wrong=True, webhook_kind=[sentence]))
    assert out['webhook_wrong'] is True and out['findings'] == [sentence]
    out = read(judged('https://tgquiz.lab/leftover', leftover=True, expected=False, expected_url='',
                      webhook_kind=['a webhook is set on a polling bot ...']), mode='polling', webhook_url='')
    assert out['webhook_leftover'] is True and out['findings'] == ['a webhook is set on a polling bot ...']


def test_a_webhook_bot_without_a_configured_url_is_judged_on_presence_only():
    # No platform_webhook_url: any webhook will do. The filter used to call every set webhook "set to another URL
    # (expected )", and the fix then re-set it to an empty URL, which deletes it.
    out = read(answer('https://toogoodtogo.lab/webhook/telegram'), webhook_url='')
    assert out['webhook_wrong'] is False and out['findings'] == []
    assert read(answer(''), webhook_url='')['webhook_wrong'] is True


def test_a_rejected_token_is_not_an_unreachable_api():
    out = read({'msg': 'Unauthorized', 'error_code': 401, 'description': 'Unauthorized', 'token_rejected': True},
               down=['bot'])
    assert out['token_rejected'] is True and out['api_unreachable'] is False and out['service_down'] is True
    assert out['findings'] == ['service bot is not running or unhealthy',
                               'Telegram rejected the bot token (401 Unauthorized): restarting cannot fix this; '
                               'put a valid BOT_TOKEN in the env file and the vault']
    # an older answer without token_rejected: the 401 says it
    assert read({'msg': 'x', 'error_code': 401})['token_rejected'] is True


def test_an_unreachable_api_and_a_wrong_path():
    out = read({'msg': 'Connection refused', 'error_code': 404})
    assert out['api_unreachable'] is True and out['token_rejected'] is False
    assert out['findings'] == ['Telegram Bot API not reachable: Connection refused']
    assert read({})['findings'] == ['Telegram Bot API not reachable: unknown error']


def test_log_lines_and_unread_logs():
    out = read(answer(WEBHOOK), unhealthy=['bot'],
               log_errors={'count': 3, 'lines': ['bot | ERROR x'], 'failure': 'bot: ' + 'no answer ' * 30})
    assert out['findings'][0] == 'service bot is not running or unhealthy'
    assert out['findings'][1] == '3 error line(s) in the last 100 lines of the bot log'
    assert out['findings'][2].startswith('cannot read the bot logs: bot: no answer') and out['findings'][2].endswith('...')
    assert len(out['findings'][2]) <= len('cannot read the bot logs: ') + 200


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match='info must be a dict'):
        read(['not', 'a', 'result'])


SKIPPED = {'changed': False, 'skipped': True}


def plan(**extra):
    from ansible_collections.tgops.runbooks.plugins.filter.bot import bot_fix_plan
    base = {'token_rejected': False, 'service_down': False, 'webhook_set': SKIPPED, 'webhook_deleted': SKIPPED,
            'allow_restart': True, 'force_restart': False, 'service': 'bot', 'webhook_url': WEBHOOK,
            'check_mode': False}
    base.update(extra)
    return bot_fix_plan(base)


def test_nothing_wrong_nothing_done():
    assert plan() == {'actions': [], 'restart_needed': False}


def test_a_webhook_fix_restarts_the_bot_and_check_mode_says_would():
    assert plan(webhook_set={'changed': True}) == {
        'actions': ['Set the webhook to %s (setWebhook)' % WEBHOOK], 'restart_needed': True}
    out = plan(webhook_deleted={'changed': True}, check_mode=True)
    assert out == {'actions': ['Would delete the leftover webhook (deleteWebhook)'], 'restart_needed': True}


def test_a_rejected_token_is_never_restarted_even_when_forced():
    out = plan(token_rejected=True, service_down=True, force_restart='true')
    assert out == {'actions': ['Not restarting bot: Telegram rejects the token, a restart cannot fix that'],
                   'restart_needed': False}


def test_a_down_bot_or_a_forced_restart_unless_restarts_are_not_allowed():
    assert plan(service_down=True)['restart_needed'] is True
    assert plan(force_restart='yes')['restart_needed'] is True
    assert plan(service_down=True, allow_restart='false')['restart_needed'] is False


def test_a_bad_switch_is_named():
    with pytest.raises(AnsibleFilterError, match='bot_fix_plan'):
        plan(allow_restart='perhaps')


def _outcome(**kw):
    from ansible_collections.tgops.runbooks.plugins.filter.bot import bot_outcome
    return bot_outcome(kw)


def test_the_outcome_after_a_fix_reads_telegrams_second_answer():
    wrong = {'findings': ['webhook is not set (expected https://x/w)'], 'token_rejected': False, 'webhook_now': ''}
    before = {'bot': {}, 'passed': False, 'webhook': {'url': '', 'pending_update_count': 4}}
    after = {'bot': {}, 'passed': True, 'webhook': {'url': 'https://x/w'}}
    diagnosed = _outcome(diagnosis=wrong, info=before, log_errors={'lines': ['ERROR x']}, service='bot')
    assert 'actions' not in diagnosed and not diagnosed['resolved']
    assert diagnosed['health_before'] == 'getMe ok, webhook none, 4 pending update(s)'
    assert diagnosed['impacted'] == ['bot'] and diagnosed['errors'] == ['ERROR x']
    fixed = _outcome(diagnosis=wrong, info=before, info_after=after, service='bot', actions=['Set the webhook'])
    assert fixed['resolved'] and fixed['actions'] == ['Set the webhook']
    assert fixed['summary'] == 'Telegram answers and the webhook is as configured (webhook https://x/w)'
    # check mode asks no second time: the diagnosis's answer stands
    unchanged = _outcome(diagnosis=wrong, info=before, info_after={'skipped': True}, service='bot', actions=[])
    assert not unchanged['resolved'] and unchanged['summary'] == 'Telegram still not healthy (webhook none)'


def test_a_rejected_token_is_never_resolved():
    rejected = {'findings': ['Telegram rejected the bot token'], 'token_rejected': True, 'webhook_now': ''}
    outcome = _outcome(diagnosis=rejected, info={'passed': True}, service='bot')
    assert not outcome['resolved'] and outcome['health_before'].startswith('getMe rejected')
    assert _outcome(diagnosis={'findings': []}, info={'passed': True}, service='bot')['impacted'] == []


def test_a_token_that_is_not_the_vaults_is_found_and_stops_the_webhook_fix():
    from ansible_collections.tgops.runbooks.plugins.filter.bot import bot_fix_plan
    info = answer(url='https://other.example.org/hook', findings=["the app's TELEGRAM_BOT_TOKEN differs"])
    info.update(credentials_match={'bot_token': False},
                findings_by_kind={'webhook': [], 'pending_updates': [], 'delivery_error': [],
                                  'credentials': ["the app's TELEGRAM_BOT_TOKEN differs"]})
    got = read(info)
    assert got['credentials_differ'] is True and got['webhook_wrong'] is True
    assert "the app's TELEGRAM_BOT_TOKEN differs" in got['findings']
    plan = bot_fix_plan({'token_rejected': False, 'service_down': False, 'webhook_set': {'skipped': True},
                         'webhook_deleted': {'skipped': True}, 'webhook_wrong': True, 'credentials_differ': True,
                         'service': 'bot', 'webhook_url': WEBHOOK})
    assert plan['restart_needed'] is False
    assert plan['actions'] == ["Not changing the webhook: the bot runs with another token than the vault's, and a fix "
                               "made with the vault's would change another bot; put one token in both, then run again"]
    assert read(answer(url=WEBHOOK))['credentials_differ'] is False
