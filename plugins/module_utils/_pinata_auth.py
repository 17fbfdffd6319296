# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The code of the pinata_auth_info module (private to tgops.runbooks): its options and its body, here
so that its action plugin, which runs it in the worker process on the controller, imports only module_utils.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

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
        fail_on_problem=dict(type='bool', default=False),
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

    result = dict(changed=False, auth_method=method, usage=None, error_code=None, message=None)
    try:
        response = client.request('GET', '/data/testAuthentication')
    except APIError as exc:
        module.fail_json(msg='testAuthentication failed: %s' % exc.msg, **result)

    result['status'] = response.status
    if response.status == 200 and isinstance(response.json, dict):
        # Only Pinata's JSON answer proves the credentials work: a proxy's HTML page or an empty 204 does not.
        result['passed'] = True
        result['findings'] = []
        message = response.json.get('message')
        result['message'] = excerpt(message, redact) if isinstance(message, str) else None
    elif response.status in AUTH_FAILURES:
        result['passed'] = False
        result['error_code'], result['message'] = parse_error(response, redact)
        result['findings'] = ['Pinata refuses the credentials (HTTP %d%s%s)' % (
            response.status, ' %s' % result['error_code'] if result['error_code'] else '',
            ': %s' % result['message'] if result['message'] else '')]
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
            method, result['status'], result['error_code'] or '', result['message'] or ''), **result)
    module.exit_json(**result)
