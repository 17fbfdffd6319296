# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils._telegram import (
    TelegramClient,
    TelegramError,
    check_token,
    describe_webhook,
    iso_utc,
    token_redactor,
)

import tgops_fake_api as fake_api  # from tests/unit/plugins/modules (see ../conftest.py)

TOKEN = '987654321:AAFsecretSECRETsecret_secret-123456789'


@pytest.mark.parametrize('token', [
    '1234567890:AAH0123456789abcdefghijklmnopqrstuvw',
    '1:a',
    '123:with-dash_and_underscore',
])
def test_plausible_tokens(token):
    assert check_token(token) is None


@pytest.mark.parametrize('token,fragment', [
    ('', 'empty'),
    ('12345678AAHsecretwithoutcolon', 'no ":"'),
    ('bot123456:AAHsecretsecretsecret', 'must not start with "bot"'),
    ('123456:AAHsecret\n', 'whitespace'),
    (' 123456:AAHsecret', 'whitespace'),
    ('abc:AAHsecretsecret', 'numeric bot id'),
    ('0123:AAHsecretsecret', 'must not start with 0'),
    ('123456:', 'nothing follows'),
    ('123456:AAH/secret', 'only letters'),
    ('123456:AAH secret', 'only letters'),
    ('99999999999999999999:AAHsecretsecret', 'too large'),
])
def test_malformed_tokens_are_explained_without_echo(token, fragment):
    reason = check_token(token)
    assert reason is not None
    assert fragment in reason
    if token.strip():
        assert token.strip() not in reason
        secret = token.strip().partition(':')[2]
        if len(secret) > 3:
            assert secret not in reason


def test_token_redactor_masks_token_and_its_secret_half():
    redact = token_redactor(TOKEN)
    secret = TOKEN.partition(':')[2]
    assert secret not in redact('the secret alone: %s' % secret)
    assert TOKEN.replace(':', '%3A') not in redact('/bot%s/' % TOKEN.replace(':', '%3A'))


def test_iso_and_describe_webhook():
    assert iso_utc(0) == '1970-01-01T00:00:00Z'
    assert iso_utc(None) is None
    hook = describe_webhook({'url': 'https://h/x', 'pending_update_count': 3, 'last_error_date': 1000,
                             'last_error_message': 'boom'}, 1060.5)
    assert hook['is_set'] is True
    assert hook['last_error_age'] == 60
    assert hook['last_error_date_iso'] == '1970-01-01T00:16:40Z'
    assert hook['max_connections'] is None and hook['allowed_updates'] is None
    empty = describe_webhook({'url': '', 'has_custom_certificate': False, 'pending_update_count': 0}, 5)
    assert empty['is_set'] is False and empty['last_error_age'] is None


def make_client(api, **kwargs):
    return TelegramClient(TOKEN, api_url=api.url, timeout=5, **kwargs)


def error_for(api, status, description, method='getMe', **extra):
    body = dict(ok=False, error_code=status, description=description)
    body.update(extra)
    api.route('/bot%s/%s' % (TOKEN, method), (status, body))
    with pytest.raises(TelegramError) as exc:
        make_client(api).call(method) if method != 'setWebhook' else make_client(api).set_webhook({'url': 'x'})
    fake_api.assert_no_secret(exc.value.msg, TOKEN)
    return exc.value


def test_401_token_rejected(api):
    err = error_for(api, 401, 'Unauthorized')
    assert 'token rejected (revoked or invalid)' in err.msg
    assert err.error_code == 401


def test_404_is_reported_as_a_wrong_path(api):
    err = error_for(api, 404, 'Not Found')
    assert 'token rejected' not in err.msg
    assert 'request path was not recognised' in err.msg
    assert 'A revoked or unknown token answers 401, not 404' in err.msg


def test_409_description_passed_through(api):
    err = error_for(api, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                              "to delete the webhook first", method='getUpdates')
    assert "Conflict: can't use getUpdates method while webhook is active" in err.msg
    assert err.error_code == 409


def test_400_description_passed_through_and_redacted(api):
    err = error_for(api, 400, 'Bad Request: invalid webhook URL specified: https://h/bot%s' % TOKEN,
                    method='setWebhook')
    assert 'Bad Request: invalid webhook URL specified' in err.msg
    assert '********' in err.msg
    assert 'setWebhook failed: Telegram answered 400' in err.msg


def test_500_non_json(api):
    api.route('/bot%s/getMe' % TOKEN, (502, 'upstream for /bot%s failed' % TOKEN.replace(':', '%3A')))
    with pytest.raises(TelegramError) as exc:
        make_client(api).get_me()
    assert 'not JSON' in exc.value.msg
    fake_api.assert_no_secret(exc.value.msg, TOKEN)


def test_429_retried_then_success(api, no_sleep):
    api.route('/bot%s/getMe' % TOKEN,
              (429, {'ok': False, 'error_code': 429, 'description': 'Too Many Requests: retry after 1',
                     'parameters': {'retry_after': 1}}, {'Retry-After': '1'}),
              (200, {'ok': True, 'result': {'id': 987654321, 'is_bot': True, 'first_name': 'B'}}))
    assert make_client(api).get_me()['id'] == 987654321
    assert no_sleep == [1]


def test_429_gives_up_clearly(api, no_sleep):
    api.route('/bot%s/setWebhook' % TOKEN,
              (429, {'ok': False, 'error_code': 429, 'description': 'Too Many Requests: retry after 120',
                     'parameters': {'retry_after': 120}}, {'Retry-After': '120'}))
    with pytest.raises(TelegramError) as exc:
        make_client(api).set_webhook({'url': 'https://h'})
    assert exc.value.kind == 'rate_limited'
    assert 'retry after 120' in exc.value.msg
    assert 'max_retry_wait=30' in exc.value.msg
    assert no_sleep == []
    fake_api.assert_no_secret(exc.value.msg, TOKEN)


def test_set_and_delete_return_description(api):
    fake_api.FakeTelegram(api, TOKEN)
    client = make_client(api)
    assert client.set_webhook({'url': 'https://h/x', 'max_connections': 5})[1] == 'Webhook was set'
    assert client.set_webhook({'url': 'https://h/x', 'max_connections': 5})[1] == 'Webhook is already set'
    assert client.get_webhook_info()['max_connections'] == 5
    assert client.delete_webhook()[1] == 'Webhook was deleted'
    assert client.delete_webhook()[1] == 'Webhook is already deleted'


def test_certificate_is_uploaded_as_multipart(api, tmp_path):
    fake = fake_api.FakeTelegram(api, TOKEN)
    cert = tmp_path / 'pub.pem'
    cert.write_text('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
    make_client(api).set_webhook({'url': 'https://h/x', 'allowed_updates': ['message'], 'drop_pending_updates':
                                  False}, certificate=(str(cert), cert.read_bytes()))
    assert fake.webhook['has_custom_certificate'] is True
    assert fake.set_calls[0]['allowed_updates'] == '["message"]'
    assert fake.set_calls[0]['drop_pending_updates'] == 'false'
