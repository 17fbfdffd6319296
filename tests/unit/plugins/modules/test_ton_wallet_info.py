# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _ton_wallet
from ansible_collections.tgops.runbooks.plugins.module_utils._ton_address import crc16_xmodem
from ansible_collections.tgops.runbooks.plugins.module_utils._ton_wallet import nanoton_to_ton, ton_to_nanoton
from ansible_collections.tgops.runbooks.plugins.modules import ton_wallet_info

from tgops_fake_api import assert_no_secret
from tgops_module_runner import run_module

KEY = 'f00dfeedc0ffee0123456789abcdef0123456789abcdef0123456789abcdef01'
RAW = '0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8'
BOUNCEABLE = 'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N'
NON_BOUNCEABLE = 'UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI'
TESTNET = 'kQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqKYH'
INFO = '/api/v2/getAddressInformation'


def forge(tag, workchain_byte, crc=None):
    body = bytes([tag, workchain_byte]) + bytes.fromhex(RAW.split(':')[1])
    crc = crc16_xmodem(body) if crc is None else crc
    return base64.urlsafe_b64encode(body + bytes([crc >> 8, crc & 0xFF])).decode()


def ok_info(balance, state='active'):
    return (200, {'ok': True, 'result': {'@type': 'raw.fullAccountState', 'balance': balance, 'state': state,
                                         'last_transaction_id': {'lt': '1', 'hash': 'aGFzaA=='},
                                         'sync_utime': 1763900000}})


def run(api, **args):
    base = dict(address=BOUNCEABLE, api_key=KEY, api_url=api.url + '/api/v2')
    base.update(args)
    result = run_module(ton_wallet_info, base)
    assert_no_secret(result, KEY)
    return result


@pytest.mark.parametrize('nano,text', [
    (0, '0'), (1, '0.000000001'), (1500000000, '1.5'), (10 ** 9, '1'), (123456789012345678, '123456789.012345678'),
])
def test_nanoton_to_ton(nano, text):
    assert nanoton_to_ton(nano) == text


@pytest.mark.parametrize('value,nano', [
    ('1.5', 1500000000), (2, 2000000000), ('0.000000001', 1), (0.1, 100000000), ('1e-9', 1), ('  3 ', 3 * 10 ** 9),
])
def test_ton_to_nanoton(value, nano):
    assert ton_to_nanoton(value) == nano


@pytest.mark.parametrize('value', ['abc', '-1', '0.0000000001', 'NaN', 'Infinity', True, None])
def test_ton_to_nanoton_rejects(value):
    with pytest.raises(ValueError):
        ton_to_nanoton(value)


def test_balance_and_forms(api):
    api.route(INFO, ok_info('1500000000'))
    result = run(api)
    assert result['changed'] is False
    assert result['balance_nanoton'] == 1500000000
    assert isinstance(result['balance_nanoton'], int)
    assert result['balance_ton'] == '1.5'
    assert result['state'] == 'active'
    assert result['address']['raw'] == RAW
    assert result['address']['bounceable'] == BOUNCEABLE
    assert result['address']['non_bounceable'] == NON_BOUNCEABLE
    assert result['address']['testnet_bounceable'] == TESTNET
    assert result['passed'] is True and result['min_balance_ton'] is None
    assert result['sync_utime'] == 1763900000
    req = api.calls()[0]
    assert req.query == {'address': BOUNCEABLE}
    assert req.headers['X-API-Key'] == KEY


def test_legacy_integer_balance_and_tiny_amount(api):
    api.route(INFO, ok_info(1, state='uninitialized'))
    result = run(api, address=RAW)
    assert result['balance_ton'] == '0.000000001' and result['state'] == 'uninitialized'


def test_threshold(api):
    api.route(INFO, ok_info('499999999'))
    result = run(api, min_balance_ton='0.5')
    assert result['passed'] is False and result['min_balance_ton'] == '0.5'
    assert 'failed' not in result
    failed = run(api, min_balance_ton='0.5', fail_on_problem=True)
    assert failed['failed'] is True
    assert 'below min_balance_ton 0.5 TON' in failed['msg'] and '0.499999999 TON' in failed['msg']
    assert run(api, min_balance_ton=0.499999999)['passed'] is True


def test_bad_threshold(api):
    result = run(api, min_balance_ton='1.0000000001')
    assert result['failed'] is True and 'more than 9 decimal places' in result['msg']
    assert api.requests == []


def test_default_api_url_per_network():
    assert _ton_wallet.DEFAULT_API_URLS['mainnet'] == 'https://toncenter.com/api/v2'
    assert _ton_wallet.DEFAULT_API_URLS['testnet'] == 'https://testnet.toncenter.com/api/v2'


@pytest.mark.parametrize('address,kind', [
    (BOUNCEABLE[:40], 'length'),
    ('EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2*', 'base64'),
    ('EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2O', 'crc'),
    (forge(0x22, 0), 'tag'),
    (forge(0x11, 0x02), 'workchain'),
    ('2:' + 'a' * 64, 'workchain'),
    ('0:' + 'a' * 10, 'length'),
    (TESTNET, 'testnet_only'),
    (forge(0x51 | 0x80, 0xFF), 'testnet_only'),
])
def test_invalid_address_fails_before_any_request(api, address, kind):
    result = run(api, address=address)
    assert result['failed'] is True
    assert result['address_error'] == kind
    assert api.requests == []
    if kind == 'testnet_only':
        assert 'testnet-only' in result['msg'] and 'network=mainnet' in result['msg']
    else:
        assert result['msg'].startswith('invalid TON address')


def test_testnet_address_on_testnet(api):
    api.route('/testnet/api/v2/getAddressInformation', ok_info('7'))
    result = run(api, address=TESTNET, network='testnet', api_url=api.url + '/testnet/api/v2')
    assert result['balance_nanoton'] == 7
    assert result['address']['input_testnet_only'] is True
    assert result['network'] == 'testnet'


@pytest.mark.parametrize('limited', [
    (429, {'ok': False, 'error': 'Ratelimit exceed', 'code': 429}),
    (429, {'ok': False, 'result': 'Ratelimit exceed', 'code': 429}),
    (200, {'ok': False, 'result': 'Ratelimit exceed', 'code': 429}),
    (200, {'ok': False, 'error': 'Ratelimit without API Key exceed: 1 per second', 'code': 429}),
    (429, 'Too Many Requests'),
])
def test_rate_limit_variants_are_retried(api, no_sleep, limited):
    api.route(INFO, limited, ok_info('42'))
    result = run(api)
    assert result['balance_nanoton'] == 42
    assert no_sleep == [1]


@pytest.mark.parametrize('limited,text', [
    ((429, {'ok': False, 'error': 'Ratelimit exceed', 'code': 429}), 'Ratelimit exceed'),
    ((200, {'ok': False, 'result': 'Ratelimit exceed', 'code': 429}), 'Ratelimit exceed'),
])
def test_rate_limit_gives_up(api, no_sleep, limited, text):
    api.route(INFO, limited)
    result = run(api, max_retries=3, max_retry_wait=5)
    assert result['failed'] is True
    assert 'toncenter API rate limit' in result['msg'] and text in result['msg']
    assert no_sleep == [1, 2]  # the next wait (4 s) would pass max_retry_wait=5
    assert 'max_retry_wait=5' in result['msg']


def test_rate_limit_hint_without_key(api, no_sleep):
    api.route(INFO, (429, {'ok': False, 'error': 'Ratelimit without API Key exceed: 1 per second', 'code': 429}))
    result = run_module(ton_wallet_info, dict(address=BOUNCEABLE, api_url=api.url + '/api/v2', max_retries=0))
    assert result['failed'] is True and 'set api_key' in result['msg']


def test_401_wrong_key(api):
    api.route(INFO, (401, {'ok': False, 'error': 'API key does not exist', 'code': 401}))
    result = run(api)
    assert result['failed'] is True
    assert 'toncenter rejected the API key (401 API key does not exist)' in result['msg']
    assert 'wrong' in result['msg']


def test_403_key_of_other_network(api):
    api.route(INFO, (403, {'ok': False, 'error': 'Network not allowed', 'code': 403}))
    result = run(api, network='mainnet')
    assert result['failed'] is True
    assert '403 Network not allowed' in result['msg'] and 'other network' in result['msg']


@pytest.mark.parametrize('answer', [
    (422, {'ok': False, 'error': "failed to parse get request: Failed to parse ton_addr: 'x'", 'code': 422}),
    (416, {'ok': False, 'error': 'Incorrect address', 'code': 416}),
])
def test_server_side_bad_address(api, answer):
    api.route(INFO, answer)
    result = run(api)
    assert result['failed'] is True
    assert 'toncenter could not use the address (%d' % answer[0] in result['msg']


def test_server_error_and_non_json(api):
    api.route(INFO, (504, {'ok': False, 'error': 'LITE_SERVER_NETWORK timeout', 'code': 504}))
    assert 'HTTP 504' in run(api)['msg']
    api.route(INFO, (502, '<html>bad gateway %s</html>' % KEY))
    result = run(api)
    assert 'not JSON' in result['msg']


def test_bad_balance_value(api):
    api.route(INFO, ok_info('1.5'))
    result = run(api)
    assert result['failed'] is True and 'not an integer of nanotons' in result['msg']


def test_unreachable(api):
    url = api.url
    api.close()
    result = run(api, api_url=url + '/api/v2')
    assert result['failed'] is True and 'cannot reach the toncenter API' in result['msg']
