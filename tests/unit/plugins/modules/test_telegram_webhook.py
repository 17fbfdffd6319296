# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils._telegram import describe_webhook
from ansible_collections.tgops.runbooks.plugins.modules import telegram_webhook
from ansible_collections.tgops.runbooks.plugins.modules.telegram_webhook import compare, set_webhook_params

from tgops_fake_api import FakeTelegram, assert_no_secret
from tgops_module_runner import run_module

TOKEN = '7770001234:AAG-webhookTestSecretPart_0123456789'
SECRET = 'whs3cret_Value-0123456789'
URL = 'https://bot.example.org/telegram/webhook'


@pytest.fixture
def tg(api):
    return FakeTelegram(api, TOKEN)


def run(api, check_mode=False, diff=True, **args):
    base = dict(bot_token=TOKEN, api_url=api.url)
    base.update(args)
    result = run_module(telegram_webhook, base, check_mode=check_mode, diff=diff)
    assert_no_secret(result, TOKEN, SECRET)
    return result


def four_ways(api, tg, **args):
    """check, real, idempotent check, idempotent real: the changed flags and the setWebhook/deleteWebhook count."""
    flags = []
    for check in (True, False, True, False):
        before = len(tg.set_calls) + len(api.calls('deleteWebhook'))
        result = run(api, check_mode=check, **args)
        assert 'failed' not in result, result
        if check:
            assert len(tg.set_calls) + len(api.calls('deleteWebhook')) == before, 'API changed in check mode'
        flags.append(result['changed'])
    return flags


# --- comparison logic ---------------------------------------------------------------------------------------

def current(**kw):
    info = dict(url=URL, has_custom_certificate=False, pending_update_count=0, max_connections=40,
                ip_address='203.0.113.7')
    info.update(kw)
    return describe_webhook(info, 0)


def desired(**kw):
    d = dict(url=URL, max_connections=None, ip_address=None, allowed_updates=None, certificate=False,
             drop_pending_updates=False)
    d.update(kw)
    return d


@pytest.mark.parametrize('cur,want,diff', [
    (current(), desired(), []),
    (current(url=''), desired(), ['url']),
    (current(url='https://other/'), desired(), ['url']),
    (current(), desired(max_connections=40), []),
    (current(), desired(max_connections=10), ['max_connections']),
    (current(), desired(ip_address='203.0.113.7'), []),
    (current(), desired(ip_address='198.51.100.1'), ['ip_address']),
    (current(), desired(allowed_updates=[]), []),  # [] is the default set, which Telegram omits
    (current(allowed_updates=['message']), desired(allowed_updates=[]), ['allowed_updates']),
    (current(allowed_updates=['callback_query', 'message']), desired(allowed_updates=['message', 'callback_query']),
     []),
    (current(), desired(allowed_updates=['message']), ['allowed_updates']),
    (current(has_custom_certificate=True), desired(), ['certificate']),
    (current(), desired(certificate=True), ['certificate']),
    (current(has_custom_certificate=True), desired(certificate=True), []),
    (current(pending_update_count=5), desired(drop_pending_updates=True), ['pending_update_count']),
    (current(pending_update_count=0), desired(drop_pending_updates=True), []),
    (current(pending_update_count=5), desired(), []),
])
def test_compare(cur, want, diff):
    assert compare(cur, want) == diff


def test_set_webhook_params_keep_unmanaged_max_connections():
    params = dict(url=URL, max_connections=None, ip_address=None, allowed_updates=None, secret_token=SECRET)
    call = set_webhook_params(current(max_connections=77), params, send_secret=True, drop=False)
    assert call == dict(url=URL, max_connections=77, drop_pending_updates=False, secret_token=SECRET)
    call = set_webhook_params(current(url=''), params, send_secret=False, drop=True)
    assert call == dict(url=URL, drop_pending_updates=True)


# --- module runs against the fake Bot API -------------------------------------------------------------------

def test_create_four_ways(api, tg):
    args = dict(url=URL, secret_token=SECRET, allowed_updates=['message', 'callback_query'], max_connections=10)
    assert four_ways(api, tg, **args) == [True, True, False, False]
    assert len(tg.set_calls) == 1
    call = tg.set_calls[0]
    assert call['url'] == URL and call['secret_token'] == SECRET and call['max_connections'] == 10
    assert sorted(call['allowed_updates']) == ['callback_query', 'message']
    assert tg.secret == SECRET


def test_result_and_diff_mask_secret(api, tg):
    result = run(api, url=URL, secret_token=SECRET)
    assert result['changed'] is True
    assert result['api_call'] == 'setWebhook'
    assert result['api_description'] == 'Webhook was set'
    assert result['secret_token_sent'] is True
    assert result['differences'] == ['url']
    assert result['webhook']['url'] == URL and result['webhook']['max_connections'] == 40
    before, after = result['diff']['before'], result['diff']['after']
    assert before['url'] == '' and before['secret_token'] == '(none)'
    assert after['url'] == URL and after['secret_token'] == '******** (sent)'
    # A second run: nothing to do, and the secret shows as unreadable on both sides.
    again = run(api, url=URL, secret_token=SECRET)
    assert again['changed'] is False and again['api_call'] is None
    assert again['diff']['before'] == again['diff']['after']
    assert again['diff']['before']['secret_token'] == '(not readable)'


def test_check_mode_predicts_and_calls_nothing(api, tg):
    result = run(api, check_mode=True, url=URL, secret_token=SECRET, max_connections=5, drop_pending_updates=True)
    assert result['changed'] is True
    assert result['api_call'] is None
    assert tg.set_calls == []
    assert result['webhook']['url'] == URL and result['webhook']['max_connections'] == 5
    assert result['diff']['after']['secret_token'] == '******** (sent)'


def test_changed_secret_alone_is_not_applied_with_on_create(api, tg):
    run(api, url=URL, secret_token=SECRET)
    result = run(api, url=URL, secret_token='another_secret_value_42')
    assert result['changed'] is False
    assert len(tg.set_calls) == 1
    assert tg.secret == SECRET


def test_secret_sent_when_other_setting_changes(api, tg):
    run(api, url=URL, secret_token=SECRET)
    result = run(api, url=URL, secret_token='rotated_secret_value_1', max_connections=20)
    assert result['changed'] is True and result['differences'] == ['max_connections']
    assert tg.secret == 'rotated_secret_value_1'


def test_always_rotates_secret_and_is_idempotent_when_telegram_says_already_set(api, tg):
    run(api, url=URL, secret_token=SECRET)
    new = 'rotated_secret_value_2'
    flags = four_ways(api, tg, url=URL, secret_token=new, secret_token_update='always')
    # Check mode cannot know whether the secret differs: it predicts a change every time.
    assert flags == [True, True, True, False]
    assert tg.secret == new
    last = run(api, url=URL, secret_token=new, secret_token_update='always')
    assert last['changed'] is False
    assert last['api_description'] == 'Webhook is already set'
    assert last['diff']['before'] == last['diff']['after']
    assert_no_secret(last, new)


def test_always_requires_secret(api, tg):
    result = run(api, url=URL, secret_token_update='always')
    assert result['failed'] is True
    assert 'secret_token' in result['msg']


def test_unmanaged_max_connections_is_kept(api, tg):
    run(api, url=URL, max_connections=60)
    run(api, url='https://bot.example.org/v2/webhook')
    assert tg.webhook['max_connections'] == 60


def test_drop_pending_updates(api, tg):
    run(api, url=URL)
    tg.webhook['pending_update_count'] = 12
    result = run(api, url=URL, drop_pending_updates=True)
    assert result['changed'] is True and result['differences'] == ['pending_update_count']
    assert tg.webhook['pending_update_count'] == 0
    assert run(api, url=URL, drop_pending_updates=True)['changed'] is False


def test_delete_four_ways(api, tg):
    run(api, url=URL, secret_token=SECRET)
    assert four_ways(api, tg, state='absent') == [True, True, False, False]
    assert tg.webhook['url'] == ''
    assert len(api.calls('deleteWebhook')) == 1


def test_delete_diff(api, tg):
    run(api, url=URL, secret_token=SECRET)
    result = run(api, state='absent')
    assert result['api_description'] == 'Webhook was deleted'
    assert result['diff']['before']['url'] == URL
    assert result['diff']['after']['url'] == ''
    assert result['diff']['after']['secret_token'] == '(none)'


def test_delete_drops_pending_without_webhook(api, tg):
    tg.webhook['pending_update_count'] = 3
    result = run(api, state='absent', drop_pending_updates=True)
    assert result['changed'] is True and result['differences'] == ['pending_update_count']
    assert tg.webhook['pending_update_count'] == 0


def test_certificate_upload(api, tg, tmp_path):
    cert = tmp_path / 'public.pem'
    cert.write_text('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
    result = run(api, url=URL, certificate=str(cert))
    assert result['changed'] is True and tg.webhook['has_custom_certificate'] is True
    assert run(api, url=URL, certificate=str(cert))['changed'] is False
    # Without the option, the custom certificate is a difference.
    assert run(api, url=URL, check_mode=True)['differences'] == ['certificate']


def test_missing_certificate_file(api, tg, tmp_path):
    result = run(api, url=URL, certificate=str(tmp_path / 'nope.pem'))
    assert result['failed'] is True and 'not readable' in result['msg']
    assert api.requests == []


@pytest.mark.parametrize('args,fragment', [
    (dict(url=URL, secret_token='bad secret!'), 'secret_token must be 1-256 characters'),
    (dict(url=URL, secret_token='x' * 257), 'secret_token must be 1-256 characters'),
    (dict(url=URL, max_connections=0), 'max_connections must be between 1 and 100'),
    (dict(url=URL, max_connections=101), 'max_connections must be between 1 and 100'),
    (dict(url=''), 'url must not be empty'),
])
def test_invalid_options_fail_before_requests(api, tg, args, fragment):
    result = run(api, **args)
    assert result['failed'] is True
    assert fragment in result['msg']
    assert 'bad secret!' not in result['msg']
    assert api.requests == []


def test_400_description_passed_through(api, tg):
    result = run(api, url='http://insecure.example.org/hook')
    assert result['failed'] is True
    assert 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook' in result['msg']
    assert result['error_code'] == 400


def test_409_description_passed_through(api, tg):
    api.route('/bot%s/setWebhook' % TOKEN, (409, {'ok': False, 'error_code': 409,
                                                  'description': 'Conflict: terminated by other setWebhook'}))
    result = run(api, url=URL)
    assert result['failed'] is True
    assert 'Conflict: terminated by other setWebhook' in result['msg']


def test_revoked_token_message(api, tg):
    tg.revoked = True
    result = run(api, url=URL)
    assert result['failed'] is True
    assert 'token rejected' in result['msg']


def test_token_in_webhook_url_is_masked_everywhere(api, tg):
    url = 'https://bot.example.org/hook/%s' % TOKEN
    result = run(api, url=url)
    assert result['changed'] is True
    assert result['webhook']['url'] == 'https://bot.example.org/hook/********'
    assert tg.webhook['url'] == url  # the real value went to Telegram
    assert run(api, url=url)['changed'] is False  # compared on real values, not masked ones


def test_set_webhook_429_retried(api, tg, no_sleep):
    handler = api.routes['/bot%s/setWebhook' % TOKEN][0]
    api.route('/bot%s/setWebhook' % TOKEN,
              (429, {'ok': False, 'error_code': 429, 'description': 'Too Many Requests: retry after 1',
                     'parameters': {'retry_after': 1}}, {'Retry-After': '1'}),
              handler)
    result = run(api, url=URL)
    assert result['changed'] is True
    assert no_sleep == [1]


def test_secrets_echoed_by_the_server_are_masked_in_every_spelling(api, tg):
    quoted = TOKEN.replace(':', '%3A')
    api.route('/bot%s/setWebhook' % TOKEN, (400, {
        'ok': False, 'error_code': 400,
        'description': 'Bad Request: bad webhook: %s /bot%s/ %s %s' % (
            TOKEN, quoted, TOKEN.replace(':', '%3a'), SECRET)}))
    result = run(api, url=URL, secret_token=SECRET)
    assert result['failed'] is True
    assert result['msg'].count('********') == 4
    assert result['description'].startswith('Bad Request: bad webhook: ********')


# --- the real server's behaviour (issue 10), scripted in FakeTelegram --------------------------------------

def test_rejected_set_webhook_leaves_no_webhook_and_the_module_says_so(api, tg):
    # telegram-bot-api closes the current webhook before validating the new one: a refused change removes it.
    run(api, url=URL, secret_token=SECRET)
    result = run(api, url='http://insecure.example.org/hook')
    assert result['failed'] is True
    assert result['error_code'] == 400
    assert 'An HTTPS URL must be provided' in result['msg']
    assert 'the bot now has no webhook' in result['msg'] and URL in result['msg']
    assert result['webhook']['is_set'] is False and result['webhook']['url'] == ''
    assert result['changed'] is True  # the webhook is gone: that is a change, and the operator must know
    assert tg.webhook['url'] == ''
    assert len(api.calls('getWebhookInfo')) == 4  # before and after each of the two runs


def test_failed_change_with_unreadable_state_says_it_is_unknown(api, tg):
    run(api, url=URL)
    info = api.routes['/bot%s/getWebhookInfo' % TOKEN][0]
    api.route('/bot%s/getWebhookInfo' % TOKEN, info, (502, '<html>bad gateway</html>'))
    api.route('/bot%s/setWebhook' % TOKEN, (500, {'ok': False, 'error_code': 500, 'description': 'Internal'}))
    result = run(api, url=URL, max_connections=5)
    assert result['failed'] is True
    assert 'webhook state afterwards is unknown' in result['msg']
    assert 'webhook' not in result


def test_rate_limited_failure_reports_unchanged_state(api, tg, no_sleep):
    run(api, url=URL)
    api.route('/bot%s/setWebhook' % TOKEN, (429, {'ok': False, 'error_code': 429, 'description': 'Too Many Requests',
                                                  'parameters': {'retry_after': 3600}}))
    result = run(api, url=URL, max_connections=5)
    assert result['failed'] is True and result['changed'] is False
    assert 'rate limit' in result['msg'] and 'still has a webhook to %s' % URL in result['msg']
    assert no_sleep == []


def test_ip_address_always_reported_is_not_compared_unless_managed(api, tg):
    flags = four_ways(api, tg, url=URL, max_connections=10)
    assert flags == [True, True, False, False]
    assert tg.webhook['ip_address'] == FakeTelegram.RESOLVED_IP
    result = run(api, url=URL, max_connections=10)
    assert 'ip_address' not in result['diff']['before'] and result['differences'] == []
    # Managed, it is compared (and sent).
    assert four_ways(api, tg, url=URL, max_connections=10, ip_address='198.51.100.4') == [True, True, False, False]
    assert tg.webhook['ip_address'] == '198.51.100.4'


def test_only_allowed_updates_changed_answers_already_set_but_is_a_change(api, tg):
    run(api, url=URL, secret_token=SECRET, allowed_updates=['message'])
    result = run(api, url=URL, secret_token=SECRET, allowed_updates=['message', 'callback_query'],
                 secret_token_update='always')
    assert result['api_description'] == 'Webhook is already set'
    assert result['changed'] is True
    assert sorted(result['webhook']['allowed_updates']) == ['callback_query', 'message']
    again = run(api, url=URL, secret_token=SECRET, allowed_updates=['message', 'callback_query'],
                secret_token_update='always')
    assert again['api_description'] == 'Webhook is already set' and again['changed'] is False


def test_allowed_updates_compared_in_lower_case(api, tg):
    # Telegram lowercases update type names; "Message" must not differ from "message" on every run.
    assert four_ways(api, tg, url=URL, allowed_updates=['Message', 'CALLBACK_QUERY']) == [True, True, False, False]
    assert tg.webhook['allowed_updates'] == ['callback_query', 'message']


def test_set_webhook_rate_limit_one_per_second_is_waited_out(api, tg, no_sleep):
    tg.rate_limit = True
    run(api, url=URL, secret_token=SECRET)
    result = run(api, url=URL, secret_token='rotated_secret_value_3', secret_token_update='always')
    assert 'failed' not in result, result
    assert result['changed'] is True
    assert no_sleep == [1]
    assert len(tg.set_calls) == 3


@pytest.mark.parametrize('retry_after', ['NaN', 'Infinity', '-Infinity', '1e999', '"soon"', 'null'])
def test_non_finite_retry_after_is_a_clean_failure(api, tg, no_sleep, retry_after):
    body = ('{"ok": false, "error_code": 429, "description": "Too Many Requests", '
            '"parameters": {"retry_after": %s}}' % retry_after)
    api.route('/bot%s/setWebhook' % TOKEN, (429, body, {'Content-Type': 'application/json', 'Retry-After': 'nan'}))
    result = run(api, url=URL)
    assert result['failed'] is True
    assert 'rate limit' in result['msg'] or 'not JSON' in result['msg']
    assert all(math.isfinite(w) and w < 1e6 for w in no_sleep)  # finite waits only, never NaN or inf


def test_unknown_token_is_401_token_rejected(api, tg):
    result = run_module(telegram_webhook, dict(bot_token='5550001234:AAE_unknownButWellFormedToken-0000',
                                               api_url=api.url, url=URL))
    assert result['failed'] is True and result['error_code'] == 401 and result['token_rejected'] is True
    assert 'token rejected' in result['msg']


@pytest.mark.parametrize('bad', [dict(ip_address='2001:db8::1'), dict(ip_address='not an ip'),
                                 dict(allowed_updates=['message', 'bad type!']),
                                 dict(url='https://bot.example.org/a b')])
def test_more_invalid_options_fail_before_requests(api, tg, bad):
    args = dict(url=URL)
    args.update(bad)
    result = run(api, **args)
    assert result['failed'] is True
    assert api.requests == []
