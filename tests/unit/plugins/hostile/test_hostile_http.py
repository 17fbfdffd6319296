# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every API module against the hostile server (issue 7, classes 3-8 and 13 for the HTTP modules).

Each test requires a result or a clean failure (run_module raises on a traceback), no secret in any spelling
or any long fragment of it in what the module returns, and an end within the module's deadline plus a second.
Memory bounds are measured by bench/hostile_http_bench.py, not here.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import json
import os
import threading
import time
from contextlib import redirect_stdout
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.tgops.runbooks.plugins.module_utils import _http
from ansible_collections.tgops.runbooks.plugins.module_utils import _redact
from ansible_collections.tgops.runbooks.plugins.modules import (
    health_check,
    pinata_auth_info,
    telegram_bot_info,
    telegram_webhook,
    ton_wallet_info,
)

from hostile_server import HostileServer
from tgops_module_runner import run_module

TOKEN = '7770001234:AAG-hostileTestSecretPart_0123456789x'
WEBHOOK_SECRET = 'whs3cret_Hostile-0123456789abcdef'
TON_KEY = 'f00dbabe' * 8
JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJob3N0aWxlIn0.c2lnbmF0dXJlLXNlY3JldC1wYXJ0'
HEADER_SECRET = 'Bearer hdr-Secret-0123456789abcdefXYZ'
URL_PASSWORD = 'urlPassw0rd-Secret-9876'
ADDRESS = 'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N'
SECRETS = (TOKEN, TOKEN.split(':')[1], WEBHOOK_SECRET, TON_KEY, JWT, HEADER_SECRET, URL_PASSWORD)

API_MODULES = ('telegram_bot_info', 'telegram_webhook', 'ton_wallet_info', 'pinata_auth_info', 'health_check')
MODULES = dict(telegram_bot_info=telegram_bot_info, telegram_webhook=telegram_webhook,
               ton_wallet_info=ton_wallet_info, pinata_auth_info=pinata_auth_info, health_check=health_check)


@pytest.fixture(scope='module')
def hostile():
    server = HostileServer(bomb_mib=64, huge_bytes=300 * 1000 * 1000, trickle_interval=0.2)
    yield server
    server.close()


def module_args(name, base, timeout=3, **extra):
    """Arguments that point module ``name`` at ``base`` (a case URL) with every secret option set."""
    if name == 'telegram_bot_info':
        args = dict(bot_token=TOKEN, api_url=base, timeout=timeout)
    elif name == 'telegram_webhook':
        args = dict(bot_token=TOKEN, api_url=base, timeout=timeout, url='https://bot.example.org/hook',
                    secret_token=WEBHOOK_SECRET)
    elif name == 'ton_wallet_info':
        args = dict(address=ADDRESS, api_url=base, api_key=TON_KEY, timeout=timeout)
    elif name == 'pinata_auth_info':
        args = dict(jwt=JWT, api_url=base, timeout=timeout, usage=True)
    else:
        # One attempt bounded by request_timeout (polling until a deadline has its own test).
        args = dict(url=base + '/health', timeout=0, request_timeout=timeout, interval=0.2,
                    headers={'Authorization': HEADER_SECRET})
    args.update(extra)
    return args


def leaks(obj, secrets=SECRETS, window=12):
    """Secrets found in ``obj`` in any spelling the redactor knows, or any ``window``-character piece of one
    (a cut secret is still a leak)."""
    text = json.dumps(obj, default=str)
    found = []
    for secret in secrets:
        if any(form in text for form in _redact._variants(secret) if len(form) >= 4):
            found.append(secret)
            continue
        for start in range(0, len(secret) - window + 1):
            if secret[start:start + window] in text:
                found.append('%s (fragment %r)' % (secret[:6], secret[start:start + window]))
                break
    return found


def run(name, args, check_mode=False, limit=None):
    started = time.monotonic()
    result = run_module(MODULES[name], args, check_mode=check_mode)
    elapsed = time.monotonic() - started
    assert not leaks(result), (leaks(result), result)
    if limit is not None:
        assert elapsed < limit, 'took %.1f s, deadline %.1f s: %s' % (elapsed, limit, result)
    result['_elapsed'] = elapsed
    return result


def verdict_is_failure(name, result):
    """A clean failure: failed with a message, or (health_check with fail_on_problem) not healthy."""
    assert result.get('failed') is True, result
    assert isinstance(result['msg'], str) and result['msg']
    if name == 'health_check':
        assert result['passed'] is False
    if name == 'pinata_auth_info':
        assert result.get('passed') is not True
    assert len(result['msg']) < 4000, 'unbounded message of %d characters' % len(result['msg'])


# --- sanity: the well-behaved case passes for every module -----------------------------------------------

@pytest.mark.parametrize('name', API_MODULES)
def test_well_behaved_server_is_fine(hostile, name):
    result = run(name, module_args(name, hostile.case_url('ok')), limit=5)
    assert 'failed' not in result, result


# --- class 3: bounded body reads, compressed or not --------------------------------------------------------

@pytest.mark.parametrize('case', ['gzip_bomb', 'gzip_bomb_chunked', 'deflate_bomb', 'huge_body', 'huge_chunked',
                                  'huge_error', 'gzip_bomb_error'])
@pytest.mark.parametrize('name', API_MODULES)
def test_bombs_and_huge_bodies_fail_cleanly(hostile, name, case):
    result = run(name, module_args(name, hostile.case_url(case), timeout=10), limit=12)
    verdict_is_failure(name, result)
    text = result['msg'].lower()
    assert 'limit' in text and 'bytes' in text, result['msg']


@pytest.mark.parametrize('case', ['gzip_garbage', 'gzip_truncated', 'short_body', 'bad_status_line', 'deep_json',
                                  'nan_json', 'huge_number'])
@pytest.mark.parametrize('name', API_MODULES)
def test_broken_bodies_fail_cleanly(hostile, name, case):
    result = run(name, module_args(name, hostile.case_url(case)), limit=5)
    verdict_is_failure(name, result)


def test_inflater_caps_output_of_a_deflate_stream():
    inflater = _http._Inflater('gzip', 1000)
    with pytest.raises(_http.TransportError) as exc:
        import gzip
        inflater.feed(gzip.compress(b'a' * 5000))
    assert exc.value.kind == 'too_large'
    ok = _http._Inflater('deflate', 1000)
    import zlib
    ok.feed(zlib.compress(b'{"a": 1}'))
    assert ok.finish() == b'{"a": 1}'
    raw = _http._Inflater('deflate', 1000)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw.feed(comp.compress(b'[1, 2]') + comp.flush())
    assert raw.finish() == b'[1, 2]'


# --- class 5: the timeout is a deadline for the whole call --------------------------------------------------

@pytest.mark.parametrize('name', API_MODULES)
def test_trickled_body_is_cut_at_the_deadline(hostile, name):
    result = run(name, module_args(name, hostile.case_url('trickle_body'), timeout=1), limit=1 + 1.2)
    verdict_is_failure(name, result)
    assert 'timed out' in result['msg'] or 'timeout' in result['msg'], result['msg']


@pytest.mark.parametrize('case', ['trickle_headers', 'trickle_endless', 'hang', 'hang_after_headers'])
@pytest.mark.parametrize('name', ['telegram_bot_info', 'health_check'])
def test_trickles_and_hangs_are_cut_at_the_deadline(hostile, name, case):
    result = run(name, module_args(name, hostile.case_url(case), timeout=1), limit=1 + 1.2)
    verdict_is_failure(name, result)


@pytest.mark.parametrize('case', ['trickle_body', 'trickle_endless', 'hang'])
def test_health_check_polling_ends_at_its_timeout(hostile, case):
    # request_timeout larger than timeout: the overall deadline wins.
    url = hostile.case_url(case) + '/health'
    result = run('health_check', dict(url=url, timeout=1.5, request_timeout=5, interval=0.2), limit=1.5 + 1.5)
    assert result['failed'] is True and result['passed'] is False


def test_deadline_covers_every_attempt_not_each(hostile, no_sleep):
    # Rate limited three times by a server that also trickles: the total is still bounded by timeout + waits.
    deadline = _http.Deadline(1)
    with pytest.raises(_http.TransportError) as exc:
        _http.fetch(hostile.case_url('trickle_endless') + '/x', deadline=deadline)
    assert exc.value.kind == 'timeout'
    assert deadline.remaining() > -1.0


# --- class 6: non-finite numbers ----------------------------------------------------------------------------

@pytest.mark.parametrize('case', ['retry_after_nan', 'retry_after_inf', 'retry_after_infinity_header',
                                  'retry_after_huge', 'retry_after_huge_int', 'retry_after_negative',
                                  'retry_after_text'])
@pytest.mark.parametrize('name', ['telegram_bot_info', 'telegram_webhook', 'ton_wallet_info', 'pinata_auth_info'])
def test_non_finite_retry_after_never_crashes_or_sleeps_forever(hostile, no_sleep, name, case):
    result = run(name, module_args(name, hostile.case_url(case)), limit=5)
    verdict_is_failure(name, result)
    assert 'rate limit' in result['msg'], result['msg']
    assert all(0 <= wait <= 30 for wait in no_sleep), no_sleep  # NaN fails every comparison
    assert sum(no_sleep) <= 30


@pytest.mark.parametrize('value', ['nan', 'inf', '-inf', 'Infinity', 'NaN', float('nan'), float('inf'), 1e300, -1,
                                   10 ** 30])
@pytest.mark.parametrize('option', ['timeout', 'interval', 'request_timeout'])
def test_health_check_non_finite_times_fail_cleanly(hostile, option, value):
    args = module_args('health_check', hostile.case_url('ok'))
    args[option] = value
    result = run('health_check', args, limit=3)
    assert result['failed'] is True
    assert option in result['msg'] or 'float' in result['msg'], result['msg']


@pytest.mark.parametrize('value', ['nan', 'inf', float('nan'), float('inf'), 10 ** 30, 0, -5, '1e999'])
@pytest.mark.parametrize('name', ['telegram_bot_info', 'telegram_webhook', 'ton_wallet_info', 'pinata_auth_info'])
def test_api_timeout_out_of_range_fails_cleanly(hostile, name, value):
    args = module_args(name, hostile.case_url('ok'))
    args['timeout'] = value
    result = run(name, args, limit=3)
    assert result['failed'] is True
    assert 'timeout' in result['msg'] or 'int' in result['msg'], result['msg']
    assert hostile.case_url('ok') not in json.dumps([r.target for r in hostile.requests[-1:]])


@pytest.mark.parametrize('value', ['1e999999', 'nan', 'inf', 'Infinity', float('inf'), float('nan'), '١٢', '1_000',
                                   '-1', '1e-10', '0.0000000001', 10 ** 30, '9' * 100000, ' ', '0x10', '1,5'])
def test_min_balance_ton_hostile_values_fail_cleanly(hostile, value):
    before = len(hostile.requests)
    result = run('ton_wallet_info', module_args('ton_wallet_info', hostile.case_url('ok'), min_balance_ton=value),
                 limit=3)
    assert result['failed'] is True
    assert result['msg'].startswith('min_balance_ton ')
    assert len(result['msg']) < 400
    assert len(hostile.requests) == before  # refused before any request


def test_min_balance_ton_is_exact(hostile):
    result = run('ton_wallet_info', module_args('ton_wallet_info', hostile.case_url('ok'),
                                                min_balance_ton='1.500000001'))
    assert result['passed'] is False and result['min_balance_ton'] == '1.500000001'
    result = run('ton_wallet_info', module_args('ton_wallet_info', hostile.case_url('ok'), min_balance_ton='1.5'))
    assert result['passed'] is True
    assert result['balance_nanoton'] == 1500000000 and result['balance_ton'] == '1.5'


# --- class 7: malformed API results -------------------------------------------------------------------------

WEBHOOK_CASES = ['webhook_null', 'webhook_list', 'webhook_string', 'webhook_pending_abc', 'webhook_pending_bool',
                 'webhook_pending_negative', 'webhook_error_date_1e20', 'webhook_error_date_negative',
                 'webhook_error_date_huge_int', 'webhook_allowed_dicts', 'webhook_url_number']


@pytest.mark.parametrize('case', WEBHOOK_CASES)
@pytest.mark.parametrize('name', ['telegram_bot_info', 'telegram_webhook'])
def test_malformed_webhook_info_is_a_clean_failure_never_no_webhook(hostile, name, case):
    hostile.set_webhook_calls = 0
    result = run(name, module_args(name, hostile.case_url(case)), limit=5)
    verdict_is_failure(name, result)
    assert 'malformed' in result['msg'], result['msg']
    assert hostile.set_webhook_calls == 0
    assert 'webhook' not in result


@pytest.mark.parametrize('case', ['getme_no_result', 'getme_null', 'getme_list', 'getme_id_string', 'getme_not_bot'])
def test_getme_without_a_bot_is_never_healthy(hostile, case):
    result = run('telegram_bot_info', module_args('telegram_bot_info', hostile.case_url(case)), limit=5)
    verdict_is_failure('telegram_bot_info', result)
    assert 'malformed' in result['msg'] and result.get('passed') is not True


@pytest.mark.parametrize('name', API_MODULES)
def test_lone_surrogates_never_reach_the_result(hostile, name):
    result = run(name, module_args(name, hostile.case_url('surrogates')), limit=5)
    json.dumps(result, ensure_ascii=False).encode('utf-8')  # raises on a lone surrogate


# --- class 8: secrets ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('case', ['echo_token', 'echo_token_html', 'big_error_with_token'])
@pytest.mark.parametrize('name', API_MODULES)
def test_echoed_secrets_are_redacted_before_any_cut(hostile, name, case):
    args = module_args(name, hostile.case_url(case))
    if name == 'health_check':
        # health_check's secrets travel in its URL (userinfo) and headers; the server echoes the path only.
        args['url'] = args['url'].replace('http://', 'http://ops:%s@' % URL_PASSWORD)
    result = run(name, args, limit=5)
    if name == 'pinata_auth_info' and case == 'echo_token':
        # HTTP 400 is Pinata rejecting the credentials: a result, not a task failure.
        assert result['passed'] is False and len(result['message']) < 400
    else:
        verdict_is_failure(name, result)


def test_excerpt_redacts_before_cutting():
    redact = _redact.Redactor([TOKEN])
    text = 'x' * (_redact.BODY_EXCERPT - 20) + TOKEN
    out = _redact.excerpt(text, redact)
    assert TOKEN[:12] not in out and _redact.MASK[:4] in out


@pytest.mark.parametrize('case', ['health_unhealthy_200', 'echo_token', 'hang'])
def test_health_check_url_password_never_shown(hostile, case):
    url = hostile.case_url(case).replace('http://', 'http://ops:%s@' % URL_PASSWORD) + '/health'
    result = run('health_check', dict(url=url, timeout=1, request_timeout=1), limit=3)
    assert result['failed'] is True
    assert 'ops:********@' in result['msg'] or '********@' in result['msg'], result['msg']


def test_health_check_invocation_masks_url_password_and_headers(hostile):
    """Through the real exit_json (not the test runner's): what Ansible prints, the invocation included."""
    url = hostile.case_url('health_unhealthy_200').replace('http://', 'http://ops:%s@' % URL_PASSWORD) + '/health'
    args = dict(url=url, timeout=0, request_timeout=2, headers={'Authorization': HEADER_SECRET},
                fail_on_problem=False)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit):
        health_check.main()
    result = json.loads(out.getvalue())
    assert result['passed'] is False
    assert 'invocation' in result
    assert URL_PASSWORD not in out.getvalue() and HEADER_SECRET not in out.getvalue()
    assert not leaks(result)


@pytest.mark.parametrize('case', ['redirect_other_origin', 'redirect_307_other_origin'])
def test_redirect_to_another_origin_never_carries_credentials(hostile, case):
    hostile.reset()
    url = hostile.case_url(case).replace('http://', 'http://ops:%s@' % URL_PASSWORD) + '/health'
    result = run('health_check', dict(url=url, timeout=0, request_timeout=3,
                                      headers={'Authorization': HEADER_SECRET, 'X-Api-Key': 'k3y-Secret-value'}))
    assert result['passed'] is True  # the collector answers healthy
    collected = hostile.collected()
    assert len(collected) == 1
    sent = collected[0].headers
    assert 'authorization' not in sent and 'x-api-key' not in sent, sent


def test_redirect_within_the_origin_keeps_headers(hostile):
    hostile.reset()
    result = run('health_check', dict(url=hostile.case_url('redirect_same_origin') + '/health', timeout=0,
                                      request_timeout=3, headers={'Authorization': HEADER_SECRET}))
    assert result['passed'] is True
    final = [r for r in hostile.requests if r.case == 'ok']
    assert final and final[0].headers.get('authorization') == HEADER_SECRET


@pytest.mark.parametrize('case', ['redirect_loop', 'redirect_file'])
def test_redirect_loops_and_file_urls_fail_cleanly(hostile, case):
    result = run('health_check', dict(url=hostile.case_url(case) + '/health', timeout=0, request_timeout=3),
                 limit=5)
    assert result['failed'] is True and result['passed'] is False


@pytest.mark.parametrize('name', ['telegram_bot_info', 'telegram_webhook', 'ton_wallet_info', 'pinata_auth_info'])
def test_api_modules_follow_no_redirect(hostile, name):
    hostile.reset()
    result = run(name, module_args(name, hostile.case_url('redirect_other_origin')), limit=5)
    assert result['failed'] is True
    assert hostile.collected() == []


def test_same_origin():
    assert _http.same_origin('http://a:80/x', 'http://A/y')
    assert _http.same_origin('https://a/x', 'https://a:443/y')
    assert not _http.same_origin('http://a/x', 'http://b/x')
    assert not _http.same_origin('http://a/x', 'https://a/x')
    assert not _http.same_origin('http://a:8000/x', 'http://a:8001/x')


def test_headers_option_is_no_log():
    spec = {}

    def capture(self, argument_spec=None, **kwargs):
        spec.update(argument_spec)
        raise SystemExit(0)
    with mock.patch.object(basic.AnsibleModule, '__init__', capture), pytest.raises(SystemExit):
        health_check.main()
    assert spec['headers'].get('no_log') is True


# --- class 13: wrong verdicts -------------------------------------------------------------------------------

@pytest.mark.parametrize('case', ['pinata_html_200', 'pinata_empty_204', 'pinata_empty_200', 'pinata_json_list_200'])
def test_pinata_counts_only_a_json_success_as_authenticated(hostile, case):
    result = run('pinata_auth_info', module_args('pinata_auth_info', hostile.case_url(case)), limit=5)
    verdict_is_failure('pinata_auth_info', result)
    assert 'unknown' in result['msg']


def test_pinata_huge_error_body_is_bounded(hostile):
    result = run('pinata_auth_info', module_args('pinata_auth_info', hostile.case_url('pinata_huge_401')), limit=5)
    # 5 MB error body: over the read limit, a clean failure; never 5 MB in a message.
    assert result['failed'] is True and len(result['msg']) < 1000


def test_pinata_usage_wrong_types_fail(hostile):
    result = run('pinata_auth_info', module_args('pinata_auth_info', hostile.case_url('pinata_usage_wrong_types')))
    assert result['failed'] is True and 'malformed' in result['msg']


@pytest.mark.parametrize('creds', [dict(jwt=''), dict(jwt=' '), dict(jwt='a\nb' * 4),
                                   dict(api_key='', api_secret='s3cret-value-long'),
                                   dict(api_key='key-value-long', api_secret='')])
def test_pinata_empty_or_broken_credentials_fail_cleanly(hostile, creds):
    args = dict(api_url=hostile.case_url('ok'), timeout=3)
    args.update(creds)
    before = len(hostile.requests)
    result = run('pinata_auth_info', args, limit=3)
    assert result['failed'] is True
    assert 'empty' in result['msg'] or 'whitespace' in result['msg'] or 'control' in result['msg'], result['msg']
    assert len(hostile.requests) == before


@pytest.mark.parametrize('case', ['ton_negative', 'ton_negative_int', 'ton_arabic_digits', 'ton_underscore',
                                  'ton_float', 'ton_huge', 'ton_null', 'ton_state_dict'])
def test_ton_rejects_broken_balances(hostile, case):
    result = run('ton_wallet_info', module_args('ton_wallet_info', hostile.case_url(case)), limit=5)
    verdict_is_failure('ton_wallet_info', result)
    assert 'balance_nanoton' not in result
    if 'negative' in case:
        assert 'negative' in result['msg']


@pytest.mark.parametrize('address', ['E' * 100000, '0:' + 'a' * 100000, '9' * 100000 + ':' + 'a' * 64,
                                     '-' + '1' * 5000 + ':' + 'a' * 64, '\u0661' * 48])
def test_ton_never_echoes_a_huge_address(hostile, address):
    result = run('ton_wallet_info', module_args('ton_wallet_info', hostile.case_url('ok'), address=address),
                 limit=3)
    assert result['failed'] is True
    assert len(json.dumps(result)) < 2000


@pytest.mark.parametrize('case', ['health_unhealthy_200', 'health_over_limit', 'health_truncated_json',
                                  'health_status_dict', 'health_deps_list'])
def test_health_check_wrong_verdicts(hostile, case):
    result = run('health_check', module_args('health_check', hostile.case_url(case)), limit=5)
    assert result['passed'] is False and result['failed'] is True, result


def test_certificate_fifo_never_blocks(tmp_path, api):
    """A FIFO certificate: refused before opening. (Before the fix the module blocked in open(); the writer
    thread below unblocks such a reader after 3 s so that the old behaviour shows as a failure, not a hang.)"""
    from tgops_fake_api import FakeTelegram
    FakeTelegram(api, TOKEN)
    fifo = str(tmp_path / 'cert.pem')
    os.mkfifo(fifo)

    def unblock():
        time.sleep(3)
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass
    threading.Thread(target=unblock, daemon=True).start()
    result = run('telegram_webhook', dict(bot_token=TOKEN, api_url=api.url, url='https://bot.example.org/hook',
                                          certificate=fifo), limit=2)
    assert result['failed'] is True and 'a FIFO' in result['msg']
    assert api.requests == []


@pytest.mark.parametrize('kind', ['directory', 'dev_zero', 'dev_null', 'too_large', 'empty', 'symlink_to_dev_zero',
                                  'missing', 'nul_byte'])
def test_certificate_must_be_a_small_regular_file(tmp_path, api, kind):
    from tgops_fake_api import FakeTelegram
    FakeTelegram(api, TOKEN)
    path = {'directory': str(tmp_path), 'dev_zero': '/dev/zero', 'dev_null': '/dev/null',
            'missing': str(tmp_path / 'nope.pem'), 'nul_byte': str(tmp_path) + '/a\0b'}.get(kind)
    if kind == 'too_large':
        path = str(tmp_path / 'big.pem')
        with open(path, 'wb') as f:
            f.write(b'-----BEGIN CERTIFICATE-----\n' + b'A' * (10 * 1024 * 1024))
    elif kind == 'empty':
        path = str(tmp_path / 'empty.pem')
        open(path, 'w').close()
    elif kind == 'symlink_to_dev_zero':
        path = str(tmp_path / 'link.pem')
        os.symlink('/dev/zero', path)
    result = run('telegram_webhook', dict(bot_token=TOKEN, api_url=api.url, url='https://bot.example.org/hook',
                                          certificate=path), limit=2)
    assert result['failed'] is True and 'certificate' in result['msg']
    assert api.requests == []
