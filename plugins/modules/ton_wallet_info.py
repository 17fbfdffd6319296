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
    type: bool
    default: false
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
findings:
  description: What is wrong, one line each (the balance below O(min_balance_ton)); empty when RV(passed).
  returned: success
  type: list
  elements: str
  sample: ['balance 0.42 TON is below min_balance_ton 5 TON']
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tgops.runbooks.plugins.module_utils._module import run_api_module
from ansible_collections.tgops.runbooks.plugins.module_utils._ton_wallet import module_spec, run_module


def main():
    run_api_module(AnsibleModule, module_spec, run_module)


if __name__ == '__main__':
    main()
