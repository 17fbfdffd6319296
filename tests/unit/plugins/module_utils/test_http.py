# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import socket

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.common import warnings

from ansible_collections.tgops.runbooks.plugins.module_utils._http import (
    APIError,
    JSONAPIClient,
    check_url,
    parse_retry_after,
    plain_http_warning,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import MASK, Redactor, redact_url, url_secrets

import tgops_fake_api as fake_api  # from tests/unit/plugins/modules (see ../conftest.py)

TOKEN = '123456789:AAH-secretPartOfTheToken_0123456789x'


def client(api, **kwargs):
    kwargs.setdefault('max_retries', 3)
    kwargs.setdefault('max_retry_wait', 30)
    kwargs.setdefault('timeout', 5)
    return JSONAPIClient(api.url + '/bot' + TOKEN, 'Test', Redactor([TOKEN]), **kwargs)


# --- redaction ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('form', [
    TOKEN,
    '123456789%3AAAH-secretPartOfTheToken_0123456789x',
    '123456789%3aAAH-secretPartOfTheToken_0123456789x',
    '123456789%253AAAH-secretPartOfTheToken_0123456789x',
])
def test_redactor_removes_every_spelling(form):
    redact = Redactor([TOKEN])
    text = 'GET https://api.telegram.org/bot%s/getMe failed' % form
    out = redact(text)
    assert form not in out
    assert MASK in out
    assert out.startswith('GET https://api.telegram.org/bot')


def test_redactor_json_html_and_base64_forms():
    secret = 'p@ss "word"/with:stuff&more'
    redact = Redactor([secret])
    for text in (json.dumps({'a': secret}), 'x=%s' % __import__('html').escape(secret),
                 __import__('base64').b64encode(secret.encode()).decode(), 'q=' + __import__(
                     'urllib.parse').parse.quote_plus(secret)):
        assert secret not in redact(text)
        assert MASK in redact(text)


def test_redactor_nested_objects_and_keys():
    redact = Redactor([TOKEN, None, ''])
    obj = {'url': 'http://x/bot%s/' % TOKEN, 'list': [TOKEN, 1, None, {'k' + TOKEN: True}]}
    out = redact.redact_obj(obj)
    fake_api.assert_no_secret(out, TOKEN)
    assert out['list'][1] == 1 and out['list'][2] is None


def test_redactor_ignores_tiny_values():
    redact = Redactor(['ab'])
    assert redact('about abc') == 'about abc'


def test_parse_retry_after():
    assert parse_retry_after('5') == 5
    assert parse_retry_after(3) == 3
    assert parse_retry_after(None) is None
    assert parse_retry_after('Wed, 21 Oct 2015 07:28:00 GMT') is None
    assert parse_retry_after(-1) is None
    assert parse_retry_after(True) is None


# --- requests and rate limits -----------------------------------------------------------------------------

def tg429(after):
    return (429, {'ok': False, 'error_code': 429, 'description': 'Too Many Requests: retry after %d' % after,
                  'parameters': {'retry_after': after}}, {'Retry-After': str(after)})


def test_ok_json(api):
    api.route('/bot%s/getMe' % TOKEN, (200, {'ok': True, 'result': {'id': 1}}))
    resp = client(api).request('GET', 'getMe')
    assert resp.status == 200 and resp.json['result']['id'] == 1


def test_error_status_is_returned_not_raised(api):
    api.route('/bot%s/getMe' % TOKEN, (401, {'ok': False, 'error_code': 401, 'description': 'Unauthorized'}))
    resp = client(api).request('GET', 'getMe')
    assert resp.status == 401 and resp.json['description'] == 'Unauthorized'


def test_429_retried_with_retry_after_then_ok(api, no_sleep):
    api.route('/bot%s/setWebhook' % TOKEN, tg429(2), tg429(1), (200, {'ok': True, 'result': True}))
    c = client(api)
    resp = c.request('POST', 'setWebhook', json_body={'url': 'https://x'})
    assert resp.status == 200
    assert no_sleep == [2, 1]
    assert len(api.calls('setWebhook')) == 3
    assert c.retries == 2 and c.waited == 3


def test_429_gives_up_after_max_retries(api, no_sleep):
    api.route('/bot%s/getMe' % TOKEN, tg429(1))
    with pytest.raises(APIError) as exc:
        client(api, max_retries=2).request('GET', 'getMe')
    assert exc.value.kind == 'rate_limited'
    assert 'still rate limited after 2 retries' in exc.value.msg
    assert 'retry after 1' in exc.value.msg
    assert no_sleep == [1, 1]
    assert len(api.calls('getMe')) == 3
    fake_api.assert_no_secret(exc.value.msg, TOKEN)


def test_429_gives_up_at_once_when_wait_exceeds_budget(api, no_sleep):
    api.route('/bot%s/getMe' % TOKEN, tg429(300))
    with pytest.raises(APIError) as exc:
        client(api, max_retry_wait=30).request('GET', 'getMe')
    assert no_sleep == []
    assert 'retry after 300 s' in exc.value.msg
    assert 'max_retry_wait=30' in exc.value.msg
    assert len(api.calls('getMe')) == 1


def test_429_total_budget_is_bounded(api, no_sleep):
    api.route('/bot%s/getMe' % TOKEN, tg429(4))
    with pytest.raises(APIError):
        client(api, max_retries=10, max_retry_wait=10).request('GET', 'getMe')
    assert no_sleep == [4, 4]  # a third wait would pass 10 s


def test_429_retry_after_header_only(api, no_sleep):
    api.route('/data/x', (429, 'slow down', {'Retry-After': '3'}), (200, {'fine': 1}))
    c = JSONAPIClient(api.url, 'Pinata', Redactor())
    assert c.request('GET', '/data/x').json == {'fine': 1}
    assert no_sleep == [3]


def test_429_without_hint_backs_off_exponentially(api, no_sleep):
    api.route('/x', (429, {'ok': False, 'error': 'Ratelimit exceed', 'code': 429}))
    with pytest.raises(APIError) as exc:
        JSONAPIClient(api.url, 'toncenter', Redactor(), max_retries=3, max_retry_wait=60).request('GET', 'x')
    assert no_sleep == [1, 2, 4]
    assert 'Ratelimit exceed' in exc.value.msg


def test_body_code_429_with_http_200_is_rate_limited(api, no_sleep):
    api.route('/x', (200, {'ok': False, 'result': 'Ratelimit exceed', 'code': 429}), (200, {'ok': True}))
    resp = JSONAPIClient(api.url, 'toncenter', Redactor()).request('GET', 'x')
    assert resp.json == {'ok': True}
    assert no_sleep == [1]


def test_zero_retries_fails_on_first_429(api, no_sleep):
    api.route('/x', (429, {}))
    with pytest.raises(APIError) as exc:
        JSONAPIClient(api.url, 'X', Redactor(), max_retries=0).request('GET', 'x')
    assert 'after 0 retries' in exc.value.msg
    assert no_sleep == []


def test_invalid_json_is_reported(api):
    api.route('/bot%s/getMe' % TOKEN, (502, '<html>Bad gateway for bot%s</html>' % TOKEN))
    resp = client(api).request('GET', 'getMe')
    assert resp.json is None and resp.json_error
    assert TOKEN not in resp.excerpt(Redactor([TOKEN]))


def test_unreachable_is_redacted():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    c = JSONAPIClient('http://127.0.0.1:%d/bot%s' % (port, TOKEN), 'Telegram', Redactor([TOKEN]))
    with pytest.raises(APIError) as exc:
        c.request('GET', 'getMe')
    assert exc.value.kind == 'unreachable'
    assert 'cannot reach the Telegram API' in exc.value.msg
    fake_api.assert_no_secret(exc.value.msg, TOKEN)


def test_timeout(api):
    api.route('/slow', ('sleep', b'', {'seconds': 3}))
    with pytest.raises(APIError) as exc:
        JSONAPIClient(api.url, 'X', Redactor(), timeout=1).request('GET', 'slow')
    assert exc.value.kind in ('timeout', 'unreachable')
    assert 'within 1 seconds' in exc.value.msg or 'timed out' in exc.value.msg


def test_query_params_and_headers_are_sent(api):
    api.route('/getAddressBalance', (200, {'ok': True, 'result': '5'}))
    c = JSONAPIClient(api.url + '/', 'toncenter', Redactor(['k3y-value']), headers={'X-API-Key': 'k3y-value'})
    c.request('GET', 'getAddressBalance', params={'address': 'EQ+/=', 'skip': None})
    req = api.calls()[0]
    assert req.query == {'address': 'EQ+/='}
    assert req.headers['X-API-Key'] == 'k3y-value'


def test_form_and_multipart_bodies(api, tmp_path):
    api.route('/f', (200, {'ok': True}))
    cert = tmp_path / 'cert.pem'
    cert.write_text('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    c = JSONAPIClient(api.url, 'X', Redactor())
    c.request('POST', 'f', form={'a': '1', 'b': None})
    c.request('POST', 'f', multipart={'url': 'https://x', 'certificate': {
        'filename': str(cert), 'mime_type': 'application/octet-stream', 'multipart_encoding': '7or8bit'}})
    form, multi = api.calls()
    assert form.params == {'a': '1'}
    assert multi.params['url'] == 'https://x'
    assert multi.files['certificate'].startswith(b'-----BEGIN CERTIFICATE-----')


def test_redirect_is_not_followed(api):
    api.route('/moved', (301, '', {'Location': api.url + '/elsewhere'}))
    api.route('/elsewhere', (200, {'ok': True}))
    resp = JSONAPIClient(api.url, 'X', Redactor(), headers={'X-API-Key': 'k3y-value'}).request('GET', 'moved')
    assert resp.status == 301
    assert [r.path for r in api.calls()] == ['/moved']


def test_rate_limit_waits_count_against_the_deadline(api):
    # timeout is a deadline for the whole call, retries and their waits included (issue 7, class 5).
    import time
    api.route('/x', (429, {'ok': False, 'error_code': 429, 'parameters': {'retry_after': 0.6}}))
    client_ = JSONAPIClient(api.url, 'X', Redactor(), timeout=1, max_retries=10, max_retry_wait=30,
                            sleep=time.sleep)
    started = time.monotonic()
    with pytest.raises(APIError) as exc:
        client_.request('GET', 'x')
    assert time.monotonic() - started < 1.5
    assert exc.value.kind == 'rate_limited'
    assert 'would pass the deadline of the call (timeout=1' in exc.value.msg
    assert client_.retries == 1


def test_non_finite_retry_after_values():
    for value in ('nan', 'NaN', float('nan'), '-1', 'soon', '', 'inf ' * 30):
        assert parse_retry_after(value) is None, value
    for value in ('inf', 'Infinity', float('inf'), 10 ** 400, '1e400', 1e308):
        assert parse_retry_after(value) == float('inf'), value


@pytest.mark.parametrize('url, secrets, shown', [
    ('http://ops:p%40ss@h/health', ['p@ss'], 'http://********@h/health'),
    ('https://TOKEN123@h/x', ['TOKEN123'], 'https://********@h/x'),
    ('http://h/health?probe=1&token=abc%2Bdef&x=2', ['abc+def'], 'http://h/health?probe=1&token=********&x=2'),
    ('http://h/x?API_KEY=k1&X-Amz-Signature=s1&auth=a1#frag', ['k1', 's1', 'a1'],
     'http://h/x?API_KEY=********&X-Amz-Signature=********&auth=********#frag'),
    ('http://h/health?verbose=1', [], 'http://h/health?verbose=1'),
])
def test_url_secrets_and_their_redaction(url, secrets, shown):
    assert url_secrets(url) == secrets
    assert redact_url(url) == shown
    # a refused URL is quoted back without them
    gopher = 'gopher://' + url.split('://', 1)[1]
    assert check_url(gopher, 'u').endswith('gopher://' + shown.split('://', 1)[1])


def test_a_url_user_alone_is_a_token_unless_told_otherwise():
    assert url_secrets('postgresql://app@db/app', user_token=False) == []
    assert url_secrets('postgresql://app:pw@db/app', user_token=False) == ['pw']


@pytest.mark.parametrize('url, host', [
    ('http://api.example.org/bot123:ABC', 'api.example.org'),
    ('HTTP://203.0.113.7:8080', '203.0.113.7'),
    ('http://user:pw@10.0.0.5/api/v2?api_key=k', '10.0.0.5'),
    ('http://[2001:db8::1]:81/', '2001:db8::1'),
])
def test_plain_http_to_another_host_is_warned_naming_the_option_not_the_url(url, host):
    message = plain_http_warning(url, 'api_url', 'toncenter API')
    assert message.startswith('api_url: toncenter API is reached over plain http:// at %s,' % host)
    for secret in ('123:ABC', 'pw', 'api_key=k', '/api/v2'):
        assert secret not in message


@pytest.mark.parametrize('url', ['https://api.example.org', 'http://127.0.0.1:18081', 'http://127.8.9.1/x',
                                 'http://localhost:8000', 'http://api.localhost/', 'http://[::1]:18083', 'ftp://h/'])
def test_https_and_loopback_are_not_warned(url):
    assert plain_http_warning(url, 'api_url') is None


def test_a_client_warns_once_per_run_through_the_module_warnings(monkeypatch):
    # as in a module's process (tests that ran controller code before set this flag: warnings then go to Display)
    monkeypatch.setattr(_internal, 'is_controller', False)
    warnings._global_warnings.clear()  # pylint: disable=protected-access
    for dummy in range(2):
        JSONAPIClient('http://pinata.example.net', 'Pinata', Redactor(['s3cr3t-key']))
    assert [w for w in warnings.get_warning_messages() if 'api_url: Pinata API' in w] == [
        'api_url: Pinata API is reached over plain http:// at pinata.example.net, not a loopback address - its '
        'credentials and answers cross the network unencrypted, readable and changeable on the way; use https://']
    warnings._global_warnings.clear()  # pylint: disable=protected-access
    JSONAPIClient('http://127.0.0.1:18083', 'Pinata', Redactor([]))
    assert not warnings.get_warning_messages()
