# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The code of the ton_wallet_info module (private to tgops.runbooks): its options, the TON unit
conversions and its body, here so that its action plugin, which runs it in the worker process on the
controller, imports only module_utils.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re
from decimal import Decimal

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tgops.runbooks.plugins.module_utils._http import (
    APIError,
    JSONAPIClient,
    check_header_value,
    check_http_params,
    check_url,
    http_argument_spec,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import Redactor, excerpt, shown
from ansible_collections.tgops.runbooks.plugins.module_utils._ton_address import AddressError, parse_address

DEFAULT_API_URLS = dict(
    mainnet='https://toncenter.com/api/v2',
    testnet='https://testnet.toncenter.com/api/v2',
)
NANO = 10 ** 9


# Far above the total supply of TON (about 5 * 10^9): a larger minimum is a typo, and a bound keeps hostile
# values ("1e999999", a thousand digits) from costing anything.
MAX_TON = 10 ** 12
_AMOUNT_RE = re.compile(r'^(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?$')
_BALANCE_RE = re.compile(r'^[0-9]{1,40}$')


def nanoton_to_ton(nanoton):
    """Exact decimal text of a nanoton amount: 1500000000 -> "1.5", 1 -> "0.000000001"."""
    sign = '-' if nanoton < 0 else ''
    whole, frac = divmod(abs(nanoton), NANO)
    text = '%d' % whole
    if frac:
        text += '.' + ('%09d' % frac).rstrip('0')
    return sign + text


def ton_to_nanoton(value):
    """Exact nanotons of a TON amount given as text or a number; raise ValueError with a reason.

    Integer arithmetic only: a decimal context would round a long value silently. Text must be plain ASCII
    decimal (no exponent, sign, underscore or non-ASCII digit such as "١٢", which int() and Decimal() accept).
    A YAML float is converted through its shortest repr, and must be finite.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError('must be a decimal number of TON')
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError('must be a finite number of TON, got %s' % shown(value))
        if value < 0:
            raise ValueError('must be 0 or more, got %s' % shown(value))
        if value > MAX_TON:
            raise ValueError('must be at most %d TON, got %s' % (MAX_TON, shown(value)))
        text = format(Decimal(repr(value)), 'f')
    elif isinstance(value, int):
        if value < 0 or value > MAX_TON:
            raise ValueError('must be between 0 and %d TON, got %s' % (MAX_TON, shown(value)))
        return value * NANO
    else:
        text = to_text(value, errors='surrogate_or_replace').strip()
    match = _AMOUNT_RE.match(text) if len(text) <= 64 else None
    if not match:
        raise ValueError('must be a plain decimal number of TON such as "5", "0.25" or "1e-9" (ASCII digits, at '
                         'most one ".", no sign or "_"), got %s' % shown(text))
    whole = match.group(1) or ''
    frac = (match.group(2) if match.group(1) is not None else match.group(3)) or ''
    exponent = int(match.group(4) or 0)
    if abs(exponent) > 40:
        raise ValueError('is out of range (0 to %d TON), got %s' % (MAX_TON, shown(text)))
    digits = int((whole + frac).lstrip('0') or '0')
    shift = 9 + exponent - len(frac)   # nanotons = digits * 10^shift, exactly
    if shift >= 0:
        nanoton = digits * 10 ** shift
    else:
        nanoton, rest = divmod(digits, 10 ** -shift)
        if rest:
            raise ValueError('has more than 9 decimal places (1 nanoton = 0.000000001 TON), got %s' % shown(text))
    if nanoton > MAX_TON * NANO:
        raise ValueError('must be at most %d TON, got %s' % (MAX_TON, shown(text)))
    return nanoton


def parse_balance(value):
    """Nanotons from toncenter's ``balance`` (an integer or a string of ASCII digits); ValueError otherwise.

    A negative, fractional, non-ASCII or absurdly long balance is a broken answer, not money.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError('toncenter returned a negative balance (%s nanotons): a broken answer' % shown(value))
        if value >= 10 ** 40:
            raise ValueError('toncenter returned an implausibly large balance')
        return value
    text = value.strip() if isinstance(value, str) else None
    if text is not None and text.startswith('-') and _BALANCE_RE.match(text[1:]):
        raise ValueError('toncenter returned a negative balance (%s nanotons): a broken answer' % shown(text))
    if text is None or not _BALANCE_RE.match(text):
        raise ValueError('toncenter returned a balance that is not an integer of nanotons: %s' % shown(value))
    return int(text)


def _body_message(body):
    """toncenter's error text: ``error`` or ``result`` (both are seen), else None."""
    if isinstance(body, dict):
        for key in ('error', 'result', 'message', 'detail'):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return None


def _is_rate_limited(response):
    if response.status == 429:
        return True
    body = response.json
    return isinstance(body, dict) and to_text(body.get('code')) == '429'


class Toncenter(object):

    def __init__(self, module, redact):
        params = module.params
        self.network = params['network']
        self.base_url = (params['api_url'] or DEFAULT_API_URLS[self.network]).rstrip('/')
        self.has_key = bool(params['api_key'])
        headers = {'X-API-Key': params['api_key']} if params['api_key'] else {}
        hint = ('toncenter allows about 1 request per second without an API key: set api_key'
                if not self.has_key else 'check the plan limits of the API key')
        self.redact = redact
        self.http = JSONAPIClient(self.base_url, 'toncenter', redact, headers=headers, timeout=params['timeout'],
                                  validate_certs=params['validate_certs'], max_retries=params['max_retries'],
                                  max_retry_wait=params['max_retry_wait'], default_wait=1.0, rate_limit_hint=hint,
                                  is_rate_limited=_is_rate_limited)
        # What messages and results show: no userinfo, bounded length.
        self.api_url = self.http.shown_url

    def get(self, method, **params):
        """Return the ``result`` of ``method``; raise ValueError with a clear, redacted message."""
        try:
            response = self.http.request('GET', method, params=params)
        except APIError as exc:
            raise ValueError(exc.msg)
        body = response.json
        if response.status < 400 and isinstance(body, dict) and body.get('ok') is True:
            return body.get('result')
        message = _body_message(body)
        code = response.status
        if isinstance(body, dict) and isinstance(body.get('code'), int) and not isinstance(body['code'], bool) \
                and 100 <= body['code'] <= 999:
            code = body['code']
        detail = (excerpt(message, self.redact) if message else None) or \
            (response.excerpt(self.redact) if body is None else None) or 'no error message'
        if code == 401:
            msg = ('toncenter rejected the API key (401 %s): the api_key is wrong or was deleted%s' % (
                detail, '' if self.has_key else ' (no api_key was sent)'))
        elif code == 403:
            msg = ('toncenter refused the API key for this network (403 %s): the key most likely belongs to the '
                   'other network (network=%s, api_url=%s); keys are issued per network' % (
                       detail, self.network, self.api_url))
        elif code in (416, 422):
            msg = 'toncenter could not use the address (%d %s): check the address and the network' % (code, detail)
        elif body is None:
            msg = 'toncenter answered HTTP %d with a body that is not JSON (%s): %s' % (
                response.status, response.json_error, response.excerpt(self.redact) or '(empty)')
        else:
            msg = 'toncenter %s failed: HTTP %d, code %s: %s' % (method, response.status, code, detail)
        raise ValueError(self.redact(msg))


def module_spec():
    """The options of the module and of its action plugin (which runs it in-process on the controller)."""
    argument_spec = dict(
        address=dict(type='str', required=True),
        network=dict(type='str', default='mainnet', choices=['mainnet', 'testnet']),
        api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['TONCENTER_API_KEY'])),
        api_url=dict(type='str'),
        min_balance_ton=dict(type='raw'),
        fail_on_problem=dict(type='bool', default=False),
    )
    argument_spec.update(http_argument_spec())
    return dict(argument_spec=argument_spec)


def run_module(module):
    """Everything after the options are validated; ends with exit_json or fail_json."""
    params = module.params
    redact = Redactor([params['api_key']])

    problem = check_http_params(params)
    if params['api_url'] is not None:
        problem = problem or check_url(params['api_url'], 'api_url')
    if params['api_key'] is not None:
        problem = problem or check_header_value('api_key', params['api_key'])
    if problem:
        module.fail_json(msg=redact(problem))
    try:
        address = parse_address(params['address'])
    except AddressError as exc:
        module.fail_json(msg='invalid TON address: %s' % exc.reason, address_error=exc.kind)
    if address.testnet_only and params['network'] == 'mainnet':
        module.fail_json(msg='address %s is testnet-only (its tag byte carries the 0x80 testnet flag) but '
                             'network=mainnet: use network=testnet, or the mainnet form %s if this really is a '
                             'mainnet account' % (address.input, address.friendly(bounceable=address.bounceable)),
                         address_error='testnet_only')
    min_nanoton = None
    if params['min_balance_ton'] is not None:
        try:
            min_nanoton = ton_to_nanoton(params['min_balance_ton'])
        except ValueError as exc:
            module.fail_json(msg='min_balance_ton %s' % exc)

    api = Toncenter(module, redact)
    result = dict(changed=False, address=address.as_dict(), network=params['network'], api_url=api.api_url)
    try:
        info = api.get('getAddressInformation', address=address.input)
        if not isinstance(info, dict):
            raise ValueError('toncenter getAddressInformation returned %s instead of an object (malformed '
                             'response)' % ('null' if info is None else type(info).__name__))
        balance = parse_balance(info.get('balance'))
        state = info.get('state')
        if state is not None and not (isinstance(state, str) and len(state) <= 64):
            raise ValueError('toncenter returned an account state that is not a short string: %s' % shown(state))
    except ValueError as exc:
        module.fail_json(msg=excerpt(to_text(exc), redact, 1000), **redact.redact_obj(result))

    result.update(
        balance_nanoton=balance,
        balance_ton=nanoton_to_ton(balance),
        state=state,
        min_balance_ton=nanoton_to_ton(min_nanoton) if min_nanoton is not None else None,
        passed=min_nanoton is None or balance >= min_nanoton,
    )
    result['findings'] = [] if result['passed'] else ['balance %s TON is below min_balance_ton %s TON' % (
        result['balance_ton'], result['min_balance_ton'])]
    if isinstance(info.get('last_transaction_id'), dict):
        result['last_transaction_id'] = info['last_transaction_id']
    if isinstance(info.get('sync_utime'), int) and not isinstance(info['sync_utime'], bool):
        result['sync_utime'] = info['sync_utime']
    result = redact.redact_obj(result)
    if not result['passed'] and params['fail_on_problem']:
        module.fail_json(msg='balance of %s is %s TON, below min_balance_ton %s TON' % (
            address.input, result['balance_ton'], result['min_balance_ton']), **result)
    module.exit_json(**result)
