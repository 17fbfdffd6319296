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
      - The alias O(fail_on_invalid) is deprecated and will be removed in version 2.0.0.
    type: bool
    default: false
    aliases: [fail_on_invalid]
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
    msg: "Pinata refused the credentials: {{ pinata.reason }} ({{ pinata.message }})"
  when: not pinata.passed
"""

RETURN = r"""
passed:
  description: Whether Pinata accepted the credentials (the collection's verdict key).
  returned: success
  type: bool
  sample: true
authenticated:
  description:
    - Deprecated, use RV(passed); same value. Will be removed in version 2.0.0.
  returned: success
  type: bool
  sample: true
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
reason:
  description: Pinata's error reason when the credentials were rejected, else V(null).
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

import os

from ansible.module_utils.basic import AnsibleModule
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

AUTH_FAILURES = (400, 401, 403)
USAGE_FIELDS = ('pin_count', 'pin_size_total', 'pin_size_with_replications_total')


def parse_error(response, redact):
    """(reason, details) from the error shapes Pinata uses; reason None when it names none."""
    body = response.json
    reason = details = None
    if isinstance(body, dict):
        error = body.get('error')
        if isinstance(error, dict):
            reason = error.get('reason')
            details = error.get('details') or error.get('message')
        elif isinstance(error, str):
            details = error
        if details is None:
            details = body.get('message') or body.get('details')
        if reason is None and isinstance(body.get('reason'), str):
            reason = body['reason']
    elif body is None and response.text.strip():
        details = response.text
    # Error bodies can be megabytes of HTML: quote a bounded excerpt, redacted before it is cut.
    return (excerpt(to_text(reason), redact, 80) if isinstance(reason, (str, int)) else None,
            excerpt(to_text(details), redact) if isinstance(details, (str, int)) else None)


# The conventional variables, as the platforms' env files name them.
ENV_JWT = 'PINATA_JWT'
ENV_API_KEY = 'PINATA_API_KEY'
ENV_API_SECRET = 'PINATA_SECRET_KEY'


def env_credentials(module, environ=None):
    """Fill the credentials from the environment when no credential option is set.

    Not argument_spec fallbacks: ansible-core applies those before its mutually_exclusive check, so a
    PINATA_API_KEY in the environment would make an explicit O(jwt) fail, and a mix of a given key with an
    environment secret would be sent. Given options win as a whole; the environment is read as a whole.
    """
    params = module.params
    environ = os.environ if environ is None else environ
    if all(params[name] is None for name in ('jwt', 'api_key', 'api_secret')):
        if environ.get(ENV_JWT):
            params['jwt'] = environ[ENV_JWT]
        elif environ.get(ENV_API_KEY) or environ.get(ENV_API_SECRET):
            params['api_key'] = environ.get(ENV_API_KEY)
            params['api_secret'] = environ.get(ENV_API_SECRET)
            if params['api_key'] is None or params['api_secret'] is None:
                given, missing = (ENV_API_KEY, ENV_API_SECRET) if params['api_secret'] is None \
                    else (ENV_API_SECRET, ENV_API_KEY)
                module.fail_json(msg='%s is set in the environment but %s is not: set both, or %s, or the '
                                     'api_key and api_secret options' % (given, missing, ENV_JWT))
    for name in ('jwt', 'api_key', 'api_secret'):
        if params[name]:
            module.no_log_values.add(params[name])
    if params['jwt'] is None and params['api_key'] is None:
        module.fail_json(msg='one of the following is required: jwt, api_key (or the environment variables '
                             'PINATA_JWT, or PINATA_API_KEY with PINATA_SECRET_KEY)')


def module_spec():
    """The options of the module and of its action plugin (which runs it in-process on the controller)."""
    argument_spec = dict(
        api_key=dict(type='str', no_log=True),
        api_secret=dict(type='str', no_log=True, aliases=['secret_api_key']),
        jwt=dict(type='str', no_log=True),
        api_url=dict(type='str', default='https://api.pinata.cloud'),
        usage=dict(type='bool', default=False),
        fail_on_problem=dict(type='bool', default=False, aliases=['fail_on_invalid'], deprecated_aliases=[
            dict(name='fail_on_invalid', version='2.0.0', collection_name='tgops.runbooks')]),
    )
    argument_spec.update(http_argument_spec())
    return dict(argument_spec=argument_spec, mutually_exclusive=[('jwt', 'api_key'), ('jwt', 'api_secret')],
                required_together=[('api_key', 'api_secret')])


def run_module(module):
    """Everything after the options are validated; ends with exit_json or fail_json."""
    params = module.params
    env_credentials(module)
    redact = Redactor([params['api_key'], params['api_secret'], params['jwt']])
    problem = check_http_params(params) or check_url(params['api_url'], 'api_url')
    for name in ('jwt', 'api_key', 'api_secret'):
        if params[name] is not None:
            # An empty or multi-line credential is a templating mistake; say so instead of sending it.
            problem = problem or check_header_value(name, params[name])
    if problem:
        module.fail_json(msg=redact(problem))

    if params['jwt'] is not None:
        headers = {'Authorization': 'Bearer %s' % params['jwt']}
        method = 'jwt'
    else:
        headers = {'pinata_api_key': params['api_key'], 'pinata_secret_api_key': params['api_secret']}
        method = 'api_key'
    client = JSONAPIClient(params['api_url'], 'Pinata', redact, headers=headers, timeout=params['timeout'],
                           validate_certs=params['validate_certs'], max_retries=params['max_retries'],
                           max_retry_wait=params['max_retry_wait'], default_wait=1.0,
                           rate_limit_hint='Pinata allows 30 requests per minute on /data/*')

    result = dict(changed=False, auth_method=method, usage=None, reason=None, message=None)
    try:
        response = client.request('GET', '/data/testAuthentication')
    except APIError as exc:
        module.fail_json(msg='testAuthentication failed: %s' % exc.msg, **result)

    result['status'] = response.status
    if response.status == 200 and isinstance(response.json, dict):
        # Only Pinata's JSON answer proves the credentials work: a proxy's HTML page or an empty 204 does not.
        result['passed'] = result['authenticated'] = True  # authenticated: deprecated, removed in 2.0.0
        message = response.json.get('message')
        result['message'] = excerpt(message, redact) if isinstance(message, str) else None
    elif response.status in AUTH_FAILURES:
        result['passed'] = result['authenticated'] = False
        result['reason'], result['message'] = parse_error(response, redact)
    elif 200 <= response.status < 300:
        module.fail_json(msg=redact('testAuthentication failed: Pinata answered HTTP %d without a JSON object '
                                    '(%s), so whether the credentials are accepted is unknown (a proxy or captive '
                                    'portal in the way?): %s' % (response.status, response.json_error or 'not an '
                                                                 'object', response.excerpt(redact) or '(empty)')),
                         **redact.redact_obj(result))
    else:
        reason, details = parse_error(response, redact)
        module.fail_json(msg=redact('testAuthentication failed: Pinata answered HTTP %d%s: %s' % (
            response.status, (' %s' % reason) if reason else '', details or response.excerpt(redact) or '(empty)')),
            **redact.redact_obj(result))

    if result['passed'] and params['usage']:
        try:
            usage_response = client.request('GET', '/data/userPinnedDataTotal')
        except APIError as exc:
            module.fail_json(msg='userPinnedDataTotal failed: %s' % exc.msg, **redact.redact_obj(result))
        body = usage_response.json
        if 200 <= usage_response.status < 300 and isinstance(body, dict):
            bad = [key for key in USAGE_FIELDS if body.get(key) is not None and not (
                isinstance(body[key], int) and not isinstance(body[key], bool) and body[key] >= 0)]
            if bad:
                module.fail_json(msg='userPinnedDataTotal returned a malformed answer: %s' % ', '.join(
                    '%s is %s' % (key, shown(body[key], 40)) for key in bad), **redact.redact_obj(result))
            result['usage'] = dict((key, body.get(key)) for key in USAGE_FIELDS)
        elif usage_response.status in AUTH_FAILURES:
            reason, details = parse_error(usage_response, redact)
            module.warn(redact('Pinata refused the usage figures (HTTP %d %s: %s); the credentials may lack '
                               'permission for /data/userPinnedDataTotal' % (
                                   usage_response.status, reason or '', details or '')))
        else:
            reason, details = parse_error(usage_response, redact)
            module.fail_json(msg=redact('userPinnedDataTotal failed: Pinata answered HTTP %d: %s' % (
                usage_response.status, details or usage_response.excerpt(redact) or '(empty)')),
                **redact.redact_obj(result))

    result = redact.redact_obj(result)
    if not result['passed'] and params['fail_on_problem']:
        module.fail_json(msg='Pinata rejected the credentials (%s): HTTP %d %s: %s' % (
            method, result['status'], result['reason'] or '', result['message'] or ''), **result)
    module.exit_json(**result)


def main():
    run_api_module(AnsibleModule, module_spec, run_module)


if __name__ == '__main__':
    main()
