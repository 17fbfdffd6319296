# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property-based tests (hypothesis): generated values at every option of every API module and at the parsers.

Each module example must end in a result or a clean failure (run_module raises on any other exception), show
no secret in any spelling or any 12-character piece of one, and end within its deadline. Examples are
derandomized (the same every run) and nothing is stored on disk. Counts per test: docs/reliability.md.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import math
import string
import time

import pytest

from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.tgops.runbooks.plugins.module_utils import _http
from ansible_collections.tgops.runbooks.plugins.module_utils import _redact
from ansible_collections.tgops.runbooks.plugins.module_utils._health import evaluate
from ansible_collections.tgops.runbooks.plugins.module_utils._telegram import (
    MalformedResult,
    check_token,
    describe_bot,
    describe_webhook,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._ton_address import AddressError, parse_address
from ansible_collections.tgops.runbooks.plugins.modules import (
    health_check,
    pinata_auth_info,
    telegram_bot_info,
    telegram_webhook,
    ton_wallet_info,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._ton_wallet import nanoton_to_ton, ton_to_nanoton

from hostile_server import HostileServer
from tgops_module_runner import run_module

MODULE_EXAMPLES = 50
PARSER_EXAMPLES = 150

# No shrinking: a failure prints its unshrunk example at once instead of spending minutes in make test.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
module_settings = settings(max_examples=MODULE_EXAMPLES, deadline=None, derandomize=True, database=None,
                           phases=PHASES,
                           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                  HealthCheck.data_too_large])
parser_settings = settings(max_examples=PARSER_EXAMPLES, deadline=None, derandomize=True, database=None,
                           phases=PHASES,
                           suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Cases of the hostile server that answer quickly (trickles and hangs have their own tests).
FAST_CASES = ['ok', 'echo_token', 'echo_token_html', 'gzip_bomb', 'huge_error', 'nan_json', 'surrogates',
              'retry_after_inf', 'retry_after_nan', 'webhook_null', 'webhook_pending_abc', 'getme_no_result',
              'ton_negative', 'pinata_html_200', 'health_over_limit', 'redirect_other_origin', 'short_body']

# Secrets must look like secrets (high entropy) for the leak check to mean something: a shrunk "0000..." would
# "leak" through any message that happens to contain zeros. A hash of the drawn number is always distinct.
secrets_st = st.integers(0, 2 ** 32).map(lambda n: 'sK-' + hashlib.sha256(b'%d' % n).hexdigest()[:29])


def hostile_text(max_size=64):
    """Text a hostile caller could pass: any unicode, control characters, URL and format metacharacters."""
    return st.one_of(
        st.text(max_size=max_size),
        st.text(alphabet=st.characters(codec='utf-8'), max_size=max_size),
        st.sampled_from(['', ' ', '\n', 'nan', 'inf', '-inf', 'Infinity', 'NaN', '1e999999', '-1', '0', '1_000',
                         '\u0661\u0662', '%s%d', '{{ x }}', 'http://', 'file:///etc/passwd', 'a' * 5000,
                         'http://u:p@127.0.0.1:1/', '\x00', '\r\nX-Injected: 1', 'true', '[]', '{}']),
    )


def hostile_value():
    """Any value YAML and Jinja can hand to a module option."""
    return st.one_of(
        hostile_text(),
        st.integers(min_value=-10 ** 40, max_value=10 ** 40),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.lists(hostile_text(16), max_size=4),
        st.dictionaries(hostile_text(8), hostile_text(8), max_size=3),
    )


def maybe(valid, hostile_share=True):
    """Mostly ``valid`` values, sometimes anything at all."""
    return st.one_of(valid, hostile_value()) if hostile_share else valid


def leaked(result, secrets):
    text = json.dumps(result, default=str)
    for secret in secrets:
        if len(secret) < 16:
            continue
        if any(form in text for form in _redact._variants(secret) if len(form) >= 8):
            return secret
        for start in range(len(secret) - 11):
            if secret[start:start + 12] in text:
                return secret
    return None


@pytest.fixture(scope='module')
def hostile():
    server = HostileServer(bomb_mib=16, huge_bytes=20 * 1000 * 1000, trickle_interval=0.2)
    yield server
    server.close()


def check_run(module, args, secrets, limit):
    started = time.monotonic()
    result = run_module(module, args)   # raises AssertionError/any exception on a traceback
    elapsed = time.monotonic() - started
    assert elapsed < limit, 'took %.1f s (limit %.1f): %r' % (elapsed, limit, args)
    assert isinstance(result.get('msg', ''), str)
    if result.get('failed'):
        assert result['msg'], result
        assert len(result['msg']) < 5000, 'unbounded message (%d characters)' % len(result['msg'])
    secret = leaked(result, secrets)
    assert secret is None, 'secret %r leaked: %s' % (secret[:6], json.dumps(result, default=str)[:2000])
    json.dumps(result, ensure_ascii=False).encode('utf-8')   # no lone surrogate reaches Ansible
    return result


timeouts = st.one_of(st.integers(1, 2), hostile_value())
retries = st.one_of(st.integers(0, 3), hostile_value())
waits = st.one_of(st.integers(0, 3), hostile_value())


def token_st():
    return st.builds(lambda i, s: '%d:%s' % (i, s), st.integers(1, 10 ** 12), secrets_st)


@module_settings
@given(data=st.data())
def test_telegram_bot_info_any_options(hostile, no_sleep, data):
    token = data.draw(token_st())
    args = dict(
        bot_token=data.draw(st.one_of(st.just(token), st.just(token), hostile_text())),
        api_url=data.draw(maybe(st.sampled_from(FAST_CASES).map(hostile.case_url))),
        timeout=data.draw(timeouts), max_retries=data.draw(retries), max_retry_wait=data.draw(waits),
        validate_certs=data.draw(maybe(st.booleans())),
        expect_webhook=data.draw(maybe(st.sampled_from([None, True, False]))),
        max_pending_updates=data.draw(maybe(st.integers(0, 100))),
        max_error_age=data.draw(maybe(st.integers(0, 100))),
        fail_on_problem=data.draw(maybe(st.booleans())),
    )
    check_run(telegram_bot_info, args, [token, token.split(':')[1]], limit=6)


@module_settings
@given(data=st.data())
def test_telegram_webhook_any_options(hostile, no_sleep, tmp_path_factory, data):
    token = data.draw(token_st())
    secret = data.draw(secrets_st)
    args = dict(
        bot_token=token, api_url=data.draw(maybe(st.sampled_from(FAST_CASES).map(hostile.case_url))),
        timeout=data.draw(timeouts), max_retries=data.draw(retries), max_retry_wait=data.draw(waits),
        state=data.draw(maybe(st.sampled_from(['present', 'absent']))),
        url=data.draw(maybe(st.sampled_from(['https://bot.example.org/hook', 'https://x/%s' % token]))),
        secret_token=data.draw(st.one_of(st.just(secret), st.none())),
        secret_token_update=data.draw(maybe(st.sampled_from(['always', 'on_create']))),
        allowed_updates=data.draw(maybe(st.lists(st.sampled_from(['message', 'Callback_Query', 'chat_member']),
                                                 max_size=3))),
        max_connections=data.draw(maybe(st.integers(1, 100))),
        ip_address=data.draw(maybe(st.sampled_from([None, '198.51.100.4']))),
        certificate=data.draw(maybe(st.sampled_from([None, '/dev/zero', '/', '/nonexistent/cert.pem']))),
        drop_pending_updates=data.draw(maybe(st.booleans())),
    )
    check_run(telegram_webhook, args, [token, token.split(':')[1], secret], limit=8)


ADDRESSES = ['EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N',
             '0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8',
             'kQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqKYH']


@module_settings
@given(data=st.data())
def test_ton_wallet_info_any_options(hostile, no_sleep, data):
    key = data.draw(secrets_st)
    args = dict(
        address=data.draw(maybe(st.sampled_from(ADDRESSES))),
        network=data.draw(maybe(st.sampled_from(['mainnet', 'testnet']))),
        api_key=data.draw(st.one_of(st.just(key), st.none())),
        api_url=data.draw(maybe(st.sampled_from(FAST_CASES).map(hostile.case_url))),
        min_balance_ton=data.draw(maybe(st.one_of(st.decimals(allow_nan=False, allow_infinity=False).map(str),
                                                  st.integers(0, 10 ** 6)))),
        fail_on_problem=data.draw(maybe(st.booleans())),
        timeout=data.draw(timeouts), max_retries=data.draw(retries), max_retry_wait=data.draw(waits),
    )
    check_run(ton_wallet_info, args, [key], limit=6)


@module_settings
@given(data=st.data())
def test_pinata_auth_info_any_options(hostile, no_sleep, data):
    jwt, key, secret = data.draw(secrets_st), data.draw(secrets_st), data.draw(secrets_st)
    creds = data.draw(st.sampled_from([dict(jwt=jwt), dict(api_key=key, api_secret=secret),
                                       dict(jwt=jwt, api_key=key), dict(api_key=key), dict()]))
    args = dict(
        api_url=data.draw(maybe(st.sampled_from(FAST_CASES).map(hostile.case_url))),
        usage=data.draw(maybe(st.booleans())), fail_on_problem=data.draw(maybe(st.booleans())),
        timeout=data.draw(timeouts), max_retries=data.draw(retries), max_retry_wait=data.draw(waits),
    )
    args.update(creds)
    if data.draw(st.booleans()):
        args[data.draw(st.sampled_from(['jwt', 'api_key', 'api_secret']))] = data.draw(hostile_value())
    check_run(pinata_auth_info, args, [jwt, key, secret], limit=6)


@module_settings
@given(data=st.data())
def test_health_check_any_options(hostile, data):
    password = data.draw(secrets_st)
    header = data.draw(secrets_st)
    case_url = data.draw(st.sampled_from(FAST_CASES).map(hostile.case_url))
    url = data.draw(maybe(st.sampled_from([case_url + '/health',
                                           case_url.replace('http://', 'http://ops:%s@' % password) + '/health'])))
    args = dict(
        url=url,
        timeout=data.draw(maybe(st.floats(0, 1))), interval=data.draw(maybe(st.floats(0, 0.3))),
        request_timeout=data.draw(maybe(st.floats(0.1, 1))),
        status_codes=data.draw(maybe(st.lists(st.integers(100, 599), min_size=1, max_size=3))),
        allow_degraded=data.draw(maybe(st.booleans())),
        expected_version=data.draw(maybe(st.sampled_from([None, 'v1.0.0', '1.0.0']))),
        validate_certs=data.draw(maybe(st.booleans())),
        ca_path=data.draw(maybe(st.sampled_from([None, '/dev/zero', '/nonexistent']))),
        headers=data.draw(maybe(st.fixed_dictionaries({'Authorization': st.just('Bearer ' + header)}))),
        fail_on_problem=data.draw(maybe(st.booleans())),
    )
    check_run(health_check, args, [password, header], limit=4)


# --- parsers ------------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10 ** 30, 10 ** 30),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children,
                                                                               max_size=4)),
    max_leaves=10)


@parser_settings
@given(text=st.one_of(st.text(max_size=120), st.text(alphabet='0123456789abcdefABCDEF:-', max_size=80),
                      st.text(alphabet=string.ascii_letters + string.digits + '-_+/=', min_size=46, max_size=50)))
def test_ton_address_parser(text):
    try:
        address = parse_address(text)
    except AddressError as exc:
        assert exc.kind and len(exc.reason) < 400
        return
    again = parse_address(address.raw)
    assert again.raw == address.raw
    assert parse_address(address.friendly(bounceable=False)).raw == address.raw


@parser_settings
@given(info=st.one_of(json_values, st.fixed_dictionaries({}, optional={
    'url': json_values, 'pending_update_count': json_values, 'last_error_date': json_values,
    'allowed_updates': json_values, 'has_custom_certificate': json_values, 'max_connections': json_values,
    'ip_address': json_values, 'last_error_message': json_values,
    'last_synchronization_error_date': json_values})))
def test_webhook_info_parser(info):
    try:
        webhook = describe_webhook(info, time.time())
    except MalformedResult as exc:
        assert 'malformed' in str(exc) or 'instead of' in str(exc)
        assert len(str(exc)) < 400
        return
    assert isinstance(webhook['pending_update_count'], int) and webhook['pending_update_count'] >= 0
    assert isinstance(webhook['url'], str)
    assert webhook['is_set'] == bool(webhook['url'])


@parser_settings
@given(user=st.one_of(json_values, st.fixed_dictionaries({}, optional={'id': json_values, 'is_bot': json_values,
                                                                       'username': json_values})))
def test_get_me_parser(user):
    try:
        bot = describe_bot(user)
    except MalformedResult:
        return
    assert isinstance(bot['id'], int) and bot['id'] > 0 and bot['is_bot'] is True


@parser_settings
@given(status=st.one_of(st.integers(-1, 600), st.just(200)),
       body=st.one_of(st.none(), st.binary(max_size=200), st.text(max_size=200),
                      json_values.map(json.dumps),
                      st.fixed_dictionaries({'status': json_values}, optional={
                          'version': json_values, 'dependencies': json_values}).map(json.dumps)),
       degraded=st.booleans(), version=st.one_of(st.none(), st.text(max_size=8)))
def test_health_document_parser(status, body, degraded, version):
    verdict = evaluate(status, body, status_codes=(200,), allow_degraded=degraded, expected_version=version)
    assert isinstance(verdict['healthy'], bool)
    if verdict['healthy']:
        assert status == 200 and not verdict['findings']
        if verdict['json'] is not None:
            assert verdict['status'] in ('healthy', 'ok', 'up', 'pass', 'degraded', 'warn', 'warning')
    else:
        assert verdict['findings']


@parser_settings
@given(text=st.one_of(st.text(max_size=80), json_values.map(json.dumps),
                      st.sampled_from(['NaN', '[Infinity]', '{"a": -Infinity}', '1e999', '[' * 5000, '-0'])))
def test_strict_json_parser(text):
    try:
        doc = _http.parse_json(text)
    except ValueError:
        return
    out = json.dumps(doc, allow_nan=False)  # raises on NaN or infinities
    assert out


@parser_settings
@given(value=hostile_value())
def test_retry_after_parser(value):
    seconds = _http.parse_retry_after(value)
    assert seconds is None or (seconds >= 0 and not math.isnan(seconds))


@parser_settings
@given(value=hostile_value())
def test_ton_amount_parser_any_value(value):
    try:
        nanoton = ton_to_nanoton(value)
    except ValueError as exc:
        assert len(str(exc)) < 400
        return
    assert isinstance(nanoton, int) and 0 <= nanoton <= 10 ** 21


@parser_settings
@given(nanoton=st.integers(0, 10 ** 21))
def test_ton_amount_round_trip_is_exact(nanoton):
    assert ton_to_nanoton(nanoton_to_ton(nanoton)) == nanoton


VISIBLE = st.characters(exclude_categories=('Zs', 'Zl', 'Zp', 'Cc', 'Cs'))


@parser_settings
@given(secret=st.text(alphabet=VISIBLE, min_size=8, max_size=40), before=st.text(max_size=400),
       after=st.text(max_size=40))
def test_redaction_before_truncation_never_shows_a_piece(secret, before, after):
    assume(len(set(secret)) > 3)
    redact = _redact.Redactor([secret])
    text = before + secret + after
    out = _redact.excerpt(text, redact)
    collapsed = ' '.join(secret.split())
    assume(collapsed == secret)  # whitespace inside a secret is collapsed by the excerpt
    assert secret not in out
    for form in _redact._variants(secret):
        if len(form) >= 8:
            assert form not in out


@parser_settings
@given(data=st.binary(max_size=300), encoding=st.sampled_from(['gzip', 'deflate']))
def test_inflater_never_crashes(data, encoding):
    inflater = _http._Inflater(encoding, 1000)
    try:
        inflater.feed(data)
        out = inflater.finish()
    except _http.TransportError as exc:
        assert exc.kind in ('bad_body', 'too_large')
        return
    assert len(out) <= 1000


@parser_settings
@given(token=hostile_text(80))
def test_token_check_never_echoes_the_token(token):
    problem = check_token(token)
    if problem is not None and len(token) >= 8:
        assert token not in problem
