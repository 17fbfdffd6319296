# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import pinata_auth_info

from tgops_fake_api import assert_no_secret
from tgops_module_runner import run_module

KEY = 'a1b2c3d4e5f6a7b8c9d0'
SECRET = 'sEcReT0123456789abcdef0123456789abcdef0123456789abcdef0123456789'
JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0Z29wcyJ9.c2lnbmF0dXJlLXRoYXQtaXMtc2VjcmV0'
AUTH = '/data/testAuthentication'
USAGE = '/data/userPinnedDataTotal'
CONGRATS = 'Congratulations! You are communicating with the Pinata API!'


def run(api, **args):
    base = dict(api_key=KEY, api_secret=SECRET, api_url=api.url)
    base.update(args)
    if 'jwt' in args:
        del base['api_key'], base['api_secret']
    result = run_module(pinata_auth_info, base)
    assert_no_secret(result, KEY, SECRET, JWT)
    return result


def test_key_pair_authenticated(api):
    api.route(AUTH, (200, {'message': CONGRATS}))
    result = run(api)
    assert result['passed'] is True and result['status'] == 200
    assert result['message'] == CONGRATS and result['error_code'] is None and 'reason' not in result
    assert result['auth_method'] == 'api_key' and result['usage'] is None
    req = api.calls()[0]
    assert req.headers['pinata_api_key'] == KEY and req.headers['pinata_secret_api_key'] == SECRET
    assert 'Authorization' not in req.headers


def test_jwt_and_usage(api):
    api.route(AUTH, (200, {'message': CONGRATS}))
    api.route(USAGE, (200, {'pin_count': 3, 'pin_size_total': 1024, 'pin_size_with_replications_total': 2048}))
    result = run(api, jwt=JWT, usage=True)
    assert result['passed'] is True and result['auth_method'] == 'jwt'
    assert result['usage'] == {'pin_count': 3, 'pin_size_total': 1024, 'pin_size_with_replications_total': 2048}
    assert api.calls()[0].headers['Authorization'] == 'Bearer ' + JWT


@pytest.mark.parametrize('status,body,reason,message', [
    (401, {'error': {'reason': 'INVALID_CREDENTIALS', 'details': 'Invalid/expired credentials'}},
     'INVALID_CREDENTIALS', 'Invalid/expired credentials'),
    (400, {'error': {'reason': 'KEYS_MUST_BE_STRINGS',
                     'details': 'pinata_api_key and pinata_secret_api_key must both be strings'}},
     'KEYS_MUST_BE_STRINGS', 'pinata_api_key and pinata_secret_api_key must both be strings'),
    (403, {'error': 'Forbidden'}, None, 'Forbidden'),
    (401, 'Unauthorized', None, 'Unauthorized'),
    (401, {'message': 'token revoked', 'reason': 'REVOKED'}, 'REVOKED', 'token revoked'),
])
def test_rejections_are_results(api, status, body, reason, message):
    api.route(AUTH, (status, body))
    result = run(api, usage=True)
    assert 'failed' not in result
    assert result['passed'] is False
    assert result['status'] == status
    assert result['error_code'] == reason and result['message'] == message and 'reason' not in result
    assert result['usage'] is None
    assert len(api.calls()) == 1  # no usage call without authentication


def test_fail_on_problem(api):
    api.route(AUTH, (401, {'error': {'reason': 'INVALID_CREDENTIALS', 'details': 'Invalid/expired credentials'}}))
    result = run(api, fail_on_problem=True)
    assert result['failed'] is True
    assert 'Pinata rejected the credentials' in result['msg'] and 'INVALID_CREDENTIALS' in result['msg']
    assert result['passed'] is False


def test_secret_echoed_by_server_is_masked(api):
    api.route(AUTH, (401, {'error': {'reason': 'INVALID_CREDENTIALS', 'details': 'key %s / %s' % (KEY, SECRET)}}))
    result = run(api)
    assert result['message'] == 'key ******** / ********'


@pytest.mark.parametrize('status', [500, 502, 503])
def test_server_errors_fail(api, status):
    api.route(AUTH, (status, {'error': 'Internal Server Error'}))
    result = run(api)
    assert result['failed'] is True
    assert 'Pinata answered HTTP %d' % status in result['msg']


def test_unexpected_status_fails(api):
    api.route(AUTH, (404, 'no such route'))
    result = run(api)
    assert result['failed'] is True and 'HTTP 404' in result['msg'] and 'no such route' in result['msg']


def test_unreachable_fails(api):
    url = api.url
    api.close()
    result = run(api, api_url=url)
    assert result['failed'] is True
    assert 'cannot reach the Pinata API' in result['msg']


def test_429_retry_after_honoured(api, no_sleep):
    api.route(AUTH, (429, {'error': 'Too Many Requests'}, {'Retry-After': '5', 'X-RateLimit-Remaining': '0'}),
              (200, {'message': CONGRATS}))
    result = run(api)
    assert result['passed'] is True
    assert no_sleep == [5]


def test_429_retry_after_beyond_budget_fails_clearly(api, no_sleep):
    api.route(AUTH, (429, '', {'Retry-After': '60'}))
    result = run(api)
    assert result['failed'] is True
    assert 'rate limit' in result['msg'] and 'retry after 60 s' in result['msg']
    assert 'max_retry_wait=30' in result['msg'] and '30 requests per minute' in result['msg']
    assert no_sleep == []


def test_usage_refused_is_a_warning(api):
    api.route(AUTH, (200, {'message': CONGRATS}))
    refused = {'error': {'reason': 'NO_SCOPES_FOUND', 'details': 'This key does not have the required scopes'}}
    api.route(USAGE, (403, refused))
    result = run(api, usage=True)
    assert 'failed' not in result
    assert result['passed'] is True and result['usage'] is None
    assert any('NO_SCOPES_FOUND' in w for w in result['warnings'])


def test_usage_server_error_fails(api):
    api.route(AUTH, (200, {'message': CONGRATS}))
    api.route(USAGE, (500, {'error': 'boom'}))
    result = run(api, usage=True)
    assert result['failed'] is True and 'userPinnedDataTotal failed' in result['msg']


@pytest.mark.parametrize('args,fragment', [
    (dict(api_key=KEY), 'api_secret'),
    (dict(), 'one of the following is required'),
    (dict(api_key=KEY, api_secret=SECRET, jwt=JWT), 'mutually exclusive'),
])
def test_credential_options(api, args, fragment):
    result = run_module(pinata_auth_info, dict(args, api_url=api.url))
    assert result['failed'] is True and fragment in result['msg']
    assert api.requests == []
