# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The code of the health_check module (private to tgops.runbooks): its options and its body, here so
that its action plugin, which runs it in the worker process on the controller, imports only module_utils.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os
import re
import stat
import time
from urllib.parse import unquote

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tgops.runbooks.plugins.module_utils._health import attempt, result_fields
from ansible_collections.tgops.runbooks.plugins.module_utils._http import (
    MAX_BODY,
    MAX_TIMEOUT,
    Deadline,
    check_header_value,
    check_url,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import (
    Redactor,
    excerpt,
    redact_url,
    shown,
    url_secrets,
)

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")


def check_params(params):
    """A reason when an option is out of range, else None (NaN and infinities included: they never end a loop)."""
    bounds = (('timeout', 0, MAX_TIMEOUT, True), ('interval', 0, 3600, True),
              ('request_timeout', 0, MAX_TIMEOUT, False))
    for name, low, high, low_ok in bounds:
        value = params[name]
        if not math.isfinite(value) or value > high or value < low or (value == low and not low_ok):
            return '%s must be a number of seconds %s %s and at most %s, got %s' % (
                name, 'from' if low_ok else 'above', low, high, shown(value))
    problem = check_url(params['url'], 'url')
    if problem:
        return problem
    for code in params['status_codes']:
        if not 100 <= code <= 599:
            return 'status_codes must hold HTTP status codes (100-599), got %s' % shown(code)
    for name, value in params['headers'].items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            return 'headers: %s is not a valid header name' % shown(name, 60)
        if isinstance(value, (dict, list)) or value is None:
            return 'headers: the value of %s must be a string' % name
        problem = check_header_value('headers: the value of %s' % name, value)
        if problem:
            return problem
    if params['ca_path'] is not None:
        try:
            info = os.stat(params['ca_path'])
        except (OSError, ValueError):
            return 'ca_path %s does not exist or is not readable' % shown(params['ca_path'], 200)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 16 * MAX_BODY:
            return 'ca_path %s must be a regular PEM file (at most 16 MiB)' % shown(params['ca_path'], 200)
    return None


def module_spec():
    """The options of the module and of its action plugin (which runs it in-process on the controller)."""
    return dict(argument_spec=dict(
        url=dict(type='str', required=True),
        timeout=dict(type='float', default=60),
        interval=dict(type='float', default=2),
        request_timeout=dict(type='float', default=5),
        status_codes=dict(type='list', elements='int', default=[200]),
        allow_degraded=dict(type='bool', default=False),
        expected_version=dict(type='str'),
        expected_platform=dict(type='str'),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        headers=dict(type='dict', default={}, no_log=True),
        fail_on_problem=dict(type='bool', default=True),
    ))


def url_secret_spellings(url):
    """The secrets O(url) carries (see _redact.url_secrets: the user info's password, or a user alone, which is then a
    token; the values of credential query parameters), decoded and as spelled in the URL (possibly %-quoted)."""
    if not isinstance(url, str):
        return []
    secrets = url_secrets(url)
    authority = re.split(r'[/?#]', url.partition('://')[2], maxsplit=1)[0]
    userinfo = authority.rpartition('@')[0]
    spelled = [userinfo.partition(':')[2] if ':' in userinfo else userinfo]
    spelled.extend(item.partition('=')[2] for item in url.partition('?')[2].partition('#')[0].split('&'))
    # Ansible's masking matches text as it is: the quoted spelling as well
    secrets.extend([raw for raw in spelled if raw and raw not in secrets and unquote(raw.replace('+', ' ')) in secrets])
    return [secret for secret in secrets if secret]


def hide_url_secrets(module):
    """Add the secrets of O(url) to the values Ansible masks (in results, failures and the -vvv invocation, as for a
    no_log option): by every failure (HealthCheckModule.fail_json) and before the module's work. Returns them."""
    secrets = url_secret_spellings(module.params.get('url'))
    for secret in secrets:
        module.no_log_values.add(secret)
    return secrets


def run_module(module):
    """Everything after the options are validated; ends with exit_json or fail_json."""
    params = module.params
    redact = Redactor()
    secrets = hide_url_secrets(module)
    secrets.extend(to_text(v) for v in (params['headers'] or {}).values() if isinstance(v, (str, int, float)))
    for value in secrets:
        if value:
            redact.add(value)
            module.no_log_values.add(value)
    shown_url = redact(shown(redact_url(params['url']), 200))

    problem = check_params(params)
    if problem:
        module.fail_json(msg=redact(problem))

    started = time.monotonic()
    deadline = started + params['timeout']
    attempts = 0
    while True:
        attempts += 1
        attempt_started = time.monotonic()
        request_timeout = max(0.5, min(params['request_timeout'], deadline - attempt_started)) \
            if params['timeout'] else params['request_timeout']
        http_status, verdict, error = attempt(
            params['url'], Deadline(request_timeout), redact, headers=params['headers'],
            validate_certs=params['validate_certs'], ca_path=params['ca_path'], status_codes=params['status_codes'],
            allow_degraded=params['allow_degraded'], expected_version=params['expected_version'],
            expected_platform=params['expected_platform'])
        now = time.monotonic()
        if verdict['healthy'] or now >= deadline:
            break
        next_start = attempt_started + params['interval']
        if next_start >= deadline:
            # one last attempt right at the deadline rather than giving up early
            next_start = deadline
        time.sleep(max(0.0, next_start - now))

    result = dict(changed=False, attempts=attempts, elapsed_seconds=round(time.monotonic() - started, 3))
    result.update(result_fields(http_status, verdict, error))
    if verdict['healthy']:
        result['msg'] = '%s is healthy (status %s%s) after %d attempt(s)' % (
            shown_url, verdict['status'],
            ', version %s' % shown(verdict['version'], 60) if verdict['version'] else '', attempts)
        module.exit_json(**redact.redact_obj(result))
    result['msg'] = '%s is not healthy after %d attempt(s) in %.1f s: %s' % (
        shown_url, attempts, result['elapsed_seconds'], excerpt('; '.join(verdict['findings']), redact, 2000))
    result = redact.redact_obj(result)
    if params['fail_on_problem']:
        module.fail_json(**result)
    module.exit_json(**result)


class HealthCheckModule(AnsibleModule):
    """AnsibleModule whose every failure masks the secrets of O(url): those of its own option validation too
    (an option of the wrong type fails before the module's code runs, the invocation quoting the URL)."""

    def fail_json(self, msg, **kwargs):
        hide_url_secrets(self)
        super(HealthCheckModule, self).fail_json(msg=msg, **kwargs)
