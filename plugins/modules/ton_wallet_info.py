#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: ton_wallet_info
short_description: Read the balance and state of a TON account through toncenter
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Validates a TON address (raw or user-friendly, TEP-2) before any request, then reads the account's balance
    and state with toncenter's HTTP API v2 (C(getAddressInformation)).
  - Returns the balance as an exact integer of nanotons and an exact decimal string of TON; no floating point
    is used anywhere.
  - Returns every form of the address (raw, bounceable, non-bounceable, testnet-only forms), which helps with
    bounceable/non-bounceable and testnet mix-ups.
  - Optionally compares the balance with a minimum (O(min_balance_ton)).
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._attributes.controller_side
  - tgops.runbooks._http
options:
  address:
    description:
      - The account address, raw (C(0:<64 hex digits>) or C(-1:<64 hex digits>)) or user-friendly (48 characters
        of base64url or standard base64).
      - A user-friendly address is checked completely before any request is sent. Its tag byte (C(0x11)
        bounceable, C(0x51) non-bounceable, plus C(0x80) for testnet-only), workchain (0 or -1) and CRC16
        checksum must be valid. Whether it is bounceable is read from the tag byte, not from the C(EQ)/C(UQ) text.
      - The address is sent to toncenter as given.
    type: str
    required: true
  network:
    description:
      - The TON network. Chooses the default O(api_url), and a testnet-only address is refused on V(mainnet).
    type: str
    choices: [mainnet, testnet]
    default: mainnet
  api_key:
    description:
      - toncenter API key, sent in the C(X-API-Key) header. Keys are issued per network.
      - Without a key toncenter allows about one request per second.
      - When not set, the module reads the environment variable E(TONCENTER_API_KEY) (of the module's process - the
        controller's for a task delegated to C(localhost), else set it with the task keyword C(environment)).
    type: str
  api_url:
    description:
      - Base URL of the toncenter v2 API.
      - Defaults to V(https://toncenter.com/api/v2) for O(network=mainnet) and
        V(https://testnet.toncenter.com/api/v2) for O(network=testnet).
    type: str
  min_balance_ton:
    description:
      - Minimum balance in TON, as a decimal string (V("0.5")) or a number, at most 9 decimal places, from 0 to
        10^12.
      - A string must be plain ASCII decimal - digits, at most one C(.), an optional exponent such as C(e-9); no
        sign, C(_) or non-ASCII digits. It is converted with exact integer arithmetic, never rounded.
      - Quote it as a string to keep YAML from turning it into a float; numbers are converted through their
        shortest decimal text, never used as floats. V(.inf) and V(.nan) are refused.
      - RV(passed) is V(false) when the balance is lower.
    type: raw
  fail_on_problem:
    description:
      - Fail the task when the balance is below O(min_balance_ton) (RV(passed=false)).
      - By default the task succeeds and reports RV(passed) (an C(_info) module fails on its verdict only when asked).
      - The alias O(fail_below_threshold) is deprecated and will be removed in version 2.0.0.
    type: bool
    default: false
    aliases: [fail_below_threshold]
seealso:
  - name: TEP-2 addresses
    description: The address forms this module validates.
    link: https://github.com/ton-blockchain/TEPs/blob/master/text/0002-address.md
  - name: toncenter API v2
    description: The API the module calls.
    link: https://toncenter.com/api/v2/
notes:
  - Rate limiting (HTTP 429, or C(code 429) in a body, even with HTTP 200) is waited out within O(max_retries)
    and O(max_retry_wait) (1, 2, 4... seconds), then reported.
  - C(401 API key does not exist) means a wrong key; C(403 Network not allowed) means a key of the other network.
  - A balance that is negative, fractional or not plain digits, or an answer without an account object, fails the
    task as a malformed response.
"""

EXAMPLES = r"""
- name: Check the NFT treasury wallet keeps enough TON for fees
  tgops.runbooks.ton_wallet_info:
    address: EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N
    api_key: "{{ vault_toncenter_api_key }}"
    min_balance_ton: "5"
    fail_on_problem: true
  register: treasury

- name: Show the balance
  ansible.builtin.debug:
    msg: "{{ treasury.balance_ton }} TON ({{ treasury.state }})"

- name: A testnet wallet
  tgops.runbooks.ton_wallet_info:
    address: "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8"
    network: testnet
    api_key: "{{ vault_toncenter_testnet_api_key }}"
"""

RETURN = r"""
address:
  description: The address in every form.
  returned: success
  type: dict
  contains:
    input:
      description: The address as given.
      type: str
      sample: EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N
    input_format:
      description: V(raw) or V(user_friendly).
      type: str
      sample: user_friendly
    input_bounceable:
      description: Whether the given user-friendly form is bounceable; V(null) for a raw address.
      type: bool
      sample: true
    input_testnet_only:
      description: Whether the given user-friendly form carries the testnet-only flag.
      type: bool
      sample: false
    workchain:
      description: V(0) (basechain) or V(-1) (masterchain).
      type: int
      sample: 0
    raw:
      description: Raw form, C(<workchain>:<64 lower-case hex digits>).
      type: str
      sample: "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8"
    bounceable:
      description: Bounceable user-friendly form (base64url), for smart contracts.
      type: str
      sample: EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N
    non_bounceable:
      description: Non-bounceable user-friendly form (base64url), for wallets.
      type: str
      sample: UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI
    testnet_bounceable:
      description: Bounceable form with the testnet-only flag.
      type: str
      sample: kQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqKYH
    testnet_non_bounceable:
      description: Non-bounceable form with the testnet-only flag.
      type: str
      sample: 0QCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqPvC
network:
  description: The network queried.
  returned: success
  type: str
  sample: mainnet
api_url:
  description: The toncenter base URL used.
  returned: success
  type: str
  sample: https://toncenter.com/api/v2
balance_nanoton:
  description: The balance in nanotons (1 TON = 10^9 nanotons).
  returned: success
  type: int
  sample: 1500000000
balance_ton:
  description: The balance in TON as an exact decimal string, without trailing zeros.
  returned: success
  type: str
  sample: "1.5"
state:
  description: The account state, V(active), V(uninitialized) or V(frozen) (as toncenter reports it).
  returned: success
  type: str
  sample: active
last_transaction_id:
  description: The account's last transaction, as toncenter reports it, when it sends one.
  returned: when returned by toncenter
  type: dict
  sample: {"lt": "47596539000001", "hash": "x0Yh9...="}
sync_utime:
  description: Unix time of the block the answer is based on, when toncenter sends it.
  returned: when returned by toncenter
  type: int
  sample: 1763900000
min_balance_ton:
  description: O(min_balance_ton) normalized to a decimal string; V(null) when not set.
  returned: success
  type: str
  sample: "5"
passed:
  description:
    - V(false) when the balance is below O(min_balance_ton); V(true) when it is not or no minimum is set (the
      collection's verdict key).
  returned: success
  type: bool
  sample: true
below_threshold:
  description:
    - Deprecated, use RV(passed) (its negation). Will be removed in version 2.0.0.
    - Whether the balance is below O(min_balance_ton); V(false) when no minimum is set.
  returned: success
  type: bool
  sample: false
"""

import math
import re
from decimal import Decimal

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tgops.runbooks.plugins.module_utils._http import (
    APIError,
    JSONAPIClient,
    check_header_value,
    check_http_params,
    check_url,
    http_argument_spec,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._module import run_api_module
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
        fail_on_problem=dict(type='bool', default=False, aliases=['fail_below_threshold'], deprecated_aliases=[
            dict(name='fail_below_threshold', version='2.0.0', collection_name='tgops.runbooks')]),
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
        below_threshold=min_nanoton is not None and balance < min_nanoton,  # deprecated, removed in 2.0.0
    )
    if isinstance(info.get('last_transaction_id'), dict):
        result['last_transaction_id'] = info['last_transaction_id']
    if isinstance(info.get('sync_utime'), int) and not isinstance(info['sync_utime'], bool):
        result['sync_utime'] = info['sync_utime']
    result = redact.redact_obj(result)
    if not result['passed'] and params['fail_on_problem']:
        module.fail_json(msg='balance of %s is %s TON, below min_balance_ton %s TON' % (
            address.input, result['balance_ton'], result['min_balance_ton']), **result)
    module.exit_json(**result)


def main():
    run_api_module(AnsibleModule, module_spec, run_module)


if __name__ == '__main__':
    main()
