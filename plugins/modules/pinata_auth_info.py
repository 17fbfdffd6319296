#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: pinata_auth_info
short_description: Check Pinata API credentials and, optionally, the account's pinning usage
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Calls Pinata's C(GET /data/testAuthentication) with an API key and secret or with a JWT and reports whether
    the credentials are accepted.
  - Rejected credentials (HTTP 400, 401 or 403) are a result (RV(passed=false)), not a task failure,
    unless O(fail_on_problem=true). An unreachable API or a server error (5xx) fails the task.
  - Only an HTTP 200 answer carrying a JSON object counts as authenticated. Any other 2xx answer (a proxy's HTML
    page, an empty C(204)) fails the task, as it does not say whether the credentials work.
  - An empty credential, or one with whitespace or control characters around or in it, fails before any request.
  - Error details copied into messages are redacted, then cut to 300 characters.
  - With O(usage=true), also reads C(GET /data/userPinnedDataTotal).
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._attributes.controller_side
  - tgops.runbooks._http
options:
  api_key:
    description:
      - Pinata API key, sent in the C(pinata_api_key) header. Requires O(api_secret).
      - Mutually exclusive with O(jwt); one of the two is required.
      - When none of O(api_key), O(api_secret) and O(jwt) is set, the module reads the environment variables
        E(PINATA_JWT), or else E(PINATA_API_KEY) with E(PINATA_SECRET_KEY) (of the module's process - the
        controller's for a task delegated to C(localhost), else set it with the task keyword C(environment)).
        Given options always win; the environment is never mixed with them.
    type: str
  api_secret:
    description:
      - Pinata API secret, sent in the C(pinata_secret_api_key) header.
      - When not set, read from the environment variable E(PINATA_SECRET_KEY) as described for O(api_key).
    type: str
    aliases: [secret_api_key]
  jwt:
    description:
      - Pinata JWT, sent in the C(Authorization) header as C(Bearer <jwt>).
      - When not set, read from the environment variable E(PINATA_JWT) as described for O(api_key).
    type: str
  api_url:
    description:
      - Base URL of the Pinata API.
    type: str
    default: https://api.pinata.cloud
  usage:
    description:
      - Also read the account's pinning totals (C(/data/userPinnedDataTotal)) when authenticated.
      - A key without permission for that route gives RV(usage=null) and a warning, not a failure.
    type: bool
    default: false
  fail_on_problem:
    description:
      - Fail the task when the credentials are rejected (RV(passed=false)).
      - By default the task succeeds and reports RV(passed) (an C(_info) module fails on its verdict only when asked).
    type: bool
    default: false
notes:
  - Pinata allows 30 requests per minute on C(/data/*). A C(429) answer carries C(Retry-After) (often 60 s); it is
    waited out only if it fits into O(max_retry_wait), otherwise the module fails at once and says so.
seealso:
  - name: Pinata API authentication
    description: testAuthentication and the credential headers.
    link: https://docs.pinata.cloud/
"""

EXAMPLES = r"""
- name: Check the NFT pinning credentials before a deploy
  tgops.runbooks.pinata_auth_info:
    api_key: "{{ vault_pinata_api_key }}"
    api_secret: "{{ vault_pinata_api_secret }}"
    fail_on_problem: true

- name: Check a JWT and read the pinning usage
  tgops.runbooks.pinata_auth_info:
    jwt: "{{ vault_pinata_jwt }}"
    usage: true
  register: pinata

- name: Report rejected credentials
  ansible.builtin.debug:
    msg: "Pinata refused the credentials: {{ pinata.findings | join('; ') }}"
  when: not pinata.passed
"""

RETURN = r"""
passed:
  description: Whether Pinata accepted the credentials (the collection's verdict key).
  returned: success
  type: bool
  sample: true
findings:
  description: What is wrong, one line each (the credentials refused, with Pinata's reason); empty when RV(passed).
  returned: success
  type: list
  elements: str
  sample: ['Pinata refuses the credentials (HTTP 401 INVALID_CREDENTIALS: Invalid API key)']
status:
  description: HTTP status of the C(testAuthentication) answer.
  returned: success
  type: int
  sample: 200
message:
  description: Pinata's message (on success) or error details (on rejection).
  returned: success
  type: str
  sample: Congratulations! You are communicating with the Pinata API!
error_code:
  description:
    - Pinata's error code (the C(reason) of its error answer) when it refused the credentials, else V(null). What is
      wrong, in words, is RV(findings).
  returned: success
  type: str
  sample: INVALID_CREDENTIALS
auth_method:
  description: V(api_key) or V(jwt).
  returned: success
  type: str
  sample: jwt
usage:
  description:
    - Pinning totals, with O(usage=true) and accepted credentials; V(null) otherwise or when Pinata refused
      the usage route.
  returned: success
  type: dict
  contains:
    pin_count:
      description: Number of pinned items.
      type: int
      sample: 42
    pin_size_total:
      description: Total size of the pinned data in bytes.
      type: int
      sample: 1048576
    pin_size_with_replications_total:
      description: Total size including replications in bytes.
      type: int
      sample: 2097152
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tgops.runbooks.plugins.module_utils._module import run_api_module
from ansible_collections.tgops.runbooks.plugins.module_utils._pinata_auth import module_spec, run_module


def main():
    run_api_module(AnsibleModule, module_spec, run_module)


if __name__ == '__main__':
    main()
