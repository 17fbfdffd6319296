"""The incident_notify action plugin sends the message from the worker process, with no module shipped."""

import pytest

from ansible_collections.tgops.runbooks.plugins.action import incident_notify

from tgops_fake_api import assert_no_secret
from tgops_module_runner import run_action as run_plugin

TOKEN = '5550009876:AAE_notifyBotSecretPart-xyz0123456789'
DB_PASSWORD = 'pg-Secret-Pass-42'
SLACK_PATH = '/services/T000/B000/slackSecretPathXYZ'
CHAT = '-1001234567890'


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv('TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN', raising=False)
    monkeypatch.delenv('TGOPS_NOTIFY_SLACK_WEBHOOK_URL', raising=False)


def sent_message(req):
    return (200, {'ok': True, 'result': {'message_id': 77, 'chat': {'id': int(CHAT)}, 'date': 1,
                                         'text': req.params.get('text')}})


def run_action(args, check_mode=False):
    result = run_plugin(incident_notify, args, check_mode=check_mode)
    assert_no_secret(result, TOKEN, DB_PASSWORD, SLACK_PATH)
    return result


def telegram_args(api, **more):
    return dict(dict(text='[P0] tgquiz-lab: started', chat_id=CHAT, bot_token=TOKEN, api_url=api.url), **more)


def test_the_action_needs_no_connection():
    assert incident_notify.ActionModule._requires_connection is False
    assert incident_notify.ActionModule._supports_check_mode is True


def test_telegram_and_slack_get_the_message_with_secrets_masked(api):
    api.route('/bot%s/sendMessage' % TOKEN, sent_message)
    api.route(SLACK_PATH, (200, 'ok', {'Content-Type': 'text/plain'}))
    result = run_action(telegram_args(api, text='db down (%s) via bot%s' % (DB_PASSWORD, TOKEN),
                                      redact=[DB_PASSWORD], slack_webhook_url=api.url + SLACK_PATH))
    assert result['changed'] is True and result['passed'] is True and 'skipped' not in result
    assert result['sent'] == [{'channel': 'telegram', 'message_id': 77}, {'channel': 'slack', 'message_id': None}]
    assert result['findings'] == [] and 'warnings' not in result and 'failed' not in result
    (req,) = api.calls('/sendMessage')
    assert req.params['chat_id'] == CHAT and req.params['text'] == result['text']
    assert DB_PASSWORD not in req.params['text'] and TOKEN.split(':')[1] not in req.params['text']
    assert '********' in req.params['text']
    (slack,) = api.calls(SLACK_PATH)
    assert slack.params['text'] == result['text']


def test_the_token_comes_from_the_controller_environment(api, monkeypatch):
    monkeypatch.setenv('TGOPS_NOTIFY_TELEGRAM_BOT_TOKEN', TOKEN)
    api.route('/bot%s/sendMessage' % TOKEN, sent_message)
    result = run_action(dict(text='hello', chat_id=CHAT, api_url=api.url))
    assert result['sent'] == [{'channel': 'telegram', 'message_id': 77}]


def test_the_slack_webhook_comes_from_the_controller_environment(api, monkeypatch):
    monkeypatch.setenv('TGOPS_NOTIFY_SLACK_WEBHOOK_URL', api.url + SLACK_PATH)
    api.route(SLACK_PATH, (200, 'ok', {'Content-Type': 'text/plain'}))
    result = run_action(dict(text='hello'))
    assert result['sent'] == [{'channel': 'slack', 'message_id': None}] and len(api.calls(SLACK_PATH)) == 1


def test_check_mode_sends_nothing(api):
    result = run_action(telegram_args(api, slack_webhook_url=api.url + SLACK_PATH), check_mode=True)
    assert result['changed'] is True and [s['channel'] for s in result['sent']] == ['telegram', 'slack']
    assert all(s['message_id'] is None for s in result['sent'])
    assert api.requests == []


def test_off_when_no_channel_is_configured(api):
    result = run_action(dict(text='[P0] started'))
    assert result['skipped'] is True and result['sent'] == [] and result['passed'] is True
    assert result['changed'] is False and 'warnings' not in result
    assert api.requests == []


def test_a_missing_token_is_a_warning_not_a_failure(api):
    result = run_action(dict(text='hello', chat_id=CHAT, api_url=api.url))
    assert 'failed' not in result and result['passed'] is False and 'skipped' not in result
    assert 'chat_id is set but bot_token is not' in result['findings'][0]
    assert any('chat_id is set but bot_token is not' in w for w in result['warnings'])
    assert api.requests == []


@pytest.mark.parametrize('status,body,expect', [
    (400, {'ok': False, 'error_code': 400, 'description': 'Bad Request: chat not found'}, 'chat not found'),
    (401, {'ok': False, 'error_code': 401, 'description': 'Unauthorized'}, 'token rejected'),
])
def test_a_refused_message_is_a_warning_not_a_failure(api, status, body, expect):
    api.route('/bot%s/sendMessage' % TOKEN, (status, body))
    result = run_action(telegram_args(api, redact=[DB_PASSWORD]))
    assert 'failed' not in result
    assert result['passed'] is False and result['sent'] == [] and result['changed'] is False
    assert expect in result['findings'][0] and result['findings'][0].startswith('telegram: ')
    assert any(expect in w and w.startswith('incident notification: ') for w in result['warnings'])


def test_a_refused_slack_message_does_not_quote_the_webhook(api):
    api.route(SLACK_PATH, (404, 'no_service', {'Content-Type': 'text/plain'}))
    result = run_action(dict(text='hello', slack_webhook_url=api.url + SLACK_PATH))
    assert 'failed' not in result and result['passed'] is False
    assert 'no_service' in result['findings'][0] and '404' in result['findings'][0]


def test_fail_on_problem_fails_the_task(api):
    api.route('/bot%s/sendMessage' % TOKEN, (400, {'ok': False, 'error_code': 400,
                                                   'description': 'Bad Request: chat not found'}))
    result = run_action(telegram_args(api, fail_on_problem=True))
    assert result['failed'] is True and 'chat not found' in result['msg']
    assert result['msg'].startswith('incident notification not delivered: ')
    assert result['passed'] is False and result['findings']


def test_a_secret_in_the_error_of_an_unreachable_api_is_masked():
    result = run_action(dict(text='hello', chat_id=CHAT, bot_token=TOKEN, api_url='http://127.0.0.1:9', timeout=2,
                             max_retries=0))
    assert result['passed'] is False and result['findings'][0].startswith('telegram: ')


@pytest.mark.parametrize('text', ['', '   \n'])
def test_empty_text_fails_clearly(api, text):
    result = run_action(telegram_args(api, text=text))
    assert result['failed'] is True and 'text is empty' in result['msg']
    assert api.requests == []


def test_the_module_options_are_validated():
    # returned, not raised: ansible-core applies a task's failed_when only to a returned failure
    result = run_action(dict(text='hello', chat_idd=CHAT))
    assert result['failed'] is True and 'chat_idd' in result['msg']
    result = run_action(dict(text='hello', max_retries='inf'))
    assert result['failed'] is True and 'max_retries must be an integer' in result['msg']
    # timeout is seconds as a float (docs/module-vocabulary.md): inf is refused by its bounds
    result = run_action(dict(text='hello', chat_id=CHAT, bot_token=TOKEN, timeout='inf'))
    assert result['failed'] is True and 'timeout must be between 1 and 86400 seconds, got inf' in result['msg']


def test_an_undelivered_message_is_a_failure_failed_when_can_override(api):
    """fail_on_problem: failed and msg in the result, and no skipped key - ansible-core evaluates neither
    failed_when nor changed_when for a result that has one, even skipped: false."""
    api.route('/bot%s/sendMessage' % TOKEN, (500, {'ok': False, 'description': 'Internal Server Error'}))
    result = run_action(telegram_args(api, fail_on_problem=True, max_retries=0))
    assert result['failed'] is True and result['msg'].startswith('incident notification not delivered: telegram')
    assert 'skipped' not in result


def test_out_of_range_transport_options_fail(api):
    result = run_action(telegram_args(api, timeout=0))
    assert result['failed'] is True and 'timeout must be between' in result['msg']
