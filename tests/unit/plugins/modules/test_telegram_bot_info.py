# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import telegram_bot_info

from tgops_fake_api import FakeTelegram, assert_no_secret
from tgops_module_runner import run_module

TOKEN = '5550001234:AAE_secretPartOfTheTokenXYZ-abcdefghi'


def run(api, **args):
    base = dict(bot_token=TOKEN, api_url=api.url)
    base.update(args)
    result = run_module(telegram_bot_info, base)
    assert_no_secret(result, TOKEN)
    return result


def test_identity_and_no_webhook(api):
    FakeTelegram(api, TOKEN, username='quiz_bot')
    result = run(api)
    assert result['changed'] is False
    assert result['bot']['username'] == 'quiz_bot'
    assert result['bot']['id'] == 5550001234
    assert result['webhook']['is_set'] is False
    assert result['webhook']['url'] == ''
    assert result['passed'] is True and result['findings'] == []


def test_leftover_webhook_blocks_polling(api):
    fake = FakeTelegram(api, TOKEN)
    fake.webhook.update(url='https://old.example.org/hook', max_connections=40, ip_address='203.0.113.9')
    result = run(api, expect_webhook=False)
    assert result['passed'] is False
    assert len(result['findings']) == 1
    assert '409 Conflict' in result['findings'][0]
    assert 'https://old.example.org/hook' in result['findings'][0]
    assert 'failed' not in result


def test_expected_webhook_missing(api):
    fake = FakeTelegram(api, TOKEN)
    fake.webhook['pending_update_count'] = 7
    result = run(api, expect_webhook=True)
    assert result['passed'] is False
    assert 'no webhook is set' in result['findings'][0]
    assert '7 pending' in result['findings'][0]


def test_thresholds_and_error_dates(api):
    fake = FakeTelegram(api, TOKEN)
    now = int(time.time())
    fake.webhook.update(url='https://h.example.org/hook', pending_update_count=250, last_error_date=now - 30,
                        last_error_message='Wrong response from the webhook: 500 Internal Server Error',
                        last_synchronization_error_date=now - 100, max_connections=40,
                        allowed_updates=['message'])
    result = run(api, expect_webhook=True, max_pending_updates=100, max_error_age=600)
    hook = result['webhook']
    assert 28 <= hook['last_error_age'] <= 40
    assert hook['last_error_date_iso'].endswith('Z') and 'T' in hook['last_error_date_iso']
    assert hook['last_synchronization_error_date_iso'].endswith('Z')
    assert hook['allowed_updates'] == ['message']
    assert result['passed'] is False
    assert len(result['findings']) == 2
    assert any('250 updates are pending' in p for p in result['findings'])
    assert any('500 Internal Server Error' in p for p in result['findings'])


def test_findings_by_kind_let_the_bot_role_leave_out_the_webhook_by_key(api):
    # The bot role judges the webhook against the platform's URL itself: it drops the module's webhook finding by
    # this key, where it used to drop sentences matching 'webhook is set|no webhook is set'.
    fake = FakeTelegram(api, TOKEN)
    now = int(time.time())
    fake.webhook.update(pending_update_count=250, last_error_date=now - 30, last_error_message='boom')
    result = run(api, expect_webhook=True, max_pending_updates=100, max_error_age=600)
    by_kind = result['findings_by_kind']
    assert sorted(by_kind) == ['credentials', 'delivery_error', 'pending_updates', 'webhook']
    assert len(by_kind['webhook']) == 1 and 'no webhook is set' in by_kind['webhook'][0]
    assert by_kind['pending_updates'][0].startswith('250 updates are pending')
    assert 'boom' in by_kind['delivery_error'][0]
    assert result['findings'] == by_kind['webhook'] + by_kind['pending_updates'] + by_kind['delivery_error']
    clean = run(api)
    assert clean['findings_by_kind'] == {'webhook': [], 'pending_updates': [], 'delivery_error': [], 'credentials': []}


def test_old_error_is_not_a_problem(api):
    fake = FakeTelegram(api, TOKEN)
    fake.webhook.update(url='https://h.example.org/hook', last_error_date=int(time.time()) - 7200,
                        last_error_message='old')
    result = run(api, max_error_age=600)
    assert result['passed'] is True


def test_fail_on_problem(api):
    fake = FakeTelegram(api, TOKEN)
    fake.webhook.update(url='https://h.example.org/bot%s/hook' % TOKEN)
    result = run(api, expect_webhook=False, fail_on_problem=True)
    assert result['failed'] is True
    assert result['msg'].startswith('bot is unhealthy: a webhook is set')
    assert '********' in result['msg']  # token inside the webhook URL is masked
    assert result['passed'] is False


@pytest.mark.parametrize('token', ['bot' + TOKEN, TOKEN + '\n', 'not-a-token', '5550001234:bad/secret'])
def test_malformed_token_fails_before_any_request(api, token):
    result = run_module(telegram_bot_info, dict(bot_token=token, api_url=api.url))
    assert result['failed'] is True
    assert 'bot_token' in result['msg']
    assert api.requests == []
    assert_no_secret(result, token.strip(), TOKEN)


def test_revoked_token(api):
    fake = FakeTelegram(api, TOKEN)
    fake.revoked = True
    result = run(api)
    assert result['failed'] is True
    assert 'token rejected (revoked or invalid)' in result['msg']
    assert result['error_code'] == 401


def test_unknown_well_formed_token_is_401_token_rejected(api):
    # The Bot API server answers 401 Unauthorized for a well-formed token it does not accept (issue 10).
    FakeTelegram(api, TOKEN)
    other = '5550001234:AAE_anotherSecretThatIsNotKnown-000000'
    result = run_module(telegram_bot_info, dict(bot_token=other, api_url=api.url))
    assert result['failed'] is True
    assert result['error_code'] == 401 and result['token_rejected'] is True
    assert 'token rejected' in result['msg']
    assert_no_secret(result, other)


def test_404_is_a_wrong_path_not_a_rejected_token(api):
    FakeTelegram(api, TOKEN)
    result = run_module(telegram_bot_info, dict(bot_token=TOKEN, api_url=api.url + '/wrong/prefix'))
    assert result['failed'] is True
    assert result['error_code'] == 404 and result['token_rejected'] is False
    assert 'token rejected' not in result['msg']
    assert 'request path was not recognised' in result['msg'] and 'api_url' in result['msg']
    assert_no_secret(result, TOKEN)


def test_rate_limited_then_gives_up(api, no_sleep):
    api.route('/bot%s/getMe' % TOKEN, (429, {'ok': False, 'error_code': 429,
                                             'description': 'Too Many Requests: retry after 2',
                                             'parameters': {'retry_after': 2}}, {'Retry-After': '2'}))
    result = run(api, max_retries=2)
    assert result['failed'] is True
    assert 'rate limit' in result['msg'] and 'after 2 retries' in result['msg']
    assert no_sleep == [2, 2]


def test_unreachable(api):
    url = api.url
    api.close()
    result = run_module(telegram_bot_info, dict(bot_token=TOKEN, api_url=url, timeout=2))
    assert result['failed'] is True
    assert 'cannot reach the Telegram API' in result['msg'] or 'did not answer' in result['msg']
    assert_no_secret(result, TOKEN)


def test_webhook_url_is_judged_on_the_url_telegram_holds(api):
    # The one judgement of "is the webhook the platform's": here, on the URL before the token in it is masked.
    fake = FakeTelegram(api, TOKEN)
    own = 'https://h.example.org/bot%s/hook' % TOKEN
    fake.webhook.update(url=own)
    result = run(api, webhook_url=own)
    assert result['passed'] is True and result['findings'] == []
    assert result['webhook_wrong'] is False and result['webhook_leftover'] is False
    assert result['webhook_expected'] is True
    assert result['webhook_expected_url'] == result['webhook']['url'] and '********' in result['webhook']['url']
    elsewhere = run(api, webhook_url='https://other.example.org/hook')
    assert elsewhere['passed'] is False and elsewhere['webhook_wrong'] is True
    assert elsewhere['findings_by_kind']['webhook'] == elsewhere['findings']
    assert elsewhere['findings'][0].startswith(
        'webhook is set to another URL (expected https://other.example.org/hook): %s receives' % result['webhook']['url'])


def test_webhook_url_missing_and_leftover_verdicts(api):
    fake = FakeTelegram(api, TOKEN)
    fake.webhook['pending_update_count'] = 3
    missing = run(api, webhook_url='https://h.example.org/hook')
    assert missing['webhook_wrong'] is True
    assert missing['findings'] == ['webhook is not set (expected https://h.example.org/hook): Telegram holds 3 pending '
                                   'update(s) that nobody receives; set it with tgops.runbooks.telegram_webhook']
    fake.webhook.update(url='https://old.example.org/hook')
    leftover = run(api, expect_webhook=False)
    assert leftover['webhook_leftover'] is True and leftover['webhook_wrong'] is False
    assert leftover['findings'][0].startswith('a webhook is set on a polling bot (getUpdates answers 409 Conflict)')
    unjudged = run(api)
    assert unjudged['webhook_expected'] is None and unjudged['webhook_wrong'] is False


def test_webhook_url_contradicting_expect_webhook_fails(api):
    FakeTelegram(api, TOKEN)
    result = run(api, expect_webhook=False, webhook_url='https://h.example.org/hook')
    assert result['failed'] is True and 'expect_webhook=false' in result['msg']


def test_max_error_age_is_seconds_as_a_float(api):
    # A duration is seconds as a float (docs/module-vocabulary.md); a whole one reads as before, nan is refused.
    fake = FakeTelegram(api, TOKEN)
    fake.webhook.update(url='https://h.example.org/hook', last_error_date=int(time.time()) - 30,
                        last_error_message='boom')
    whole = run(api, max_error_age=600)
    assert whole['findings_by_kind']['delivery_error'][0].startswith('the webhook failed a delivery')
    assert 'max_error_age=600)' in whole['findings_by_kind']['delivery_error'][0]
    assert run(api, max_error_age=600.5)['findings_by_kind']['delivery_error'][0].count('max_error_age=600.5)') == 1
    assert run(api, max_error_age=0.5)['passed'] is True
    refused = run(api, max_error_age='nan')
    assert refused['failed'] is True and refused['msg'].startswith('max_error_age must be between 0 and')


APP_TOKEN = '5550009999:AAE_theAppsOwnTokenNotTheVaults-xyz'


def app_run(api, tmp_path, line, **args):
    env = tmp_path / '.env.production'
    env.write_text('SECRET_KEY=abc\n%s\n' % line)
    result = run_module(telegram_bot_info, dict(bot_token=TOKEN, api_url=api.url, app_env_file=str(env), **args))
    assert_no_secret(result, TOKEN, APP_TOKEN)
    return result, str(env)


def test_the_token_the_app_runs_with_is_checked_and_compared(api, tmp_path):
    # Only the app's token is known to Telegram: the vault holds another one (the usual cause of the incident).
    FakeTelegram(api, APP_TOKEN, username='app_bot')
    result, env = app_run(api, tmp_path, 'TELEGRAM_BOT_TOKEN=%s' % APP_TOKEN)
    assert result['bot']['username'] == 'app_bot' and result['credentials_source'] == 'app'
    assert result['credentials_match'] == {'bot_token': False} and result['passed'] is False
    assert result['findings_by_kind']['credentials'] == [
        "the app's TELEGRAM_BOT_TOKEN (in %s) differs from the one this run was given (the vault's): the app runs "
        "with a credential the vault does not hold, and the checks used the app's" % env]


def test_the_same_token_in_the_app_and_the_vault_passes(api, tmp_path):
    FakeTelegram(api, TOKEN, username='quiz_bot')
    result, _env = app_run(api, tmp_path, 'export TELEGRAM_BOT_TOKEN="%s"' % TOKEN)
    assert result['passed'] is True and result['credentials_match'] == {'bot_token': True}
    assert result['credentials_source'] == 'app'
    without = run(api)
    assert without['credentials_source'] == 'given' and without['credentials_match'] == {}


def test_an_env_file_without_the_token_is_a_finding_and_the_given_one_is_checked(api, tmp_path):
    FakeTelegram(api, TOKEN)
    result, env = app_run(api, tmp_path, 'BOT=1', app_env_names={'bot_token': 'BOT_TOKEN'})
    assert result['credentials_source'] == 'given' and result['credentials_match'] == {'bot_token': None}
    assert result['findings'] == ["the app's env file %s sets no BOT_TOKEN: the app runs without it" % env]


def test_a_malformed_app_token_and_unknown_names_fail_clearly(api, tmp_path):
    FakeTelegram(api, TOKEN)
    result, env = app_run(api, tmp_path, 'TELEGRAM_BOT_TOKEN=not-a-token')
    assert result['failed'] and result['msg'].startswith("the app's TELEGRAM_BOT_TOKEN in %s is not a bot token" % env)
    assert 'not-a-token' not in str(result)
    result, _env = app_run(api, tmp_path, 'TELEGRAM_BOT_TOKEN=%s' % TOKEN, app_env_names={'token': 'X'})
    assert result['failed'] and result['msg'] == 'app_env_names: unknown option(s) token (known: bot_token)'
