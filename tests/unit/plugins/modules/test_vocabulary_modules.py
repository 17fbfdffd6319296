# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module vocabulary at run time (docs/module-vocabulary.md): the switch is ``fail_on_problem`` and the
verdict ``passed`` (the names used before the first release are refused and no longer returned), ``timeout``
bounds the whole call, and every secret option reads its environment variable. The static rule (names in the specs and docs) is tests/unit/test_vocabulary.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

from ansible.module_utils.common import arg_spec
from ansible_collections.tgops.runbooks.plugins.module_utils._http import APIError, JSONAPIClient
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import Redactor
from ansible_collections.tgops.runbooks.plugins.modules import (
    health_check,
    pinata_auth_info,
    platform_info,
    telegram_bot_info,
    telegram_webhook,
    ton_wallet_info,
)

from tgops_fake_api import FakeTelegram, assert_no_secret
from tgops_module_runner import run_module

TOKEN = '5550001234:AAE_secretPartOfTheTokenXYZ-abcdefghi'
OTHER_TOKEN = '5550009999:AAE_anotherSecretPartOfTheToken-xyz'
WEBHOOK_SECRET = 'webhookSecret_0123456789'
TON_KEY = 'f00dbeefcafe0123456789abcdef0123456789abcdef0123456789abcdef0123'
ADDRESS = 'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N'
PIN_KEY, PIN_SECRET, PIN_JWT = 'pinKey0123456789', 'pinSecret0123456789abcdef', 'eyJhbGciOi.pinJwtBody.sig123'
ENV_NAMES = ('TELEGRAM_BOT_TOKEN', 'TELEGRAM_WEBHOOK_SECRET', 'TONCENTER_API_KEY', 'PINATA_JWT', 'PINATA_API_KEY',
             'PINATA_SECRET_KEY', 'PGPASSWORD')


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No credential leaks in from the environment the tests run in."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def deprecations(monkeypatch):
    """The deprecations ansible-core records while validating the module's arguments."""
    seen = []
    monkeypatch.setattr(arg_spec, 'deprecate', lambda msg, **kwargs: seen.append(dict(kwargs, msg=msg)))
    return seen


# --- the fail switch and the verdict key ------------------------------------------------------------------

@pytest.mark.parametrize('module, args, old', [
    (telegram_bot_info, dict(bot_token=TOKEN), 'fail_on_unhealthy'),
    (health_check, dict(url='http://127.0.0.1:9/health'), 'fail_on_unhealthy'),
    (ton_wallet_info, dict(address=ADDRESS), 'fail_below_threshold'),
    (pinata_auth_info, dict(jwt=PIN_JWT), 'fail_on_invalid'),
])
def test_former_switch_names_are_refused(module, args, old):
    """Dropped before the first release: a playbook that still says the old name fails, naming it."""
    result = run_module(module, dict(args, **{old: True}))
    assert result['failed'] is True and old in result['msg'] and 'Unsupported parameters' in result['msg'], result


def test_telegram_bot_info_fail_on_problem(api, deprecations):
    FakeTelegram(api, TOKEN)
    ok = run_module(telegram_bot_info, dict(bot_token=TOKEN, api_url=api.url, expect_webhook=True))
    assert ok.get('failed') is None and ok['passed'] is False, 'an _info module reports by default'
    failed = run_module(telegram_bot_info, dict(bot_token=TOKEN, api_url=api.url, expect_webhook=True,
                                                fail_on_problem=True))
    assert failed['failed'] is True and failed['passed'] is False and 'no webhook is set' in failed['msg']
    assert deprecations == []


def _health_server(api, status=503):
    api.route('/health', (status, {'status': 'unhealthy' if status >= 500 else 'healthy', 'version': 'v1'}))
    return api.url + '/health'


def test_health_check_switch_and_verdict(api, deprecations):
    url = _health_server(api)
    result = run_module(health_check, dict(url=url, timeout=0, fail_on_problem=False))
    assert result.get('failed') is None and result['passed'] is False and 'healthy' not in result
    assert run_module(health_check, dict(url=url, timeout=0))['failed'] is True, 'a check action fails by default'
    good = run_module(health_check, dict(url=_health_server(api, 200), timeout=0))
    assert good['passed'] is True and 'healthy' not in good
    assert deprecations == []


def _ton_ok(api, balance='1000000000'):
    api.route('/api/v2/getAddressInformation*', (200, {'ok': True, 'result': {
        'balance': balance, 'state': 'active'}}))


def test_ton_wallet_info_passed_is_the_balance_at_or_above_the_minimum(api, deprecations):
    _ton_ok(api)
    low = run_module(ton_wallet_info, dict(address=ADDRESS, api_url=api.url + '/api/v2', min_balance_ton='2',
                                           fail_on_problem=True))
    assert low['failed'] is True and low['passed'] is False and 'below_threshold' not in low
    assert low['findings'] == ['balance 1 TON is below min_balance_ton 2 TON']
    fine = run_module(ton_wallet_info, dict(address=ADDRESS, api_url=api.url + '/api/v2', min_balance_ton='0.5',
                                            fail_on_problem=True))
    assert fine.get('failed') is None and fine['passed'] is True and fine['findings'] == []
    assert deprecations == []
    unset = run_module(ton_wallet_info, dict(address=ADDRESS, api_url=api.url + '/api/v2'))
    assert unset['passed'] is True, 'no minimum, nothing to fail'


def test_pinata_switch_and_verdict(api, deprecations):
    api.route('/data/testAuthentication', (401, {'error': {'reason': 'INVALID_CREDENTIALS', 'details': 'bad'}}))
    result = run_module(pinata_auth_info, dict(jwt=PIN_JWT, api_url=api.url, fail_on_problem=True))
    assert result['failed'] is True and result['passed'] is False and 'authenticated' not in result
    assert result['findings'] == ['Pinata refuses the credentials (HTTP 401 INVALID_CREDENTIALS: bad)']
    assert deprecations == []


# --- timeout: a deadline for the whole call ------------------------------------------------------------------

def _slow(seconds, answer):
    def respond(req):
        time.sleep(seconds)
        return answer
    return respond


def test_timeout_bounds_every_request_of_the_client_together(api):
    # Two requests of 0.7 s each: within a 1 s timeout per request, not within 1 s for the whole call.
    api.route('/a', _slow(0.7, (200, {'ok': True})))
    api.route('/b', _slow(0.7, (200, {'ok': True})))
    client = JSONAPIClient(api.url, 'X', Redactor(), timeout=1)
    started = time.monotonic()
    assert client.request('GET', 'a').status == 200
    with pytest.raises(APIError) as exc:
        client.request('GET', 'b')
    assert exc.value.kind == 'timeout'
    assert 'within 1 seconds (timeout: one deadline for the whole call)' in exc.value.msg
    assert time.monotonic() - started < 1.6


@pytest.mark.parametrize('module, args, path', [
    (telegram_bot_info, dict(bot_token=TOKEN), '/bot%s/getMe' % TOKEN),
    (telegram_webhook, dict(bot_token=TOKEN, state='absent'), '/bot%s/getWebhookInfo' % TOKEN),
    (ton_wallet_info, dict(address=ADDRESS, api_url_suffix='/api/v2'), '/api/v2/getAddressInformation*'),
    (pinata_auth_info, dict(jwt=PIN_JWT), '/data/testAuthentication'),
])
def test_timeout_is_seconds_as_a_float_in_every_api_module(api, module, args, path):
    """timeout is a float everywhere (docs/module-vocabulary.md): 1.5 s is a deadline of 1.5 s, not 1 nor 2."""
    args = dict(args)
    api_url = api.url + args.pop('api_url_suffix', '')
    api.route(path, _slow(3, (200, {'ok': True})))
    started = time.monotonic()
    result = run_module(module, dict(args, api_url=api_url, timeout=1.5))
    elapsed = time.monotonic() - started
    assert result['failed'] is True and 'within 1.5 seconds' in result['msg'], result['msg']
    assert 1.4 < elapsed < 2.4
    refused = run_module(module, dict(args, api_url=api_url, timeout='nan'))
    assert refused['failed'] is True and refused['msg'].startswith('timeout must be between 1 and 86400 seconds')


# --- secret options read their environment variables -------------------------------------------------------

def test_bot_token_from_environment(api, monkeypatch):
    FakeTelegram(api, TOKEN, username='env_bot')
    monkeypatch.setenv('TELEGRAM_BOT_TOKEN', TOKEN)
    result = run_module(telegram_bot_info, dict(api_url=api.url))
    assert result.get('failed') is None, result
    assert result['bot']['username'] == 'env_bot'
    assert_no_secret(result, TOKEN)


def test_bot_token_option_beats_environment(api, monkeypatch):
    FakeTelegram(api, TOKEN, username='option_bot')
    monkeypatch.setenv('TELEGRAM_BOT_TOKEN', OTHER_TOKEN)
    result = run_module(telegram_bot_info, dict(bot_token=TOKEN, api_url=api.url))
    assert result['bot']['username'] == 'option_bot'


def test_bot_token_missing_everywhere_is_a_clear_failure(api):
    result = run_module(telegram_bot_info, dict(api_url=api.url))
    assert result['failed'] is True and 'bot_token' in result['msg']
    assert api.requests == []


def test_webhook_secret_and_token_from_environment(api, monkeypatch):
    fake = FakeTelegram(api, TOKEN)
    monkeypatch.setenv('TELEGRAM_BOT_TOKEN', TOKEN)
    monkeypatch.setenv('TELEGRAM_WEBHOOK_SECRET', WEBHOOK_SECRET)
    result = run_module(telegram_webhook, dict(api_url=api.url, url='https://bot.example.org/hook'))
    assert result.get('failed') is None, result
    assert result['changed'] is True and result['secret_token_sent'] is True
    assert fake.set_calls[-1]['secret_token'] == WEBHOOK_SECRET
    assert_no_secret(result, TOKEN, WEBHOOK_SECRET)


def test_toncenter_key_from_environment(api, monkeypatch):
    _ton_ok(api)
    monkeypatch.setenv('TONCENTER_API_KEY', TON_KEY)
    result = run_module(ton_wallet_info, dict(address=ADDRESS, api_url=api.url + '/api/v2'))
    assert result.get('failed') is None, result
    assert api.requests[-1].headers.get('X-API-Key') == TON_KEY
    assert_no_secret(result, TON_KEY)


@pytest.fixture
def pinata_ok(api):
    api.route('/data/testAuthentication', (200, {'message': 'Congratulations!'}))
    return api


def test_pinata_jwt_from_environment(pinata_ok, monkeypatch):
    monkeypatch.setenv('PINATA_JWT', PIN_JWT)
    monkeypatch.setenv('PINATA_API_KEY', PIN_KEY)  # the JWT wins, the pair is not mixed in
    result = run_module(pinata_auth_info, dict(api_url=pinata_ok.url))
    assert result.get('failed') is None and result['passed'] is True and result['auth_method'] == 'jwt'
    assert pinata_ok.requests[-1].headers.get('Authorization') == 'Bearer ' + PIN_JWT
    assert pinata_ok.requests[-1].headers.get('pinata_api_key') is None


def test_pinata_key_pair_from_environment(pinata_ok, monkeypatch):
    monkeypatch.setenv('PINATA_API_KEY', PIN_KEY)
    monkeypatch.setenv('PINATA_SECRET_KEY', PIN_SECRET)
    result = run_module(pinata_auth_info, dict(api_url=pinata_ok.url))
    assert result.get('failed') is None and result['auth_method'] == 'api_key'
    sent = pinata_ok.requests[-1].headers
    assert sent.get('pinata_api_key') == PIN_KEY and sent.get('pinata_secret_api_key') == PIN_SECRET
    assert_no_secret(result, PIN_KEY, PIN_SECRET)


def test_pinata_options_win_over_environment(pinata_ok, monkeypatch):
    # ansible-core applies argument_spec fallbacks before mutually_exclusive: with a fallback this would fail.
    monkeypatch.setenv('PINATA_API_KEY', PIN_KEY)
    monkeypatch.setenv('PINATA_SECRET_KEY', PIN_SECRET)
    result = run_module(pinata_auth_info, dict(api_url=pinata_ok.url, jwt=PIN_JWT))
    assert result.get('failed') is None, result
    assert result['auth_method'] == 'jwt' and pinata_ok.requests[-1].headers.get('pinata_api_key') is None


@pytest.mark.parametrize('present,missing', [('PINATA_API_KEY', 'PINATA_SECRET_KEY'),
                                             ('PINATA_SECRET_KEY', 'PINATA_API_KEY')])
def test_pinata_half_a_pair_in_environment_fails_clearly(pinata_ok, monkeypatch, present, missing):
    monkeypatch.setenv(present, PIN_SECRET)
    result = run_module(pinata_auth_info, dict(api_url=pinata_ok.url))
    assert result['failed'] is True
    assert '%s is set in the environment but %s is not' % (present, missing) in result['msg']
    assert_no_secret(result, PIN_SECRET)
    assert pinata_ok.requests == []


def test_pinata_no_credential_anywhere(pinata_ok):
    result = run_module(pinata_auth_info, dict(api_url=pinata_ok.url))
    assert result['failed'] is True and 'PINATA_JWT' in result['msg'] and 'jwt, api_key' in result['msg']


def test_platform_info_database_password_from_pgpassword(monkeypatch):
    from test_platform_info import PASSWORD, FakeDocker, args, inspect_doc
    monkeypatch.setenv('PGPASSWORD', PASSWORD)
    spec = args()
    del spec['database']['password']
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')])
    result = run_module(platform_info, spec, run_command=fake)
    assert result['database']['reachable'] is True, result
    assert any(data == PASSWORD for dummy, data in fake.calls), 'the password from PGPASSWORD goes on stdin'
    assert all(PASSWORD not in ' '.join(argv) for argv, dummy in fake.calls)
