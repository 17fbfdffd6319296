# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import incident_notify

from tgops_fake_api import assert_no_secret
from tgops_module_runner import run_module

TOKEN = '5550009876:AAE_notifyBotSecretPart-xyz0123456789'
DB_PASSWORD = 'pg-Secret-Pass-42'
SLACK_PATH = '/services/T000/B000/slackSecretPathXYZ'
CHAT = '-1001234567890'


def sent_message(req):
    return (200, {'ok': True, 'result': {'message_id': 77, 'chat': {'id': int(CHAT)}, 'date': 1,
                                         'text': req.params.get('text')}})


def run(args, check_mode=False):
    result = run_module(incident_notify, args, check_mode=check_mode)
    assert_no_secret(result, TOKEN, DB_PASSWORD, SLACK_PATH)
    return result


def telegram_args(api, **more):
    return dict(dict(text='[P0] tgquiz-lab: started', chat_id=CHAT, bot_token=TOKEN, api_url=api.url), **more)


def test_off_when_no_channel_is_configured(api, monkeypatch):
    monkeypatch.delenv('TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN', raising=False)
    monkeypatch.delenv('TGOPS_NOTIFY_SLACK_WEBHOOK_URL', raising=False)
    result = run(dict(text='[P0] started'))
    assert result['skipped'] is True and result['sent'] == [] and result['passed'] is True
    assert result['changed'] is False and result['warnings'] == []
    assert api.requests == []


def test_telegram_gets_the_message_with_secrets_masked(api):
    api.route('/bot%s/sendMessage' % TOKEN, sent_message)
    result = run(telegram_args(api, text='db down: password authentication failed (%s)' % DB_PASSWORD,
                               redact=[DB_PASSWORD]))
    assert result['changed'] is True and result['passed'] is True and result['skipped'] is False
    assert result['sent'] == [{'channel': 'telegram', 'message_id': 77}]
    (req,) = api.calls('/sendMessage')
    assert req.params['chat_id'] == CHAT
    assert DB_PASSWORD not in req.params['text'] and '********' in req.params['text']


def test_the_bot_token_never_reaches_the_chat(api):
    api.route('/bot%s/sendMessage' % TOKEN, sent_message)
    run(telegram_args(api, text='webhook url https://api.telegram.org/bot%s/getMe failed' % TOKEN))
    (req,) = api.calls('/sendMessage')
    assert TOKEN not in req.params['text'] and TOKEN.split(':')[1] not in req.params['text']


def test_a_long_message_is_cut_and_says_so(api):
    api.route('/bot%s/sendMessage' % TOKEN, sent_message)
    result = run(telegram_args(api, text='x' * 10000))
    (req,) = api.calls('/sendMessage')
    assert len(req.params['text']) == incident_notify.MAX_TEXT
    assert req.params['text'].endswith('characters]') and result['text'] == req.params['text']


@pytest.mark.parametrize('status,body,expect', [
    (400, {'ok': False, 'error_code': 400, 'description': 'Bad Request: chat not found'}, 'chat not found'),
    (401, {'ok': False, 'error_code': 401, 'description': 'Unauthorized'}, 'token rejected'),
    (403, {'ok': False, 'error_code': 403, 'description': 'Forbidden: bot was kicked from the group chat'},
     'kicked'),
    (200, {'ok': True, 'result': True}, 'malformed'),
])
def test_a_refused_message_is_a_problem_not_a_failure(api, status, body, expect):
    api.route('/bot%s/sendMessage' % TOKEN, (status, body))
    result = run(telegram_args(api))
    assert 'failed' not in result
    assert result['passed'] is False and result['sent'] == [] and result['changed'] is False
    assert expect in result['findings'][0] and result['findings'][0].startswith('telegram: ')
    assert any(expect in w for w in result['warnings'])


def test_fail_on_problem_fails_the_task(api):
    api.route('/bot%s/sendMessage' % TOKEN, (400, {'ok': False, 'error_code': 400,
                                                   'description': 'Bad Request: chat not found'}))
    result = run(telegram_args(api, fail_on_problem=True))
    assert result['failed'] is True and 'chat not found' in result['msg']


def test_rate_limit_is_waited_within_the_budget(api, no_sleep):
    api.route('/bot%s/sendMessage' % TOKEN,
              (429, {'ok': False, 'error_code': 429, 'description': 'Too Many Requests: retry after 2',
                     'parameters': {'retry_after': 2}}, {'Retry-After': '2'}),
              sent_message)
    result = run(telegram_args(api))
    assert result['passed'] is True and no_sleep == [2]


@pytest.mark.parametrize('args,expect', [
    (dict(chat_id=CHAT), 'chat_id is set but bot_token is not'),
    (dict(bot_token=TOKEN), 'bot_token is set but chat_id is not'),
    (dict(chat_id=CHAT, bot_token='bot' + TOKEN), 'must not start with "bot"'),
    (dict(chat_id=CHAT, bot_token='not a token'), 'malformed'),
    (dict(slack_webhook_url='ftp://hooks.example.org' + SLACK_PATH), 'not an http(s) URL'),
])
def test_half_configured_channels_are_named(api, monkeypatch, args, expect):
    monkeypatch.delenv('TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN', raising=False)
    result = run(dict(dict(text='hello', api_url=api.url), **args))
    assert result['passed'] is False and result['skipped'] is False and result['sent'] == []
    assert expect in result['findings'][0]
    assert api.requests == []


def test_token_from_the_environment(api, monkeypatch):
    monkeypatch.setenv('TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN', TOKEN)
    api.route('/bot%s/sendMessage' % TOKEN, sent_message)
    result = run(dict(text='hello', chat_id=CHAT, api_url=api.url))
    assert result['sent'] == [{'channel': 'telegram', 'message_id': 77}]


def test_slack_takes_the_message(api):
    api.route(SLACK_PATH, (200, 'ok', {'Content-Type': 'text/plain'}))
    result = run(dict(text='[P0] resolved %s' % DB_PASSWORD, redact=[DB_PASSWORD],
                      slack_webhook_url=api.url + SLACK_PATH))
    assert result['sent'] == [{'channel': 'slack', 'message_id': None}] and result['passed'] is True
    (req,) = api.calls(SLACK_PATH)
    assert req.params['text'] == '[P0] resolved ********'


@pytest.mark.parametrize('status,word', [(404, 'no_service'), (403, 'invalid_token'), (400, 'invalid_payload'),
                                         (410, 'channel_is_archived')])
def test_slack_refusals_are_named_without_the_url(api, status, word):
    api.route(SLACK_PATH, (status, word, {'Content-Type': 'text/plain'}))
    result = run(dict(text='hello', slack_webhook_url=api.url + SLACK_PATH))
    assert result['passed'] is False and word in result['findings'][0] and str(status) in result['findings'][0]


def test_unreachable_slack_is_a_problem_without_the_url(monkeypatch):
    result = run(dict(text='hello', slack_webhook_url='http://127.0.0.1:9' + SLACK_PATH, timeout=2))
    assert result['passed'] is False and result['findings'][0].startswith('slack: ')


def test_both_channels(api):
    api.route('/bot%s/sendMessage' % TOKEN, sent_message)
    api.route(SLACK_PATH, (200, 'ok'))
    result = run(telegram_args(api, slack_webhook_url=api.url + SLACK_PATH))
    assert [s['channel'] for s in result['sent']] == ['telegram', 'slack']


def test_check_mode_sends_nothing(api):
    result = run(telegram_args(api, slack_webhook_url=api.url + SLACK_PATH), check_mode=True)
    assert result['changed'] is True and [s['channel'] for s in result['sent']] == ['telegram', 'slack']
    assert api.requests == []


@pytest.mark.parametrize('text', ['', '   \n'])
def test_empty_text_fails_clearly(api, text):
    result = run(telegram_args(api, text=text))
    assert result['failed'] is True and 'text is empty' in result['msg']
