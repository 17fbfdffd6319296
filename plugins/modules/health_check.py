#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: health_check
short_description: Poll an application health endpoint until it is healthy, judging each dependency
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Requests O(url) every O(interval) seconds until the answer is healthy or O(timeout) seconds have passed.
  - Understands the runbooks' JSON health document - C(status) (C(healthy), C(degraded), C(unhealthy)),
    C(version), C(uptime_seconds), and C(dependencies.<name>.status) with C(response_time_ms) - and returns
    every dependency's state, the unhealthy ones, the version, the HTTP status and how many attempts it took.
  - An answer is healthy when its HTTP status is in O(status_codes), its C(status) is C(healthy) (or
    C(degraded) with O(allow_degraded=true)), no dependency is worse, and its C(version) is O(expected_version)
    when that is set.
  - A 2xx answer whose body is not a JSON object (tgquiz's endpoint, checked by the runbook with
    C(curl -f /health)) is healthy by its status code alone; it names no version, so it cannot satisfy
    O(expected_version).
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
options:
  url:
    description:
      - The health endpoint, for example V(http://127.0.0.1:8000/health).
    type: str
    required: true
  timeout:
    description:
      - Seconds to keep polling before giving up. V(0) makes a single attempt.
    type: float
    default: 60
  interval:
    description:
      - Seconds between the start of one attempt and the next.
    type: float
    default: 2
  request_timeout:
    description:
      - Seconds to wait for one answer (never beyond the O(timeout) deadline).
    type: float
    default: 5
  status_codes:
    description:
      - HTTP status codes that may count as healthy. The runbooks' endpoints answer C(503) when unhealthy.
    type: list
    elements: int
    default: [200]
  allow_degraded:
    description:
      - Accept C(degraded) as healthy, for the service and for its dependencies.
    type: bool
    default: false
  expected_version:
    description:
      - The C(version) the answer must report, for example right after a deploy. A leading C(v) is ignored
        (V(v1.2.3) matches V(1.2.3)).
    type: str
  validate_certs:
    description:
      - Validate the server's TLS certificate for C(https) URLs.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the server's certificate, such as the lab CA in front of nginx.
    type: path
  headers:
    description:
      - Extra request headers.
    type: dict
    default: {}
  fail_on_unhealthy:
    description:
      - Fail the task when the endpoint is not healthy by the deadline. V(false) returns RV(healthy=false)
        and RV(reasons) instead.
    type: bool
    default: true
notes:
  - Why not M(ansible.builtin.uri) with C(until)/C(retries) - C(uri) can only retry on what one Jinja condition
    sees; judging each dependency's status, the version after a deploy and degraded-versus-unhealthy in one
    retry loop, and reporting which dependency kept it unhealthy, needs this module.
  - Requests go through C(ansible.module_utils.urls.open_url), so proxies and TLS settings behave as in
    M(ansible.builtin.uri).
seealso:
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Wait up to two minutes for the toogoodtogo bot to be healthy with its dependencies
  tgops.runbooks.health_check:
    url: http://127.0.0.1:8000/health
    timeout: 120
    interval: 2

- name: After a deploy, require the new release
  tgops.runbooks.health_check:
    url: http://127.0.0.1:8000/health
    expected_version: "{{ release_tag }}"
    timeout: 90

- name: The tgquiz API through nginx with the lab CA (curl -f semantics, any JSON or text body)
  tgops.runbooks.health_check:
    url: https://127.0.0.1:18443/health
    ca_path: /etc/ssl/certs/tgops-lab-ca.pem
    timeout: 30

- name: Triage - report without failing, accept degraded
  tgops.runbooks.health_check:
    url: http://127.0.0.1:8000/health
    timeout: 0
    allow_degraded: true
    fail_on_unhealthy: false
  register: health

- name: Name the failing dependency
  ansible.builtin.debug:
    msg: "Unhealthy dependencies: {{ health.unhealthy_dependencies | join(', ') }}"
  when: not health.healthy
"""

RETURN = r"""
healthy:
  description: Whether the last answer was healthy.
  returned: always
  type: bool
status:
  description: The C(status) of the last JSON answer (lower case), V(healthy) for a 2xx non-JSON answer, or null.
  returned: always
  type: str
  sample: degraded
version:
  description: The C(version) of the last JSON answer.
  returned: always
  type: str
  sample: v1.2.3
uptime_seconds:
  description: The C(uptime_seconds) of the last JSON answer.
  returned: always
  type: float
  sample: 86400
http_status:
  description: HTTP status of the last answer, or -1 when there was none (connection refused, timeout).
  returned: always
  type: int
  sample: 503
dependencies:
  description: Each dependency of the last JSON answer with C(status) and C(response_time_ms).
  returned: always
  type: dict
  sample: {postgres: {status: healthy, response_time_ms: 5}, redis: {status: unhealthy, response_time_ms: null}}
unhealthy_dependencies:
  description: Names of the dependencies that were not healthy in the last answer.
  returned: always
  type: list
  elements: str
  sample: [redis]
reasons:
  description: Why the last answer was not healthy (empty when healthy).
  returned: always
  type: list
  elements: str
  sample: ['HTTP 503 (expected 200)', 'dependencies not healthy: redis (unhealthy)']
body_format:
  description: V(json), V(text) or V(empty) - the kind of body of the last answer.
  returned: always
  type: str
response:
  description: The last JSON document as parsed.
  returned: when the last answer was a JSON object
  type: dict
attempts:
  description: Number of requests sent.
  returned: always
  type: int
  sample: 3
elapsed_seconds:
  description: Seconds from the first request to the verdict.
  returned: always
  type: float
error:
  description: The error of the last attempt when it got no HTTP answer.
  returned: when the last attempt got no answer
  type: str
msg:
  description: Summary of the verdict.
  returned: always
  type: str
"""

import socket
import time
from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.urls import open_url

from ansible_collections.tgops.runbooks.plugins.module_utils._health import evaluate

MAX_BODY = 1024 * 1024


def _request(module, request_timeout):
    params = module.params
    try:
        resp = open_url(params['url'], method='GET', headers=params['headers'], timeout=request_timeout,
                        validate_certs=params['validate_certs'], ca_path=params['ca_path'],
                        follow_redirects='safe', http_agent='tgops.runbooks.health_check')
        try:
            return resp.getcode(), resp.read(MAX_BODY), None
        finally:
            resp.close()
    except HTTPError as exc:
        try:
            body = exc.read(MAX_BODY)
        except Exception:  # pylint: disable=broad-except
            body = b''
        return exc.code, body, None
    except (URLError, socket.timeout, socket.error, ValueError) as exc:
        reason = getattr(exc, 'reason', exc)
        return -1, None, to_native(reason)
    except Exception as exc:  # pylint: disable=broad-except
        # http.client errors such as RemoteDisconnected while the service restarts
        return -1, None, '%s: %s' % (type(exc).__name__, to_native(exc))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', required=True),
            timeout=dict(type='float', default=60),
            interval=dict(type='float', default=2),
            request_timeout=dict(type='float', default=5),
            status_codes=dict(type='list', elements='int', default=[200]),
            allow_degraded=dict(type='bool', default=False),
            expected_version=dict(type='str'),
            validate_certs=dict(type='bool', default=True),
            ca_path=dict(type='path'),
            headers=dict(type='dict', default={}),
            fail_on_unhealthy=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['timeout'] < 0 or params['interval'] < 0 or params['request_timeout'] <= 0:
        module.fail_json(msg='timeout and interval must not be negative, request_timeout must be positive')

    started = time.time()
    deadline = started + params['timeout']
    attempts = 0
    while True:
        attempts += 1
        attempt_started = time.time()
        request_timeout = max(0.1, min(params['request_timeout'], deadline - attempt_started)) \
            if params['timeout'] else params['request_timeout']
        http_status, body, error = _request(module, request_timeout)
        verdict = evaluate(http_status, body, status_codes=params['status_codes'],
                           allow_degraded=params['allow_degraded'], expected_version=params['expected_version'])
        if error:
            verdict['reasons'].insert(0, 'no answer: %s' % error)
        now = time.time()
        if verdict['healthy'] or now >= deadline:
            break
        next_start = attempt_started + params['interval']
        if next_start >= deadline:
            # one last attempt right at the deadline rather than giving up early
            next_start = deadline
        time.sleep(max(0.0, next_start - now))

    result = dict(
        changed=False,
        healthy=verdict['healthy'],
        status=verdict['status'],
        version=verdict['version'],
        uptime_seconds=verdict['uptime_seconds'],
        http_status=http_status,
        dependencies=verdict['dependencies'],
        unhealthy_dependencies=verdict['unhealthy_dependencies'],
        reasons=verdict['reasons'],
        body_format=verdict['body_format'],
        attempts=attempts,
        elapsed_seconds=round(time.time() - started, 3),
    )
    if verdict['json'] is not None:
        result['response'] = verdict['json']
    if error:
        result['error'] = error
    if verdict['healthy']:
        result['msg'] = '%s is healthy (status %s%s) after %d attempt(s)' % (
            params['url'], verdict['status'], ', version %s' % verdict['version'] if verdict['version'] else '',
            attempts)
        module.exit_json(**result)
    result['msg'] = '%s is not healthy after %d attempt(s) in %.1f s: %s' % (
        params['url'], attempts, result['elapsed_seconds'], '; '.join(verdict['reasons']))
    if params['fail_on_unhealthy']:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
